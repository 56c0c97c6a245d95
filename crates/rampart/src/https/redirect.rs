//! What a plain-HTTP request gets: a 308 to the public origin, or a 400 that does not
//! bounce credentials. [`redirect_decision`] decides; [`https_redirect_router`] serves it.

use axum::Router;
use axum::extract::{OriginalUri, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, Method, StatusCode, Uri, header};

use super::origin::Origin;

/// What to answer a request that arrived over plain HTTP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// 308 Permanent Redirect to this absolute URL on the public origin.
    Redirect(String),
    /// 400 `https_required`, with `Connection: close`.
    Refuse(Refusal),
}

/// Why a plain-HTTP request is refused rather than redirected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// Not GET or HEAD: the request may carry a body (form credentials, tokens) that was
    /// already sent in the clear, and a 307/308 would make the client send it again
    /// (RFC 9700 §4.12).
    UnsafeMethod,
    /// An `/oauth` endpoint: its requests carry credentials or codes, the endpoints require
    /// TLS (RFC 6749 §3.1, §3.2), and a redirect would hide the leak instead of failing.
    CredentialPath,
}

impl Refusal {
    /// The `error_description` sent with the 400.
    pub fn description(self) -> &'static str {
        match self {
            Refusal::UnsafeMethod => {
                "only GET and HEAD are redirected to https; send this request over https"
            }
            Refusal::CredentialPath => {
                "OAuth endpoints are not redirected to https; send the request over https, and \
                 treat any credential it carried as exposed"
            }
        }
    }
}

/// Decides what a plain-HTTP request gets.
///
/// GET and HEAD are redirected with 308 to `public_origin` with the path and query kept.
/// The scheme, host and port come only from `public_origin`, never from the request's
/// `Host` header, so the redirect cannot be steered elsewhere; a path such as `//evil.com`
/// becomes `https://origin//evil.com`, still on the origin. Any other method, and any
/// request under `/oauth`, is refused.
pub fn redirect_decision(method: &Method, uri: &Uri, public_origin: &Origin) -> Decision {
    let path = uri.path();
    // RFC 6749 §3.1, §3.2: the OAuth endpoints require TLS; fail loudly, do not bounce.
    if is_credential_path(path) {
        return Decision::Refuse(Refusal::CredentialPath);
    }
    // RFC 9700 §4.12: a 307/308 makes the client resend the body to the new location.
    if method != Method::GET && method != Method::HEAD {
        return Decision::Refuse(Refusal::UnsafeMethod);
    }
    // Origin-form paths start with `/`; anything else (`*`, authority-form) maps to the root.
    let path = if path.starts_with('/') { path } else { "/" };
    let mut location = format!("{public_origin}{path}");
    if let Some(query) = uri.query() {
        location.push('?');
        location.push_str(query);
    }
    Decision::Redirect(location)
}

/// Whether `path` addresses an `/oauth` endpoint, matched conservatively: after
/// percent-decoding, ASCII lower-casing, removing `.`/`..`/empty segments and `;params`,
/// treating `\` like `/`. A false positive only turns a redirect into a 400.
fn is_credential_path(path: &str) -> bool {
    let decoded = percent_decode(path.as_bytes()).to_ascii_lowercase();
    let mut segments: Vec<&[u8]> = Vec::new();
    for segment in decoded.split(|&b| b == b'/' || b == b'\\') {
        let segment = segment.split(|&b| b == b';').next().unwrap_or_default();
        match segment {
            b"" | b"." => {}
            b".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    segments.first() == Some(&&b"oauth"[..])
}

fn percent_decode(input: &[u8]) -> Vec<u8> {
    let hex = |b: u8| char::from(b).to_digit(16);
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let decoded = match (input[i], input.get(i + 1), input.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) => hex(h).zip(hex(l)).map(|(h, l)| (h * 16 + l) as u8),
            _ => None,
        };
        match decoded {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(input[i]);
                i += 1;
            }
        }
    }
    out
}

impl IntoResponse for Decision {
    fn into_response(self) -> Response {
        let refusal = match self {
            Decision::Redirect(location) => match HeaderValue::try_from(location) {
                Ok(location) => {
                    return (
                        StatusCode::PERMANENT_REDIRECT,
                        [(header::LOCATION, location)],
                    )
                        .into_response();
                }
                // Cannot happen (a `Uri`'s path and query are visible ASCII), but a request
                // we cannot redirect is better refused than answered with a 500.
                Err(_) => Refusal::UnsafeMethod,
            },
            Decision::Refuse(refusal) => refusal,
        };
        refusal.into_response()
    }
}

impl IntoResponse for Refusal {
    /// 400 `{"error":"https_required","error_description":"…"}`. `Connection: close`
    /// because the request body, if any, is never read: the connection cannot be reused.
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "error": "https_required",
            "error_description": self.description(),
        });
        (
            StatusCode::BAD_REQUEST,
            [
                (header::CONNECTION, HeaderValue::from_static("close")),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
            axum::Json(body),
        )
            .into_response()
    }
}

