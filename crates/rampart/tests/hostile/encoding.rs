//! Encoding: non-canonical base64url, wrong part counts, JWE, foreign bytes, non-object JSON.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use rampart::TokenError;
use rampart::testing::{TEST_AUDIENCE, TEST_ISSUER};

use super::helpers::*;

#[tokio::test]
async fn non_canonical_base64url_in_any_part_is_refused() {
    // Every case below is correctly signed over its exact (non-canonical) text, so the only
    // thing wrong with it is the encoding. Accepting any of them would make tokens malleable.
    let key = HS.signing_key();
    let kid = key.kid();
    let (iss, aud, exp) = (TEST_ISSUER, TEST_AUDIENCE, NOW + 600);
    // Members that force both '-' and '_' into the base64url text ("???" → "Pz8_", ">>>" → "Pj4-").
    let header_json = unaligned(&format!(
        r#"{{"alg":"HS256","typ":"at+jwt","kid":"{kid}","q":"??????>>>>>>"}}"#
    ));
    let payload_json = unaligned(&format!(
        r#"{{"iss":"{iss}","aud":"{aud}","client_id":"c","jti":"j","iat":{NOW},"exp":{exp},"sub":"alice","q":"??????>>>>>>"}}"#
    ));
    let h = b64(&header_json);
    let p = b64(&payload_json);
    for part in [&h, &p] {
        assert!(
            part.contains('-') && part.contains('_') && part.len() % 4 != 0,
            "{part}"
        );
    }
    let v = validator(&HS);
    let canonical = hs_over(&format!("{h}.{p}"));
    assert_accepted(&v, "the canonical form of the same token", &canonical).await;
    let s = parts(&canonical).2.to_owned();
    assert_eq!(s.len() % 4, 3, "an HS256 signature has two unused bits");

    // A signature that contains '-' or '_' (retry with a fresh payload until one does).
    let with_url_chars = (0..200)
        .map(|i| {
            hs_over(&format!(
                "{h}.{}",
                b64(unaligned(&format!(
                    r#"{{"iss":"{iss}","aud":"{aud}","sub":"a","client_id":"c","iat":{NOW},"jti":"j","exp":{exp},"n":{i}}}"#
                )))
            ))
        })
        .find(|t| parts(t).2.contains(['-', '_']))
        .expect("some HMAC contains - or _");
    assert_accepted(&v, "signature with - or _", &with_url_chars).await;
    let standard_sig = STANDARD_NO_PAD.encode(signature_bytes(&with_url_chars));
    assert_ne!(standard_sig, parts(&with_url_chars).2);

    let std_alphabet = |part: &str| part.replace('-', "+").replace('_', "/");
    let insert = |part: &str, what: &str| {
        format!(
            "{}{what}{}",
            &part[..part.len() / 2],
            &part[part.len() / 2..]
        )
    };
    let cases = [
        case(
            "header padded with =",
            hs_over(&format!("{}.{p}", padded(&h))),
            TokenError::Malformed,
        ),
        case(
            "payload padded with =",
            hs_over(&format!("{h}.{}", padded(&p))),
            TokenError::Malformed,
        ),
        case(
            "signature padded with =",
            format!("{h}.{p}.{}", padded(&s)),
            TokenError::InvalidSignature,
        ),
        case(
            "header with non-zero trailing bits",
            hs_over(&format!("{}.{p}", set_trailing_bits(&h))),
            TokenError::Malformed,
        ),
        case(
            "payload with non-zero trailing bits",
            hs_over(&format!("{h}.{}", set_trailing_bits(&p))),
            TokenError::Malformed,
        ),
        case(
            "signature with non-zero trailing bits",
            format!("{h}.{p}.{}", set_trailing_bits(&s)),
            TokenError::InvalidSignature,
        ),
        case(
            "header in the standard alphabet",
            hs_over(&format!("{}.{p}", std_alphabet(&h))),
            TokenError::Malformed,
        ),
        case(
            "payload in the standard alphabet",
            hs_over(&format!("{h}.{}", std_alphabet(&p))),
            TokenError::Malformed,
        ),
        case(
            "signature in the standard alphabet",
            with_signature(&with_url_chars, &standard_sig),
            TokenError::InvalidSignature,
        ),
        case(
            "space inside the header",
            hs_over(&format!("{}.{p}", insert(&h, " "))),
            TokenError::Malformed,
        ),
        case(
            "newline inside the header",
            hs_over(&format!("{}.{p}", insert(&h, "\n"))),
            TokenError::Malformed,
        ),
        case(
            "CRLF inside the payload",
            hs_over(&format!("{h}.{}", insert(&p, "\r\n"))),
            TokenError::Malformed,
        ),
        case(
            "tab inside the payload",
            hs_over(&format!("{h}.{}", insert(&p, "\t"))),
            TokenError::Malformed,
        ),
        case(
            "newline inside the signature",
            format!("{h}.{p}.{}", insert(&s, "\n")),
            TokenError::InvalidSignature,
        ),
        case(
            "leading space before the token",
            format!(" {canonical}"),
            TokenError::Malformed,
        ),
        case(
            "trailing newline after the token",
            format!("{canonical}\n"),
            TokenError::InvalidSignature,
        ),
        case(
            "trailing space after the token",
            format!("{canonical} "),
            TokenError::InvalidSignature,
        ),
    ];
    assert_refused(&v, &cases).await;
}

