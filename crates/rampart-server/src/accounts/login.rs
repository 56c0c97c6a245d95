//! Password logins: admitting an attempt, verifying it, and the accounting of failures
//! (count, lock, audit) that the password grant and client authentication share.
//!
//! The order is the defence: the per-IP rate limit and a place on the hashing pool are
//! taken before anything reads the store ([`Login::admit`]); the failure backoff is read
//! before any hashing, so a locked request costs one lookup; unknown user, wrong password
//! and disabled account cost the same hashing work and give the caller one answer, while
//! the audit trail keeps the reason ([`failure_reason`]).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use serde_json::json;

use super::Accounts;
use super::Username;
use super::passwords::HashError;
use super::pool::Slot;
use super::throttle::{Counter, LoginRate, Throttle};
use crate::audit::{Audit, Event, Kind};
use crate::metrics::Metrics;
use crate::store::{StoreError, User};

/// Why a password login was refused.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// The IP's rate limit or a failure backoff: retry after this many seconds (429).
    #[error("locked for {0} s")]
    Locked(u64),
    /// Unknown user, wrong password or disabled account: one answer for all three.
    #[error("the username or password is incorrect")]
    Incorrect,
    /// The hashing pool is full or its CPU budget spent: retry after this long (503).
    #[error("password hashing is busy")]
    Busy(Duration),
    /// Password hashing failed to run (logged where it happened).
    #[error("password verification failed to run")]
    Failed,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What the audit trail records of a failed login, `None` when the login succeeds. The
/// caller answers every `Some` the same way. Pure.
pub fn failure_reason(user: Option<&User>, password_ok: bool) -> Option<&'static str> {
    match user {
        None => Some("unknown_user"),
        Some(_) if !password_ok => Some("wrong_password"),
        Some(u) if u.disabled => Some("disabled"),
        Some(_) => None,
    }
}

/// The login policy over the accounts, the throttle and the audit trail.
#[derive(Clone)]
pub struct Login {
    accounts: Accounts,
    throttle: Throttle,
    audit: Audit,
    rate: LoginRate,
    metrics: Arc<Metrics>,
}

