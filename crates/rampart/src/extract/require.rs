//! Scope and role requirements as extractors: `Scoped<NotesRead>`, `HasRole<Admin>`.

use std::marker::PhantomData;

use axum::extract::{FromRef, FromRequestParts};
use http::request::Parts;
use serde::de::DeserializeOwned;

use super::auth::{Auth, authorize, to_auth, verified};
use crate::Validator;
use crate::reject::Rejection;
use crate::token::Claims;

/// A set of scopes a route needs, as a type. Declare one with [`scopes!`](crate::scopes).
pub trait ScopeSet: Send + Sync + 'static {
    /// Every scope listed is required.
    const SCOPES: &'static [&'static str];
}

/// A set of roles a route needs, as a type. Declare one with [`roles!`](crate::roles).
pub trait RoleSet: Send + Sync + 'static {
    /// Every role listed is required.
    const ROLES: &'static [&'static str];
}

/// Declares a [`ScopeSet`] marker type.
///
/// ```
/// rampart::scopes!(pub NotesWrite = "notes:write");
/// rampart::scopes!(ReadAndWrite = "notes:read", "notes:write");
/// ```
#[macro_export]
macro_rules! scopes {
    ($vis:vis $name:ident = $($scope:literal),+ $(,)?) => {
        #[doc = concat!("Requires the scope(s): ", $($scope, " "),+)]
        #[derive(Debug, Clone, Copy)]
        $vis struct $name;
        impl $crate::ScopeSet for $name {
            const SCOPES: &'static [&'static str] = &[$($scope),+];
        }
    };
}

/// Declares a [`RoleSet`] marker type.
///
/// ```
/// rampart::roles!(pub Admin = "admin");
/// ```
#[macro_export]
macro_rules! roles {
    ($vis:vis $name:ident = $($role:literal),+ $(,)?) => {
        #[doc = concat!("Requires the role(s): ", $($role, " "),+)]
        #[derive(Debug, Clone, Copy)]
        $vis struct $name;
        impl $crate::RoleSet for $name {
            const ROLES: &'static [&'static str] = &[$($role),+];
        }
    };
}

/// [`Auth<C>`] whose token holds every scope of `S`; otherwise 403 `insufficient_scope`.
pub struct Scoped<S: ScopeSet, C = Claims> {
    /// The validated token.
    pub auth: Auth<C>,
    _scopes: PhantomData<S>,
}

/// [`Auth<C>`] whose token's `roles` claim holds every role of `R`; otherwise 403.
pub struct HasRole<R: RoleSet, C = Claims> {
    /// The validated token.
    pub auth: Auth<C>,
    _roles: PhantomData<R>,
}

async fn extract<S, C>(
    parts: &mut Parts,
    state: &S,
    scopes: &[&str],
    roles: &[&str],
) -> Result<Auth<C>, Rejection>
where
    Validator: FromRef<S>,
    C: DeserializeOwned + 'static,
{
    let validator = Validator::from_ref(state);
    let verified = verified(parts, &validator).await?;
    authorize(&verified.claims, scopes, roles).map_err(|kind| Rejection::new(kind, &validator))?;
    to_auth(verified, &validator)
}

impl<S, T, C> FromRequestParts<S> for Scoped<T, C>
where
    Validator: FromRef<S>,
    S: Send + Sync,
    T: ScopeSet,
    C: DeserializeOwned + Send + 'static,
{
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let auth = extract(parts, state, T::SCOPES, &[]).await?;
        Ok(Self {
            auth,
            _scopes: PhantomData,
        })
    }
}

impl<S, T, C> FromRequestParts<S> for HasRole<T, C>
where
    Validator: FromRef<S>,
    S: Send + Sync,
    T: RoleSet,
    C: DeserializeOwned + Send + 'static,
{
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let auth = extract(parts, state, &[], T::ROLES).await?;
        Ok(Self {
            auth,
            _roles: PhantomData,
        })
    }
}

impl<T: ScopeSet, C> std::ops::Deref for Scoped<T, C> {
    type Target = Auth<C>;
    fn deref(&self) -> &Auth<C> {
        &self.auth
    }
}

impl<T: RoleSet, C> std::ops::Deref for HasRole<T, C> {
    type Target = Auth<C>;
    fn deref(&self) -> &Auth<C> {
        &self.auth
    }
}

impl<T: ScopeSet, C: std::fmt::Debug> std::fmt::Debug for Scoped<T, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Scoped")
            .field(&T::SCOPES)
            .field(&self.auth)
            .finish()
    }
}

impl<T: RoleSet, C: std::fmt::Debug> std::fmt::Debug for HasRole<T, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("HasRole")
            .field(&T::ROLES)
            .field(&self.auth)
            .finish()
    }
}
