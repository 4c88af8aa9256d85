//! Messages: sending, receiving, history, receipts, reactions, stars, pins, typing, sync,
//! search and limits, each event checked on the sockets that should get it and on those that
//! must not.

use std::time::Duration;

use serde_json::{Value, json};

use crate::chats::{quiet, send};
use crate::helpers::{TestApp, TestUser, direct, group, id};

#[tokio::test]
async fn a_message_sent_over_the_socket_reaches_the_other_member_and_its_ack_records_delivery() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let chat = alice
        .post(
            "/api/chats",
            json!({"type": "one_on_one", "memberIds": [bob.id]}),
        )
        .await;
    assert_eq!(chat.status, 201, "{}", chat.body);
    let chat_id = chat.body["id"].as_str().expect("chat id").to_owned();
    let mut alice_socket = alice.connect().await;
    let mut bob_socket = bob.connect().await;
    let ack = alice_socket
        .emit_with_ack(
            "send_message",
            json!({"chatId": chat_id, "content": "hello bob", "clientId": "c1"}),
        )
        .await;
    let message = &ack["message"];
    assert_eq!(message["content"], "hello bob", "{ack}");
    let received = bob_socket.next_event("new_message").await;
    assert_eq!(received.data["id"], message["id"]);
    let ack_id = received.ack_id.expect("new_message asks for an ack");
    bob_socket.ack(ack_id, json!({}));
    let delivered = alice_socket.next_event("message_delivered").await;
    assert_eq!(delivered.data["userId"], bob.id.as_str());
    let page = alice.get(&format!("/api/chats/{chat_id}/messages")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.body["messages"][0]["status"], "delivered");
    let read = bob
        .post(
            &format!("/api/messages/{}/read", message["id"].as_str().expect("id")),
            json!({}),
        )
        .await;
    assert_eq!(read.status, 200, "{}", read.body);
    let read_event = alice_socket.next_event("message_read").await;
    assert_eq!(read_event.data["userId"], bob.id.as_str());
    let page = alice.get(&format!("/api/chats/{chat_id}/messages")).await;
    assert_eq!(page.body["messages"][0]["status"], "read");
    let search = bob.get("/api/messages/search?q=hello").await;
    assert_eq!(search.status, 200, "{}", search.body);
    assert_eq!(search.body["messages"][0]["id"], message["id"]);
}

fn ids(page: &Value) -> Vec<String> {
    page["messages"]
        .as_array()
        .unwrap_or_else(|| panic!("no messages in {page}"))
        .iter()
        .map(id)
        .collect()
}

fn contents(page: &Value) -> Vec<String> {
    page["messages"]
        .as_array()
        .unwrap_or_else(|| panic!("no messages in {page}"))
        .iter()
        .map(|m| m["content"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The newest message of a chat as `user` sees it in history.
async fn newest(user: &TestUser, chat: &str) -> Value {
    let page = user
        .get(&format!("/api/chats/{chat}/messages?limit=1"))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    page.body["messages"][0].clone()
}

#[tokio::test]
async fn a_message_sent_over_rest_reaches_every_member_device_and_nobody_else() {
    let app = TestApp::spawn().await;
    let (alice, bob, carol, dave, chat) = app.group_of_three_and_an_outsider("Group").await;
    let mut alice_1 = alice.connect().await;
    let mut alice_2 = alice.connect().await;
    let mut bob_s = bob.connect().await;
    let mut carol_s = carol.connect().await;
    let mut dave_s = dave.connect().await;

    let resp = alice
        .post(
            &format!("/api/chats/{chat}/messages"),
            json!({"content": "hello all"}),
        )
        .await;
    assert_eq!(resp.status, 201, "{}", resp.body);
    let message = &resp.body;
    assert_eq!(message["chatId"], chat.as_str());
    assert_eq!(message["senderId"], alice.id.as_str());
    assert_eq!(message["type"], "text");
    assert_eq!(message["status"], "sent");
    assert_eq!(message["forwarded"], false);
    assert_eq!(message["readBy"], json!([]));
    assert_eq!(message["sender"]["username"], "alice");
    assert_eq!(message["editedAt"], Value::Null);
    assert_eq!(message["deletedAt"], Value::Null);
    // The answer and every copy are the same message, field for field.
    for socket in [&mut alice_1, &mut alice_2] {
        let event = socket.next_event("new_message").await;
        assert_eq!(event.data, *message);
    }
    for socket in [&mut bob_s, &mut carol_s] {
        let event = socket.next_event("new_message").await;
        assert_eq!(event.data, *message);
        assert!(event.ack_id.is_some(), "recipients are asked to ack");
    }
    quiet("new_message", &mut [&mut dave_s]).await;
    quiet(
        "new_message",
        &mut [&mut alice_1, &mut alice_2, &mut bob_s, &mut carol_s],
    )
    .await;
}

#[tokio::test]
async fn a_message_sent_over_the_socket_is_acked_and_echoed_only_to_the_senders_other_devices() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let chat = direct(&alice, &bob).await;
    let mut alice_1 = alice.connect().await;
    let mut alice_2 = alice.connect().await;
    let mut bob_s = bob.connect().await;
    let mut carol_s = carol.connect().await;

    let ack = alice_1
        .emit_with_ack("send_message", json!({"chatId": chat, "content": "hi"}))
        .await;
    let message = &ack["message"];
    assert_eq!(message["content"], "hi", "{ack}");
    assert_eq!(message["senderId"], alice.id.as_str());
    // The ack and every copy are the same message, field for field.
    let echo = alice_2.next_event("new_message").await;
    assert_eq!(echo.data, *message);
    let received = bob_s.next_event("new_message").await;
    assert_eq!(received.data, *message);
    quiet("new_message", &mut [&mut alice_1, &mut carol_s]).await;
    let stored = alice.get(&format!("/api/chats/{chat}/messages")).await;
    assert_eq!(ids(&stored.body), vec![id(message)]);
}

#[tokio::test]
async fn a_repeated_client_id_returns_the_first_message_without_storing_or_announcing_it_again() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let chat = direct(&alice, &bob).await;
    let other = direct(&alice, &carol).await;
    let mut alice_1 = alice.connect().await;
    let mut alice_2 = alice.connect().await;
    let mut bob_s = bob.connect().await;

    let path = format!("/api/chats/{chat}/messages");
    let first = alice
        .post(&path, json!({"content": "once", "clientId": "rest-1"}))
        .await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.body["clientId"], "rest-1");
    let retry = alice
        .post(&path, json!({"content": "once", "clientId": "rest-1"}))
        .await;
    assert_eq!(retry.status, 200, "{}", retry.body);
    assert_eq!(retry.body["id"], first.body["id"]);
    assert_eq!(app.count("SELECT count(*) FROM messages").await, 1);
    assert_eq!(
        bob_s.next_event("new_message").await.data["id"],
        first.body["id"]
    );
    alice_1.next_event("new_message").await;
    alice_2.next_event("new_message").await;
    quiet("new_message", &mut [&mut bob_s, &mut alice_1, &mut alice_2]).await;

    let payload = json!({"chatId": chat, "content": "socket once", "clientId": "sock-1"});
    let a = alice_1.emit_with_ack("send_message", payload.clone()).await;
    let b = alice_1.emit_with_ack("send_message", payload).await;
    assert_eq!(a["message"]["id"], b["message"]["id"], "{a} {b}");
    assert_eq!(a["message"]["clientId"], "sock-1");
    assert_eq!(app.count("SELECT count(*) FROM messages").await, 2);
    assert_eq!(
        bob_s.next_event("new_message").await.data["id"],
        a["message"]["id"]
    );
    alice_2.next_event("new_message").await;
    quiet("new_message", &mut [&mut bob_s, &mut alice_1, &mut alice_2]).await;

    let elsewhere = alice
        .post(
            &format!("/api/chats/{other}/messages"),
            json!({"content": "once", "clientId": "rest-1"}),
        )
        .await;
    elsewhere.assert_error(409, "conflict");
    let bobs_own = bob
        .post(&path, json!({"content": "mine", "clientId": "rest-1"}))
        .await;
    assert_eq!(
        bobs_own.status, 201,
        "client ids are per sender: {}",
        bobs_own.body
    );
    alice
        .post(&path, json!({"content": "x", "clientId": ""}))
        .await
        .assert_error(400, "validation_failed");
}

