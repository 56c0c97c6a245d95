//! `Auth<C>`: the validated claims of the request's bearer token.

use std::any::{Any, TypeId};
use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use http::request::Parts;
use serde::de::DeserializeOwned;

use super::bearer::{BearerError, locate_bearer};
use crate::Validator;
use crate::reject::{Rejection, RejectionKind};
use crate::token::{Claims, Verified};

/// The validated claims of the request's bearer token.
///
/// `C` is your claims type (any `DeserializeOwned`); the standard [`Claims`] are always
/// checked and available through [`Auth::standard`]. `Option<Auth<C>>` is `None` only when
/// the request carries no credentials; bad credentials are still refused.
///
/// The token is validated once per request per validator: layers and extractors share
/// the result through the request extensions, but only with the validator (or a clone of
/// it) that produced it. An extractor whose state holds another validator validates the
/// token again under its own policy.
#[derive(Debug, Clone)]
pub struct Auth<C = Claims> {
    /// Your claims; `None` when `C` is [`Claims`] itself, which then are `standard`: the
    /// default `Auth` costs no copy of the claims, only a reference count on a hit.
    custom: Option<C>,
    standard: Arc<Claims>,
}

impl<C: 'static> Auth<C> {
    /// Your claims (also reachable through `Deref`: `auth.tenant`).
    pub fn claims(&self) -> &C {
        match &self.custom {
            Some(claims) => claims,
            None => (&*self.standard as &dyn Any)
                .downcast_ref::<C>()
                .expect("`custom` is None only when C is Claims"),
        }
    }

    /// Your claims, by value.
    pub fn into_claims(self) -> C {
        match self.custom {
            Some(claims) => claims,
            None => {
                let mut slot = Some(Arc::unwrap_or_clone(self.standard));
                (&mut slot as &mut dyn Any)
                    .downcast_mut::<Option<C>>()
                    .and_then(Option::take)
                    .expect("`custom` is None only when C is Claims")
            }
        }
    }
}

impl<C> Auth<C> {
    /// The standard claims (`sub`, `scope`, `roles`, …).
    pub fn standard(&self) -> &Claims {
        &self.standard
    }

    /// The `sub` claim.
    pub fn subject(&self) -> Option<&str> {
        self.standard.sub.as_deref()
    }

    /// True when the token carries `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.standard.has_scope(scope)
    }

    /// True when the token's `roles` claim has `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.standard.has_role(role)
    }
}

impl<C: 'static> std::ops::Deref for Auth<C> {
    type Target = C;
    fn deref(&self) -> &C {
        self.claims()
    }
}

/// The verdict already in the request extensions, if `validator` produced it. A verdict
/// of another validator (a layer with its own issuer, audience or `typ` policy) proves
/// nothing under this one's policy.
fn reusable<'p>(parts: &'p Parts, validator: &Validator) -> Option<&'p Verified> {
    parts
        .extensions
        .get::<Verified>()
        .filter(|done| done.produced_by(validator))
}

/// Validates the request's token (or reuses the validation a layer of the same validator
/// already did).
pub(crate) async fn verified(
    parts: &mut Parts,
    validator: &Validator,
) -> Result<Verified, Rejection> {
    if let Some(done) = reusable(parts, validator) {
        return Ok(done.clone());
    }
    let located = locate_bearer(parts, validator.allows_query_token())
        .map_err(|e| Rejection::new(e.into_kind(), validator))?;
    // A cache hit skips the b64token scan: those exact bytes already passed full
    // validation (see `Located`).
    let result = match validator.cached(located.token) {
        Some(result) => result,
        None => {
            let token = located
                .check()
                .map_err(|e| Rejection::new(e.into_kind(), validator))?;
            validator.verify_uncached(token).await
        }
    };
    let verified = match result {
        Ok(verified) => validator.check_state(verified).await,
        Err(e) => Err(e),
    }
    .map_err(|e| Rejection::from_token_error(e, validator))?;
    parts.extensions.insert(verified.clone());
    Ok(verified)
}

pub(crate) fn to_auth<C: DeserializeOwned + 'static>(
    verified: Verified,
    validator: &Validator,
) -> Result<Auth<C>, Rejection> {
    // The default claims type is the standard claims: share them, parse nothing, copy
    // nothing (a deep copy of `Claims` was most of what a protected cache hit allocated).
    let custom = if TypeId::of::<C>() == TypeId::of::<Claims>() {
        None
    } else {
        Some(
            verified
                .claims_as::<C>()
                .map_err(|e| Rejection::from_token_error(e, validator))?,
        )
    };
    Ok(Auth {
        custom,
        standard: verified.claims,
    })
}

