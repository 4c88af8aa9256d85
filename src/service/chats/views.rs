//! A chat as one member sees it: its name (the other person's, in a one-on-one chat), members,
//! last message, unread count and the member's own settings. Each member gets their own view,
//! so announcing a change means building one view per member.

use super::{ONE_ON_ONE, membership};
use crate::app::AppState;
use crate::domain::{ChatId, Timestamp, UserId};
use crate::error::{AppError, AppResult};
use crate::service::accounts::AuthUser;
use crate::service::messages::views;
use crate::service::presence::Relations;
use crate::store::{ChatRow, MemberRow, MemberWithUser};
use crate::wire::{Chat, ChatMember, ChatSettings, PublicUser};

/// `GET /api/chats`.
pub async fn list(
    state: &AppState,
    auth: &AuthUser,
    archived: Option<bool>,
) -> AppResult<Vec<Chat>> {
    let rows = state
        .store
        .list_member_chats(auth.user_id, archived)
        .await?;
    let relations = Relations::load(state, auth.user_id).await?;
    let mut chats = Vec::with_capacity(rows.len());
    for (chat, member) in rows {
        chats.push(build(state, auth.user_id, &relations, &chat, &member).await?);
    }
    Ok(chats)
}

/// `GET /api/chats/:id`.
pub async fn get(state: &AppState, auth: &AuthUser, chat: ChatId) -> AppResult<Chat> {
    let m = membership(state, auth.user_id, chat).await?;
    let relations = Relations::load(state, auth.user_id).await?;
    build(state, auth.user_id, &relations, &m.chat, &m.member).await
}

/// The chat as `viewer` sees it.
pub async fn view_for(state: &AppState, viewer: UserId, row: &ChatRow) -> AppResult<Chat> {
    let member = state
        .store
        .fetch_member(row.id, viewer)
        .await?
        .ok_or_else(|| AppError::not_found("Chat"))?;
    let relations = Relations::load(state, viewer).await?;
    build(state, viewer, &relations, row, &member).await
}

async fn build(
    state: &AppState,
    viewer: UserId,
    relations: &Relations,
    row: &ChatRow,
    mine: &MemberRow,
) -> AppResult<Chat> {
    let members = state.store.list_members(row.id).await?;
    let wire_members: Vec<ChatMember> = members
        .iter()
        .map(|m| member_view(state, relations, m))
        .collect();
    let last = state.store.fetch_last_message(viewer, row.id).await?;
    let last_message = match last {
        Some(message) => views(state, viewer, &[message]).await?.pop().map(Box::new),
        None => None,
    };
    let unread_count = state
        .store
        .count_unread(viewer, row.id, mine.last_read_at)
        .await?;
    let (name, avatar_url) = if row.kind == ONE_ON_ONE {
        let other = members.iter().find(|m| m.user.id != viewer);
        (
            other.map(|m| m.user.display_name.clone()),
            other.and_then(|m| m.user.avatar_url.clone()),
        )
    } else {
        (row.name.clone(), row.avatar_url.clone())
    };
    Ok(Chat {
        id: row.id,
        kind: row.kind.clone(),
        name,
        description: row.description.clone(),
        avatar_url,
        created_by: row.created_by,
        created_at: row.created_at,
        updated_at: row.updated_at,
        members: wire_members,
        last_message,
        unread_count,
        settings: settings_view(mine),
    })
}

fn settings_view(member: &MemberRow) -> ChatSettings {
    let now = Timestamp::now();
    let muted = member.muted != 0 && member.muted_until.is_none_or(|until| until > now);
    ChatSettings {
        muted,
        muted_until: if muted { member.muted_until } else { None },
        archived: member.archived != 0,
        pinned: member.pinned != 0,
    }
}

pub(super) fn member_view(
    state: &AppState,
    relations: &Relations,
    m: &MemberWithUser,
) -> ChatMember {
    ChatMember {
        id: m.member.id,
        chat_id: m.member.chat_id,
        user_id: m.member.user_id,
        role: m.member.role.clone(),
        joined_at: m.member.joined_at,
        last_read_at: m.member.last_read_at,
        user: PublicUser::new(&m.user, relations.view(state, &m.user)),
    }
}

/// Sends `chat_updated` to each member, each with their own view.
pub(super) async fn announce_updated(state: &AppState, chat: ChatId) -> AppResult<()> {
    let Some(row) = state.store.fetch_chat(chat).await? else {
        return Ok(());
    };
    for member in state.store.list_member_ids(chat).await? {
        let view = view_for(state, member, &row).await?;
        state.notifier.chat_updated(member, &view).await;
    }
    Ok(())
}
