//! Authorization codes on Postgres.

use async_trait::async_trait;

use super::PostgresStore;
use super::retry::run;
use crate::store::rows::{CODE_COLUMNS, CodeRow, model};
use crate::store::{AuthCode, CodeStore, Redemption, Retry, SessionStart, StoreError};

#[async_trait]
impl CodeStore for PostgresStore {
    async fn insert_code(&self, code: &AuthCode, hash: &[u8]) -> Result<(), StoreError> {
        let user_id = code.user_id.to_string();
        let browser_session = code.browser_session.map(|s| s.to_string());
        run(Retry::RolledBack, || {
            sqlx::query(
                "INSERT INTO authorization_codes (code_hash, client_id, user_id, redirect_uri, code_challenge, scope, nonce, \
                   auth_time, browser_session, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(hash)
            .bind(&code.client_id)
            .bind(&user_id)
            .bind(&code.redirect_uri)
            .bind(&code.code_challenge)
            .bind(&code.scope)
            .bind(&code.nonce)
            .bind(code.auth_time)
            .bind(&browser_session)
            .bind(code.created_at)
            .bind(code.expires_at)
            .execute(&self.pool)
        })
        .await
        .map(|_| ())
    }

    async fn code_by_hash(&self, hash: &[u8]) -> Result<Option<AuthCode>, StoreError> {
        let sql = format!("SELECT {CODE_COLUMNS} FROM authorization_codes WHERE code_hash = $1");
        let row = run(Retry::Idempotent, || {
            sqlx::query_as::<_, CodeRow>(&sql)
                .bind(hash)
                .fetch_optional(&self.pool)
        })
        .await?;
        model(row)
    }

    async fn redeem_code(
        &self,
        hash: &[u8],
        redemption: &Redemption,
        now: i64,
    ) -> Result<bool, StoreError> {
        let family_id = redemption.family_id.to_string();
        // Not retried after a lost connection: a committed first attempt would make the
        // retry look like a second use.
        let done = run(Retry::RolledBack, || {
            sqlx::query(
                "UPDATE authorization_codes SET used_at = $1, family_id = $2, access_jti = $3, access_expires_at = $4 \
                 WHERE code_hash = $5 AND used_at IS NULL AND expires_at > $1",
            )
            .bind(now)
            .bind(&family_id)
            .bind(&redemption.access_jti)
            .bind(redemption.access_expires_at)
            .bind(hash)
            .execute(&self.pool)
        })
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn redeem_code_starting(
        &self,
        hash: &[u8],
        redemption: &Redemption,
        now: i64,
        start: &SessionStart,
    ) -> Result<bool, StoreError> {
        let family_id = redemption.family_id.to_string();
        let browser = start.browser_session.map(|b| b.to_string());
        // Not retried after a lost connection, as `redeem_code`.
        run(Retry::RolledBack, || async {
            let mut tx = self.pool.begin().await?;
            let done = sqlx::query(
                "UPDATE authorization_codes SET used_at = $1, family_id = $2, access_jti = $3, access_expires_at = $4 \
                 WHERE code_hash = $5 AND used_at IS NULL AND expires_at > $1",
            )
            .bind(now)
            .bind(&family_id)
            .bind(&redemption.access_jti)
            .bind(redemption.access_expires_at)
            .bind(hash)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() != 1 {
                tx.rollback().await?;
                return Ok::<bool, sqlx::Error>(false);
            }
            super::refresh::insert_refresh(&mut *tx, &start.token, &start.hash).await?;
            if let Some(browser) = &browser {
                sqlx::query(
                    "INSERT INTO browser_session_families (browser_session, family_id, client_id) VALUES ($1, $2, $3) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(browser)
                .bind(&family_id)
                .bind(&start.token.client_id)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(true)
        })
        .await
    }

    async fn purge_codes(&self, before: i64) -> Result<u64, StoreError> {
        let done = run(Retry::Idempotent, || {
            sqlx::query("DELETE FROM authorization_codes WHERE expires_at < $1")
                .bind(before)
                .execute(&self.pool)
        })
        .await?;
        Ok(done.rows_affected())
    }
}
