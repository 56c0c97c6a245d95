//! The refresh-token reuse grace window: two tabs refreshing with the same token at once
//! both stay signed in; a replay after the window still ends the session.

use std::time::Duration;

use rampart_server::clock::Clock;
use reqwest::StatusCode;

use crate::helpers::{ADMIN_PW, ClientAuth, TestApp, assert_oauth_error, tokens};

/// A server with a 5-second window and a manual clock.
async fn with_grace() -> TestApp {
    TestApp::spawn_with(|config| {
        config.clock = Clock::manual(1_700_000_000);
        config.refresh_reuse_grace = Duration::from_secs(5);
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tabs_refreshing_at_once_both_stay_signed_in_and_a_later_replay_ends_both() {
    let app = with_grace().await;
    let login = app.login("admin", ADMIN_PW, None).await;
    let shared = login.refresh_token.unwrap();

    // Act: both tabs refresh with the same token at the same moment.
    let (a, b) = tokio::join!(
        app.refresh(&shared, None, ClientAuth::FirstParty),
        app.refresh(&shared, None, ClientAuth::FirstParty),
    );
    let (a, b) = (tokens(a).await, tokens(b).await);

    // Assert: two different, working successors and access tokens.
    let (a_next, b_next) = (a.refresh_token.unwrap(), b.refresh_token.unwrap());
    assert_ne!(a_next, b_next);
    for access in [&a.access_token, &b.access_token] {
        assert_eq!(app.me(access).await.status(), StatusCode::OK);
    }
    app.state.accounts.clock.advance(3);
    let a_later = tokens(app.refresh(&a_next, None, ClientAuth::FirstParty).await).await;
    let b_later = tokens(app.refresh(&b_next, None, ClientAuth::FirstParty).await).await;

    // After the window, the first token presented again is reuse: the session ends,
    // both tabs' tokens with it.
    app.state.accounts.clock.advance(3);
    let replay = app.refresh(&shared, None, ClientAuth::FirstParty).await;
    assert_oauth_error(replay, StatusCode::BAD_REQUEST, "invalid_grant").await;
    for (name, refresh) in [("tab A", &a_later), ("tab B", &b_later)] {
        let after = app
            .refresh(
                refresh.refresh_token.as_deref().unwrap(),
                None,
                ClientAuth::FirstParty,
            )
            .await;
        assert_oauth_error(after, StatusCode::BAD_REQUEST, "invalid_grant").await;
        assert_eq!(
            app.me(&refresh.access_token).await.status(),
            StatusCode::UNAUTHORIZED,
            "{name}"
        );
    }
}

#[tokio::test]
async fn within_the_window_a_rotated_token_from_another_client_or_asking_for_more_gets_nothing() {
    let app = with_grace().await;
    let other = app
        .given_client(false, &["password", "refresh_token"], &["profile"], None)
        .await;
    let login = tokens(
        app.password_grant("admin", ADMIN_PW, Some("profile"), ClientAuth::FirstParty)
            .await,
    )
    .await;
    let first = login.refresh_token.unwrap();
    let next = tokens(app.refresh(&first, None, ClientAuth::FirstParty).await).await;

    // Another client: a token bound to the first-party client.
    let response = app.refresh(&first, None, other.auth()).await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
    // A sibling may not widen what the session was granted (RFC 6749 §6).
    let response = app
        .refresh(&first, Some("profile admin"), ClientAuth::FirstParty)
        .await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_scope").await;
    // Neither ended the session.
    let still = app
        .refresh(
            next.refresh_token.as_deref().unwrap(),
            None,
            ClientAuth::FirstParty,
        )
        .await;
    assert_eq!(still.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_strict_server_treats_the_second_tab_as_reuse() {
    let app = TestApp::spawn_with(|config| {
        config.clock = Clock::manual(1_700_000_000);
        config.refresh_reuse_grace = Duration::ZERO;
    })
    .await;
    let shared = app
        .login("admin", ADMIN_PW, None)
        .await
        .refresh_token
        .unwrap();
    let first = tokens(app.refresh(&shared, None, ClientAuth::FirstParty).await).await;

    let second = app.refresh(&shared, None, ClientAuth::FirstParty).await;

    assert_oauth_error(second, StatusCode::BAD_REQUEST, "invalid_grant").await;
    let after = app
        .refresh(
            first.refresh_token.as_deref().unwrap(),
            None,
            ClientAuth::FirstParty,
        )
        .await;
    assert_oauth_error(after, StatusCode::BAD_REQUEST, "invalid_grant").await;
}
