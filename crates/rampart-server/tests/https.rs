//! HTTPS done right: real TLS handshakes against the server, the plain-HTTP redirect
//! listener, HSTS and security headers, certificate hot reload, and refusing to start
//! without a certificate.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rampart_server::config::TlsMode;
use rampart_server::{Application, Config};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

struct TlsApp {
    https: SocketAddr,
    http: Option<SocketAddr>,
    cert: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

async fn spawn_dev() -> TlsApp {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::for_tests(dir.path());
    config.tls_mode = TlsMode::Native;
    config.dev = true;
    config.http_addr = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
    let app = Application::build(config).await.unwrap();
    let https = app.address();
    let http = app.http_address();
    let cert = app.dev_cert().unwrap().to_path_buf();
    tokio::spawn(app.run_until(std::future::pending()));
    TlsApp {
        https,
        http,
        cert,
        _dir: dir,
    }
}

fn roots(cert: &Path) -> RootCertStore {
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(cert).unwrap())
        .unwrap();
    roots
}

fn client(
    cert: &Path,
    versions: &[&'static rustls::SupportedProtocolVersion],
    alpn: &[&[u8]],
) -> TlsConnector {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots(cert))
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    TlsConnector::from(Arc::new(config))
}

fn https_client(cert: &Path) -> reqwest::Client {
    let pem = std::fs::read(cert).unwrap();
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Mozilla "intermediate" (v5.7) cipher suites that rustls implements.
const INTERMEDIATE: &[&str] = &[
    "TLS13_AES_128_GCM_SHA256",
    "TLS13_AES_256_GCM_SHA384",
    "TLS13_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
];

#[tokio::test]
async fn tls13_and_tls12_handshakes_succeed_with_intermediate_suites_and_alpn() {
    let app = spawn_dev().await;
    for (versions, want) in [
        (
            &[&rustls::version::TLS13][..],
            rustls::ProtocolVersion::TLSv1_3,
        ),
        (
            &[&rustls::version::TLS12][..],
            rustls::ProtocolVersion::TLSv1_2,
        ),
    ] {
        let tcp = TcpStream::connect(app.https).await.unwrap();
        let tls = client(&app.cert, versions, &[b"h2", b"http/1.1"])
            .connect(ServerName::try_from("localhost").unwrap(), tcp)
            .await
            .unwrap();
        let (_, conn) = tls.get_ref();
        assert_eq!(conn.protocol_version(), Some(want));
        let suite = format!("{:?}", conn.negotiated_cipher_suite().unwrap().suite());
        assert!(
            INTERMEDIATE.contains(&suite.as_str()),
            "{suite} is not in Mozilla intermediate"
        );
        assert_eq!(
            conn.alpn_protocol(),
            Some(&b"h2"[..]),
            "h2 is offered and preferred"
        );
    }
}

#[tokio::test]
async fn legacy_protocols_and_cbc_suites_are_refused() {
    let app = spawn_dev().await;
    if std::process::Command::new("openssl")
        .arg("version")
        .output()
        .is_err()
    {
        panic!("openssl is required for this test (.ci/run installs it)");
    }
    let target = format!("127.0.0.1:{}", app.https.port());
    // SECLEVEL=0 makes the client willing, so a refusal is the server's.
    let attempts: &[&[&str]] = &[
        &["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"],
        &["-tls1", "-cipher", "DEFAULT@SECLEVEL=0"],
        &["-tls1_2", "-cipher", "AES128-SHA@SECLEVEL=0"],
        &["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA@SECLEVEL=0"],
        &["-tls1_2", "-cipher", "ECDHE-ECDSA-AES256-SHA384@SECLEVEL=0"],
        &["-tls1_2", "-cipher", "AES256-GCM-SHA384@SECLEVEL=0"],
    ];
    // Positive control: the same probe does see a negotiated TLS 1.2 session.
    let control = openssl_negotiates(&target, &["-tls1_2"]).await;
    assert!(control, "the openssl probe itself works");
    for extra in attempts {
        assert!(
            !openssl_negotiates(&target, extra).await,
            "{extra:?} negotiated a session"
        );
    }
}

async fn openssl_negotiates(target: &str, extra: &[&str]) -> bool {
    let target = target.to_owned();
    let args: Vec<String> = extra.iter().map(|s| (*s).to_owned()).collect();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("openssl")
            .args(["s_client", "-connect", &target, "-servername", "localhost"])
            .args(&args)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .any(|l| l.contains("Cipher is") && !l.contains("(NONE)"))
}

#[tokio::test]
async fn every_https_response_carries_hsts_and_security_headers() {
    let app = spawn_dev().await;
    let client = https_client(&app.cert);
    for path in ["/healthz", "/users/me", "/.well-known/jwks.json", "/nope"] {
        let res = client
            .get(format!("https://localhost:{}{path}", app.https.port()))
            .send()
            .await
            .unwrap();
        let h = res.headers();
        assert_eq!(
            h["strict-transport-security"], "max-age=63072000; includeSubDomains",
            "{path}"
        );
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(
            h["content-security-policy"], "frame-ancestors 'none'",
            "{path}"
        );
    }
    let me = client
        .get(format!("https://localhost:{}/users/me", app.https.port()))
        .send()
        .await
        .unwrap();
    assert_eq!(me.headers()["cache-control"], "no-store");
}

#[tokio::test]
async fn plain_http_redirects_get_to_the_configured_origin_even_with_a_hostile_host() {
    let app = spawn_dev().await;
    let http = app.http.unwrap();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = client
        .get(format!("http://{http}/users/me?x=1&y=%2F"))
        .header("Host", "evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 308);
    assert_eq!(
        res.headers()["location"],
        "https://localhost:8443/users/me?x=1&y=%2F"
    );
    assert!(
        res.headers().get("strict-transport-security").is_none(),
        "no HSTS over plain HTTP (RFC 6797 §7.2)"
    );
    let head = client.head(format!("http://{http}/")).send().await.unwrap();
    assert_eq!(head.status(), 308);
}

#[tokio::test]
async fn plain_http_refuses_posts_and_oauth_without_reading_the_body() {
    let app = spawn_dev().await;
    let http = app.http.unwrap();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for (method, path) in [
        ("POST", "/oauth/token"),
        ("GET", "/oauth/token"),
        ("PUT", "/users/me/password"),
        ("DELETE", "/admin/users/x"),
    ] {
        let res = client
            .request(method.parse().unwrap(), format!("http://{http}{path}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=password&username=admin&password=secret")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{method} {path}");
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["error"], "https_required", "{method} {path}");
    }
    // A body that never arrives: the answer must come anyway (the body is not read).
    let mut tcp = TcpStream::connect(http).await.unwrap();
    tcp.write_all(
        b"POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\npassword=",
    )
    .await
    .unwrap();
    let mut buf = vec![0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 400"));
}

#[tokio::test]
async fn a_changed_certificate_is_served_to_new_connections_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    let write = |name: &str| {
        let c = rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), name.to_owned()])
            .unwrap();
        std::fs::write(&key_path, c.signing_key.serialize_pem()).unwrap();
        std::fs::write(&cert_path, c.cert.pem()).unwrap();
        c.cert.der().to_vec()
    };
    let first = write("one.test");
    let mut config = Config::for_tests(dir.path());
    config.tls_mode = TlsMode::Native;
    config.tls_cert = Some(cert_path.clone());
    config.tls_key = Some(key_path.clone());
    let app = Application::build(config).await.unwrap();
    let addr = app.address();
    tokio::spawn(app.run_until(std::future::pending()));

    let seen = || async {
        let mut roots = RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_file(&cert_path).unwrap())
            .unwrap();
        let config = ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        let tcp = TcpStream::connect(addr).await.unwrap();
        let tls = TlsConnector::from(Arc::new(config))
            .connect(ServerName::try_from("localhost").unwrap(), tcp)
            .await;
        tls.ok()
            .map(|s| s.get_ref().1.peer_certificates().unwrap()[0].to_vec())
    };
    assert_eq!(seen().await.as_deref(), Some(first.as_slice()));

    // An open keep-alive connection survives the reload.
    let keep = https_client(&cert_path);
    let url = format!("https://localhost:{}/healthz", addr.port());
    assert_eq!(keep.get(&url).send().await.unwrap().status(), 200);

    tokio::time::sleep(Duration::from_millis(1100)).await; // distinct mtime
    let second = write("two.test");
    let mut switched = false;
    for _ in 0..40 {
        if seen().await.as_deref() == Some(second.as_slice()) {
            switched = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(switched, "the new certificate was never served");
    assert_eq!(
        keep.get(&url).send().await.unwrap().status(),
        200,
        "the old connection still works"
    );

    // A broken certificate keeps the current one.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    std::fs::write(
        &cert_path,
        "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    std::fs::write(
        &cert_path,
        rcgen::generate_simple_self_signed(vec!["x".to_owned()])
            .unwrap()
            .cert
            .pem(),
    )
    .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await; // mismatched key: also refused
    let tcp = TcpStream::connect(addr).await.unwrap();
    let mut roots = RootCertStore::empty();
    roots.add(CertificateDer::from(second.clone())).unwrap();
    let config = ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tls = TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    assert_eq!(
        tls.get_ref().1.peer_certificates().unwrap()[0].as_ref(),
        second.as_slice()
    );
}

