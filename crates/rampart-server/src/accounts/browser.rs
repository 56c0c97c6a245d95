//! Browser sign-in: the server side of the session cookie, and the consents users gave
//! clients. The cookie holds 256 random bits; the store keeps only their SHA-256, so a
//! read of the database does not hand out sessions.

use std::collections::BTreeSet;

use uuid::Uuid;

use super::Accounts;
use crate::secret;
use crate::store::{BrowserSession, Consent, StoreError, User};

/// Activity is written at most this often (seconds): the idle lifetime is that coarse,
/// and an authorization request costs no write most of the time.
pub const TOUCH_EVERY: i64 = 60;

/// Lifetimes of a browser session, seconds.
#[derive(Debug, Clone, Copy)]
pub struct SessionLifetimes {
    pub idle: i64,
    pub absolute: i64,
}

/// Why a session cookie no longer signs anyone in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dead {
    Ended,
    Expired,
    Idle,
    /// The user is gone or disabled.
    NoUser,
    /// The user's sessions were ended (password change, "end all sessions", role
    /// change, disabling) after this one began.
    Voided,
}

/// Whether `session` of `user` still signs its browser in at `now`. Pure.
pub fn judge(
    session: &BrowserSession,
    user: Option<&User>,
    now: i64,
    lifetimes: SessionLifetimes,
) -> Result<(), Dead> {
    if session.ended_at.is_some() {
        return Err(Dead::Ended);
    }
    if session.expires_at <= now {
        return Err(Dead::Expired);
    }
    if session.last_seen_at.saturating_add(lifetimes.idle) <= now {
        return Err(Dead::Idle);
    }
    let user = user.filter(|u| !u.disabled).ok_or(Dead::NoUser)?;
    // Stamps are whole seconds: a session begun in the stamp's second survives it, as
    // an access token issued in it does.
    if session.created_at < user.tokens_valid_after {
        return Err(Dead::Voided);
    }
    Ok(())
}

/// Whether the stored consent covers every scope requested. Pure.
pub fn consent_covers(consented: &[String], requested: &BTreeSet<String>) -> bool {
    requested.iter().all(|s| consented.iter().any(|c| c == s))
}

impl Accounts {
    /// Starts a session for `user_id`, who just entered their password: returns the
    /// cookie value (to send once) and the stored session.
    pub async fn start_browser_session(
        &self,
        user_id: Uuid,
        lifetimes: SessionLifetimes,
    ) -> Result<(String, BrowserSession), StoreError> {
        let now = self.clock.now();
        let value = secret::random_token(32);
        let session = BrowserSession {
            id: Uuid::new_v4(),
            user_id,
            auth_time: now,
            created_at: now,
            last_seen_at: now,
            expires_at: now.saturating_add(lifetimes.absolute),
            ended_at: None,
        };
        self.store
            .insert_browser_session(&session, &secret::digest(&value))
            .await?;
        Ok((value, session))
    }

    /// The live session behind cookie value `cookie` and its user; `None` when there is
    /// none (unknown, ended, expired, idle, or its user can no longer sign in). Records
    /// the activity (at most every [`TOUCH_EVERY`] seconds).
    pub async fn live_browser_session(
        &self,
        cookie: &str,
        lifetimes: SessionLifetimes,
    ) -> Result<Option<(BrowserSession, User)>, StoreError> {
        let Some(session) = self
            .store
            .browser_session_by_hash(&secret::digest(cookie))
            .await?
        else {
            return Ok(None);
        };
        let user = self.store.user_by_id(session.user_id).await?;
        let now = self.clock.now();
        if judge(&session, user.as_ref(), now, lifetimes).is_err() {
            return Ok(None);
        }
        if session.last_seen_at.saturating_add(TOUCH_EVERY) <= now {
            self.store.touch_browser_session(session.id, now).await?;
        }
        Ok(user.map(|user| (session, user)))
    }

    /// The session with public id `id`, whatever its state.
    pub async fn browser_session(&self, id: Uuid) -> Result<Option<BrowserSession>, StoreError> {
        self.store.browser_session(id).await
    }

    /// Ends session `id`; `false` when it was unknown or already ended.
    pub async fn end_browser_session(&self, id: Uuid) -> Result<bool, StoreError> {
        self.store.end_browser_session(id, self.clock.now()).await
    }

    /// Live (not ended, not past their absolute end) sessions, of one user or all.
    pub async fn browser_sessions(
        &self,
        user_id: Option<Uuid>,
    ) -> Result<Vec<BrowserSession>, StoreError> {
        self.store
            .list_browser_sessions(user_id, self.clock.now())
            .await
    }

    /// Deletes sessions ended or expired over a day ago.
    pub async fn purge_browser_sessions(&self) -> Result<u64, StoreError> {
        self.store
            .purge_browser_sessions(self.clock.now().saturating_sub(86_400))
            .await
    }

