//! Chats: one-on-one and groups, members and roles, per-member settings, pins.
//!
//! Only members see a chat; to anyone else it does not exist (404). Group changes (info,
//! members, roles) are for admins; a member may always leave. When the last admin leaves, the
//! oldest remaining member becomes admin.

use std::sync::Arc;

use serde::Deserialize;
use utoipa::ToSchema;

use super::accounts::AuthUser;
use super::messages::views;
use super::presence::Relations;
use crate::app::AppState;
use crate::domain::{ChatId, MessageId, Timestamp, UserId};
use crate::error::{AppError, AppResult};
use crate::realtime::events::{MemberAdded, MemberRemoved, MessagePinned};
use crate::store::{
    ChatMembers, ChatRow, MemberRow, MemberSettingsUpdate, MemberWithUser, NewChat,
};
use crate::wire::{Chat, ChatMember, ChatSettings, Message, PublicUser};

pub const ONE_ON_ONE: &str = "one_on_one";
pub const GROUP: &str = "group";

#[derive(Debug, Clone, Copy, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ChatKind {
    OneOnOne,
    Group,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateChatRequest {
    #[serde(rename = "type")]
    pub kind: ChatKind,
    #[schema(value_type = Vec<String>)]
    pub member_ids: Vec<UserId>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub avatar_url: Option<String>,
}

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

/// `POST /api/chats`: returns the chat and whether it was created.
pub async fn create(
    state: &AppState,
    auth: &AuthUser,
    request: CreateChatRequest,
) -> AppResult<(Chat, bool)> {
    match request.kind {
        ChatKind::OneOnOne => open_direct(state, auth, &request.member_ids).await,
        ChatKind::Group => create_group(state, auth, request)
            .await
            .map(|chat| (chat, true)),
    }
}

fn direct_key(a: UserId, b: UserId) -> String {
    let (low, high) = if a < b { (a, b) } else { (b, a) };
    format!("{low}:{high}")
}

async fn open_direct(
    state: &AppState,
    auth: &AuthUser,
    member_ids: &[UserId],
) -> AppResult<(Chat, bool)> {
    let others: Vec<UserId> = member_ids
        .iter()
        .copied()
        .filter(|id| *id != auth.user_id)
        .collect();
    let [other] = others[..] else {
        return Err(AppError::invalid(
            "memberIds",
            "a one-on-one chat needs exactly one other person",
        ));
    };
    super::users::fetch_active(state, other).await?;
    ensure_not_blocked(state, auth.user_id, other).await?;
    let key = direct_key(auth.user_id, other);
    if let Some(existing) = state.store.fetch_direct_chat(&key).await? {
        // Opening a chat I had deleted brings it back to my list (without the old history).
        state
            .store
            .unhide_chat_for(existing.id, auth.user_id, Timestamp::now())
            .await?;
        return Ok((view_for(state, auth.user_id, &existing).await?, false));
    }
    let now = Timestamp::now();
    let row = ChatRow {
        id: ChatId::new(),
        kind: ONE_ON_ONE.into(),
        name: None,
        description: None,
        avatar_url: None,
        created_by: auth.user_id,
        created_at: now,
        updated_at: now,
        last_message_at: now,
    };
    let members = [(auth.user_id, "member"), (other, "member")];
    let inserted = state
        .store
        .insert_chat(&NewChat {
            row: &row,
            direct_key: Some(key.clone()),
            members: &members,
        })
        .await;
    if let Err(err) = inserted {
        // Two people opening the same chat at once: the other insert won.
        if crate::store::is_unique_violation(&err)
            && let Some(existing) = state.store.fetch_direct_chat(&key).await?
        {
            return Ok((view_for(state, auth.user_id, &existing).await?, false));
        }
        return Err(err.into());
    }
    announce_created(state, &row, &[auth.user_id, other]).await?;
    Ok((view_for(state, auth.user_id, &row).await?, true))
}

async fn create_group(
    state: &AppState,
    auth: &AuthUser,
    request: CreateChatRequest,
) -> AppResult<Chat> {
    let name = parse_group_name(request.name.as_deref().unwrap_or_default())?;
    let description = request
        .description
        .as_deref()
        .map(parse_description)
        .transpose()?;
    let avatar = request
        .avatar_url
        .map(super::users::parse_avatar_url)
        .transpose()?;
    let mut ids: Vec<UserId> = request
        .member_ids
        .iter()
        .copied()
        .filter(|id| *id != auth.user_id)
        .collect();
    ids.sort();
    ids.dedup();
    if ids.len() + 1 > state.config.messages.max_group_members {
        return Err(AppError::invalid(
            "memberIds",
            "too many members for one group",
        ));
    }
    for id in &ids {
        super::users::fetch_active(state, *id).await?;
        ensure_not_blocked_by(state, auth.user_id, *id).await?;
    }
    let now = Timestamp::now();
    let row = ChatRow {
        id: ChatId::new(),
        kind: GROUP.into(),
        name: Some(name),
        description,
        avatar_url: avatar,
        created_by: auth.user_id,
        created_at: now,
        updated_at: now,
        last_message_at: now,
    };
    let mut members = vec![(auth.user_id, "admin")];
    members.extend(ids.iter().map(|id| (*id, "member")));
    state
        .store
        .insert_chat(&NewChat {
            row: &row,
            direct_key: None,
            members: &members,
        })
        .await?;
    let everyone: Vec<UserId> = members.iter().map(|(id, _)| *id).collect();
    announce_created(state, &row, &everyone).await?;
    view_for(state, auth.user_id, &row).await
}

