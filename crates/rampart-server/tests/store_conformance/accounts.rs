//! Contracts of users, scopes, roles and clients.

use std::sync::Arc;

use rampart_server::accounts::last_admin;
use rampart_server::store::{
    AuthMethod, Client, ClientChange, Guard, Profile, Role, ScopeDef, Store, StoreError, User,
    UserChange,
};
use uuid::Uuid;

pub(crate) fn user(name: &str, roles: &[&str]) -> User {
    User {
        id: Uuid::new_v4(),
        username: name.to_owned(),
        password_hash: format!("hash of {name}"),
        disabled: false,
        created_at: 1,
        updated_at: 1,
        password_changed_at: 1,
        tokens_valid_after: 0,
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        profile: Profile::default(),
    }
}

pub(crate) fn client(id: &str) -> Client {
    Client {
        id: id.to_owned(),
        name: format!("the {id} app"),
        confidential: false,
        secret_hash: None,
        grants: vec!["password".to_owned(), "refresh_token".to_owned()],
        scopes: vec!["profile".to_owned()],
        audience: None,
        disabled: false,
        created_at: 1,
        redirect_uris: Vec::new(),
        post_logout_redirect_uris: Vec::new(),
        first_party: false,
        auth_method: AuthMethod::None,
        access_token_ttl: None,
        refresh_token_ttl: None,
        logout_revokes_tokens: false,
    }
}

fn names(users: &[User]) -> Vec<&str> {
    users.iter().map(|u| u.username.as_str()).collect()
}

pub(crate) async fn migrating_again_changes_nothing_and_the_store_answers_pings(
    store: Arc<dyn Store>,
) {
    store.create_user(&user("alice", &["user"])).await.unwrap();

    store.migrate().await.unwrap();

    store.ping().await.unwrap();
    assert!(store.user_by_username("alice").await.unwrap().is_some());
    let (size, _) = store.pool_stats().unwrap();
    assert!(size >= 1, "{size} connections");
    drop(store.startup_lock().await.unwrap());
}

pub(crate) async fn users_are_created_found_and_unique(store: Arc<dyn Store>) {
    let alice = user("alice", &["user", "admin"]);
    store.create_user(&alice).await.unwrap();

    let by_id = store.user_by_id(alice.id).await.unwrap().unwrap();
    let by_name = store.user_by_username("alice").await.unwrap().unwrap();
    for found in [&by_id, &by_name] {
        assert_eq!(found.id, alice.id);
        assert_eq!(found.username, "alice");
        assert_eq!(found.password_hash, alice.password_hash);
        assert!(!found.disabled);
        assert_eq!(
            (
                found.created_at,
                found.updated_at,
                found.password_changed_at
            ),
            (1, 1, 1)
        );
        assert_eq!(found.tokens_valid_after, 0);
        assert_eq!(found.roles, ["admin", "user"], "roles come back sorted");
    }
    assert!(store.user_by_id(Uuid::new_v4()).await.unwrap().is_none());
    assert!(store.user_by_username("bob").await.unwrap().is_none());

    let again = store.create_user(&user("alice", &[])).await;
    assert!(matches!(again, Err(StoreError::Conflict)), "{again:?}");
    let unknown_role = store.create_user(&user("bob", &["no-such-role"])).await;
    assert!(
        matches!(unknown_role, Err(StoreError::MissingReference)),
        "{unknown_role:?}"
    );
    assert!(store.user_by_username("bob").await.unwrap().is_none());
    let no_roles = user("carol", &[]);
    store.create_user(&no_roles).await.unwrap();
    let carol = store.user_by_id(no_roles.id).await.unwrap().unwrap();
    assert!(carol.roles.is_empty());
    assert_eq!(store.count_users_with_role("admin").await.unwrap(), 1);
    assert_eq!(store.count_users_with_role("user").await.unwrap(), 1);
}

pub(crate) async fn a_batch_of_users_is_created_whole_or_not_at_all(store: Arc<dyn Store>) {
    store.create_user(&user("taken", &[])).await.unwrap();
    let refused = store
        .create_users(&[user("first", &["user"]), user("taken", &["user"])])
        .await;
    assert!(matches!(refused, Err(StoreError::Conflict)), "{refused:?}");
    assert!(store.user_by_username("first").await.unwrap().is_none());

    store
        .create_users(&[user("first", &["user"]), user("second", &["user"])])
        .await
        .unwrap();
    assert_eq!(store.count_users_with_role("user").await.unwrap(), 2);
}

