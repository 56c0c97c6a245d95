//! OpenAPI ([utoipa]) descriptions of bearer-token security, so a service's docs get a
//! working "Authorize" button and say what every protected route needs (feature `openapi`).
//!
//! Describe a route's security with the one attribute utoipa already has,
//! `security(("oauth2" = ["notes:read"]))`, and register [`SecurityAddon`] as a modifier.
//! The addon then, for every operation that names [`OAUTH2`] or [`BEARER`]:
//!
//! - registers the `bearer` scheme (HTTP bearer, JWT) and, given a token URL, the `oauth2`
//!   scheme with the password flow and every scope with its description;
//! - lists both alternatives on the operation, with the same scopes, so a client may present
//!   a token however it obtained it;
//! - documents the RFC 6750 §3 rejections the extractors produce (400 `invalid_request`,
//!   401 `invalid_token`, 403 `insufficient_scope` naming the scopes, 503 when keys are
//!   unavailable), unless the operation already documents that status.
//!
//! ```
//! use axum::{Json, Router, routing::get};
//! use rampart::openapi::{SecurityAddon, documented_scopes};
//! use rampart::{ScopeSet, Scoped};
//! use utoipa::OpenApi;
//! use utoipa::openapi::HttpMethod;
//!
//! rampart::scopes!(NotesRead = "notes:read");
//!
//! /// The caller's notes.
//! #[utoipa::path(get, path = "/notes",
//!     security(("oauth2" = ["notes:read"])),
//!     responses((status = 200, description = "The notes", body = [String])))]
//! async fn notes(_token: Scoped<NotesRead>) -> Json<Vec<String>> {
//!     Json(vec![])
//! }
//!
//! const SECURITY: SecurityAddon = SecurityAddon::password_flow("https://auth.example.com/oauth/token")
//!     .scopes(&[("notes:read", "Read your notes")]);
//!
//! #[derive(OpenApi)]
//! #[openapi(paths(notes), modifiers(&SECURITY))]
//! struct ApiDoc;
//!
//! let api = ApiDoc::openapi();
//! // The docs say what the extractor enforces; keep this in a test so they cannot drift.
//! assert_eq!(
//!     documented_scopes(&api, HttpMethod::Get, "/notes").as_deref(),
//!     Some(NotesRead::SCOPES.iter().map(|s| s.to_string()).collect::<Vec<_>>().as_slice()),
//! );
//! let json = serde_json::to_value(&api).unwrap();
//! assert_eq!(json["components"]["securitySchemes"]["oauth2"]["flows"]["password"]["scopes"]["notes:read"], "Read your notes");
//! assert_eq!(json["paths"]["/notes"]["get"]["security"][1]["bearer"][0], "notes:read");
//! assert!(json["paths"]["/notes"]["get"]["responses"]["403"].is_object());
//! # let _: Router<rampart::Validator> = Router::new().route("/notes", get(notes));
//! ```
//!
//! Operations documented with the builder API can take [`requirements::<S>()`](requirements)
//! from a [`ScopeSet`] marker instead of repeating its scopes.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde_json::{Value, json};
use utoipa::openapi::path::{HttpMethod, Operation};
use utoipa::openapi::security::{
    AuthorizationCode, Flow, HttpAuthScheme, HttpBuilder, OAuth2, Password, Scopes,
    SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{OpenApi, RefOr, Response};
use utoipa::{Modify, PartialSchema, ToSchema};

use crate::ScopeSet;

/// Name of the HTTP bearer (JWT) security scheme.
pub const BEARER: &str = "bearer";
/// Name of the OAuth2 (password flow) security scheme.
pub const OAUTH2: &str = "oauth2";

/// The JSON body of an RFC 6750 rejection, as [`Rejection`](crate::Rejection) renders it
/// by default. Registered as the component schema `BearerError` (the name the document
/// has always used; the Rust name says it is a response body, not the
/// [`extract::BearerError`](crate::extract::BearerError) of a request).
#[derive(Debug, Clone, ToSchema)]
#[schema(as = BearerError)]
#[schema(example = json!({"error": "invalid_token", "error_description": "the token has expired"}))]
pub struct BearerErrorBody {
    /// `invalid_request`, `invalid_token`, `insufficient_scope`, `temporarily_unavailable`,
    /// or `unauthorized` when no token was sent (RFC 6750 defines no code for that case).
    pub error: String,
    /// A human-readable explanation; never contains the token.
    pub error_description: String,
}

/// A [`Modify`] that registers the `bearer` and `oauth2` schemes and completes every
/// operation that names one of them (both alternatives, RFC 6750 error responses).
///
/// Const-constructible, so it can be named in `#[openapi(modifiers(&SECURITY))]`; scopes
/// known only at run time go through [`with_scope`](Self::with_scope).
#[derive(Debug, Clone)]
pub struct SecurityAddon {
    token_url: Option<Cow<'static, str>>,
    authorization_url: Option<Cow<'static, str>>,
    scopes: &'static [(&'static str, &'static str)],
    more_scopes: Vec<(String, String)>,
    error_responses: bool,
}

impl SecurityAddon {
    /// Bearer JWTs only: for a service whose users obtain tokens elsewhere.
    pub const fn bearer() -> Self {
        Self {
            token_url: None,
            authorization_url: None,
            scopes: &[],
            more_scopes: Vec::new(),
            error_responses: true,
        }
    }

    /// Bearer JWTs, plus the OAuth2 password flow at `token_url` (absolute, or relative to
    /// the document) so Swagger UI's "Authorize" can log in with a username and password.
    pub const fn password_flow(token_url: &'static str) -> Self {
        Self {
            token_url: Some(Cow::Borrowed(token_url)),
            authorization_url: None,
            scopes: &[],
            more_scopes: Vec::new(),
            error_responses: true,
        }
    }

    /// Like [`password_flow`](Self::password_flow) with a token URL known at run time.
    pub fn password_flow_at(token_url: impl Into<String>) -> Self {
        Self {
            token_url: Some(Cow::Owned(token_url.into())),
            ..Self::bearer()
        }
    }

    /// Also offers the authorization-code flow (RFC 6749 §4.1) at `authorization_url`,
    /// beside the password flow, with the same token URL and scopes (Swagger UI adds PKCE
    /// when configured to). No effect without a token URL.
    pub fn with_authorization_code(mut self, authorization_url: impl Into<String>) -> Self {
        self.authorization_url = Some(Cow::Owned(authorization_url.into()));
        self
    }

    /// Every scope the service knows, `(name, description)`; shown by "Authorize".
    /// Scopes used by an operation but not listed here are added with a generic description.
    pub const fn scopes(mut self, scopes: &'static [(&'static str, &'static str)]) -> Self {
        self.scopes = scopes;
        self
    }

    /// Adds one scope known at run time (e.g. read from a database).
    pub fn with_scope(mut self, name: impl Into<String>, description: impl Into<String>) -> Self {
        self.more_scopes.push((name.into(), description.into()));
        self
    }

    /// Leaves the operations' responses alone (for services that render rejections in
    /// another shape and document them themselves).
    pub const fn without_error_responses(mut self) -> Self {
        self.error_responses = false;
        self
    }

    fn declared_scopes(&self) -> BTreeMap<String, String> {
        self.scopes
            .iter()
            .map(|(n, d)| ((*n).to_owned(), (*d).to_owned()))
            .chain(self.more_scopes.iter().cloned())
            .collect()
    }
}

impl Modify for SecurityAddon {
    fn modify(&self, api: &mut OpenApi) {
        let oauth2 = self.token_url.is_some();
        let mut used: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut any_secured = false;
        for (path, item) in &mut api.paths.paths {
            for (method, operation) in operations_mut(item) {
                let Some(scopes) = secured_scopes(operation) else {
                    continue;
                };
                any_secured = true;
                for scope in &scopes {
                    used.entry(scope.clone())
                        .or_default()
                        .push(format!("{} {path}", method_name(&method)));
                }
                let mut alternatives = Vec::with_capacity(2);
                if oauth2 {
                    alternatives.push(SecurityRequirement::new(OAUTH2, scopes.iter()));
                }
                alternatives.push(SecurityRequirement::new(BEARER, scopes.iter()));
                operation.security = Some(alternatives);
                if self.error_responses {
                    add_error_responses(operation, &scopes);
                }
            }
        }
        let components = api.components.get_or_insert_with(Default::default);
        components.security_schemes.insert(
            BEARER.to_owned(),
            RefOr::T(SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "An access token (JWT, RFC 9068) in `Authorization: Bearer <token>`.",
                    ))
                    .build(),
            )),
        );
        if let Some(token_url) = &self.token_url {
            let mut scopes = self.declared_scopes();
            for (scope, operations) in used {
                scopes
                    .entry(scope)
                    .or_insert_with(|| format!("Required by {}", operations.join(", ")));
            }
            let mut flows = Vec::with_capacity(2);
            let mut description = String::new();
            if let Some(authorization_url) = &self.authorization_url {
                flows.push(Flow::AuthorizationCode(AuthorizationCode::new(
                    authorization_url.as_ref(),
                    token_url.as_ref(),
                    Scopes::from_iter(scopes.clone()),
                )));
                description.push_str(
                    "OAuth 2.0 authorization code grant with PKCE (RFC 6749 §4.1, RFC 7636): \
                     sign in on the authorization server's page. ",
                );
            }
            flows.push(Flow::Password(Password::new(
                token_url.as_ref(),
                Scopes::from_iter(scopes),
            )));
            description.push_str(
                "OAuth 2.0 resource owner password credentials grant (RFC 6749 §4.3): \
                 log in with a username and password; the token endpoint returns a bearer \
                 access token.",
            );
            components.security_schemes.insert(
                OAUTH2.to_owned(),
                RefOr::T(SecurityScheme::OAuth2(OAuth2::with_description(
                    flows,
                    description,
                ))),
            );
        }
        if any_secured && self.error_responses {
            let (name, schema) = (BearerErrorBody::name(), BearerErrorBody::schema());
            components
                .schemas
                .entry(name.into_owned())
                .or_insert(schema);
        }
    }
}

