//! Users, roles, scopes and clients: the rules shared by the HTTP handlers and the CLI.

pub mod access;
pub mod bootstrap;
pub mod browser;
pub mod budget;
pub mod client_id;
pub mod client_rules;
pub mod codes;
pub mod hasher;
pub mod import;
pub mod last_admin;
pub mod login;
mod lookups;
pub mod passwords;
pub mod pool;
pub mod profile;
pub mod redirect_uri;
pub mod rotation;
pub mod scopes;
mod sessions;
pub mod throttle;
pub mod username;

use std::collections::BTreeSet;
use std::sync::Arc;

use secrecy::SecretString;
use uuid::Uuid;

pub use access::Access;
pub use budget::CpuBudget;
pub use passwords::{HashParams, Passwords};
use profile::check_profile;
pub use username::Username;

use crate::clock::Clock;
use crate::secret;
use crate::store::{
    AuthMethod, Client, ClientChange, Profile, Role, ScopeDef, Store, StoreError, User, UserChange,
};

pub use client_rules::GRANTS;
/// Scopes every installation has (migrations); they cannot be deleted.
pub const BUILT_IN_SCOPES: [&str; 4] = ["profile", "admin", "openid", "email"];
/// Roles every installation has (migrations); they cannot be deleted.
pub const BUILT_IN_ROLES: [&str; 2] = ["admin", "user"];
/// The built-in first-party public client (ARCHITECTURE.md).
pub const FIRST_PARTY_CLIENT: &str = "first-party";

