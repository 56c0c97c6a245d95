//! The SQLite store: one file, WAL, foreign keys on, busy timeout.
//!
//! SQLite lets one connection write at a time. Writers sharing a pool of connections
//! wait for each other inside SQLite's busy handler, which sleeps and retries: under load
//! most of the time went to futexes and the scheduler, not to SQL. So every write and
//! every transaction goes through a pool of exactly one connection, and writers queue
//! for it in-process (a pool acquire); reads go to a separate pool of connections that
//! refuse writes (`query_only`), which WAL lets read alongside the writer.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
    SqliteTransactionManager,
};
use sqlx::{Connection as _, Row, Sqlite, SqliteConnection, SqlitePool, TransactionManager as _};
use uuid::Uuid;

use super::{
    AUDIT_BATCH_ROWS, AuditFilter, AuditRecord, Client, RefreshToken, Role, Rotation, ScopeDef,
    Session, Store, StoreError, StoredKey, User, UserChange, detached, join, like_prefix, split,
    takes_last_holder,
};

/// How long a query waits for a connection (the writer queue included).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// SQLite implementation of [`Store`].
///
/// Every write transaction starts with `BEGIN IMMEDIATE`: a deferred transaction that
/// reads first and writes later fails at once with `SQLITE_BUSY` (the busy timeout does
/// not apply to that upgrade) when another connection wrote in between (the CLI, or a
/// second process on the same file).
#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// The one connection that writes.
    writer: SqlitePool,
    /// Connections that only read (`query_only`); none for an in-memory database, which
    /// exists only on its one connection: the writer then reads too.
    readers: Option<SqlitePool>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `url` (`sqlite://path` or
    /// `sqlite::memory:`) with one writer and `readers` read-only connections.
    pub async fn connect(url: &str, readers: u32) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Internal(format!("invalid SQLite URL: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let single = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            // A local file: a ping before each use tests nothing (sqlx pings on release
            // anyway) and would cost a worker round trip per query.
            .test_before_acquire(false)
            .after_release(|conn, _| Box::pin(release_outside_transaction(conn)));
        if in_memory(url) {
            // The database lives as long as its connection: keep that one open for good.
            let only = single
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .connect_with(options)
                .await
                .map_err(map_err)?;
            return Ok(Self {
                writer: only,
                readers: None,
            });
        }
        // The writer first: it creates the file and switches it to WAL.
        let writer = single
            .connect_with(options.clone())
            .await
            .map_err(map_err)?;
        // `query_only` refuses writes as a read-only open would, while the readers open
        // the file exactly as the writer does (flags, pragmas, WAL index).
        let readers = SqlitePoolOptions::new()
            .max_connections(readers.max(1))
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .test_before_acquire(false)
            .after_release(|conn, _| Box::pin(release_outside_transaction(conn)))
            .connect_with(options.pragma("query_only", "ON"))
            .await
            .map_err(map_err)?;
        Ok(Self {
            writer,
            readers: Some(readers),
        })
    }

    /// The pool for reads outside a transaction.
    fn reader(&self) -> &SqlitePool {
        self.readers.as_ref().unwrap_or(&self.writer)
    }
}

/// Whether `url` names an in-memory database (`sqlite::memory:`, `mode=memory`). Pure.
fn in_memory(url: &str) -> bool {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    path.ends_with(":memory:")
        || query
            .split('&')
            .any(|param| param.eq_ignore_ascii_case("mode=memory"))
}

/// Rolls back a connection that comes back to the pool still inside a transaction, so
/// that the next user neither fails to begin one nor finds the write lock taken.
///
/// [`detached`] keeps transactions from being abandoned; this is the safety net. It also
/// runs after an ordinary early return from a transaction (`NotFound`, an invalid
/// refresh token): sqlx's rollback-on-drop is then still queued on the connection's
/// worker, ahead of this one, which finds nothing left to undo.
async fn release_outside_transaction(conn: &mut SqliteConnection) -> Result<bool, sqlx::Error> {
    if conn.is_in_transaction() {
        tracing::debug!("a pooled SQLite connection came back inside a transaction: rolling back");
        SqliteTransactionManager::rollback(conn).await?;
    }
    Ok(true)
}

fn map_err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::MissingReference,
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            StoreError::Unavailable(e.to_string())
        }
        sqlx::Error::Database(db) if db.message().contains("database is locked") => {
            StoreError::Unavailable(e.to_string())
        }
        _ => StoreError::Internal(e.to_string()),
    }
}

fn uuid(s: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(s).map_err(|_| StoreError::Internal("a stored id is not a UUID".into()))
}

fn user_from(row: &SqliteRow) -> Result<User, StoreError> {
    let roles: Option<String> = row.try_get("roles").map_err(map_err)?;
    Ok(User {
        id: uuid(&row.try_get::<String, _>("id").map_err(map_err)?)?,
        username: row.try_get("username").map_err(map_err)?,
        password_hash: row.try_get("password_hash").map_err(map_err)?,
        disabled: row.try_get("disabled").map_err(map_err)?,
        created_at: row.try_get("created_at").map_err(map_err)?,
        updated_at: row.try_get("updated_at").map_err(map_err)?,
        password_changed_at: row.try_get("password_changed_at").map_err(map_err)?,
        tokens_valid_after: row.try_get("tokens_valid_after").map_err(map_err)?,
        roles: roles.map(|r| split(&r)).unwrap_or_default(),
    })
}

const USER_COLUMNS: &str = "u.id, u.username, u.password_hash, u.disabled, u.created_at, u.updated_at, u.password_changed_at, u.tokens_valid_after, \
     (SELECT group_concat(role, ' ') FROM (SELECT role FROM user_roles WHERE user_id = u.id ORDER BY role)) AS roles";

