//! `/admin/clients`.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use http::StatusCode;
use rampart::Scoped;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use super::AdminActor;
use super::AdminScope;
use crate::accounts::{Accounts, ClientSpec};
use crate::error::{ApiError, ApiJson, ApiPath};
use crate::state::AppState;
use crate::store::{AuthMethod, Client, ClientChange};
use serde_json::Value;

/// A client's `token_endpoint_auth_method` (RFC 7591 §2).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub(super) enum TokenEndpointAuthMethod {
    /// HTTP Basic (RFC 6749 §2.3.1); the default for a confidential client.
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
    /// A public client: `client_id` only; the only method of a public client.
    None,
}

impl From<AuthMethod> for TokenEndpointAuthMethod {
    fn from(m: AuthMethod) -> Self {
        match m {
            AuthMethod::ClientSecretBasic => Self::ClientSecretBasic,
            AuthMethod::ClientSecretPost => Self::ClientSecretPost,
            AuthMethod::None => Self::None,
        }
    }
}

impl From<TokenEndpointAuthMethod> for AuthMethod {
    fn from(m: TokenEndpointAuthMethod) -> Self {
        match m {
            TokenEndpointAuthMethod::ClientSecretBasic => Self::ClientSecretBasic,
            TokenEndpointAuthMethod::ClientSecretPost => Self::ClientSecretPost,
            TokenEndpointAuthMethod::None => Self::None,
        }
    }
}

/// An OAuth client. `created_at` is in seconds since the epoch; a lifetime of `null` is
/// the server's.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Client)]
pub(super) struct ClientView {
    client_id: String,
    name: String,
    confidential: bool,
    grants: Vec<String>,
    scopes: Vec<String>,
    audience: Option<String>,
    disabled: bool,
    created_at: i64,
    redirect_uris: Vec<String>,
    post_logout_redirect_uris: Vec<String>,
    /// The user is not asked for consent.
    first_party: bool,
    token_endpoint_auth_method: TokenEndpointAuthMethod,
    /// Seconds.
    access_token_ttl: Option<u32>,
    /// Seconds: the session's absolute lifetime.
    refresh_token_ttl: Option<u32>,
    /// Signing out of the browser through the end-session endpoint also revokes the
    /// refresh-token sessions this client got through that browser session.
    logout_revokes_tokens: bool,
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
            redirect_uris: c.redirect_uris,
            post_logout_redirect_uris: c.post_logout_redirect_uris,
            first_party: c.first_party,
            token_endpoint_auth_method: c.auth_method.into(),
            access_token_ttl: c.access_token_ttl,
            refresh_token_ttl: c.refresh_token_ttl,
            logout_revokes_tokens: c.logout_revokes_tokens,
            client_secret: None,
        }
    }
}

/// `GET /admin/clients` — scope `admin`.
#[utoipa::path(get, path = "/admin/clients", operation_id = "list_clients",
    summary = "List clients", tag = "admin",
    security(("oauth2" = ["admin"])),
    responses(
        (status = 200, description = "Every client (never a secret)", body = [ClientView]),
        (status = 503, response = crate::openapi::schemas::Unavailable),
    ))]
async fn list(
    State(accounts): State<Accounts>,
    _: Scoped<AdminScope>,
) -> Result<ApiJson<Vec<ClientView>>, ApiError> {
    Ok(ApiJson(
        accounts
            .clients()
            .await?
            .into_iter()
            .map(ClientView::from)
            .collect(),
    ))
}

