//! What the configuration must satisfy before anything starts, parsed once into what the
//! server is built from. `serve` runs [`check`] before it binds or opens anything and
//! `rampart config check` runs exactly it, so the two cannot disagree about a
//! configuration, nor word a refusal differently.
//!
//! Not checked here (they need the machine, not just the configuration): that the
//! database answers, that the listeners can bind, that the data directory is writable, and
//! native TLS with neither file set (`serve --dev` generates a certificate then).

use std::time::Duration;

use anyhow::Context as _;
use http::{HeaderValue, Method, header};
use rampart::https::{Hsts, Origin, TrustedProxies};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::config::{Config, TlsMode};
use crate::keys::Sealer;
use crate::tls::CertFiles;

/// The refusal of a native TLS configuration with one of the two files.
pub(super) const SET_BOTH_TLS_FILES: &str = "set both tls_cert and tls_key (--tls-cert and --tls-key, or RAMPART_TLS_CERT and RAMPART_TLS_KEY)";

/// The parts of the configuration the server is built from, parsed.
pub struct Checked {
    /// The public URL's origin: CSRF, the HTTPS redirects.
    pub origin: Origin,
    /// Whose forwarding headers are believed, and which headers.
    pub trusted: TrustedProxies,
    /// The `Strict-Transport-Security` policy.
    pub hsts: Hsts,
    /// The CORS allowlist.
    pub cors: CorsLayer,
    /// The CSRF origin check.
    pub csrf: rampart::csrf::CsrfLayer<rampart::csrf::JsonRejection>,
}

/// Checks everything `serve` would refuse in its configuration, without binding or
/// opening anything; returns it parsed.
pub fn check(config: &Config) -> anyhow::Result<Checked> {
    let origin =
        Origin::parse(&config.public_url).map_err(|e| anyhow::anyhow!("public_url: {e}"))?;
    let trusted = TrustedProxies::new(config.trusted_proxies.iter().map(String::as_str))
        .map_err(|e| anyhow::anyhow!("trusted_proxies: {e}"))?
        .headers(config.forwarded_headers);
    let cors = cors(&config.cors_origins)?;
    let csrf = csrf(config, &origin)?;
    let mut hsts = Hsts::default().max_age(config.hsts_max_age);
    if config.hsts_preload {
        hsts = hsts
            .preload()
            .map_err(|e| anyhow::anyhow!("hsts_preload: {e}"))?;
    }
    if let Some(key) = &config.master_key {
        // Same parser as start-up; the directory is never read nor written (a key is given).
        Sealer::load(Some(key), std::path::Path::new("/nonexistent"))
            .context("RAMPART_MASTER_KEY")?;
    }
    match (&config.tls_mode, &config.tls_cert, &config.tls_key) {
        (TlsMode::Native, Some(cert), Some(key)) => {
            crate::tls::load_certified_key(&CertFiles {
                cert: cert.clone(),
                key: key.clone(),
            })
            .context("loading the TLS certificate")?;
        }
        (TlsMode::Native, Some(_), None) | (TlsMode::Native, None, Some(_)) => {
            anyhow::bail!(SET_BOTH_TLS_FILES)
        }
        _ => {}
    }
    Ok(Checked {
        origin,
        trusted,
        hsts,
        cors,
        csrf,
    })
}

/// CSRF: every state-changing route, trusting the public origin, the CORS origins and
/// the configured extra origins.
fn csrf(
    config: &Config,
    origin: &Origin,
) -> anyhow::Result<rampart::csrf::CsrfLayer<rampart::csrf::JsonRejection>> {
    let public = origin.as_str().trim_end_matches('/').to_owned();
    let origins = std::iter::once(public)
        .chain(config.cors_origins.iter().cloned())
        .chain(config.trusted_origins.iter().cloned());
    rampart::csrf::layer(origins)
        // OIDC Core §3.1.2.1 and RP-Initiated Logout §2 let apps POST these from their
        // own origin. Neither acts on a cross-site POST's say-so: the Lax session cookie
        // is not sent with it (so it cannot use a session), and the logout asks first
        // unless an ID token of the session proves the request.
        .map(|layer| {
            layer.with_insecure_bypass(|method, uri| {
                method == http::Method::POST && matches!(uri.path(), "/oauth/authorize" | "/logout")
            })
        })
        .map_err(|e| anyhow::anyhow!("trusted_origins / cors_origins: {:?}", e.reason()))
}

/// CORS from an explicit allowlist (no wildcard; bearer tokens, not cookies, so no
/// credentials mode).
fn cors(origins: &[String]) -> anyhow::Result<CorsLayer> {
    let mut values = Vec::with_capacity(origins.len());
    for origin in origins {
        if origin.contains('*') {
            anyhow::bail!(
                "cors_origins: wildcards are not allowed; list each origin (got {origin:?})"
            );
        }
        let parsed = url::Url::parse(origin)
            .map_err(|e| anyhow::anyhow!("cors_origins: {origin:?}: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https")
            || parsed.path() != "/"
            || parsed.query().is_some()
            || parsed.fragment().is_some()
        {
            anyhow::bail!("cors_origins: {origin:?} must be scheme://host[:port] only");
        }
        let exact = origin.trim_end_matches('/');
        values.push(HeaderValue::from_str(exact).map_err(|_| {
            anyhow::anyhow!("cors_origins: {origin:?} is not a valid header value")
        })?);
    }
    Ok(CorsLayer::new()
        .allow_origin(AllowOrigin::list(values))
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .max_age(Duration::from_secs(600)))
}
