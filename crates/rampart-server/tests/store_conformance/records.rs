//! Contracts of signing keys, throttle counters, the audit trail and the revocation
//! lists.

use std::sync::Arc;

use rampart_server::accounts::last_admin;
use rampart_server::store::{
    AUDIT_BATCH_ROWS, AuditFilter, AuditRecord, Role, Store, StoreError, StoredKey, UserChange,
};
use uuid::Uuid;

use crate::accounts::user;

fn key(kid: &str, activates_at: i64) -> StoredKey {
    StoredKey {
        kid: kid.to_owned(),
        alg: "EdDSA".to_owned(),
        sealed_key: vec![0, 1, 2, 255],
        created_at: 1,
        activates_at,
        retired_at: None,
        publish_until: None,
    }
}

pub(crate) async fn signing_keys_are_listed_in_activation_order_and_retired_once(
    store: Arc<dyn Store>,
) {
    assert!(store.list_keys().await.unwrap().is_empty());
    for stored in [key("b", 5), key("c", 1), key("a", 5)] {
        store.insert_key(&stored).await.unwrap();
    }
    let again = store.insert_key(&key("a", 9)).await;
    assert!(matches!(again, Err(StoreError::Conflict)), "{again:?}");

    let kids: Vec<String> = store
        .list_keys()
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.kid)
        .collect();
    assert_eq!(kids, ["c", "a", "b"], "by activation time, then kid");

    store.retire_key("a", 10, 20).await.unwrap();
    store.retire_key("a", 30, 40).await.unwrap();
    store.retire_key("nobody", 30, 40).await.unwrap();
    let keys = store.list_keys().await.unwrap();
    let a = keys.iter().find(|k| k.kid == "a").unwrap();
    assert_eq!(
        (a.retired_at, a.publish_until),
        (Some(10), Some(20)),
        "the first retirement stands"
    );
    assert_eq!(a.sealed_key, [0, 1, 2, 255]);
    assert_eq!(
        (a.alg.as_str(), a.created_at, a.activates_at),
        ("EdDSA", 1, 5)
    );
    let b = keys.iter().find(|k| k.kid == "b").unwrap();
    assert_eq!((b.retired_at, b.publish_until), (None, None));
}

pub(crate) async fn throttle_failures_count_restart_lock_and_purge(store: Arc<dyn Store>) {
    let (ip, account) = ("ip:192.0.2.1".to_owned(), "user:carol".to_owned());
    assert!(store.throttle_locks(&[]).await.unwrap().is_empty());
    assert!(
        store
            .throttle_locks(std::slice::from_ref(&ip))
            .await
            .unwrap()
            .is_empty()
    );

    for (now, expected) in [(100, 1), (101, 2), (102, 3)] {
        assert_eq!(store.record_failure(&ip, now, 0).await.unwrap(), expected);
    }
    store.lock_until(&ip, 200).await.unwrap();
    store.lock_until(&ip, 150).await.unwrap();
    assert_eq!(store.record_failure(&account, 103, 0).await.unwrap(), 1);
    let asked = [account.clone(), "user:nobody".to_owned(), ip.clone()];
    assert_eq!(
        store.throttle_locks(&asked).await.unwrap(),
        [(account.clone(), 0), (ip.clone(), 200)],
        "in the order asked, keys without failures left out, locks never shortened"
    );

    // The last failure is older than the reset point: the count and the lock restart.
    assert_eq!(store.record_failure(&ip, 300, 250).await.unwrap(), 1);
    assert_eq!(
        store
            .throttle_locks(std::slice::from_ref(&ip))
            .await
            .unwrap(),
        [(ip.clone(), 0)]
    );

    store.clear_failures(&account).await.unwrap();
    store.clear_failures("user:nobody").await.unwrap();
    assert!(
        store
            .throttle_locks(std::slice::from_ref(&account))
            .await
            .unwrap()
            .is_empty()
    );

    store.lock_until(&ip, 1_000).await.unwrap();
    assert_eq!(store.record_failure(&account, 310, 0).await.unwrap(), 1);
    // Both last failed before 400; the IP is still locked at 500, the account is not.
    assert_eq!(store.purge_throttle(500, 400).await.unwrap(), 1);
    assert_eq!(
        store.throttle_locks(&asked).await.unwrap(),
        [(ip.clone(), 1_000)]
    );
    assert_eq!(
        store.purge_throttle(300, 400).await.unwrap(),
        0,
        "a lock still running"
    );
    assert_eq!(store.purge_throttle(1_000, 400).await.unwrap(), 1);
    assert!(store.throttle_locks(&asked).await.unwrap().is_empty());
}

