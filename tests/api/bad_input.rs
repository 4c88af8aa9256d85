//! Malformed and hostile input, table-driven: every case gets an exact 4xx with the contract's
//! error shape, never a 5xx, and the whole table leaves the database as it found it.

use std::panic::AssertUnwindSafe;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, Resp, TestApp, TestUser};

/// The signing key the suites that mint their own tokens give the server.
pub const JWT_SECRET: &str = "test-secret";

/// A server whose access tokens are signed with [`JWT_SECRET`].
pub async fn spawn_with_known_key() -> TestApp {
    TestApp::spawn_with(|c| c.auth.jwt_secret = letschat::config::Secret::new(JWT_SECRET)).await
}

pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// Signs `claims` with `alg` and `secret`, as the server does (or as a forger would).
pub fn mint(alg: jsonwebtoken::Algorithm, secret: &str, claims: &Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(alg),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("token encodes")
}

/// The claims the server would put in an access token for this session.
pub fn claims(user_id: &str, session_id: &str, iat: i64, exp: i64, typ: &str) -> Value {
    json!({"sub": user_id, "sid": session_id, "iat": iat, "exp": exp, "typ": typ})
}

/// An HS256 token with the server's key that expired a minute ago.
pub fn expired_token(user_id: &str, session_id: &str) -> String {
    let now = now_secs();
    mint(
        jsonwebtoken::Algorithm::HS256,
        JWT_SECRET,
        &claims(user_id, session_id, now - 3600, now - 60, "access"),
    )
}

/// The id of the session `user` is signed in with.
pub async fn current_session_id(user: &TestUser) -> String {
    let resp = user.get("/api/auth/sessions").await;
    assert_eq!(resp.status, 200, "sessions: {}", resp.body);
    resp.body["sessions"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["current"] == true))
        .and_then(|s| s["id"].as_str())
        .expect("a current session")
        .to_owned()
}

/// Row counts of every table the endpoints under test write to.
pub async fn table_counts(app: &TestApp) -> Vec<(&'static str, i64)> {
    let queries = [
        ("users", "SELECT count(*) FROM users"),
        ("sessions", "SELECT count(*) FROM sessions"),
        (
            "live sessions",
            "SELECT count(*) FROM sessions WHERE revoked_at IS NULL",
        ),
        ("refresh_tokens", "SELECT count(*) FROM refresh_tokens"),
        (
            "used refresh_tokens",
            "SELECT count(*) FROM refresh_tokens WHERE used_at IS NOT NULL",
        ),
        ("contacts", "SELECT count(*) FROM contacts"),
        (
            "accepted contacts",
            "SELECT count(*) FROM contacts WHERE status = 'accepted'",
        ),
        ("blocks", "SELECT count(*) FROM blocks"),
        ("password_resets", "SELECT count(*) FROM password_resets"),
    ];
    let mut counts = Vec::new();
    for (name, sql) in queries {
        counts.push((name, app.count(sql).await));
    }
    counts
}

/// Who a case acts as.
enum As {
    Nobody,
    Alice,
    /// A raw `Authorization` header value.
    Header(Vec<u8>),
}

/// One row of the table.
struct Case {
    name: &'static str,
    method: Method,
    path: String,
    who: As,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    status: u16,
    code: &'static str,
}

/// A case as Alice, with no body, expecting `400 validation_failed` until told otherwise.
fn case(name: &'static str, method: Method, path: impl Into<String>) -> Case {
    Case {
        name,
        method,
        path: path.into(),
        who: As::Alice,
        content_type: None,
        body: Vec::new(),
        status: 400,
        code: "validation_failed",
    }
}

impl Case {
    fn json(self, body: impl Into<Vec<u8>>) -> Self {
        self.raw("application/json", body)
    }
    fn raw(mut self, content_type: &'static str, body: impl Into<Vec<u8>>) -> Self {
        self.content_type = Some(content_type);
        self.body = body.into();
        self
    }
    /// A body sent without any `Content-Type`.
    fn untyped(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.content_type = None;
        self.body = body.into();
        self
    }
    fn anonymous(mut self) -> Self {
        self.who = As::Nobody;
        self
    }
    fn authorization(mut self, header: impl Into<Vec<u8>>) -> Self {
        self.who = As::Header(header.into());
        self
    }
    fn expect(mut self, status: u16, code: &'static str) -> Self {
        self.status = status;
        self.code = code;
        self
    }
}

