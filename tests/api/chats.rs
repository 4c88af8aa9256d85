//! Chats: one-on-one and groups, members and roles, per-user settings, blocks, limits, and who
//! gets which event. Every event is checked on the sockets that should get it and, for a short
//! while, on those that must not.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, direct, group, id};
use crate::sio::SioClient;

/// How long a socket must stay silent to count as "got nothing".
pub const QUIET: Duration = Duration::from_millis(400);

/// Sends a text message over REST; returns the message.
pub async fn send(user: &TestUser, chat: &str, content: &str) -> Value {
    let resp = user
        .post(
            &format!("/api/chats/{chat}/messages"),
            json!({"content": content}),
        )
        .await;
    assert_eq!(resp.status, 201, "send: {}", resp.body);
    resp.body
}

/// Asserts that none of `sockets` gets `event` within [`QUIET`] (all waited on at once).
pub async fn quiet(event: &str, sockets: &mut [&mut SioClient]) {
    let waits = sockets
        .iter_mut()
        .map(|socket| socket.expect_no_event(event, QUIET));
    futures_util::future::join_all(waits).await;
}

/// The chat ids of a `GET /api/chats` answer, in order.
pub fn chat_ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not an array: {list}"))
        .iter()
        .map(id)
        .collect()
}

fn member<'a>(chat: &'a Value, user: &TestUser) -> &'a Value {
    chat["members"]
        .as_array()
        .and_then(|members| members.iter().find(|m| m["userId"] == user.id.as_str()))
        .unwrap_or_else(|| panic!("{} is not in {chat}", user.username))
}

#[tokio::test]
async fn a_one_on_one_chat_is_created_once_and_both_sides_get_the_same_chat() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let mut alice_s = alice.connect().await;
    let mut bob_s = bob.connect().await;
    let mut carol_s = carol.connect().await;

    let created = alice
        .post(
            "/api/chats",
            json!({"type": "one_on_one", "memberIds": [bob.id]}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let chat_id = id(&created.body);
    assert_eq!(created.body["type"], "one_on_one");
    assert_eq!(created.body["members"].as_array().map(Vec::len), Some(2));
    assert_eq!(created.body["name"], "bob", "named after the other member");
    assert_eq!(created.body["lastMessage"], Value::Null);
    assert_eq!(created.body["unreadCount"], 0);

    let to_alice = alice_s.next_event("chat_created").await;
    assert_eq!(to_alice.data["id"], chat_id.as_str());
    assert_eq!(to_alice.data["name"], "bob");
    let to_bob = bob_s.next_event("chat_created").await;
    assert_eq!(to_bob.data["id"], chat_id.as_str());
    assert_eq!(to_bob.data["name"], "alice");
    quiet("chat_created", &mut [&mut carol_s]).await;

    let again = alice
        .post(
            "/api/chats",
            json!({"type": "one_on_one", "memberIds": [bob.id]}),
        )
        .await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(id(&again.body), chat_id);
    let other_side = bob
        .post(
            "/api/chats",
            json!({"type": "one_on_one", "memberIds": [alice.id]}),
        )
        .await;
    assert_eq!(other_side.status, 200, "{}", other_side.body);
    assert_eq!(id(&other_side.body), chat_id);
    assert_eq!(other_side.body["name"], "alice");
    quiet(
        "chat_created",
        &mut [&mut alice_s, &mut bob_s, &mut carol_s],
    )
    .await;

    let with_self = alice
        .post(
            "/api/chats",
            json!({"type": "one_on_one", "memberIds": [alice.id]}),
        )
        .await;
    with_self.assert_error(400, "validation_failed");
    let two_others = alice
        .post(
            "/api/chats",
            json!({"type": "one_on_one", "memberIds": [bob.id, carol.id]}),
        )
        .await;
    two_others.assert_error(400, "validation_failed");
    let nobody = alice
        .post(
            "/api/chats",
            json!({"type": "one_on_one", "memberIds": [uuid::Uuid::now_v7().to_string()]}),
        )
        .await;
    nobody.assert_error(404, "not_found");
    assert_eq!(app.count("SELECT count(*) FROM chats").await, 1);
}

#[tokio::test]
async fn a_group_is_created_with_the_creator_as_admin_and_announced_to_each_member() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let dave = app.register("dave").await;
    let mut alice_s = alice.connect().await;
    let mut bob_s = bob.connect().await;
    let mut carol_s = carol.connect().await;
    let mut dave_s = dave.connect().await;

    let resp = alice
        .post(
            "/api/chats",
            json!({"type": "group", "name": "  Friends  ", "description": "weekend plans",
                   "memberIds": [bob.id, carol.id, bob.id, alice.id]}),
        )
        .await;
    assert_eq!(resp.status, 201, "{}", resp.body);
    let chat = &resp.body;
    let chat_id = id(chat);
    assert_eq!(chat["type"], "group");
    assert_eq!(chat["name"], "Friends");
    assert_eq!(chat["description"], "weekend plans");
    assert_eq!(chat["createdBy"], alice.id.as_str());
    assert_eq!(chat["members"].as_array().map(Vec::len), Some(3));
    assert_eq!(member(chat, &alice)["role"], "admin");
    assert_eq!(member(chat, &bob)["role"], "member");
    assert_eq!(member(chat, &carol)["role"], "member");
    for m in chat["members"].as_array().expect("members") {
        assert_eq!(m["chatId"], chat_id.as_str());
        assert_eq!(m["user"]["id"], m["userId"]);
        assert!(m["user"]["username"].is_string(), "{m}");
        assert!(m["user"]["displayName"].is_string(), "{m}");
        assert!(m["user"]["status"].is_string(), "{m}");
        assert!(m["user"].get("email").is_none(), "no email: {m}");
        assert!(m["joinedAt"].is_string(), "{m}");
    }
    assert!(
        !chat.to_string().contains("@example.com"),
        "no email anywhere: {chat}"
    );
    assert_eq!(chat["settings"]["muted"], false);
    assert_eq!(chat["settings"]["pinned"], false);

    for socket in [&mut alice_s, &mut bob_s, &mut carol_s] {
        let event = socket.next_event("chat_created").await;
        assert_eq!(event.data["id"], chat_id.as_str());
        assert_eq!(event.data["members"].as_array().map(Vec::len), Some(3));
    }
    quiet("chat_created", &mut [&mut dave_s]).await;

    let seen_by_bob = bob.get(&format!("/api/chats/{chat_id}")).await;
    assert_eq!(seen_by_bob.status, 200, "{}", seen_by_bob.body);
    assert_eq!(seen_by_bob.body["name"], "Friends");
    dave.get(&format!("/api/chats/{chat_id}"))
        .await
        .assert_error(404, "not_found");

    let nameless = alice
        .post(
            "/api/chats",
            json!({"type": "group", "memberIds": [bob.id]}),
        )
        .await;
    nameless.assert_error(400, "validation_failed");
    let bad_type = alice
        .post(
            "/api/chats",
            json!({"type": "channel", "name": "x", "memberIds": [bob.id]}),
        )
        .await;
    assert_eq!(bad_type.status, 400, "{}", bad_type.body);
}