pub(crate) async fn users_are_listed_by_username_after_a_cursor_with_a_literal_prefix(
    store: Arc<dyn Store>,
) {
    for name in ["abd", "ab_c", "abc", "b%", "abxc", "a"] {
        store.create_user(&user(name, &[])).await.unwrap();
    }
    let all = store.list_users(None, None, 100).await.unwrap();
    assert_eq!(names(&all), ["a", "ab_c", "abc", "abd", "abxc", "b%"]);
    let literal = store.list_users(Some("ab_"), None, 100).await.unwrap();
    assert_eq!(names(&literal), ["ab_c"], "`_` is not a wildcard");
    let percent = store.list_users(Some("b%"), None, 100).await.unwrap();
    assert_eq!(names(&percent), ["b%"], "`%` is not a wildcard");
    let page = store.list_users(Some("ab"), Some("abc"), 2).await.unwrap();
    assert_eq!(
        names(&page),
        ["abd", "abxc"],
        "after the cursor, at most the limit"
    );
    let none = store.list_users(Some("zz"), None, 10).await.unwrap();
    assert!(none.is_empty());
}

pub(crate) async fn a_password_change_stamps_the_user_and_a_rehash_does_not(store: Arc<dyn Store>) {
    let alice = user("alice", &[]);
    store.create_user(&alice).await.unwrap();

    store
        .set_password_hash(alice.id, "rehashed", None, 50)
        .await
        .unwrap();
    let rehashed = store.user_by_id(alice.id).await.unwrap().unwrap();
    assert_eq!(rehashed.password_hash, "rehashed");
    assert_eq!(rehashed.updated_at, 50);
    assert_eq!(rehashed.password_changed_at, 1, "a rehash is no change");
    assert_eq!(rehashed.tokens_valid_after, 0, "a rehash voids nothing");

    store
        .set_password_hash(alice.id, "changed", Some(60), 60)
        .await
        .unwrap();
    let changed = store.user_by_id(alice.id).await.unwrap().unwrap();
    assert_eq!(changed.password_hash, "changed");
    assert_eq!(changed.password_changed_at, 60);
    assert_eq!(changed.tokens_valid_after, 60, "earlier tokens are void");

    let unknown = store
        .set_password_hash(Uuid::new_v4(), "x", Some(70), 70)
        .await;
    assert!(matches!(unknown, Err(StoreError::NotFound)), "{unknown:?}");
}

pub(crate) async fn a_guarded_change_is_refused_when_it_takes_the_last_enabled_admin(
    store: Arc<dyn Store>,
) {
    let (first, second) = (
        user("first", &["admin", "user"]),
        user("second", &["admin"]),
    );
    let plain = user("plain", &["user"]);
    store
        .create_users(&[first.clone(), second.clone(), plain.clone()])
        .await
        .unwrap();
    let guard = last_admin::GUARD;

    store
        .change_user(
            first.id,
            UserChange::Roles(vec!["user".to_owned()]),
            guard,
            10,
        )
        .await
        .unwrap();
    let demoted = store.user_by_id(first.id).await.unwrap().unwrap();
    assert_eq!(demoted.roles, ["user"]);
    assert_eq!((demoted.updated_at, demoted.tokens_valid_after), (10, 10));
    assert_eq!(store.count_users_with_role("admin").await.unwrap(), 1);

    let changes = [
        UserChange::Roles(vec!["user".to_owned()]),
        UserChange::Disabled(true),
        UserChange::Delete,
    ];
    for change in changes {
        let refused = store
            .change_user(second.id, change.clone(), guard, 20)
            .await;
        assert!(
            matches!(refused, Err(StoreError::LastHolder)),
            "{change:?}: {refused:?}"
        );
        let kept = store.user_by_id(second.id).await.unwrap().unwrap();
        assert_eq!(kept.roles, ["admin"], "{change:?}");
        assert!(!kept.disabled, "{change:?}");
        assert_eq!(kept.tokens_valid_after, 0, "{change:?}: nothing changed");
    }

    // Changes that take no admin away pass.
    store
        .change_user(plain.id, UserChange::Disabled(true), guard, 30)
        .await
        .unwrap();
    let disabled = store.user_by_id(plain.id).await.unwrap().unwrap();
    assert!(disabled.disabled);
    assert_eq!(disabled.tokens_valid_after, 30);
    assert_eq!(store.count_users_with_role("user").await.unwrap(), 1);
    store
        .change_user(plain.id, UserChange::Disabled(false), guard, 31)
        .await
        .unwrap();
    store
        .change_user(plain.id, UserChange::Delete, guard, 32)
        .await
        .unwrap();
    assert!(store.user_by_id(plain.id).await.unwrap().is_none());
    let unknown = store
        .change_user(Uuid::new_v4(), UserChange::Disabled(true), guard, 40)
        .await;
    assert!(matches!(unknown, Err(StoreError::NotFound)), "{unknown:?}");
    let unknown_role = store
        .change_user(
            first.id,
            UserChange::Roles(vec!["nope".to_owned()]),
            guard,
            41,
        )
        .await;
    assert!(
        matches!(unknown_role, Err(StoreError::MissingReference)),
        "{unknown_role:?}"
    );
}

