//! Brute-force throttling counters on SQLite.

use async_trait::async_trait;

use super::SqliteStore;
use crate::store::rows::LockRow;
use crate::store::{StoreError, ThrottleStore, map_err};

#[async_trait]
impl ThrottleStore for SqliteStore {
    async fn throttle_locks(&self, keys: &[String]) -> Result<Vec<(String, i64)>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        // One lookup for all keys (a request checks two: its client or account, its IP).
        let sql = format!(
            "SELECT key, locked_until FROM login_throttle WHERE key IN ({})",
            vec!["?"; keys.len()].join(", ")
        );
        let mut query = sqlx::query_as::<_, LockRow>(&sql);
        for key in keys {
            query = query.bind(key);
        }
        let rows = query
            .fetch_all(&mut *self.read().await?)
            .await
            .map_err(map_err)?;
        let locks: std::collections::HashMap<String, i64> = rows
            .into_iter()
            .map(|row| (row.key, row.locked_until))
            .collect();
        // In the order asked, as before.
        Ok(keys
            .iter()
            .filter_map(|key| locks.get(key).map(|until| (key.clone(), *until)))
            .collect())
    }

    async fn record_failure(
        &self,
        key: &str,
        now: i64,
        reset_before: i64,
    ) -> Result<u32, StoreError> {
        // One statement: concurrent failures each count (no read-then-write).
        let key = key.to_owned();
        let failures: i64 = self.write(move |conn| Box::pin(async move { sqlx::query_scalar(
            "INSERT INTO login_throttle (key, failures, locked_until, last_failure_at) VALUES (?, 1, 0, ?) \
             ON CONFLICT(key) DO UPDATE SET \
               failures = CASE WHEN last_failure_at < ? THEN 1 ELSE failures + 1 END, \
               locked_until = CASE WHEN last_failure_at < ? THEN 0 ELSE locked_until END, \
               last_failure_at = excluded.last_failure_at \
             RETURNING failures",
        )
        .bind(key)
        .bind(now)
        .bind(reset_before)
        .bind(reset_before)
        .fetch_one(conn)
        .await
        .map_err(map_err) })).await?;
        Ok(u32::try_from(failures).unwrap_or(u32::MAX))
    }

    async fn lock_until(&self, key: &str, until: i64) -> Result<(), StoreError> {
        let key = key.to_owned();
        self.execute(
            "UPDATE login_throttle SET locked_until = MAX(locked_until, ?) WHERE key = ?",
            move |q| q.bind(until).bind(key),
        )
        .await
        .map(|_| ())
    }

    async fn clear_failures(&self, key: &str) -> Result<(), StoreError> {
        let key = key.to_owned();
        self.execute("DELETE FROM login_throttle WHERE key = ?", move |q| {
            q.bind(key)
        })
        .await
        .map(|_| ())
    }

    async fn purge_throttle(&self, now: i64, reset_before: i64) -> Result<u64, StoreError> {
        self.execute(
            "DELETE FROM login_throttle WHERE last_failure_at < ? AND locked_until <= ?",
            move |q| q.bind(reset_before).bind(now),
        )
        .await
    }
}