/// Sends one case; a transport failure is reported, not panicked on.
async fn send(app: &TestApp, alice: &TestUser, case: &Case) -> Result<Resp, String> {
    let mut request = app
        .client
        .request(case.method.clone(), format!("{}{}", app.base, case.path))
        .body(case.body.clone());
    match &case.who {
        As::Nobody => {}
        As::Alice => request = request.bearer_auth(&alice.access_token),
        As::Header(value) => {
            let value = reqwest::header::HeaderValue::from_bytes(value)
                .map_err(|e| format!("header value: {e}"))?;
            request = request.header("authorization", value);
        }
    }
    if let Some(content_type) = case.content_type {
        request = request.header("content-type", content_type);
    }
    let response = request
        .send()
        .await
        .map_err(|e| format!("transport: {e}"))?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| format!("reading the body: {e}"))?;
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
    Ok(Resp {
        status,
        body,
        headers,
    })
}

/// What is wrong with the answer to `case`, if anything.
fn verdict(case: &Case, resp: &Resp) -> Option<String> {
    if resp.status >= 500 {
        return Some(format!("a {} (never a 5xx): {}", resp.status, resp.body));
    }
    let sentence = resp.body["error"].as_str().is_some_and(|e| !e.is_empty());
    if resp.status != case.status || resp.code() != case.code || !sentence {
        return Some(format!(
            "expected {} {}, got {} {}",
            case.status, case.code, resp.status, resp.body
        ));
    }
    // The harness's own check, which agrees with the one above (so it never prints a panic).
    let shape = std::panic::catch_unwind(AssertUnwindSafe(|| {
        resp.assert_error(case.status, case.code)
    }));
    if shape.is_err() {
        return Some("Resp::assert_error disagrees".into());
    }
    let json = resp
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json {
        return Some(format!(
            "error body is not served as JSON: {:?}",
            resp.headers.get("content-type")
        ));
    }
    let extra = resp
        .body
        .as_object()
        .map(|o| {
            o.keys()
                .filter(|k| !["error", "code", "details"].contains(&k.as_str()))
                .cloned()
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    if !extra.is_empty() {
        return Some(format!("unexpected keys {extra:?} in {}", resp.body));
    }
    None
}

fn registration() -> Value {
    json!({"username": "mallory", "email": "mallory@example.com", "password": PASSWORD})
}

fn with(mut base: Value, key: &str, value: Value) -> Vec<u8> {
    base[key] = value;
    base.to_string().into_bytes()
}

fn without(mut base: Value, key: &str) -> Vec<u8> {
    if let Some(object) = base.as_object_mut() {
        object.remove(key);
    }
    base.to_string().into_bytes()
}

fn random_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[tokio::test]
async fn malformed_and_hostile_requests_get_a_precise_4xx_and_change_nothing() {
    let app = spawn_with_known_key().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let dave = app.register("dave").await;
    // Something in every table: a pending request, an accepted contact, a block, a reset token.
    let pending = alice.ask_contact(&bob).await;
    carol.befriend(&alice).await;
    alice.block(&dave).await;
    let forgot = app
        .post("/api/auth/password/forgot", json!({"email": carol.email}))
        .await;
    assert_eq!(forgot.status, 202, "forgot: {}", forgot.body);
    let session = current_session_id(&alice).await;

    let me_before = alice.get("/api/auth/me").await;
    assert_eq!(me_before.status, 200);
    let counts_before = table_counts(&app).await;

    let now = now_secs();
    let valid = |typ: &str| claims(&alice.id, &session, now, now + 600, typ);
    let hs256 = jsonwebtoken::Algorithm::HS256;
    let alg_none = {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let payload = URL_SAFE_NO_PAD.encode(valid("access").to_string());
        format!("{header}.{payload}.")
    };
    let mut no_typ = valid("access");
    if let Some(object) = no_typ.as_object_mut() {
        object.remove("typ");
    }
    let bearer = |token: &str| format!("Bearer {token}");

    let huge_username = "a".repeat(10_000);
    let huge_bio = "b".repeat(200 * 1024);
    let two_megabytes = format!(r#"{{"displayName": "{}"}}"#, "x".repeat(2 * 1024 * 1024));
    let mut invalid_utf8 = br#"{"username": "mal"#.to_vec();
    invalid_utf8.extend_from_slice(&[0xff, 0xfe, 0xc3]);
    invalid_utf8.extend_from_slice(
        br#"lory", "email": "m@example.com", "password": "correct horse battery staple"}"#,
    );
    let deep_nesting = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));

    use Method as M;
    let cases = vec![
        // ---- /api/auth/register: syntax, shape, types, sizes, encodings, media types
        case("register: malformed JSON", M::POST, "/api/auth/register")
            .anonymous()
            .json(r#"{"username": mallory, "email": }"#),
        case("register: truncated JSON", M::POST, "/api/auth/register")
            .anonymous()
            .json(r#"{"username": "mallory", "email": "mallory@exa"#),
        case("register: empty body", M::POST, "/api/auth/register")
            .anonymous()
            .json(""),
        case("register: array body", M::POST, "/api/auth/register")
            .anonymous()
            .json(format!("[{}]", registration())),
        case("register: number body", M::POST, "/api/auth/register")
            .anonymous()
            .json("42"),
        case("register: null body", M::POST, "/api/auth/register")
            .anonymous()
            .json("null"),
        case("register: string body", M::POST, "/api/auth/register")
            .anonymous()
            .json(r#""mallory""#),
        case("register: username is a number", M::POST, "/api/auth/register")
            .anonymous()
            .json(with(registration(), "username", json!(12345))),
        case("register: email is an object", M::POST, "/api/auth/register")
            .anonymous()
            .json(with(registration(), "email", json!({"address": "m@example.com"}))),
        case("register: password is null", M::POST, "/api/auth/register")
            .anonymous()
            .json(with(registration(), "password", Value::Null)),
        case("register: missing password", M::POST, "/api/auth/register")
            .anonymous()
            .json(without(registration(), "password")),
        case("register: missing username", M::POST, "/api/auth/register")
            .anonymous()
            .json(without(registration(), "username")),
        case("register: duplicate key", M::POST, "/api/auth/register")
            .anonymous()
            .json(r#"{"username": "mallory", "username": "eve", "email": "m@example.com", "password": "correct horse battery staple"}"#),
        case("register: 10,000-char username", M::POST, "/api/auth/register")
            .anonymous()
            .json(with(registration(), "username", json!(huge_username))),
        case("register: username with a NUL", M::POST, "/api/auth/register")
            .anonymous()
            .json(with(registration(), "username", json!("mal\u{0}lory"))),
        case("register: 2 MB body", M::POST, "/api/auth/register")
            .anonymous()
            .json(two_megabytes.clone())
            .expect(413, "payload_too_large"),
        case("register: invalid UTF-8", M::POST, "/api/auth/register")
            .anonymous()
            .json(invalid_utf8.clone()),
        case("register: 10,000-deep nesting", M::POST, "/api/auth/register")
            .anonymous()
            .json(deep_nesting.clone()),
        case("register: number out of range", M::POST, "/api/auth/register")
            .anonymous()
            .json(r#"{"username": "mallory", "email": "m@example.com", "password": 1e999}"#),
        case("register: JSON as text/plain", M::POST, "/api/auth/register")
            .anonymous()
            .raw("text/plain", registration().to_string())
            .expect(415, "unsupported_media_type"),
        case("register: JSON as form data", M::POST, "/api/auth/register")
            .anonymous()
            .raw("application/x-www-form-urlencoded", "username=mallory&password=x")
            .expect(415, "unsupported_media_type"),
        case("register: no content type", M::POST, "/api/auth/register")
            .anonymous()
            .untyped(registration().to_string())
            .expect(415, "unsupported_media_type"),
        // ---- login, refresh, logout
        case("login: password is a number", M::POST, "/api/auth/login")
            .anonymous()
            .json(r#"{"login": "alice", "password": 12345678}"#),
        case("login: missing password", M::POST, "/api/auth/login")
            .anonymous()
            .json(r#"{"login": "alice"}"#),
        case("login: NUL in the login name", M::POST, "/api/auth/login")
            .anonymous()
            .json(r#"{"login": "ali\u0000ce", "password": "correct horse battery staple"}"#)
            .expect(401, "unauthorized"),
        case("login: lone surrogate", M::POST, "/api/auth/login")
            .anonymous()
            .json(r#"{"login": "\ud800", "password": "correct horse battery staple"}"#),
        case("login: array body", M::POST, "/api/auth/login")
            .anonymous()
            .json(r#"["alice", "correct horse battery staple"]"#),
        case("login: no login name at all", M::POST, "/api/auth/login")
            .anonymous()
            .json(r#"{"password": "correct horse battery staple"}"#),
        case("refresh: token is a number", M::POST, "/api/auth/refresh")
            .anonymous()
            .json(r#"{"refreshToken": 1}"#),
        case("refresh: empty object", M::POST, "/api/auth/refresh")
            .anonymous()
            .json("{}"),
        case("refresh: unknown token", M::POST, "/api/auth/refresh")
            .anonymous()
            .json(r#"{"refreshToken": "not-a-refresh-token"}"#)
            .expect(401, "unauthorized"),
        case("logout: malformed JSON", M::POST, "/api/auth/logout").json(r#"{"refreshToken": "#),
        case("logout: refresh token is a number", M::POST, "/api/auth/logout")
            .json(r#"{"refreshToken": 7}"#),
        case("logout: JSON as text/plain", M::POST, "/api/auth/logout")
            .raw("text/plain", r#"{"refreshToken": "x"}"#)
            .expect(415, "unsupported_media_type"),
        case("logout: invalid UTF-8", M::POST, "/api/auth/logout")
            .json(vec![b'{', b'"', 0xff, b'"', b':', b'1', b'}']),
        // ---- forged, expired and misplaced tokens (on GET /api/auth/me)
        case("token: garbage", M::GET, "/api/auth/me")
            .authorization("Bearer not-a-jwt")
            .expect(401, "unauthorized"),
        case("token: signed with the wrong key", M::GET, "/api/auth/me")
            .authorization(bearer(&mint(hs256, "not-the-key", &valid("access"))))
            .expect(401, "unauthorized"),
        case("token: expired", M::GET, "/api/auth/me")
            .authorization(bearer(&expired_token(&alice.id, &session)))
            .expect(401, "token_expired"),
        case("token: alg none", M::GET, "/api/auth/me")
            .authorization(bearer(&alg_none))
            .expect(401, "unauthorized"),
        case("token: HS512 with the right key", M::GET, "/api/auth/me")
            .authorization(bearer(&mint(
                jsonwebtoken::Algorithm::HS512,
                JWT_SECRET,
                &valid("access"),
            )))
            .expect(401, "unauthorized"),
        case("token: typ is refresh", M::GET, "/api/auth/me")
            .authorization(bearer(&mint(hs256, JWT_SECRET, &valid("refresh"))))
            .expect(401, "unauthorized"),
        case("token: no typ claim", M::GET, "/api/auth/me")
            .authorization(bearer(&mint(hs256, JWT_SECRET, &no_typ)))
            .expect(401, "unauthorized"),
        case("token: sid of no session", M::GET, "/api/auth/me")
            .authorization(bearer(&mint(
                hs256,
                JWT_SECRET,
                &claims(&alice.id, &random_uuid(), now, now + 600, "access"),
            )))
            .expect(401, "unauthorized"),
        case("token: Alice's session, Bob's sub", M::GET, "/api/auth/me")
            .authorization(bearer(&mint(
                hs256,
                JWT_SECRET,
                &claims(&bob.id, &session, now, now + 600, "access"),
            )))
            .expect(401, "unauthorized"),
        case("token: sid is not a UUID", M::GET, "/api/auth/me")
            .authorization(bearer(&mint(
                hs256,
                JWT_SECRET,
                &claims(&alice.id, "'; DROP TABLE sessions; --", now, now + 600, "access"),
            )))
            .expect(401, "unauthorized"),
        case("token: refresh token as bearer", M::GET, "/api/auth/me")
            .authorization(bearer(&alice.refresh_token))
            .expect(401, "unauthorized"),
        case("token: exp is a string", M::GET, "/api/auth/me")
            .authorization(bearer(&mint(hs256, JWT_SECRET, &{
                let mut c = valid("access");
                c["exp"] = json!("tomorrow");
                c
            })))
            .expect(401, "unauthorized"),
        case("token: not UTF-8", M::GET, "/api/auth/me")
            .authorization(b"Bearer \xff\xfe\xfd".to_vec())
            .expect(401, "unauthorized"),
        case("token: Bearer with no token", M::GET, "/api/auth/me")
            .authorization("Bearer ")
            .expect(401, "unauthorized"),
        case("token: Basic auth", M::GET, "/api/auth/me")
            .authorization(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("alice:{PASSWORD}"))
            ))
            .expect(401, "unauthorized"),
        case("token: forged token on a write", M::PUT, "/api/auth/profile")
            .authorization(bearer(&mint(hs256, "not-the-key", &valid("access"))))
            .json(r#"{"displayName": "Forged"}"#)
            .expect(401, "unauthorized"),
        // ---- profile and password
        case("profile: status offline", M::PUT, "/api/auth/profile")
            .json(r#"{"status": "offline"}"#),
        case("profile: unknown status", M::PUT, "/api/auth/profile")
            .json(r#"{"status": "busy"}"#),
        case("profile: display name is a number", M::PUT, "/api/auth/profile")
            .json(r#"{"displayName": 5}"#),
        case("profile: blank display name", M::PUT, "/api/auth/profile")
            .json(r#"{"displayName": "   "}"#),
        case("profile: 200 KB bio next to a valid name", M::PUT, "/api/auth/profile")
            .json(json!({"displayName": "Changed", "bio": huge_bio}).to_string()),
        case("profile: javascript: avatar", M::PUT, "/api/auth/profile")
            .json(r#"{"displayName": "Changed", "avatarUrl": "javascript:alert(1)"}"#),
        case("profile: null body", M::PUT, "/api/auth/profile").json("null"),
        case("profile: 2 MB body", M::PUT, "/api/auth/profile")
            .json(two_megabytes)
            .expect(413, "payload_too_large"),
        case("password: missing current password", M::PUT, "/api/auth/password")
            .json(r#"{"newPassword": "another fine passphrase"}"#),
        case("password: logoutOtherSessions is a string", M::PUT, "/api/auth/password")
            .json(json!({"currentPassword": PASSWORD, "newPassword": "another fine passphrase", "logoutOtherSessions": "yes"}).to_string()),
        case("password: wrong current password", M::PUT, "/api/auth/password")
            .json(r#"{"currentPassword": "not my password at all", "newPassword": "another fine passphrase"}"#),
        case("password: new one too short", M::PUT, "/api/auth/password")
            .json(json!({"currentPassword": PASSWORD, "newPassword": "short"}).to_string()),
        case("forgot: email is an array", M::POST, "/api/auth/password/forgot")
            .anonymous()
            .json(r#"{"email": ["alice@example.com"]}"#),
        case("forgot: not an email", M::POST, "/api/auth/password/forgot")
            .anonymous()
            .json(r#"{"email": "alice"}"#),
        case("reset: unknown token", M::POST, "/api/auth/password/reset")
            .anonymous()
            .json(json!({"token": "not-a-reset-token", "newPassword": "another fine passphrase"}).to_string()),
        case("reset: token is a number", M::POST, "/api/auth/password/reset")
            .anonymous()
            .json(r#"{"token": 12, "newPassword": "another fine passphrase"}"#),
        case("reset: JSON as text/plain", M::POST, "/api/auth/password/reset")
            .anonymous()
            .raw("text/plain", r#"{"token": "x", "newPassword": "another fine passphrase"}"#)
            .expect(415, "unsupported_media_type"),
        // ---- sessions
        case("sessions: non-UUID id", M::DELETE, "/api/auth/sessions/not-a-uuid"),
        case("sessions: unknown id", M::DELETE, format!("/api/auth/sessions/{}", random_uuid()))
            .expect(404, "not_found"),
        // ---- users
        case("search: negative limit", M::GET, "/api/users/search?q=bob&limit=-1"),
        case("search: zero limit", M::GET, "/api/users/search?q=bob&limit=0"),
        case("search: huge limit", M::GET, "/api/users/search?q=bob&limit=1000000"),
        case("search: limit past i64", M::GET, "/api/users/search?q=bob&limit=99999999999999999999999"),
        case("search: limit given twice", M::GET, "/api/users/search?q=bob&limit=5&limit=6"),
        case("search: non-numeric limit", M::GET, "/api/users/search?q=bob&limit=ten"),
        case("search: fractional limit", M::GET, "/api/users/search?q=bob&limit=1.5"),
        case("search: NUL in the query", M::GET, "/api/users/search?q=b%00b"),
        case("search: 101-char query", M::GET, format!("/api/users/search?q={}", "q".repeat(101))),
        case("users: non-UUID id", M::GET, "/api/users/not-a-uuid"),
        case("users: traversal in the id", M::GET, "/api/users/..%2F..%2Fetc%2Fpasswd"),
        case("users: nil UUID", M::GET, "/api/users/00000000-0000-0000-0000-000000000000")
            .expect(404, "not_found"),
        case("users: unknown id", M::GET, format!("/api/users/{}", random_uuid()))
            .expect(404, "not_found"),
        case("settings: lastSeenVisibility friends", M::PUT, "/api/users/me/settings")
            .json(r#"{"readReceipts": false, "lastSeenVisibility": "friends"}"#),
        case("settings: readReceipts is a string", M::PUT, "/api/users/me/settings")
            .json(r#"{"readReceipts": "no"}"#),
        case("settings: array body", M::PUT, "/api/users/me/settings")
            .json(r#"[{"readReceipts": false}]"#),
        case("settings: JSON as text/plain", M::PUT, "/api/users/me/settings")
            .raw("text/plain", r#"{"readReceipts": false}"#)
            .expect(415, "unsupported_media_type"),
        // ---- contacts and blocks
        case("contacts: contactId not a UUID", M::POST, "/api/contacts")
            .json(r#"{"contactId": "not-a-uuid"}"#),
        case("contacts: contactId is a number", M::POST, "/api/contacts")
            .json(r#"{"contactId": 42}"#),
        case("contacts: missing contactId", M::POST, "/api/contacts").json("{}"),
        case("contacts: yourself", M::POST, "/api/contacts")
            .json(json!({"contactId": alice.id}).to_string()),
        case("contacts: unknown user", M::POST, "/api/contacts")
            .json(json!({"contactId": random_uuid()}).to_string())
            .expect(404, "not_found"),
        case("contacts: status maybe", M::PUT, format!("/api/contacts/{pending}"))
            .json(r#"{"status": "maybe"}"#),
        case("contacts: status pending", M::PUT, format!("/api/contacts/{pending}"))
            .json(r#"{"status": "pending"}"#),
        case("contacts: status is a bool", M::PUT, format!("/api/contacts/{pending}"))
            .json(r#"{"status": true}"#),
        case("contacts: PUT non-UUID id", M::PUT, "/api/contacts/not-a-uuid")
            .json(r#"{"status": "accepted"}"#),
        case("contacts: PUT unknown id", M::PUT, format!("/api/contacts/{}", random_uuid()))
            .json(r#"{"status": "accepted"}"#)
            .expect(404, "not_found"),
        case("contacts: DELETE unknown id", M::DELETE, format!("/api/contacts/{}", random_uuid()))
            .expect(404, "not_found"),
        case("contacts: DELETE with block=maybe", M::DELETE, format!("/api/contacts/{pending}?block=maybe")),
        case("blocks: userId null", M::POST, "/api/blocks").json(r#"{"userId": null}"#),
        case("blocks: yourself", M::POST, "/api/blocks")
            .json(json!({"userId": alice.id}).to_string()),
        case("blocks: unknown user", M::POST, "/api/blocks")
            .json(json!({"userId": random_uuid()}).to_string())
            .expect(404, "not_found"),
        case("blocks: DELETE non-UUID id", M::DELETE, "/api/blocks/not-a-uuid"),
        case("blocks: DELETE unknown user", M::DELETE, format!("/api/blocks/{}", random_uuid()))
            .expect(404, "not_found"),
        case("blocks: DELETE someone not blocked", M::DELETE, format!("/api/blocks/{}", bob.id))
            .expect(404, "not_found"),
        // ---- routing
        case("routing: unknown route", M::GET, "/api/no-such-thing").expect(404, "not_found"),
        case("routing: wrong method", M::PATCH, "/api/auth/me")
            .expect(405, "method_not_allowed"),
    ];

    let mut failures = Vec::new();
    for case in &cases {
        match send(&app, &alice, case).await {
            Ok(resp) => {
                if let Some(problem) = verdict(case, &resp) {
                    failures.push(format!("[{}] {problem}", case.name));
                }
            }
            Err(problem) => failures.push(format!("[{}] {problem}", case.name)),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );

    assert_eq!(
        table_counts(&app).await,
        counts_before,
        "the bad requests changed the database"
    );
    // Spot checks: the rejected profile and settings updates left Alice's account as it was,
    // and her session still works.
    let me_after = alice.get("/api/auth/me").await;
    assert_eq!(me_after.status, 200, "{}", me_after.body);
    assert_eq!(me_after.body["user"]["displayName"], "alice");
    assert_eq!(me_after.body["user"]["bio"], "");
    assert_eq!(me_after.body["user"]["settings"]["readReceipts"], true);
    assert_eq!(
        me_after.body["user"]["settings"]["lastSeenVisibility"],
        "everyone"
    );
    assert_eq!(me_after.body["user"], me_before.body["user"]);
    let login = app
        .post(
            "/api/auth/login",
            json!({"login": "alice", "password": PASSWORD}),
        )
        .await;
    assert_eq!(login.status, 200, "Alice's password is unchanged");
    let pending_now = bob.get("/api/contacts/pending").await;
    assert_eq!(pending_now.body["requests"][0]["id"], json!(pending));
}

/// Socket events answer a payload of the wrong shape like the REST routes do: an ack with the
/// error shape (400, `validation_failed`), nothing stored, and the socket keeps working. Even a
/// payload that is not JSON an event could carry (none at all, nested past the parser's depth)
/// gets its ack: a client waiting on it must not hang.
#[tokio::test]
async fn malformed_socket_events_are_acked_with_a_400_and_change_nothing() {
    let app = TestApp::spawn().await;
    let (alice, bob, chat) = app.two_with_a_chat().await;
    let sent = crate::chats::send(&alice, &chat, "hello").await;
    let message = sent["id"].as_str().unwrap_or_default().to_owned();
    let mut alice_s = alice.connect().await;
    let mut bob_s = bob.connect().await;
    let counts = async || {
        let mut counts = Vec::new();
        for table in ["messages", "reactions", "receipt_marks", "chat_members"] {
            counts.push(app.count(&format!("SELECT count(*) FROM {table}")).await);
        }
        counts.push(
            app.count(
                "SELECT count(*) FROM messages WHERE content = 'hello' AND edited_at IS NULL",
            )
            .await,
        );
        counts
    };
    let counts_before = counts().await;

    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let events = [
        r#"["send_message"]"#.to_owned(),
        r#"["send_message", "hi"]"#.to_owned(),
        r#"["send_message", null]"#.to_owned(),
        r#"["send_message", {"content": "no chat"}]"#.to_owned(),
        r#"["send_message", {"chatId": 42, "content": "hi"}]"#.to_owned(),
        r#"["send_message", {"chatId": "not-a-uuid", "content": "hi"}]"#.to_owned(),
        format!(r#"["send_message", {{"chatId": "{chat}", "content": ["hi"]}}]"#),
        format!(r#"["send_message", {{"chatId": "{chat}", "content": "hi", "clientId": 7}}]"#),
        format!(r#"["send_message", {deep}]"#),
        format!(r#"["edit_message", {{"messageId": "{message}", "content": 5}}]"#),
        format!(r#"["react", {{"messageId": "{message}", "emoji": 5}}]"#),
        r#"["mark_read", {"messageId": []}]"#.to_owned(),
        r#"["typing_start", {"chatId": false}]"#.to_owned(),
    ];
    for event in &events {
        let ack = alice_s.emit_raw_with_ack(event).await;
        assert_eq!(ack["code"], "validation_failed", "{event:.80}: {ack}");
        let error = ack["error"].as_str().unwrap_or_default();
        assert!(
            error.starts_with("Invalid payload for "),
            "{event:.80}: {ack}"
        );
    }
    crate::chats::quiet("new_message", &mut [&mut bob_s]).await;
    assert_eq!(counts().await, counts_before);

    let ack = alice_s
        .emit_with_ack(
            "send_message",
            json!({"chatId": chat, "content": "still here"}),
        )
        .await;
    assert_eq!(ack["message"]["content"], "still here", "{ack}");
}
