//! `rampart::https` over real sockets: an axum app on 127.0.0.1:0 served with
//! `into_make_service_with_connect_info`, a real reqwest client, and raw TCP where the
//! exact bytes matter (a hostile `Host`, a body that never ends).

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use rampart::https::{
    ClientIp, ClientIpLayer, Forwarded, ForwardingHeaders, Hsts, Origin, RequireHttpsLayer,
    SecurityHeadersLayer, TrustedProxies, https_redirect_router,
};
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap};
use serde_json::{Value, json};
use tokio::net::TcpListener;

const ORIGIN: &str = "https://auth.example.com:8443";

// ---------------------------------------------------------------------------------------
// Helpers.

/// Serves `app` on 127.0.0.1:0 with the peer address in `ConnectInfo`.
async fn serve(app: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
    let addr = listener.local_addr().expect("bound address");
    let service = app.into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, service).await });
    addr
}

/// A client that neither follows redirects nor uses a proxy from the environment.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

/// Answers `{"ip": ClientIp, "proto": Forwarded::proto}`.
fn echo_app(trusted: TrustedProxies) -> Router {
    async fn echo(ClientIp(ip): ClientIp, forwarded: Forwarded) -> axum::Json<Value> {
        let proto = forwarded.proto.map(rampart::https::Scheme::as_str);
        axum::Json(json!({ "ip": ip.to_string(), "proto": proto }))
    }
    Router::new()
        .route("/", get(echo))
        .layer(SecurityHeadersLayer::new(Some(Hsts::default())))
        .layer(ClientIpLayer::new(trusted))
}

async fn get_with(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = client().get(format!("http://{addr}{path}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.expect("request sent")
}

/// A raw HTTP/1.1 response: status, lower-cased headers, body.
struct RawResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
    elapsed: Duration,
}

impl RawResponse {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Writes `request` as-is and reads one response (up to its `Content-Length`). Runs on a
/// blocking thread so the server keeps running on the test's runtime.
async fn raw_exchange(addr: SocketAddr, request: Vec<u8>) -> RawResponse {
    tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let mut stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("read timeout");
        stream.write_all(&request).expect("request written");
        let mut buf = Vec::new();
        let mut chunk = [0u8; 8192];
        loop {
            if let Some(response) = parse_response(&buf) {
                return RawResponse {
                    elapsed: started.elapsed(),
                    ..response
                };
            }
            match stream.read(&mut chunk) {
                Ok(0) => panic!("connection closed before a full response: {buf:?}"),
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                // The server closes with our unread body in its buffer, which may reset
                // the connection; what arrived before the reset is still the response.
                Err(e) if e.kind() == ErrorKind::ConnectionReset => {
                    return parse_response(&buf).expect("a full response before the reset");
                }
                Err(e) => panic!("no response within 5 s: {e}"),
            }
        }
    })
    .await
    .expect("blocking exchange")
}

fn parse_response(buf: &[u8]) -> Option<RawResponse> {
    let text = String::from_utf8_lossy(buf);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    (body.len() >= length).then(|| RawResponse {
        status,
        headers,
        body: body[..length].to_owned(),
        elapsed: Duration::ZERO,
    })
}

fn assert_https_required(status: StatusCode, headers: &HeaderMap, body: &Value) {
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "https_required");
    assert!(body["error_description"].is_string());
    assert_eq!(headers[header::CONNECTION], "close");
}

// ---------------------------------------------------------------------------------------
// Client address and scheme.

/// (name, trusted proxies, request headers, expected client IP, expected proto)
type TrustCase = (
    &'static str,
    TrustedProxies,
    Vec<(&'static str, &'static str)>,
    &'static str,
    Option<&'static str>,
);

