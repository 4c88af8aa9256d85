//! Turning message rows into the `Message` a particular member sees.
//!
//! Everything a page of messages needs is loaded in a few batch queries (members and their
//! watermarks, reactions, replied-to messages, senders, stars), never one query per message.

use std::collections::{HashMap, HashSet};

use crate::app::AppState;
use crate::domain::{ChatId, FileId, MessageId, Timestamp, UserId};
use crate::error::{AppError, AppResult};
use crate::service::files::{Files, file_info};
use crate::store::{FileRow, MessageRow, ReactionRow, ReceiptMember, UserRow};
use crate::wire::{FileInfo, Message, ReactionGroup, ReplyPreview, SenderSummary};

/// The messages as `viewer` sees them, in the order given.
pub async fn views(
    state: &AppState,
    viewer: UserId,
    rows: &[MessageRow],
) -> AppResult<Vec<Message>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<MessageId> = rows.iter().map(|r| r.id).collect();
    // The lookups are independent: run them at once, so a page waits for the slowest rather
    // than for their sum (each is a round trip to a database connection's thread or server).
    let (reactions, starred, replies, members, files) = tokio::try_join!(
        async { Ok::<_, AppError>(state.store.list_reactions(&ids).await?) },
        async { Ok(state.store.list_starred_among(viewer, &ids).await?) },
        load_replies(state, rows),
        load_receipt_members(state, rows),
        load_files(state, rows),
    )?;
    let starred: HashSet<MessageId> = starred.into_iter().collect();
    let users = load_users(state, rows, &replies).await?;
    let context = Context {
        viewer,
        files,
        signer: &state.files,
        users,
        replies,
        reactions,
        starred,
        members,
    };
    Ok(rows.iter().map(|row| context.view(row)).collect())
}

/// A message just stored, as its sender sees it: nobody has received, read, starred or reacted
/// to it yet, so only its sender, the message it replies to and its file are loaded.
pub async fn fresh(state: &AppState, row: &MessageRow) -> AppResult<Message> {
    let rows = std::slice::from_ref(row);
    let replies = load_replies(state, rows).await?;
    let context = Context {
        viewer: row.sender_id,
        files: load_files(state, rows).await?,
        signer: &state.files,
        users: load_users(state, rows, &replies).await?,
        replies,
        reactions: Vec::new(),
        starred: HashSet::new(),
        members: HashMap::new(),
    };
    Ok(context.view(row))
}

async fn load_replies(
    state: &AppState,
    rows: &[MessageRow],
) -> AppResult<HashMap<MessageId, MessageRow>> {
    let ids: Vec<MessageId> = rows.iter().filter_map(|r| r.reply_to_id).collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let found = state.store.fetch_messages(&ids).await?;
    Ok(found.into_iter().map(|m| (m.id, m)).collect())
}

/// The receipts of every member of each chat the messages are in.
async fn load_receipt_members(
    state: &AppState,
    rows: &[MessageRow],
) -> AppResult<HashMap<ChatId, Vec<ReceiptMember>>> {
    let mut members = HashMap::new();
    for row in rows {
        if let std::collections::hash_map::Entry::Vacant(entry) = members.entry(row.chat_id) {
            entry.insert(state.store.list_receipt_members(row.chat_id).await?);
        }
    }
    Ok(members)
}

/// The senders of the messages and of the messages they reply to.
async fn load_users(
    state: &AppState,
    rows: &[MessageRow],
    replies: &HashMap<MessageId, MessageRow>,
) -> AppResult<HashMap<UserId, UserRow>> {
    let mut ids: Vec<UserId> = rows.iter().map(|r| r.sender_id).collect();
    ids.extend(replies.values().map(|r| r.sender_id));
    ids.sort();
    ids.dedup();
    let found = state.store.fetch_users(&ids).await?;
    Ok(found.into_iter().map(|u| (u.id, u)).collect())
}

/// The files of live messages (a tombstone has none).
async fn load_files(state: &AppState, rows: &[MessageRow]) -> AppResult<HashMap<String, FileRow>> {
    let ids: Vec<FileId> = rows
        .iter()
        .filter(|r| r.deleted_at.is_none())
        .filter_map(|r| r.file_id.as_deref().and_then(FileId::parse))
        .collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let found = state.store.fetch_files(&ids).await?;
    Ok(found.into_iter().map(|f| (f.id.to_string(), f)).collect())
}