fn event(at: i64, kind: &str, actor: &str, subject: Option<&str>) -> AuditRecord {
    AuditRecord {
        id: Uuid::new_v4(),
        at,
        kind: kind.to_owned(),
        actor: Some(actor.to_owned()),
        subject: subject.map(str::to_owned),
        client_id: Some("first-party".to_owned()),
        ip: Some("127.0.0.1".to_owned()),
        reason: Some("wrong_password".to_owned()),
        details: serde_json::json!({"at": at, "before": {"roles": ["user"]}}),
    }
}

pub(crate) async fn audit_events_are_listed_newest_first_filtered_paged_and_purged(
    store: Arc<dyn Store>,
) {
    let events = vec![
        event(10, "login_failed", "carol", None),
        event(20, "login_succeeded", "carol", None),
        event(20, "admin_change", "admin", Some("carol")),
        event(30, "login_failed", "dave", None),
    ];
    store.append_audit(&events[0]).await.unwrap();
    store.append_audit_batch(&events[1..]).await.unwrap();
    store.append_audit_batch(&[]).await.unwrap();
    let again = store.append_audit(&events[0]).await;
    assert!(matches!(again, Err(StoreError::Conflict)), "{again:?}");

    let all = store
        .list_audit(&AuditFilter::default(), None, 100)
        .await
        .unwrap();
    // Newest first; equal times by id, descending.
    let mut expected = events.clone();
    expected.sort_by_key(|e| std::cmp::Reverse((e.at, e.id.to_string())));
    assert_eq!(all, expected, "stored whole, newest first");

    let page = store
        .list_audit(&AuditFilter::default(), None, 2)
        .await
        .unwrap();
    assert_eq!(page, expected[..2]);
    let last = &page[1];
    let rest = store
        .list_audit(&AuditFilter::default(), Some((last.at, last.id)), 100)
        .await
        .unwrap();
    assert_eq!(rest, expected[2..], "strictly older than the cursor");

    let filters = [
        (
            "by kind",
            AuditFilter {
                kind: Some("login_failed".to_owned()),
                ..AuditFilter::default()
            },
            2,
        ),
        (
            "by actor",
            AuditFilter {
                actor: Some("carol".to_owned()),
                ..AuditFilter::default()
            },
            2,
        ),
        (
            "by subject",
            AuditFilter {
                subject: Some("carol".to_owned()),
                ..AuditFilter::default()
            },
            1,
        ),
        (
            "since, inclusive",
            AuditFilter {
                since: Some(20),
                ..AuditFilter::default()
            },
            3,
        ),
        (
            "until, exclusive",
            AuditFilter {
                until: Some(20),
                ..AuditFilter::default()
            },
            1,
        ),
        (
            "combined with AND",
            AuditFilter {
                kind: Some("login_failed".to_owned()),
                actor: Some("dave".to_owned()),
                ..AuditFilter::default()
            },
            1,
        ),
        (
            "nothing matches",
            AuditFilter {
                kind: Some("nope".to_owned()),
                ..AuditFilter::default()
            },
            0,
        ),
    ];
    for (name, filter, count) in filters {
        let found = store.list_audit(&filter, None, 100).await.unwrap();
        assert_eq!(found.len(), count, "{name}: {found:?}");
    }

    assert_eq!(store.purge_audit(20).await.unwrap(), 1);
    assert_eq!(store.purge_audit(20).await.unwrap(), 0);
    let left = store
        .list_audit(&AuditFilter::default(), None, 100)
        .await
        .unwrap();
    assert_eq!(left, expected[..3]);
}

