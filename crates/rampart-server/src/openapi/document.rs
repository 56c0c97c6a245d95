//! The OpenAPI 3.1 document: every route of the server, assembled from the handlers'
//! `#[utoipa::path]` attributes, with the security schemes added by
//! [`rampart::openapi::SecurityAddon`].

use std::sync::LazyLock;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, header};
use rampart::openapi::SecurityAddon;
use serde_json::json;
use utoipa::openapi::schema::{AdditionalProperties, Object, Schema, SchemaType, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{OpenApi as Document, RefOr};
use utoipa::{Modify, OpenApi};

use super::schemas;
use crate::accounts::Accounts;

/// The token endpoint, relative to the document so that it is right behind any proxy and
/// on any port.
pub const TOKEN_PATH: &str = "/oauth/token";

/// Name of the HTTP Basic scheme of OAuth clients (RFC 6749 §2.3.1).
pub const CLIENT_BASIC: &str = "client_basic";

/// The built-in scopes (migrations 0001 and 0009), in case the store cannot be read; the document
/// served lists the store's scopes with their current descriptions.
const BUILT_IN_SCOPES: &[(&str, &str)] = &[
    ("profile", "Read your own profile and change your password"),
    ("admin", "Administer users, roles, clients and sessions"),
    (
        "openid",
        "Sign you in to the app with your account (OpenID Connect)",
    ),
    ("email", "See your email address"),
];

const DESCRIPTION: &str = "\
OAuth 2.0 token server: the password, refresh_token and client_credentials grants \
(RFC 6749), revocation (RFC 7009), introspection (RFC 7662), server metadata (RFC 8414), \
the signing keys as a JWKS (RFC 7517), and an admin API for users, roles, scopes, clients, \
sessions and the audit trail.

**Try it here:** click *Authorize*, enter a username and password under `oauth2` \
(client_id `first-party` is filled in, no secret), tick the scopes you need \
(`admin` for the admin API), and call any endpoint you are allowed to. Access tokens are \
JWTs (RFC 9068) valid for 15 minutes by default.

Errors are JSON `{\"error\", \"error_description\"}`: RFC 6749 §5.2 codes on the OAuth \
endpoints, RFC 6750 §3 codes (with `WWW-Authenticate`) for a missing, invalid or \
under-scoped token.";

#[derive(OpenApi)]
#[openapi(
    info(title = "Rampart", description = DESCRIPTION, license(name = "MIT OR Apache-2.0")),
    paths(
        crate::oauth::token::token,
        crate::oauth::revoke::revoke,
        crate::oauth::introspect::introspect,
        crate::oauth::metadata::metadata,
        crate::oauth::metadata::jwks,
        crate::oauth::metadata::openid_configuration,
        crate::oauth::userinfo::userinfo,
        crate::oauth::userinfo::userinfo_post,
        crate::profile::me,
        crate::profile::change_password,
        crate::health::healthz,
        crate::health::readyz,
        openapi_json,
        super::swagger::redirect,
        super::swagger::page,
        super::swagger::asset,
    ),
    components(
        schemas(schemas::ErrorBody, schemas::OAuthErrorBody, schemas::OAuthErrorCode),
        responses(
            schemas::InvalidRequest,
            schemas::NotFound,
            schemas::Conflict,
            schemas::TooManyFailures,
            schemas::Unavailable,
            schemas::OAuthBadRequest,
            schemas::InvalidClient,
            schemas::FormTooLarge,
            schemas::TooManyAttempts,
            schemas::OAuthUnavailable,
        ),
    ),
    modifiers(&ClientBasic),
    tags(
        (name = "oauth", description = "RFC 6749 token endpoint, RFC 7009 revocation, RFC 7662 introspection, RFC 8414 metadata, RFC 7517 keys"),
        (name = "users", description = "The caller's own account (scope `profile`)"),
        (name = "admin", description = "Users, roles, scopes, clients, sessions and the audit trail (scope `admin`)"),
        (name = "health", description = "Liveness and readiness"),
        (name = "docs", description = "This document and Swagger UI"),
    )
)]
struct ApiDoc;

/// Registers the HTTP Basic scheme clients authenticate with at the OAuth endpoints.
struct ClientBasic;

impl Modify for ClientBasic {
    fn modify(&self, api: &mut Document) {
        api.components
            .get_or_insert_with(Default::default)
            .security_schemes
            .insert(
                CLIENT_BASIC.to_owned(),
                RefOr::T(SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Basic)
                        .description(Some(
                            "OAuth client authentication (RFC 6749 §2.3.1): client_id and \
                             client_secret, each form-urlencoded. A public client may send \
                             an empty secret.",
                        ))
                        .build(),
                )),
            );
    }
}

/// Every route, before the security schemes (whose scope list is read per request).
static PATHS: LazyLock<Document> = LazyLock::new(|| {
    let mut api = ApiDoc::openapi();
    api.info.version = env!("CARGO_PKG_VERSION").to_owned();
    api.merge(crate::admin::openapi::AdminApi::openapi());
    api
});

