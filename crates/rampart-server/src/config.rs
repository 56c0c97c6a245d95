//! One typed configuration from, in order of precedence: flags, `RAMPART_*` environment
//! variables, the TOML file given by `--config`, and defaults.
//!
//! Secrets (`RAMPART_MASTER_KEY`, `RAMPART_BOOTSTRAP_ADMIN_PASSWORD`) come from the
//! environment only: never from argv (visible in `ps`) or a config file.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};
use rampart::Algorithm;
use rampart::https::ForwardingHeaders;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::accounts::{CpuBudget, HashParams};
use crate::clock::Clock;

/// Settings as given by flags, env and file. Each field's doc is its `--help` text.
#[derive(Debug, Clone, Default, clap::Args, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Directory for the SQLite database, the master key and dev certificates [default: ./rampart-data]
    #[arg(long, env = "RAMPART_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// Database URL [default: sqlite://<data-dir>/rampart.db]
    #[arg(long, env = "RAMPART_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Public URL of this server: the token issuer and default audience [default: https://localhost:8443; with --dev, https://localhost:<port of --https-addr>]
    #[arg(long, env = "RAMPART_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,
    /// Address of the HTTPS listener [default: 127.0.0.1:8443]
    #[arg(long, env = "RAMPART_HTTPS_ADDR", global = true)]
    pub https_addr: Option<SocketAddr>,
    /// Address of the plain-HTTP redirect listener, or "off" [default: 127.0.0.1:8080]
    #[arg(long, env = "RAMPART_HTTP_ADDR", global = true)]
    pub http_addr: Option<String>,
    /// Address of the Prometheus metrics listener, or "off" [default: 127.0.0.1:9464]
    #[arg(long, env = "RAMPART_METRICS_ADDR", global = true)]
    pub metrics_addr: Option<String>,
    /// Access-token lifetime in seconds [default: 900]
    #[arg(long, env = "RAMPART_ACCESS_TOKEN_TTL", global = true)]
    pub access_token_ttl: Option<u64>,
    /// Absolute refresh-token lifetime in seconds [default: 2592000 (30 days)]
    #[arg(long, env = "RAMPART_REFRESH_TOKEN_TTL", global = true)]
    pub refresh_token_ttl: Option<u64>,
    /// Refresh-token idle lifetime in seconds [default: 604800 (7 days)]
    #[arg(long, env = "RAMPART_REFRESH_IDLE_TTL", global = true)]
    pub refresh_idle_ttl: Option<u64>,
    /// Seconds after a rotation during which the rotated refresh token, presented again
    /// by its own client, gets a successor instead of ending the session (two tabs
    /// refreshing at once); 0 = strict [default: 5]
    #[arg(long, env = "RAMPART_REFRESH_REUSE_GRACE", global = true)]
    pub refresh_reuse_grace: Option<u64>,
    /// Browser sign-in session: seconds without a request after which the user must log in
    /// again [default: 28800 (8 hours)]
    #[arg(long, env = "RAMPART_SESSION_IDLE_TTL", global = true)]
    pub session_idle_ttl: Option<u64>,
    /// Browser sign-in session: absolute lifetime in seconds [default: 604800 (7 days)]
    #[arg(long, env = "RAMPART_SESSION_TTL", global = true)]
    pub session_ttl: Option<u64>,
    /// Algorithm of new signing keys: ES256, ES384, EdDSA, RS256 or PS256 [default: ES256]
    #[arg(long, env = "RAMPART_SIGNING_ALG", global = true)]
    pub signing_alg: Option<String>,
    /// Seconds between publishing a rotated key and signing with it [default: 3600]
    #[arg(long, env = "RAMPART_KEY_ROTATION_DELAY", global = true)]
    pub key_rotation_delay: Option<u64>,
    /// Argon2id memory cost in KiB [default: 19456]
    #[arg(long, env = "RAMPART_ARGON2_MEMORY_KIB", global = true)]
    pub argon2_memory_kib: Option<u32>,
    /// Argon2id iterations [default: 2]
    #[arg(long, env = "RAMPART_ARGON2_ITERATIONS", global = true)]
    pub argon2_iterations: Option<u32>,
    /// Argon2id parallelism [default: 1]
    #[arg(long, env = "RAMPART_ARGON2_PARALLELISM", global = true)]
    pub argon2_parallelism: Option<u32>,
    /// Password hashes computed at once [default: CPU cores - 1, at least 1]
    #[arg(long, env = "RAMPART_HASH_POOL_SIZE", global = true)]
    pub hash_pool_size: Option<usize>,
    /// Password hashes allowed to wait for a hashing thread; beyond it the token endpoint answers 503 [default: 32]
    #[arg(long, env = "RAMPART_HASH_QUEUE_SIZE", global = true)]
    pub hash_queue_size: Option<usize>,
    /// CPU cores password hashing may use on average, at most hash_pool_size; beyond it the token endpoint answers 503; 0 = unlimited [default: hash_pool_size / 2, at least 0.5]
    #[arg(long, env = "RAMPART_HASH_CPU_BUDGET", global = true)]
    pub hash_cpu_budget: Option<f64>,
    /// Password-grant attempts per second per client IP (burst: twice that); 0 disables [default: 10]
    #[arg(long, env = "RAMPART_LOGIN_RATE_PER_IP", global = true)]
    pub login_rate_per_ip: Option<u32>,
    /// Enable the built-in public client `first-party` (password + refresh grants) [default: true]
    #[arg(long, env = "RAMPART_FIRST_PARTY_CLIENT", global = true)]
    pub first_party_client: Option<bool>,
    /// Database connection pool size: Postgres connections, or SQLite reader connections
    /// (SQLite writes always go through one extra writer connection) [default: 8]
    #[arg(long, env = "RAMPART_DB_MAX_CONNECTIONS", global = true)]
    pub db_max_connections: Option<u32>,
    /// Seconds a query waits for a free pooled database connection before the request fails with 503 (Postgres) [default: 5]
    #[arg(long, env = "RAMPART_DB_ACQUIRE_TIMEOUT", global = true)]
    pub db_acquire_timeout: Option<u64>,
    /// Longest a single database statement may run, in seconds, before it is cancelled and the request fails with 503 (Postgres) [default: 10]
    #[arg(long, env = "RAMPART_DB_STATEMENT_TIMEOUT", global = true)]
    pub db_statement_timeout: Option<u64>,
    /// PEM certificate chain for HTTPS
    #[arg(long, env = "RAMPART_TLS_CERT", global = true)]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for HTTPS
    #[arg(long, env = "RAMPART_TLS_KEY", global = true)]
    pub tls_key: Option<PathBuf>,
    /// "native" (rustls on the HTTPS address) or "proxy" (plain HTTP behind a TLS-terminating proxy) [default: native]
    #[arg(long, env = "RAMPART_TLS_MODE", global = true)]
    pub tls_mode: Option<String>,
    /// Proxy mode: CIDRs whose X-Forwarded-*/Forwarded headers are trusted, comma-separated [default: none]
    #[arg(
        long,
        env = "RAMPART_TRUSTED_PROXIES",
        global = true,
        value_delimiter = ','
    )]
    pub trusted_proxies: Option<Vec<String>>,
    /// Proxy mode: which forwarding headers the trusted proxy writes: "x-forwarded" (nginx, Traefik) or "forwarded" (RFC 7239) [default: x-forwarded]
    #[arg(long, env = "RAMPART_FORWARDED_HEADERS", global = true)]
    pub forwarded_headers: Option<String>,
    /// Browser origins allowed by CORS, comma-separated (exact scheme://host[:port]; no wildcard) [default: none]
    #[arg(
        long,
        env = "RAMPART_CORS_ORIGINS",
        global = true,
        value_delimiter = ','
    )]
    pub cors_origins: Option<Vec<String>>,
    /// Extra origins trusted by the CSRF check besides the public URL and the CORS origins [default: none]
    #[arg(
        long,
        env = "RAMPART_TRUSTED_ORIGINS",
        global = true,
        value_delimiter = ','
    )]
    pub trusted_origins: Option<Vec<String>>,
    /// Days audit events are kept [default: 90]
    #[arg(long, env = "RAMPART_AUDIT_RETENTION_DAYS", global = true)]
    pub audit_retention_days: Option<u64>,
    /// HSTS max-age in seconds [default: 63072000 (2 years)]
    #[arg(long, env = "RAMPART_HSTS_MAX_AGE", global = true)]
    pub hsts_max_age: Option<u64>,
    /// Add `preload` to HSTS (only if you will submit the domain to the preload list) [default: false]
    #[arg(long, env = "RAMPART_HSTS_PRELOAD", global = true)]
    pub hsts_preload: Option<bool>,
}