#[tokio::test]
async fn the_chat_list_puts_pinned_chats_first_then_the_latest_activity_with_last_message_and_unread_count_per_user()
 {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let with_bob = direct(&alice, &bob).await;
    let with_carol = direct(&alice, &carol).await;
    let trio = group(&alice, "Trio", &[&bob, &carol]).await;

    send(&alice, &with_bob, "one").await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    send(&alice, &trio, "three").await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    send(&alice, &with_carol, "two").await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    send(&bob, &trio, "from bob").await;

    let list = alice.get("/api/chats").await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(
        chat_ids(&list.body),
        vec![trio.clone(), with_carol.clone(), with_bob.clone()]
    );
    let chats = list.body.as_array().expect("array");
    assert_eq!(chats[0]["lastMessage"]["content"], "from bob");
    assert_eq!(chats[0]["unreadCount"], 1);
    assert_eq!(chats[1]["lastMessage"]["content"], "two");
    assert_eq!(chats[1]["unreadCount"], 0);
    assert_eq!(chats[2]["lastMessage"]["content"], "one");
    assert_eq!(chats[2]["unreadCount"], 0);

    let bobs = bob.get("/api/chats").await;
    assert_eq!(chat_ids(&bobs.body), vec![trio.clone(), with_bob.clone()]);
    assert_eq!(bobs.body[0]["unreadCount"], 0, "his own message");
    assert_eq!(bobs.body[1]["unreadCount"], 1);
    assert_eq!(bobs.body[1]["lastMessage"]["content"], "one");

    let carols = carol.get("/api/chats").await;
    assert_eq!(carols.body[0]["unreadCount"], 2, "{}", carols.body);

    let pinned = alice
        .put(
            &format!("/api/chats/{with_bob}/settings"),
            json!({"pinned": true}),
        )
        .await;
    assert_eq!(pinned.status, 200, "{}", pinned.body);
    assert_eq!(pinned.body["settings"]["pinned"], true);
    let list = alice.get("/api/chats").await;
    assert_eq!(
        chat_ids(&list.body),
        vec![with_bob.clone(), trio.clone(), with_carol.clone()]
    );
    let bobs = bob.get("/api/chats").await;
    assert_eq!(
        chat_ids(&bobs.body),
        vec![trio, with_bob],
        "pins are per user"
    );
    assert_eq!(bobs.body[1]["settings"]["pinned"], false);
}

#[tokio::test]
async fn only_group_admins_change_group_info_and_every_member_sees_the_change() {
    let app = TestApp::spawn().await;
    let (alice, bob, carol, dave, chat) = app.group_of_three_and_an_outsider("Old name").await;
    let one_on_one = direct(&alice, &bob).await;
    let mut alice_s = alice.connect().await;
    let mut bob_s = bob.connect().await;
    let mut carol_s = carol.connect().await;
    let mut dave_s = dave.connect().await;

    let resp = alice
        .put(
            &format!("/api/chats/{chat}"),
            json!({"name": "New name", "description": "about us"}),
        )
        .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(resp.body["name"], "New name");
    assert_eq!(resp.body["description"], "about us");
    for socket in [&mut alice_s, &mut bob_s, &mut carol_s] {
        let event = socket.next_event("chat_updated").await;
        assert_eq!(event.data["id"], chat.as_str());
        assert_eq!(event.data["name"], "New name");
    }
    quiet("chat_updated", &mut [&mut dave_s]).await;

    let by_member = bob
        .put(&format!("/api/chats/{chat}"), json!({"name": "Bob's"}))
        .await;
    by_member.assert_error(403, "forbidden");
    dave.put(&format!("/api/chats/{chat}"), json!({"name": "Dave's"}))
        .await
        .assert_error(404, "not_found");
    alice
        .put(&format!("/api/chats/{chat}"), json!({"name": "   "}))
        .await
        .assert_error(400, "validation_failed");
    let direct_rename = alice
        .put(&format!("/api/chats/{one_on_one}"), json!({"name": "x"}))
        .await;
    assert_eq!(direct_rename.status, 400, "{}", direct_rename.body);
    quiet(
        "chat_updated",
        &mut [&mut alice_s, &mut bob_s, &mut carol_s, &mut dave_s],
    )
    .await;
    let still = carol.get(&format!("/api/chats/{chat}")).await;
    assert_eq!(still.body["name"], "New name");
}

