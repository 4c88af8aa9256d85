//! A small migrator over the embedded migration folders.
//!
//! Each backend has its own folder with the same numbers and names. A migration runs inside a
//! transaction together with the row that records it, so a crash never leaves one half-applied.

use sqlx::AnyPool;

use super::Backend;

struct Migration {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

macro_rules! migration {
    ($version:literal, $name:literal) => {
        Migration {
            version: $version,
            name: $name,
            sqlite: include_str!(concat!("../../migrations/sqlite/", $name, ".sql")),
            postgres: include_str!(concat!("../../migrations/postgres/", $name, ".sql")),
        }
    };
}

const MIGRATIONS: &[Migration] = &[
    migration!(1, "0001_accounts"),
    migration!(2, "0002_chats"),
    migration!(3, "0003_contact_pairs_and_folded_names"),
    migration!(4, "0004_files"),
    migration!(5, "0005_search_behind_the_writer"),
    migration!(6, "0006_changed_messages_index"),
    migration!(7, "0007_files_index_only_files"),
];

pub(super) async fn run(pool: &AnyPool, backend: Backend) -> anyhow::Result<()> {
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS schema_migrations (\
         version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
    )
    .execute(pool)
    .await?;
    let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM schema_migrations")
        .fetch_all(pool)
        .await?;
    for migration in MIGRATIONS {
        if applied.contains(&migration.version) {
            continue;
        }
        let sql = match backend {
            Backend::Sqlite => migration.sqlite,
            Backend::Postgres => migration.postgres,
        };
        let mut tx = pool.begin().await?;
        sqlx::raw_sql(sql).execute(&mut *tx).await?;
        sqlx::query(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
        )
        .bind(migration.version)
        .bind(migration.name)
        .bind(crate::domain::Timestamp::now())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        tracing::info!(migration = migration.name, "applied migration");
    }
    Ok(())
}
