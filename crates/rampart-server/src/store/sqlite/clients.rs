//! OAuth clients on SQLite.

use async_trait::async_trait;

use super::SqliteStore;
use crate::store::rows::{CLIENT_COLUMNS, ClientRow, model, models};
use crate::store::{Client, ClientStore, StoreError, found, join, map_err};

#[async_trait]
impl ClientStore for SqliteStore {
    async fn create_client(&self, client: &Client) -> Result<(), StoreError> {
        let client = client.clone();
        self.write(move |conn| {
            Box::pin(async move {
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
                .execute(conn)
                .await
                .map_err(map_err)
                .map(|_| ())
            })
        })
        .await
    }

    async fn client(&self, id: &str) -> Result<Option<Client>, StoreError> {
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE id = ?");
        let row = sqlx::query_as::<_, ClientRow>(&sql)
            .bind(id)
            .fetch_optional(&mut *self.read().await?)
            .await
            .map_err(map_err)?;
        model(row)
    }

    async fn list_clients(&self) -> Result<Vec<Client>, StoreError> {
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM clients ORDER BY id");
        let rows = sqlx::query_as::<_, ClientRow>(&sql)
            .fetch_all(&mut *self.read().await?)
            .await
            .map_err(map_err)?;
        models(rows)
    }

    async fn set_client_disabled(&self, id: &str, disabled: bool) -> Result<(), StoreError> {
        let id = id.to_owned();
        found(
            self.execute("UPDATE clients SET disabled = ? WHERE id = ?", move |q| {
                q.bind(disabled).bind(id)
            })
            .await?,
        )
    }

    async fn set_client_scopes(&self, id: &str, scopes: &[String]) -> Result<(), StoreError> {
        let (id, scopes) = (id.to_owned(), join(scopes));
        found(
            self.execute("UPDATE clients SET scopes = ? WHERE id = ?", move |q| {
                q.bind(scopes).bind(id)
            })
            .await?,
        )
    }

    async fn delete_client(&self, id: &str) -> Result<(), StoreError> {
        let id = id.to_owned();
        found(
            self.execute("DELETE FROM clients WHERE id = ?", move |q| q.bind(id))
                .await?,
        )
    }
}
