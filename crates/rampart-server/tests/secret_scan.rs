//! No password, token, client secret or key in any log line or audit row: every flow runs
//! with known secrets while every log line is captured (JSON, TRACE level), then logs
//! and the audit trail are searched for each secret.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rampart_server::clock::Clock;
use rampart_server::{Application, Config};
use secrecy::SecretString;
use serde_json::{Value, json};

const ADMIN_PW: &str = "admin-Secret-Pass-1";
const ALICE_PW: &str = "alice-Secret-Pass-2";
const ALICE_NEW_PW: &str = "alice-Secret-Pass-3";
const WRONG_PW: &str = "wrong-Secret-Pass-4";

#[derive(Clone)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = Capture(Arc::clone(&buffer));
        tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .init();
        buffer
    })
}

#[tokio::test]
async fn no_secret_reaches_a_log_line_or_an_audit_row() {
    let logs = capture();
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::for_tests(dir.path());
    config.bootstrap_admin_password = Some(SecretString::from(ADMIN_PW));
    config.clock = Clock::manual(1_800_000_000);
    config.key_rotation_delay = std::time::Duration::ZERO;
    let clock = config.clock.clone();
    let app = Application::build(config).await.unwrap();
    let addr = app.address();
    let state = app.state().clone();
    tokio::spawn(app.run_until(std::future::pending()));
    let http = reqwest::Client::new();
    let url = |p: &str| format!("http://{addr}{p}");
    let mut secrets: Vec<String> = vec![
        ADMIN_PW.into(),
        ALICE_PW.into(),
        ALICE_NEW_PW.into(),
        WRONG_PW.into(),
    ];

    let login = |user: &'static str, pw: &'static str, scope: &'static str| {
        http.post(url("/oauth/token"))
            .form(&[
                ("grant_type", "password"),
                ("username", user),
                ("password", pw),
                ("scope", scope),
            ])
            .send()
    };
    let admin: Value = login("admin", ADMIN_PW, "admin profile")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let admin_token = admin["access_token"].as_str().unwrap().to_owned();
    secrets.push(admin_token.clone());
    secrets.push(admin["refresh_token"].as_str().unwrap().to_owned());

    // Admin changes, a confidential client with its secret.
    let res = http
        .post(url("/admin/users"))
        .bearer_auth(&admin_token)
        .json(&json!({"username": "alice", "password": ALICE_PW, "roles": ["user"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let client: Value = http
        .post(url("/admin/clients"))
        .bearer_auth(&admin_token)
        .json(&json!({"name": "svc", "confidential": true, "grants": ["client_credentials"], "scopes": ["profile"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (client_id, client_secret) = (
        client["client_id"].as_str().unwrap().to_owned(),
        client["client_secret"].as_str().unwrap().to_owned(),
    );
    secrets.push(client_secret.clone());

    // Logins, failures, lockout, refresh, reuse, client credentials, introspection, revocation.
    for _ in 0..7 {
        login("alice", WRONG_PW, "profile").await.unwrap();
    }
    clock.advance(3600 * 2);
    let alice: Value = login("alice", ALICE_PW, "profile")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (alice_access, alice_refresh) = (
        alice["access_token"].as_str().unwrap().to_owned(),
        alice["refresh_token"].as_str().unwrap().to_owned(),
    );
    secrets.extend([alice_access.clone(), alice_refresh.clone()]);
    let refreshed: Value = http
        .post(url("/oauth/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", alice_refresh.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    secrets.push(refreshed["refresh_token"].as_str().unwrap().to_owned());
    secrets.push(refreshed["access_token"].as_str().unwrap().to_owned());
    // Reuse of the rotated token.
    http.post(url("/oauth/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", alice_refresh.as_str()),
        ])
        .send()
        .await
        .unwrap();
    let cc: Value = http
        .post(url("/oauth/token"))
        .basic_auth(&client_id, Some(&client_secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    secrets.push(cc["access_token"].as_str().unwrap().to_owned());
    http.post(url("/oauth/token"))
        .basic_auth(&client_id, Some("not-the-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    http.post(url("/oauth/introspect"))
        .basic_auth(&client_id, Some(&client_secret))
        .form(&[("token", alice_access.as_str())])
        .send()
        .await
        .unwrap();
    http.post(url("/oauth/revoke"))
        .form(&[("token", alice_access.as_str())])
        .send()
        .await
        .unwrap();
    // Password change.
    let alice2: Value = login("alice", ALICE_PW, "profile")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token2 = alice2["access_token"].as_str().unwrap().to_owned();
    secrets.push(token2.clone());
    let res = http
        .put(url("/users/me/password"))
        .bearer_auth(&token2)
        .json(&json!({"current_password": ALICE_PW, "new_password": ALICE_NEW_PW}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    // A key rotation.
    state.keys.rotate().await.unwrap();

    // Key material: the master key file and the private signing keys.
    secrets.push(
        std::fs::read_to_string(dir.path().join("master.key"))
            .unwrap()
            .trim()
            .to_owned(),
    );
    let key = state.keys.active().unwrap();
    secrets.push(URL_SAFE_NO_PAD.encode(key.secret_bytes()));
    secrets.push(STANDARD.encode(key.secret_bytes()));

    // Everything the server wrote: logs and the whole audit trail.
    let admin: Value = login("admin", ADMIN_PW, "admin")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let audit: Value = http
        .get(url("/admin/audit?limit=500"))
        .bearer_auth(admin["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kinds: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    for kind in [
        "login_succeeded",
        "login_failed",
        "lockout",
        "refresh",
        "refresh_reuse",
        "client_credentials",
        "client_auth_failed",
        "revocation",
        "password_changed",
        "admin_change",
    ] {
        assert!(
            kinds.contains(&kind),
            "the audit trail has a {kind} event: {kinds:?}"
        );
    }
    let failed = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "login_failed")
        .unwrap();
    assert_eq!(
        failed["reason"], "wrong_password",
        "the reason is kept internally"
    );
    let logs = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("rampart::audit"),
        "audit events are logged too"
    );
    let audit_text = audit.to_string();
    for secret in &secrets {
        assert!(
            secret.len() >= 16,
            "secrets in this test are long enough to grep"
        );
        // A JWT's signature alone must not appear either (a token split across fields).
        let needles: Vec<&str> = std::iter::once(secret.as_str())
            .chain(secret.rsplit('.').next().filter(|s| s.len() >= 16))
            .collect();
        for needle in needles {
            assert!(
                !logs.contains(needle),
                "a secret reached the logs: {}…",
                &needle[..8]
            );
            assert!(
                !audit_text.contains(needle),
                "a secret reached the audit trail: {}…",
                &needle[..8]
            );
        }
    }
}