fn client_from(row: &SqliteRow) -> Result<Client, StoreError> {
    Ok(Client {
        id: row.try_get("id").map_err(map_err)?,
        name: row.try_get("name").map_err(map_err)?,
        confidential: row.try_get("confidential").map_err(map_err)?,
        secret_hash: row.try_get("secret_hash").map_err(map_err)?,
        grants: split(&row.try_get::<String, _>("grants").map_err(map_err)?),
        scopes: split(&row.try_get::<String, _>("scopes").map_err(map_err)?),
        audience: row.try_get("audience").map_err(map_err)?,
        disabled: row.try_get("disabled").map_err(map_err)?,
        created_at: row.try_get("created_at").map_err(map_err)?,
    })
}

fn refresh_from(row: &SqliteRow) -> Result<RefreshToken, StoreError> {
    Ok(RefreshToken {
        id: uuid(&row.try_get::<String, _>("id").map_err(map_err)?)?,
        family_id: uuid(&row.try_get::<String, _>("family_id").map_err(map_err)?)?,
        user_id: uuid(&row.try_get::<String, _>("user_id").map_err(map_err)?)?,
        client_id: row.try_get("client_id").map_err(map_err)?,
        scope: row.try_get("scope").map_err(map_err)?,
        created_at: row.try_get("created_at").map_err(map_err)?,
        expires_at: row.try_get("expires_at").map_err(map_err)?,
        idle_expires_at: row.try_get("idle_expires_at").map_err(map_err)?,
        used_at: row.try_get("used_at").map_err(map_err)?,
        revoked_at: row.try_get("revoked_at").map_err(map_err)?,
    })
}

const REFRESH_COLUMNS: &str = "id, family_id, user_id, client_id, scope, created_at, expires_at, idle_expires_at, used_at, revoked_at";

