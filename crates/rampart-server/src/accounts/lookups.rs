//! Plain reads of accounts, clients and sessions for the handlers: no rule decides what
//! they return (the admin API shows what is stored), so each is the store's answer.

use uuid::Uuid;

use super::Accounts;
use crate::store::{Client, Role, ScopeDef, Session, StoreError, User};

impl Accounts {
    /// The store answers (readiness).
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.store.ping().await
    }

    /// The store's connection pool: its size and idle connections (metrics).
    pub fn pool_stats(&self) -> Option<(u32, usize)> {
        self.store.pool_stats()
    }

    /// The user with this id.
    pub async fn user(&self, id: Uuid) -> Result<Option<User>, StoreError> {
        self.store.user_by_id(id).await
    }

    /// Users in username order after `after`, whose (normalised) username starts with
    /// `prefix`.
    pub async fn list_users(
        &self,
        prefix: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<User>, StoreError> {
        self.store.list_users(prefix, after, limit).await
    }

    /// Every scope.
    pub async fn scopes(&self) -> Result<Vec<ScopeDef>, StoreError> {
        self.store.list_scopes().await
    }

    /// Every role.
    pub async fn roles(&self) -> Result<Vec<Role>, StoreError> {
        self.store.list_roles().await
    }

    /// The role called `name`.
    pub async fn role(&self, name: &str) -> Result<Option<Role>, StoreError> {
        self.store.role(name).await
    }

    /// The client with this id (cached: see [`super::Access`]).
    pub async fn client(&self, id: &str) -> Result<Option<Client>, StoreError> {
        self.access.client(id).await
    }

    /// Every client.
    pub async fn clients(&self) -> Result<Vec<Client>, StoreError> {
        self.store.list_clients().await
    }

    /// The live sessions, of one user or of everyone.
    pub async fn sessions(&self, user_id: Option<Uuid>) -> Result<Vec<Session>, StoreError> {
        self.store.list_sessions(user_id, self.clock.now()).await
    }
}
