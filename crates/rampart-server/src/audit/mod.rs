//! The audit trail: one event type for every security-relevant action, written to the
//! store (queryable at `/admin/audit`) and logged as structured fields through
//! `tracing` (target `rampart::audit`, JSON when logs are JSON).
//!
//! The server stores events off the request path ([`Audit::batched`]): a request puts its
//! event on a bounded queue and goes on; a background task stores whatever has queued up
//! with one multi-row INSERT per batch. Nothing is dropped: when the queue is full (a
//! burst the writer has not caught up with) the request stores its event itself, as the
//! CLI always does ([`Audit::new`]). Reads of the trail ([`Audit::list`], [`Audit::purge`])
//! first wait until everything queued before them is stored, so a reader sees the events
//! of the requests that were answered before it asked; the server flushes the queue when
//! it stops. (With several instances, an event still queued on another instance shows up
//! once that instance's writer gets to it: normally within one batch write.)
//!
//! Never a password, token, client secret or key in an event: callers pass identifiers
//! (user id, username attempted, client id, kid, family id) and reasons only. The
//! `secret_scan` test runs every flow with known secrets and greps logs and rows.

use std::net::IpAddr;
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::clock::Clock;
use crate::store::{AUDIT_BATCH_ROWS, AuditFilter, AuditRecord, AuditStore, StoreError};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    LoginSucceeded,
    /// Unknown user and wrong password look the same to the client; `reason` tells
    /// them apart here.
    LoginFailed,
    ClientCredentials,
    ClientAuthFailed,
    Refresh,
    /// A rotated refresh token was presented again: the family was revoked.
    RefreshReuse,
    Revocation,
    Lockout,
    PasswordChanged,
    AdminChange,
    KeyRotated,
    /// A user allowed a client scopes on the consent page.
    ConsentGranted,
    /// A user denied a client on the consent page.
    ConsentDenied,
    /// A browser session ended by the user (RP-initiated logout).
    Logout,
}

impl Kind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LoginSucceeded => "login_succeeded",
            Self::LoginFailed => "login_failed",
            Self::ClientCredentials => "client_credentials",
            Self::ClientAuthFailed => "client_auth_failed",
            Self::Refresh => "refresh",
            Self::RefreshReuse => "refresh_reuse",
            Self::Revocation => "revocation",
            Self::Lockout => "lockout",
            Self::PasswordChanged => "password_changed",
            Self::AdminChange => "admin_change",
            Self::KeyRotated => "key_rotated",
            Self::ConsentGranted => "consent_granted",
            Self::ConsentDenied => "consent_denied",
            Self::Logout => "logout",
        }
    }
}

/// An event under construction.
#[derive(Debug, Clone)]
#[must_use]
pub struct Event {
    kind: Kind,
    actor: Option<String>,
    subject: Option<String>,
    client_id: Option<String>,
    ip: Option<IpAddr>,
    reason: Option<&'static str>,
    details: Value,
}

impl Event {
    /// A new event of `kind`.
    pub fn new(kind: Kind) -> Self {
        Self {
            kind,
            actor: None,
            subject: None,
            client_id: None,
            ip: None,
            reason: None,
            details: Value::Null,
        }
    }
    /// Who acted (user id, client id, `cli`).
    pub fn actor(mut self, actor: impl ToString) -> Self {
        self.actor = Some(bounded(actor.to_string()));
        self
    }
    /// What was acted on.
    pub fn subject(mut self, subject: impl ToString) -> Self {
        self.subject = Some(bounded(subject.to_string()));
        self
    }
    /// The OAuth client involved.
    pub fn client(mut self, client_id: impl ToString) -> Self {
        self.client_id = Some(bounded(client_id.to_string()));
        self
    }
    /// The client IP (from the trusted-proxy logic).
    pub fn ip(mut self, ip: IpAddr) -> Self {
        self.ip = Some(ip);
        self
    }
    /// An internal reason, never sent to the client.
    pub fn reason(mut self, reason: &'static str) -> Self {
        self.reason = Some(reason);
        self
    }
    /// Structured details (for admin changes: `{"action", "before", "after"}`).
    pub fn details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }
}

/// Longest actor, subject or client id an event stores, in characters.
pub const MAX_FIELD_CHARS: usize = 256;

/// `field` cut to [`MAX_FIELD_CHARS`], ending in `…` when it was cut: the handlers bound
/// what they pass (usernames, client ids), and this bounds what they might forget. Pure.
fn bounded(mut field: String) -> String {
    if let Some((cut, _)) = field.char_indices().nth(MAX_FIELD_CHARS - 1)
        && field[cut..].chars().nth(1).is_some()
    {
        field.truncate(cut);
        field.push('…');
    }
    field
}

