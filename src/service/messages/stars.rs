//! Stars: each person's own bookmarks on messages, private to them, listed newest star first.

use super::{Page, decode_cursor, encode_cursor, fetch_visible, views};
use crate::app::AppState;
use crate::domain::{MessageId, Timestamp};
use crate::error::AppResult;
use crate::service::accounts::AuthUser;
use crate::store::MessageRow;

/// `POST|DELETE /api/messages/:id/star`.
pub async fn star(
    state: &AppState,
    auth: &AuthUser,
    id: MessageId,
    starred: bool,
) -> AppResult<()> {
    fetch_visible(state, auth.user_id, id).await?;
    if starred {
        state
            .store
            .insert_star(auth.user_id, id, Timestamp::now())
            .await?;
    } else {
        state.store.delete_star(auth.user_id, id).await?;
    }
    Ok(())
}

/// `GET /api/messages/starred`.
pub async fn starred(
    state: &AppState,
    auth: &AuthUser,
    cursor: Option<&str>,
    limit: i64,
) -> AppResult<Page> {
    let before = cursor
        .map(decode_cursor)
        .transpose()?
        .map(|k| (k.created_at, k.id));
    let mut rows = state
        .store
        .list_starred(auth.user_id, before, limit + 1)
        .await?;
    let has_more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if has_more {
        rows.last().map(|(at, m)| {
            let mut key = m.clone();
            key.created_at = *at;
            encode_cursor(&key)
        })
    } else {
        None
    };
    let rows: Vec<MessageRow> = rows.into_iter().map(|(_, m)| m).collect();
    let messages = views(state, auth.user_id, &rows).await?;
    Ok(Page {
        messages,
        next_cursor,
        has_more,
    })
}
