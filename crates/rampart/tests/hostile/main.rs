//! Hostile tokens: every case is a token an attacker could send, with the exact reason the
//! validator must give for refusing it. Organised by attack class (RFC 8725 §2–3 and the
//! usual JWT CVE families). Tokens are minted with real keys (`TestIssuer`, `sign_raw`, or
//! a signature computed here over arbitrary bytes) so that a case is refused for the reason
//! it names, not because its signature happens to be wrong. Every group has positive
//! controls built with the same helpers, so the suite cannot pass vacuously.

mod helpers;

mod alg;
mod claim_types;
mod confusion;
mod controls;
mod crit;
mod duplicates;
mod embedded_keys;
mod encoding;
mod iss_aud;
mod kid;
mod profile;
mod signatures;
mod size;
mod time;
mod typ;
