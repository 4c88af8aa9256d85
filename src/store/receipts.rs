//! Receipt watermarks: per member and chat, "delivered up to" and "read up to" a point in the
//! chat's history, and the record of each advance (which says who received or read what, when).
//!
//! Advances come from every recipient of every message, so they go through the group commit:
//! a batch reads the watermarks it touches once, moves them in one update, records the advances
//! in one insert, and finds whom to tell in one query.

use std::collections::HashMap;

use sqlx::{Any, AssertSqlSafe, FromRow, Transaction};

use super::group_commit::Write;
use super::write_batch::WriteBatch;
use super::{Backend, BatchParams, Store, distinct};
use crate::domain::{ChatId, Timestamp, UserId};

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

/// A request to move `user`'s watermark of `kind` in `chat` forward to `up_to`.
#[derive(Debug, Clone, Copy)]
pub struct Advance {
    pub chat: ChatId,
    pub user: UserId,
    pub kind: ReceiptKind,
    pub up_to: Timestamp,
    pub now: Timestamp,
}

/// A recorded advance, to insert.
pub(super) struct Mark {
    pub chat: ChatId,
    pub user: UserId,
    pub kind: ReceiptKind,
    pub up_to: Timestamp,
    pub at: Timestamp,
}

/// A member's two watermarks during a batch; -1 stands for "never".
#[derive(Clone, Copy)]
struct Marks {
    delivered: i64,
    read: i64,
    changed: bool,
}

