//! Storing sent messages, many at a time (one group commit, see [`super::group_commit`]).
//!
//! Messages of a chat are ordered by `(created_at, id)`. `created_at` comes from the chat's own
//! clock (`chats.last_message_at`), advanced inside the inserting transaction: the chat rows are
//! read under the writer's lock (SQLite has one writer; PostgreSQL takes `FOR UPDATE`), so commit
//! order and `created_at` order agree and a reader paging through history never sees a message
//! appear behind its cursor. Within a batch, messages of one chat keep their queue order.
//!
//! Whatever the batch size, the work is a fixed number of statements: one read of the chats'
//! clocks, one of the senders' memberships, one multi-row insert, and one update each for the
//! clocks, the un-hiding and the senders' watermarks. The writes go to SQLite as one round trip
//! ([`super::write_batch`]).

use std::collections::{HashMap, HashSet};

use sqlx::{Any, AssertSqlSafe, Transaction};

use super::messages::MessageRow;
use super::receipts::{Mark, ReceiptKind, insert_marks};
use super::write_batch::WriteBatch;
use super::{Backend, BatchParams, distinct};
use crate::domain::{ChatId, MessageId, Timestamp, UserId};

/// What sending stores; `created_at` is decided by the chat's clock.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub id: MessageId,
    pub chat_id: ChatId,
    pub sender_id: UserId,
    pub client_id: Option<String>,
    pub content: String,
    pub kind: String,
    pub file_id: Option<String>,
    pub reply_to_id: Option<MessageId>,
    pub forwarded: bool,
    pub now: Timestamp,
}

/// What became of one message of a batch.
#[derive(Debug)]
pub enum InsertOutcome {
    /// Stored. Sending reads everything before one's own message: when that covered messages
    /// of others, `read_since` is where the sender's read watermark was (`None`: nothing new).
    Inserted {
        row: Box<MessageRow>,
        read_since: Option<Timestamp>,
        /// When the message before it in its chat was stored (or the chat created).
        previous_at: Timestamp,
    },
    /// The sender already stored a message under this `clientId`.
    DuplicateClientId,
    /// The chat is gone or the sender is no longer a member.
    NotMember,
}

/// The state of one chat while its messages of the batch get their times.
struct ChatClock {
    before: Timestamp,
    now: Timestamp,
}

