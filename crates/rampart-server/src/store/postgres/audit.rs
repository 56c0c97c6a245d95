//! The audit trail on Postgres.

use std::borrow::Cow;

use async_trait::async_trait;
use uuid::Uuid;

use super::retry::run;
use super::{PostgresStore, storable};
use crate::store::rows::{AUDIT_COLUMNS, AuditRow, models};
use crate::store::{AuditFilter, AuditRecord, AuditStore, Retry, StoreError};

/// Audit fields are a log, not identities: U+0000 becomes U+FFFD.
fn loggable(s: Option<&str>) -> Option<Cow<'_, str>> {
    s.map(|s| {
        if storable(s) {
            Cow::Borrowed(s)
        } else {
            Cow::Owned(s.replace('\0', "\u{fffd}"))
        }
    })
}

/// Audit events as column arrays, for one `INSERT … SELECT FROM unnest(…)`.
#[derive(Default)]
struct AuditColumns {
    id: Vec<String>,
    at: Vec<i64>,
    kind: Vec<String>,
    actor: Vec<Option<String>>,
    subject: Vec<Option<String>>,
    client_id: Vec<Option<String>>,
    ip: Vec<Option<String>>,
    reason: Vec<Option<String>>,
    details: Vec<String>,
}

impl AuditColumns {
    fn push(&mut self, event: &AuditRecord) {
        let text = |s: Option<&str>| loggable(s).map(Cow::into_owned);
        self.id.push(event.id.to_string());
        self.at.push(event.at);
        self.kind.push(text(Some(&event.kind)).unwrap_or_default());
        self.actor.push(text(event.actor.as_deref()));
        self.subject.push(text(event.subject.as_deref()));
        self.client_id.push(text(event.client_id.as_deref()));
        self.ip.push(text(event.ip.as_deref()));
        self.reason.push(text(event.reason.as_deref()));
        self.details.push(event.details.to_string());
    }
}

#[async_trait]
impl AuditStore for PostgresStore {
    async fn append_audit(&self, event: &AuditRecord) -> Result<(), StoreError> {
        self.append_audit_batch(std::slice::from_ref(event)).await
    }

    async fn append_audit_batch(&self, events: &[AuditRecord]) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        // One statement over column arrays: the same text for any number of events.
        let mut columns = AuditColumns::default();
        for event in events {
            columns.push(event);
        }
        let columns = &columns;
        let sql = format!(
            "INSERT INTO audit_events ({AUDIT_COLUMNS}) \
             SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], \
             $6::text[], $7::text[], $8::text[], $9::text[])"
        );
        run(Retry::RolledBack, || {
            sqlx::query(&sql)
                .bind(&columns.id)
                .bind(&columns.at)
                .bind(&columns.kind)
                .bind(&columns.actor)
                .bind(&columns.subject)
                .bind(&columns.client_id)
                .bind(&columns.ip)
                .bind(&columns.reason)
                .bind(&columns.details)
                .execute(&self.pool)
        })
        .await
        .map(|_| ())
    }

    async fn list_audit(
        &self,
        filter: &AuditFilter,
        before: Option<(i64, Uuid)>,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let unstorable = [&filter.kind, &filter.actor, &filter.subject]
            .into_iter()
            .flatten()
            .any(|s| !storable(s));
        if unstorable {
            return Ok(Vec::new());
        }
        let (before_at, before_id) = match before {
            Some((at, id)) => (Some(at), Some(id.to_string())),
            None => (None, None),
        };
        let sql = format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_events \
             WHERE ($1::text IS NULL OR kind = $1) AND ($2::text IS NULL OR actor = $2) \
             AND ($3::text IS NULL OR subject = $3) \
             AND ($4::bigint IS NULL OR at >= $4) AND ($5::bigint IS NULL OR at < $5) \
             AND ($6::bigint IS NULL OR at < $6 OR (at = $6 AND id < $7)) \
             ORDER BY at DESC, id DESC LIMIT $8"
        );
        let rows = run(Retry::Idempotent, || {
            sqlx::query_as::<_, AuditRow>(&sql)
                .bind(&filter.kind)
                .bind(&filter.actor)
                .bind(&filter.subject)
                .bind(filter.since)
                .bind(filter.until)
                .bind(before_at)
                .bind(&before_id)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
        })
        .await?;
        models(rows)
    }

    async fn purge_audit(&self, before: i64) -> Result<u64, StoreError> {
        let done = run(Retry::RolledBack, || {
            sqlx::query("DELETE FROM audit_events WHERE at < $1")
                .bind(before)
                .execute(&self.pool)
        })
        .await?;
        Ok(done.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use super::loggable;

    #[test]
    fn audit_fields_lose_only_nul() {
        assert_eq!(loggable(Some("a\0b")).as_deref(), Some("a\u{fffd}b"));
        assert_eq!(loggable(Some("ab")).as_deref(), Some("ab"));
        assert_eq!(loggable(None), None);
    }
}
