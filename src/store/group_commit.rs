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
//! When a batch fails as a whole (a constraint, a PostgreSQL deadlock with another node), its
//! writes are retried one per transaction, so one bad write fails alone.

use sqlx::AnyPool;
use tokio::sync::{mpsc, oneshot};

use super::Backend;
use super::message_writes::{InsertOutcome, NewMessage, insert_messages};
use super::receipts::{Advance, advance_watermarks};
use crate::domain::Timestamp;

/// The most writes one transaction takes.
pub(super) const MAX_BATCH: usize = 256;

/// How many writes may wait before callers wait to queue.
const QUEUE: usize = 8 * MAX_BATCH;

type Reply<T> = oneshot::Sender<Result<T, sqlx::Error>>;

/// One queued write and where its answer goes.
pub(super) enum Write {
    Message(NewMessage, Reply<InsertOutcome>),
    Watermark(Advance, Reply<Option<Timestamp>>),
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
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while writes.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let taken = std::mem::replace(&mut batch, Vec::with_capacity(MAX_BATCH));
        // Writes per commit = the second counter over the first.
        metrics::counter!("db_group_commits_total").increment(1);
        metrics::counter!("db_group_commit_writes_total").increment(taken.len() as u64);
        apply(&pool, backend, taken).await;
    }
}

/// Applies a batch, or each of its writes alone if the batch fails.
async fn apply(pool: &AnyPool, backend: Backend, writes: Vec<Write>) {
    let (messages, advances) = split(writes);
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

fn split(
    writes: Vec<Write>,
) -> (
    Queued<NewMessage, InsertOutcome>,
    Queued<Advance, Option<Timestamp>>,
) {
    let mut messages = Vec::new();
    let mut advances = Vec::new();
    for write in writes {
        match write {
            Write::Message(new, reply) => messages.push((new, reply)),
            Write::Watermark(advance, reply) => advances.push((advance, reply)),
        }
    }
    (messages, advances)
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
