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

use super::AdminScope;
use crate::accounts::{Accounts, Username};
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;
use crate::store::User;

/// A user as the API shows it (never the hash).
#[derive(Debug, Serialize)]
pub(super) struct UserView {
    pub(super) id: Uuid,
    pub(super) username: String,
    pub(super) roles: Vec<String>,
    pub(super) disabled: bool,
    pub(super) created_at: i64,
    pub(super) updated_at: i64,
    pub(super) password_changed_at: i64,
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
        }
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct ListQuery {
    q: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

#[derive(Debug, Serialize)]
pub(super) struct Page<T> {
    pub(super) items: Vec<T>,
    pub(super) next_cursor: Option<String>,
}

/// `GET /admin/users?q=&limit=&cursor=` — scope `admin`. `q` is a username prefix
/// (normalised like usernames); `limit` 1–200 (default 50).
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
        .store
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

#[derive(Deserialize)]
pub(super) struct CreateUser {
    username: String,
    password: String,
    #[serde(default)]
    roles: Vec<String>,
}

/// `POST /admin/users` — scope `admin`. 201 with the user.
async fn create(
    State(accounts): State<Accounts>,
    _: Scoped<AdminScope>,
    ApiJson(body): ApiJson<CreateUser>,
) -> Result<(StatusCode, ApiJson<UserView>), ApiError> {
    let user = accounts
        .create_user(
            &body.username,
            &SecretString::from(body.password),
            &body.roles,
        )
        .await?;
    tracing::info!(user = %user.id, "user created by an administrator");
    Ok((StatusCode::CREATED, ApiJson(user.into())))
}

fn parse_id(id: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id).map_err(|_| ApiError::NotFound("user"))
}

/// `GET /admin/users/{id}` — scope `admin`.
async fn get_one(
    State(accounts): State<Accounts>,
    _: Scoped<AdminScope>,
    ApiPath(id): ApiPath<String>,
) -> Result<ApiJson<UserView>, ApiError> {
    let user = accounts
        .store
        .user_by_id(parse_id(&id)?)
        .await?
        .ok_or(ApiError::NotFound("user"))?;
    Ok(ApiJson(user.into()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct UpdateUser {
    roles: Option<Vec<String>>,
    disabled: Option<bool>,
}

/// `PATCH /admin/users/{id}` `{"roles"?, "disabled"?}` — scope `admin`.
async fn update(
    State(accounts): State<Accounts>,
    _: Scoped<AdminScope>,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<UpdateUser>,
) -> Result<ApiJson<UserView>, ApiError> {
    let id = parse_id(&id)?;
    if let Some(roles) = &body.roles {
        accounts.set_roles(id, roles).await?;
    }
    if let Some(disabled) = body.disabled {
        accounts.set_disabled(id, disabled).await?;
    }
    let user = accounts
        .store
        .user_by_id(id)
        .await?
        .ok_or(ApiError::NotFound("user"))?;
    Ok(ApiJson(user.into()))
}

/// `DELETE /admin/users/{id}` — scope `admin`. Ends the user's sessions.
async fn delete(
    State(accounts): State<Accounts>,
    _: Scoped<AdminScope>,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    accounts.delete_user(parse_id(&id)?).await?;
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
