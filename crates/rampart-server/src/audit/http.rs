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

use crate::accounts::Accounts;
use crate::admin::AdminScope;
use crate::error::{ApiError, ApiJson, ApiQuery};
use crate::state::AppState;
use crate::store::{AuditFilter, AuditRecord};

#[derive(Debug, Deserialize)]
pub(crate) struct AuditQuery {
    kind: Option<String>,
    actor: Option<String>,
    subject: Option<String>,
    since: Option<i64>,
    until: Option<i64>,
    limit: Option<u32>,
    cursor: Option<String>,
}

#[derive(Debug, Serialize)]
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

#[derive(Debug, Serialize)]
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
async fn list(
    State(accounts): State<Accounts>,
    _: Scoped<AdminScope>,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<ApiJson<AuditPage>, ApiError> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::BadRequest("limit must be between 1 and 500".into()));
    }
    let before = match &q.cursor {
        Some(c) => Some(decode_cursor(c).ok_or_else(|| ApiError::BadRequest("invalid cursor".into()))?),
        None => None,
    };
    let filter = AuditFilter { kind: q.kind, actor: q.actor, subject: q.subject, since: q.since, until: q.until };
    let mut items = accounts.store.list_audit(&filter, before, limit + 1).await?;
    let next_cursor = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|e| URL_SAFE_NO_PAD.encode(format!("{}/{}", e.at, e.id)))
    } else {
        None
    };
    Ok(ApiJson(AuditPage { items: items.into_iter().map(AuditView::from).collect(), next_cursor }))
}

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/admin/audit", get(list))
}
