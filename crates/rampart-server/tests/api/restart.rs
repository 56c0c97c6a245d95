//! What must survive a restart: signing keys (sealed at rest), refresh tokens, revocations.

use reqwest::StatusCode;

use crate::helpers::{ADMIN_PW, ClientAuth, TestApp, tokens};

#[tokio::test]
async fn a_restarted_server_accepts_the_access_tokens_it_issued_before() {
    let app = TestApp::spawn().await;
    let access = app.login("admin", ADMIN_PW, None).await.access_token;

    let restarted = app.restarted().await;

    assert_eq!(restarted.me(&access).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_restarted_server_honours_refresh_tokens_issued_before() {
    let app = TestApp::spawn().await;
    let refresh = app
        .login("admin", ADMIN_PW, None)
        .await
        .refresh_token
        .unwrap();

    let restarted = app.restarted().await;

    tokens(
        restarted
            .refresh(&refresh, None, ClientAuth::FirstParty)
            .await,
    )
    .await;
}

#[tokio::test]
async fn a_revoked_access_token_stays_revoked_after_a_restart() {
    let app = TestApp::spawn().await;
    let access = app.login("admin", ADMIN_PW, None).await.access_token;
    let revoked = app.revoke(&access, ClientAuth::FirstParty).await;
    assert_eq!(revoked.status(), StatusCode::OK);

    let restarted = app.restarted().await;

    assert_eq!(
        restarted.me(&access).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_restart_does_not_reset_the_bootstrap_administrator() {
    // The bootstrap password only applies on first start: a changed password sticks.
    let app = TestApp::spawn().await;
    let access = app.login("admin", ADMIN_PW, None).await.access_token;
    let changed = app
        .change_password(&access, ADMIN_PW, "the new admin password")
        .await;
    assert_eq!(changed.status(), StatusCode::NO_CONTENT);

    let restarted = app.restarted().await;

    restarted
        .login("admin", "the new admin password", None)
        .await;
    let old = restarted
        .password_grant("admin", ADMIN_PW, None, ClientAuth::FirstParty)
        .await;
    assert_eq!(old.status(), StatusCode::BAD_REQUEST);
}