impl Settings {
    /// Reads a TOML file.
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }

    /// `self` wins over `lower` field by field.
    #[must_use]
    pub fn or(self, lower: Self) -> Self {
        macro_rules! pick {
            ($($f:ident),*) => { Self { $($f: self.$f.or(lower.$f)),* } };
        }
        pick!(
            data_dir,
            database_url,
            public_url,
            https_addr,
            http_addr,
            metrics_addr,
            access_token_ttl,
            refresh_token_ttl,
            refresh_idle_ttl,
            refresh_reuse_grace,
            session_idle_ttl,
            session_ttl,
            signing_alg,
            key_rotation_delay,
            argon2_memory_kib,
            argon2_iterations,
            argon2_parallelism,
            hash_pool_size,
            hash_queue_size,
            hash_cpu_budget,
            login_rate_per_ip,
            first_party_client,
            db_max_connections,
            db_acquire_timeout,
            db_statement_timeout,
            tls_cert,
            tls_key,
            tls_mode,
            trusted_proxies,
            forwarded_headers,
            cors_origins,
            trusted_origins,
            audit_retention_days,
            hsts_max_age,
            hsts_preload
        )
    }
}

/// How HTTPS is provided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// rustls on the HTTPS address.
    Native,
    /// Plain HTTP on a private address behind a TLS-terminating proxy.
    Proxy,
}

