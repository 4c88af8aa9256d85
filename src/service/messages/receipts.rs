//! Delivery and read receipts, search, and catching up after being offline.
//!
//! Receipts are watermarks per member and chat: "delivered up to" and "read up to" a point in the
//! chat's history. Marking a message marks everything before it. Each advance is also recorded
//! with its time, which is how `GET /api/messages/:id/receipts` says who and when.

use std::collections::HashMap;

use serde::Serialize;
use utoipa::ToSchema;

use super::cursor::{decode_since, encode_since};
use super::{decode_cursor, encode_cursor, fetch_visible, views};
use crate::app::AppState;
use crate::domain::{ChatId, MessageId, Timestamp, UserId};
use crate::error::{AppError, AppResult};
use crate::realtime::events::{MessageDelivered, MessageRead};
use crate::service::accounts::AuthUser;
use crate::service::chats::membership;
use crate::store::{Advance, MessageRow, ReceiptKind};
use crate::wire::{Chat, Message};

/// Moves `user`'s delivery watermark in `chat` up to a message and tells the senders whose
/// messages that covers.
pub async fn record_delivery(
    state: &AppState,
    user: UserId,
    chat: ChatId,
    message: MessageId,
    at: Timestamp,
) -> AppResult<()> {
    let now = Timestamp::now();
    let advance = Advance {
        chat,
        user,
        kind: ReceiptKind::Delivered,
        up_to: at,
        now,
    };
    let Some(previous) = state.store.advance_watermark(advance).await? else {
        return Ok(());
    };
    let senders = state
        .store
        .list_senders_between(chat, previous, at, user)
        .await?;
    let payload = MessageDelivered {
        message_id: message,
        chat_id: chat,
        user_id: user,
        delivered_at: now,
    };
    state.notifier.message_delivered(&senders, &payload).await;
    Ok(())
}

/// [`record_delivery`] in its own task, for callers that must not wait for the commit.
pub fn record_delivery_later(
    state: &AppState,
    user: UserId,
    chat: ChatId,
    message: MessageId,
    at: Timestamp,
) {
    let state = state.clone();
    tokio::spawn(async move {
        if let Err(err) = record_delivery(&state, user, chat, message, at).await {
            tracing::warn!(error = ?err, "recording delivery failed");
        }
    });
}

/// `POST /api/messages/delivered` / `mark_delivered`: ids the caller cannot see are ignored.
pub async fn delivered(state: &AppState, auth: &AuthUser, ids: &[MessageId]) -> AppResult<()> {
    if ids.len() > 500 {
        return Err(AppError::invalid("messageIds", "at most 500 at a time"));
    }
    let mut newest: HashMap<ChatId, MessageRow> = HashMap::new();
    for row in state.store.fetch_messages(ids).await? {
        let keep = newest
            .get(&row.chat_id)
            .is_none_or(|best| (row.created_at, row.id) > (best.created_at, best.id));
        if keep {
            newest.insert(row.chat_id, row);
        }
    }
    for (chat, row) in newest {
        if state
            .store
            .fetch_member(chat, auth.user_id)
            .await?
            .is_some()
        {
            record_delivery(state, auth.user_id, chat, row.id, row.created_at).await?;
        }
    }
    Ok(())
}

/// `POST /api/messages/:id/read` / `mark_read`: the caller has read this message and all before.
pub async fn mark_read(state: &AppState, auth: &AuthUser, id: MessageId) -> AppResult<Timestamp> {
    let (row, _) = fetch_visible(state, auth.user_id, id).await?;
    advance_read(state, auth.user_id, &row).await
}

async fn advance_read(state: &AppState, reader: UserId, row: &MessageRow) -> AppResult<Timestamp> {
    let receipts_on = state
        .store
        .fetch_user(reader)
        .await?
        .is_some_and(|u| u.read_receipts != 0);
    if !receipts_on {
        // Whatever is read has been delivered; without a `message_read` to imply it, the
        // senders hear it as a delivery.
        record_delivery(state, reader, row.chat_id, row.id, row.created_at).await?;
    }
    let now = Timestamp::now();
    let advance = Advance {
        chat: row.chat_id,
        user: reader,
        kind: ReceiptKind::Read,
        up_to: row.created_at,
        now,
    };
    let Some(previous) = state.store.advance_watermark(advance).await? else {
        return Ok(now);
    };
    let mut to = vec![reader];
    if receipts_on {
        to.extend(
            state
                .store
                .list_senders_between(row.chat_id, previous, row.created_at, reader)
                .await?,
        );
    }
    let payload = MessageRead {
        message_id: row.id,
        chat_id: row.chat_id,
        user_id: reader,
        read_at: now,
    };
    state.notifier.message_read(&to, &payload).await;
    Ok(now)
}

