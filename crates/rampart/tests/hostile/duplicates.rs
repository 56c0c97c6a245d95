//! Duplicate JSON members in the header or the payload (RFC 7515 §5.2, RFC 8725 §3.1).

use rampart::TokenError;
use rampart::testing::{TEST_AUDIENCE, TEST_ISSUER};

use super::helpers::*;

#[tokio::test]
async fn duplicate_json_members_in_header_or_payload_are_refused() {
    let key = HS.signing_key();
    let kid = key.kid();
    let good_h = String::from_utf8(json_bytes(&header(key))).expect("UTF-8");
    let good_p = String::from_utf8(json_bytes(&claims())).expect("UTF-8");
    let h = |header: String| sign_bytes(key, header.as_bytes(), good_p.as_bytes());
    let p = |payload: String| sign_bytes(key, good_h.as_bytes(), payload.as_bytes());
    let (iss, aud, exp) = (TEST_ISSUER, TEST_AUDIENCE, NOW + 600);
    let base = format!(
        r#""iss":"{iss}","aud":"{aud}","client_id":"notes-app","jti":"j-1","iat":{NOW},"exp":{exp}"#
    );
    assert_accepted(
        &validator(&HS),
        "hand-written control",
        &p(format!(r#"{{{base},"sub":"alice"}}"#)),
    )
    .await;
    let cases = [
        case(
            "header: alg twice, same value",
            h(format!(
                r#"{{"alg":"HS256","alg":"HS256","typ":"at+jwt","kid":"{kid}"}}"#
            )),
            TokenError::DuplicateMember,
        ),
        case(
            "header: alg none then HS256",
            h(format!(
                r#"{{"alg":"none","alg":"HS256","typ":"at+jwt","kid":"{kid}"}}"#
            )),
            TokenError::DuplicateMember,
        ),
        case(
            "header: alg HS256 then none",
            h(format!(
                r#"{{"alg":"HS256","alg":"none","typ":"at+jwt","kid":"{kid}"}}"#
            )),
            TokenError::DuplicateMember,
        ),
        case(
            "header: alg and an escaped alg",
            h(format!(
                r#"{{"alg":"HS256","\u0061lg":"none","typ":"at+jwt","kid":"{kid}"}}"#
            )),
            TokenError::DuplicateMember,
        ),
        case(
            "header: kid twice",
            h(format!(
                r#"{{"alg":"HS256","typ":"at+jwt","kid":"{kid}","kid":"other"}}"#
            )),
            TokenError::DuplicateMember,
        ),
        case(
            "header: typ twice",
            h(format!(
                r#"{{"alg":"HS256","typ":"JWT","typ":"at+jwt","kid":"{kid}"}}"#
            )),
            TokenError::DuplicateMember,
        ),
        case(
            "header: crit twice",
            h(format!(
                r#"{{"alg":"HS256","typ":"at+jwt","kid":"{kid}","crit":[],"crit":[]}}"#
            )),
            TokenError::DuplicateMember,
        ),
        case(
            "header: nested duplicate",
            h(format!(
                r#"{{"alg":"HS256","typ":"at+jwt","kid":"{kid}","jwk":{{"kty":"EC","kty":"RSA"}}}}"#
            )),
            TokenError::DuplicateMember,
        ),
        case(
            "payload: sub twice",
            p(format!(r#"{{{base},"sub":"alice","sub":"admin"}}"#)),
            TokenError::DuplicateMember,
        ),
        case(
            "payload: exp twice",
            p(format!(r#"{{{base},"exp":99999999999}}"#)),
            TokenError::DuplicateMember,
        ),
        case(
            "payload: iss twice",
            p(format!(r#"{{{base},"iss":"https://evil.test"}}"#)),
            TokenError::DuplicateMember,
        ),
        case(
            "payload: aud twice",
            p(format!(r#"{{{base},"aud":"other-api"}}"#)),
            TokenError::DuplicateMember,
        ),
        case(
            "payload: sub and an escaped sub",
            p(format!(r#"{{{base},"sub":"alice","s\u0075b":"admin"}}"#)),
            TokenError::DuplicateMember,
        ),
        case(
            "payload: nested object duplicate",
            p(format!(
                r#"{{{base},"ctx":{{"role":"user","role":"admin"}}}}"#
            )),
            TokenError::DuplicateMember,
        ),
        case(
            "payload: duplicate deep inside an array",
            p(format!(
                r#"{{{base},"grants":[{{"a":1}},[{{"b":1,"b":2}}]]}}"#
            )),
            TokenError::DuplicateMember,
        ),
        case(
            "payload: roles twice",
            p(format!(r#"{{{base},"roles":["user"],"roles":["admin"]}}"#)),
            TokenError::DuplicateMember,
        ),
    ];
    assert_refused(&validator(&HS), &cases).await;
}
