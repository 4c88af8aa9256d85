//! Members of chats: the rows of `chat_members`, with each member's role, read and delivery
//! watermarks, and own settings for the chat (mute, archive, pin, hidden). Every write that
//! changes who is in a chat forgets the chat in the members cache after it commits.

use sqlx::{AssertSqlSafe, FromRow};

use super::Store;
use super::chats::touch_chat;
use super::users::{USER_COLUMNS, UserRow};
use crate::domain::{ChatId, MemberId, Timestamp, UserId};

/// One row of `chat_members`.
#[derive(Debug, Clone, FromRow)]
pub struct MemberRow {
    pub id: MemberId,
    pub chat_id: ChatId,
    pub user_id: UserId,
    pub role: String,
    pub joined_at: Timestamp,
    pub last_read_at: Option<Timestamp>,
    pub last_delivered_at: Option<Timestamp>,
    pub muted: i64,
    pub muted_until: Option<Timestamp>,
    pub archived: i64,
    pub pinned: i64,
    pub hidden: i64,
    pub cleared_at: Option<Timestamp>,
}

/// A member with their user row.
#[derive(Debug, Clone)]
pub struct MemberWithUser {
    pub member: MemberRow,
    pub user: UserRow,
}

/// What a member's receipts say about the messages of a chat: since when they are a member,
/// how far their device received and they read, and whether they let others see that.
#[derive(Debug, Clone, FromRow)]
pub struct ReceiptMember {
    pub user_id: UserId,
    pub joined_at: Timestamp,
    pub last_read_at: Option<Timestamp>,
    pub last_delivered_at: Option<Timestamp>,
    pub read_receipts: i64,
}

/// Per-member settings to change; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct MemberSettingsUpdate {
    pub muted: Option<bool>,
    pub muted_until: Option<Option<Timestamp>>,
    pub archived: Option<bool>,
    pub pinned: Option<bool>,
}

const MEMBER_COLUMNS: &str = "m.id, m.chat_id, m.user_id, m.role, m.joined_at, m.last_read_at, \
    m.last_delivered_at, m.muted, m.muted_until, m.archived, m.pinned, m.hidden, m.cleared_at";

impl Store {
    /// Adds members that are not in the chat yet; returns the ones added.
    pub async fn insert_members(
        &self,
        chat: ChatId,
        users: &[UserId],
        now: Timestamp,
    ) -> Result<Vec<UserId>, sqlx::Error> {
        let mut tx = self.writer.begin().await?;
        let mut added = Vec::new();
        for user in users {
            let done = sqlx::query(
                "INSERT INTO chat_members (id, chat_id, user_id, role, joined_at, last_read_at, last_delivered_at) \
                 VALUES ($4, $1, $2, 'member', $3, $3, $3) ON CONFLICT DO NOTHING",
            )
            .bind(chat)
            .bind(*user)
            .bind(now)
            .bind(MemberId::new())
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() > 0 {
                added.push(*user);
            }
        }
        touch_chat(&mut tx, chat, now).await?;
        tx.commit().await?;
        self.caches.members.forget(&chat);
        self.caches.watermarks.clear();
        Ok(added)
    }