/// `name` 1–200 printable characters; `grants` from `password`, `refresh_token`,
/// `client_credentials` (confidential clients only), at least one; `scopes` must exist;
/// `audience` (the tokens' `aud`, default the public URL) without spaces; redirect URIs
/// absolute, without a fragment, `https` (or `http` on 127.0.0.1/[::1], or a
/// reverse-domain private-use scheme), at most 20 of each kind; lifetimes in seconds
/// (access 60–86400, refresh 60–31536000; absent: the server's).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CreateClient {
    #[schema(value_type = crate::openapi::fields::ClientName)]
    name: String,
    confidential: bool,
    /// At least one; `client_credentials` only for a confidential client.
    // The second rule is the `anyOf` of `openapi::document::BodyConstraints`.
    #[schema(value_type = Vec<crate::openapi::schemas::GrantType>, min_items = 1)]
    grants: Vec<String>,
    #[serde(default)]
    #[schema(value_type = Vec<crate::openapi::fields::ScopeName>)]
    scopes: Vec<String>,
    #[schema(value_type = Option<crate::openapi::fields::Audience>)]
    audience: Option<String>,
    #[serde(default)]
    #[schema(max_items = 20)]
    redirect_uris: Vec<String>,
    #[serde(default)]
    #[schema(max_items = 20)]
    post_logout_redirect_uris: Vec<String>,
    /// Skip the consent page (default false).
    #[serde(default)]
    first_party: bool,
    /// Default: `client_secret_basic` for a confidential client, `none` for a public one.
    token_endpoint_auth_method: Option<TokenEndpointAuthMethod>,
    #[schema(minimum = 60, maximum = 86400)]
    access_token_ttl: Option<u32>,
    #[schema(minimum = 60, maximum = 31536000)]
    refresh_token_ttl: Option<u32>,
    /// RP-initiated logout also revokes this client's token sessions of that browser
    /// session (default false).
    #[serde(default)]
    logout_revokes_tokens: bool,
}

/// `POST /admin/clients` — scope `admin`. 201; a confidential client's secret is in
/// this response only.
#[utoipa::path(post, path = "/admin/clients", operation_id = "create_client",
    summary = "Create a client", tag = "admin",
    request_body = CreateClient,
    security(("oauth2" = ["admin"])),
    responses(
        (status = 201, description = "Created; `client_secret` is present for a confidential client, in this response only", body = ClientView),
        (status = 400, response = crate::openapi::schemas::InvalidRequest),
        (status = 503, response = crate::openapi::schemas::Unavailable),
    ))]
async fn create(
    State(accounts): State<Accounts>,
    _: Scoped<AdminScope>,
    actor: AdminActor,
    ApiJson(body): ApiJson<CreateClient>,
) -> Result<(StatusCode, ApiJson<ClientView>), ApiError> {
    let created = accounts
        .create_client(ClientSpec {
            name: body.name,
            confidential: body.confidential,
            grants: body.grants,
            scopes: body.scopes,
            audience: body.audience,
            redirect_uris: body.redirect_uris,
            post_logout_redirect_uris: body.post_logout_redirect_uris,
            first_party: body.first_party,
            auth_method: body.token_endpoint_auth_method.map(AuthMethod::from),
            access_token_ttl: body.access_token_ttl,
            refresh_token_ttl: body.refresh_token_ttl,
            logout_revokes_tokens: body.logout_revokes_tokens,
        })
        .await?;
    let mut view = ClientView::from(created.client);
    // Audited before the secret is attached: the secret never reaches the audit trail.
    actor
        .changed(
            "client.create",
            &view.client_id,
            Value::Null,
            serde_json::to_value(&view).unwrap_or_default(),
        )
        .await;
    view.client_secret = created.secret.map(|s| s.expose_secret().to_owned());
    Ok((StatusCode::CREATED, ApiJson(view)))
}

/// `GET /admin/clients/{id}` — scope `admin`.
#[utoipa::path(get, path = "/admin/clients/{id}", operation_id = "get_client",
    summary = "Get a client", tag = "admin",
    params(("id" = String, Path, description = "The client_id")),
    security(("oauth2" = ["admin"])),
    responses(
        (status = 200, description = "The client", body = ClientView),
        (status = 404, response = crate::openapi::schemas::NotFound),
        (status = 503, response = crate::openapi::schemas::Unavailable),
    ))]
async fn get_one(
    State(accounts): State<Accounts>,
    _: Scoped<AdminScope>,
    ApiPath(id): ApiPath<String>,
) -> Result<ApiJson<ClientView>, ApiError> {
    let client = accounts
        .client(&id)
        .await?
        .ok_or(ApiError::NotFound("client"))?;
    Ok(ApiJson(client.into()))
}

