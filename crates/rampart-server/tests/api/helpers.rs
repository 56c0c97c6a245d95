//! `TestApp`: the server on port 0 over a fresh data directory and a fresh database
//! (SQLite in the data directory, or a Postgres database of its own: see
//! [`crate::database`]), and one helper per endpoint.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rampart_server::state::AppState;
use rampart_server::store::{AuthMethod, Client};
use rampart_server::{Application, Config};
use reqwest::{Response, StatusCode, header};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::database::{Backend, TestDatabase};

/// Password of the bootstrap administrator `admin`.
pub(crate) const ADMIN_PW: &str = "bootstrap-admin-password";
/// The default public URL: the `iss` of every token and the default `aud`. Tokens carry
/// it whatever address the test server listens on.
pub(crate) const ISSUER: &str = "https://localhost:8443";
/// A password that passes the length rules.
pub(crate) const USER_PW: &str = "correct horse battery";

/// A running server and everything a test needs to talk to it.
pub(crate) struct TestApp {
    pub(crate) address: SocketAddr,
    /// White-box access (store, clock, keys) for facts HTTP cannot show.
    pub(crate) state: AppState,
    client: reqwest::Client,
    config: Config,
    data_dir: Arc<TempDir>,
    /// The Postgres database, dropped with the last app on it.
    database: Option<Arc<TestDatabase>>,
    /// The administrator's access token, reused while it is fresh: fewer logins keep
    /// the suite fast and clear of the login throttle.
    admin_token: Mutex<Option<(String, i64)>>,
    /// The metrics listener (`/metrics`), bound to port 0 like the API.
    metrics: Option<SocketAddr>,
    /// Ends the server's run (graceful shutdown) and waits for it: [`TestApp::stop`].
    server: Mutex<Option<RunningServer>>,
}

/// The spawned `run_until` of a [`TestApp`] and the signal that stops it.
struct RunningServer {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// `rampart serve` running as a child process ([`TestApp::serve_process`]); killed
/// (SIGKILL) when dropped.
pub(crate) struct ServerProcess {
    child: std::process::Child,
    pub(crate) address: SocketAddr,
}

impl ServerProcess {
    /// The absolute URL of `path` on this process.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// SIGKILL (no shutdown, no flush), and waits for the process to be gone.
    pub(crate) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// How a request authenticates its client (RFC 6749 §2.3).
#[derive(Debug, Clone, Copy)]
pub(crate) enum ClientAuth<'a> {
    /// No client identification at all: the built-in first-party client.
    FirstParty,
    /// A public client naming itself with `client_id`.
    Public(&'a str),
    /// `client_secret_basic`, id and secret form-urlencoded first (§2.3.1).
    Basic(&'a str, &'a str),
    /// `client_secret_post`.
    Post(&'a str, &'a str),
}

/// An RFC 6749 §5.1 success body.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Tokens {
    pub(crate) access_token: String,
    pub(crate) token_type: String,
    pub(crate) expires_in: i64,
    pub(crate) refresh_token: Option<String>,
    pub(crate) scope: String,
    pub(crate) id_token: Option<String>,
}

/// A client created through the admin API; only a confidential one has a secret.
#[derive(Debug, Clone)]
pub(crate) struct TestClient {
    pub(crate) id: String,
    pub(crate) secret: Option<String>,
}

impl TestClient {
    /// Authenticates with Basic when the client has a secret, else as a public client.
    pub(crate) fn auth(&self) -> ClientAuth<'_> {
        match &self.secret {
            Some(secret) => ClientAuth::Basic(&self.id, secret),
            None => ClientAuth::Public(&self.id),
        }
    }
}

impl TestApp {
    /// The server with the test defaults.
    pub(crate) async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// The server with the test defaults changed by `tweak` (clock, algorithm, …), on
    /// this target's backend.
    pub(crate) async fn spawn_with(tweak: impl FnOnce(&mut Config)) -> Self {
        let database = match crate::BACKEND {
            Backend::Sqlite => None,
            Backend::Postgres => match TestDatabase::create().await {
                Some(database) => Some(Arc::new(database)),
                None => {
                    // libtest cannot skip at run time: end the whole target, successfully.
                    crate::database::notice_skipped("the Postgres run of the API suite");
                    std::process::exit(0);
                }
            },
        };
        Self::spawn_on(database, tweak).await
    }

