//! Starting a real server per test, and acting as its users.
//!
//! Every test gets its own database: a SQLite file in a temporary directory, or, when
//! `TEST_DATABASE=postgres`, a fresh PostgreSQL database that is dropped afterwards.

#![allow(
    dead_code,
    reason = "each test uses a different subset of these helpers"
)]

use std::net::SocketAddr;

use letschat::app::App;
use letschat::config::{Config, Secret};
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::Connection;
use tokio::sync::oneshot;

use crate::sio::SioClient;

pub const PASSWORD: &str = "correct horse battery staple";

/// A running server.
pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    pub client: reqwest::Client,
    pub config: Config,
    /// The server's own store: statements run through it also reset its caches.
    store: letschat::store::Store,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    pg_database: Option<String>,
    _dir: tempfile::TempDir,
}

/// A response, decoded.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Resp {
    /// The `code` of an error body.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or_default()
    }

    /// Asserts the contract's error shape with this status and code.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(
            self.status, status,
            "unexpected status, body: {}",
            self.body
        );
        assert_eq!(self.code(), code, "unexpected code, body: {}", self.body);
        assert!(
            self.body["error"].as_str().is_some_and(|e| !e.is_empty()),
            "error sentence missing: {}",
            self.body
        );
    }
}

/// Whether this run uses PostgreSQL.
pub fn on_postgres() -> bool {
    std::env::var("TEST_DATABASE").is_ok_and(|v| v == "postgres")
}

