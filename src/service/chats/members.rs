//! A group's members: admins add and remove people and change roles; anyone may leave. Each
//! change is announced to everyone who was in the group, and to the person added or removed.

use serde::Deserialize;
use utoipa::ToSchema;

use super::views::{announce_updated, member_view, view_for};
use super::{GROUP, ensure_not_blocked_by, membership, require_admin};
use crate::app::AppState;
use crate::domain::{ChatId, Timestamp, UserId};
use crate::error::{AppError, AppResult};
use crate::realtime::events::{MemberAdded, MemberRemoved};
use crate::service::accounts::AuthUser;
use crate::service::presence::Relations;
use crate::wire::ChatMember;

/// `POST /api/chats/:id/members`: admins add people; returns the members added.
pub async fn add_members(
    state: &AppState,
    auth: &AuthUser,
    chat: ChatId,
    ids: Vec<UserId>,
) -> AppResult<Vec<ChatMember>> {
    let m = membership(state, auth.user_id, chat).await?;
    require_admin(&m)?;
    if ids.is_empty() {
        return Err(AppError::invalid("memberIds", "name at least one person"));
    }
    for id in &ids {
        crate::service::users::fetch_active(state, *id).await?;
        ensure_not_blocked_by(state, auth.user_id, *id).await?;
    }
    let current = state.store.list_member_ids(chat).await?;
    let new: Vec<UserId> = ids
        .iter()
        .copied()
        .filter(|id| !current.contains(id))
        .collect();
    if current.len() + new.len() > state.config.messages.max_group_members {
        return Err(AppError::invalid(
            "memberIds",
            "the group would have too many members",
        ));
    }
    let added = state
        .store
        .insert_members(chat, &new, Timestamp::now())
        .await?;
    let relations = Relations::load(state, auth.user_id).await?;
    let members = state.store.list_members(chat).await?;
    let everyone: Vec<UserId> = members.iter().map(|m| m.user.id).collect();
    let mut views = Vec::new();
    for member in members.iter().filter(|m| added.contains(&m.user.id)) {
        let view = member_view(state, &relations, member);
        let payload = MemberAdded {
            chat_id: chat,
            member: view.clone(),
        };
        state.notifier.member_added(&everyone, &payload).await;
        views.push(view);
    }
    if let Some(row) = state.store.fetch_chat(chat).await? {
        for user in &added {
            let chat_view = view_for(state, *user, &row).await?;
            state.notifier.chat_created(*user, &chat_view).await;
        }
    }
    Ok(views)
}

/// `DELETE /api/chats/:id/members/:userId`: admins remove anyone; anyone removes themselves.
pub async fn remove_member(
    state: &AppState,
    auth: &AuthUser,
    chat: ChatId,
    user: UserId,
) -> AppResult<()> {
    let m = membership(state, auth.user_id, chat).await?;
    if m.chat.kind != GROUP {
        return Err(AppError::bad_request(
            "Members of a one-on-one chat cannot be removed",
        ));
    }
    if user != auth.user_id {
        require_admin(&m)?;
    }
    if state.store.fetch_member(chat, user).await?.is_none() {
        return Err(AppError::not_found("Member"));
    }
    leave(state, chat, user).await
}

/// Removes `user` from a group and tells everyone who was in it.
pub(super) async fn leave(state: &AppState, chat: ChatId, user: UserId) -> AppResult<()> {
    let before = state.store.list_member_ids(chat).await?;
    let promoted = state
        .store
        .delete_member(chat, user, Timestamp::now())
        .await?;
    let payload = MemberRemoved {
        chat_id: chat,
        user_id: user,
    };
    state.notifier.member_removed(&before, &payload).await;
    state.notifier.chat_deleted(&[user], chat).await;
    if promoted.is_some() {
        announce_updated(state, chat).await?;
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum MemberRole {
    Member,
    Admin,
}

/// `PUT /api/chats/:id/members/:userId {role}`: admins promote and demote; a group keeps at
/// least one admin.
pub async fn set_role(
    state: &AppState,
    auth: &AuthUser,
    chat: ChatId,
    user: UserId,
    role: MemberRole,
) -> AppResult<ChatMember> {
    let m = membership(state, auth.user_id, chat).await?;
    require_admin(&m)?;
    let target = state
        .store
        .fetch_member(chat, user)
        .await?
        .ok_or_else(|| AppError::not_found("Member"))?;
    let role_text = match role {
        MemberRole::Member => "member",
        MemberRole::Admin => "admin",
    };
    if target.role == "admin"
        && role == MemberRole::Member
        && state.store.count_admins(chat).await? <= 1
    {
        return Err(AppError::Conflict(
            "A group needs at least one admin".into(),
        ));
    }
    state
        .store
        .update_member_role(chat, user, role_text)
        .await?;
    announce_updated(state, chat).await?;
    let relations = Relations::load(state, auth.user_id).await?;
    let members = state.store.list_members(chat).await?;
    members
        .iter()
        .find(|m| m.user.id == user)
        .map(|m| member_view(state, &relations, m))
        .ok_or_else(|| AppError::not_found("Member"))
}
