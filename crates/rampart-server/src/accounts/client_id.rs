//! Client ids as requests present them.

/// Longest client id a request may present. Ours are `c_` and 16 characters; imported or
/// built-in ones are shorter than this.
pub const MAX_CLIENT_ID_CHARS: usize = 64;

/// Whether `id` could name a client: 1–64 visible ASCII characters (RFC 6749 Appendix A.1
/// allows any VSCHAR; we bound the length). Pure.
pub fn plausible_client_id(id: &str) -> bool {
    (1..=MAX_CLIENT_ID_CHARS).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::FIRST_PARTY_CLIENT;

    #[test]
    fn the_plausible_client_id_table() {
        let long = "c".repeat(MAX_CLIENT_ID_CHARS);
        let too_long = "c".repeat(MAX_CLIENT_ID_CHARS + 1);
        let cases = [
            ("a generated id", "c_AbCdEfGhIjKlMnOp", true),
            ("the first-party client", FIRST_PARTY_CLIENT, true),
            ("the longest allowed", long.as_str(), true),
            ("one character too long", too_long.as_str(), false),
            ("empty", "", false),
            ("a space", "c_a b", false),
            ("a control character", "c_a\u{1}", false),
            ("non-ASCII", "c_é", false),
        ];
        for (name, id, want) in cases {
            assert_eq!(plausible_client_id(id), want, "{name}");
        }
    }
}
