//! The writes of a group commit that need no answer, sent to the database together.
//!
//! On SQLite every statement is a round trip to the connection's own thread: the tokio task
//! hands it over, that thread wakes, runs it and wakes the task again, and with the server on
//! one core each hand-over waits behind whatever else is runnable (a `BEGIN` took 0.9 ms at the
//! median at 5,000 sends/s; docs/BENCHMARKS.md, session 7). So the inserts and updates of a batch
//! go as one multi-statement text: sqlx-sqlite runs its statements in order and hands each the
//! next of the anonymous `?` parameters ([`super::BatchParams`]), so one bind list serves them
//! all. PostgreSQL cannot prepare several statements at once; there they run one by one, as
//! before.
//!
//! The price: the joined text differs with the shape of each batch (how many messages, chats,
//! marks), so sqlx's cache of prepared statements (100 per connection) finds it less often than
//! it found each statement alone, and a miss parses the whole text again. The round trips saved
//! outweighed that in session 7's runs; joining the batch's reads as well did not.

use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, AssertSqlSafe, Transaction};

use super::{Backend, BatchParams};

/// A statement being bound.
pub(super) type Bound = Query<'static, Any, AnyArguments>;

type Binder<'a> = Box<dyn FnOnce(Bound) -> Bound + Send + 'a>;

/// Statements to run in order, with what binds their parameters.
pub(super) struct WriteBatch<'a> {
    backend: Backend,
    statements: Vec<(String, Binder<'a>)>,
}

impl<'a> WriteBatch<'a> {
    pub(super) fn new(backend: Backend) -> WriteBatch<'a> {
        WriteBatch {
            backend,
            statements: Vec::new(),
        }
    }

    /// Queues `sql`; `bind` binds its parameters, in order.
    fn push(&mut self, sql: String, bind: impl FnOnce(Bound) -> Bound + Send + 'a) {
        self.statements.push((sql, Box::new(bind)));
    }

    /// Queues one multi-row statement per slice of `rows` ([`BatchParams::chunks`]): `sql`
    /// gets the slice's placeholders (`(?, ?), (?, ?)`), `bind` binds one row's `columns`.
    pub(super) fn push_rows<T: Sync>(
        &mut self,
        params: BatchParams,
        rows: &'a [T],
        columns: usize,
        sql: impl Fn(&str) -> String,
        bind: impl Fn(Bound, &'a T) -> Bound + Copy + Send + 'a,
    ) {
        for chunk in params.chunks(rows, columns) {
            let text = sql(&params.values(chunk.len(), columns));
            self.push(text, move |query| chunk.iter().fold(query, bind));
        }
    }

    /// Runs every queued statement inside `tx`.
    pub(super) async fn execute(
        self,
        tx: &mut Transaction<'static, Any>,
    ) -> Result<(), sqlx::Error> {
        if self.statements.is_empty() {
            return Ok(());
        }
        match self.backend {
            Backend::Sqlite => {
                let (texts, binders): (Vec<String>, Vec<Binder>) =
                    self.statements.into_iter().unzip();
                let mut query = sqlx::query(AssertSqlSafe(texts.join(";\n")));
                for bind in binders {
                    query = bind(query);
                }
                query.execute(&mut **tx).await?;
            }
            Backend::Postgres => {
                for (sql, bind) in self.statements {
                    bind(sqlx::query(AssertSqlSafe(sql)))
                        .execute(&mut **tx)
                        .await?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-connection pool (each connection to `sqlite::memory:` has a database of its own)
    /// holding `table`.
    async fn pool_with(table: &str) -> sqlx::AnyPool {
        sqlx::any::install_default_drivers();
        let pool = sqlx::any::AnyPoolOptions::new()
            .max_connections(1)
            .connect("sqlite::memory:")
            .await
            .expect("in-memory SQLite");
        sqlx::query(AssertSqlSafe(table.to_owned()))
            .execute(&pool)
            .await
            .expect("table");
        pool
    }

    /// On SQLite the statements go as one text; each must get its own parameters, in order.
    #[tokio::test]
    async fn one_text_runs_every_statement_with_its_own_parameters_in_order() {
        let pool = pool_with("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)").await;
        let mut tx = pool.begin().await.expect("begin");
        let mut writes = WriteBatch::new(Backend::Sqlite);
        writes.push("INSERT INTO t (k, v) VALUES (?, ?), (?, ?)".into(), |q| {
            q.bind("a").bind(1_i64).bind("b").bind(2_i64)
        });
        writes.push("UPDATE t SET v = v + ? WHERE k = ?".into(), |q| {
            q.bind(10_i64).bind("b")
        });
        writes.push("INSERT INTO t (k, v) VALUES (?, ?)".into(), |q| {
            q.bind("c").bind(3_i64)
        });
        writes.execute(&mut tx).await.expect("one round trip");
        tx.commit().await.expect("commit");
        let rows: Vec<(String, i64)> = sqlx::query_as("SELECT k, v FROM t ORDER BY k")
            .fetch_all(&pool)
            .await
            .expect("rows");
        let expected = [("a", 1), ("b", 12), ("c", 3)].map(|(k, v)| (k.to_owned(), v));
        assert_eq!(rows, expected);
    }

    /// A failing statement fails the whole call, so the group commit retries its writes alone.
    #[tokio::test]
    async fn a_failing_statement_fails_the_call() {
        let pool = pool_with("CREATE TABLE t (k TEXT PRIMARY KEY)").await;
        let mut tx = pool.begin().await.expect("begin");
        let mut writes = WriteBatch::new(Backend::Sqlite);
        writes.push("INSERT INTO t (k) VALUES (?)".into(), |q| q.bind("a"));
        writes.push("INSERT INTO t (k) VALUES (?)".into(), |q| q.bind("a"));
        let err = writes.execute(&mut tx).await.expect_err("a duplicate key");
        assert!(err.to_string().contains("UNIQUE"), "{err}");
    }
}
