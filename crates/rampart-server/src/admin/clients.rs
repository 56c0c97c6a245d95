//! `/admin/clients`.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use http::StatusCode;
use rampart::Scoped;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use super::AdminScope;
use crate::accounts::Accounts;
use crate::error::{ApiError, ApiJson, ApiPath};
use crate::state::AppState;
use crate::store::Client;

#[derive(Debug, Serialize)]
pub(super) struct ClientView {
    client_id: String,
    name: String,
    confidential: bool,
    grants: Vec<String>,
    scopes: Vec<String>,
    audience: Option<String>,
    disabled: bool,
    created_at: i64,
    /// Present only in the response that created a confidential client.
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<String>,
}

impl From<Client> for ClientView {
    fn from(c: Client) -> Self {
        Self {
            client_id: c.id,
            name: c.name,
            confidential: c.confidential,
            grants: c.grants,
            scopes: c.scopes,
            audience: c.audience,
            disabled: c.disabled,
            created_at: c.created_at,
            client_secret: None,
        }
    }
}

/// `GET /admin/clients` — scope `admin`.
async fn list(
    State(accounts): State<Accounts>,
    _: Scoped<AdminScope>,
) -> Result<ApiJson<Vec<ClientView>>, ApiError> {
    Ok(ApiJson(
        accounts
            .store
            .list_clients()
            .await?
            .into_iter()
            .map(ClientView::from)
            .collect(),
    ))
}

#[derive(Deserialize)]
pub(super) struct CreateClient {
    name: String,
    confidential: bool,
    grants: Vec<String>,
    #[serde(default)]
    scopes: Vec<String>,
    audience: Option<String>,
}

/// `POST /admin/clients` — scope `admin`. 201; a confidential client's secret is in
/// this response only.
async fn create(
    State(accounts): State<Accounts>,
    _: Scoped<AdminScope>,
    ApiJson(body): ApiJson<CreateClient>,
) -> Result<(StatusCode, ApiJson<ClientView>), ApiError> {
    let created = accounts
        .create_client(
            &body.name,
            body.confidential,
            &body.grants,
            &body.scopes,
            body.audience,
        )
        .await?;
    let mut view = ClientView::from(created.client);
    view.client_secret = created.secret.map(|s| s.expose_secret().to_owned());
    Ok((StatusCode::CREATED, ApiJson(view)))
}

/// `GET /admin/clients/{id}` — scope `admin`.
async fn get_one(
    State(accounts): State<Accounts>,
    _: Scoped<AdminScope>,
    ApiPath(id): ApiPath<String>,
) -> Result<ApiJson<ClientView>, ApiError> {
    let client = accounts
        .store
        .client(&id)
        .await?
        .ok_or(ApiError::NotFound("client"))?;
    Ok(ApiJson(client.into()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct UpdateClient {
    disabled: bool,
}

/// `PATCH /admin/clients/{id}` `{"disabled"}` — scope `admin`.
async fn update(
    State(accounts): State<Accounts>,
    _: Scoped<AdminScope>,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<UpdateClient>,
) -> Result<ApiJson<ClientView>, ApiError> {
    accounts
        .store
        .set_client_disabled(&id, body.disabled)
        .await
        .map_err(|e| match e {
            crate::store::StoreError::NotFound => ApiError::NotFound("client"),
            other => other.into(),
        })?;
    let client = accounts
        .store
        .client(&id)
        .await?
        .ok_or(ApiError::NotFound("client"))?;
    Ok(ApiJson(client.into()))
}

/// `DELETE /admin/clients/{id}` — scope `admin`. Its refresh tokens go with it.
async fn delete(
    State(accounts): State<Accounts>,
    _: Scoped<AdminScope>,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    accounts
        .store
        .delete_client(&id)
        .await
        .map_err(|e| match e {
            crate::store::StoreError::NotFound => ApiError::NotFound("client"),
            other => other.into(),
        })?;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/clients", get(list).post(create))
        .route(
            "/admin/clients/{id}",
            get(get_one).patch(update).delete(delete),
        )
}
