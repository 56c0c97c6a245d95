//! The access-token denylist, revoked sessions and the access epoch on SQLite.

use async_trait::async_trait;
use uuid::Uuid;

use super::SqliteStore;
use crate::store::rows::{JtiRow, RevokedSessionRow, models};
use crate::store::{RevocationStore, StoreError, map_err};

#[async_trait]
impl RevocationStore for SqliteStore {
    async fn revoke_jti(&self, jti: &str, expires_at: i64) -> Result<(), StoreError> {
        let jti = jti.to_owned();
        self.execute(
            "INSERT INTO revoked_jti (jti, expires_at) VALUES (?, ?) ON CONFLICT(jti) DO NOTHING",
            move |q| q.bind(jti).bind(expires_at),
        )
        .await
        .map(|_| ())
    }

    async fn revoked_jtis(&self, now: i64) -> Result<Vec<(String, i64)>, StoreError> {
        self.execute("DELETE FROM revoked_jti WHERE expires_at <= ?", move |q| {
            q.bind(now)
        })
        .await?;
        let rows = sqlx::query_as::<_, JtiRow>("SELECT jti, expires_at FROM revoked_jti")
            .fetch_all(&mut *self.read().await?)
            .await
            .map_err(map_err)?;
        models(rows)
    }

    async fn revoked_sessions(&self, since: i64) -> Result<Vec<(Uuid, i64)>, StoreError> {
        let rows = sqlx::query_as::<_, RevokedSessionRow>(
            "SELECT family_id, MAX(revoked_at) AS revoked_at FROM refresh_tokens \
             WHERE revoked_at >= ? GROUP BY family_id",
        )
        .bind(since)
        .fetch_all(&mut *self.read().await?)
        .await
        .map_err(map_err)?;
        models(rows)
    }

    async fn access_epoch(&self) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT n FROM access_epoch WHERE id = 1")
            .fetch_one(&mut *self.read().await?)
            .await
            .map_err(map_err)
    }
}