pub(crate) async fn the_store_applies_the_guard_it_is_given_and_changes_nothing_when_refused(
    store: Arc<dyn Store>,
) {
    let alice = user("alice", &["user"]);
    store.create_user(&alice).await.unwrap();
    let refuse_all = Guard {
        role: "user",
        refuses: |_| true,
    };
    let refused = store
        .change_user(alice.id, UserChange::Disabled(true), refuse_all, 10)
        .await;
    assert!(
        matches!(refused, Err(StoreError::LastHolder)),
        "{refused:?}"
    );
    let kept = store.user_by_id(alice.id).await.unwrap().unwrap();
    assert!(!kept.disabled);
    assert_eq!(kept.tokens_valid_after, 0);

    // The holders are counted inside the change: after the change, not before.
    let saw_after = Guard {
        role: "user",
        refuses: |holders| !(holders.held_before && holders.after == 0),
    };
    store
        .change_user(alice.id, UserChange::Disabled(true), saw_after, 11)
        .await
        .unwrap();
}

pub(crate) async fn two_admins_demoting_each_other_at_once_cannot_both_succeed(
    store: Arc<dyn Store>,
) {
    for round in 0..5 {
        let a = user(&format!("a{round}"), &["admin"]);
        let b = user(&format!("b{round}"), &["admin"]);
        store.create_users(&[a.clone(), b.clone()]).await.unwrap();
        let demote = |id: Uuid| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                store
                    .change_user(id, UserChange::Disabled(true), last_admin::GUARD, 5)
                    .await
            })
        };
        let (one, other) = (demote(a.id), demote(b.id));
        let outcomes = [one.await.unwrap(), other.await.unwrap()];
        let refused = outcomes
            .iter()
            .filter(|o| matches!(o, Err(StoreError::LastHolder)))
            .count();
        assert_eq!(refused, 1, "round {round}: {outcomes:?}");
        assert_eq!(store.count_users_with_role("admin").await.unwrap(), 1);
        // The survivor leaves by deletion of the other's role next round: start over.
        for id in [a.id, b.id] {
            let _ = store
                .change_user(
                    id,
                    UserChange::Roles(vec![]),
                    Guard {
                        role: "admin",
                        refuses: |_| false,
                    },
                    6,
                )
                .await;
        }
    }
}

pub(crate) async fn scopes_are_listed_upserted_and_deleted(store: Arc<dyn Store>) {
    let seeded = store.list_scopes().await.unwrap();
    let names: Vec<&str> = seeded.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        ["admin", "email", "offline_access", "openid", "profile"]
    );
    assert!(seeded.iter().any(|s| s.name == "profile" && s.is_default));
    assert!(
        seeded.iter().all(|s| s.is_default == (s.name == "profile")),
        "only profile is a default scope: {seeded:?}"
    );

    let mut read = ScopeDef {
        name: "read".to_owned(),
        description: "Read things".to_owned(),
        is_default: false,
    };
    store.upsert_scope(&read).await.unwrap();
    read.description = "Read more things".to_owned();
    read.is_default = true;
    store.upsert_scope(&read).await.unwrap();
    let listed = store.list_scopes().await.unwrap();
    assert_eq!(listed.len(), 6);
    assert!(listed.contains(&read), "{listed:?}");

    store.delete_scope("read").await.unwrap();
    let again = store.delete_scope("read").await;
    assert!(matches!(again, Err(StoreError::NotFound)), "{again:?}");
    assert_eq!(store.list_scopes().await.unwrap().len(), 5);
}

