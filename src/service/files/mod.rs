//! Files: upload (stream, limit, sniff, process, store), who may download, delete, avatars, the
//! media gallery, and the sweep that removes files nothing uses.
//!
//! An upload is streamed to a temporary file under `<data_dir>/tmp/` while it is counted, so
//! memory stays flat whatever its size; it reaches blob storage only once it passed every check,
//! and the temporary file is removed on every path (it is deleted when [`TempFile`] drops).

mod upload;

pub use upload::{Incoming, Purpose, Received, check_declared_length, finish, receive};

use crate::app::AppState;
use crate::domain::{ChatId, FileId, Timestamp, UserId};
use crate::error::{AppError, AppResult};
use crate::files::signed::{Grant, Signature, UrlSigner};
use crate::files::{Blobs, Variant};
use crate::service::accounts::AuthUser;
use crate::service::chats::membership;
use crate::service::messages::{Page, decode_cursor, encode_cursor, views};
use crate::store::FileRow;
use crate::wire::{FileInfo, Message};

/// Blob storage and URL signing; part of the app state.
#[derive(Clone)]
pub struct Files {
    pub blobs: Blobs,
    pub signer: UrlSigner,
}

/// The wire view of a file for `viewer`, with URLs signed for them.
pub fn file_info(files: &Files, row: &FileRow, viewer: UserId) -> FileInfo {
    FileInfo {
        id: row.id,
        name: row.name.clone(),
        size: row.size,
        mime_type: row.mime_type.clone(),
        kind: row.kind.clone(),
        width: row.width,
        height: row.height,
        duration_ms: row.duration_ms,
        url: files.signer.url(row.id, Variant::Original, viewer),
        thumbnail_url: row
            .thumbnail_mime
            .as_ref()
            .map(|_| files.signer.url(row.id, Variant::Thumbnail, viewer)),
    }
}

/// `message` with its file URLs signed for `viewer`; `None` when it has no file.
pub fn resign(files: &Files, message: &Message, viewer: UserId) -> Option<Message> {
    let file = message.file.as_ref()?;
    let mut own = message.clone();
    let url = files.signer.url(file.id, Variant::Original, viewer);
    own.file_url = Some(url.clone());
    if let Some(info) = own.file.as_mut() {
        info.url = url;
        info.thumbnail_url = file
            .thumbnail_url
            .as_ref()
            .map(|_| files.signer.url(file.id, Variant::Thumbnail, viewer));
    }
    Some(own)
}

/// How a download proved who it is for.
pub enum Credential {
    Bearer(AuthUser),
    Signed(Signature),
}

/// The file if the credential lets its holder read `variant`; anything else is not found, so
/// ids cannot be probed.
pub async fn authorize_download(
    state: &AppState,
    id: FileId,
    variant: Variant,
    credential: &Credential,
) -> AppResult<FileRow> {
    let not_found = || AppError::not_found("File");
    let row = state.store.fetch_file(id).await?.ok_or_else(not_found)?;
    let allowed = match credential {
        Credential::Bearer(auth) => may_read(state, &row, auth.user_id).await?,
        Credential::Signed(signature) => match state.files.signer.verify(id, variant, signature) {
            Some(Grant::Viewer(viewer)) => may_read(state, &row, viewer).await?,
            Some(Grant::Avatar) => {
                let url = state.files.signer.avatar_url(id);
                state.store.fetch_file_is_avatar(id, &url).await?
            }
            None => false,
        },
    };
    if !allowed || variant == Variant::Thumbnail && row.thumbnail_mime.is_none() {
        return Err(not_found());
    }
    Ok(row)
}

/// The uploader, and members of a chat where a live message carries the file.
async fn may_read(state: &AppState, row: &FileRow, viewer: UserId) -> AppResult<bool> {
    Ok(row.uploader_id == viewer || state.store.fetch_file_shared_with(row.id, viewer).await?)
}