/// Sending a message moved the sender's read watermark past everything before it: tell the
/// senders of what it covered, as if the sender had marked it read.
pub async fn announce_read_by_sending(
    state: &AppState,
    row: &MessageRow,
    previous: Timestamp,
) -> AppResult<()> {
    let senders = state
        .store
        .list_senders_between(row.chat_id, previous, row.created_at, row.sender_id)
        .await?;
    if senders.is_empty() {
        return Ok(());
    }
    let receipts_on = state
        .store
        .fetch_user(row.sender_id)
        .await?
        .is_some_and(|u| u.read_receipts != 0);
    if receipts_on {
        let payload = MessageRead {
            message_id: row.id,
            chat_id: row.chat_id,
            user_id: row.sender_id,
            read_at: row.created_at,
        };
        state.notifier.message_read(&senders, &payload).await;
    } else {
        let payload = MessageDelivered {
            message_id: row.id,
            chat_id: row.chat_id,
            user_id: row.sender_id,
            delivered_at: row.created_at,
        };
        state.notifier.message_delivered(&senders, &payload).await;
    }
    Ok(())
}

/// The answer of `POST /api/chats/:id/read`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatRead {
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_read_at: Option<Timestamp>,
    pub unread_count: i64,
}

/// `POST /api/chats/:id/read {messageId?}`: read up to that message, or the newest.
pub async fn mark_chat_read(
    state: &AppState,
    auth: &AuthUser,
    chat: ChatId,
    message: Option<MessageId>,
) -> AppResult<ChatRead> {
    membership(state, auth.user_id, chat).await?;
    let row = match message {
        Some(id) => {
            let (row, _) = fetch_visible(state, auth.user_id, id).await?;
            if row.chat_id != chat {
                return Err(AppError::invalid(
                    "messageId",
                    "is not a message of this chat",
                ));
            }
            Some(row)
        }
        None => state.store.fetch_last_message(auth.user_id, chat).await?,
    };
    if let Some(row) = &row {
        advance_read(state, auth.user_id, row).await?;
    }
    let member = membership(state, auth.user_id, chat).await?.member;
    let unread_count = state
        .store
        .count_unread(auth.user_id, chat, member.last_read_at)
        .await?;
    Ok(ChatRead {
        last_read_at: member.last_read_at,
        unread_count,
    })
}

/// One person's receipt of a message.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReceiptEntry {
    #[schema(value_type = String, format = Uuid)]
    pub user_id: UserId,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
}

/// `GET /api/messages/:id/receipts`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Receipts {
    pub delivered_to: Vec<ReceiptEntry>,
    pub read_by: Vec<ReceiptEntry>,
}

/// Who received and read one of the caller's messages, and when. Only the sender may ask.
pub async fn receipts(state: &AppState, auth: &AuthUser, id: MessageId) -> AppResult<Receipts> {
    let (row, _) = fetch_visible(state, auth.user_id, id).await?;
    if row.sender_id != auth.user_id {
        return Err(AppError::Forbidden(
            "Only the sender can see who received a message".into(),
        ));
    }
    let members = state.store.list_members(row.chat_id).await?;
    let receipts_off: Vec<UserId> = members
        .iter()
        .filter(|m| m.user.read_receipts == 0)
        .map(|m| m.user.id)
        .collect();
    let marks = state
        .store
        .list_receipt_marks(row.chat_id, row.created_at)
        .await?;
    let entries = |kind: &str, skip: &[UserId]| -> Vec<ReceiptEntry> {
        let mut entries: Vec<ReceiptEntry> = marks
            .iter()
            .filter(|m| m.kind == kind && m.user_id != row.sender_id && !skip.contains(&m.user_id))
            .filter(|m| members.iter().any(|member| member.user.id == m.user_id))
            .map(|m| ReceiptEntry {
                user_id: m.user_id,
                at: m.marked_at,
            })
            .collect();
        entries.sort_by_key(|e| e.at);
        entries
    };
    Ok(Receipts {
        delivered_to: entries("delivered", &[]),
        read_by: entries("read", &receipts_off),
    })
}

