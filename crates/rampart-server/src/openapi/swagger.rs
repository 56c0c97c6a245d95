//! Swagger UI at `/docs/`, served from assets embedded at build time
//! (`utoipa-swagger-ui`'s `vendored` feature: the release zip comes from a crates.io
//! package, so neither the build nor the browser reaches a CDN).
//!
//! The page runs under its own Content-Security-Policy ([`CSP`]); the `SecurityHeadersLayer`
//! layer keeps a CSP a handler set, so the API's `frame-ancestors 'none'` still applies
//! everywhere else.

use std::sync::{Arc, LazyLock};

use axum::response::{IntoResponse, Redirect, Response};
use http::{HeaderValue, StatusCode, header};
use utoipa_swagger_ui::{Config, oauth};

use crate::accounts::FIRST_PARTY_CLIENT;
use crate::error::{ApiError, ApiPath};

/// What Swagger UI needs and nothing more: its own scripts and styles, the `data:`
/// images its stylesheet embeds, `fetch` to this origin (the document, the token
/// endpoint, "Try it out"). No inline script, no `eval`, no other origin, no framing.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; font-src 'self'; connect-src 'self'; base-uri 'none'; \
    form-action 'none'; frame-ancestors 'none'";

/// The UI's configuration, rendered into `swagger-initializer.js`: the document at
/// `/openapi.json`, "Authorize" prefilled with the first-party public client for both
/// flows (authorization code with PKCE through the login page, whose redirect
/// `/docs/oauth2-redirect.html` the client registers at start-up; the password flow sends `Authorization: Basic base64("first-party:")`, which the
/// token endpoint takes as identification of a public client), and no call to the
/// public validator badge service.
static CONFIG: LazyLock<Arc<Config<'static>>> = LazyLock::new(|| {
    Arc::new(
        Config::with_oauth_config(
            [super::OPENAPI_PATH],
            oauth::Config::new()
                .client_id(FIRST_PARTY_CLIENT)
                .app_name("Rampart")
                // The authorization-code flow: PKCE S256, as the server requires of every
                // client; the first-party client registers this page's redirect.
                .use_pkce_with_authorization_code_grant(true),
        )
        .use_base_layout()
        .validator_url("none")
        .display_request_duration(true)
        .persist_authorization(false),
    )
});

/// Swagger UI (redirects to `/docs/`).
#[utoipa::path(get, path = "/docs", operation_id = "docs_redirect", tag = "docs",
    responses((status = 308, description = "To `/docs/`: the page's relative asset URLs need the trailing slash",
        headers(("Location" = String, description = "`/docs/`")))))]
pub async fn redirect() -> Redirect {
    Redirect::permanent("/docs/")
}

/// Swagger UI.
///
/// Log in with "Authorize" (password flow, client `first-party`), then "Try it out".
#[utoipa::path(get, path = "/docs/", operation_id = "docs", tag = "docs",
    responses((status = 200, description = "The Swagger UI page", content_type = "text/html", body = String,
        headers(("Content-Security-Policy" = String, description = "Scripts, styles and requests from this origin only")))))]
pub async fn page() -> Response {
    serve("")
}

/// A Swagger UI asset (script, stylesheet, image).
#[utoipa::path(get, path = "/docs/{file}", operation_id = "docs_asset", tag = "docs",
    params(("file" = String, Path, description = "e.g. `swagger-ui.css`, `swagger-ui-bundle.js`, `swagger-initializer.js`")),
    responses(
        (status = 200, description = "The file", content_type = "*/*", body = String),
        (status = 404, response = super::schemas::NotFound),
    ))]
pub async fn asset(ApiPath(file): ApiPath<String>) -> Response {
    serve(&file)
}

fn serve(tail: &str) -> Response {
    let asset = match utoipa_swagger_ui::serve(tail, Arc::clone(&CONFIG)) {
        Ok(Some(asset)) => asset,
        Ok(None) => return ApiError::NotFound("file").into_response(),
        Err(e) => return ApiError::Internal(format!("rendering Swagger UI: {e}")).into_response(),
    };
    let generated = tail.is_empty() || tail == "index.html" || tail == "swagger-initializer.js";
    let mut response = (StatusCode::OK, asset.bytes.into_owned()).into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&asset.content_type) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    if asset.gzpipped {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    // The page and its configuration follow the server; the library files change only
    // with a new build.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if generated {
            "no-cache"
        } else {
            "public, max-age=86400"
        }),
    );
    response
}