async fn insert_roles(
    tx: &mut sqlx::SqliteConnection,
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

#[async_trait]
impl Store for SqliteStore {
    async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::migrate!("./migrations/sqlite")
            .run(&self.writer)
            .await
            .map_err(|e| StoreError::Internal(format!("migration failed: {e}")))
    }

    /// Both pools together (one pool when the database is in memory).
    fn pool_stats(&self) -> Option<(u32, usize)> {
        let (mut size, mut idle) = (self.writer.size(), self.writer.num_idle());
        if let Some(readers) = &self.readers {
            size += readers.size();
            idle += readers.num_idle();
        }
        Some((size, idle))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(self.reader())
            .await
            .map_err(map_err)
            .map(|_| ())
    }

    async fn create_user(&self, user: &User) -> Result<(), StoreError> {
        let (pool, users) = (self.writer.clone(), vec![user.clone()]);
        detached(async move { insert_users(&pool, &users).await }).await
    }

    async fn create_users(&self, users: &[User]) -> Result<(), StoreError> {
        let (pool, users) = (self.writer.clone(), users.to_vec());
        detached(async move { insert_users(&pool, &users).await }).await
    }

    async fn user_by_id(&self, id: Uuid) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = ?");
        let row = sqlx::query(&sql)
            .bind(id.to_string())
            .fetch_optional(self.reader())
            .await
            .map_err(map_err)?;
        row.as_ref().map(user_from).transpose()
    }

    async fn user_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.username = ?");
        let row = sqlx::query(&sql)
            .bind(username)
            .fetch_optional(self.reader())
            .await
            .map_err(map_err)?;
        row.as_ref().map(user_from).transpose()
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
        let rows = sqlx::query(&sql)
            .bind(like_prefix(prefix.unwrap_or("")))
            .bind(after.unwrap_or(""))
            .bind(i64::from(limit))
            .fetch_all(self.reader())
            .await
            .map_err(map_err)?;
        rows.iter().map(user_from).collect()
    }

    async fn change_user(
        &self,
        id: Uuid,
        change: UserChange,
        keep: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        let (pool, keep) = (self.writer.clone(), keep.to_owned());
        detached(async move { change_user_keeping(&pool, id, change, &keep, now).await }).await
    }

    async fn set_password_hash(
        &self,
        id: Uuid,
        hash: &str,
        changed_at: Option<i64>,
        now: i64,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE users SET password_hash = ?1, updated_at = ?2, \
             password_changed_at = COALESCE(?3, password_changed_at), \
             tokens_valid_after = MAX(tokens_valid_after, COALESCE(?3, tokens_valid_after)) WHERE id = ?4",
        )
        .bind(hash)
        .bind(now)
        .bind(changed_at)
        .bind(id.to_string())
        .execute(&self.writer)
        .await
        .map_err(map_err)?;
        if done.rows_affected() == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }

    async fn count_users_with_role(&self, role: &str) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM user_roles r JOIN users u ON u.id = r.user_id WHERE r.role = ? AND u.disabled = 0",
        )
        .bind(role)
        .fetch_one(self.reader())
        .await
        .map_err(map_err)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn list_scopes(&self) -> Result<Vec<ScopeDef>, StoreError> {
        let rows = sqlx::query("SELECT name, description, is_default FROM scopes ORDER BY name")
            .fetch_all(self.reader())
            .await
            .map_err(map_err)?;
        rows.iter()
            .map(|r| {
                Ok(ScopeDef {
                    name: r.try_get("name").map_err(map_err)?,
                    description: r.try_get("description").map_err(map_err)?,
                    is_default: r.try_get("is_default").map_err(map_err)?,
                })
            })
            .collect()
    }

    async fn upsert_scope(&self, scope: &ScopeDef) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO scopes (name, description, is_default) VALUES (?, ?, ?) \
             ON CONFLICT(name) DO UPDATE SET description = excluded.description, is_default = excluded.is_default",
        )
        .bind(&scope.name)
        .bind(&scope.description)
        .bind(scope.is_default)
        .execute(&self.writer)
        .await
        .map_err(map_err)
        .map(|_| ())
    }

    async fn delete_scope(&self, name: &str) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM scopes WHERE name = ?")
            .bind(name)
            .execute(&self.writer)
            .await
            .map_err(map_err)?;
        if done.rows_affected() == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }

    async fn list_roles(&self) -> Result<Vec<Role>, StoreError> {
        let rows = sqlx::query(
            "SELECT r.name, r.description, \
             (SELECT group_concat(scope, ' ') FROM (SELECT scope FROM role_scopes WHERE role = r.name ORDER BY scope)) AS scopes \
             FROM roles r ORDER BY r.name",
        )
        .fetch_all(self.reader())
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|r| {
                Ok(Role {
                    name: r.try_get("name").map_err(map_err)?,
                    description: r.try_get("description").map_err(map_err)?,
                    scopes: r
                        .try_get::<Option<String>, _>("scopes")
                        .map_err(map_err)?
                        .map(|s| split(&s))
                        .unwrap_or_default(),
                })
            })
            .collect()
    }

    async fn role(&self, name: &str) -> Result<Option<Role>, StoreError> {
        Ok(self
            .list_roles()
            .await?
            .into_iter()
            .find(|r| r.name == name))
    }

    async fn create_role(&self, role: &Role) -> Result<(), StoreError> {
        let (pool, role) = (self.writer.clone(), role.clone());
        detached(async move { insert_role(&pool, &role).await }).await
    }

    async fn set_role_scopes(&self, name: &str, scopes: &[String]) -> Result<(), StoreError> {
        let (pool, name, scopes) = (self.writer.clone(), name.to_owned(), scopes.to_vec());
        detached(async move { replace_role_scopes(&pool, &name, &scopes).await }).await
    }

    async fn delete_role(&self, name: &str) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM roles WHERE name = ?")
            .bind(name)
            .execute(&self.writer)
            .await
            .map_err(map_err)?;
        if done.rows_affected() == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }

    async fn create_client(&self, client: &Client) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO clients (id, name, confidential, secret_hash, grants, scopes, audience, disabled, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&client.id)
        .bind(&client.name)
        .bind(client.confidential)
        .bind(&client.secret_hash)
        .bind(join(&client.grants))
        .bind(join(&client.scopes))
        .bind(&client.audience)
        .bind(client.disabled)
        .bind(client.created_at)
        .execute(&self.writer)
        .await
        .map_err(map_err)
        .map(|_| ())
    }

    async fn client(&self, id: &str) -> Result<Option<Client>, StoreError> {
        let row = sqlx::query("SELECT * FROM clients WHERE id = ?")
            .bind(id)
            .fetch_optional(self.reader())
            .await
            .map_err(map_err)?;
        row.as_ref().map(client_from).transpose()
    }

    async fn list_clients(&self) -> Result<Vec<Client>, StoreError> {
        let rows = sqlx::query("SELECT * FROM clients ORDER BY id")
            .fetch_all(self.reader())
            .await
            .map_err(map_err)?;
        rows.iter().map(client_from).collect()
    }

    async fn set_client_disabled(&self, id: &str, disabled: bool) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE clients SET disabled = ? WHERE id = ?")
            .bind(disabled)
            .bind(id)
            .execute(&self.writer)
            .await
            .map_err(map_err)?;
        if done.rows_affected() == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }

    async fn set_client_scopes(&self, id: &str, scopes: &[String]) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE clients SET scopes = ? WHERE id = ?")
            .bind(join(scopes))
            .bind(id)
            .execute(&self.writer)
            .await
            .map_err(map_err)?;
        if done.rows_affected() == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }

    async fn delete_client(&self, id: &str) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM clients WHERE id = ?")
            .bind(id)
            .execute(&self.writer)
            .await
            .map_err(map_err)?;
        if done.rows_affected() == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }

    async fn insert_refresh(&self, token: &RefreshToken, hash: &[u8]) -> Result<(), StoreError> {
        insert_refresh(&self.writer, token, hash).await
    }

    async fn refresh_by_hash(&self, hash: &[u8]) -> Result<Option<RefreshToken>, StoreError> {
        let sql = format!("SELECT {REFRESH_COLUMNS} FROM refresh_tokens WHERE token_hash = ?");
        let row = sqlx::query(&sql)
            .bind(hash)
            .fetch_optional(self.reader())
            .await
            .map_err(map_err)?;
        row.as_ref().map(refresh_from).transpose()
    }

    async fn rotate_refresh(
        &self,
        hash: &[u8],
        client_id: &str,
        next: &RefreshToken,
        next_hash: &[u8],
        now: i64,
    ) -> Result<Rotation, StoreError> {
        let pool = self.writer.clone();
        let (hash, client_id) = (hash.to_vec(), client_id.to_owned());
        let (next, next_hash) = (next.clone(), next_hash.to_vec());
        detached(async move { rotate(&pool, &hash, &client_id, &next, &next_hash, now).await })
            .await
    }

    async fn revoke_family(&self, family_id: Uuid, now: i64) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(family_id.to_string())
        .execute(&self.writer)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected())
    }

    async fn revoke_user_refresh(&self, user_id: Uuid, now: i64) -> Result<u64, StoreError> {
        let pool = self.writer.clone();
        detached(async move { end_user_sessions(&pool, user_id, now).await }).await
    }

    async fn revoked_sessions(&self, since: i64) -> Result<Vec<(Uuid, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT family_id, MAX(revoked_at) AS revoked_at FROM refresh_tokens \
             WHERE revoked_at >= ? GROUP BY family_id",
        )
        .bind(since)
        .fetch_all(self.reader())
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|r| {
                Ok((
                    uuid(&r.try_get::<String, _>("family_id").map_err(map_err)?)?,
                    r.try_get("revoked_at").map_err(map_err)?,
                ))
            })
            .collect()
    }

    async fn access_epoch(&self) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT n FROM access_epoch WHERE id = 1")
            .fetch_one(self.reader())
            .await
            .map_err(map_err)
    }

    async fn list_sessions(
        &self,
        user_id: Option<Uuid>,
        now: i64,
    ) -> Result<Vec<Session>, StoreError> {
        // A live session is a family with a current (unused, unrevoked, unexpired) token.
        let rows = sqlx::query(
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
        .fetch_all(self.reader())
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|r| {
                Ok(Session {
                    family_id: uuid(&r.try_get::<String, _>("family_id").map_err(map_err)?)?,
                    user_id: uuid(&r.try_get::<String, _>("user_id").map_err(map_err)?)?,
                    username: r.try_get("username").map_err(map_err)?,
                    client_id: r.try_get("client_id").map_err(map_err)?,
                    scope: r.try_get("scope").map_err(map_err)?,
                    created_at: r.try_get("created_at").map_err(map_err)?,
                    last_used_at: r.try_get("last_used_at").map_err(map_err)?,
                    expires_at: r.try_get("expires_at").map_err(map_err)?,
                })
            })
            .collect()
    }

    async fn list_keys(&self) -> Result<Vec<StoredKey>, StoreError> {
        let rows = sqlx::query(
            "SELECT kid, alg, sealed_key, created_at, activates_at, retired_at, publish_until FROM signing_keys ORDER BY activates_at, kid",
        )
        .fetch_all(self.reader())
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|r| {
                Ok(StoredKey {
                    kid: r.try_get("kid").map_err(map_err)?,
                    alg: r.try_get("alg").map_err(map_err)?,
                    sealed_key: r.try_get("sealed_key").map_err(map_err)?,
                    created_at: r.try_get("created_at").map_err(map_err)?,
                    activates_at: r.try_get("activates_at").map_err(map_err)?,
                    retired_at: r.try_get("retired_at").map_err(map_err)?,
                    publish_until: r.try_get("publish_until").map_err(map_err)?,
                })
            })
            .collect()
    }

    async fn insert_key(&self, key: &StoredKey) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO signing_keys (kid, alg, sealed_key, created_at, activates_at, retired_at, publish_until) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&key.kid)
        .bind(&key.alg)
        .bind(&key.sealed_key)
        .bind(key.created_at)
        .bind(key.activates_at)
        .bind(key.retired_at)
        .bind(key.publish_until)
        .execute(&self.writer)
        .await
        .map_err(map_err)
        .map(|_| ())
    }

    async fn retire_key(
        &self,
        kid: &str,
        retired_at: i64,
        publish_until: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE signing_keys SET retired_at = ?, publish_until = ? WHERE kid = ? AND retired_at IS NULL")
            .bind(retired_at)
            .bind(publish_until)
            .bind(kid)
            .execute(&self.writer)
            .await
            .map_err(map_err)
            .map(|_| ())
    }

    async fn throttle_locks(&self, keys: &[String]) -> Result<Vec<(String, i64)>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        // One lookup for all keys (a request checks two: its client or account, its IP).
        let sql = format!(
            "SELECT key, locked_until FROM login_throttle WHERE key IN ({})",
            vec!["?"; keys.len()].join(", ")
        );
        let mut query = sqlx::query(&sql);
        for key in keys {
            query = query.bind(key);
        }
        let rows = query.fetch_all(self.reader()).await.map_err(map_err)?;
        let mut locks = std::collections::HashMap::with_capacity(rows.len());
        for row in &rows {
            let key: String = row.try_get("key").map_err(map_err)?;
            let until: i64 = row.try_get("locked_until").map_err(map_err)?;
            locks.insert(key, until);
        }
        // In the order asked, as before.
        Ok(keys
            .iter()
            .filter_map(|key| locks.get(key).map(|until| (key.clone(), *until)))
            .collect())
    }

    async fn record_failure(
        &self,
        key: &str,
        now: i64,
        reset_before: i64,
    ) -> Result<u32, StoreError> {
        // One statement: concurrent failures each count (no read-then-write).
        let failures: i64 = sqlx::query_scalar(
            "INSERT INTO login_throttle (key, failures, locked_until, last_failure_at) VALUES (?, 1, 0, ?) \
             ON CONFLICT(key) DO UPDATE SET \
               failures = CASE WHEN last_failure_at < ? THEN 1 ELSE failures + 1 END, \
               locked_until = CASE WHEN last_failure_at < ? THEN 0 ELSE locked_until END, \
               last_failure_at = excluded.last_failure_at \
             RETURNING failures",
        )
        .bind(key)
        .bind(now)
        .bind(reset_before)
        .bind(reset_before)
        .fetch_one(&self.writer)
        .await
        .map_err(map_err)?;
        Ok(u32::try_from(failures).unwrap_or(u32::MAX))
    }

    async fn lock_until(&self, key: &str, until: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE login_throttle SET locked_until = MAX(locked_until, ?) WHERE key = ?")
            .bind(until)
            .bind(key)
            .execute(&self.writer)
            .await
            .map_err(map_err)
            .map(|_| ())
    }

    async fn clear_failures(&self, key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM login_throttle WHERE key = ?")
            .bind(key)
            .execute(&self.writer)
            .await
            .map_err(map_err)
            .map(|_| ())
    }

    async fn purge_throttle(&self, now: i64, reset_before: i64) -> Result<u64, StoreError> {
        sqlx::query("DELETE FROM login_throttle WHERE last_failure_at < ? AND locked_until <= ?")
            .bind(reset_before)
            .bind(now)
            .execute(&self.writer)
            .await
            .map_err(map_err)
            .map(|r| r.rows_affected())
    }

    async fn append_audit(&self, event: &AuditRecord) -> Result<(), StoreError> {
        insert_audit(&self.writer, std::slice::from_ref(event)).await
    }

    async fn append_audit_batch(&self, events: &[AuditRecord]) -> Result<(), StoreError> {
        if events.len() <= AUDIT_BATCH_ROWS {
            // One statement: atomic by itself.
            return insert_audit(&self.writer, events).await;
        }
        let (pool, events) = (self.writer.clone(), events.to_vec());
        detached(async move {
            let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(map_err)?;
            for chunk in events.chunks(AUDIT_BATCH_ROWS) {
                insert_audit(&mut *tx, chunk).await?;
            }
            tx.commit().await.map_err(map_err)
        })
        .await
    }

    async fn list_audit(
        &self,
        filter: &AuditFilter,
        before: Option<(i64, Uuid)>,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let (before_at, before_id) = match before {
            Some((at, id)) => (Some(at), Some(id.to_string())),
            None => (None, None),
        };
        let rows = sqlx::query(
            "SELECT id, at, kind, actor, subject, client_id, ip, reason, details FROM audit_events \
             WHERE (?1 IS NULL OR kind = ?1) AND (?2 IS NULL OR actor = ?2) AND (?3 IS NULL OR subject = ?3) \
             AND (?4 IS NULL OR at >= ?4) AND (?5 IS NULL OR at < ?5) \
             AND (?6 IS NULL OR at < ?6 OR (at = ?6 AND id < ?7)) \
             ORDER BY at DESC, id DESC LIMIT ?8",
        )
        .bind(&filter.kind)
        .bind(&filter.actor)
        .bind(&filter.subject)
        .bind(filter.since)
        .bind(filter.until)
        .bind(before_at)
        .bind(before_id)
        .bind(i64::from(limit))
        .fetch_all(self.reader())
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|r| {
                let details: String = r.try_get("details").map_err(map_err)?;
                Ok(AuditRecord {
                    id: uuid(&r.try_get::<String, _>("id").map_err(map_err)?)?,
                    at: r.try_get("at").map_err(map_err)?,
                    kind: r.try_get("kind").map_err(map_err)?,
                    actor: r.try_get("actor").map_err(map_err)?,
                    subject: r.try_get("subject").map_err(map_err)?,
                    client_id: r.try_get("client_id").map_err(map_err)?,
                    ip: r.try_get("ip").map_err(map_err)?,
                    reason: r.try_get("reason").map_err(map_err)?,
                    details: serde_json::from_str(&details).unwrap_or(serde_json::Value::Null),
                })
            })
            .collect()
    }

    async fn purge_audit(&self, before: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM audit_events WHERE at < ?")
            .bind(before)
            .execute(&self.writer)
            .await
            .map_err(map_err)?;
        Ok(done.rows_affected())
    }

    async fn revoke_jti(&self, jti: &str, expires_at: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO revoked_jti (jti, expires_at) VALUES (?, ?) ON CONFLICT(jti) DO NOTHING",
        )
        .bind(jti)
        .bind(expires_at)
        .execute(&self.writer)
        .await
        .map_err(map_err)
        .map(|_| ())
    }

    async fn revoked_jtis(&self, now: i64) -> Result<Vec<(String, i64)>, StoreError> {
        sqlx::query("DELETE FROM revoked_jti WHERE expires_at <= ?")
            .bind(now)
            .execute(&self.writer)
            .await
            .map_err(map_err)?;
        let rows = sqlx::query("SELECT jti, expires_at FROM revoked_jti")
            .fetch_all(self.reader())
            .await
            .map_err(map_err)?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("jti").map_err(map_err)?,
                    r.try_get("expires_at").map_err(map_err)?,
                ))
            })
            .collect()
    }
}

