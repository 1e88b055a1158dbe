//! `peken-bench seed`: a whole city and a history of completed orders, written in bulk.
//!
//! Deterministic from the seed (ids, names, numbers, carts and times, relative to the month the
//! command runs in). The history covers the WIB months before the current one, so the month-end
//! scenario finds a complete month to pay out and report on. The server's posting functions work
//! one transaction at a time; here journal rows are written directly, balanced per transaction,
//! and the account balances are set to the sums of their entries at the end, which the final
//! check verifies.

pub mod city;
pub mod data;
mod history;
mod ids;
mod journal;
mod people;
pub mod sink;
mod tables;

use std::time::Instant;

use anyhow::Context;
use chrono::{Duration, Utc};
use peken_kernel::auth::PasswordHasherConfig;
use peken_kernel::period::Period;
use peken_kernel::policy::Policies;
use peken_ledger::{Account, TxnKind};
use peken_migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, DatabaseConnection};

use crate::checks;
use crate::rng::Rng;
use city::Scale;
use history::{Generator, Rates, Totals};
use sink::Sink;

/// Orders per month of history: the default history is one month of this.
pub const ORDERS_PER_MONTH: u64 = 300_000;

#[derive(Debug, Clone)]
pub struct SeedArgs {
    pub scale: Scale,
    pub orders: u64,
    /// Months of history; by default enough months for [`ORDERS_PER_MONTH`] each.
    pub months: Option<u32>,
    pub seed: u64,
    pub database_url: String,
    /// Units left on each hot listing for the checkout benchmark.
    pub hot_stock: i64,
}