#[tokio::test]
async fn a_reply_carries_a_preview_of_the_message_it_answers() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let chat = group(&alice, "Group", &[&bob, &carol]).await;
    let elsewhere = direct(&alice, &bob).await;
    let original = send(&alice, &chat, "question?").await;
    let unrelated = send(&alice, &elsewhere, "other chat").await;
    let mut carol_s = carol.connect().await;

    let reply = bob
        .post(
            &format!("/api/chats/{chat}/messages"),
            json!({"content": "answer!", "replyToId": original["id"]}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.body["replyToId"], original["id"]);
    let preview = &reply.body["replyTo"];
    assert_eq!(preview["id"], original["id"]);
    assert_eq!(preview["senderId"], alice.id.as_str());
    assert_eq!(preview["content"], "question?");
    assert_eq!(preview["type"], "text");
    assert_eq!(preview["sender"]["username"], "alice");
    let event = carol_s.next_event("new_message").await;
    assert_eq!(event.data["replyTo"]["id"], original["id"]);
    let history = carol.get(&format!("/api/chats/{chat}/messages")).await;
    assert_eq!(
        history.body["messages"][0]["replyTo"]["content"],
        "question?"
    );

    bob.post(
        &format!("/api/chats/{chat}/messages"),
        json!({"content": "wrong", "replyToId": unrelated["id"]}),
    )
    .await
    .assert_error(400, "validation_failed");
    bob.post(
        &format!("/api/chats/{chat}/messages"),
        json!({"content": "wrong", "replyToId": uuid::Uuid::now_v7().to_string()}),
    )
    .await
    .assert_error(400, "validation_failed");
}

#[tokio::test]
async fn forwarding_copies_a_message_into_chats_the_caller_belongs_to_and_nowhere_else() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let dave = app.register("dave").await;
    let source_chat = direct(&alice, &bob).await;
    let target = group(&alice, "Group", &[&bob, &carol]).await;
    let not_mine = direct(&bob, &carol).await;
    let original = send(&bob, &source_chat, "worth sharing").await;
    let mut alice_s = alice.connect().await;
    let mut bob_s = bob.connect().await;
    let mut carol_s = carol.connect().await;
    let mut dave_s = dave.connect().await;

    let path = format!("/api/messages/{}/forward", id(&original));
    let resp = alice.post(&path, json!({"chatIds": [target]})).await;
    assert_eq!(resp.status, 201, "{}", resp.body);
    let copies = resp.body["messages"].as_array().expect("messages");
    assert_eq!(copies.len(), 1);
    let copy = &copies[0];
    assert_eq!(copy["chatId"], target.as_str());
    assert_eq!(copy["forwarded"], true);
    assert_eq!(copy["content"], "worth sharing");
    assert_eq!(copy["senderId"], alice.id.as_str());
    assert_ne!(copy["id"], original["id"]);
    for socket in [&mut alice_s, &mut bob_s, &mut carol_s] {
        let event = socket.next_event("new_message").await;
        assert_eq!(event.data["id"], copy["id"]);
        assert_eq!(event.data["forwarded"], true);
    }
    quiet("new_message", &mut [&mut dave_s]).await;

    alice
        .post(&path, json!({"chatIds": [not_mine]}))
        .await
        .assert_error(404, "not_found");
    alice
        .post(&path, json!({"chatIds": [target, not_mine]}))
        .await
        .assert_error(404, "not_found");
    carol
        .post(&path, json!({"chatIds": [not_mine]}))
        .await
        .assert_error(404, "not_found");
    alice
        .post(&path, json!({"chatIds": []}))
        .await
        .assert_error(400, "validation_failed");
    quiet(
        "new_message",
        &mut [&mut alice_s, &mut bob_s, &mut carol_s, &mut dave_s],
    )
    .await;
    assert_eq!(app.count("SELECT count(*) FROM messages").await, 2);
}

#[tokio::test]
async fn the_sender_edits_within_the_window_and_every_member_sees_the_edit() {
    let app = TestApp::spawn().await;
    let (alice, bob, carol, dave, chat) = app.group_of_three_and_an_outsider("Group").await;
    let message = send(&alice, &chat, "tpyo").await;
    let message_id = id(&message);
    let mut alice_s = alice.connect().await;
    let mut bob_s = bob.connect().await;
    let mut carol_s = carol.connect().await;
    let mut dave_s = dave.connect().await;

    let resp = alice
        .put(
            &format!("/api/messages/{message_id}"),
            json!({"content": "typo"}),
        )
        .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(resp.body["content"], "typo");
    assert!(resp.body["editedAt"].is_string(), "{}", resp.body);
    for socket in [&mut alice_s, &mut bob_s, &mut carol_s] {
        let event = socket.next_event("message_updated").await;
        assert_eq!(event.data["id"], message_id.as_str());
        assert_eq!(event.data["chatId"], chat.as_str());
        assert_eq!(event.data["content"], "typo");
        assert!(event.data["editedAt"].is_string());
        assert!(event.data["updatedAt"].is_string());
    }
    quiet("message_updated", &mut [&mut dave_s]).await;

    let ack = alice_s
        .emit_with_ack(
            "edit_message",
            json!({"messageId": message_id, "content": "typo, fixed"}),
        )
        .await;
    assert_eq!(ack["message"]["content"], "typo, fixed", "{ack}");
    for socket in [&mut alice_s, &mut bob_s, &mut carol_s] {
        let event = socket.next_event("message_updated").await;
        assert_eq!(event.data["content"], "typo, fixed");
    }

    bob.put(
        &format!("/api/messages/{message_id}"),
        json!({"content": "bob was here"}),
    )
    .await
    .assert_error(403, "forbidden");
    let ack = bob_s
        .emit_with_ack(
            "edit_message",
            json!({"messageId": message_id, "content": "bob was here"}),
        )
        .await;
    assert_eq!(ack["code"], "forbidden", "{ack}");
    dave.put(
        &format!("/api/messages/{message_id}"),
        json!({"content": "dave"}),
    )
    .await
    .assert_error(404, "not_found");
    alice
        .put(
            &format!("/api/messages/{message_id}"),
            json!({"content": " "}),
        )
        .await
        .assert_error(400, "validation_failed");
    quiet(
        "message_updated",
        &mut [&mut bob_s, &mut carol_s, &mut dave_s],
    )
    .await;
    assert_eq!(newest(&carol, &chat).await["content"], "typo, fixed");
}

#[tokio::test]
async fn editing_after_the_edit_window_is_refused() {
    let app = TestApp::spawn_with(|c| c.messages.edit_window_secs = 0).await;
    let (alice, bob, chat) = app.two_with_a_chat().await;
    let message = send(&alice, &chat, "final words").await;
    let mut bob_s = bob.connect().await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    alice
        .put(
            &format!("/api/messages/{}", id(&message)),
            json!({"content": "second thoughts"}),
        )
        .await
        .assert_error(403, "forbidden");
    quiet("message_updated", &mut [&mut bob_s]).await;
    assert_eq!(newest(&bob, &chat).await["content"], "final words");
}

#[tokio::test]
async fn deleting_for_me_hides_the_message_from_my_history_only() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let chat = group(&alice, "Group", &[&bob, &carol]).await;
    let kept = send(&alice, &chat, "keep this").await;
    let hidden = send(&alice, &chat, "hide this").await;
    let mut alice_s = alice.connect().await;
    let mut bob_1 = bob.connect().await;
    let mut bob_2 = bob.connect().await;
    let mut carol_s = carol.connect().await;

    let resp = bob
        .delete(&format!("/api/messages/{}?scope=me", id(&hidden)))
        .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    for socket in [&mut bob_1, &mut bob_2] {
        let event = socket.next_event("message_deleted").await;
        assert_eq!(event.data["messageId"], hidden["id"]);
        assert_eq!(event.data["chatId"], chat.as_str());
        assert_eq!(event.data["scope"], "me");
    }
    quiet("message_deleted", &mut [&mut alice_s, &mut carol_s]).await;

    let bobs = bob.get(&format!("/api/chats/{chat}/messages")).await;
    assert_eq!(ids(&bobs.body), vec![id(&kept)]);
    let bobs_list = bob.get("/api/chats").await;
    assert_eq!(bobs_list.body[0]["lastMessage"]["id"], kept["id"]);
    for user in [&alice, &carol] {
        let page = user.get(&format!("/api/chats/{chat}/messages")).await;
        assert_eq!(ids(&page.body), vec![id(&hidden), id(&kept)]);
    }
    let search = bob.get("/api/messages/search?q=hide").await;
    assert_eq!(search.body["messages"], json!([]), "{}", search.body);
    bob.post(&format!("/api/messages/{}/star", id(&hidden)), json!({}))
        .await
        .assert_error(404, "not_found");

    let ack = carol_s
        .emit_with_ack(
            "delete_message",
            json!({"messageId": kept["id"], "scope": "me"}),
        )
        .await;
    assert_eq!(ack, json!({"ok": true}));
    carol_s.next_event("message_deleted").await;
    quiet(
        "message_deleted",
        &mut [&mut alice_s, &mut bob_1, &mut bob_2],
    )
    .await;
}

