//! Contracts of refresh tokens, rotation and sessions.

use std::sync::Arc;

use rampart_server::accounts::rotation::{self, Rotation};
use rampart_server::store::{
    AuthCode, Redemption, RefreshStore, RefreshToken, RotateOutcome, Store, StoreError, UserChange,
};
use uuid::Uuid;

use crate::accounts::{client, user};

fn token(user_id: Uuid, client_id: &str) -> (RefreshToken, Vec<u8>) {
    let row = RefreshToken {
        id: Uuid::new_v4(),
        family_id: Uuid::new_v4(),
        user_id,
        client_id: client_id.to_owned(),
        scope: "profile".to_owned(),
        created_at: 10,
        expires_at: 1_000,
        idle_expires_at: 500,
        used_at: None,
        revoked_at: None,
    };
    (row, Uuid::new_v4().as_bytes().to_vec())
}

/// A user and a client `app` to issue tokens to.
async fn owner(store: &Arc<dyn Store>) -> Uuid {
    let owner = user("carol", &["user"]);
    store.create_user(&owner).await.unwrap();
    store.create_client(&client("app")).await.unwrap();
    owner.id
}

fn refresh_store(store: &Arc<dyn Store>) -> Arc<dyn RefreshStore> {
    Arc::clone(store) as Arc<dyn RefreshStore>
}

pub(crate) async fn a_current_token_rotates_once_and_a_rotated_one_presented_again_revokes_its_family(
    store: Arc<dyn Store>,
) {
    let owner = owner(&store).await;
    let (current, hash) = token(owner, "app");
    let (other, other_hash) = token(owner, "app");
    store.insert_refresh(&current, &hash).await.unwrap();
    store.insert_refresh(&other, &other_hash).await.unwrap();
    let again = store.insert_refresh(&other, &other_hash).await;
    assert!(matches!(again, Err(StoreError::Conflict)), "{again:?}");

    // A successor whose hash is taken: the rotation fails midway and changes nothing.
    let (clash, _) = token(owner, "app");
    let failed = rotation::rotate(
        refresh_store(&store),
        &hash,
        "app",
        &clash,
        &other_hash,
        20,
        0,
    )
    .await;
    assert!(matches!(failed, Err(StoreError::Conflict)), "{failed:?}");
    let unchanged = store.refresh_by_hash(&hash).await.unwrap().unwrap();
    assert_eq!(unchanged.used_at, None);

    // The store is usable again and the token still current.
    let (next, next_hash) = token(owner, "app");
    let rotated = rotation::rotate(
        refresh_store(&store),
        &hash,
        "app",
        &next,
        &next_hash,
        30,
        0,
    )
    .await
    .unwrap();
    assert!(matches!(rotated, Rotation::Rotated(ref old) if old.id == current.id));
    let successor = store.refresh_by_hash(&next_hash).await.unwrap().unwrap();
    assert_eq!(
        (successor.family_id, successor.expires_at, successor.used_at),
        (current.family_id, current.expires_at, None),
        "the successor joins the family and keeps its absolute expiry"
    );
    assert_eq!(
        (successor.id, successor.idle_expires_at),
        (next.id, next.idle_expires_at)
    );
    assert_eq!(
        store.refresh_by_hash(&hash).await.unwrap().unwrap().used_at,
        Some(30)
    );

    // Presented again: the family is revoked, the successor with it.
    let (again, again_hash) = token(owner, "app");
    let reused = rotation::rotate(
        refresh_store(&store),
        &hash,
        "app",
        &again,
        &again_hash,
        40,
        0,
    )
    .await
    .unwrap();
    assert!(
        matches!(reused, Rotation::Reused { family_id, user_id } if family_id == current.family_id && user_id == owner)
    );
    let successor = store.refresh_by_hash(&next_hash).await.unwrap().unwrap();
    assert_eq!(successor.revoked_at, Some(40));
    assert!(store.refresh_by_hash(&again_hash).await.unwrap().is_none());

    // Another client's token, an unknown one, an expired one: invalid, nothing changes.
    let (fresh, fresh_hash) = token(owner, "app");
    for (hash, client, now) in [
        (&other_hash, "elsewhere", 50),
        (&fresh_hash, "app", 50),
        (&other_hash, "app", 600),
    ] {
        let outcome = rotation::rotate(
            refresh_store(&store),
            hash,
            client,
            &fresh,
            &fresh_hash,
            now,
            0,
        )
        .await
        .unwrap();
        assert!(matches!(outcome, Rotation::Invalid), "{outcome:?}");
    }
    assert!(store.refresh_by_hash(&fresh_hash).await.unwrap().is_none());
    let other = store.refresh_by_hash(&other_hash).await.unwrap().unwrap();
    assert_eq!((other.used_at, other.revoked_at), (None, None));
}

