//! Contacts (requests between two people) and blocks.

use sqlx::{AssertSqlSafe, FromRow};

use super::Store;
use super::users::{USER_COLUMNS, UserRow};
use crate::domain::{ContactId, Timestamp, UserId};

/// One row of `contacts`: `user_id` asked `contact_id`.
#[derive(Debug, Clone, FromRow)]
pub struct ContactRow {
    pub id: ContactId,
    pub user_id: UserId,
    pub contact_id: UserId,
    pub status: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A contact row together with the other person.
#[derive(Debug, Clone, FromRow)]
pub struct ContactWithUser {
    cid: ContactId,
    c_user_id: UserId,
    c_contact_id: UserId,
    c_status: String,
    c_created_at: Timestamp,
    c_updated_at: Timestamp,
    #[sqlx(flatten)]
    pub user: UserRow,
}

impl ContactWithUser {
    pub fn contact(&self) -> ContactRow {
        ContactRow {
            id: self.cid,
            user_id: self.c_user_id,
            contact_id: self.c_contact_id,
            status: self.c_status.clone(),
            created_at: self.c_created_at,
            updated_at: self.c_updated_at,
        }
    }
}

/// One of my blocks, with the blocked person.
#[derive(Debug, Clone, FromRow)]
pub struct BlockRow {
    pub blocked_at: Timestamp,
    #[sqlx(flatten)]
    pub user: UserRow,
}

const CONTACT_COLUMNS: &str = "c.id AS cid, c.user_id AS c_user_id, c.contact_id AS c_contact_id, \
    c.status AS c_status, c.created_at AS c_created_at, c.updated_at AS c_updated_at";

impl Store {
    pub async fn insert_contact(&self, row: &ContactRow) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO contacts (id, user_id, contact_id, status, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(row.id)
        .bind(row.user_id)
        .bind(row.contact_id)
        .bind(&row.status)
        .bind(row.created_at)
        .bind(row.updated_at)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    pub async fn fetch_contact(&self, id: ContactId) -> Result<Option<ContactRow>, sqlx::Error> {
        sqlx::query_as(
            "SELECT id, user_id, contact_id, status, created_at, updated_at FROM contacts WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.writer)
        .await
    }

    /// The contact row between two people, whichever of them asked.
    pub async fn fetch_contact_between(
        &self,
        a: UserId,
        b: UserId,
    ) -> Result<Option<ContactRow>, sqlx::Error> {
        sqlx::query_as(
            "SELECT id, user_id, contact_id, status, created_at, updated_at FROM contacts \
             WHERE (user_id = $1 AND contact_id = $2) OR (user_id = $2 AND contact_id = $1)",
        )
        .bind(a)
        .bind(b)
        .fetch_optional(&self.writer)
        .await
    }

    /// Contact rows of `user` with the given status, each with the other person.
    /// `direction`: `both`, `incoming` (others asked me) or `outgoing` (I asked).
    pub async fn list_contacts(
        &self,
        user: UserId,
        status: &str,
        direction: ContactDirection,
    ) -> Result<Vec<ContactWithUser>, sqlx::Error> {
        let filter = match direction {
            ContactDirection::Both => "(c.user_id = $1 OR c.contact_id = $1)",
            ContactDirection::Incoming => "c.contact_id = $1",
            ContactDirection::Outgoing => "c.user_id = $1",
        };
        sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {CONTACT_COLUMNS}, {USER_COLUMNS} FROM contacts c \
             JOIN users u ON u.id = CASE WHEN c.user_id = $1 THEN c.contact_id ELSE c.user_id END \
             WHERE {filter} AND c.status = $2 ORDER BY lower(u.display_name), u.id"
        )))
        .bind(user)
        .bind(status)
        .fetch_all(&self.reader)
        .await
    }

