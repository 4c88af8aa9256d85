//! Registration, login, tokens and sessions.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, Resp, TestApp, TestUser};
use crate::sio::SioClient;

#[tokio::test]
async fn register_returns_me_and_tokens_and_login_finds_the_account_by_any_name() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let me = alice.get("/api/auth/me").await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["user"]["username"], "alice");
    assert_eq!(me.body["user"]["email"], "alice@example.com");
    assert_eq!(me.body["user"]["role"], "user");
    for login in [
        json!({"email": "ALICE@example.com"}),
        json!({"username": "Alice"}),
        json!({"login": "alice"}),
    ] {
        let mut body = login.clone();
        body["password"] = json!(PASSWORD);
        let resp = app.post("/api/auth/login", body).await;
        assert_eq!(resp.status, 200, "{login}: {}", resp.body);
    }
}

// ---------------------------------------------------------------------------------------------
// Registration rules

fn registration(username: &str, email: &str, password: &str) -> Value {
    json!({"username": username, "email": email, "password": password})
}

/// Asserts a 400 `validation_failed` whose details name `field`.
#[track_caller]
fn assert_invalid(resp: &Resp, field: &str) {
    resp.assert_error(400, "validation_failed");
    let details = resp.body["details"].as_array().expect("details array");
    assert!(
        details
            .iter()
            .any(|d| d["field"] == field && d["message"].as_str().is_some_and(|m| !m.is_empty())),
        "no detail for {field}: {}",
        resp.body
    );
}

#[tokio::test]
async fn a_username_must_be_3_to_30_letters_digits_or_underscores() {
    let app = TestApp::spawn().await;
    let thirty = "u".repeat(30);
    let thirty_one = "u".repeat(31);
    for bad in [
        "ab",
        thirty_one.as_str(),
        "bad-name",
        "bad name",
        "émile",
        "",
    ] {
        let resp = app
            .post(
                "/api/auth/register",
                registration(bad, "someone@example.com", PASSWORD),
            )
            .await;
        assert_invalid(&resp, "username");
    }
    assert_eq!(app.count("SELECT count(*) FROM users").await, 0);
    for (i, good) in ["abc", thirty.as_str(), "Under_Score_9"]
        .into_iter()
        .enumerate()
    {
        let resp = app
            .post(
                "/api/auth/register",
                registration(good, &format!("ok{i}@example.com"), PASSWORD),
            )
            .await;
        assert_eq!(resp.status, 201, "{good}: {}", resp.body);
        assert_eq!(resp.body["user"]["username"], good);
    }
}

#[tokio::test]
async fn a_username_is_unique_ignoring_case() {
    let app = TestApp::spawn().await;
    app.register("alice").await;
    let resp = app
        .post(
            "/api/auth/register",
            registration("ALICE", "other@example.com", PASSWORD),
        )
        .await;
    resp.assert_error(409, "conflict");
    assert_eq!(app.count("SELECT count(*) FROM users").await, 1);
}

#[tokio::test]
async fn an_email_is_stored_lower_case_and_is_unique_ignoring_case() {
    let app = TestApp::spawn().await;
    let resp = app
        .post(
            "/api/auth/register",
            registration("bob", "Bob.Smith@Example.COM", PASSWORD),
        )
        .await;
    assert_eq!(resp.status, 201, "{}", resp.body);
    assert_eq!(resp.body["user"]["email"], "bob.smith@example.com");
    assert_eq!(
        app.count("SELECT count(*) FROM users WHERE email = 'bob.smith@example.com'")
            .await,
        1
    );
    let again = app
        .post(
            "/api/auth/register",
            registration("robert", "bob.smith@EXAMPLE.com", PASSWORD),
        )
        .await;
    again.assert_error(409, "conflict");
    for bad in [
        "not-an-email",
        "@example.com",
        "bob@",
        "bob@localhost",
        "a b@example.com",
    ] {
        let resp = app
            .post("/api/auth/register", registration("carol", bad, PASSWORD))
            .await;
        assert_invalid(&resp, "email");
    }
    assert_eq!(app.count("SELECT count(*) FROM users").await, 1);
}