/// The security requirements of a route guarded by `Scoped<S>`: the `oauth2` scheme with
/// `S`'s scopes, or a bearer token carrying them. For utoipa's builder API
/// (`Operation::securities`).
pub fn requirements<S: ScopeSet>() -> Vec<SecurityRequirement> {
    vec![
        SecurityRequirement::new(OAUTH2, S::SCOPES.iter().copied()),
        SecurityRequirement::new(BEARER, S::SCOPES.iter().copied()),
    ]
}

/// The scopes an operation's documentation requires (from its `oauth2` or `bearer`
/// requirement), or `None` when the operation is missing or not secured. Compare with a
/// [`ScopeSet`]'s `SCOPES` in a test so the docs cannot drift from the extractor.
pub fn documented_scopes(api: &OpenApi, method: HttpMethod, path: &str) -> Option<Vec<String>> {
    let item = api.paths.paths.get(path)?;
    let operation = match method {
        HttpMethod::Get => item.get.as_ref(),
        HttpMethod::Put => item.put.as_ref(),
        HttpMethod::Post => item.post.as_ref(),
        HttpMethod::Delete => item.delete.as_ref(),
        HttpMethod::Options => item.options.as_ref(),
        HttpMethod::Head => item.head.as_ref(),
        HttpMethod::Patch => item.patch.as_ref(),
        HttpMethod::Trace => item.trace.as_ref(),
    }?;
    let mut scopes = secured_scopes(operation)?;
    scopes.sort();
    Some(scopes)
}

