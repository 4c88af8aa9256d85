//! A lean Socket.IO v5 client (Engine.IO v4 over WebSocket) built for many connections.
//!
//! One task per connection owns the socket; small WebSocket buffers; everything the profiles
//! measure is recorded in a per-connection [`ConnStats`] behind an uncontended mutex, so no
//! global lock is taken per message. Wire format: `0{open}`, `40{auth}`, `2`/`3` ping/pong,
//! `42[event,data]`, `42<id>[…]` events that want an ack, `43<id>[…]` acks.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::clock;

/// Makes every `clientId` of this process unique (the server deduplicates repeats).
static NEXT_CLIENT_ID: AtomicU64 = AtomicU64::new(0);

/// How long the handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// A message that one of our senders wrote, as a receiver decoded it.
#[derive(Debug, Clone, Copy)]
pub struct Received {
    /// When it arrived, on the generator's clock.
    pub at_us: u64,
    pub step: u16,
    pub group: u32,
    pub seq: u32,
    pub latency_us: u64,
}

/// The ack of one of our `send_message` events.
#[derive(Debug, Clone, Copy)]
pub struct AckRecord {
    /// When the ack arrived, on the generator's clock.
    pub at_us: u64,
    pub step: u16,
    pub seq: u32,
    pub latency_us: u64,
    pub ok: bool,
}

/// What one connection saw; the profiles read it after a step.
#[derive(Debug, Default)]
pub struct ConnStats {
    pub received: Vec<Received>,
    pub acks: Vec<AckRecord>,
    /// Events that were not ours (presence, receipts, …).
    pub other_events: u64,
    pub connected: bool,
    pending: HashMap<u64, (u16, u32, Instant)>,
    next_ack: u64,
}

impl ConnStats {
    /// Sends that are still waiting for their ack.
    pub fn pending_acks(&self) -> usize {
        self.pending.len()
    }
}

/// Options for one connection.
#[derive(Clone)]
pub struct ConnectOptions {
    pub server: SocketAddr,
    /// Source address to bind before connecting (spreads connections over 127.0.0.x).
    pub source: Ipv4Addr,
    /// The CONNECT auth payload, as JSON text.
    pub auth: String,
    /// Whether to ack `new_message` (the real server records delivery on the ack).
    pub ack_messages: bool,
}

/// A connected client; dropping it closes the connection.
pub struct Conn {
    out: mpsc::UnboundedSender<String>,
    pub stats: Arc<Mutex<ConnStats>>,
}

impl Conn {
    /// Opens the WebSocket, performs the Socket.IO handshake and starts the connection's task.
    pub async fn connect(options: &ConnectOptions) -> Result<Conn, String> {
        tokio::time::timeout(HANDSHAKE_TIMEOUT, Self::handshake(options))
            .await
            .map_err(|_| "handshake timed out".to_owned())?
    }

    async fn handshake(options: &ConnectOptions) -> Result<Conn, String> {
        let socket = TcpSocket::new_v4().map_err(|e| format!("socket: {e}"))?;
        socket
            .bind(SocketAddr::from((options.source, 0)))
            .map_err(|e| format!("bind {}: {e}", options.source))?;
        let tcp = socket
            .connect(options.server)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        tcp.set_nodelay(true).map_err(|e| e.to_string())?;
        let url = format!(
            "ws://{}/socket.io/?EIO=4&transport=websocket",
            options.server
        );
        let config = WebSocketConfig::default()
            .read_buffer_size(4 * 1024)
            .write_buffer_size(0)
            .max_write_buffer_size(1024 * 1024);
        let (mut ws, _) = tokio_tungstenite::client_async_with_config(url, tcp, Some(config))
            .await
            .map_err(|e| format!("websocket: {e}"))?;
        let open = next_text(&mut ws).await?;
        if !open.starts_with('0') {
            return Err(format!("expected an open packet, got {open}"));
        }
        send(&mut ws, format!("40{}", options.auth)).await?;
        loop {
            let reply = next_text(&mut ws).await?;
            if reply == "2" {
                send(&mut ws, "3".to_owned()).await?;
                continue;
            }
            if let Some(error) = reply.strip_prefix("44") {
                return Err(format!("connect refused: {error}"));
            }
            if reply.starts_with("40") {
                break;
            }
            return Err(format!("expected a CONNECT reply, got {reply}"));
        }
        let stats = Arc::new(Mutex::new(ConnStats {
            connected: true,
            next_ack: 1,
            ..ConnStats::default()
        }));
        let (out, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(ws, rx, stats.clone(), options.ack_messages));
        Ok(Conn { out, stats })
    }