#[tokio::test]
async fn deleting_for_everyone_leaves_a_tombstone_that_every_member_is_told_about() {
    let app = TestApp::spawn().await;
    let (alice, bob, carol, dave, chat) = app.group_of_three_and_an_outsider("Group").await;
    let own = send(&bob, &chat, "oops").await;
    let bobs_other = send(&bob, &chat, "admin will remove").await;
    let alices = send(&alice, &chat, "by the admin").await;
    let direct_chat = direct(&alice, &bob).await;
    let in_direct = send(&alice, &direct_chat, "one on one").await;
    let mut alice_s = alice.connect().await;
    let mut bob_s = bob.connect().await;
    let mut carol_s = carol.connect().await;
    let mut dave_s = dave.connect().await;

    let resp = bob
        .delete(&format!("/api/messages/{}?scope=everyone", id(&own)))
        .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    for socket in [&mut alice_s, &mut bob_s, &mut carol_s] {
        let event = socket.next_event("message_deleted").await;
        assert_eq!(event.data["messageId"], own["id"]);
        assert_eq!(event.data["chatId"], chat.as_str());
        assert_eq!(event.data["scope"], "everyone");
    }
    quiet("message_deleted", &mut [&mut dave_s]).await;
    let page = carol.get(&format!("/api/chats/{chat}/messages")).await;
    let tombstone = page.body["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .find(|m| m["id"] == own["id"])
        .expect("still listed")
        .clone();
    assert!(tombstone["deletedAt"].is_string(), "{tombstone}");
    assert_eq!(tombstone["content"], "");
    assert_eq!(tombstone["file"], Value::Null);

    // Carol is neither the sender nor an admin.
    carol
        .delete(&format!("/api/messages/{}?scope=everyone", id(&alices)))
        .await
        .assert_error(403, "forbidden");
    let ack = carol_s
        .emit_with_ack(
            "delete_message",
            json!({"messageId": bobs_other["id"], "scope": "everyone"}),
        )
        .await;
    assert_eq!(ack["code"], "forbidden", "{ack}");
    bob.delete(&format!("/api/messages/{}?scope=everyone", id(&in_direct)))
        .await
        .assert_error(403, "forbidden");
    dave.delete(&format!("/api/messages/{}?scope=everyone", id(&alices)))
        .await
        .assert_error(404, "not_found");
    quiet(
        "message_deleted",
        &mut [&mut alice_s, &mut bob_s, &mut carol_s],
    )
    .await;

    // A group admin may remove anyone's message.
    let by_admin = alice
        .delete(&format!("/api/messages/{}?scope=everyone", id(&bobs_other)))
        .await;
    assert_eq!(by_admin.status, 200, "{}", by_admin.body);
    for socket in [&mut alice_s, &mut bob_s, &mut carol_s] {
        let event = socket.next_event("message_deleted").await;
        assert_eq!(event.data["messageId"], bobs_other["id"]);
    }
    let remaining = bob.get(&format!("/api/chats/{chat}/messages")).await;
    let live: Vec<String> = remaining.body["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["deletedAt"].is_null())
        .map(id)
        .collect();
    assert_eq!(live, vec![id(&alices)]);
    let list = carol.get("/api/chats").await;
    assert_eq!(list.body[0]["unreadCount"], 1, "tombstones are not unread");
    bob.put(
        &format!("/api/messages/{}", id(&own)),
        json!({"content": "undo"}),
    )
    .await
    .assert_error(400, "validation_failed");
}

#[tokio::test]
async fn reactions_are_one_per_person_and_grouped_by_emoji() {
    let app = TestApp::spawn().await;
    let (alice, bob, carol, dave, chat) = app.group_of_three_and_an_outsider("Group").await;
    let message = send(&alice, &chat, "react to me").await;
    let path = format!("/api/messages/{}/reactions", id(&message));
    let mut alice_s = alice.connect().await;
    let mut bob_s = bob.connect().await;
    let mut carol_s = carol.connect().await;
    let mut dave_s = dave.connect().await;

    let first = bob.post(&path, json!({"emoji": "👍"})).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(
        first.body["reactions"],
        json!([{"emoji": "👍", "count": 1, "userIds": [bob.id]}])
    );
    for socket in [&mut alice_s, &mut bob_s, &mut carol_s] {
        let event = socket.next_event("message_reaction").await;
        assert_eq!(event.data["messageId"], message["id"]);
        assert_eq!(event.data["chatId"], chat.as_str());
        assert_eq!(event.data["userId"], bob.id.as_str());
        assert_eq!(event.data["emoji"], "👍");
        assert_eq!(event.data["reactions"], first.body["reactions"]);
    }
    quiet("message_reaction", &mut [&mut dave_s]).await;

    let second = carol.post(&path, json!({"emoji": "👍"})).await;
    assert_eq!(
        second.body["reactions"],
        json!([{"emoji": "👍", "count": 2, "userIds": [bob.id, carol.id]}])
    );
    let replaced = bob.post(&path, json!({"emoji": "❤️"})).await;
    assert_eq!(
        replaced.body["reactions"],
        json!([{"emoji": "👍", "count": 1, "userIds": [carol.id]},
               {"emoji": "❤️", "count": 1, "userIds": [bob.id]}])
    );
    let seen = newest(&alice, &chat).await;
    assert_eq!(seen["reactions"], replaced.body["reactions"]);
    for _ in 0..2 {
        alice_s.next_event("message_reaction").await;
    }

    let removed = bob.delete(&path).await;
    assert_eq!(removed.status, 200, "{}", removed.body);
    assert_eq!(
        removed.body["reactions"],
        json!([{"emoji": "👍", "count": 1, "userIds": [carol.id]}])
    );
    let event = alice_s.next_event("message_reaction").await;
    assert_eq!(event.data["emoji"], Value::Null);
    assert_eq!(event.data["userId"], bob.id.as_str());

    let ack = carol_s
        .emit_with_ack("react", json!({"messageId": message["id"], "emoji": null}))
        .await;
    assert_eq!(ack, json!({"reactions": []}));
    let event = alice_s.next_event("message_reaction").await;
    assert_eq!(event.data["reactions"], json!([]));
    let ack = carol_s
        .emit_with_ack("react", json!({"messageId": message["id"], "emoji": "🎉"}))
        .await;
    assert_eq!(ack["reactions"][0]["emoji"], "🎉", "{ack}");

    bob.post(&path, json!({"emoji": "nice"}))
        .await
        .assert_error(400, "validation_failed");
    bob.post(&path, json!({"emoji": ""}))
        .await
        .assert_error(400, "validation_failed");
    dave.post(&path, json!({"emoji": "👍"}))
        .await
        .assert_error(404, "not_found");
    dave.delete(&path).await.assert_error(404, "not_found");
    quiet("message_reaction", &mut [&mut dave_s]).await;
}

#[tokio::test]
async fn stars_are_private_and_the_starred_list_pages() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let dave = app.register("dave").await;
    let chat = direct(&alice, &bob).await;
    let mut starred = Vec::new();
    for n in 0..3 {
        let message = send(&bob, &chat, &format!("star {n}")).await;
        let resp = alice
            .post(&format!("/api/messages/{}/star", id(&message)), json!({}))
            .await;
        assert_eq!(resp.status, 200, "{}", resp.body);
        starred.push(id(&message));
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    send(&bob, &chat, "not starred").await;

    let page = alice.get("/api/messages/starred?limit=2").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(
        ids(&page.body),
        vec![starred[2].clone(), starred[1].clone()]
    );
    assert_eq!(page.body["hasMore"], true);
    assert_eq!(page.body["messages"][0]["starred"], true);
    let cursor = page.body["nextCursor"].as_str().expect("cursor");
    let rest = alice
        .get(&format!("/api/messages/starred?limit=2&cursor={cursor}"))
        .await;
    assert_eq!(ids(&rest.body), vec![starred[0].clone()]);
    assert_eq!(rest.body["hasMore"], false);
    assert_eq!(rest.body["nextCursor"], Value::Null);

    let bobs = bob.get("/api/messages/starred").await;
    assert_eq!(bobs.body["messages"], json!([]), "stars are per user");
    let again = alice
        .post(&format!("/api/messages/{}/star", starred[0]), json!({}))
        .await;
    assert_eq!(again.status, 200, "starring twice is harmless");
    let unstar = alice
        .delete(&format!("/api/messages/{}/star", starred[1]))
        .await;
    assert_eq!(unstar.status, 200, "{}", unstar.body);
    let all = alice.get("/api/messages/starred").await;
    assert_eq!(ids(&all.body), vec![starred[2].clone(), starred[0].clone()]);
    dave.post(&format!("/api/messages/{}/star", starred[0]), json!({}))
        .await
        .assert_error(404, "not_found");
    alice
        .get("/api/messages/starred?cursor=nonsense")
        .await
        .assert_error(400, "validation_failed");
}

#[tokio::test]
async fn pins_are_shared_by_the_chat_and_announced_to_its_members() {
    let app = TestApp::spawn().await;
    let (alice, bob, carol, dave, chat) = app.group_of_three_and_an_outsider("Group").await;
    let elsewhere = direct(&alice, &dave).await;
    let message = send(&alice, &chat, "important").await;
    let foreign = send(&alice, &elsewhere, "not here").await;
    let mut alice_s = alice.connect().await;
    let mut bob_s = bob.connect().await;
    let mut carol_s = carol.connect().await;
    let mut dave_s = dave.connect().await;
    let pins = format!("/api/chats/{chat}/pins");

    let pinned = bob.post(&pins, json!({"messageId": message["id"]})).await;
    assert_eq!(pinned.status, 201, "{}", pinned.body);
    for socket in [&mut alice_s, &mut bob_s, &mut carol_s] {
        let event = socket.next_event("message_pinned").await;
        assert_eq!(event.data["messageId"], message["id"]);
        assert_eq!(event.data["chatId"], chat.as_str());
        assert_eq!(event.data["userId"], bob.id.as_str());
    }
    quiet("message_pinned", &mut [&mut dave_s]).await;
    let again = carol.post(&pins, json!({"messageId": message["id"]})).await;
    assert_eq!(again.status, 200, "{}", again.body);
    quiet("message_pinned", &mut [&mut alice_s, &mut bob_s]).await;

    let list = carol.get(&pins).await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(ids(&list.body), vec![id(&message)]);
    alice
        .post(&pins, json!({"messageId": foreign["id"]}))
        .await
        .assert_error(404, "not_found");
    dave.get(&pins).await.assert_error(404, "not_found");

    let unpinned = carol.delete(&format!("{pins}/{}", id(&message))).await;
    assert_eq!(unpinned.status, 200, "{}", unpinned.body);
    for socket in [&mut alice_s, &mut bob_s, &mut carol_s] {
        let event = socket.next_event("message_unpinned").await;
        assert_eq!(event.data["messageId"], message["id"]);
    }
    quiet("message_unpinned", &mut [&mut dave_s]).await;
    assert_eq!(carol.get(&pins).await.body["messages"], json!([]));
    carol
        .delete(&format!("{pins}/{}", id(&message)))
        .await
        .assert_error(404, "not_found");
}

#[tokio::test]
async fn history_pages_newest_first_without_duplicates_or_holes() {
    let app = TestApp::spawn().await;
    let (alice, bob, chat) = app.two_with_a_chat().await;
    let mut sent = Vec::new();
    for n in 0..25 {
        let author = if n % 3 == 0 { &bob } else { &alice };
        sent.push(id(&send(author, &chat, &format!("message {n}")).await));
    }

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/chats/{chat}/messages?limit=10&cursor={c}"),
            None => format!("/api/chats/{chat}/messages?limit=10"),
        };
        let page = bob.get(&path).await;
        assert_eq!(page.status, 200, "{}", page.body);
        pages += 1;
        let batch = ids(&page.body);
        seen.extend(batch.clone());
        if pages < 3 {
            assert_eq!(batch.len(), 10);
            assert_eq!(page.body["hasMore"], true);
            cursor = Some(page.body["nextCursor"].as_str().expect("cursor").to_owned());
        } else {
            assert_eq!(batch.len(), 5);
            assert_eq!(page.body["hasMore"], false);
            assert_eq!(page.body["nextCursor"], Value::Null);
            break;
        }
    }
    let expected: Vec<String> = sent.iter().rev().cloned().collect();
    assert_eq!(seen, expected, "newest first, every message once");

    let exact = bob
        .get(&format!("/api/chats/{chat}/messages?limit=25"))
        .await;
    assert_eq!(exact.body["hasMore"], false);
    assert_eq!(exact.body["nextCursor"], Value::Null);
    let default = bob.get(&format!("/api/chats/{chat}/messages")).await;
    assert_eq!(ids(&default.body).len(), 25);

    // Gap fill: what came after a message, oldest first.
    let after = bob
        .get(&format!(
            "/api/chats/{chat}/messages?after={}&limit=10",
            sent[4]
        ))
        .await;
    assert_eq!(after.status, 200, "{}", after.body);
    assert_eq!(ids(&after.body), sent[5..15].to_vec());
    assert_eq!(after.body["hasMore"], true);
    let tail = bob
        .get(&format!("/api/chats/{chat}/messages?after={}", sent[20]))
        .await;
    assert_eq!(ids(&tail.body), sent[21..].to_vec());
    assert_eq!(tail.body["hasMore"], false);
    let newest_after = bob
        .get(&format!("/api/chats/{chat}/messages?after={}", sent[24]))
        .await;
    assert_eq!(newest_after.body["messages"], json!([]));
}