#[tokio::test]
async fn a_password_must_be_8_to_128_characters_and_not_a_common_one() {
    let app = TestApp::spawn().await;
    let too_long = "x".repeat(129);
    for bad in [
        "short7!",
        too_long.as_str(),
        "password123",
        "Password123",
        "qwertyuiop",
        "QWERTYUIOP",
    ] {
        let resp = app
            .post(
                "/api/auth/register",
                registration("alice", "alice@example.com", bad),
            )
            .await;
        assert_invalid(&resp, "password");
    }
    assert_eq!(app.count("SELECT count(*) FROM users").await, 0);
    let longest = "y".repeat(127) + "z";
    let resp = app
        .post(
            "/api/auth/register",
            registration("alice", "alice@example.com", &longest),
        )
        .await;
    assert_eq!(resp.status, 201, "{}", resp.body);
    let login = app
        .post(
            "/api/auth/login",
            json!({"login": "alice", "password": longest}),
        )
        .await;
    assert_eq!(login.status, 200, "{}", login.body);
}

#[tokio::test]
async fn the_display_name_is_optional() {
    let app = TestApp::spawn().await;
    let mut body = registration("alice", "alice@example.com", PASSWORD);
    body["displayName"] = json!("Alice Liddell");
    let with = app.post("/api/auth/register", body).await;
    assert_eq!(with.status, 201, "{}", with.body);
    assert_eq!(with.body["user"]["displayName"], "Alice Liddell");

    let without = app
        .post(
            "/api/auth/register",
            registration("bob", "bob@example.com", PASSWORD),
        )
        .await;
    assert_eq!(without.status, 201, "{}", without.body);
    assert!(
        without.body["user"]["displayName"]
            .as_str()
            .is_some_and(|n| !n.is_empty()),
        "{}",
        without.body
    );

    let mut blank = registration("carol", "carol@example.com", PASSWORD);
    blank["displayName"] = json!("   ");
    assert_invalid(&app.post("/api/auth/register", blank).await, "displayName");
}

// ---------------------------------------------------------------------------------------------
// Login

#[tokio::test]
async fn login_answers_an_unknown_account_and_a_wrong_password_with_the_same_401() {
    let app = TestApp::spawn().await;
    app.register("alice").await;
    let wrong_password = app
        .post(
            "/api/auth/login",
            json!({"login": "alice", "password": "not the password at all"}),
        )
        .await;
    let unknown_user = app
        .post(
            "/api/auth/login",
            json!({"login": "nobody", "password": "not the password at all"}),
        )
        .await;
    let unknown_email = app
        .post(
            "/api/auth/login",
            json!({"email": "nobody@example.com", "password": PASSWORD}),
        )
        .await;
    wrong_password.assert_error(401, "unauthorized");
    assert_eq!(wrong_password.body["error"], "Invalid credentials");
    assert_eq!(unknown_user.status, 401);
    assert_eq!(unknown_user.body, wrong_password.body);
    assert_eq!(unknown_email.status, 401);
    assert_eq!(unknown_email.body, wrong_password.body);
    assert_eq!(app.count("SELECT count(*) FROM sessions").await, 1);
}

// ---------------------------------------------------------------------------------------------
// Refresh tokens

async fn refresh(app: &TestApp, token: &str) -> Resp {
    app.post("/api/auth/refresh", json!({"refreshToken": token}))
        .await
}

/// `device`'s session is over: its access and refresh tokens are refused, and its socket is told
/// and dropped.
async fn assert_session_ended(app: &TestApp, device: &TestUser, socket: &mut SioClient) {
    device
        .get("/api/auth/me")
        .await
        .assert_error(401, "unauthorized");
    refresh(app, &device.refresh_token)
        .await
        .assert_error(401, "unauthorized");
    socket.next_event("session_revoked").await;
    assert!(socket.wait_disconnected().await);
}

/// `user` with the tokens of a refresh answer.
fn with_tokens(user: &TestUser, pair: &Resp) -> TestUser {
    let mut next = user.clone();
    next.access_token = pair.body["accessToken"]
        .as_str()
        .expect("accessToken")
        .to_owned();
    next.refresh_token = pair.body["refreshToken"]
        .as_str()
        .expect("refreshToken")
        .to_owned();
    next
}

#[tokio::test]
async fn refresh_rotates_the_refresh_token_and_the_new_pair_works() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let first = refresh(&app, &alice.refresh_token).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let rotated = with_tokens(&alice, &first);
    assert_ne!(rotated.refresh_token, alice.refresh_token);
    let me = rotated.get("/api/auth/me").await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.body["user"]["id"], alice.id.as_str());
    // The new refresh token rotates in turn; still one session.
    let second = refresh(&app, &rotated.refresh_token).await;
    assert_eq!(second.status, 200, "{}", second.body);
    assert_ne!(second.body["refreshToken"], first.body["refreshToken"]);
    assert_eq!(app.count("SELECT count(*) FROM sessions").await, 1);
    // Nonsense is refused.
    refresh(&app, "not-a-refresh-token")
        .await
        .assert_error(401, "unauthorized");
}