#[tokio::test]
async fn the_client_ip_follows_the_trust_matrix() {
    let loopback = || TrustedProxies::new(["127.0.0.1/32"]).expect("valid CIDR");
    #[rustfmt::skip]
    let cases: Vec<TrustCase> = vec![
        ("an untrusted peer's spoofed XFF is ignored", TrustedProxies::none(),
            vec![("x-forwarded-for", "198.51.100.4"), ("x-forwarded-proto", "https")], "127.0.0.1", None),
        ("an untrusted peer's spoofed Forwarded is ignored", TrustedProxies::none(),
            vec![("forwarded", "for=198.51.100.4;proto=https")], "127.0.0.1", None),
        ("a trusted proxy without headers is the client", loopback(), vec![], "127.0.0.1", None),
        ("a trusted proxy's XFF names the client", loopback(),
            vec![("x-forwarded-for", "198.51.100.4"), ("x-forwarded-proto", "https")], "198.51.100.4", Some("https")),
        ("entries the client prepended are skipped", loopback(),
            vec![("x-forwarded-for", "6.6.6.6, 127.0.0.1, 198.51.100.4")], "198.51.100.4", None),
        ("a chain of trusted proxies is walked through",
            TrustedProxies::new(["127.0.0.1/32", "10.0.0.0/8"]).expect("valid CIDRs"),
            vec![("x-forwarded-for", "6.6.6.6, 198.51.100.4, 10.0.0.7")], "198.51.100.4", None),
        ("an all-trusted chain gives the leftmost hop",
            TrustedProxies::new(["127.0.0.1/32", "10.0.0.0/8"]).expect("valid CIDRs"),
            vec![("x-forwarded-for", "10.0.0.9, 10.0.0.7")], "10.0.0.9", None),
        ("Forwarded with a quoted IPv6 and port", loopback(),
            vec![("forwarded", "for=\"[2001:db8::1]:4711\";proto=https")], "2001:db8::1", Some("https")),
        ("Forwarded takes precedence over XFF", loopback(),
            vec![("x-forwarded-for", "6.6.6.6"), ("forwarded", "for=198.51.100.4;proto=http")],
            "198.51.100.4", Some("http")),
        ("a pinned XFF ignores a client-sent Forwarded",
            loopback().headers(ForwardingHeaders::XForwardedFor),
            vec![("forwarded", "for=6.6.6.6"), ("x-forwarded-for", "198.51.100.4")], "198.51.100.4", None),
        ("garbage stops at the trusted proxy", loopback(),
            vec![("x-forwarded-for", "198.51.100.4, <script>")], "127.0.0.1", None),
    ];
    for (name, trusted, headers, want_ip, want_proto) in cases {
        let addr = serve(echo_app(trusted)).await;
        let response = get_with(addr, "/", &headers).await;
        assert_eq!(response.status(), StatusCode::OK, "case: {name}");
        let body: Value = response.json().await.expect("json body");
        assert_eq!(body["ip"], want_ip, "case: {name}");
        assert_eq!(body["proto"], json!(want_proto), "case: {name}");
    }
}

#[tokio::test]
async fn without_the_layer_the_peer_is_the_client() {
    let app = Router::new().route(
        "/",
        get(|ClientIp(ip): ClientIp| async move { ip.to_string() }),
    );
    let addr = serve(app).await;
    let response = get_with(addr, "/", &[("x-forwarded-for", "198.51.100.4")]).await;
    assert_eq!(response.text().await.expect("body"), "127.0.0.1");
}