#[tokio::test]
async fn history_pages_stay_stable_while_new_messages_arrive() {
    let app = TestApp::spawn().await;
    let (alice, bob, chat) = app.two_with_a_chat().await;
    let mut sent = Vec::new();
    for n in 0..25 {
        sent.push(id(&send(&alice, &chat, &format!("old {n}")).await));
    }

    let first = bob
        .get(&format!("/api/chats/{chat}/messages?limit=10"))
        .await;
    let mut seen = ids(&first.body);
    let mut cursor = first.body["nextCursor"]
        .as_str()
        .expect("cursor")
        .to_owned();
    let writer = {
        let (alice, bob, chat) = (alice.clone(), bob.clone(), chat.clone());
        tokio::spawn(async move {
            for n in 0..12 {
                let author = if n % 2 == 0 { &alice } else { &bob };
                send(author, &chat, &format!("new {n}")).await;
            }
        })
    };
    loop {
        let page = bob
            .get(&format!(
                "/api/chats/{chat}/messages?limit=10&cursor={cursor}"
            ))
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        seen.extend(ids(&page.body));
        match page.body["nextCursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::timeout(Duration::from_secs(10), writer)
        .await
        .expect("writer finishes")
        .expect("writer ok");
    let expected: Vec<String> = sent.iter().rev().cloned().collect();
    assert_eq!(seen, expected, "no newcomer slips behind the cursor");

    let fill = bob
        .get(&format!("/api/chats/{chat}/messages?after={}", sent[24]))
        .await;
    let newcomers = contents(&fill.body);
    let wanted: Vec<String> = (0..12).map(|n| format!("new {n}")).collect();
    assert_eq!(newcomers, wanted);
}

#[tokio::test]
async fn malformed_history_parameters_are_refused() {
    let app = TestApp::spawn().await;
    let (alice, _bob, chat) = app.two_with_a_chat().await;
    let message = send(&alice, &chat, "anchor").await;
    let base = format!("/api/chats/{chat}/messages");
    for query in [
        "cursor=not-a-cursor",
        "cursor=bm90LWEtY3Vyc29y",
        "cursor=",
        "limit=0",
        "limit=101",
        "limit=-1",
        "limit=abc",
        "limit=1.5",
        "after=not-a-uuid",
    ] {
        let resp = alice.get(&format!("{base}?{query}")).await;
        resp.assert_error(400, "validation_failed");
    }
    let both = alice
        .get(&format!("{base}?after={}&cursor=x", id(&message)))
        .await;
    assert_eq!(both.status, 400, "{}", both.body);
    let foreign = alice
        .get(&format!("{base}?after={}", uuid::Uuid::now_v7()))
        .await;
    assert_eq!(foreign.status, 400, "{}", foreign.body);
    let ok = alice.get(&format!("{base}?limit=100")).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    let one = alice.get(&format!("{base}?limit=1")).await;
    assert_eq!(ids(&one.body), vec![id(&message)]);
}

#[tokio::test]
async fn group_receipts_go_from_sent_to_delivered_to_read_and_only_the_sender_hears_of_them() {
    let app = TestApp::spawn().await;
    let (alice, bob, carol, dave, chat) = app.group_of_three_and_an_outsider("Group").await;
    let mut alice_s = alice.connect().await;
    let mut bob_s = bob.connect().await;
    let mut carol_s = carol.connect().await;
    let mut dave_s = dave.connect().await;

    let ack = alice_s
        .emit_with_ack(
            "send_message",
            json!({"chatId": chat, "content": "status?"}),
        )
        .await;
    let message_id = id(&ack["message"]);
    assert_eq!(ack["message"]["status"], "sent");

    let to_bob = bob_s.next_event("new_message").await;
    bob_s.ack(to_bob.ack_id.expect("ack wanted"), json!({}));
    let delivered = alice_s.next_event("message_delivered").await;
    assert_eq!(delivered.data["messageId"], message_id.as_str());
    assert_eq!(delivered.data["chatId"], chat.as_str());
    assert_eq!(delivered.data["userId"], bob.id.as_str());
    assert!(delivered.data["deliveredAt"].is_string());
    quiet(
        "message_delivered",
        &mut [&mut bob_s, &mut carol_s, &mut dave_s],
    )
    .await;
    assert_eq!(
        newest(&alice, &chat).await["status"],
        "sent",
        "carol has not got it"
    );

    let to_carol = carol_s.next_event("new_message").await;
    carol_s.ack(to_carol.ack_id.expect("ack wanted"), json!({}));
    let delivered = alice_s.next_event("message_delivered").await;
    assert_eq!(delivered.data["userId"], carol.id.as_str());
    let seen = newest(&alice, &chat).await;
    assert_eq!(seen["status"], "delivered");
    assert_eq!(seen["readBy"], json!([]));

    let read = bob
        .post(&format!("/api/chats/{chat}/read"), json!({}))
        .await;
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(read.body["unreadCount"], 0);
    assert!(read.body["lastReadAt"].is_string(), "{}", read.body);
    for socket in [&mut alice_s, &mut bob_s] {
        let event = socket.next_event("message_read").await;
        assert_eq!(event.data["messageId"], message_id.as_str());
        assert_eq!(event.data["chatId"], chat.as_str());
        assert_eq!(event.data["userId"], bob.id.as_str());
        assert!(event.data["readAt"].is_string());
    }
    quiet("message_read", &mut [&mut carol_s, &mut dave_s]).await;
    let seen = newest(&alice, &chat).await;
    assert_eq!(seen["status"], "delivered");
    assert_eq!(seen["readBy"], json!([bob.id]));

    let ack = carol_s
        .emit_with_ack("mark_read", json!({"messageId": message_id}))
        .await;
    assert_eq!(ack, json!({"ok": true}));
    assert_eq!(
        alice_s.next_event("message_read").await.data["userId"],
        carol.id.as_str()
    );
    let seen = newest(&alice, &chat).await;
    assert_eq!(seen["status"], "read");
    assert_eq!(seen["isRead"], true);
    let read_by: Vec<&str> = seen["readBy"]
        .as_array()
        .expect("readBy")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(read_by.contains(&bob.id.as_str()) && read_by.contains(&carol.id.as_str()));

    let receipts = alice
        .get(&format!("/api/messages/{message_id}/receipts"))
        .await;
    assert_eq!(receipts.status, 200, "{}", receipts.body);
    for list in ["deliveredTo", "readBy"] {
        let entries = receipts.body[list].as_array().expect("list");
        let mut users: Vec<&str> = entries
            .iter()
            .filter_map(|e| e["userId"].as_str())
            .collect();
        users.sort();
        let mut expected = vec![bob.id.as_str(), carol.id.as_str()];
        expected.sort();
        assert_eq!(users, expected, "{list}: {}", receipts.body);
        assert!(entries.iter().all(|e| e["at"].is_string()));
    }
    bob.get(&format!("/api/messages/{message_id}/receipts"))
        .await
        .assert_error(403, "forbidden");
    dave.get(&format!("/api/messages/{message_id}/receipts"))
        .await
        .assert_error(404, "not_found");
}

#[tokio::test]
async fn with_one_member_offline_the_online_member_still_acks_delivery_and_the_other_catches_up() {
    // The server waits for acks only from members with a socket; skipping the offline one
    // loses neither the online one's receipt nor the offline one's later delivery.
    let app = TestApp::spawn().await;
    let (alice, bob, carol, _dave, chat) = app.group_of_three_and_an_outsider("Group").await;
    let mut alice_s = alice.connect().await;
    let mut bob_s = bob.connect().await;

    let ack = alice_s
        .emit_with_ack(
            "send_message",
            json!({"chatId": chat, "content": "anyone?"}),
        )
        .await;
    let message_id = id(&ack["message"]);
    let to_bob = bob_s.next_event("new_message").await;
    bob_s.ack(to_bob.ack_id.expect("ack wanted"), json!({}));
    let delivered = alice_s.next_event("message_delivered").await;
    assert_eq!(delivered.data["userId"], bob.id.as_str());
    assert_eq!(delivered.data["messageId"], message_id.as_str());
    assert_eq!(
        newest(&alice, &chat).await["status"],
        "sent",
        "carol is offline"
    );

    let delivered = carol
        .post(
            "/api/messages/delivered",
            json!({"messageIds": [message_id]}),
        )
        .await;
    assert_eq!(delivered.status, 200, "{}", delivered.body);
    let event = alice_s.next_event("message_delivered").await;
    assert_eq!(event.data["userId"], carol.id.as_str());
    assert_eq!(newest(&alice, &chat).await["status"], "delivered");
}

#[tokio::test]
async fn reading_a_chat_reports_what_is_left_unread_and_the_socket_marks_delivery_and_reading() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let chat = direct(&alice, &bob).await;
    let first = send(&alice, &chat, "one").await;
    let second = send(&alice, &chat, "two").await;
    send(&alice, &chat, "three").await;
    let mut alice_s = alice.connect().await;
    let mut bob_s = bob.connect().await;
    let mut carol_s = carol.connect().await;

    let ack = bob_s
        .emit_with_ack(
            "mark_delivered",
            json!({"messageIds": [first["id"], second["id"]]}),
        )
        .await;
    assert_eq!(ack, json!({"ok": true}));
    let delivered = alice_s.next_event("message_delivered").await;
    assert_eq!(
        delivered.data["messageId"], second["id"],
        "up to the newest named"
    );
    assert_eq!(delivered.data["userId"], bob.id.as_str());
    quiet("message_delivered", &mut [&mut bob_s, &mut carol_s]).await;

    let partial = bob
        .post(
            &format!("/api/chats/{chat}/read"),
            json!({"messageId": first["id"]}),
        )
        .await;
    assert_eq!(partial.status, 200, "{}", partial.body);
    assert_eq!(partial.body["unreadCount"], 2);
    assert_eq!(
        alice_s.next_event("message_read").await.data["messageId"],
        first["id"]
    );
    assert_eq!(bob.get("/api/chats").await.body[0]["unreadCount"], 2);

    let ack = bob_s
        .emit_with_ack("mark_read", json!({"messageId": second["id"]}))
        .await;
    assert_eq!(ack, json!({"ok": true}));
    assert_eq!(
        alice_s.next_event("message_read").await.data["messageId"],
        second["id"]
    );
    assert_eq!(bob.get("/api/chats").await.body[0]["unreadCount"], 1);

    // Reading an older message again changes nothing and tells no one.
    let again = bob
        .post(&format!("/api/messages/{}/read", id(&first)), json!({}))
        .await;
    assert_eq!(again.status, 200, "{}", again.body);
    quiet("message_read", &mut [&mut alice_s, &mut carol_s]).await;

    let rest = bob
        .request(
            reqwest::Method::POST,
            &format!("/api/chats/{chat}/read"),
            None,
        )
        .await;
    assert_eq!(rest.status, 200, "no body is fine: {}", rest.body);
    assert_eq!(rest.body["unreadCount"], 0);
    let pages = alice.get(&format!("/api/chats/{chat}/messages")).await;
    assert!(
        pages.body["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .all(|m| m["status"] == "read")
    );
    carol
        .post(&format!("/api/chats/{chat}/read"), json!({}))
        .await
        .assert_error(404, "not_found");
    let foreign = bob
        .post(
            &format!("/api/chats/{chat}/read"),
            json!({"messageId": uuid::Uuid::now_v7().to_string()}),
        )
        .await;
    foreign.assert_error(404, "not_found");
}

#[tokio::test]
async fn a_reader_with_read_receipts_off_is_never_reported_as_having_read() {
    let app = TestApp::spawn().await;
    let (alice, bob, chat) = app.two_with_a_chat().await;
    let settings = bob
        .put("/api/users/me/settings", json!({"readReceipts": false}))
        .await;
    assert_eq!(settings.status, 200, "{}", settings.body);
    let message = send(&alice, &chat, "did you read this?").await;
    let mut alice_s = alice.connect().await;
    let mut bob_1 = bob.connect().await;
    let mut bob_2 = bob.connect().await;

    let ack = bob_1
        .emit_with_ack("mark_read", json!({"messageId": message["id"]}))
        .await;
    assert_eq!(ack, json!({"ok": true}));
    for socket in [&mut bob_1, &mut bob_2] {
        let event = socket.next_event("message_read").await;
        assert_eq!(event.data["userId"], bob.id.as_str());
    }
    quiet("message_read", &mut [&mut alice_s]).await;
    let delivered = alice_s.next_event("message_delivered").await;
    assert_eq!(
        delivered.data["userId"],
        bob.id.as_str(),
        "read implies delivered"
    );

    let seen = newest(&alice, &chat).await;
    assert_eq!(seen["readBy"], json!([]));
    assert_eq!(seen["status"], "delivered");
    let receipts = alice
        .get(&format!("/api/messages/{}/receipts", id(&message)))
        .await;
    assert_eq!(receipts.body["readBy"], json!([]), "{}", receipts.body);
    assert_eq!(
        receipts.body["deliveredTo"][0]["userId"],
        bob.id.as_str(),
        "{}",
        receipts.body
    );
    assert_eq!(bob.get("/api/chats").await.body[0]["unreadCount"], 0);
}

#[tokio::test]
async fn typing_reaches_the_other_members_only() {
    let app = TestApp::spawn().await;
    let (alice, bob, carol, dave, chat) = app.group_of_three_and_an_outsider("Group").await;
    let mut alice_s = alice.connect().await;
    let mut bob_s = bob.connect().await;
    let mut carol_s = carol.connect().await;
    let mut dave_s = dave.connect().await;

    let ack = alice_s
        .emit_with_ack("typing_start", json!({"chatId": chat}))
        .await;
    assert_eq!(ack, json!({"ok": true}));
    for socket in [&mut bob_s, &mut carol_s] {
        let event = socket.next_event("user_typing").await;
        assert_eq!(
            event.data,
            json!({"chatId": chat, "userId": alice.id, "username": "alice"})
        );
    }
    quiet("user_typing", &mut [&mut alice_s, &mut dave_s]).await;
    // A repeated start only renews it.
    alice_s
        .emit_with_ack("typing_start", json!({"chatId": chat}))
        .await;
    quiet("user_typing", &mut [&mut bob_s, &mut carol_s]).await;

    let ack = alice_s
        .emit_with_ack("typing_stop", json!({"chatId": chat}))
        .await;
    assert_eq!(ack, json!({"ok": true}));
    for socket in [&mut bob_s, &mut carol_s] {
        let event = socket.next_event("user_stopped_typing").await;
        assert_eq!(
            event.data,
            json!({"chatId": chat, "userId": alice.id, "username": "alice"})
        );
    }
    quiet("user_stopped_typing", &mut [&mut alice_s, &mut dave_s]).await;
    alice_s
        .emit_with_ack("typing_stop", json!({"chatId": chat}))
        .await;
    quiet("user_stopped_typing", &mut [&mut bob_s, &mut carol_s]).await;
}

#[tokio::test]
async fn typing_ends_by_itself_when_no_stop_comes() {
    let app = TestApp::spawn_with(|c| c.messages.typing_timeout_secs = 1).await;
    let (alice, bob, chat) = app.two_with_a_chat().await;
    let mut alice_s = alice.connect().await;
    let mut bob_s = bob.connect().await;

    alice_s
        .emit_with_ack("typing_start", json!({"chatId": chat}))
        .await;
    bob_s.next_event("user_typing").await;
    let stopped = bob_s
        .try_next_event("user_stopped_typing", Duration::from_secs(3))
        .await
        .expect("typing expires within 3 s");
    assert_eq!(stopped.data["userId"], alice.id.as_str());
    quiet("user_stopped_typing", &mut [&mut alice_s, &mut bob_s]).await;
}

#[tokio::test]
async fn typing_ends_when_the_typer_disconnects() {
    let app = TestApp::spawn().await;
    let (alice, bob, chat) = app.two_with_a_chat().await;
    let alice_s = {
        let mut socket = alice.connect().await;
        socket
            .emit_with_ack("typing_start", json!({"chatId": chat}))
            .await;
        socket
    };
    let mut bob_s = bob.connect().await;
    // Bob connected after the start; make sure the start happened, then drop alice.
    alice_s.close();
    let stopped = bob_s
        .try_next_event("user_stopped_typing", Duration::from_secs(3))
        .await
        .expect("typing ends when the typer leaves, well before the 6 s timeout");
    assert_eq!(stopped.data["chatId"], chat.as_str());
    assert_eq!(stopped.data["userId"], alice.id.as_str());
}

/// Messages sent before the sync point and changed after it (edited, deleted for everyone,
/// reacted to) come back from sync; untouched older ones do not (migration 0006 finds changes
/// through an index of changed messages only).
#[tokio::test]
async fn sync_returns_older_messages_changed_since_the_cursor() {
    let app = TestApp::spawn().await;
    let (alice, bob, chat) = app.two_with_a_chat().await;
    let untouched = id(&send(&alice, &chat, "left alone").await);
    let edited = id(&send(&alice, &chat, "tpyo").await);
    let deleted = id(&send(&alice, &chat, "oops").await);
    let reacted = id(&send(&alice, &chat, "nice").await);
    // A sync point looks 2 s back (late commits); these four must lie before it.
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let start = bob.get("/api/sync").await;
    let cursor = start.body["nextCursor"]
        .as_str()
        .expect("cursor")
        .to_owned();
    tokio::time::sleep(Duration::from_millis(5)).await;

    let edit = alice
        .put(
            &format!("/api/messages/{edited}"),
            json!({"content": "typo"}),
        )
        .await;
    assert_eq!(edit.status, 200, "{}", edit.body);
    let gone = alice
        .delete(&format!("/api/messages/{deleted}?scope=everyone"))
        .await;
    assert_eq!(gone.status, 200, "{}", gone.body);
    let react = bob
        .post(
            &format!("/api/messages/{reacted}/reactions"),
            json!({"emoji": "👍"}),
        )
        .await;
    assert_eq!(react.status, 200, "{}", react.body);

    let caught_up = bob.get(&format!("/api/sync?since={cursor}")).await;
    assert_eq!(caught_up.status, 200, "{}", caught_up.body);
    let got = ids(&caught_up.body);
    assert_eq!(got, vec![edited, deleted, reacted], "oldest change first");
    assert!(!got.contains(&untouched));
}

#[tokio::test]
async fn a_reconnecting_client_catches_up_with_sync_and_the_fetch_records_delivery() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let chat = direct(&alice, &bob).await;
    let unrelated = direct(&alice, &carol).await;

    let start = bob.get("/api/sync").await;
    assert_eq!(start.status, 200, "{}", start.body);
    assert_eq!(start.body["messages"], json!([]));
    let cursor = start.body["nextCursor"]
        .as_str()
        .expect("cursor")
        .to_owned();

    let mut alice_s = alice.connect().await;
    let mut sent = Vec::new();
    for n in 0..3 {
        sent.push(id(&send(
            &alice,
            &chat,
            &format!("while you were away {n}"),
        )
        .await));
    }
    send(&alice, &unrelated, "not for bob").await;

    let caught_up = bob.get(&format!("/api/sync?since={cursor}")).await;
    assert_eq!(caught_up.status, 200, "{}", caught_up.body);
    let got = ids(&caught_up.body);
    assert_eq!(got, sent, "oldest change first, only bob's chats");
    let chats: Vec<String> = caught_up.body["chats"]
        .as_array()
        .expect("chats")
        .iter()
        .map(id)
        .collect();
    assert_eq!(chats, vec![chat.clone()]);
    assert!(caught_up.body["nextCursor"].is_string());
    let delivered = alice_s.next_event("message_delivered").await;
    assert_eq!(delivered.data["userId"], bob.id.as_str());
    assert_eq!(delivered.data["messageId"], sent[2].as_str());
    assert_eq!(newest(&alice, &chat).await["status"], "delivered");

    let list = bob.get("/api/chats").await;
    assert_eq!(list.body[0]["id"], chat.as_str());
    assert_eq!(list.body[0]["unreadCount"], 3);
    bob.get("/api/sync?since=garbage")
        .await
        .assert_error(400, "validation_failed");
}

#[tokio::test]
async fn search_finds_whole_words_in_my_own_chats_newest_first() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let dave = app.register("dave").await;
    let chat = direct(&alice, &bob).await;
    let theirs = direct(&carol, &dave).await;
    let first = send(&alice, &chat, "hello there").await;
    let second = send(&bob, &chat, "well hello again").await;
    send(&alice, &chat, "othello is a play").await;
    let third = send(&alice, &chat, "HELLO in capitals").await;
    let doomed = send(&bob, &chat, "hello to be deleted").await;
    let private = send(&alice, &chat, "hello hidden for bob").await;
    send(&dave, &theirs, "hello from dave").await;

    let deleted = bob
        .delete(&format!("/api/messages/{}?scope=everyone", id(&doomed)))
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    let hidden = bob
        .delete(&format!("/api/messages/{}?scope=me", id(&private)))
        .await;
    assert_eq!(hidden.status, 200, "{}", hidden.body);

    let page = bob.get("/api/messages/search?q=hello&limit=2").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(ids(&page.body), vec![id(&third), id(&second)]);
    assert_eq!(page.body["hasMore"], true);
    assert_eq!(page.body["messages"][0]["chat"]["id"], chat.as_str());
    assert_eq!(page.body["messages"][0]["chat"]["type"], "one_on_one");
    assert_eq!(page.body["messages"][0]["chat"]["name"], "alice");
    let cursor = page.body["nextCursor"].as_str().expect("cursor");
    let rest = bob
        .get(&format!(
            "/api/messages/search?q=hello&limit=2&cursor={cursor}"
        ))
        .await;
    assert_eq!(ids(&rest.body), vec![id(&first)]);
    assert_eq!(rest.body["hasMore"], false);
    assert_eq!(rest.body["nextCursor"], Value::Null);

    let alices = alice.get("/api/messages/search?q=hello").await;
    assert_eq!(
        ids(&alices.body),
        vec![id(&private), id(&third), id(&second), id(&first)],
        "hidden only for bob; deleted for everyone"
    );
    let daves = dave.get("/api/messages/search?q=hello").await;
    assert_eq!(contents(&daves.body), vec!["hello from dave"]);
    let filtered = alice
        .get(&format!("/api/messages/search?q=hello&chatId={chat}"))
        .await;
    assert_eq!(ids(&filtered.body).len(), 4);
    alice
        .get(&format!("/api/messages/search?q=hello&chatId={theirs}"))
        .await
        .assert_error(404, "not_found");
    let two_words = bob.get("/api/messages/search?q=hello%20again").await;
    assert_eq!(ids(&two_words.body), vec![id(&second)]);

    for q in [
        "hello%20OR%20%22x",
        "%22",
        "hello*",
        "-hello",
        "NEAR(hello",
        "hello%20%26%20there",
        "!hello",
        "col:hello",
        "%27hello",
        "(",
        "%5C",
    ] {
        let resp = bob.get(&format!("/api/messages/search?q={q}")).await;
        assert_eq!(resp.status, 200, "q={q}: {}", resp.body);
    }
    bob.get("/api/messages/search?q=")
        .await
        .assert_error(400, "validation_failed");
    bob.get("/api/messages/search?q=hello&chatId=nope")
        .await
        .assert_error(400, "validation_failed");
    bob.get("/api/messages/search?q=hello&limit=0")
        .await
        .assert_error(400, "validation_failed");
}