/// Inserts `users` with their roles, all or none (one `BEGIN IMMEDIATE` transaction).
async fn insert_users(pool: &SqlitePool, users: &[User]) -> Result<(), StoreError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(map_err)?;
    for user in users {
        let id = user.id.to_string();
        sqlx::query(
            "INSERT INTO users (id, username, password_hash, disabled, created_at, updated_at, password_changed_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&id)
        .bind(&user.username)
        .bind(&user.password_hash)
        .bind(user.disabled)
        .bind(user.created_at)
        .bind(user.updated_at)
        .bind(user.password_changed_at)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        insert_roles(&mut tx, &id, &user.roles).await?;
    }
    tx.commit().await.map_err(map_err)
}

/// [`Store::revoke_user_refresh`]: the stamp and the revocations in one transaction.
async fn end_user_sessions(pool: &SqlitePool, user_id: Uuid, now: i64) -> Result<u64, StoreError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(map_err)?;
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
    tx.commit().await.map_err(map_err)?;
    Ok(done.rows_affected())
}

/// [`Store::change_user`]: `BEGIN IMMEDIATE` takes the write lock first, so guarded
/// changes run one at a time and each counts the holders the others left.
async fn change_user_keeping(
    pool: &SqlitePool,
    id: Uuid,
    change: UserChange,
    keep: &str,
    now: i64,
) -> Result<(), StoreError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(map_err)?;
    let id = id.to_string();
    let held: Option<bool> = sqlx::query_scalar(
        "SELECT NOT u.disabled AND EXISTS \
         (SELECT 1 FROM user_roles r WHERE r.user_id = u.id AND r.role = ?2) \
         FROM users u WHERE u.id = ?1",
    )
    .bind(&id)
    .bind(keep)
    .fetch_optional(&mut *tx)
    .await
    .map_err(map_err)?;
    let held = held.ok_or(StoreError::NotFound)?;
    match &change {
        UserChange::Roles(roles) => {
            stamp_user(&mut tx, &id, now, None).await?;
            sqlx::query("DELETE FROM user_roles WHERE user_id = ?")
                .bind(&id)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
            insert_roles(&mut tx, &id, roles).await?;
        }
        UserChange::Disabled(disabled) => stamp_user(&mut tx, &id, now, Some(*disabled)).await?,
        UserChange::Delete => {
            sqlx::query("DELETE FROM users WHERE id = ?")
                .bind(&id)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        }
    }
    let holders: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM user_roles r JOIN users u ON u.id = r.user_id \
         WHERE r.role = ? AND u.disabled = 0",
    )
    .bind(keep)
    .fetch_one(&mut *tx)
    .await
    .map_err(map_err)?;
    if takes_last_holder(held, u64::try_from(holders).unwrap_or(0)) {
        tx.rollback().await.map_err(map_err)?;
        return Err(StoreError::LastHolder);
    }
    tx.commit().await.map_err(map_err)
}

