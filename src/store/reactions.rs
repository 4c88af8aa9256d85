//! Reactions, stars and pins: what people attach to messages.

use sqlx::{AssertSqlSafe, FromRow};

use super::messages::{MESSAGE_COLUMNS, MessageRow, VISIBLE_TO_VIEWER};
use super::{Store, placeholders};
use crate::domain::{ChatId, MessageId, Timestamp, UserId};

/// A reaction of one person.
#[derive(Debug, Clone, FromRow)]
pub struct ReactionRow {
    pub message_id: MessageId,
    pub user_id: UserId,
    pub emoji: String,
}

impl Store {
    /// Sets `user`'s reaction (replacing an earlier one), or removes it with `None`.
    pub async fn set_reaction(
        &self,
        message: MessageId,
        user: UserId,
        emoji: Option<&str>,
        now: Timestamp,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.writer.begin().await?;
        sqlx::query("DELETE FROM reactions WHERE message_id = $1 AND user_id = $2")
            .bind(message)
            .bind(user)
            .execute(&mut *tx)
            .await?;
        if let Some(emoji) = emoji {
            sqlx::query(
                "INSERT INTO reactions (message_id, user_id, emoji, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(message)
            .bind(user)
            .bind(emoji)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("UPDATE messages SET updated_at = $2 WHERE id = $1")
            .bind(message)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    }

    /// Reactions on these messages, oldest first.
    pub async fn list_reactions(&self, ids: &[MessageId]) -> Result<Vec<ReactionRow>, sqlx::Error> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT message_id, user_id, emoji FROM reactions WHERE message_id IN ({}) \
             ORDER BY created_at, user_id",
            placeholders(1, ids.len())
        );
        let mut query = sqlx::query_as(AssertSqlSafe(sql));
        for id in ids {
            query = query.bind(*id);
        }
        query.fetch_all(&self.reader).await
    }

    pub async fn insert_star(
        &self,
        user: UserId,
        message: MessageId,
        now: Timestamp,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO stars (user_id, message_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(user)
        .bind(message)
        .bind(now)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    pub async fn delete_star(&self, user: UserId, message: MessageId) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM stars WHERE user_id = $1 AND message_id = $2")
            .bind(user)
            .bind(message)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Starred messages of `user` in chats they still belong to, newest star first.
    pub async fn list_starred(
        &self,
        user: UserId,
        before: Option<(Timestamp, MessageId)>,
        limit: i64,
    ) -> Result<Vec<(Timestamp, MessageRow)>, sqlx::Error> {
        #[derive(FromRow)]
        struct Starred {
            starred_at: Timestamp,
            #[sqlx(flatten)]
            message: MessageRow,
        }
        let (at, id) = before.map_or((i64::MAX, "~".to_owned()), |(t, id)| {
            (t.millis(), id.to_string())
        });
        let rows: Vec<Starred> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT s.created_at AS starred_at, {MESSAGE_COLUMNS} FROM stars s \
             JOIN messages m ON m.id = s.message_id \
             JOIN chat_members cm ON cm.chat_id = m.chat_id AND cm.user_id = s.user_id \
             WHERE s.user_id = $1 AND (s.created_at < $2 OR (s.created_at = $2 AND m.id < $3)) \
             AND {VISIBLE_TO_VIEWER} ORDER BY s.created_at DESC, m.id DESC LIMIT $4"
        )))
        .bind(user)
        .bind(at)
        .bind(id)
        .bind(limit)
        .fetch_all(&self.reader)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| (r.starred_at, r.message))
            .collect())
    }

    /// The ids among `ids` that `user` starred.
    pub async fn list_starred_among(
        &self,
        user: UserId,
        ids: &[MessageId],
    ) -> Result<Vec<MessageId>, sqlx::Error> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT message_id FROM stars WHERE user_id = $1 AND message_id IN ({})",
            placeholders(2, ids.len())
        );
        let mut query = sqlx::query_scalar(AssertSqlSafe(sql)).bind(user);
        for id in ids {
            query = query.bind(*id);
        }
        query.fetch_all(&self.reader).await
    }

    /// Returns false when the message was already pinned.
    pub async fn insert_pin(
        &self,
        chat: ChatId,
        message: MessageId,
        by: UserId,
        now: Timestamp,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "INSERT INTO pins (chat_id, message_id, pinned_by, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT DO NOTHING",
        )
        .bind(chat)
        .bind(message)
        .bind(by)
        .bind(now)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn delete_pin(&self, chat: ChatId, message: MessageId) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("DELETE FROM pins WHERE chat_id = $1 AND message_id = $2")
            .bind(chat)
            .bind(message)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Pinned messages of a chat, most recently pinned first.
    pub async fn list_pins(
        &self,
        viewer: UserId,
        chat: ChatId,
    ) -> Result<Vec<MessageRow>, sqlx::Error> {
        sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {MESSAGE_COLUMNS} FROM pins p JOIN messages m ON m.id = p.message_id \
             WHERE p.chat_id = $2 AND {VISIBLE_TO_VIEWER} ORDER BY p.created_at DESC"
        )))
        .bind(viewer)
        .bind(chat)
        .fetch_all(&self.reader)
        .await
    }
}
