//! Contacts and blocks: the REST answers, and which sockets hear of each change.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser};
use crate::sio::SioClient;

/// How long a socket must stay silent to count as "got nothing".
const QUIET: Duration = Duration::from_millis(500);

/// Connects `user` and waits for `presence_initial`, the sign that the socket joined its rooms.
async fn online(user: &TestUser) -> SioClient {
    let mut socket = user.connect().await;
    socket.next_event("presence_initial").await;
    socket
}

/// Asserts that none of `sockets` gets `event` within [`QUIET`], waiting on all at once.
async fn assert_silent(event: &str, sockets: &mut [&mut SioClient]) {
    let waits = sockets
        .iter_mut()
        .map(|socket| socket.expect_no_event(event, QUIET));
    futures_util::future::join_all(waits).await;
}

#[track_caller]
fn assert_public_user(value: &Value, user: &TestUser) {
    assert_eq!(value["id"], user.id.as_str(), "{value}");
    assert_eq!(value["username"], user.username.as_str(), "{value}");
    assert!(value.get("email").is_none(), "email leaked: {value}");
    assert!(value.get("settings").is_none(), "settings leaked: {value}");
}

#[tokio::test]
async fn a_contact_request_reaches_only_the_person_asked_and_is_listed_on_both_sides() {
    let app = TestApp::spawn().await;
    let [alice, bob, carol] = app.register_all(["alice", "bob", "carol"]).await;
    let (mut a, mut b, mut c) = (
        online(&alice).await,
        online(&bob).await,
        online(&carol).await,
    );

    let resp = alice
        .post("/api/contacts", json!({"contactId": bob.id}))
        .await;
    assert_eq!(resp.status, 201, "{}", resp.body);
    assert!(resp.body["message"].is_string());
    let contact = &resp.body["contact"];
    let id = contact["id"].as_str().expect("contact id").to_owned();
    assert_eq!(contact["status"], "pending");
    assert_eq!(contact["userId"], alice.id.as_str());
    assert_eq!(contact["contactId"], bob.id.as_str());
    assert!(contact["createdAt"].is_string());
    assert_public_user(&contact["contact"], &bob);

    let event = b.next_event("contact_request_received").await;
    assert_eq!(
        event.data,
        json!({"contactId": id, "userId": alice.id, "username": "alice"})
    );
    assert_silent("contact_request_received", &mut [&mut a, &mut c, &mut b]).await;

    let pending = bob.get("/api/contacts/pending").await;
    assert_eq!(pending.status, 200, "{}", pending.body);
    let requests = pending.body["requests"].as_array().expect("requests");
    assert_eq!(requests.len(), 1, "{}", pending.body);
    assert_eq!(requests[0]["id"], id.as_str());
    assert_eq!(requests[0]["userId"], alice.id.as_str());
    assert_eq!(requests[0]["contactId"], bob.id.as_str());
    assert_eq!(requests[0]["status"], "pending");
    assert_public_user(&requests[0]["user"], &alice);

    let sent = alice.get("/api/contacts/sent").await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    let requests = sent.body["requests"].as_array().expect("requests");
    assert_eq!(requests.len(), 1, "{}", sent.body);
    assert_eq!(requests[0]["id"], id.as_str());
    assert_public_user(&requests[0]["user"], &bob);

    assert_eq!(
        alice.get("/api/contacts/pending").await.body["requests"],
        json!([])
    );
    assert_eq!(
        bob.get("/api/contacts/sent").await.body["requests"],
        json!([])
    );
    assert_eq!(
        carol.get("/api/contacts/pending").await.body["requests"],
        json!([])
    );
    for user in [&alice, &bob] {
        assert_eq!(user.get("/api/contacts").await.body["contacts"], json!([]));
    }
}

