//! Messages: send (idempotent by `clientId`) and history here; changing a message for everyone
//! (edit, delete, react, forward) in [`actions`]; each person's own stars in [`stars`];
//! receipts, search and catching up in [`receipts`].
//!
//! A message is visible to the members of its chat only; to anyone else it does not exist (404).

mod actions;
mod cursor;
mod receipts;
mod stars;
mod views;

pub use actions::{DeleteScope, delete, edit, forward, react};
pub use cursor::{decode_cursor, encode_cursor};
pub use receipts::{
    ChatRead, ChatSummary, ReceiptEntry, Receipts, SearchHit, SyncPage, delivered, mark_chat_read,
    mark_read, receipts, search, sync,
};
pub use stars::{star, starred};
pub use views::{group_reactions, views};

use serde::Deserialize;
use serde_json::value::RawValue;
use socketioxide::socket::Sid;
use utoipa::ToSchema;

use super::accounts::AuthUser;
use super::chats::{self, Membership, ONE_ON_ONE, members_of, membership};
use crate::app::AppState;
use crate::domain::{ChatId, FileId, MessageId, Timestamp, UserId};
use crate::error::{AppError, AppResult};
use crate::store::{ChatMembers, HistoryKey, InsertOutcome, MessageRow, NewMessage};
use crate::wire::Message;

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendRequest {
    pub content: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub file_id: Option<String>,
    pub file_url: Option<String>,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub reply_to_id: Option<MessageId>,
    /// The sender's own id for this message; a retry with the same one returns the first.
    pub client_id: Option<String>,
}

/// A sent message as the sender is answered with.
pub struct Sent {
    pub message: Message,
    /// False: a retry of an earlier send with the same `clientId`.
    pub created: bool,
    /// The JSON text `new_message` carried, when this send emitted it.
    json: Option<Box<RawValue>>,
}

impl Sent {
    /// The message as JSON text: the text already made for `new_message` when there is one, so
    /// the hottest answer is not serialized twice (docs/BENCHMARKS.md, session 10).
    pub fn into_json(self) -> AppResult<Box<RawValue>> {
        match self.json {
            Some(json) => Ok(json),
            None => serde_json::value::to_raw_value(&self.message)
                .map_err(|err| AppError::Internal(err.into())),
        }
    }
}

/// `POST /api/chats/:id/messages` and `send_message`: stores and announces the message, or
/// finds the first one stored under the same `clientId`.
pub async fn send(
    state: &AppState,
    auth: &AuthUser,
    chat: ChatId,
    request: SendRequest,
    from_socket: Option<Sid>,
) -> AppResult<Sent> {
    let members = members_of(state, auth.user_id, chat).await?;
    let client_id = parse_client_id(request.client_id.as_deref())?;
    ensure_may_write(state, auth, &members).await?;
    let content = parse_content(state, auth, &request).await?;
    if let Some(reply) = request.reply_to_id {
        fetch_in_chat(state, auth.user_id, reply, chat)
            .await
            .map_err(|_| AppError::invalid("replyToId", "is not a message of this chat"))?;
    }
    let throttle_key = auth.user_id.to_string();
    state.throttles.sends.check(&throttle_key)?;
    state.throttles.sends.record(&throttle_key);
    let new = NewMessage {
        id: MessageId::new(),
        chat_id: chat,
        sender_id: auth.user_id,
        client_id: client_id.map(str::to_owned),
        content: content.text,
        kind: content.kind,
        file_id: content.file_id.map(|id| id.to_string()),
        reply_to_id: request.reply_to_id,
        forwarded: false,
        now: Timestamp::now(),
    };
    match state.store.insert_message(new).await? {
        InsertOutcome::Inserted {
            row, read_since, ..
        } => {
            let (message, json) = publish(state, &row, read_since, from_socket).await?;
            Ok(Sent {
                message,
                created: true,
                json,
            })
        }
        InsertOutcome::DuplicateClientId => {
            // A retry (or the same clientId racing in from another connection): the first wins.
            let existing = state
                .store
                .fetch_message_by_client_id(auth.user_id, client_id.unwrap_or_default())
                .await?
                .ok_or_else(|| AppError::Internal(anyhow::anyhow!("clientId row vanished")))?;
            replay(state, auth, chat, existing).await
        }
        InsertOutcome::NotMember => Err(AppError::not_found("Chat")),
    }
}

