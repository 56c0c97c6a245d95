//! The access-token denylist, revoked sessions and the access epoch on Postgres.

use async_trait::async_trait;
use uuid::Uuid;

use super::PostgresStore;
use super::retry::run;
use crate::store::rows::{JtiRow, RevokedSessionRow, models};
use crate::store::{Retry, RevocationStore, StoreError};

#[async_trait]
impl RevocationStore for PostgresStore {
    async fn revoke_jti(&self, jti: &str, expires_at: i64) -> Result<(), StoreError> {
        run(Retry::Idempotent, || {
            sqlx::query(
                "INSERT INTO revoked_jti (jti, expires_at) VALUES ($1, $2) \
                 ON CONFLICT (jti) DO UPDATE SET expires_at = GREATEST(revoked_jti.expires_at, EXCLUDED.expires_at)",
            )
            .bind(jti)
            .bind(expires_at)
            .execute(&self.pool)
        })
        .await
        .map(|_| ())
    }

    async fn revoked_jtis(&self, now: i64) -> Result<Vec<(String, i64)>, StoreError> {
        run(Retry::Idempotent, || {
            sqlx::query("DELETE FROM revoked_jti WHERE expires_at <= $1")
                .bind(now)
                .execute(&self.pool)
        })
        .await?;
        let rows = run(Retry::Idempotent, || {
            sqlx::query_as::<_, JtiRow>(
                "SELECT jti, expires_at FROM revoked_jti WHERE expires_at > $1",
            )
            .bind(now)
            .fetch_all(&self.pool)
        })
        .await?;
        models(rows)
    }

    async fn revoked_sessions(&self, since: i64) -> Result<Vec<(Uuid, i64)>, StoreError> {
        let rows = run(Retry::Idempotent, || {
            sqlx::query_as::<_, RevokedSessionRow>(
                "SELECT family_id, MAX(revoked_at) AS revoked_at FROM refresh_tokens \
                 WHERE revoked_at >= $1 GROUP BY family_id",
            )
            .bind(since)
            .fetch_all(&self.pool)
        })
        .await?;
        models(rows)
    }

    async fn access_epoch(&self) -> Result<i64, StoreError> {
        run(Retry::Idempotent, || {
            sqlx::query_scalar("SELECT n FROM access_epoch WHERE id = 1").fetch_one(&self.pool)
        })
        .await
    }
}
