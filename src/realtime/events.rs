//! Every server → client event name and payload type, in one place.

use serde::Serialize;

use crate::domain::{ChatId, ContactId, MessageId, PresenceStatus, Timestamp, UserId};

pub const USER_ONLINE: &str = "user_online";
pub const USER_OFFLINE: &str = "user_offline";
pub const PRESENCE_INITIAL: &str = "presence_initial";
pub const CONTACT_REQUEST_RECEIVED: &str = "contact_request_received";
pub const CONTACT_REQUEST_ACCEPTED: &str = "contact_request_accepted";
pub const CONTACT_REQUEST_REJECTED: &str = "contact_request_rejected";
pub const CONTACT_BLOCKED: &str = "contact_blocked";
pub const CONTACT_REMOVED: &str = "contact_removed";
pub const SESSION_REVOKED: &str = "session_revoked";

/// `user_online`; `status` (an addition to the contract) is `online` or `away`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserOnline {
    pub user_id: UserId,
    pub status: PresenceStatus,
}

/// `user_offline`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserOffline {
    pub user_id: UserId,
    pub last_seen: Option<Timestamp>,
}

/// One entry of `presence_initial`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PresenceEntry {
    pub user_id: UserId,
    pub status: PresenceStatus,
    pub last_seen: Option<Timestamp>,
}

/// `presence_initial`.
#[derive(Debug, Clone, Serialize)]
pub struct PresenceInitial {
    pub users: Vec<PresenceEntry>,
}

/// `contact_request_received`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactRequestReceived {
    pub contact_id: ContactId,
    pub user_id: UserId,
    pub username: String,
}

/// `contact_request_accepted`, `contact_request_rejected`, `contact_blocked`, `contact_removed`:
/// `userId` is the person who acted.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactChanged {
    pub contact_id: Option<ContactId>,
    pub user_id: UserId,
}

/// `session_revoked`.
#[derive(Debug, Clone, Serialize)]
pub struct SessionRevoked {
    pub reason: &'static str,
}

pub const NEW_MESSAGE: &str = "new_message";
pub const MESSAGE_UPDATED: &str = "message_updated";
pub const MESSAGE_DELETED: &str = "message_deleted";
pub const MESSAGE_DELIVERED: &str = "message_delivered";
pub const MESSAGE_READ: &str = "message_read";
pub const MESSAGE_REACTION: &str = "message_reaction";
pub const MESSAGE_PINNED: &str = "message_pinned";
pub const MESSAGE_UNPINNED: &str = "message_unpinned";
pub const USER_TYPING: &str = "user_typing";
pub const USER_STOPPED_TYPING: &str = "user_stopped_typing";
pub const CHAT_CREATED: &str = "chat_created";
pub const CHAT_UPDATED: &str = "chat_updated";
pub const CHAT_DELETED: &str = "chat_deleted";
pub const MEMBER_ADDED: &str = "member_added";
pub const MEMBER_REMOVED: &str = "member_removed";

/// `message_updated`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageUpdated {
    pub id: MessageId,
    pub chat_id: ChatId,
    pub content: String,
    pub edited_at: Option<Timestamp>,
    pub updated_at: Timestamp,
}

/// `message_deleted`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageDeleted {
    pub message_id: MessageId,
    pub chat_id: ChatId,
    /// `me` or `everyone`.
    pub scope: &'static str,
}

/// `message_delivered`: `userId`'s device received everything up to `messageId`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageDelivered {
    pub message_id: MessageId,
    pub chat_id: ChatId,
    pub user_id: UserId,
    pub delivered_at: Timestamp,
}

/// `message_read`: `userId` read everything up to `messageId`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageRead {
    pub message_id: MessageId,
    pub chat_id: ChatId,
    pub user_id: UserId,
    pub read_at: Timestamp,
}

/// `message_reaction`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageReaction {
    pub message_id: MessageId,
    pub chat_id: ChatId,
    pub user_id: UserId,
    pub emoji: Option<String>,
    pub reactions: Vec<crate::wire::ReactionGroup>,
}

/// `message_pinned` / `message_unpinned` (additions to the contract).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessagePinned {
    pub message_id: MessageId,
    pub chat_id: ChatId,
    pub user_id: UserId,
}

/// `user_typing` / `user_stopped_typing`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Typing {
    pub chat_id: ChatId,
    pub user_id: UserId,
    pub username: String,
}

/// `chat_deleted`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatDeleted {
    pub chat_id: ChatId,
}

/// `member_added`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberAdded {
    pub chat_id: ChatId,
    pub member: crate::wire::ChatMember,
}

/// `member_removed`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberRemoved {
    pub chat_id: ChatId,
    pub user_id: UserId,
}
