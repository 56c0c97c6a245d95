//! `/admin/users`: list (prefix search, cursor pagination), create, get, update, delete.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::StatusCode;
use rampart::Scoped;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::AdminActor;
use super::AdminScope;
use crate::accounts::{Accounts, Username};
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;
use crate::store::{Profile, User};

/// A user as the API shows it (never the hash). Times are seconds since the epoch.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = User)]
pub(super) struct UserView {
    pub(super) id: Uuid,
    pub(super) username: String,
    pub(super) roles: Vec<String>,
    pub(super) disabled: bool,
    pub(super) created_at: i64,
    pub(super) updated_at: i64,
    pub(super) password_changed_at: i64,
    /// Display name (OpenID Connect `name`).
    pub(super) name: Option<String>,
    pub(super) email: Option<String>,
    /// The operator's statement that `email` belongs to the user.
    pub(super) email_verified: bool,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        Self {
            id: u.id,
            username: u.username,
            roles: u.roles,
            disabled: u.disabled,
            created_at: u.created_at,
            updated_at: u.updated_at,
            password_changed_at: u.password_changed_at,
            name: u.profile.name,
            email: u.profile.email,
            email_verified: u.profile.email_verified,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct ListQuery {
    /// Username prefix (normalised like usernames; blank = none).
    // The prefix is parsed as a username when not blank: the sound subset of
    // `openapi::fields::UsernameText`, empty allowed.
    #[param(max_length = 64, pattern = "^[A-Za-z0-9._@+-]*$")]
    q: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// One page; pass `next_cursor` as `cursor` for the next (absent or null on the last).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct Page<T> {
    pub(super) items: Vec<T>,
    pub(super) next_cursor: Option<String>,
}

/// `GET /admin/users?q=&limit=&cursor=` — scope `admin`. `q` is a username prefix
/// (normalised like usernames); `limit` 1–200 (default 50).
#[utoipa::path(get, path = "/admin/users", operation_id = "list_users",
    summary = "List users", tag = "admin",
    params(ListQuery),
    security(("oauth2" = ["admin"])),
    responses(
        (status = 200, description = "Users in username order", body = Page<UserView>),
        (status = 400, response = crate::openapi::schemas::InvalidRequest),
        (status = 503, response = crate::openapi::schemas::Unavailable),
    ))]
async fn list(
    State(accounts): State<Accounts>,
    _: Scoped<AdminScope>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<ApiJson<Page<UserView>>, ApiError> {
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::BadRequest(
            "limit must be between 1 and 200".into(),
        ));
    }
    let prefix = match query.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        Some(q) => Some(
            Username::parse(q)
                .map_err(|e| ApiError::BadRequest(format!("q: {e}")))?
                .as_str()
                .to_owned(),
        ),
        None => None,
    };
    let after = match &query.cursor {
        Some(c) => Some(
            URL_SAFE_NO_PAD
                .decode(c)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| ApiError::BadRequest("invalid cursor".into()))?,
        ),
        None => None,
    };
    let mut users = accounts
        .list_users(prefix.as_deref(), after.as_deref(), limit + 1)
        .await?;
    let next_cursor = if users.len() > limit as usize {
        users.truncate(limit as usize);
        users.last().map(|u| URL_SAFE_NO_PAD.encode(&u.username))
    } else {
        None
    };
    Ok(ApiJson(Page {
        items: users.into_iter().map(UserView::from).collect(),
        next_cursor,
    }))
}

/// Username: letters, digits and `. _ - @ +`, 1–64 after NFKC normalisation and lower-casing.
/// Password: 8–1024 bytes, not a common password, not the username. Roles must exist.
/// `name` 1–200 printable characters; `email` like `user@example.com`; `email_verified`
/// only with an email.
#[derive(Deserialize, utoipa::ToSchema)]
pub(super) struct CreateUser {
    #[schema(value_type = crate::openapi::fields::UsernameText)]
    username: String,
    #[schema(value_type = crate::openapi::fields::NewPassword)]
    password: String,
    #[serde(default)]
    #[schema(value_type = Vec<crate::openapi::fields::RoleName>)]
    roles: Vec<String>,
    #[schema(max_length = 200)]
    name: Option<String>,
    #[schema(max_length = 254)]
    email: Option<String>,
    #[serde(default)]
    email_verified: bool,
}

/// `POST /admin/users` — scope `admin`. 201 with the user.
#[utoipa::path(post, path = "/admin/users", operation_id = "create_user",
    summary = "Create a user", tag = "admin",
    request_body = CreateUser,
    security(("oauth2" = ["admin"])),
    responses(
        (status = 201, description = "Created", body = UserView),
        (status = 400, response = crate::openapi::schemas::InvalidRequest),
        (status = 409, response = crate::openapi::schemas::Conflict),
        (status = 503, response = crate::openapi::schemas::Unavailable),
    ))]
async fn create(
    State(accounts): State<Accounts>,
    _: Scoped<AdminScope>,
    actor: AdminActor,
    ApiJson(body): ApiJson<CreateUser>,
) -> Result<(StatusCode, ApiJson<UserView>), ApiError> {
    let user = accounts
        .create_user(
            &body.username,
            &SecretString::from(body.password),
            &body.roles,
            &Profile {
                name: body.name,
                email: body.email,
                email_verified: body.email_verified,
            },
        )
        .await?;
    let view = UserView::from(user);
    actor
        .changed(
            "user.create",
            view.id,
            serde_json::Value::Null,
            serde_json::to_value(&view).unwrap_or_default(),
        )
        .await;
    Ok((StatusCode::CREATED, ApiJson(view)))
}

