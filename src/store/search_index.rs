//! SQLite's full-text index, kept behind the writer.
//!
//! Tokenizing a message into FTS5 costs more than storing it (measured: a trigger-fed FTS5
//! index cut bulk inserts from 77,000 to 24,500 rows/s in memory). So storing a message only
//! notes its rowid in `search_pending` (migration 0005), and the group-commit task moves pending
//! messages into `messages_fts` in chunks: whenever it has nothing else queued, and before
//! answering a search, which therefore always sees every acknowledged message. The index also
//! holds each message's chat as one token, so a search narrows to the searcher's chats inside
//! FTS5 (see `Store::search_messages`); the view `messages_search_source` says what is indexed.
//! PostgreSQL needs none of this: its GIN index is maintained by the insert itself.

use sqlx::AnyPool;

/// Messages indexed per transaction: small enough that a send arriving meanwhile waits a few
/// milliseconds, large enough that the index costs few commits.
pub(super) const CHUNK: u64 = 512;

/// Indexes up to [`CHUNK`] pending messages in one transaction; returns how many it took.
pub(super) async fn index_chunk(pool: &AnyPool) -> Result<u64, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let bound: Option<i64> = sqlx::query_scalar(
        "SELECT max(message_rowid) FROM \
         (SELECT message_rowid FROM search_pending ORDER BY message_rowid LIMIT $1) AS chunk",
    )
    .bind(CHUNK as i64)
    .fetch_one(&mut *tx)
    .await?;
    let Some(bound) = bound else {
        return Ok(0);
    };
    sqlx::query(
        // CROSS JOIN keeps `search_pending` the outer loop: otherwise SQLite carries the bound
        // over to `messages` and walks every message from the first one.
        "INSERT INTO messages_fts (rowid, content, chat) \
         SELECT p.message_rowid, s.content, s.chat FROM search_pending p \
         CROSS JOIN messages_search_source s ON s.message_rowid = p.message_rowid \
         WHERE p.message_rowid <= $1",
    )
    .bind(bound)
    .execute(&mut *tx)
    .await?;
    let taken = sqlx::query("DELETE FROM search_pending WHERE message_rowid <= $1")
        .bind(bound)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    tx.commit().await?;
    Ok(taken)
}

/// Indexes everything pending.
pub(super) async fn index_all(pool: &AnyPool) -> Result<(), sqlx::Error> {
    while index_chunk(pool).await? == CHUNK {}
    Ok(())
}
