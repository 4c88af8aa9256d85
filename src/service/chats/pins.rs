//! Pinned messages: any member pins and unpins, and every member sees the same pins.

use super::membership;
use crate::app::AppState;
use crate::domain::{ChatId, MessageId, Timestamp};
use crate::error::{AppError, AppResult};
use crate::realtime::events::MessagePinned;
use crate::service::accounts::AuthUser;
use crate::service::messages::views;
use crate::wire::Message;

/// `GET /api/chats/:id/pins`.
pub async fn list_pins(state: &AppState, auth: &AuthUser, chat: ChatId) -> AppResult<Vec<Message>> {
    membership(state, auth.user_id, chat).await?;
    let rows = state.store.list_pins(auth.user_id, chat).await?;
    views(state, auth.user_id, &rows).await
}

/// `POST /api/chats/:id/pins` / `DELETE …/pins/:messageId`: any member pins and unpins.
pub async fn set_pin(
    state: &AppState,
    auth: &AuthUser,
    chat: ChatId,
    message: MessageId,
    pinned: bool,
) -> AppResult<bool> {
    membership(state, auth.user_id, chat).await?;
    let row = state
        .store
        .fetch_message(message)
        .await?
        .filter(|m| m.chat_id == chat)
        .ok_or_else(|| AppError::not_found("Message"))?;
    if row.deleted_at.is_some() {
        return Err(AppError::bad_request("A deleted message cannot be pinned"));
    }
    let changed = if pinned {
        state
            .store
            .insert_pin(chat, message, auth.user_id, Timestamp::now())
            .await?
    } else {
        state.store.delete_pin(chat, message).await?
    };
    if !pinned && !changed {
        return Err(AppError::not_found("Pin"));
    }
    if changed {
        let members = state.store.list_member_ids(chat).await?;
        let payload = MessagePinned {
            message_id: message,
            chat_id: chat,
            user_id: auth.user_id,
        };
        state
            .notifier
            .message_pinned(&members, &payload, pinned)
            .await;
    }
    Ok(changed)
}
