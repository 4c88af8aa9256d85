//! The Socket.IO connection: handshake, presence, session revocation.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser};
use crate::sio::{ConnectOptions, SioClient};

#[tokio::test]
async fn a_socket_connects_with_a_token_and_is_refused_without_one() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let mut socket = alice.connect().await;
    let initial = socket.next_event("presence_initial").await;
    assert!(initial.data["users"].is_array());
    let refused = SioClient::connect(app.addr, "not-a-token").await;
    assert!(refused.is_err());
}

/// How long a socket must stay silent to count as "got nothing".
const QUIET: Duration = Duration::from_millis(500);

/// Connects `user` and returns the socket with its `presence_initial` payload; that event is the
/// sign that the socket joined its rooms.
async fn online(user: &TestUser) -> (SioClient, Value) {
    let mut socket = user.connect().await;
    let initial = socket.next_event("presence_initial").await;
    (socket, initial.data)
}

/// Asserts that none of `sockets` gets `event` within [`QUIET`], waiting on all at once.
async fn assert_silent(event: &str, sockets: &mut [&mut SioClient]) {
    let waits = sockets
        .iter_mut()
        .map(|socket| socket.expect_no_event(event, QUIET));
    futures_util::future::join_all(waits).await;
}

/// Closes a socket from the client side. The server handles it in the background: a test that
/// needs it handled waits for the resulting `user_offline` on a witness's socket.
fn close(socket: SioClient) {
    socket.close();
}

/// `GET /api/users/:id` of `target` as `viewer`: (status, lastSeen).
async fn presence_of(viewer: &TestUser, target: &TestUser) -> (String, Value) {
    let resp = viewer.get(&format!("/api/users/{}", target.id)).await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    (
        resp.body["status"].as_str().unwrap_or_default().to_owned(),
        resp.body["lastSeen"].clone(),
    )
}

async fn set_last_seen_visibility(user: &TestUser, visibility: &str) {
    let resp = user
        .put(
            "/api/users/me/settings",
            json!({"lastSeenVisibility": visibility}),
        )
        .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
}

#[track_caller]
fn assert_rfc3339(value: &Value) {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("not a time: {value}"));
    assert!(
        chrono::DateTime::parse_from_rfc3339(text).is_ok() && text.ends_with('Z'),
        "not RFC 3339 UTC: {text}"
    );
}

fn entry_for<'a>(initial: &'a Value, user: &TestUser) -> Option<&'a Value> {
    initial["users"]
        .as_array()
        .expect("users")
        .iter()
        .find(|e| e["userId"] == user.id.as_str())
}

#[tokio::test]
async fn a_contact_coming_online_is_announced_to_contacts_only() {
    let app = TestApp::spawn().await;
    let [alice, bob, carol] = app.two_friends_and_a_stranger().await;
    let (mut b, _) = online(&bob).await;
    let (mut c, _) = online(&carol).await;

    let (mut a, _) = online(&alice).await;
    let event = b.next_event("user_online").await;
    assert_eq!(event.data["userId"], alice.id.as_str());
    assert_eq!(event.data["status"], "online");
    assert_silent("user_online", &mut [&mut b, &mut c, &mut a]).await;
}

#[tokio::test]
async fn only_the_first_socket_announces_online_and_only_the_last_announces_offline() {
    let app = TestApp::spawn().await;
    let [alice, bob, carol] = app.two_friends_and_a_stranger().await;
    let alice_phone = app.login(&alice).await;
    let (mut b, _) = online(&bob).await;
    let (mut c, _) = online(&carol).await;

    let (laptop, _) = online(&alice).await;
    b.next_event("user_online").await;
    let (phone, _) = online(&alice_phone).await;
    assert_silent("user_online", &mut [&mut b, &mut c]).await;

    close(phone);
    assert_silent("user_offline", &mut [&mut b, &mut c]).await;
    assert_eq!(presence_of(&bob, &alice).await.0, "online");

    close(laptop);
    let event = b.next_event("user_offline").await;
    assert_eq!(event.data["userId"], alice.id.as_str());
    assert_rfc3339(&event.data["lastSeen"]);
    assert_silent("user_offline", &mut [&mut c, &mut b]).await;

    let (status, last_seen) = presence_of(&bob, &alice).await;
    assert_eq!(status, "offline");
    assert_eq!(last_seen, event.data["lastSeen"]);
}

