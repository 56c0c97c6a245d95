//! `/admin/users/{id}/consents`: what each user allowed which client on the consent page.

use axum::Router;
use axum::extract::State;
use axum::routing::{delete, get};
use http::StatusCode;
use rampart::Scoped;
use serde::Serialize;
use uuid::Uuid;

use super::{AdminActor, AdminScope};
use crate::accounts::Accounts;
use crate::error::{ApiError, ApiJson, ApiPath};
use crate::state::AppState;

/// A remembered consent: the client may be granted these scopes without asking again.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Consent)]
pub(super) struct ConsentView {
    client_id: String,
    scopes: Vec<String>,
    /// Seconds since the epoch.
    granted_at: i64,
}

fn user_id(id: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id).map_err(|_| ApiError::NotFound("user"))
}

/// `GET /admin/users/{id}/consents` — scope `admin`.
#[utoipa::path(get, path = "/admin/users/{id}/consents", operation_id = "list_consents",
    summary = "List a user's consents", tag = "admin",
    params(("id" = Uuid, Path, description = "The user's id")),
    security(("oauth2" = ["admin"])),
    responses(
        (status = 200, description = "The clients the user consented to, by client id", body = [ConsentView]),
        (status = 404, response = crate::openapi::schemas::NotFound),
        (status = 503, response = crate::openapi::schemas::Unavailable),
    ))]
async fn list(
    State(accounts): State<Accounts>,
    _: Scoped<AdminScope>,
    ApiPath(id): ApiPath<String>,
) -> Result<ApiJson<Vec<ConsentView>>, ApiError> {
    let id = user_id(&id)?;
    if accounts.user(id).await?.is_none() {
        return Err(ApiError::NotFound("user"));
    }
    Ok(ApiJson(
        accounts
            .consents(id)
            .await?
            .into_iter()
            .map(|c| ConsentView {
                client_id: c.client_id,
                scopes: c.scopes,
                granted_at: c.granted_at,
            })
            .collect(),
    ))
}

/// `DELETE /admin/users/{id}/consents/{client_id}` — scope `admin`. The next sign-in to
/// that client asks again; tokens already issued are not affected.
#[utoipa::path(delete, path = "/admin/users/{id}/consents/{client_id}", operation_id = "revoke_consent",
    summary = "Withdraw a consent", tag = "admin",
    params(
        ("id" = Uuid, Path, description = "The user's id"),
        ("client_id" = String, Path, description = "The client's id"),
    ),
    security(("oauth2" = ["admin"])),
    responses(
        (status = 204, description = "Withdrawn: the consent page is shown again"),
        (status = 404, response = crate::openapi::schemas::NotFound),
        (status = 503, response = crate::openapi::schemas::Unavailable),
    ))]
async fn revoke(
    State(accounts): State<Accounts>,
    _: Scoped<AdminScope>,
    actor: AdminActor,
    ApiPath((id, client_id)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let id = user_id(&id)?;
    if !accounts.revoke_consent(id, &client_id).await? {
        return Err(ApiError::NotFound("consent"));
    }
    actor
        .changed(
            "consent.revoke",
            id,
            serde_json::json!({"client_id": client_id}),
            serde_json::Value::Null,
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/users/{id}/consents", get(list))
        .route("/admin/users/{id}/consents/{client_id}", delete(revoke))
}
