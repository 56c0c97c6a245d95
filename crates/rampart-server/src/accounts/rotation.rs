//! Refresh-token rotation with reuse detection (RFC 9700 §4.14.2): a rotated token
//! presented again means it leaked, and its whole family (the login session, including
//! the token that replaced it) is revoked.
//!
//! The store offers one atomic step, [`RefreshStore::rotate_if_current`]: of concurrent
//! presentations exactly one rotates, every other one gets the stored row back with
//! nothing changed. What that row means is decided here, once for both databases
//! ([`judge`]), and [`rotate`] revokes the family on reuse. A token that is not current
//! never becomes current again, so deciding after the atomic step loses nothing: the
//! winner's successor is committed before any loser can see the token used, and the
//! revocation covers it.

use std::sync::Arc;

use uuid::Uuid;

use crate::store::{RefreshStore, RefreshToken, RotateOutcome, StoreError, detached};

/// The outcome of presenting a refresh token for rotation.
#[derive(Debug)]
pub enum Rotation {
    /// The token was current; it is now used and its successor replaces it.
    Rotated(RefreshToken),
    /// The token had already been rotated: the family has been revoked.
    Reused { family_id: Uuid, user_id: Uuid },
    /// Unknown, expired, revoked, or bound to another client.
    Invalid,
}

/// What a token that was not current means, from its stored row (`None`: unknown).
/// Reuse is a token that was rotated (`used_at` set) presented again by the client it
/// was issued to; a token bound to another client tells nothing about its own family.
/// Pure.
pub fn judge(stored: Option<&RefreshToken>, client_id: &str) -> Rotation {
    match stored {
        Some(token) if token.used_at.is_some() && token.client_id == client_id => {
            Rotation::Reused {
                family_id: token.family_id,
                user_id: token.user_id,
            }
        }
        _ => Rotation::Invalid,
    }
}

/// Rotates the token `hash` for `client_id` into `next` (stored as `next_hash`), or
/// revokes its family when it is a rotated token presented again.
///
/// Runs on a task of its own: a request dropped after the reuse was detected (a client
/// that hangs up at once) still revokes the family.
pub async fn rotate(
    store: Arc<dyn RefreshStore>,
    hash: &[u8],
    client_id: &str,
    next: &RefreshToken,
    next_hash: &[u8],
    now: i64,
) -> Result<Rotation, StoreError> {
    let (hash, client_id) = (hash.to_vec(), client_id.to_owned());
    let (next, next_hash) = (next.clone(), next_hash.to_vec());
    detached(async move {
        let stored = match store
            .rotate_if_current(&hash, &client_id, &next, &next_hash, now)
            .await?
        {
            RotateOutcome::Rotated(old) => return Ok(Rotation::Rotated(old)),
            RotateOutcome::NotCurrent(stored) => stored,
        };
        let verdict = judge(stored.as_ref(), &client_id);
        if let Rotation::Reused { family_id, .. } = verdict {
            store.revoke_family(family_id, now).await?;
        }
        Ok(verdict)
    })
    .await
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::{Rotation, judge};
    use crate::store::RefreshToken;

    fn token(client_id: &str, used_at: Option<i64>, revoked_at: Option<i64>) -> RefreshToken {
        RefreshToken {
            id: Uuid::new_v4(),
            family_id: Uuid::new_v4(),
            user_id: Uuid::new_v4(),
            client_id: client_id.to_owned(),
            scope: "profile".to_owned(),
            created_at: 10,
            expires_at: 1_000,
            idle_expires_at: 500,
            used_at,
            revoked_at,
        }
    }

    #[test]
    fn a_token_that_was_not_current_is_reuse_only_when_rotated_and_presented_by_its_client() {
        let cases = [
            ("unknown token", None, false),
            (
                "rotated, presented by its client",
                Some(token("app", Some(20), None)),
                true,
            ),
            (
                "rotated and its family already revoked, presented again",
                Some(token("app", Some(20), Some(30))),
                true,
            ),
            (
                "rotated, presented by another client",
                Some(token("other", Some(20), None)),
                false,
            ),
            (
                "revoked, never rotated",
                Some(token("app", None, Some(30))),
                false,
            ),
            (
                "expired, never rotated",
                Some(token("app", None, None)),
                false,
            ),
        ];
        for (name, stored, reuse) in cases {
            let verdict = judge(stored.as_ref(), "app");
            match (&verdict, &stored) {
                (Rotation::Reused { family_id, user_id }, Some(t)) if reuse => {
                    assert_eq!((*family_id, *user_id), (t.family_id, t.user_id), "{name}");
                }
                (Rotation::Invalid, _) if !reuse => {}
                _ => panic!("{name}: {verdict:?}"),
            }
        }
    }
}