    /// Whether `user_id` consented to `client_id` having every scope of `scopes`.
    pub async fn has_consent(
        &self,
        user_id: Uuid,
        client_id: &str,
        scopes: &BTreeSet<String>,
    ) -> Result<bool, StoreError> {
        Ok(self
            .store
            .consent(user_id, client_id)
            .await?
            .is_some_and(|c| consent_covers(&c.scopes, scopes)))
    }

    /// Records that `user_id` allowed `client_id` `scopes`, beside what they allowed it
    /// before.
    pub async fn grant_consent(
        &self,
        user_id: Uuid,
        client_id: &str,
        scopes: &BTreeSet<String>,
    ) -> Result<(), StoreError> {
        let mut all: BTreeSet<String> = self
            .store
            .consent(user_id, client_id)
            .await?
            .map(|c| c.scopes.into_iter().collect())
            .unwrap_or_default();
        all.extend(scopes.iter().cloned());
        self.store
            .put_consent(&Consent {
                user_id,
                client_id: client_id.to_owned(),
                scopes: all.into_iter().collect(),
                granted_at: self.clock.now(),
            })
            .await
    }

    /// Ends browser session `session` and revokes the token sessions it started for
    /// clients whose `logout_revokes_tokens` is set; returns how many it revoked.
    pub async fn log_out(&self, session: Uuid) -> Result<u64, StoreError> {
        self.end_browser_session(session).await?;
        let mut revoked = 0;
        for (family, client_id) in self.store.families_of(session).await? {
            let revokes = self
                .client(&client_id)
                .await?
                .is_some_and(|c| c.logout_revokes_tokens);
            if revokes {
                self.revoke_session(family).await?;
                revoked += 1;
            }
        }
        Ok(revoked)
    }

    /// The consents of `user_id`.
    pub async fn consents(&self, user_id: Uuid) -> Result<Vec<Consent>, StoreError> {
        self.store.list_consents(user_id).await
    }

    /// Withdraws the consent of `user_id` to `client_id`; `false` when there was none.
    pub async fn revoke_consent(&self, user_id: Uuid, client_id: &str) -> Result<bool, StoreError> {
        self.store.delete_consent(user_id, client_id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Profile;

    const LIFE: SessionLifetimes = SessionLifetimes {
        idle: 100,
        absolute: 1000,
    };

    fn session() -> BrowserSession {
        BrowserSession {
            id: Uuid::nil(),
            user_id: Uuid::nil(),
            auth_time: 10,
            created_at: 10,
            last_seen_at: 50,
            expires_at: 1010,
            ended_at: None,
        }
    }

    fn user() -> User {
        User {
            id: Uuid::nil(),
            username: "alice".into(),
            password_hash: String::new(),
            disabled: false,
            created_at: 0,
            updated_at: 0,
            password_changed_at: 0,
            tokens_valid_after: 0,
            roles: vec![],
            profile: Profile::default(),
        }
    }

    #[allow(clippy::type_complexity)]
    #[test]
    fn sessions_end_when_they_should() {
        let disabled = User {
            disabled: true,
            ..user()
        };
        let voided = User {
            tokens_valid_after: 11,
            ..user()
        };
        let same_second = User {
            tokens_valid_after: 10,
            ..user()
        };
        let ended = BrowserSession {
            ended_at: Some(40),
            ..session()
        };
        let cases: Vec<(&str, BrowserSession, Option<User>, i64, Result<(), Dead>)> = vec![
            ("live", session(), Some(user()), 60, Ok(())),
            ("ended", ended, Some(user()), 60, Err(Dead::Ended)),
            (
                "absolute end",
                session(),
                Some(user()),
                1010,
                Err(Dead::Expired),
            ),
            ("idle end", session(), Some(user()), 150, Err(Dead::Idle)),
            ("just before idle end", session(), Some(user()), 149, Ok(())),
            ("user deleted", session(), None, 60, Err(Dead::NoUser)),
            (
                "user disabled",
                session(),
                Some(disabled),
                60,
                Err(Dead::NoUser),
            ),
            (
                "sessions ended later",
                session(),
                Some(voided),
                60,
                Err(Dead::Voided),
            ),
            (
                "stamp in the same second",
                session(),
                Some(same_second),
                60,
                Ok(()),
            ),
        ];
        for (name, s, u, now, expected) in cases {
            assert_eq!(judge(&s, u.as_ref(), now, LIFE), expected, "{name}");
        }
    }

    #[test]
    fn consent_covers_only_what_was_allowed() {
        let set = |s: &[&str]| s.iter().map(|s| (*s).to_owned()).collect::<BTreeSet<_>>();
        let stored = vec!["openid".to_owned(), "profile".to_owned()];
        let cases = [
            ("same scopes", set(&["openid", "profile"]), true),
            ("fewer scopes", set(&["openid"]), true),
            ("nothing", set(&[]), true),
            ("one more scope", set(&["openid", "email"]), false),
        ];
        for (name, requested, expected) in cases {
            assert_eq!(consent_covers(&stored, &requested), expected, "{name}");
        }
    }
}
