//! A remote JWKS client: keys cached per `kid`, refreshed in the background, refetched on
//! an unknown `kid` with single-flight and a cooldown, stale keys served when the
//! endpoint fails.
//!
//! Why our own instead of a crate: the JWKS clients we looked at (jwt-authorizer's,
//! jsonwebtoken's examples, `jwks-client`) either refetch on every unknown `kid` (a fetch
//! storm from random kids), hold a lock across the HTTP request, or drop the cached keys
//! when a refresh fails. Those three properties are the point of this module.
//!
//! ## Algorithm
//! - The key set is an immutable [`KeySet`] behind an `ArcSwap`: a request reads it with
//!   one atomic load and never waits for a writer.
//! - A fetch runs in its own task; concurrent callers share its result (single-flight),
//!   and at most one fetch is in flight at any time. The mutex guarding the in-flight
//!   handle is held only to read or replace it, never across the fetch. Every fetch is
//!   bounded by [`RemoteJwksBuilder::timeout`], whichever HTTP client is used.
//! - A request that finds no key for its token (an unknown `kid`, or no keys at all yet)
//!   starts a fetch only if no other request-triggered fetch started within the
//!   `cooldown` (default 30 s); within the cooldown it joins the fetch in flight if there
//!   is one, and otherwise gets the cached keys without any network traffic (so a token
//!   with an unknown `kid` is refused as `UnknownKey`). Random kids therefore cause at
//!   most one fetch per cooldown. Background refreshes do not count against the cooldown.
//! - A background task refreshes after `Cache-Control: max-age` (or the default refresh
//!   interval without one), clamped to `[min_refresh, max_refresh]` and never sooner than
//!   1 s, whichever fetch last succeeded. Failures are retried with exponential backoff
//!   from 1 s up to the cooldown (at most `max_refresh`). The task starts with the first use inside a Tokio
//!   runtime and ends as soon as the last `RemoteJwks` clone is dropped.
//! - A failed fetch (transport error, timeout, non-2xx status, oversized body, invalid
//!   JSON, no usable key) keeps the previous keys. With no keys at all, validation
//!   answers `KeysUnavailable` (HTTP 503), not a 401 or a 500.
//! - Outside a Tokio runtime nothing is spawned and nothing panics: fetches fail with
//!   [`JwksError::NoRuntime`] and validation answers `KeysUnavailable`.

mod fetch;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use futures_util::FutureExt as _;
use futures_util::future::{BoxFuture, Shared};
use tokio::sync::watch;
use tokio::time::Instant;

pub use fetch::JwksError;

use crate::token::{KeySet, TokenError};

/// A fetch in flight; resolves to the number of keys loaded.
type Flight = Shared<BoxFuture<'static, Result<usize, JwksError>>>;

/// No background refresh or retry comes sooner than this after the previous fetch.
const MIN_INTERVAL: Duration = Duration::from_secs(1);

/// Settings of a [`RemoteJwks`].
#[derive(Debug, Clone)]
struct Settings {
    cooldown: Duration,
    timeout: Duration,
    min_refresh: Duration,
    max_refresh: Duration,
    default_refresh: Duration,
    max_body: usize,
}

impl Settings {
    /// How long after a successful fetch the background task refreshes.
    fn refresh_after(&self, max_age: Option<Duration>) -> Duration {
        max_age
            .unwrap_or(self.default_refresh)
            .clamp(self.min_refresh, self.max_refresh)
            .max(MIN_INTERVAL)
    }

    /// How long after the `failures`-th consecutive failure the background task retries:
    /// 1 s, 2 s, 4 s, … up to the cooldown (and at most `max_refresh`).
    fn backoff(&self, failures: u32) -> Duration {
        let cap = self.cooldown.min(self.max_refresh).max(MIN_INTERVAL);
        let doublings = failures.saturating_sub(1).min(20);
        MIN_INTERVAL.saturating_mul(1 << doublings).min(cap)
    }
}

/// The fetch in progress.
struct InFlight {
    /// Its number (from `Inner::fetches`).
    id: u64,
    flight: Flight,
    /// Its task, to notice one that ended without recording an outcome.
    task: tokio::task::AbortHandle,
}

struct State {
    flight: Option<InFlight>,
    /// When the last fetch triggered by a request (cold cache or unknown `kid`) started.
    last_triggered: Option<Instant>,
    /// When the background task should fetch next; `None` before the first fetch.
    next_refresh: Option<Instant>,
    /// Consecutive failed fetches, for the backoff.
    failures: u32,
}

