//! `/admin/users`: create, list (prefix search, cursor pagination), get, update, delete.

use reqwest::{StatusCode, header};
use serde_json::{Value, json};

use crate::helpers::{ADMIN_PW, ClientAuth, TestApp, USER_PW, assert_oauth_error};

#[tokio::test]
async fn creating_a_user_answers_201_with_the_user_and_never_the_hash() {
    // Arrange
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;

    // Act
    let response = app.create_user(&admin, "Alice", USER_PW, &["user"]).await;

    // Assert
    assert_eq!(response.status(), StatusCode::CREATED);
    let text = response.text().await.unwrap();
    assert!(
        !text.contains("argon2") && !text.contains(USER_PW),
        "{text}"
    );
    let user: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(user["username"], "alice", "usernames are normalised");
    assert_eq!(user["roles"], json!(["user"]));
    assert_eq!(user["disabled"], false);
    assert!(user["id"].is_string());
    assert!(user.get("password_hash").is_none());
    assert!(user.get("password").is_none());
}

#[tokio::test]
async fn a_created_user_can_log_in() {
    let app = TestApp::spawn().await;
    app.given_user("bob", &["user"]).await;

    let response = app
        .password_grant("bob", USER_PW, None, ClientAuth::FirstParty)
        .await;

    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_duplicate_username_is_409_even_in_another_case() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    app.given_user("carol", &[]).await;

    let response = app.create_user(&admin, "CAROL", USER_PW, &[]).await;

    assert_eq!(response.status(), StatusCode::CONFLICT);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "conflict");
}

#[tokio::test]
async fn a_bad_username_a_short_password_or_an_unknown_role_is_400() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let cases = [
        ("spaces are bad", USER_PW, "user"),
        ("dave", "short", "user"),
        ("dave", USER_PW, "no-such-role"),
    ];

    for (username, password, role) in cases {
        let response = app.create_user(&admin, username, password, &[role]).await;

        assert_eq!(
            response.status(),
            StatusCode::BAD_REQUEST,
            "{username} {role}"
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_request");
        assert!(body["error_description"].is_string());
    }
}

#[tokio::test]
async fn a_malformed_json_body_is_400_in_the_error_shape() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;

    let response = app
        .client()
        .post(app.url("/admin/users"))
        .bearer_auth(&admin)
        .header(header::CONTENT_TYPE, "application/json")
        .body("{\"username\": \"x\", \"password\": ")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
    assert!(body["error_description"].is_string());
}

#[tokio::test]
async fn a_json_body_of_the_wrong_shape_or_media_type_is_400_in_the_error_shape() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;

    let wrong_shape = app
        .admin(
            reqwest::Method::POST,
            "/admin/users",
            &admin,
            Some(json!({"username": 42})),
        )
        .await;
    let not_json = app
        .client()
        .post(app.url("/admin/users"))
        .bearer_auth(&admin)
        .header(header::CONTENT_TYPE, "text/plain")
        .body("username=x")
        .send()
        .await
        .unwrap();

    for response in [wrong_shape, not_json] {
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_request");
    }
}

#[tokio::test]
async fn the_user_list_pages_through_a_prefix_search_with_a_cursor() {
    // Arrange: seven matching users and two that do not match.
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    for i in 1..=7 {
        let response = app
            .create_user(&admin, &format!("team-{i}"), USER_PW, &["user"])
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    for name in ["teal", "other"] {
        app.create_user(&admin, name, USER_PW, &[]).await;
    }

    // Act: pages of three.
    let mut seen = Vec::new();
    let mut pages = 0;
    let mut query = "q=TEAM-&limit=3".to_owned();
    loop {
        let response = app.list_users(&admin, &query).await;
        assert_eq!(response.status(), StatusCode::OK);
        let page: Value = response.json().await.unwrap();
        pages += 1;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 3);
        seen.extend(
            items
                .iter()
                .map(|u| u["username"].as_str().unwrap().to_owned()),
        );
        assert!(items.iter().all(|u| u.get("password_hash").is_none()));
        match page["next_cursor"].as_str() {
            Some(cursor) => query = format!("q=TEAM-&limit=3&cursor={cursor}"),
            None => break,
        }
        assert!(pages < 10, "pagination must end");
    }

    // Assert
    assert_eq!(pages, 3);
    let expected: Vec<String> = (1..=7).map(|i| format!("team-{i}")).collect();
    assert_eq!(seen, expected, "each user once, in username order");
}

#[tokio::test]
async fn a_prefix_search_treats_like_wildcards_literally() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    app.create_user(&admin, "a_b", USER_PW, &[]).await;
    app.create_user(&admin, "axb", USER_PW, &[]).await;

    let page: Value = app.list_users(&admin, "q=a_").await.json().await.unwrap();

    let names: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["a_b"]);
}

