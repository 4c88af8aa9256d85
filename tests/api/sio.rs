//! A small real Socket.IO v5 client (Engine.IO v4 over WebSocket) for the tests.
//!
//! It speaks the wire protocol itself: `0` open, `40{auth}` connect, `2`/`3` ping/pong,
//! `42[event, data]` events, `42<id>[…]` events that want an ack, `43<id>[…]` acks.

#![allow(
    dead_code,
    reason = "each test uses a different subset of these helpers"
)]

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// How long any wait for the server may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(5);

/// An event received from the server.
#[derive(Debug, Clone)]
pub struct Event {
    pub name: String,
    pub data: Value,
    /// Set when the server asked for an ack.
    pub ack_id: Option<u64>,
}

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Value>>>>;

/// A connected Socket.IO client.
pub struct SioClient {
    outgoing: mpsc::UnboundedSender<String>,
    incoming: mpsc::UnboundedReceiver<Incoming>,
    buffered: VecDeque<Event>,
    pending: Pending,
    next_ack: u64,
    pub disconnected: bool,
}

#[derive(Debug)]
enum Incoming {
    Event(Event),
    Disconnected,
}

/// Options for a connection.
#[derive(Default, Clone)]
pub struct ConnectOptions {
    pub auth: Option<Value>,
    pub headers: Vec<(String, String)>,
}

impl SioClient {
    /// Connects with `{token}` as the auth payload.
    pub async fn connect(addr: SocketAddr, token: &str) -> Result<SioClient, String> {
        let options = ConnectOptions {
            auth: Some(json!({ "token": token })),
            headers: Vec::new(),
        };
        Self::connect_with(addr, options).await
    }

    /// Connects; `Err` holds the CONNECT_ERROR message (or a transport failure).
    pub async fn connect_with(
        addr: SocketAddr,
        options: ConnectOptions,
    ) -> Result<SioClient, String> {
        let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
        let mut request = url.into_client_request().map_err(|e| e.to_string())?;
        for (name, value) in &options.headers {
            request.headers_mut().insert(
                axum::http::HeaderName::from_bytes(name.as_bytes()).map_err(|e| e.to_string())?,
                value.parse().map_err(|_| "bad header".to_owned())?,
            );
        }
        let (ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(request))
            .await
            .map_err(|_| "timed out connecting".to_owned())?
            .map_err(|e| format!("websocket: {e}"))?;
        let (mut sink, mut stream) = ws.split();
        let open = next_text(&mut stream).await?;
        if !open.starts_with('0') {
            return Err(format!("expected an open packet, got {open}"));
        }
        let connect = match &options.auth {
            Some(auth) => format!("40{auth}"),
            None => "40".to_owned(),
        };
        sink.send(Message::text(connect))
            .await
            .map_err(|e| e.to_string())?;
        let reply = loop {
            let text = next_text(&mut stream).await?;
            if text == "2" {
                sink.send(Message::text("3"))
                    .await
                    .map_err(|e| e.to_string())?;
                continue;
            }
            break text;
        };
        if let Some(error) = reply.strip_prefix("44") {
            let value: Value = serde_json::from_str(error).unwrap_or(Value::Null);
            return Err(value["message"].as_str().unwrap_or(error).to_owned());
        }
        if !reply.starts_with("40") {
            return Err(format!("expected a CONNECT reply, got {reply}"));
        }
        Ok(Self::start(sink, stream))
    }

    fn start<Si, St>(mut sink: Si, mut stream: St) -> SioClient
    where
        Si: futures_util::Sink<Message> + Unpin + Send + 'static,
        St: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>>
            + Unpin
            + Send
            + 'static,
    {
        let (out_tx, mut out_rx) = mpsc::unbounded_channel::<String>();
        let (in_tx, in_rx) = mpsc::unbounded_channel();
        let pending: Pending = Arc::default();
        tokio::spawn(async move {
            while let Some(text) = out_rx.recv().await {
                if sink.send(Message::text(text)).await.is_err() {
                    break;
                }
            }
        });
        let reader_pending = pending.clone();
        let pong = out_tx.clone();
        tokio::spawn(async move {
            while let Some(Ok(message)) = stream.next().await {
                let Message::Text(text) = message else {
                    continue;
                };
                if !handle_packet(text.as_str(), &pong, &in_tx, &reader_pending) {
                    break;
                }
            }
            let _ = in_tx.send(Incoming::Disconnected);
        });
        SioClient {
            outgoing: out_tx,
            incoming: in_rx,
            buffered: VecDeque::new(),
            pending,
            next_ack: 1,
            disconnected: false,
        }
    }

    /// Sends an event without asking for an ack.
    pub fn emit(&self, event: &str, data: Value) {
        let _ = self.outgoing.send(format!("42{}", json!([event, data])));
    }

    /// Sends an event and waits for its ack.
    pub async fn emit_with_ack(&mut self, event: &str, data: Value) -> Value {
        self.try_emit_with_ack(event, data, WAIT)
            .await
            .unwrap_or_else(|| panic!("no ack for {event} within {WAIT:?}"))
    }