/// Voids the user's earlier access tokens (and sets `disabled` when given).
async fn stamp_user(
    tx: &mut sqlx::SqliteConnection,
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

async fn insert_role(pool: &SqlitePool, role: &Role) -> Result<(), StoreError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(map_err)?;
    sqlx::query("INSERT INTO roles (name, description) VALUES (?, ?)")
        .bind(&role.name)
        .bind(&role.description)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
    insert_role_scopes(&mut tx, &role.name, &role.scopes).await?;
    tx.commit().await.map_err(map_err)
}

async fn replace_role_scopes(
    pool: &SqlitePool,
    name: &str,
    scopes: &[String],
) -> Result<(), StoreError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(map_err)?;
    let exists: Option<String> = sqlx::query_scalar("SELECT name FROM roles WHERE name = ?")
        .bind(name)
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?;
    if exists.is_none() {
        return Err(StoreError::NotFound);
    }
    sqlx::query("DELETE FROM role_scopes WHERE role = ?")
        .bind(name)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
    insert_role_scopes(&mut tx, name, scopes).await?;
    tx.commit().await.map_err(map_err)
}

async fn insert_role_scopes(
    tx: &mut sqlx::SqliteConnection,
    role: &str,
    scopes: &[String],
) -> Result<(), StoreError> {
    for scope in scopes {
        sqlx::query("INSERT INTO role_scopes (role, scope) VALUES (?, ?)")
            .bind(role)
            .bind(scope)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
    }
    Ok(())
}