#[tokio::test]
async fn admins_add_members_one_or_many_and_new_members_learn_of_the_chat() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let dave = app.register("dave").await;
    let erin = app.register("erin").await;
    let frank = app.register("frank").await;
    let chat = group(&alice, "Club", &[&bob]).await;
    let mut alice_s = alice.connect().await;
    let mut bob_s = bob.connect().await;
    let mut carol_s = carol.connect().await;
    let mut dave_s = dave.connect().await;

    let one = alice
        .post(
            &format!("/api/chats/{chat}/members"),
            json!({"memberId": carol.id}),
        )
        .await;
    assert_eq!(one.status, 201, "{}", one.body);
    assert_eq!(one.body["userId"], carol.id.as_str());
    assert_eq!(one.body["chatId"], chat.as_str());
    assert_eq!(one.body["role"], "member");
    assert_eq!(one.body["user"]["username"], "carol");
    assert!(one.body["user"].get("email").is_none(), "{}", one.body);

    for socket in [&mut alice_s, &mut bob_s] {
        let event = socket.next_event("member_added").await;
        assert_eq!(event.data["chatId"], chat.as_str());
        assert_eq!(event.data["member"]["userId"], carol.id.as_str());
        assert_eq!(event.data["member"]["user"]["username"], "carol");
    }
    let created = carol_s.next_event("chat_created").await;
    assert_eq!(created.data["id"], chat.as_str());
    assert_eq!(created.data["members"].as_array().map(Vec::len), Some(3));
    // Being a member once added, carol is told of her own arrival too.
    let own = carol_s.next_event("member_added").await;
    assert_eq!(own.data["member"]["userId"], carol.id.as_str());
    quiet("chat_created", &mut [&mut alice_s, &mut bob_s, &mut dave_s]).await;
    quiet("member_added", &mut [&mut dave_s]).await;

    let by_member = bob
        .post(
            &format!("/api/chats/{chat}/members"),
            json!({"memberId": dave.id}),
        )
        .await;
    by_member.assert_error(403, "forbidden");
    let by_outsider = dave
        .post(
            &format!("/api/chats/{chat}/members"),
            json!({"memberId": dave.id}),
        )
        .await;
    by_outsider.assert_error(404, "not_found");
    quiet("chat_created", &mut [&mut dave_s]).await;

    let many = alice
        .post(
            &format!("/api/chats/{chat}/members"),
            json!({"memberIds": [dave.id, erin.id]}),
        )
        .await;
    assert_eq!(many.status, 201, "{}", many.body);
    let added: Vec<&str> = many.body["members"]
        .as_array()
        .expect("members")
        .iter()
        .filter_map(|m| m["userId"].as_str())
        .collect();
    assert_eq!(added.len(), 2, "{}", many.body);
    assert!(added.contains(&dave.id.as_str()) && added.contains(&erin.id.as_str()));
    let created = dave_s.next_event("chat_created").await;
    assert_eq!(created.data["id"], chat.as_str());
    for socket in [&mut alice_s, &mut bob_s, &mut carol_s] {
        let mut seen = Vec::new();
        for _ in 0..2 {
            let event = socket.next_event("member_added").await;
            seen.push(event.data["member"]["userId"].as_str().map(str::to_owned));
        }
        assert!(seen.contains(&Some(dave.id.clone())) && seen.contains(&Some(erin.id.clone())));
    }

    let again = alice
        .post(
            &format!("/api/chats/{chat}/members"),
            json!({"memberId": bob.id}),
        )
        .await;
    again.assert_error(409, "conflict");
    let neither = alice
        .post(&format!("/api/chats/{chat}/members"), json!({}))
        .await;
    neither.assert_error(400, "validation_failed");
    let unknown = alice
        .post(
            &format!("/api/chats/{chat}/members"),
            json!({"memberId": uuid::Uuid::now_v7().to_string()}),
        )
        .await;
    unknown.assert_error(404, "not_found");
    let members = alice.get(&format!("/api/chats/{chat}")).await;
    assert_eq!(members.body["members"].as_array().map(Vec::len), Some(5));
    let _ = frank;
}

