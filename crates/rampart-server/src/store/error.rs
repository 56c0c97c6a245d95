//! What a database failure means, one classification for both backends.
//!
//! A failure is either an answer (`Conflict`, `MissingReference`, `NotFound`), a bug
//! (`Internal`, 500), or the database being unable to serve (503). Of the latter, two
//! kinds are worth an immediate retry (Postgres only: SQLite is a local file whose
//! writer is serialised in-process, and a busy file is reported, not retried):
//! - Postgres aborted the attempt and rolled it back (serialization failure 40001,
//!   deadlock 40P01, backend terminated by an administrator or a restart 57P01/57P02/57P03):
//!   any operation may be run again;
//! - the connection broke (I/O or protocol error, SQLSTATE class 08): whether the attempt
//!   committed is unknown, so only operations that give the same result when run twice
//!   (reads, set-to-value writes) are run again.
//!
//! A pool timeout, a statement timeout, "too many connections" or SQLite's "database is
//! locked" is not retried: waiting longer is the caller's decision (503 with
//! `Retry-After`).

use uuid::Uuid;

/// A store failure. `Conflict` and `NotFound` are expected outcomes; `Unavailable` is a
/// database that cannot be reached (503); `Internal` is a bug or corruption (500, logged).
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint was violated (duplicate username, role, client id).
    #[error("already exists")]
    Conflict,
    /// A referenced row does not exist (unknown role or scope in a list).
    #[error("a referenced entity does not exist")]
    MissingReference,
    /// The row does not exist.
    #[error("not found")]
    NotFound,
    /// Refused, nothing changed: the guard of a guarded change refused it
    /// ([`UserStore::change_user`](super::UserStore::change_user)).
    #[error("the change would leave no enabled holder of the role")]
    LastHolder,
    /// The database cannot be reached or is overloaded.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Anything else.
    #[error("database error: {0}")]
    Internal(String),
}

/// For row conversions that cannot fail.
impl From<std::convert::Infallible> for StoreError {
    fn from(never: std::convert::Infallible) -> Self {
        match never {}
    }
}

/// Which failures an operation may be repeated after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retry {
    /// Running it twice gives what running it once gives (reads, set-to-value writes):
    /// repeated even when a lost connection leaves the first attempt's fate unknown.
    Idempotent,
    /// Repeated only when the database guarantees the attempt was rolled back (inserts,
    /// counters, refresh rotation, deletes that answer "not found" the second time).
    RolledBack,
}

/// What a failure means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    Conflict,
    MissingReference,
    NotFound,
    /// Aborted and rolled back by the database; trying again may succeed.
    RolledBack,
    /// The connection broke; the attempt may or may not have committed.
    ConnectionLost,
    /// The database cannot take the work now (no connection within the acquire
    /// timeout, statement timeout, too many connections, out of disk, a locked file).
    Unavailable,
    Internal,
}

impl Failure {
    /// Classifies a Postgres SQLSTATE code (PostgreSQL manual, appendix A).
    pub(crate) fn of_sqlstate(code: &str) -> Self {
        match code {
            "23505" => Self::Conflict,
            "23503" => Self::MissingReference,
            "40001" | "40P01" | "57P01" | "57P02" | "57P03" => Self::RolledBack,
            "57014" | "55P03" => Self::Unavailable,
            _ if code.starts_with("08") => Self::ConnectionLost,
            _ if code.starts_with("53") || code.starts_with("58") => Self::Unavailable,
            _ => Self::Internal,
        }
    }

    /// Classifies an error reported by the database itself: Postgres by SQLSTATE,
    /// SQLite by sqlx's constraint kinds and its "database is locked" (`SQLITE_BUSY`
    /// after the busy timeout).
    fn of_database(db: &dyn sqlx::error::DatabaseError) -> Self {
        if db
            .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
            .is_some()
        {
            return db.code().map_or(Self::Internal, |c| Self::of_sqlstate(&c));
        }
        if db.is_unique_violation() {
            Self::Conflict
        } else if db.is_foreign_key_violation() {
            Self::MissingReference
        } else if db.message().contains("database is locked") {
            Self::Unavailable
        } else {
            Self::Internal
        }
    }

    /// Classifies any sqlx error.
    pub(crate) fn of(e: &sqlx::Error) -> Self {
        match e {
            sqlx::Error::Database(db) => Self::of_database(db.as_ref()),
            // A conversation cut short reads as a protocol error (e.g. a connection closed
            // before the server's answer to the TLS request).
            sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::Protocol(_) => {
                Self::ConnectionLost
            }
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => {
                Self::Unavailable
            }
            sqlx::Error::RowNotFound => Self::NotFound,
            _ => Self::Internal,
        }
    }

    /// Whether an operation allowing `retry` may be run again after this failure. Pure.
    pub(crate) fn is_retryable(self, retry: Retry) -> bool {
        match self {
            Self::RolledBack => true,
            Self::ConnectionLost => retry == Retry::Idempotent,
            _ => false,
        }
    }

