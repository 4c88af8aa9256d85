//! Chats: the `chats` table, and who is in a chat (kept in the store's cache, see
//! [`super::cache`]). The rows of `chat_members` and each member's own settings are in
//! [`super::members`].

use std::sync::Arc;

use sqlx::{AssertSqlSafe, FromRow};

use super::Store;
use super::members::{ALIASED_MEMBER_COLUMNS, MemberRow, MemberRowAliased, insert_member};
use crate::domain::{ChatId, Timestamp, UserId};

/// One row of `chats`.
#[derive(Debug, Clone, FromRow)]
pub struct ChatRow {
    pub id: ChatId,
    #[sqlx(rename = "type")]
    pub kind: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub avatar_url: Option<String>,
    pub created_by: UserId,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub last_message_at: Timestamp,
}

/// Who is in a chat: what sending and fan-out need, kept in the store's cache.
#[derive(Debug)]
pub struct ChatMembers {
    pub kind: String,
    pub ids: Vec<UserId>,
}

const CHAT_COLUMNS: &str = "c.id, c.type, c.name, c.description, c.avatar_url, c.created_by, \
    c.created_at, c.updated_at, c.last_message_at";

/// A new chat and its first members (the creator first).
pub struct NewChat<'a> {
    pub row: &'a ChatRow,
    pub direct_key: Option<String>,
    pub members: &'a [(UserId, &'static str)],
}

impl Store {
    /// Creates a chat with its members in one transaction.
    pub async fn insert_chat(&self, chat: &NewChat<'_>) -> Result<(), sqlx::Error> {
        let mut tx = self.writer.begin().await?;
        let row = chat.row;
        sqlx::query(
            "INSERT INTO chats (id, type, name, description, avatar_url, created_by, direct_key, \
             created_at, updated_at, last_message_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $8)",
        )
        .bind(row.id)
        .bind(&row.kind)
        .bind(row.name.as_deref())
        .bind(row.description.as_deref())
        .bind(row.avatar_url.as_deref())
        .bind(row.created_by)
        .bind(chat.direct_key.as_deref())
        .bind(row.created_at)
        .execute(&mut *tx)
        .await?;
        for (user, role) in chat.members {
            insert_member(&mut tx, row.id, *user, role, row.created_at).await?;
        }
        tx.commit().await?;
        self.caches.members.forget(&row.id);
        Ok(())
    }

    pub async fn fetch_chat(&self, id: ChatId) -> Result<Option<ChatRow>, sqlx::Error> {
        sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {CHAT_COLUMNS} FROM chats c WHERE c.id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.reader)
        .await
    }

    /// The one-on-one chat of a pair, by its `direct_key`.
    pub async fn fetch_direct_chat(&self, key: &str) -> Result<Option<ChatRow>, sqlx::Error> {
        sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {CHAT_COLUMNS} FROM chats c WHERE c.direct_key = $1"
        )))
        .bind(key)
        .fetch_optional(&self.writer)
        .await
    }

    /// The chats `user` belongs to, with their membership; `archived` filters when given.
    pub async fn list_member_chats(
        &self,
        user: UserId,
        archived: Option<bool>,
    ) -> Result<Vec<(ChatRow, MemberRow)>, sqlx::Error> {
        #[derive(FromRow)]
        struct Joined {
            #[sqlx(flatten)]
            chat: ChatRow,
            #[sqlx(flatten)]
            member: MemberRowAliased,
        }
        let rows: Vec<Joined> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {CHAT_COLUMNS}, {ALIASED_MEMBER_COLUMNS} FROM chat_members m \
             JOIN chats c ON c.id = m.chat_id \
             WHERE m.user_id = $1 AND m.hidden = 0 AND ($2 < 0 OR m.archived = $2) \
             ORDER BY m.pinned DESC, c.last_message_at DESC, c.id DESC"
        )))
        .bind(user)
        .bind(archived.map_or(-1i64, i64::from))
        .fetch_all(&self.reader)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| (r.chat, r.member.into()))
            .collect())
    }

    /// The ids of the members of `chat` (none when there is no such chat).
    pub async fn list_member_ids(&self, chat: ChatId) -> Result<Vec<UserId>, sqlx::Error> {
        let members = self.fetch_chat_members(chat).await?;
        Ok(members.map(|m| m.ids.clone()).unwrap_or_default())
    }

    /// A chat's type and members, from the cache when it has them (see [`super::cache`]).
    pub async fn fetch_chat_members(
        &self,
        chat: ChatId,
    ) -> Result<Option<Arc<ChatMembers>>, sqlx::Error> {
        if let Some(hit) = self.caches.members.get(&chat) {
            return Ok(Some(hit));
        }
        let generation = self.caches.members.generation();
        let rows: Vec<(String, Option<UserId>)> = sqlx::query_as(
            "SELECT c.type, m.user_id FROM chats c \
             LEFT JOIN chat_members m ON m.chat_id = c.id WHERE c.id = $1",
        )
        .bind(chat)
        .fetch_all(&self.reader)
        .await?;
        let Some((kind, _)) = rows.first() else {
            return Ok(None);
        };
        let members = Arc::new(ChatMembers {
            kind: kind.clone(),
            ids: rows.iter().filter_map(|(_, id)| *id).collect(),
        });
        self.caches
            .members
            .put(generation, chat, Arc::clone(&members));
        Ok(Some(members))
    }

    pub async fn update_chat_info(
        &self,
        id: ChatId,
        name: Option<&str>,
        description: Option<&str>,
        avatar_url: Option<Option<&str>>,
        now: Timestamp,
    ) -> Result<(), sqlx::Error> {
        let (avatar_set, avatar) = match avatar_url {
            Some(value) => (1i64, value),
            None => (0, None),
        };
        sqlx::query(
            "UPDATE chats SET name = COALESCE($2, name), description = COALESCE($3, description), \
             avatar_url = CASE WHEN $4 = 1 THEN $5 ELSE avatar_url END, updated_at = $6 WHERE id = $1",
        )
        .bind(id)
        .bind(name)
        .bind(description)
        .bind(avatar_set)
        .bind(avatar)
        .bind(now)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    pub async fn delete_chat(&self, chat: ChatId) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM chats WHERE id = $1")
            .bind(chat)
            .execute(&self.writer)
            .await?;
        self.caches.members.forget(&chat);
        self.caches.watermarks.clear();
        Ok(())
    }

    /// Chats of `user` whose own data or membership changed after `since`.
    pub async fn list_chats_changed_since(
        &self,
        user: UserId,
        since: Timestamp,
    ) -> Result<Vec<ChatId>, sqlx::Error> {
        sqlx::query_scalar(
            "SELECT c.id FROM chat_members m JOIN chats c ON c.id = m.chat_id \
             WHERE m.user_id = $1 AND (c.updated_at > $2 OR c.last_message_at > $2 \
               OR m.settings_updated_at > $2 OR m.joined_at > $2)",
        )
        .bind(user)
        .bind(since)
        .fetch_all(&self.reader)
        .await
    }
}

pub(super) async fn touch_chat(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    chat: ChatId,
    now: Timestamp,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE chats SET updated_at = $2 WHERE id = $1")
        .bind(chat)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