impl State {
    /// The fetch in progress, if its task is alive. A task that ended without recording
    /// its outcome (`finish` clears the flight before the task ends) was dropped with its
    /// runtime, or panicked: it is forgotten, so that callers start afresh instead of
    /// joining a dead fetch.
    fn live_flight(&mut self) -> Option<Flight> {
        let current = self.flight.as_ref()?;
        if current.task.is_finished() {
            self.flight = None;
            return None;
        }
        Some(current.flight.clone())
    }
}

struct Inner {
    url: reqwest::Url,
    client: reqwest::Client,
    settings: Settings,
    keys: ArcSwapOption<KeySet>,
    state: Mutex<State>,
    /// A background task is running (or being started).
    background: AtomicBool,
    fetches: AtomicU64,
    /// Advanced when a refresh changes what some token verifies against (a key dropped, a
    /// kid given other material; see `KeySet::is_superseded_by`).
    generation: AtomicU64,
    /// Never sent on: dropping it (with the last clone) wakes the background task to exit.
    alive: watch::Sender<()>,
}

/// A JWKS endpoint's keys, cached and kept fresh. Cheap to clone; all clones share the
/// cache. Hand it to [`ValidatorBuilder::jwks`](crate::ValidatorBuilder::jwks).
///
/// The background refresh task starts with the first token validated (or the first
/// [`RemoteJwks::refresh`]) inside a Tokio runtime and stops when the last clone is
/// dropped.
#[derive(Clone)]
pub struct RemoteJwks {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for RemoteJwks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteJwks")
            .field("url", &self.inner.url.as_str())
            .finish_non_exhaustive()
    }
}

/// Builder for [`RemoteJwks`].
#[must_use]
pub struct RemoteJwksBuilder {
    url: String,
    settings: Settings,
    client: Option<reqwest::Client>,
    ca_file: Option<std::path::PathBuf>,
    allow_http: bool,
}

impl RemoteJwks {
    /// Starts a builder for the JWKS at `url` (HTTPS; plain HTTP only to loopback
    /// addresses unless [`RemoteJwksBuilder::insecure_allow_http`]).
    pub fn builder(url: impl Into<String>) -> RemoteJwksBuilder {
        RemoteJwksBuilder {
            url: url.into(),
            settings: Settings {
                cooldown: Duration::from_secs(30),
                timeout: Duration::from_secs(5),
                min_refresh: Duration::from_secs(60),
                max_refresh: Duration::from_secs(24 * 3600),
                default_refresh: Duration::from_secs(300),
                max_body: 512 * 1024,
            },
            client: None,
            ca_file: None,
            allow_http: false,
        }
    }

    /// The cached keys, fetching them first if none were ever loaded (rate-limited by the
    /// cooldown like an unknown `kid`).
    pub(crate) async fn key_set(&self) -> Result<Arc<KeySet>, TokenError> {
        if let Some(keys) = self.inner.keys.load_full() {
            self.start_background();
            return Ok(keys);
        }
        self.fetch_rate_limited().await
    }

    /// After an unknown `kid`: join the fetch in flight, or start one unless a
    /// request-triggered fetch started within the cooldown; then return whatever keys we
    /// have.
    pub(crate) async fn refresh_for_unknown_kid(&self) -> Result<Arc<KeySet>, TokenError> {
        self.fetch_rate_limited().await
    }

    async fn fetch_rate_limited(&self) -> Result<Arc<KeySet>, TokenError> {
        let flight = {
            let mut state = self.inner.lock_state();
            match (state.live_flight(), state.last_triggered) {
                (Some(flight), _) => Some(flight),
                (None, Some(at)) if at.elapsed() < self.inner.settings.cooldown => None,
                (None, _) => match Inner::start_flight(&self.inner, &mut state) {
                    Ok(flight) => {
                        state.last_triggered = Some(Instant::now());
                        Some(flight)
                    }
                    Err(_) => None,
                },
            }
        };
        // After the flight is recorded, so that a new background task joins it.
        self.start_background();
        if let Some(flight) = flight {
            // Errors are already logged by the flight; fall back to what we have.
            let _ = flight.await;
        }
        self.inner
            .keys
            .load_full()
            .ok_or(TokenError::KeysUnavailable)
    }

