//! OAuth clients on Postgres.

use async_trait::async_trait;

use super::retry::run;
use super::{PostgresStore, storable};
use crate::store::rows::{CLIENT_COLUMNS, ClientRow, model, models};
use crate::store::{Client, ClientStore, Retry, StoreError, found, join};

#[async_trait]
impl ClientStore for PostgresStore {
    async fn create_client(&self, client: &Client) -> Result<(), StoreError> {
        let (grants, scopes) = (join(&client.grants), join(&client.scopes));
        run(Retry::RolledBack, || {
            sqlx::query(
                "INSERT INTO clients (id, name, confidential, secret_hash, grants, scopes, audience, disabled, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&client.id)
            .bind(&client.name)
            .bind(client.confidential)
            .bind(&client.secret_hash)
            .bind(&grants)
            .bind(&scopes)
            .bind(&client.audience)
            .bind(client.disabled)
            .bind(client.created_at)
            .execute(&self.pool)
        })
        .await
        .map(|_| ())
    }

    async fn client(&self, id: &str) -> Result<Option<Client>, StoreError> {
        if !storable(id) {
            return Ok(None);
        }
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE id = $1");
        let row = run(Retry::Idempotent, || {
            sqlx::query_as::<_, ClientRow>(&sql)
                .bind(id)
                .fetch_optional(&self.pool)
        })
        .await?;
        model(row)
    }

    async fn list_clients(&self) -> Result<Vec<Client>, StoreError> {
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM clients ORDER BY id");
        let rows = run(Retry::Idempotent, || {
            sqlx::query_as::<_, ClientRow>(&sql).fetch_all(&self.pool)
        })
        .await?;
        models(rows)
    }

    async fn set_client_disabled(&self, id: &str, disabled: bool) -> Result<(), StoreError> {
        if !storable(id) {
            return Err(StoreError::NotFound);
        }
        let done = run(Retry::Idempotent, || {
            sqlx::query("UPDATE clients SET disabled = $1 WHERE id = $2")
                .bind(disabled)
                .bind(id)
                .execute(&self.pool)
        })
        .await?;
        found(done.rows_affected())
    }

    async fn set_client_scopes(&self, id: &str, scopes: &[String]) -> Result<(), StoreError> {
        if !storable(id) {
            return Err(StoreError::NotFound);
        }
        let scopes = join(scopes);
        let done = run(Retry::Idempotent, || {
            sqlx::query("UPDATE clients SET scopes = $1 WHERE id = $2")
                .bind(&scopes)
                .bind(id)
                .execute(&self.pool)
        })
        .await?;
        found(done.rows_affected())
    }

    async fn delete_client(&self, id: &str) -> Result<(), StoreError> {
        if !storable(id) {
            return Err(StoreError::NotFound);
        }
        let done = run(Retry::RolledBack, || {
            sqlx::query("DELETE FROM clients WHERE id = $1")
                .bind(id)
                .execute(&self.pool)
        })
        .await?;
        found(done.rows_affected())
    }
}