#[tokio::test]
async fn without_connect_info_client_ip_is_a_500_that_names_the_fix() {
    let app = Router::new().route(
        "/",
        get(|ClientIp(ip): ClientIp| async move { ip.to_string() }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
    let addr = listener.local_addr().expect("bound address");
    tokio::spawn(async move { axum::serve(listener, app).await });

    let response = get_with(addr, "/", &[]).await;

    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let text = response.text().await.expect("body");
    assert!(text.contains("ClientIpLayer"), "{text}");
    assert!(
        text.contains("into_make_service_with_connect_info"),
        "{text}"
    );
}

#[tokio::test]
async fn security_headers_are_on_every_response() {
    let addr = serve(echo_app(TrustedProxies::none())).await;

    for path in ["/", "/does-not-exist"] {
        let response = get_with(addr, path, &[]).await;
        let headers = response.headers();
        assert_eq!(
            headers[header::STRICT_TRANSPORT_SECURITY],
            "max-age=63072000; includeSubDomains",
            "{path}"
        );
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{path}");
        assert_eq!(headers[header::REFERRER_POLICY], "no-referrer", "{path}");
        assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY", "{path}");
        assert_eq!(
            headers[header::CONTENT_SECURITY_POLICY],
            "frame-ancestors 'none'",
            "{path}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// The plain-HTTP redirect router.

async fn serve_redirects() -> SocketAddr {
    let origin = Origin::parse(ORIGIN).expect("valid origin");
    serve(https_redirect_router(origin)).await
}

#[tokio::test]
async fn get_and_head_are_redirected_to_the_configured_origin() {
    let addr = serve_redirects().await;
    #[rustfmt::skip]
    let cases = [
        ("root", reqwest::Method::GET, "/", "/"),
        ("path and query kept", reqwest::Method::GET, "/docs/a?b=c&d=%20e", "/docs/a?b=c&d=%20e"),
        ("percent-encoding kept", reqwest::Method::GET, "/caf%C3%A9/x%2Fy", "/caf%C3%A9/x%2Fy"),
        ("HEAD", reqwest::Method::HEAD, "/page", "/page"),
    ];
    for (name, method, path, want) in cases {
        let response = client()
            .request(method, format!("http://{addr}{path}"))
            .header(header::HOST, "evil.example")
            .send()
            .await
            .expect("request sent");
        assert_eq!(
            response.status(),
            StatusCode::PERMANENT_REDIRECT,
            "case: {name}"
        );
        assert_eq!(
            response.headers()[header::LOCATION],
            format!("{ORIGIN}{want}").as_str(),
            "case: {name}"
        );
        assert!(
            !response
                .headers()
                .contains_key(header::STRICT_TRANSPORT_SECURITY),
            "case: {name}: no HSTS over plain HTTP"
        );
    }
}

#[tokio::test]
async fn a_hostile_host_header_does_not_steer_the_redirect() {
    let addr = serve_redirects().await;
    for (path, host) in [
        ("/login?next=x", "evil.example"),
        ("//evil.example/x", "evil.example:443"),
        ("/@evil.example", "auth.example.com.evil.example"),
    ] {
        let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");

        let response = raw_exchange(addr, request.into_bytes()).await;

        assert_eq!(response.status, 308, "{path}");
        let location = response.header("location").expect("a Location");
        assert!(location.starts_with(&format!("{ORIGIN}/")), "{location}");
        assert_eq!(location, format!("{ORIGIN}{path}"));
    }
}

#[tokio::test]
async fn a_post_is_refused_with_https_required() {
    let addr = serve_redirects().await;

    let response = client()
        .post(format!("http://{addr}/oauth/token"))
        .form(&[("grant_type", "password"), ("password", "hunter2")])
        .send()
        .await
        .expect("request sent");

    let (status, headers) = (response.status(), response.headers().clone());
    let body: Value = response.json().await.expect("json body");
    assert_https_required(status, &headers, &body);
}

#[tokio::test]
async fn a_get_to_an_oauth_endpoint_is_refused_not_redirected() {
    let addr = serve_redirects().await;
    for path in [
        "/oauth/token",
        "/oauth/authorize?client_id=a&state=s",
        "/OAuth/token",
    ] {
        let response = get_with(addr, path, &[]).await;

        let (status, headers) = (response.status(), response.headers().clone());
        assert!(!headers.contains_key(header::LOCATION), "{path}");
        let body: Value = response.json().await.expect("json body");
        assert_https_required(status, &headers, &body);
    }
}

#[tokio::test]
async fn a_refused_post_is_answered_without_reading_its_body() {
    let addr = serve_redirects().await;
    let chunk = vec![b'a'; 64 * 1024];
    let mut content_length =
        b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 104857600\r\n\r\n".to_vec();
    content_length.extend_from_slice(&chunk);
    let mut chunked =
        b"POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10000\r\n".to_vec();
    chunked.extend_from_slice(&chunk);

    for (name, request) in [("content-length", content_length), ("chunked", chunked)] {
        // 100 MiB announced (or a chunked body that never ends), 64 KiB sent: a server that
        // read the body would wait for the rest and never answer.
        let response = raw_exchange(addr, request).await;

        assert_eq!(response.status, 400, "case: {name}");
        assert!(response.elapsed < Duration::from_secs(3), "case: {name}");
        assert_eq!(response.header("connection"), Some("close"), "case: {name}");
        let body: Value = serde_json::from_str(&response.body).expect("json body");
        assert_eq!(body["error"], "https_required", "case: {name}");
    }
}

// ---------------------------------------------------------------------------------------
// Proxy mode: RequireHttpsLayer behind ClientIpLayer.

fn proxy_mode_app(trusted: TrustedProxies) -> Router {
    let origin = Origin::parse(ORIGIN).expect("valid origin");
    Router::new()
        .route(
            "/page",
            get(|| async { "over https" }).post(|| async { "posted" }),
        )
        .layer(SecurityHeadersLayer::new(Some(Hsts::default())))
        .layer(RequireHttpsLayer::new(origin))
        .layer(ClientIpLayer::new(
            trusted.headers(ForwardingHeaders::XForwardedFor),
        ))
}

#[tokio::test]
async fn proxy_mode_redirects_only_what_reached_a_trusted_proxy_over_http() {
    let loopback = || TrustedProxies::new(["127.0.0.1"]).expect("valid address");
    #[rustfmt::skip]
    let cases = [
        ("http via the trusted proxy is redirected", loopback(), "http", StatusCode::PERMANENT_REDIRECT),
        ("https via the trusted proxy passes", loopback(), "https", StatusCode::OK),
        ("an untrusted peer's proto is not believed", TrustedProxies::none(), "http", StatusCode::OK),
    ];
    for (name, trusted, proto, want) in cases {
        let addr = serve(proxy_mode_app(trusted)).await;

        let response = get_with(addr, "/page?x=1", &[("x-forwarded-proto", proto)]).await;

        assert_eq!(response.status(), want, "case: {name}");
        let hsts = response
            .headers()
            .contains_key(header::STRICT_TRANSPORT_SECURITY);
        assert_eq!(
            hsts,
            want == StatusCode::OK,
            "case: {name}: HSTS only over https"
        );
        if want == StatusCode::PERMANENT_REDIRECT {
            assert_eq!(
                response.headers()[header::LOCATION],
                format!("{ORIGIN}/page?x=1").as_str()
            );
        }
    }
}

#[tokio::test]
async fn proxy_mode_refuses_a_post_that_reached_the_proxy_over_http() {
    let trusted = TrustedProxies::new(["127.0.0.1"]).expect("valid address");
    let addr = serve(proxy_mode_app(trusted)).await;

    let response = client()
        .post(format!("http://{addr}/page"))
        .header("x-forwarded-proto", "http")
        .body("secret=1")
        .send()
        .await
        .expect("request sent");

    let (status, headers) = (response.status(), response.headers().clone());
    let body: Value = response.json().await.expect("json body");
    assert_https_required(status, &headers, &body);
}