fn operations_mut(
    item: &mut utoipa::openapi::PathItem,
) -> impl Iterator<Item = (HttpMethod, &mut Operation)> {
    [
        (HttpMethod::Get, item.get.as_mut()),
        (HttpMethod::Put, item.put.as_mut()),
        (HttpMethod::Post, item.post.as_mut()),
        (HttpMethod::Delete, item.delete.as_mut()),
        (HttpMethod::Options, item.options.as_mut()),
        (HttpMethod::Head, item.head.as_mut()),
        (HttpMethod::Patch, item.patch.as_mut()),
        (HttpMethod::Trace, item.trace.as_mut()),
    ]
    .into_iter()
    .filter_map(|(m, op)| op.map(|op| (m, op)))
}

fn method_name(method: &HttpMethod) -> &'static str {
    match method {
        HttpMethod::Get => "GET",
        HttpMethod::Put => "PUT",
        HttpMethod::Post => "POST",
        HttpMethod::Delete => "DELETE",
        HttpMethod::Options => "OPTIONS",
        HttpMethod::Head => "HEAD",
        HttpMethod::Patch => "PATCH",
        HttpMethod::Trace => "TRACE",
    }
}

/// The union of the scopes named by the operation's `oauth2`/`bearer` requirements, or
/// `None` if it names neither. `SecurityRequirement` keeps its map private; its serde
/// form is the documented OpenAPI object, so read that.
fn secured_scopes(operation: &Operation) -> Option<Vec<String>> {
    let mut found = false;
    let mut scopes: Vec<String> = Vec::new();
    for requirement in operation.security.as_deref().unwrap_or_default() {
        let Ok(Value::Object(map)) = serde_json::to_value(requirement) else {
            continue;
        };
        for (name, list) in map {
            if name != OAUTH2 && name != BEARER {
                continue;
            }
            found = true;
            for scope in list
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if !scopes.iter().any(|s| s == scope) {
                    scopes.push(scope.to_owned());
                }
            }
        }
    }
    found.then_some(scopes)
}