/// Events waiting for the background writer; beyond this a request stores its own.
const QUEUE_CAPACITY: usize = 4096;

/// Writes events. Cheap to clone.
#[derive(Clone)]
pub struct Audit {
    store: Arc<dyn AuditStore>,
    clock: Clock,
    /// The background writer's queue (`None`: every event is stored at once).
    queue: Option<mpsc::Sender<Queued>>,
}

/// What the background writer receives, in order.
enum Queued {
    Event(AuditRecord),
    /// Answered once everything queued before it is stored.
    Flush(oneshot::Sender<()>),
}

impl Audit {
    /// Stores every event before [`Self::record`] returns: for short-lived processes (the
    /// CLI), which would otherwise exit with events still queued.
    pub fn new(store: Arc<dyn AuditStore>, clock: Clock) -> Self {
        Self {
            store,
            clock,
            queue: None,
        }
    }

    /// Stores events in batches on a background task (spawned here, on the current
    /// runtime). Call [`Self::flush`] before the process exits.
    pub fn batched(store: Arc<dyn AuditStore>, clock: Clock) -> Self {
        Self::with_capacity(store, clock, QUEUE_CAPACITY)
    }

    fn with_capacity(store: Arc<dyn AuditStore>, clock: Clock, capacity: usize) -> Self {
        let (queue, received) = mpsc::channel(capacity);
        tokio::spawn(write_batches(Arc::clone(&store), received));
        Self {
            store,
            clock,
            queue: Some(queue),
        }
    }

    /// Logs and stores an event. A store failure is logged, never fails the request.
    pub async fn record(&self, event: Event) {
        let record = AuditRecord {
            id: Uuid::new_v4(),
            at: self.clock.now(),
            kind: event.kind.as_str().to_owned(),
            actor: event.actor,
            subject: event.subject,
            client_id: event.client_id,
            ip: event.ip.map(|ip| ip.to_string()),
            reason: event.reason.map(str::to_owned),
            details: if event.details.is_null() {
                Value::Object(serde_json::Map::new())
            } else {
                event.details
            },
        };
        tracing::info!(
            target: "rampart::audit",
            event = %record.kind,
            id = %record.id,
            actor = record.actor.as_deref(),
            subject = record.subject.as_deref(),
            client_id = record.client_id.as_deref(),
            ip = record.ip.as_deref(),
            reason = record.reason.as_deref(),
            details = %record.details,
            "audit"
        );
        let Some(queue) = &self.queue else {
            return store_one(self.store.as_ref(), &record).await;
        };
        // Never waits: a full queue (or a writer gone) means storing it here instead.
        if let Err(refused) = queue.try_send(Queued::Event(record))
            && let Queued::Event(record) = refused.into_inner()
        {
            store_one(self.store.as_ref(), &record).await;
        }
    }

    /// Returns once every event recorded before this call is stored (or failed to be, and
    /// was logged).
    pub async fn flush(&self) {
        let Some(queue) = &self.queue else { return };
        let (ack, stored) = oneshot::channel();
        if queue.send(Queued::Flush(ack)).await.is_ok() {
            // An error means the writer is gone: nothing more will be stored by it.
            let _ = stored.await;
        }
    }

    /// Events matching `filter`, newest first, strictly older than `before` (see
    /// [`Store::list_audit`]), including every event recorded before this call.
    pub async fn list(
        &self,
        filter: &AuditFilter,
        before: Option<(i64, Uuid)>,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        self.flush().await;
        self.store.list_audit(filter, before, limit).await
    }

    /// Deletes events older than `retention` (run periodically).
    pub async fn purge(&self, retention: std::time::Duration) {
        self.flush().await;
        let cutoff = self.clock.now() - i64::try_from(retention.as_secs()).unwrap_or(i64::MAX);
        match self.store.purge_audit(cutoff).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "purged old audit events"),
            Err(e) => tracing::warn!(error = %e, "purging audit events failed"),
        }
    }
}

async fn store_one(store: &dyn AuditStore, record: &AuditRecord) {
    if let Err(e) = store.append_audit(record).await {
        tracing::error!(error = %e, event = %record.kind, "could not store an audit event");
    }
}

