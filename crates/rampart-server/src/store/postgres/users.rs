//! Users and their roles on Postgres.

use async_trait::async_trait;
use sqlx::postgres::{PgConnection, PgPool};
use uuid::Uuid;

use super::retry::{Fail, run};
use super::{PostgresStore, USER_CHANGE_LOCK, storable};
use crate::store::rows::{UserRow, model, models};
use crate::store::{
    Guard, Holders, Profile, Retry, StoreError, User, UserChange, UserStore, detached, found,
    like_prefix,
};

const USER_COLUMNS: &str = "u.id, u.username, u.password_hash, u.disabled, u.created_at, u.updated_at, u.password_changed_at, u.tokens_valid_after, \
     (SELECT string_agg(role, ' ' ORDER BY role) FROM user_roles WHERE user_id = u.id) AS roles, \
     u.name, u.email, u.email_verified";

/// Enabled holders of a role.
const HOLDERS: &str = "SELECT COUNT(*) FROM user_roles r JOIN users u ON u.id = r.user_id \
     WHERE r.role = $1 AND NOT u.disabled";

#[async_trait]
impl UserStore for PostgresStore {
    async fn create_user(&self, user: &User) -> Result<(), StoreError> {
        let (pool, users) = (self.pool.clone(), vec![user.clone()]);
        detached(async move { insert_users(&pool, &users).await }).await
    }

    async fn create_users(&self, users: &[User]) -> Result<(), StoreError> {
        let (pool, users) = (self.pool.clone(), users.to_vec());
        detached(async move { insert_users(&pool, &users).await }).await
    }