/// [`Store::rotate_refresh`]: the common case (a current token) in one round trip to the
/// writer, every other case in [`rotate_or_detect_reuse`].
async fn rotate(
    pool: &SqlitePool,
    hash: &[u8],
    client_id: &str,
    next: &RefreshToken,
    next_hash: &[u8],
    now: i64,
) -> Result<Rotation, StoreError> {
    let mut conn = pool.acquire().await.map_err(map_err)?;
    match rotate_current(&mut conn, hash, client_id, next, next_hash, now).await {
        Ok(Some(old)) => Ok(Rotation::Rotated(old)),
        Ok(None) => rotate_or_detect_reuse(&mut conn, hash, client_id, next, next_hash, now).await,
        Err(e) => {
            end_open_transaction(&mut conn).await;
            Err(e)
        }
    }
}

/// Rotates `hash` if it is current: one batch of statements, so the single writer is
/// held for one round trip instead of four (each a hop to the connection's worker
/// thread). Inside `BEGIN IMMEDIATE` nothing else writes, so the INSERT … SELECT and the
/// UPDATE see the same row under the same conditions: the successor exists exactly when
/// the token was marked used. Returns the token as it was, or `None` (nothing changed)
/// when it was not current. On an error a transaction may be left open: the caller ends
/// it ([`end_open_transaction`]), as sqlx does not know of this one.
async fn rotate_current(
    conn: &mut SqliteConnection,
    hash: &[u8],
    client_id: &str,
    next: &RefreshToken,
    next_hash: &[u8],
    now: i64,
) -> Result<Option<RefreshToken>, StoreError> {
    let sql = format!(
        "BEGIN IMMEDIATE; \
         INSERT INTO refresh_tokens (id, token_hash, family_id, user_id, client_id, scope, created_at, expires_at, idle_expires_at) \
           SELECT ?1, ?2, family_id, ?3, client_id, ?4, ?5, expires_at, ?6 FROM refresh_tokens \
           WHERE token_hash = ?7 AND client_id = ?8 AND used_at IS NULL AND revoked_at IS NULL \
           AND expires_at > ?9 AND idle_expires_at > ?9; \
         UPDATE refresh_tokens SET used_at = ?9 \
           WHERE token_hash = ?7 AND client_id = ?8 AND used_at IS NULL AND revoked_at IS NULL \
           AND expires_at > ?9 AND idle_expires_at > ?9 \
           RETURNING {REFRESH_COLUMNS}; \
         COMMIT;"
    );
    // `fetch_all`, never `fetch_optional`: every statement must run, COMMIT included.
    let rows = sqlx::query(&sql)
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
    rows.first().map(refresh_from).transpose()
}

