//! `POST /api/upload` and avatars: from a stream of chunks to a stored, checked file.

use std::path::PathBuf;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use tokio::io::AsyncWriteExt;

use crate::app::AppState;
use crate::domain::{FileId, Timestamp};
use crate::error::{AppError, AppResult};
use crate::files::Variant;
use crate::files::duration;
use crate::files::images::{self, ImageError, Shape};
use crate::files::sniff::{self, Detected, SNIFF_BYTES};
use crate::service::accounts::AuthUser;
use crate::store::FileRow;

/// What the upload is for; avatars must be images and get a square thumbnail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Attachment,
    Avatar,
}

/// One uploaded file as it arrives: the name its sender gave and its bytes.
pub struct Incoming<S> {
    pub name: String,
    pub chunks: S,
}

/// A file under `<data_dir>/tmp/`, removed when dropped, whatever path the upload took.
struct TempFile {
    path: PathBuf,
}

impl TempFile {
    async fn create(state: &AppState) -> AppResult<(TempFile, tokio::fs::File)> {
        let dir = state.config.storage.data_dir.join("tmp");
        tokio::fs::create_dir_all(&dir).await.map_err(io)?;
        let path = dir.join(format!("upload-{}", FileId::new()));
        let file = tokio::fs::File::create(&path).await.map_err(io)?;
        Ok((TempFile { path }, file))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        // The file may already be gone (never created, or moved); nothing else to do then.
        let _ = std::fs::remove_file(&self.path);
    }
}

fn io(err: std::io::Error) -> AppError {
    AppError::Internal(err.into())
}

/// Refuses a request whose declared length already exceeds the largest upload or the quota,
/// before any of its body is read.
pub async fn check_declared_length(
    state: &AppState,
    auth: &AuthUser,
    declared: Option<u64>,
) -> AppResult<()> {
    let Some(declared) = declared else {
        return Ok(());
    };
    // Multipart framing around the file: boundaries and part headers.
    const FRAMING: u64 = 16 * 1024;
    let cfg = &state.config.files;
    let largest = cfg.max_image_bytes.max(cfg.max_file_bytes);
    if declared > largest + FRAMING {
        return Err(too_large(largest));
    }
    check_quota(state, auth, declared.saturating_sub(FRAMING)).await
}

async fn check_quota(state: &AppState, auth: &AuthUser, adding: u64) -> AppResult<()> {
    let quota = state.config.files.user_quota_bytes;
    if quota == 0 {
        return Ok(());
    }
    let used = state.store.fetch_bytes_used(auth.user_id).await?.max(0) as u64;
    if used + adding > quota {
        return Err(AppError::PayloadTooLarge(format!(
            "Storage quota of {quota} bytes exceeded"
        )));
    }
    Ok(())
}

fn too_large(limit: u64) -> AppError {
    AppError::PayloadTooLarge(format!("file: at most {limit} bytes for this kind of file"))
}

/// A file received in full and checked against its name, not yet processed or stored.
pub struct Received {
    temp: TempFile,
    name: String,
    detected: Detected,
    purpose: Purpose,
}

/// Streams one file to a temporary file, checking its name, size and type on the way. The
/// caller reads the rest of the request (and so learns whether it was complete) before
/// [`finish`] stores anything.
pub async fn receive<S>(
    state: &AppState,
    incoming: Incoming<S>,
    purpose: Purpose,
) -> AppResult<Received>
where
    S: Stream<Item = AppResult<Bytes>> + Unpin,
{
    let name = sniff::parse_name(&incoming.name).map_err(|m| AppError::invalid("file", m))?;
    let (temp, out) = TempFile::create(state).await?;
    let detected = copy_counted(state, out, incoming.chunks).await?;
    if sniff::contradicts(&name, &detected) {
        return Err(AppError::UnsupportedMediaType(format!(
            "The content is {}, which its name does not say",
            detected.mime
        )));
    }
    if purpose == Purpose::Avatar && detected.kind != "image" {
        return Err(AppError::UnsupportedMediaType(
            "An avatar must be a PNG, JPEG, GIF or WebP image".into(),
        ));
    }
    Ok(Received {
        temp,
        name,
        detected,
        purpose,
    })
}

