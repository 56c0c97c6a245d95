//! OAuth clients on SQLite.

use async_trait::async_trait;

use super::SqliteStore;
use crate::store::rows::{CLIENT_COLUMNS, ChangeRow, ClientRow, model, models};
use crate::store::{Client, ClientChange, ClientStore, StoreError, found, join, map_err};

/// One statement for any [`ClientChange`]: each column keeps its value unless its
/// parameter is set (the lifetimes, which can be set back to NULL, take a flag).
const UPDATE_CLIENT_SQL: &str = "UPDATE clients SET \
       disabled = COALESCE(?, disabled), \
       scopes = COALESCE(?, scopes), \
       redirect_uris = COALESCE(?, redirect_uris), \
       post_logout_redirect_uris = COALESCE(?, post_logout_redirect_uris), \
       first_party = COALESCE(?, first_party), \
       token_endpoint_auth_method = COALESCE(?, token_endpoint_auth_method), \
       access_token_ttl = CASE WHEN ? THEN ? ELSE access_token_ttl END, \
       refresh_token_ttl = CASE WHEN ? THEN ? ELSE refresh_token_ttl END, \
       grants = COALESCE(?, grants), \
       logout_revokes_tokens = COALESCE(?, logout_revokes_tokens) \
     WHERE id = ?";

#[async_trait]
impl ClientStore for SqliteStore {
    async fn create_client(&self, client: &Client) -> Result<(), StoreError> {
        let client = client.clone();
        self.write(move |conn| {
            Box::pin(async move {
                sqlx::query(
                    "INSERT INTO clients (id, name, confidential, secret_hash, grants, scopes, audience, disabled, created_at, \
                       redirect_uris, post_logout_redirect_uris, first_party, token_endpoint_auth_method, access_token_ttl, refresh_token_ttl, \
                       logout_revokes_tokens) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
                .bind(join(&client.redirect_uris))
                .bind(join(&client.post_logout_redirect_uris))
                .bind(client.first_party)
                .bind(client.auth_method.as_str())
                .bind(client.access_token_ttl.map(i64::from))
                .bind(client.refresh_token_ttl.map(i64::from))
                .bind(client.logout_revokes_tokens)
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

    async fn update_client(&self, id: &str, change: &ClientChange) -> Result<(), StoreError> {
        let (id, row) = (id.to_owned(), ChangeRow::of(change));
        found(
            self.execute(UPDATE_CLIENT_SQL, move |q| {
                q.bind(row.disabled)
                    .bind(row.scopes)
                    .bind(row.redirect_uris)
                    .bind(row.post_logout_redirect_uris)
                    .bind(row.first_party)
                    .bind(row.auth_method)
                    .bind(row.access_token_ttl.0)
                    .bind(row.access_token_ttl.1)
                    .bind(row.refresh_token_ttl.0)
                    .bind(row.refresh_token_ttl.1)
                    .bind(row.grants)
                    .bind(row.logout_revokes_tokens)
                    .bind(id)
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