#[tokio::test]
async fn asking_the_same_person_twice_is_a_conflict() {
    let app = TestApp::spawn().await;
    let [alice, bob] = app.register_all(["alice", "bob"]).await;
    alice.ask_contact(&bob).await;
    alice
        .post("/api/contacts", json!({"contactId": bob.id}))
        .await
        .assert_error(409, "conflict");

    let id = alice.get("/api/contacts/sent").await.body["requests"][0]["id"].clone();
    let accepted = bob
        .put(
            &format!("/api/contacts/{}", id.as_str().expect("id")),
            json!({"status": "accepted"}),
        )
        .await;
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    for (from, to) in [(&alice, &bob), (&bob, &alice)] {
        from.post("/api/contacts", json!({"contactId": to.id}))
            .await
            .assert_error(409, "conflict");
    }
}

#[tokio::test]
async fn asking_yourself_is_invalid_and_asking_an_unknown_user_is_not_found() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    alice
        .post("/api/contacts", json!({"contactId": alice.id}))
        .await
        .assert_error(400, "validation_failed");
    alice
        .post("/api/contacts", json!({"contactId": uuid::Uuid::new_v4()}))
        .await
        .assert_error(404, "not_found");
}

#[tokio::test]
async fn asking_back_someone_whose_request_is_pending_accepts_it() {
    let app = TestApp::spawn().await;
    let [alice, bob, carol] = app.register_all(["alice", "bob", "carol"]).await;
    let id = alice.ask_contact(&bob).await;
    let (mut a, mut b, mut c) = (
        online(&alice).await,
        online(&bob).await,
        online(&carol).await,
    );

    let resp = bob
        .post("/api/contacts", json!({"contactId": alice.id}))
        .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(resp.body["contact"]["id"], id.as_str());
    assert_eq!(resp.body["contact"]["status"], "accepted");
    assert_public_user(&resp.body["contact"]["contact"], &alice);

    let expected = json!({"contactId": id, "userId": bob.id});
    assert_eq!(
        a.next_event("contact_request_accepted").await.data,
        expected
    );
    assert_eq!(
        b.next_event("contact_request_accepted").await.data,
        expected
    );
    assert_silent("contact_request_accepted", &mut [&mut c]).await;
    assert_silent("contact_request_received", &mut [&mut a, &mut b, &mut c]).await;

    let contacts = alice.get("/api/contacts").await;
    assert_eq!(contacts.body["contacts"].as_array().map(Vec::len), Some(1));
    assert_public_user(&contacts.body["contacts"][0]["contact"], &bob);
    assert_eq!(
        bob.get("/api/contacts/pending").await.body["requests"],
        json!([])
    );
}

#[tokio::test]
async fn two_people_asking_each_other_at_the_same_moment_become_one_accepted_contact() {
    let app = TestApp::spawn().await;
    for round in 0..8 {
        let alice = app.register(&format!("alice{round}")).await;
        let bob = app.register(&format!("bob{round}")).await;
        let (from_alice, from_bob) = tokio::join!(
            alice.post("/api/contacts", json!({"contactId": bob.id})),
            bob.post("/api/contacts", json!({"contactId": alice.id})),
        );
        let mut statuses = [from_alice.status, from_bob.status];
        statuses.sort_unstable();
        assert_eq!(
            statuses,
            [200, 201],
            "{} / {}",
            from_alice.body,
            from_bob.body
        );
        let rows = app
            .count(&format!(
                "SELECT COUNT(*) FROM contacts WHERE user_id IN ('{0}', '{1}') \
                 OR contact_id IN ('{0}', '{1}')",
                alice.id, bob.id
            ))
            .await;
        assert_eq!(rows, 1, "round {round}: one row per pair");
        for user in [&alice, &bob] {
            let contacts = user.get("/api/contacts").await;
            assert_eq!(
                contacts.body["contacts"][0]["status"], "accepted",
                "{}",
                contacts.body
            );
            assert_eq!(
                user.get("/api/contacts/pending").await.body["requests"],
                json!([])
            );
        }
    }
}

