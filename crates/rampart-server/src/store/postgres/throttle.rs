//! Brute-force throttling counters on Postgres, shared by every instance.

use std::borrow::Cow;

use async_trait::async_trait;

use super::retry::run;
use super::{PostgresStore, storable};
use crate::store::rows::LockRow;
use crate::store::{Retry, StoreError, ThrottleStore};

/// Throttle keys are opaque: one containing U+0000 (a client id taken from a request)
/// is stored hex-encoded under a prefix no real key has.
fn throttle_key(key: &str) -> Cow<'_, str> {
    if storable(key) {
        return Cow::Borrowed(key);
    }
    let hex: String = key.bytes().map(|b| format!("{b:02x}")).collect();
    Cow::Owned(format!("nul:{hex}"))
}

#[async_trait]
impl ThrottleStore for PostgresStore {
    async fn throttle_locks(&self, keys: &[String]) -> Result<Vec<(String, i64)>, StoreError> {
        let stored: Vec<String> = keys.iter().map(|k| throttle_key(k).into_owned()).collect();
        let rows = run(Retry::Idempotent, || {
            sqlx::query_as::<_, LockRow>(
                "SELECT key, locked_until FROM login_throttle WHERE key = ANY($1)",
            )
            .bind(&stored)
            .fetch_all(&self.pool)
        })
        .await?;
        let locks: std::collections::HashMap<String, i64> = rows
            .into_iter()
            .map(|row| (row.key, row.locked_until))
            .collect();
        Ok(keys
            .iter()
            .zip(&stored)
            .filter_map(|(key, stored)| locks.get(stored).map(|until| (key.clone(), *until)))
            .collect())
    }

    async fn record_failure(
        &self,
        key: &str,
        now: i64,
        reset_before: i64,
    ) -> Result<u32, StoreError> {
        let key = throttle_key(key);
        // One statement: concurrent failures on any instance each count. Retried only
        // after a rollback, so a lost connection never counts one failure twice.
        let failures: i64 = run(Retry::RolledBack, || {
            sqlx::query_scalar(
                "INSERT INTO login_throttle AS t (key, failures, locked_until, last_failure_at) VALUES ($1, 1, 0, $2) \
                 ON CONFLICT (key) DO UPDATE SET \
                   failures = CASE WHEN t.last_failure_at < $3 THEN 1 ELSE t.failures + 1 END, \
                   locked_until = CASE WHEN t.last_failure_at < $3 THEN 0 ELSE t.locked_until END, \
                   last_failure_at = GREATEST(t.last_failure_at, EXCLUDED.last_failure_at) \
                 RETURNING failures",
            )
            .bind(key.as_ref())
            .bind(now)
            .bind(reset_before)
            .fetch_one(&self.pool)
        })
        .await?;
        Ok(u32::try_from(failures).unwrap_or(u32::MAX))
    }

    async fn lock_until(&self, key: &str, until: i64) -> Result<(), StoreError> {
        let key = throttle_key(key);
        run(Retry::Idempotent, || {
            sqlx::query(
                "UPDATE login_throttle SET locked_until = GREATEST(locked_until, $1) WHERE key = $2",
            )
            .bind(until)
            .bind(key.as_ref())
            .execute(&self.pool)
        })
        .await
        .map(|_| ())
    }

    async fn clear_failures(&self, key: &str) -> Result<(), StoreError> {
        let key = throttle_key(key);
        run(Retry::Idempotent, || {
            sqlx::query("DELETE FROM login_throttle WHERE key = $1")
                .bind(key.as_ref())
                .execute(&self.pool)
        })
        .await
        .map(|_| ())
    }

    async fn purge_throttle(&self, now: i64, reset_before: i64) -> Result<u64, StoreError> {
        run(Retry::Idempotent, || {
            sqlx::query(
                "DELETE FROM login_throttle WHERE last_failure_at < $1 AND locked_until <= $2",
            )
            .bind(reset_before)
            .bind(now)
            .execute(&self.pool)
        })
        .await
        .map(|r| r.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use super::throttle_key;

    #[test]
    fn throttle_keys_with_nul_are_encoded_injectively() {
        assert_eq!(throttle_key("client:abc"), "client:abc");
        assert_eq!(throttle_key("client:a\0"), "nul:636c69656e743a6100");
        assert_ne!(throttle_key("client:a\0"), throttle_key("client:a\0\0"));
    }
}