    async fn user_by_id(&self, id: Uuid) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1");
        let id = id.to_string();
        let row = run(Retry::Idempotent, || {
            sqlx::query_as::<_, UserRow>(&sql)
                .bind(&id)
                .fetch_optional(&self.pool)
        })
        .await?;
        model(row)
    }

    async fn user_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        if !storable(username) {
            return Ok(None);
        }
        let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.username = $1");
        let row = run(Retry::Idempotent, || {
            sqlx::query_as::<_, UserRow>(&sql)
                .bind(username)
                .fetch_optional(&self.pool)
        })
        .await?;
        model(row)
    }

    async fn list_users(
        &self,
        prefix: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<User>, StoreError> {
        let prefix = prefix.unwrap_or("");
        if !storable(prefix) {
            return Ok(Vec::new());
        }
        // No stored username contains U+0000, so `> "ab\0…"` is `> "ab"`.
        let after = after.unwrap_or("").split('\0').next().unwrap_or("");
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE u.username LIKE $1 ESCAPE '\\' AND u.username > $2 \
             ORDER BY u.username LIMIT $3"
        );
        let pattern = like_prefix(prefix);
        let rows = run(Retry::Idempotent, || {
            sqlx::query_as::<_, UserRow>(&sql)
                .bind(&pattern)
                .bind(after)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
        })
        .await?;
        models(rows)
    }

    async fn change_user(
        &self,
        id: Uuid,
        change: UserChange,
        guard: Guard<'_>,
        now: i64,
    ) -> Result<(), StoreError> {
        if !storable(guard.role) {
            return Err(StoreError::Internal("a role name with a NUL".into()));
        }
        let (pool, id) = (self.pool.clone(), id.to_string());
        let (role, refuses) = (guard.role.to_owned(), guard.refuses);
        detached(async move {
            let guard = Guard {
                role: &role,
                refuses,
            };
            change_user_guarded(&pool, &id, &change, guard, now).await
        })
        .await
    }

    async fn set_password_hash(
        &self,
        id: Uuid,
        hash: &str,
        changed_at: Option<i64>,
        now: i64,
    ) -> Result<(), StoreError> {
        let id = id.to_string();
        let done = run(Retry::Idempotent, || {
            sqlx::query(
                "UPDATE users SET password_hash = $1, updated_at = $2, \
                 password_changed_at = COALESCE($3, password_changed_at), \
                 tokens_valid_after = GREATEST(tokens_valid_after, COALESCE($3, tokens_valid_after)) \
                 WHERE id = $4",
            )
            .bind(hash)
            .bind(now)
            .bind(changed_at)
            .bind(&id)
            .execute(&self.pool)
        })
        .await?;
        found(done.rows_affected())
    }

    async fn set_profile(&self, id: Uuid, profile: &Profile, now: i64) -> Result<(), StoreError> {
        let id = id.to_string();
        let done = run(Retry::Idempotent, || {
            sqlx::query(
                "UPDATE users SET name = $1, email = $2, email_verified = $3, updated_at = $4 WHERE id = $5",
            )
            .bind(&profile.name)
            .bind(&profile.email)
            .bind(profile.email_verified)
            .bind(now)
            .bind(&id)
            .execute(&self.pool)
        })
        .await?;
        found(done.rows_affected())
    }

    async fn count_users_with_role(&self, role: &str) -> Result<u64, StoreError> {
        if !storable(role) {
            return Ok(0);
        }
        let n: i64 = run(Retry::Idempotent, || {
            sqlx::query_scalar(HOLDERS).bind(role).fetch_one(&self.pool)
        })
        .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

/// Inserts `users` with their roles, all or none (one transaction).
async fn insert_users(pool: &PgPool, users: &[User]) -> Result<(), StoreError> {
    run(Retry::RolledBack, move || async move {
        let mut tx = pool.begin().await?;
        for user in users {
            insert_user(&mut tx, user).await?;
        }
        tx.commit().await
    })
    .await
}

/// [`UserStore::change_user`]. Under READ COMMITTED two transactions could each count the
/// other's holder before either commits; the transaction-scoped advisory lock makes
/// guarded changes run one at a time, and each statement after it sees what the previous
/// one committed.
async fn change_user_guarded(
    pool: &PgPool,
    id: &str,
    change: &UserChange,
    guard: Guard<'_>,
    now: i64,
) -> Result<(), StoreError> {
    run(Retry::RolledBack, move || async move {
        let mut tx = pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(USER_CHANGE_LOCK)
            .execute(&mut *tx)
            .await?;
        let held: Option<bool> = sqlx::query_scalar(
            "SELECT NOT u.disabled AND EXISTS \
             (SELECT 1 FROM user_roles r WHERE r.user_id = u.id AND r.role = $2) \
             FROM users u WHERE u.id = $1 FOR UPDATE",
        )
        .bind(id)
        .bind(guard.role)
        .fetch_optional(&mut *tx)
        .await?;
        let held_before = held.ok_or(StoreError::NotFound)?;
        match change {
            UserChange::Roles(roles) => {
                stamp_user(&mut tx, id, now, None).await?;
                sqlx::query("DELETE FROM user_roles WHERE user_id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                insert_roles(&mut tx, id, roles).await?;
            }
            UserChange::Disabled(disabled) => stamp_user(&mut tx, id, now, Some(*disabled)).await?,
            UserChange::Delete => {
                sqlx::query("DELETE FROM users WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        let after: i64 = sqlx::query_scalar(HOLDERS)
            .bind(guard.role)
            .fetch_one(&mut *tx)
            .await?;
        let holders = Holders {
            held_before,
            after: u64::try_from(after).unwrap_or(0),
        };
        if (guard.refuses)(holders) {
            tx.rollback().await?;
            return Err(Fail::Store(StoreError::LastHolder));
        }
        Ok::<_, Fail>(tx.commit().await?)
    })
    .await
}

/// Voids the user's earlier access tokens (and sets `disabled` when given).
async fn stamp_user(
    conn: &mut PgConnection,
    id: &str,
    now: i64,
    disabled: Option<bool>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE users SET disabled = COALESCE($1, disabled), updated_at = $2, \
         tokens_valid_after = GREATEST(tokens_valid_after, $2) WHERE id = $3",
    )
    .bind(disabled)
    .bind(now)
    .bind(id)
    .execute(conn)
    .await
    .map(|_| ())
}

/// Inserts `user` with their roles (inside the caller's transaction).
async fn insert_user(conn: &mut PgConnection, user: &User) -> Result<(), sqlx::Error> {
    let id = user.id.to_string();
    sqlx::query(
        "INSERT INTO users (id, username, password_hash, disabled, created_at, updated_at, password_changed_at, name, email, email_verified) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&id)
    .bind(&user.username)
    .bind(&user.password_hash)
    .bind(user.disabled)
    .bind(user.created_at)
    .bind(user.updated_at)
    .bind(user.password_changed_at)
    .bind(&user.profile.name)
    .bind(&user.profile.email)
    .bind(user.profile.email_verified)
    .execute(&mut *conn)
    .await?;
    insert_roles(conn, &id, &user.roles).await
}

/// Links `user_id` to each role in one statement (an unknown role is a foreign-key
/// violation, a repeated one a conflict, as on SQLite).
async fn insert_roles(
    conn: &mut PgConnection,
    user_id: &str,
    roles: &[String],
) -> Result<(), sqlx::Error> {
    if roles.is_empty() {
        return Ok(());
    }
    sqlx::query("INSERT INTO user_roles (user_id, role) SELECT $1, unnest($2::text[])")
        .bind(user_id)
        .bind(roles)
        .execute(conn)
        .await
        .map(|_| ())
}
