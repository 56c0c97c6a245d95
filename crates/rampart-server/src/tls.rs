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

/// The development certificate for `localhost`, `127.0.0.1` and `::1`, generated once
/// into the data dir (key mode 0600, written atomically: see [`crate::private_file`]). Returns the files and the certificate's SHA-256
/// fingerprint.
pub fn dev_certificate(data_dir: &Path) -> anyhow::Result<(CertFiles, String)> {
    let files = CertFiles {
        cert: data_dir.join("dev-cert.pem"),
        key: data_dir.join("dev-key.pem"),
    };
    if !(files.cert.exists() && files.key.exists()) {
        let generated = rcgen::generate_simple_self_signed(vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
            "::1".to_owned(),
        ])
        .context("generating the development certificate")?;
        // The key first: a crash in between leaves no certificate, so the next start
        // makes both again rather than pairing a certificate with a key it does not match.
        crate::private_file::replace(&files.key, generated.signing_key.serialize_pem().as_bytes())
            .with_context(|| format!("writing {}", files.key.display()))?;
        crate::private_file::replace(&files.cert, generated.cert.pem().as_bytes())
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
