//! `/openapi.json` and `/docs`: the document describes the routes that exist, with the
//! scopes their extractors enforce; Swagger UI is served from this server under its own
//! Content-Security-Policy. (The browser run is `tests/docs_browser.rs`; the contract
//! fuzzing against a live server is `.ci/schemathesis.sh`.)

use rampart::ScopeSet;
use rampart::openapi::documented_scopes;
use reqwest::{StatusCode, header};
use serde_json::Value;
use utoipa::openapi::HttpMethod;

use crate::helpers::TestApp;

async fn document(app: &TestApp) -> Value {
    let response = app.get("/openapi.json").await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            out.push((method.to_uppercase(), path.clone(), operation.clone()));
        }
    }
    out
}

#[tokio::test]
async fn the_openapi_document_is_public_openapi_3_1_with_a_short_cache() {
    let app = TestApp::spawn().await;

    let response = app.get("/openapi.json").await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CACHE_CONTROL],
        "public, max-age=60"
    );
    let doc: Value = response.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["title"], "Rampart");
}

#[tokio::test]
async fn every_documented_operation_is_a_route_of_the_server() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    let operations = operations(&doc);

    // The contract's routes (ARCHITECTURE.md), each documented.
    for (method, path) in [
        ("POST", "/oauth/token"),
        ("POST", "/oauth/revoke"),
        ("POST", "/oauth/introspect"),
        ("GET", "/.well-known/oauth-authorization-server"),
        ("GET", "/.well-known/jwks.json"),
        ("GET", "/users/me"),
        ("PUT", "/users/me/password"),
        ("GET", "/admin/users"),
        ("POST", "/admin/users"),
        ("GET", "/admin/users/{id}"),
        ("PATCH", "/admin/users/{id}"),
        ("DELETE", "/admin/users/{id}"),
        ("GET", "/admin/roles"),
        ("GET", "/admin/clients"),
        ("GET", "/admin/sessions"),
        ("GET", "/admin/audit"),
        ("GET", "/openapi.json"),
        ("GET", "/docs"),
        ("GET", "/healthz"),
        ("GET", "/readyz"),
    ] {
        assert!(
            operations.iter().any(|(m, p, _)| m == method && p == path),
            "{method} {path} is not documented"
        );
    }
    // And nothing is documented that the router does not serve: no operation falls
    // through to the fallback's 404 or gets a 405.
    for (method, path, _) in &operations {
        let url = app.url(
            &path
                .replace("{id}", "x")
                .replace("{name}", "x")
                .replace("{file}", "x"),
        );
        let response = app
            .client()
            .request(method.parse().unwrap(), url)
            .send()
            .await
            .unwrap();
        let status = response.status();
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        if status == StatusCode::NOT_FOUND {
            let body: Value = response.json().await.unwrap();
            assert_ne!(
                body["error_description"], "route not found",
                "{method} {path} is documented but not routed"
            );
        }
    }
}

#[tokio::test]
async fn every_operation_has_a_unique_id_a_summary_and_only_documented_schemas() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;

    let mut ids: Vec<String> = Vec::new();
    for (method, path, operation) in operations(&doc) {
        let id = operation["operationId"].as_str().unwrap().to_owned();
        assert!(
            !ids.contains(&id),
            "{method} {path}: duplicate operationId {id}"
        );
        ids.push(id);
        assert!(
            operation["summary"].is_string(),
            "{method} {path} has no summary"
        );
        assert!(
            !operation["responses"].as_object().unwrap().is_empty(),
            "{method} {path} documents no response"
        );
    }
    // Every `$ref` points at a component that exists.
    let text = doc.to_string();
    for reference in text.split("\"$ref\":\"").skip(1) {
        let target = reference.split('"').next().unwrap();
        let pointer = target.trim_start_matches('#');
        assert!(doc.pointer(pointer).is_some(), "dangling $ref {target}");
    }
}

#[tokio::test]
async fn the_oauth2_scheme_is_the_password_flow_listing_every_scope_with_its_description() {
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    assert_eq!(
        app.put_scope(&token, "notes:read", false).await.status(),
        StatusCode::OK
    );

    let doc = document(&app).await;

    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["type"], "http");
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["bearer"]["bearerFormat"], "JWT");
    let password = &schemes["oauth2"]["flows"]["password"];
    assert_eq!(password["tokenUrl"], "/oauth/token");
    assert_eq!(
        password["scopes"]["profile"],
        "Read your own profile and change your password"
    );
    assert_eq!(
        password["scopes"]["admin"],
        "Administer users, roles, clients and sessions"
    );
    assert_eq!(password["scopes"]["notes:read"], "the notes:read scope");
}

