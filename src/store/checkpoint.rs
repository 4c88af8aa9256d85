//! SQLite: copying the write-ahead log back into the database file, off the commit path.
//!
//! By default the connection whose commit makes the log reach 1,000 pages copies the log into
//! the database and flushes it before that commit returns: every few hundred commits one batch
//! of senders waits for a checkpoint as well as for its own flush. The writer therefore never
//! checkpoints (`wal_autocheckpoint = 0`); this task asks a reading connection for a `PASSIVE`
//! checkpoint a few times a second instead, which runs beside the writer and waits for nobody.
//! A checkpoint only copies what is already durable in the log, so a crash at any point loses
//! nothing; the log restarts from its beginning once a checkpoint has copied all of it.

use std::sync::Weak;
use std::time::Duration;

use sqlx::AnyPool;

/// How often the log is copied back. The log holds at most what the writer writes meanwhile.
const EVERY: Duration = Duration::from_millis(250);

/// Checkpoints on `pool` until the pool closes or `alive` (held by every `Store`) is dropped.
pub(super) fn spawn(pool: AnyPool, alive: Weak<()>) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + EVERY, EVERY);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if pool.is_closed() || alive.upgrade().is_none() {
                break;
            }
            if let Err(err) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(&pool)
                .await
            {
                tracing::warn!(%err, "checkpointing the write-ahead log failed");
            }
        }
    });
}
