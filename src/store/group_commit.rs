//! Group commit: the writes every chat does all the time share one transaction and one fsync.
//!
//! Storing a message and moving a receipt watermark happen for every message and every
//! recipient. As separate transactions, each one waits for the disk (`synchronous=FULL` on
//! SQLite, `synchronous_commit=on` on PostgreSQL), so the server could do no more of them per
//! second than the disk does flushes. Here a caller queues its write and waits; one task takes
//! everything queued (up to [`MAX_BATCH`]), applies it in one transaction, commits, and only
//! then answers each caller, so an answer still means committed. Batches form by themselves:
//! while one commits, the next gathers. No timer delays a lone write.
//!
//! On SQLite the same task keeps the full-text index (see [`super::search_index`]): it indexes
//! new messages when nothing else is queued, and all of them when a search asks.
//!
//! When a batch fails as a whole (a constraint, a PostgreSQL deadlock with another node), its
//! writes are retried one per transaction, so one bad write fails alone.

use std::time::Duration;

use sqlx::AnyPool;
use tokio::sync::{mpsc, oneshot};

use super::message_writes::{InsertOutcome, NewMessage, insert_messages};
use super::receipts::{Advance, advance_watermarks};
use super::{Backend, search_index};
use crate::domain::Timestamp;

/// The most writes one transaction takes. Below saturation batches stay far smaller (whatever
/// queued during the previous commit); the cap only matters when sends arrive faster than
/// commits of the cap's size finish, and then a commit's fixed cost (its round trips, `fsync`,
/// the pages it shares between messages) is spread over more messages. At 256 the SQLite server
/// saturated at 10,900-18,700 durable sends/s, at 1,024 at 13,800-19,800/s, better in each of
/// five alternated pairs (docs/BENCHMARKS.md, session 11).
pub(super) const MAX_BATCH: usize = 1024;

/// How many writes may wait before callers wait to queue.
const QUEUE: usize = 8 * MAX_BATCH;

type Reply<T> = oneshot::Sender<Result<T, sqlx::Error>>;

/// One queued write and where its answer goes.
pub(super) enum Write {
    Message(NewMessage, Reply<InsertOutcome>),
    Watermark(Advance, Reply<Option<Timestamp>>),
    /// Index every stored message for search, then answer.
    CatchUpSearch(Reply<()>),
    /// Messages may wait for the search index (after a start): index them when idle.
    LookForUnindexed,
}

/// The handle callers queue on; the task ends when every handle is gone.
#[derive(Clone)]
pub(super) struct GroupCommit {
    queue: mpsc::Sender<Write>,
}

impl GroupCommit {
    pub(super) fn start(pool: AnyPool, backend: Backend) -> GroupCommit {
        let (queue, writes) = mpsc::channel(QUEUE);
        tokio::spawn(run(pool, backend, writes));
        GroupCommit { queue }
    }

    /// Tells the task that messages may be waiting for the search index (a crash or a migration
    /// can leave some), once the schema is in place.
    pub(super) async fn look_for_unindexed(&self) {
        let _ = self.queue.send(Write::LookForUnindexed).await;
    }

    /// Queues a write made by `make` and waits for its committed result.
    pub(super) async fn submit<T>(
        &self,
        make: impl FnOnce(Reply<T>) -> Write,
    ) -> Result<T, sqlx::Error> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(make(reply))
            .await
            .map_err(|_| sqlx::Error::PoolClosed)?;
        answer.await.map_err(|_| sqlx::Error::PoolClosed)?
    }
}

async fn run(pool: AnyPool, backend: Backend, mut writes: mpsc::Receiver<Write>) {
    let mut batch = Vec::new();
    // Messages stored but not yet searchable (SQLite only); see `Write::LookForUnindexed`.
    let mut unindexed = 0;
    loop {
        let received = if unindexed == 0 {
            writes.recv_many(&mut batch, MAX_BATCH).await
        } else if unindexed >= search_index::CHUNK && writes.is_empty() {
            unindexed = index_some(&pool, unindexed).await;
            continue;
        } else {
            // A few waiting messages are indexed once sends pause, so that under load the
            // index is written a chunk (one commit) at a time.
            match tokio::time::timeout(INDEX_AFTER_PAUSE, writes.recv_many(&mut batch, MAX_BATCH))
                .await
            {
                Ok(received) => received,
                Err(_) => {
                    unindexed = index_some(&pool, unindexed).await;
                    continue;
                }
            }
        };
        if received == 0 {
            break;
        }
        // A new vector per batch, grown to what arrived: most batches are a few writes.
        let taken = std::mem::take(&mut batch);
        let Split {
            messages,
            advances,
            searches,
            look,
        } = split(taken);
        if look && backend == Backend::Sqlite {
            unindexed = unindexed.max(1);
        }
        let count = messages.len() + advances.len();
        if count > 0 {
            // Writes per commit = the second counter over the first.
            metrics::counter!("db_group_commits_total").increment(1);
            metrics::counter!("db_group_commit_writes_total").increment(count as u64);
            if backend == Backend::Sqlite {
                unindexed += messages.len() as u64;
            }
            apply(&pool, backend, messages, advances).await;
        }
        if !searches.is_empty() && catch_up_search(&pool, backend, searches).await {
            unindexed = 0;
        }
    }
}

