//! The bare socketioxide relay: the library's own ceiling on this machine.
//!
//! No auth, no storage: a socket joins the rooms named in its CONNECT payload (`{rooms: [..]}`);
//! `send_message {chatId, content, clientId}` is broadcast as `new_message` to the room's other
//! sockets and acked with `{message}`, the same shapes the real server uses. It runs as its own
//! process (`loadgen relay`), pinned like the server, so its CPU time can be read the same way.

use std::net::SocketAddr;

use serde::Deserialize;
use serde_json::{Value, json};
use socketioxide::SocketIo;
use socketioxide::extract::{AckSender, Data, SocketRef};

#[derive(Deserialize)]
struct Auth {
    #[serde(default)]
    rooms: Vec<String>,
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
    let auth: Auth = serde_json::from_value(auth).unwrap_or(Auth { rooms: Vec::new() });
    socket.join(auth.rooms);
    socket.on("send_message", on_send);
}

async fn on_send(socket: SocketRef, Data(send): Data<Send>, ack: AckSender) {
    let message = json!({
        "id": uuid::Uuid::now_v7(),
        "chatId": send.chat_id,
        "senderId": socket.id.to_string(),
        "clientId": send.client_id,
        "content": send.content,
        "type": "text",
        "createdAt": chrono::Utc::now(),
    });
    let _ = socket.to(send.chat_id).emit("new_message", &message).await;
    let _ = ack.send(&json!({ "message": message }));
}
