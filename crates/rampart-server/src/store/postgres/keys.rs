//! Signing keys on Postgres.

use async_trait::async_trait;

use super::PostgresStore;
use super::retry::run;
use crate::store::rows::{KEY_COLUMNS, KeyRow, models};
use crate::store::{KeyStore, Retry, StoreError, StoredKey};

#[async_trait]
impl KeyStore for PostgresStore {
    async fn list_keys(&self) -> Result<Vec<StoredKey>, StoreError> {
        let sql = format!("SELECT {KEY_COLUMNS} FROM signing_keys ORDER BY activates_at, kid");
        let rows = run(Retry::Idempotent, || {
            sqlx::query_as::<_, KeyRow>(&sql).fetch_all(&self.pool)
        })
        .await?;
        models(rows)
    }

    async fn insert_key(&self, key: &StoredKey) -> Result<(), StoreError> {
        run(Retry::RolledBack, || {
            sqlx::query(
                "INSERT INTO signing_keys (kid, alg, sealed_key, created_at, activates_at, retired_at, publish_until) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&key.kid)
            .bind(&key.alg)
            .bind(&key.sealed_key)
            .bind(key.created_at)
            .bind(key.activates_at)
            .bind(key.retired_at)
            .bind(key.publish_until)
            .execute(&self.pool)
        })
        .await
        .map(|_| ())
    }

    async fn retire_key(
        &self,
        kid: &str,
        retired_at: i64,
        publish_until: i64,
    ) -> Result<(), StoreError> {
        run(Retry::Idempotent, || {
            sqlx::query(
                "UPDATE signing_keys SET retired_at = $1, publish_until = $2 WHERE kid = $3 AND retired_at IS NULL",
            )
            .bind(retired_at)
            .bind(publish_until)
            .bind(kid)
            .execute(&self.pool)
        })
        .await
        .map(|_| ())
    }
}