/// The effective configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub database_url: String,
    pub public_url: String,
    pub https_addr: SocketAddr,
    pub http_addr: Option<SocketAddr>,
    /// `None`: no metrics listener (`--metrics-addr off`).
    pub metrics_addr: Option<SocketAddr>,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub refresh_idle_ttl: Duration,
    /// 0: a rotated token presented again always ends its session.
    pub refresh_reuse_grace: Duration,
    /// Browser sessions end after this long without a request…
    pub session_idle_ttl: Duration,
    /// …and this long after the login, whatever happens.
    pub session_ttl: Duration,
    pub signing_alg: Algorithm,
    pub key_rotation_delay: Duration,
    pub password_hash: HashParams,
    pub hash_pool_size: usize,
    pub hash_queue_size: usize,
    /// Checked against `hash_pool_size` by [`Config::resolve`] and again at start-up
    /// ([`CpuBudget::new`]); 0 = unlimited.
    pub hash_cpu_budget: f64,
    pub login_rate_per_ip: u32,
    pub first_party_client: bool,
    pub db_max_connections: u32,
    pub db_acquire_timeout: Duration,
    pub db_statement_timeout: Duration,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub tls_mode: TlsMode,
    pub trusted_proxies: Vec<String>,
    pub forwarded_headers: ForwardingHeaders,
    pub cors_origins: Vec<String>,
    pub trusted_origins: Vec<String>,
    pub audit_retention: Duration,
    pub hsts_max_age: Duration,
    pub hsts_preload: bool,
    pub dev: bool,
    pub master_key: Option<SecretString>,
    pub bootstrap_admin_password: Option<SecretString>,
    /// The clock (tests inject a manual one).
    pub clock: Clock,
}

