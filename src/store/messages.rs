//! Messages and what hangs off them: hidden-for-me marks, reactions, stars, pins, receipts.
//!
//! Messages of a chat are ordered by `(created_at, id)`. `created_at` comes from the chat's own
//! clock (`chats.last_message_at`), advanced inside the inserting transaction: the row lock it
//! takes serializes inserts per chat, so commit order and `created_at` order agree and a reader
//! paging through history never sees a message appear behind its cursor.

use sqlx::{AssertSqlSafe, FromRow};

use super::{Backend, Store};
use crate::domain::{ChatId, MessageId, Timestamp, UserId};

/// One row of `messages`.
#[derive(Debug, Clone, FromRow)]
pub struct MessageRow {
    pub id: MessageId,
    pub chat_id: ChatId,
    pub sender_id: UserId,
    pub client_id: Option<String>,
    pub content: String,
    #[sqlx(rename = "type")]
    pub kind: String,
    pub file_id: Option<String>,
    pub reply_to_id: Option<MessageId>,
    pub forwarded: i64,
    pub edited_at: Option<Timestamp>,
    pub deleted_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// What sending stores; `created_at` is decided by the chat's clock.
pub struct NewMessage<'a> {
    pub id: MessageId,
    pub chat_id: ChatId,
    pub sender_id: UserId,
    pub client_id: Option<&'a str>,
    pub content: &'a str,
    pub kind: &'a str,
    pub file_id: Option<&'a str>,
    pub reply_to_id: Option<MessageId>,
    pub forwarded: bool,
    pub now: Timestamp,
}

/// A position in a chat's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryKey {
    pub created_at: Timestamp,
    pub id: MessageId,
}

/// A reaction of one person.
#[derive(Debug, Clone, FromRow)]
pub struct ReactionRow {
    pub message_id: MessageId,
    pub user_id: UserId,
    pub emoji: String,
}

/// One advance of a member's read or delivery watermark.
#[derive(Debug, Clone, FromRow)]
pub struct ReceiptMark {
    pub user_id: UserId,
    pub kind: String,
    pub up_to: Timestamp,
    pub marked_at: Timestamp,
}

/// Which watermark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiptKind {
    Delivered,
    Read,
}

impl ReceiptKind {
    fn as_str(self) -> &'static str {
        match self {
            ReceiptKind::Delivered => "delivered",
            ReceiptKind::Read => "read",
        }
    }
}

const MESSAGE_COLUMNS: &str = "m.id, m.chat_id, m.sender_id, m.client_id, m.content, m.type, \
    m.file_id, m.reply_to_id, m.forwarded, m.edited_at, m.deleted_at, m.created_at, m.updated_at";

/// Messages `$viewer` may see in a chat: not hidden for them, not before they cleared the chat.
const VISIBLE_TO_VIEWER: &str = "NOT EXISTS (SELECT 1 FROM hidden_messages h \
      WHERE h.user_id = $1 AND h.message_id = m.id) \
    AND m.created_at > COALESCE((SELECT cm.cleared_at FROM chat_members cm \
      WHERE cm.chat_id = m.chat_id AND cm.user_id = $1), -1)";