/// Rolls back a transaction a failed statement batch may have left open. A ROLLBACK that
/// fails for another reason than "no transaction is active" leaves the connection in an
/// unknown state: it is closed instead of returned (closing rolls back).
async fn end_open_transaction(conn: &mut PoolConnection<Sqlite>) {
    if let Err(e) = sqlx::query("ROLLBACK").execute(&mut **conn).await {
        let nothing_open = matches!(&e, sqlx::Error::Database(db) if db.message().contains("no transaction is active"));
        if !nothing_open {
            tracing::warn!(error = %e, "could not end a failed write transaction; closing its connection");
            conn.close_on_drop();
        }
    }
}

/// [`Store::rotate_refresh`] in one `BEGIN IMMEDIATE` transaction, statement by
/// statement: rotates a current token, or revokes the family of a rotated one presented
/// again.
async fn rotate_or_detect_reuse(
    conn: &mut SqliteConnection,
    hash: &[u8],
    client_id: &str,
    next: &RefreshToken,
    next_hash: &[u8],
    now: i64,
) -> Result<Rotation, StoreError> {
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await.map_err(map_err)?;
    // The conditional UPDATE is the decision: of concurrent presentations, exactly one
    // sees `used_at IS NULL` (SQLite serialises writers).
    let sql = format!(
        "UPDATE refresh_tokens SET used_at = ? \
         WHERE token_hash = ? AND client_id = ? AND used_at IS NULL AND revoked_at IS NULL \
         AND expires_at > ? AND idle_expires_at > ? RETURNING {REFRESH_COLUMNS}"
    );
    let won = sqlx::query(&sql)
        .bind(now)
        .bind(hash)
        .bind(client_id)
        .bind(now)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?;
    if let Some(row) = won {
        let old = refresh_from(&row)?;
        let next = RefreshToken {
            family_id: old.family_id,
            expires_at: old.expires_at,
            ..next.clone()
        };
        insert_refresh(&mut *tx, &next, next_hash).await?;
        tx.commit().await.map_err(map_err)?;
        return Ok(Rotation::Rotated(old));
    }
    let sql = format!("SELECT {REFRESH_COLUMNS} FROM refresh_tokens WHERE token_hash = ?");
    let found = sqlx::query(&sql)
        .bind(hash)
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?;
    let Some(row) = found else {
        return Ok(Rotation::Invalid);
    };
    let old = refresh_from(&row)?;
    // RFC 9700 §4.14.2: a rotated token presented again means it leaked; revoke the family.
    if old.used_at.is_some() && old.client_id == client_id {
        sqlx::query(
            "UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(old.family_id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        return Ok(Rotation::Reused {
            family_id: old.family_id,
            user_id: old.user_id,
        });
    }
    Ok(Rotation::Invalid)
}

/// Inserts `events` (at most [`AUDIT_BATCH_ROWS`]) in one statement.
async fn insert_audit<'e, E>(executor: E, events: &[AuditRecord]) -> Result<(), StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Sqlite>,
{
    if events.is_empty() {
        return Ok(());
    }
    let mut insert = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
        "INSERT INTO audit_events (id, at, kind, actor, subject, client_id, ip, reason, details) ",
    );
    insert.push_values(events, |mut row, event| {
        row.push_bind(event.id.to_string())
            .push_bind(event.at)
            .push_bind(event.kind.clone())
            .push_bind(event.actor.clone())
            .push_bind(event.subject.clone())
            .push_bind(event.client_id.clone())
            .push_bind(event.ip.clone())
            .push_bind(event.reason.clone())
            .push_bind(event.details.to_string());
    });
    insert
        .build()
        // One text per batch size: kept out of the statement cache, where it would
        // evict the statements every request runs.
        .persistent(events.len() == 1)
        .execute(executor)
        .await
        .map_err(map_err)
        .map(|_| ())
}