async fn replay(
    state: &AppState,
    auth: &AuthUser,
    chat: ChatId,
    existing: MessageRow,
) -> AppResult<Sent> {
    if existing.chat_id != chat {
        return Err(AppError::Conflict(
            "This clientId was already used for another chat".into(),
        ));
    }
    let view = views(state, auth.user_id, &[existing]).await?.pop();
    view.map(|message| Sent {
        message,
        created: false,
        json: None,
    })
    .ok_or_else(|| AppError::not_found("Message"))
}

/// Emits `new_message` for a message just stored (recipients' acks record delivery), and the
/// read receipts sending implies. Returns the message and the JSON text it was emitted as.
async fn publish(
    state: &AppState,
    row: &MessageRow,
    read_since: Option<Timestamp>,
    from_socket: Option<Sid>,
) -> AppResult<(Message, Option<Box<RawValue>>)> {
    let message = views::fresh(state, row).await?;
    let members = state.store.list_member_ids(row.chat_id).await?;
    let (ack_state, chat, message_id, at) = (state.clone(), row.chat_id, row.id, row.created_at);
    let on_delivered = move |member: UserId| {
        receipts::record_delivery_later(&ack_state, member, chat, message_id, at);
    };
    let json = state
        .notifier
        .new_message(&members, &message, from_socket, on_delivered, |member| {
            crate::service::files::resign(&state.files, &message, member)
        })
        .await;
    if let Some(since) = read_since {
        receipts::announce_read_by_sending(state, row, since).await?;
    }
    Ok((message, json))
}

/// In one-on-one chats, neither person may have blocked the other.
pub(crate) async fn ensure_may_write(
    state: &AppState,
    auth: &AuthUser,
    members: &ChatMembers,
) -> AppResult<()> {
    if members.kind != ONE_ON_ONE {
        return Ok(());
    }
    if let Some(other) = members.ids.iter().find(|id| **id != auth.user_id) {
        chats::ensure_not_blocked(state, auth.user_id, *other).await?;
    }
    Ok(())
}

fn parse_client_id(raw: Option<&str>) -> AppResult<Option<&str>> {
    match raw {
        None => Ok(None),
        Some(id) if id.is_empty() || id.len() > 100 || id.chars().any(char::is_control) => {
            Err(AppError::invalid("clientId", "must be 1 to 100 characters"))
        }
        Some(id) => Ok(Some(id)),
    }
}

/// What a send stores: its type, text and file.
struct Content {
    kind: String,
    text: String,
    file_id: Option<FileId>,
}

/// Text messages need text; file messages need a file the sender uploaded, and the text is an
/// optional caption. The type defaults to the file's kind; any file may be sent as `file`.
async fn parse_content(
    state: &AppState,
    auth: &AuthUser,
    request: &SendRequest,
) -> AppResult<Content> {
    let raw = request.content.as_deref().unwrap_or_default();
    let Some(file_id) = request.file_id.as_deref() else {
        return match request.kind.as_deref().unwrap_or("text") {
            "text" => Ok(Content {
                kind: "text".into(),
                text: parse_text(state, raw)?,
                file_id: None,
            }),
            kind => Err(refuse_type(kind)),
        };
    };
    let id = FileId::parse(file_id).ok_or_else(|| AppError::invalid("fileId", "must be a UUID"))?;
    let file = crate::service::files::fetch_own(state, auth, id).await?;
    let kind = request.kind.clone().unwrap_or_else(|| file.kind.clone());
    if kind != file.kind && kind != "file" {
        return Err(match kind.as_str() {
            "image" | "video" | "audio" => {
                AppError::invalid("type", format!("the file is of kind {}", file.kind))
            }
            other => refuse_type(other),
        });
    }
    let text = if raw.is_empty() {
        String::new()
    } else {
        parse_text(state, raw)?
    };
    Ok(Content {
        kind,
        text,
        file_id: Some(id),
    })
}