    /// A server on `database` (Postgres; `None`: SQLite in its data directory) with a
    /// fresh data directory, the test defaults changed by `tweak`.
    pub(crate) async fn spawn_on(
        database: Option<Arc<TestDatabase>>,
        tweak: impl FnOnce(&mut Config),
    ) -> Self {
        let data_dir = Arc::new(tempfile::tempdir().unwrap());
        let mut config = Config::for_tests(data_dir.path());
        if let Some(database) = &database {
            config.database_url = database.url();
            // Many tests run at once against one server.
            config.db_max_connections = 4;
        }
        config.bootstrap_admin_password = Some(SecretString::from(ADMIN_PW));
        tweak(&mut config);
        Self::start(config, data_dir, database).await
    }

    /// A second server over the same data directory and configuration, as after a
    /// restart (this one keeps running; both share the database).
    pub(crate) async fn restarted(&self) -> Self {
        Self::start(
            self.config.clone(),
            Arc::clone(&self.data_dir),
            self.database.clone(),
        )
        .await
    }

    async fn start(
        config: Config,
        data_dir: Arc<TempDir>,
        database: Option<Arc<TestDatabase>>,
    ) -> Self {
        let app = Application::build(config.clone())
            .await
            .expect("the application builds");
        let address = app.address();
        let metrics = app.metrics_address();
        let state = app.state().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(app.run_until(async move {
            // Dropping the sender (the app dropped without `stop`) stops nothing early:
            // only an explicit `stop` ends the run.
            if stopped.await.is_err() {
                std::future::pending::<()>().await;
            }
        }));
        Self {
            address,
            state,
            client: Self::http_client(),
            config,
            data_dir,
            database,
            admin_token: Mutex::new(None),
            metrics,
            server: Mutex::new(Some(RunningServer { stop, task })),
        }
    }

    /// Why the server refuses to start with the test defaults changed by `tweak`
    /// (`{:#}` of the build error), on this target's backend.
    pub(crate) async fn start_error(tweak: impl FnOnce(&mut Config)) -> String {
        let data_dir = tempfile::tempdir().unwrap();
        let mut config = Config::for_tests(data_dir.path());
        tweak(&mut config);
        match Application::build(config).await {
            Ok(_) => panic!("the server started"),
            Err(err) => format!("{err:#}"),
        }
    }

    /// Starts a graceful shutdown (as SIGTERM does) and returns the running server's
    /// end, to await: in-flight requests finish first.
    pub(crate) fn stop(&self) -> tokio::task::JoinHandle<anyhow::Result<()>> {
        let server = self
            .server
            .lock()
            .unwrap()
            .take()
            .expect("the server is still running");
        let _ = server.stop.send(());
        server.task
    }

    /// The server's clock (a manual one where the test asked for it).
    pub(crate) fn clock(&self) -> &rampart_server::clock::Clock {
        &self.state.accounts.clock
    }

    /// The database URL the server runs on (SQLite file or Postgres database).
    pub(crate) fn database_url(&self) -> &str {
        &self.config.database_url
    }

    /// The data directory, for the CLI and for files the server writes.
    pub(crate) fn data_dir(&self) -> &std::path::Path {
        self.data_dir.path()
    }

    /// Runs the `rampart` binary with `args` against this server's data directory and
    /// database (the CLI is another process on the same store). Logs at warn.
    pub(crate) fn cli(&self, args: &[&std::ffi::OsStr]) -> std::process::Output {
        self.cli_with_env(args, &[])
    }

    /// [`Self::cli`] with environment variables (`RAMPART_PASSWORD`, …).
    ///
    /// The server under test runs on the test's runtime, and the CLI waits for SQLite's
    /// write lock, which the server's writer may hold: the wait must not block the thread
    /// the writer needs. So the tests that run the CLI use a multi-thread runtime, and the
    /// wait is a `block_in_place` (which panics, loudly, on a current-thread runtime).
    pub(crate) fn cli_with_env(
        &self,
        args: &[&std::ffi::OsStr],
        envs: &[(&str, &str)],
    ) -> std::process::Output {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_rampart"));
        command
            .args(args)
            .arg("--data-dir")
            .arg(self.data_dir())
            .arg("--database-url")
            .arg(&self.config.database_url)
            .env("RAMPART_LOG", "warn")
            .envs(envs.iter().copied());
        tokio::task::block_in_place(|| command.output().unwrap())
    }