/// A router for a plain-HTTP listener that answers every path and method with
/// [`redirect_decision`]. It never reads a request body.
///
/// ```
/// use rampart::https::{Origin, https_redirect_router};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let origin = Origin::parse("https://auth.example.com")?;
/// let listener = tokio::net::TcpListener::bind("0.0.0.0:80").await?;
/// axum::serve(listener, https_redirect_router(origin)).await?;
/// # Ok(()) }
/// ```
pub fn https_redirect_router(origin: Origin) -> Router {
    Router::new().fallback(redirect).with_state(origin)
}

/// No body extractor, so the body is dropped unread.
async fn redirect(
    State(origin): State<Origin>,
    method: Method,
    OriginalUri(uri): OriginalUri,
) -> Response {
    redirect_decision(&method, &uri, &origin).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> Origin {
        Origin::parse("https://auth.example.com:8443").expect("valid origin")
    }

    #[test]
    fn methods_and_paths_decide_between_redirect_and_refusal() {
        let to = |rest: &str| Decision::Redirect(format!("https://auth.example.com:8443{rest}"));
        let refuse_method = Decision::Refuse(Refusal::UnsafeMethod);
        let refuse_oauth = Decision::Refuse(Refusal::CredentialPath);
        #[rustfmt::skip]
        let cases: Vec<(&str, Method, &str, Decision)> = vec![
            ("GET root", Method::GET, "/", to("/")),
            ("HEAD keeps the path", Method::HEAD, "/docs/page", to("/docs/page")),
            ("query preserved", Method::GET, "/a?b=c&d=%20e", to("/a?b=c&d=%20e")),
            ("percent-encoded path preserved", Method::GET, "/caf%C3%A9/x%2Fy", to("/caf%C3%A9/x%2Fy")),
            ("double slash stays on the origin", Method::GET, "//evil.com/x", to("//evil.com/x")),
            ("absolute-form host is ignored", Method::GET, "http://evil.com/p?q", to("/p?q")),
            ("well-known metadata is redirected", Method::GET, "/.well-known/openid-configuration",
                to("/.well-known/openid-configuration")),
            ("oauth-like prefix is not oauth", Method::GET, "/oauthx", to("/oauthx")),
            ("POST refused", Method::POST, "/", refuse_method.clone()),
            ("PUT refused", Method::PUT, "/x", refuse_method.clone()),
            ("DELETE refused", Method::DELETE, "/x", refuse_method.clone()),
            ("OPTIONS refused", Method::OPTIONS, "/x", refuse_method.clone()),
            ("PATCH refused", Method::PATCH, "/x", refuse_method.clone()),
            ("GET /oauth refused", Method::GET, "/oauth", refuse_oauth.clone()),
            ("GET /oauth/ refused", Method::GET, "/oauth/", refuse_oauth.clone()),
            ("GET /oauth/authorize refused", Method::GET, "/oauth/authorize?client_id=a", refuse_oauth.clone()),
            ("HEAD /oauth/token refused", Method::HEAD, "/oauth/token", refuse_oauth.clone()),
            ("POST /oauth/token refused for the path", Method::POST, "/oauth/token", refuse_oauth.clone()),
            ("upper-case oauth refused", Method::GET, "/OAuth/token", refuse_oauth.clone()),
            ("encoded oauth refused", Method::GET, "/%6Fauth/token", refuse_oauth.clone()),
            ("encoded slash refused", Method::GET, "/oauth%2Ftoken", refuse_oauth.clone()),
            ("double slash oauth refused", Method::GET, "//oauth/token", refuse_oauth.clone()),
            ("dot segments refused", Method::GET, "/x/../oauth/token", refuse_oauth.clone()),
            ("matrix params refused", Method::GET, "/oauth;a=b/token", refuse_oauth.clone()),
        ];
        for (name, method, uri, want) in cases {
            let uri: Uri = uri.parse().expect("test uri");
            assert_eq!(
                redirect_decision(&method, &uri, &origin()),
                want,
                "case: {name}"
            );
        }
    }

    #[test]
    fn every_redirect_stays_on_the_origin() {
        for path in [
            "//evil.com",
            "/\\evil.com",
            "/@evil.com",
            "/%2F%2Fevil.com",
            "/..",
        ] {
            let uri: Uri = path.parse().expect("test uri");
            let Decision::Redirect(location) = redirect_decision(&Method::GET, &uri, &origin())
            else {
                panic!("{path} should redirect");
            };
            assert!(
                location.starts_with("https://auth.example.com:8443/"),
                "{path} -> {location}"
            );
        }
    }

    #[tokio::test]
    async fn a_refusal_is_a_400_json_that_closes_the_connection() {
        let response = Refusal::UnsafeMethod.into_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(response.headers()[header::CONNECTION], "close");
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
        let body = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .expect("small body");
        let json: serde_json::Value = serde_json::from_slice(&body).expect("json body");
        assert_eq!(json["error"], "https_required");
        assert!(json["error_description"].is_string());
    }

    #[test]
    fn a_redirect_is_a_308_with_location() {
        let response = Decision::Redirect("https://auth.example.com/a".into()).into_response();
        assert_eq!(response.status(), StatusCode::PERMANENT_REDIRECT);
        assert_eq!(
            response.headers()[header::LOCATION],
            "https://auth.example.com/a"
        );
    }
}
