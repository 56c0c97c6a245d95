//! # rampart
//!
//! Strict JWT bearer authentication for [axum]: one [`Validator`] built at start-up, and
//! extractors that make the secure way the short way.
//!
//! ```
//! use axum::{Json, Router, extract::FromRef, routing::get};
//! use rampart::{Algorithm, Auth, Claims, Scoped, Validator};
//!
//! rampart::scopes!(NotesRead = "notes:read");
//!
//! #[derive(Clone, FromRef)]
//! struct AppState {
//!     validator: Validator,
//! }
//!
//! async fn whoami(auth: Option<Auth>) -> Json<Option<String>> {
//!     Json(auth.and_then(|a| a.standard().sub.clone()))
//! }
//!
//! async fn notes(token: Scoped<NotesRead>) -> String {
//!     format!("notes of {}", token.subject().unwrap_or("?"))
//! }
//!
//! # fn main() -> Result<(), rampart::BuildError> {
//! let validator = Validator::builder()
//!     .issuer("https://auth.example.com")
//!     .audience("notes-api")
//!     .hmac(Algorithm::HS256, b"a-shared-secret-of-at-least-32-bytes!")
//!     .build()?;
//! let app: Router = Router::new()
//!     .route("/whoami", get(whoami))
//!     .route("/notes", get(notes))
//!     .with_state(AppState { validator });
//! # Ok(()) }
//! ```
//!
//! What a request gets, per RFC 6750 §3:
//!
//! | situation | status | `WWW-Authenticate` |
//! |---|---|---|
//! | no credentials | 401 | `Bearer realm="api"` |
//! | malformed header, token twice, query token when not allowed | 400 | `error="invalid_request"` |
//! | bad signature, expired, wrong `iss`/`aud`/`typ`, … | 401 | `error="invalid_token"` |
//! | missing scope | 403 | `error="insufficient_scope", scope="…"` |
//! | JWKS unreachable and nothing cached | 503 | — |
//!
//! The policy is strict by default: `exp` required, `iss` and `aud` required unless
//! explicitly skipped with `insecure_*` methods, `typ` must be `at+jwt` and every claim
//! RFC 9068 §2.2 requires (`iss`, `exp`, `aud`, `sub`, `client_id`, `iat`, `jti`) must be
//! present unless [`Profile::PlainJwt`] is chosen,
//! every key bound to one algorithm, `none` unrepresentable, duplicate JSON members and
//! `crit` extensions refused, tokens over 8 KiB refused before decoding.
//!
//! [axum]: https://docs.rs/axum/0.8

#![deny(missing_docs)]
// docs.rs builds with every feature and `--cfg docsrs` (Cargo.toml), labelling the items
// that need a feature (`testing::TestIssuer` needs `testing`).
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod cookie;
pub mod csrf;
pub mod extract;
pub mod https;
pub mod json;
pub mod jwks;
#[cfg(feature = "openapi")]
#[cfg_attr(docsrs, doc(cfg(feature = "openapi")))]
pub mod openapi;
pub mod reject;
#[cfg(feature = "signing")]
#[cfg_attr(docsrs, doc(cfg(feature = "signing")))]
pub mod signing;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;
pub mod token;

pub use extract::{Auth, Bearer, HasRole, RequireLayer, RoleSet, ScopeSet, Scoped};
pub use jwks::{JwksError, RemoteJwks};
pub use reject::{Rejection, RejectionKind};
pub use token::{
    Algorithm, Audience, BuildError, Claims, KeyError, KeySet, Profile, TokenError, TypPolicy,
    Validator, ValidatorBuilder, Verified, VerifyingKey,
};

/// The README's code blocks, compiled and run as doctests so the README cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;

/// The guide's code blocks (docs/library.md), compiled and run as doctests like the
/// README's.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/library.md")]
pub struct LibraryGuideDoctests;
