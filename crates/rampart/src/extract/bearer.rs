//! RFC 6750 §2: finding the bearer token in a request.

use axum::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use http::header;
use http::request::Parts;

use crate::Validator;
use crate::cookie::CookieToken;
use crate::reject::{Rejection, RejectionKind};

/// The raw bearer token of a request (RFC 6750 §2.1), not yet validated.
///
/// Rules: the `Authorization` scheme is matched case-insensitively; the token must match
/// the `b64token` grammar exactly; `?access_token=` is refused unless the validator
/// allows it; a token in two places, two `Authorization` headers or a repeated
/// `access_token` parameter are `invalid_request` (400).
#[derive(Clone, PartialEq, Eq)]
pub struct Bearer(pub String);

impl std::fmt::Debug for Bearer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Bearer(<redacted>)")
    }
}

/// Why no usable bearer token was found. A pure result of [`find_bearer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BearerError {
    /// No bearer credentials in the request.
    Missing,
    /// Present but malformed, or presented more than once.
    Invalid(&'static str),
}

impl BearerError {
    pub(crate) fn into_kind(self) -> RejectionKind {
        match self {
            Self::Missing => RejectionKind::Missing,
            Self::Invalid(why) => RejectionKind::InvalidRequest(why),
        }
    }
}

/// Which bytes may appear before the `=` padding of a `b64token`, as a lookup table.
const B64TOKEN_BODY: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 256 {
        #[allow(clippy::cast_possible_truncation)] // i < 256
        let b = i as u8;
        table[i] =
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/');
        i += 1;
    }
    table
};

/// RFC 6750 §2.1: `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
pub fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty() && body.bytes().all(|b| B64TOKEN_BODY[usize::from(b)])
}

const NOT_B64TOKEN: BearerError =
    BearerError::Invalid("the Bearer token has characters outside the b64token syntax");

/// A bearer token found in a request whose `b64token` syntax may not be checked yet.
///
/// The charset check is deferred so that a verified-token cache hit can skip it: a token
/// in the cache passed full validation, which only accepts base64url segments and dots (a
/// subset of `b64token`), so for those exact bytes the check cannot fail. The outcome for
/// every request is the same as checking first.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Located<'a> {
    pub(crate) token: &'a str,
    checked: bool,
}

impl<'a> Located<'a> {
    /// The token, after the `b64token` syntax check if it was not done yet.
    pub(crate) fn check(self) -> Result<&'a str, BearerError> {
        if self.checked || is_b64token(self.token) {
            Ok(self.token)
        } else {
            Err(NOT_B64TOKEN)
        }
    }
}

/// Finds the bearer token in request parts. Pure: the decision for every case is here.
pub fn find_bearer(parts: &Parts, allow_query: bool) -> Result<&str, BearerError> {
    locate_bearer(parts, allow_query)?.check()
}

/// [`find_bearer`] without the `b64token` check of a header token (see [`Located`]).
pub(crate) fn locate_bearer(parts: &Parts, allow_query: bool) -> Result<Located<'_>, BearerError> {
    let mut auth_headers = parts.headers.get_all(header::AUTHORIZATION).iter();
    let header_token = match (auth_headers.next(), auth_headers.next()) {
        (None, _) => None,
        (Some(_), Some(_)) => {
            return Err(BearerError::Invalid("more than one Authorization header"));
        }
        (Some(value), None) => {
            let value = value
                .to_str()
                .map_err(|_| BearerError::Invalid("the Authorization header is not ASCII"))?;
            let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
            if !scheme.eq_ignore_ascii_case("bearer") {
                // Another scheme (Basic, DPoP, …) is not bearer credentials: treat as absent.
                None
            } else {
                let token = rest.trim_start_matches(' ');
                if token.is_empty() {
                    return Err(BearerError::Invalid("the Bearer credentials are empty"));
                }
                Some(token)
            }
        }
    };
    let query_token = match parts.uri.query() {
        None => None,
        query => query_access_token(query)?,
    };
    match (header_token, query_token) {
        (Some(_), Some(_)) => Err(BearerError::Invalid(
            "the token was sent in more than one way",
        )),
        (Some(token), None) => Ok(Located {
            token,
            checked: false,
        }),
        (None, Some(_)) if !allow_query => Err(BearerError::Invalid(
            "tokens in the query string are not accepted; use the Authorization header",
        )),
        (None, Some(token)) if is_b64token(token) => Ok(Located {
            token,
            checked: true,
        }),
        (None, Some(_)) => Err(BearerError::Invalid(
            "the access_token parameter is malformed",
        )),
        // Last: a cookie token, present only behind a `CookieTokensLayer` (after its
        // CSRF check); never read from the `Cookie` header here.
        (None, None) => match parts.extensions.get::<CookieToken>() {
            Some(CookieToken(token)) => Ok(Located {
                token,
                checked: false,
            }),
            None => Err(BearerError::Missing),
        },
    }
}

