//! Uploaded files: their metadata, who may read them, and which ones nothing uses any more.
//!
//! A file is readable by its uploader and by the members of a chat holding a message (not deleted
//! for everyone) that carries it. Avatars are referenced by URL from `users.avatar_url` and
//! `chats.avatar_url`. A file is an avatar only where one of those equals the URL minted for it
//! (`UrlSigner::avatar_url`, signed, so computed by the caller): a profile link that merely
//! contains a file's id, which anyone may set, must not keep that file alive.

use sqlx::FromRow;

use super::Store;
use crate::domain::{FileId, Timestamp, UserId};

/// One row of `files`.
#[derive(Debug, Clone, FromRow)]
pub struct FileRow {
    pub id: FileId,
    pub uploader_id: UserId,
    pub name: String,
    pub mime_type: String,
    pub kind: String,
    pub size: i64,
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub duration_ms: Option<i64>,
    pub thumbnail_mime: Option<String>,
    pub created_at: Timestamp,
}

const FILE_COLUMNS: &str = "id, uploader_id, name, mime_type, kind, size, width, height, \
    duration_ms, thumbnail_mime, created_at";

/// Where a user's or a chat's avatar URL is exactly `$2`.
const AVATAR: &str = "EXISTS (SELECT 1 FROM users u WHERE u.avatar_url = $2) \
    OR EXISTS (SELECT 1 FROM chats c WHERE c.avatar_url = $2)";

/// Where a message not deleted for everyone carries `files.id` (aliased `f`).
const LIVE_MESSAGE: &str =
    "EXISTS (SELECT 1 FROM messages m WHERE m.file_id = f.id AND m.deleted_at IS NULL)";

impl Store {
    pub async fn insert_file(&self, file: &FileRow) -> Result<(), sqlx::Error> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO files ({FILE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        )))
        .bind(file.id)
        .bind(file.uploader_id)
        .bind(&file.name)
        .bind(&file.mime_type)
        .bind(&file.kind)
        .bind(file.size)
        .bind(file.width)
        .bind(file.height)
        .bind(file.duration_ms)
        .bind(&file.thumbnail_mime)
        .bind(file.created_at)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    pub async fn fetch_file(&self, id: FileId) -> Result<Option<FileRow>, sqlx::Error> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {FILE_COLUMNS} FROM files WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.reader)
        .await
    }

    /// The files among `ids`, for rendering a page of messages.
    pub async fn fetch_files(&self, ids: &[FileId]) -> Result<Vec<FileRow>, sqlx::Error> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT {FILE_COLUMNS} FROM files WHERE id IN ({})",
            list.join(", ")
        );
        let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql));
        for id in ids {
            query = query.bind(*id);
        }
        query.fetch_all(&self.reader).await
    }

    /// Bytes stored by one uploader, for the quota.
    pub async fn fetch_bytes_used(&self, uploader: UserId) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar(
            // SUM of a BIGINT is NUMERIC on PostgreSQL, which the Any driver cannot decode.
            "SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM files WHERE uploader_id = $1",
        )
        .bind(uploader)
        .fetch_one(&self.reader)
        .await
    }

    /// Whether `viewer` is a member of a chat where a live message carries the file.
    pub async fn fetch_file_shared_with(
        &self,
        file: FileId,
        viewer: UserId,
    ) -> Result<bool, sqlx::Error> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM messages m JOIN chat_members cm ON cm.chat_id = m.chat_id \
             WHERE m.file_id = $1 AND m.deleted_at IS NULL AND cm.user_id = $2 LIMIT 1",
        )
        .bind(file)
        .bind(viewer)
        .fetch_optional(&self.reader)
        .await?;
        Ok(found.is_some())
    }

    /// Whether the file is someone's avatar: `avatar_url` is the URL minted for it.
    pub async fn fetch_file_is_avatar(
        &self,
        file: FileId,
        avatar_url: &str,
    ) -> Result<bool, sqlx::Error> {
        let found: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT 1 FROM files f WHERE f.id = $1 AND ({AVATAR})"
        )))
        .bind(file)
        .bind(avatar_url)
        .fetch_optional(&self.reader)
        .await?;
        Ok(found.is_some())
    }

    /// Whether a live message or an avatar uses the file (`avatar_url`: the URL minted for it).
    pub async fn fetch_file_in_use(
        &self,
        file: FileId,
        avatar_url: &str,
    ) -> Result<bool, sqlx::Error> {
        let found: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT 1 FROM files f WHERE f.id = $1 AND ({LIVE_MESSAGE} OR {AVATAR})"
        )))
        .bind(file)
        .bind(avatar_url)
        .fetch_optional(&self.reader)
        .await?;
        Ok(found.is_some())
    }

    /// Files created before `before` that no live message uses, in id order after `after`; the
    /// caller checks which are avatars with [`Store::list_avatar_urls_in_use`].
    pub async fn list_unattached_files(
        &self,
        before: Timestamp,
        after: Option<FileId>,
        limit: i64,
    ) -> Result<Vec<FileRow>, sqlx::Error> {
        // Ids are text in both databases; "" sorts before every id.
        let after = after.map(|id| id.to_string()).unwrap_or_default();
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {FILE_COLUMNS} FROM files f WHERE f.created_at < $1 AND f.id > $2 \
             AND NOT {LIVE_MESSAGE} ORDER BY f.id LIMIT $3"
        )))
        .bind(before)
        .bind(after)
        .bind(limit)
        .fetch_all(&self.reader)
        .await
    }

    /// Those of `urls` that are a user's or a chat's avatar URL.
    pub async fn list_avatar_urls_in_use(
        &self,
        urls: &[String],
    ) -> Result<Vec<String>, sqlx::Error> {
        if urls.is_empty() {
            return Ok(Vec::new());
        }
        let list: Vec<String> = (1..=urls.len()).map(|i| format!("${i}")).collect();
        let list = list.join(", ");
        let sql = format!(
            "SELECT avatar_url FROM users WHERE avatar_url IN ({list}) \
             UNION SELECT avatar_url FROM chats WHERE avatar_url IN ({list})"
        );
        let mut query = sqlx::query_scalar(sqlx::AssertSqlSafe(sql));
        for url in urls {
            query = query.bind(url);
        }
        query.fetch_all(&self.reader).await
    }

    pub async fn delete_file(&self, id: FileId) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM files WHERE id = $1")
            .bind(id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }
}