#[tokio::test]
async fn accepting_a_request_lists_each_person_as_the_others_contact() {
    let app = TestApp::spawn().await;
    let [alice, bob, carol] = app.register_all(["alice", "bob", "carol"]).await;
    let id = alice.ask_contact(&bob).await;
    let (mut a, mut b, mut c) = (
        online(&alice).await,
        online(&bob).await,
        online(&carol).await,
    );

    let resp = bob
        .put(
            &format!("/api/contacts/{id}"),
            json!({"status": "accepted"}),
        )
        .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert!(resp.body["message"].is_string());
    assert_eq!(resp.body["contact"]["status"], "accepted");
    assert_public_user(&resp.body["contact"]["contact"], &alice);

    let expected = json!({"contactId": id, "userId": bob.id});
    assert_eq!(
        a.next_event("contact_request_accepted").await.data,
        expected
    );
    assert_eq!(
        b.next_event("contact_request_accepted").await.data,
        expected
    );
    assert_silent("contact_request_accepted", &mut [&mut c]).await;

    for (me, other) in [(&alice, &bob), (&bob, &alice)] {
        let resp = me.get("/api/contacts").await;
        assert_eq!(resp.status, 200, "{}", resp.body);
        let contacts = resp.body["contacts"].as_array().expect("contacts");
        assert_eq!(contacts.len(), 1, "{}", resp.body);
        assert_eq!(contacts[0]["id"], id.as_str());
        assert_eq!(contacts[0]["status"], "accepted");
        assert_eq!(contacts[0]["userId"], alice.id.as_str());
        assert_eq!(contacts[0]["contactId"], bob.id.as_str());
        assert_public_user(&contacts[0]["contact"], other);
    }
    assert_eq!(carol.get("/api/contacts").await.body["contacts"], json!([]));
    assert_eq!(
        bob.get("/api/contacts/pending").await.body["requests"],
        json!([])
    );
}

#[tokio::test]
async fn rejecting_a_request_removes_it_and_tells_only_the_requester() {
    let app = TestApp::spawn().await;
    let [alice, bob, carol] = app.register_all(["alice", "bob", "carol"]).await;
    let id = alice.ask_contact(&bob).await;
    let (mut a, mut b, mut c) = (
        online(&alice).await,
        online(&bob).await,
        online(&carol).await,
    );

    let resp = bob
        .put(
            &format!("/api/contacts/{id}"),
            json!({"status": "rejected"}),
        )
        .await;
    assert_eq!(resp.status, 200, "{}", resp.body);

    let event = a.next_event("contact_request_rejected").await;
    assert_eq!(event.data, json!({"contactId": id, "userId": bob.id}));
    assert_silent("contact_request_rejected", &mut [&mut b, &mut c]).await;

    assert_eq!(
        bob.get("/api/contacts/pending").await.body["requests"],
        json!([])
    );
    assert_eq!(
        alice.get("/api/contacts/sent").await.body["requests"],
        json!([])
    );
    assert_eq!(alice.get("/api/contacts").await.body["contacts"], json!([]));
    bob.put(
        &format!("/api/contacts/{id}"),
        json!({"status": "accepted"}),
    )
    .await
    .assert_error(404, "not_found");
    let again = alice
        .post("/api/contacts", json!({"contactId": bob.id}))
        .await;
    assert_eq!(again.status, 201, "{}", again.body);
}

#[tokio::test]
async fn only_the_person_asked_can_answer_a_request() {
    let app = TestApp::spawn().await;
    let [alice, bob, carol] = app.register_all(["alice", "bob", "carol"]).await;
    let id = alice.ask_contact(&bob).await;
    let mut b = online(&bob).await;

    for status in ["accepted", "rejected"] {
        alice
            .put(&format!("/api/contacts/{id}"), json!({"status": status}))
            .await
            .assert_error(403, "forbidden");
        carol
            .put(&format!("/api/contacts/{id}"), json!({"status": status}))
            .await
            .assert_error(404, "not_found");
    }
    assert_silent("contact_request_accepted", &mut [&mut b]).await;
    let pending = bob.get("/api/contacts/pending").await;
    assert_eq!(
        pending.body["requests"][0]["status"], "pending",
        "{}",
        pending.body
    );
}

