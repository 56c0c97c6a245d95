//! Native TLS: rustls with the aws-lc-rs provider, TLS 1.2 and 1.3 only, rustls' default
//! cipher suites and groups (which match Mozilla's "intermediate" profile minus the
//! DHE suites), ALPN h2 and http/1.1, certificates hot-reloaded from disk.
//!
//! Hot reload: a task polls the certificate and key files (modification time and size)
//! every [`POLL_EVERY`] and on SIGHUP; a new pair that parses and matches replaces the
//! old one for new handshakes, open connections are untouched. A broken pair is logged
//! and the old one kept. Polling rather than inotify keeps this working on every
//! filesystem (bind mounts, Kubernetes secret volumes that swap symlinks).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::{Context as _, bail};
use arc_swap::ArcSwap;
use rustls::ServerConfig;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// How often certificate files are checked for changes.
pub const POLL_EVERY: Duration = Duration::from_secs(2);

/// Where the certificate and key come from.
#[derive(Debug, Clone)]
pub struct CertFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Loads and checks a PEM chain and key.
pub fn load_certified_key(files: &CertFiles) -> anyhow::Result<CertifiedKey> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert)
        .with_context(|| format!("reading {}", files.cert.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("parsing {}", files.cert.display()))?;
    if certs.is_empty() {
        bail!("{} holds no certificate", files.cert.display());
    }
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .with_context(|| format!("reading the private key {}", files.key.display()))?;
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    CertifiedKey::from_der(certs, key, &provider)
        .context("the certificate and the private key do not belong together")
}

/// Serves the current certificate; swapped atomically on reload.
#[derive(Debug)]
pub struct Resolver {
    current: ArcSwap<CertifiedKey>,
}

impl ResolvesServerCert for Resolver {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}

/// The TLS configuration plus what is needed to reload it.
pub struct Tls {
    pub config: Arc<ServerConfig>,
    resolver: Arc<Resolver>,
    files: CertFiles,
}

impl Tls {
    /// Loads the certificate and builds the server configuration.
    pub fn new(files: CertFiles) -> anyhow::Result<Self> {
        let key = load_certified_key(&files)?;
        let resolver = Arc::new(Resolver {
            current: ArcSwap::from_pointee(key),
        });
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .context("TLS protocol versions")?
            .with_no_client_auth()
            .with_cert_resolver(Arc::clone(&resolver) as Arc<dyn ResolvesServerCert>);
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Self {
            config: Arc::new(config),
            resolver,
            files,
        })
    }

    /// Reloads the files now; on error the old certificate stays.
    pub fn reload(&self) -> anyhow::Result<()> {
        let key = load_certified_key(&self.files)?;
        self.resolver.current.store(Arc::new(key));
        Ok(())
    }

    /// Watches the files (and SIGHUP) and reloads on change.
    pub fn spawn_watcher(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let tls = Arc::clone(self);
        tokio::spawn(async move {
            let mut last = fingerprint(&tls.files);
            #[cfg(unix)]
            let mut hup =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
            loop {
                #[cfg(unix)]
                let forced = {
                    let hup_recv = async {
                        match hup.as_mut() {
                            Some(s) => {
                                s.recv().await;
                            }
                            None => std::future::pending().await,
                        }
                    };
                    tokio::select! {
                        () = tokio::time::sleep(POLL_EVERY) => false,
                        () = hup_recv => true,
                    }
                };
                #[cfg(not(unix))]
                let forced = {
                    tokio::time::sleep(POLL_EVERY).await;
                    false
                };
                let now = fingerprint(&tls.files);
                if forced || now != last {
                    last = now;
                    match tls.reload() {
                        Ok(()) => {
                            tracing::info!(cert = %tls.files.cert.display(), "TLS certificate reloaded");
                        }
                        Err(e) => {
                            tracing::error!(error = %format!("{e:#}"), "TLS certificate reload failed; keeping the previous certificate");
                        }
                    }
                }
            }
        })
    }
}

type Stamp = Option<(SystemTime, u64)>;

fn stamp(path: &Path) -> Stamp {
    std::fs::metadata(path)
        .ok()
        .and_then(|m| Some((m.modified().ok()?, m.len())))
}

fn fingerprint(files: &CertFiles) -> (Stamp, Stamp) {
    (stamp(&files.cert), stamp(&files.key))
}

/// Longest life of a development certificate: what browsers accept of a public one
/// (CA/Browser Forum baseline requirements, 397 days).
pub const DEV_CERT_LIFETIME: Duration = Duration::from_secs(397 * 24 * 3600);

/// A development certificate this close to its end is replaced at start.
pub const DEV_CERT_RENEW_BEFORE: Duration = Duration::from_secs(30 * 24 * 3600);

/// The subject of the development certificate.
const DEV_CERT_NAME: &str = "Rampart development certificate (localhost)";

/// Whether `serve --dev` makes a new certificate, given the current one's validity (Unix
/// seconds; `None`: no usable certificate) at `now`: when there is none, when it ends
/// within [`DEV_CERT_RENEW_BEFORE`], or when it lives longer than [`DEV_CERT_LIFETIME`]
/// (made before that rule). Pure.
pub fn dev_cert_needs_renewal(validity: Option<(i64, i64)>, now: i64) -> bool {
    let renew_before = i64::try_from(DEV_CERT_RENEW_BEFORE.as_secs()).unwrap_or(i64::MAX);
    let lifetime = i64::try_from(DEV_CERT_LIFETIME.as_secs()).unwrap_or(i64::MAX);
    match validity {
        None => true,
        Some((not_before, not_after)) => {
            not_after.saturating_sub(now) < renew_before
                || not_after.saturating_sub(not_before) > lifetime
                || not_before > now
        }
    }
}

