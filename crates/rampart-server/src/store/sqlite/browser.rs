//! Browser sessions and consents on SQLite.

use async_trait::async_trait;
use uuid::Uuid;

use super::SqliteStore;
use crate::store::rows::{
    BROWSER_SESSION_COLUMNS, BrowserSessionRow, ConsentRow, families, model, models,
};
use crate::store::{BrowserSession, BrowserStore, Consent, StoreError, map_err};

#[async_trait]
impl BrowserStore for SqliteStore {
    async fn insert_browser_session(
        &self,
        session: &BrowserSession,
        hash: &[u8],
    ) -> Result<(), StoreError> {
        let (s, hash) = (session.clone(), hash.to_vec());
        self.execute(
            "INSERT INTO browser_sessions (id_hash, id, user_id, auth_time, created_at, last_seen_at, expires_at, ended_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            move |q| {
                q.bind(hash)
                    .bind(s.id.to_string())
                    .bind(s.user_id.to_string())
                    .bind(s.auth_time)
                    .bind(s.created_at)
                    .bind(s.last_seen_at)
                    .bind(s.expires_at)
                    .bind(s.ended_at)
            },
        )
        .await
        .map(|_| ())
    }

    async fn browser_session_by_hash(
        &self,
        hash: &[u8],
    ) -> Result<Option<BrowserSession>, StoreError> {
        let sql =
            format!("SELECT {BROWSER_SESSION_COLUMNS} FROM browser_sessions WHERE id_hash = ?");
        let row = sqlx::query_as::<_, BrowserSessionRow>(&sql)
            .bind(hash)
            .fetch_optional(&mut *self.read().await?)
            .await
            .map_err(map_err)?;
        model(row)
    }

    async fn browser_session(&self, id: Uuid) -> Result<Option<BrowserSession>, StoreError> {
        let sql = format!("SELECT {BROWSER_SESSION_COLUMNS} FROM browser_sessions WHERE id = ?");
        let row = sqlx::query_as::<_, BrowserSessionRow>(&sql)
            .bind(id.to_string())
            .fetch_optional(&mut *self.read().await?)
            .await
            .map_err(map_err)?;
        model(row)
    }

    async fn touch_browser_session(&self, id: Uuid, now: i64) -> Result<(), StoreError> {
        self.execute(
            "UPDATE browser_sessions SET last_seen_at = ? WHERE id = ? AND last_seen_at < ?",
            move |q| q.bind(now).bind(id.to_string()).bind(now),
        )
        .await
        .map(|_| ())
    }

    async fn end_browser_session(&self, id: Uuid, now: i64) -> Result<bool, StoreError> {
        let done = self
            .execute(
                "UPDATE browser_sessions SET ended_at = ? WHERE id = ? AND ended_at IS NULL",
                move |q| q.bind(now).bind(id.to_string()),
            )
            .await?;
        Ok(done == 1)
    }

    async fn end_user_browser_sessions(&self, user_id: Uuid, now: i64) -> Result<u64, StoreError> {
        self.execute(
            "UPDATE browser_sessions SET ended_at = ? WHERE user_id = ? AND ended_at IS NULL",
            move |q| q.bind(now).bind(user_id.to_string()),
        )
        .await
    }

    async fn list_browser_sessions(
        &self,
        user_id: Option<Uuid>,
        now: i64,
    ) -> Result<Vec<BrowserSession>, StoreError> {
        let sql = format!(
            "SELECT {BROWSER_SESSION_COLUMNS} FROM browser_sessions \
             WHERE ended_at IS NULL AND expires_at > ? AND (? IS NULL OR user_id = ?) \
             ORDER BY created_at DESC, id"
        );
        let user = user_id.map(|u| u.to_string());
        let rows = sqlx::query_as::<_, BrowserSessionRow>(&sql)
            .bind(now)
            .bind(user.clone())
            .bind(user)
            .fetch_all(&mut *self.read().await?)
            .await
            .map_err(map_err)?;
        models(rows)
    }

    async fn purge_browser_sessions(&self, before: i64) -> Result<u64, StoreError> {
        self.execute(
            "DELETE FROM browser_sessions WHERE expires_at < ? OR ended_at < ?",
            move |q| q.bind(before).bind(before),
        )
        .await
    }

    async fn consent(&self, user_id: Uuid, client_id: &str) -> Result<Option<Consent>, StoreError> {
        let row = sqlx::query_as::<_, ConsentRow>(
            "SELECT user_id, client_id, scope, granted_at FROM consents WHERE user_id = ? AND client_id = ?",
        )
        .bind(user_id.to_string())
        .bind(client_id)
        .fetch_optional(&mut *self.read().await?)
        .await
        .map_err(map_err)?;
        model(row)
    }

    async fn put_consent(&self, consent: &Consent) -> Result<(), StoreError> {
        let c = consent.clone();
        self.execute(
            "INSERT INTO consents (user_id, client_id, scope, granted_at) VALUES (?, ?, ?, ?) \
             ON CONFLICT (user_id, client_id) DO UPDATE SET scope = excluded.scope, granted_at = excluded.granted_at",
            move |q| {
                q.bind(c.user_id.to_string())
                    .bind(c.client_id)
                    .bind(c.scopes.join(" "))
                    .bind(c.granted_at)
            },
        )
        .await
        .map(|_| ())
    }

    async fn list_consents(&self, user_id: Uuid) -> Result<Vec<Consent>, StoreError> {
        let rows = sqlx::query_as::<_, ConsentRow>(
            "SELECT user_id, client_id, scope, granted_at FROM consents WHERE user_id = ? ORDER BY client_id",
        )
        .bind(user_id.to_string())
        .fetch_all(&mut *self.read().await?)
        .await
        .map_err(map_err)?;
        models(rows)
    }

    async fn families_of(&self, session: Uuid) -> Result<Vec<(Uuid, String)>, StoreError> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT family_id, client_id FROM browser_session_families WHERE browser_session = ? ORDER BY family_id",
        )
        .bind(session.to_string())
        .fetch_all(&mut *self.read().await?)
        .await
        .map_err(map_err)?;
        families(rows)
    }

    async fn delete_consent(&self, user_id: Uuid, client_id: &str) -> Result<bool, StoreError> {
        let client_id = client_id.to_owned();
        let done = self
            .execute(
                "DELETE FROM consents WHERE user_id = ? AND client_id = ?",
                move |q| q.bind(user_id.to_string()).bind(client_id),
            )
            .await?;
        Ok(done == 1)
    }
}
