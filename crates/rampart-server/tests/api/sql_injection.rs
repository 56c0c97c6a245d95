//! SQL-injection payloads in every input the API takes: nothing changes, nothing leaks,
//! and a payload that is a legal name is stored literally.

use serde_json::{Value, json};

use crate::helpers::{TestApp, throttle_defaults, urlencode};

#[tokio::test]
async fn sql_injection_payloads_change_nothing_and_leak_nothing() {
    let app = TestApp::spawn_with(throttle_defaults).await;
    let token = app.admin_token().await;
    let before = snapshot(&app, &token).await;
    let payloads = [
        "' OR '1'='1",
        "admin'--",
        "'; DROP TABLE users; --",
        "\" OR \"\"=\"",
        "1; DELETE FROM clients",
        "%' OR 1=1 --",
        "_%",
        "\\'; SELECT sqlite_version(); --",
        "admin\u{0}",
    ];
    let mut bodies = Vec::new();
    for p in payloads {
        let token = app.admin_token().await;
        let enc = urlencode(p);
        let requests = vec![
            app.client().post(app.url("/oauth/token")).form(&[("grant_type", "password"), ("username", p), ("password", p)]),
            app.client().post(app.url("/oauth/token")).form(&[("grant_type", "refresh_token"), ("refresh_token", p)]),
            app.client().post(app.url("/oauth/token")).basic_auth(p, Some(p)).form(&[("grant_type", "client_credentials"), ("scope", p)]),
            app.client().post(app.url("/oauth/revoke")).form(&[("token", p)]),
            app.client().get(app.url(&format!("/admin/users?q={enc}"))).bearer_auth(&token),
            app.client().get(app.url(&format!("/admin/users?cursor={enc}"))).bearer_auth(&token),
            app.client().get(app.url(&format!("/admin/users/{enc}"))).bearer_auth(&token),
            app.client().delete(app.url(&format!("/admin/users/{enc}"))).bearer_auth(&token),
            app.client().delete(app.url(&format!("/admin/roles/{enc}"))).bearer_auth(&token),
            app.client().delete(app.url(&format!("/admin/clients/{enc}"))).bearer_auth(&token),
            app.client().delete(app.url(&format!("/admin/sessions/{enc}"))).bearer_auth(&token),
            app.client().get(app.url(&format!("/admin/sessions?user_id={enc}"))).bearer_auth(&token),
            app.client().post(app.url("/admin/users")).bearer_auth(&token).json(&json!({"username": p, "password": "violet kettle marching", "roles": [p]})),
            app.client().post(app.url("/admin/roles")).bearer_auth(&token).json(&json!({"name": p, "scopes": [p]})),
            app.client().put(app.url(&format!("/admin/roles/{enc}"))).bearer_auth(&token).json(&json!({"scopes": [p]})),
            app.client().post(app.url("/admin/clients")).bearer_auth(&token).json(&json!({"name": "x", "confidential": true, "grants": [p], "scopes": [p], "audience": p})),
        ];
        for req in requests {
            let res = req.send().await.unwrap();
            let status = res.status();
            let body = res.text().await.unwrap();
            assert!(status.as_u16() < 500, "{p:?}: {status} {body}");
            bodies.push(body);
        }
        // Not locked out by our own probing: move past any backoff (the admin token,
        // valid 15 min, is re-issued below).
        app.clock().advance(3600 * 2);
    }
    for body in &bodies {
        let lower = body.to_lowercase();
        for leak in [
            "sqlite",
            "postgres",
            "syntax",
            "sqlx",
            "near \"",
            "constraint",
            "relation \"",
        ] {
            assert!(!lower.contains(leak), "error text leaked: {body}");
        }
    }
    // The probing moved the clock by hours: log in again for the final look.
    let fresh = app.admin_token().await;
    assert_eq!(
        snapshot(&app, &fresh).await,
        before,
        "the database is unchanged"
    );

    // Where a payload is a legal name, it is stored literally: proof that it travelled
    // as a bound parameter, not as SQL.
    let name = "x';DROP--";
    let res = app
        .client()
        .put(app.url(&format!("/admin/scopes/{}", urlencode(name))))
        .bearer_auth(&fresh)
        .json(&json!({"description": "'); DELETE FROM scopes; --"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let scopes: Value = app
        .client()
        .get(app.url("/admin/scopes"))
        .bearer_auth(&fresh)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let stored = scopes
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap();
    assert_eq!(stored["description"], "'); DELETE FROM scopes; --");
    assert_eq!(
        scopes.as_array().unwrap().len(),
        6,
        "the five built-in scopes and the new one: none deleted"
    );
}

async fn snapshot(app: &TestApp, token: &str) -> Vec<Value> {
    let mut state = Vec::new();
    for path in [
        "/admin/users?limit=200",
        "/admin/roles",
        "/admin/clients",
        "/admin/scopes",
    ] {
        let res = app
            .client()
            .get(app.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        state.push(res.json::<Value>().await.unwrap());
    }
    state
}
