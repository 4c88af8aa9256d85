//! Chats: one-on-one and groups, members and roles, per-member settings, pins.
//!
//! Only members see a chat; to anyone else it does not exist (404). Group changes (info,
//! members, roles) are for admins; a member may always leave. When the last admin leaves, the
//! oldest remaining member becomes admin.
//!
//! This file holds what every chat use case starts from: who is a member, who is an admin, and
//! who has blocked whom. The use cases themselves live beside it, one file per idea:
//! [`lifecycle`] (create, change, delete), [`views`] (a chat as one member sees it),
//! [`members`] (add, remove, leave, roles), [`settings`] (a member's mute, archive and pin) and
//! [`pins`] (pinned messages).

mod lifecycle;
mod members;
mod pins;
mod settings;
mod views;

pub use lifecycle::{ChatKind, CreateChatRequest, UpdateChatRequest, create, delete, update};
pub use members::{MemberRole, add_members, remove_member, set_role};
pub use pins::{list_pins, set_pin};
pub use settings::{ChatSettingsRequest, update_settings};
pub use views::{get, list, view_for};

use std::sync::Arc;

use crate::app::AppState;
use crate::domain::{ChatId, UserId};
use crate::error::{AppError, AppResult};
use crate::store::{ChatMembers, ChatRow, MemberRow};

pub const ONE_ON_ONE: &str = "one_on_one";
pub const GROUP: &str = "group";

/// A chat the caller belongs to, with their membership.
pub struct Membership {
    pub chat: ChatRow,
    pub member: MemberRow,
}

/// Loads a chat the caller is a member of; anything else is "not found".
pub async fn membership(state: &AppState, user: UserId, chat: ChatId) -> AppResult<Membership> {
    let member = state.store.fetch_member(chat, user).await?;
    let chat_row = match member {
        Some(_) => state.store.fetch_chat(chat).await?,
        None => None,
    };
    match (chat_row, member) {
        (Some(chat), Some(member)) => Ok(Membership { chat, member }),
        _ => Err(AppError::not_found("Chat")),
    }
}

/// The members of a chat the caller belongs to, from the store's cache: what sending and
/// typing need, without reading the caller's own member row. Anyone else gets 404.
pub async fn members_of(
    state: &AppState,
    user: UserId,
    chat: ChatId,
) -> AppResult<Arc<ChatMembers>> {
    state
        .store
        .fetch_chat_members(chat)
        .await?
        .filter(|m| m.ids.contains(&user))
        .ok_or_else(|| AppError::not_found("Chat"))
}

fn require_admin(m: &Membership) -> AppResult<()> {
    if m.chat.kind != GROUP {
        return Err(AppError::bad_request("Only groups have admins"));
    }
    if m.member.role != "admin" {
        return Err(AppError::Forbidden("Only group admins can do that".into()));
    }
    Ok(())
}

/// Neither may have blocked the other (one-on-one chats and messages).
pub async fn ensure_not_blocked(state: &AppState, me: UserId, other: UserId) -> AppResult<()> {
    let (i_blocked, they_blocked) = state.store.fetch_block_state(me, other).await?;
    if i_blocked {
        return Err(AppError::Forbidden(
            "You blocked this person; unblock them first".into(),
        ));
    }
    if they_blocked {
        return Err(AppError::Forbidden("You cannot message this person".into()));
    }
    Ok(())
}

/// Someone who blocked `me` cannot be added to a group by me.
async fn ensure_not_blocked_by(state: &AppState, me: UserId, other: UserId) -> AppResult<()> {
    if state.store.fetch_block_state(me, other).await?.1 {
        return Err(AppError::Forbidden(
            "This person cannot be added by you".into(),
        ));
    }
    Ok(())
}
