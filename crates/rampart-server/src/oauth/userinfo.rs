//! `GET`/`POST /userinfo` (OpenID Connect Core §5.3): the signed-in user's claims, by the
//! scopes of the access token (§5.4): `sub` always; `profile` adds `name` (when set) and
//! `preferred_username`; `email` adds `email` and `email_verified` (when an email is set).
//! The token must carry `openid`; errors are RFC 6750 §3's (401 `invalid_token`, 403
//! `insufficient_scope`, with `WWW-Authenticate`). The token is read from the
//! `Authorization` header only (RFC 6750 §2.1; the form-body method of §2.2 is not
//! accepted, as it puts the token where logs and caches see it).

use std::collections::BTreeSet;

use axum::extract::State;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::accounts::Accounts;
use crate::error::{ApiError, ApiJson};
use crate::store::User;

rampart::scopes!(pub OpenIdScope = "openid");

/// The claims `user` releases to a token with `scopes`. Pure.
pub fn claims(user: &User, scopes: &BTreeSet<&str>) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("sub".into(), json!(user.id.to_string()));
    if scopes.contains("profile") {
        if let Some(name) = &user.profile.name {
            out.insert("name".into(), json!(name));
        }
        out.insert("preferred_username".into(), json!(user.username));
    }
    if scopes.contains("email")
        && let Some(email) = &user.profile.email
    {
        out.insert("email".into(), json!(email));
        out.insert("email_verified".into(), json!(user.profile.email_verified));
    }
    out
}

/// `GET`/`POST /userinfo` — a user's access token with scope `openid`.
#[utoipa::path(get, path = "/userinfo", operation_id = "userinfo",
    summary = "The signed-in user's claims (OpenID Connect)", tag = "oauth",
    security(("oauth2" = ["openid"])),
    responses(
        (status = 200, description = "`sub`, plus `name` and `preferred_username` with scope `profile`, `email` and `email_verified` with scope `email`",
            body = Object,
            example = json!({"sub": "6a1bf50e-f316-48ab-8ab9-e3b05f3369a4", "preferred_username": "ada", "name": "Ada Lovelace"})),
        (status = 401, description = "RFC 6750 `invalid_token`, with `WWW-Authenticate`", body = crate::openapi::schemas::ErrorBody),
        (status = 403, description = "`insufficient_scope` (no `openid`), or the token is not a user's", body = crate::openapi::schemas::ErrorBody),
        (status = 503, response = crate::openapi::schemas::Unavailable),
    ))]
pub async fn userinfo(
    State(accounts): State<Accounts>,
    token: rampart::Scoped<OpenIdScope>,
) -> Result<ApiJson<Map<String, Value>>, ApiError> {
    let id = token
        .subject()
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| ApiError::Forbidden("this token does not belong to a user".into()))?;
    // The token was checked against the user's current state (enabled, not revoked) by
    // the server's validator; a user deleted since is gone here too.
    let user = accounts.user(id).await?.ok_or(ApiError::NotFound("user"))?;
    let scopes: BTreeSet<&str> = token.standard().scopes().collect();
    Ok(ApiJson(claims(&user, &scopes)))
}

/// `POST /userinfo` — the same as `GET` (OpenID Connect Core §5.3.1 allows both).
#[utoipa::path(post, path = "/userinfo", operation_id = "userinfo_post",
    summary = "The signed-in user's claims (OpenID Connect), by POST", tag = "oauth",
    security(("oauth2" = ["openid"])),
    responses(
        (status = 200, description = "As for `GET /userinfo`", body = Object),
        (status = 401, description = "RFC 6750 `invalid_token`, with `WWW-Authenticate`", body = crate::openapi::schemas::ErrorBody),
        (status = 403, description = "`insufficient_scope` (no `openid`), or the token is not a user's", body = crate::openapi::schemas::ErrorBody),
        (status = 503, response = crate::openapi::schemas::Unavailable),
    ))]
pub async fn userinfo_post(
    state: State<Accounts>,
    token: rampart::Scoped<OpenIdScope>,
) -> Result<ApiJson<Map<String, Value>>, ApiError> {
    userinfo(state, token).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Profile;

    fn ada(profile: Profile) -> User {
        User {
            id: Uuid::nil(),
            username: "ada".into(),
            password_hash: String::new(),
            disabled: false,
            created_at: 0,
            updated_at: 0,
            password_changed_at: 0,
            tokens_valid_after: 0,
            roles: Vec::new(),
            profile,
        }
    }

    #[test]
    fn the_claims_table() {
        let full = Profile {
            name: Some("Ada Lovelace".into()),
            email: Some("ada@example.com".into()),
            email_verified: true,
        };
        let sub = Uuid::nil().to_string();
        let cases = [
            (
                "openid only",
                full.clone(),
                vec!["openid"],
                json!({"sub": sub}),
            ),
            (
                "profile",
                full.clone(),
                vec!["openid", "profile"],
                json!({"sub": sub, "name": "Ada Lovelace", "preferred_username": "ada"}),
            ),
            (
                "email",
                full.clone(),
                vec!["openid", "email"],
                json!({"sub": sub, "email": "ada@example.com", "email_verified": true}),
            ),
            (
                "profile without a name",
                Profile::default(),
                vec!["openid", "profile"],
                json!({"sub": sub, "preferred_username": "ada"}),
            ),
            (
                "email scope, no email on record",
                Profile::default(),
                vec!["openid", "email"],
                json!({"sub": sub}),
            ),
            (
                "other scopes release nothing",
                full,
                vec!["openid", "admin", "notes:read"],
                json!({"sub": sub}),
            ),
        ];
        for (name, profile, scopes, expected) in cases {
            let scopes: BTreeSet<&str> = scopes.into_iter().collect();
            assert_eq!(
                Value::Object(claims(&ada(profile), &scopes)),
                expected,
                "{name}"
            );
        }
    }
}
