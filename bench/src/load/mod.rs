//! `peken-bench run`: the scenarios against a running server, then the table.
//!
//! Every scenario is a closed loop: a fixed number of clients, each sending its next request as
//! soon as the previous answer arrived, for a fixed time. Latencies are measured per request on
//! the client; throughput is requests (or purchases) per second of the scenario's wall time.

mod baseline;
mod browse;
mod checkout;
mod client;
mod month_end;
mod report;
mod reports_read;
mod rss;
mod stats;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::ValueEnum;
use peken_kernel::sql;
use sea_orm::DatabaseConnection;

use crate::seed::city::{ADMIN_EMAIL, PASSWORD, TREASURY_EMAILS};
use client::Api;
use stats::Recorder;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    Checkout,
    Browse,
    MonthEnd,
    Healthz,
    Pgbench,
    All,
    /// The reports a read replica serves, as the cooperatives office asks for them (not part of
    /// `all`; `scripts/bench-scale.sh` runs it on the primary and on a replica).
    Reports,
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    #[arg(long, value_enum, default_value = "all")]
    scenario: Scenario,
    /// Concurrent clients.
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// How long each load scenario runs (`30s`, `2m`).
    #[arg(long, default_value = "30s", value_parser = crate::parse_duration)]
    duration: Duration,
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    base_url: String,
    /// The server's database: the run reads the catalog and buyers from it and checks the
    /// invariants in it afterwards.
    #[arg(long, env = "PEKEN_DATABASE_URL")]
    database_url: String,
    /// The server's `PEKEN_PAYMENT_WEBHOOK_SECRET`, to sign callbacks as the provider does.
    #[arg(long, env = "PEKEN_PAYMENT_WEBHOOK_SECRET")]
    webhook_secret: Option<String>,
    /// The server's process id, for its memory; found by the port when absent.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Buyers each checkout client logs in as (and takes turns with).
    #[arg(long, default_value_t = 4)]
    buyers_per_client: usize,
    /// Repetitions of each month-end step.
    #[arg(long, default_value_t = 5)]
    repetitions: usize,
    /// A scratch database for pgbench on the same server (it is initialised, overwriting
    /// pgbench's tables there).
    #[arg(long)]
    pgbench_url: Option<String>,
    #[arg(long, default_value_t = 10)]
    pgbench_scale: u32,
    /// Also write the results as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// The server's `PEKEN_METRICS_TOKEN`, to read its statement counter around the checkout
    /// scenario (statements per purchase).
    #[arg(long, env = "PEKEN_METRICS_TOKEN")]
    metrics_token: Option<String>,
    /// A label for the run in the table and the JSON (e.g. the history size).
    #[arg(long, default_value = "")]
    label: String,
}

pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    let db = peken_kernel::db::connect(&args.database_url, 4)
        .await
        .context("connecting to the database")?;
    let api = Api::new(&args.base_url, args.clients)?;
    let port = reqwest::Url::parse(&args.base_url)?
        .port_or_known_default()
        .unwrap_or(80);
    let pid = args.server_pid.or_else(|| rss::pid_listening_on(port));
    if pid.is_none() {
        eprintln!("the server's process was not found; memory is not reported");
    }
    let wants = |s: Scenario| args.scenario == s || args.scenario == Scenario::All;
    let mut results = report::Results::new(&args.label, args.clients, args.duration);
    let history = crate::checks::count(&db, "SELECT COUNT(*) FROM orders").await?;
    results.history_orders = history;

    if wants(Scenario::Healthz) {
        eprintln!("healthz: {} clients for {:?}", args.clients, args.duration);
        let watch = pid.map(rss::Watch::start);
        let (rec, elapsed) = drive(args.clients, args.duration, {
            let api = api.clone();
            move |_, _| {
                let api = api.clone();
                async move { api.get("/healthz", None).await }
            }
        })
        .await;
        let rss = stop(watch).await;
        results.push(rec.summary("healthz", elapsed), rss);
    }
    if wants(Scenario::Pgbench) {
        match &args.pgbench_url {
            Some(url) => {
                eprintln!("pgbench: {} clients for {:?}", args.clients, args.duration);
                let (url, scale, clients, duration) =
                    (url.clone(), args.pgbench_scale, args.clients, args.duration);
                let row = tokio::task::spawn_blocking(move || {
                    baseline::pgbench(&url, scale, clients, duration)
                })
                .await??;
                results.push(row, None);
            }
            None => eprintln!("pgbench skipped: no --pgbench-url"),
        }
    }
    if wants(Scenario::Browse) {
        browse_scenario(&args, &api, &db, pid, &mut results).await?;
    }
    if wants(Scenario::Checkout) {
        checkout_scenario(&args, &api, &db, pid, &mut results).await?;
    }
    if args.scenario == Scenario::Reports {
        reports_scenario(&args, &api, pid, &mut results).await?;
    }
    if wants(Scenario::MonthEnd) {
        eprintln!("month-end: {} repetitions", args.repetitions);
        let tokens = month_end::Tokens {
            admin: api.login(ADMIN_EMAIL, PASSWORD).await?,
            treasury: [
                api.login(TREASURY_EMAILS[0], PASSWORD).await?,
                api.login(TREASURY_EMAILS[1], PASSWORD).await?,
            ],
        };
        let watch = pid.map(rss::Watch::start);
        let rows = month_end::run(&api, &tokens, args.repetitions.max(1)).await?;
        let rss = stop(watch).await;
        for row in rows {
            results.push(row, rss);
        }
    }
    results.print();
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&results)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

