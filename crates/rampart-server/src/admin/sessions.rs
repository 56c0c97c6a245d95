//! `/admin/sessions`: live sessions, of two kinds: refresh-token families (`token`: one
//! login through a token grant) and browser sign-in sessions (`browser`: the login
//! page's cookie). Ending a browser session signs the browser out; the apps it signed in
//! keep their own token sessions until those are ended too.

use axum::Router;
use axum::extract::State;
use axum::routing::{delete, get};
use http::StatusCode;
use rampart::Scoped;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::AdminActor;
use super::AdminScope;
use crate::accounts::Accounts;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

/// A live session. Times are seconds since the epoch.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Session)]
pub(super) struct SessionView {
    id: Uuid,
    /// `token` (a refresh-token family) or `browser` (a sign-in cookie).
    kind: &'static str,
    user_id: Uuid,
    username: String,
    /// The client of a `token` session; `null` for a browser session.
    client_id: Option<String>,
    /// The scope of a `token` session; `null` for a browser session.
    scope: Option<String>,
    created_at: i64,
    last_used_at: i64,
    expires_at: i64,
    /// When the user last entered their password (browser sessions).
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_time: Option<i64>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct SessionQuery {
    user_id: Option<Uuid>,
}

/// `GET /admin/sessions?user_id=` — scope `admin`.
#[utoipa::path(get, path = "/admin/sessions", operation_id = "list_sessions",
    summary = "List live sessions", tag = "admin",
    params(SessionQuery),
    security(("oauth2" = ["admin"])),
    responses(
        (status = 200, description = "Live sessions, optionally of one user", body = [SessionView]),
        (status = 400, response = crate::openapi::schemas::InvalidRequest),
        (status = 503, response = crate::openapi::schemas::Unavailable),
    ))]
async fn list(
    State(accounts): State<Accounts>,
    _: Scoped<AdminScope>,
    ApiQuery(q): ApiQuery<SessionQuery>,
) -> Result<ApiJson<Vec<SessionView>>, ApiError> {
    let sessions = accounts.sessions(q.user_id).await?;
    let mut views: Vec<SessionView> = sessions
        .into_iter()
        .map(|s| SessionView {
            id: s.family_id,
            kind: "token",
            user_id: s.user_id,
            username: s.username,
            client_id: Some(s.client_id),
            scope: Some(s.scope),
            created_at: s.created_at,
            last_used_at: s.last_used_at,
            expires_at: s.expires_at,
            auth_time: None,
        })
        .collect();
    let mut names = std::collections::HashMap::new();
    for s in accounts.browser_sessions(q.user_id).await? {
        let username = match names.get(&s.user_id) {
            Some(name) => String::clone(name),
            None => {
                let Some(user) = accounts.user(s.user_id).await? else {
                    continue;
                };
                names.insert(s.user_id, user.username.clone());
                user.username
            }
        };
        views.push(SessionView {
            id: s.id,
            kind: "browser",
            user_id: s.user_id,
            username,
            client_id: None,
            scope: None,
            created_at: s.created_at,
            last_used_at: s.last_seen_at,
            expires_at: s.expires_at,
            auth_time: Some(s.auth_time),
        });
    }
    Ok(ApiJson(views))
}

/// `DELETE /admin/sessions/{id}` — scope `admin`. Revokes the family, or ends the
/// browser session.
#[utoipa::path(delete, path = "/admin/sessions/{id}", operation_id = "revoke_session",
    summary = "End a session", tag = "admin",
    params(("id" = Uuid, Path, description = "The session (refresh-token family) id")),
    security(("oauth2" = ["admin"])),
    responses(
        (status = 204, description = "Ended: every refresh token of the family stops working, or the browser is signed out"),
        (status = 404, response = crate::openapi::schemas::NotFound),
        (status = 503, response = crate::openapi::schemas::Unavailable),
    ))]
async fn revoke(
    State(accounts): State<Accounts>,
    _: Scoped<AdminScope>,
    actor: AdminActor,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound("session"))?;
    if accounts.revoke_session(id).await? == 0 && !accounts.end_browser_session(id).await? {
        return Err(ApiError::NotFound("session"));
    }
    actor
        .changed(
            "session.revoke",
            id,
            serde_json::Value::Null,
            serde_json::json!({"revoked": true}),
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /admin/users/{id}/sessions` — scope `admin`. Ends every session of the user:
/// their refresh tokens are revoked and every access token issued to them so far is
/// refused by this server's routes and introspection.
#[utoipa::path(delete, path = "/admin/users/{id}/sessions", operation_id = "end_user_sessions",
    summary = "End all sessions of a user", tag = "admin",
    params(("id" = Uuid, Path, description = "The user's id")),
    security(("oauth2" = ["admin"])),
    responses(
        (status = 204, description = "Ended: the user must log in again, in every app and browser"),
        (status = 404, response = crate::openapi::schemas::NotFound),
        (status = 503, response = crate::openapi::schemas::Unavailable),
    ))]
async fn end_all(
    State(accounts): State<Accounts>,
    _: Scoped<AdminScope>,
    actor: AdminActor,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound("user"))?;
    let revoked = accounts.end_sessions(id).await?;
    actor
        .changed(
            "user.sessions_end",
            id,
            serde_json::Value::Null,
            serde_json::json!({"refresh_tokens_revoked": revoked}),
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/sessions", get(list))
        .route("/admin/sessions/{id}", delete(revoke))
        .route("/admin/users/{id}/sessions", delete(end_all))
}
