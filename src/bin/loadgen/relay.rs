//! The bare socketioxide relay: the library's own ceiling on this machine.
//!
//! No auth, no storage: a socket joins the rooms named in its CONNECT payload (`{rooms: [..]}`);
//! `send_message {chatId, content, clientId}` is broadcast as `new_message` to the room's other
//! sockets and acked with `{message}`, the same shapes the real server uses. It runs as its own
//! process (`loadgen relay`), pinned like the server, so its CPU time can be read the same way.
//!
//! A socket that connects with `receipts: true` also gets the contract's receipt traffic: its
//! `new_message` is sent with an ack request, and every member's ack sends the sender a
//! `message_delivered`. That is the least any server speaking the contract must do per message
//! (three frames per recipient instead of one), still without auth or storage.

use std::net::SocketAddr;

use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{Value, json};
use socketioxide::SocketIo;
use socketioxide::extract::{AckSender, Data, SocketRef};

#[derive(Deserialize)]
struct Auth {
    #[serde(default)]
    rooms: Vec<String>,
    #[serde(default)]
    receipts: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Send {
    chat_id: String,
    content: String,
    client_id: Option<String>,
}

/// Serves the relay on `bind` until the process is killed.
pub async fn serve(bind: SocketAddr) -> anyhow::Result<()> {
    let (layer, io) = SocketIo::new_layer();
    io.ns("/", on_connect);
    let app = axum::Router::new()
        .route("/health", axum::routing::get(|| async { "ok" }))
        .layer(layer);
    let listener = tokio::net::TcpListener::bind(bind).await?;
    axum::serve(listener, app).await?;
    Ok(())
}

async fn on_connect(socket: SocketRef, Data(auth): Data<Value>) {
    let auth: Auth = serde_json::from_value(auth).unwrap_or(Auth {
        rooms: Vec::new(),
        receipts: false,
    });
    socket.join(auth.rooms);
    if auth.receipts {
        socket.on("send_message", on_send_with_receipts);
    } else {
        socket.on("send_message", on_send);
    }
}

async fn on_send(socket: SocketRef, Data(send): Data<Send>, ack: AckSender) {
    let chat = send.chat_id.clone();
    let message = message(&socket, send);
    let _ = socket.to(chat).emit("new_message", &message).await;
    let _ = ack.send(&json!({ "message": message }));
}

/// `on_send`, with an ack asked of every recipient and a `message_delivered` to the sender for
/// each one.
async fn on_send_with_receipts(socket: SocketRef, Data(send): Data<Send>, ack: AckSender) {
    let chat = send.chat_id.clone();
    let message = message(&socket, send);
    let acks = socket
        .to(chat)
        .emit_with_ack::<_, Value>("new_message", &message)
        .await;
    let _ = ack.send(&json!({ "message": message }));
    let Ok(acks) = acks else { return };
    tokio::spawn(async move {
        acks.for_each(|(member, answer)| {
            if answer.is_ok() {
                let receipt = json!({
                    "messageId": message["id"],
                    "chatId": message["chatId"],
                    "userId": member.to_string(),
                    "deliveredAt": chrono::Utc::now(),
                });
                let _ = socket.emit("message_delivered", &receipt);
            }
            std::future::ready(())
        })
        .await;
    });
}

fn message(socket: &SocketRef, send: Send) -> Value {
    json!({
        "id": uuid::Uuid::now_v7(),
        "chatId": send.chat_id,
        "senderId": socket.id.to_string(),
        "clientId": send.client_id,
        "content": send.content,
        "type": "text",
        "createdAt": chrono::Utc::now(),
    })
}