    /// Sends an event and waits up to `wait` for its ack.
    pub async fn try_emit_with_ack(
        &mut self,
        event: &str,
        data: Value,
        wait: Duration,
    ) -> Option<Value> {
        self.try_emit_raw_with_ack(&json!([event, data]).to_string(), wait)
            .await
    }

    /// Sends an event whose JSON array (`["event", ...arguments]`) is written by the caller,
    /// malformed or not, and waits for its ack.
    pub async fn emit_raw_with_ack(&mut self, array: &str) -> Value {
        self.try_emit_raw_with_ack(array, WAIT)
            .await
            .unwrap_or_else(|| panic!("no ack for {array:.80} within {WAIT:?}"))
    }

    async fn try_emit_raw_with_ack(&mut self, array: &str, wait: Duration) -> Option<Value> {
        let id = self.next_ack;
        self.next_ack += 1;
        let (tx, rx) = oneshot::channel();
        self.pending.lock().expect("lock").insert(id, tx);
        let _ = self.outgoing.send(format!("42{id}{array}"));
        tokio::time::timeout(wait, rx).await.ok()?.ok()
    }

    /// Answers an event the server sent with an ack id.
    pub fn ack(&self, id: u64, data: Value) {
        let _ = self.outgoing.send(format!("43{id}{}", json!([data])));
    }

    /// Waits for the next `name` event, keeping others for later calls.
    pub async fn next_event(&mut self, name: &str) -> Event {
        self.try_next_event(name, WAIT)
            .await
            .unwrap_or_else(|| panic!("no {name} event within {WAIT:?}"))
    }

    /// Like [`next_event`], but `None` after `wait`.
    pub async fn try_next_event(&mut self, name: &str, wait: Duration) -> Option<Event> {
        if let Some(pos) = self.buffered.iter().position(|e| e.name == name) {
            return self.buffered.remove(pos);
        }
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let incoming = tokio::time::timeout_at(deadline, self.incoming.recv())
                .await
                .ok()??;
            match incoming {
                Incoming::Event(event) if event.name == name => return Some(event),
                Incoming::Event(event) => self.buffered.push_back(event),
                Incoming::Disconnected => {
                    self.disconnected = true;
                    return None;
                }
            }
        }
    }

    /// Asserts that no `name` event arrives within `wait`.
    pub async fn expect_no_event(&mut self, name: &str, wait: Duration) {
        if let Some(event) = self.try_next_event(name, wait).await {
            panic!("unexpected {name} event: {}", event.data);
        }
    }

    /// Waits until the server closes the connection.
    pub async fn wait_disconnected(&mut self) -> bool {
        if self.disconnected {
            return true;
        }
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            match tokio::time::timeout_at(deadline, self.incoming.recv()).await {
                Ok(Some(Incoming::Event(event))) => self.buffered.push_back(event),
                Ok(Some(Incoming::Disconnected)) | Ok(None) => {
                    self.disconnected = true;
                    return true;
                }
                Err(_) => return false,
            }
        }
    }

    /// Closes the connection from the client side.
    pub fn close(&self) {
        let _ = self.outgoing.send("41".to_owned());
    }
}

async fn next_text<St>(stream: &mut St) -> Result<String, String>
where
    St: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        let message = tokio::time::timeout(WAIT, stream.next())
            .await
            .map_err(|_| "timed out waiting for the server".to_owned())?
            .ok_or_else(|| "connection closed".to_owned())?
            .map_err(|e| e.to_string())?;
        if let Message::Text(text) = message {
            return Ok(text.as_str().to_owned());
        }
    }
}

/// Handles one Engine.IO packet; false when the connection is over.
fn handle_packet(
    text: &str,
    pong: &mpsc::UnboundedSender<String>,
    events: &mpsc::UnboundedSender<Incoming>,
    pending: &Pending,
) -> bool {
    match text {
        "2" => {
            let _ = pong.send("3".to_owned());
            return true;
        }
        "1" | "41" => return false,
        _ => {}
    }
    if let Some(rest) = text.strip_prefix("42") {
        let (ack_id, json) = split_id(rest);
        if let Ok(Value::Array(mut items)) = serde_json::from_str::<Value>(json) {
            let name = items
                .first()
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let data = if items.len() > 1 {
                items.swap_remove(1)
            } else {
                Value::Null
            };
            let _ = events.send(Incoming::Event(Event { name, data, ack_id }));
        }
    } else if let Some(rest) = text.strip_prefix("43") {
        let (ack_id, json) = split_id(rest);
        let data = match serde_json::from_str::<Value>(json) {
            Ok(Value::Array(mut items)) if !items.is_empty() => items.swap_remove(0),
            _ => Value::Null,
        };
        if let Some(tx) = ack_id.and_then(|id| pending.lock().expect("lock").remove(&id)) {
            let _ = tx.send(data);
        }
    }
    true
}

fn split_id(text: &str) -> (Option<u64>, &str) {
    let digits = text.chars().take_while(char::is_ascii_digit).count();
    let id = text[..digits].parse().ok();
    (id, &text[digits..])
}
