//! End to end behind a real nginx (Debian's `nginx-light`, installed by `.ci/run`):
//! Rampart in proxy mode, nginx terminating TLS with the configuration of
//! docs/deployment.md.
#![allow(clippy::unwrap_used)]

use std::net::{SocketAddr, TcpListener as StdListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use rampart_server::config::TlsMode;
use rampart_server::{Application, Config};
use secrecy::SecretString;

const ADMIN_PW: &str = "correct horse battery staple";

struct Nginx(Child);

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn nginx_binary() -> &'static str {
    for candidate in ["/usr/sbin/nginx", "/usr/bin/nginx"] {
        if Path::new(candidate).exists() {
            return candidate;
        }
    }
    panic!("nginx is required for this test: apt-get install nginx-light (.ci/run does)");
}

fn start_nginx(dir: &Path, upstream: SocketAddr, tls_port: u16, plain_port: u16) -> Nginx {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    std::fs::write(dir.join("nginx-cert.pem"), cert.cert.pem()).unwrap();
    std::fs::write(dir.join("nginx-key.pem"), cert.signing_key.serialize_pem()).unwrap();
    for sub in ["body", "proxy", "fastcgi", "uwsgi", "scgi"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    let d = dir.display();
    let conf = format!(
        r#"
user root;
worker_processes 1;
daemon off;
pid {d}/nginx.pid;
error_log {d}/nginx-error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    upstream rampart {{
        server {upstream};
        keepalive 8;
    }}
    server {{
        listen 127.0.0.1:{tls_port} ssl http2;
        server_name localhost;
        ssl_certificate     {d}/nginx-cert.pem;
        ssl_certificate_key {d}/nginx-key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
        location / {{
            proxy_pass http://rampart;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Forwarded-Proto $scheme;
        }}
    }}
    server {{
        listen 127.0.0.1:{plain_port};
        location / {{
            proxy_pass http://rampart;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Forwarded-Proto $scheme;
        }}
    }}
}}
"#
    );
    std::fs::write(dir.join("nginx.conf"), conf).unwrap();
    let child = Command::new(nginx_binary())
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    Nginx(child)
}

async fn wait_for(port: u16) {
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("nginx did not start listening on {port}");
}

#[tokio::test]
async fn behind_nginx_https_works_and_plain_http_is_redirected_or_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::for_tests(dir.path());
    config.tls_mode = TlsMode::Proxy;
    config.trusted_proxies = vec!["127.0.0.1/32".to_owned()];
    config.bootstrap_admin_password = Some(SecretString::from(ADMIN_PW));
    let app = Application::build(config).await.unwrap();
    let upstream = app.address();
    tokio::spawn(app.run_until(std::future::pending()));

    let (tls_port, plain_port) = (free_port(), free_port());
    let _nginx = start_nginx(dir.path(), upstream, tls_port, plain_port);
    wait_for(tls_port).await;
    wait_for(plain_port).await;

    let pem = std::fs::read(dir.path().join("nginx-cert.pem")).unwrap();
    let https = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let base = format!("https://localhost:{tls_port}");

    // Arrange / Act: a password grant through nginx over HTTPS.
    let health = https.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(
        health.headers()["strict-transport-security"],
        "max-age=63072000; includeSubDomains"
    );
    let token = https
        .post(format!("{base}/oauth/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", "admin"),
            ("password", ADMIN_PW),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), 200, "{:?}", token.text().await);

    // Plain HTTP through nginx: X-Forwarded-Proto is http, so Rampart redirects GETs …
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let get = plain
        .get(format!("http://127.0.0.1:{plain_port}/users/me?a=1"))
        // nginx overwrites a client's own claim to be on https.
        .header("X-Forwarded-Proto", "https")
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 308);
    assert_eq!(
        get.headers()["location"],
        "https://localhost:8443/users/me?a=1"
    );
    // … and refuses credentials.
    let post = plain
        .post(format!("http://127.0.0.1:{plain_port}/oauth/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", "admin"),
            ("password", ADMIN_PW),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 400);
    let body: serde_json::Value = post.json().await.unwrap();
    assert_eq!(body["error"], "https_required");
}
