//! `payout-bench [merchants] [orders]`: a month for the whole city, then the payout batch build,
//! its approval, and the import and matching of the bank statement, each timed.
//!
//! With `PEKEN_BENCH_DATABASE_URL=postgres://user@host:port/db` it creates a fresh database next
//! to `db`, runs there and drops it afterwards (unless `PEKEN_BENCH_KEEP=1`); without, it uses a
//! temporary SQLite file.

mod city;

use anyhow::Context;
use peken_migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, Database};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let merchants: usize = args.next().map_or(Ok(5_000), |a| a.parse())?;
    let orders: usize = args.next().map_or(Ok(300_000), |a| a.parse())?;
    let name = format!("peken_bench_{}", uuid::Uuid::new_v4().simple());
    let base = std::env::var("PEKEN_BENCH_DATABASE_URL").ok();
    let url = match &base {
        Some(base) => {
            let admin = Database::connect(base).await.context("connect")?;
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await?;
            admin.close().await?;
            let (prefix, _) = base.rsplit_once('/').context("a database URL has a path")?;
            format!("{prefix}/{name}")
        }
        None => format!(
            "sqlite://{}/{name}.db?mode=rwc",
            std::env::temp_dir().display()
        ),
    };
    if std::env::var("PEKEN_BENCH_TRACE").is_ok_and(|v| v == "1") {
        // The payout code logs the time of each phase at debug level.
        peken_kernel::telemetry::init(
            "warn,peken_payout=debug",
            peken_kernel::settings::LogFormat::Text,
            std::io::stderr,
        );
    }
    let db = peken_kernel::db::connect(&url, 10).await?;
    Migrator::up(&db, None).await?;
    let report = city::run(&db, merchants, orders).await;
    db.close().await?;
    let keep = std::env::var("PEKEN_BENCH_KEEP").is_ok_and(|v| v == "1");
    if keep {
        println!("kept the database at {url}");
    } else if let Some(base) = &base {
        let admin = Database::connect(base).await?;
        admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await
            .ok();
    } else {
        std::fs::remove_file(std::env::temp_dir().join(format!("{name}.db"))).ok();
    }
    println!("{}", report?);
    Ok(())
}
