//! Persistence behind traits split by entity, so handlers never know which database
//! they run on, and each service sees only the part it uses.
//!
//! - `traits.rs`: the contract ([`UserStore`], [`RoleStore`], [`ClientStore`],
//!   [`RefreshStore`], [`KeyStore`], [`ThrottleStore`], [`AuditStore`],
//!   [`RevocationStore`], [`CodeStore`], [`BrowserStore`], and [`Store`], all of them plus administration);
//! - `model.rs`: the types the rest of the server sees; `rows.rs`: the one set of row
//!   types both backends decode, and their conversions; `error.rs`: the one
//!   classification of database failures;
//! - `sqlite/`, `postgres/`: per backend, one file per entity group, SQL only. No rule
//!   about content lives in a backend: refresh reuse (`accounts::rotation`), the last
//!   administrator (`accounts::last_admin`) and scope granting (`accounts::scopes`) are
//!   decided above the store, once.
//!
//! Every query uses bound parameters; `LIKE` patterns are escaped (see [`like_prefix`]).
//! Both backends run one conformance suite (`tests/store_conformance.rs`).

mod error;
mod model;
mod postgres;
mod rows;
mod sqlite;
mod traits;

use std::future::Future;
use std::sync::Arc;

pub use error::StoreError;
pub(crate) use error::{Failure, Retry, found, map_err};
pub use model::{
    AuditFilter, AuditRecord, AuthCode, AuthMethod, BrowserSession, Client, ClientChange, Consent,
    Guard, Holders, Profile, Redemption, RefreshToken, Role, RotateOutcome, ScopeDef, Session,
    SessionStart, StartupLock, StoredKey, User, UserChange,
};
pub use postgres::{PostgresSettings, PostgresStore};
pub use sqlite::SqliteStore;
pub use traits::{
    AuditStore, BrowserStore, ClientStore, CodeStore, KeyStore, RefreshStore, RevocationStore,
    RoleStore, Store, ThrottleStore, UserStore,
};

/// The database a URL names, by its scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `sqlite:`
    Sqlite,
    /// `postgres:` or `postgresql:`
    Postgres,
}

impl Backend {
    /// The backend of `url`, or `None` for any other scheme. Pure.
    pub fn of_url(url: &str) -> Option<Self> {
        match url.split_once(':').map_or("", |(scheme, _)| scheme) {
            "sqlite" => Some(Self::Sqlite),
            "postgres" | "postgresql" => Some(Self::Postgres),
            _ => None,
        }
    }
}

/// Opens the store `url` names, without migrating it. `settings` size the Postgres pool;
/// SQLite takes `max_connections` as its number of read-only connections (it has one
/// writer).
pub async fn open(url: &str, settings: PostgresSettings) -> Result<Arc<dyn Store>, StoreError> {
    match Backend::of_url(url) {
        Some(Backend::Sqlite) => Ok(Arc::new(
            SqliteStore::connect(url, settings.max_connections).await?,
        )),
        Some(Backend::Postgres) => Ok(Arc::new(PostgresStore::connect(url, settings).await?)),
        None => Err(StoreError::Internal(
            "unsupported database URL (expected sqlite://… or postgres://…)".into(),
        )),
    }
}

/// Runs a transactional store operation on a task of its own and waits for it.
///
/// A request future can be dropped at any `.await` (client gone, request timeout). Dropped
/// between `BEGIN` and `COMMIT`, sqlx can hand the pooled connection back still inside the
/// transaction (sqlx #3932): on SQLite the next `BEGIN IMMEDIATE` on it fails and the
/// open transaction keeps the write lock; on Postgres the session stays "idle in
/// transaction" and what runs on it next commits or rolls back by chance. A spawned task
/// is not cancelled when its `JoinHandle` is dropped, so the transaction always reaches
/// its commit or rollback.
pub(crate) async fn detached<T, F>(work: F) -> Result<T, StoreError>
where
    F: Future<Output = Result<T, StoreError>> + Send + 'static,
    T: Send + 'static,
{
    tokio::spawn(work)
        .await
        .map_err(|e| StoreError::Internal(format!("a database task did not finish: {e}")))?
}

/// Audit events stored by one INSERT (SQLite binds 9 parameters per row and allows
/// 32,766).
pub const AUDIT_BATCH_ROWS: usize = 500;

/// Escapes `%`, `_` and the escape character itself so user input matches literally in
/// `LIKE ? ESCAPE '\'`, then appends `%` for a prefix match.
pub fn like_prefix(input: &str) -> String {
    let mut out = String::with_capacity(input.len() + 1);
    for c in input.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// Space-separated list encoding used for small string sets in one column.
pub(crate) fn join(items: &[String]) -> String {
    items.join(" ")
}

pub(crate) fn split(s: &str) -> Vec<String> {
    s.split(' ')
        .filter(|x| !x.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::Backend;

    #[test]
    fn urls_name_their_backend() {
        let cases = [
            ("sqlite://rampart.db", Some(Backend::Sqlite)),
            ("sqlite::memory:", Some(Backend::Sqlite)),
            ("postgres://db/rampart", Some(Backend::Postgres)),
            ("postgresql://db/rampart", Some(Backend::Postgres)),
            ("mysql://db/rampart", None),
            ("rampart.db", None),
        ];
        for (url, expected) in cases {
            assert_eq!(Backend::of_url(url), expected, "{url}");
        }
    }

    use super::like_prefix;

    #[test]
    fn like_patterns_are_escaped() {
        assert_eq!(like_prefix("a%b_c\\"), "a\\%b\\_c\\\\%");
        assert_eq!(like_prefix(""), "%");
    }
}