pub(crate) async fn rotate_if_current_reports_a_token_that_is_not_current_and_changes_nothing(
    store: Arc<dyn Store>,
) {
    let owner = owner(&store).await;
    let (current, hash) = token(owner, "app");
    store.insert_refresh(&current, &hash).await.unwrap();
    let (next, next_hash) = token(owner, "app");
    let first = store
        .rotate_if_current(&hash, "app", &next, &next_hash, 20)
        .await
        .unwrap();
    assert!(
        matches!(first, RotateOutcome::Rotated(ref old) if old.id == current.id),
        "{first:?}"
    );

    let (later, later_hash) = token(owner, "app");
    let cases = [
        ("used", hash.clone(), "app", 30, Some(Some(20))),
        (
            "bound to another client",
            next_hash.clone(),
            "other",
            30,
            Some(None),
        ),
        ("idle-expired", next_hash.clone(), "app", 500, Some(None)),
        ("unknown", later_hash.clone(), "app", 30, None),
    ];
    for (name, hash, client_id, now, stored_used_at) in cases {
        let outcome = store
            .rotate_if_current(&hash, client_id, &later, &later_hash, now)
            .await
            .unwrap();
        match (outcome, stored_used_at) {
            (RotateOutcome::NotCurrent(Some(row)), Some(used_at)) => {
                assert_eq!(row.used_at, used_at, "{name}");
                assert_eq!(row.revoked_at, None, "{name}: the store revokes nothing");
            }
            (RotateOutcome::NotCurrent(None), None) => {}
            (outcome, _) => panic!("{name}: {outcome:?}"),
        }
    }
    assert!(store.refresh_by_hash(&later_hash).await.unwrap().is_none());
    let successor = store.refresh_by_hash(&next_hash).await.unwrap().unwrap();
    assert_eq!((successor.used_at, successor.revoked_at), (None, None));

    store.revoke_family(current.family_id, 40).await.unwrap();
    let revoked = store
        .rotate_if_current(&next_hash, "app", &later, &later_hash, 41)
        .await
        .unwrap();
    assert!(
        matches!(revoked, RotateOutcome::NotCurrent(Some(ref row)) if row.revoked_at == Some(40)),
        "{revoked:?}"
    );
}

pub(crate) async fn of_concurrent_presentations_exactly_one_rotates_and_the_family_ends_revoked(
    store: Arc<dyn Store>,
) {
    let owner = owner(&store).await;
    let (current, hash) = token(owner, "app");
    store.insert_refresh(&current, &hash).await.unwrap();

    let presentations: Vec<_> = (0..12)
        .map(|_| {
            let (store, hash) = (refresh_store(&store), hash.clone());
            tokio::spawn(async move {
                let (next, next_hash) = token(owner, "app");
                rotation::rotate(store, &hash, "app", &next, &next_hash, 20, 0).await
            })
        })
        .collect();
    let mut rotated = 0;
    for presentation in presentations {
        match presentation.await.unwrap().unwrap() {
            Rotation::Rotated(_) => rotated += 1,
            Rotation::Reused { family_id, .. } => assert_eq!(family_id, current.family_id),
            Rotation::Invalid => panic!("a presentation of a known token was not judged"),
            Rotation::Sibling(_) => panic!("no grace window was given"),
        }
    }
    assert_eq!(rotated, 1, "exactly one presentation wins");
    let live = store.list_sessions(Some(owner), 20).await.unwrap();
    assert!(
        live.is_empty(),
        "the reuse revoked the winner's successor too"
    );
    assert_eq!(store.revoke_family(current.family_id, 21).await.unwrap(), 0);
}