/// The full-text index is written behind the writer (migration 0005): a search right after a
/// burst of sends finds every one, and edits and deletes of messages both already indexed and
/// still waiting keep the index whole.
#[tokio::test]
async fn search_sees_every_acknowledged_send_and_edits_and_deletes_keep_the_index_whole() {
    let app = TestApp::spawn().await;
    let (alice, bob, chat) = app.two_with_a_chat().await;
    let path = format!("/api/chats/{chat}/messages");
    let sends = (0..120).map(|n| {
        let alice = &alice;
        let path = &path;
        async move {
            let resp = alice
                .post(path, json!({"content": format!("burst word{n} common")}))
                .await;
            assert_eq!(resp.status, 201, "{}", resp.body);
            resp.body
        }
    });
    let sent = futures_util::future::join_all(sends).await;
    // Edit and delete some at once, while their words may still wait for the index.
    for (n, message) in sent.iter().enumerate().take(20) {
        let target = format!("/api/messages/{}", id(message));
        let resp = if n % 2 == 0 {
            alice
                .put(&target, json!({"content": format!("edited{n} common")}))
                .await
        } else {
            alice.delete(&format!("{target}?scope=everyone")).await
        };
        assert_eq!(resp.status, 200, "{}", resp.body);
    }
    let all = bob.get("/api/messages/search?q=common&limit=100").await;
    assert_eq!(all.status, 200, "{}", all.body);
    assert_eq!(ids(&all.body).len(), 100);
    assert_eq!(all.body["hasMore"], true, "110 live messages hold the word");
    let last = bob.get("/api/messages/search?q=word119").await;
    assert_eq!(contents(&last.body), vec!["burst word119 common"]);
    let edited = bob.get("/api/messages/search?q=edited4").await;
    assert_eq!(contents(&edited.body), vec!["edited4 common"]);
    let replaced = bob.get("/api/messages/search?q=word4").await;
    assert!(
        contents(&replaced.body)
            .iter()
            .all(|c| c != "burst word4 common")
    );
    let deleted = bob.get("/api/messages/search?q=word5").await;
    assert!(ids(&deleted.body).iter().all(|i| *i != id(&sent[5])));
    // Edit and delete again now that everything is indexed.
    let target = format!("/api/messages/{}", id(&sent[30]));
    let resp = alice.put(&target, json!({"content": "later change"})).await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    let gone = alice
        .delete(&format!("/api/messages/{}?scope=everyone", id(&sent[31])))
        .await;
    assert_eq!(gone.status, 200, "{}", gone.body);
    let later = bob.get("/api/messages/search?q=later").await;
    assert_eq!(contents(&later.body), vec!["later change"]);
    assert!(ids(&bob.get("/api/messages/search?q=word31").await.body).is_empty());
    if !crate::helpers::on_postgres() {
        // FTS5's own check compares the index with the messages it was built from.
        app.execute("INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)")
            .await;
        let waiting = app.count("SELECT count(*) FROM search_pending").await;
        assert_eq!(waiting, 0, "a search indexes everything first");
    }
}