#[tokio::test]
async fn a_removed_member_gets_nothing_more_from_the_chat_and_can_no_longer_see_it() {
    let app = TestApp::spawn().await;
    let (alice, bob, carol, dave, chat) = app.group_of_three_and_an_outsider("Team").await;
    let earlier = send(&alice, &chat, "before the removal").await;
    let mut alice_s = alice.connect().await;
    let mut bob_s = bob.connect().await;
    let mut carol_s = carol.connect().await;
    let mut dave_s = dave.connect().await;

    bob.delete(&format!("/api/chats/{chat}/members/{}", carol.id))
        .await
        .assert_error(403, "forbidden");
    dave.delete(&format!("/api/chats/{chat}/members/{}", carol.id))
        .await
        .assert_error(404, "not_found");
    alice
        .delete(&format!("/api/chats/{chat}/members/{}", dave.id))
        .await
        .assert_error(404, "not_found");

    let removed = alice
        .delete(&format!("/api/chats/{chat}/members/{}", carol.id))
        .await;
    assert_eq!(removed.status, 200, "{}", removed.body);
    for socket in [&mut alice_s, &mut bob_s, &mut carol_s] {
        let event = socket.next_event("member_removed").await;
        assert_eq!(event.data["chatId"], chat.as_str());
        assert_eq!(event.data["userId"], carol.id.as_str());
    }
    let gone = carol_s.next_event("chat_deleted").await;
    assert_eq!(gone.data["chatId"], chat.as_str());
    quiet("member_removed", &mut [&mut dave_s]).await;
    quiet("chat_deleted", &mut [&mut alice_s, &mut bob_s]).await;

    // Carol's socket stays open, but the chat's events no longer reach it.
    send(&alice, &chat, "after the removal").await;
    for socket in [&mut alice_s, &mut bob_s] {
        let event = socket.next_event("new_message").await;
        assert_eq!(event.data["content"], "after the removal");
    }
    let typing = alice_s
        .emit_with_ack("typing_start", json!({"chatId": chat}))
        .await;
    assert_eq!(typing["ok"], true, "{typing}");
    bob_s.next_event("user_typing").await;
    quiet("new_message", &mut [&mut carol_s, &mut dave_s]).await;
    quiet("user_typing", &mut [&mut carol_s, &mut dave_s]).await;

    carol
        .get(&format!("/api/chats/{chat}"))
        .await
        .assert_error(404, "not_found");
    carol
        .get(&format!("/api/chats/{chat}/messages"))
        .await
        .assert_error(404, "not_found");
    carol
        .post(
            &format!("/api/chats/{chat}/messages"),
            json!({"content": "let me back"}),
        )
        .await
        .assert_error(404, "not_found");
    carol
        .post(&format!("/api/messages/{}/star", id(&earlier)), json!({}))
        .await
        .assert_error(404, "not_found");
    let ack = carol_s
        .emit_with_ack(
            "send_message",
            json!({"chatId": chat, "content": "socket try"}),
        )
        .await;
    assert_eq!(ack["code"], "not_found", "{ack}");
    assert!(ack["error"].is_string(), "{ack}");
    let list = carol.get("/api/chats").await;
    assert!(chat_ids(&list.body).is_empty(), "{}", list.body);
    quiet("new_message", &mut [&mut alice_s, &mut bob_s]).await;

    // Leaving oneself: allowed to a plain member.
    let left = bob
        .delete(&format!("/api/chats/{chat}/members/{}", bob.id))
        .await;
    assert_eq!(left.status, 200, "{}", left.body);
    for socket in [&mut alice_s, &mut bob_s] {
        let event = socket.next_event("member_removed").await;
        assert_eq!(event.data["userId"], bob.id.as_str());
    }
    quiet("member_removed", &mut [&mut carol_s, &mut dave_s]).await;
    let now = alice.get(&format!("/api/chats/{chat}")).await;
    assert_eq!(now.body["members"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn admins_change_roles_and_a_group_always_keeps_an_admin() {
    let app = TestApp::spawn().await;
    let (alice, bob, carol, dave, chat) = app.group_of_three_and_an_outsider("Roles").await;
    let mut alice_s = alice.connect().await;
    let mut bob_s = bob.connect().await;
    let mut carol_s = carol.connect().await;
    let mut dave_s = dave.connect().await;

    let demote_self = alice
        .put(
            &format!("/api/chats/{chat}/members/{}", alice.id),
            json!({"role": "member"}),
        )
        .await;
    demote_self.assert_error(409, "conflict");

    carol
        .put(
            &format!("/api/chats/{chat}/members/{}", carol.id),
            json!({"role": "admin"}),
        )
        .await
        .assert_error(403, "forbidden");
    dave.put(
        &format!("/api/chats/{chat}/members/{}", dave.id),
        json!({"role": "admin"}),
    )
    .await
    .assert_error(404, "not_found");
    let bad_role = alice
        .put(
            &format!("/api/chats/{chat}/members/{}", bob.id),
            json!({"role": "owner"}),
        )
        .await;
    assert_eq!(bad_role.status, 400, "{}", bad_role.body);
    alice
        .put(
            &format!("/api/chats/{chat}/members/{}", dave.id),
            json!({"role": "admin"}),
        )
        .await
        .assert_error(404, "not_found");
    quiet(
        "chat_updated",
        &mut [&mut alice_s, &mut bob_s, &mut carol_s],
    )
    .await;

    let promoted = alice
        .put(
            &format!("/api/chats/{chat}/members/{}", bob.id),
            json!({"role": "admin"}),
        )
        .await;
    assert_eq!(promoted.status, 200, "{}", promoted.body);
    assert_eq!(promoted.body["userId"], bob.id.as_str());
    assert_eq!(promoted.body["role"], "admin");
    assert_eq!(promoted.body["user"]["username"], "bob");
    for socket in [&mut alice_s, &mut bob_s, &mut carol_s] {
        let event = socket.next_event("chat_updated").await;
        assert_eq!(member(&event.data, &bob)["role"], "admin");
    }
    quiet("chat_updated", &mut [&mut dave_s]).await;

    // Now bob is an admin: he may rename, and alice may step down.
    let renamed = bob
        .put(&format!("/api/chats/{chat}"), json!({"name": "Bob's"}))
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    let stepped_down = alice
        .put(
            &format!("/api/chats/{chat}/members/{}", alice.id),
            json!({"role": "member"}),
        )
        .await;
    assert_eq!(stepped_down.status, 200, "{}", stepped_down.body);
    assert_eq!(stepped_down.body["role"], "member");
    let last = bob
        .put(
            &format!("/api/chats/{chat}/members/{}", bob.id),
            json!({"role": "member"}),
        )
        .await;
    last.assert_error(409, "conflict");
    alice
        .put(&format!("/api/chats/{chat}"), json!({"name": "Alice's"}))
        .await
        .assert_error(403, "forbidden");
}

#[tokio::test]
async fn when_the_last_admin_leaves_the_longest_standing_member_becomes_admin() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    // Carol registers before bob (a smaller id) but joins the group later.
    let carol = app.register("carol").await;
    let bob = app.register("bob").await;
    let chat = group(&alice, "Succession", &[&bob]).await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    let added = alice
        .post(
            &format!("/api/chats/{chat}/members"),
            json!({"memberId": carol.id}),
        )
        .await;
    assert_eq!(added.status, 201, "{}", added.body);
    let mut alice_s = alice.connect().await;
    let mut bob_s = bob.connect().await;
    let mut carol_s = carol.connect().await;

    let left = alice.delete(&format!("/api/chats/{chat}")).await;
    assert_eq!(left.status, 200, "{}", left.body);
    assert!(left.body["message"].is_string(), "{}", left.body);
    for socket in [&mut alice_s, &mut bob_s, &mut carol_s] {
        let event = socket.next_event("member_removed").await;
        assert_eq!(event.data["userId"], alice.id.as_str());
    }
    assert_eq!(
        alice_s.next_event("chat_deleted").await.data["chatId"],
        chat.as_str()
    );
    for socket in [&mut bob_s, &mut carol_s] {
        let event = socket.next_event("chat_updated").await;
        assert_eq!(member(&event.data, &bob)["role"], "admin");
    }
    quiet("chat_deleted", &mut [&mut bob_s, &mut carol_s]).await;
    quiet("chat_updated", &mut [&mut alice_s]).await;

    let seen = carol.get(&format!("/api/chats/{chat}")).await;
    assert_eq!(seen.body["members"].as_array().map(Vec::len), Some(2));
    assert_eq!(member(&seen.body, &bob)["role"], "admin");
    assert_eq!(member(&seen.body, &carol)["role"], "member");
    alice
        .get(&format!("/api/chats/{chat}"))
        .await
        .assert_error(404, "not_found");
}

#[tokio::test]
async fn an_admin_deletes_a_group_for_everyone_and_every_member_is_told() {
    let app = TestApp::spawn().await;
    let (alice, bob, carol, dave, chat) = app.group_of_three_and_an_outsider("Doomed").await;
    send(&bob, &chat, "a message").await;
    let mut alice_s = alice.connect().await;
    let mut bob_s = bob.connect().await;
    let mut carol_s = carol.connect().await;
    let mut dave_s = dave.connect().await;

    bob.delete(&format!("/api/chats/{chat}?everyone=true"))
        .await
        .assert_error(403, "forbidden");
    dave.delete(&format!("/api/chats/{chat}?everyone=true"))
        .await
        .assert_error(404, "not_found");
    quiet(
        "chat_deleted",
        &mut [&mut alice_s, &mut bob_s, &mut carol_s],
    )
    .await;

    let deleted = alice
        .delete(&format!("/api/chats/{chat}?everyone=true"))
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    for socket in [&mut alice_s, &mut bob_s, &mut carol_s] {
        let event = socket.next_event("chat_deleted").await;
        assert_eq!(event.data["chatId"], chat.as_str());
    }
    quiet("chat_deleted", &mut [&mut dave_s]).await;
    for user in [&alice, &bob, &carol] {
        user.get(&format!("/api/chats/{chat}"))
            .await
            .assert_error(404, "not_found");
        assert!(chat_ids(&user.get("/api/chats").await.body).is_empty());
    }
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM messages WHERE chat_id = '{chat}'"
        ))
        .await,
        0
    );
}