/// A listener address setting: unset → `127.0.0.1:<default_port>`, `off` → none, else
/// an address. Pure.
fn address_or_off(
    value: Option<&str>,
    default_port: u16,
    what: &str,
) -> anyhow::Result<Option<SocketAddr>> {
    match value {
        None => Ok(Some(SocketAddr::from(([127, 0, 0, 1], default_port)))),
        Some("off") => Ok(None),
        Some(addr) => addr.parse().map(Some).with_context(|| {
            format!("{what} must be an address like 127.0.0.1:{default_port}, or \"off\"")
        }),
    }
}

/// The public URL when none is configured: `https://localhost:8443`, or in development
/// (`serve --dev`) `https://localhost:<the HTTPS port>`, so that tokens' `iss` and the
/// printed URLs name the port actually served. Pure.
pub fn default_public_url(dev: bool, https_addr: SocketAddr) -> String {
    match https_addr.port() {
        port if dev && port != 0 => format!("https://localhost:{port}"),
        _ => "https://localhost:8443".to_owned(),
    }
}

/// In development, a configured public URL whose port is not the HTTPS listener's: the
/// reason to warn (tokens would name a port nothing serves on this machine). `None` when
/// they agree, outside development, or behind a proxy-like setup (port 0). Pure.
pub fn dev_port_mismatch(dev: bool, public_url: &str, https_addr: SocketAddr) -> Option<String> {
    let url = url::Url::parse(public_url).ok()?;
    let port = url.port_or_known_default()?;
    (dev && https_addr.port() != 0 && port != https_addr.port()).then(|| {
        format!(
            "--public-url {public_url} names port {port}, but HTTPS listens on {https_addr}: tokens will name an issuer this server does not answer at; set --public-url https://localhost:{} or move --https-addr",
            https_addr.port()
        )
    })
}

