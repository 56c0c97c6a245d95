//! The last-administrator rule: no change may take the `admin` role from its last
//! enabled holder (a server nobody can administer is recovered only by the CLI).
//!
//! Decided here, once, for both databases: the store runs the change and counts the
//! holders inside its serialising transaction, then asks [`takes_last_holder`] through
//! the [`GUARD`] it was given (see [`Guard`] for why the rule travels down).

use crate::store::{Guard, Holders};

/// The role that must keep an enabled holder.
pub const ROLE: &str = "admin";

/// The guard every user change passes to the store.
pub const GUARD: Guard<'static> = Guard {
    role: ROLE,
    refuses: takes_last_holder,
};

/// Whether a change takes a role from its last enabled holder: the changed user held it,
/// enabled, before, and no enabled user holds it after. Pure.
pub fn takes_last_holder(holders: Holders) -> bool {
    holders.held_before && holders.after == 0
}

#[cfg(test)]
mod tests {
    use super::{Holders, takes_last_holder};

    #[test]
    fn the_last_holder_table() {
        let cases = [
            ("an enabled holder demoted, others left", true, 1, false),
            ("the last enabled holder demoted", true, 0, true),
            (
                "not a holder before (already disabled or never held it)",
                false,
                0,
                false,
            ),
            ("not a holder, others hold it", false, 2, false),
        ];
        for (name, held_before, after, want) in cases {
            let holders = Holders { held_before, after };
            assert_eq!(takes_last_holder(holders), want, "{name}");
        }
    }
}