/// A file the caller uploaded, for attaching to a message.
pub async fn fetch_own(state: &AppState, auth: &AuthUser, id: FileId) -> AppResult<FileRow> {
    state
        .store
        .fetch_file(id)
        .await?
        .filter(|row| row.uploader_id == auth.user_id)
        .ok_or_else(|| AppError::invalid("fileId", "is not a file you uploaded"))
}

/// `DELETE /api/files/:id`: the uploader removes a file nothing uses any more. While a message
/// or an avatar uses it, the answer is 409: delete the message (for everyone) first.
pub async fn delete(state: &AppState, auth: &AuthUser, id: FileId) -> AppResult<()> {
    let row = state
        .store
        .fetch_file(id)
        .await?
        .filter(|row| row.uploader_id == auth.user_id)
        .ok_or_else(|| AppError::not_found("File"))?;
    let avatar_url = state.files.signer.avatar_url(row.id);
    if state.store.fetch_file_in_use(row.id, &avatar_url).await? {
        return Err(AppError::Conflict(
            "The file is still used by a message or an avatar".into(),
        ));
    }
    remove(state, &row).await
}

async fn remove(state: &AppState, row: &FileRow) -> AppResult<()> {
    state.store.delete_file(row.id).await?;
    state.files.blobs.delete(row.id).await?;
    Ok(())
}

/// Removes files older than the grace period that no live message and no avatar uses; returns
/// how many went. A file is an avatar when an avatar URL is exactly the one minted for it, which
/// the database cannot compute (it is signed), so each batch is checked here; the batches go by
/// id, since avatars stay behind.
pub async fn sweep_unused(state: &AppState) -> AppResult<usize> {
    let grace = state.config.files.orphan_grace_secs;
    let before = Timestamp::from_millis(Timestamp::now().millis() - grace as i64 * 1000);
    let (mut removed, mut after) = (0, None);
    loop {
        let batch = state
            .store
            .list_unattached_files(before, after, 100)
            .await?;
        let Some(last) = batch.last() else {
            return Ok(removed);
        };
        after = Some(last.id);
        let urls: Vec<String> = batch
            .iter()
            .map(|row| state.files.signer.avatar_url(row.id))
            .collect();
        let avatars = state.store.list_avatar_urls_in_use(&urls).await?;
        for (row, url) in batch.iter().zip(&urls) {
            if !avatars.contains(url) {
                remove(state, row).await?;
                removed += 1;
            }
        }
    }
}

/// Runs [`sweep_unused`] every `cleanup_interval_secs` until the process ends.
pub fn spawn_sweeper(state: AppState) {
    let every = state.config.files.cleanup_interval_secs;
    if every == 0 {
        return;
    }
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(std::time::Duration::from_secs(every));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            match sweep_unused(&state).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(files = n, "removed unused files"),
                Err(err) => tracing::warn!(error = ?err, "sweeping unused files failed"),
            }
        }
    });
}

/// `GET /api/chats/:id/media`: the chat's live file messages, newest first, optionally of one
/// kind.
pub async fn media(
    state: &AppState,
    auth: &AuthUser,
    chat: ChatId,
    kind: Option<&str>,
    cursor: Option<&str>,
    limit: i64,
) -> AppResult<Page> {
    if let Some(kind) = kind
        && !matches!(kind, "image" | "video" | "audio" | "file")
    {
        return Err(AppError::invalid(
            "kind",
            "must be image, video, audio or file",
        ));
    }
    membership(state, auth.user_id, chat).await?;
    let key = cursor.map(decode_cursor).transpose()?;
    let mut rows = state
        .store
        .list_media_before(auth.user_id, chat, kind, key, limit + 1)
        .await?;
    let has_more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if has_more {
        rows.last().map(encode_cursor)
    } else {
        None
    };
    Ok(Page {
        messages: views(state, auth.user_id, &rows).await?,
        next_cursor,
        has_more,
    })
}
