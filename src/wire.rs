//! The JSON objects of the contract (section 2), shared by HTTP responses and Socket.IO events.
//!
//! These are views: built from store rows plus what the viewer is allowed to see. Field names are
//! camelCase on the wire; times are RFC 3339 with milliseconds.

use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::{
    ChatId, ContactId, FileId, LastSeenVisibility, MemberId, MessageId, PresenceStatus, Role,
    Timestamp, UserId,
};
use crate::store::{ContactRow, UserRow};

/// What a viewer may know of someone's presence.
#[derive(Debug, Clone, Copy)]
pub struct PresenceView {
    pub status: PresenceStatus,
    pub last_seen: Option<Timestamp>,
}

impl PresenceView {
    pub const HIDDEN: PresenceView = PresenceView {
        status: PresenceStatus::Offline,
        last_seen: None,
    };
}

/// Another person, as anyone may see them.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PublicUser {
    #[schema(value_type = String, format = Uuid)]
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub avatar_url: Option<String>,
    pub bio: String,
    #[schema(value_type = String, example = "online")]
    pub status: PresenceStatus,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_seen: Option<Timestamp>,
}

impl PublicUser {
    pub fn new(row: &UserRow, presence: PresenceView) -> Self {
        PublicUser {
            id: row.id,
            username: row.username.clone(),
            display_name: row.display_name.clone(),
            avatar_url: row.avatar_url.clone(),
            bio: row.bio.clone(),
            status: presence.status,
            last_seen: presence.last_seen,
        }
    }
}

/// The signed-in person's own settings.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    pub read_receipts: bool,
    #[schema(value_type = String, example = "everyone")]
    pub last_seen_visibility: LastSeenVisibility,
    pub notifications: bool,
}

/// The signed-in person: their public face plus private fields.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Me {
    #[serde(flatten)]
    pub public: PublicUser,
    pub email: String,
    #[schema(value_type = String, example = "user")]
    pub role: Role,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    pub settings: Settings,
}

impl Me {
    pub fn new(row: &UserRow, presence: PresenceView) -> Self {
        Me {
            public: PublicUser::new(row, presence),
            email: row.email.clone(),
            role: Role::from_db(&row.role),
            created_at: row.created_at,
            updated_at: row.updated_at,
            settings: Settings {
                read_receipts: row.read_receipts != 0,
                last_seen_visibility: LastSeenVisibility::from_db(&row.last_seen_visibility),
                notifications: row.notifications != 0,
            },
        }
    }
}

/// A contact or a contact request.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Contact {
    #[schema(value_type = String, format = Uuid)]
    pub id: ContactId,
    /// Who asked.
    #[schema(value_type = String, format = Uuid)]
    pub user_id: UserId,
    /// Who was asked.
    #[schema(value_type = String, format = Uuid)]
    pub contact_id: UserId,
    /// `pending`, `accepted` or `blocked`.
    pub status: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// The other person.
    pub contact: PublicUser,
}

impl Contact {
    pub fn new(row: &ContactRow, other: PublicUser) -> Self {
        Contact {
            id: row.id,
            user_id: row.user_id,
            contact_id: row.contact_id,
            status: row.status.clone(),
            created_at: row.created_at,
            contact: other,
        }
    }
}

/// A request someone sent me, with the requester.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContactRequest {
    #[schema(value_type = String, format = Uuid)]
    pub id: ContactId,
    #[schema(value_type = String, format = Uuid)]
    pub user_id: UserId,
    #[schema(value_type = String, format = Uuid)]
    pub contact_id: UserId,
    pub status: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// The requester (for requests I sent: the person asked).
    pub user: PublicUser,
}

impl ContactRequest {
    pub fn new(row: &ContactRow, other: PublicUser) -> Self {
        ContactRequest {
            id: row.id,
            user_id: row.user_id,
            contact_id: row.contact_id,
            status: row.status.clone(),
            created_at: row.created_at,
            user: other,
        }
    }
}