#[tokio::test]
async fn replaying_a_rotated_refresh_token_revokes_its_whole_session() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let other_device = app.login(&alice).await;
    let mut socket = alice.connect().await;
    socket.next_event("presence_initial").await;
    let mut other_socket = other_device.connect().await;
    other_socket.next_event("presence_initial").await;

    let pair = refresh(&app, &alice.refresh_token).await;
    assert_eq!(pair.status, 200, "{}", pair.body);
    let rotated = with_tokens(&alice, &pair);

    refresh(&app, &alice.refresh_token)
        .await
        .assert_error(401, "unauthorized");

    // Everything of that session stops at once: the newest refresh token, both access tokens.
    refresh(&app, &rotated.refresh_token)
        .await
        .assert_error(401, "unauthorized");
    rotated
        .get("/api/auth/me")
        .await
        .assert_error(401, "unauthorized");
    alice
        .get("/api/auth/me")
        .await
        .assert_error(401, "unauthorized");
    let revoked = socket.next_event("session_revoked").await;
    assert!(revoked.data["reason"].is_string(), "{}", revoked.data);
    assert!(socket.wait_disconnected().await, "socket still connected");

    // The user's other session is not touched.
    assert_eq!(other_device.get("/api/auth/me").await.status, 200);
    other_socket
        .expect_no_event("session_revoked", Duration::from_secs(1))
        .await;
    assert!(!other_socket.disconnected);
}

// ---------------------------------------------------------------------------------------------
// Logout

/// Logs out the first of two sessions with an empty body, optionally typed as JSON.
async fn logout_with_empty_body_ends_only_that_session(content_type: Option<&str>) {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let other_device = app.login(&alice).await;
    let mut socket = alice.connect().await;
    socket.next_event("presence_initial").await;
    let mut other_socket = other_device.connect().await;
    other_socket.next_event("presence_initial").await;

    let resp = app
        .raw(
            Method::POST,
            "/api/auth/logout",
            Some(&alice.access_token),
            content_type,
            Vec::new(),
        )
        .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert!(
        resp.body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{}",
        resp.body
    );

    alice
        .get("/api/auth/me")
        .await
        .assert_error(401, "unauthorized");
    refresh(&app, &alice.refresh_token)
        .await
        .assert_error(401, "unauthorized");
    let revoked = socket.next_event("session_revoked").await;
    assert!(revoked.data["reason"].is_string(), "{}", revoked.data);
    assert!(socket.wait_disconnected().await, "socket still connected");

    assert_eq!(other_device.get("/api/auth/me").await.status, 200);
    let pair = refresh(&app, &other_device.refresh_token).await;
    assert_eq!(pair.status, 200, "{}", pair.body);
    other_socket
        .expect_no_event("session_revoked", Duration::from_secs(1))
        .await;
    assert!(!other_socket.disconnected);
}

#[tokio::test]
async fn logout_without_a_body_ends_that_session_at_once_and_only_that_one() {
    logout_with_empty_body_ends_only_that_session(None).await;
}

#[tokio::test]
async fn logout_with_a_json_content_type_and_an_empty_body_ends_that_session() {
    logout_with_empty_body_ends_only_that_session(Some("application/json")).await;
}

#[tokio::test]
async fn logout_ignores_a_refresh_token_of_another_user() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let resp = alice
        .post(
            "/api/auth/logout",
            json!({"refreshToken": bob.refresh_token}),
        )
        .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    alice
        .get("/api/auth/me")
        .await
        .assert_error(401, "unauthorized");
    assert_eq!(bob.get("/api/auth/me").await.status, 200);
    assert_eq!(refresh(&app, &bob.refresh_token).await.status, 200);
}

#[tokio::test]
async fn logout_without_a_token_is_401() {
    let app = TestApp::spawn().await;
    app.raw(Method::POST, "/api/auth/logout", None, None, Vec::new())
        .await
        .assert_error(401, "unauthorized");
}

// ---------------------------------------------------------------------------------------------
// Changing the password

const NEW_PASSWORD: &str = "a brand new passphrase";

async fn login_with(app: &TestApp, login: &str, password: &str) -> Resp {
    app.post(
        "/api/auth/login",
        json!({"login": login, "password": password}),
    )
    .await
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_a_good_new_one() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let wrong = alice
        .put(
            "/api/auth/password",
            json!({"currentPassword": "not my password", "newPassword": NEW_PASSWORD}),
        )
        .await;
    assert_invalid(&wrong, "currentPassword");
    let common = alice
        .put(
            "/api/auth/password",
            json!({"currentPassword": PASSWORD, "newPassword": "password123"}),
        )
        .await;
    assert_invalid(&common, "newPassword");
    // Nothing changed.
    assert_eq!(login_with(&app, "alice", PASSWORD).await.status, 200);
    login_with(&app, "alice", NEW_PASSWORD)
        .await
        .assert_error(401, "unauthorized");
}

