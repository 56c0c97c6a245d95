//! `GET /public` and `GET /whoami`: the routes that do not require a token.

use axum::Json;
use rampart::Auth;
use serde_json::{Value, json};

/// `GET /public`: no authentication at all.
pub(crate) async fn public() -> Json<Value> {
    Json(json!({ "message": "anyone may read this" }))
}

/// `GET /whoami`: optional authentication. No credentials → `{"sub": null}`; a valid token
/// → its subject, scope and roles; credentials that are present but bad → 401, never
/// anonymous (that is what `Option<Auth>` means in rampart).
pub(crate) async fn whoami(auth: Option<Auth>) -> Json<Value> {
    Json(match auth {
        None => json!({ "sub": null }),
        Some(auth) => {
            let claims = auth.standard();
            json!({ "sub": claims.sub, "scope": claims.scope, "roles": claims.roles })
        }
    })
}
