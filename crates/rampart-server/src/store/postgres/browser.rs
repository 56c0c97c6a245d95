//! Browser sessions and consents on Postgres.

use async_trait::async_trait;
use uuid::Uuid;

use super::PostgresStore;
use super::retry::run;
use crate::store::rows::{
    BROWSER_SESSION_COLUMNS, BrowserSessionRow, ConsentRow, families, model, models,
};
use crate::store::{BrowserSession, BrowserStore, Consent, Retry, StoreError};

#[async_trait]
impl BrowserStore for PostgresStore {
    async fn insert_browser_session(
        &self,
        session: &BrowserSession,
        hash: &[u8],
    ) -> Result<(), StoreError> {
        let (id, user_id) = (session.id.to_string(), session.user_id.to_string());
        run(Retry::RolledBack, || {
            sqlx::query(
                "INSERT INTO browser_sessions (id_hash, id, user_id, auth_time, created_at, last_seen_at, expires_at, ended_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(hash)
            .bind(&id)
            .bind(&user_id)
            .bind(session.auth_time)
            .bind(session.created_at)
            .bind(session.last_seen_at)
            .bind(session.expires_at)
            .bind(session.ended_at)
            .execute(&self.pool)
        })
        .await
        .map(|_| ())
    }

    async fn browser_session_by_hash(
        &self,
        hash: &[u8],
    ) -> Result<Option<BrowserSession>, StoreError> {
        let sql =
            format!("SELECT {BROWSER_SESSION_COLUMNS} FROM browser_sessions WHERE id_hash = $1");
        let row = run(Retry::Idempotent, || {
            sqlx::query_as::<_, BrowserSessionRow>(&sql)
                .bind(hash)
                .fetch_optional(&self.pool)
        })
        .await?;
        model(row)
    }

    async fn browser_session(&self, id: Uuid) -> Result<Option<BrowserSession>, StoreError> {
        let sql = format!("SELECT {BROWSER_SESSION_COLUMNS} FROM browser_sessions WHERE id = $1");
        let id = id.to_string();
        let row = run(Retry::Idempotent, || {
            sqlx::query_as::<_, BrowserSessionRow>(&sql)
                .bind(&id)
                .fetch_optional(&self.pool)
        })
        .await?;
        model(row)
    }

    async fn touch_browser_session(&self, id: Uuid, now: i64) -> Result<(), StoreError> {
        let id = id.to_string();
        run(Retry::Idempotent, || {
            sqlx::query(
                "UPDATE browser_sessions SET last_seen_at = $1 WHERE id = $2 AND last_seen_at < $1",
            )
            .bind(now)
            .bind(&id)
            .execute(&self.pool)
        })
        .await
        .map(|_| ())
    }

    async fn end_browser_session(&self, id: Uuid, now: i64) -> Result<bool, StoreError> {
        let id = id.to_string();
        let done = run(Retry::RolledBack, || {
            sqlx::query(
                "UPDATE browser_sessions SET ended_at = $1 WHERE id = $2 AND ended_at IS NULL",
            )
            .bind(now)
            .bind(&id)
            .execute(&self.pool)
        })
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn end_user_browser_sessions(&self, user_id: Uuid, now: i64) -> Result<u64, StoreError> {
        let user_id = user_id.to_string();
        let done = run(Retry::Idempotent, || {
            sqlx::query(
                "UPDATE browser_sessions SET ended_at = $1 WHERE user_id = $2 AND ended_at IS NULL",
            )
            .bind(now)
            .bind(&user_id)
            .execute(&self.pool)
        })
        .await?;
        Ok(done.rows_affected())
    }

    async fn list_browser_sessions(
        &self,
        user_id: Option<Uuid>,
        now: i64,
    ) -> Result<Vec<BrowserSession>, StoreError> {
        let sql = format!(
            "SELECT {BROWSER_SESSION_COLUMNS} FROM browser_sessions \
             WHERE ended_at IS NULL AND expires_at > $1 AND ($2::TEXT IS NULL OR user_id = $2) \
             ORDER BY created_at DESC, id"
        );
        let user = user_id.map(|u| u.to_string());
        let rows = run(Retry::Idempotent, || {
            sqlx::query_as::<_, BrowserSessionRow>(&sql)
                .bind(now)
                .bind(&user)
                .fetch_all(&self.pool)
        })
        .await?;
        models(rows)
    }

    async fn purge_browser_sessions(&self, before: i64) -> Result<u64, StoreError> {
        let done = run(Retry::Idempotent, || {
            sqlx::query("DELETE FROM browser_sessions WHERE expires_at < $1 OR ended_at < $1")
                .bind(before)
                .execute(&self.pool)
        })
        .await?;
        Ok(done.rows_affected())
    }

    async fn consent(&self, user_id: Uuid, client_id: &str) -> Result<Option<Consent>, StoreError> {
        let user_id = user_id.to_string();
        let row = run(Retry::Idempotent, || {
            sqlx::query_as::<_, ConsentRow>(
                "SELECT user_id, client_id, scope, granted_at FROM consents WHERE user_id = $1 AND client_id = $2",
            )
            .bind(&user_id)
            .bind(client_id)
            .fetch_optional(&self.pool)
        })
        .await?;
        model(row)
    }

    async fn put_consent(&self, consent: &Consent) -> Result<(), StoreError> {
        let user_id = consent.user_id.to_string();
        let scope = consent.scopes.join(" ");
        run(Retry::Idempotent, || {
            sqlx::query(
                "INSERT INTO consents (user_id, client_id, scope, granted_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (user_id, client_id) DO UPDATE SET scope = EXCLUDED.scope, granted_at = EXCLUDED.granted_at",
            )
            .bind(&user_id)
            .bind(&consent.client_id)
            .bind(&scope)
            .bind(consent.granted_at)
            .execute(&self.pool)
        })
        .await
        .map(|_| ())
    }

    async fn list_consents(&self, user_id: Uuid) -> Result<Vec<Consent>, StoreError> {
        let user_id = user_id.to_string();
        let rows = run(Retry::Idempotent, || {
            sqlx::query_as::<_, ConsentRow>(
                "SELECT user_id, client_id, scope, granted_at FROM consents WHERE user_id = $1 ORDER BY client_id",
            )
            .bind(&user_id)
            .fetch_all(&self.pool)
        })
        .await?;
        models(rows)
    }

    async fn families_of(&self, session: Uuid) -> Result<Vec<(Uuid, String)>, StoreError> {
        let session = session.to_string();
        let rows: Vec<(String, String)> = run(Retry::Idempotent, || {
            sqlx::query_as(
                "SELECT family_id, client_id FROM browser_session_families WHERE browser_session = $1 ORDER BY family_id",
            )
            .bind(&session)
            .fetch_all(&self.pool)
        })
        .await?;
        families(rows)
    }

    async fn delete_consent(&self, user_id: Uuid, client_id: &str) -> Result<bool, StoreError> {
        let user_id = user_id.to_string();
        let done = run(Retry::Idempotent, || {
            sqlx::query("DELETE FROM consents WHERE user_id = $1 AND client_id = $2")
                .bind(&user_id)
                .bind(client_id)
                .execute(&self.pool)
        })
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
