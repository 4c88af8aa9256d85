//! Typing indicators, with a server-side expiry so a vanished client never leaves "typing…".

use std::time::Duration;

use super::accounts::AuthUser;
use super::chats::members_of;
use crate::app::AppState;
use crate::domain::{ChatId, UserId};
use crate::error::AppResult;
use crate::realtime::events::Typing;

/// `typing_start`: tells the other members once, and ends it after the timeout unless renewed.
/// Like a message, it does not cross a block in a one-on-one chat.
pub async fn start(state: &AppState, auth: &AuthUser, chat: ChatId) -> AppResult<()> {
    let members = members_of(state, auth.user_id, chat).await?;
    super::messages::ensure_may_write(state, auth, &members).await?;
    let (generation, was_typing) = state.typing.start(chat, auth.user_id);
    if !was_typing {
        announce(state, chat, auth.user_id, true).await?;
    }
    let state = state.clone();
    let user = auth.user_id;
    let timeout = Duration::from_secs(state.config.messages.typing_timeout_secs.max(1));
    tokio::spawn(async move {
        tokio::time::sleep(timeout).await;
        if state.typing.expire(chat, user, generation) {
            let _ = announce(&state, chat, user, false).await;
        }
    });
    Ok(())
}

/// `typing_stop`.
pub async fn stop(state: &AppState, auth: &AuthUser, chat: ChatId) -> AppResult<()> {
    members_of(state, auth.user_id, chat).await?;
    if state.typing.stop(chat, auth.user_id) {
        announce(state, chat, auth.user_id, false).await?;
    }
    Ok(())
}

/// A person's last socket left: end their typing everywhere.
pub async fn stop_all(state: &AppState, user: UserId) -> AppResult<()> {
    for chat in state.typing.stop_all(user) {
        announce(state, chat, user, false).await?;
    }
    Ok(())
}

async fn announce(state: &AppState, chat: ChatId, user: UserId, started: bool) -> AppResult<()> {
    let Some(row) = state.store.fetch_user(user).await? else {
        return Ok(());
    };
    let others: Vec<UserId> = state
        .store
        .list_member_ids(chat)
        .await?
        .into_iter()
        .filter(|id| *id != user)
        .collect();
    let payload = Typing {
        chat_id: chat,
        user_id: user,
        username: row.username,
    };
    state.notifier.typing(&others, &payload, started).await;
    Ok(())
}