#[tokio::test]
async fn changing_the_password_revokes_the_other_sessions_by_default() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let (other_device, mut other_socket) = app.other_device_online(&alice).await;

    let resp = alice
        .put(
            "/api/auth/password",
            json!({"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert!(resp.body["message"].is_string(), "{}", resp.body);

    assert_session_ended(&app, &other_device, &mut other_socket).await;

    assert_eq!(alice.get("/api/auth/me").await.status, 200);
    assert_eq!(refresh(&app, &alice.refresh_token).await.status, 200);
    login_with(&app, "alice", PASSWORD)
        .await
        .assert_error(401, "unauthorized");
    assert_eq!(login_with(&app, "alice", NEW_PASSWORD).await.status, 200);
}

#[tokio::test]
async fn changing_the_password_with_logout_other_sessions_false_keeps_them() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let other_device = app.login(&alice).await;
    let resp = alice
        .put(
            "/api/auth/password",
            json!({
                "currentPassword": PASSWORD,
                "newPassword": NEW_PASSWORD,
                "logoutOtherSessions": false
            }),
        )
        .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(other_device.get("/api/auth/me").await.status, 200);
    assert_eq!(alice.get("/api/auth/me").await.status, 200);
    login_with(&app, "alice", PASSWORD)
        .await
        .assert_error(401, "unauthorized");
    assert_eq!(login_with(&app, "alice", NEW_PASSWORD).await.status, 200);
}

// ---------------------------------------------------------------------------------------------
// Sessions

async fn session_ids(user: &TestUser) -> (Vec<String>, String) {
    let resp = user.get("/api/auth/sessions").await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    let sessions = resp.body["sessions"].as_array().expect("sessions").clone();
    let ids = sessions
        .iter()
        .map(|s| s["id"].as_str().expect("id").to_owned())
        .collect();
    let current: Vec<_> = sessions.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1, "exactly one current: {}", resp.body);
    (ids, current[0]["id"].as_str().expect("id").to_owned())
}

#[tokio::test]
async fn sessions_lists_every_live_session_and_marks_exactly_one_as_current() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let other_device = app.login(&alice).await;
    let bob = app.register("bob").await;

    let resp = alice.get("/api/auth/sessions").await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    let sessions = resp.body["sessions"].as_array().expect("sessions");
    assert_eq!(sessions.len(), 2, "{}", resp.body);
    for session in sessions {
        assert!(session["id"].as_str().is_some_and(|id| id.len() == 36));
        assert!(session["userAgent"].is_string(), "{session}");
        assert!(session["ip"].is_string(), "{session}");
        assert!(
            session["createdAt"]
                .as_str()
                .is_some_and(|t| t.ends_with('Z'))
        );
        assert!(
            session["lastUsedAt"]
                .as_str()
                .is_some_and(|t| t.ends_with('Z'))
        );
        assert!(session["current"].is_boolean(), "{session}");
    }

    let (ids_a, current_a) = session_ids(&alice).await;
    let (ids_b, current_b) = session_ids(&other_device).await;
    assert_ne!(current_a, current_b);
    let mut sorted_a = ids_a.clone();
    let mut sorted_b = ids_b.clone();
    sorted_a.sort();
    sorted_b.sort();
    assert_eq!(sorted_a, sorted_b);
    let (bob_ids, _) = session_ids(&bob).await;
    assert_eq!(bob_ids.len(), 1);
    assert!(!ids_a.contains(&bob_ids[0]));
}

#[tokio::test]
async fn deleting_a_session_of_another_user_is_404_and_leaves_it_working() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let (_, bob_session) = session_ids(&bob).await;
    alice
        .delete(&format!("/api/auth/sessions/{bob_session}"))
        .await
        .assert_error(404, "not_found");
    assert_eq!(bob.get("/api/auth/me").await.status, 200);
    assert_eq!(alice.get("/api/auth/me").await.status, 200);
}

#[tokio::test]
async fn deleting_an_own_other_session_ends_it_at_once() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let (other_device, mut other_socket) = app.other_device_online(&alice).await;
    let (_, other_session) = session_ids(&other_device).await;

    let resp = alice
        .delete(&format!("/api/auth/sessions/{other_session}"))
        .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert!(resp.body["message"].is_string(), "{}", resp.body);

    assert_session_ended(&app, &other_device, &mut other_socket).await;

    let (ids, _) = session_ids(&alice).await;
    assert_eq!(ids.len(), 1);
    assert!(!ids.contains(&other_session));
    // Deleting it again: it is no longer a live session of hers.
    alice
        .delete(&format!("/api/auth/sessions/{other_session}"))
        .await
        .assert_error(404, "not_found");
}