#[tokio::test]
async fn either_side_can_remove_a_contact_and_the_other_is_told() {
    let app = TestApp::spawn().await;
    let [alice, bob, carol] = app.register_all(["alice", "bob", "carol"]).await;
    let (mut a, mut b, mut c) = (
        online(&alice).await,
        online(&bob).await,
        online(&carol).await,
    );

    for remover in [&alice, &bob] {
        let id = alice.befriend(&bob).await;
        let resp = remover.delete(&format!("/api/contacts/{id}")).await;
        assert_eq!(resp.status, 200, "{}", resp.body);
        assert!(resp.body["message"].is_string());
        // The other person is told; the remover's own devices hear it too.
        let expected = json!({"contactId": id, "userId": remover.id});
        assert_eq!(b.next_event("contact_removed").await.data, expected);
        assert_eq!(a.next_event("contact_removed").await.data, expected);
        for user in [&alice, &bob] {
            assert_eq!(user.get("/api/contacts").await.body["contacts"], json!([]));
        }
        remover
            .delete(&format!("/api/contacts/{id}"))
            .await
            .assert_error(404, "not_found");
    }
    assert_silent("contact_removed", &mut [&mut c]).await;

    // A pending request can be withdrawn by the requester or dropped by the person asked.
    for remover in [&alice, &carol] {
        let id = alice.ask_contact(&carol).await;
        let resp = remover.delete(&format!("/api/contacts/{id}")).await;
        assert_eq!(resp.status, 200, "{}", resp.body);
        assert_eq!(
            carol.get("/api/contacts/pending").await.body["requests"],
            json!([])
        );
    }
    // The third person cannot touch it.
    let id = alice.ask_contact(&carol).await;
    bob.delete(&format!("/api/contacts/{id}"))
        .await
        .assert_error(404, "not_found");
}

#[tokio::test]
async fn removing_a_contact_with_block_also_blocks_them() {
    let app = TestApp::spawn().await;
    let [alice, bob, carol] = app.register_all(["alice", "bob", "carol"]).await;
    let id = alice.befriend(&bob).await;
    let (mut a, mut b, mut c) = (
        online(&alice).await,
        online(&bob).await,
        online(&carol).await,
    );

    let resp = alice
        .delete(&format!("/api/contacts/{id}?block=true"))
        .await;
    assert_eq!(resp.status, 200, "{}", resp.body);

    let blocked = a.next_event("contact_blocked").await;
    assert_eq!(blocked.data, json!({"contactId": id, "userId": bob.id}));
    let removed = b.next_event("contact_removed").await;
    assert_eq!(removed.data, json!({"contactId": id, "userId": alice.id}));
    assert_silent("contact_blocked", &mut [&mut b, &mut c]).await;
    assert_silent("contact_removed", &mut [&mut c]).await;

    let blocks = alice.get("/api/blocks").await;
    assert_eq!(
        blocks.body["blocks"][0]["user"]["id"],
        bob.id.as_str(),
        "{}",
        blocks.body
    );
    for user in [&alice, &bob] {
        assert_eq!(user.get("/api/contacts").await.body["contacts"], json!([]));
    }
    bob.post("/api/contacts", json!({"contactId": alice.id}))
        .await
        .assert_error(403, "forbidden");
}

