//! `/admin/roles` and `/admin/scopes`.

use axum::Router;
use axum::extract::State;
use axum::routing::{get, put};
use http::StatusCode;
use rampart::Scoped;
use serde::{Deserialize, Serialize};

use super::AdminScope;
use crate::accounts::Accounts;
use crate::accounts::scopes::is_scope_token;
use crate::error::{ApiError, ApiJson, ApiPath};
use crate::state::AppState;
use crate::store::{Role, ScopeDef};

#[derive(Debug, Serialize)]
pub(super) struct RoleView {
    name: String,
    description: String,
    scopes: Vec<String>,
}

impl From<Role> for RoleView {
    fn from(r: Role) -> Self {
        Self {
            name: r.name,
            description: r.description,
            scopes: r.scopes,
        }
    }
}

/// `GET /admin/roles` — scope `admin`.
async fn list(
    State(accounts): State<Accounts>,
    _: Scoped<AdminScope>,
) -> Result<ApiJson<Vec<RoleView>>, ApiError> {
    Ok(ApiJson(
        accounts
            .store
            .list_roles()
            .await?
            .into_iter()
            .map(RoleView::from)
            .collect(),
    ))
}

#[derive(Deserialize)]
pub(super) struct CreateRole {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    scopes: Vec<String>,
}

/// `POST /admin/roles` — scope `admin`.
async fn create(
    State(accounts): State<Accounts>,
    _: Scoped<AdminScope>,
    ApiJson(body): ApiJson<CreateRole>,
) -> Result<(StatusCode, ApiJson<RoleView>), ApiError> {
    let role = accounts
        .create_role(&body.name, &body.description, &body.scopes)
        .await?;
    Ok((StatusCode::CREATED, ApiJson(role.into())))
}

#[derive(Deserialize)]
pub(super) struct SetScopes {
    scopes: Vec<String>,
}

/// `PUT /admin/roles/{name}` `{"scopes": [...]}` — scope `admin`.
async fn set_scopes(
    State(accounts): State<Accounts>,
    _: Scoped<AdminScope>,
    ApiPath(name): ApiPath<String>,
    ApiJson(body): ApiJson<SetScopes>,
) -> Result<ApiJson<RoleView>, ApiError> {
    accounts.set_role_scopes(&name, &body.scopes).await?;
    let role = accounts
        .store
        .role(&name)
        .await?
        .ok_or(ApiError::NotFound("role"))?;
    Ok(ApiJson(role.into()))
}

/// `DELETE /admin/roles/{name}` — scope `admin`.
async fn delete(
    State(accounts): State<Accounts>,
    _: Scoped<AdminScope>,
    ApiPath(name): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    accounts.delete_role(&name).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize)]
pub(super) struct ScopeView {
    name: String,
    description: String,
    default: bool,
}

/// `GET /admin/scopes` — scope `admin`.
async fn list_scopes(
    State(accounts): State<Accounts>,
    _: Scoped<AdminScope>,
) -> Result<ApiJson<Vec<ScopeView>>, ApiError> {
    let scopes = accounts.store.list_scopes().await?;
    Ok(ApiJson(
        scopes
            .into_iter()
            .map(|s| ScopeView {
                name: s.name,
                description: s.description,
                default: s.is_default,
            })
            .collect(),
    ))
}

#[derive(Deserialize)]
pub(super) struct PutScope {
    #[serde(default)]
    description: String,
    #[serde(default)]
    default: bool,
}

/// `PUT /admin/scopes/{name}` `{"description", "default"}` — scope `admin`. Creates or
/// updates a scope; `admin` can never become a default scope.
async fn put_scope(
    State(accounts): State<Accounts>,
    _: Scoped<AdminScope>,
    ApiPath(name): ApiPath<String>,
    ApiJson(body): ApiJson<PutScope>,
) -> Result<ApiJson<ScopeView>, ApiError> {
    if !is_scope_token(&name) {
        return Err(ApiError::BadRequest(
            "a scope name is printable ASCII without spaces, quotes or backslashes".into(),
        ));
    }
    if name == "admin" && body.default {
        return Err(ApiError::BadRequest(
            "the admin scope is never a default scope".into(),
        ));
    }
    let scope = ScopeDef {
        name,
        description: body.description,
        is_default: body.default,
    };
    accounts.store.upsert_scope(&scope).await?;
    Ok(ApiJson(ScopeView {
        name: scope.name,
        description: scope.description,
        default: scope.is_default,
    }))
}

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/roles", get(list).post(create))
        .route("/admin/roles/{name}", put(set_scopes).delete(delete))
        .route("/admin/scopes", get(list_scopes))
        .route("/admin/scopes/{name}", put(put_scope))
}
