//! Size: oversize tokens are refused before any decoding.

use rampart::TokenError;
use serde_json::json;

use super::helpers::*;

/// A correctly signed HS256 token of exactly `len` bytes (padding a claim and the header).
fn hs_token_of_len(len: usize) -> String {
    let key = HS.signing_key();
    for header_pad in 0..4 {
        let h = set(header(key), "x", json!("y".repeat(header_pad)));
        for pad in 0..len {
            let token = sign(key, &h, &set(claims(), "pad", json!("p".repeat(pad))));
            if token.len() == len {
                return token;
            }
            if token.len() > len {
                break;
            }
        }
    }
    panic!("no token of exactly {len} bytes");
}

#[tokio::test]
async fn oversize_tokens_are_refused_before_any_decoding() {
    let v = validator(&HS);
    let at_limit = hs_token_of_len(8 * 1024);
    assert_accepted(&v, "a token of exactly 8 KiB", &at_limit).await;
    let huge_claim = with_claims(&HS, &set(claims(), "pad", json!("p".repeat(7000))));
    let cases = [
        case(
            "a signed token of 8 KiB + 1",
            hs_token_of_len(8 * 1024 + 1),
            TokenError::TooLarge,
        ),
        case(
            "a signed token with a 7000-byte claim",
            huge_claim,
            TokenError::TooLarge,
        ),
        case(
            "9 KiB of non-base64 garbage",
            "!".repeat(9 * 1024),
            TokenError::TooLarge,
        ),
        case(
            "9 KiB of base64 letters",
            "A".repeat(9 * 1024),
            TokenError::TooLarge,
        ),
        case("9 KiB of dots", ".".repeat(9 * 1024), TokenError::TooLarge),
        case(
            "9 KiB five-part JWE lookalike",
            format!("a.b.c.d.{}", "e".repeat(9 * 1024)),
            TokenError::TooLarge,
        ),
        case(
            "9 KiB of multi-byte characters",
            "é".repeat(9 * 512 + 1),
            TokenError::TooLarge,
        ),
    ];
    assert_refused(&v, &cases).await;
}

#[tokio::test]
async fn a_custom_max_token_len_is_enforced() {
    let token = good(&HS);
    let exact = HS
        .validator_builder()
        .clock(|| NOW)
        .max_token_len(token.len())
        .build()
        .unwrap();
    assert_accepted(&exact, "token at the custom limit", &token).await;
    let tight = HS
        .validator_builder()
        .clock(|| NOW)
        .max_token_len(token.len() - 1)
        .build()
        .unwrap();
    assert_refused(
        &tight,
        &[case(
            "token one byte over the custom limit",
            token.clone(),
            TokenError::TooLarge,
        )],
    )
    .await;
    let roomy = HS
        .validator_builder()
        .clock(|| NOW)
        .max_token_len(64 * 1024)
        .build()
        .unwrap();
    assert_accepted(
        &roomy,
        "a 9 KiB token under a 64 KiB limit",
        &hs_token_of_len(9 * 1024),
    )
    .await;
    assert!(
        HS.validator_builder().max_token_len(63).build().is_err(),
        "limits under 64 bytes are refused"
    );
}
