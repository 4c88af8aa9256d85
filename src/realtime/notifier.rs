//! The one way events leave the server. Services call a named method after their commit.
//!
//! Every socket joins the room of its user (`user:<id>`) and of its session (`session:<id>`), so
//! an event for a person reaches all their devices, and revoking a session reaches exactly the
//! sockets opened with it. Rooms go through socketioxide's adapter, so with a cluster adapter the
//! same calls reach sockets on other nodes.

use serde::Serialize;
use serde_json::value::RawValue;
use socketioxide::SocketIo;

use futures_util::{Stream, StreamExt};
use socketioxide::socket::Sid;

use super::events::{
    self, ChatDeleted, ContactChanged, ContactRequestReceived, MemberAdded, MemberRemoved,
    MessageDeleted, MessageDelivered, MessagePinned, MessageReaction, MessageRead, MessageUpdated,
    SessionRevoked, Typing, UserOffline, UserOnline,
};
use crate::domain::{ChatId, PresenceStatus, SessionId, Timestamp, UserId};
use crate::wire::{Chat, Message};

pub(crate) fn user_room(user: UserId) -> String {
    format!("user:{user}")
}

pub(crate) fn session_room(session: SessionId) -> String {
    format!("session:{session}")
}

/// A payload as JSON text, to send the same bytes to many sockets without serializing again.
fn to_json<T: Serialize>(payload: &T) -> Option<Box<RawValue>> {
    serde_json::value::to_raw_value(payload)
        .inspect_err(|err| tracing::error!(%err, "payload not serializable"))
        .ok()
}

/// Sends events to connected clients.
#[derive(Clone)]
pub struct Notifier {
    io: SocketIo,
}

impl Notifier {
    pub fn new(io: SocketIo) -> Self {
        Notifier { io }
    }

    pub fn io(&self) -> &SocketIo {
        &self.io
    }

    /// Emitting only queues the packet on each socket (awaited, so events keep their order);
    /// a failure to reach a socket is logged, never turned into an error of the request.
    async fn to_users<T: Serialize + ?Sized>(
        &self,
        users: &[UserId],
        event: &'static str,
        payload: &T,
    ) {
        if users.is_empty() {
            return;
        }
        let rooms: Vec<String> = users.iter().map(|u| user_room(*u)).collect();
        if let Err(err) = self.io.to(rooms).emit(event, payload).await {
            tracing::warn!(%err, event, "emit failed");
        }
    }

    pub async fn contact_request_received(&self, to: UserId, payload: &ContactRequestReceived) {
        self.to_users(&[to], events::CONTACT_REQUEST_RECEIVED, payload)
            .await;
    }

    pub async fn contact_request_accepted(&self, to: &[UserId], payload: &ContactChanged) {
        self.to_users(to, events::CONTACT_REQUEST_ACCEPTED, payload)
            .await;
    }

    pub async fn contact_request_rejected(&self, to: UserId, payload: &ContactChanged) {
        self.to_users(&[to], events::CONTACT_REQUEST_REJECTED, payload)
            .await;
    }

    pub async fn contact_blocked(&self, to: UserId, payload: &ContactChanged) {
        self.to_users(&[to], events::CONTACT_BLOCKED, payload).await;
    }

    pub async fn contact_removed(&self, to: &[UserId], payload: &ContactChanged) {
        self.to_users(to, events::CONTACT_REMOVED, payload).await;
    }

    pub async fn user_online(&self, audience: &[UserId], user: UserId, status: PresenceStatus) {
        let payload = UserOnline {
            user_id: user,
            status,
        };
        self.to_users(audience, events::USER_ONLINE, &payload).await;
    }

    pub async fn user_offline(
        &self,
        audience: &[UserId],
        user: UserId,
        last_seen: Option<Timestamp>,
    ) {
        let payload = UserOffline {
            user_id: user,
            last_seen,
        };
        self.to_users(audience, events::USER_OFFLINE, &payload)
            .await;
    }