/// Stores the messages in one transaction and answers for each, in order.
pub(super) async fn insert_messages(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    batch: &[&NewMessage],
) -> Result<Vec<InsertOutcome>, sqlx::Error> {
    if batch.is_empty() {
        return Ok(Vec::new());
    }
    let params = BatchParams(backend);
    let taken = existing_client_ids(tx, params, batch).await?;
    let chats: Vec<ChatId> = distinct(batch.iter().map(|m| m.chat_id));
    let mut clocks = read_clocks(tx, backend, &chats).await?;
    let pairs: Vec<(ChatId, UserId)> = distinct(batch.iter().map(|m| (m.chat_id, m.sender_id)));
    let mut reads = read_watermarks(tx, params, &pairs).await?;
    let mut seen: HashSet<(UserId, &str)> = HashSet::new();
    let mut outcomes = Vec::with_capacity(batch.len());
    let mut marks = Vec::new();
    for new in batch {
        if let Some(client_id) = new.client_id.as_deref()
            && (taken.contains(&(new.sender_id, client_id.to_owned()))
                || !seen.insert((new.sender_id, client_id)))
        {
            outcomes.push(InsertOutcome::DuplicateClientId);
            continue;
        }
        let (Some(clock), Some(read)) = (
            clocks.get_mut(&new.chat_id),
            reads.get_mut(&(new.chat_id, new.sender_id)),
        ) else {
            outcomes.push(InsertOutcome::NotMember);
            continue;
        };
        let previous_clock = clock.now;
        let created_at = if previous_clock >= new.now {
            Timestamp::from_millis(previous_clock.millis() + 1)
        } else {
            new.now
        };
        clock.now = created_at;
        let previous_read = read.replace(created_at);
        let read_since = previous_read.is_none_or(|r| r < previous_clock);
        if read_since {
            // The sender had unread messages; sending reads them, and receipts say when.
            for kind in [ReceiptKind::Read, ReceiptKind::Delivered] {
                marks.push(Mark {
                    chat: new.chat_id,
                    user: new.sender_id,
                    kind,
                    up_to: created_at,
                    at: new.now,
                });
            }
        }
        outcomes.push(InsertOutcome::Inserted {
            row: Box::new(row_of(new, created_at)),
            read_since: read_since.then(|| previous_read.unwrap_or(Timestamp::from_millis(-1))),
            previous_at: previous_clock,
        });
    }
    let rows: Vec<&MessageRow> = outcomes
        .iter()
        .filter_map(|o| match o {
            InsertOutcome::Inserted { row, .. } => Some(&**row),
            _ => None,
        })
        .collect();
    if rows.is_empty() {
        return Ok(outcomes);
    }
    clocks.retain(|_, c| c.now != c.before);
    let clocks: Vec<(ChatId, Timestamp)> = clocks.iter().map(|(c, k)| (*c, k.now)).collect();
    let moved: Vec<(ChatId, UserId, Timestamp)> = rows
        .iter()
        .map(|r| (r.chat_id, r.sender_id))
        .collect::<HashSet<_>>()
        .into_iter()
        .filter_map(|(c, u)| reads.get(&(c, u)).copied().flatten().map(|at| (c, u, at)))
        .collect();
    // One round trip on SQLite (see `WriteBatch`), in this order.
    let mut writes = WriteBatch::new(backend);
    insert_rows(&mut writes, params, &rows);
    write_clocks(&mut writes, params, &clocks);
    write_sender_watermarks(&mut writes, params, &moved);
    insert_marks(&mut writes, params, &marks);
    writes.execute(tx).await?;
    Ok(outcomes)
}

fn row_of(new: &NewMessage, created_at: Timestamp) -> MessageRow {
    MessageRow {
        id: new.id,
        chat_id: new.chat_id,
        sender_id: new.sender_id,
        client_id: new.client_id.clone(),
        content: new.content.clone(),
        kind: new.kind.clone(),
        file_id: new.file_id.clone(),
        reply_to_id: new.reply_to_id,
        forwarded: i64::from(new.forwarded),
        edited_at: None,
        deleted_at: None,
        created_at,
        updated_at: created_at,
    }
}

/// `(sender, clientId)` pairs of the batch that are already stored.
async fn existing_client_ids(
    tx: &mut Transaction<'static, Any>,
    params: BatchParams,
    batch: &[&NewMessage],
) -> Result<HashSet<(UserId, String)>, sqlx::Error> {
    let wanted: Vec<(UserId, &str)> = batch
        .iter()
        .filter_map(|m| m.client_id.as_deref().map(|c| (m.sender_id, c)))
        .collect();
    let mut taken = HashSet::new();
    for chunk in params.chunks(&wanted, 2) {
        let sql = format!(
            "SELECT m.sender_id, m.client_id FROM (VALUES {}) AS v \
             JOIN messages m ON m.sender_id = v.column1 AND m.client_id = v.column2",
            params.values(chunk.len(), 2)
        );
        let mut query = sqlx::query_as::<_, (UserId, String)>(AssertSqlSafe(sql));
        for (sender, client_id) in chunk {
            query = query.bind(*sender).bind(*client_id);
        }
        taken.extend(query.fetch_all(&mut **tx).await?);
    }
    Ok(taken)
}

