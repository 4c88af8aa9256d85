//! People: profiles, privacy settings and search.

use serde::Deserialize;
use utoipa::ToSchema;

use super::accounts::AuthUser;
use super::presence::{self, Relations};
use crate::app::AppState;
use crate::domain::{Bio, DisplayName, LastSeenVisibility, PresenceStatus, Timestamp, UserId};
use crate::error::{AppError, AppResult};
use crate::store::{ContactRow, ProfileUpdate, SettingsUpdate, UserRow};
use crate::wire::{Me, PublicUser, UserSearchHit};

/// The caller's own view of their account.
pub fn me_view(state: &AppState, row: &UserRow) -> Me {
    Me::new(row, presence::actual(state, row))
}

/// Loads the caller's row; a caller whose account vanished is unauthorized.
pub async fn fetch_me(state: &AppState, auth: &AuthUser) -> AppResult<UserRow> {
    state
        .store
        .fetch_user(auth.user_id)
        .await?
        .ok_or_else(|| AppError::Unauthorized("Account no longer exists".into()))
}

/// A user who exists and is not deactivated; anyone else is "not found".
pub(crate) async fn fetch_active(state: &AppState, id: UserId) -> AppResult<UserRow> {
    state
        .store
        .fetch_user(id)
        .await?
        .filter(|u| u.is_active != 0)
        .ok_or_else(|| AppError::not_found("User"))
}

/// `GET /api/users/:id`.
pub async fn get_user(state: &AppState, auth: &AuthUser, id: UserId) -> AppResult<PublicUser> {
    let row = state
        .store
        .fetch_user(id)
        .await?
        .filter(|row| row.is_active != 0)
        .ok_or_else(|| AppError::not_found("User"))?;
    let relations = Relations::load(state, auth.user_id).await?;
    Ok(PublicUser::new(&row, relations.view(state, &row)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProfileRequest {
    pub display_name: Option<String>,
    pub bio: Option<String>,
    /// A URL of an uploaded avatar, or null to remove it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub avatar_url: Option<Option<String>>,
    /// `online` or `away` for the caller's connected devices.
    #[schema(value_type = Option<String>)]
    pub status: Option<PresenceStatus>,
}

/// Tells "absent" (`None`) from "null" (`Some(None)`).
pub(crate) fn double_option<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

/// `PUT /api/auth/profile`.
pub async fn update_profile(
    state: &AppState,
    auth: &AuthUser,
    request: ProfileRequest,
) -> AppResult<Me> {
    if request.status == Some(PresenceStatus::Offline) {
        return Err(AppError::invalid("status", "must be online or away"));
    }
    let update = ProfileUpdate {
        display_name: request
            .display_name
            .as_deref()
            .map(DisplayName::parse)
            .transpose()?
            .map(DisplayName::into_inner),
        bio: request
            .bio
            .as_deref()
            .map(Bio::parse)
            .transpose()?
            .map(Bio::into_inner),
        avatar_url: request
            .avatar_url
            .map(|url| url.map(parse_avatar_url).transpose())
            .transpose()?,
    };
    state
        .store
        .update_profile(auth.user_id, &update, Timestamp::now())
        .await?;
    if let Some(status) = request.status {
        presence::set_status(state, auth.user_id, status).await?;
    }
    let row = fetch_me(state, auth).await?;
    Ok(me_view(state, &row))
}

/// Avatars are either our own file URLs or https links; nothing that runs script.
pub(crate) fn parse_avatar_url(url: String) -> AppResult<String> {
    let ok = url.len() <= 2048
        && (url.starts_with("https://") || url.starts_with("/api/"))
        && !url.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(url)
    } else {
        Err(AppError::invalid(
            "avatarUrl",
            "must be an https URL or a path under /api/",
        ))
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SettingsRequest {
    pub read_receipts: Option<bool>,
    #[schema(value_type = Option<String>, example = "contacts")]
    pub last_seen_visibility: Option<LastSeenVisibility>,
    pub notifications: Option<bool>,
}

/// `PUT /api/users/me/settings`.
pub async fn update_settings(
    state: &AppState,
    auth: &AuthUser,
    request: SettingsRequest,
) -> AppResult<Me> {
    let update = SettingsUpdate {
        read_receipts: request.read_receipts,
        last_seen_visibility: request.last_seen_visibility.map(LastSeenVisibility::as_str),
        notifications: request.notifications,
    };
    state
        .store
        .update_settings(auth.user_id, &update, Timestamp::now())
        .await?;
    let row = fetch_me(state, auth).await?;
    Ok(me_view(state, &row))
}

/// `GET /api/users/search`: by username or display name; by email only on an exact match.
pub async fn search(
    state: &AppState,
    auth: &AuthUser,
    query: &str,
    limit: i64,
) -> AppResult<Vec<UserSearchHit>> {
    let query = query.trim();
    if query.is_empty() {
        return Ok(Vec::new());
    }
    if query.chars().count() > 100 {
        return Err(AppError::invalid("q", "must be at most 100 characters"));
    }
    // PostgreSQL text cannot hold a NUL: refuse control characters rather than fail in the store.
    if query.chars().any(char::is_control) {
        return Err(AppError::invalid(
            "q",
            "must not contain control characters",
        ));
    }
    let rows = state.store.search_users(auth.user_id, query, limit).await?;
    let relations = Relations::load(state, auth.user_id).await?;
    let mut hits = Vec::with_capacity(rows.len());
    for row in rows {
        let contact = state
            .store
            .fetch_contact_between(auth.user_id, row.id)
            .await?;
        let blocked_by_me = relations.is_blocked(row.id)
            && state.store.fetch_block_state(auth.user_id, row.id).await?.0;
        hits.push(UserSearchHit {
            user: PublicUser::new(&row, relations.view(state, &row)),
            contact_status: contact_status(auth.user_id, contact.as_ref(), blocked_by_me),
            contact_id: contact.map(|c| c.id),
        });
    }
    Ok(hits)
}

fn contact_status(me: UserId, contact: Option<&ContactRow>, blocked_by_me: bool) -> &'static str {
    if blocked_by_me {
        return "blocked";
    }
    match contact {
        None => "none",
        Some(c) if c.status == "accepted" => "accepted",
        Some(c) if c.user_id == me => "pending_outgoing",
        Some(_) => "pending_incoming",
    }
}
