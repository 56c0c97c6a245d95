//! The audit trail: one event type for every security-relevant action, written to the
//! store (queryable at `/admin/audit`) and logged as structured fields through
//! `tracing` (target `rampart::audit`, JSON when logs are JSON).
//!
//! Never a password, token, client secret or key in an event: callers pass identifiers
//! (user id, username attempted, client id, kid, family id) and reasons only. The
//! `secret_scan` test runs every flow with known secrets and greps logs and rows.

pub mod http;

use std::net::IpAddr;

use std::sync::Arc;

use serde_json::Value;
use uuid::Uuid;

use crate::clock::Clock;
use crate::store::{AuditRecord, Store};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    LoginSucceeded,
    /// Unknown user and wrong password look the same to the client; `reason` tells
    /// them apart here.
    LoginFailed,
    ClientCredentials,
    ClientAuthFailed,
    Refresh,
    /// A rotated refresh token was presented again: the family was revoked.
    RefreshReuse,
    Revocation,
    Lockout,
    PasswordChanged,
    AdminChange,
    KeyRotated,
}

impl Kind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LoginSucceeded => "login_succeeded",
            Self::LoginFailed => "login_failed",
            Self::ClientCredentials => "client_credentials",
            Self::ClientAuthFailed => "client_auth_failed",
            Self::Refresh => "refresh",
            Self::RefreshReuse => "refresh_reuse",
            Self::Revocation => "revocation",
            Self::Lockout => "lockout",
            Self::PasswordChanged => "password_changed",
            Self::AdminChange => "admin_change",
            Self::KeyRotated => "key_rotated",
        }
    }
}

/// An event under construction.
#[derive(Debug, Clone)]
#[must_use]
pub struct Event {
    kind: Kind,
    actor: Option<String>,
    subject: Option<String>,
    client_id: Option<String>,
    ip: Option<IpAddr>,
    reason: Option<&'static str>,
    details: Value,
}

impl Event {
    /// A new event of `kind`.
    pub fn new(kind: Kind) -> Self {
        Self {
            kind,
            actor: None,
            subject: None,
            client_id: None,
            ip: None,
            reason: None,
            details: Value::Null,
        }
    }
    /// Who acted (user id, client id, `cli`).
    pub fn actor(mut self, actor: impl ToString) -> Self {
        self.actor = Some(actor.to_string());
        self
    }
    /// What was acted on.
    pub fn subject(mut self, subject: impl ToString) -> Self {
        self.subject = Some(subject.to_string());
        self
    }
    /// The OAuth client involved.
    pub fn client(mut self, client_id: impl ToString) -> Self {
        self.client_id = Some(client_id.to_string());
        self
    }
    /// The client IP (from the trusted-proxy logic).
    pub fn ip(mut self, ip: IpAddr) -> Self {
        self.ip = Some(ip);
        self
    }
    /// An internal reason, never sent to the client.
    pub fn reason(mut self, reason: &'static str) -> Self {
        self.reason = Some(reason);
        self
    }
    /// Structured details (for admin changes: `{"action", "before", "after"}`).
    pub fn details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }
}

/// Writes events. Cheap to clone.
#[derive(Clone)]
pub struct Audit {
    store: Arc<dyn Store>,
    clock: Clock,
}

impl Audit {
    pub fn new(store: Arc<dyn Store>, clock: Clock) -> Self {
        Self { store, clock }
    }

    /// Logs and stores an event. A store failure is logged, never fails the request.
    pub async fn record(&self, event: Event) {
        let record = AuditRecord {
            id: Uuid::new_v4(),
            at: self.clock.now(),
            kind: event.kind.as_str().to_owned(),
            actor: event.actor,
            subject: event.subject,
            client_id: event.client_id,
            ip: event.ip.map(|ip| ip.to_string()),
            reason: event.reason.map(str::to_owned),
            details: if event.details.is_null() {
                Value::Object(serde_json::Map::new())
            } else {
                event.details
            },
        };
        tracing::info!(
            target: "rampart::audit",
            event = %record.kind,
            id = %record.id,
            actor = record.actor.as_deref(),
            subject = record.subject.as_deref(),
            client_id = record.client_id.as_deref(),
            ip = record.ip.as_deref(),
            reason = record.reason.as_deref(),
            details = %record.details,
            "audit"
        );
        if let Err(e) = self.store.append_audit(&record).await {
            tracing::error!(error = %e, event = %record.kind, "could not store an audit event");
        }
    }

    /// Deletes events older than `retention` (run periodically).
    pub async fn purge(&self, retention: std::time::Duration) {
        let cutoff = self.clock.now() - i64::try_from(retention.as_secs()).unwrap_or(i64::MAX);
        match self.store.purge_audit(cutoff).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "purged old audit events"),
            Err(e) => tracing::warn!(error = %e, "purging audit events failed"),
        }
    }
}

/// The administrator behind an admin API call, for audit events. Extract it after
/// `Scoped<AdminScope>` (or behind the admin route layer), which validated the token.
pub struct AdminActor {
    audit: Audit,
    actor: String,
    ip: IpAddr,
}

impl axum::extract::FromRequestParts<crate::state::AppState> for AdminActor {
    type Rejection = crate::error::ApiError;

    async fn from_request_parts(
        parts: &mut ::http::request::Parts,
        state: &crate::state::AppState,
    ) -> Result<Self, Self::Rejection> {
        let actor = parts
            .extensions
            .get::<rampart::Verified>()
            .and_then(|v| v.claims.sub.clone())
            .ok_or_else(|| {
                crate::error::ApiError::Internal("admin route without a validated token".into())
            })?;
        let ip = match rampart::https::ClientIp::from_request_parts(parts, state).await {
            Ok(rampart::https::ClientIp(ip)) => ip,
            Err(_) => IpAddr::from([0, 0, 0, 0]),
        };
        Ok(Self {
            audit: state.audit.clone(),
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
