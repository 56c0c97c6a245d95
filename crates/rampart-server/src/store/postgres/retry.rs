//! What a Postgres failure means, and retrying the operations that allow it.
//!
//! A failure is either an answer (`Conflict`, `MissingReference`, `NotFound`), a bug
//! (`Internal`, 500), or the database being unable to serve (503). Of the latter, two
//! kinds are worth an immediate retry:
//! - Postgres aborted the attempt and rolled it back (serialization failure 40001,
//!   deadlock 40P01, backend terminated by an administrator or a restart 57P01/57P02/57P03):
//!   any operation may be run again;
//! - the connection broke (I/O or protocol error, SQLSTATE class 08): whether the attempt committed
//!   is unknown, so only operations that give the same result when run twice (reads,
//!   set-to-value writes) are run again.
//!
//! The pool tests a connection before handing it out, so a connection that died while
//! idle (a database restart) is replaced rather than failing the next query. A pool
//! timeout, a statement timeout or "too many connections" is not retried here: waiting
//! longer is the caller's decision (503 with `Retry-After`).

use std::future::Future;
use std::hash::{BuildHasher as _, Hasher as _};
use std::time::Duration;

use crate::store::StoreError;

/// Attempts per operation, the first included.
pub(super) const ATTEMPTS: u32 = 3;

/// Which failures an operation may be repeated after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Retry {
    /// Running it twice gives what running it once gives (reads, set-to-value writes):
    /// repeated even when a lost connection leaves the first attempt's fate unknown.
    Idempotent,
    /// Repeated only when Postgres guarantees the attempt was rolled back (inserts,
    /// counters, refresh rotation, deletes that answer "not found" the second time).
    RolledBack,
}

/// What a failure means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Failure {
    Conflict,
    MissingReference,
    NotFound,
    /// Aborted and rolled back by Postgres; trying again may succeed.
    RolledBack,
    /// The connection broke; the attempt may or may not have committed.
    ConnectionLost,
    /// The database cannot take the work now (no connection within the acquire
    /// timeout, statement timeout, too many connections, out of disk).
    Unavailable,
    Internal,
}

impl Failure {
    /// Classifies a SQLSTATE code (PostgreSQL manual, appendix A).
    pub(super) fn of_sqlstate(code: &str) -> Self {
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

    /// Classifies any sqlx error.
    pub(super) fn of(e: &sqlx::Error) -> Self {
        match e {
            sqlx::Error::Database(db) => {
                db.code().map_or(Self::Internal, |c| Self::of_sqlstate(&c))
            }
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
    pub(super) fn is_retryable(self, retry: Retry) -> bool {
        match self {
            Self::RolledBack => true,
            Self::ConnectionLost => retry == Retry::Idempotent,
            _ => false,
        }
    }

    fn into_store_error(self, e: &sqlx::Error) -> StoreError {
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

/// Maps a sqlx error to the store's error (the same mapping as SQLite's).
pub(super) fn map_err(e: sqlx::Error) -> StoreError {
    Failure::of(&e).into_store_error(&e)
}

/// A failed attempt: a database error (maybe retried) or a decided outcome (never).
#[derive(Debug)]
pub(super) enum Fail {
    Db(sqlx::Error),
    Store(StoreError),
}

impl From<sqlx::Error> for Fail {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(e)
    }
}

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

/// Runs `op` up to [`ATTEMPTS`] times while it fails transiently (as `retry` allows).
pub(super) async fn run<T, E, F, Fut>(retry: Retry, mut op: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: Into<Fail>,
{
    let mut attempt = 1;
    loop {
        let e = match op().await.map_err(Into::into) {
            Ok(value) => return Ok(value),
            Err(Fail::Store(e)) => return Err(e),
            Err(Fail::Db(e)) => e,
        };
        let failure = Failure::of(&e);
        if attempt >= ATTEMPTS || !failure.is_retryable(retry) {
            return Err(failure.into_store_error(&e));
        }
        tracing::debug!(error = %e, attempt, "transient database failure; retrying");
        tokio::time::sleep(backoff(attempt)).await;
        attempt += 1;
    }
}

/// 20 ms, 40 ms, … plus up to 20 ms of jitter, so that two instances that deadlocked on
/// the same rows do not collide again in lockstep.
fn backoff(attempt: u32) -> Duration {
    // A fresh `RandomState` is randomly keyed: enough randomness for jitter.
    let jitter = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
        % 20;
    Duration::from_millis((20u64 << attempt.min(6)) / 2 + jitter)
}

#[cfg(test)]
mod tests {
    use super::{Failure, Retry};

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
}