fn refuse_type(kind: &str) -> AppError {
    match kind {
        "image" | "file" | "audio" | "video" => {
            AppError::invalid("fileId", "a file message needs the id of an uploaded file")
        }
        "system" | "call" => AppError::invalid("type", "is written by the server only"),
        _ => AppError::invalid("type", "must be text, image, file, audio or video"),
    }
}

fn parse_text(state: &AppState, raw: &str) -> AppResult<String> {
    if raw.trim().is_empty() {
        return Err(AppError::invalid("content", "must not be empty"));
    }
    if raw.len() > state.config.messages.max_content_bytes {
        return Err(AppError::PayloadTooLarge(format!(
            "content: at most {} bytes",
            state.config.messages.max_content_bytes
        )));
    }
    if raw
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r'))
    {
        return Err(AppError::invalid(
            "content",
            "must not contain control characters",
        ));
    }
    Ok(raw.to_owned())
}

/// A message in a chat the caller belongs to and has not hidden; anything else is not found.
pub async fn fetch_visible(
    state: &AppState,
    viewer: UserId,
    id: MessageId,
) -> AppResult<(MessageRow, Membership)> {
    let row = state
        .store
        .fetch_message(id)
        .await?
        .ok_or_else(|| AppError::not_found("Message"))?;
    let m = membership(state, viewer, row.chat_id)
        .await
        .map_err(|_| AppError::not_found("Message"))?;
    if m.member.cleared_at.is_some_and(|at| row.created_at <= at)
        || state.store.is_message_hidden_for(viewer, id).await?
    {
        return Err(AppError::not_found("Message"));
    }
    Ok((row, m))
}

async fn fetch_in_chat(
    state: &AppState,
    viewer: UserId,
    id: MessageId,
    chat: ChatId,
) -> AppResult<MessageRow> {
    let (row, _) = fetch_visible(state, viewer, id).await?;
    if row.chat_id != chat {
        return Err(AppError::not_found("Message"));
    }
    Ok(row)
}

/// One page of history.
pub struct Page {
    pub messages: Vec<Message>,
    pub next_cursor: Option<String>,
    pub has_more: bool,
}

/// Where a history request starts.
pub enum HistoryFrom {
    /// Newest first, before the cursor (or from the newest).
    Before(Option<String>),
    /// Oldest first, after this message (gap filling).
    After(MessageId),
}

/// `GET /api/chats/:id/messages`; fetching records delivery of what it returns.
pub async fn history(
    state: &AppState,
    auth: &AuthUser,
    chat: ChatId,
    from: HistoryFrom,
    limit: i64,
) -> AppResult<Page> {
    // Membership from the members cache, as for sending: no query before the page's own.
    members_of(state, auth.user_id, chat).await?;
    let mut rows = match &from {
        HistoryFrom::Before(cursor) => {
            let key = cursor.as_deref().map(decode_cursor).transpose()?;
            state
                .store
                .list_messages_before(auth.user_id, chat, key, limit + 1)
                .await?
        }
        HistoryFrom::After(id) => {
            let anchor = fetch_in_chat(state, auth.user_id, *id, chat)
                .await
                .map_err(|_| AppError::invalid("after", "is not a message of this chat"))?;
            let key = HistoryKey {
                created_at: anchor.created_at,
                id: anchor.id,
            };
            state
                .store
                .list_messages_after(auth.user_id, chat, key, limit + 1)
                .await?
        }
    };
    let has_more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if has_more {
        rows.last().map(encode_cursor)
    } else {
        None
    };
    if let Some(newest) = rows.iter().max_by_key(|r| (r.created_at, r.id)) {
        // The page does not wait for the receipt's commit: the reader asked for messages, and
        // a receipt lost in a crash is recorded again by the next fetch or ack.
        receipts::record_delivery_later(state, auth.user_id, chat, newest.id, newest.created_at);
    }
    let messages = views(state, auth.user_id, &rows).await?;
    Ok(Page {
        messages,
        next_cursor,
        has_more,
    })
}