async fn stop(watch: Option<rss::Watch>) -> Option<f64> {
    match watch {
        Some(w) => Some(w.stop().await),
        None => None,
    }
}

/// Runs `clients` closed loops of `request` for `duration`; a 2xx answer is a success.
async fn drive<F, Fut>(clients: usize, duration: Duration, request: F) -> (Recorder, Duration)
where
    F: Fn(usize, u64) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = anyhow::Result<client::Answer>> + Send,
{
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::with_capacity(clients);
    for c in 0..clients {
        let request = request.clone();
        tasks.push(tokio::spawn(async move {
            let mut rec = Recorder::default();
            let mut k = 0_u64;
            while Instant::now() < deadline {
                match request(c, k).await {
                    Ok(answer) if answer.status.is_success() => rec.ok(answer.elapsed),
                    Ok(answer) => rec.error(&answer.outcome()),
                    Err(_) => rec.error("transport"),
                }
                k += 1;
            }
            rec
        }));
    }
    let mut total = Recorder::default();
    for task in tasks {
        if let Ok(rec) = task.await {
            total.merge(rec);
        }
    }
    (total, started.elapsed())
}

/// Buyers for the checkout clients, spread over the whole list of ASN and residents, logged in.
async fn buyers(
    db: &DatabaseConnection,
    api: &Api,
    count: usize,
) -> anyhow::Result<Vec<checkout::Buyer>> {
    let rows = sql::query(
        db,
        "SELECT role, nip, email, domicile_kelurahan_code, work_kelurahan_code FROM users \
         WHERE role IN ('asn', 'public') AND active = $1 ORDER BY id",
        vec![true.into()],
    )
    .await?;
    anyhow::ensure!(!rows.is_empty(), "no buyers; seed first");
    let mut logins = Vec::with_capacity(count);
    let mut areas = Vec::with_capacity(count);
    for i in 0..count {
        let row = &rows[i * rows.len() / count.max(1)];
        let role: String = row.try_get("", "role")?;
        let nip: Option<String> = row.try_get("", "nip")?;
        let email: Option<String> = row.try_get("", "email")?;
        let login = if role == "asn" { nip } else { email };
        logins.push(login.ok_or_else(|| anyhow::anyhow!("a buyer without a login"))?);
        let home: Option<String> = row.try_get("", "domicile_kelurahan_code")?;
        let work: Option<String> = row.try_get("", "work_kelurahan_code")?;
        areas.push(home.or(work).and_then(|k| k.get(..8).map(str::to_owned)));
    }
    let tokens = api.login_all(&logins, PASSWORD).await?;
    Ok(tokens
        .into_iter()
        .zip(areas)
        .map(|(token, area)| checkout::Buyer::new(token, area))
        .collect())
}

