//! Swagger UI in a real browser: the server with native TLS and the dev certificate, and
//! headless Debian `chromium` driven by Node's playwright-core (`tests/browser/docs.mjs`):
//! open `/docs`, Authorize with the oauth2 password flow (client `first-party`), "Try it
//! out" on `GET /users/me`, and find the 200 body in the page. Screenshots go to
//! `target/docs-browser/`. A second test (`tests/browser/csrf.mjs`) sends cross-site
//! requests from another site in the same browser and expects every one refused. A
//! third (`tests/browser/signin.mjs`) signs in to a small relying party built on
//! openid-client through the login and consent pages, and logs out; its screenshots of
//! the login and consent pages go to `target/signin-browser/`.
//!
//! Needs `chromium`, `node` and `npm ci --prefix crates/rampart-server/tests/browser`;
//! `.ci/run` installs them. Without them the test fails and says what to install.
#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use rampart_server::config::TlsMode;
use rampart_server::{Application, Config};
use secrecy::SecretString;

const CHROMIUM: &str = "/usr/bin/chromium";

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// `target/docs-browser`, next to cargo's per-target temporary directory.
fn output_dir() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(tmp).join("docs-browser")
}

/// What is missing to run a browser, as instructions.
fn missing_tools() -> Vec<String> {
    let mut missing = Vec::new();
    if !Path::new(CHROMIUM).exists() {
        missing.push(format!("{CHROMIUM} not found: apt-get install -y chromium"));
    }
    let node = std::process::Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !node.is_ok_and(|s| s.success()) {
        missing.push("node not found: apt-get install -y nodejs npm".to_owned());
    }
    if !browser_dir().join("node_modules/playwright-core").exists() {
        missing.push(format!(
            "playwright-core not installed: npm ci --prefix {}",
            browser_dir().display()
        ));
    }
    missing
}

/// Checks the tools, then starts the token server with native TLS and the dev certificate
/// and a known admin password. Keep the directory alive for the test's duration.
async fn start_server() -> (tempfile::TempDir, u16, String) {
    let missing = missing_tools();
    assert!(
        missing.is_empty(),
        "the browser test needs tools that are not installed (.ci/run installs them):\n  {}",
        missing.join("\n  ")
    );
    let dir = tempfile::tempdir().unwrap();
    let password = format!("browser-{}", uuid::Uuid::new_v4());
    let mut config = Config::for_tests(dir.path());
    // The issuer must be the URL the browser and the relying party use: a port picked
    // now (the gap until the server binds it is a test-only race on loopback).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    config.https_addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    config.public_url = format!("https://localhost:{port}");
    config.tls_mode = TlsMode::Native;
    config.dev = true;
    config.bootstrap_admin_password = Some(SecretString::from(password.clone()));
    let app = Application::build(config).await.unwrap();
    let port = app.address().port();
    tokio::spawn(app.run_until(std::future::pending()));
    (dir, port, password)
}

