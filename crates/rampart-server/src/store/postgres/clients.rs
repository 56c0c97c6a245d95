//! OAuth clients on Postgres.

use async_trait::async_trait;

use super::retry::run;
use super::{PostgresStore, storable};
use crate::store::rows::{CLIENT_COLUMNS, ChangeRow, ClientRow, model, models};
use crate::store::{Client, ClientChange, ClientStore, Retry, StoreError, found, join};

/// The same statement as the SQLite store's (`$n` for `?`); the flags are booleans.
const UPDATE_CLIENT_SQL: &str = "UPDATE clients SET \
       disabled = COALESCE($1, disabled), \
       scopes = COALESCE($2, scopes), \
       redirect_uris = COALESCE($3, redirect_uris), \
       post_logout_redirect_uris = COALESCE($4, post_logout_redirect_uris), \
       first_party = COALESCE($5, first_party), \
       token_endpoint_auth_method = COALESCE($6, token_endpoint_auth_method), \
       access_token_ttl = CASE WHEN $7 THEN $8 ELSE access_token_ttl END, \
       refresh_token_ttl = CASE WHEN $9 THEN $10 ELSE refresh_token_ttl END, \
       grants = COALESCE($11, grants), \
       logout_revokes_tokens = COALESCE($12, logout_revokes_tokens) \
     WHERE id = $13";

#[async_trait]
impl ClientStore for PostgresStore {
    async fn create_client(&self, client: &Client) -> Result<(), StoreError> {
        let (grants, scopes) = (join(&client.grants), join(&client.scopes));
        let redirect_uris = join(&client.redirect_uris);
        let post_logout_redirect_uris = join(&client.post_logout_redirect_uris);
        run(Retry::RolledBack, || {
            sqlx::query(
                "INSERT INTO clients (id, name, confidential, secret_hash, grants, scopes, audience, disabled, created_at, \
                   redirect_uris, post_logout_redirect_uris, first_party, token_endpoint_auth_method, access_token_ttl, refresh_token_ttl, \
                       logout_revokes_tokens) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
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
            .bind(&redirect_uris)
            .bind(&post_logout_redirect_uris)
            .bind(client.first_party)
            .bind(client.auth_method.as_str())
            .bind(client.access_token_ttl.map(i64::from))
            .bind(client.refresh_token_ttl.map(i64::from))
            .bind(client.logout_revokes_tokens)
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

    async fn update_client(&self, id: &str, change: &ClientChange) -> Result<(), StoreError> {
        if !storable(id) {
            return Err(StoreError::NotFound);
        }
        let row = ChangeRow::of(change);
        let done = run(Retry::Idempotent, || {
            sqlx::query(UPDATE_CLIENT_SQL)
                .bind(row.disabled)
                .bind(&row.scopes)
                .bind(&row.redirect_uris)
                .bind(&row.post_logout_redirect_uris)
                .bind(row.first_party)
                .bind(row.auth_method)
                .bind(row.access_token_ttl.0)
                .bind(row.access_token_ttl.1)
                .bind(row.refresh_token_ttl.0)
                .bind(row.refresh_token_ttl.1)
                .bind(&row.grants)
                .bind(row.logout_revokes_tokens)
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
