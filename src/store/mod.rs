//! The only place with SQL. One concrete [`Store`] over SQLite or PostgreSQL.
//!
//! Both backends run the same SQL text through sqlx's `Any` driver: ids are text, times are
//! integer milliseconds and flags are 0/1 integers, so rows decode the same way everywhere. The
//! few statements that differ (full-text search) branch on [`Backend`]. Each aggregate has its
//! own file with verbs in CRUD order (`insert_`, `fetch_`, `list_`, `update_`, `delete_`).
//!
//! SQLite allows one writer at a time; rather than letting connections race for the lock (and
//! fail with `SQLITE_BUSY` when a read transaction upgrades), writes go through a one-connection
//! pool. On PostgreSQL the writer is the same pool as the readers.

mod cache;
mod chats;
mod contacts;
mod files;
mod group_commit;
mod members;
mod message_writes;
mod messages;
mod migrate;
mod reactions;
mod receipts;
mod search_index;
mod sessions;
mod users;
mod write_batch;

pub use chats::{ChatMembers, ChatRow, NewChat};
pub use contacts::{BlockRow, ContactDirection, ContactRow, ContactWithUser};
pub use files::FileRow;
pub use members::{MemberRow, MemberSettingsUpdate, MemberWithUser, ReceiptMember};
pub use message_writes::{InsertOutcome, NewMessage};
pub use messages::{HistoryKey, MessageRow};
pub use reactions::ReactionRow;
pub use receipts::{Advance, ReceiptKind, ReceiptMark};
pub use sessions::{RefreshOutcome, SessionRow};
pub use users::{NewUser, ProfileUpdate, SettingsUpdate, UserRow};

use std::time::Duration;

use anyhow::Context;
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Executor};

/// Which database is underneath.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    reader: AnyPool,
    writer: AnyPool,
    backend: Backend,
    group_commit: group_commit::GroupCommit,
    caches: std::sync::Arc<cache::Caches>,
}

impl Store {
    /// Connects to `url` (`sqlite://…` or `postgres://…`) without migrating.
    pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<Store> {
        install_default_drivers();
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            anyhow::bail!("database.url must start with sqlite: or postgres://");
        };
        if backend == Backend::Sqlite {
            create_sqlite_parent_dir(url)?;
        }
        let reader = pool_options(backend, max_connections.max(1), READER_CACHE_KIB)
            .connect(url)
            .await
            .context("connecting to the database")?;
        let writer = match backend {
            Backend::Sqlite => {
                pool_options(backend, 1, WRITER_CACHE_KIB)
                    .connect(url)
                    .await?
            }
            Backend::Postgres => reader.clone(),
        };
        let group_commit = group_commit::GroupCommit::start(writer.clone(), backend);
        Ok(Store {
            reader,
            writer,
            backend,
            group_commit,
            caches: std::sync::Arc::new(cache::Caches::new()),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Applies every migration not yet applied.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        migrate::run(&self.writer, self.backend).await?;
        self.group_commit.look_for_unindexed().await;
        Ok(())
    }

    /// Cheap round trip used by `/health`.
    pub async fn ping(&self) -> anyhow::Result<()> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
    }

    /// (open connections, idle connections) of the reading pool, for `/metrics`.
    pub fn pool_stats(&self) -> (u32, usize) {
        (self.reader.size(), self.reader.num_idle())
    }

    /// Runs a `SELECT count(*) …` written by a test; never called by the server itself.
    #[doc(hidden)]
    pub async fn debug_count(&self, sql: &str) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
            .fetch_one(&self.reader)
            .await
    }

    /// Runs one statement written by a test (e.g. to age a token); never called by the server.
    #[doc(hidden)]
    pub async fn debug_execute(&self, sql: &str) -> Result<u64, sqlx::Error> {
        let done = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(&self.writer)
            .await?;
        // The test changed rows behind the store's back.
        self.caches.clear();
        Ok(done.rows_affected())
    }

    pub async fn close(&self) {
        self.writer.close().await;
        self.reader.close().await;
    }
}

/// SQLite page cache of each reading connection and of the writer. The writer's is larger: it
/// touches the newest pages of every index of every busy chat on each commit. A reader's cache
/// lives only until the next write (WAL mode drops it then), so it need only hold one query's
/// pages; the operating system's page cache holds the rest. (At 8 MiB each, the eight readers
/// filled 62 MiB while 19,500 sockets connected: 3.2 KiB per connection in `idle`.)
const READER_CACHE_KIB: u32 = 2 * 1024;
const WRITER_CACHE_KIB: u32 = 32 * 1024;

fn pool_options(backend: Backend, max: u32, cache_kib: u32) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .max_connections(max)
        // A broken connection fails its query and is replaced; pinging before every query
        // would double the round trips of the hottest paths.
        .test_before_acquire(false)
        .acquire_timeout(Duration::from_secs(10))
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                if backend == Backend::Sqlite {
                    // temp_store: statement journals (multi-row inserts with triggers) stay in
                    // memory instead of a temporary file. No memory map (mmap_size = 0): in WAL
                    // mode a connection that finds the database changed since its last read
                    // drops its page cache and unmaps its whole map, then faults every page back
                    // in; with a receipt written after nearly every read, that was 18% of the
                    // server's time in munmap and 29% in page faults in the full-scale `history`
                    // benchmark. `pread` is cheaper (docs/BENCHMARKS.md, session 4).
                    let pragmas = format!(
                        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                         PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; \
                         PRAGMA temp_store = MEMORY; PRAGMA cache_size = -{cache_kib}; \
                         PRAGMA mmap_size = 0;"
                    );
                    conn.execute(sqlx::AssertSqlSafe(pragmas)).await?;
                }
                Ok(())
            })
        })
}

