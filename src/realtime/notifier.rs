//! The one way events leave the server. Services call a named method after their commit.
//!
//! Every socket joins the room of its user (`user:<id>`) and of its session (`session:<id>`), so
//! an event for a person reaches all their devices, and revoking a session reaches exactly the
//! sockets opened with it. Rooms go through socketioxide's adapter, so with a cluster adapter the
//! same calls reach sockets on other nodes.

use serde::Serialize;
use socketioxide::SocketIo;

use super::events::{
    self, ContactChanged, ContactRequestReceived, SessionRevoked, UserOffline, UserOnline,
};
use crate::domain::{PresenceStatus, SessionId, Timestamp, UserId};

pub(crate) fn user_room(user: UserId) -> String {
    format!("user:{user}")
}

pub(crate) fn session_room(session: SessionId) -> String {
    format!("session:{session}")
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
