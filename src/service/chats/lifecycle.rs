//! Creating a chat (a one-on-one chat is opened at most once per pair; a group is made with its
//! first members), changing a group's info, and deleting or leaving a chat.

use serde::Deserialize;
use utoipa::ToSchema;

use super::members::leave;
use super::views::{announce_updated, get, view_for};
use super::{
    GROUP, ONE_ON_ONE, ensure_not_blocked, ensure_not_blocked_by, membership, require_admin,
};
use crate::app::AppState;
use crate::domain::{ChatId, Timestamp, UserId};
use crate::error::{AppError, AppResult};
use crate::service::accounts::AuthUser;
use crate::store::{ChatRow, NewChat};
use crate::wire::Chat;

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
    crate::service::users::fetch_active(state, other).await?;
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
        .map(crate::service::users::parse_avatar_url)
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
        crate::service::users::fetch_active(state, *id).await?;
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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateChatRequest {
    pub name: Option<String>,
    pub description: Option<String>,
    #[serde(default, deserialize_with = "crate::service::users::double_option")]
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
        .map(|url| url.map(crate::service::users::parse_avatar_url).transpose())
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
