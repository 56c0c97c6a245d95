//! High-entropy secrets (refresh tokens, client secrets) and their stored digests.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// A random base64url string of `bytes` bytes of entropy (256 bits for 32).
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    aws_lc_rs::rand::fill(&mut buf).expect("the operating system RNG is available");
    URL_SAFE_NO_PAD.encode(buf)
}

/// SHA-256, the digest stored for high-entropy secrets (no salt or stretching is needed
/// when the secret itself has 256 bits of entropy).
pub fn digest(secret: &str) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, secret.as_bytes())
        .as_ref()
        .to_vec()
}

/// Constant-time comparison of a presented secret with a stored digest.
pub fn matches_digest(secret: &str, stored: &[u8]) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(&digest(secret), stored).is_ok()
}
