//! `/users/me`: the caller's own account (scope `profile`).

use axum::Router;
use axum::extract::State;
use axum::routing::{get, put};
use http::StatusCode;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::accounts::throttle::{Counter, Throttle};
use crate::accounts::{AccountError, Accounts};
use crate::audit::{Audit, Event, Kind};
use crate::error::{ApiError, ApiJson};
use crate::state::AppState;
use crate::store::User;

rampart::scopes!(pub ProfileScope = "profile");

/// The caller's profile.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Profile)]
pub struct Me {
    pub id: Uuid,
    pub username: String,
    pub roles: Vec<String>,
    pub scopes: Vec<String>,
    pub created_at: i64,
    pub password_changed_at: i64,
}

async fn current_user(accounts: &Accounts, token: &rampart::Auth) -> Result<User, ApiError> {
    let id = token
        .subject()
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| ApiError::Forbidden("this token does not belong to a user".into()))?;
    let user = accounts.user(id).await?.ok_or(ApiError::NotFound("user"))?;
    if user.disabled {
        return Err(ApiError::Forbidden("the account is disabled".into()));
    }
    Ok(user)
}

/// `GET /users/me` — requires scope `profile`.
#[utoipa::path(get, path = "/users/me", operation_id = "get_me",
    summary = "Your profile", tag = "users",
    security(("oauth2" = ["profile"])),
    responses(
        (status = 200, description = "The caller's profile and the token's scopes", body = Me),
        (status = 403, description = "`insufficient_scope` (the token lacks `profile`), or `forbidden`: the token is not a user's (client_credentials) or the account is disabled",
            body = crate::openapi::schemas::ErrorBody,
            example = json!({"error": "insufficient_scope", "error_description": "the token lacks the scope(s): profile"})),
        (status = 404, response = crate::openapi::schemas::NotFound),
        (status = 503, response = crate::openapi::schemas::Unavailable),
    ))]
pub async fn me(
    State(accounts): State<Accounts>,
    token: rampart::Scoped<ProfileScope>,
) -> Result<ApiJson<Me>, ApiError> {
    let user = current_user(&accounts, &token).await?;
    Ok(ApiJson(Me {
        id: user.id,
        username: user.username,
        roles: user.roles,
        scopes: token.standard().scopes().map(str::to_owned).collect(),
        created_at: user.created_at,
        password_changed_at: user.password_changed_at,
    }))
}

/// Body of `PUT /users/me/password`.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct PasswordChange {
    #[schema(format = Password)]
    current_password: String,
    #[schema(value_type = crate::openapi::fields::NewPassword)]
    new_password: String,
}

/// `PUT /users/me/password` — requires scope `profile`. Ends every session of the user.
#[utoipa::path(put, path = "/users/me/password", operation_id = "change_my_password",
    summary = "Change your password", tag = "users",
    request_body = PasswordChange,
    security(("oauth2" = ["profile"])),
    responses(
        (status = 204, description = "Changed; every refresh token of the user is revoked"),
        (status = 400, response = crate::openapi::schemas::InvalidRequest),
        (status = 429, response = crate::openapi::schemas::TooManyFailures),
        (status = 403, description = "`insufficient_scope` (the token lacks `profile`), or `forbidden`: the token is not a user's or the account is disabled",
            body = crate::openapi::schemas::ErrorBody,
            example = json!({"error": "insufficient_scope", "error_description": "the token lacks the scope(s): profile"})),
        (status = 404, response = crate::openapi::schemas::NotFound),
        (status = 503, response = crate::openapi::schemas::Unavailable),
    ))]
pub async fn change_password(
    State(accounts): State<Accounts>,
    State(audit): State<Audit>,
    State(throttle): State<Throttle>,
    rampart::https::ClientIp(ip): rampart::https::ClientIp,
    token: rampart::Scoped<ProfileScope>,
    ApiJson(body): ApiJson<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    let user = current_user(&accounts, &token).await?;
    // Guessing the current password here is throttled like a login.
    let subjects = [Counter::Ip(ip), Counter::Account(user.username.clone())];
    if let Err(wait) = throttle.check(&subjects).await? {
        return Err(ApiError::TooMany(wait));
    }
    let current = SecretString::from(body.current_password);
    let check = accounts
        .passwords
        .verify(&current, Some(&user.password_hash))
        .await
        .map_err(|e| ApiError::from(AccountError::Hash(e)))?;
    if !check.ok {
        throttle.failed(&subjects).await?;
        return Err(ApiError::BadRequest(
            "the current password is incorrect".into(),
        ));
    }
    accounts
        .set_password(user.id, &SecretString::from(body.new_password))
        .await?;
    audit
        .record(
            Event::new(Kind::PasswordChanged)
                .actor(user.id)
                .subject(user.id)
                .ip(ip)
                .reason("self_service")
                .details(serde_json::json!({"sessions_ended": true})),
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}

/// The `/users/me` routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/users/me", get(me))
        .route("/users/me/password", put(change_password))
}