async fn insert_refresh<'e, E>(
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

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str) -> User {
        User {
            id: Uuid::new_v4(),
            username: name.to_owned(),
            password_hash: "h".to_owned(),
            disabled: false,
            created_at: 1,
            updated_at: 1,
            password_changed_at: 1,
            tokens_valid_after: 0,
            roles: vec!["user".to_owned()],
        }
    }

    #[test]
    fn in_memory_urls_are_recognised() {
        let cases = [
            ("sqlite::memory:", true),
            ("sqlite://:memory:", true),
            ("sqlite://x.db?mode=memory&cache=shared", true),
            ("sqlite:///var/lib/rampart/rampart.db", false),
            ("sqlite://memory.db", false),
            ("sqlite://x.db?mode=rwc", false),
        ];
        for (url, expected) in cases {
            assert_eq!(in_memory(url), expected, "{url}");
        }
    }

    #[tokio::test]
    async fn a_file_database_has_one_writer_and_readers_that_cannot_write() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/t.db", dir.path().display());
        let store = SqliteStore::connect(&url, 3).await.unwrap();
        store.migrate().await.unwrap();

        assert_eq!(store.writer.options().get_max_connections(), 1);
        let readers = store.readers.as_ref().unwrap();
        assert_eq!(readers.options().get_max_connections(), 3);
        let refused = sqlx::query("DELETE FROM users").execute(readers).await;
        assert!(refused.is_err(), "a reader wrote");
        // A write is visible to the readers as soon as it returns.
        store.create_user(&user("alice")).await.unwrap();
        assert!(store.user_by_username("alice").await.unwrap().is_some());
        let (size, _) = store.pool_stats().unwrap();
        assert!((2..=4).contains(&size), "{size} connections");
    }

    #[tokio::test]
    async fn an_audit_batch_of_several_inserts_is_stored_whole() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/t.db", dir.path().display());
        let store = SqliteStore::connect(&url, 1).await.unwrap();
        store.migrate().await.unwrap();
        let events: Vec<AuditRecord> = (0..(2 * AUDIT_BATCH_ROWS + 1))
            .map(|n| AuditRecord {
                id: Uuid::new_v4(),
                at: 1,
                kind: "refresh".to_owned(),
                actor: Some(format!("user-{n}")),
                subject: None,
                client_id: Some("first-party".to_owned()),
                ip: Some("127.0.0.1".to_owned()),
                reason: None,
                details: serde_json::json!({"n": n}),
            })
            .collect();

        store.append_audit_batch(&events).await.unwrap();

        let mut stored = store
            .list_audit(&AuditFilter::default(), None, 10_000)
            .await
            .unwrap();
        stored.sort_by_key(|e| e.details["n"].as_u64());
        assert_eq!(stored, events);
        // All or nothing: a batch whose last event repeats a stored id stores none.
        let mut again: Vec<AuditRecord> = events
            .iter()
            .map(|e| AuditRecord {
                id: Uuid::new_v4(),
                ..e.clone()
            })
            .collect();
        if let Some(last) = again.last_mut() {
            last.id = events[0].id;
        }
        let refused = store.append_audit_batch(&again).await;
        assert!(matches!(refused, Err(StoreError::Conflict)), "{refused:?}");
        let count = store
            .list_audit(&AuditFilter::default(), None, 10_000)
            .await
            .unwrap()
            .len();
        assert_eq!(count, events.len());
    }

    fn token(user_id: Uuid, client_id: &str) -> (RefreshToken, Vec<u8>) {
        let row = RefreshToken {
            id: Uuid::new_v4(),
            family_id: Uuid::new_v4(),
            user_id,
            client_id: client_id.to_owned(),
            scope: "profile".to_owned(),
            created_at: 10,
            expires_at: 1_000,
            idle_expires_at: 500,
            used_at: None,
            revoked_at: None,
        };
        (row, Uuid::new_v4().as_bytes().to_vec())
    }

    #[tokio::test]
    async fn rotation_in_one_batch_rotates_detects_reuse_and_undoes_a_failed_batch() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/t.db", dir.path().display());
        let store = SqliteStore::connect(&url, 2).await.unwrap();
        store.migrate().await.unwrap();
        let owner = user("carol");
        store.create_user(&owner).await.unwrap();
        store
            .create_client(&Client {
                id: "app".to_owned(),
                name: "app".to_owned(),
                confidential: false,
                secret_hash: None,
                grants: vec!["refresh_token".to_owned()],
                scopes: vec!["profile".to_owned()],
                audience: None,
                disabled: false,
                created_at: 1,
            })
            .await
            .unwrap();
        let (current, hash) = token(owner.id, "app");
        let (other, other_hash) = token(owner.id, "app");
        store.insert_refresh(&current, &hash).await.unwrap();
        store.insert_refresh(&other, &other_hash).await.unwrap();

        // A successor whose hash is taken: the batch fails midway and changes nothing.
        let (clash, _) = token(owner.id, "app");
        let failed = store
            .rotate_refresh(&hash, "app", &clash, &other_hash, 20)
            .await;
        assert!(matches!(failed, Err(StoreError::Conflict)), "{failed:?}");
        let unchanged = store.refresh_by_hash(&hash).await.unwrap().unwrap();
        assert_eq!(unchanged.used_at, None);

        // The writer is usable again and the token still current.
        let (next, next_hash) = token(owner.id, "app");
        let rotated = store
            .rotate_refresh(&hash, "app", &next, &next_hash, 30)
            .await
            .unwrap();
        assert!(matches!(rotated, Rotation::Rotated(ref old) if old.id == current.id));
        let successor = store.refresh_by_hash(&next_hash).await.unwrap().unwrap();
        assert_eq!(
            (successor.family_id, successor.expires_at, successor.used_at),
            (current.family_id, current.expires_at, None),
            "the successor joins the family and keeps its absolute expiry"
        );
        assert_eq!(
            store.refresh_by_hash(&hash).await.unwrap().unwrap().used_at,
            Some(30)
        );

        // Presented again: the family is revoked, the successor with it.
        let (again, again_hash) = token(owner.id, "app");
        let reused = store
            .rotate_refresh(&hash, "app", &again, &again_hash, 40)
            .await
            .unwrap();
        assert!(
            matches!(reused, Rotation::Reused { family_id, .. } if family_id == current.family_id)
        );
        let successor = store.refresh_by_hash(&next_hash).await.unwrap().unwrap();
        assert_eq!(successor.revoked_at, Some(40));
        assert!(store.refresh_by_hash(&again_hash).await.unwrap().is_none());

        // Another client's token, an unknown one, an expired one: invalid, nothing changes.
        let (fresh, fresh_hash) = token(owner.id, "app");
        for (hash, client, now) in [
            (&other_hash, "elsewhere", 50),
            (&fresh_hash, "app", 50),
            (&other_hash, "app", 600),
        ] {
            let outcome = store
                .rotate_refresh(hash, client, &fresh, &fresh_hash, now)
                .await
                .unwrap();
            assert!(matches!(outcome, Rotation::Invalid), "{outcome:?}");
        }
        assert!(store.refresh_by_hash(&fresh_hash).await.unwrap().is_none());
        assert_eq!(
            store
                .refresh_by_hash(&other_hash)
                .await
                .unwrap()
                .unwrap()
                .used_at,
            None
        );
    }

    #[tokio::test]
    async fn an_in_memory_database_reads_and_writes_on_its_one_connection() {
        let store = SqliteStore::connect("sqlite::memory:", 4).await.unwrap();
        store.migrate().await.unwrap();

        assert!(store.readers.is_none());
        store.create_user(&user("bob")).await.unwrap();
        assert!(store.user_by_username("bob").await.unwrap().is_some());
        assert_eq!(store.pool_stats().map(|(size, _)| size), Some(1));
    }
}