/// The chats' clocks, locked against other writers until the commit.
async fn read_clocks(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    chats: &[ChatId],
) -> Result<HashMap<ChatId, ChatClock>, sqlx::Error> {
    let lock = match backend {
        Backend::Sqlite => "",
        Backend::Postgres => " FOR UPDATE",
    };
    let mut clocks = HashMap::new();
    // `chats` is sorted, so PostgreSQL takes the row locks in one order on every node.
    let params = BatchParams(backend);
    for chunk in params.chunks(chats, 1) {
        let sql = format!(
            "SELECT id, last_message_at FROM chats WHERE id IN ({}) ORDER BY id{lock}",
            params.list(chunk.len())
        );
        let mut query = sqlx::query_as::<_, (ChatId, Timestamp)>(AssertSqlSafe(sql));
        for chat in chunk {
            query = query.bind(*chat);
        }
        for (id, at) in query.fetch_all(&mut **tx).await? {
            clocks.insert(
                id,
                ChatClock {
                    before: at,
                    now: at,
                },
            );
        }
    }
    Ok(clocks)
}

/// The senders' read watermarks in these chats; a pair without a row is not a member.
async fn read_watermarks(
    tx: &mut Transaction<'static, Any>,
    params: BatchParams,
    pairs: &[(ChatId, UserId)],
) -> Result<HashMap<(ChatId, UserId), Option<Timestamp>>, sqlx::Error> {
    let mut found = HashMap::new();
    for chunk in params.chunks(pairs, 2) {
        let sql = format!(
            "SELECT m.chat_id, m.user_id, m.last_read_at FROM (VALUES {}) AS v \
             JOIN chat_members m ON m.chat_id = v.column1 AND m.user_id = v.column2",
            params.values(chunk.len(), 2)
        );
        let mut query =
            sqlx::query_as::<_, (ChatId, UserId, Option<Timestamp>)>(AssertSqlSafe(sql));
        for (chat, user) in chunk {
            query = query.bind(*chat).bind(*user);
        }
        let rows = query.fetch_all(&mut **tx).await?;
        found.extend(rows.into_iter().map(|(c, u, at)| ((c, u), at)));
    }
    Ok(found)
}

fn insert_rows<'a>(writes: &mut WriteBatch<'a>, params: BatchParams, rows: &'a [&MessageRow]) {
    let sql = |values: &str| {
        format!(
            "INSERT INTO messages (id, chat_id, sender_id, client_id, content, type, file_id, \
             reply_to_id, forwarded, created_at, updated_at) VALUES {values}"
        )
    };
    writes.push_rows(params, rows, 11, sql, |query, row| {
        query
            .bind(row.id)
            .bind(row.chat_id)
            .bind(row.sender_id)
            .bind(row.client_id.clone())
            .bind(row.content.clone())
            .bind(row.kind.clone())
            .bind(row.file_id.clone())
            .bind(row.reply_to_id)
            .bind(row.forwarded)
            .bind(row.created_at)
            .bind(row.updated_at)
    });
}

/// Moves the chats' clocks and shows the chats again to members who had deleted them.
fn write_clocks<'a>(
    writes: &mut WriteBatch<'a>,
    params: BatchParams,
    clocks: &'a [(ChatId, Timestamp)],
) {
    for (table, set, filter) in [
        (
            "chats",
            "last_message_at = v.column2",
            "chats.id = v.column1",
        ),
        (
            "chat_members",
            "hidden = 0, settings_updated_at = v.column2",
            "chat_members.chat_id = v.column1 AND chat_members.hidden = 1",
        ),
    ] {
        let sql = |values: &str| {
            format!("UPDATE {table} SET {set} FROM (VALUES {values}) AS v WHERE {filter}")
        };
        writes.push_rows(params, clocks, 2, sql, |query, (chat, at)| {
            query.bind(*chat).bind(*at)
        });
    }
}

/// Sending reads and delivers everything up to one's own message.
fn write_sender_watermarks<'a>(
    writes: &mut WriteBatch<'a>,
    params: BatchParams,
    moved: &'a [(ChatId, UserId, Timestamp)],
) {
    let sql = |values: &str| {
        format!(
            "UPDATE chat_members SET last_read_at = v.column3, last_delivered_at = v.column3 \
             FROM (VALUES {values}) AS v \
             WHERE chat_members.chat_id = v.column1 AND chat_members.user_id = v.column2"
        )
    };
    writes.push_rows(params, moved, 3, sql, |query, (chat, user, at)| {
        query.bind(*chat).bind(*user).bind(*at)
    });
}