#[tokio::test]
async fn presence_initial_lists_the_contacts_that_are_online() {
    let app = TestApp::spawn().await;
    let [alice, bob, carol] = app.two_friends_and_a_stranger().await;
    let (_a, initial) = online(&alice).await;
    assert!(entry_for(&initial, &bob).is_some_and(|e| e["status"] == "offline"));

    let (_b, initial) = online(&bob).await;
    let entry = entry_for(&initial, &alice).expect("alice listed");
    assert_eq!(entry["status"], "online");
    // Not a contact: not listed, even though alice shows her presence to everyone.
    let (_c, initial) = online(&carol).await;
    assert_eq!(initial["users"], json!([]));
}

#[tokio::test]
async fn presence_set_away_is_acked_and_shown_to_contacts() {
    let app = TestApp::spawn().await;
    let [alice, bob, carol] = app.two_friends_and_a_stranger().await;
    let (mut b, _) = online(&bob).await;
    let (mut c, _) = online(&carol).await;
    let (mut a, _) = online(&alice).await;
    b.next_event("user_online").await;

    let ack = a
        .emit_with_ack("presence_set", json!({"status": "away"}))
        .await;
    assert_eq!(ack, json!({"ok": true}));
    let event = b.next_event("user_online").await;
    assert_eq!(event.data, json!({"userId": alice.id, "status": "away"}));
    assert_silent("user_online", &mut [&mut c]).await;
    assert_eq!(presence_of(&bob, &alice).await.0, "away");

    let ack = a
        .emit_with_ack("presence_set", json!({"status": "online"}))
        .await;
    assert_eq!(ack, json!({"ok": true}));
    let event = b.next_event("user_online").await;
    assert_eq!(event.data["status"], "online");

    for bad in [
        json!({"status": "offline"}),
        json!({"status": "busy"}),
        json!({}),
    ] {
        let ack = a.emit_with_ack("presence_set", bad.clone()).await;
        assert!(
            ack["code"].is_string() && ack["error"].is_string(),
            "{bad}: {ack}"
        );
    }
    assert_silent("user_online", &mut [&mut b]).await;
}

#[tokio::test]
async fn someone_who_shows_presence_to_nobody_is_never_announced() {
    let app = TestApp::spawn().await;
    let [alice, bob] = app.register_all(["alice", "bob"]).await;
    alice.befriend(&bob).await;
    set_last_seen_visibility(&alice, "nobody").await;
    let (mut b, _) = online(&bob).await;

    let (mut a, _) = online(&alice).await;
    assert_silent("user_online", &mut [&mut b]).await;
    assert_eq!(
        presence_of(&bob, &alice).await,
        ("offline".into(), Value::Null)
    );
    let (_b2, initial) = online(&bob).await;
    assert!(entry_for(&initial, &alice).is_none(), "{initial}");
    // She still sees herself as she is.
    let me = alice.get("/api/auth/me").await;
    assert_eq!(me.body["user"]["status"], "online");

    let ack = a
        .emit_with_ack("presence_set", json!({"status": "away"}))
        .await;
    assert_eq!(ack, json!({"ok": true}));
    assert_silent("user_online", &mut [&mut b]).await;

    close(a);
    assert_silent("user_offline", &mut [&mut b]).await;
    assert_eq!(
        presence_of(&bob, &alice).await,
        ("offline".into(), Value::Null)
    );
}

#[tokio::test]
async fn someone_who_shows_presence_to_contacts_hides_it_from_everyone_else() {
    let app = TestApp::spawn().await;
    let [alice, bob, carol] = app.two_friends_and_a_stranger().await;
    let (mut b, _) = online(&bob).await;
    let (mut c, _) = online(&carol).await;
    let (a, _) = online(&alice).await;
    b.next_event("user_online").await;
    // By default everyone may see it.
    assert_eq!(presence_of(&carol, &alice).await.0, "online");

    set_last_seen_visibility(&alice, "contacts").await;
    assert_eq!(presence_of(&bob, &alice).await.0, "online");
    assert_eq!(
        presence_of(&carol, &alice).await,
        ("offline".into(), Value::Null)
    );

    close(a);
    let event = b.next_event("user_offline").await;
    assert_rfc3339(&event.data["lastSeen"]);
    assert_silent("user_offline", &mut [&mut c]).await;
    assert_eq!(
        presence_of(&bob, &alice).await,
        ("offline".into(), event.data["lastSeen"].clone())
    );
    assert_eq!(
        presence_of(&carol, &alice).await,
        ("offline".into(), Value::Null)
    );
    let hits = carol.get("/api/users/search?q=alice").await;
    assert_eq!(
        hits.body["users"][0]["id"],
        alice.id.as_str(),
        "{}",
        hits.body
    );
    assert_eq!(hits.body["users"][0]["lastSeen"], Value::Null);
}

