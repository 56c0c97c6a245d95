//! Every algorithm: a token minted by the `testing` helpers validates, and the JWKS it
//! publishes feeds a validator that accepts it too.

use rampart::testing::TestIssuer;
use rampart::{Algorithm, KeySet, Validator};

#[tokio::test]
async fn every_algorithm_round_trips_through_sign_and_validate() {
    for alg in Algorithm::ALL {
        let issuer = TestIssuer::new(alg);
        let token = issuer
            .token()
            .sub("alice")
            .scope("a b")
            .roles(&["admin"])
            .sign();
        let claims = issuer
            .validator()
            .validate(&token)
            .await
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(claims.sub.as_deref(), Some("alice"), "{alg}");
        assert!(claims.has_scope("b") && claims.has_role("admin"), "{alg}");
    }
}

#[tokio::test]
async fn a_published_jwks_validates_the_tokens_of_its_key() {
    for alg in [
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
        Algorithm::RS256,
        Algorithm::PS384,
    ] {
        let issuer = TestIssuer::new(alg);
        let jwks = serde_json::to_vec(&issuer.jwks()).unwrap();
        assert_eq!(KeySet::from_jwks(&jwks).unwrap().len(), 1, "{alg}");
        let validator = Validator::builder()
            .issuer(issuer.issuer())
            .audience(issuer.audience())
            .jwks_document(&jwks)
            .build()
            .unwrap();
        let token = issuer.token().sign();
        validator
            .validate(&token)
            .await
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
    }
}