#[tokio::test]
async fn a_bad_limit_or_cursor_is_400() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;

    for query in ["limit=0", "limit=201", "cursor=!!!", "limit=abc"] {
        let response = app.list_users(&admin, query).await;

        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_request", "{query}");
    }
}

#[tokio::test]
async fn a_user_can_be_read_by_id_and_an_unknown_id_is_404() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let id = app.given_user("erin", &["user"]).await;

    let found = app.get_user(&admin, &id).await;
    let missing = app
        .get_user(&admin, "00000000-0000-0000-0000-000000000000")
        .await;
    let not_a_uuid = app.get_user(&admin, "erin").await;

    assert_eq!(found.status(), StatusCode::OK);
    let user: Value = found.json().await.unwrap();
    assert_eq!(user["username"], "erin");
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(not_a_uuid.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn patching_roles_changes_what_a_user_may_be_granted() {
    // Arrange
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let id = app.given_user("frank", &["user"]).await;

    // Act
    let response = app
        .update_user(&admin, &id, json!({"roles": ["admin", "user"]}))
        .await;

    // Assert
    assert_eq!(response.status(), StatusCode::OK);
    let user: Value = response.json().await.unwrap();
    assert_eq!(user["roles"], json!(["admin", "user"]));
    let tokens = app.login("frank", USER_PW, Some("admin")).await;
    assert_eq!(tokens.scope, "admin");
}

#[tokio::test]
async fn disabling_a_user_blocks_login_and_revokes_their_refresh_tokens() {
    // Arrange
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let id = app.given_user("grace", &["user"]).await;
    let refresh = app
        .login("grace", USER_PW, None)
        .await
        .refresh_token
        .unwrap();

    // Act
    let response = app
        .update_user(&admin, &id, json!({"disabled": true}))
        .await;

    // Assert
    assert_eq!(response.status(), StatusCode::OK);
    let user: Value = response.json().await.unwrap();
    assert_eq!(user["disabled"], true);
    let login = app
        .password_grant("grace", USER_PW, None, ClientAuth::FirstParty)
        .await;
    let login = assert_oauth_error(login, StatusCode::BAD_REQUEST, "invalid_grant").await;
    let wrong = app
        .password_grant("grace", "wrong password", None, ClientAuth::FirstParty)
        .await;
    let wrong = assert_oauth_error(wrong, StatusCode::BAD_REQUEST, "invalid_grant").await;
    assert_eq!(login, wrong, "a disabled account is not revealed");
    let refreshed = app.refresh(&refresh, None, ClientAuth::FirstParty).await;
    assert_oauth_error(refreshed, StatusCode::BAD_REQUEST, "invalid_grant").await;
}

#[tokio::test]
async fn a_re_enabled_user_can_log_in_again() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let id = app.given_user("heidi", &["user"]).await;
    app.update_user(&admin, &id, json!({"disabled": true}))
        .await;

    app.update_user(&admin, &id, json!({"disabled": false}))
        .await;

    app.login("heidi", USER_PW, None).await;
}

#[tokio::test]
async fn an_unknown_field_in_a_patch_is_400() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let id = app.given_user("ivan", &["user"]).await;

    let response = app
        .update_user(&admin, &id, json!({"password_hash": "$argon2id$x"}))
        .await;

    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn deleting_a_user_answers_204_and_ends_their_sessions() {
    // Arrange
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let id = app.given_user("judy", &["user"]).await;
    let refresh = app
        .login("judy", USER_PW, None)
        .await
        .refresh_token
        .unwrap();

    // Act
    let response = app.delete_user(&admin, &id).await;

    // Assert
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get_user(&admin, &id).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.delete_user(&admin, &id).await.status(),
        StatusCode::NOT_FOUND
    );
    let refreshed = app.refresh(&refresh, None, ClientAuth::FirstParty).await;
    assert_oauth_error(refreshed, StatusCode::BAD_REQUEST, "invalid_grant").await;
    let login = app
        .password_grant("judy", USER_PW, None, ClientAuth::FirstParty)
        .await;
    assert_oauth_error(login, StatusCode::BAD_REQUEST, "invalid_grant").await;
}

#[tokio::test]
async fn the_last_enabled_administrator_cannot_be_removed() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let me: Value = app.me(&admin).await.json().await.unwrap();
    let id = me["id"].as_str().unwrap();

    let disable = app.update_user(&admin, id, json!({"disabled": true})).await;
    let demote = app
        .update_user(&admin, id, json!({"roles": ["user"]}))
        .await;
    let delete = app.delete_user(&admin, id).await;

    assert_eq!(disable.status(), StatusCode::CONFLICT);
    assert_eq!(demote.status(), StatusCode::CONFLICT);
    assert_eq!(delete.status(), StatusCode::CONFLICT);
    let body: Value = delete.json().await.unwrap();
    assert_eq!(
        body["error_description"],
        "refusing to remove the last enabled administrator"
    );
    app.login("admin", ADMIN_PW, None).await;
}