pub(crate) async fn sessions_are_listed_revoked_by_family_and_by_user(store: Arc<dyn Store>) {
    let carol = owner(&store).await;
    let dave = user("dave", &["user"]);
    store.create_user(&dave).await.unwrap();
    let (first, first_hash) = token(carol, "app");
    let (second, second_hash) = (
        RefreshToken {
            created_at: 20,
            ..token(carol, "app").0
        },
        Uuid::new_v4().as_bytes().to_vec(),
    );
    let (daves, daves_hash) = (
        RefreshToken {
            created_at: 30,
            ..token(dave.id, "app").0
        },
        Uuid::new_v4().as_bytes().to_vec(),
    );
    for (row, hash) in [
        (&first, &first_hash),
        (&second, &second_hash),
        (&daves, &daves_hash),
    ] {
        store.insert_refresh(row, hash).await.unwrap();
    }
    // The first session rotates once: it started at 10 and was last used at 40.
    let (next, next_hash) = (
        RefreshToken {
            created_at: 40,
            ..token(carol, "app").0
        },
        Uuid::new_v4().as_bytes().to_vec(),
    );
    store
        .rotate_if_current(&first_hash, "app", &next, &next_hash, 40)
        .await
        .unwrap();

    let all = store.list_sessions(None, 50).await.unwrap();
    let families: Vec<Uuid> = all.iter().map(|s| s.family_id).collect();
    assert_eq!(
        families,
        [first.family_id, daves.family_id, second.family_id],
        "newest use first"
    );
    let rotated = &all[0];
    assert_eq!(
        (
            rotated.user_id,
            rotated.username.as_str(),
            rotated.client_id.as_str()
        ),
        (carol, "carol", "app")
    );
    assert_eq!(
        (rotated.created_at, rotated.last_used_at, rotated.expires_at),
        (10, 40, 1_000)
    );
    assert_eq!(rotated.scope, "profile");
    assert_eq!(
        store.list_sessions(Some(dave.id), 50).await.unwrap().len(),
        1
    );
    assert!(
        store.list_sessions(None, 500).await.unwrap().is_empty(),
        "idle-expired"
    );

    assert_eq!(store.revoke_family(first.family_id, 60).await.unwrap(), 2);
    assert_eq!(store.revoke_family(first.family_id, 61).await.unwrap(), 0);
    assert_eq!(store.revoke_family(Uuid::new_v4(), 61).await.unwrap(), 0);
    assert_eq!(
        store.revoked_sessions(60).await.unwrap(),
        [(first.family_id, 60)]
    );
    assert!(store.revoked_sessions(61).await.unwrap().is_empty());

    assert_eq!(store.revoke_user_refresh(carol, 70).await.unwrap(), 1);
    let stamped = store.user_by_id(carol).await.unwrap().unwrap();
    assert_eq!(
        stamped.tokens_valid_after, 70,
        "their access tokens end too"
    );
    let left = store.list_sessions(None, 70).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].user_id, dave.id);
    let mut revoked = store.revoked_sessions(60).await.unwrap();
    revoked.sort();
    let mut expected = vec![(first.family_id, 60), (second.family_id, 70)];
    expected.sort();
    assert_eq!(revoked, expected);

    // Deleting a user takes their tokens with them.
    store
        .change_user(
            dave.id,
            UserChange::Delete,
            rampart_server::accounts::last_admin::GUARD,
            80,
        )
        .await
        .unwrap();
    assert!(store.refresh_by_hash(&daves_hash).await.unwrap().is_none());
}