/// Indexes every waiting message, then answers the searches that asked; whether it worked.
async fn catch_up_search(pool: &AnyPool, backend: Backend, searches: Vec<Reply<()>>) -> bool {
    let result = match backend {
        Backend::Sqlite => search_index::index_all(pool).await,
        Backend::Postgres => Ok(()),
    };
    for reply in searches {
        let _ = reply.send(result.as_ref().map(|_| ()).map_err(copy_error));
    }
    result.is_ok()
}

/// How long sends must pause before fewer than a chunk of messages are indexed.
const INDEX_AFTER_PAUSE: Duration = Duration::from_millis(50);

/// Indexes one chunk; returns how many messages may still wait.
async fn index_some(pool: &AnyPool, unindexed: u64) -> u64 {
    match search_index::index_chunk(pool).await {
        Ok(taken) if taken == search_index::CHUNK => unindexed.saturating_sub(taken).max(1),
        Ok(_) => 0,
        Err(err) => {
            // Sends must not wait on a failing index; the next search retries (and reports) it.
            tracing::warn!(%err, "indexing new messages for search failed");
            0
        }
    }
}

/// sqlx errors are not `Clone`; every waiting search gets the same failure as a protocol error.
fn copy_error(err: &sqlx::Error) -> sqlx::Error {
    sqlx::Error::Protocol(format!("indexing for search failed: {err}"))
}

/// Applies a batch, or each of its writes alone if the batch fails.
async fn apply(
    pool: &AnyPool,
    backend: Backend,
    messages: Queued<NewMessage, InsertOutcome>,
    advances: Queued<Advance, Option<Timestamp>>,
) {
    let new: Vec<&NewMessage> = messages.iter().map(|(m, _)| m).collect();
    let wanted: Vec<&Advance> = advances.iter().map(|(a, _)| a).collect();
    let attempt = transaction(pool, backend, &new, &wanted).await;
    match attempt {
        Ok((inserted, advanced)) => {
            answer(messages, inserted);
            answer(advances, advanced);
        }
        Err(err) if new.len() + wanted.len() == 1 => {
            if let Some((_, reply)) = messages.into_iter().next() {
                let _ = reply.send(Err(err));
            } else if let Some((_, reply)) = advances.into_iter().next() {
                let _ = reply.send(Err(err));
            }
        }
        Err(err) => {
            tracing::warn!(%err, "a group commit failed; retrying its writes one by one");
            for (message, reply) in messages {
                let result = transaction(pool, backend, &[&message], &[])
                    .await
                    .map(|(mut inserted, _)| inserted.remove(0));
                let _ = reply.send(result);
            }
            for (advance, reply) in advances {
                let result = transaction(pool, backend, &[], &[&advance])
                    .await
                    .map(|(_, mut advanced)| advanced.remove(0));
                let _ = reply.send(result);
            }
        }
    }
}

type Queued<W, T> = Vec<(W, Reply<T>)>;

/// A batch sorted by kind.
struct Split {
    messages: Queued<NewMessage, InsertOutcome>,
    advances: Queued<Advance, Option<Timestamp>>,
    searches: Vec<Reply<()>>,
    look: bool,
}

fn split(writes: Vec<Write>) -> Split {
    let mut split = Split {
        messages: Vec::new(),
        advances: Vec::new(),
        searches: Vec::new(),
        look: false,
    };
    for write in writes {
        match write {
            Write::Message(new, reply) => split.messages.push((new, reply)),
            Write::Watermark(advance, reply) => split.advances.push((advance, reply)),
            Write::CatchUpSearch(reply) => split.searches.push(reply),
            Write::LookForUnindexed => split.look = true,
        }
    }
    split
}

/// One transaction: the messages first, then the watermarks. Answers in the order given.
async fn transaction(
    pool: &AnyPool,
    backend: Backend,
    messages: &[&NewMessage],
    advances: &[&Advance],
) -> Result<(Vec<InsertOutcome>, Vec<Option<Timestamp>>), sqlx::Error> {
    let mut tx = pool.begin().await?;
    let inserted = insert_messages(&mut tx, backend, messages).await?;
    let advanced = advance_watermarks(&mut tx, backend, advances).await?;
    tx.commit().await?;
    Ok((inserted, advanced))
}

fn answer<W, T>(queued: Queued<W, T>, results: Vec<T>) {
    for ((_, reply), result) in queued.into_iter().zip(results) {
        // The caller may have gone (its connection closed); the write is committed anyway.
        let _ = reply.send(Ok(result));
    }
}
