//! Contracts of browser sessions and consents.

use std::sync::Arc;

use rampart_server::store::{
    AuthCode, BrowserSession, Consent, Redemption, RefreshToken, SessionStart, Store, StoreError,
};
use uuid::Uuid;

use crate::accounts::{client, user};

fn session(user_id: Uuid, created_at: i64) -> BrowserSession {
    BrowserSession {
        id: Uuid::new_v4(),
        user_id,
        auth_time: created_at,
        created_at,
        last_seen_at: created_at,
        expires_at: created_at + 1000,
        ended_at: None,
    }
}

pub(crate) async fn browser_sessions_are_found_by_hash_touched_listed_ended_and_purged(
    store: Arc<dyn Store>,
) {
    let (alice, bob) = (user("alice", &["user"]), user("bob", &["user"]));
    store.create_user(&alice).await.unwrap();
    store.create_user(&bob).await.unwrap();
    let first = session(alice.id, 100);
    let second = session(alice.id, 200);
    let bobs = session(bob.id, 150);
    store
        .insert_browser_session(&first, &[1u8; 32])
        .await
        .unwrap();
    store
        .insert_browser_session(&second, &[2u8; 32])
        .await
        .unwrap();
    store
        .insert_browser_session(&bobs, &[3u8; 32])
        .await
        .unwrap();
    let again = store.insert_browser_session(&first, &[1u8; 32]).await;
    assert!(matches!(again, Err(StoreError::Conflict)), "{again:?}");

    assert_eq!(
        store.browser_session_by_hash(&[1u8; 32]).await.unwrap(),
        Some(first.clone())
    );
    assert!(
        store
            .browser_session_by_hash(&[9u8; 32])
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store.browser_session(second.id).await.unwrap(),
        Some(second.clone())
    );

    // Touching moves last_seen_at forward only.
    store.touch_browser_session(first.id, 160).await.unwrap();
    store.touch_browser_session(first.id, 120).await.unwrap();
    assert_eq!(
        store
            .browser_session(first.id)
            .await
            .unwrap()
            .unwrap()
            .last_seen_at,
        160
    );

    // Listed newest first, per user, only live ones.
    let ids = |list: Vec<BrowserSession>| list.into_iter().map(|s| s.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.list_browser_sessions(None, 300).await.unwrap()),
        vec![second.id, bobs.id, first.id]
    );
    assert_eq!(
        ids(store
            .list_browser_sessions(Some(alice.id), 300)
            .await
            .unwrap()),
        vec![second.id, first.id]
    );
    assert_eq!(
        ids(store.list_browser_sessions(None, 1150).await.unwrap()),
        vec![second.id],
        "expired ones are not listed"
    );

    // Ended once; by user.
    assert!(store.end_browser_session(first.id, 400).await.unwrap());
    assert!(!store.end_browser_session(first.id, 401).await.unwrap());
    assert!(
        !store
            .end_browser_session(Uuid::new_v4(), 401)
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .browser_session(first.id)
            .await
            .unwrap()
            .unwrap()
            .ended_at,
        Some(400)
    );
    assert_eq!(
        store
            .end_user_browser_sessions(alice.id, 500)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        ids(store.list_browser_sessions(None, 600).await.unwrap()),
        vec![bobs.id]
    );

    // The token sessions a browser session started, with their clients.
    store.create_client(&client("web")).await.unwrap();
    let (f1, f2) = (Uuid::from_u128(1), Uuid::from_u128(2));
    for (n, family) in [(7u8, f2), (8u8, f1)] {
        // A code of this browser session, redeemed with its session's first token.
        let code = AuthCode {
            client_id: "web".to_owned(),
            user_id: alice.id,
            redirect_uri: "https://web.example/cb".to_owned(),
            code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".to_owned(),
            scope: "openid offline_access".to_owned(),
            nonce: None,
            auth_time: 200,
            browser_session: Some(second.id),
            created_at: 200,
            expires_at: 260,
            used_at: None,
            redeemed: None,
        };
        let code_hash = vec![n; 32];
        store.insert_code(&code, &code_hash).await.unwrap();
        let start = SessionStart {
            token: RefreshToken {
                id: Uuid::new_v4(),
                family_id: family,
                user_id: alice.id,
                client_id: "web".to_owned(),
                scope: "openid offline_access".to_owned(),
                created_at: 210,
                expires_at: 5000,
                idle_expires_at: 5000,
                used_at: None,
                revoked_at: None,
            },
            hash: vec![n + 100; 32],
            browser_session: Some(second.id),
        };
        let redemption = Redemption {
            family_id: family,
            access_jti: format!("jti-{n}"),
            access_expires_at: 1000,
        };
        assert!(
            store
                .redeem_code_starting(&code_hash, &redemption, 210, &start)
                .await
                .unwrap()
        );
        assert!(
            store.refresh_by_hash(&start.hash).await.unwrap().is_some(),
            "the token is stored with the redemption"
        );
        // A second redemption stores nothing.
        let again = SessionStart {
            hash: vec![n + 150; 32],
            token: RefreshToken {
                id: Uuid::new_v4(),
                family_id: Uuid::new_v4(),
                ..start.token.clone()
            },
            ..start.clone()
        };
        assert!(
            !store
                .redeem_code_starting(&code_hash, &redemption, 211, &again)
                .await
                .unwrap()
        );
        assert!(store.refresh_by_hash(&again.hash).await.unwrap().is_none());
    }
    assert_eq!(
        store.families_of(second.id).await.unwrap(),
        vec![(f1, "web".to_owned()), (f2, "web".to_owned())]
    );
    assert!(store.families_of(first.id).await.unwrap().is_empty());

    // Purged: ended or expired before the cut.
    assert_eq!(store.purge_browser_sessions(450).await.unwrap(), 1);
    assert!(store.browser_session(first.id).await.unwrap().is_none());
    assert_eq!(store.purge_browser_sessions(2000).await.unwrap(), 2);
    assert!(
        store.families_of(second.id).await.unwrap().is_empty(),
        "the links go with their session"
    );
}

pub(crate) async fn consents_are_stored_replaced_listed_and_deleted(store: Arc<dyn Store>) {
    let alice = user("alice", &["user"]);
    store.create_user(&alice).await.unwrap();
    store.create_client(&client("web")).await.unwrap();
    store.create_client(&client("app")).await.unwrap();
    let consent = |client_id: &str, scopes: &[&str], at: i64| Consent {
        user_id: alice.id,
        client_id: client_id.to_owned(),
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        granted_at: at,
    };
    assert!(store.consent(alice.id, "web").await.unwrap().is_none());

    store
        .put_consent(&consent("web", &["openid"], 10))
        .await
        .unwrap();
    store
        .put_consent(&consent("web", &["email", "openid"], 20))
        .await
        .unwrap();
    store
        .put_consent(&consent("app", &["profile"], 30))
        .await
        .unwrap();

    assert_eq!(
        store.consent(alice.id, "web").await.unwrap(),
        Some(consent("web", &["email", "openid"], 20)),
        "replaced whole"
    );
    assert_eq!(
        store.list_consents(alice.id).await.unwrap(),
        vec![
            consent("app", &["profile"], 30),
            consent("web", &["email", "openid"], 20)
        ]
    );
    assert!(store.delete_consent(alice.id, "web").await.unwrap());
    assert!(!store.delete_consent(alice.id, "web").await.unwrap());
    // Deleting the client takes its consents along.
    store.delete_client("app").await.unwrap();
    assert!(store.list_consents(alice.id).await.unwrap().is_empty());
}