impl<S, C> FromRequestParts<S> for Auth<C>
where
    Validator: FromRef<S>,
    S: Send + Sync,
    C: DeserializeOwned + Send + 'static,
{
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let validator = Validator::from_ref(state);
        let verified = verified(parts, &validator).await?;
        to_auth(verified, &validator)
    }
}

impl<S, C> OptionalFromRequestParts<S> for Auth<C>
where
    Validator: FromRef<S>,
    S: Send + Sync,
    C: DeserializeOwned + Send + 'static,
{
    type Rejection = Rejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        let validator = Validator::from_ref(state);
        if reusable(parts, &validator).is_none() {
            match locate_bearer(parts, validator.allows_query_token()) {
                Err(BearerError::Missing) => return Ok(None),
                Err(other) => return Err(Rejection::new(other.into_kind(), &validator)),
                Ok(_) => {}
            }
        }
        let verified = verified(parts, &validator).await?;
        to_auth(verified, &validator).map(Some)
    }
}

pub(crate) fn missing_scopes<'a>(claims: &Claims, required: &[&'a str]) -> Vec<&'a str> {
    required
        .iter()
        .copied()
        .filter(|s| !claims.has_scope(s))
        .collect()
}

pub(crate) fn missing_roles<'a>(claims: &Claims, required: &[&'a str]) -> Vec<&'a str> {
    required
        .iter()
        .copied()
        .filter(|r| !claims.has_role(r))
        .collect()
}

/// Pure decision for a scope/role requirement: `Ok` or the rejection kind.
pub fn authorize(claims: &Claims, scopes: &[&str], roles: &[&str]) -> Result<(), RejectionKind> {
    let missing = missing_scopes(claims, scopes);
    if !missing.is_empty() {
        // RFC 6750 §3: `scope` names the scopes needed; we list every required one.
        return Err(RejectionKind::InsufficientScope(scopes.join(" ")));
    }
    let missing = missing_roles(claims, roles);
    if !missing.is_empty() {
        return Err(RejectionKind::MissingRole(missing.join(" ")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::type_complexity)]
    fn authorization_table() {
        let claims = Claims {
            scope: Some("a b".into()),
            roles: vec!["admin".into()],
            ..Claims::default()
        };
        let cases: &[(&str, &[&str], &[&str], Result<(), RejectionKind>)] = &[
            ("nothing required", &[], &[], Ok(())),
            ("one scope held", &["a"], &[], Ok(())),
            ("all scopes held", &["a", "b"], &[], Ok(())),
            (
                "one scope missing",
                &["a", "c"],
                &[],
                Err(RejectionKind::InsufficientScope("a c".into())),
            ),
            (
                "prefix is not a scope",
                &["a b"],
                &[],
                Err(RejectionKind::InsufficientScope("a b".into())),
            ),
            ("role held", &[], &["admin"], Ok(())),
            (
                "role missing",
                &["a"],
                &["root"],
                Err(RejectionKind::MissingRole("root".into())),
            ),
        ];
        for (name, scopes, roles, want) in cases {
            assert_eq!(&authorize(&claims, scopes, roles), want, "{name}");
        }
    }

    #[test]
    fn the_default_claims_are_the_standard_claims_not_a_copy() {
        let standard = Arc::new(Claims {
            sub: Some("alice".into()),
            ..Claims::default()
        });
        let auth: Auth = Auth {
            custom: None,
            standard: Arc::clone(&standard),
        };
        assert!(
            std::ptr::eq(auth.claims(), &*standard),
            "claims() is the shared value"
        );
        assert_eq!(
            auth.sub.as_deref(),
            Some("alice"),
            "Deref reaches the claims"
        );
        assert_eq!(auth.into_claims(), *standard, "by value: an equal copy");
    }

    #[test]
    fn a_custom_claims_type_is_its_own_value() {
        #[derive(Debug, PartialEq)]
        struct Tenant(&'static str);
        let auth = Auth {
            custom: Some(Tenant("acme")),
            standard: Arc::new(Claims::default()),
        };
        assert_eq!(auth.claims(), &Tenant("acme"));
        assert_eq!(auth.0, "acme");
        assert_eq!(auth.into_claims(), Tenant("acme"));
    }
}