#[tokio::test]
async fn blocking_answers_201_then_200_and_unblocking_answers_200_then_404() {
    let app = TestApp::spawn().await;
    let [alice, bob] = app.register_all(["alice", "bob"]).await;

    let first = alice.post("/api/blocks", json!({"userId": bob.id})).await;
    assert_eq!(first.status, 201, "{}", first.body);
    let second = alice.post("/api/blocks", json!({"userId": bob.id})).await;
    assert_eq!(second.status, 200, "{}", second.body);

    let list = alice.get("/api/blocks").await;
    assert_eq!(list.status, 200, "{}", list.body);
    let blocks = list.body["blocks"].as_array().expect("blocks");
    assert_eq!(blocks.len(), 1, "{}", list.body);
    assert_public_user(&blocks[0]["user"], &bob);
    let created = blocks[0]["createdAt"].as_str().expect("createdAt");
    assert!(
        chrono::DateTime::parse_from_rfc3339(created).is_ok() && created.ends_with('Z'),
        "{created}"
    );
    assert_eq!(bob.get("/api/blocks").await.body["blocks"], json!([]));

    let unblock = alice.delete(&format!("/api/blocks/{}", bob.id)).await;
    assert_eq!(unblock.status, 200, "{}", unblock.body);
    assert_eq!(alice.get("/api/blocks").await.body["blocks"], json!([]));
    alice
        .delete(&format!("/api/blocks/{}", bob.id))
        .await
        .assert_error(404, "not_found");

    alice
        .post("/api/blocks", json!({"userId": alice.id}))
        .await
        .assert_error(400, "validation_failed");
    alice
        .post("/api/blocks", json!({"userId": uuid::Uuid::new_v4()}))
        .await
        .assert_error(404, "not_found");
}

#[tokio::test]
async fn blocking_ends_an_existing_contact_or_request() {
    let app = TestApp::spawn().await;
    let [alice, bob, carol] = app.two_friends_and_a_stranger().await;
    carol.ask_contact(&alice).await;

    alice.block(&bob).await;
    alice.block(&carol).await;

    for user in [&alice, &bob, &carol] {
        assert_eq!(user.get("/api/contacts").await.body["contacts"], json!([]));
        assert_eq!(
            user.get("/api/contacts/pending").await.body["requests"],
            json!([])
        );
        assert_eq!(
            user.get("/api/contacts/sent").await.body["requests"],
            json!([])
        );
    }
}

#[tokio::test]
async fn a_blocked_user_cannot_send_a_contact_request_and_the_blocker_must_unblock_first() {
    let app = TestApp::spawn().await;
    let [alice, bob] = app.register_all(["alice", "bob"]).await;
    let mut a = online(&alice).await;
    alice.block(&bob).await;
    a.next_event("contact_blocked").await;

    bob.post("/api/contacts", json!({"contactId": alice.id}))
        .await
        .assert_error(403, "forbidden");
    assert_silent("contact_request_received", &mut [&mut a]).await;
    alice
        .post("/api/contacts", json!({"contactId": bob.id}))
        .await
        .assert_error(403, "forbidden");

    let unblock = alice.delete(&format!("/api/blocks/{}", bob.id)).await;
    assert_eq!(unblock.status, 200, "{}", unblock.body);
    bob.ask_contact(&alice).await;
}

#[tokio::test]
async fn only_the_blockers_own_sockets_hear_of_a_block() {
    let app = TestApp::spawn().await;
    let [alice, bob, carol] = app.register_all(["alice", "bob", "carol"]).await;
    let id = alice.befriend(&bob).await;
    let alice_phone = app.login(&alice).await;
    let (mut a1, mut a2) = (online(&alice).await, online(&alice_phone).await);
    let (mut b, mut c) = (online(&bob).await, online(&carol).await);

    let resp = alice.post("/api/blocks", json!({"userId": bob.id})).await;
    assert_eq!(resp.status, 201, "{}", resp.body);

    let expected = json!({"contactId": id, "userId": bob.id});
    assert_eq!(a1.next_event("contact_blocked").await.data, expected);
    assert_eq!(a2.next_event("contact_blocked").await.data, expected);
    // The blocked person only sees the contact go, as if it had been removed.
    let removed = b.next_event("contact_removed").await;
    assert_eq!(removed.data, json!({"contactId": id, "userId": alice.id}));
    assert_silent("contact_blocked", &mut [&mut b, &mut c]).await;
    assert_silent("contact_removed", &mut [&mut c]).await;
}