/// The validity of the PEM certificate at `path` (Unix seconds), if it parses and names
/// Rampart (an older dev certificate, named by rcgen, counts as none).
fn dev_cert_validity(path: &Path) -> Option<(i64, i64)> {
    let pem = std::fs::read(path).ok()?;
    let (_, pem) = x509_parser::pem::parse_x509_pem(&pem).ok()?;
    let cert = pem.parse_x509().ok()?;
    let named = cert
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        == Some(DEV_CERT_NAME);
    let validity = cert.validity();
    named.then(|| {
        (
            validity.not_before.timestamp(),
            validity.not_after.timestamp(),
        )
    })
}

/// A self-signed server certificate for `localhost`, `127.0.0.1` and `::1` that looks like
/// a real one: a subject naming Rampart, at most [`DEV_CERT_LIFETIME`], SAN, key usage
/// digitalSignature, EKU serverAuth, basic constraints CA:false, subject and authority key
/// identifiers.
fn generate_dev_certificate() -> anyhow::Result<(String, String)> {
    let mut params = rcgen::CertificateParams::new(vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ])
    .context("the development certificate's names")?;
    let mut name = rcgen::DistinguishedName::new();
    name.push(rcgen::DnType::CommonName, DEV_CERT_NAME);
    name.push(
        rcgen::DnType::OrganizationName,
        "Rampart (development only)",
    );
    params.distinguished_name = name;
    // An hour of slack for clocks behind this one; the whole life within the limit.
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::hours(1);
    params.not_after = params.not_before + time::Duration::days(397);
    params.is_ca = rcgen::IsCa::ExplicitNoCa;
    params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    let key = rcgen::KeyPair::generate().context("generating the development key")?;
    let cert = params
        .self_signed(&key)
        .context("signing the development certificate")?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// The development certificate, generated into the data dir when there is none or it is
/// due for renewal ([`dev_cert_needs_renewal`]); key mode 0600, both files written
/// atomically (see [`crate::private_file`]). Returns the files and the certificate's
/// SHA-256 fingerprint.
pub fn dev_certificate(data_dir: &Path) -> anyhow::Result<(CertFiles, String)> {
    let files = CertFiles {
        cert: data_dir.join("dev-cert.pem"),
        key: data_dir.join("dev-key.pem"),
    };
    // A certificate counts only with the key that belongs to it (a crash between the two
    // writes below leaves a pair that does not, and is then made again).
    let validity = if load_certified_key(&files).is_ok() {
        dev_cert_validity(&files.cert)
    } else {
        None
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    if dev_cert_needs_renewal(validity, now) {
        if validity.is_some() {
            tracing::info!(cert = %files.cert.display(), "the development certificate is due for renewal; making a new one");
        }
        let (cert_pem, key_pem) = generate_dev_certificate()?;
        crate::private_file::replace(&files.key, key_pem.as_bytes())
            .with_context(|| format!("writing {}", files.key.display()))?;
        crate::private_file::replace(&files.cert, cert_pem.as_bytes())
            .with_context(|| format!("writing {}", files.cert.display()))?;
    }
    let cert = CertificateDer::from_pem_file(&files.cert)
        .with_context(|| format!("reading {}", files.cert.display()))?;
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, cert.as_ref());
    let fingerprint = digest
        .as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":");
    Ok((files, fingerprint))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dev_certificate_renewal_table() {
        let day = 24 * 3600;
        let now = 1_800_000_000;
        let cases = [
            ("no certificate", None, true),
            ("fresh", Some((now - day, now + 396 * day)), false),
            (
                "31 days left",
                Some((now - 366 * day, now + 31 * day)),
                false,
            ),
            (
                "29 days left",
                Some((now - 368 * day, now + 29 * day)),
                true,
            ),
            ("expired", Some((now - 400 * day, now - day)), true),
            (
                "rcgen's default 1975–4096",
                Some((157_766_400, 67_090_000_000)),
                true,
            ),
            ("not yet valid", Some((now + day, now + 300 * day)), true),
        ];
        for (name, validity, want) in cases {
            assert_eq!(dev_cert_needs_renewal(validity, now), want, "{name}");
        }
    }

    #[test]
    fn a_generated_dev_certificate_names_rampart_and_lives_at_most_397_days() {
        let dir = tempfile::tempdir().unwrap();
        let (files, _) = dev_certificate(dir.path()).unwrap();
        let (not_before, not_after) = dev_cert_validity(&files.cert).unwrap();
        assert!(not_after - not_before <= 397 * 24 * 3600);
        let pem = std::fs::read_to_string(&files.cert).unwrap();
        let before = pem.clone();
        // Within its life it is kept; a key that no longer matches makes a new pair.
        dev_certificate(dir.path()).unwrap();
        assert_eq!(std::fs::read_to_string(&files.cert).unwrap(), before);
        let other = rcgen::KeyPair::generate().unwrap();
        std::fs::write(&files.key, other.serialize_pem()).unwrap();
        dev_certificate(dir.path()).unwrap();
        assert_ne!(std::fs::read_to_string(&files.cert).unwrap(), before);
        assert!(load_certified_key(&files).is_ok());
    }
}