/// A search hit: the message and which chat it is in.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchHit {
    #[serde(flatten)]
    pub message: Message,
    pub chat: ChatSummary,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatSummary {
    #[schema(value_type = String, format = Uuid)]
    pub id: ChatId,
    #[serde(rename = "type")]
    pub kind: String,
    pub name: Option<String>,
}

/// `GET /api/messages/search`: full text over the caller's chats, newest first.
pub async fn search(
    state: &AppState,
    auth: &AuthUser,
    query: &str,
    chat: Option<ChatId>,
    cursor: Option<&str>,
    limit: i64,
) -> AppResult<(Vec<SearchHit>, Option<String>, bool)> {
    let query = query.trim();
    if query.is_empty() || query.chars().count() > 200 || query.chars().any(char::is_control) {
        return Err(AppError::invalid(
            "q",
            "must be 1 to 200 characters, without control characters",
        ));
    }
    if let Some(chat) = chat {
        membership(state, auth.user_id, chat).await?;
    }
    let before = cursor.map(decode_cursor).transpose()?;
    let mut rows = state
        .store
        .search_messages(auth.user_id, query, chat, before, limit + 1)
        .await?;
    let has_more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if has_more {
        rows.last().map(encode_cursor)
    } else {
        None
    };
    let messages = views(state, auth.user_id, &rows).await?;
    let mut names: HashMap<ChatId, ChatSummary> = HashMap::new();
    let mut hits = Vec::with_capacity(messages.len());
    for message in messages {
        if let std::collections::hash_map::Entry::Vacant(entry) = names.entry(message.chat_id) {
            let view = crate::service::chats::get(state, auth, message.chat_id).await?;
            entry.insert(ChatSummary {
                id: view.id,
                kind: view.kind,
                name: view.name,
            });
        }
        let summary = &names[&message.chat_id];
        let chat = ChatSummary {
            id: summary.id,
            kind: summary.kind.clone(),
            name: summary.name.clone(),
        };
        hits.push(SearchHit { message, chat });
    }
    Ok((hits, next_cursor, has_more))
}

/// What changed for a reconnecting client.
pub struct SyncPage {
    pub messages: Vec<Message>,
    pub chats: Vec<Chat>,
    pub next_cursor: String,
    pub has_more: bool,
}

/// How far back each sync looks again, so that a change committed late (PostgreSQL commits
/// concurrent transactions in any order) is not skipped; clients merge by id.
const SYNC_OVERLAP_MS: i64 = 2_000;

/// `GET /api/sync?since=`: messages and chats changed since the cursor. Without a cursor, only a
/// fresh cursor is returned. Fetching records delivery.
pub async fn sync(
    state: &AppState,
    auth: &AuthUser,
    since: Option<&str>,
    limit: i64,
) -> AppResult<SyncPage> {
    let now = Timestamp::now();
    let Some(since) = since else {
        return Ok(SyncPage {
            messages: Vec::new(),
            chats: Vec::new(),
            // The same overlap as below: a send that took its time before this instant may
            // still commit after it.
            next_cursor: encode_since(Timestamp::from_millis(now.millis() - SYNC_OVERLAP_MS)),
            has_more: false,
        });
    };
    let since = decode_since(since)?;
    let mut rows = state
        .store
        .list_messages_changed_since(auth.user_id, since, limit + 1)
        .await?;
    let has_more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next = if has_more {
        // Re-reads the last millisecond next time (clients merge by id), but always moves on.
        rows.last().map_or(since, |r| {
            Timestamp::from_millis(r.updated_at.millis() - 1)
                .max(Timestamp::from_millis(since.millis() + 1))
        })
    } else {
        Timestamp::from_millis(now.millis() - SYNC_OVERLAP_MS).max(since)
    };
    let mut newest: HashMap<ChatId, &MessageRow> = HashMap::new();
    for row in rows.iter().filter(|r| r.sender_id != auth.user_id) {
        let keep = newest
            .get(&row.chat_id)
            .is_none_or(|best| row.created_at > best.created_at);
        if keep {
            newest.insert(row.chat_id, row);
        }
    }
    for (chat, row) in newest {
        record_delivery(state, auth.user_id, chat, row.id, row.created_at).await?;
    }
    let mut chats = Vec::new();
    for chat in state
        .store
        .list_chats_changed_since(auth.user_id, since)
        .await?
    {
        chats.push(crate::service::chats::get(state, auth, chat).await?);
    }
    let messages = views(state, auth.user_id, &rows).await?;
    Ok(SyncPage {
        messages,
        chats,
        next_cursor: encode_since(next),
        has_more,
    })
}
