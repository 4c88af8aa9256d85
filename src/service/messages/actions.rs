//! Changing a message for everyone in its chat: the sender edits (within the edit window),
//! the sender or a group admin deletes for everyone (anyone may delete for themselves), any
//! member reacts, and a member forwards a copy into other chats. Each change is announced to the
//! chat's members after it is stored.

use serde::Deserialize;
use utoipa::ToSchema;

use super::{ensure_may_write, fetch_visible, group_reactions, parse_text, publish, views};
use crate::app::AppState;
use crate::domain::{ChatId, MessageId, Timestamp};
use crate::error::{AppError, AppResult};
use crate::realtime::events::{MessageDeleted, MessageReaction, MessageUpdated};
use crate::service::accounts::AuthUser;
use crate::service::chats::{self, members_of};
use crate::store::{InsertOutcome, NewMessage};
use crate::wire::{Message, ReactionGroup};

/// `PUT /api/messages/:id` / `edit_message`: the sender edits text within the edit window.
pub async fn edit(
    state: &AppState,
    auth: &AuthUser,
    id: MessageId,
    content: &str,
) -> AppResult<Message> {
    let (row, _) = fetch_visible(state, auth.user_id, id).await?;
    if row.sender_id != auth.user_id {
        return Err(AppError::Forbidden(
            "Only the sender can edit a message".into(),
        ));
    }
    if row.deleted_at.is_some() || row.kind != "text" {
        return Err(AppError::bad_request(
            "Only text messages that still exist can be edited",
        ));
    }
    let now = Timestamp::now();
    if now
        > row
            .created_at
            .plus_secs(state.config.messages.edit_window_secs)
    {
        return Err(AppError::Forbidden(
            "The time to edit this message has passed".into(),
        ));
    }
    let content = parse_text(state, content)?;
    state
        .store
        .update_message_content(id, &content, now)
        .await?;
    let members = state.store.list_member_ids(row.chat_id).await?;
    let payload = MessageUpdated {
        id,
        chat_id: row.chat_id,
        content,
        edited_at: Some(now),
        updated_at: now,
    };
    state.notifier.message_updated(&members, &payload).await;
    let row = state
        .store
        .fetch_message(id)
        .await?
        .ok_or_else(|| AppError::not_found("Message"))?;
    views(state, auth.user_id, &[row])
        .await?
        .pop()
        .ok_or_else(|| AppError::not_found("Message"))
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DeleteScope {
    Me,
    Everyone,
}

/// `DELETE /api/messages/:id?scope=` / `delete_message`.
pub async fn delete(
    state: &AppState,
    auth: &AuthUser,
    id: MessageId,
    scope: DeleteScope,
) -> AppResult<()> {
    let (row, m) = fetch_visible(state, auth.user_id, id).await?;
    let now = Timestamp::now();
    if scope == DeleteScope::Me {
        state.store.hide_message_for(auth.user_id, id, now).await?;
        let payload = MessageDeleted {
            message_id: id,
            chat_id: row.chat_id,
            scope: "me",
        };
        state
            .notifier
            .message_deleted(&[auth.user_id], &payload)
            .await;
        return Ok(());
    }
    let in_window = now
        <= row
            .created_at
            .plus_secs(state.config.messages.delete_window_secs);
    let is_sender = row.sender_id == auth.user_id;
    let is_group_admin = m.chat.kind == chats::GROUP && m.member.role == "admin";
    if !(is_group_admin || is_sender && in_window) {
        return Err(AppError::Forbidden(if is_sender {
            "The time to delete this message for everyone has passed".into()
        } else {
            "Only the sender or a group admin can delete a message for everyone".into()
        }));
    }
    if row.deleted_at.is_none() {
        state.store.delete_message_for_everyone(id, now).await?;
    }
    let members = state.store.list_member_ids(row.chat_id).await?;
    let payload = MessageDeleted {
        message_id: id,
        chat_id: row.chat_id,
        scope: "everyone",
    };
    state.notifier.message_deleted(&members, &payload).await;
    Ok(())
}

/// `POST|DELETE /api/messages/:id/reactions` / `react`: one reaction per person; `None` removes
/// the caller's reaction.
pub async fn react(
    state: &AppState,
    auth: &AuthUser,
    id: MessageId,
    emoji: Option<&str>,
) -> AppResult<Vec<ReactionGroup>> {
    let (row, _) = fetch_visible(state, auth.user_id, id).await?;
    if row.deleted_at.is_some() {
        return Err(AppError::bad_request(
            "A deleted message cannot get reactions",
        ));
    }
    let emoji = emoji.map(parse_emoji).transpose()?;
    state
        .store
        .set_reaction(id, auth.user_id, emoji, Timestamp::now())
        .await?;
    let reactions = group_reactions(state.store.list_reactions(&[id]).await?.iter());
    let members = state.store.list_member_ids(row.chat_id).await?;
    let payload = MessageReaction {
        message_id: id,
        chat_id: row.chat_id,
        user_id: auth.user_id,
        emoji: emoji.map(str::to_owned),
        reactions: reactions.clone(),
    };
    state.notifier.message_reaction(&members, &payload).await;
    Ok(reactions)
}

fn parse_emoji(raw: &str) -> AppResult<&str> {
    let ok = !raw.is_empty()
        && raw.len() <= 32
        && raw.chars().count() <= 8
        && !raw
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c.is_ascii_alphanumeric());
    if ok {
        Ok(raw)
    } else {
        Err(AppError::invalid("emoji", "must be a single emoji"))
    }
}

/// `POST /api/messages/:id/forward {chatIds}`: copies a message into other chats of the caller.
pub async fn forward(
    state: &AppState,
    auth: &AuthUser,
    id: MessageId,
    chat_ids: &[ChatId],
) -> AppResult<Vec<Message>> {
    let (source, _) = fetch_visible(state, auth.user_id, id).await?;
    if source.deleted_at.is_some() {
        return Err(AppError::bad_request(
            "A deleted message cannot be forwarded",
        ));
    }
    if chat_ids.is_empty() || chat_ids.len() > 20 {
        return Err(AppError::invalid("chatIds", "name 1 to 20 chats"));
    }
    let mut targets = Vec::with_capacity(chat_ids.len());
    for chat in chat_ids {
        let members = members_of(state, auth.user_id, *chat).await?;
        ensure_may_write(state, auth, &members).await?;
        targets.push(*chat);
    }
    let mut forwarded = Vec::with_capacity(targets.len());
    for chat in targets {
        let new = NewMessage {
            id: MessageId::new(),
            chat_id: chat,
            sender_id: auth.user_id,
            client_id: None,
            content: source.content.clone(),
            kind: source.kind.clone(),
            file_id: source.file_id.clone(),
            reply_to_id: None,
            forwarded: true,
            now: Timestamp::now(),
        };
        match state.store.insert_message(new).await? {
            InsertOutcome::Inserted {
                row, read_since, ..
            } => {
                forwarded.push(publish(state, &row, read_since, None).await?.0);
            }
            InsertOutcome::DuplicateClientId | InsertOutcome::NotMember => {
                return Err(AppError::not_found("Chat"));
            }
        }
    }
    Ok(forwarded)
}