impl Config {
    /// Resolves settings (already merged with the file) plus the secret env variables.
    pub fn resolve(settings: Settings, dev: bool) -> anyhow::Result<Self> {
        let data_dir = settings
            .data_dir
            .unwrap_or_else(|| PathBuf::from("./rampart-data"));
        let database_url = settings
            .database_url
            .unwrap_or_else(|| format!("sqlite://{}/rampart.db", data_dir.display()));
        let https_addr = settings
            .https_addr
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8443)));
        // In development the public URL follows the HTTPS port unless it is given.
        let public_url = settings
            .public_url
            .unwrap_or_else(|| default_public_url(dev, https_addr));
        let parsed = url::Url::parse(&public_url).context("public_url is not a URL")?;
        if parsed.scheme() != "https"
            || parsed.host().is_none()
            || parsed.query().is_some()
            || parsed.fragment().is_some()
        {
            bail!("public_url must be an https URL without query or fragment");
        }
        let signing_alg = match settings.signing_alg.as_deref().unwrap_or("ES256") {
            "ES256" => Algorithm::ES256,
            "ES384" => Algorithm::ES384,
            "EdDSA" => Algorithm::EdDSA,
            "RS256" => Algorithm::RS256,
            "PS256" => Algorithm::PS256,
            other => bail!("signing_alg {other:?} is not one of ES256, ES384, EdDSA, RS256, PS256"),
        };
        let http_addr = address_or_off(settings.http_addr.as_deref(), 8080, "http_addr")?;
        let metrics_addr = address_or_off(settings.metrics_addr.as_deref(), 9464, "metrics_addr")?;
        let secs = |v: Option<u64>, default: u64, what: &str| -> anyhow::Result<Duration> {
            let v = v.unwrap_or(default);
            if v == 0 {
                bail!("{what} must be positive");
            }
            Ok(Duration::from_secs(v))
        };
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        let hash_pool_size = settings
            .hash_pool_size
            .unwrap_or_else(|| cores.saturating_sub(1).max(1));
        let hash_cpu_budget = settings
            .hash_cpu_budget
            .unwrap_or_else(|| CpuBudget::default_cores(hash_pool_size));
        CpuBudget::new(hash_cpu_budget, hash_pool_size)?;
        let env_secret = |name: &str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.is_empty())
                .map(SecretString::from)
        };
        Ok(Self {
            data_dir,
            database_url,
            public_url,
            https_addr,
            http_addr,
            metrics_addr,
            access_token_ttl: secs(settings.access_token_ttl, 900, "access_token_ttl")?,
            refresh_token_ttl: secs(settings.refresh_token_ttl, 30 * 86_400, "refresh_token_ttl")?,
            refresh_idle_ttl: secs(settings.refresh_idle_ttl, 7 * 86_400, "refresh_idle_ttl")?,
            refresh_reuse_grace: {
                // Longer would let a stolen rotated token mint sessions unnoticed.
                let grace = settings.refresh_reuse_grace.unwrap_or(5);
                if grace > 60 {
                    bail!("refresh_reuse_grace must be at most 60 seconds (0 = strict)");
                }
                Duration::from_secs(grace)
            },
            session_idle_ttl: secs(settings.session_idle_ttl, 8 * 3600, "session_idle_ttl")?,
            session_ttl: secs(settings.session_ttl, 7 * 86_400, "session_ttl")?,
            signing_alg,
            key_rotation_delay: Duration::from_secs(settings.key_rotation_delay.unwrap_or(3600)),
            password_hash: HashParams {
                memory_kib: settings.argon2_memory_kib.unwrap_or(19_456),
                iterations: settings.argon2_iterations.unwrap_or(2),
                parallelism: settings.argon2_parallelism.unwrap_or(1),
            },
            hash_pool_size,
            hash_queue_size: settings.hash_queue_size.unwrap_or(32),
            hash_cpu_budget,
            login_rate_per_ip: settings.login_rate_per_ip.unwrap_or(10),
            first_party_client: settings.first_party_client.unwrap_or(true),
            db_max_connections: settings.db_max_connections.unwrap_or(8),
            db_acquire_timeout: secs(settings.db_acquire_timeout, 5, "db_acquire_timeout")?,
            db_statement_timeout: secs(settings.db_statement_timeout, 10, "db_statement_timeout")?,
            tls_cert: settings.tls_cert,
            tls_key: settings.tls_key,
            tls_mode: match settings.tls_mode.as_deref().unwrap_or("native") {
                "native" => TlsMode::Native,
                "proxy" => TlsMode::Proxy,
                other => bail!("tls_mode {other:?} is not \"native\" or \"proxy\""),
            },
            trusted_proxies: settings.trusted_proxies.unwrap_or_default(),
            // Only the header the proxy writes: nginx passes a client's own `Forwarded`
            // through untouched, so trusting both would let clients pick their address.
            forwarded_headers: match settings
                .forwarded_headers
                .as_deref()
                .unwrap_or("x-forwarded")
            {
                "x-forwarded" => ForwardingHeaders::XForwardedFor,
                "forwarded" => ForwardingHeaders::Forwarded,
                other => {
                    bail!("forwarded_headers {other:?} is not \"x-forwarded\" or \"forwarded\"")
                }
            },
            cors_origins: settings.cors_origins.unwrap_or_default(),
            trusted_origins: settings.trusted_origins.unwrap_or_default(),
            audit_retention: Duration::from_secs(
                settings.audit_retention_days.unwrap_or(90).max(1) * 86_400,
            ),
            hsts_max_age: Duration::from_secs(settings.hsts_max_age.unwrap_or(63_072_000)),
            hsts_preload: settings.hsts_preload.unwrap_or(false),
            dev,
            master_key: env_secret("RAMPART_MASTER_KEY"),
            bootstrap_admin_password: env_secret("RAMPART_BOOTSTRAP_ADMIN_PASSWORD"),
            clock: Clock::system(),
        })
    }

    /// A configuration for tests: everything on 127.0.0.1 port 0 under `data_dir`, cheap
    /// password hashing with no CPU budget (suites hash a lot, on loaded CI machines; the
    /// budget has its own tests), no redirect listener, proxy mode (plain HTTP on
    /// loopback, no proxy trusted), strict refresh reuse (no grace window: the reuse tests
    /// re-present tokens at once; the window has tests of its own). TLS tests switch to
    /// `TlsMode::Native` with `dev = true`.
    pub fn for_tests(data_dir: &Path) -> Self {
        let mut config = Self::resolve(Settings::default(), false).expect("the defaults are valid");
        config.refresh_reuse_grace = Duration::ZERO;
        config.data_dir = data_dir.to_path_buf();
        config.database_url = format!("sqlite://{}/rampart.db", data_dir.display());
        config.https_addr = SocketAddr::from(([127, 0, 0, 1], 0));
        config.http_addr = None;
        config.metrics_addr = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
        config.password_hash = HashParams {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        };
        config.hash_cpu_budget = 0.0;
        config.master_key = None;
        config.bootstrap_admin_password = None;
        config.tls_mode = TlsMode::Proxy;
        config
    }

    /// The effective settings, for `rampart config check` (secrets shown only as set/unset).
    pub fn describe(&self) -> String {
        let secret = |s: &Option<SecretString>| if s.is_some() { "<set>" } else { "<unset>" };
        format!(
            "data_dir = {:?}\ndatabase_url = {:?}\npublic_url = {:?}\nhttps_addr = {:?}\nhttp_addr = {:?}\nmetrics_addr = {:?}\n\
             access_token_ttl = {}\nrefresh_token_ttl = {}\nrefresh_idle_ttl = {}\nrefresh_reuse_grace = {}\nsession_idle_ttl = {}\nsession_ttl = {}\nsigning_alg = {:?}\nkey_rotation_delay = {}\n\
             argon2_memory_kib = {}\nargon2_iterations = {}\nargon2_parallelism = {}\nhash_pool_size = {}\nhash_queue_size = {}\nhash_cpu_budget = {}\nlogin_rate_per_ip = {}\nfirst_party_client = {}\n\
             db_max_connections = {}\ndb_acquire_timeout = {}\ndb_statement_timeout = {}\ntls_mode = {:?}\ntls_cert = {:?}\ntls_key = {:?}\ntrusted_proxies = {:?}\ncors_origins = {:?}\ntrusted_origins = {:?}\naudit_retention_days = {}\nhsts_max_age = {}\nhsts_preload = {}\n# RAMPART_MASTER_KEY {}\n# RAMPART_BOOTSTRAP_ADMIN_PASSWORD {}\n",
            self.data_dir.display().to_string(),
            redact_url(&self.database_url),
            self.public_url,
            self.https_addr.to_string(),
            self.http_addr
                .map_or_else(|| "off".to_owned(), |a| a.to_string()),
            self.metrics_addr
                .map_or_else(|| "off".to_owned(), |a| a.to_string()),
            self.access_token_ttl.as_secs(),
            self.refresh_token_ttl.as_secs(),
            self.refresh_idle_ttl.as_secs(),
            self.refresh_reuse_grace.as_secs(),
            self.session_idle_ttl.as_secs(),
            self.session_ttl.as_secs(),
            self.signing_alg.as_str(),
            self.key_rotation_delay.as_secs(),
            self.password_hash.memory_kib,
            self.password_hash.iterations,
            self.password_hash.parallelism,
            self.hash_pool_size,
            self.hash_queue_size,
            self.hash_cpu_budget,
            self.login_rate_per_ip,
            self.first_party_client,
            self.db_max_connections,
            self.db_acquire_timeout.as_secs(),
            self.db_statement_timeout.as_secs(),
            match self.tls_mode {
                TlsMode::Native => "native",
                TlsMode::Proxy => "proxy",
            },
            self.tls_cert.as_ref().map(|p| p.display().to_string()),
            self.tls_key.as_ref().map(|p| p.display().to_string()),
            self.trusted_proxies,
            self.cors_origins,
            self.trusted_origins,
            self.audit_retention.as_secs() / 86_400,
            self.hsts_max_age.as_secs(),
            self.hsts_preload,
            secret(&self.master_key),
            secret(&self.bootstrap_admin_password),
        )
    }
}