/// Processes a received file (images: pixel cap, metadata stripped, thumbnail; audio and
/// video: duration), checks the quota, and stores it; returns its row.
pub async fn finish(state: &AppState, auth: &AuthUser, received: Received) -> AppResult<FileRow> {
    let Received {
        temp,
        name,
        detected,
        purpose,
    } = received;
    let processed = if detected.kind == "image" {
        Some(process_image(state, &temp, purpose).await?)
    } else {
        None
    };
    let duration_ms = probe_duration(&temp, &detected).await?;
    let size = tokio::fs::metadata(&temp.path).await.map_err(io)?.len();
    check_quota(state, auth, size).await?;
    let row = FileRow {
        id: FileId::new(),
        uploader_id: auth.user_id,
        name,
        mime_type: detected.mime,
        kind: detected.kind.to_owned(),
        size: size as i64,
        width: processed.as_ref().map(|p| i64::from(p.width)),
        height: processed.as_ref().map(|p| i64::from(p.height)),
        duration_ms,
        thumbnail_mime: processed.as_ref().map(|p| p.thumbnail.mime.to_owned()),
        created_at: Timestamp::now(),
    };
    let thumbnail = processed.map(|p| p.thumbnail.bytes);
    if let Err(err) = store(state, &row, &temp, thumbnail).await {
        // Leave nothing half-stored behind.
        let _ = state.files.blobs.delete(row.id).await;
        return Err(err);
    }
    Ok(row)
}

/// Copies the chunks to `out`, deciding the kind from the first bytes and stopping with 413 as
/// soon as the count passes that kind's limit; returns the kind.
async fn copy_counted<S>(
    state: &AppState,
    mut out: tokio::fs::File,
    mut chunks: S,
) -> AppResult<Detected>
where
    S: Stream<Item = AppResult<Bytes>> + Unpin,
{
    let cfg = &state.config.files;
    let limit_for = |d: &Detected| {
        if d.kind == "image" {
            cfg.max_image_bytes
        } else {
            cfg.max_file_bytes
        }
    };
    let mut limit = cfg.max_image_bytes.max(cfg.max_file_bytes);
    let (mut head, mut detected, mut total) = (Vec::with_capacity(SNIFF_BYTES), None, 0u64);
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk?;
        total += chunk.len() as u64;
        if detected.is_none() {
            let take = (SNIFF_BYTES - head.len()).min(chunk.len());
            head.extend_from_slice(&chunk[..take]);
            if head.len() == SNIFF_BYTES {
                let found = sniff::detect(&head);
                limit = limit_for(&found);
                detected = Some(found);
            }
        }
        if total > limit {
            return Err(too_large(limit));
        }
        out.write_all(&chunk).await.map_err(io)?;
    }
    out.flush().await.map_err(io)?;
    if total == 0 {
        return Err(AppError::invalid("file", "is empty"));
    }
    let detected = detected.unwrap_or_else(|| sniff::detect(&head));
    if total > limit_for(&detected) {
        return Err(too_large(limit_for(&detected)));
    }
    Ok(detected)
}

/// How long audio or video plays, if its container says; the reads block, so they run off the
/// async threads.
async fn probe_duration(temp: &TempFile, detected: &Detected) -> AppResult<Option<i64>> {
    if !matches!(detected.kind, "audio" | "video") {
        return Ok(None);
    }
    let (path, detected) = (temp.path.clone(), detected.clone());
    let result = tokio::task::spawn_blocking(move || {
        let mut file = std::fs::File::open(path)?;
        Ok(duration::duration_ms(&mut file, &detected))
    })
    .await
    .map_err(|err| AppError::Internal(err.into()))?;
    result.map_err(io)
}

async fn process_image(
    state: &AppState,
    temp: &TempFile,
    purpose: Purpose,
) -> AppResult<images::Processed> {
    let cfg = &state.config.files;
    let shape = match purpose {
        Purpose::Avatar => Shape::Square(cfg.avatar_px),
        Purpose::Attachment => Shape::Fit(cfg.thumbnail_px),
    };
    let (path, max_pixels) = (temp.path.clone(), cfg.max_image_pixels);
    let result = tokio::task::spawn_blocking(move || images::process(&path, max_pixels, shape))
        .await
        .map_err(|err| AppError::Internal(err.into()))?;
    result.map_err(|err| match err {
        ImageError::TooManyPixels(n) => AppError::PayloadTooLarge(format!(
            "file: the image has {n} pixels, at most {max_pixels} are accepted"
        )),
        ImageError::Undecodable(_) => AppError::invalid("file", "is not a readable image"),
        ImageError::Io(err) => io(err),
    })
}

async fn store(
    state: &AppState,
    row: &FileRow,
    temp: &TempFile,
    thumbnail: Option<Vec<u8>>,
) -> AppResult<()> {
    let blobs = &state.files.blobs;
    blobs
        .put_file(row.id, Variant::Original, &temp.path)
        .await?;
    if let Some(bytes) = thumbnail {
        blobs.put_bytes(row.id, Variant::Thumbnail, bytes).await?;
    }
    state.store.insert_file(row).await?;
    Ok(())
}
