//! `/admin/roles` and `/admin/scopes`.

use axum::Router;
use axum::extract::State;
use axum::routing::{get, put};
use http::StatusCode;
use rampart::Scoped;
use serde::{Deserialize, Serialize};

use super::AdminActor;
use super::AdminScope;
use crate::accounts::Accounts;
use crate::error::{ApiError, ApiJson, ApiPath};
use crate::state::AppState;
use crate::store::Role;
use serde_json::Value;

/// A role and the scopes it grants.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Role)]
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
#[utoipa::path(get, path = "/admin/roles", operation_id = "list_roles",
    summary = "List roles", tag = "admin",
    security(("oauth2" = ["admin"])),
    responses(
        (status = 200, description = "Every role", body = [RoleView]),
        (status = 503, response = crate::openapi::schemas::Unavailable),
    ))]
async fn list(
    State(accounts): State<Accounts>,
    _: Scoped<AdminScope>,
) -> Result<ApiJson<Vec<RoleView>>, ApiError> {
    Ok(ApiJson(
        accounts
            .roles()
            .await?
            .into_iter()
            .map(RoleView::from)
            .collect(),
    ))
}

/// Name: 1–64 printable ASCII characters without spaces, quotes or backslashes. Scopes
/// must exist.
#[derive(Deserialize, utoipa::ToSchema)]
pub(super) struct CreateRole {
    #[schema(value_type = crate::openapi::fields::RoleName)]
    name: String,
    #[serde(default)]
    #[schema(value_type = crate::openapi::fields::Description)]
    description: String,
    #[serde(default)]
    #[schema(value_type = Vec<crate::openapi::fields::ScopeName>)]
    scopes: Vec<String>,
}

/// `POST /admin/roles` — scope `admin`.
#[utoipa::path(post, path = "/admin/roles", operation_id = "create_role",
    summary = "Create a role", tag = "admin",
    request_body = CreateRole,
    security(("oauth2" = ["admin"])),
    responses(
        (status = 201, description = "Created", body = RoleView),
        (status = 400, response = crate::openapi::schemas::InvalidRequest),
        (status = 409, response = crate::openapi::schemas::Conflict),
        (status = 503, response = crate::openapi::schemas::Unavailable),
    ))]
async fn create(
    State(accounts): State<Accounts>,
    _: Scoped<AdminScope>,
    actor: AdminActor,
    ApiJson(body): ApiJson<CreateRole>,
) -> Result<(StatusCode, ApiJson<RoleView>), ApiError> {
    let role = accounts
        .create_role(&body.name, &body.description, &body.scopes)
        .await?;
    let view = RoleView::from(role);
    actor
        .changed(
            "role.create",
            &view.name,
            Value::Null,
            serde_json::to_value(&view).unwrap_or_default(),
        )
        .await;
    Ok((StatusCode::CREATED, ApiJson(view)))
}

/// The role's complete new scope list (each scope must exist).
#[derive(Deserialize, utoipa::ToSchema)]
pub(super) struct SetScopes {
    #[schema(value_type = Vec<crate::openapi::fields::ScopeName>)]
    scopes: Vec<String>,
}

/// `PUT /admin/roles/{name}` `{"scopes": [...]}` — scope `admin`.
#[utoipa::path(put, path = "/admin/roles/{name}", operation_id = "set_role_scopes",
    summary = "Replace a role's scopes", tag = "admin",
    params(("name" = crate::openapi::fields::RoleName, Path, description = "The role's name")),
    request_body = SetScopes,
    security(("oauth2" = ["admin"])),
    responses(
        (status = 200, description = "The updated role", body = RoleView),
        (status = 400, response = crate::openapi::schemas::InvalidRequest),
        (status = 404, response = crate::openapi::schemas::NotFound),
        (status = 503, response = crate::openapi::schemas::Unavailable),
    ))]
async fn set_scopes(
    State(accounts): State<Accounts>,
    _: Scoped<AdminScope>,
    actor: AdminActor,
    ApiPath(name): ApiPath<String>,
    ApiJson(body): ApiJson<SetScopes>,
) -> Result<ApiJson<RoleView>, ApiError> {
    let before = accounts.role(&name).await?.map(RoleView::from);
    accounts.set_role_scopes(&name, &body.scopes).await?;
    let role = accounts
        .role(&name)
        .await?
        .ok_or(ApiError::NotFound("role"))?;
    let view = RoleView::from(role);
    actor
        .changed(
            "role.set_scopes",
            &name,
            serde_json::to_value(&before).unwrap_or_default(),
            serde_json::to_value(&view).unwrap_or_default(),
        )
        .await;
    Ok(ApiJson(view))
}

