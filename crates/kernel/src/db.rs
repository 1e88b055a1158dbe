//! Database connection and small helpers every store uses.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr};

/// A new id: a UUIDv7, so ids sort by creation time and index well.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// SQL statements sent by this process's connections, transactions included (`BEGIN` and
/// `COMMIT` are not statements here); `/metrics` shows it as `peken_db_statements_total`.
static STATEMENTS: AtomicU64 = AtomicU64::new(0);

/// The number of SQL statements this process has sent so far.
pub fn statements() -> u64 {
    STATEMENTS.load(Ordering::Relaxed)
}

/// Connects with pool settings suited to the backend. SQLite gets one connection: it has one
/// writer anyway, and a single connection turns lock contention into queueing instead of
/// `database is locked` errors. Every statement counts in [`statements`].
pub async fn connect(url: &str, max_connections: u32) -> Result<DatabaseConnection, DbErr> {
    let sqlite = url.starts_with("sqlite:");
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(if sqlite { 1 } else { max_connections })
        .min_connections(if sqlite { 1 } else { 2 })
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(if sqlite { 30 } else { 5 }))
        .sqlx_logging(false);
    let mut db = Database::connect(options).await?;
    db.set_metric_callback(|_| {
        STATEMENTS.fetch_add(1, Ordering::Relaxed);
    });
    if db.get_database_backend() == DbBackend::Sqlite {
        db.execute_unprepared(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
        )
        .await?;
    }
    Ok(db)
}

/// Connects to a read replica without waiting for it: a replica that is down when the process
/// starts is probed again later, and meanwhile reads go to the primary. Its pool gives up on a
/// connection sooner than the primary's, so a read waits little before the primary answers it.
pub async fn connect_replica(url: &str, max_connections: u32) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(max_connections)
        .min_connections(0)
        .connect_timeout(Duration::from_secs(2))
        .acquire_timeout(Duration::from_secs(2))
        .sqlx_logging(false)
        .connect_lazy(true);
    let mut db = Database::connect(options).await?;
    db.set_metric_callback(|_| {
        STATEMENTS.fetch_add(1, Ordering::Relaxed);
    });
    Ok(db)
}

/// Whether the database answers a trivial query now.
pub async fn ping(db: &DatabaseConnection) -> bool {
    tokio::time::timeout(Duration::from_secs(2), db.execute_unprepared("SELECT 1"))
        .await
        .is_ok_and(|r| r.is_ok())
}
