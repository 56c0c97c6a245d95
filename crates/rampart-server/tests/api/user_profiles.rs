//! Users' profiles (display name, email, email_verified) through the admin API, the CLI
//! and the import.

use std::ffi::OsStr;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, USER_PW, assert_oauth_error};

async fn create(app: &TestApp, body: Value) -> reqwest::Response {
    let admin = app.admin_token().await;
    app.admin(Method::POST, "/admin/users", &admin, Some(body))
        .await
}

async fn patch(app: &TestApp, id: &str, body: Value) -> reqwest::Response {
    let admin = app.admin_token().await;
    app.admin(
        Method::PATCH,
        &format!("/admin/users/{id}"),
        &admin,
        Some(body),
    )
    .await
}

async fn get(app: &TestApp, id: &str) -> Value {
    let admin = app.admin_token().await;
    app.admin(Method::GET, &format!("/admin/users/{id}"), &admin, None)
        .await
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_profile_is_stored_shown_and_trimmed_and_absent_by_default() {
    let app = TestApp::spawn().await;

    let response = create(
        &app,
        json!({"username": "ada", "password": USER_PW, "roles": ["user"],
               "name": "  Ada Lovelace ", "email": "ada@example.com", "email_verified": true}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let ada: Value = response.json().await.unwrap();
    let plain: Value = create(&app, json!({"username": "bob", "password": USER_PW}))
        .await
        .json()
        .await
        .unwrap();

    let ada = get(&app, ada["id"].as_str().unwrap()).await;
    assert_eq!(ada["name"], "Ada Lovelace");
    assert_eq!(ada["email"], "ada@example.com");
    assert_eq!(ada["email_verified"], true);
    assert_eq!(
        (&plain["name"], &plain["email"], &plain["email_verified"]),
        (&Value::Null, &Value::Null, &json!(false))
    );
}

#[tokio::test]
async fn an_invalid_profile_is_400_and_creates_nothing() {
    let app = TestApp::spawn().await;
    let cases = [
        ("a blank name", json!({"name": "   "}), "name"),
        ("a name with a newline", json!({"name": "a\nb"}), "name"),
        (
            "an address without @",
            json!({"email": "ada.example.com"}),
            "email",
        ),
        (
            "an address with a space",
            json!({"email": "ada lovelace@example.com"}),
            "email",
        ),
        (
            "verified without an address",
            json!({"email_verified": true}),
            "email_verified",
        ),
    ];
    for (name, extra, mentions) in cases {
        let mut body = json!({"username": "eve", "password": USER_PW});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());

        let response = create(&app, body).await;

        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{name}");
        let body: Value = response.json().await.unwrap();
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .contains(mentions),
            "{name}: {body}"
        );
    }
    let admin = app.admin_token().await;
    let list: Value = app
        .admin(Method::GET, "/admin/users?q=eve", &admin, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"], json!([]), "no user was created");
}

#[tokio::test]
async fn a_patch_sets_and_removes_profile_members_and_a_new_email_is_unverified() {
    let app = TestApp::spawn().await;
    let created: Value = create(
        &app,
        json!({"username": "ada", "password": USER_PW, "roles": ["user"],
               "name": "Ada", "email": "ada@example.com", "email_verified": true}),
    )
    .await
    .json()
    .await
    .unwrap();
    let id = created["id"].as_str().unwrap();

    // The name alone: the verified email stays verified.
    let renamed: Value = patch(&app, id, json!({"name": "Ada King"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            &renamed["name"],
            &renamed["email"],
            &renamed["email_verified"]
        ),
        (&json!("Ada King"), &json!("ada@example.com"), &json!(true))
    );
    // A new address is not verified unless the PATCH says so.
    let moved: Value = patch(&app, id, json!({"email": "ada@lovelace.example"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(moved["email_verified"], false);
    let verified: Value = patch(&app, id, json!({"email_verified": true}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(verified["email_verified"], true);
    // null removes a member.
    let removed: Value = patch(
        &app,
        id,
        json!({"name": null, "email": null, "email_verified": false}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        (&removed["name"], &removed["email"]),
        (&Value::Null, &Value::Null)
    );

    // A bad profile beside a valid role change: nothing is written.
    let refused = patch(&app, id, json!({"roles": ["admin"], "email": "nope"})).await;
    assert_oauth_error(refused, StatusCode::BAD_REQUEST, "invalid_request").await;
    let refused = patch(&app, id, json!({"email_verified": true})).await;
    assert_oauth_error(refused, StatusCode::BAD_REQUEST, "invalid_request").await;
    let after = get(&app, id).await;
    assert_eq!(
        after["roles"],
        json!(["user"]),
        "the role change was not applied"
    );
    assert_eq!(after["email_verified"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_and_the_import_set_profiles() {
    let app = TestApp::spawn().await;
    let args = [
        "user",
        "create",
        "grace",
        "--display-name",
        "Grace Hopper",
        "--email",
        "grace@example.com",
        "--email-verified",
    ]
    .map(OsStr::new);
    let out = app.cli_with_env(&args, &[("RAMPART_PASSWORD", USER_PW)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let hash = bcrypt::hash("an imported password", 4).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("users.csv");
    std::fs::write(
        &file,
        format!(
            "username,password_hash,roles,name,email,email_verified\n\
             alan,{hash},user,Alan Turing,alan@example.com,true\n\
             kurt,{hash},user,,,\n"
        ),
    )
    .unwrap();
    let out = app.cli(&[OsStr::new("user"), OsStr::new("import"), file.as_os_str()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(
        &bad,
        format!("{{\"username\":\"nina\",\"password_hash\":\"{hash}\",\"email_verified\":true}}\n"),
    )
    .unwrap();
    let out = app.cli(&[OsStr::new("user"), OsStr::new("import"), bad.as_os_str()]);
    assert!(!out.status.success());
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.contains("line 1: email_verified needs an email"),
        "{report}"
    );

    let admin = app.admin_token().await;
    let users: Value = app
        .admin(Method::GET, "/admin/users", &admin, None)
        .await
        .json()
        .await
        .unwrap();
    let by_name = |name: &str| {
        users["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["username"] == name)
            .cloned()
            .unwrap_or(Value::Null)
    };
    let grace = by_name("grace");
    assert_eq!(
        (&grace["name"], &grace["email"], &grace["email_verified"]),
        (
            &json!("Grace Hopper"),
            &json!("grace@example.com"),
            &json!(true)
        )
    );
    let alan = by_name("alan");
    assert_eq!(
        (&alan["name"], &alan["email_verified"]),
        (&json!("Alan Turing"), &json!(true))
    );
    let kurt = by_name("kurt");
    assert_eq!(
        (&kurt["name"], &kurt["email"]),
        (&Value::Null, &Value::Null),
        "empty cells"
    );
    assert_eq!(by_name("nina"), Value::Null);
}