    /// Locks this connection's stats.
    pub fn stats(&self) -> MutexGuard<'_, ConnStats> {
        lock(&self.stats)
    }

    /// Emits `send_message` with an ack request; the content carries step, group, sequence
    /// and send time so receivers can measure latency and find gaps.
    pub fn send_message(&self, chat_id: &str, step: u16, group: u32, seq: u32, pad: usize) {
        let now = Instant::now();
        let sent_us = clock::micros(now);
        let content = format!("lc:{step}:{group}:{seq}:{sent_us}:{}", "x".repeat(pad));
        let id = {
            let mut stats = self.stats();
            let id = stats.next_ack;
            stats.next_ack += 1;
            stats.pending.insert(id, (step, seq, now));
            id
        };
        let data = serde_json::json!({
            "chatId": chat_id,
            "content": content,
            "clientId": format!("lc-{}-{}", clock::run_id(), NEXT_CLIENT_ID.fetch_add(1, Ordering::Relaxed)),
        });
        let _ = self.out.send(format!(
            "42{id}{}",
            serde_json::json!(["send_message", data])
        ));
    }

    /// Whether the connection's task is still running.
    pub fn is_connected(&self) -> bool {
        self.stats().connected && !self.out.is_closed()
    }

    /// Sends a Socket.IO disconnect and closes the WebSocket.
    pub fn close(&self) {
        let _ = self.out.send("41".to_owned());
    }
}

/// Parses our own message content: `lc:<step>:<group>:<seq>:<sent_us>:…`.
pub fn parse_content(content: &str) -> Option<(u16, u32, u32, u64)> {
    let mut parts = content.strip_prefix("lc:")?.split(':');
    let step = parts.next()?.parse().ok()?;
    let group = parts.next()?.parse().ok()?;
    let seq = parts.next()?.parse().ok()?;
    let sent = parts.next()?.parse().ok()?;
    Some((step, group, seq, sent))
}

pub fn lock(stats: &Mutex<ConnStats>) -> MutexGuard<'_, ConnStats> {
    stats
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

type Ws = WebSocketStream<TcpStream>;

async fn run(
    mut ws: Ws,
    mut rx: mpsc::UnboundedReceiver<String>,
    stats: Arc<Mutex<ConnStats>>,
    ack_messages: bool,
) {
    loop {
        tokio::select! {
            incoming = ws.next() => {
                let Some(Ok(message)) = incoming else { break };
                let Message::Text(text) = message else { continue };
                match handle_packet(text.as_str(), &stats, ack_messages) {
                    Reply::None => {}
                    Reply::Send(reply) => {
                        if send(&mut ws, reply).await.is_err() {
                            break;
                        }
                    }
                    Reply::Close => break,
                }
            }
            outgoing = rx.recv() => {
                let Some(text) = outgoing else { break };
                let closing = text == "41";
                if send(&mut ws, text).await.is_err() || closing {
                    break;
                }
            }
        }
    }
    let _ = ws.close(None).await;
    lock(&stats).connected = false;
}

enum Reply {
    None,
    Send(String),
    Close,
}

#[derive(Deserialize)]
struct LiteMessage {
    content: String,
}

fn handle_packet(text: &str, stats: &Mutex<ConnStats>, ack_messages: bool) -> Reply {
    match text {
        "2" => return Reply::Send("3".to_owned()),
        "1" | "41" => return Reply::Close,
        _ => {}
    }
    if let Some(rest) = text.strip_prefix("42") {
        let (ack_id, json) = split_id(rest);
        if json.starts_with("[\"new_message\"") {
            on_new_message(json, stats);
        } else {
            lock(stats).other_events += 1;
        }
        if let Some(id) = ack_id.filter(|_| ack_messages) {
            return Reply::Send(format!("43{id}[{{\"ok\":true}}]"));
        }
    } else if let Some(rest) = text.strip_prefix("43") {
        let (ack_id, json) = split_id(rest);
        let now = Instant::now();
        let mut stats = lock(stats);
        if let Some((step, seq, sent)) = ack_id.and_then(|id| stats.pending.remove(&id)) {
            // A failed send acks the error shape, which always has a `code`.
            let ok = !json.contains("\"code\":");
            let latency_us = now.duration_since(sent).as_micros() as u64;
            stats.acks.push(AckRecord {
                at_us: clock::micros(now),
                step,
                seq,
                latency_us,
                ok,
            });
        }
    }
    Reply::None
}

fn on_new_message(json: &str, stats: &Mutex<ConnStats>) {
    let now_us = clock::micros(Instant::now());
    let parsed = serde_json::from_str::<(&str, LiteMessage)>(json).ok();
    let mut stats = lock(stats);
    match parsed.and_then(|(_, m)| parse_content(&m.content)) {
        Some((step, group, seq, sent_us)) => stats.received.push(Received {
            at_us: now_us,
            step,
            group,
            seq,
            latency_us: now_us.saturating_sub(sent_us),
        }),
        None => stats.other_events += 1,
    }
}

fn split_id(text: &str) -> (Option<u64>, &str) {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    (text[..digits].parse().ok(), &text[digits..])
}

async fn send(ws: &mut Ws, text: String) -> Result<(), String> {
    ws.send(Message::text(text))
        .await
        .map_err(|e| e.to_string())
}

async fn next_text(ws: &mut Ws) -> Result<String, String> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => return Ok(text.as_str().to_owned()),
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(e.to_string()),
            None => return Err("connection closed".to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_content_round_trips() {
        assert_eq!(
            parse_content("lc:2:7:41:123456:xx"),
            Some((2, 7, 41, 123456))
        );
        assert_eq!(parse_content("hello"), None);
    }

    #[test]
    fn ack_ids_are_split_from_the_payload() {
        assert_eq!(split_id("12[\"a\"]"), (Some(12), "[\"a\"]"));
        assert_eq!(split_id("[\"a\"]"), (None, "[\"a\"]"));
    }
}