#[tokio::test]
async fn deleting_a_one_on_one_chat_hides_it_and_its_history_for_me_until_a_new_message() {
    let app = TestApp::spawn().await;
    let (alice, bob, chat) = app.two_with_a_chat().await;
    send(&alice, &chat, "old one").await;
    send(&bob, &chat, "old two").await;
    let mut alice_s = alice.connect().await;
    let mut bob_s = bob.connect().await;

    let deleted = bob.delete(&format!("/api/chats/{chat}")).await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    assert_eq!(
        bob_s.next_event("chat_deleted").await.data["chatId"],
        chat.as_str()
    );
    quiet("chat_deleted", &mut [&mut alice_s]).await;
    assert!(chat_ids(&bob.get("/api/chats").await.body).is_empty());
    let bobs_history = bob.get(&format!("/api/chats/{chat}/messages")).await;
    assert_eq!(bobs_history.status, 200, "{}", bobs_history.body);
    assert_eq!(bobs_history.body["messages"], json!([]));
    let alices = alice.get("/api/chats").await;
    assert_eq!(chat_ids(&alices.body), vec![chat.clone()]);
    let alices_history = alice.get(&format!("/api/chats/{chat}/messages")).await;
    assert_eq!(
        alices_history.body["messages"].as_array().map(Vec::len),
        Some(2)
    );

    tokio::time::sleep(Duration::from_millis(5)).await;
    send(&alice, &chat, "fresh start").await;
    assert_eq!(
        bob_s.next_event("new_message").await.data["content"],
        "fresh start"
    );
    let bobs = bob.get("/api/chats").await;
    assert_eq!(chat_ids(&bobs.body), vec![chat.clone()]);
    assert_eq!(bobs.body[0]["lastMessage"]["content"], "fresh start");
    assert_eq!(bobs.body[0]["unreadCount"], 1);
    let bobs_history = bob.get(&format!("/api/chats/{chat}/messages")).await;
    let contents: Vec<&str> = bobs_history.body["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter_map(|m| m["content"].as_str())
        .collect();
    assert_eq!(contents, vec!["fresh start"]);
    let alices_history = alice.get(&format!("/api/chats/{chat}/messages")).await;
    assert_eq!(
        alices_history.body["messages"].as_array().map(Vec::len),
        Some(3)
    );
    let reopened = bob
        .post(
            "/api/chats",
            json!({"type": "one_on_one", "memberIds": [alice.id]}),
        )
        .await;
    assert_eq!(reopened.status, 200, "{}", reopened.body);
    assert_eq!(id(&reopened.body), chat);
}

#[tokio::test]
async fn chat_settings_belong_to_each_user_and_archived_chats_are_listed_apart() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let chat = direct(&alice, &bob).await;
    let other = direct(&alice, &carol).await;
    let mut alice_s = alice.connect().await;
    let mut bob_s = bob.connect().await;

    let until = "2999-01-01T00:00:00.000Z";
    let muted = alice
        .put(
            &format!("/api/chats/{chat}/settings"),
            json!({"mutedUntil": until}),
        )
        .await;
    assert_eq!(muted.status, 200, "{}", muted.body);
    assert_eq!(muted.body["settings"]["muted"], true);
    assert_eq!(muted.body["settings"]["mutedUntil"], until);
    let event = alice_s.next_event("chat_updated").await;
    assert_eq!(event.data["settings"]["muted"], true);
    quiet("chat_updated", &mut [&mut bob_s]).await;
    let bobs = bob.get(&format!("/api/chats/{chat}")).await;
    assert_eq!(bobs.body["settings"]["muted"], false);
    assert_eq!(bobs.body["settings"]["mutedUntil"], Value::Null);

    let unmuted = alice
        .put(
            &format!("/api/chats/{chat}/settings"),
            json!({"muted": false}),
        )
        .await;
    assert_eq!(unmuted.body["settings"]["muted"], false);
    assert_eq!(unmuted.body["settings"]["mutedUntil"], Value::Null);
    let expired = alice
        .put(
            &format!("/api/chats/{chat}/settings"),
            json!({"muted": true, "mutedUntil": "2000-01-01T00:00:00.000Z"}),
        )
        .await;
    assert_eq!(expired.status, 200, "{}", expired.body);
    assert_eq!(
        expired.body["settings"]["muted"], false,
        "a mute that ended"
    );
    let forever = alice
        .put(
            &format!("/api/chats/{chat}/settings"),
            json!({"muted": true, "mutedUntil": null}),
        )
        .await;
    assert_eq!(forever.body["settings"]["muted"], true);
    assert_eq!(forever.body["settings"]["mutedUntil"], Value::Null);

    let archived = alice
        .put(
            &format!("/api/chats/{chat}/settings"),
            json!({"archived": true}),
        )
        .await;
    assert_eq!(archived.body["settings"]["archived"], true);
    assert_eq!(archived.body["settings"]["muted"], true, "unchanged");
    assert_eq!(
        chat_ids(&alice.get("/api/chats?archived=true").await.body),
        vec![chat.clone()]
    );
    assert_eq!(
        chat_ids(&alice.get("/api/chats?archived=false").await.body),
        vec![other.clone()]
    );
    assert_eq!(chat_ids(&alice.get("/api/chats").await.body).len(), 2);
    assert!(chat_ids(&bob.get("/api/chats?archived=true").await.body).is_empty());
    assert_eq!(
        chat_ids(&bob.get("/api/chats?archived=false").await.body),
        vec![chat.clone()]
    );
    let bad = alice.get("/api/chats?archived=maybe").await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    alice
        .put(
            &format!("/api/chats/{chat}/settings"),
            json!({"mutedUntil": "tomorrow"}),
        )
        .await
        .assert_error(400, "validation_failed");
    carol
        .put(
            &format!("/api/chats/{chat}/settings"),
            json!({"archived": true}),
        )
        .await
        .assert_error(404, "not_found");
    quiet("chat_updated", &mut [&mut bob_s]).await;
}