/// Hides a password in a database URL.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("REDACTED"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listener_address_table() {
        let local = |port: u16| Some(SocketAddr::from(([127, 0, 0, 1], port)));
        assert_eq!(
            address_or_off(None, 9464, "metrics_addr").unwrap(),
            local(9464)
        );
        assert_eq!(
            address_or_off(Some("off"), 9464, "metrics_addr").unwrap(),
            None
        );
        assert_eq!(
            address_or_off(Some("127.0.0.1:9999"), 9464, "metrics_addr").unwrap(),
            local(9999)
        );
        let err = address_or_off(Some("nine"), 9464, "metrics_addr").unwrap_err();
        assert!(err.to_string().contains("or \"off\""), "{err}");
    }

    #[test]
    fn the_dev_public_url_table() {
        let at = |port: u16| SocketAddr::from(([127, 0, 0, 1], port));
        let defaults = [
            (
                "production keeps 8443",
                false,
                at(9443),
                "https://localhost:8443",
            ),
            (
                "dev follows the port",
                true,
                at(9443),
                "https://localhost:9443",
            ),
            (
                "dev on the default port",
                true,
                at(8443),
                "https://localhost:8443",
            ),
            ("dev on port 0", true, at(0), "https://localhost:8443"),
        ];
        for (name, dev, addr, want) in defaults {
            assert_eq!(default_public_url(dev, addr), want, "{name}");
        }
        let mismatches = [
            (
                "dev, same port",
                true,
                "https://localhost:9443",
                at(9443),
                false,
            ),
            (
                "dev, other port",
                true,
                "https://localhost:8443",
                at(9443),
                true,
            ),
            (
                "dev, default https port",
                true,
                "https://rampart.test",
                at(8443),
                true,
            ),
            (
                "production, other port (a proxy)",
                false,
                "https://auth.example.com",
                at(8443),
                false,
            ),
            (
                "dev on port 0",
                true,
                "https://localhost:8443",
                at(0),
                false,
            ),
        ];
        for (name, dev, url, addr, want) in mismatches {
            assert_eq!(dev_port_mismatch(dev, url, addr).is_some(), want, "{name}");
        }
    }

    fn resolve(pool: Option<usize>, budget: Option<f64>) -> anyhow::Result<Config> {
        Config::resolve(
            Settings {
                hash_pool_size: pool,
                hash_cpu_budget: budget,
                ..Settings::default()
            },
            false,
        )
    }

    #[test]
    fn the_hash_cpu_budget_defaults_to_half_the_pool_and_is_printed() {
        for (pool, budget) in [(1, 0.5), (2, 1.0), (7, 3.5)] {
            let config = resolve(Some(pool), None).unwrap();
            assert!((config.hash_cpu_budget - budget).abs() < f64::EPSILON);
            assert!(
                config
                    .describe()
                    .contains(&format!("\nhash_cpu_budget = {budget}\n")),
                "{}",
                config.describe()
            );
        }
        assert!(resolve(Some(2), Some(0.0)).is_ok(), "0 = unlimited");
        assert!(resolve(Some(2), Some(2.0)).is_ok(), "the whole pool");
    }

    #[test]
    fn a_bad_hash_cpu_budget_is_an_error_that_names_it() {
        for (pool, budget) in [
            (Some(2), -0.5),
            (Some(2), f64::NAN),
            (Some(2), f64::INFINITY),
            (Some(2), 2.5),
            (Some(0), 1.5),
        ] {
            let err = resolve(pool, Some(budget)).err().unwrap();
            assert!(
                format!("{err:#}").contains("hash_cpu_budget"),
                "{budget}: {err:#}"
            );
        }
    }

    #[test]
    fn the_hash_cpu_budget_is_read_from_toml() {
        let settings: Settings = toml::from_str("hash_cpu_budget = 1\nhash_pool_size = 3").unwrap();
        assert_eq!(settings.hash_cpu_budget, Some(1.0));
        let settings: Settings = toml::from_str("hash_cpu_budget = 0.25").unwrap();
        assert_eq!(settings.hash_cpu_budget, Some(0.25));
    }
}
