//! Scopes and roles on SQLite.

use async_trait::async_trait;
use sqlx::SqliteConnection;

use super::SqliteStore;
use crate::store::rows::{RoleRow, ScopeRow, model, models};
use crate::store::{Role, RoleStore, ScopeDef, StoreError, found, map_err};

const ROLE_COLUMNS: &str = "r.name, r.description, \
     (SELECT group_concat(scope, ' ') FROM (SELECT scope FROM role_scopes WHERE role = r.name ORDER BY scope)) AS scopes";

#[async_trait]
impl RoleStore for SqliteStore {
    async fn list_scopes(&self) -> Result<Vec<ScopeDef>, StoreError> {
        let rows = sqlx::query_as::<_, ScopeRow>(
            "SELECT name, description, is_default FROM scopes ORDER BY name",
        )
        .fetch_all(&mut *self.read().await?)
        .await
        .map_err(map_err)?;
        models(rows)
    }

    async fn upsert_scope(&self, scope: &ScopeDef) -> Result<(), StoreError> {
        let scope = scope.clone();
        self.execute(
            "INSERT INTO scopes (name, description, is_default) VALUES (?, ?, ?) \
             ON CONFLICT(name) DO UPDATE SET description = excluded.description, is_default = excluded.is_default",
            move |q| q.bind(scope.name).bind(scope.description).bind(scope.is_default),
        )
        .await
        .map(|_| ())
    }

    async fn delete_scope(&self, name: &str) -> Result<(), StoreError> {
        let name = name.to_owned();
        self.write(move |conn| {
            Box::pin(async move { delete(conn, "DELETE FROM scopes WHERE name = ?", &name).await })
        })
        .await
    }

    async fn list_roles(&self) -> Result<Vec<Role>, StoreError> {
        let sql = format!("SELECT {ROLE_COLUMNS} FROM roles r ORDER BY r.name");
        let rows = sqlx::query_as::<_, RoleRow>(&sql)
            .fetch_all(&mut *self.read().await?)
            .await
            .map_err(map_err)?;
        models(rows)
    }

    async fn role(&self, name: &str) -> Result<Option<Role>, StoreError> {
        let sql = format!("SELECT {ROLE_COLUMNS} FROM roles r WHERE r.name = ?");
        let row = sqlx::query_as::<_, RoleRow>(&sql)
            .bind(name)
            .fetch_optional(&mut *self.read().await?)
            .await
            .map_err(map_err)?;
        model(row)
    }

    async fn create_role(&self, role: &Role) -> Result<(), StoreError> {
        let role = role.clone();
        self.write(move |conn| Box::pin(async move { insert_role(conn, &role).await }))
            .await
    }

    async fn set_role_scopes(&self, name: &str, scopes: &[String]) -> Result<(), StoreError> {
        let (name, scopes) = (name.to_owned(), scopes.to_vec());
        self.write(move |conn| {
            Box::pin(async move { replace_role_scopes(conn, &name, &scopes).await })
        })
        .await
    }

    async fn delete_role(&self, name: &str) -> Result<(), StoreError> {
        let name = name.to_owned();
        self.write(move |conn| {
            Box::pin(async move { delete(conn, "DELETE FROM roles WHERE name = ?", &name).await })
        })
        .await
    }
}

/// Runs `delete` (a statement of this file, `name` its one parameter): `NotFound` when
/// it deleted nothing.
async fn delete(
    conn: &mut SqliteConnection,
    delete: &'static str,
    name: &str,
) -> Result<(), StoreError> {
    let done = sqlx::query(delete)
        .bind(name)
        .execute(conn)
        .await
        .map_err(map_err)?;
    found(done.rows_affected())
}

async fn insert_role(tx: &mut SqliteConnection, role: &Role) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO roles (name, description) VALUES (?, ?)")
        .bind(&role.name)
        .bind(&role.description)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
    insert_role_scopes(tx, &role.name, &role.scopes).await
}

async fn replace_role_scopes(
    tx: &mut SqliteConnection,
    name: &str,
    scopes: &[String],
) -> Result<(), StoreError> {
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
    insert_role_scopes(tx, name, scopes).await
}

async fn insert_role_scopes(
    tx: &mut SqliteConnection,
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