    /// Fetches now (joining a fetch in flight), ignoring the cooldown, and returns the
    /// number of keys loaded. For start-up readiness checks: `remote.refresh().await?`
    /// fails if the endpoint is unusable. On failure the cached keys are kept.
    pub async fn refresh(&self) -> Result<usize, JwksError> {
        let flight = {
            let mut state = self.inner.lock_state();
            match state.live_flight() {
                Some(flight) => flight,
                None => Inner::start_flight(&self.inner, &mut state)?,
            }
        };
        self.start_background();
        flight.await
    }

    /// Advances whenever a refresh could change a token's verdict: a key removed, a `kid`
    /// republished with other key material, a key added that changes which key a token
    /// selects (see [`KeySet::is_superseded_by`]). A verified-token cache entry is only
    /// valid for the generation it was made under.
    pub fn generation(&self) -> u64 {
        self.inner.generation.load(Ordering::Acquire)
    }

    /// How many fetches were started (for metrics).
    pub fn fetch_count(&self) -> u64 {
        self.inner.fetches.load(Ordering::Relaxed)
    }

    /// The keys cached now, without fetching.
    pub fn cached(&self) -> Option<Arc<KeySet>> {
        self.inner.keys.load_full()
    }

    /// Starts the background refresh task if it is not running and a Tokio runtime is
    /// available (outside one, nothing happens).
    fn start_background(&self) {
        if self.inner.background.load(Ordering::Acquire) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self.inner.background.swap(true, Ordering::AcqRel) {
            return;
        }
        // The guard is an argument so that it is dropped (clearing `background`) even if
        // the runtime drops the task before its first poll.
        let guard = BackgroundGuard(Arc::downgrade(&self.inner));
        runtime.spawn(refresh_loop(guard, self.inner.alive.subscribe()));
    }
}

impl Inner {
    fn lock_state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts a fetch in its own task and records it as the flight. Called with the state
    /// lock held, which is what makes the fetch single-flight; the lock is not held by the
    /// task while fetching.
    fn start_flight(this: &Arc<Self>, state: &mut State) -> Result<Flight, JwksError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| JwksError::NoRuntime)?;
        let id = this.fetches.fetch_add(1, Ordering::Relaxed) + 1;
        let inner = Arc::clone(this);
        // The fetch runs in its own task so it completes even if every waiter is cancelled.
        let task = runtime.spawn(async move {
            let timeout = inner.settings.timeout;
            let fetched = tokio::time::timeout(
                timeout,
                fetch::fetch(&inner.client, &inner.url, inner.settings.max_body),
            )
            .await
            .unwrap_or_else(|_| Err(JwksError::Transport("timed out".to_owned())));
            inner.finish(id, fetched)
        });
        let abort = task.abort_handle();
        let weak = Arc::downgrade(this);
        let flight: Flight = async move {
            match task.await {
                Ok(result) => result,
                // The task never finished (its runtime shut down, or it panicked): record
                // the failure and forget the flight, so that the next caller starts afresh
                // instead of joining a dead fetch forever.
                Err(_) => match weak.upgrade() {
                    Some(inner) => inner.finish(id, Err(JwksError::Cancelled)),
                    None => Err(JwksError::Cancelled),
                },
            }
        }
        .boxed()
        .shared();
        state.flight = Some(InFlight {
            id,
            flight: flight.clone(),
            task: abort,
        });
        Ok(flight)
    }

    /// Records the outcome of fetch `id`: new keys and the next refresh on success, the
    /// backoff on failure (the cached keys stay), and clears the flight if it is this one.
    fn finish(
        &self,
        id: u64,
        fetched: Result<(Arc<KeySet>, Option<Duration>), JwksError>,
    ) -> Result<usize, JwksError> {
        let now = Instant::now();
        let mut state = self.lock_state();
        if state
            .flight
            .as_ref()
            .is_some_and(|current| current.id == id)
        {
            state.flight = None;
        }
        match fetched {
            Ok((keys, max_age)) => {
                let count = keys.len();
                let old = self.keys.swap(Some(Arc::clone(&keys)));
                // Material, not only kids: a kid republished with other bytes supersedes.
                // Bumped after the swap, never before (see `KeySetHandle::replace`).
                if old.is_some_and(|old| old.is_superseded_by(&keys)) {
                    self.generation.fetch_add(1, Ordering::AcqRel);
                }
                state.failures = 0;
                state.next_refresh = Some(later(now, self.settings.refresh_after(max_age)));
                tracing::debug!(url = %self.url, keys = count, "JWKS fetched");
                Ok(count)
            }
            Err(err) => {
                if self.keys.load().is_some() {
                    tracing::warn!(url = %self.url, error = %err, "JWKS fetch failed; keeping the cached keys");
                } else {
                    tracing::warn!(url = %self.url, error = %err, "JWKS fetch failed; nothing is cached, so tokens are refused with 503 until a fetch succeeds");
                }
                state.failures = state.failures.saturating_add(1);
                // Keys that are still fresh need no early retry; otherwise back off.
                let retry = later(now, self.settings.backoff(state.failures));
                state.next_refresh = Some(match state.next_refresh {
                    Some(at) if at > retry => at,
                    _ => retry,
                });
                Err(err)
            }
        }
    }
}