fn create_sqlite_parent_dir(url: &str) -> anyhow::Result<()> {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .split('?')
        .next()
        .unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    if let Some(parent) = std::path::Path::new(path).parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    Ok(())
}

/// Parameters of the multi-row statements the group commit writes, which may hold a whole
/// batch. SQLite looks up a named parameter (`$N`) by walking all of them, so binding n of them
/// costs n² (at 200 parameters that was 14% of the server in a profile), but binds anonymous `?`
/// parameters by position; PostgreSQL only knows `$N`, and reads them in linear time. So these
/// statements use `?` on SQLite and must not mix in any other parameter.
///
/// Statements are cut into power-of-two lengths (13 rows: 8, 4, 1): every length is a different
/// statement text, and prepared statements are cached per text, so few lengths keep the cache
/// useful instead of parsing each batch's statements anew.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BatchParams(pub(crate) Backend);

impl BatchParams {
    /// The most parameters one such statement binds. On SQLite, 256 messages (rows of 11) in
    /// one statement, far below its limit of 32,766; a full group commit is four. On
    /// PostgreSQL, statements of 16 such rows: whole-batch statements made the server there
    /// fall from 5,000 to under 3,000 durable sends/s (the 256-row insert took 49 ms on
    /// average; docs/BENCHMARKS.md, session 6).
    fn max(self) -> usize {
        match self.0 {
            Backend::Sqlite => 4096,
            Backend::Postgres => 200,
        }
    }

    /// Slices of `items` for one statement each, of at most [`Self::max`] parameters.
    pub(crate) fn chunks<T>(self, items: &[T], columns: usize) -> impl Iterator<Item = &[T]> {
        chunks_of(items, prev_power_of_two((self.max() / columns).max(1)))
    }

    /// `rows` tuples of `columns` parameters: `(?, ?), (?, ?)` or `($1, $2), ($3, $4)`.
    pub(crate) fn values(self, rows: usize, columns: usize) -> String {
        match self.0 {
            Backend::Sqlite => {
                let row = format!("({})", vec!["?"; columns].join(", "));
                vec![row; rows].join(", ")
            }
            Backend::Postgres => values(rows, columns),
        }
    }

    /// `count` parameters in a list: `?, ?` or `$1, $2`.
    pub(crate) fn list(self, count: usize) -> String {
        match self.0 {
            Backend::Sqlite => vec!["?"; count].join(", "),
            Backend::Postgres => placeholders(1, count),
        }
    }
}

/// `$first, $first+1, …` for `count` values.
pub(crate) fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Power-of-two-long slices of `items`, each at most `cap` (a power of two) long.
fn chunks_of<T>(items: &[T], cap: usize) -> impl Iterator<Item = &[T]> {
    let mut rest = items;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let (chunk, tail) = rest.split_at(prev_power_of_two(rest.len()).min(cap));
        rest = tail;
        Some(chunk)
    })
}

/// The largest power of two not above `n` (n ≥ 1).
fn prev_power_of_two(n: usize) -> usize {
    1 << (usize::BITS - 1 - n.leading_zeros())
}

/// `($1, $2), ($3, $4), …`: `rows` tuples of `columns` parameters, for multi-row statements.
pub(crate) fn values(rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|row| format!("({})", placeholders(row * columns + 1, columns)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The items sorted, without repeats.
pub(crate) fn distinct<T: Ord + Copy>(items: impl Iterator<Item = T>) -> Vec<T> {
    let mut all: Vec<T> = items.collect();
    all.sort();
    all.dedup();
    all
}

/// Escapes `%`, `_` and `\` for use inside a `LIKE … ESCAPE '\'` pattern.
pub(crate) fn like_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Whether an error is a unique-constraint violation, so callers can answer 409.
pub(crate) fn is_unique_violation(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => {
            db.is_unique_violation() || db.message().contains("UNIQUE constraint failed")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_powers_of_two_within_the_cap() {
        let items: Vec<u32> = (0..13).collect();
        let lengths: Vec<usize> = chunks_of(&items, 16).map(<[u32]>::len).collect();
        assert_eq!(lengths, vec![8, 4, 1]);
        let many: Vec<u32> = (0..300).collect();
        let lengths: Vec<usize> = chunks_of(&many, 16).map(<[u32]>::len).collect();
        assert!(lengths.iter().all(|n| n.is_power_of_two() && *n <= 16));
        assert_eq!(lengths.iter().sum::<usize>(), 300);
        assert_eq!(chunks_of(&[] as &[u32], 4).count(), 0);
    }

    #[test]
    fn batch_statements_take_256_messages_on_sqlite_with_positional_parameters() {
        let batch: Vec<u32> = (0..256).collect();
        let lengths = |backend| {
            BatchParams(backend)
                .chunks(&batch, 11)
                .map(<[u32]>::len)
                .collect::<Vec<usize>>()
        };
        assert_eq!(lengths(Backend::Sqlite), vec![256]);
        assert_eq!(lengths(Backend::Postgres), vec![16; 16]);
        assert_eq!(
            BatchParams(Backend::Sqlite).values(2, 3),
            "(?, ?, ?), (?, ?, ?)"
        );
        assert_eq!(
            BatchParams(Backend::Postgres).values(2, 2),
            "($1, $2), ($3, $4)"
        );
        assert_eq!(BatchParams(Backend::Sqlite).list(3), "?, ?, ?");
        assert_eq!(BatchParams(Backend::Postgres).list(2), "$1, $2");
    }
}