#[tokio::test]
async fn a_block_stops_one_on_one_chats_and_messages_in_both_directions() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let chat = direct(&alice, &bob).await;
    send(&alice, &chat, "before the block").await;
    bob.block(&alice).await;
    let mut alice_s = alice.connect().await;
    let mut bob_s = bob.connect().await;

    for (from, to) in [(&alice, &bob), (&bob, &alice)] {
        from.post(
            "/api/chats",
            json!({"type": "one_on_one", "memberIds": [to.id]}),
        )
        .await
        .assert_error(403, "forbidden");
        from.post(
            &format!("/api/chats/{chat}/messages"),
            json!({"content": "hi?"}),
        )
        .await
        .assert_error(403, "forbidden");
    }
    let ack = alice_s
        .emit_with_ack("send_message", json!({"chatId": chat, "content": "hi?"}))
        .await;
    assert_eq!(ack["code"], "forbidden", "{ack}");
    let ack = bob_s
        .emit_with_ack("send_message", json!({"chatId": chat, "content": "hi?"}))
        .await;
    assert_eq!(ack["code"], "forbidden", "{ack}");
    // Typing does not cross the block either, in either direction.
    for socket in [&mut alice_s, &mut bob_s] {
        let ack = socket
            .emit_with_ack("typing_start", json!({"chatId": chat}))
            .await;
        assert_eq!(ack["code"], "forbidden", "{ack}");
    }
    quiet("new_message", &mut [&mut alice_s, &mut bob_s]).await;
    quiet("user_typing", &mut [&mut alice_s, &mut bob_s]).await;
    let group_with_blocker = alice
        .post(
            "/api/chats",
            json!({"type": "group", "name": "g", "memberIds": [bob.id, carol.id]}),
        )
        .await;
    group_with_blocker.assert_error(403, "forbidden");
    assert_eq!(
        app.count("SELECT count(*) FROM messages").await,
        1,
        "nothing stored"
    );

    // Others are not affected, and unblocking restores messaging.
    assert_eq!(
        alice
            .post(
                "/api/chats",
                json!({"type": "one_on_one", "memberIds": [carol.id]}),
            )
            .await
            .status,
        201
    );
    let unblocked = bob.delete(&format!("/api/blocks/{}", alice.id)).await;
    assert_eq!(unblocked.status, 200, "{}", unblocked.body);
    send(&alice, &chat, "after the block").await;
    assert_eq!(
        bob_s.next_event("new_message").await.data["content"],
        "after the block"
    );
}

