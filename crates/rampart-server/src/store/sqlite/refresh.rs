//! Refresh tokens and sessions on SQLite.

use async_trait::async_trait;
use sqlx::SqliteConnection;
use uuid::Uuid;

use super::SqliteStore;
use crate::store::rows::{REFRESH_COLUMNS, RefreshRow, SessionRow, model, models};
use crate::store::{RefreshStore, RefreshToken, RotateOutcome, Session, StoreError, map_err};

/// [`RefreshStore::add_successor`]: the new token takes the family, user, client, scope
/// and absolute expiry of the rotated one.
const ADD_SUCCESSOR_SQL: &str = "INSERT INTO refresh_tokens (id, token_hash, family_id, user_id, client_id, scope, created_at, expires_at, idle_expires_at) \
     SELECT ?1, ?2, t.family_id, t.user_id, t.client_id, t.scope, ?3, t.expires_at, MIN(?4, t.expires_at) FROM refresh_tokens t \
     WHERE t.token_hash = ?5 AND t.client_id = ?6 AND t.used_at >= ?7 AND t.revoked_at IS NULL AND t.expires_at > ?8 \
     AND NOT EXISTS (SELECT 1 FROM refresh_tokens f WHERE f.family_id = t.family_id AND f.revoked_at IS NOT NULL)";

#[async_trait]
impl RefreshStore for SqliteStore {
    async fn insert_refresh(&self, token: &RefreshToken, hash: &[u8]) -> Result<(), StoreError> {
        let (token, hash) = (token.clone(), hash.to_vec());
        self.write(move |conn| Box::pin(async move { insert_refresh(conn, &token, &hash).await }))
            .await
    }

    async fn refresh_by_hash(&self, hash: &[u8]) -> Result<Option<RefreshToken>, StoreError> {
        let sql = format!("SELECT {REFRESH_COLUMNS} FROM refresh_tokens WHERE token_hash = ?");
        let row = sqlx::query_as::<_, RefreshRow>(&sql)
            .bind(hash)
            .fetch_optional(&mut *self.read().await?)
            .await
            .map_err(map_err)?;
        model(row)
    }

    async fn rotate_if_current(
        &self,
        hash: &[u8],
        client_id: &str,
        next: &RefreshToken,
        next_hash: &[u8],
        now: i64,
    ) -> Result<RotateOutcome, StoreError> {
        let (hash, client_id) = (hash.to_vec(), client_id.to_owned());
        let (next, next_hash) = (next.clone(), next_hash.to_vec());
        self.write(move |conn| {
            Box::pin(async move { rotate(conn, &hash, &client_id, &next, &next_hash, now).await })
        })
        .await
    }

    async fn add_successor(
        &self,
        hash: &[u8],
        client_id: &str,
        next: &RefreshToken,
        next_hash: &[u8],
        used_since: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        // One statement on the one writer: no revocation can interleave with it.
        let (hash, client_id) = (hash.to_vec(), client_id.to_owned());
        let (next, next_hash) = (next.clone(), next_hash.to_vec());
        let added = self
            .execute(ADD_SUCCESSOR_SQL, move |q| {
                q.bind(next.id.to_string())
                    .bind(next_hash)
                    .bind(next.created_at)
                    .bind(next.idle_expires_at)
                    .bind(hash)
                    .bind(client_id)
                    .bind(used_since)
                    .bind(now)
            })
            .await?;
        Ok(added == 1)
    }

    async fn revoke_family(&self, family_id: Uuid, now: i64) -> Result<u64, StoreError> {
        self.execute(
            "UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL",
            move |q| q.bind(now).bind(family_id.to_string()),
        )
        .await
    }

    async fn revoke_user_refresh(&self, user_id: Uuid, now: i64) -> Result<u64, StoreError> {
        self.write(move |conn| Box::pin(async move { end_user_sessions(conn, user_id, now).await }))
            .await
    }

    async fn list_sessions(
        &self,
        user_id: Option<Uuid>,
        now: i64,
    ) -> Result<Vec<Session>, StoreError> {
        // A live session is a family with a current (unused, unrevoked, unexpired) token.
        let rows = sqlx::query_as::<_, SessionRow>(
            "SELECT t.family_id, t.user_id, u.username, t.client_id, t.scope, t.expires_at, t.created_at AS last_used_at, \
             (SELECT MIN(created_at) FROM refresh_tokens f WHERE f.family_id = t.family_id) AS created_at \
             FROM refresh_tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.used_at IS NULL AND t.revoked_at IS NULL AND t.expires_at > ? AND t.idle_expires_at > ? \
             AND (? IS NULL OR t.user_id = ?) ORDER BY t.created_at DESC",
        )
        .bind(now)
        .bind(now)
        .bind(user_id.map(|u| u.to_string()))
        .bind(user_id.map(|u| u.to_string()))
        .fetch_all(&mut *self.read().await?)
        .await
        .map_err(map_err)?;
        models(rows)
    }
}