/// A searcher in very many chats is not named chat by chat to FTS5; the join still decides.
#[tokio::test]
async fn search_works_for_a_member_of_hundreds_of_chats() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let mut first = None;
    for n in 0..305 {
        let chat = group(&alice, &format!("g{n}"), &[]).await;
        first.get_or_insert(chat);
    }
    let first = first.expect("a chat");
    let shared = direct(&alice, &bob).await;
    send(&alice, &first, "needle in the first group").await;
    send(&bob, &shared, "needle from bob").await;
    let found = alice.get("/api/messages/search?q=needle").await;
    assert_eq!(
        contents(&found.body),
        vec!["needle from bob", "needle in the first group"]
    );
    let bobs = bob.get("/api/messages/search?q=needle").await;
    assert_eq!(contents(&bobs.body), vec!["needle from bob"]);
}

#[tokio::test]
async fn content_over_the_size_limit_is_413_and_empty_content_is_400() {
    let app = TestApp::spawn_with(|c| c.messages.max_content_bytes = 10).await;
    let (alice, bob, chat) = app.two_with_a_chat().await;
    let path = format!("/api/chats/{chat}/messages");
    let mut alice_s = alice.connect().await;
    let mut bob_s = bob.connect().await;

    alice
        .post(&path, json!({"content": "12345678901"}))
        .await
        .assert_error(413, "payload_too_large");
    alice
        .post(&path, json!({"content": "ééééé€"}))
        .await
        .assert_error(413, "payload_too_large");
    for empty in [json!({"content": ""}), json!({"content": "   "}), json!({})] {
        alice
            .post(&path, empty)
            .await
            .assert_error(400, "validation_failed");
    }
    alice
        .post(&path, json!({"content": "bell\u{7}"}))
        .await
        .assert_error(400, "validation_failed");
    let ack = alice_s
        .emit_with_ack(
            "send_message",
            json!({"chatId": chat, "content": "far too long"}),
        )
        .await;
    assert_eq!(ack["code"], "payload_too_large", "{ack}");
    let ack = alice_s
        .emit_with_ack("send_message", json!({"chatId": chat, "content": ""}))
        .await;
    assert_eq!(ack["code"], "validation_failed", "{ack}");
    quiet("new_message", &mut [&mut bob_s]).await;
    assert_eq!(app.count("SELECT count(*) FROM messages").await, 0);

    let fits = send(&alice, &chat, "1234567890").await;
    alice
        .put(
            &format!("/api/messages/{}", id(&fits)),
            json!({"content": "12345678901"}),
        )
        .await
        .assert_error(413, "payload_too_large");
}

