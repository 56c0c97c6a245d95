//! Authorization codes on SQLite.

use async_trait::async_trait;

use super::SqliteStore;
use crate::store::rows::{CODE_COLUMNS, CodeRow, model};
use crate::store::{AuthCode, CodeStore, Redemption, SessionStart, StoreError, map_err};

const REDEEM_SQL: &str = "UPDATE authorization_codes SET used_at = ?, family_id = ?, access_jti = ?, access_expires_at = ? \
     WHERE code_hash = ? AND used_at IS NULL AND expires_at > ?";
const LINK_SQL: &str = "INSERT INTO browser_session_families (browser_session, family_id, client_id) VALUES (?, ?, ?) \
     ON CONFLICT DO NOTHING";

#[async_trait]
impl CodeStore for SqliteStore {
    async fn insert_code(&self, code: &AuthCode, hash: &[u8]) -> Result<(), StoreError> {
        let (code, hash) = (code.clone(), hash.to_vec());
        self.execute(
            "INSERT INTO authorization_codes (code_hash, client_id, user_id, redirect_uri, code_challenge, scope, nonce, \
               auth_time, browser_session, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            move |q| {
                q.bind(hash)
                    .bind(code.client_id)
                    .bind(code.user_id.to_string())
                    .bind(code.redirect_uri)
                    .bind(code.code_challenge)
                    .bind(code.scope)
                    .bind(code.nonce)
                    .bind(code.auth_time)
                    .bind(code.browser_session.map(|s| s.to_string()))
                    .bind(code.created_at)
                    .bind(code.expires_at)
            },
        )
        .await
        .map(|_| ())
    }

    async fn code_by_hash(&self, hash: &[u8]) -> Result<Option<AuthCode>, StoreError> {
        let sql = format!("SELECT {CODE_COLUMNS} FROM authorization_codes WHERE code_hash = ?");
        let row = sqlx::query_as::<_, CodeRow>(&sql)
            .bind(hash)
            .fetch_optional(&mut *self.read().await?)
            .await
            .map_err(map_err)?;
        model(row)
    }

    async fn redeem_code(
        &self,
        hash: &[u8],
        redemption: &Redemption,
        now: i64,
    ) -> Result<bool, StoreError> {
        let (hash, redemption) = (hash.to_vec(), redemption.clone());
        let done = self
            .execute(
                "UPDATE authorization_codes SET used_at = ?, family_id = ?, access_jti = ?, access_expires_at = ? \
                 WHERE code_hash = ? AND used_at IS NULL AND expires_at > ?",
                move |q| {
                    q.bind(now)
                        .bind(redemption.family_id.to_string())
                        .bind(redemption.access_jti)
                        .bind(redemption.access_expires_at)
                        .bind(hash)
                        .bind(now)
                },
            )
            .await?;
        Ok(done == 1)
    }

    async fn redeem_code_starting(
        &self,
        hash: &[u8],
        redemption: &Redemption,
        now: i64,
        start: &SessionStart,
    ) -> Result<bool, StoreError> {
        let (hash, redemption, start) = (hash.to_vec(), redemption.clone(), start.clone());
        self.write(move |conn| {
            Box::pin(async move {
                let done = sqlx::query(REDEEM_SQL)
                    .bind(now)
                    .bind(redemption.family_id.to_string())
                    .bind(&redemption.access_jti)
                    .bind(redemption.access_expires_at)
                    .bind(&hash)
                    .bind(now)
                    .execute(&mut *conn)
                    .await
                    .map_err(map_err)?;
                if done.rows_affected() != 1 {
                    return Ok(false);
                }
                super::refresh::insert_refresh(&mut *conn, &start.token, &start.hash).await?;
                if let Some(browser) = start.browser_session {
                    sqlx::query(LINK_SQL)
                        .bind(browser.to_string())
                        .bind(start.token.family_id.to_string())
                        .bind(&start.token.client_id)
                        .execute(&mut *conn)
                        .await
                        .map_err(map_err)?;
                }
                Ok(true)
            })
        })
        .await
    }

    async fn purge_codes(&self, before: i64) -> Result<u64, StoreError> {
        self.execute(
            "DELETE FROM authorization_codes WHERE expires_at < ?",
            move |q| q.bind(before),
        )
        .await
    }
}
