//! The audit trail on SQLite.

use async_trait::async_trait;
use uuid::Uuid;

use super::SqliteStore;
use crate::store::rows::{AUDIT_COLUMNS, AuditRow, models};
use crate::store::{AUDIT_BATCH_ROWS, AuditFilter, AuditRecord, AuditStore, StoreError, map_err};

#[async_trait]
impl AuditStore for SqliteStore {
    async fn append_audit(&self, event: &AuditRecord) -> Result<(), StoreError> {
        self.append_audit_batch(std::slice::from_ref(event)).await
    }

    async fn append_audit_batch(&self, events: &[AuditRecord]) -> Result<(), StoreError> {
        let events = events.to_vec();
        self.write(move |conn| {
            Box::pin(async move {
                // One writer job: all chunks or none.
                for chunk in events.chunks(AUDIT_BATCH_ROWS) {
                    insert_audit(&mut *conn, chunk).await?;
                }
                Ok(())
            })
        })
        .await
    }

    async fn list_audit(
        &self,
        filter: &AuditFilter,
        before: Option<(i64, Uuid)>,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let (before_at, before_id) = match before {
            Some((at, id)) => (Some(at), Some(id.to_string())),
            None => (None, None),
        };
        let sql = format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_events \
             WHERE (?1 IS NULL OR kind = ?1) AND (?2 IS NULL OR actor = ?2) AND (?3 IS NULL OR subject = ?3) \
             AND (?4 IS NULL OR at >= ?4) AND (?5 IS NULL OR at < ?5) \
             AND (?6 IS NULL OR at < ?6 OR (at = ?6 AND id < ?7)) \
             ORDER BY at DESC, id DESC LIMIT ?8"
        );
        let rows = sqlx::query_as::<_, AuditRow>(&sql)
            .bind(&filter.kind)
            .bind(&filter.actor)
            .bind(&filter.subject)
            .bind(filter.since)
            .bind(filter.until)
            .bind(before_at)
            .bind(before_id)
            .bind(i64::from(limit))
            .fetch_all(&mut *self.read().await?)
            .await
            .map_err(map_err)?;
        models(rows)
    }

    async fn purge_audit(&self, before: i64) -> Result<u64, StoreError> {
        self.execute("DELETE FROM audit_events WHERE at < ?", move |q| {
            q.bind(before)
        })
        .await
    }
}

/// Inserts `events` (at most [`AUDIT_BATCH_ROWS`]) in one statement.
async fn insert_audit<'e, E>(executor: E, events: &[AuditRecord]) -> Result<(), StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Sqlite>,
{
    if events.is_empty() {
        return Ok(());
    }
    let mut insert = sqlx::QueryBuilder::<sqlx::Sqlite>::new(format!(
        "INSERT INTO audit_events ({AUDIT_COLUMNS}) "
    ));
    insert.push_values(events, |mut row, event| {
        row.push_bind(event.id.to_string())
            .push_bind(event.at)
            .push_bind(event.kind.clone())
            .push_bind(event.actor.clone())
            .push_bind(event.subject.clone())
            .push_bind(event.client_id.clone())
            .push_bind(event.ip.clone())
            .push_bind(event.reason.clone())
            .push_bind(event.details.to_string());
    });
    insert
        .build()
        // One text per batch size: kept out of the statement cache, where it would
        // evict the statements every request runs.
        .persistent(events.len() == 1)
        .execute(executor)
        .await
        .map_err(map_err)
        .map(|_| ())
}