#[tokio::test]
async fn the_fourth_send_within_a_minute_is_rate_limited() {
    let app = TestApp::spawn_with(|c| c.messages.sends_per_minute = 3).await;
    let (alice, bob, chat) = app.two_with_a_chat().await;
    let path = format!("/api/chats/{chat}/messages");
    for n in 0..3 {
        send(&alice, &chat, &format!("ok {n}")).await;
    }
    let mut alice_s = alice.connect().await;
    let mut bob_s = bob.connect().await;
    let limited = alice.post(&path, json!({"content": "one too many"})).await;
    limited.assert_error(429, "rate_limited");
    assert!(
        limited.headers.get("retry-after").is_some(),
        "Retry-After: {:?}",
        limited.headers
    );
    let ack = alice_s
        .emit_with_ack("send_message", json!({"chatId": chat, "content": "again"}))
        .await;
    assert_eq!(ack["code"], "rate_limited", "{ack}");
    quiet("new_message", &mut [&mut bob_s]).await;
    assert_eq!(app.count("SELECT count(*) FROM messages").await, 3);
    // The limit is per sender.
    send(&bob, &chat, "bob may still talk").await;
}

#[tokio::test]
async fn message_endpoints_answer_not_found_for_messages_outside_my_chats() {
    let app = TestApp::spawn().await;
    let (alice, bob, carol, dave, chat) = app.group_of_three_and_an_outsider("Group").await;
    let message = send(&alice, &chat, "members only").await;
    let message_id = id(&message);
    let mut alice_s = alice.connect().await;
    let mut bob_s = bob.connect().await;
    let removed = alice
        .delete(&format!("/api/chats/{chat}/members/{}", carol.id))
        .await;
    assert_eq!(removed.status, 200, "{}", removed.body);
    let dm = direct(&dave, &carol).await;

    for user in [&dave, &carol] {
        let m = format!("/api/messages/{message_id}");
        let calls = [
            user.put(&m, json!({"content": "x"})).await,
            user.delete(&m).await,
            user.delete(&format!("{m}?scope=everyone")).await,
            user.post(&format!("{m}/read"), json!({})).await,
            user.get(&format!("{m}/receipts")).await,
            user.post(&format!("{m}/reactions"), json!({"emoji": "👍"}))
                .await,
            user.delete(&format!("{m}/reactions")).await,
            user.post(&format!("{m}/forward"), json!({"chatIds": [dm]}))
                .await,
            user.post(&format!("{m}/star"), json!({})).await,
            user.delete(&format!("{m}/star")).await,
        ];
        for (i, resp) in calls.iter().enumerate() {
            assert_eq!(
                resp.status, 404,
                "{} call {i}: {}",
                user.username, resp.body
            );
            assert_eq!(resp.code(), "not_found", "{}", resp.body);
        }
        let delivered = user
            .post(
                "/api/messages/delivered",
                json!({"messageIds": [message_id]}),
            )
            .await;
        assert_eq!(delivered.status, 200, "{}", delivered.body);
        let search = user.get("/api/messages/search?q=members").await;
        assert_eq!(search.body["messages"], json!([]), "{}", search.body);
    }
    let unknown = uuid::Uuid::now_v7();
    alice
        .put(&format!("/api/messages/{unknown}"), json!({"content": "x"}))
        .await
        .assert_error(404, "not_found");
    alice
        .delete("/api/messages/not-an-id")
        .await
        .assert_error(400, "validation_failed");
    app.request(
        reqwest::Method::PUT,
        &format!("/api/messages/{message_id}"),
        None,
        Some(json!({"content": "anonymous"})),
    )
    .await
    .assert_error(401, "unauthorized");
    quiet("message_delivered", &mut [&mut alice_s]).await;
    quiet("message_updated", &mut [&mut alice_s, &mut bob_s]).await;
    quiet("message_reaction", &mut [&mut alice_s, &mut bob_s]).await;
    let intact = newest(&bob, &chat).await;
    assert_eq!(intact["content"], "members only");
    assert_eq!(intact["reactions"], json!([]));
    assert_eq!(
        app.count("SELECT count(*) FROM messages").await,
        1,
        "nothing forwarded"
    );
}