/// The certificates of a PEM file, at least one.
fn read_ca_file(path: &std::path::Path) -> Result<Vec<reqwest::Certificate>, JwksError> {
    let pem = std::fs::read(path).map_err(|e| {
        JwksError::Config(format!(
            "cannot read the JWKS CA file {}: {e}",
            path.display()
        ))
    })?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|_| {
        JwksError::Config(format!("{} is not a PEM certificate file", path.display()))
    })?;
    if certs.is_empty() {
        return Err(JwksError::Config(format!(
            "{} holds no PEM certificate",
            path.display()
        )));
    }
    Ok(certs)
}

fn later(now: Instant, after: Duration) -> Instant {
    now.checked_add(after)
        .unwrap_or_else(|| now + Duration::from_secs(365 * 24 * 3600))
}

/// Owned by the background task: clears `Inner::background` when the task ends or is
/// dropped (say with its runtime), so that the next use restarts it.
struct BackgroundGuard(Weak<Inner>);

impl Drop for BackgroundGuard {
    fn drop(&mut self) {
        if let Some(inner) = self.0.upgrade() {
            inner.background.store(false, Ordering::Release);
        }
    }
}

enum Next {
    Join(Flight),
    Sleep(Instant),
}

/// The background refresh. Holds only a `Weak` between steps, never the lock across an
/// await, and exits when the last `RemoteJwks` is dropped (`alive` closes).
async fn refresh_loop(guard: BackgroundGuard, mut alive: watch::Receiver<()>) {
    loop {
        let next = {
            let Some(inner) = guard.0.upgrade() else {
                return;
            };
            let mut state = inner.lock_state();
            match (state.live_flight(), state.next_refresh) {
                (Some(flight), _) => Next::Join(flight),
                (None, Some(at)) if at > Instant::now() => Next::Sleep(at),
                (None, _) => match Inner::start_flight(&inner, &mut state) {
                    Ok(flight) => Next::Join(flight),
                    Err(_) => return,
                },
            }
        };
        // Either way `finish` has set `next_refresh` once the flight is done.
        match next {
            Next::Join(flight) => tokio::select! {
                _ = flight => {}
                _ = alive.changed() => return,
            },
            Next::Sleep(at) => tokio::select! {
                () = tokio::time::sleep_until(at) => {}
                _ = alive.changed() => return,
            },
        }
    }
}

impl RemoteJwksBuilder {
    /// Minimum time between two fetches triggered by requests that found no key for their
    /// token (unknown `kid`, or nothing cached yet); default 30 s. Within it such tokens
    /// are refused (`UnknownKey`, or `KeysUnavailable` with nothing cached) without any
    /// network traffic.
    pub fn cooldown(mut self, cooldown: Duration) -> Self {
        self.settings.cooldown = cooldown;
        self
    }