#[tokio::test]
async fn without_a_certificate_and_without_dev_the_server_refuses_to_start_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::for_tests(dir.path());
    config.tls_mode = TlsMode::Native;
    let err = Application::build(config).await.err().unwrap();
    let text = format!("{err:#}");
    assert!(
        text.contains("--tls-cert") && text.contains("--dev"),
        "{text}"
    );
}

#[tokio::test]
async fn the_dev_certificate_is_generated_once_with_a_private_key() {
    let app = spawn_dev().await;
    let key = app.cert.with_file_name("dev-key.pem");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let before = std::fs::read(&app.cert).unwrap();
    let (_, _) = rampart_server::tls::dev_certificate(app.cert.parent().unwrap()).unwrap();
    assert_eq!(std::fs::read(&app.cert).unwrap(), before, "not regenerated");
    let res = https_client(&app.cert)
        .get(format!("https://127.0.0.1:{}/healthz", app.https.port()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "valid for 127.0.0.1 too");
}

#[tokio::test]
#[cfg(unix)]
async fn an_existing_world_readable_dev_key_is_replaced_by_an_owner_only_one() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    // A key left without its certificate, world-readable (copied in, an old umask, …).
    let key = dir.path().join("dev-key.pem");
    std::fs::write(&key, "stale").unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut config = Config::for_tests(dir.path());
    config.tls_mode = TlsMode::Native;
    config.dev = true;
    let app = Application::build(config).await.unwrap();
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600,
        "the new private key is never readable by others"
    );
    let pem = std::fs::read_to_string(&key).unwrap();
    assert!(pem.contains("PRIVATE KEY"), "the key was regenerated");
    let master = dir.path().join("master.key");
    if master.exists() {
        assert_eq!(
            std::fs::metadata(&master).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    drop(app);
}

#[tokio::test]
async fn the_jwks_client_trusts_the_dev_certificate_with_ca_file_and_names_the_tls_cause_without_it()
 {
    let app = spawn_dev().await;
    let url = format!(
        "https://localhost:{}/.well-known/jwks.json",
        app.https.port()
    );
    // Without the CA file: refused, and the error says why (not just "could not connect").
    let untrusting = rampart::RemoteJwks::builder(&url).build().unwrap();
    let err = untrusting.refresh().await.unwrap_err().to_string();
    assert!(
        err.contains("could not connect") && err.contains("UnknownIssuer"),
        "the TLS cause is kept: {err}"
    );
    assert!(
        !err.contains(&url),
        "the URL is left to the log line: {err}"
    );
    // With it: one builder call.
    let trusting = rampart::RemoteJwks::builder(&url)
        .ca_file(&app.cert)
        .build()
        .unwrap();
    assert!(trusting.refresh().await.unwrap() >= 1);
    // A CA file that is not there is a build error naming it.
    let missing = app.cert.with_file_name("missing.pem");
    let err = rampart::RemoteJwks::builder(&url)
        .ca_file(&missing)
        .build()
        .unwrap_err()
        .to_string();
    assert!(err.contains("missing.pem"), "{err}");
}

#[tokio::test]
async fn the_dev_certificate_looks_like_a_real_server_certificate() {
    let app = spawn_dev().await;
    let out = std::process::Command::new("openssl")
        .args(["x509", "-noout", "-text", "-in"])
        .arg(&app.cert)
        .output()
        .expect("openssl (./test.sh installs it)");
    let text = String::from_utf8_lossy(&out.stdout);
    for (what, needle) in [
        (
            "a subject naming Rampart",
            "CN = Rampart development certificate (localhost)",
        ),
        (
            "the names it serves",
            "DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1",
        ),
        ("serverAuth", "TLS Web Server Authentication"),
        ("digitalSignature", "Digital Signature"),
        ("not a CA", "CA:FALSE"),
        ("a subject key identifier", "X509v3 Subject Key Identifier"),
        (
            "an authority key identifier",
            "X509v3 Authority Key Identifier",
        ),
    ] {
        assert!(text.contains(needle), "{what}: {needle:?} not in\n{text}");
    }
    let dates = std::process::Command::new("openssl")
        .args([
            "x509",
            "-noout",
            "-startdate",
            "-enddate",
            "-dateopt",
            "iso_8601",
            "-in",
        ])
        .arg(&app.cert)
        .output()
        .unwrap();
    let dates = String::from_utf8_lossy(&dates.stdout);
    let day = |key: &str| {
        let line = dates.lines().find(|l| l.starts_with(key)).unwrap();
        let date = &line[key.len()..key.len() + 10];
        let [y, m, d]: [i64; 3] = date
            .split('-')
            .map(|p| p.parse().unwrap())
            .collect::<Vec<_>>()
            .try_into()
            .unwrap();
        // Days from a civil date (Howard Hinnant's algorithm), enough to compare spans.
        let (y, m) = if m <= 2 { (y - 1, m + 12) } else { (y, m) };
        365 * y + y / 4 - y / 100 + y / 400 + (153 * (m - 3) + 2) / 5 + d
    };
    let lifetime = day("notAfter=") - day("notBefore=");
    assert!(
        (1..=397).contains(&lifetime),
        "lives {lifetime} days:\n{dates}"
    );
}