async fn announce_created(state: &AppState, row: &ChatRow, members: &[UserId]) -> AppResult<()> {
    for member in members {
        let chat = view_for(state, *member, row).await?;
        state.notifier.chat_created(*member, &chat).await;
    }
    Ok(())
}

/// Sends `chat_updated` to each member, each with their own view.
async fn announce_updated(state: &AppState, chat: ChatId) -> AppResult<()> {
    let Some(row) = state.store.fetch_chat(chat).await? else {
        return Ok(());
    };
    for member in state.store.list_member_ids(chat).await? {
        let view = view_for(state, member, &row).await?;
        state.notifier.chat_updated(member, &view).await;
    }
    Ok(())
}

fn parse_group_name(raw: &str) -> AppResult<String> {
    let name = raw.trim();
    let len = name.chars().count();
    if !(1..=100).contains(&len) || name.chars().any(char::is_control) {
        return Err(AppError::invalid(
            "name",
            "a group needs a name of 1 to 100 characters",
        ));
    }
    Ok(name.to_owned())
}

fn parse_description(raw: &str) -> AppResult<String> {
    if raw.chars().count() > 1000 {
        return Err(AppError::invalid(
            "description",
            "must be at most 1000 characters",
        ));
    }
    Ok(raw.to_owned())
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

fn member_view(state: &AppState, relations: &Relations, m: &MemberWithUser) -> ChatMember {
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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateChatRequest {
    pub name: Option<String>,
    pub description: Option<String>,
    #[serde(default, deserialize_with = "super::users::double_option")]
    #[schema(value_type = Option<String>)]
    pub avatar_url: Option<Option<String>>,
}

/// `PUT /api/chats/:id`: group info, by admins.
pub async fn update(
    state: &AppState,
    auth: &AuthUser,
    chat: ChatId,
    request: UpdateChatRequest,
) -> AppResult<Chat> {
    let m = membership(state, auth.user_id, chat).await?;
    require_admin(&m)?;
    let name = request.name.as_deref().map(parse_group_name).transpose()?;
    let description = request
        .description
        .as_deref()
        .map(parse_description)
        .transpose()?;
    let avatar = request
        .avatar_url
        .map(|url| url.map(super::users::parse_avatar_url).transpose())
        .transpose()?;
    state
        .store
        .update_chat_info(
            chat,
            name.as_deref(),
            description.as_deref(),
            avatar.as_ref().map(|a| a.as_deref()),
            Timestamp::now(),
        )
        .await?;
    announce_updated(state, chat).await?;
    get(state, auth, chat).await
}

/// `DELETE /api/chats/:id[?everyone=true]`.
pub async fn delete(
    state: &AppState,
    auth: &AuthUser,
    chat: ChatId,
    everyone: bool,
) -> AppResult<&'static str> {
    let m = membership(state, auth.user_id, chat).await?;
    if m.chat.kind == ONE_ON_ONE {
        state
            .store
            .hide_chat_for(chat, auth.user_id, Timestamp::now())
            .await?;
        state.notifier.chat_deleted(&[auth.user_id], chat).await;
        return Ok("Chat deleted");
    }
    if everyone {
        require_admin(&m)?;
        let members = state.store.list_member_ids(chat).await?;
        state.store.delete_chat(chat).await?;
        state.notifier.chat_deleted(&members, chat).await;
        return Ok("Group deleted for everyone");
    }
    leave(state, chat, auth.user_id).await?;
    Ok("Left the group")
}

/// Removes `user` from a group and tells everyone who was in it.
async fn leave(state: &AppState, chat: ChatId, user: UserId) -> AppResult<()> {
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
        super::users::fetch_active(state, *id).await?;
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

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatSettingsRequest {
    pub muted: Option<bool>,
    /// Mute until this time (RFC 3339); null mutes with no end.
    #[serde(default, deserialize_with = "double_option_time")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub muted_until: Option<Option<Timestamp>>,
    pub archived: Option<bool>,
    pub pinned: Option<bool>,
}

fn double_option_time<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<Timestamp>>, D::Error> {
    Option::<Timestamp>::deserialize(deserializer).map(Some)
}

/// `PUT /api/chats/:id/settings`: the caller's own mute, archive and pin.
pub async fn update_settings(
    state: &AppState,
    auth: &AuthUser,
    chat: ChatId,
    request: ChatSettingsRequest,
) -> AppResult<Chat> {
    membership(state, auth.user_id, chat).await?;
    let mut update = MemberSettingsUpdate {
        muted: request.muted,
        muted_until: request.muted_until,
        archived: request.archived,
        pinned: request.pinned,
    };
    if update.muted_until.flatten().is_some() && update.muted.is_none() {
        update.muted = Some(true);
    }
    if update.muted == Some(false) {
        update.muted_until = Some(None);
    }
    state
        .store
        .update_member_settings(chat, auth.user_id, &update, Timestamp::now())
        .await?;
    let view = get(state, auth, chat).await?;
    state.notifier.chat_updated(auth.user_id, &view).await;
    Ok(view)
}

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