    /// Timeout for one fetch, connect to last byte (default 5 s). Applies to a client
    /// given with [`Self::client`] too.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.settings.timeout = timeout;
        self
    }

    /// Bounds on the background refresh interval taken from `Cache-Control: max-age`
    /// (default 1 min to 24 h). Whatever the bounds, refreshes are at least 1 s apart.
    pub fn refresh_bounds(mut self, min: Duration, max: Duration) -> Self {
        self.settings.min_refresh = min;
        self.settings.max_refresh = max;
        self
    }

    /// Refresh interval when the response has no `max-age` (default 5 min; the refresh
    /// bounds apply).
    pub fn default_refresh(mut self, every: Duration) -> Self {
        self.settings.default_refresh = every;
        self
    }

    /// Largest accepted JWKS document (default 512 KiB).
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.settings.max_body = bytes;
        self
    }

    /// Use this HTTP client (for a private CA, a proxy, …). Its own timeout applies in
    /// addition to [`Self::timeout`]. Configure it not to follow redirects to plain HTTP.
    pub fn client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// Trust only the certificates in this PEM file (one or more) for the JWKS endpoint,
    /// instead of the system's roots: a private CA, or the self-signed certificate of
    /// `rampart serve --dev` (`rampart-data/dev-cert.pem`). Read by [`Self::build`],
    /// which fails with a [`JwksError::Config`] naming the file if it cannot be read or
    /// holds no certificate. Not combinable with [`Self::client`] (configure that client's
    /// roots instead).
    pub fn ca_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    /// Allow a plain-HTTP JWKS URL on a non-loopback host. Anyone on the path could then
    /// substitute their own keys.
    pub fn insecure_allow_http(mut self) -> Self {
        self.allow_http = true;
        self
    }

    /// Builds the client. Nothing is fetched, and no runtime is needed, until the first
    /// token or [`RemoteJwks::refresh`].
    pub fn build(self) -> Result<RemoteJwks, JwksError> {
        let url = reqwest::Url::parse(&self.url)
            .map_err(|e| JwksError::Config(format!("invalid JWKS URL: {e}")))?;
        match url.scheme() {
            "https" => {}
            "http" if self.allow_http || fetch::is_loopback(&url) => {}
            _ => {
                return Err(JwksError::Config(
                    "the JWKS URL must be https (plain http only to loopback, or with insecure_allow_http)".into(),
                ));
            }
        }
        if self.settings.min_refresh > self.settings.max_refresh {
            return Err(JwksError::Config("min_refresh is above max_refresh".into()));
        }
        let client = match (self.client, &self.ca_file) {
            (Some(_), Some(_)) => {
                return Err(JwksError::Config(
                    "ca_file and client exclude each other: give the client its roots".into(),
                ));
            }
            (Some(client), None) => client,
            (None, ca_file) => {
                let mut builder = reqwest::Client::builder()
                    .timeout(self.settings.timeout)
                    .connect_timeout(self.settings.timeout)
                    .redirect(reqwest::redirect::Policy::none());
                if let Some(path) = ca_file {
                    builder = builder.tls_certs_only(read_ca_file(path)?);
                }
                builder
                    .build()
                    .map_err(|e| JwksError::Config(e.to_string()))?
            }
        };
        Ok(RemoteJwks {
            inner: Arc::new(Inner {
                url,
                client,
                settings: self.settings,
                keys: ArcSwapOption::empty(),
                state: Mutex::new(State {
                    flight: None,
                    last_triggered: None,
                    next_refresh: None,
                    failures: 0,
                }),
                background: AtomicBool::new(false),
                fetches: AtomicU64::new(0),
                generation: AtomicU64::new(0),
                alive: watch::Sender::new(()),
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(min: u64, max: u64) -> Settings {
        RemoteJwks::builder("https://example.com/jwks.json")
            .refresh_bounds(Duration::from_secs(min), Duration::from_secs(max))
            .settings
    }

    #[test]
    fn max_age_is_clamped_to_the_refresh_bounds() {
        let s = settings(1, 10);
        assert_eq!(
            s.refresh_after(Some(Duration::from_secs(3600))),
            Duration::from_secs(10)
        );
        assert_eq!(
            s.refresh_after(Some(Duration::from_secs(5))),
            Duration::from_secs(5)
        );
        assert_eq!(
            s.refresh_after(Some(Duration::ZERO)),
            Duration::from_secs(1)
        );
        // No max-age: the default (5 min), clamped too.
        assert_eq!(s.refresh_after(None), Duration::from_secs(10));
        assert_eq!(
            settings(60, 86_400).refresh_after(None),
            Duration::from_secs(300)
        );
    }

    #[test]
    fn refreshes_are_never_closer_than_one_second() {
        let s = settings(0, 0);
        assert_eq!(s.refresh_after(Some(Duration::ZERO)), MIN_INTERVAL);
        assert_eq!(s.backoff(1), MIN_INTERVAL);
    }

    #[test]
    fn backoff_doubles_up_to_the_cooldown() {
        let s = settings(60, 86_400);
        let secs: Vec<u64> = (1..=8).map(|n| s.backoff(n).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 30, 30, 30]);
        assert_eq!(s.backoff(u32::MAX), Duration::from_secs(30));
    }

    #[test]
    fn min_refresh_above_max_refresh_is_refused() {
        let built = RemoteJwks::builder("https://example.com/jwks.json")
            .refresh_bounds(Duration::from_secs(10), Duration::from_secs(1))
            .build();
        assert!(matches!(built, Err(JwksError::Config(_))));
    }

    #[test]
    fn later_saturates_instead_of_panicking() {
        let now = Instant::now();
        assert!(later(now, Duration::MAX) > now);
    }
}