    pub(crate) fn into_store_error(self, e: &sqlx::Error) -> StoreError {
        match self {
            Self::Conflict => StoreError::Conflict,
            Self::MissingReference => StoreError::MissingReference,
            Self::NotFound => StoreError::NotFound,
            Self::RolledBack | Self::ConnectionLost | Self::Unavailable => {
                StoreError::Unavailable(e.to_string())
            }
            Self::Internal => StoreError::Internal(e.to_string()),
        }
    }
}

/// Maps a sqlx error to the store's error (both backends).
pub(crate) fn map_err(e: sqlx::Error) -> StoreError {
    Failure::of(&e).into_store_error(&e)
}

/// `Err(NotFound)` when an UPDATE or DELETE matched no row.
pub(crate) fn found(rows_affected: u64) -> Result<(), StoreError> {
    if rows_affected == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// A stored id as a UUID; anything else is corruption.
pub(crate) fn uuid(s: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(s).map_err(|_| StoreError::Internal("a stored id is not a UUID".into()))
}

#[cfg(test)]
mod tests {
    use super::{Failure, Retry, found};

    #[test]
    fn sqlstates_are_classified() {
        let cases = [
            ("unique violation", "23505", Failure::Conflict),
            ("foreign key violation", "23503", Failure::MissingReference),
            ("serialization failure", "40001", Failure::RolledBack),
            ("deadlock detected", "40P01", Failure::RolledBack),
            ("admin shutdown (restart)", "57P01", Failure::RolledBack),
            ("crash shutdown", "57P02", Failure::RolledBack),
            (
                "cannot connect now (starting)",
                "57P03",
                Failure::RolledBack,
            ),
            ("statement timeout", "57014", Failure::Unavailable),
            ("lock not available", "55P03", Failure::Unavailable),
            ("connection failure", "08006", Failure::ConnectionLost),
            ("too many connections", "53300", Failure::Unavailable),
            ("disk full", "53100", Failure::Unavailable),
            ("I/O error", "58030", Failure::Unavailable),
            ("syntax error (a bug)", "42601", Failure::Internal),
            ("NUL in text (a bug)", "22021", Failure::Internal),
        ];
        for (name, code, expected) in cases {
            assert_eq!(Failure::of_sqlstate(code), expected, "{name}");
        }
    }

    #[test]
    fn only_safe_failures_are_retried() {
        let cases = [
            (Failure::RolledBack, Retry::Idempotent, true),
            (Failure::RolledBack, Retry::RolledBack, true),
            (Failure::ConnectionLost, Retry::Idempotent, true),
            (Failure::ConnectionLost, Retry::RolledBack, false),
            (Failure::Unavailable, Retry::Idempotent, false),
            (Failure::Conflict, Retry::Idempotent, false),
            (Failure::Internal, Retry::Idempotent, false),
        ];
        for (failure, retry, expected) in cases {
            assert_eq!(
                failure.is_retryable(retry),
                expected,
                "{failure:?} / {retry:?}"
            );
        }
    }

    #[test]
    fn pool_and_io_errors_are_unavailable_or_lost() {
        assert_eq!(
            Failure::of(&sqlx::Error::PoolTimedOut),
            Failure::Unavailable
        );
        assert_eq!(Failure::of(&sqlx::Error::PoolClosed), Failure::Unavailable);
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert_eq!(
            Failure::of(&sqlx::Error::Io(reset)),
            Failure::ConnectionLost
        );
        assert_eq!(Failure::of(&sqlx::Error::RowNotFound), Failure::NotFound);
        let cut = sqlx::Error::Protocol("unexpected response from SSLRequest: 0x00".into());
        assert_eq!(Failure::of(&cut), Failure::ConnectionLost);
    }

    /// SQLite's own errors, raised by a real in-memory database.
    #[tokio::test]
    async fn sqlite_constraint_errors_are_classified() {
        use sqlx::Connection as _;
        let mut db = sqlx::SqliteConnection::connect("sqlite::memory:")
            .await
            .unwrap();
        for sql in [
            "PRAGMA foreign_keys = ON",
            "CREATE TABLE p (id TEXT PRIMARY KEY)",
            "CREATE TABLE c (p TEXT REFERENCES p(id))",
            "INSERT INTO p VALUES ('a')",
        ] {
            sqlx::query(sql).execute(&mut db).await.unwrap();
        }
        let cases = [
            (
                "a duplicate key",
                "INSERT INTO p VALUES ('a')",
                Failure::Conflict,
            ),
            (
                "a missing reference",
                "INSERT INTO c VALUES ('b')",
                Failure::MissingReference,
            ),
            ("a syntax error (a bug)", "INSERT INTO", Failure::Internal),
        ];
        for (name, sql, expected) in cases {
            let e = sqlx::query(sql).execute(&mut db).await.unwrap_err();
            assert_eq!(Failure::of(&e), expected, "{name}");
        }
    }

    #[test]
    fn an_update_that_matched_nothing_is_not_found() {
        assert!(found(0).is_err());
        assert!(found(1).is_ok());
    }
}
