//! Every server → client event name and payload type, in one place.

use serde::Serialize;

use crate::domain::{ContactId, PresenceStatus, Timestamp, UserId};

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