#[tokio::test]
async fn a_group_cannot_grow_past_the_configured_size() {
    let app = TestApp::spawn_with(|c| c.messages.max_group_members = 3).await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let dave = app.register("dave").await;

    let too_big = alice
        .post(
            "/api/chats",
            json!({"type": "group", "name": "Big", "memberIds": [bob.id, carol.id, dave.id]}),
        )
        .await;
    too_big.assert_error(400, "validation_failed");
    assert_eq!(app.count("SELECT count(*) FROM chats").await, 0);

    let chat = group(&alice, "Small", &[&bob, &carol]).await;
    let mut dave_s = dave.connect().await;
    alice
        .post(
            &format!("/api/chats/{chat}/members"),
            json!({"memberId": dave.id}),
        )
        .await
        .assert_error(400, "validation_failed");
    quiet("chat_created", &mut [&mut dave_s]).await;
    let left = carol.delete(&format!("/api/chats/{chat}")).await;
    assert_eq!(left.status, 200, "{}", left.body);
    let added = alice
        .post(
            &format!("/api/chats/{chat}/members"),
            json!({"memberId": dave.id}),
        )
        .await;
    assert_eq!(added.status, 201, "room again: {}", added.body);
}

#[tokio::test]
async fn every_chat_endpoint_answers_not_found_to_outsiders_and_removed_members() {
    let app = TestApp::spawn().await;
    let (alice, bob, carol, dave, chat) = app.group_of_three_and_an_outsider("Private").await;
    let message = send(&alice, &chat, "secret").await;
    let message_id = id(&message);
    let removed = alice
        .delete(&format!("/api/chats/{chat}/members/{}", carol.id))
        .await;
    assert_eq!(removed.status, 200, "{}", removed.body);
    let mut alice_s = alice.connect().await;
    let mut bob_s = bob.connect().await;

    for user in [&dave, &carol] {
        let base = format!("/api/chats/{chat}");
        let calls = [
            user.get(&base).await,
            user.put(&base, json!({"name": "mine"})).await,
            user.delete(&base).await,
            user.delete(&format!("{base}?everyone=true")).await,
            user.post(&format!("{base}/members"), json!({"memberId": user.id}))
                .await,
            user.delete(&format!("{base}/members/{}", bob.id)).await,
            user.put(
                &format!("{base}/members/{}", user.id),
                json!({"role": "admin"}),
            )
            .await,
            user.put(&format!("{base}/settings"), json!({"pinned": true}))
                .await,
            user.post(&format!("{base}/read"), json!({})).await,
            user.get(&format!("{base}/pins")).await,
            user.post(&format!("{base}/pins"), json!({"messageId": message_id}))
                .await,
            user.delete(&format!("{base}/pins/{message_id}")).await,
            user.get(&format!("{base}/messages")).await,
            user.get(&format!("{base}/messages?after={message_id}"))
                .await,
            user.post(&format!("{base}/messages"), json!({"content": "hi"}))
                .await,
            user.get(&format!("/api/messages/search?q=secret&chatId={chat}"))
                .await,
        ];
        for (i, resp) in calls.iter().enumerate() {
            assert_eq!(
                resp.status, 404,
                "{} call {i}: {}",
                user.username, resp.body
            );
            assert_eq!(resp.code(), "not_found", "{}", resp.body);
        }
    }
    let unknown = uuid::Uuid::now_v7();
    alice
        .get(&format!("/api/chats/{unknown}"))
        .await
        .assert_error(404, "not_found");
    alice
        .get("/api/chats/not-a-uuid")
        .await
        .assert_error(400, "validation_failed");
    let no_token = app.get(&format!("/api/chats/{chat}")).await;
    no_token.assert_error(401, "unauthorized");
    quiet("chat_updated", &mut [&mut alice_s, &mut bob_s]).await;
    quiet("new_message", &mut [&mut alice_s, &mut bob_s]).await;
    let still = alice.get(&format!("/api/chats/{chat}")).await;
    assert_eq!(still.body["name"], "Private");
    assert_eq!(still.body["members"].as_array().map(Vec::len), Some(2));
    assert_eq!(member(&still.body, &alice)["role"], "admin");
}