/// Why an account operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// Bad username.
    #[error(transparent)]
    Username(#[from] username::UsernameError),
    /// Bad new password.
    #[error(transparent)]
    Password(#[from] passwords::PasswordError),
    /// The name is taken.
    #[error("{0} already exists")]
    Conflict(&'static str),
    /// No such entity.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A role or scope in the request does not exist (which one could not be told).
    #[error("unknown {0}")]
    UnknownReference(&'static str),
    /// This role or scope in the request does not exist.
    #[error("unknown {0} {1} ({hint})", hint = create_hint(.0, .1))]
    Unknown(&'static str, String),
    /// A profile that breaks a rule.
    #[error(transparent)]
    Profile(#[from] profile::ProfileError),
    /// Input that breaks a rule (names, grants, …).
    #[error("{0}")]
    Invalid(String),
    /// The change would leave no enabled administrator.
    #[error("refusing to remove the last enabled administrator")]
    LastAdmin,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Hashing failed.
    #[error(transparent)]
    Hash(#[from] passwords::HashError),
}

/// How an administrator creates a missing `kind` called `name`. Pure.
fn create_hint(kind: &str, name: &str) -> String {
    match kind {
        "scope" => {
            format!("create it first: PUT /admin/scopes/{name} or rampart scope create {name}")
        }
        "role" => format!("create it first: POST /admin/roles or rampart role create {name}"),
        _ => "create it first".to_owned(),
    }
}

impl AccountError {
    fn from_store(e: StoreError, entity: &'static str, reference: &'static str) -> Self {
        match e {
            StoreError::Conflict => Self::Conflict(entity),
            StoreError::NotFound => Self::NotFound(entity),
            StoreError::MissingReference => Self::UnknownReference(reference),
            other => Self::Store(other),
        }
    }
}

/// A client just created, with its secret (shown once).
#[derive(Debug)]
pub struct NewClient {
    pub client: Client,
    pub secret: Option<SecretString>,
}

/// What the admin API, the CLI and registration choose for a new client
/// (`auth_method: None`: Basic for a confidential client, `none` for a public one).
#[derive(Debug, Clone, Default)]
pub struct ClientSpec {
    pub name: String,
    pub confidential: bool,
    pub grants: Vec<String>,
    pub scopes: Vec<String>,
    pub audience: Option<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub first_party: bool,
    pub auth_method: Option<AuthMethod>,
    pub access_token_ttl: Option<u32>,
    pub refresh_token_ttl: Option<u32>,
    /// See [`Client::logout_revokes_tokens`].
    pub logout_revokes_tokens: bool,
}

/// The account rules over a [`Store`]. The store is private: every caller goes through
/// a rule here (or a plain read in `lookups`), so no handler can write around one.
#[derive(Clone)]
pub struct Accounts {
    store: Arc<dyn Store>,
    pub passwords: Passwords,
    pub clock: Clock,
    /// What the server's own routes check of every accepted token; every change below
    /// that can void tokens tells it at once.
    pub access: Access,
}

impl Accounts {
    /// The rules over `store`; `access` must watch the same store.
    pub fn new(store: Arc<dyn Store>, passwords: Passwords, clock: Clock, access: Access) -> Self {
        Self {
            store,
            passwords,
            clock,
            access,
        }
    }

    /// An audit writer that stores each event before it returns, over the same store
    /// (the CLI's: a verb exits right after its event).
    pub fn audit_now(&self) -> crate::audit::Audit {
        crate::audit::Audit::new(
            Arc::clone(&self.store) as Arc<dyn crate::store::AuditStore>,
            self.clock.clone(),
        )
    }

    /// `e`, with the missing one of `names` named when the store refused a reference
    /// (one extra read, on that error path only).
    async fn naming_missing(
        &self,
        e: AccountError,
        kind: &'static str,
        names: &[String],
    ) -> AccountError {
        if !matches!(e, AccountError::UnknownReference(_)) {
            return e;
        }
        let known: Result<BTreeSet<String>, StoreError> = if kind == "scope" {
            self.store
                .list_scopes()
                .await
                .map(|all| all.into_iter().map(|s| s.name).collect())
        } else {
            self.store
                .list_roles()
                .await
                .map(|all| all.into_iter().map(|r| r.name).collect())
        };
        match known.map(|known| names.iter().find(|n| !known.contains(*n)).cloned()) {
            Ok(Some(name)) => AccountError::Unknown(kind, name),
            _ => e,
        }
    }

    /// Creates a user after checking the username, the password and the roles.
    pub async fn create_user(
        &self,
        username: &str,
        password: &SecretString,
        roles: &[String],
        profile: &Profile,
    ) -> Result<User, AccountError> {
        let username = Username::parse(username)?;
        let profile = check_profile(profile)?;
        passwords::check_new_password(password, Some(username.as_str()))?;
        let hash = self.passwords.hash(password).await?;
        self.insert_user(&username, hash, roles, profile).await
    }

    /// Replaces user `id`'s profile (checked as for a new user); returns the user.
    pub async fn set_profile(&self, id: Uuid, profile: &Profile) -> Result<User, AccountError> {
        let profile = check_profile(profile)?;
        self.store
            .set_profile(id, &profile, self.clock.now())
            .await
            .map_err(|e| AccountError::from_store(e, "user", "role"))?;
        self.store
            .user_by_id(id)
            .await?
            .ok_or(AccountError::NotFound("user"))
    }

    /// Creates a user with an existing hash and no profile (bootstrap, tests).
    pub async fn create_user_with_hash(
        &self,
        username: &Username,
        hash: String,
        roles: &[String],
    ) -> Result<User, AccountError> {
        self.insert_user(username, hash, roles, Profile::default())
            .await
    }

    async fn insert_user(
        &self,
        username: &Username,
        hash: String,
        roles: &[String],
        profile: Profile,
    ) -> Result<User, AccountError> {
        let now = self.clock.now();
        let mut roles = roles.to_vec();
        roles.sort();
        roles.dedup();
        let user = User {
            id: Uuid::new_v4(),
            username: username.as_str().to_owned(),
            password_hash: hash,
            disabled: false,
            created_at: now,
            updated_at: now,
            password_changed_at: now,
            tokens_valid_after: 0,
            roles,
            profile,
        };
        if let Err(e) = self.store.create_user(&user).await {
            let e = AccountError::from_store(e, "user", "role");
            return Err(self.naming_missing(e, "role", &user.roles).await);
        }
        Ok(user)
    }

    /// Looks a user up by (unnormalised) username.
    pub async fn find_user(&self, username: &str) -> Result<User, AccountError> {
        let username = Username::parse(username)?;
        self.store
            .user_by_username(username.as_str())
            .await?
            .ok_or(AccountError::NotFound("user"))
    }

    /// Sets a new password and ends the user's sessions (refresh tokens).
    pub async fn set_password(
        &self,
        user_id: Uuid,
        password: &SecretString,
    ) -> Result<(), AccountError> {
        let user = self
            .store
            .user_by_id(user_id)
            .await?
            .ok_or(AccountError::NotFound("user"))?;
        passwords::check_new_password(password, Some(&user.username))?;
        let hash = self.passwords.hash(password).await?;
        let now = self.clock.now();
        self.store
            .set_password_hash(user_id, &hash, Some(now), now)
            .await
            .map_err(|e| AccountError::from_store(e, "user", "user"))?;
        self.end_sessions_at(user_id, now).await?;
        Ok(())
    }

    /// Ends every session of a user: revokes their refresh tokens and voids their access
    /// tokens issued until now.
    pub async fn end_sessions(&self, user_id: Uuid) -> Result<u64, AccountError> {
        if self.store.user_by_id(user_id).await?.is_none() {
            return Err(AccountError::NotFound("user"));
        }
        Ok(self.end_sessions_at(user_id, self.clock.now()).await?)
    }

    async fn end_sessions_at(&self, user_id: Uuid, now: i64) -> Result<u64, StoreError> {
        let revoked = self.store.revoke_user_refresh(user_id, now).await;
        // Browser sessions fail `browser::judge` by the user's stamp already; ending them
        // keeps the admin list true.
        self.store.end_user_browser_sessions(user_id, now).await?;
        self.access.user_changed(user_id);
        // The sessions just revoked, at once on this instance (tokens issued in this
        // very second pass the stamp; their session does not).
        self.access.reload().await?;
        revoked
    }

    /// Revokes one session (refresh-token family) and its access tokens (RFC 7009 §2.1);
    /// returns how many refresh tokens it revoked (0: unknown or already revoked).
    pub async fn revoke_session(&self, family_id: Uuid) -> Result<u64, StoreError> {
        let now = self.clock.now();
        let revoked = self.store.revoke_family(family_id, now).await?;
        self.access.session_revoked(family_id, now);
        Ok(revoked)
    }

    /// Disables or enables a user; disabling ends their sessions.
    pub async fn set_disabled(&self, user_id: Uuid, disabled: bool) -> Result<(), AccountError> {
        let now = self.clock.now();
        self.change_user(user_id, UserChange::Disabled(disabled), now)
            .await?;
        if disabled {
            self.end_sessions_at(user_id, now).await?;
        }
        Ok(())
    }

    /// Replaces a user's roles.
    pub async fn set_roles(&self, user_id: Uuid, roles: &[String]) -> Result<(), AccountError> {
        let mut roles = roles.to_vec();
        roles.sort();
        roles.dedup();
        match self
            .change_user(user_id, UserChange::Roles(roles.clone()), self.clock.now())
            .await
        {
            Err(e) => Err(self.naming_missing(e, "role", &roles).await),
            ok => ok,
        }
    }

    /// Deletes a user (their refresh tokens go with them).
    pub async fn delete_user(&self, user_id: Uuid) -> Result<(), AccountError> {
        // The refresh tokens go with the user (cascade); their access tokens fail the
        // "user exists" check: here at once (the cache entry is dropped), on other
        // instances through the access epoch.
        self.change_user(user_id, UserChange::Delete, self.clock.now())
            .await
    }

    /// One guarded change: atomic with the "last enabled administrator" rule on both
    /// databases (two admins demoting each other at once cannot leave none).
    async fn change_user(
        &self,
        user_id: Uuid,
        change: UserChange,
        now: i64,
    ) -> Result<(), AccountError> {
        let result = self
            .store
            .change_user(user_id, change, last_admin::GUARD, now)
            .await
            .map_err(|e| match e {
                StoreError::LastHolder => AccountError::LastAdmin,
                e => AccountError::from_store(e, "user", "role"),
            });
        self.access.user_changed(user_id);
        result
    }

    /// Creates or updates a scope. Scope names follow RFC 6749 §3.3; `admin` can never
    /// become a default scope (it is never granted implicitly).
    pub async fn put_scope(
        &self,
        name: &str,
        description: &str,
        is_default: bool,
    ) -> Result<ScopeDef, AccountError> {
        if !scopes::is_scope_token(name) {
            return Err(AccountError::Invalid(
                "a scope name is 1–128 printable ASCII characters without spaces, quotes or backslashes"
                    .into(),
            ));
        }
        if name == "admin" && is_default {
            return Err(AccountError::Invalid(
                "the admin scope is never a default scope".into(),
            ));
        }
        check_description(description)?;
        let scope = ScopeDef {
            name: name.to_owned(),
            description: description.to_owned(),
            is_default,
        };
        self.store.upsert_scope(&scope).await?;
        Ok(scope)
    }

    /// Deletes a scope: roles lose it (their holders' tokens carrying it stop working);
    /// refused for the built-in scopes and while a client may still be granted it.
    pub async fn delete_scope(&self, name: &str) -> Result<(), AccountError> {
        if BUILT_IN_SCOPES.contains(&name) {
            return Err(AccountError::Invalid(format!(
                "the built-in scope {name} cannot be deleted"
            )));
        }
        let users: Vec<String> = self
            .store
            .list_clients()
            .await?
            .into_iter()
            .filter(|c| c.scopes.iter().any(|s| s == name))
            .map(|c| c.id)
            .collect();
        if !users.is_empty() {
            return Err(AccountError::Invalid(format!(
                "clients still allow the scope {name}: {} (PATCH /admin/clients/{{id}} with the scopes to keep, then delete it)",
                users.join(", ")
            )));
        }
        let result = self
            .store
            .delete_scope(name)
            .await
            .map_err(|e| AccountError::from_store(e, "scope", "scope"));
        self.access.everyone_changed();
        result
    }

    /// Creates a role mapping to `scopes` (which must exist).
    pub async fn create_role(
        &self,
        name: &str,
        description: &str,
        scopes: &[String],
    ) -> Result<Role, AccountError> {
        check_name(name, "role")?;
        check_description(description)?;
        let role = Role {
            name: name.to_owned(),
            description: description.to_owned(),
            scopes: dedup(scopes),
        };
        let created = self.store.create_role(&role).await;
        // The cached role map must learn the role before anyone is given it.
        self.access.everyone_changed();
        if let Err(e) = created {
            let e = AccountError::from_store(e, "role", "scope");
            return Err(self.naming_missing(e, "scope", &role.scopes).await);
        }
        Ok(role)
    }

    /// Replaces a role's scopes.
    pub async fn set_role_scopes(&self, name: &str, scopes: &[String]) -> Result<(), AccountError> {
        let scopes = dedup(scopes);
        let result = match self.store.set_role_scopes(name, &scopes).await {
            Err(e) => {
                let e = AccountError::from_store(e, "role", "scope");
                Err(self.naming_missing(e, "scope", &scopes).await)
            }
            Ok(()) => Ok(()),
        };
        // Every holder of the role may hold other scopes now.
        self.access.everyone_changed();
        result
    }

    /// Deletes a role (built-in roles cannot be deleted).
    pub async fn delete_role(&self, name: &str) -> Result<(), AccountError> {
        if BUILT_IN_ROLES.contains(&name) {
            return Err(AccountError::Invalid(
                "built-in roles cannot be deleted".into(),
            ));
        }
        let result = self
            .store
            .delete_role(name)
            .await
            .map_err(|e| AccountError::from_store(e, "role", "role"));
        self.access.everyone_changed();
        result
    }

    /// Creates a client; a confidential one gets a 256-bit secret, returned once.
    pub async fn create_client(&self, spec: ClientSpec) -> Result<NewClient, AccountError> {
        let secret = spec.confidential.then(|| secret::random_token(32));
        let client = Client {
            id: format!("c_{}", secret::random_token(12)),
            name: spec.name.trim().to_owned(),
            confidential: spec.confidential,
            secret_hash: secret.as_deref().map(secret::digest),
            grants: dedup(&spec.grants),
            scopes: dedup(&spec.scopes),
            audience: spec.audience,
            disabled: false,
            created_at: self.clock.now(),
            redirect_uris: dedup_keeping_order(&spec.redirect_uris),
            post_logout_redirect_uris: dedup_keeping_order(&spec.post_logout_redirect_uris),
            first_party: spec.first_party,
            auth_method: spec
                .auth_method
                .unwrap_or_else(|| AuthMethod::default_for(spec.confidential)),
            access_token_ttl: spec.access_token_ttl,
            refresh_token_ttl: spec.refresh_token_ttl,
            logout_revokes_tokens: spec.logout_revokes_tokens,
        };
        client_rules::check_client(&client).map_err(|e| AccountError::Invalid(e.to_string()))?;
        self.check_scopes_exist(&client.scopes).await?;
        self.store
            .create_client(&client)
            .await
            .map_err(|e| AccountError::from_store(e, "client", "scope"))?;
        Ok(NewClient {
            client,
            secret: secret.map(SecretString::from),
        })
    }

    /// Applies `change` to client `id` in one write, if the client it leaves passes the
    /// same rules as a new one; returns that client.
    pub async fn update_client(
        &self,
        id: &str,
        mut change: ClientChange,
    ) -> Result<Client, AccountError> {
        let mut client = self
            .store
            .client(id)
            .await?
            .ok_or(AccountError::NotFound("client"))?;
        if let Some(grants) = &mut change.grants {
            *grants = dedup(grants);
        }
        if let Some(scopes) = &mut change.scopes {
            *scopes = dedup(scopes);
            self.check_scopes_exist(scopes).await?;
        }
        for list in [
            &mut change.redirect_uris,
            &mut change.post_logout_redirect_uris,
        ]
        .into_iter()
        .flatten()
        {
            *list = dedup_keeping_order(list);
        }
        apply(&mut client, &change);
        client_rules::check_client(&client).map_err(|e| AccountError::Invalid(e.to_string()))?;
        let done = self.store.update_client(id, &change).await;
        self.access.client_changed(id);
        done.map_err(|e| AccountError::from_store(e, "client", "scope"))?;
        Ok(client)
    }

    async fn check_scopes_exist(&self, scopes: &[String]) -> Result<(), AccountError> {
        let known: BTreeSet<String> = self
            .store
            .list_scopes()
            .await?
            .into_iter()
            .map(|s| s.name)
            .collect();
        match scopes.iter().find(|s| !known.contains(*s)) {
            Some(unknown) => Err(AccountError::Unknown("scope", unknown.clone())),
            None => Ok(()),
        }
    }

    /// Deletes a client; its refresh tokens go with it.
    pub async fn delete_client(&self, id: &str) -> Result<(), StoreError> {
        let done = self.store.delete_client(id).await;
        self.access.client_changed(id);
        done
    }

    /// The scopes held by a user: the union over their roles (the role map is cached:
    /// see [`Access`]).
    pub async fn user_scopes(&self, user: &User) -> Result<BTreeSet<String>, AccountError> {
        Ok(self.access.held_by(&user.roles).await?)
    }
}

fn dedup(items: &[String]) -> Vec<String> {
    let set: BTreeSet<&String> = items.iter().collect();
    set.into_iter().cloned().collect()
}

/// Without repeats, first occurrences in their order (a client's redirect URIs keep the
/// order it registered them in).
fn dedup_keeping_order(items: &[String]) -> Vec<String> {
    let mut seen = BTreeSet::new();
    items
        .iter()
        .filter(|item| seen.insert(item.as_str()))
        .cloned()
        .collect()
}

/// `client` as `change` leaves it. Pure.
fn apply(client: &mut Client, change: &ClientChange) {
    let ClientChange {
        disabled,
        grants,
        scopes,
        redirect_uris,
        post_logout_redirect_uris,
        first_party,
        logout_revokes_tokens,
        auth_method,
        access_token_ttl,
        refresh_token_ttl,
    } = change.clone();
    client.disabled = disabled.unwrap_or(client.disabled);
    client.grants = grants.unwrap_or_else(|| client.grants.clone());
    client.scopes = scopes.unwrap_or_else(|| client.scopes.clone());
    client.redirect_uris = redirect_uris.unwrap_or_else(|| client.redirect_uris.clone());
    client.post_logout_redirect_uris =
        post_logout_redirect_uris.unwrap_or_else(|| client.post_logout_redirect_uris.clone());
    client.first_party = first_party.unwrap_or(client.first_party);
    client.logout_revokes_tokens = logout_revokes_tokens.unwrap_or(client.logout_revokes_tokens);
    client.auth_method = auth_method.unwrap_or(client.auth_method);
    client.access_token_ttl = access_token_ttl.unwrap_or(client.access_token_ttl);
    client.refresh_token_ttl = refresh_token_ttl.unwrap_or(client.refresh_token_ttl);
}

/// Descriptions: at most 500 characters, no control characters (NUL cannot even be
/// stored in Postgres text).
pub fn check_description(text: &str) -> Result<(), AccountError> {
    if text.chars().count() > 500 || text.chars().any(char::is_control) {
        return Err(AccountError::Invalid(
            "a description is at most 500 characters without control characters".into(),
        ));
    }
    Ok(())
}

/// Role names follow the scope-token grammar too (they travel in tokens).
fn check_name(name: &str, what: &str) -> Result<(), AccountError> {
    if scopes::is_scope_token(name) && name.len() <= 64 {
        Ok(())
    } else {
        Err(AccountError::Invalid(format!(
            "a {what} name is 1–64 printable ASCII characters without spaces, quotes or backslashes"
        )))
    }
}
