//! # resource-server
//!
//! A small notes API secured only by [rampart]: it trusts the access tokens of one issuer,
//! whose keys come from its JWKS (`--jwks-url`) or from an HS256 shared secret
//! (`--hs-secret-file`). Tokens must carry `typ: at+jwt` (RFC 9068).
//!
//! | route | permission | how it is checked |
//! |---|---|---|
//! | `GET /public` | none | — |
//! | `GET /whoami` | optional token | `Option<Auth>`: `{"sub": null}` when anonymous |
//! | `GET /notes` | scope `notes:read` | `Scoped<NotesRead>` extractor |
//! | `POST /notes` | scope `notes:write` | `validator.require_scopes([...])` route layer |
//! | `DELETE /notes/{id}` | role `admin` (`roles` claim) | `HasRole<Admin>` extractor |
//!
//! Against the Rampart token server in `--dev` mode (self-signed certificate, so its
//! certificate is named as the JWKS trust root; `aud` is the server's public URL unless the
//! client was given its own audience):
//!
//! ```sh
//! cargo run -p resource-server -- \
//!     --jwks-url https://localhost:8443/.well-known/jwks.json \
//!     --jwks-ca-file rampart-data/dev-cert.pem \
//!     --issuer https://localhost:8443 --audience https://localhost:8443 --addr 127.0.0.1:3000
//! ```
//!
//! With a shared secret instead (tokens signed HS256, usually without a `kid`):
//! `--hs-secret-file secret.txt`. Every flag also reads an `RS_*` variable
//! (`RS_JWKS_URL`, `RS_HS_SECRET_FILE`, `RS_JWKS_CA_FILE`, `RS_ISSUER`, `RS_AUDIENCE`,
//! `RS_ADDR`). If the JWKS is unreachable at start the server starts anyway, logs a
//! warning, and protected routes answer 503 until the keys load.
//!
//! Token failures are rampart's RFC 6750 responses (401/400/403/503 with
//! `WWW-Authenticate: Bearer realm="notes"`); the API's own errors use the same JSON shape,
//! `{"error", "error_description"}`.

mod app;
mod config;
mod error;
mod notes;
mod security;
mod whoami;

use axum::Router;
use axum::extract::FromRef;
use axum::routing::get;
use rampart::Validator;

pub use app::{Application, run};
pub use config::{Config, KeySource};
pub use notes::MAX_NOTE_CHARS;
pub use security::{REALM, Security, security_from_config};

/// Everything a handler may need; extractors narrow it with `FromRef` (rampart's find
/// the `Validator` that way).
#[derive(Clone, FromRef)]
struct AppState {
    validator: Validator,
    notes: notes::NoteStore,
}

/// The whole API over an empty note store, with `validator` checking every token.
pub fn router(validator: Validator) -> Router {
    Router::new()
        .route("/public", get(whoami::public))
        .route("/whoami", get(whoami::whoami))
        .merge(notes::router(&validator))
        .fallback(|| async { error::ApiError::NotFound })
        .with_state(AppState {
            validator,
            notes: notes::NoteStore::default(),
        })
}
