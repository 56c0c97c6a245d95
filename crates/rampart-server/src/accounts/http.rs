//! `/users/me`: the caller's own account.

use axum::Router;
use axum::extract::State;
use axum::routing::{get, put};
use http::StatusCode;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Accounts;
use crate::error::{ApiError, ApiJson};
use crate::state::AppState;
use crate::store::User;

rampart::scopes!(pub ProfileScope = "profile");

/// The caller's profile.
#[derive(Debug, Serialize)]
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
    let user = accounts
        .store
        .user_by_id(id)
        .await?
        .ok_or(ApiError::NotFound("user"))?;
    if user.disabled {
        return Err(ApiError::Forbidden("the account is disabled".into()));
    }
    Ok(user)
}

/// `GET /users/me` — requires scope `profile`.
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
#[derive(Deserialize)]
pub struct PasswordChange {
    current_password: String,
    new_password: String,
}

/// `PUT /users/me/password` — requires scope `profile`. Ends every session of the user.
pub async fn change_password(
    State(accounts): State<Accounts>,
    token: rampart::Scoped<ProfileScope>,
    ApiJson(body): ApiJson<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    let user = current_user(&accounts, &token).await?;
    let current = SecretString::from(body.current_password);
    let check = accounts
        .passwords
        .verify(&current, Some(&user.password_hash))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    if !check.ok {
        return Err(ApiError::BadRequest(
            "the current password is incorrect".into(),
        ));
    }
    accounts
        .set_password(user.id, &SecretString::from(body.new_password))
        .await?;
    tracing::info!(user = %user.id, "password changed; sessions ended");
    Ok(StatusCode::NO_CONTENT)
}

/// The `/users/me` routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/users/me", get(me))
        .route("/users/me/password", put(change_password))
}
