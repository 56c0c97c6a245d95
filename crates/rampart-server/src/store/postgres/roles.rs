//! Scopes and roles on Postgres.

use async_trait::async_trait;
use sqlx::postgres::{PgConnection, PgPool};

use super::retry::{Fail, run};
use super::{PostgresStore, storable};
use crate::store::rows::{RoleRow, ScopeRow, model, models};
use crate::store::{Retry, Role, RoleStore, ScopeDef, StoreError, detached, found};

const ROLE_COLUMNS: &str = "r.name, r.description, \
     (SELECT string_agg(scope, ' ' ORDER BY scope) FROM role_scopes WHERE role = r.name) AS scopes";

#[async_trait]
impl RoleStore for PostgresStore {
    async fn list_scopes(&self) -> Result<Vec<ScopeDef>, StoreError> {
        let rows = run(Retry::Idempotent, || {
            sqlx::query_as::<_, ScopeRow>(
                "SELECT name, description, is_default FROM scopes ORDER BY name",
            )
            .fetch_all(&self.pool)
        })
        .await?;
        models(rows)
    }

    async fn upsert_scope(&self, scope: &ScopeDef) -> Result<(), StoreError> {
        run(Retry::Idempotent, || {
            sqlx::query(
                "INSERT INTO scopes (name, description, is_default) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO UPDATE SET description = EXCLUDED.description, is_default = EXCLUDED.is_default",
            )
            .bind(&scope.name)
            .bind(&scope.description)
            .bind(scope.is_default)
            .execute(&self.pool)
        })
        .await
        .map(|_| ())
    }

    async fn delete_scope(&self, name: &str) -> Result<(), StoreError> {
        if !storable(name) {
            return Err(StoreError::NotFound);
        }
        let done = run(Retry::RolledBack, || {
            sqlx::query("DELETE FROM scopes WHERE name = $1")
                .bind(name)
                .execute(&self.pool)
        })
        .await?;
        found(done.rows_affected())
    }

    async fn list_roles(&self) -> Result<Vec<Role>, StoreError> {
        let sql = format!("SELECT {ROLE_COLUMNS} FROM roles r ORDER BY r.name");
        let rows = run(Retry::Idempotent, || {
            sqlx::query_as::<_, RoleRow>(&sql).fetch_all(&self.pool)
        })
        .await?;
        models(rows)
    }

    async fn role(&self, name: &str) -> Result<Option<Role>, StoreError> {
        if !storable(name) {
            return Ok(None);
        }
        let sql = format!("SELECT {ROLE_COLUMNS} FROM roles r WHERE r.name = $1");
        let row = run(Retry::Idempotent, || {
            sqlx::query_as::<_, RoleRow>(&sql)
                .bind(name)
                .fetch_optional(&self.pool)
        })
        .await?;
        model(row)
    }

    async fn create_role(&self, role: &Role) -> Result<(), StoreError> {
        let (pool, role) = (self.pool.clone(), role.clone());
        detached(async move { insert_role(&pool, &role).await }).await
    }

    async fn set_role_scopes(&self, name: &str, scopes: &[String]) -> Result<(), StoreError> {
        if !storable(name) {
            return Err(StoreError::NotFound);
        }
        let (pool, name, scopes) = (self.pool.clone(), name.to_owned(), scopes.to_vec());
        detached(async move { replace_role_scopes(&pool, &name, &scopes).await }).await
    }

    async fn delete_role(&self, name: &str) -> Result<(), StoreError> {
        if !storable(name) {
            return Err(StoreError::NotFound);
        }
        let done = run(Retry::RolledBack, || {
            sqlx::query("DELETE FROM roles WHERE name = $1")
                .bind(name)
                .execute(&self.pool)
        })
        .await?;
        found(done.rows_affected())
    }
}

async fn insert_role(pool: &PgPool, role: &Role) -> Result<(), StoreError> {
    run(Retry::RolledBack, move || async move {
        let mut tx = pool.begin().await?;
        sqlx::query("INSERT INTO roles (name, description) VALUES ($1, $2)")
            .bind(&role.name)
            .bind(&role.description)
            .execute(&mut *tx)
            .await?;
        insert_role_scopes(&mut tx, &role.name, &role.scopes).await?;
        tx.commit().await
    })
    .await
}

async fn replace_role_scopes(
    pool: &PgPool,
    name: &str,
    scopes: &[String],
) -> Result<(), StoreError> {
    run(Retry::RolledBack, move || async move {
        let mut tx = pool.begin().await?;
        // FOR UPDATE: a concurrent change of the same role waits, then sees ours.
        let exists: Option<String> =
            sqlx::query_scalar("SELECT name FROM roles WHERE name = $1 FOR UPDATE")
                .bind(name)
                .fetch_optional(&mut *tx)
                .await?;
        if exists.is_none() {
            return Err(Fail::Store(StoreError::NotFound));
        }
        sqlx::query("DELETE FROM role_scopes WHERE role = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        insert_role_scopes(&mut tx, name, scopes).await?;
        Ok(tx.commit().await?)
    })
    .await
}

/// Grants `scopes` to `role` in one statement.
async fn insert_role_scopes(
    conn: &mut PgConnection,
    role: &str,
    scopes: &[String],
) -> Result<(), sqlx::Error> {
    if scopes.is_empty() {
        return Ok(());
    }
    sqlx::query("INSERT INTO role_scopes (role, scope) SELECT $1, unnest($2::text[])")
        .bind(role)
        .bind(scopes)
        .execute(conn)
        .await
        .map(|_| ())
}