/// Only the members sent change, by the rules of [`CreateClient`]; `null` sets a
/// lifetime back to the server's.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct UpdateClient {
    disabled: Option<bool>,
    /// Replaces the grants (the same names and rules as at creation).
    #[schema(value_type = Option<Vec<crate::openapi::schemas::GrantType>>, min_items = 1)]
    grants: Option<Vec<String>>,
    #[schema(value_type = Option<Vec<crate::openapi::fields::ScopeName>>)]
    scopes: Option<Vec<String>>,
    #[schema(max_items = 20)]
    redirect_uris: Option<Vec<String>>,
    #[schema(max_items = 20)]
    post_logout_redirect_uris: Option<Vec<String>>,
    first_party: Option<bool>,
    logout_revokes_tokens: Option<bool>,
    token_endpoint_auth_method: Option<TokenEndpointAuthMethod>,
    #[serde(default, deserialize_with = "super::present")]
    #[schema(minimum = 60, maximum = 86400)]
    access_token_ttl: Option<Option<u32>>,
    #[serde(default, deserialize_with = "super::present")]
    #[schema(minimum = 60, maximum = 31536000)]
    refresh_token_ttl: Option<Option<u32>>,
}

/// `PATCH /admin/clients/{id}` — scope `admin`: disable or enable a client, change its
/// scopes (they must exist, e.g. to let the first-party client request `notes:read`),
/// redirect URIs, consent, authentication method or lifetimes. One write: all of it or
/// nothing.
#[utoipa::path(patch, path = "/admin/clients/{id}", operation_id = "update_client",
    summary = "Change a client", tag = "admin",
    params(("id" = String, Path, description = "The client_id")),
    request_body = UpdateClient,
    security(("oauth2" = ["admin"])),
    responses(
        (status = 200, description = "The updated client", body = ClientView),
        (status = 400, response = crate::openapi::schemas::InvalidRequest),
        (status = 404, response = crate::openapi::schemas::NotFound),
        (status = 503, response = crate::openapi::schemas::Unavailable),
    ))]
async fn update(
    State(accounts): State<Accounts>,
    _: Scoped<AdminScope>,
    actor: AdminActor,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<UpdateClient>,
) -> Result<ApiJson<ClientView>, ApiError> {
    let before = accounts
        .client(&id)
        .await?
        .ok_or(ApiError::NotFound("client"))?;
    let change = ClientChange {
        disabled: body.disabled,
        grants: body.grants,
        scopes: body.scopes,
        redirect_uris: body.redirect_uris,
        post_logout_redirect_uris: body.post_logout_redirect_uris,
        first_party: body.first_party,
        logout_revokes_tokens: body.logout_revokes_tokens,
        auth_method: body.token_endpoint_auth_method.map(AuthMethod::from),
        access_token_ttl: body.access_token_ttl,
        refresh_token_ttl: body.refresh_token_ttl,
    };
    let client = accounts.update_client(&id, change).await?;
    let (before, after) = (ClientView::from(before), ClientView::from(client));
    actor
        .changed(
            "client.update",
            &id,
            serde_json::to_value(&before).unwrap_or_default(),
            serde_json::to_value(&after).unwrap_or_default(),
        )
        .await;
    Ok(ApiJson(after))
}

/// `DELETE /admin/clients/{id}` — scope `admin`. Its refresh tokens go with it.
#[utoipa::path(delete, path = "/admin/clients/{id}", operation_id = "delete_client",
    summary = "Delete a client", tag = "admin",
    params(("id" = String, Path, description = "The client_id")),
    security(("oauth2" = ["admin"])),
    responses(
        (status = 204, description = "Deleted, with its refresh tokens"),
        (status = 404, response = crate::openapi::schemas::NotFound),
        (status = 503, response = crate::openapi::schemas::Unavailable),
    ))]
async fn delete(
    State(accounts): State<Accounts>,
    _: Scoped<AdminScope>,
    actor: AdminActor,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let before = accounts.client(&id).await?.map(ClientView::from);
    accounts.delete_client(&id).await.map_err(|e| match e {
        crate::store::StoreError::NotFound => ApiError::NotFound("client"),
        other => other.into(),
    })?;
    actor
        .changed(
            "client.delete",
            &id,
            serde_json::to_value(&before).unwrap_or_default(),
            Value::Null,
        )
        .await;
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