    /// The membership of `user` in `chat`, if any.
    pub async fn fetch_member(
        &self,
        chat: ChatId,
        user: UserId,
    ) -> Result<Option<MemberRow>, sqlx::Error> {
        sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {MEMBER_COLUMNS} FROM chat_members m WHERE m.chat_id = $1 AND m.user_id = $2"
        )))
        .bind(chat)
        .bind(user)
        .fetch_optional(&self.reader)
        .await
    }

    /// The receipts of every member of `chat`: the few columns a page of messages needs to
    /// say who received and read each one, instead of every member's and user's whole row.
    pub async fn list_receipt_members(
        &self,
        chat: ChatId,
    ) -> Result<Vec<ReceiptMember>, sqlx::Error> {
        sqlx::query_as(
            "SELECT m.user_id, m.joined_at, m.last_read_at, m.last_delivered_at, u.read_receipts \
             FROM chat_members m JOIN users u ON u.id = m.user_id WHERE m.chat_id = $1 \
             ORDER BY m.joined_at, m.user_id",
        )
        .bind(chat)
        .fetch_all(&self.reader)
        .await
    }

    /// Every member of `chat` with their user, oldest member first.
    pub async fn list_members(&self, chat: ChatId) -> Result<Vec<MemberWithUser>, sqlx::Error> {
        #[derive(FromRow)]
        struct Joined {
            #[sqlx(flatten)]
            member: MemberRowAliased,
            #[sqlx(flatten)]
            user: UserRow,
        }
        let rows: Vec<Joined> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {ALIASED_MEMBER_COLUMNS}, {USER_COLUMNS} FROM chat_members m \
             JOIN users u ON u.id = m.user_id WHERE m.chat_id = $1 ORDER BY m.joined_at, m.user_id"
        )))
        .bind(chat)
        .fetch_all(&self.reader)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| MemberWithUser {
                member: r.member.into(),
                user: r.user,
            })
            .collect())
    }

    /// Everyone who shares a chat with `user`.
    pub async fn list_chat_partners(&self, user: UserId) -> Result<Vec<UserId>, sqlx::Error> {
        sqlx::query_scalar(
            "SELECT DISTINCT o.user_id FROM chat_members m \
             JOIN chat_members o ON o.chat_id = m.chat_id AND o.user_id <> m.user_id \
             WHERE m.user_id = $1",
        )
        .bind(user)
        .fetch_all(&self.reader)
        .await
    }

    /// The chats `user` is a member of.
    pub async fn list_chat_ids_of(&self, user: UserId) -> Result<Vec<ChatId>, sqlx::Error> {
        sqlx::query_scalar("SELECT chat_id FROM chat_members WHERE user_id = $1")
            .bind(user)
            .fetch_all(&self.reader)
            .await
    }

    /// Counts the admins of a chat.
    pub async fn count_admins(&self, chat: ChatId) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar(
            "SELECT count(*) FROM chat_members WHERE chat_id = $1 AND role = 'admin'",
        )
        .bind(chat)
        .fetch_one(&self.reader)
        .await
    }

    pub async fn update_member_role(
        &self,
        chat: ChatId,
        user: UserId,
        role: &str,
    ) -> Result<bool, sqlx::Error> {
        let done =
            sqlx::query("UPDATE chat_members SET role = $3 WHERE chat_id = $1 AND user_id = $2")
                .bind(chat)
                .bind(user)
                .bind(role)
                .execute(&self.writer)
                .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn update_member_settings(
        &self,
        chat: ChatId,
        user: UserId,
        update: &MemberSettingsUpdate,
        now: Timestamp,
    ) -> Result<(), sqlx::Error> {
        let (until_set, until) = match update.muted_until {
            Some(value) => (1i64, value),
            None => (0, None),
        };
        sqlx::query(
            "UPDATE chat_members SET muted = COALESCE($3, muted), \
             muted_until = CASE WHEN $4 = 1 THEN $5 ELSE muted_until END, \
             archived = COALESCE($6, archived), pinned = COALESCE($7, pinned), \
             settings_updated_at = $8 WHERE chat_id = $1 AND user_id = $2",
        )
        .bind(chat)
        .bind(user)
        .bind(update.muted.map(i64::from))
        .bind(until_set)
        .bind(until)
        .bind(update.archived.map(i64::from))
        .bind(update.pinned.map(i64::from))
        .bind(now)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Shows a chat the member had hidden again (its cleared history stays cleared).
    pub async fn unhide_chat_for(
        &self,
        chat: ChatId,
        user: UserId,
        now: Timestamp,
    ) -> Result<(), sqlx::Error> {
        self.update_member_at(
            "UPDATE chat_members SET hidden = 0, settings_updated_at = $3 \
             WHERE chat_id = $1 AND user_id = $2 AND hidden = 1",
            chat,
            user,
            now,
        )
        .await
    }

    /// "Deletes" a one-on-one chat for one member: hidden, and its history cleared for them.
    pub async fn hide_chat_for(
        &self,
        chat: ChatId,
        user: UserId,
        now: Timestamp,
    ) -> Result<(), sqlx::Error> {
        self.update_member_at(
            "UPDATE chat_members SET hidden = 1, cleared_at = $3, last_read_at = $3, \
             settings_updated_at = $3 WHERE chat_id = $1 AND user_id = $2",
            chat,
            user,
            now,
        )
        .await
    }

    /// Runs one `UPDATE chat_members` of `($1 chat, $2 user, $3 now)`.
    async fn update_member_at(
        &self,
        sql: &'static str,
        chat: ChatId,
        user: UserId,
        now: Timestamp,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(sql)
            .bind(chat)
            .bind(user)
            .bind(now)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Removes a member. When no admin is left, the oldest remaining member becomes one; that
    /// member is returned. When nobody is left, the chat is deleted.
    pub async fn delete_member(
        &self,
        chat: ChatId,
        user: UserId,
        now: Timestamp,
    ) -> Result<Option<UserId>, sqlx::Error> {
        let mut tx = self.writer.begin().await?;
        sqlx::query("DELETE FROM chat_members WHERE chat_id = $1 AND user_id = $2")
            .bind(chat)
            .bind(user)
            .execute(&mut *tx)
            .await?;
        let admins: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM chat_members WHERE chat_id = $1 AND role = 'admin'",
        )
        .bind(chat)
        .fetch_one(&mut *tx)
        .await?;
        let mut promoted = None;
        if admins == 0 {
            promoted = sqlx::query_scalar(
                "SELECT user_id FROM chat_members WHERE chat_id = $1 ORDER BY joined_at, user_id LIMIT 1",
            )
            .bind(chat)
            .fetch_optional(&mut *tx)
            .await?;
            match promoted {
                Some(next) => {
                    sqlx::query(
                        "UPDATE chat_members SET role = 'admin' WHERE chat_id = $1 AND user_id = $2",
                    )
                    .bind(chat)
                    .bind(next)
                    .execute(&mut *tx)
                    .await?;
                }
                None => {
                    sqlx::query("DELETE FROM chats WHERE id = $1")
                        .bind(chat)
                        .execute(&mut *tx)
                        .await?;
                }
            }
        }
        touch_chat(&mut tx, chat, now).await?;
        tx.commit().await?;
        self.caches.members.forget(&chat);
        self.caches.watermarks.clear();
        Ok(promoted)
    }
}

/// The same columns as [`MEMBER_COLUMNS`], aliased so they can sit beside a chat's `id`.
pub(super) const ALIASED_MEMBER_COLUMNS: &str = "m.id AS m_id, m.chat_id AS m_chat_id, m.user_id AS m_user_id, \
    m.role AS m_role, m.joined_at AS m_joined_at, m.last_read_at AS m_last_read_at, \
    m.last_delivered_at AS m_last_delivered_at, m.muted AS m_muted, m.muted_until AS m_muted_until, \
    m.archived AS m_archived, m.pinned AS m_pinned, m.hidden AS m_hidden, m.cleared_at AS m_cleared_at";

#[derive(FromRow)]
pub(super) struct MemberRowAliased {
    m_id: MemberId,
    m_chat_id: ChatId,
    m_user_id: UserId,
    m_role: String,
    m_joined_at: Timestamp,
    m_last_read_at: Option<Timestamp>,
    m_last_delivered_at: Option<Timestamp>,
    m_muted: i64,
    m_muted_until: Option<Timestamp>,
    m_archived: i64,
    m_pinned: i64,
    m_hidden: i64,
    m_cleared_at: Option<Timestamp>,
}

impl From<MemberRowAliased> for MemberRow {
    fn from(m: MemberRowAliased) -> Self {
        MemberRow {
            id: m.m_id,
            chat_id: m.m_chat_id,
            user_id: m.m_user_id,
            role: m.m_role,
            joined_at: m.m_joined_at,
            last_read_at: m.m_last_read_at,
            last_delivered_at: m.m_last_delivered_at,
            muted: m.m_muted,
            muted_until: m.m_muted_until,
            archived: m.m_archived,
            pinned: m.m_pinned,
            hidden: m.m_hidden,
            cleared_at: m.m_cleared_at,
        }
    }
}

pub(super) async fn insert_member(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    chat: ChatId,
    user: UserId,
    role: &str,
    now: Timestamp,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO chat_members (id, chat_id, user_id, role, joined_at, last_read_at, last_delivered_at) \
         VALUES ($5, $1, $2, $3, $4, $4, $4)",
    )
    .bind(chat)
    .bind(user)
    .bind(role)
    .bind(now)
    .bind(MemberId::new())
    .execute(&mut **tx)
    .await?;
    Ok(())
}