    /// `new_message` to every device of the members: the sender's other devices get it as is
    /// (never the socket it was sent from), each other member's devices with an ack request;
    /// the first ack from a member's device calls `on_delivered` with that member. `view_for`
    /// gives a member's own copy when it differs (file URLs are signed per viewer).
    ///
    /// The message is serialized once and the same JSON text goes to every member; each member
    /// still gets their own emit, so an ack says whose device it came from, on any node. That
    /// text is returned, for the sender's own answer to reuse.
    pub async fn new_message<F, V>(
        &self,
        members: &[UserId],
        message: &Message,
        from_socket: Option<Sid>,
        on_delivered: F,
        view_for: V,
    ) -> Option<Box<RawValue>>
    where
        F: Fn(UserId) + Send + Sync + 'static,
        V: Fn(UserId) -> Option<Message>,
    {
        let shared = to_json(message)?;
        let sender = message.sender_id;
        let own_devices = match from_socket.and_then(|sid| self.io.get_socket(sid)) {
            Some(socket) => {
                socket
                    .to(user_room(sender))
                    .emit(events::NEW_MESSAGE, &shared)
                    .await
            }
            None => {
                self.io
                    .to(user_room(sender))
                    .emit(events::NEW_MESSAGE, &shared)
                    .await
            }
        };
        if let Err(err) = own_devices {
            tracing::warn!(%err, "emit new_message to the sender's devices failed");
        }
        let mut acks = Vec::with_capacity(members.len());
        for member in members.iter().copied().filter(|m| *m != sender) {
            let own = view_for(member).as_ref().and_then(to_json);
            let payload = own.as_deref().unwrap_or(&shared);
            let sent = self
                .io
                .to(user_room(member))
                // What the client acks with does not matter, only that it did: nothing is built.
                .emit_with_ack::<_, serde::de::IgnoredAny>(events::NEW_MESSAGE, payload)
                .await;
            // A member with no socket gets an empty stream (the local adapter says so exactly);
            // waiting on it would cost a task per message for nothing (docs/BENCHMARKS.md,
            // session 9). A cluster adapter must report remote sockets as unknown, not as none.
            if let Ok(stream) = sent
                && stream.size_hint().1 != Some(0)
            {
                acks.push(stream.map(move |(_, ack)| (member, ack.is_ok())).boxed());
            }
        }
        if acks.is_empty() {
            return Some(shared);
        }
        // One task per message waits for the acks of every member online (until the timeout).
        tokio::spawn(async move {
            let mut acks = futures_util::stream::select_all(acks);
            let mut delivered = Vec::new();
            while let Some((member, ok)) = acks.next().await {
                if ok && !delivered.contains(&member) {
                    delivered.push(member);
                    on_delivered(member);
                }
            }
        });
        Some(shared)
    }

    pub async fn message_updated(&self, members: &[UserId], payload: &MessageUpdated) {
        self.to_users(members, events::MESSAGE_UPDATED, payload)
            .await;
    }

    pub async fn message_deleted(&self, to: &[UserId], payload: &MessageDeleted) {
        self.to_users(to, events::MESSAGE_DELETED, payload).await;
    }

    pub async fn message_delivered(&self, to: &[UserId], payload: &MessageDelivered) {
        self.to_users(to, events::MESSAGE_DELIVERED, payload).await;
    }

    pub async fn message_read(&self, to: &[UserId], payload: &MessageRead) {
        self.to_users(to, events::MESSAGE_READ, payload).await;
    }

    pub async fn message_reaction(&self, members: &[UserId], payload: &MessageReaction) {
        self.to_users(members, events::MESSAGE_REACTION, payload)
            .await;
    }

    pub async fn message_pinned(&self, members: &[UserId], payload: &MessagePinned, pinned: bool) {
        let event = if pinned {
            events::MESSAGE_PINNED
        } else {
            events::MESSAGE_UNPINNED
        };
        self.to_users(members, event, payload).await;
    }

    pub async fn typing(&self, to: &[UserId], payload: &Typing, started: bool) {
        let event = if started {
            events::USER_TYPING
        } else {
            events::USER_STOPPED_TYPING
        };
        self.to_users(to, event, payload).await;
    }

    /// `chat_created` to one member (each member sees the chat their own way).
    pub async fn chat_created(&self, to: UserId, chat: &Chat) {
        self.to_users(&[to], events::CHAT_CREATED, chat).await;
    }

    /// `chat_updated` to one member.
    pub async fn chat_updated(&self, to: UserId, chat: &Chat) {
        self.to_users(&[to], events::CHAT_UPDATED, chat).await;
    }

    pub async fn chat_deleted(&self, to: &[UserId], chat: ChatId) {
        self.to_users(to, events::CHAT_DELETED, &ChatDeleted { chat_id: chat })
            .await;
    }

    pub async fn member_added(&self, to: &[UserId], payload: &MemberAdded) {
        self.to_users(to, events::MEMBER_ADDED, payload).await;
    }

    pub async fn member_removed(&self, to: &[UserId], payload: &MemberRemoved) {
        self.to_users(to, events::MEMBER_REMOVED, payload).await;
    }

    /// Tells the sockets of these sessions why, then disconnects them.
    pub async fn sessions_revoked(&self, sessions: &[SessionId], reason: &'static str) {
        if sessions.is_empty() {
            return;
        }
        let rooms: Vec<String> = sessions.iter().map(|s| session_room(*s)).collect();
        let payload = SessionRevoked { reason };
        if let Err(err) = self
            .io
            .to(rooms.clone())
            .emit(events::SESSION_REVOKED, &payload)
            .await
        {
            tracing::warn!(%err, "emit session_revoked failed");
        }
        if let Err(err) = self.io.to(rooms).disconnect().await {
            tracing::warn!(%err, "disconnecting revoked sessions failed");
        }
    }
}