    /// `rampart serve` as a child process over this app's data directory and database,
    /// for what only a separate process can show (a SIGKILL). Stop this app first when
    /// the test needs the process to be the only server. Returns once it answers
    /// `/healthz`.
    pub(crate) async fn serve_process(&self) -> ServerProcess {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_rampart"))
            .args(["serve", "--tls-mode", "proxy", "--http-addr", "off"])
            .args(["--metrics-addr", "off", "--https-addr"])
            .arg(address.to_string())
            .arg("--data-dir")
            .arg(self.data_dir())
            .arg("--database-url")
            .arg(&self.config.database_url)
            .env("RAMPART_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut process = ServerProcess { child, address };
        let health = format!("http://{address}/healthz");
        for _ in 0..300 {
            if let Ok(Some(status)) = process.child.try_wait() {
                panic!("rampart serve exited at startup: {status}");
            }
            if let Ok(response) = self.client.get(&health).send().await
                && response.status() == StatusCode::OK
            {
                return process;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        process.kill();
        panic!("rampart serve did not answer /healthz within 30 s");
    }

    /// The Prometheus exposition from the metrics listener.
    pub(crate) async fn metrics_text(&self) -> String {
        let metrics = self
            .metrics
            .expect("the test config has a metrics listener");
        self.client
            .get(format!("http://{metrics}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    // The transport lives in these two functions only (it will become HTTPS).

    /// The absolute URL of `path` on this server.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    fn http_client() -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    /// The shared HTTP client, for requests no helper covers.
    pub(crate) fn client(&self) -> &reqwest::Client {
        &self.client
    }

    // --- OAuth endpoints -------------------------------------------------------------

    /// POSTs a raw form body to an OAuth endpoint with `auth` applied.
    pub(crate) async fn post_form(
        &self,
        path: &str,
        params: &[(&str, &str)],
        auth: ClientAuth<'_>,
    ) -> Response {
        self.post_form_from(path, params, auth, None).await
    }

    /// [`TestApp::post_form`] through the trusted proxy when `forwarded_for` is set (the
    /// `X-Forwarded-For` value; the config must trust 127.0.0.1).
    pub(crate) async fn post_form_from(
        &self,
        path: &str,
        params: &[(&str, &str)],
        auth: ClientAuth<'_>,
        forwarded_for: Option<&str>,
    ) -> Response {
        let mut params = params.to_vec();
        let mut request = self.client.post(self.url(path));
        if let Some(forwarded_for) = forwarded_for {
            request = request.header("X-Forwarded-For", forwarded_for);
        }
        match auth {
            ClientAuth::FirstParty => {}
            ClientAuth::Public(id) => params.push(("client_id", id)),
            ClientAuth::Post(id, secret) => {
                params.push(("client_id", id));
                params.push(("client_secret", secret));
            }
            ClientAuth::Basic(id, secret) => {
                request = request.header(header::AUTHORIZATION, basic(id, secret));
            }
        }
        request
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form_body(&params))
            .send()
            .await
            .unwrap()
    }

    /// `POST /oauth/token` with any parameters.
    pub(crate) async fn token(&self, params: &[(&str, &str)], auth: ClientAuth<'_>) -> Response {
        self.post_form("/oauth/token", params, auth).await
    }

    /// The password grant (RFC 6749 §4.3).
    pub(crate) async fn password_grant(
        &self,
        username: &str,
        password: &str,
        scope: Option<&str>,
        auth: ClientAuth<'_>,
    ) -> Response {
        self.password_grant_from(username, password, scope, auth, None)
            .await
    }

    /// [`TestApp::password_grant`] from `forwarded_for` through the trusted proxy.
    pub(crate) async fn password_grant_from(
        &self,
        username: &str,
        password: &str,
        scope: Option<&str>,
        auth: ClientAuth<'_>,
        forwarded_for: Option<&str>,
    ) -> Response {
        let mut params = vec![
            ("grant_type", "password"),
            ("username", username),
            ("password", password),
        ];
        params.extend(scope.map(|s| ("scope", s)));
        self.post_form_from("/oauth/token", &params, auth, forwarded_for)
            .await
    }

    /// The refresh_token grant (RFC 6749 §6).
    pub(crate) async fn refresh(
        &self,
        refresh_token: &str,
        scope: Option<&str>,
        auth: ClientAuth<'_>,
    ) -> Response {
        let mut params = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ];
        params.extend(scope.map(|s| ("scope", s)));
        self.token(&params, auth).await
    }

    /// The client_credentials grant (RFC 6749 §4.4).
    pub(crate) async fn client_credentials(
        &self,
        scope: Option<&str>,
        auth: ClientAuth<'_>,
    ) -> Response {
        let mut params = vec![("grant_type", "client_credentials")];
        params.extend(scope.map(|s| ("scope", s)));
        self.token(&params, auth).await
    }

    /// `POST /oauth/revoke` (RFC 7009).
    pub(crate) async fn revoke(&self, token: &str, auth: ClientAuth<'_>) -> Response {
        self.post_form("/oauth/revoke", &[("token", token)], auth)
            .await
    }

    /// `POST /oauth/introspect` (RFC 7662).
    pub(crate) async fn introspect(&self, token: &str, auth: ClientAuth<'_>) -> Response {
        self.post_form("/oauth/introspect", &[("token", token)], auth)
            .await
    }

    /// One password-grant attempt (scope `profile admin`, the first-party client) from
    /// `forwarded_for` through the trusted proxy, or from 127.0.0.1: the answer, whatever
    /// it is. The throttle tests' unit of work.
    pub(crate) async fn login_attempt(
        &self,
        username: &str,
        password: &str,
        forwarded_for: Option<&str>,
    ) -> Response {
        self.password_grant_from(
            username,
            password,
            Some("profile admin"),
            ClientAuth::FirstParty,
            forwarded_for,
        )
        .await
    }

    /// A password-grant login through the first-party client that must succeed.
    pub(crate) async fn login(
        &self,
        username: &str,
        password: &str,
        scope: Option<&str>,
    ) -> Tokens {
        let response = self
            .password_grant(username, password, scope, ClientAuth::FirstParty)
            .await;
        tokens(response).await
    }

    /// An access token of the bootstrap administrator with scopes `admin profile`
    /// (a fresh login when the cached one is within a minute of expiry on the server's
    /// clock).
    pub(crate) async fn admin_token(&self) -> String {
        let now = self.state.accounts.clock.now();
        if let Some((token, exp)) = self.admin_token.lock().unwrap().clone()
            && now < exp - 60
        {
            return token;
        }
        let token = self
            .login("admin", ADMIN_PW, Some("admin profile"))
            .await
            .access_token;
        let exp = jwt_parts(&token).1["exp"].as_i64().unwrap();
        *self.admin_token.lock().unwrap() = Some((token.clone(), exp));
        token
    }

    // --- Well-known documents --------------------------------------------------------

    /// `GET` without credentials.
    pub(crate) async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    /// `GET /.well-known/jwks.json`, as bytes.
    pub(crate) async fn jwks(&self) -> Vec<u8> {
        let response = self.get("/.well-known/jwks.json").await;
        assert_eq!(response.status(), StatusCode::OK);
        response.bytes().await.unwrap().to_vec()
    }

    // --- /users/me -------------------------------------------------------------------

    /// `GET /users/me` with a bearer token.
    pub(crate) async fn me(&self, token: &str) -> Response {
        self.client
            .get(self.url("/users/me"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// `PUT /users/me/password`.
    pub(crate) async fn change_password(&self, token: &str, current: &str, new: &str) -> Response {
        self.client
            .put(self.url("/users/me/password"))
            .bearer_auth(token)
            .json(&json!({"current_password": current, "new_password": new}))
            .send()
            .await
            .unwrap()
    }

    // --- Admin API -------------------------------------------------------------------

    /// Any admin-API request with a JSON body.
    pub(crate) async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> Response {
        let mut request = self
            .client
            .request(method, self.url(path))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap()
    }

    /// `POST /admin/users`.
    pub(crate) async fn create_user(
        &self,
        token: &str,
        username: &str,
        password: &str,
        roles: &[&str],
    ) -> Response {
        self.admin(
            reqwest::Method::POST,
            "/admin/users",
            token,
            Some(json!({"username": username, "password": password, "roles": roles})),
        )
        .await
    }

    /// `GET /admin/users?…` with a raw query string.
    pub(crate) async fn list_users(&self, token: &str, query: &str) -> Response {
        self.admin(
            reqwest::Method::GET,
            &format!("/admin/users?{query}"),
            token,
            None,
        )
        .await
    }

    /// `GET /admin/users/{id}`.
    pub(crate) async fn get_user(&self, token: &str, id: &str) -> Response {
        self.admin(
            reqwest::Method::GET,
            &format!("/admin/users/{id}"),
            token,
            None,
        )
        .await
    }

    /// `PATCH /admin/users/{id}`.
    pub(crate) async fn update_user(&self, token: &str, id: &str, body: Value) -> Response {
        self.admin(
            reqwest::Method::PATCH,
            &format!("/admin/users/{id}"),
            token,
            Some(body),
        )
        .await
    }

    /// `DELETE /admin/users/{id}`.
    pub(crate) async fn delete_user(&self, token: &str, id: &str) -> Response {
        self.admin(
            reqwest::Method::DELETE,
            &format!("/admin/users/{id}"),
            token,
            None,
        )
        .await
    }

    /// `PUT /admin/scopes/{name}`.
    pub(crate) async fn put_scope(&self, token: &str, name: &str, default: bool) -> Response {
        self.admin(
            reqwest::Method::PUT,
            &format!("/admin/scopes/{name}"),
            token,
            Some(json!({"description": format!("the {name} scope"), "default": default})),
        )
        .await
    }

    /// `POST /admin/roles`.
    pub(crate) async fn create_role(&self, token: &str, name: &str, scopes: &[&str]) -> Response {
        self.admin(
            reqwest::Method::POST,
            "/admin/roles",
            token,
            Some(json!({"name": name, "description": "a test role", "scopes": scopes})),
        )
        .await
    }

    /// `POST /admin/clients` with the given JSON body.
    pub(crate) async fn create_client(&self, token: &str, body: Value) -> Response {
        self.admin(reqwest::Method::POST, "/admin/clients", token, Some(body))
            .await
    }

    /// `GET /admin/sessions?…`.
    pub(crate) async fn list_sessions(&self, token: &str, query: &str) -> Response {
        self.admin(
            reqwest::Method::GET,
            &format!("/admin/sessions?{query}"),
            token,
            None,
        )
        .await
    }

    // --- Arrange shortcuts -----------------------------------------------------------

    /// Creates a user through the admin API; returns their id.
    pub(crate) async fn given_user(&self, username: &str, roles: &[&str]) -> String {
        let admin = self.admin_token().await;
        let response = self.create_user(&admin, username, USER_PW, roles).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.unwrap();
        body["id"].as_str().unwrap().to_owned()
    }

    /// Creates scopes (not default) through the admin API.
    pub(crate) async fn given_scopes(&self, names: &[&str]) {
        let admin = self.admin_token().await;
        for name in names {
            let response = self.put_scope(&admin, name, false).await;
            assert_eq!(
                response.status(),
                StatusCode::OK,
                "PUT /admin/scopes/{name}"
            );
        }
    }

    /// Creates a role through the admin API.
    pub(crate) async fn given_role(&self, name: &str, scopes: &[&str]) {
        let admin = self.admin_token().await;
        let response = self.create_role(&admin, name, scopes).await;
        assert_eq!(response.status(), StatusCode::CREATED, "POST /admin/roles");
    }

    /// Creates a client through the admin API.
    pub(crate) async fn given_client(
        &self,
        confidential: bool,
        grants: &[&str],
        scopes: &[&str],
        audience: Option<&str>,
    ) -> TestClient {
        let admin = self.admin_token().await;
        let response = self
            .create_client(
                &admin,
                json!({
                    "name": "test client",
                    "confidential": confidential,
                    "grants": grants,
                    "scopes": scopes,
                    "audience": audience,
                }),
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::CREATED,
            "POST /admin/clients"
        );
        let body: Value = response.json().await.unwrap();
        TestClient {
            id: body["client_id"].as_str().unwrap().to_owned(),
            secret: body["client_secret"].as_str().map(str::to_owned),
        }
    }

    /// Stores a confidential client with a chosen id and secret, bypassing the admin API
    /// (which only issues random URL-safe secrets).
    pub(crate) async fn given_client_with_secret(&self, id: &str, secret: &str, grants: &[&str]) {
        let client = Client {
            id: id.to_owned(),
            name: "hand-made client".to_owned(),
            confidential: true,
            secret_hash: Some(rampart_server::secret::digest(secret)),
            grants: grants.iter().map(|g| (*g).to_owned()).collect(),
            scopes: vec!["profile".to_owned()],
            audience: None,
            disabled: false,
            created_at: self.state.accounts.clock.now(),
            redirect_uris: Vec::new(),
            post_logout_redirect_uris: Vec::new(),
            first_party: false,
            auth_method: AuthMethod::ClientSecretBasic,
            access_token_ttl: None,
            refresh_token_ttl: None,
            logout_revokes_tokens: false,
        };
        self.state.store.create_client(&client).await.unwrap();
    }

    /// An authorization code for `username` and client `client_id`, as the authorization
    /// endpoint stores it (white-box: the store is written directly), valid for 60 s.
    pub(crate) async fn given_code(
        &self,
        client_id: &str,
        username: &str,
        redirect_uri: &str,
        code_challenge: &str,
        scope: &str,
    ) -> String {
        let user = self.state.accounts.find_user(username).await.unwrap();
        let now = self.state.accounts.clock.now();
        let code = rampart_server::store::AuthCode {
            client_id: client_id.to_owned(),
            user_id: user.id,
            redirect_uri: redirect_uri.to_owned(),
            code_challenge: code_challenge.to_owned(),
            scope: scope.to_owned(),
            nonce: None,
            auth_time: now,
            browser_session: None,
            created_at: now,
            expires_at: now + rampart_server::accounts::codes::CODE_TTL,
            used_at: None,
            redeemed: None,
        };
        self.state.accounts.issue_code(&code).await.unwrap()
    }

    /// Registers client `id` for `client_secret_post` (the admin API's PATCH): a client
    /// authenticates one way only.
    pub(crate) async fn given_secret_post(&self, id: &str) {
        let admin = self.admin_token().await;
        let response = self
            .admin(
                reqwest::Method::PATCH,
                &format!("/admin/clients/{id}"),
                &admin,
                Some(json!({"token_endpoint_auth_method": "client_secret_post"})),
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "PATCH /admin/clients/{id}"
        );
    }
}

/// The throttle tests' defaults: a manual clock at a fixed instant (a lockout ends when
/// the test moves the clock) and no per-IP request rate (the backoff under test is the
/// only limit).
pub(crate) fn throttle_defaults(config: &mut Config) {
    config.clock = rampart_server::clock::Clock::manual(1_800_000_000);
    config.login_rate_per_ip = 0;
}

/// Percent-encodes for a path segment or a query value (space as %20, not '+').
pub(crate) fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// An `application/x-www-form-urlencoded` body; repeated names stay repeated.
pub(crate) fn form_body(params: &[(&str, &str)]) -> String {
    let mut form = form_urlencoded::Serializer::new(String::new());
    for (name, value) in params {
        form.append_pair(name, value);
    }
    form.finish()
}

/// The `Authorization: Basic` value per RFC 6749 §2.3.1: id and secret form-urlencoded,
/// joined by `:`, base64-encoded.
pub(crate) fn basic(id: &str, secret: &str) -> String {
    let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    raw_basic(&format!("{}:{}", enc(id), enc(secret)))
}

/// An `Authorization: Basic` value over `credentials` exactly as given.
pub(crate) fn raw_basic(credentials: &str) -> String {
    format!("Basic {}", STANDARD.encode(credentials))
}

/// Asserts a §5.1 success (status and no-cache headers) and parses it.
pub(crate) async fn tokens(response: Response) -> Tokens {
    let status = response.status();
    if status != StatusCode::OK {
        let body = response.text().await.unwrap();
        panic!("expected 200 from the token endpoint, got {status}: {body}");
    }
    response.json().await.unwrap()
}

/// Asserts an OAuth error response (RFC 6749 §5.2) and returns its body.
pub(crate) async fn assert_oauth_error(
    response: Response,
    status: StatusCode,
    code: &str,
) -> Value {
    assert_eq!(response.status(), status, "status of an {code} error");
    assert_eq!(
        response.headers()[header::CACHE_CONTROL],
        "no-store",
        "errors are not cached"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], code, "{body}");
    body
}

/// The decoded JOSE header and claims of a compact JWS (no verification).
pub(crate) fn jwt_parts(token: &str) -> (Value, Value) {
    let mut parts = token.split('.');
    let mut decode = || {
        let part = parts.next().unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    };
    let header = decode();
    let claims = decode();
    (header, claims)
}

/// The value of a `WWW-Authenticate` header, or "" when absent.
pub(crate) fn challenge(response: &Response) -> String {
    response
        .headers()
        .get(header::WWW_AUTHENTICATE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// Space-separated scopes as a sorted list.
pub(crate) fn scope_list(scope: &str) -> Vec<&str> {
    let mut list: Vec<&str> = scope.split(' ').filter(|s| !s.is_empty()).collect();
    list.sort_unstable();
    list
}
