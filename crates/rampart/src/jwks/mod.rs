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
//! - A fetch runs in its own task; concurrent callers share its result (single-flight).
//!   The mutex guarding the in-flight handle is held only to read or replace it, never
//!   across the fetch.
//! - An unknown `kid` triggers at most one fetch per `cooldown` (default 30 s); within the
//!   cooldown the token is refused as `UnknownKey` without any network traffic.
//! - A background task refreshes after `Cache-Control: max-age`, clamped to
//!   `[min_refresh, max_refresh]`, and retries failures with backoff. It stops when the
//!   last `RemoteJwks` clone is dropped.
//! - A failed fetch keeps the previous keys. With no keys at all, validation answers
//!   `KeysUnavailable` (HTTP 503), not a 401 or a 500.

mod fetch;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use futures_util::FutureExt as _;
use futures_util::future::{BoxFuture, Shared};
use tokio::time::Instant;

pub use fetch::JwksError;

use crate::token::{KeySet, TokenError};

type Flight = Shared<BoxFuture<'static, Result<Fetched, JwksError>>>;

#[derive(Clone)]
struct Fetched {
    keys: Arc<KeySet>,
    max_age: Option<Duration>,
}

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

struct State {
    flight: Option<Flight>,
    last_attempt: Option<Instant>,
}

struct Inner {
    url: reqwest::Url,
    client: reqwest::Client,
    settings: Settings,
    keys: ArcSwapOption<KeySet>,
    state: Mutex<State>,
    background: AtomicBool,
    fetches: AtomicU64,
}

/// A JWKS endpoint's keys, cached and kept fresh. Cheap to clone; all clones share the
/// cache. Hand it to [`ValidatorBuilder::jwks`](crate::ValidatorBuilder::jwks).
#[derive(Clone)]
pub struct RemoteJwks {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for RemoteJwks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteJwks").field("url", &self.inner.url.as_str()).finish_non_exhaustive()
    }
}

/// Builder for [`RemoteJwks`].
#[must_use]
pub struct RemoteJwksBuilder {
    url: String,
    settings: Settings,
    client: Option<reqwest::Client>,
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
            allow_http: false,
        }
    }

    /// The cached keys, fetching them first if none were ever loaded.
    pub(crate) async fn key_set(&self) -> Result<Arc<KeySet>, TokenError> {
        self.start_background();
        if let Some(keys) = self.inner.keys.load_full() {
            return Ok(keys);
        }
        self.fetch_rate_limited().await
    }

    /// After an unknown `kid`: refetch unless a fetch happened within the cooldown, and
    /// return whatever keys we have afterwards.
    pub(crate) async fn refresh_for_unknown_kid(&self) -> Result<Arc<KeySet>, TokenError> {
        self.fetch_rate_limited().await
    }

    async fn fetch_rate_limited(&self) -> Result<Arc<KeySet>, TokenError> {
        let flight = {
            let mut state = self.inner.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            match (&state.flight, state.last_attempt) {
                (Some(flight), _) => Some(flight.clone()),
                (None, Some(at)) if at.elapsed() < self.inner.settings.cooldown => None,
                (None, _) => Some(self.start_flight(&mut state)),
            }
        };
        if let Some(flight) = flight {
            // Errors are already logged by the flight; fall back to what we have.
            let _ = flight.await;
        }
        self.inner.keys.load_full().ok_or(TokenError::KeysUnavailable)
    }

    /// Fetches now (joining a fetch in flight), ignoring the cooldown. For start-up
    /// readiness checks: `remote.refresh().await?` fails if the endpoint is unusable.
    pub async fn refresh(&self) -> Result<usize, JwksError> {
        self.start_background();
        let flight = {
            let mut state = self.inner.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            match &state.flight {
                Some(flight) => flight.clone(),
                None => self.start_flight(&mut state),
            }
        };
        flight.await.map(|f| f.keys.len())
    }

    /// How many fetches were started (for metrics).
    pub fn fetch_count(&self) -> u64 {
        self.inner.fetches.load(Ordering::Relaxed)
    }

    /// The keys cached now, without fetching.
    pub fn cached(&self) -> Option<Arc<KeySet>> {
        self.inner.keys.load_full()
    }

    fn start_flight(&self, state: &mut State) -> Flight {
        state.last_attempt = Some(Instant::now());
        self.inner.fetches.fetch_add(1, Ordering::Relaxed);
        let inner = Arc::clone(&self.inner);
        // The fetch runs in its own task so it completes even if every waiter is cancelled.
        let task = tokio::spawn(async move {
            let result = fetch::fetch(&inner.client, &inner.url, inner.settings.max_body).await;
            match &result {
                Ok((keys, _)) => inner.keys.store(Some(Arc::clone(keys))),
                Err(err) => tracing::warn!(url = %inner.url, %err, "JWKS fetch failed; keeping the cached keys"),
            }
            inner.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner).flight = None;
            result.map(|(keys, max_age)| Fetched { keys, max_age })
        });
        let flight: Flight = async move { task.await.unwrap_or(Err(JwksError::Cancelled)) }.boxed().shared();
        state.flight = Some(flight.clone());
        flight
    }

    fn start_background(&self) {
        if self.inner.background.swap(true, Ordering::AcqRel) {
            return;
        }
        let weak = Arc::downgrade(&self.inner);
        tokio::spawn(refresh_loop(weak));
    }
}

