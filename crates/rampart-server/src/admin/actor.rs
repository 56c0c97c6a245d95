//! The administrator behind an admin API call, for the audit trail.

use std::net::IpAddr;

use axum::extract::{FromRef, FromRequestParts};
use rampart::Validator;
use serde_json::Value;

use crate::audit::{Audit, Event, Kind};
use crate::error::ApiError;

/// The administrator behind an admin API call, for audit events. Extract it after
/// `Scoped<AdminScope>` (or behind the admin route layer), which validated the token.
pub struct AdminActor {
    audit: Audit,
    actor: String,
    ip: IpAddr,
}

impl<S> FromRequestParts<S> for AdminActor
where
    S: Send + Sync,
    Validator: FromRef<S>,
    Audit: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut ::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        let validator = Validator::from_ref(state);
        let actor = parts
            .extensions
            .get::<rampart::Verified>()
            // Only this server's own validator's verdict names an administrator.
            .filter(|v| v.produced_by(&validator))
            .and_then(|v| v.claims.sub.clone())
            .ok_or_else(|| ApiError::Internal("admin route without a validated token".into()))?;
        let ip = match rampart::https::ClientIp::from_request_parts(parts, state).await {
            Ok(rampart::https::ClientIp(ip)) => ip,
            Err(_) => IpAddr::from([0, 0, 0, 0]),
        };
        Ok(Self {
            audit: Audit::from_ref(state),
            actor,
            ip,
        })
    }
}

impl AdminActor {
    /// Records an admin change: `action` on `subject`, with before/after snapshots.
    pub async fn changed(&self, action: &str, subject: impl ToString, before: Value, after: Value) {
        self.audit
            .record(
                Event::new(Kind::AdminChange)
                    .actor(&self.actor)
                    .subject(subject)
                    .ip(self.ip)
                    .details(
                        serde_json::json!({"action": action, "before": before, "after": after}),
                    ),
            )
            .await;
    }
}
