//! A member's own settings for a chat (mute, possibly until a time; archive; pin to the top of
//! the list). They change nothing for the other members, so only the caller is told.

use serde::Deserialize;
use utoipa::ToSchema;

use super::membership;
use super::views::get;
use crate::app::AppState;
use crate::domain::{ChatId, Timestamp};
use crate::error::AppResult;
use crate::service::accounts::AuthUser;
use crate::store::MemberSettingsUpdate;
use crate::wire::Chat;

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