/// A burst of sends bigger than one insert statement (the group commit takes up to 1,024
/// writes a transaction; SQLite's insert statements hold 256 messages, PostgreSQL's 16) is
/// stored whole: each message once, each at its own time, a retried `clientId` refused.
#[tokio::test]
async fn a_burst_of_a_thousand_sends_is_stored_whole_each_message_once() {
    use letschat::domain::{ChatId, MessageId, Timestamp, UserId};
    use letschat::store::{InsertOutcome, NewMessage, Store};

    let app = TestApp::spawn().await;
    let (alice, _bob, chat) = app.two_with_a_chat().await;
    // The store itself, so that the whole burst is queued before its first commit starts.
    let store = Store::connect(&app.config.database_url(), 2)
        .await
        .expect("store");
    let chat_id = ChatId::parse(&chat).expect("chat id");
    let sender = UserId::parse(&alice.id).expect("user id");
    let new = |n: usize| NewMessage {
        id: MessageId::new(),
        chat_id,
        sender_id: sender,
        client_id: Some(format!("burst-{n:04}")),
        content: format!("burst {n:04}"),
        kind: "text".into(),
        file_id: None,
        reply_to_id: None,
        forwarded: false,
        now: Timestamp::now(),
    };
    let sends = (0..1000).map(|n| store.insert_message(new(n)));
    let outcomes = futures_util::future::join_all(sends).await;
    let stored = outcomes
        .into_iter()
        .filter(|o| matches!(o, Ok(InsertOutcome::Inserted { .. })))
        .count();
    assert_eq!(stored, 1000);
    let retry = store.insert_message(new(999)).await.expect("retry");
    assert!(
        matches!(retry, InsertOutcome::DuplicateClientId),
        "{retry:?}"
    );
    store.close().await;

    let burst = format!("FROM messages WHERE chat_id = '{chat}' AND content LIKE 'burst %'");
    assert_eq!(app.count(&format!("SELECT count(*) {burst}")).await, 1000);
    let distinct = |column: &str| format!("SELECT count(DISTINCT {column}) {burst}");
    assert_eq!(app.count(&distinct("client_id")).await, 1000);
    assert_eq!(app.count(&distinct("created_at")).await, 1000);
    let history = alice
        .get(&format!("/api/chats/{chat}/messages?limit=1"))
        .await;
    assert_eq!(history.status, 200, "{}", history.body);
    let newest = history.body["messages"][0]["content"]
        .as_str()
        .unwrap_or_default();
    assert!(newest.starts_with("burst "), "{}", history.body);
}