/// A search hit: a person plus how they relate to the searcher.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserSearchHit {
    #[serde(flatten)]
    pub user: PublicUser,
    /// `none`, `pending_outgoing`, `pending_incoming`, `accepted` or `blocked` (I blocked them).
    pub contact_status: &'static str,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub contact_id: Option<ContactId>,
}

/// A member of a chat.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatMember {
    #[schema(value_type = String, format = Uuid)]
    pub id: MemberId,
    #[schema(value_type = String, format = Uuid)]
    pub chat_id: ChatId,
    #[schema(value_type = String, format = Uuid)]
    pub user_id: UserId,
    /// `member` or `admin`.
    pub role: String,
    #[schema(value_type = String, format = DateTime)]
    pub joined_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_read_at: Option<Timestamp>,
    pub user: PublicUser,
}

/// The caller's own settings for a chat.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatSettings {
    pub muted: bool,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub muted_until: Option<Timestamp>,
    pub archived: bool,
    pub pinned: bool,
}

/// A chat as one member sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Chat {
    #[schema(value_type = String, format = Uuid)]
    pub id: ChatId,
    /// `one_on_one` or `group`.
    #[serde(rename = "type")]
    pub kind: String,
    /// For one-on-one chats: the other member's display name.
    pub name: Option<String>,
    pub description: Option<String>,
    /// For one-on-one chats: the other member's avatar.
    pub avatar_url: Option<String>,
    #[schema(value_type = String, format = Uuid)]
    pub created_by: UserId,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    pub members: Vec<ChatMember>,
    pub last_message: Option<Box<Message>>,
    pub unread_count: i64,
    pub settings: ChatSettings,
}

/// The sender of a message, as shown beside it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SenderSummary {
    #[schema(value_type = String, format = Uuid)]
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub avatar_url: Option<String>,
}

impl SenderSummary {
    pub fn new(row: &UserRow) -> Self {
        SenderSummary {
            id: row.id,
            username: row.username.clone(),
            display_name: row.display_name.clone(),
            avatar_url: row.avatar_url.clone(),
        }
    }
}

/// The preview of the message a reply answers.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReplyPreview {
    #[schema(value_type = String, format = Uuid)]
    pub id: MessageId,
    #[schema(value_type = String, format = Uuid)]
    pub sender_id: UserId,
    pub content: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub sender: Option<SenderSummary>,
}

/// All reactions with one emoji.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReactionGroup {
    pub emoji: String,
    pub count: usize,
    #[schema(value_type = Vec<String>)]
    pub user_ids: Vec<UserId>,
}

/// An uploaded file; `url` and `thumbnailUrl` are signed for the viewer and expire.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FileInfo {
    #[schema(value_type = String, format = Uuid)]
    pub id: FileId,
    pub name: String,
    pub size: i64,
    pub mime_type: String,
    /// `image`, `video`, `audio` or `file`.
    pub kind: String,
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub duration_ms: Option<i64>,
    pub url: String,
    pub thumbnail_url: Option<String>,
}

/// A message as one member sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    #[schema(value_type = String, format = Uuid)]
    pub id: MessageId,
    #[schema(value_type = String, format = Uuid)]
    pub chat_id: ChatId,
    #[schema(value_type = String, format = Uuid)]
    pub sender_id: UserId,
    pub client_id: Option<String>,
    pub content: String,
    /// `text`, `image`, `file`, `audio`, `video`, `system` or `call`.
    #[serde(rename = "type")]
    pub kind: String,
    pub file_url: Option<String>,
    pub file: Option<FileInfo>,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub reply_to_id: Option<MessageId>,
    pub reply_to: Option<ReplyPreview>,
    pub forwarded: bool,
    pub reactions: Vec<ReactionGroup>,
    /// What the sender sees: `sent`, `delivered` (every other member received it) or `read`.
    pub status: &'static str,
    #[schema(value_type = Vec<String>)]
    pub read_by: Vec<UserId>,
    pub is_read: bool,
    /// Whether the viewer starred it (an addition).
    pub starred: bool,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub edited_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub deleted_at: Option<Timestamp>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    pub sender: Option<SenderSummary>,
}