pub fn postgres_admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A configuration for a test server: temp data dir, no rate limits, fast hashing left as is.
pub fn test_config(dir: &std::path::Path) -> Config {
    // Before any reqwest client is built (see `install_crypto_provider`).
    letschat::app::install_crypto_provider();
    let mut config = Config::default();
    config.storage.data_dir = dir.to_path_buf();
    config.http.bind = "127.0.0.1:0".parse().expect("addr");
    config.rate_limit.requests_per_minute = 0;
    config.rate_limit.auth_requests_per_minute = 0;
    config.log.level = "warn".into();
    config
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    /// Starts a server after `adjust` has changed its configuration.
    pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = test_config(dir.path());
        let pg_database = if on_postgres() {
            let name = format!("letschat_test_{}", uuid::Uuid::new_v4().simple());
            create_pg_database(&name).await;
            let base = postgres_admin_url();
            let url = format!(
                "{}/{name}",
                base.rsplit_once('/').map(|(b, _)| b).unwrap_or(&base)
            );
            config.database.url = Secret::new(url);
            Some(name)
        } else {
            None
        };
        adjust(&mut config);
        let app = App::build(config.clone()).await.expect("app builds");
        let store = app.state.store.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let shutdown = async {
                let _ = rx.await;
            };
            app.serve(listener, shutdown).await.expect("server runs");
        });
        TestApp {
            addr,
            base: format!("http://{addr}"),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            config,
            store,
            shutdown: Some(tx),
            server: Some(server),
            pg_database,
            _dir: dir,
        }
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(10), server).await;
        }
    }

    /// Any request; `body` is sent as JSON.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        into_resp(request.send().await.expect("request sent")).await
    }

    /// A raw request with the given body bytes and content type.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Resp {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        into_resp(request.send().await.expect("request sent")).await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.request(Method::GET, path, None, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.request(Method::POST, path, None, Some(body)).await
    }

    /// Registers `name` (also the start of its email) and returns the signed-in user.
    pub async fn register(&self, name: &str) -> TestUser {
        let resp = self
            .post(
                "/api/auth/register",
                json!({"username": name, "email": format!("{name}@example.com"), "password": PASSWORD}),
            )
            .await;
        assert_eq!(resp.status, 201, "register {name}: {}", resp.body);
        TestUser::from_auth(self, name, &resp.body)
    }

    /// Logs in again as `user`, opening a second session.
    pub async fn login(&self, user: &TestUser) -> TestUser {
        let resp = self
            .post(
                "/api/auth/login",
                json!({"login": user.username, "password": PASSWORD}),
            )
            .await;
        assert_eq!(resp.status, 200, "login {}: {}", user.username, resp.body);
        TestUser::from_auth(self, &user.username, &resp.body)
    }

    /// Registers each of `names`, in order: `let [alice, bob] = app.register_all(["alice", "bob"])`.
    pub async fn register_all<const N: usize>(&self, names: [&str; N]) -> [TestUser; N] {
        let mut users = Vec::with_capacity(N);
        for name in names {
            users.push(self.register(name).await);
        }
        users
            .try_into()
            .unwrap_or_else(|_| unreachable!("one user per name"))
    }

    /// alice and bob with their one-on-one chat (they need not be contacts).
    pub async fn two_with_a_chat(&self) -> (TestUser, TestUser, String) {
        let [alice, bob] = self.register_all(["alice", "bob"]).await;
        let chat = direct(&alice, &bob).await;
        (alice, bob, chat)
    }

    /// A group named `name` of alice (its admin), bob and carol, and dave, who is not in it:
    /// `(alice, bob, carol, dave, chat)`.
    pub async fn group_of_three_and_an_outsider(
        &self,
        name: &str,
    ) -> (TestUser, TestUser, TestUser, TestUser, String) {
        let [alice, bob, carol, dave] = self.register_all(["alice", "bob", "carol", "dave"]).await;
        let chat = group(&alice, name, &[&bob, &carol]).await;
        (alice, bob, carol, dave, chat)
    }

    /// alice and bob as accepted contacts, and carol, a stranger to both.
    pub async fn two_friends_and_a_stranger(&self) -> [TestUser; 3] {
        let [alice, bob, carol] = self.register_all(["alice", "bob", "carol"]).await;
        alice.befriend(&bob).await;
        [alice, bob, carol]
    }

    /// `user` signs in on another device and goes online there; returns once the socket has
    /// its `presence_initial`, so the session is live.
    pub async fn other_device_online(&self, user: &TestUser) -> (TestUser, SioClient) {
        let device = self.login(user).await;
        let mut socket = device.connect().await;
        socket.next_event("presence_initial").await;
        (device, socket)
    }

    /// Runs one SQL statement returning a count, to check what the database holds.
    pub async fn count(&self, sql: &str) -> i64 {
        let store = letschat::store::Store::connect(&self.config.database_url(), 1)
            .await
            .expect("connect");
        let n = store.debug_count(sql).await.expect("count");
        store.close().await;
        n
    }

    /// Runs one SQL statement (e.g. to age a token); returns the rows it touched.
    pub async fn execute(&self, sql: &str) -> u64 {
        self.store.debug_execute(sql).await.expect("execute")
    }

    /// A request with extra headers (e.g. `X-Forwarded-For`); `body` is sent as JSON.
    pub async fn request_with_headers(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> Resp {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        into_resp(request.send().await.expect("request sent")).await
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(name) = self.pg_database.take() {
            // Drop runs outside async; a short-lived thread with its own runtime drops the database.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                if let Ok(runtime) = runtime {
                    runtime.block_on(drop_pg_database(&name));
                }
            })
            .join();
        }
    }
}

pub async fn create_pg_database(name: &str) {
    let mut conn = sqlx::PgConnection::connect(&postgres_admin_url())
        .await
        .expect("PostgreSQL reachable (TEST_POSTGRES_URL)");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("create database");
    let _ = conn.close().await;
}

pub async fn drop_pg_database(name: &str) {
    if let Ok(mut conn) = sqlx::PgConnection::connect(&postgres_admin_url()).await {
        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut conn)
        .await;
        let _ = conn.close().await;
    }
}

async fn into_resp(response: reqwest::Response) -> Resp {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("body");
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
    };
    Resp {
        status,
        body,
        headers,
    }
}

