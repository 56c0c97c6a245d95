//! The refresh_token grant (RFC 6749 §6): rotation, reuse detection (RFC 9700 §4.14.2),
//! binding to the client, scope narrowing, expiry.

use std::sync::Arc;

use rampart_server::clock::Clock;
use reqwest::{StatusCode, header};

use crate::helpers::{
    ADMIN_PW, ClientAuth, TestApp, USER_PW, assert_oauth_error, jwt_parts, tokens,
};

#[tokio::test]
async fn a_refresh_returns_new_tokens_and_a_new_refresh_token() {
    // Arrange
    let app = TestApp::spawn().await;
    let login = app.login("admin", ADMIN_PW, Some("admin profile")).await;
    let old = login.refresh_token.unwrap();

    // Act
    let response = app.refresh(&old, None, ClientAuth::FirstParty).await;

    // Assert
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
    assert_eq!(response.headers()[header::PRAGMA], "no-cache");
    let refreshed = tokens(response).await;
    let new = refreshed.refresh_token.unwrap();
    assert_ne!(new, old, "rotated on every use");
    assert_ne!(refreshed.access_token, login.access_token);
    assert_eq!(
        refreshed.scope, "admin profile",
        "the original scope by default"
    );
    assert_eq!(
        app.me(&refreshed.access_token).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_rotated_refresh_token_no_longer_works() {
    let app = TestApp::spawn().await;
    let old = app
        .login("admin", ADMIN_PW, None)
        .await
        .refresh_token
        .unwrap();
    tokens(app.refresh(&old, None, ClientAuth::FirstParty).await).await;

    let response = app.refresh(&old, None, ClientAuth::FirstParty).await;

    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
}

#[tokio::test]
async fn a_rotated_refresh_token_used_twice_revokes_the_family() {
    // Arrange: login → r1; r1 → r2; r2 → r3 (the newest).
    let app = TestApp::spawn().await;
    let r1 = app
        .login("admin", ADMIN_PW, None)
        .await
        .refresh_token
        .unwrap();
    let r2 = tokens(app.refresh(&r1, None, ClientAuth::FirstParty).await)
        .await
        .refresh_token
        .unwrap();
    let r3 = tokens(app.refresh(&r2, None, ClientAuth::FirstParty).await)
        .await
        .refresh_token
        .unwrap();

    // Act: the stolen r1 is replayed.
    let replay = app.refresh(&r1, None, ClientAuth::FirstParty).await;

    // Assert: refused, and the newest token of the family is dead too.
    assert_oauth_error(replay, StatusCode::BAD_REQUEST, "invalid_grant").await;
    let newest = app.refresh(&r3, None, ClientAuth::FirstParty).await;
    assert_oauth_error(newest, StatusCode::BAD_REQUEST, "invalid_grant").await;
}

#[tokio::test]
async fn reuse_detection_leaves_other_sessions_of_the_user_alone() {
    let app = TestApp::spawn().await;
    let stolen = app
        .login("admin", ADMIN_PW, None)
        .await
        .refresh_token
        .unwrap();
    let other_session = app
        .login("admin", ADMIN_PW, None)
        .await
        .refresh_token
        .unwrap();
    tokens(app.refresh(&stolen, None, ClientAuth::FirstParty).await).await;
    app.refresh(&stolen, None, ClientAuth::FirstParty).await;

    let response = app
        .refresh(&other_session, None, ClientAuth::FirstParty)
        .await;

    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_twenty_concurrent_refreshes_with_one_token_exactly_one_succeeds() {
    // Arrange
    let app = Arc::new(TestApp::spawn().await);
    let token = app
        .login("admin", ADMIN_PW, None)
        .await
        .refresh_token
        .unwrap();

    // Act
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let app = Arc::clone(&app);
            let token = token.clone();
            tokio::spawn(async move {
                app.refresh(&token, None, ClientAuth::FirstParty)
                    .await
                    .status()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }

    // Assert
    let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::BAD_REQUEST)
        .count();
    assert_eq!((ok, refused), (1, 19), "{statuses:?}");
}

#[tokio::test]
async fn a_refresh_token_of_client_a_presented_by_client_b_is_invalid_grant() {
    // Arrange
    let app = TestApp::spawn().await;
    app.given_user("heidi", &["user"]).await;
    let a = app
        .given_client(false, &["password", "refresh_token"], &["profile"], None)
        .await;
    let b = app
        .given_client(true, &["password", "refresh_token"], &["profile"], None)
        .await;
    let token = tokens(app.password_grant("heidi", USER_PW, None, a.auth()).await)
        .await
        .refresh_token
        .unwrap();

    // Act
    let by_b = app.refresh(&token, None, b.auth()).await;
    let by_first_party = app.refresh(&token, None, ClientAuth::FirstParty).await;

    // Assert: refused, and the rightful client can still use it.
    assert_oauth_error(by_b, StatusCode::BAD_REQUEST, "invalid_grant").await;
    assert_oauth_error(by_first_party, StatusCode::BAD_REQUEST, "invalid_grant").await;
    assert_eq!(
        app.refresh(&token, None, a.auth()).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_refresh_may_narrow_the_scope() {
    let app = TestApp::spawn().await;
    let token = app
        .login("admin", ADMIN_PW, Some("admin profile"))
        .await
        .refresh_token
        .unwrap();

    let refreshed = tokens(
        app.refresh(&token, Some("profile"), ClientAuth::FirstParty)
            .await,
    )
    .await;

    assert_eq!(refreshed.scope, "profile");
    let (_, claims) = jwt_parts(&refreshed.access_token);
    assert_eq!(claims["scope"], "profile");
}

#[tokio::test]
async fn a_refresh_may_not_widen_the_scope() {
    let app = TestApp::spawn().await;
    let token = app
        .login("admin", ADMIN_PW, Some("profile"))
        .await
        .refresh_token
        .unwrap();

    let response = app
        .refresh(&token, Some("admin profile"), ClientAuth::FirstParty)
        .await;

    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_scope").await;
}

#[tokio::test]
async fn a_refresh_drops_scopes_of_a_role_removed_since_login() {
    // Arrange: an administrator logs in with `admin`, then loses the role.
    let app = TestApp::spawn().await;
    let id = app.given_user("ivan", &["admin"]).await;
    let token = tokens(
        app.password_grant(
            "ivan",
            USER_PW,
            Some("admin profile"),
            ClientAuth::FirstParty,
        )
        .await,
    )
    .await
    .refresh_token
    .unwrap();
    let admin = app.admin_token().await;
    let demoted = app
        .update_user(&admin, &id, serde_json::json!({"roles": ["user"]}))
        .await;
    assert_eq!(demoted.status(), StatusCode::OK);

    // Act
    let refreshed = tokens(app.refresh(&token, None, ClientAuth::FirstParty).await).await;

    // Assert
    assert_eq!(refreshed.scope, "profile");
}

#[tokio::test]
async fn an_idle_refresh_token_expires() {
    let start = 1_700_000_000;
    let app = TestApp::spawn_with(|config| config.clock = Clock::manual(start)).await;
    let token = app
        .login("admin", ADMIN_PW, None)
        .await
        .refresh_token
        .unwrap();

    app.state.accounts.clock.advance(7 * 86_400 + 1);
    let response = app.refresh(&token, None, ClientAuth::FirstParty).await;

    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
}

#[tokio::test]
async fn a_refresh_token_in_use_lives_past_the_idle_timeout_but_not_past_the_absolute_one() {
    // Arrange: refresh every 6 days, well within the 7-day idle timeout.
    let app = TestApp::spawn_with(|config| config.clock = Clock::manual(1_700_000_000)).await;
    let mut token = app
        .login("admin", ADMIN_PW, None)
        .await
        .refresh_token
        .unwrap();
    let clock = app.state.accounts.clock.clone();
    for _ in 0..4 {
        clock.advance(6 * 86_400);
        token = tokens(app.refresh(&token, None, ClientAuth::FirstParty).await)
            .await
            .refresh_token
            .unwrap();
    }

    // Act: day 30 + 1 s, past the absolute lifetime of the family.
    clock.advance(6 * 86_400 + 1);
    let response = app.refresh(&token, None, ClientAuth::FirstParty).await;

    // Assert
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
}

#[tokio::test]
async fn a_replayed_rotated_token_is_detected_even_when_it_asks_for_a_wider_scope() {
    // Arrange: r1 (scope profile) → r2.
    let app = TestApp::spawn().await;
    let r1 = app
        .login("admin", ADMIN_PW, Some("profile"))
        .await
        .refresh_token
        .unwrap();
    let r2 = tokens(app.refresh(&r1, None, ClientAuth::FirstParty).await)
        .await
        .refresh_token
        .unwrap();

    // Act: the stolen r1 is replayed with a wider scope.
    let replay = app
        .refresh(&r1, Some("admin profile"), ClientAuth::FirstParty)
        .await;

    // Assert: treated as reuse, so the family (and r2) is revoked.
    assert_oauth_error(replay, StatusCode::BAD_REQUEST, "invalid_grant").await;
    let newest = app.refresh(&r2, None, ClientAuth::FirstParty).await;
    assert_oauth_error(newest, StatusCode::BAD_REQUEST, "invalid_grant").await;
}

#[tokio::test]
async fn a_refused_scope_widening_leaves_the_refresh_token_usable() {
    let app = TestApp::spawn().await;
    let token = app
        .login("admin", ADMIN_PW, Some("profile"))
        .await
        .refresh_token
        .unwrap();
    app.refresh(&token, Some("admin"), ClientAuth::FirstParty)
        .await;

    let response = app.refresh(&token, None, ClientAuth::FirstParty).await;

    assert_eq!(response.status(), StatusCode::OK);
}