// ---------------------------------------------------------------------------------------------
// Rate limits

#[track_caller]
fn assert_rate_limited(resp: &Resp) {
    resp.assert_error(429, "rate_limited");
    let retry = resp
        .headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    assert!(
        retry.is_some_and(|secs| secs >= 1),
        "Retry-After missing or not a number of seconds: {:?}",
        resp.headers
    );
}

#[tokio::test]
async fn api_requests_beyond_the_per_minute_limit_get_429_with_retry_after() {
    let app = TestApp::spawn_with(|c| c.rate_limit.requests_per_minute = 3).await;
    let alice = app.register("alice").await;
    for _ in 0..3 {
        assert_eq!(alice.get("/api/auth/me").await.status, 200);
    }
    assert_rate_limited(&alice.get("/api/auth/me").await);
}

#[tokio::test]
async fn logins_beyond_the_per_address_auth_limit_get_429() {
    let app = TestApp::spawn_with(|c| c.rate_limit.auth_requests_per_minute = 2).await;
    let body = json!({"login": "nobody", "password": "whatever it is"});
    for _ in 0..2 {
        app.post("/api/auth/login", body.clone())
            .await
            .assert_error(401, "unauthorized");
    }
    assert_rate_limited(&app.post("/api/auth/login", body).await);
}

async fn login_from(app: &TestApp, address: &str, body: Value) -> Resp {
    app.request_with_headers(
        Method::POST,
        "/api/auth/login",
        &[("x-forwarded-for", address)],
        Some(body),
    )
    .await
}

#[tokio::test]
async fn failed_logins_lock_the_account_whatever_addresses_and_names_they_use() {
    let app = TestApp::spawn_with(|c| {
        c.rate_limit.failed_logins_per_hour = 3;
        c.rate_limit.auth_requests_per_minute = 2;
        c.http.trusted_proxies = vec!["127.0.0.1".parse().expect("ip")];
    })
    .await;
    app.register("alice").await;
    app.register("bob").await;
    // Three failures from three addresses, naming the account three ways.
    for (i, login) in ["alice", "ALICE@example.com", "Alice"]
        .into_iter()
        .enumerate()
    {
        let resp = login_from(
            &app,
            &format!("203.0.113.{}", i + 1),
            json!({"login": login, "password": "not alice's password"}),
        )
        .await;
        resp.assert_error(401, "unauthorized");
    }
    // Now even the right password, from a fresh address and by email, is refused.
    for (i, body) in [
        json!({"login": "alice", "password": PASSWORD}),
        json!({"email": "alice@example.com", "password": PASSWORD}),
    ]
    .into_iter()
    .enumerate()
    {
        let resp = login_from(&app, &format!("198.51.100.{}", i + 1), body).await;
        assert_rate_limited(&resp);
    }
    // Another account is not affected.
    let bob = login_from(
        &app,
        "198.51.100.9",
        json!({"login": "bob", "password": PASSWORD}),
    )
    .await;
    assert_eq!(bob.status, 200, "{}", bob.body);
}

#[tokio::test]
async fn x_forwarded_for_names_the_client_only_behind_a_trusted_proxy() {
    // Not trusted: the header is ignored and every request counts against 127.0.0.1.
    let app = TestApp::spawn_with(|c| c.rate_limit.auth_requests_per_minute = 2).await;
    let body = json!({"login": "nobody", "password": "whatever it is"});
    for address in ["192.0.2.1", "192.0.2.2"] {
        login_from(&app, address, body.clone())
            .await
            .assert_error(401, "unauthorized");
    }
    assert_rate_limited(&login_from(&app, "192.0.2.3", body.clone()).await);

    // Trusted: each forwarded address has its own budget.
    let app = TestApp::spawn_with(|c| {
        c.rate_limit.auth_requests_per_minute = 2;
        c.http.trusted_proxies = vec!["127.0.0.1".parse().expect("ip")];
    })
    .await;
    for _ in 0..2 {
        login_from(&app, "192.0.2.1", body.clone())
            .await
            .assert_error(401, "unauthorized");
    }
    assert_rate_limited(&login_from(&app, "192.0.2.1", body.clone()).await);
    login_from(&app, "192.0.2.2", body)
        .await
        .assert_error(401, "unauthorized");
}