struct Context<'a> {
    viewer: UserId,
    files: HashMap<String, FileRow>,
    signer: &'a Files,
    users: HashMap<UserId, UserRow>,
    replies: HashMap<MessageId, MessageRow>,
    reactions: Vec<ReactionRow>,
    starred: HashSet<MessageId>,
    members: HashMap<ChatId, Vec<ReceiptMember>>,
}

impl Context<'_> {
    /// The file of a live message, with URLs signed for the viewer; a tombstone has none.
    fn file(&self, row: &MessageRow) -> Option<FileInfo> {
        if row.deleted_at.is_some() {
            return None;
        }
        let file = self.files.get(row.file_id.as_deref()?)?;
        Some(file_info(self.signer, file, self.viewer))
    }

    fn view(&self, row: &MessageRow) -> Message {
        let file = self.file(row);
        let members = self
            .members
            .get(&row.chat_id)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let receipts = Receipts::of(row, members);
        let is_read = if row.sender_id == self.viewer {
            receipts.status == "read"
        } else {
            members
                .iter()
                .find(|m| m.user_id == self.viewer)
                .and_then(|m| m.last_read_at)
                .is_some_and(|at| at >= row.created_at)
        };
        Message {
            id: row.id,
            chat_id: row.chat_id,
            sender_id: row.sender_id,
            client_id: row.client_id.clone(),
            content: row.content.clone(),
            kind: row.kind.clone(),
            file_url: file.as_ref().map(|f| f.url.clone()),
            file,
            reply_to_id: row.reply_to_id,
            reply_to: row
                .reply_to_id
                .and_then(|id| self.replies.get(&id))
                .map(|r| self.reply(r)),
            forwarded: row.forwarded != 0,
            reactions: group_reactions(self.reactions.iter().filter(|r| r.message_id == row.id)),
            status: receipts.status,
            read_by: receipts.read_by,
            is_read,
            starred: self.starred.contains(&row.id),
            edited_at: row.edited_at,
            deleted_at: row.deleted_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
            sender: self.users.get(&row.sender_id).map(SenderSummary::new),
        }
    }

    fn reply(&self, row: &MessageRow) -> ReplyPreview {
        ReplyPreview {
            id: row.id,
            sender_id: row.sender_id,
            content: row.content.clone(),
            kind: row.kind.clone(),
            sender: self.users.get(&row.sender_id).map(SenderSummary::new),
        }
    }
}

/// The aggregate state the sender sees.
struct Receipts {
    status: &'static str,
    read_by: Vec<UserId>,
}

impl Receipts {
    /// `read` once every other member has read it, `delivered` once every other member's device
    /// has it. Members who turned read receipts off never count as having read; members who
    /// joined after the message was sent do not count at all.
    fn of(row: &MessageRow, members: &[ReceiptMember]) -> Receipts {
        let covers = |at: Option<Timestamp>| at.is_some_and(|at| at >= row.created_at);
        let others: Vec<&ReceiptMember> = members
            .iter()
            .filter(|m| m.user_id != row.sender_id && m.joined_at <= row.created_at)
            .collect();
        let read_by: Vec<UserId> = others
            .iter()
            .filter(|m| m.read_receipts != 0 && covers(m.last_read_at))
            .map(|m| m.user_id)
            .collect();
        let status = if others.is_empty() {
            "sent"
        } else if read_by.len() == others.len() {
            "read"
        } else if others.iter().all(|m| covers(m.last_delivered_at)) {
            "delivered"
        } else {
            "sent"
        };
        Receipts { status, read_by }
    }
}

/// Reactions grouped by emoji, in the order each emoji first appeared.
pub fn group_reactions<'a>(reactions: impl Iterator<Item = &'a ReactionRow>) -> Vec<ReactionGroup> {
    let mut groups: Vec<ReactionGroup> = Vec::new();
    for reaction in reactions {
        match groups.iter_mut().find(|g| g.emoji == reaction.emoji) {
            Some(group) => {
                group.count += 1;
                group.user_ids.push(reaction.user_id);
            }
            None => groups.push(ReactionGroup {
                emoji: reaction.emoji.clone(),
                count: 1,
                user_ids: vec![reaction.user_id],
            }),
        }
    }
    groups
}
