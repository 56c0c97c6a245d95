//! Users and their roles on SQLite.

use async_trait::async_trait;
use sqlx::SqliteConnection;
use uuid::Uuid;

use super::SqliteStore;
use crate::store::rows::{UserRow, model, models};
use crate::store::{
    Guard, Holders, Profile, StoreError, User, UserChange, UserStore, found, like_prefix, map_err,
};

const USER_COLUMNS: &str = "u.id, u.username, u.password_hash, u.disabled, u.created_at, u.updated_at, u.password_changed_at, u.tokens_valid_after, \
     (SELECT group_concat(role, ' ') FROM (SELECT role FROM user_roles WHERE user_id = u.id ORDER BY role)) AS roles, \
     u.name, u.email, u.email_verified";

/// Enabled holders of a role.
const HOLDERS: &str = "SELECT COUNT(*) FROM user_roles r JOIN users u ON u.id = r.user_id \
     WHERE r.role = ? AND u.disabled = 0";

#[async_trait]
impl UserStore for SqliteStore {
    async fn create_user(&self, user: &User) -> Result<(), StoreError> {
        let users = vec![user.clone()];
        self.write(move |conn| Box::pin(async move { insert_users(conn, &users).await }))
            .await
    }

    async fn create_users(&self, users: &[User]) -> Result<(), StoreError> {
        let users = users.to_vec();
        self.write(move |conn| Box::pin(async move { insert_users(conn, &users).await }))
            .await
    }

    async fn user_by_id(&self, id: Uuid) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = ?");
        let row = sqlx::query_as::<_, UserRow>(&sql)
            .bind(id.to_string())
            .fetch_optional(&mut *self.read().await?)
            .await
            .map_err(map_err)?;
        model(row)
    }

    async fn user_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.username = ?");
        let row = sqlx::query_as::<_, UserRow>(&sql)
            .bind(username)
            .fetch_optional(&mut *self.read().await?)
            .await
            .map_err(map_err)?;
        model(row)
    }

    async fn list_users(
        &self,
        prefix: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<User>, StoreError> {
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE u.username LIKE ? ESCAPE '\\' AND u.username > ? \
             ORDER BY u.username LIMIT ?"
        );
        let rows = sqlx::query_as::<_, UserRow>(&sql)
            .bind(like_prefix(prefix.unwrap_or("")))
            .bind(after.unwrap_or(""))
            .bind(i64::from(limit))
            .fetch_all(&mut *self.read().await?)
            .await
            .map_err(map_err)?;
        models(rows)
    }

    async fn change_user(
        &self,
        id: Uuid,
        change: UserChange,
        guard: Guard<'_>,
        now: i64,
    ) -> Result<(), StoreError> {
        let (role, refuses) = (guard.role.to_owned(), guard.refuses);
        self.write(move |conn| {
            Box::pin(async move {
                let guard = Guard {
                    role: &role,
                    refuses,
                };
                change_user_guarded(conn, id, change, guard, now).await
            })
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
        let hash = hash.to_owned();
        found(
            self.execute(
                "UPDATE users SET password_hash = ?1, updated_at = ?2, \
                 password_changed_at = COALESCE(?3, password_changed_at), \
                 tokens_valid_after = MAX(tokens_valid_after, COALESCE(?3, tokens_valid_after)) WHERE id = ?4",
                move |q| q.bind(hash).bind(now).bind(changed_at).bind(id.to_string()),
            )
            .await?,
        )
    }

    async fn set_profile(&self, id: Uuid, profile: &Profile, now: i64) -> Result<(), StoreError> {
        let profile = profile.clone();
        found(
            self.execute(
                "UPDATE users SET name = ?, email = ?, email_verified = ?, updated_at = ? WHERE id = ?",
                move |q| {
                    q.bind(profile.name)
                        .bind(profile.email)
                        .bind(profile.email_verified)
                        .bind(now)
                        .bind(id.to_string())
                },
            )
            .await?,
        )
    }

    async fn count_users_with_role(&self, role: &str) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar(HOLDERS)
            .bind(role)
            .fetch_one(&mut *self.read().await?)
            .await
            .map_err(map_err)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

/// Inserts `users` with their roles, all or none (one writer job).
async fn insert_users(tx: &mut SqliteConnection, users: &[User]) -> Result<(), StoreError> {
    for user in users {
        let id = user.id.to_string();
        sqlx::query(
            "INSERT INTO users (id, username, password_hash, disabled, created_at, updated_at, password_changed_at, name, email, email_verified) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        insert_roles(tx, &id, &user.roles).await?;
    }
    Ok(())
}

/// [`UserStore::change_user`]: the writer runs jobs one at a time, so guarded changes
/// do too, and each counts the holders the others left. A refusal returns an error, so
/// the writer undoes the change.
async fn change_user_guarded(
    tx: &mut SqliteConnection,
    id: Uuid,
    change: UserChange,
    guard: Guard<'_>,
    now: i64,
) -> Result<(), StoreError> {
    let id = id.to_string();
    let held: Option<bool> = sqlx::query_scalar(
        "SELECT NOT u.disabled AND EXISTS \
         (SELECT 1 FROM user_roles r WHERE r.user_id = u.id AND r.role = ?2) \
         FROM users u WHERE u.id = ?1",
    )
    .bind(&id)
    .bind(guard.role)
    .fetch_optional(&mut *tx)
    .await
    .map_err(map_err)?;
    let held_before = held.ok_or(StoreError::NotFound)?;
    match &change {
        UserChange::Roles(roles) => {
            stamp_user(tx, &id, now, None).await?;
            sqlx::query("DELETE FROM user_roles WHERE user_id = ?")
                .bind(&id)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
            insert_roles(tx, &id, roles).await?;
        }
        UserChange::Disabled(disabled) => stamp_user(tx, &id, now, Some(*disabled)).await?,
        UserChange::Delete => {
            sqlx::query("DELETE FROM users WHERE id = ?")
                .bind(&id)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        }
    }
    let after: i64 = sqlx::query_scalar(HOLDERS)
        .bind(guard.role)
        .fetch_one(&mut *tx)
        .await
        .map_err(map_err)?;
    let holders = Holders {
        held_before,
        after: u64::try_from(after).unwrap_or(0),
    };
    if (guard.refuses)(holders) {
        return Err(StoreError::LastHolder);
    }
    Ok(())
}

/// Voids the user's earlier access tokens (and sets `disabled` when given).
async fn stamp_user(
    tx: &mut SqliteConnection,
    id: &str,
    now: i64,
    disabled: Option<bool>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE users SET disabled = COALESCE(?1, disabled), updated_at = ?2, \
         tokens_valid_after = MAX(tokens_valid_after, ?2) WHERE id = ?3",
    )
    .bind(disabled)
    .bind(now)
    .bind(id)
    .execute(&mut *tx)
    .await
    .map_err(map_err)
    .map(|_| ())
}

async fn insert_roles(
    tx: &mut SqliteConnection,
    user_id: &str,
    roles: &[String],
) -> Result<(), StoreError> {
    for role in roles {
        sqlx::query("INSERT INTO user_roles (user_id, role) VALUES (?, ?)")
            .bind(user_id)
            .bind(role)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
    }
    Ok(())
}