#[tokio::test]
async fn socket_events_check_membership_and_their_payload_on_every_event() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let dave = app.register("dave").await;
    let chat = direct(&alice, &bob).await;
    let message = send(&alice, &chat, "hello").await;
    let message_id = id(&message);
    let mut alice_s = alice.connect().await;
    let mut bob_s = bob.connect().await;
    let mut dave_s = dave.connect().await;

    let not_found = [
        ("send_message", json!({"chatId": chat, "content": "x"})),
        (
            "edit_message",
            json!({"messageId": message_id, "content": "x"}),
        ),
        (
            "delete_message",
            json!({"messageId": message_id, "scope": "everyone"}),
        ),
        ("react", json!({"messageId": message_id, "emoji": "👍"})),
        ("typing_start", json!({"chatId": chat})),
        ("typing_stop", json!({"chatId": chat})),
        ("mark_read", json!({"messageId": message_id})),
        ("join_chat", json!({"chatId": chat})),
        ("leave_chat", json!({"chatId": chat})),
    ];
    for (event, payload) in not_found {
        let ack = dave_s.emit_with_ack(event, payload).await;
        assert_eq!(ack["code"], "not_found", "{event}: {ack}");
        assert!(
            ack["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{ack}"
        );
    }
    // Ids the caller cannot see are ignored, and nobody is told anything.
    let ack = dave_s
        .emit_with_ack("mark_delivered", json!({"messageIds": [message_id]}))
        .await;
    assert_eq!(ack["ok"], true, "{ack}");

    let invalid = [
        ("send_message", json!({"content": "no chat"})),
        (
            "send_message",
            json!({"chatId": "not-a-uuid", "content": "x"}),
        ),
        ("send_message", json!("just a string")),
        ("edit_message", json!({"messageId": message_id})),
        ("react", json!({"emoji": "👍"})),
        ("typing_start", json!({})),
        ("mark_read", json!({"messageId": 42})),
        ("mark_delivered", json!({"messageIds": "all"})),
        ("join_chat", json!(null)),
        (
            "delete_message",
            json!({"messageId": message_id, "scope": "all"}),
        ),
    ];
    for (event, payload) in invalid {
        let ack = alice_s.emit_with_ack(event, payload.clone()).await;
        assert_eq!(ack["code"], "validation_failed", "{event} {payload}: {ack}");
        assert!(
            ack["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{ack}"
        );
    }
    quiet("new_message", &mut [&mut alice_s, &mut bob_s]).await;
    quiet("user_typing", &mut [&mut alice_s, &mut bob_s]).await;
    quiet("message_delivered", &mut [&mut alice_s]).await;
    quiet("message_reaction", &mut [&mut alice_s, &mut bob_s]).await;

    let joined = bob_s
        .emit_with_ack("join_chat", json!({"chatId": chat}))
        .await;
    assert_eq!(joined, json!({"ok": true}));
    let left = bob_s
        .emit_with_ack("leave_chat", json!({"chatId": chat}))
        .await;
    assert_eq!(left, json!({"ok": true}));
    let unchanged = alice.get(&format!("/api/chats/{chat}/messages")).await;
    assert_eq!(unchanged.body["messages"][0]["content"], "hello");
    assert_eq!(unchanged.body["messages"][0]["deletedAt"], Value::Null);
    assert_eq!(unchanged.body["messages"][0]["reactions"], json!([]));
}

#[tokio::test]
async fn reopening_a_deleted_one_on_one_chat_brings_it_back_without_its_history() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let chat = alice
        .post(
            "/api/chats",
            json!({"type": "one_on_one", "memberIds": [bob.id]}),
        )
        .await;
    let chat_id = chat.body["id"].as_str().expect("id").to_owned();
    let sent = alice
        .post(
            &format!("/api/chats/{chat_id}/messages"),
            json!({"content": "old"}),
        )
        .await;
    assert_eq!(sent.status, 201);
    assert_eq!(
        alice.delete(&format!("/api/chats/{chat_id}")).await.status,
        200
    );
    assert!(
        alice
            .get("/api/chats")
            .await
            .body
            .as_array()
            .expect("list")
            .is_empty()
    );
    let reopened = alice
        .post(
            "/api/chats",
            json!({"type": "one_on_one", "memberIds": [bob.id]}),
        )
        .await;
    assert_eq!(reopened.status, 200);
    let list = alice.get("/api/chats").await;
    assert_eq!(
        list.body[0]["id"],
        chat_id.as_str(),
        "the chat is listed again"
    );
    let history = alice.get(&format!("/api/chats/{chat_id}/messages")).await;
    assert!(
        history.body["messages"]
            .as_array()
            .expect("messages")
            .is_empty()
    );
}

#[tokio::test]
async fn a_member_added_later_does_not_count_for_receipts_of_older_messages() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let group = alice
        .post(
            "/api/chats",
            json!({"type": "group", "name": "g", "memberIds": [bob.id]}),
        )
        .await;
    let chat_id = group.body["id"].as_str().expect("id").to_owned();
    let sent = alice
        .post(
            &format!("/api/chats/{chat_id}/messages"),
            json!({"content": "before carol"}),
        )
        .await;
    let message_id = sent.body["id"].as_str().expect("id").to_owned();
    bob.post(&format!("/api/messages/{message_id}/read"), json!({}))
        .await;
    alice
        .post(
            &format!("/api/chats/{chat_id}/members"),
            json!({"memberId": carol.id}),
        )
        .await;
    let history = alice.get(&format!("/api/chats/{chat_id}/messages")).await;
    let message = &history.body["messages"][0];
    assert_eq!(message["status"], "read", "{message}");
    assert_eq!(message["readBy"], json!([bob.id]));
}
