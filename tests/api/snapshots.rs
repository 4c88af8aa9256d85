//! Wire snapshots: the JSON of Message, Chat and every event payload is pinned, so the contract
//! cannot drift silently. Ids become `[id-N]` (numbered by first appearance, so relations stay
//! visible), times `[time]`, tokens `[token]`. Review changes with `cargo insta review`, or
//! accept them with `INSTA_UPDATE=always cargo test --test api snapshots`.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::helpers::TestApp;

/// Replaces what changes from run to run.
struct Normalizer {
    ids: HashMap<String, usize>,
}

impl Normalizer {
    fn new() -> Self {
        Normalizer {
            ids: HashMap::new(),
        }
    }

    fn apply(&mut self, value: &Value) -> Value {
        match value {
            Value::String(text) => Value::String(self.text(text)),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.apply(v)).collect()),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| {
                        let v = if k.ends_with("Token") || k == "nextCursor" && v.is_string() {
                            Value::String("[token]".into())
                        } else {
                            self.apply(v)
                        };
                        (k.clone(), v)
                    })
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    fn text(&mut self, text: &str) -> String {
        if uuid::Uuid::try_parse(text).is_ok() {
            let next = self.ids.len() + 1;
            let n = *self.ids.entry(text.to_owned()).or_insert(next);
            return format!("[id-{n}]");
        }
        if chrono_like(text) {
            return "[time]".into();
        }
        text.to_owned()
    }
}

fn chrono_like(text: &str) -> bool {
    text.len() == 24 && text.ends_with('Z') && text.as_bytes().get(10) == Some(&b'T')
}

macro_rules! snapshot {
    ($normalizer:expr, $name:expr, $value:expr) => {
        insta::assert_json_snapshot!($name, $normalizer.apply(&$value));
    };
}

#[tokio::test]
async fn wire_objects_and_event_payloads_match_their_snapshots() {
    let app = TestApp::spawn().await;
    let mut n = Normalizer::new();
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let mut bob_socket = bob.connect().await;
    let mut alice_socket = alice.connect().await;
    snapshot!(
        n,
        "presence_initial",
        alice_socket.next_event("presence_initial").await.data
    );

    let contact = alice
        .post("/api/contacts", json!({"contactId": bob.id}))
        .await;
    snapshot!(n, "contact_request_created", contact.body);
    snapshot!(
        n,
        "contact_request_received",
        bob_socket.next_event("contact_request_received").await.data
    );
    let contact_id = contact.body["contact"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    bob.put(
        &format!("/api/contacts/{contact_id}"),
        json!({"status": "accepted"}),
    )
    .await;
    snapshot!(
        n,
        "contact_request_accepted",
        alice_socket
            .next_event("contact_request_accepted")
            .await
            .data
    );

    let group = alice
        .post(
            "/api/chats",
            json!({"type": "group", "name": "Team", "description": "d", "memberIds": [bob.id]}),
        )
        .await;
    assert_eq!(group.status, 201);
    snapshot!(n, "chat", group.body);
    snapshot!(
        n,
        "chat_created",
        bob_socket.next_event("chat_created").await.data
    );
    let chat_id = group.body["id"].as_str().expect("chat id").to_owned();

    let first = alice_socket
        .emit_with_ack(
            "send_message",
            json!({"chatId": chat_id, "content": "hello", "clientId": "c-1"}),
        )
        .await;
    snapshot!(n, "send_message_ack", first);
    let incoming = bob_socket.next_event("new_message").await;
    snapshot!(n, "new_message", incoming.data);
    bob_socket.ack(incoming.ack_id.expect("ack id"), json!({}));
    snapshot!(
        n,
        "message_delivered",
        alice_socket.next_event("message_delivered").await.data
    );
    let first_id = first["message"]["id"].as_str().expect("id").to_owned();

    let reply = bob_socket
        .emit_with_ack(
            "send_message",
            json!({"chatId": chat_id, "content": "hi!", "replyToId": first_id}),
        )
        .await;
    snapshot!(n, "reply_message", reply["message"]);
    alice_socket.next_event("new_message").await;
    // Replying reads what came before it.
    snapshot!(
        n,
        "message_read",
        alice_socket.next_event("message_read").await.data
    );

    alice_socket
        .emit_with_ack(
            "edit_message",
            json!({"messageId": first_id, "content": "hello, edited"}),
        )
        .await;
    snapshot!(
        n,
        "message_updated",
        bob_socket.next_event("message_updated").await.data
    );

    bob_socket
        .emit_with_ack("react", json!({"messageId": first_id, "emoji": "👍"}))
        .await;
    snapshot!(
        n,
        "message_reaction",
        alice_socket.next_event("message_reaction").await.data
    );

    alice_socket.emit("typing_start", json!({"chatId": chat_id}));
    snapshot!(
        n,
        "user_typing",
        bob_socket.next_event("user_typing").await.data
    );
    alice_socket.emit("typing_stop", json!({"chatId": chat_id}));
    snapshot!(
        n,
        "user_stopped_typing",
        bob_socket.next_event("user_stopped_typing").await.data
    );

    let added = alice
        .post(
            &format!("/api/chats/{chat_id}/members"),
            json!({"memberId": carol.id}),
        )
        .await;
    snapshot!(n, "member_added_response", added.body);
    snapshot!(
        n,
        "member_added",
        bob_socket.next_event("member_added").await.data
    );
    alice
        .delete(&format!("/api/chats/{chat_id}/members/{}", carol.id))
        .await;
    snapshot!(
        n,
        "member_removed",
        bob_socket.next_event("member_removed").await.data
    );

    alice_socket
        .emit_with_ack(
            "delete_message",
            json!({"messageId": first_id, "scope": "everyone"}),
        )
        .await;
    snapshot!(
        n,
        "message_deleted",
        bob_socket.next_event("message_deleted").await.data
    );

    let history = bob.get(&format!("/api/chats/{chat_id}/messages")).await;
    snapshot!(n, "history_page", history.body);
    let chats = bob.get("/api/chats").await;
    snapshot!(n, "chat_list", chats.body);

    alice_socket.close();
    snapshot!(
        n,
        "user_offline",
        bob_socket.next_event("user_offline").await.data
    );
    let me = bob.get("/api/auth/me").await;
    snapshot!(n, "me", me.body);
    bob.post("/api/auth/logout", json!({})).await;
    snapshot!(
        n,
        "session_revoked",
        bob_socket.next_event("session_revoked").await.data
    );
}
