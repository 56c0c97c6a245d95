//! Retrying the Postgres operations that allow it, after the failures that allow it
//! (what a failure means: [`Failure`], shared with SQLite in `store/error.rs`).
//!
//! The pool tests a connection before handing it out, so a connection that died while
//! idle (a database restart) is replaced rather than failing the next query.

use std::future::Future;
use std::hash::{BuildHasher as _, Hasher as _};
use std::time::Duration;

use crate::store::{Failure, Retry, StoreError};

/// Attempts per operation, the first included.
pub(super) const ATTEMPTS: u32 = 3;

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
    use super::backoff;

    #[test]
    fn backoff_grows_and_stays_jittered_within_twenty_milliseconds() {
        let cases = [(1, 20), (2, 40), (3, 80), (10, 640)];
        for (attempt, base) in cases {
            let wait = backoff(attempt).as_millis();
            assert!((base..base + 20).contains(&wait), "{attempt}: {wait} ms");
        }
    }
}