/// Runs a browser script. Every step of a script has its own timeout; this bounds the run.
async fn run_node(mut node: std::process::Command) -> std::process::Output {
    let run = tokio::task::spawn_blocking(move || node.output());
    tokio::time::timeout(Duration::from_secs(180), run)
        .await
        .expect("the browser run finishes within three minutes")
        .unwrap()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn swagger_ui_authorizes_with_the_password_flow_and_shows_users_me() {
    let (_dir, port, password) = start_server().await;
    let out = output_dir();
    std::fs::create_dir_all(&out).unwrap();
    let screenshot = out.join("users-me-200.png");
    let _ = std::fs::remove_file(&screenshot);

    let mut node = std::process::Command::new("node");
    node.arg(browser_dir().join("docs.mjs"))
        .env("RAMPART_URL", format!("https://localhost:{port}"))
        .env("RAMPART_USERNAME", "admin")
        .env("RAMPART_PASSWORD", &password)
        .env("CHROMIUM", CHROMIUM)
        .env("OUT_DIR", &out);
    let output = run_node(node).await;

    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the browser run failed ({}); screenshots in {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status,
        out.display()
    );
    assert!(stdout.contains("GET /users/me -> 200"), "{stdout}");
    assert!(
        std::fs::metadata(&screenshot).is_ok_and(|m| m.len() > 0),
        "no screenshot at {}",
        screenshot.display()
    );
}

/// Swagger UI's "Authorize" with the authorization-code flow and PKCE through the
/// built-in first-party client: the login page in a popup, then a 200 from `/users/me`.
#[tokio::test(flavor = "multi_thread")]
async fn swagger_ui_signs_in_with_the_authorization_code_flow_and_shows_users_me() {
    let (_dir, port, password) = start_server().await;
    let out = output_dir();
    std::fs::create_dir_all(&out).unwrap();

    let mut node = std::process::Command::new("node");
    node.arg(browser_dir().join("docs_code.mjs"))
        .env("RAMPART_URL", format!("https://localhost:{port}"))
        .env("RAMPART_USERNAME", "admin")
        .env("RAMPART_PASSWORD", &password)
        .env("CHROMIUM", CHROMIUM)
        .env("OUT_DIR", &out);
    let output = run_node(node).await;

    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the browser run failed ({}); screenshots in {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status,
        out.display()
    );
    assert!(
        stdout.contains("authorization code flow: GET /users/me -> 200"),
        "{stdout}"
    );
}

/// The attacker's site for the cross-site test: another origin (plain HTTP on 127.0.0.1,
/// while the token server is `https://localhost`) whose pages send the token server a
/// password-grant POST with real credentials, by form and by script.
async fn attacker_site(target: String, username: String, password: String) -> u16 {
    use axum::response::Html;
    use axum::routing::get;
    let form = format!(
        r#"<!doctype html><title>win a prize</title>
<form id="f" method="POST" action="{target}/oauth/token">
<input name="grant_type" value="password"><input name="username" value="{username}">
<input name="password" value="{password}"><input name="client_id" value="first-party">
</form><script>document.getElementById("f").submit()</script>"#
    );
    let fetch = format!(
        r#"<!doctype html><title>win a prize</title><script>
const mode = new URLSearchParams(location.search).get("mode");
const body = new URLSearchParams({{grant_type: "password", username: "{username}", password: "{password}", client_id: "first-party"}});
fetch("{target}/oauth/token", {{method: "POST", mode, credentials: "include", body}}).catch(() => {{}});
</script>"#
    );
    let app = axum::Router::new()
        .route("/form.html", get(move || async move { Html(form) }))
        .route("/fetch.html", get(move || async move { Html(fetch) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    port
}

/// Issue 5's "cross-site requests from a real browser find nothing": chromium on another
/// site submits a login form and fires script requests at the token endpoint with real
/// credentials; every one is refused by the CSRF layer (403 `cross_site_request`), while
/// the same request from the server's own origin logs in (the control).
#[tokio::test(flavor = "multi_thread")]
async fn cross_site_requests_from_a_real_browser_are_refused() {
    let (_dir, port, password) = start_server().await;
    let target = format!("https://localhost:{port}");
    let attacker = attacker_site(target.clone(), "admin".to_owned(), password.clone()).await;

    let mut node = std::process::Command::new("node");
    node.arg(browser_dir().join("csrf.mjs"))
        .env("RAMPART_URL", &target)
        .env("ATTACKER_URL", format!("http://127.0.0.1:{attacker}"))
        .env("RAMPART_USERNAME", "admin")
        .env("RAMPART_PASSWORD", &password)
        .env("CHROMIUM", CHROMIUM);
    let output = run_node(node).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the browser run failed ({})\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
    for line in [
        "same-origin fetch POST /oauth/token -> 200",
        "cross-site form POST /oauth/token -> 403",
        "cross-site fetch (no-cors) POST /oauth/token -> 403",
    ] {
        assert!(stdout.contains(line), "missing {line:?} in\n{stdout}");
    }
}

/// Issue 17's real-browser run: an openid-client relying party → the login page (a wrong
/// password, then the right one) → consent → the callback (code, PKCE, ID token checked by
/// openid-client) → /userinfo → RP-initiated logout → the login page again.
#[tokio::test(flavor = "multi_thread")]
async fn a_relying_party_signs_a_user_in_through_the_login_and_consent_pages_and_out() {
    let (dir, port, password) = start_server().await;
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let out = tmp.parent().unwrap_or(tmp).join("signin-browser");
    std::fs::create_dir_all(&out).unwrap();
    for name in [
        "login.png",
        "login-320.png",
        "consent.png",
        "signin-failure.png",
    ] {
        let _ = std::fs::remove_file(out.join(name));
    }

    let mut node = std::process::Command::new("node");
    node.arg(browser_dir().join("signin.mjs"))
        .env("RAMPART_URL", format!("https://localhost:{port}"))
        .env("RAMPART_PASSWORD", &password)
        .env("NODE_EXTRA_CA_CERTS", dir.path().join("dev-cert.pem"))
        .env("CHROMIUM", CHROMIUM)
        .env("OUT_DIR", &out);
    let output = run_node(node).await;

    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the browser run failed ({}); screenshots in {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status,
        out.display()
    );
    for line in [
        "signed in through openid-client: Hello admin",
        "RP-initiated logout -> back at the app",
        "after logout the login page shows again",
    ] {
        assert!(stdout.contains(line), "missing {line:?} in\n{stdout}");
    }
    for name in ["login.png", "login-320.png", "consent.png"] {
        assert!(
            std::fs::metadata(out.join(name)).is_ok_and(|m| m.len() > 0),
            "no screenshot {name} in {}",
            out.display()
        );
    }
}