pub(crate) async fn within_the_grace_window_a_rotated_token_gets_a_sibling_unless_its_family_is_revoked(
    store: Arc<dyn Store>,
) {
    let owner = owner(&store).await;
    store.create_client(&client("other")).await.unwrap();
    let (first, hash) = token(owner, "app");
    store.insert_refresh(&first, &hash).await.unwrap();
    let (second, second_hash) = token(owner, "app");
    let rotated = rotation::rotate(
        refresh_store(&store),
        &hash,
        "app",
        &second,
        &second_hash,
        20,
        5,
    )
    .await
    .unwrap();
    assert!(matches!(rotated, Rotation::Rotated(_)), "{rotated:?}");

    // The same token again, 5 s later, from its client: a sibling, nothing revoked.
    let (sibling, sibling_hash) = token(owner, "app");
    let again = rotation::rotate(
        refresh_store(&store),
        &hash,
        "app",
        &sibling,
        &sibling_hash,
        25,
        5,
    )
    .await
    .unwrap();
    assert!(
        matches!(again, Rotation::Sibling(ref t) if t.id == first.id),
        "{again:?}"
    );
    let stored = store.refresh_by_hash(&sibling_hash).await.unwrap().unwrap();
    assert_eq!(
        (
            stored.family_id,
            stored.user_id,
            stored.client_id.as_str(),
            stored.scope.as_str()
        ),
        (first.family_id, first.user_id, "app", "profile"),
        "the sibling joins the family"
    );
    assert_eq!(
        (stored.expires_at, stored.used_at, stored.revoked_at),
        (first.expires_at, None, None)
    );
    for current in [&second_hash, &sibling_hash] {
        let t = store.refresh_by_hash(current).await.unwrap().unwrap();
        assert_eq!(
            (t.used_at, t.revoked_at),
            (None, None),
            "both successors stay current"
        );
    }

    // The store's own conditions, each refusing and writing nothing.
    let cases: [(&str, &[u8], &str, i64, i64); 4] = [
        ("rotated before the window", &hash, "app", 21, 25),
        ("another client", &hash, "other", 0, 25),
        ("a token never rotated", &second_hash, "app", 0, 25),
        ("the family expired", &hash, "app", 0, 1_000),
    ];
    for (name, presented, client_id, used_since, now) in cases {
        let (extra, extra_hash) = token(owner, "app");
        let added = store
            .add_successor(presented, client_id, &extra, &extra_hash, used_since, now)
            .await
            .unwrap();
        assert!(!added, "{name}");
        assert!(
            store.refresh_by_hash(&extra_hash).await.unwrap().is_none(),
            "{name}"
        );
    }

    // Once the family is revoked, no more siblings: it is reuse again.
    store.revoke_family(first.family_id, 26).await.unwrap();
    let (late, late_hash) = token(owner, "app");
    let added = store
        .add_successor(&hash, "app", &late, &late_hash, 0, 26)
        .await
        .unwrap();
    assert!(!added, "a revoked family takes no sibling");
    let verdict = rotation::rotate(
        refresh_store(&store),
        &hash,
        "app",
        &late,
        &late_hash,
        26,
        5,
    )
    .await
    .unwrap();
    assert!(matches!(verdict, Rotation::Reused { .. }), "{verdict:?}");
    let sibling = store.refresh_by_hash(&sibling_hash).await.unwrap().unwrap();
    assert_eq!(
        sibling.revoked_at,
        Some(26),
        "the revocation covered the sibling"
    );
}

pub(crate) async fn an_authorization_code_is_redeemed_once_before_it_expires_and_purged_after(
    store: Arc<dyn Store>,
) {
    let owner = owner(&store).await;
    let code = AuthCode {
        client_id: "app".to_owned(),
        user_id: owner,
        redirect_uri: "https://app.example/cb".to_owned(),
        code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".to_owned(),
        scope: "profile".to_owned(),
        nonce: Some("n-0S6_WzA2Mj".to_owned()),
        auth_time: 90,
        browser_session: None,
        created_at: 100,
        expires_at: 160,
        used_at: None,
        redeemed: None,
    };
    let (hash, late_hash) = (vec![1u8; 32], vec![2u8; 32]);
    store.insert_code(&code, &hash).await.unwrap();
    store.insert_code(&code, &late_hash).await.unwrap();
    let again = store.insert_code(&code, &hash).await;
    assert!(matches!(again, Err(StoreError::Conflict)), "{again:?}");
    assert_eq!(
        store.code_by_hash(&hash).await.unwrap().as_ref(),
        Some(&code)
    );
    assert!(store.code_by_hash(&[3u8; 32]).await.unwrap().is_none());

    let redemption = Redemption {
        family_id: Uuid::new_v4(),
        access_jti: "jti-1".to_owned(),
        access_expires_at: 1_000,
    };
    assert!(store.redeem_code(&hash, &redemption, 120).await.unwrap());
    let other = Redemption {
        family_id: Uuid::new_v4(),
        ..redemption.clone()
    };
    assert!(
        !store.redeem_code(&hash, &other, 121).await.unwrap(),
        "once only"
    );
    let used = store.code_by_hash(&hash).await.unwrap().unwrap();
    assert_eq!(used.used_at, Some(120));
    assert_eq!(
        used.redeemed,
        Some(redemption),
        "the first redemption is kept"
    );
    assert!(
        !store.redeem_code(&late_hash, &other, 160).await.unwrap(),
        "not at its expiry"
    );

    assert_eq!(
        store.purge_codes(160).await.unwrap(),
        0,
        "expired at 160, not before"
    );
    assert_eq!(store.purge_codes(161).await.unwrap(), 2);
    assert!(store.code_by_hash(&hash).await.unwrap().is_none());
}