pub(crate) async fn roles_are_created_with_their_scopes_replaced_and_deleted(
    store: Arc<dyn Store>,
) {
    store
        .upsert_scope(&ScopeDef {
            name: "read".to_owned(),
            description: String::new(),
            is_default: false,
        })
        .await
        .unwrap();
    let reader = Role {
        name: "reader".to_owned(),
        description: "Reads".to_owned(),
        scopes: vec!["read".to_owned(), "profile".to_owned()],
    };
    store.create_role(&reader).await.unwrap();
    let stored = store.role("reader").await.unwrap().unwrap();
    assert_eq!(stored.description, "Reads");
    assert_eq!(
        stored.scopes,
        ["profile", "read"],
        "scopes come back sorted"
    );
    let roles = store.list_roles().await.unwrap();
    let names: Vec<&str> = roles.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["admin", "reader", "user"]);
    assert!(store.role("nobody").await.unwrap().is_none());

    let again = store.create_role(&reader).await;
    assert!(matches!(again, Err(StoreError::Conflict)), "{again:?}");
    let dangling = Role {
        name: "dangling".to_owned(),
        description: String::new(),
        scopes: vec!["no-such-scope".to_owned()],
    };
    let refused = store.create_role(&dangling).await;
    assert!(
        matches!(refused, Err(StoreError::MissingReference)),
        "{refused:?}"
    );
    assert!(
        store.role("dangling").await.unwrap().is_none(),
        "all or nothing"
    );

    store
        .set_role_scopes("reader", &["read".to_owned()])
        .await
        .unwrap();
    assert_eq!(
        store.role("reader").await.unwrap().unwrap().scopes,
        ["read"]
    );
    let unknown = store.set_role_scopes("nobody", &[]).await;
    assert!(matches!(unknown, Err(StoreError::NotFound)), "{unknown:?}");
    let unknown_scope = store
        .set_role_scopes("reader", &["no-such-scope".to_owned()])
        .await;
    assert!(
        matches!(unknown_scope, Err(StoreError::MissingReference)),
        "{unknown_scope:?}"
    );
    assert_eq!(
        store.role("reader").await.unwrap().unwrap().scopes,
        ["read"]
    );

    store.delete_scope("read").await.unwrap();
    let cascaded = store.role("reader").await.unwrap().unwrap();
    assert!(
        cascaded.scopes.is_empty(),
        "a deleted scope leaves every role"
    );
    store.delete_role("reader").await.unwrap();
    assert!(store.role("reader").await.unwrap().is_none());
    let gone = store.delete_role("reader").await;
    assert!(matches!(gone, Err(StoreError::NotFound)), "{gone:?}");
}

