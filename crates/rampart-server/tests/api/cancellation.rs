//! A request dropped in the middle of a store transaction (client gone, request timeout)
//! must not leave its pooled connection inside that transaction (sqlx #3932): on SQLite
//! the next `BEGIN IMMEDIATE` on it fails ("attempted to call begin_with at non-zero
//! transaction depth") and the open transaction holds the write lock; on Postgres the
//! session stays "idle in transaction" and later statements on it commit only by chance.
//!
//! White-box: the operations are driven through `TestApp::state`'s store, because only
//! there can a test drop a transaction at a chosen point.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use rampart_server::accounts::last_admin;
use rampart_server::store::{RefreshToken, RotateOutcome, Store, User, UserChange};
use reqwest::StatusCode;
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::database::{Backend, TestDatabase};
use crate::helpers::{ADMIN_PW, ClientAuth, TestApp};

/// Connections per pool in this test (every one must come out clean).
const CONNECTIONS: u32 = 4;

/// Polls `work` up to `polls` times, letting it run for `pause` between polls (the
/// database works meanwhile: SQLite on its worker thread, Postgres on the server), then
/// drops it, wherever it is. Dropping a future is what a disconnect or a timeout does.
async fn abandon_after(polls: u32, pause: Duration, work: impl Future) {
    let mut work = pin!(work);
    for _ in 0..polls {
        let ready = std::future::poll_fn(|cx| Poll::Ready(work.as_mut().poll(cx).is_ready())).await;
        if ready {
            return;
        }
        // A blocking pause on purpose: the runtime must not get to finish the work.
        std::thread::sleep(pause);
    }
}

fn user(name: &str, now: i64) -> User {
    User {
        id: Uuid::new_v4(),
        username: name.to_owned(),
        password_hash: "not a real hash".to_owned(),
        disabled: false,
        created_at: now,
        updated_at: now,
        password_changed_at: now,
        tokens_valid_after: 0,
        roles: vec!["user".to_owned()],
        profile: rampart_server::store::Profile::default(),
    }
}

fn refresh_row(user_id: Uuid, now: i64) -> (RefreshToken, Vec<u8>) {
    let row = RefreshToken {
        id: Uuid::new_v4(),
        family_id: Uuid::new_v4(),
        user_id,
        client_id: "first-party".to_owned(),
        scope: "profile".to_owned(),
        created_at: now,
        expires_at: now + 3600,
        idle_expires_at: now + 3600,
        used_at: None,
        revoked_at: None,
    };
    (row, Uuid::new_v4().as_bytes().to_vec())
}

/// Starts a transactional operation of each kind and drops it after `polls` polls.
async fn abandon_one_of_each(
    store: &Arc<dyn Store>,
    owner: Uuid,
    now: i64,
    polls: u32,
    pause: Duration,
) {
    let (current, hash) = refresh_row(owner, now);
    store.insert_refresh(&current, &hash).await.unwrap();
    let (next, next_hash) = refresh_row(owner, now);
    abandon_after(
        polls,
        pause,
        store.rotate_if_current(&hash, "first-party", &next, &next_hash, now),
    )
    .await;
    let name = format!("abandoned-{}", Uuid::new_v4().simple());
    abandon_after(polls, pause, store.create_user(&user(&name, now))).await;
    abandon_after(
        polls,
        pause,
        store.change_user(
            owner,
            UserChange::Roles(vec!["admin".to_owned(), "user".to_owned()]),
            last_admin::GUARD,
            now,
        ),
    )
    .await;
}

/// Postgres sessions of this database left inside a transaction, after giving work
/// still running on its own a moment to finish (a transaction in progress is "idle in
/// transaction" between its statements too).
async fn sessions_idle_in_transaction(observer: &mut sqlx::PgConnection) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND state LIKE 'idle in transaction%'",
        )
        .fetch_one(&mut *observer)
        .await
        .unwrap();
        if n == 0 || Instant::now() > deadline {
            return n;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_dropped_midway_leave_every_pooled_connection_usable() {
    // Arrange
    let database = match crate::BACKEND {
        Backend::Sqlite => None,
        Backend::Postgres => match TestDatabase::create().await {
            Some(database) => Some(Arc::new(database)),
            None => {
                crate::database::notice_skipped("the Postgres run of the API suite");
                std::process::exit(0);
            }
        },
    };
    let app = TestApp::spawn_on(database.clone(), |config| {
        config.db_max_connections = CONNECTIONS;
    })
    .await;
    let store = Arc::clone(&app.state.store);
    let now = app.state.accounts.clock.now();
    let owner = user("owner", now);
    store.create_user(&owner).await.unwrap();

    let mut observer = match &database {
        Some(database) => Some(database.connect().await),
        None => None,
    };

    // Act: drop each kind of transaction at many different points.
    for round in 0..120u32 {
        let polls = 1 + round % 6;
        let pause = Duration::from_micros(u64::from(round % 5) * 40);
        abandon_one_of_each(&store, owner.id, now, polls, pause).await;
        // Postgres heals a leaked session the next time a transaction begins on it (and
        // rolls back whatever ran on it meanwhile), so look after every round.
        if let Some(observer) = &mut observer {
            assert_eq!(
                sessions_idle_in_transaction(observer).await,
                0,
                "round {round}: a dropped transaction left its Postgres session open"
            );
        }
    }

    // Assert: more concurrent transactions than connections, so each connection serves some.
    let mut work = JoinSet::new();
    for i in 0..(4 * CONNECTIONS) {
        let store = Arc::clone(&store);
        work.spawn(async move {
            store
                .create_user(&user(&format!("after-{i}"), now))
                .await
                .map_err(|e| format!("create_user: {e}"))?;
            let (current, hash) = refresh_row(owner.id, now);
            store
                .insert_refresh(&current, &hash)
                .await
                .map_err(|e| format!("insert_refresh: {e}"))?;
            let (next, next_hash) = refresh_row(owner.id, now);
            match store
                .rotate_if_current(&hash, "first-party", &next, &next_hash, now)
                .await
            {
                Ok(RotateOutcome::Rotated(_)) => Ok(()),
                Ok(other) => Err(format!("rotate_if_current: {other:?}")),
                Err(e) => Err(format!("rotate_if_current: {e}")),
            }
        });
    }
    let outcomes: Vec<Result<(), String>> = work.join_all().await;
    let failures: Vec<&String> = outcomes.iter().filter_map(|o| o.as_ref().err()).collect();
    assert!(
        failures.is_empty(),
        "after dropped transactions: {failures:?}"
    );
    let login = app.login("admin", ADMIN_PW, None).await;
    let refreshed = app
        .refresh(&login.refresh_token.unwrap(), None, ClientAuth::FirstParty)
        .await;
    assert_eq!(refreshed.status(), StatusCode::OK);
}
