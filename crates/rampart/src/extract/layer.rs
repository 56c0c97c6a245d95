//! `validator.require_scopes([...])`: the same checks as a route layer.

use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use futures_util::future::BoxFuture;
use tower::{Layer, Service};

use super::auth::{authorize, verified};
use crate::Validator;

/// A layer that validates the bearer token and checks scopes and roles before the inner
/// service runs. On success the validated token is put in the request extensions, so
/// `Auth<C>` in the handler does not validate again when its state holds the same
/// validator (an extractor of another validator validates again, under its own policy).
/// Made by
/// [`Validator::authenticate`], [`Validator::require_scopes`] and
/// [`Validator::require_roles`].
#[derive(Clone, Debug)]
pub struct RequireLayer {
    validator: Validator,
    scopes: Arc<[String]>,
    roles: Arc<[String]>,
}

impl Validator {
    /// A layer that requires a valid token (401 otherwise).
    pub fn authenticate(&self) -> RequireLayer {
        RequireLayer {
            validator: self.clone(),
            scopes: Arc::from([]),
            roles: Arc::from([]),
        }
    }

    /// A layer that requires a valid token with every one of `scopes` (403 otherwise).
    ///
    /// ```
    /// # use axum::{Router, routing::get};
    /// # fn app(validator: rampart::Validator) -> Router {
    /// Router::new().route("/notes", get(|| async { "notes" }).route_layer(validator.require_scopes(["notes:read"])))
    /// # }
    /// ```
    pub fn require_scopes<I: IntoIterator<Item = S>, S: Into<String>>(
        &self,
        scopes: I,
    ) -> RequireLayer {
        RequireLayer {
            validator: self.clone(),
            scopes: scopes.into_iter().map(Into::into).collect(),
            roles: Arc::from([]),
        }
    }

    /// A layer that requires a valid token whose `roles` claim has every one of `roles`.
    pub fn require_roles<I: IntoIterator<Item = S>, S: Into<String>>(
        &self,
        roles: I,
    ) -> RequireLayer {
        RequireLayer {
            validator: self.clone(),
            scopes: Arc::from([]),
            roles: roles.into_iter().map(Into::into).collect(),
        }
    }
}

impl<S> Layer<S> for RequireLayer {
    type Service = RequireService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        RequireService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service made by [`RequireLayer`].
#[derive(Clone, Debug)]
pub struct RequireService<S> {
    inner: S,
    layer: RequireLayer,
}

impl<S> Service<Request> for RequireService<S>
where
    S: Service<Request, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        // The clone that was polled ready is the one we call (tower's usual swap).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let layer = self.layer.clone();
        Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            let validator = &layer.validator;
            let checked = match verified(&mut parts, validator).await {
                Ok(v) => {
                    let scopes: Vec<&str> = layer.scopes.iter().map(String::as_str).collect();
                    let roles: Vec<&str> = layer.roles.iter().map(String::as_str).collect();
                    authorize(&v.claims, &scopes, &roles)
                        .map_err(|kind| crate::reject::Rejection::new(kind, validator))
                }
                Err(rejection) => Err(rejection),
            };
            match checked {
                Ok(()) => inner.call(Request::from_parts(parts, body)).await,
                Err(rejection) => Ok(rejection.into_response()),
            }
        })
    }
}