/// `DELETE /admin/roles/{name}` — scope `admin`.
#[utoipa::path(delete, path = "/admin/roles/{name}", operation_id = "delete_role",
    summary = "Delete a role", tag = "admin",
    params(("name" = inline(crate::openapi::fields::DeletableRoleName), Path, description = "The role's name")),
    security(("oauth2" = ["admin"])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "`invalid_request`: the built-in roles `admin` and `user` cannot be deleted", body = crate::openapi::schemas::ErrorBody,
            example = json!({"error": "invalid_request", "error_description": "built-in roles cannot be deleted"})),
        (status = 404, response = crate::openapi::schemas::NotFound),
        (status = 503, response = crate::openapi::schemas::Unavailable),
    ))]
async fn delete(
    State(accounts): State<Accounts>,
    _: Scoped<AdminScope>,
    actor: AdminActor,
    ApiPath(name): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let before = accounts.role(&name).await?.map(RoleView::from);
    accounts.delete_role(&name).await?;
    actor
        .changed(
            "role.delete",
            &name,
            serde_json::to_value(&before).unwrap_or_default(),
            Value::Null,
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}

/// A scope; `default` scopes are granted when a token request names none.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Scope)]
pub(super) struct ScopeView {
    name: String,
    description: String,
    default: bool,
}

/// `GET /admin/scopes` — scope `admin`.
#[utoipa::path(get, path = "/admin/scopes", operation_id = "list_scopes",
    summary = "List scopes", tag = "admin",
    security(("oauth2" = ["admin"])),
    responses(
        (status = 200, description = "Every scope", body = [ScopeView]),
        (status = 503, response = crate::openapi::schemas::Unavailable),
    ))]
async fn list_scopes(
    State(accounts): State<Accounts>,
    _: Scoped<AdminScope>,
) -> Result<ApiJson<Vec<ScopeView>>, ApiError> {
    let scopes = accounts.scopes().await?;
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

/// Both members optional (`""` and `false` by default).
#[derive(Deserialize, utoipa::ToSchema)]
pub(super) struct PutScope {
    #[serde(default)]
    #[schema(value_type = crate::openapi::fields::Description)]
    description: String,
    #[serde(default)]
    default: bool,
}

/// `PUT /admin/scopes/{name}` `{"description", "default"}` — scope `admin`. Creates or
/// updates a scope; `admin` can never become a default scope.
#[utoipa::path(put, path = "/admin/scopes/{name}", operation_id = "put_scope",
    summary = "Create or update a scope", tag = "admin",
    params(("name" = crate::openapi::fields::ScopeName, Path, description = "The scope: printable ASCII without spaces, quotes or backslashes, at most 128 characters")),
    request_body = PutScope,
    security(("oauth2" = ["admin"])),
    responses(
        (status = 200, description = "The scope as stored", body = ScopeView),
        (status = 400, response = crate::openapi::schemas::InvalidRequest),
        (status = 503, response = crate::openapi::schemas::Unavailable),
    ))]
async fn put_scope(
    State(accounts): State<Accounts>,
    _: Scoped<AdminScope>,
    actor: AdminActor,
    ApiPath(name): ApiPath<String>,
    ApiJson(body): ApiJson<PutScope>,
) -> Result<ApiJson<ScopeView>, ApiError> {
    let before = accounts
        .scopes()
        .await?
        .into_iter()
        .find(|s| s.name == name);
    let scope = accounts
        .put_scope(&name, &body.description, body.default)
        .await?;
    let view = ScopeView {
        name: scope.name,
        description: scope.description,
        default: scope.is_default,
    };
    let before = before.map(|s| serde_json::json!({"name": s.name, "description": s.description, "default": s.is_default}));
    actor
        .changed(
            "scope.put",
            &view.name,
            before.unwrap_or_default(),
            serde_json::to_value(&view).unwrap_or_default(),
        )
        .await;
    Ok(ApiJson(view))
}

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/roles", get(list).post(create))
        .route("/admin/roles/{name}", put(set_scopes).delete(delete))
        .route("/admin/scopes", get(list_scopes))
        .route("/admin/scopes/{name}", put(put_scope))
}