/// The raw `access_token` query parameter (RFC 6750 §2.3). Percent-encoded tokens are
/// refused rather than decoded: a JWT never needs encoding.
fn query_access_token(query: Option<&str>) -> Result<Option<&str>, BearerError> {
    let mut found = None;
    for pair in query.unwrap_or("").split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if name == "access_token" {
            if found.is_some() {
                return Err(BearerError::Invalid(
                    "the access_token parameter is repeated",
                ));
            }
            found = Some(value);
        }
    }
    Ok(found)
}

impl<S> FromRequestParts<S> for Bearer
where
    Validator: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let validator = Validator::from_ref(state);
        find_bearer(parts, validator.allows_query_token())
            .map(|t| Bearer(t.to_owned()))
            .map_err(|e| Rejection::new(e.into_kind(), &validator))
    }
}

impl<S> OptionalFromRequestParts<S> for Bearer
where
    Validator: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Rejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        match <Self as FromRequestParts<S>>::from_request_parts(parts, state).await {
            Ok(bearer) => Ok(Some(bearer)),
            Err(rejection) if *rejection.kind() == RejectionKind::Missing => Ok(None),
            Err(rejection) => Err(rejection),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(headers: &[&str], uri: &str) -> Parts {
        let mut req = http::Request::builder().uri(uri);
        for h in headers {
            req = req.header(header::AUTHORIZATION, *h);
        }
        req.body(()).unwrap().into_parts().0
    }

    #[test]
    #[allow(clippy::type_complexity)]
    fn the_bearer_table() {
        use BearerError::*;
        let cases: &[(&str, &[&str], &str, bool, Result<&str, BearerError>)] = &[
            (
                "standard",
                &["Bearer abc.def-ghi_~+/="],
                "/",
                false,
                Ok("abc.def-ghi_~+/="),
            ),
            ("scheme lower case", &["bearer abc"], "/", false, Ok("abc")),
            ("scheme upper case", &["BEARER abc"], "/", false, Ok("abc")),
            ("several spaces", &["Bearer   abc"], "/", false, Ok("abc")),
            ("no header", &[], "/", false, Err(Missing)),
            (
                "basic scheme",
                &["Basic dXNlcjpwYXNz"],
                "/",
                false,
                Err(Missing),
            ),
            (
                "empty token",
                &["Bearer "],
                "/",
                false,
                Err(Invalid("the Bearer credentials are empty")),
            ),
            (
                "scheme only",
                &["Bearer"],
                "/",
                false,
                Err(Invalid("the Bearer credentials are empty")),
            ),
            (
                "comma",
                &["Bearer a,b"],
                "/",
                false,
                Err(Invalid(
                    "the Bearer token has characters outside the b64token syntax",
                )),
            ),
            (
                "inner space",
                &["Bearer a b"],
                "/",
                false,
                Err(Invalid(
                    "the Bearer token has characters outside the b64token syntax",
                )),
            ),
            (
                "only padding",
                &["Bearer =="],
                "/",
                false,
                Err(Invalid(
                    "the Bearer token has characters outside the b64token syntax",
                )),
            ),
            (
                "padding inside",
                &["Bearer a=b"],
                "/",
                false,
                Err(Invalid(
                    "the Bearer token has characters outside the b64token syntax",
                )),
            ),
            (
                "two headers",
                &["Bearer a", "Bearer b"],
                "/",
                false,
                Err(Invalid("more than one Authorization header")),
            ),
            (
                "query refused",
                &[],
                "/?access_token=abc",
                false,
                Err(Invalid(
                    "tokens in the query string are not accepted; use the Authorization header",
                )),
            ),
            (
                "query allowed",
                &[],
                "/?x=1&access_token=abc",
                true,
                Ok("abc"),
            ),
            (
                "query repeated",
                &[],
                "/?access_token=a&access_token=b",
                true,
                Err(Invalid("the access_token parameter is repeated")),
            ),
            (
                "query encoded",
                &[],
                "/?access_token=a%20b",
                true,
                Err(Invalid("the access_token parameter is malformed")),
            ),
            (
                "header and query",
                &["Bearer a"],
                "/?access_token=a",
                true,
                Err(Invalid("the token was sent in more than one way")),
            ),
        ];
        for (name, headers, uri, allow_query, want) in cases {
            let parts = parts(headers, uri);
            assert_eq!(&find_bearer(&parts, *allow_query), want, "{name}");
        }
    }
}
