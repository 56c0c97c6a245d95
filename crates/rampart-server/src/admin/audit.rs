//! `GET /admin/audit`: filters and cursor pagination, newest first.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rampart::Scoped;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::AdminScope;
use crate::audit::Audit;
use crate::error::{ApiError, ApiJson, ApiQuery};
use crate::state::AppState;
use crate::store::{AuditFilter, AuditRecord};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AuditQuery {
    kind: Option<String>,
    actor: Option<String>,
    subject: Option<String>,
    since: Option<i64>,
    until: Option<i64>,
    /// Page size, 1–500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// One audit event; `at` is in seconds since the epoch. Never a password, token or secret.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = AuditEvent)]
pub(crate) struct AuditView {
    id: Uuid,
    at: i64,
    kind: String,
    actor: Option<String>,
    subject: Option<String>,
    client_id: Option<String>,
    ip: Option<String>,
    reason: Option<String>,
    details: Value,
}

impl From<AuditRecord> for AuditView {
    fn from(r: AuditRecord) -> Self {
        Self {
            id: r.id,
            at: r.at,
            kind: r.kind,
            actor: r.actor,
            subject: r.subject,
            client_id: r.client_id,
            ip: r.ip,
            reason: r.reason,
            details: r.details,
        }
    }
}

/// One page, newest first; pass `next_cursor` as `cursor` for the next.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct AuditPage {
    items: Vec<AuditView>,
    next_cursor: Option<String>,
}

fn decode_cursor(cursor: &str) -> Option<(i64, Uuid)> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (at, id) = text.split_once('/')?;
    Some((at.parse().ok()?, Uuid::parse_str(id).ok()?))
}

/// `GET /admin/audit?kind=&actor=&subject=&since=&until=&limit=&cursor=` — scope `admin`.
#[utoipa::path(get, path = "/admin/audit", operation_id = "list_audit_events",
    summary = "Read the audit trail", tag = "admin",
    params(AuditQuery),
    security(("oauth2" = ["admin"])),
    responses(
        (status = 200, description = "Audit events matching every filter given, newest first", body = AuditPage),
        (status = 400, response = crate::openapi::schemas::InvalidRequest),
        (status = 503, response = crate::openapi::schemas::Unavailable),
    ))]
pub(super) async fn list(
    State(audit): State<Audit>,
    _: Scoped<AdminScope>,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<ApiJson<AuditPage>, ApiError> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::BadRequest(
            "limit must be between 1 and 500".into(),
        ));
    }
    let before = match &q.cursor {
        Some(c) => {
            Some(decode_cursor(c).ok_or_else(|| ApiError::BadRequest("invalid cursor".into()))?)
        }
        None => None,
    };
    let filter = AuditFilter {
        kind: q.kind,
        actor: q.actor,
        subject: q.subject,
        since: q.since,
        until: q.until,
    };
    // Includes the events of every request answered before this one.
    let mut items = audit.list(&filter, before, limit + 1).await?;
    let next_cursor = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items
            .last()
            .map(|e| URL_SAFE_NO_PAD.encode(format!("{}/{}", e.at, e.id)))
    } else {
        None
    };
    Ok(ApiJson(AuditPage {
        items: items.into_iter().map(AuditView::from).collect(),
        next_cursor,
    }))
}

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/admin/audit", get(list))
}
