//! Database connection and small helpers every store uses.

use std::time::Duration;

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr};

/// A new id: a UUIDv7, so ids sort by creation time and index well.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Connects with pool settings suited to the backend. SQLite gets one connection: it has one
/// writer anyway, and a single connection turns lock contention into queueing instead of
/// `database is locked` errors. [`count_statements`] counts what it sends.
pub async fn connect(url: &str, max_connections: u32) -> Result<DatabaseConnection, DbErr> {
    let sqlite = url.starts_with("sqlite:");
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(if sqlite { 1 } else { max_connections })
        .min_connections(if sqlite { 1 } else { 2 })
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(if sqlite { 30 } else { 5 }))
        .sqlx_logging(false);
    let db = Database::connect(options).await?;
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
    Database::connect(options).await
}

/// Counts every SQL statement `db`'s connections send, transactions' included (`BEGIN` and
/// `COMMIT` are not statements here), in `counter`: a server's `peken_db_statements_total`.
/// The count is the server's own, not the process's, so that a test can count what one request
/// costs while other servers run in the same process.
pub fn count_statements(db: &mut DatabaseConnection, counter: prometheus::IntCounter) {
    db.set_metric_callback(move |_| counter.inc());
}

/// Whether the database answers a trivial query now.
pub async fn ping(db: &DatabaseConnection) -> bool {
    tokio::time::timeout(Duration::from_secs(2), db.execute_unprepared("SELECT 1"))
        .await
        .is_ok_and(|r| r.is_ok())
}
