//! Refresh tokens and sessions on Postgres.

use async_trait::async_trait;
use sqlx::postgres::PgPool;
use uuid::Uuid;

use super::retry::{Fail, run};
use super::{PostgresStore, storable};
use crate::store::rows::{REFRESH_COLUMNS, RefreshRow, SessionRow, model, models};
use crate::store::{
    RefreshStore, RefreshToken, Retry, RotateOutcome, Session, StoreError, detached,
};

/// [`RefreshStore::add_successor`], as on SQLite (`$n` for `?n`).
const ADD_SUCCESSOR_SQL: &str = "INSERT INTO refresh_tokens (id, token_hash, family_id, user_id, client_id, scope, created_at, expires_at, idle_expires_at) \
     SELECT $1, $2, t.family_id, t.user_id, t.client_id, t.scope, $3, t.expires_at, LEAST($4, t.expires_at) FROM refresh_tokens t \
     WHERE t.token_hash = $5 AND t.client_id = $6 AND t.used_at >= $7 AND t.revoked_at IS NULL AND t.expires_at > $8 \
     AND NOT EXISTS (SELECT 1 FROM refresh_tokens f WHERE f.family_id = t.family_id AND f.revoked_at IS NOT NULL)";

#[async_trait]
impl RefreshStore for PostgresStore {
    async fn insert_refresh(&self, token: &RefreshToken, hash: &[u8]) -> Result<(), StoreError> {
        run(Retry::RolledBack, || {
            insert_refresh(&self.pool, token, hash)
        })
        .await
    }

    async fn refresh_by_hash(&self, hash: &[u8]) -> Result<Option<RefreshToken>, StoreError> {
        let sql = format!("SELECT {REFRESH_COLUMNS} FROM refresh_tokens WHERE token_hash = $1");
        let row = run(Retry::Idempotent, || {
            sqlx::query_as::<_, RefreshRow>(&sql)
                .bind(hash)
                .fetch_optional(&self.pool)
        })
        .await?;
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
        if !storable(client_id) {
            // No stored token is bound to it.
            return Ok(RotateOutcome::NotCurrent(None));
        }
        let pool = self.pool.clone();
        let (hash, client_id) = (hash.to_vec(), client_id.to_owned());
        let (next, next_hash) = (next.clone(), next_hash.to_vec());
        detached(async move { rotate(&pool, &hash, &client_id, &next, &next_hash, now).await })
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
        if !storable(client_id) {
            return Ok(false);
        }
        let pool = &self.pool;
        // Retried only after a rollback: a lost connection after a committed insert must
        // not add a second token.
        run(Retry::RolledBack, move || async move {
            let mut tx = pool.begin().await?;
            // Lock the rotated token first: `revoke_family` locks its family's rows before
            // it updates them, so whichever commits first, the other sees it.
            let live: Option<String> = sqlx::query_scalar(
                "SELECT family_id FROM refresh_tokens WHERE token_hash = $1 AND client_id = $2 \
                 AND used_at >= $3 AND revoked_at IS NULL AND expires_at > $4 FOR UPDATE",
            )
            .bind(hash)
            .bind(client_id)
            .bind(used_since)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(_) = live else {
                return Ok::<_, Fail>(false);
            };
            let added = sqlx::query(ADD_SUCCESSOR_SQL)
                .bind(next.id.to_string())
                .bind(next_hash)
                .bind(next.created_at)
                .bind(next.idle_expires_at)
                .bind(hash)
                .bind(client_id)
                .bind(used_since)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            Ok(added == 1)
        })
        .await
    }

    async fn revoke_family(&self, family_id: Uuid, now: i64) -> Result<u64, StoreError> {
        let family_id = family_id.to_string();
        let pool = &self.pool;
        // Not retried after a lost connection: the count decides 204 vs 404.
        let done = run(Retry::RolledBack, || {
            let family_id = &family_id;
            async move {
                let mut tx = pool.begin().await?;
                // Rows first, then the update in a statement of its own: its snapshot then
                // includes a successor that `add_successor` committed while we waited.
                sqlx::query("SELECT 1 FROM refresh_tokens WHERE family_id = $1 FOR UPDATE")
                    .bind(family_id)
                    .execute(&mut *tx)
                    .await?;
                let done = sqlx::query(
                    "UPDATE refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL",
                )
                .bind(now)
                .bind(family_id)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok::<_, Fail>(done.rows_affected())
            }
        })
        .await?;
        Ok(done)
    }