async fn checkout_scenario(
    args: &RunArgs,
    api: &Api,
    db: &DatabaseConnection,
    pid: Option<u32>,
    results: &mut report::Results,
) -> anyhow::Result<()> {
    let secret = args
        .webhook_secret
        .clone()
        .context("the checkout scenario signs callbacks: pass --webhook-secret")?;
    let catalog = Arc::new(checkout::Catalog::load(db).await?);
    let per_client = args.buyers_per_client.max(1);
    eprintln!("checkout: logging in {} buyers", args.clients * per_client);
    let mut all = buyers(db, api, args.clients * per_client).await?;
    let mut groups = Vec::with_capacity(args.clients);
    for _ in 0..args.clients {
        let rest = all.split_off(per_client.min(all.len()));
        groups.push(std::mem::replace(&mut all, rest));
    }
    eprintln!("checkout: {} clients for {:?}", args.clients, args.duration);
    let work_before = work_done(api, db, args.metrics_token.as_deref()).await;
    let watch = pid.map(rss::Watch::start);
    let (outcome, elapsed) =
        checkout::run(api, catalog.clone(), groups, &secret, args.duration).await?;
    let rss = stop(watch).await;
    let work_after = work_done(api, db, args.metrics_token.as_deref()).await;
    for sample in &outcome.samples_of_errors {
        eprintln!("  unexpected: {sample}");
    }
    let refused = outcome
        .checkout
        .outcomes
        .iter()
        .filter(|(k, _)| k.as_str() != "ok")
        .map(|(k, v)| format!("{v} {k}"))
        .collect::<Vec<_>>()
        .join(", ");
    results.push(
        outcome
            .purchase
            .summary("checkout + payment (purchase)", elapsed)
            .with_note(format!(
                "refused: {}",
                if refused.is_empty() {
                    "none".into()
                } else {
                    refused
                }
            )),
        rss,
    );
    let purchases = outcome.purchase.samples.len().max(1) as f64;
    let per_purchase = |what: fn(&Work) -> Option<u64>| -> Option<f64> {
        let (before, after) = (what(work_before.as_ref()?)?, what(work_after.as_ref()?)?);
        Some(after.saturating_sub(before) as f64 / purchases)
    };
    results.statements_per_purchase = per_purchase(|w| w.statements);
    results.transactions_per_purchase = per_purchase(|w| w.transactions);
    results.push(outcome.checkout.summary("  checkout request", elapsed), rss);
    results.push(outcome.callback.summary("  payment callback", elapsed), rss);
    results.push(
        outcome
            .replay
            .summary("  callback replayed", elapsed)
            .with_note("2% of callbacks sent twice; answered `replayed`"),
        rss,
    );
    eprintln!("checkout: checking the invariants");
    let touched: Vec<String> = outcome.touched.into_iter().collect();
    let mut checked = catalog.hot_ids();
    checked.extend(touched);
    checked.sort();
    checked.dedup();
    results.checks = Some(crate::checks::consistency(db, Some(&checked)).await?);
    Ok(())
}

/// The server's work so far: SQL statements it sent (its `peken_db_statements_total`) and
/// transactions its database committed or rolled back (`pg_stat_database`, PostgreSQL only).
struct Work {
    statements: Option<u64>,
    transactions: Option<u64>,
}

async fn work_done(api: &Api, db: &DatabaseConnection, token: Option<&str>) -> Option<Work> {
    let statements = match api.get("/metrics", token).await {
        Ok(answer) if answer.status.is_success() => String::from_utf8_lossy(&answer.body)
            .lines()
            .find_map(|l| l.strip_prefix("peken_db_statements_total "))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .map(|v| v as u64),
        _ => None,
    };
    if statements.is_none() {
        eprintln!(
            "the server's /metrics did not answer (pass --metrics-token); statements per purchase not reported"
        );
    }
    // The statistics collector reports with a delay of up to half a second.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let transactions = crate::checks::count(
        db,
        "SELECT CAST(xact_commit + xact_rollback AS BIGINT) FROM pg_stat_database \
         WHERE datname = current_database()",
    )
    .await
    .ok()
    .and_then(|n| u64::try_from(n).ok());
    Some(Work {
        statements,
        transactions,
    })
}

async fn reports_scenario(
    args: &RunArgs,
    api: &Api,
    pid: Option<u32>,
    results: &mut report::Results,
) -> anyhow::Result<()> {
    let admin = api.login(ADMIN_EMAIL, PASSWORD).await?;
    let paths = Arc::new(reports_read::paths(chrono::Utc::now()));
    // Each report once before the timed loop: a path the server refuses stops the run here.
    for path in paths.iter() {
        let answer = api.get(path, Some(&admin)).await?;
        anyhow::ensure!(
            answer.status.is_success(),
            "{path}: {} {}",
            answer.status,
            String::from_utf8_lossy(&answer.body[..answer.body.len().min(300)])
        );
    }
    eprintln!("reports: {} clients for {:?}", args.clients, args.duration);
    let admin = Arc::new(admin);
    let watch = pid.map(rss::Watch::start);
    let (rec, elapsed) = drive(args.clients, args.duration, {
        let (api, paths, admin) = (api.clone(), paths.clone(), admin.clone());
        move |c, k| {
            let (api, paths, admin) = (api.clone(), paths.clone(), admin.clone());
            async move {
                api.get(reports_read::pick(&paths, c, k), Some(admin.as_str()))
                    .await
            }
        }
    })
    .await;
    let rss = stop(watch).await;
    results.push(
        rec.summary("reports", elapsed).with_note(
            "compliance, city turnover, monthly series, dormant shops, OPD spend, audit log",
        ),
        rss,
    );
    Ok(())
}