/// [`RefreshStore::revoke_user_refresh`]: the stamp and the revocations, one unit.
async fn end_user_sessions(
    tx: &mut SqliteConnection,
    user_id: Uuid,
    now: i64,
) -> Result<u64, StoreError> {
    let id = user_id.to_string();
    sqlx::query("UPDATE users SET tokens_valid_after = MAX(tokens_valid_after, ?) WHERE id = ?")
        .bind(now)
        .bind(&id)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
    let done = sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(&id)
    .execute(&mut *tx)
    .await
    .map_err(map_err)?;
    Ok(done.rows_affected())
}

/// [`RefreshStore::rotate_if_current`]: the rotation in one round trip
/// ([`rotate_current`]); when it changed nothing, the row as it stands.
async fn rotate(
    conn: &mut SqliteConnection,
    hash: &[u8],
    client_id: &str,
    next: &RefreshToken,
    next_hash: &[u8],
    now: i64,
) -> Result<RotateOutcome, StoreError> {
    if let Some(old) = rotate_current(conn, hash, client_id, next, next_hash, now).await? {
        return Ok(RotateOutcome::Rotated(old));
    }
    // Not current now means never current again: nothing makes a token unused,
    // unrevoked or unexpired, so this read cannot contradict the batch.
    let sql = format!("SELECT {REFRESH_COLUMNS} FROM refresh_tokens WHERE token_hash = ?");
    let row = sqlx::query_as::<_, RefreshRow>(&sql)
        .bind(hash)
        .fetch_optional(&mut *conn)
        .await
        .map_err(map_err)?;
    Ok(RotateOutcome::NotCurrent(model(row)?))
}

/// Rotates `hash` if it is current: one batch of two statements, so the writer makes one
/// round trip to the connection's worker thread instead of two. The writer runs jobs
/// one at a time, so the INSERT … SELECT and the UPDATE see the same row under the same
/// conditions: the successor exists exactly when the token was marked used. Returns the
/// token as it was, or `None` (nothing changed) when it was not current.
async fn rotate_current(
    conn: &mut SqliteConnection,
    hash: &[u8],
    client_id: &str,
    next: &RefreshToken,
    next_hash: &[u8],
    now: i64,
) -> Result<Option<RefreshToken>, StoreError> {
    let sql = format!(
        "INSERT INTO refresh_tokens (id, token_hash, family_id, user_id, client_id, scope, created_at, expires_at, idle_expires_at) \
           SELECT ?1, ?2, family_id, ?3, client_id, ?4, ?5, expires_at, ?6 FROM refresh_tokens \
           WHERE token_hash = ?7 AND client_id = ?8 AND used_at IS NULL AND revoked_at IS NULL \
           AND expires_at > ?9 AND idle_expires_at > ?9; \
         UPDATE refresh_tokens SET used_at = ?9 \
           WHERE token_hash = ?7 AND client_id = ?8 AND used_at IS NULL AND revoked_at IS NULL \
           AND expires_at > ?9 AND idle_expires_at > ?9 \
           RETURNING {REFRESH_COLUMNS};"
    );
    // `fetch_all`, never `fetch_optional`: both statements must run.
    let rows = sqlx::query_as::<_, RefreshRow>(&sql)
        .bind(next.id.to_string())
        .bind(next_hash)
        .bind(next.user_id.to_string())
        .bind(&next.scope)
        .bind(next.created_at)
        .bind(next.idle_expires_at)
        .bind(hash)
        .bind(client_id)
        .bind(now)
        .fetch_all(&mut *conn)
        .await
        .map_err(map_err)?;
    model(rows.into_iter().next())
}

pub(super) async fn insert_refresh<'e, E>(
    executor: E,
    token: &RefreshToken,
    hash: &[u8],
) -> Result<(), StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Sqlite>,
{
    sqlx::query(
        "INSERT INTO refresh_tokens (id, token_hash, family_id, user_id, client_id, scope, created_at, expires_at, idle_expires_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(token.id.to_string())
    .bind(hash)
    .bind(token.family_id.to_string())
    .bind(token.user_id.to_string())
    .bind(&token.client_id)
    .bind(&token.scope)
    .bind(token.created_at)
    .bind(token.expires_at)
    .bind(token.idle_expires_at)
    .execute(executor)
    .await
    .map_err(map_err)
    .map(|_| ())
}