#[tokio::test]
async fn wrong_part_counts_jwe_and_foreign_bytes_are_refused() {
    let token = good(&HS);
    let (h, p, s) = parts(&token);
    let jwe_header = b64(br#"{"alg":"RSA-OAEP","enc":"A256GCM"}"#);
    let cases = [
        case("empty string", "", TokenError::Malformed),
        case("one part", "abc", TokenError::Malformed),
        case("one real part", h, TokenError::Malformed),
        case("two parts", format!("{h}.{p}"), TokenError::Malformed),
        case("four parts", format!("{token}.{s}"), TokenError::Malformed),
        case(
            "six parts",
            format!("{token}.{s}.{s}.{s}"),
            TokenError::Malformed,
        ),
        case(
            "seven parts",
            format!("{token}.{s}.{s}.{s}.{s}"),
            TokenError::Malformed,
        ),
        case(
            "five parts: a JWE",
            format!("{jwe_header}.ZW5jcnlwdGVkX2tleQ.aXY.Y2lwaGVydGV4dA.dGFn"),
            TokenError::Encrypted,
        ),
        case(
            "five parts: our token plus two",
            format!("{token}.{s}.{s}"),
            TokenError::Encrypted,
        ),
        case("a lone dot", ".", TokenError::Malformed),
        case("two dots", "..", TokenError::Malformed),
        case("three dots", "...", TokenError::Malformed),
        case("empty header", format!(".{p}.{s}"), TokenError::Malformed),
        case("empty payload", format!("{h}..{s}"), TokenError::Malformed),
        case(
            "non-ASCII in the header",
            format!("é{h}.{p}.{s}"),
            TokenError::Malformed,
        ),
        case(
            "non-ASCII in the payload",
            hs_over(&format!("{h}.{p}ü")),
            TokenError::Malformed,
        ),
        case(
            "non-ASCII in the signature",
            format!("{h}.{p}.{s}ß"),
            TokenError::InvalidSignature,
        ),
        case(
            "full-width dots as separators",
            format!("{h}\u{ff0e}{p}\u{ff0e}{s}"),
            TokenError::Malformed,
        ),
        case(
            "NUL byte in the header",
            format!("{h}\u{0}.{p}.{s}"),
            TokenError::Malformed,
        ),
        case(
            "Bearer prefix left on",
            format!("Bearer {token}"),
            TokenError::Malformed,
        ),
    ];
    assert_refused(&validator(&HS), &cases).await;
}

#[tokio::test]
async fn a_header_or_payload_that_is_not_one_json_object_is_malformed() {
    let key = HS.signing_key();
    let kid = key.kid();
    let good_h = String::from_utf8(json_bytes(&header(key))).expect("UTF-8");
    let good_p = String::from_utf8(json_bytes(&claims())).expect("UTF-8");
    let h = |header: &[u8]| sign_bytes(key, header, good_p.as_bytes());
    let p = |payload: &[u8]| sign_bytes(key, good_h.as_bytes(), payload);
    let bom_h = [b"\xEF\xBB\xBF".as_slice(), good_h.as_bytes()].concat();
    let bom_p = [b"\xEF\xBB\xBF".as_slice(), good_p.as_bytes()].concat();
    let raw_control = good_p.replacen("alice", "al\u{0}ce", 1).into_bytes();
    let mut invalid_utf8 = good_p.clone().into_bytes();
    let at = good_p.find("alice").expect("sub is there");
    invalid_utf8[at] = 0xff;
    let deep_header = format!(
        r#"{{"alg":"HS256","typ":"at+jwt","kid":"{kid}","x":{}{}}}"#,
        "[".repeat(2000),
        "]".repeat(2000)
    );
    let deep_payload = good_p.replacen(
        "{",
        &format!(r#"{{"x":{}1{},"#, r#"{"a":"#.repeat(700), "}".repeat(700)),
        1,
    );
    let v = validator(&HS);
    assert_accepted(
        &v,
        "trailing JSON whitespace is still JSON",
        &p(format!("{good_p} \r\n").as_bytes()),
    )
    .await;
    assert_accepted(
        &v,
        "an escaped NUL inside a string is JSON",
        &p(good_p.replacen("alice", r"al\u0000ce", 1).as_bytes()),
    )
    .await;
    let cases = [
        case("header not JSON", h(b"not json"), TokenError::Malformed),
        case(
            "header JSON array",
            h(br#"["alg","HS256"]"#),
            TokenError::Malformed,
        ),
        case(
            "header JSON string",
            h(br#""HS256""#),
            TokenError::Malformed,
        ),
        case("header JSON null", h(b"null"), TokenError::Malformed),
        case(
            "header empty object",
            h(b"{}"),
            TokenError::UnsupportedAlgorithm,
        ),
        case(
            "header with trailing garbage",
            h(format!("{good_h}x").as_bytes()),
            TokenError::Malformed,
        ),
        case(
            "header followed by a second object",
            h(format!(r#"{good_h}{{"alg":"none"}}"#).as_bytes()),
            TokenError::Malformed,
        ),
        case(
            "header truncated",
            h(&good_h.as_bytes()[..good_h.len() - 1]),
            TokenError::Malformed,
        ),
        case("header with a BOM", h(&bom_h), TokenError::Malformed),
        case(
            "header with a comment",
            h(format!(r#"{{"alg":"HS256", /* hi */ "typ":"at+jwt","kid":"{kid}"}}"#).as_bytes()),
            TokenError::Malformed,
        ),
        case(
            "header with single quotes",
            h(format!("{{'alg':'HS256','typ':'at+jwt','kid':'{kid}'}}").as_bytes()),
            TokenError::Malformed,
        ),
        case(
            "header with a trailing comma",
            h(format!(r#"{{"alg":"HS256","typ":"at+jwt","kid":"{kid}",}}"#).as_bytes()),
            TokenError::Malformed,
        ),
        case("payload not JSON", p(b"sub=alice"), TokenError::Malformed),
        case(
            "payload with trailing garbage",
            p(format!("{good_p}garbage").as_bytes()),
            TokenError::Malformed,
        ),
        case(
            "payload followed by a second object",
            p(format!(r#"{good_p}{{"sub":"admin"}}"#).as_bytes()),
            TokenError::Malformed,
        ),
        case(
            "payload truncated",
            p(&good_p.as_bytes()[..good_p.len() - 1]),
            TokenError::Malformed,
        ),
        case("payload with a BOM", p(&bom_p), TokenError::Malformed),
        case(
            "payload with invalid UTF-8",
            p(&invalid_utf8),
            TokenError::Malformed,
        ),
        case(
            "payload with a raw control character in a string",
            p(&raw_control),
            TokenError::Malformed,
        ),
        case(
            "payload with a lone surrogate escape",
            p(good_p.replacen("alice", r"\ud800", 1).as_bytes()),
            TokenError::Malformed,
        ),
        case(
            "payload with NaN",
            p(good_p
                .replacen(&format!("{}", NOW + 600), "NaN", 1)
                .as_bytes()),
            TokenError::Malformed,
        ),
        case("payload empty", p(b""), TokenError::Malformed),
        // Far past serde_json's recursion limit: refused, and no stack overflow.
        case(
            "header nested 2000 arrays deep",
            h(deep_header.as_bytes()),
            TokenError::Malformed,
        ),
        case(
            "payload nested 700 objects deep",
            p(deep_payload.as_bytes()),
            TokenError::Malformed,
        ),
    ];
    assert_refused(&v, &cases).await;
}
