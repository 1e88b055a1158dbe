//! `peken-bench programme`: times each of the programme's reports on a seeded database, for the
//! whole city and for one kecamatan (a camat's), and prints what they found.

use std::time::{Duration, Instant};

use chrono::Utc;
use peken_kernel::period::Period;
use peken_payout::reports::opd_spend::{self, SpendScope};
use peken_payout::reports::programme::{self, Scope};
use sea_orm::{ConnectionTrait, DatabaseConnection};

/// The slowest of `runs` timings of `f`, with the last answer.
async fn timed<T, F, Fut>(runs: usize, mut f: F) -> anyhow::Result<(Duration, Duration, T)>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = peken_kernel::ApiResult<T>>,
{
    let (mut best, mut worst) = (Duration::MAX, Duration::ZERO);
    let mut last = None;
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        let answer = f()
            .await
            .map_err(|e| anyhow::anyhow!("report failed: {e:?}"))?;
        let took = started.elapsed();
        best = best.min(took);
        worst = worst.max(took);
        last = Some(answer);
    }
    let last = last.ok_or_else(|| anyhow::anyhow!("no run"))?;
    Ok((best, worst, last))
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1_000.0)
}

pub async fn run(database_url: &str, kecamatan: &str, runs: usize) -> anyhow::Result<()> {
    let db = peken_kernel::db::connect(database_url, 2).await?;
    let regions = peken_identity::service::load_regions(&db).await?;
    let now = Utc::now();
    let this_month = Period::of(now);
    let last_year = this_month.year() - 1;
    println!("programme reports, {runs} run(s) each (fastest – slowest):");
    for scope in [Scope::city(), Scope::kecamatan(kecamatan)] {
        let label = scope
            .kecamatan_code
            .clone()
            .unwrap_or_else(|| "city".to_owned());
        let (best, worst, dormant) = timed(runs, || {
            programme::dormant_shops(&db, &regions, &scope, 3, now)
        })
        .await?;
        println!(
            "[{label}] shops without a sale in 3 months: {} – {}; {} active shops, {} without a \
             sale, {} never sold, {} groups",
            ms(best),
            ms(worst),
            dormant.shops,
            dormant.without_sale,
            dormant.never_sold,
            dormant.groups.len()
        );
        let (best, worst, series) = timed(runs, || {
            programme::monthly_series(&db, &scope, programme::launch(), this_month)
        })
        .await?;
        let busy = series
            .months
            .iter()
            .filter(|m| m.completed_orders > 0)
            .count();
        println!(
            "[{label}] turnover and orders since launch: {} – {}; {} months ({busy} with \
             sales), net Rp{}, {} orders completed, {} paid",
            ms(best),
            ms(worst),
            series.months.len(),
            series.total.net_amount,
            series.total.completed_orders,
            series.total.paid_orders
        );
        let (best, worst, buyers) = timed(runs, || {
            programme::buyer_series(&db, &scope, programme::launch(), this_month)
        })
        .await?;
        let peak = buyers.months.iter().map(|m| m.buyers).max().unwrap_or(0);
        println!(
            "[{label}] buyers per month since launch: {} – {}; {} months, at most {peak} \
             buyers in a month",
            ms(best),
            ms(worst),
            buyers.months.len()
        );
        let (best, worst, changes) = timed(runs, || {
            programme::class_changes(&db, &scope, last_year - 1, last_year)
        })
        .await?;
        println!(
            "[{label}] class changes {}→{last_year}: {} – {}; {} up, {} down",
            last_year - 1,
            ms(best),
            ms(worst),
            changes.up,
            changes.down
        );
        let (best, worst, bytes) = timed(runs, || async {
            let tables = programme::lkpj_tables(&db, &regions, &scope, last_year).await?;
            peken_kernel::export::xlsx(&tables)
        })
        .await?;
        println!(
            "[{label}] LKPJ workbook {last_year}: {} – {}; {} bytes",
            ms(best),
            ms(worst),
            bytes.len()
        );
    }
    opd_spend_timings(&db, &regions, runs, this_month).await
}

/// Makes about one paid order in fifty an OPD's purchase (spread over the seeded OPDs) when no
/// OPD order exists yet, then times the OPD spend report over the last year and five years.
async fn opd_spend_timings(
    db: &DatabaseConnection,
    regions: &peken_kernel::regions::Regions,
    runs: usize,
    this_month: Period,
) -> anyhow::Result<()> {
    let tagged = db
        .execute_unprepared(
            "INSERT INTO opd_orders (order_id, opd_id, opd_name, sub_kegiatan, account_code, \
             purpose, ordered_by, ordered_at, approval_required) \
             SELECT o.id, p.id, p.name, '1.02.02.2.01.0001', '5.1.02.01.01.0024', 'bench', \
                    o.buyer_id, o.created_at, false \
             FROM orders o \
             JOIN (SELECT id, name, ROW_NUMBER() OVER (ORDER BY code) - 1 AS n FROM opds) p \
               ON p.n = ('x' || right(o.id, 4))::bit(16)::int % (SELECT COUNT(*) FROM opds) \
             WHERE o.paid_period IS NOT NULL AND right(o.id, 2) < '05' \
               AND NOT EXISTS (SELECT 1 FROM opd_orders)",
        )
        .await?
        .rows_affected();
    let count = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM opd_orders",
        ))
        .await?
        .map(|r| r.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0);
    println!("OPD orders: {count} ({tagged} tagged now)");
    let mut from = this_month;
    for _ in 0..11 {
        from = from.prev();
    }
    let mut five = this_month;
    for _ in 0..59 {
        five = five.prev();
    }
    let city = SpendScope::default();
    for (label, start) in [("12 months", from), ("60 months", five)] {
        let (best, worst, report) = timed(runs, || {
            opd_spend::report(db, regions, &city, start, this_month, 4_000)
        })
        .await?;
        println!(
            "[city] OPD spend over {label}: {} – {}; {} OPDs, Rp{} spent, {} bps qualifying",
            ms(best),
            ms(worst),
            report.opds.len(),
            report.spend.total_amount,
            report.spend.share_bps.unwrap_or(0)
        );
    }
    Ok(())
}