impl Login {
    pub fn new(
        accounts: Accounts,
        throttle: Throttle,
        audit: Audit,
        rate: LoginRate,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            accounts,
            throttle,
            audit,
            rate,
            metrics,
        }
    }

    /// The answer when password hashing could not run: refused at once rather than
    /// queued without limit, by the queue (retry in a second) or by the hashing CPU budget
    /// (retry when its debt has drained).
    fn busy(&self, e: HashError) -> LoginError {
        match e {
            HashError::Busy => {
                self.metrics.login("busy");
                LoginError::Busy(self.accounts.passwords.retry_after())
            }
            e => {
                tracing::error!(error = %e, "password verification failed to run");
                LoginError::Failed
            }
        }
    }

    /// Admits a password attempt before any store lookup: the per-IP rate limit, then a
    /// place on the hashing pool (refused when its queue is full or its CPU budget spent).
    ///
    /// Every later step reads the store: the client, the failure-backoff standing, the
    /// user. Reserving the hashing place first means that under a login flood the attempts
    /// the pool would refuse anyway are refused at the cost of parsing them, and the flood
    /// costs the store nothing. The place (and its budget charge) is given back if the
    /// attempt stops earlier, e.g. at client authentication or a locked account.
    pub fn admit(&self, ip: IpAddr) -> Result<Slot, LoginError> {
        if let Err(wait) = self.rate.check(ip) {
            self.metrics.login("locked");
            return Err(LoginError::Locked(wait));
        }
        self.accounts.passwords.reserve().map_err(|e| self.busy(e))
    }

    /// Verifies `name`'s password on the hashing place `slot` (from [`Self::admit`]) for a
    /// login through `client_id` from `ip`. A failure is audited with its reason, counted
    /// against the IP and the account, and answered [`LoginError::Incorrect`] whatever the
    /// reason. A success clears the account's failures and upgrades an outdated hash.
    pub async fn verify(
        &self,
        slot: Slot,
        ip: IpAddr,
        client_id: &str,
        name: &Username,
        password: &SecretString,
    ) -> Result<User, LoginError> {
        // Throttling comes before any hashing: a locked request costs one lookup.
        let account = Counter::Account(name.as_str().to_owned());
        let subjects = [Counter::Ip(ip), account];
        let standing = self.throttle.standing(&subjects).await?;
        if let Err(wait) = standing.locked() {
            self.metrics.login("locked");
            return Err(LoginError::Locked(wait));
        }
        let accounts = &self.accounts;
        let user = accounts.store.user_by_username(name.as_str()).await?;
        let verification = accounts
            .passwords
            .verify_in(
                slot,
                password,
                user.as_ref().map(|u| u.password_hash.as_str()),
            )
            .await
            .map_err(|e| self.busy(e))?;
        let failure = failure_reason(user.as_ref(), verification.ok);
        let user = match (user, failure) {
            (Some(user), None) => user,
            (user, reason) => {
                // The client sees one answer; the audit trail keeps the reason.
                let attempted = user.map_or_else(|| name.as_str().to_owned(), |u| u.username);
                let mut event = Event::new(Kind::LoginFailed)
                    .subject(attempted)
                    .client(client_id)
                    .ip(ip);
                if let Some(reason) = reason {
                    event = event.reason(reason);
                }
                self.audit.record(event).await;
                self.metrics.login("failure");
                self.record_failure(&subjects, ip).await?;
                return Err(LoginError::Incorrect);
            }
        };
        // RFC-free but OWASP: a successful login resets the account's counter.
        self.throttle
            .succeeded_after(Some(&standing), &subjects[1])
            .await?;
        if verification.needs_rehash {
            match accounts.passwords.hash(password).await {
                Ok(hash) => {
                    let now = accounts.clock.now();
                    if let Err(e) = accounts
                        .store
                        .set_password_hash(user.id, &hash, None, now)
                        .await
                    {
                        tracing::warn!(error = %e, "could not store an upgraded password hash");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "could not rehash a password"),
            }
        }
        Ok(user)
    }

    /// Counts a failure against each subject and audits every lock it causes.
    pub async fn record_failure(&self, subjects: &[Counter], ip: IpAddr) -> Result<(), StoreError> {
        for (subject, lock) in self.throttle.failed(subjects).await? {
            let (who, what) = match &subject {
                Counter::Ip(ip) => ("ip", ip.to_string()),
                Counter::Account(name) => ("account", name.clone()),
                Counter::Client(id) => ("client", id.clone()),
                Counter::ClientAtIp(id, _) => ("client_at_ip", id.clone()),
            };
            self.audit
                .record(
                    Event::new(Kind::Lockout)
                        .subject(what)
                        .ip(ip)
                        .reason("repeated_failures")
                        .details(json!({"kind": who, "seconds": lock.as_secs()})),
                )
                .await;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(disabled: bool) -> User {
        User {
            id: uuid::Uuid::nil(),
            username: "alice".into(),
            password_hash: String::new(),
            disabled,
            created_at: 0,
            updated_at: 0,
            password_changed_at: 0,
            tokens_valid_after: 0,
            roles: Vec::new(),
            profile: crate::store::Profile::default(),
        }
    }

    #[test]
    fn the_login_failure_table() {
        let enabled = user(false);
        let disabled = user(true);
        let cases = [
            ("an unknown user", None, false, Some("unknown_user")),
            (
                "an unknown user, whatever the dummy hash says",
                None,
                true,
                Some("unknown_user"),
            ),
            (
                "a wrong password",
                Some(&enabled),
                false,
                Some("wrong_password"),
            ),
            (
                "a wrong password on a disabled account",
                Some(&disabled),
                false,
                Some("wrong_password"),
            ),
            (
                "the right password on a disabled account",
                Some(&disabled),
                true,
                Some("disabled"),
            ),
            ("the right password", Some(&enabled), true, None),
        ];
        for (name, user, password_ok, want) in cases {
            assert_eq!(failure_reason(user, password_ok), want, "{name}");
        }
    }
}