/// RFC 6750 §3 responses, each with its `WWW-Authenticate` challenge.
fn add_error_responses(operation: &mut Operation, scopes: &[String]) {
    let scope_list = if scopes.is_empty() {
        "any scope".to_owned()
    } else {
        scopes.join(" ")
    };
    let cases = [
        (
            "400",
            "`invalid_request` (RFC 6750 §3.1): the `Authorization` header is malformed, or a token was sent twice.",
            "invalid_request",
            true,
        ),
        (
            "401",
            "No token (`Bearer realm=…`, error `unauthorized`) or `invalid_token` (RFC 6750 §3.1): bad signature, expired, wrong issuer, audience or type, revoked.",
            "invalid_token",
            true,
        ),
        ("403", "", "insufficient_scope", true),
        (
            "503",
            "The token's signing keys are temporarily unavailable; retry after `Retry-After` seconds.",
            "temporarily_unavailable",
            false,
        ),
    ];
    for (status, description, code, challenge) in cases {
        if operation.responses.responses.contains_key(status) {
            continue;
        }
        let description = if status == "403" {
            format!(
                "`insufficient_scope` (RFC 6750 §3.1): the token lacks a required scope ({scope_list})."
            )
        } else {
            description.to_owned()
        };
        let mut response = json!({
            "description": description,
            "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/BearerError"},
                "example": {"error": code, "error_description": "…"},
            }},
        });
        if challenge {
            response["headers"] = json!({"WWW-Authenticate": {
                "description": "The RFC 6750 challenge, e.g. `Bearer realm=\"api\", error=\"invalid_token\"`.",
                "schema": {"type": "string"},
            }});
        } else {
            response["headers"] = json!({"Retry-After": {
                "description": "Seconds to wait before retrying.",
                "schema": {"type": "integer"},
            }});
        }
        let response: Response = serde_json::from_value(response)
            .expect("the RFC 6750 response literal is a valid OpenAPI Response object");
        operation
            .responses
            .responses
            .insert(status.to_owned(), RefOr::T(response));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use utoipa::openapi::path::OperationBuilder;
    use utoipa::openapi::path::PathsBuilder;
    use utoipa::openapi::{OpenApiBuilder, PathItem};

    crate::scopes!(NotesRead = "notes:read");

    fn api(operation: Operation) -> OpenApi {
        OpenApiBuilder::new()
            .paths(PathsBuilder::new().path("/notes", PathItem::new(HttpMethod::Get, operation)))
            .build()
    }

    fn secured(requirements: Vec<SecurityRequirement>) -> Operation {
        OperationBuilder::new()
            .securities(Some(requirements))
            .response("200", Response::new("ok"))
            .build()
    }

    #[test]
    fn an_oauth2_requirement_gains_the_bearer_alternative_and_the_rfc6750_responses() {
        let mut api = api(secured(vec![SecurityRequirement::new(
            OAUTH2,
            ["notes:read"],
        )]));
        SecurityAddon::password_flow("/oauth/token").modify(&mut api);
        let json = serde_json::to_value(&api).unwrap();
        let op = &json["paths"]["/notes"]["get"];
        assert_eq!(
            op["security"],
            json!([{"oauth2": ["notes:read"]}, {"bearer": ["notes:read"]}])
        );
        for status in ["200", "400", "401", "403", "503"] {
            assert!(op["responses"][status].is_object(), "{status}");
        }
        assert!(
            op["responses"]["403"]["description"]
                .as_str()
                .unwrap()
                .contains("notes:read")
        );
        assert_eq!(
            json["components"]["securitySchemes"]["oauth2"]["flows"]["password"]["tokenUrl"],
            "/oauth/token"
        );
        assert!(json["components"]["schemas"]["BearerError"].is_object());
    }

    #[test]
    fn an_undeclared_scope_is_listed_with_the_operations_that_need_it() {
        let mut api = api(secured(requirements::<NotesRead>()));
        SecurityAddon::password_flow("/t")
            .with_scope("profile", "Your profile")
            .modify(&mut api);
        let json = serde_json::to_value(&api).unwrap();
        let scopes =
            &json["components"]["securitySchemes"]["oauth2"]["flows"]["password"]["scopes"];
        assert_eq!(scopes["profile"], "Your profile");
        assert_eq!(scopes["notes:read"], "Required by GET /notes");
    }

    #[test]
    fn the_authorization_code_flow_is_offered_beside_the_password_flow() {
        let mut api = api(secured(requirements::<NotesRead>()));
        SecurityAddon::password_flow("/oauth/token")
            .with_authorization_code("/oauth/authorize")
            .modify(&mut api);
        let json = serde_json::to_value(&api).unwrap();
        let flows = &json["components"]["securitySchemes"]["oauth2"]["flows"];
        assert_eq!(
            flows["authorizationCode"]["authorizationUrl"],
            "/oauth/authorize"
        );
        assert_eq!(flows["authorizationCode"]["tokenUrl"], "/oauth/token");
        assert_eq!(
            flows["authorizationCode"]["scopes"]["notes:read"],
            "Required by GET /notes"
        );
        assert_eq!(flows["password"]["tokenUrl"], "/oauth/token");
    }

    #[test]
    fn a_bearer_only_addon_declares_no_oauth2_scheme() {
        let mut api = api(secured(vec![SecurityRequirement::new(
            OAUTH2,
            ["notes:read"],
        )]));
        SecurityAddon::bearer().modify(&mut api);
        let json = serde_json::to_value(&api).unwrap();
        assert!(json["components"]["securitySchemes"]["oauth2"].is_null());
        assert_eq!(
            json["paths"]["/notes"]["get"]["security"],
            json!([{"bearer": ["notes:read"]}])
        );
    }

    #[test]
    fn an_unsecured_operation_and_documented_statuses_are_left_alone() {
        let mut open = api(OperationBuilder::new()
            .response("200", Response::new("ok"))
            .build());
        SecurityAddon::password_flow("/t").modify(&mut open);
        let json = serde_json::to_value(&open).unwrap();
        assert!(json["paths"]["/notes"]["get"]["security"].is_null());
        assert!(json["paths"]["/notes"]["get"]["responses"]["401"].is_null());
        assert_eq!(documented_scopes(&open, HttpMethod::Get, "/notes"), None);

        let mut custom = api(OperationBuilder::new()
            .securities(Some(requirements::<NotesRead>()))
            .response("403", Response::new("mine"))
            .build());
        SecurityAddon::password_flow("/t").modify(&mut custom);
        let json = serde_json::to_value(&custom).unwrap();
        assert_eq!(
            json["paths"]["/notes"]["get"]["responses"]["403"]["description"],
            "mine"
        );
        assert_eq!(
            documented_scopes(&custom, HttpMethod::Get, "/notes"),
            Some(vec!["notes:read".to_owned()])
        );
    }
}