async fn refresh_loop(weak: Weak<Inner>) {
    let mut backoff = Duration::from_secs(1);
    let mut wait = Duration::ZERO;
    loop {
        tokio::time::sleep(wait).await;
        let Some(inner) = weak.upgrade() else { return };
        let remote = RemoteJwks { inner };
        let settings = remote.inner.settings.clone();
        let flight = {
            let mut state = remote.inner.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            match &state.flight {
                Some(flight) => flight.clone(),
                None => remote.start_flight(&mut state),
            }
        };
        drop(remote);
        wait = match flight.await {
            Ok(fetched) => {
                backoff = Duration::from_secs(1);
                fetched
                    .max_age
                    .unwrap_or(settings.default_refresh)
                    .clamp(settings.min_refresh, settings.max_refresh)
            }
            Err(_) => {
                let now = backoff;
                backoff = (backoff * 2).min(settings.cooldown.max(Duration::from_secs(1)));
                now
            }
        };
    }
}

impl RemoteJwksBuilder {
    /// Minimum time between two fetches caused by unknown `kid`s (default 30 s).
    pub fn cooldown(mut self, cooldown: Duration) -> Self {
        self.settings.cooldown = cooldown;
        self
    }

    /// Timeout for one fetch, connect to last byte (default 5 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.settings.timeout = timeout;
        self
    }

    /// Bounds on the background refresh interval taken from `Cache-Control: max-age`
    /// (default 1 min to 24 h).
    pub fn refresh_bounds(mut self, min: Duration, max: Duration) -> Self {
        self.settings.min_refresh = min;
        self.settings.max_refresh = max;
        self
    }

    /// Refresh interval when the response has no `max-age` (default 5 min).
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
    /// addition to [`Self::timeout`].
    pub fn client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// Allow a plain-HTTP JWKS URL on a non-loopback host. Anyone on the path could then
    /// substitute their own keys.
    pub fn insecure_allow_http(mut self) -> Self {
        self.allow_http = true;
        self
    }

    /// Builds the client. Nothing is fetched until the first token or [`RemoteJwks::refresh`].
    pub fn build(self) -> Result<RemoteJwks, JwksError> {
        let url = reqwest::Url::parse(&self.url).map_err(|e| JwksError::Config(format!("invalid JWKS URL: {e}")))?;
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
        let client = match self.client {
            Some(client) => client,
            None => reqwest::Client::builder()
                .timeout(self.settings.timeout)
                .connect_timeout(self.settings.timeout)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| JwksError::Config(e.to_string()))?,
        };
        Ok(RemoteJwks {
            inner: Arc::new(Inner {
                url,
                client,
                settings: self.settings,
                keys: ArcSwapOption::empty(),
                state: Mutex::new(State { flight: None, last_attempt: None }),
                background: AtomicBool::new(false),
                fetches: AtomicU64::new(0),
            }),
        })
    }
}