    async fn revoke_user_refresh(&self, user_id: Uuid, now: i64) -> Result<u64, StoreError> {
        let user_id = user_id.to_string();
        let pool = &self.pool;
        let done = run(Retry::RolledBack, || {
            let user_id = &user_id;
            async move {
                let mut tx = pool.begin().await?;
                // As in `revoke_family`: lock the rows, then update in a statement of its
                // own, whose snapshot includes a successor a rotation committed meanwhile.
                sqlx::query("SELECT 1 FROM refresh_tokens WHERE user_id = $1 FOR UPDATE")
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
                // One statement: the stamp and the revocations commit together.
                let done = sqlx::query(
                    "WITH stamp AS (UPDATE users SET tokens_valid_after = GREATEST(tokens_valid_after, $1) \
                     WHERE id = $2) \
                     UPDATE refresh_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
                )
                .bind(now)
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok::<_, Fail>(done.rows_affected())
            }
        })
        .await?;
        Ok(done)
    }

    async fn list_sessions(
        &self,
        user_id: Option<Uuid>,
        now: i64,
    ) -> Result<Vec<Session>, StoreError> {
        let user_id = user_id.map(|u| u.to_string());
        // A live session is a family with a current (unused, unrevoked, unexpired) token.
        let rows = run(Retry::Idempotent, || {
            sqlx::query_as::<_, SessionRow>(
                "SELECT t.family_id, t.user_id, u.username, t.client_id, t.scope, t.expires_at, t.created_at AS last_used_at, \
                 (SELECT MIN(created_at) FROM refresh_tokens f WHERE f.family_id = t.family_id) AS created_at \
                 FROM refresh_tokens t JOIN users u ON u.id = t.user_id \
                 WHERE t.used_at IS NULL AND t.revoked_at IS NULL AND t.expires_at > $1 AND t.idle_expires_at > $1 \
                 AND ($2::text IS NULL OR t.user_id = $2) ORDER BY t.created_at DESC",
            )
            .bind(now)
            .bind(&user_id)
            .fetch_all(&self.pool)
        })
        .await?;
        models(rows)
    }
}

/// [`RefreshStore::rotate_if_current`] in one transaction.
async fn rotate(
    pool: &PgPool,
    hash: &[u8],
    client_id: &str,
    next: &RefreshToken,
    next_hash: &[u8],
    now: i64,
) -> Result<RotateOutcome, StoreError> {
    let rotate = format!(
        "UPDATE refresh_tokens SET used_at = $1 \
         WHERE token_hash = $2 AND client_id = $3 AND used_at IS NULL AND revoked_at IS NULL \
         AND expires_at > $1 AND idle_expires_at > $1 RETURNING {REFRESH_COLUMNS}"
    );
    let lookup = format!("SELECT {REFRESH_COLUMNS} FROM refresh_tokens WHERE token_hash = $1");
    let (rotate, lookup) = (&rotate, &lookup);
    // Retried only after a rollback: a lost connection after a committed rotation
    // must not turn into a second presentation (which would look like reuse).
    run(Retry::RolledBack, move || async move {
        let mut tx = pool.begin().await?;
        // The decision: one conditional UPDATE. A concurrent presentation blocks on
        // the row lock, then re-checks `used_at IS NULL` against our committed row.
        let won = sqlx::query_as::<_, RefreshRow>(rotate)
            .bind(now)
            .bind(hash)
            .bind(client_id)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(row) = won {
            let old = RefreshToken::try_from(row)?;
            let next = RefreshToken {
                family_id: old.family_id,
                expires_at: old.expires_at,
                ..next.clone()
            };
            insert_refresh(&mut *tx, &next, next_hash).await?;
            tx.commit().await?;
            return Ok(RotateOutcome::Rotated(old));
        }
        let found = sqlx::query_as::<_, RefreshRow>(lookup)
            .bind(hash)
            .fetch_optional(&mut *tx)
            .await?;
        Ok::<_, Fail>(RotateOutcome::NotCurrent(model(found)?))
    })
    .await
}

pub(super) async fn insert_refresh<'e, E>(
    executor: E,
    token: &RefreshToken,
    hash: &[u8],
) -> Result<(), sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Postgres>,
{
    sqlx::query(
        "INSERT INTO refresh_tokens (id, token_hash, family_id, user_id, client_id, scope, created_at, expires_at, idle_expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
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
    .map(|_| ())
}
