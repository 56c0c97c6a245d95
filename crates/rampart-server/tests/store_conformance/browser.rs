//! Contracts of browser sessions and consents.

use std::sync::Arc;

use rampart_server::store::{BrowserSession, Consent, Store, StoreError};
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
    store.link_family(second.id, f2, "web").await.unwrap();
    store.link_family(second.id, f1, "web").await.unwrap();
    store.link_family(second.id, f1, "web").await.unwrap();
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