/// A signed-in user of a [`TestApp`].
#[derive(Clone)]
pub struct TestUser {
    pub id: String,
    pub username: String,
    pub email: String,
    pub access_token: String,
    pub refresh_token: String,
    client: reqwest::Client,
    base: String,
    addr: SocketAddr,
}

impl TestUser {
    fn from_auth(app: &TestApp, name: &str, body: &Value) -> TestUser {
        TestUser {
            id: body["user"]["id"].as_str().expect("user id").to_owned(),
            username: name.to_owned(),
            email: format!("{name}@example.com"),
            access_token: body["accessToken"]
                .as_str()
                .expect("access token")
                .to_owned(),
            refresh_token: body["refreshToken"]
                .as_str()
                .expect("refresh token")
                .to_owned(),
            client: app.client.clone(),
            base: app.base.clone(),
            addr: app.addr,
        }
    }

    pub async fn request(&self, method: Method, path: &str, body: Option<Value>) -> Resp {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.access_token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        into_resp(request.send().await.expect("request sent")).await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.request(Method::GET, path, None).await
    }
    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.request(Method::POST, path, Some(body)).await
    }
    pub async fn put(&self, path: &str, body: Value) -> Resp {
        self.request(Method::PUT, path, Some(body)).await
    }
    pub async fn delete(&self, path: &str) -> Resp {
        self.request(Method::DELETE, path, None).await
    }

    /// Opens a Socket.IO connection as this user.
    pub async fn connect(&self) -> SioClient {
        SioClient::connect(self.addr, &self.access_token)
            .await
            .unwrap_or_else(|e| panic!("{} could not connect: {e}", self.username))
    }

    /// Sends a contact request to `other`; returns the contact id.
    pub async fn ask_contact(&self, other: &TestUser) -> String {
        let resp = self
            .post("/api/contacts", json!({"contactId": other.id}))
            .await;
        assert!(
            resp.status == 201 || resp.status == 200,
            "contact request: {}",
            resp.body
        );
        resp.body["contact"]["id"]
            .as_str()
            .expect("contact id")
            .to_owned()
    }

    /// Makes `self` and `other` accepted contacts.
    pub async fn befriend(&self, other: &TestUser) -> String {
        let id = self.ask_contact(other).await;
        let resp = other
            .put(
                &format!("/api/contacts/{id}"),
                json!({"status": "accepted"}),
            )
            .await;
        assert_eq!(resp.status, 200, "accept: {}", resp.body);
        id
    }

    pub async fn block(&self, other: &TestUser) {
        let resp = self.post("/api/blocks", json!({"userId": other.id})).await;
        assert!(
            resp.status == 201 || resp.status == 200,
            "block: {}",
            resp.body
        );
    }
}

/// The `id` of a JSON object, as a string.
#[track_caller]
pub fn id(value: &Value) -> String {
    value["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {value}"))
        .to_owned()
}

/// Opens the one-on-one chat of `a` and `b`; returns its id.
pub async fn direct(a: &TestUser, b: &TestUser) -> String {
    let resp = a
        .post(
            "/api/chats",
            json!({"type": "one_on_one", "memberIds": [b.id]}),
        )
        .await;
    assert!(
        resp.status == 201 || resp.status == 200,
        "one_on_one: {} {}",
        resp.status,
        resp.body
    );
    id(&resp.body)
}

/// Creates a group of `admin` and `members`; returns its id.
pub async fn group(admin: &TestUser, name: &str, members: &[&TestUser]) -> String {
    let ids: Vec<&str> = members.iter().map(|m| m.id.as_str()).collect();
    let resp = admin
        .post(
            "/api/chats",
            json!({"type": "group", "name": name, "memberIds": ids}),
        )
        .await;
    assert_eq!(resp.status, 201, "group: {}", resp.body);
    id(&resp.body)
}