pub(crate) async fn an_audit_batch_of_several_inserts_is_stored_whole(store: Arc<dyn Store>) {
    let events: Vec<AuditRecord> = (0..(2 * AUDIT_BATCH_ROWS + 1))
        .map(|n| AuditRecord {
            id: Uuid::new_v4(),
            at: 1,
            kind: "refresh".to_owned(),
            actor: Some(format!("user-{n}")),
            subject: None,
            client_id: Some("first-party".to_owned()),
            ip: Some("127.0.0.1".to_owned()),
            reason: None,
            details: serde_json::json!({"n": n}),
        })
        .collect();

    store.append_audit_batch(&events).await.unwrap();

    let mut stored = store
        .list_audit(&AuditFilter::default(), None, 10_000)
        .await
        .unwrap();
    stored.sort_by_key(|e| e.details["n"].as_u64());
    assert_eq!(stored, events);
    // All or nothing: a batch whose last event repeats a stored id stores none.
    let mut again: Vec<AuditRecord> = events
        .iter()
        .map(|e| AuditRecord {
            id: Uuid::new_v4(),
            ..e.clone()
        })
        .collect();
    if let Some(last) = again.last_mut() {
        last.id = events[0].id;
    }
    let refused = store.append_audit_batch(&again).await;
    assert!(matches!(refused, Err(StoreError::Conflict)), "{refused:?}");
    let count = store
        .list_audit(&AuditFilter::default(), None, 10_000)
        .await
        .unwrap()
        .len();
    assert_eq!(count, events.len());
}

pub(crate) async fn the_jti_denylist_forgets_expired_entries_and_the_access_epoch_moves(
    store: Arc<dyn Store>,
) {
    store.revoke_jti("soon", 100).await.unwrap();
    store.revoke_jti("later", 200).await.unwrap();
    store.revoke_jti("later", 200).await.unwrap();
    let mut listed = store.revoked_jtis(50).await.unwrap();
    listed.sort();
    assert_eq!(
        listed,
        [("later".to_owned(), 200), ("soon".to_owned(), 100)]
    );
    assert_eq!(
        store.revoked_jtis(100).await.unwrap(),
        [("later".to_owned(), 200)]
    );
    assert_eq!(
        store.revoked_jtis(50).await.unwrap(),
        [("later".to_owned(), 200)],
        "an expired entry is gone for good"
    );

    // Every change that can void access tokens moves the epoch.
    let mut epoch = store.access_epoch().await.unwrap();
    let carol = user("carol", &["user"]);
    store.create_user(&carol).await.unwrap();
    let changes: [(&str, UserChange); 3] = [
        ("a user disabled", UserChange::Disabled(true)),
        (
            "roles replaced",
            UserChange::Roles(vec!["admin".to_owned()]),
        ),
        ("a user deleted", UserChange::Delete),
    ];
    for (now, (name, change)) in (10..).zip(changes) {
        store
            .change_user(carol.id, change, last_admin::GUARD, now)
            .await
            .unwrap();
        let moved = store.access_epoch().await.unwrap();
        assert!(moved > epoch, "{name}");
        epoch = moved;
    }
    let reader = Role {
        name: "reader".to_owned(),
        description: String::new(),
        scopes: vec!["profile".to_owned()],
    };
    store.create_role(&reader).await.unwrap();
    let granted = store.access_epoch().await.unwrap();
    assert!(granted > epoch, "a scope granted to a role");
    store.set_role_scopes("reader", &[]).await.unwrap();
    let removed = store.access_epoch().await.unwrap();
    assert!(removed > granted, "a scope taken from a role");
    store.delete_role("reader").await.unwrap();
    assert!(
        store.access_epoch().await.unwrap() > removed,
        "a role deleted"
    );
}