/// The document, with `scopes` (name, description) listed in the `oauth2` scheme on top of
/// the built-in ones.
pub fn document(scopes: impl IntoIterator<Item = (String, String)>) -> Document {
    let mut api = PATHS.clone();
    let addon = scopes.into_iter().fold(
        SecurityAddon::password_flow(TOKEN_PATH)
            .with_authorization_code("/oauth/authorize")
            .scopes(BUILT_IN_SCOPES),
        |addon, (name, description)| addon.with_scope(name, description),
    );
    addon.modify(&mut api);
    FormConstraints.modify(&mut api);
    BodyConstraints.modify(&mut api);
    api
}

/// The constraints of the hand-parsed OAuth forms (`oauth::form::Params`) that the derive
/// cannot state. A form value is a string, never `null`; any further parameter is one
/// string (RFC 6749 §3.1: unknown parameters are ignored, none may repeat); a non-empty
/// `client_secret` needs a non-empty `client_id` (§2.3.1; an empty value counts as absent);
/// each grant its own parameters (§4.3.2, §6; `oauth::token`).
struct FormConstraints;

impl Modify for FormConstraints {
    fn modify(&self, api: &mut Document) {
        let Some(components) = api.components.as_mut() else {
            return;
        };
        for form in ["TokenRequest", "RevokeRequest", "IntrospectRequest"] {
            let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(form) else {
                continue;
            };
            for property in object.properties.values_mut() {
                if let RefOr::T(Schema::Object(property)) = property
                    && let SchemaType::Array(types) = &property.schema_type
                    && let [single] = types
                        .iter()
                        .filter(|t| **t != Type::Null)
                        .cloned()
                        .collect::<Vec<_>>()
                        .as_slice()
                {
                    property.schema_type = SchemaType::Type(single.clone());
                }
            }
            object.additional_properties = Some(Box::new(AdditionalProperties::RefOr(RefOr::T(
                Schema::Object(Object::with_type(Type::String)),
            ))));
            add_keyword(
                object,
                "anyOf",
                json!([
                    {"properties": {"client_secret": {"maxLength": 0}}},
                    {"required": ["client_id"], "properties": {"client_id": {"minLength": 1}}},
                ]),
            );
            if form == "TokenRequest" {
                let present = json!({"minLength": 1});
                add_keyword(
                    object,
                    "oneOf",
                    json!([
                        {
                            "required": ["username", "password"],
                            "properties": {
                                "grant_type": {"const": "password"},
                                "username": present,
                                "password": present,
                            },
                        },
                        {
                            "required": ["refresh_token"],
                            "properties": {
                                "grant_type": {"const": "refresh_token"},
                                "refresh_token": present,
                            },
                        },
                        {"properties": {"grant_type": {"const": "client_credentials"}}},
                        {
                            "required": ["code", "redirect_uri", "code_verifier"],
                            "properties": {
                                "grant_type": {"const": "authorization_code"},
                                "code": present,
                                "redirect_uri": present,
                                "code_verifier": {"minLength": 43, "maxLength": 128, "pattern": "^[A-Za-z0-9._~-]*$"},
                            },
                        },
                    ]),
                );
            }
        }
    }
}

/// The cross-member rules of the JSON bodies that the derive cannot state:
/// `client_credentials` is for confidential clients only (RFC 6749 §4.4;
/// `accounts::Accounts::create_client`).
struct BodyConstraints;

impl Modify for BodyConstraints {
    fn modify(&self, api: &mut Document) {
        let Some(RefOr::T(Schema::Object(object))) = api
            .components
            .as_mut()
            .and_then(|components| components.schemas.get_mut("CreateClient"))
        else {
            return;
        };
        add_keyword(
            object,
            "anyOf",
            json!([
                {"properties": {"confidential": {"const": true}}},
                {"properties": {"grants": {"items": {"not": {"const": "client_credentials"}}}}},
            ]),
        );
    }
}

/// Adds a JSON Schema keyword utoipa's `Object` has no field for (`anyOf`, `oneOf`): its
/// flattened extensions serialize it in place.
fn add_keyword(object: &mut Object, keyword: &str, value: serde_json::Value) {
    object
        .extensions
        .get_or_insert_with(Default::default)
        .insert(keyword.to_owned(), value);
}

/// The OpenAPI 3.1 document of this server.
///
/// The `oauth2` scheme lists the scopes defined right now, with their descriptions, so
/// Swagger UI's "Authorize" offers each of them.
#[utoipa::path(get, path = "/openapi.json", operation_id = "openapi",
    summary = "This OpenAPI 3.1 document", tag = "docs",
    responses(
        (status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json",
            body = Object,
            headers(("Cache-Control" = String, description = "`public, max-age=60`"))),
    ))]
pub async fn openapi_json(State(accounts): State<Accounts>) -> Response {
    let scopes = match accounts.scopes().await {
        Ok(scopes) => scopes
            .into_iter()
            .map(|s| (s.name, s.description))
            .collect(),
        Err(e) => {
            tracing::warn!(error = %e, "listing scopes for the OpenAPI document failed");
            Vec::new()
        }
    };
    let mut response = axum::Json(document(scopes)).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=60"),
    );
    response
}