    pub async fn update_contact_status(
        &self,
        id: ContactId,
        status: &str,
        now: Timestamp,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE contacts SET status = $2, updated_at = $3 WHERE id = $1")
            .bind(id)
            .bind(status)
            .bind(now)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    pub async fn delete_contact(&self, id: ContactId) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM contacts WHERE id = $1")
            .bind(id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Blocks `blocked` for `blocker` and ends any contact or request between them, atomically.
    /// Returns false when the block already existed.
    pub async fn insert_block(
        &self,
        blocker: UserId,
        blocked: UserId,
        now: Timestamp,
    ) -> Result<bool, sqlx::Error> {
        let mut tx = self.writer.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
        )
        .bind(blocker)
        .bind(blocked)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        sqlx::query(
            "DELETE FROM contacts WHERE (user_id = $1 AND contact_id = $2) \
             OR (user_id = $2 AND contact_id = $1)",
        )
        .bind(blocker)
        .bind(blocked)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(inserted)
    }

    /// Returns false when there was no such block.
    pub async fn delete_block(
        &self,
        blocker: UserId,
        blocked: UserId,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("DELETE FROM blocks WHERE blocker_id = $1 AND blocked_id = $2")
            .bind(blocker)
            .bind(blocked)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn list_blocks(&self, blocker: UserId) -> Result<Vec<BlockRow>, sqlx::Error> {
        sqlx::query_as(AssertSqlSafe(format!(
            "SELECT b.created_at AS blocked_at, {USER_COLUMNS} FROM blocks b \
             JOIN users u ON u.id = b.blocked_id WHERE b.blocker_id = $1 ORDER BY b.created_at DESC"
        )))
        .bind(blocker)
        .fetch_all(&self.reader)
        .await
    }

    /// (a blocked b, b blocked a).
    pub async fn fetch_block_state(
        &self,
        a: UserId,
        b: UserId,
    ) -> Result<(bool, bool), sqlx::Error> {
        let rows: Vec<(UserId,)> = sqlx::query_as(
            "SELECT blocker_id FROM blocks WHERE (blocker_id = $1 AND blocked_id = $2) \
             OR (blocker_id = $2 AND blocked_id = $1)",
        )
        .bind(a)
        .bind(b)
        .fetch_all(&self.reader)
        .await?;
        Ok((
            rows.iter().any(|(blocker,)| *blocker == a),
            rows.iter().any(|(blocker,)| *blocker == b),
        ))
    }

    /// The people who may follow `user`'s presence: accepted contacts, minus blocks either way.
    pub async fn list_presence_audience(&self, user: UserId) -> Result<Vec<UserId>, sqlx::Error> {
        sqlx::query_scalar(
            "SELECT CASE WHEN c.user_id = $1 THEN c.contact_id ELSE c.user_id END AS other \
             FROM contacts c WHERE (c.user_id = $1 OR c.contact_id = $1) AND c.status = 'accepted' \
             AND NOT EXISTS (SELECT 1 FROM blocks b WHERE \
               (b.blocker_id = c.user_id AND b.blocked_id = c.contact_id) OR \
               (b.blocker_id = c.contact_id AND b.blocked_id = c.user_id))",
        )
        .bind(user)
        .fetch_all(&self.reader)
        .await
    }

    /// Accepted contacts and everyone sharing a chat with `user`, minus blocks either way: the
    /// people who may follow `user`'s presence.
    pub async fn list_presence_peers(&self, user: UserId) -> Result<Vec<UserId>, sqlx::Error> {
        sqlx::query_scalar(
            "SELECT other FROM ( \
               SELECT CASE WHEN c.user_id = $1 THEN c.contact_id ELSE c.user_id END AS other \
               FROM contacts c WHERE (c.user_id = $1 OR c.contact_id = $1) AND c.status = 'accepted' \
               UNION SELECT o.user_id AS other FROM chat_members m \
               JOIN chat_members o ON o.chat_id = m.chat_id AND o.user_id <> m.user_id \
               WHERE m.user_id = $1) peers \
             WHERE NOT EXISTS (SELECT 1 FROM blocks b WHERE \
               (b.blocker_id = $1 AND b.blocked_id = peers.other) OR \
               (b.blocker_id = peers.other AND b.blocked_id = $1))",
        )
        .bind(user)
        .fetch_all(&self.reader)
        .await
    }

    /// Everyone in a block with `user`, whichever side blocked.
    pub async fn list_block_partners(&self, user: UserId) -> Result<Vec<UserId>, sqlx::Error> {
        sqlx::query_scalar(
            "SELECT blocked_id FROM blocks WHERE blocker_id = $1 \
             UNION SELECT blocker_id FROM blocks WHERE blocked_id = $1",
        )
        .bind(user)
        .fetch_all(&self.reader)
        .await
    }

    /// Whether two people are accepted contacts.
    pub async fn are_contacts(&self, a: UserId, b: UserId) -> Result<bool, sqlx::Error> {
        Ok(self
            .fetch_contact_between(a, b)
            .await?
            .is_some_and(|c| c.status == "accepted"))
    }
}

/// Which contact rows of a person to list.
#[derive(Debug, Clone, Copy)]
pub enum ContactDirection {
    Both,
    Incoming,
    Outgoing,
}
