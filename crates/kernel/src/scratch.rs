//! Throwaway PostgreSQL databases for test suites: each one is named after the process that made
//! it (`peken_t_<pid>_<tag>_<random>`), dropped when its guard goes, and the first creation in a
//! process drops those left by test processes that are no longer running (a killed or aborted
//! run), so repeated runs do not fill the disk.

use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbErr, Statement};
use tokio::sync::OnceCell;

/// A database created for one test; dropped with this guard, unless the guard goes while its
/// thread panics (a failed test keeps its data for a look; the next run's sweep removes it).
#[derive(Debug)]
pub struct ScratchDatabase {
    /// The URL to connect to it.
    pub url: String,
    name: String,
    server_url: String,
}

impl ScratchDatabase {
    /// Creates a fresh database on the server of `server_url` (any database URL on it).
    ///
    /// # Errors
    /// When the server cannot be reached or refuses to create the database.
    pub async fn create(server_url: &str, tag: &str) -> Result<Self, DbErr> {
        static SWEPT: OnceCell<()> = OnceCell::const_new();
        let admin = Database::connect(server_url).await?;
        SWEPT.get_or_init(|| sweep(&admin)).await;
        let name = format!(
            "peken_t_{}_{tag}_{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        );
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await?;
        admin.close().await.ok();
        let (prefix, _) = server_url
            .rsplit_once('/')
            .ok_or_else(|| DbErr::Custom("the database URL has no path".into()))?;
        Ok(Self {
            url: format!("{prefix}/{name}"),
            name,
            server_url: server_url.to_owned(),
        })
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        // `Drop` cannot await and the test's runtime may be shutting down: a thread of its own
        // with a small runtime drops the database, ending connections still open to it.
        let server_url = std::mem::take(&mut self.server_url);
        let name = std::mem::take(&mut self.name);
        let dropping = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async {
                if let Ok(admin) = Database::connect(&server_url).await {
                    drop_database(&admin, &name).await;
                    admin.close().await.ok();
                }
            });
        });
        let _ = dropping.join();
    }
}

/// A connection for a store's own tests: to a scratch PostgreSQL database when
/// `PEKEN_TEST_DATABASE_URL` is set (dropped with the returned guard), else to in-memory SQLite
/// (no guard). The caller runs the migrations.
///
/// # Errors
/// When PostgreSQL is configured but cannot be reached.
pub async fn test_database(
    tag: &str,
    max_connections: u32,
) -> Result<(DatabaseConnection, Option<ScratchDatabase>), DbErr> {
    let scratch = match std::env::var("PEKEN_TEST_DATABASE_URL") {
        Ok(base) if !base.is_empty() => Some(ScratchDatabase::create(&base, tag).await?),
        _ => None,
    };
    let url = scratch
        .as_ref()
        .map_or_else(|| "sqlite::memory:".to_owned(), |s| s.url.clone());
    let db = crate::db::connect(&url, max_connections).await?;
    Ok((db, scratch))
}

async fn drop_database(admin: &DatabaseConnection, name: &str) {
    let _ = admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await;
}

/// Drops the scratch databases of processes that have gone.
async fn sweep(admin: &DatabaseConnection) {
    let Ok(rows) = admin
        .query_all_raw(Statement::from_string(
            admin.get_database_backend(),
            r"SELECT datname FROM pg_database WHERE datname LIKE 'peken\_t\_%'",
        ))
        .await
    else {
        return;
    };
    for row in rows {
        let Ok(name) = row.try_get::<String>("", "datname") else {
            continue;
        };
        if !owner_alive(&name) {
            drop_database(admin, &name).await;
        }
    }
}

/// Whether the process named in a scratch database's name is still running. Without `/proc`
/// (not Linux) every owner counts as alive: nothing is swept.
fn owner_alive(name: &str) -> bool {
    if !std::path::Path::new("/proc/self").exists() {
        return true;
    }
    name.strip_prefix("peken_t_")
        .and_then(|rest| rest.split_once('_'))
        .and_then(|(pid, _)| pid.parse::<u32>().ok())
        .is_some_and(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists())
}

#[cfg(test)]
mod tests {
    use super::owner_alive;

    #[test]
    fn only_databases_of_running_processes_are_kept() {
        let me = std::process::id();
        assert!(owner_alive(&format!("peken_t_{me}_api_0123")));
        assert!(!owner_alive("peken_t_4294967295_api_0123"));
        assert!(!owner_alive("peken_t_0abc_api"));
        assert!(!owner_alive("peken_t_"));
    }
}