pub async fn run(args: &SeedArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let db = peken_kernel::db::connect(&args.database_url, 4)
        .await
        .context("connecting to the database")?;
    Migrator::up(&db, None).await.context("migrations")?;
    let existing = checks::count(&db, "SELECT COUNT(*) FROM users").await?;
    anyhow::ensure!(
        existing == 0,
        "the database already has {existing} users; seed a fresh database"
    );

    let now = Utc::now();
    let months = args
        .months
        .unwrap_or_else(|| args.orders.div_ceil(ORDERS_PER_MONTH).max(1) as u32)
        .max(1);
    let until = Period::of(now).start_utc();
    let mut first = Period::of(now);
    for _ in 0..months {
        first = first.prev();
    }
    let since = first.start_utc();
    let memory = std::env::var("PEKEN_PASSWORD_HASH_MEMORY_KIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(19_456);
    // One hash for every account: hashing 25,000 passwords would take minutes of CPU.
    let hash = PasswordHasherConfig::new(memory)
        .hash(city::PASSWORD)
        .await
        .map_err(|e| anyhow::anyhow!("hashing the password: {e:?}"))?;
    let policies = Policies::default();
    let rates = Rates {
        fee_bps: policies.platform_fee_bps,
        tax_bps: policies.tax_bps(),
    };
    let rng = Rng::new(args.seed);
    let mut sink = Sink::new(db.clone(), &args.database_url, &tables::all()).await?;
    let mut city = city::build(&db, &mut sink, args.scale, &rng, &hash, since).await?;
    sink.flush().await?;
    eprintln!(
        "city: {} merchants, {} listings, {} buyers ({:.1} s)",
        city.merchants.len(),
        city.listings.len(),
        city.buyers.len(),
        started.elapsed().as_secs_f64()
    );

    eprintln!(
        "history: {} orders from {} to {} ({months} month(s))",
        args.orders,
        first,
        Period::of(until - Duration::seconds(1))
    );
    let mut generator = Generator::new(&mut sink, &mut city, &rng, rates);
    generator.run(args.orders, since, until).await?;
    let hot = hot_listings(generator.city);
    for l in &hot {
        let listing = &generator.city.listings[*l];
        let delta = args.hot_stock - listing.stock;
        if delta == 0 {
            continue;
        }
        let id = listing.id.clone();
        generator.city.listings[*l].stock = args.hot_stock;
        generator
            .movement(
                &id,
                "adjustment",
                delta,
                delta.abs(),
                args.hot_stock,
                None,
                Some("stok opname"),
                None,
                now,
            )
            .await?;
    }
    let totals = std::mem::take(&mut generator.totals);
    finish(&db, &mut sink, &city, totals).await?;
    print_summary(&db, &sink, started).await
}

/// The listings of the hot commodity that the checkout benchmark rushes: the first
/// [`checks::HOT_LISTINGS`] by id.
fn hot_listings(city: &city::City) -> Vec<usize> {
    let hot = data::COMMODITIES
        .iter()
        .position(|c| c.name == data::HOT_COMMODITY)
        .unwrap_or(0);
    let mut found: Vec<usize> = (0..city.listings.len())
        .filter(|l| city.listings[*l].commodity == hot)
        .collect();
    found.sort_by(|a, b| city.listings[*a].id.cmp(&city.listings[*b].id));
    found.truncate(checks::HOT_LISTINGS);
    found
}

/// Writes the running totals: month-to-date turnover, yearly turnover, ASN spend, final stock
/// and account balances, and the programme's monthly summaries; then refreshes the planner's
/// statistics.
async fn finish(
    db: &DatabaseConnection,
    sink: &mut Sink,
    city: &city::City,
    totals: Totals,
) -> anyhow::Result<()> {
    let mut turnover: Vec<_> = totals.turnover.into_iter().collect();
    turnover.sort_by_key(|((m, p), _)| (*m, *p));
    for ((m, period), (gross, count)) in turnover {
        let period = period.to_string();
        sink.row(
            &tables::MERCHANT_TURNOVER,
            &[
                (&city.merchants[m].id).into(),
                (&period).into(),
                gross.into(),
                count.into(),
            ],
        )
        .await?;
    }
    let mut years: Vec<_> = totals.years.into_iter().collect();
    years.sort_unstable();
    for ((m, year), amount) in years {
        sink.row(
            &tables::TURNOVER_YEARS,
            &[(&city.merchants[m].id).into(), year.into(), amount.into()],
        )
        .await?;
    }
    let mut movements = totals.movements;
    movements.sort_unstable();
    let mut seqs: Vec<(String, i64)> = Vec::new();
    let mut last: Option<(usize, i64)> = None;
    for (m, at, txn_id, amount) in &movements {
        let seq = match last {
            Some((prev, n)) if prev == *m => n + 1,
            _ => 1,
        };
        if seq == 1
            && let Some((prev, n)) = last
        {
            seqs.push((
                Account::MerchantPayable(city.merchants[prev].id.clone()).code(),
                n,
            ));
        }
        last = Some((*m, seq));
        sink.row(
            &tables::PAYABLE_MOVEMENTS,
            &[
                txn_id.into(),
                (&city.merchants[*m].id).into(),
                seq.into(),
                TxnKind::OrderCompleted.as_str().into(),
                (*amount).into(),
                (*at).into(),
                (*at).into(),
            ],
        )
        .await?;
    }
    if let Some((prev, n)) = last {
        seqs.push((
            Account::MerchantPayable(city.merchants[prev].id.clone()).code(),
            n,
        ));
    }
    drop(movements);
    let mut spend: Vec<_> = totals.spend.into_iter().collect();
    spend.sort_by_key(|((b, p), _)| (*b, *p));
    for ((b, period), amount) in spend {
        let period = period.to_string();
        sink.row(
            &tables::ASN_MONTHLY_SPEND,
            &[(&city.buyers[b].id).into(), (&period).into(), amount.into()],
        )
        .await?;
    }
    sink.flush().await?;

    let stock: Vec<(String, i64)> = city
        .listings
        .iter()
        .map(|l| (l.id.clone(), l.stock))
        .collect();
    city::update_column(db, "listings", "id", "stock", &stock).await?;
    let mut balances: Vec<(String, i64)> = totals.balances.into_iter().collect();
    balances.sort();
    city::update_column(db, "ledger_accounts", "code", "balance", &balances).await?;
    city::update_column(db, "ledger_accounts", "code", "seq", &seqs).await?;
    // The programme's monthly summaries, from the journal and the orders just loaded.
    peken_migrations::m0027_programme_summaries::backfill(db).await?;
    db.execute_unprepared("ANALYZE").await?;
    Ok(())
}

async fn print_summary(
    db: &DatabaseConnection,
    sink: &Sink,
    started: Instant,
) -> anyhow::Result<()> {
    let rows: u64 = sink.written.iter().map(|(_, n)| n).sum();
    eprintln!(
        "written: {rows} rows in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    for (table, n) in &sink.written {
        eprintln!("  {table:<26} {n:>10}");
    }
    let mut report = checks::references(db).await?;
    report
        .checks
        .extend(checks::consistency(db, None).await?.checks);
    report.print();
    anyhow::ensure!(report.all_pass(), "the generated data is inconsistent");
    Ok(())
}