async fn browse_scenario(
    args: &RunArgs,
    api: &Api,
    db: &DatabaseConnection,
    pid: Option<u32>,
    results: &mut report::Results,
) -> anyhow::Result<()> {
    let mut areas = browse::Areas {
        kecamatans: Vec::new(),
        kelurahans: Vec::new(),
    };
    for row in sql::query(db, "SELECT code, level FROM regions ORDER BY code", vec![]).await? {
        let code: String = row.try_get("", "code")?;
        match row.try_get::<String>("", "level")?.as_str() {
            "kecamatan" => areas.kecamatans.push(code),
            "kelurahan" => areas.kelurahans.push(code),
            _ => {}
        }
    }
    let asn: Vec<String> = sql::query(
        db,
        "SELECT nip FROM users WHERE role = 'asn' AND nip IS NOT NULL ORDER BY id LIMIT 16",
        vec![],
    )
    .await?
    .iter()
    .map(|r| r.try_get::<String>("", "nip"))
    .collect::<Result<_, _>>()?;
    let tokens = Arc::new(api.login_all(&asn, PASSWORD).await?);
    let popular = Arc::new(browse::popular(&areas, 120, 7));
    // Every popular search once, so the timed loop finds them cached.
    for (i, s) in popular.iter().enumerate() {
        let token = s.as_asn.then(|| tokens[i % tokens.len()].as_str());
        api.get(&s.query, token).await?;
    }
    eprintln!(
        "browse (cached): {} clients for {:?}",
        args.clients, args.duration
    );
    let watch = pid.map(rss::Watch::start);
    let (rec, elapsed) = drive(args.clients, args.duration, {
        let (api, popular, tokens) = (api.clone(), popular.clone(), tokens.clone());
        move |c, k| {
            let (api, popular, tokens) = (api.clone(), popular.clone(), tokens.clone());
            async move {
                let i = (c * 7919 + k as usize * 31) % popular.len();
                let s = &popular[i];
                let token = s.as_asn.then(|| tokens[c % tokens.len()].as_str());
                api.get(&s.query, token).await
            }
        }
    })
    .await;
    let rss = stop(watch).await;
    results.push(
        rec.summary("browse, cached", elapsed)
            .with_note("120 popular searches repeated by everyone"),
        rss,
    );

    eprintln!(
        "browse (uncached): {} clients for {:?}",
        args.clients, args.duration
    );
    let areas = Arc::new(areas);
    let clients = args.clients as u64;
    let watch = pid.map(rss::Watch::start);
    let (rec, elapsed) = drive(args.clients, args.duration, {
        let (api, areas) = (api.clone(), areas.clone());
        move |c, k| {
            let (api, areas) = (api.clone(), areas.clone());
            async move {
                let s = browse::distinct(&areas, k * clients + c as u64);
                api.get(&s.query, None).await
            }
        }
    })
    .await;
    let rss = stop(watch).await;
    results.push(
        rec.summary("browse, uncached", elapsed)
            .with_note("no search repeats: every one misses the cache"),
        rss,
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_closed_loop_counts_every_answer() {
        let (rec, elapsed) = drive(3, Duration::from_millis(50), |_, k| async move {
            tokio::task::yield_now().await;
            let status = if k % 2 == 0 { 200 } else { 503 };
            Ok(client::Answer {
                status: reqwest::StatusCode::from_u16(status)?,
                body: br#"{"code":"unavailable"}"#.to_vec(),
                elapsed: Duration::from_millis(1),
            })
        })
        .await;
        assert!(elapsed >= Duration::from_millis(50));
        let ok = rec.outcomes.get("ok").copied().unwrap_or(0);
        let bad = rec.outcomes.get("unavailable").copied().unwrap_or(0);
        assert!(ok > 0 && bad > 0);
        assert!(ok.abs_diff(bad) <= 3, "{ok} {bad}");
        assert_eq!(rec.errors, bad);
    }
}
