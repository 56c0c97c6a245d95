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
//!
//! Two tabs (or a retry after a lost response) may present the same token moments
//! apart; strictly, the second is reuse and logs the user out. Within the configured
//! grace window (`refresh_reuse_grace`, default 5 s, 0 = strict) a rotated token
//! presented again *by its own client* instead gets a successor of its own in the same
//! family ([`RefreshStore::add_successor`]: one statement, refused when any token of the
//! family is revoked), so both tabs stay signed in and a later revocation still ends
//! both. Outside the window, or from another client, it is reuse as before. The cost: a
//! thief who replays a rotated token within those seconds gets a session that reuse
//! detection does not flag — the window bounds it, and every sibling is audited
//! (`refresh` with reason `reuse_within_grace`).

use std::sync::Arc;

use uuid::Uuid;

use crate::store::{RefreshStore, RefreshToken, RotateOutcome, StoreError, detached};

/// The outcome of presenting a refresh token for rotation.
#[derive(Debug)]
pub enum Rotation {
    /// The token was current; it is now used and its successor replaces it.
    Rotated(RefreshToken),
    /// The token had been rotated within the grace window by the same client: a further
    /// successor joins its family.
    Sibling(RefreshToken),
    /// The token had already been rotated: the family has been revoked.
    Reused { family_id: Uuid, user_id: Uuid },
    /// Unknown, expired, revoked, or bound to another client.
    Invalid,
}

/// Whether a token rotated at `used_at` is still within a `grace`-second window at
/// `now` (a zero window never is). Pure.
pub fn within_grace(used_at: i64, now: i64, grace: i64) -> bool {
    grace > 0 && now >= used_at && now - used_at <= grace
}

/// What a token that was not current means, from its stored row (`None`: unknown), at
/// `now` with a `grace`-second reuse window. Reuse is a token that was rotated
/// (`used_at` set) presented again by the client it was issued to; within the window,
/// and with its family unrevoked and unexpired, that earns a sibling instead
/// (`Sibling`, to be confirmed by the store). A token bound to another client tells
/// nothing about its own family. Pure.
pub fn judge(stored: Option<&RefreshToken>, client_id: &str, now: i64, grace: i64) -> Rotation {
    match stored {
        Some(token) if token.client_id == client_id => match token.used_at {
            Some(used)
                if within_grace(used, now, grace)
                    && token.revoked_at.is_none()
                    && token.expires_at > now =>
            {
                Rotation::Sibling(token.clone())
            }
            Some(_) => Rotation::Reused {
                family_id: token.family_id,
                user_id: token.user_id,
            },
            None => Rotation::Invalid,
        },
        _ => Rotation::Invalid,
    }
}

/// Rotates the token `hash` for `client_id` into `next` (stored as `next_hash`), adds
/// `next` beside the token's successor when it was rotated within the last `grace`
/// seconds, or revokes its family when it is a rotated token presented again.
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
    grace: i64,
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
        let verdict = judge(stored.as_ref(), &client_id, now, grace);
        match verdict {
            Rotation::Reused { family_id, .. } => {
                store.revoke_family(family_id, now).await?;
            }
            Rotation::Sibling(_) => {
                let used_since = now.saturating_sub(grace);
                let added = store
                    .add_successor(&hash, &client_id, &next, &next_hash, used_since, now)
                    .await?;
                // Refused: the family was revoked (or expired) since the lookup.
                if !added {
                    return Ok(Rotation::Invalid);
                }
            }
            Rotation::Rotated(_) | Rotation::Invalid => {}
        }
        Ok(verdict)
    })
    .await
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::{Rotation, judge, within_grace};
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
            let verdict = judge(stored.as_ref(), "app", 100, 0);
            match (&verdict, &stored) {
                (Rotation::Reused { family_id, user_id }, Some(t)) if reuse => {
                    assert_eq!((*family_id, *user_id), (t.family_id, t.user_id), "{name}");
                }
                (Rotation::Invalid, _) if !reuse => {}
                _ => panic!("{name}: {verdict:?}"),
            }
        }
    }

    #[test]
    fn the_reuse_grace_table() {
        // Rotated at 20, presented again at `now` with a 5-second window.
        let cases = [
            (
                "at once",
                Some(token("app", Some(20), None)),
                20,
                5,
                "sibling",
            ),
            (
                "5 s later",
                Some(token("app", Some(20), None)),
                25,
                5,
                "sibling",
            ),
            (
                "6 s later",
                Some(token("app", Some(20), None)),
                26,
                5,
                "reuse",
            ),
            (
                "a strict server",
                Some(token("app", Some(20), None)),
                20,
                0,
                "reuse",
            ),
            (
                "its family revoked",
                Some(token("app", Some(20), Some(21))),
                21,
                5,
                "reuse",
            ),
            (
                "another client",
                Some(token("other", Some(20), None)),
                21,
                5,
                "invalid",
            ),
            (
                "expired",
                Some(RefreshToken {
                    expires_at: 21,
                    ..token("app", Some(20), None)
                }),
                22,
                5,
                "reuse",
            ),
            (
                "rotated in the future (clock skew)",
                Some(token("app", Some(30), None)),
                25,
                5,
                "reuse",
            ),
            (
                "never rotated (revoked)",
                Some(token("app", None, Some(20))),
                21,
                5,
                "invalid",
            ),
            ("unknown", None, 21, 5, "invalid"),
        ];
        for (name, stored, now, grace, expected) in cases {
            let verdict = match judge(stored.as_ref(), "app", now, grace) {
                Rotation::Sibling(_) => "sibling",
                Rotation::Reused { .. } => "reuse",
                Rotation::Invalid => "invalid",
                Rotation::Rotated(_) => "rotated",
            };
            assert_eq!(verdict, expected, "{name}");
        }
        assert!(!within_grace(20, 20, 0), "a zero window is strict");
        assert!(within_grace(20, 20, 1));
        assert!(!within_grace(20, 19, 5), "not before the rotation");
    }
}