impl Store {
    /// Moves a watermark forward (never back) and records the advance. Returns where it was,
    /// or `None` when it did not move (already there, or not a member). Moving the read
    /// watermark moves delivery too.
    pub async fn advance_watermark(
        &self,
        advance: Advance,
    ) -> Result<Option<Timestamp>, sqlx::Error> {
        let key = (advance.chat, advance.user);
        let up_to = advance.up_to.millis();
        let floor = self.caches.watermarks.get(&key).unwrap_or((-1, -1));
        let covered = match advance.kind {
            ReceiptKind::Delivered => floor.0 >= up_to,
            ReceiptKind::Read => floor.1 >= up_to,
        };
        if covered {
            return Ok(None);
        }
        let generation = self.caches.watermarks.generation();
        let kind = advance.kind;
        let moved = self
            .group_commit
            .submit(|reply| Write::Watermark(advance, reply))
            .await?;
        // Moved or not, the watermark is at `up_to` or beyond now. (For someone who is not a
        // member the floor is moot: joining clears it.)
        let floor = match kind {
            ReceiptKind::Delivered => (floor.0.max(up_to), floor.1),
            ReceiptKind::Read => (floor.0.max(up_to), floor.1.max(up_to)),
        };
        self.caches.watermarks.put(generation, key, floor);
        Ok(moved)
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

    /// Who sent messages in `chat` created in `(after, up_to]`, other than `except`: the people
    /// a receipt for that range concerns. A range of more than [`SENDERS_SCAN`] messages (a
    /// member back after a long time) is answered with every other member instead of reading
    /// it all: a receipt that concerns none of one's messages changes nothing for its reader.
    pub async fn list_senders_between(
        &self,
        chat: ChatId,
        after: Timestamp,
        up_to: Timestamp,
        except: UserId,
    ) -> Result<Vec<UserId>, sqlx::Error> {
        let remembered = self
            .caches
            .recent
            .senders_between(chat, after.millis(), up_to.millis());
        if let Some(senders) = remembered {
            return Ok(senders.into_iter().filter(|s| *s != except).collect());
        }
        let newest: Vec<UserId> = sqlx::query_scalar(
            "SELECT sender_id FROM messages WHERE chat_id = $1 AND created_at > $2 \
             AND created_at <= $3 ORDER BY created_at DESC LIMIT $4",
        )
        .bind(chat)
        .bind(after)
        .bind(up_to)
        .bind(SENDERS_SCAN)
        .fetch_all(&self.reader)
        .await?;
        let senders = if newest.len() as i64 >= SENDERS_SCAN {
            self.list_member_ids(chat).await?
        } else {
            distinct(newest.into_iter())
        };
        Ok(senders.into_iter().filter(|s| *s != except).collect())
    }
}

/// The most messages [`Store::list_senders_between`] reads.
const SENDERS_SCAN: i64 = 100;

/// Applies the advances of a batch in order; answers for each.
pub(super) async fn advance_watermarks(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    batch: &[&Advance],
) -> Result<Vec<Option<Timestamp>>, sqlx::Error> {
    if batch.is_empty() {
        return Ok(Vec::new());
    }
    let mut current = read_marks(tx, backend, batch).await?;
    let mut marks = Vec::new();
    let mut moved: Vec<Option<Timestamp>> = Vec::with_capacity(batch.len());
    for advance in batch {
        let Some(state) = current.get_mut(&(advance.chat, advance.user)) else {
            moved.push(None);
            continue;
        };
        let up_to = advance.up_to.millis();
        let watermark = match advance.kind {
            ReceiptKind::Delivered => &mut state.delivered,
            ReceiptKind::Read => &mut state.read,
        };
        if *watermark >= up_to {
            moved.push(None);
            continue;
        }
        moved.push(Some(Timestamp::from_millis(*watermark)));
        *watermark = up_to;
        state.changed = true;
        marks.push(mark(advance, advance.kind));
        if advance.kind == ReceiptKind::Read {
            // Whatever is read has been delivered.
            state.delivered = state.delivered.max(up_to);
            marks.push(mark(advance, ReceiptKind::Delivered));
        }
    }
    current.retain(|_, s| s.changed);
    let changed: Vec<(&(ChatId, UserId), &Marks)> = current.iter().collect();
    let mut writes = WriteBatch::new(backend);
    write_marks(&mut writes, BatchParams(backend), &changed);
    insert_marks(&mut writes, BatchParams(backend), &marks);
    writes.execute(tx).await?;
    Ok(moved)
}

fn mark(advance: &Advance, kind: ReceiptKind) -> Mark {
    Mark {
        chat: advance.chat,
        user: advance.user,
        kind,
        up_to: advance.up_to,
        at: advance.now,
    }
}

/// The watermarks a batch touches (locked on PostgreSQL); a pair without a row is no member.
async fn read_marks(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    batch: &[&Advance],
) -> Result<HashMap<(ChatId, UserId), Marks>, sqlx::Error> {
    let pairs = distinct(batch.iter().map(|a| (a.chat, a.user)));
    let lock = match backend {
        Backend::Sqlite => "",
        Backend::Postgres => " ORDER BY m.chat_id, m.user_id FOR UPDATE OF m",
    };
    let mut found = HashMap::new();
    let params = BatchParams(backend);
    for chunk in params.chunks(&pairs, 2) {
        let sql = format!(
            "SELECT m.chat_id, m.user_id, COALESCE(m.last_delivered_at, -1), \
             COALESCE(m.last_read_at, -1) FROM (VALUES {}) AS v \
             JOIN chat_members m ON m.chat_id = v.column1 AND m.user_id = v.column2{lock}",
            params.values(chunk.len(), 2)
        );
        let mut query = sqlx::query_as::<_, (ChatId, UserId, i64, i64)>(AssertSqlSafe(sql));
        for (chat, user) in chunk {
            query = query.bind(*chat).bind(*user);
        }
        for (chat, user, delivered, read) in query.fetch_all(&mut **tx).await? {
            let marks = Marks {
                delivered,
                read,
                changed: false,
            };
            found.insert((chat, user), marks);
        }
    }
    Ok(found)
}

/// Writes the moved watermarks; the `CASE`s keep them from moving back should another node
/// have moved them further meanwhile.
fn write_marks<'a>(
    writes: &mut WriteBatch<'a>,
    params: BatchParams,
    changed: &'a [(&(ChatId, UserId), &Marks)],
) {
    let sql = |values: &str| {
        format!(
            "UPDATE chat_members SET \
             last_delivered_at = CASE WHEN COALESCE(last_delivered_at, -1) < v.column3 \
               THEN v.column3 ELSE last_delivered_at END, \
             last_read_at = CASE WHEN COALESCE(last_read_at, -1) < v.column4 \
               THEN v.column4 ELSE last_read_at END \
             FROM (VALUES {values}) AS v \
             WHERE chat_members.chat_id = v.column1 AND chat_members.user_id = v.column2"
        )
    };
    writes.push_rows(params, changed, 4, sql, |query, ((chat, user), marks)| {
        query
            .bind(*chat)
            .bind(*user)
            .bind(marks.delivered)
            .bind(marks.read)
    });
}

/// Records advances (the history behind `GET /api/messages/:id/receipts`).
pub(super) fn insert_marks<'a>(
    writes: &mut WriteBatch<'a>,
    params: BatchParams,
    marks: &'a [Mark],
) {
    let sql = |values: &str| {
        format!(
            "INSERT INTO receipt_marks (chat_id, user_id, kind, up_to, marked_at) VALUES {values}"
        )
    };
    writes.push_rows(params, marks, 5, sql, |query, mark| {
        query
            .bind(mark.chat)
            .bind(mark.user)
            .bind(mark.kind.as_str())
            .bind(mark.up_to)
            .bind(mark.at)
    });
}