fn parse_id(id: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id).map_err(|_| ApiError::NotFound("user"))
}

/// `GET /admin/users/{id}` — scope `admin`.
#[utoipa::path(get, path = "/admin/users/{id}", operation_id = "get_user",
    summary = "Get a user", tag = "admin",
    params(("id" = Uuid, Path, description = "The user's id")),
    security(("oauth2" = ["admin"])),
    responses(
        (status = 200, description = "The user", body = UserView),
        (status = 404, response = crate::openapi::schemas::NotFound),
        (status = 503, response = crate::openapi::schemas::Unavailable),
    ))]
async fn get_one(
    State(accounts): State<Accounts>,
    _: Scoped<AdminScope>,
    ApiPath(id): ApiPath<String>,
) -> Result<ApiJson<UserView>, ApiError> {
    let user = accounts
        .user(parse_id(&id)?)
        .await?
        .ok_or(ApiError::NotFound("user"))?;
    Ok(ApiJson(user.into()))
}

/// Only the members sent change; `null` removes a name or email. Removing `admin` from,
/// or disabling, the last enabled administrator is refused (409).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct UpdateUser {
    #[schema(value_type = Option<Vec<crate::openapi::fields::RoleName>>)]
    roles: Option<Vec<String>>,
    disabled: Option<bool>,
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<String>, max_length = 200)]
    name: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<String>, max_length = 254)]
    email: Option<Option<String>>,
    email_verified: Option<bool>,
}

impl UpdateUser {
    /// The profile this PATCH leaves, from the one stored; `None` when it names no member
    /// of the profile.
    fn profile(&self, stored: &Profile) -> Option<Profile> {
        if self.name.is_none() && self.email.is_none() && self.email_verified.is_none() {
            return None;
        }
        let email = self.email.clone().unwrap_or_else(|| stored.email.clone());
        // A new or removed address is not verified unless the PATCH says so.
        let email_changed = email != stored.email;
        Some(Profile {
            name: self.name.clone().unwrap_or_else(|| stored.name.clone()),
            email,
            email_verified: self
                .email_verified
                .unwrap_or(stored.email_verified && !email_changed),
        })
    }
}

/// `PATCH /admin/users/{id}` `{"roles"?, "disabled"?, "name"?, "email"?, "email_verified"?}`
/// — scope `admin`. A changed email is unverified unless `email_verified` says otherwise.
#[utoipa::path(patch, path = "/admin/users/{id}", operation_id = "update_user",
    summary = "Change a user's roles, profile, or disable them", tag = "admin",
    params(("id" = Uuid, Path, description = "The user's id")),
    request_body = UpdateUser,
    security(("oauth2" = ["admin"])),
    responses(
        (status = 200, description = "The updated user", body = UserView),
        (status = 400, response = crate::openapi::schemas::InvalidRequest),
        (status = 404, response = crate::openapi::schemas::NotFound),
        (status = 409, response = crate::openapi::schemas::Conflict),
        (status = 503, response = crate::openapi::schemas::Unavailable),
    ))]
async fn update(
    State(accounts): State<Accounts>,
    _: Scoped<AdminScope>,
    actor: AdminActor,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<UpdateUser>,
) -> Result<ApiJson<UserView>, ApiError> {
    let id = parse_id(&id)?;
    let before = accounts.user(id).await?.ok_or(ApiError::NotFound("user"))?;
    // Checked before anything is written: a bad profile changes nothing else either.
    let profile = body
        .profile(&before.profile)
        .map(|p| crate::accounts::profile::check_profile(&p))
        .transpose()
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    if let Some(roles) = &body.roles {
        accounts.set_roles(id, roles).await?;
    }
    if let Some(disabled) = body.disabled {
        accounts.set_disabled(id, disabled).await?;
    }
    if let Some(profile) = &profile {
        accounts.set_profile(id, profile).await?;
    }
    let user = accounts.user(id).await?.ok_or(ApiError::NotFound("user"))?;
    let (before, after) = (UserView::from(before), UserView::from(user));
    actor
        .changed(
            "user.update",
            id,
            serde_json::to_value(&before).unwrap_or_default(),
            serde_json::to_value(&after).unwrap_or_default(),
        )
        .await;
    Ok(ApiJson(after))
}

/// `DELETE /admin/users/{id}` — scope `admin`. Ends the user's sessions.
#[utoipa::path(delete, path = "/admin/users/{id}", operation_id = "delete_user",
    summary = "Delete a user", tag = "admin",
    params(("id" = Uuid, Path, description = "The user's id")),
    security(("oauth2" = ["admin"])),
    responses(
        (status = 204, description = "Deleted; the user's refresh tokens are gone"),
        (status = 404, response = crate::openapi::schemas::NotFound),
        (status = 409, response = crate::openapi::schemas::Conflict),
        (status = 503, response = crate::openapi::schemas::Unavailable),
    ))]
async fn delete(
    State(accounts): State<Accounts>,
    _: Scoped<AdminScope>,
    actor: AdminActor,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id)?;
    let before = accounts.user(id).await?.ok_or(ApiError::NotFound("user"))?;
    accounts.delete_user(id).await?;
    actor
        .changed(
            "user.delete",
            id,
            serde_json::to_value(UserView::from(before)).unwrap_or_default(),
            serde_json::Value::Null,
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/users", get(list).post(create))
        .route(
            "/admin/users/{id}",
            get(get_one).patch(update).delete(delete),
        )
}
