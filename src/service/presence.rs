//! Presence rules: who may see whose status and last-seen time, and what happens when someone's
//! first socket connects or last socket leaves.
//!
//! A person's presence is followed by their peers: accepted contacts and everyone they share a
//! chat with, minus blocks either way. Their `lastSeenVisibility` then decides: `everyone` shows
//! it to anyone not blocked, `contacts` only to accepted contacts, `nobody` to no one.

use std::collections::HashSet;

use crate::app::AppState;
use crate::domain::{LastSeenVisibility, PresenceStatus, Timestamp, UserId};
use crate::error::AppResult;
use crate::realtime::Transition;
use crate::realtime::events::{PresenceEntry, PresenceInitial};
use crate::store::UserRow;
use crate::wire::PresenceView;

/// What a viewer knows about their relations, loaded once per request.
pub struct Relations {
    viewer: UserId,
    contacts: HashSet<UserId>,
    blocked_either_way: HashSet<UserId>,
}

impl Relations {
    pub async fn load(state: &AppState, viewer: UserId) -> AppResult<Relations> {
        let contacts = state.store.list_presence_audience(viewer).await?;
        let blocked = state.store.list_block_partners(viewer).await?;
        Ok(Relations {
            viewer,
            contacts: contacts.into_iter().collect(),
            blocked_either_way: blocked.into_iter().collect(),
        })
    }

    pub fn is_blocked(&self, other: UserId) -> bool {
        self.blocked_either_way.contains(&other)
    }

    /// Whether the viewer may see `target`'s presence.
    pub fn may_see(&self, target: &UserRow) -> bool {
        if target.id == self.viewer {
            return true;
        }
        if self.is_blocked(target.id) {
            return false;
        }
        match LastSeenVisibility::from_db(&target.last_seen_visibility) {
            LastSeenVisibility::Everyone => true,
            LastSeenVisibility::Contacts => self.contacts.contains(&target.id),
            LastSeenVisibility::Nobody => false,
        }
    }

    pub fn view(&self, state: &AppState, target: &UserRow) -> PresenceView {
        if self.may_see(target) {
            actual(state, target)
        } else {
            PresenceView::HIDDEN
        }
    }
}

/// Someone's real presence, for themselves or a permitted viewer.
pub fn actual(state: &AppState, user: &UserRow) -> PresenceView {
    PresenceView {
        status: state.presence.status(user.id),
        last_seen: user.last_seen_at,
    }
}

/// Who gets `user_online` / `user_offline` for `user`.
async fn audience(state: &AppState, user: UserId) -> AppResult<Vec<UserId>> {
    let Some(row) = state.store.fetch_user(user).await? else {
        return Ok(Vec::new());
    };
    match LastSeenVisibility::from_db(&row.last_seen_visibility) {
        LastSeenVisibility::Nobody => Ok(Vec::new()),
        LastSeenVisibility::Contacts => Ok(state.store.list_presence_audience(user).await?),
        LastSeenVisibility::Everyone => Ok(state.store.list_presence_peers(user).await?),
    }
}

/// A socket of `user` connected: announce them if it is their first.
pub async fn socket_connected(state: &AppState, user: UserId) -> AppResult<()> {
    if state.presence.connect(user) == Transition::CameOnline {
        let audience = audience(state, user).await?;
        state
            .notifier
            .user_online(&audience, user, PresenceStatus::Online)
            .await;
    }
    Ok(())
}

/// A socket of `user` left: if it was their last, record last seen and announce it.
pub async fn socket_disconnected(state: &AppState, user: UserId) -> AppResult<()> {
    if state.presence.disconnect(user) == Transition::WentOffline {
        // Their last socket left: nobody should keep seeing them typing.
        super::typing::stop_all(state, user).await?;
        let now = Timestamp::now();
        state.store.update_last_seen(user, now).await?;
        let audience = audience(state, user).await?;
        state
            .notifier
            .user_offline(&audience, user, Some(now))
            .await;
    }
    Ok(())
}

/// `presence_set`: online or away, announced like a connect.
pub async fn set_status(state: &AppState, user: UserId, status: PresenceStatus) -> AppResult<()> {
    let away = status == PresenceStatus::Away;
    if state.presence.set_away(user, away) {
        let audience = audience(state, user).await?;
        state.notifier.user_online(&audience, user, status).await;
    }
    Ok(())
}

/// The statuses a newly connected `user` may see: their peers'.
pub async fn initial(state: &AppState, user: UserId) -> AppResult<PresenceInitial> {
    let relations = Relations::load(state, user).await?;
    let ids = state.store.list_presence_peers(user).await?;
    let rows = state.store.fetch_users(&ids).await?;
    let users = rows
        .iter()
        .filter(|row| relations.may_see(row))
        .map(|row| {
            let view = actual(state, row);
            PresenceEntry {
                user_id: row.id,
                status: view.status,
                last_seen: view.last_seen,
            }
        })
        .collect();
    Ok(PresenceInitial { users })
}