pub(crate) async fn clients_are_created_found_listed_changed_and_deleted(store: Arc<dyn Store>) {
    let public = client("public-app");
    let confidential = Client {
        confidential: true,
        secret_hash: Some(vec![1, 2, 3, 0, 255]),
        grants: vec!["client_credentials".to_owned()],
        audience: Some("https://api.example".to_owned()),
        redirect_uris: vec![
            "https://app.example/callback".to_owned(),
            "http://127.0.0.1/callback".to_owned(),
        ],
        post_logout_redirect_uris: vec!["https://app.example/".to_owned()],
        first_party: true,
        auth_method: AuthMethod::ClientSecretPost,
        access_token_ttl: Some(300),
        refresh_token_ttl: Some(86_400),
        logout_revokes_tokens: false,
        ..client("backend")
    };
    store.create_client(&public).await.unwrap();
    store.create_client(&confidential).await.unwrap();

    let found = store.client("backend").await.unwrap().unwrap();
    assert_eq!(found.name, confidential.name);
    assert!(found.confidential);
    assert_eq!(found.secret_hash, confidential.secret_hash);
    assert_eq!(found.grants, ["client_credentials"]);
    assert_eq!(found.scopes, ["profile"]);
    assert_eq!(found.audience.as_deref(), Some("https://api.example"));
    assert!(!found.disabled);
    assert_eq!(found.created_at, 1);
    assert_eq!(
        found.redirect_uris, confidential.redirect_uris,
        "order kept"
    );
    assert_eq!(found.post_logout_redirect_uris, ["https://app.example/"]);
    assert!(found.first_party);
    assert_eq!(found.auth_method, AuthMethod::ClientSecretPost);
    assert_eq!(
        (found.access_token_ttl, found.refresh_token_ttl),
        (Some(300), Some(86_400))
    );
    let public_found = store.client("public-app").await.unwrap().unwrap();
    assert_eq!(public_found.auth_method, AuthMethod::None);
    assert!(public_found.redirect_uris.is_empty());
    assert_eq!(public_found.access_token_ttl, None);
    assert!(store.client("nobody").await.unwrap().is_none());
    let ids: Vec<String> = store
        .list_clients()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, ["backend", "public-app"]);
    let again = store.create_client(&public).await;
    assert!(matches!(again, Err(StoreError::Conflict)), "{again:?}");

    let scopes = vec!["admin".to_owned(), "profile".to_owned()];
    let change = ClientChange {
        disabled: Some(true),
        scopes: Some(scopes.clone()),
        redirect_uris: Some(vec!["https://app.example/new".to_owned()]),
        auth_method: Some(AuthMethod::ClientSecretBasic),
        access_token_ttl: Some(None),
        refresh_token_ttl: Some(Some(600)),
        ..ClientChange::default()
    };
    store.update_client("backend", &change).await.unwrap();
    let changed = store.client("backend").await.unwrap().unwrap();
    assert!(changed.disabled);
    assert_eq!(changed.scopes, scopes);
    assert_eq!(changed.redirect_uris, ["https://app.example/new"]);
    assert_eq!(changed.auth_method, AuthMethod::ClientSecretBasic);
    assert_eq!(changed.access_token_ttl, None, "set back to the server's");
    assert_eq!(changed.refresh_token_ttl, Some(600));
    // What the change leaves out stays.
    assert_eq!(changed.post_logout_redirect_uris, ["https://app.example/"]);
    assert!(changed.first_party);
    assert_eq!(changed.name, confidential.name);
    let untouched = store
        .update_client("backend", &ClientChange::default())
        .await;
    assert!(untouched.is_ok(), "{untouched:?}");
    assert_eq!(
        store
            .client("backend")
            .await
            .unwrap()
            .unwrap()
            .refresh_token_ttl,
        Some(600)
    );
    for outcome in [
        store
            .update_client("nobody", &ClientChange::default())
            .await,
        store.delete_client("nobody").await,
    ] {
        assert!(matches!(outcome, Err(StoreError::NotFound)), "{outcome:?}");
    }
    store.delete_client("backend").await.unwrap();
    assert!(store.client("backend").await.unwrap().is_none());
}

pub(crate) async fn a_users_profile_is_stored_with_them_and_replaced_whole(store: Arc<dyn Store>) {
    let ada = User {
        profile: Profile {
            name: Some("Ada Lovelace".to_owned()),
            email: Some("ada@example.com".to_owned()),
            email_verified: true,
        },
        ..user("ada", &["user"])
    };
    store
        .create_users(&[ada.clone(), user("bob", &[])])
        .await
        .unwrap();

    let found = store.user_by_username("ada").await.unwrap().unwrap();
    assert_eq!(found.profile, ada.profile);
    let bob = store.user_by_username("bob").await.unwrap().unwrap();
    assert_eq!(bob.profile, Profile::default());

    let next = Profile {
        name: None,
        email: Some("ada@lovelace.example".to_owned()),
        email_verified: false,
    };
    store.set_profile(ada.id, &next, 50).await.unwrap();
    let changed = store.user_by_id(ada.id).await.unwrap().unwrap();
    assert_eq!(changed.profile, next);
    assert_eq!(changed.updated_at, 50);
    assert_eq!(changed.roles, ["user"], "nothing else changes");
    assert_eq!(changed.tokens_valid_after, ada.tokens_valid_after);
    let missing = store.set_profile(Uuid::new_v4(), &next, 50).await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
}