impl Store {
    /// Stores a message: advances the chat's clock, un-hides the chat for members who had
    /// deleted it, and moves the sender's own watermarks past it (sending implies having read
    /// what came before). One transaction. Also returns the sender's read watermark before.
    pub async fn insert_message(
        &self,
        new: &NewMessage<'_>,
    ) -> Result<(MessageRow, Option<Timestamp>), sqlx::Error> {
        let mut tx = self.writer.begin().await?;
        let before: Option<(Option<Timestamp>, Timestamp)> = sqlx::query_as(
            "SELECT m.last_read_at, c.last_message_at FROM chat_members m \
             JOIN chats c ON c.id = m.chat_id WHERE m.chat_id = $1 AND m.user_id = $2",
        )
        .bind(new.chat_id)
        .bind(new.sender_id)
        .fetch_optional(&mut *tx)
        .await?;
        let (previous_read, previous_clock) = before.unwrap_or((None, Timestamp::from_millis(-1)));
        let created_at: Timestamp = sqlx::query_scalar(
            "UPDATE chats SET last_message_at = CASE WHEN last_message_at >= $2 \
             THEN last_message_at + 1 ELSE $2 END WHERE id = $1 RETURNING last_message_at",
        )
        .bind(new.chat_id)
        .bind(new.now)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO messages (id, chat_id, sender_id, client_id, content, type, file_id, \
             reply_to_id, forwarded, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
        )
        .bind(new.id)
        .bind(new.chat_id)
        .bind(new.sender_id)
        .bind(new.client_id)
        .bind(new.content)
        .bind(new.kind)
        .bind(new.file_id)
        .bind(new.reply_to_id)
        .bind(i64::from(new.forwarded))
        .bind(created_at)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE chat_members SET hidden = 0, settings_updated_at = $2 \
             WHERE chat_id = $1 AND hidden = 1",
        )
        .bind(new.chat_id)
        .bind(created_at)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE chat_members SET last_read_at = $3, last_delivered_at = $3 \
             WHERE chat_id = $1 AND user_id = $2",
        )
        .bind(new.chat_id)
        .bind(new.sender_id)
        .bind(created_at)
        .execute(&mut *tx)
        .await?;
        if previous_read.is_none_or(|read| read < previous_clock) {
            // The sender had unread messages; sending reads them, and receipts say when.
            for kind in [ReceiptKind::Read, ReceiptKind::Delivered] {
                insert_mark(
                    &mut tx,
                    new.chat_id,
                    new.sender_id,
                    kind,
                    created_at,
                    new.now,
                )
                .await?;
            }
        }
        tx.commit().await?;
        let row = MessageRow {
            id: new.id,
            chat_id: new.chat_id,
            sender_id: new.sender_id,
            client_id: new.client_id.map(str::to_owned),
            content: new.content.to_owned(),
            kind: new.kind.to_owned(),
            file_id: new.file_id.map(str::to_owned),
            reply_to_id: new.reply_to_id,
            forwarded: i64::from(new.forwarded),
            edited_at: None,
            deleted_at: None,
            created_at,
            updated_at: created_at,
        };
        Ok((row, previous_read))
    }

    pub async fn fetch_message(&self, id: MessageId) -> Result<Option<MessageRow>, sqlx::Error> {
        sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages m WHERE m.id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.writer)
        .await
    }

    /// The message a sender already stored under `client_id`, for idempotent retries.
    pub async fn fetch_message_by_client_id(
        &self,
        sender: UserId,
        client_id: &str,
    ) -> Result<Option<MessageRow>, sqlx::Error> {
        sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages m WHERE m.sender_id = $1 AND m.client_id = $2"
        )))
        .bind(sender)
        .bind(client_id)
        .fetch_optional(&self.writer)
        .await
    }

    /// Several messages by id, in no particular order.
    pub async fn fetch_messages(&self, ids: &[MessageId]) -> Result<Vec<MessageRow>, sqlx::Error> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages m WHERE m.id IN ({})",
            placeholders(1, ids.len())
        );
        let mut query = sqlx::query_as(AssertSqlSafe(sql));
        for id in ids {
            query = query.bind(*id);
        }
        query.fetch_all(&self.reader).await
    }

    /// Up to `limit` messages before `before` (or the newest), newest first.
    pub async fn list_messages_before(
        &self,
        viewer: UserId,
        chat: ChatId,
        before: Option<HistoryKey>,
        limit: i64,
    ) -> Result<Vec<MessageRow>, sqlx::Error> {
        let (at, id) = before.map_or((i64::MAX, String::new()), |k| {
            (k.created_at.millis(), k.id.to_string())
        });
        sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages m WHERE m.chat_id = $2 \
             AND (m.created_at < $3 OR (m.created_at = $3 AND m.id < $4)) AND {VISIBLE_TO_VIEWER} \
             ORDER BY m.created_at DESC, m.id DESC LIMIT $5"
        )))
        .bind(viewer)
        .bind(chat)
        .bind(at)
        .bind(if before.is_some() { id } else { "~".into() })
        .bind(limit)
        .fetch_all(&self.reader)
        .await
    }

    /// Up to `limit` messages after `after`, oldest first (gap filling).
    pub async fn list_messages_after(
        &self,
        viewer: UserId,
        chat: ChatId,
        after: HistoryKey,
        limit: i64,
    ) -> Result<Vec<MessageRow>, sqlx::Error> {
        sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages m WHERE m.chat_id = $2 \
             AND (m.created_at > $3 OR (m.created_at = $3 AND m.id > $4)) AND {VISIBLE_TO_VIEWER} \
             ORDER BY m.created_at, m.id LIMIT $5"
        )))
        .bind(viewer)
        .bind(chat)
        .bind(after.created_at)
        .bind(after.id)
        .bind(limit)
        .fetch_all(&self.reader)
        .await
    }

    /// The newest message of a chat that `viewer` may see.
    pub async fn fetch_last_message(
        &self,
        viewer: UserId,
        chat: ChatId,
    ) -> Result<Option<MessageRow>, sqlx::Error> {
        Ok(self
            .list_messages_before(viewer, chat, None, 1)
            .await?
            .into_iter()
            .next())
    }

    /// Messages from others after the viewer's read watermark, not deleted or hidden.
    pub async fn count_unread(
        &self,
        viewer: UserId,
        chat: ChatId,
        read_up_to: Option<Timestamp>,
    ) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT count(*) FROM messages m WHERE m.chat_id = $2 AND m.created_at > $3 \
             AND m.sender_id <> $1 AND m.deleted_at IS NULL AND {VISIBLE_TO_VIEWER}"
        )))
        .bind(viewer)
        .bind(chat)
        .bind(read_up_to.map_or(-1, Timestamp::millis))
        .fetch_one(&self.reader)
        .await
    }

    pub async fn update_message_content(
        &self,
        id: MessageId,
        content: &str,
        now: Timestamp,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE messages SET content = $2, edited_at = $3, updated_at = $3 WHERE id = $1",
        )
        .bind(id)
        .bind(content)
        .bind(now)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Turns a message into a tombstone: no content, no file, no reactions, no pin.
    pub async fn delete_message_for_everyone(
        &self,
        id: MessageId,
        now: Timestamp,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.writer.begin().await?;
        sqlx::query(
            "UPDATE messages SET content = '', file_id = NULL, deleted_at = $2, updated_at = $2 \
             WHERE id = $1",
        )
        .bind(id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        for table in ["reactions", "pins", "stars"] {
            sqlx::query(AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE message_id = $1"
            )))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await
    }

    /// Whether `user` deleted this message for themselves.
    pub async fn is_message_hidden_for(
        &self,
        user: UserId,
        id: MessageId,
    ) -> Result<bool, sqlx::Error> {
        let hidden: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM hidden_messages WHERE user_id = $1 AND message_id = $2",
        )
        .bind(user)
        .bind(id)
        .fetch_one(&self.writer)
        .await?;
        Ok(hidden > 0)
    }

    pub async fn hide_message_for(
        &self,
        user: UserId,
        id: MessageId,
        now: Timestamp,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO hidden_messages (user_id, message_id, hidden_at) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
        )
        .bind(user)
        .bind(id)
        .bind(now)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

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

    /// Moves `user`'s watermark of `kind` in `chat` forward to `up_to` (never back) and records
    /// the advance. Returns the previous watermark when it moved, `None` when it did not.
    pub async fn advance_watermark(
        &self,
        chat: ChatId,
        user: UserId,
        kind: ReceiptKind,
        up_to: Timestamp,
        now: Timestamp,
    ) -> Result<Option<Timestamp>, sqlx::Error> {
        let column = match kind {
            ReceiptKind::Delivered => "last_delivered_at",
            ReceiptKind::Read => "last_read_at",
        };
        let mut tx = self.writer.begin().await?;
        let previous: Option<Option<Timestamp>> = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT {column} FROM chat_members WHERE chat_id = $1 AND user_id = $2"
        )))
        .bind(chat)
        .bind(user)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(previous) = previous else {
            return Ok(None);
        };
        let previous = previous.unwrap_or(Timestamp::from_millis(-1));
        if previous >= up_to {
            return Ok(None);
        }
        let mut update = format!("UPDATE chat_members SET {column} = $3");
        if kind == ReceiptKind::Read {
            // Whatever is read has been delivered.
            update.push_str(", last_delivered_at = CASE WHEN last_delivered_at IS NULL OR last_delivered_at < $3 THEN $3 ELSE last_delivered_at END");
        }
        update.push_str(" WHERE chat_id = $1 AND user_id = $2");
        sqlx::query(AssertSqlSafe(update))
            .bind(chat)
            .bind(user)
            .bind(up_to)
            .execute(&mut *tx)
            .await?;
        insert_mark(&mut tx, chat, user, kind, up_to, now).await?;
        if kind == ReceiptKind::Read {
            insert_mark(&mut tx, chat, user, ReceiptKind::Delivered, up_to, now).await?;
        }
        tx.commit().await?;
        Ok(Some(previous))
    }

    /// The first advance of each member's watermarks that covers a message created at `at`.
    pub async fn list_receipt_marks(
        &self,
        chat: ChatId,
        at: Timestamp,
    ) -> Result<Vec<ReceiptMark>, sqlx::Error> {
        sqlx::query_as(
            "SELECT user_id, kind, min(up_to) AS up_to, min(marked_at) AS marked_at \
             FROM receipt_marks WHERE chat_id = $1 AND up_to >= $2 GROUP BY user_id, kind",
        )
        .bind(chat)
        .bind(at)
        .fetch_all(&self.reader)
        .await
    }

    /// Who sent messages in `chat` created in `(after, up_to]`, other than `except`.
    pub async fn list_senders_between(
        &self,
        chat: ChatId,
        after: Timestamp,
        up_to: Timestamp,
        except: UserId,
    ) -> Result<Vec<UserId>, sqlx::Error> {
        sqlx::query_scalar(
            "SELECT DISTINCT sender_id FROM messages WHERE chat_id = $1 AND created_at > $2 \
             AND created_at <= $3 AND sender_id <> $4",
        )
        .bind(chat)
        .bind(after)
        .bind(up_to)
        .bind(except)
        .fetch_all(&self.reader)
        .await
    }

    /// Full-text search over the chats `viewer` belongs to, newest first.
    pub async fn search_messages(
        &self,
        viewer: UserId,
        query: &str,
        chat: Option<ChatId>,
        before: Option<HistoryKey>,
        limit: i64,
    ) -> Result<Vec<MessageRow>, sqlx::Error> {
        let (at, id) = before.map_or((i64::MAX, "~".to_owned()), |k| {
            (k.created_at.millis(), k.id.to_string())
        });
        let (source, matches) = match self.backend {
            Backend::Sqlite => (
                "messages_fts f JOIN messages m ON m.rowid = f.rowid",
                "messages_fts MATCH $2",
            ),
            Backend::Postgres => (
                "messages m",
                "m.search_vector @@ plainto_tsquery('simple', $2)",
            ),
        };
        let text = match self.backend {
            Backend::Sqlite => fts5_query(query),
            Backend::Postgres => query.to_owned(),
        };
        sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {MESSAGE_COLUMNS} FROM {source} \
             JOIN chat_members cm ON cm.chat_id = m.chat_id AND cm.user_id = $1 \
             WHERE {matches} AND m.deleted_at IS NULL AND ($3 = '' OR m.chat_id = $3) \
             AND (m.created_at < $4 OR (m.created_at = $4 AND m.id < $5)) AND {VISIBLE_TO_VIEWER} \
             ORDER BY m.created_at DESC, m.id DESC LIMIT $6"
        )))
        .bind(viewer)
        .bind(text)
        .bind(chat.map(|c| c.to_string()).unwrap_or_default())
        .bind(at)
        .bind(id)
        .bind(limit)
        .fetch_all(&self.reader)
        .await
    }

    /// Messages in `viewer`'s chats changed (sent, edited, deleted, reacted to) after `since`,
    /// oldest change first.
    pub async fn list_messages_changed_since(
        &self,
        viewer: UserId,
        since: Timestamp,
        limit: i64,
    ) -> Result<Vec<MessageRow>, sqlx::Error> {
        sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {MESSAGE_COLUMNS} FROM chat_members cm \
             JOIN messages m ON m.chat_id = cm.chat_id \
             WHERE cm.user_id = $1 AND m.updated_at > $2 AND {VISIBLE_TO_VIEWER} \
             ORDER BY m.updated_at, m.id LIMIT $3"
        )))
        .bind(viewer)
        .bind(since)
        .bind(limit)
        .fetch_all(&self.reader)
        .await
    }

    /// The gallery: live file messages of a chat that `$viewer` sees, newest first, optionally of
    /// one type.
    pub async fn list_media_before(
        &self,
        viewer: UserId,
        chat: ChatId,
        kind: Option<&str>,
        before: Option<HistoryKey>,
        limit: i64,
    ) -> Result<Vec<MessageRow>, sqlx::Error> {
        let (at, id) = before.map_or((i64::MAX, "~".to_owned()), |k| {
            (k.created_at.millis(), k.id.to_string())
        });
        sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages m WHERE m.chat_id = $2 \
             AND m.file_id IS NOT NULL AND m.deleted_at IS NULL \
             AND m.type IN ('image', 'video', 'audio', 'file') AND ($5 = '' OR m.type = $5) \
             AND (m.created_at < $3 OR (m.created_at = $3 AND m.id < $4)) AND {VISIBLE_TO_VIEWER} \
             ORDER BY m.created_at DESC, m.id DESC LIMIT $6"
        )))
        .bind(viewer)
        .bind(chat)
        .bind(at)
        .bind(id)
        .bind(kind.unwrap_or_default())
        .bind(limit)
        .fetch_all(&self.reader)
        .await
    }
}

async fn insert_mark(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    chat: ChatId,
    user: UserId,
    kind: ReceiptKind,
    up_to: Timestamp,
    now: Timestamp,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO receipt_marks (chat_id, user_id, kind, up_to, marked_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(chat)
    .bind(user)
    .bind(kind.as_str())
    .bind(up_to)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// `$first, $first+1, …` for `count` values.
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Turns free text into an FTS5 query: every word quoted (so no operator can be injected), all
/// required, the last one as a prefix.
fn fts5_query(text: &str) -> String {
    let words: Vec<String> = text
        .split_whitespace()
        .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
        .collect();
    match words.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} {last}*", rest.join(" ")),
        Some((last, _)) => format!("{last}*"),
        None => "\"\"".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fts5_queries_quote_every_word() {
        assert_eq!(fts5_query("hello world"), "\"hello\" \"world\"*");
        assert_eq!(fts5_query("a\"b OR c"), "\"a\"\"b\" \"OR\" \"c\"*");
        assert_eq!(fts5_query("  "), "\"\"");
    }
}