#[tokio::test]
async fn a_block_hides_presence_both_ways() {
    let app = TestApp::spawn().await;
    let [alice, bob, carol] = app.register_all(["alice", "bob", "carol"]).await;
    // Carol, a contact of both, is the witness that presence still flows.
    alice.befriend(&bob).await;
    carol.befriend(&alice).await;
    carol.befriend(&bob).await;
    let (mut b, _) = online(&bob).await;
    let (mut c, _) = online(&carol).await;
    let event = b.next_event("user_online").await;
    assert_eq!(event.data["userId"], carol.id.as_str());
    assert_eq!(presence_of(&alice, &bob).await.0, "online");

    alice.block(&bob).await;
    b.next_event("contact_removed").await;

    // Alice comes online: Carol hears it, Bob does not, nor does he find her in presence_initial.
    let (mut a, initial) = online(&alice).await;
    assert!(entry_for(&initial, &bob).is_none(), "{initial}");
    let event = c.next_event("user_online").await;
    assert_eq!(event.data["userId"], alice.id.as_str());
    assert_silent("user_online", &mut [&mut b]).await;
    let (_b2, initial) = online(&app.login(&bob).await).await;
    assert!(entry_for(&initial, &alice).is_none(), "{initial}");

    // Neither sees the other over HTTP; Carol sees both.
    assert_eq!(
        presence_of(&bob, &alice).await,
        ("offline".into(), Value::Null)
    );
    assert_eq!(
        presence_of(&alice, &bob).await,
        ("offline".into(), Value::Null)
    );
    assert_eq!(presence_of(&carol, &alice).await.0, "online");
    assert_eq!(presence_of(&carol, &bob).await.0, "online");

    // Bob goes away: Carol hears it, Alice does not.
    let ack = b
        .emit_with_ack("presence_set", json!({"status": "away"}))
        .await;
    assert_eq!(ack, json!({"ok": true}));
    let event = c.next_event("user_online").await;
    assert_eq!(event.data, json!({"userId": bob.id, "status": "away"}));
    assert_silent("user_online", &mut [&mut a]).await;

    // Alice leaves: Carol hears it, Bob does not.
    close(a);
    let event = c.next_event("user_offline").await;
    assert_eq!(event.data["userId"], alice.id.as_str());
    assert_silent("user_offline", &mut [&mut b]).await;
    assert_eq!(
        presence_of(&bob, &alice).await,
        ("offline".into(), Value::Null)
    );
}

#[tokio::test]
async fn the_token_may_come_in_the_authorization_header() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let options = ConnectOptions {
        auth: None,
        headers: vec![(
            "authorization".into(),
            format!("Bearer {}", alice.access_token),
        )],
    };
    let mut socket = SioClient::connect_with(app.addr, options)
        .await
        .expect("connects with the header");
    socket.next_event("presence_initial").await;
    assert_eq!(
        alice.get("/api/auth/me").await.body["user"]["status"],
        "online"
    );

    let refused = SioClient::connect_with(
        app.addr,
        ConnectOptions {
            auth: None,
            headers: vec![("authorization".into(), "Bearer not-a-token".into())],
        },
    )
    .await;
    assert!(refused.is_err());
    let anonymous = SioClient::connect_with(app.addr, ConnectOptions::default()).await;
    assert!(anonymous.is_err());
}

#[tokio::test]
async fn a_foreign_origin_is_refused_and_an_allowed_one_connects() {
    let app =
        TestApp::spawn_with(|c| c.http.cors_origins = vec!["https://chat.example".into()]).await;
    let alice = app.register("alice").await;
    let with_origin = |origin: &str| ConnectOptions {
        auth: Some(json!({"token": alice.access_token})),
        headers: vec![("origin".into(), origin.to_owned())],
    };

    for origin in [
        "https://evil.example",
        "https://chat.example.evil.example",
        "null",
    ] {
        let refused = SioClient::connect_with(app.addr, with_origin(origin)).await;
        let message = refused
            .err()
            .unwrap_or_else(|| panic!("{origin} connected"));
        assert!(!message.is_empty());
    }
    for origin in [
        "https://chat.example".to_owned(),
        format!("http://{}", app.addr),
    ] {
        let mut socket = SioClient::connect_with(app.addr, with_origin(&origin))
            .await
            .unwrap_or_else(|e| panic!("{origin} refused: {e}"));
        socket.next_event("presence_initial").await;
    }
}
