//! One conformance suite for every store backend: each contract below runs on a fresh
//! SQLite file (`on_sqlite::…`) and on a fresh Postgres database (`on_postgres::…`,
//! created through `RAMPART_TEST_POSTGRES_URL`; without it each of those tests prints a
//! notice and passes trivially; CI sets it).
//!
//! The contracts are written against `Arc<dyn Store>` only, so a backend passes by its
//! behaviour, never by its SQL. The rules above the store (refresh reuse, the last
//! administrator) are exercised through the functions the server calls.

#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

#[path = "store_conformance/accounts.rs"]
mod accounts;
#[path = "store_conformance/browser.rs"]
mod browser;
#[path = "api/database.rs"]
mod database;
#[path = "store_conformance/parity.rs"]
mod parity;
#[path = "store_conformance/records.rs"]
mod records;
#[path = "store_conformance/refresh.rs"]
mod refresh;

/// Every contract, by name.
mod store_contracts {
    pub(crate) use crate::accounts::*;
    pub(crate) use crate::browser::*;
    pub(crate) use crate::records::*;
    pub(crate) use crate::refresh::*;
}

use std::sync::Arc;
use std::time::Duration;

use rampart_server::store::{self, PostgresSettings, Store};

use crate::database::TestDatabase;

/// A migrated store of its own, and what keeps its database alive (dropped after it).
struct Fresh {
    store: Arc<dyn Store>,
    _sqlite: Option<tempfile::TempDir>,
    _postgres: Option<TestDatabase>,
}

fn settings() -> PostgresSettings {
    PostgresSettings {
        max_connections: 4,
        acquire_timeout: Duration::from_secs(10),
        statement_timeout: Duration::from_secs(30),
    }
}

impl Fresh {
    async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/conformance.db", dir.path().display());
        let store = store::open(&url, settings()).await.unwrap();
        store.migrate().await.unwrap();
        Self {
            store,
            _sqlite: Some(dir),
            _postgres: None,
        }
    }

    async fn postgres() -> Option<Self> {
        let Some(db) = TestDatabase::create().await else {
            database::notice_skipped("this store conformance test on Postgres is");
            return None;
        };
        let store = store::open(&db.url(), settings()).await.unwrap();
        store.migrate().await.unwrap();
        Some(Self {
            store,
            _sqlite: None,
            _postgres: Some(db),
        })
    }
}

/// Runs each named contract of `store_contracts` on both backends.
macro_rules! conformance {
    ($($contract:ident),+ $(,)?) => {
        mod on_sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $contract() {
                    let fresh = crate::Fresh::sqlite().await;
                    crate::store_contracts::$contract(std::sync::Arc::clone(&fresh.store)).await;
                }
            )+
        }
        mod on_postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $contract() {
                    let Some(fresh) = crate::Fresh::postgres().await else { return };
                    crate::store_contracts::$contract(std::sync::Arc::clone(&fresh.store)).await;
                }
            )+
        }
    };
}

conformance!(
    migrating_again_changes_nothing_and_the_store_answers_pings,
    users_are_created_found_and_unique,
    a_batch_of_users_is_created_whole_or_not_at_all,
    users_are_listed_by_username_after_a_cursor_with_a_literal_prefix,
    a_password_change_stamps_the_user_and_a_rehash_does_not,
    a_guarded_change_is_refused_when_it_takes_the_last_enabled_admin,
    the_store_applies_the_guard_it_is_given_and_changes_nothing_when_refused,
    two_admins_demoting_each_other_at_once_cannot_both_succeed,
    scopes_are_listed_upserted_and_deleted,
    roles_are_created_with_their_scopes_replaced_and_deleted,
    clients_are_created_found_listed_changed_and_deleted,
    a_users_profile_is_stored_with_them_and_replaced_whole,
    a_current_token_rotates_once_and_a_rotated_one_presented_again_revokes_its_family,
    rotate_if_current_reports_a_token_that_is_not_current_and_changes_nothing,
    of_concurrent_presentations_exactly_one_rotates_and_the_family_ends_revoked,
    within_the_grace_window_a_rotated_token_gets_a_sibling_unless_its_family_is_revoked,
    sessions_are_listed_revoked_by_family_and_by_user,
    an_authorization_code_is_redeemed_once_before_it_expires_and_purged_after,
    browser_sessions_are_found_by_hash_touched_listed_ended_and_purged,
    consents_are_stored_replaced_listed_and_deleted,
    signing_keys_are_listed_in_activation_order_and_retired_once,
    throttle_failures_count_restart_lock_and_purge,
    audit_events_are_listed_newest_first_filtered_paged_and_purged,
    an_audit_batch_of_several_inserts_is_stored_whole,
    the_jti_denylist_forgets_expired_entries_and_the_access_epoch_moves,
);
