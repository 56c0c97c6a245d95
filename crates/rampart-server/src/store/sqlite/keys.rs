//! Signing keys on SQLite.

use async_trait::async_trait;

use super::SqliteStore;
use crate::store::rows::{KEY_COLUMNS, KeyRow, models};
use crate::store::{KeyStore, StoreError, StoredKey, map_err};

#[async_trait]
impl KeyStore for SqliteStore {
    async fn list_keys(&self) -> Result<Vec<StoredKey>, StoreError> {
        let sql = format!("SELECT {KEY_COLUMNS} FROM signing_keys ORDER BY activates_at, kid");
        let rows = sqlx::query_as::<_, KeyRow>(&sql)
            .fetch_all(&mut *self.read().await?)
            .await
            .map_err(map_err)?;
        models(rows)
    }

    async fn insert_key(&self, key: &StoredKey) -> Result<(), StoreError> {
        let key = key.clone();
        self.write(move |conn| {
            Box::pin(async move {
                sqlx::query(
                    "INSERT INTO signing_keys (kid, alg, sealed_key, created_at, activates_at, retired_at, publish_until) \
                     VALUES (?, ?, ?, ?, ?, ?, ?)",
                )
                .bind(&key.kid)
                .bind(&key.alg)
                .bind(&key.sealed_key)
                .bind(key.created_at)
                .bind(key.activates_at)
                .bind(key.retired_at)
                .bind(key.publish_until)
                .execute(conn)
                .await
                .map_err(map_err)
                .map(|_| ())
            })
        })
        .await
    }

    async fn retire_key(
        &self,
        kid: &str,
        retired_at: i64,
        publish_until: i64,
    ) -> Result<(), StoreError> {
        let kid = kid.to_owned();
        self.execute(
            "UPDATE signing_keys SET retired_at = ?, publish_until = ? WHERE kid = ? AND retired_at IS NULL",
            move |q| q.bind(retired_at).bind(publish_until).bind(kid),
        )
        .await
        .map(|_| ())
    }
}