/// The background writer: stores whatever has queued up (at most [`AUDIT_BATCH_ROWS`]
/// events) with one INSERT, then answers the flushes that were queued with it. Ends when
/// every [`Audit`] is gone.
async fn write_batches(store: Arc<dyn AuditStore>, mut queue: mpsc::Receiver<Queued>) {
    let mut received = Vec::with_capacity(AUDIT_BATCH_ROWS);
    while queue.recv_many(&mut received, AUDIT_BATCH_ROWS).await > 0 {
        let mut events = Vec::with_capacity(received.len());
        let mut flushes = Vec::new();
        for queued in received.drain(..) {
            match queued {
                Queued::Event(record) => events.push(record),
                Queued::Flush(ack) => flushes.push(ack),
            }
        }
        if !events.is_empty()
            && let Err(e) = store.append_audit_batch(&events).await
        {
            // All or nothing failed: try each, so one bad event cannot lose the others.
            tracing::warn!(error = %e, events = events.len(), "storing a batch of audit events failed; storing them one by one");
            for record in &events {
                store_one(store.as_ref(), record).await;
            }
        }
        for ack in flushes {
            let _ = ack.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    #[test]
    fn the_field_bound_table() {
        let at_limit = "a".repeat(super::MAX_FIELD_CHARS);
        let over = "é".repeat(16 * 1024);
        let cases = [
            ("short", "alice".to_owned(), "alice".to_owned()),
            ("exactly at the limit", at_limit.clone(), at_limit.clone()),
            (
                "one over",
                format!("{at_limit}b"),
                format!("{}…", &at_limit[..super::MAX_FIELD_CHARS - 1]),
            ),
            (
                "16 KiB of two-byte characters",
                over,
                format!("{}…", "é".repeat(super::MAX_FIELD_CHARS - 1)),
            ),
        ];
        for (name, input, want) in cases {
            let got = super::bounded(input);
            assert_eq!(got, want, "{name}");
            assert!(got.chars().count() <= super::MAX_FIELD_CHARS, "{name}");
        }
    }

    use sqlx::{Connection as _, SqliteConnection};

    use super::*;
    use crate::store::{SqliteStore, Store};

    /// A store in `dir`, and a second connection that can take its write lock.
    async fn store(dir: &tempfile::TempDir) -> (Arc<dyn Store>, SqliteConnection) {
        let url = format!("sqlite://{}/audit.db", dir.path().display());
        let store = SqliteStore::connect(&url, 2).await.unwrap();
        store.migrate().await.unwrap();
        let other = SqliteConnection::connect(&url).await.unwrap();
        (Arc::new(store), other)
    }

    /// Holds the database's write lock for `held`: the background writer waits meanwhile.
    async fn stall_writes(
        mut other: SqliteConnection,
        held: Duration,
    ) -> tokio::task::JoinHandle<()> {
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut other)
            .await
            .unwrap();
        tokio::spawn(async move {
            tokio::time::sleep(held).await;
            sqlx::query("ROLLBACK").execute(&mut other).await.unwrap();
        })
    }

    fn event(n: u32) -> Event {
        Event::new(Kind::ClientCredentials).actor(format!("client-{n}"))
    }

    async fn stored(store: &dyn Store) -> Vec<AuditRecord> {
        store
            .list_audit(&AuditFilter::default(), None, 1000)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_read_sees_every_event_recorded_before_it_even_while_the_writer_waits() {
        let dir = tempfile::tempdir().unwrap();
        let (store, other) = store(&dir).await;
        let audit = Audit::batched(
            Arc::clone(&store) as Arc<dyn AuditStore>,
            Clock::manual(1_000),
        );
        let released = stall_writes(other, Duration::from_millis(300)).await;

        for n in 0..10 {
            audit.record(event(n)).await;
        }
        let listed = audit
            .list(&AuditFilter::default(), None, 100)
            .await
            .unwrap();

        assert_eq!(listed.len(), 10);
        released.await.unwrap();
    }

    #[tokio::test]
    async fn when_the_queue_is_full_requests_store_their_own_events_and_none_is_lost() {
        let dir = tempfile::tempdir().unwrap();
        let (store, other) = store(&dir).await;
        let audit = Audit::with_capacity(
            Arc::clone(&store) as Arc<dyn AuditStore>,
            Clock::manual(1_000),
            1,
        );
        let released = stall_writes(other, Duration::from_millis(300)).await;

        for n in 0..20 {
            audit.record(event(n)).await;
        }
        audit.flush().await;

        let mut actors: Vec<String> = stored(store.as_ref())
            .await
            .into_iter()
            .filter_map(|r| r.actor)
            .collect();
        actors.sort();
        let mut expected: Vec<String> = (0..20).map(|n| format!("client-{n}")).collect();
        expected.sort();
        assert_eq!(actors, expected, "each event stored exactly once");
        released.await.unwrap();
    }

    #[tokio::test]
    async fn the_cli_stores_each_event_before_record_returns() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = store(&dir).await;
        let audit = Audit::new(
            Arc::clone(&store) as Arc<dyn AuditStore>,
            Clock::manual(1_000),
        );

        audit.record(event(1)).await;

        assert_eq!(stored(store.as_ref()).await.len(), 1);
    }
}