#[tokio::test]
async fn each_protected_operation_documents_the_scopes_its_extractor_requires() {
    use rampart_server::admin::AdminScope;
    use rampart_server::profile::ProfileScope;

    let api = rampart_server::openapi::document(Vec::new());
    let scopes = |set: &[&str]| Some(set.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>());

    for (method, path) in [
        (HttpMethod::Get, "/users/me"),
        (HttpMethod::Put, "/users/me/password"),
    ] {
        assert_eq!(
            documented_scopes(&api, method, path),
            scopes(ProfileScope::SCOPES),
            "{path}"
        );
    }
    let json = serde_json::to_value(&api).unwrap();
    let mut admin_operations = 0;
    for (path, item) in json["paths"].as_object().unwrap() {
        if !path.starts_with("/admin/") {
            continue;
        }
        for name in item.as_object().unwrap().keys() {
            let method = match name.as_str() {
                "get" => HttpMethod::Get,
                "post" => HttpMethod::Post,
                "put" => HttpMethod::Put,
                "patch" => HttpMethod::Patch,
                "delete" => HttpMethod::Delete,
                other => panic!("unexpected method {other} on {path}"),
            };
            assert_eq!(
                documented_scopes(&api, method, path),
                scopes(AdminScope::SCOPES),
                "{name} {path}"
            );
            admin_operations += 1;
        }
    }
    assert!(
        admin_operations >= 18,
        "{admin_operations} admin operations"
    );
    for path in ["/oauth/token", "/healthz", "/openapi.json"] {
        let method = if path == "/oauth/token" {
            HttpMethod::Post
        } else {
            HttpMethod::Get
        };
        assert_eq!(documented_scopes(&api, method, path), None, "{path}");
    }
}

#[tokio::test]
async fn swagger_ui_is_served_locally_under_a_csp_that_allows_only_this_origin() {
    let app = TestApp::spawn().await;

    let redirect = app.get("/docs").await;
    let page = app.get("/docs/").await;
    let initializer = app.get("/docs/swagger-initializer.js").await;
    let bundle = app.get("/docs/swagger-ui-bundle.js").await;
    let missing = app.get("/docs/no-such-file.js").await;

    assert_eq!(redirect.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(redirect.headers()[header::LOCATION], "/docs/");
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let csp = page.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{directive} missing from {csp}");
    }
    assert!(
        !csp.contains("unsafe-eval") && !csp.contains("http"),
        "{csp}"
    );
    let html = page.text().await.unwrap();
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "{html}"
    );
    assert!(html.contains("swagger-ui-bundle.js"));

    assert_eq!(initializer.status(), StatusCode::OK);
    let config = initializer.text().await.unwrap();
    assert!(config.contains("\"/openapi.json\""), "{config}");
    assert!(config.contains("\"clientId\": \"first-party\""), "{config}");
    assert!(config.contains("\"validatorUrl\": \"none\""), "{config}");

    assert_eq!(bundle.status(), StatusCode::OK);
    assert_eq!(
        bundle.headers()[header::CACHE_CONTROL],
        "public, max-age=86400"
    );
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_api_keeps_its_own_csp_outside_the_docs() {
    let app = TestApp::spawn().await;

    let response = app.get("/healthz").await;

    assert_eq!(
        response.headers()[header::CONTENT_SECURITY_POLICY],
        "frame-ancestors 'none'"
    );
}

/// The schema `schema` refers to (one `$ref` followed), or `schema` itself.
fn resolved<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(target) => doc
            .pointer(target.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("dangling $ref {target}")),
        None => schema,
    }
}

/// The schema of a request body member.
fn member<'a>(doc: &'a Value, body: &str, name: &str) -> &'a Value {
    let schema = &doc["components"]["schemas"][body]["properties"][name];
    assert!(!schema.is_null(), "{body} has no member {name}");
    resolved(doc, schema)
}

/// The schema of an operation's parameter.
fn parameter<'a>(doc: &'a Value, path: &str, method: &str, name: &str) -> &'a Value {
    let parameters = doc["paths"][path][method]["parameters"].as_array().unwrap();
    let parameter = parameters
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("{method} {path} has no parameter {name}"));
    resolved(doc, &parameter["schema"])
}

fn matches(schema: &Value, value: &str) -> bool {
    let pattern = schema["pattern"].as_str().expect("a pattern");
    regex::Regex::new(pattern).unwrap().is_match(value)
}

