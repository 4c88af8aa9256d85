//! Messages: sending, receiving, history, receipts.

use serde_json::json;

use crate::helpers::TestApp;

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
