//! Positive controls: well-formed tokens of every algorithm family, and the raw builders
//! checked against the issuer's own tokens.

use rampart::Algorithm;
use rampart::testing::TestIssuer;

use super::helpers::*;

#[tokio::test]
async fn a_well_formed_token_of_every_algorithm_family_is_accepted() {
    for issuer in [&*HS, &*ES, &*RS, &*ED] {
        let alg = issuer.signing_key().algorithm();
        let claims = assert_accepted(&validator(issuer), alg.as_str(), &good(issuer)).await;
        assert_eq!(claims.sub.as_deref(), Some("alice"), "{alg}");
        assert!(claims.has_scope("notes:read"), "{alg}");
        // And the helper's own tokens, so the raw builders are not the only thing tested.
        let minted = issuer.token().sub("bob").sign();
        assert!(issuer.validator().validate(&minted).await.is_ok(), "{alg}");
    }
    for alg in [
        Algorithm::HS384,
        Algorithm::HS512,
        Algorithm::ES384,
        Algorithm::PS256,
    ] {
        let issuer = TestIssuer::new(alg);
        assert_accepted(&validator(&issuer), alg.as_str(), &good(&issuer)).await;
    }
}

#[tokio::test]
async fn tokens_signed_here_over_verbatim_bytes_are_accepted_when_canonical() {
    let key = HS.signing_key();
    let input = signing_input(&json_bytes(&header(key)), &json_bytes(&claims()));
    assert_eq!(
        hs_over(&input),
        good(&HS),
        "HMAC is deterministic: the helper signs exactly like the issuer"
    );
    assert_accepted(&validator(&HS), "hs_over", &hs_over(&input)).await;

    let key = ES.signing_key();
    let input = signing_input(&json_bytes(&header(key)), &json_bytes(&claims()));
    assert_accepted(&validator(&ES), "es256_token", &es256_token(key, &input)).await;
}