#[tokio::test]
async fn the_document_states_the_name_and_password_rules_the_server_enforces() {
    let app = TestApp::spawn().await;

    let doc = document(&app).await;

    let username = member(&doc, "CreateUser", "username");
    assert_eq!(username["minLength"], 1);
    assert_eq!(username["maxLength"], 64);
    assert!(matches(username, "a.b_c-d@e+f") && !matches(username, "a b"));
    let password = member(&doc, "CreateUser", "password");
    assert_eq!(password["minLength"], 8);
    assert_eq!(password["format"], "password");
    assert_eq!(member(&doc, "PasswordChange", "new_password"), password);
    let role = member(&doc, "CreateRole", "name");
    assert_eq!(role["maxLength"], 64);
    assert!(matches(role, "editor") && !matches(role, "a\"b"));
    let deletable = parameter(&doc, "/admin/roles/{name}", "delete", "name");
    assert_eq!(deletable["pattern"], role["pattern"]);
    assert_eq!(
        deletable["not"]["enum"],
        serde_json::json!(["admin", "user"])
    );
    let scope = parameter(&doc, "/admin/scopes/{name}", "put", "name");
    assert_eq!(scope["maxLength"], 128);
    assert!(matches(scope, "notes:read") && !matches(scope, "a b") && !matches(scope, "a\\b"));
    let role_scopes = member(&doc, "CreateRole", "scopes");
    assert_eq!(resolved(&doc, &role_scopes["items"]), scope);
    let description = member(&doc, "CreateRole", "description");
    assert_eq!(description["maxLength"], 500);
    assert!(matches(description, "Édition") && !matches(description, "a\u{7}"));
    let grants = member(&doc, "CreateClient", "grants");
    assert_eq!(grants["minItems"], 1);
    assert_eq!(
        resolved(&doc, &grants["items"])["enum"],
        serde_json::json!([
            "password",
            "refresh_token",
            "client_credentials",
            "authorization_code"
        ])
    );
    let limit = parameter(&doc, "/admin/users", "get", "limit");
    assert_eq!(
        (&limit["minimum"], &limit["maximum"]),
        (&1.into(), &200.into())
    );
    assert_eq!(parameter(&doc, "/admin/users", "get", "q")["maxLength"], 64);
    let token_scope = member(&doc, "TokenRequest", "scope");
    assert!(matches(token_scope, "profile notes:read") && !matches(token_scope, "a \"b"));
}

#[tokio::test]
async fn values_at_the_bounds_the_document_states_are_accepted() {
    // Arrange: the longest names, in the widest characters each schema allows.
    let app = TestApp::spawn().await;
    let token = app.admin_token().await;
    let scope = format!("!#[]~{}", "s".repeat(123));
    let role = format!("{}:x", "r".repeat(62));
    let username = format!("A.b_c-d@e+{}", "f".repeat(54));
    // 256 four-byte characters: the 1024 bytes of the password rule.
    let password = "😀".repeat(256);

    // Act
    // `#` and `[` are ordinary in a scope, not in a URL path.
    let scope_path =
        percent_encoding::utf8_percent_encode(&scope, percent_encoding::NON_ALPHANUMERIC);
    let put_scope = app.put_scope(&token, &scope_path.to_string(), false).await;
    let create_role = app
        .admin(
            reqwest::Method::POST,
            "/admin/roles",
            &token,
            Some(serde_json::json!({
                "name": role,
                "description": "é".repeat(500),
                "scopes": [scope],
            })),
        )
        .await;
    let create_user = app
        .create_user(&token, &username, &password, &[&role, "user"])
        .await;
    let ascii_client = app
        .create_client(
            &token,
            serde_json::json!({
                "name": format!(" {} ", "n".repeat(198)),
                "confidential": true,
                "grants": ["client_credentials"],
                "scopes": [scope],
                "audience": "a".repeat(512),
            }),
        )
        .await;
    let wide_client = app
        .create_client(
            &token,
            serde_json::json!({
                "name": "😀".repeat(50),
                "confidential": false,
                "grants": ["password", "refresh_token"],
                "audience": "😀".repeat(128),
            }),
        )
        .await;

    // Assert
    assert_eq!(put_scope.status(), StatusCode::OK);
    assert_eq!(create_role.status(), StatusCode::CREATED);
    assert_eq!(create_user.status(), StatusCode::CREATED);
    assert_eq!(ascii_client.status(), StatusCode::CREATED);
    assert_eq!(wide_client.status(), StatusCode::CREATED);
    let login = app
        .password_grant(
            &username,
            &password,
            None,
            crate::helpers::ClientAuth::FirstParty,
        )
        .await;
    assert_eq!(login.status(), StatusCode::OK);
}
