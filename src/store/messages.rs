//! Messages: reading history, search, edits, deletes and hidden-for-me marks.
//!
//! Messages of a chat are ordered by `(created_at, id)`; sending lives in
//! [`super::message_writes`], which explains where `created_at` comes from.

use sqlx::{AssertSqlSafe, FromRow};

use super::group_commit::Write;
use super::message_writes::{InsertOutcome, NewMessage};
use super::{Backend, Store, placeholders};
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

/// A position in a chat's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryKey {
    pub created_at: Timestamp,
    pub id: MessageId,
}

pub(super) const MESSAGE_COLUMNS: &str = "m.id, m.chat_id, m.sender_id, m.client_id, m.content, m.type, \
    m.file_id, m.reply_to_id, m.forwarded, m.edited_at, m.deleted_at, m.created_at, m.updated_at";

/// Messages `$viewer` may see in a chat: not hidden for them, not before they cleared the chat.
pub(super) const VISIBLE_TO_VIEWER: &str = "NOT EXISTS (SELECT 1 FROM hidden_messages h \
      WHERE h.user_id = $1 AND h.message_id = m.id) \
    AND m.created_at > COALESCE((SELECT cm.cleared_at FROM chat_members cm \
      WHERE cm.chat_id = m.chat_id AND cm.user_id = $1), -1)";

/// `m.updated_at > $2`, said so that both indexes serve it: sent after `$2` (by
/// `messages_chat_time`), or changed after being sent and after `$2` (by the partial
/// `messages_chat_changed`, migration 0006). `updated_at` never precedes `since` otherwise: a
/// message changed after `since` was changed after it was sent, or sent after `since`.
const CHANGED_SINCE_2: &str =
    "(m.created_at > $2 OR (m.updated_at > $2 AND m.updated_at > m.created_at))";

impl Store {
    /// Stores a message through the group commit; answers once it is committed.
    pub async fn insert_message(&self, new: NewMessage) -> Result<InsertOutcome, sqlx::Error> {
        let outcome = self
            .group_commit
            .submit(|reply| Write::Message(new, reply))
            .await?;
        if let InsertOutcome::Inserted {
            row, previous_at, ..
        } = &outcome
        {
            let (at, before) = (row.created_at.millis(), previous_at.millis());
            self.caches
                .recent
                .record(row.chat_id, at, before, row.sender_id);
        }
        Ok(outcome)
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

    /// Full-text search over the chats `viewer` belongs to, newest first.
    pub async fn search_messages(
        &self,
        viewer: UserId,
        query: &str,
        chat: Option<ChatId>,
        before: Option<HistoryKey>,
        limit: i64,
    ) -> Result<Vec<MessageRow>, sqlx::Error> {
        if self.backend == Backend::Sqlite {
            // Every acknowledged message is findable: index what waits first.
            self.group_commit.submit(Write::CatchUpSearch).await?;
        }
        let (at, id) = before.map_or((i64::MAX, "~".to_owned()), |k| {
            (k.created_at.millis(), k.id.to_string())
        });
        let (source, matches) = match self.backend {
            // CROSS JOIN fixes the order: the full-text query runs once and drives the loop.
            // Left to itself, SQLite may walk the viewer's chats in time order and ask FTS5
            // about each message, which re-runs the whole query (prefixes and all) per row.
            Backend::Sqlite => (
                "messages_fts f CROSS JOIN messages m ON m.rowid = f.rowid \
                 CROSS JOIN chat_members cm ON cm.chat_id = m.chat_id AND cm.user_id = $1",
                "messages_fts MATCH $2",
            ),
            Backend::Postgres => (
                "messages m JOIN chat_members cm ON cm.chat_id = m.chat_id AND cm.user_id = $1",
                "m.search_vector @@ plainto_tsquery('simple', $2)",
            ),
        };
        let text = match self.backend {
            Backend::Sqlite => {
                let chats = match chat {
                    Some(chat) => vec![chat],
                    None => self.list_chat_ids_of(viewer).await?,
                };
                if chats.is_empty() {
                    return Ok(Vec::new());
                }
                fts5_query(query, &chats)
            }
            Backend::Postgres => query.to_owned(),
        };
        sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {MESSAGE_COLUMNS} FROM {source} \
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
             WHERE cm.user_id = $1 AND {CHANGED_SINCE_2} AND {VISIBLE_TO_VIEWER} \
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

/// Beyond this many chats a search does not name them to FTS5 (the query would grow long); the
/// join with the viewer's memberships still decides.
const NAMED_CHATS: usize = 300;

/// Turns free text into an FTS5 query over `content`: every word quoted (so no operator can be
/// injected), all required, the last one as a prefix; and, unless there are many, the message
/// must be in one of `chats` (each indexed as one token, see migration 0005).
fn fts5_query(text: &str, chats: &[ChatId]) -> String {
    let words = fts5_words(text);
    if chats.len() > NAMED_CHATS {
        return format!("content : ({words})");
    }
    let tokens: Vec<String> = chats
        .iter()
        .map(|c| format!("\"{}\"", c.to_string().replace('-', "")))
        .collect();
    format!("content : ({words}) AND chat : ({})", tokens.join(" OR "))
}

fn fts5_words(text: &str) -> String {
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
        assert_eq!(fts5_words("hello world"), "\"hello\" \"world\"*");
        assert_eq!(fts5_words("a\"b OR c"), "\"a\"\"b\" \"OR\" \"c\"*");
        assert_eq!(fts5_words("  "), "\"\"");
    }

    #[test]
    fn fts5_queries_name_the_chats_unless_there_are_many() {
        let chat = ChatId::parse("0193f1a2-7c2e-7d00-8000-00000000abcd").expect("a chat id");
        assert_eq!(
            fts5_query("hi", &[chat]),
            "content : (\"hi\"*) AND chat : (\"0193f1a27c2e7d00800000000000abcd\")"
        );
        let many = vec![chat; NAMED_CHATS + 1];
        assert_eq!(fts5_query("hi", &many), "content : (\"hi\"*)");
    }
}
