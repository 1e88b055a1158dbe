//! Dependency faults under load: PostgreSQL cut off (every connection dropped, new ones refused)
//! and back, and Redis the same. A proxy the test controls stands in front of each, so the
//! machine's shared servers are never restarted.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use reqwest::Method;
use sea_orm::Database;
use serde_json::json;
use tokio::sync::Mutex;

use crate::harness::{
    self, ADMIN_EMAIL, Client, Peken, base_vars, number, open_shops, postgres_base,
    register_buyers, scratch,
};
use crate::proxy::{Proxy, reroute};

/// One answered (or unanswered) request of the load.
struct Outcome {
    /// Seconds since the load began, when the answer came.
    at: f64,
    status: u16,
    code: String,
    problem_json: bool,
    took: Duration,
}

/// What a running load shares with the test: every outcome, the order ids acknowledged, and
/// the client tasks.
type Load = (
    Arc<Mutex<Vec<Outcome>>>,
    Arc<Mutex<Vec<String>>>,
    Vec<tokio::task::JoinHandle<()>>,
);

/// A load of checkouts (each retried with its key until answered with something other than
/// 503) and order reads, one task per buyer, until `stop`.
fn start_load(
    client: &Client,
    base: &str,
    buyers: &[(String, String)],
    listings: &[String],
    stop: &Arc<AtomicBool>,
    salt: &str,
) -> Load {
    let outcomes = Arc::new(Mutex::new(Vec::new()));
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let began = Instant::now();
    let mut tasks = Vec::new();
    for (c, (_, token)) in buyers.iter().enumerate() {
        let (client, base, token) = (client.clone(), base.to_owned(), token.clone());
        let listing = listings[c % listings.len()].clone();
        let (outcomes, acknowledged, stop) = (outcomes.clone(), acknowledged.clone(), stop.clone());
        let salt = salt.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let key = format!("{salt}-{c}-{i}");
                let body = json!({"items": [{"listing_id": listing, "quantity": 1}],
                                  "fulfilment": {"method": "pickup"}, "payment_method": "va"});
                loop {
                    // Each answer is timed on its own: when it came, and how long it took.
                    let sent = Instant::now();
                    let reply = client
                        .send(
                            &base,
                            Method::POST,
                            "/api/v1/checkout",
                            Some(&token),
                            Some(&body),
                            &[("Idempotency-Key", &key)],
                        )
                        .await;
                    let replied = (began.elapsed().as_secs_f64(), sent.elapsed());
                    let sent = Instant::now();
                    let read = client
                        .get(&base, "/api/v1/orders?limit=5", Some(&token))
                        .await;
                    let read_at = (began.elapsed().as_secs_f64(), sent.elapsed());
                    let mut outcomes = outcomes.lock().await;
                    for (r, (at, took)) in [(&reply, replied), (&read, read_at)] {
                        outcomes.push(Outcome {
                            at,
                            status: r.status,
                            code: r.code().to_owned(),
                            problem_json: r.content_type == "application/problem+json",
                            took,
                        });
                    }
                    drop(outcomes);
                    if reply.status == 201 {
                        for order in reply.body["orders"].as_array().unwrap() {
                            acknowledged
                                .lock()
                                .await
                                .push(order["id"].as_str().unwrap().to_owned());
                        }
                    }
                    if reply.status != 503 && reply.status != 0 {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }));
    }
    (outcomes, acknowledged, tasks)
}

/// Status/code counts of outcomes in a time window, e.g. `{"201": 40, "503 database_unavailable": 12}`.
fn tally(outcomes: &[Outcome], from: f64, to: f64) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for o in outcomes.iter().filter(|o| o.at >= from && o.at < to) {
        let key = if o.code.is_empty() {
            o.status.to_string()
        } else {
            format!("{} {}", o.status, o.code)
        };
        *counts.entry(key).or_insert(0) += 1;
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_cut_off_under_load_means_503_then_recovery_without_restart() {
    let Some(pg) = postgres_base() else {
        println!("skipped: needs PostgreSQL (PEKEN_TEST_DATABASE_URL)");
        return;
    };
    let root = scratch("pgcut");
    let direct = harness::postgres(&pg, "pgcut").await;
    let direct_url = direct.url.clone();
    let (target, _) = reroute(&direct_url, 0);
    let mut proxy = Proxy::start(&target);
    let (_, proxied_url) = reroute(&direct_url, proxy.port);
    let mut vars = base_vars(&proxied_url, &root);
    vars.push(("PEKEN_DB_MAX_CONNECTIONS".into(), "6".into()));
    let (ok, out) = harness::run(&vars, &["migrate"], &root.join("migrate.log"));
    assert!(ok, "peken migrate failed: {out}");
    let client = Client::new(Duration::from_secs(30));
    let mut server = Peken::start(vars, root.join("peken.log"));
    server.ready(&client, Duration::from_secs(60)).await;
    let base = server.base.clone();
    let admin = client.login(&base, ADMIN_EMAIL).await;
    let shops = open_shops(&client, &base, &admin, 2, 2, 100_000).await;
    let buyers = register_buyers(&client, &base, &direct_url, 2, 6).await;
    let listings: Vec<String> = shops.iter().map(|s| s.listing.clone()).collect();

    let stop = Arc::new(AtomicBool::new(false));
    let began = Instant::now();
    let (outcomes, acknowledged, tasks) =
        start_load(&client, &base, &buyers, &listings, &stop, "pgcut");
    tokio::time::sleep(Duration::from_secs(2)).await;

    // PostgreSQL goes away: open connections drop, new ones are refused.
    proxy.cut();
    let cut_at = began.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let ready_down = client.get(&base, "/readyz", None).await;
    // Longer than the pool's acquire timeout (5 s), so requests are answered while it is away.
    tokio::time::sleep(Duration::from_secs(8)).await;
    proxy.restore();
    let restored_at = began.elapsed().as_secs_f64();
    let restored = Instant::now();
    // Recovery: the same process answers again, with no restart.
    let recovered = loop {
        let r = client
            .get(&base, "/api/v1/orders?limit=1", Some(&buyers[0].1))
            .await;
        if r.status == 200 {
            break restored.elapsed();
        }
        assert!(
            restored.elapsed() < Duration::from_secs(15),
            "not recovered 15 s after PostgreSQL came back: {}",
            r.text
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    client.get(&base, "/readyz", None).await.expect(200);
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(server.starts, 1, "the server was never restarted");

    assert_eq!(ready_down.status, 503, "{}", ready_down.text);
    assert_eq!(ready_down.code(), "database_unavailable");
    let outcomes = outcomes.lock().await;
    let before = tally(&outcomes, 0.0, cut_at);
    // Requests answered while the database was away: every one a clear 503, none a 500, none
    // unanswered. (Those answered just after the cut may still have succeeded on a connection
    // that was mid-query; the first half second is left out.)
    let down: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| o.at >= cut_at + 0.5 && o.at < restored_at)
        .collect();
    let during = tally(&outcomes, cut_at + 0.5, restored_at);
    let after = tally(&outcomes, restored_at, f64::MAX);
    for o in &down {
        assert!(
            o.status == 503 && o.problem_json && o.code == "database_unavailable",
            "while PostgreSQL was away: {} {} ({during:?})",
            o.status,
            o.code
        );
    }
    assert!(
        during.keys().any(|k| k.starts_with("503")),
        "the outage was not seen: {during:?}"
    );
    assert!(
        !outcomes.iter().any(|o| o.status == 0 || o.status == 500),
        "a request went unanswered or failed with 500"
    );
    let slowest = down.iter().map(|o| o.took).max().unwrap_or_default();

    // Nothing acknowledged was lost.
    let db = Database::connect(direct_url.as_str()).await.unwrap();
    let acknowledged = acknowledged.lock().await;
    let orders = number(&db, "SELECT COUNT(*) FROM orders").await;
    assert_eq!(
        orders,
        acknowledged.len() as i64,
        "orders differ from those acknowledged"
    );
    for shop in &shops {
        let l = &shop.listing;
        let stock = number(&db, &format!("SELECT stock FROM listings WHERE id = '{l}'")).await;
        let movements = number(
            &db,
            &format!(
                "SELECT CAST(COALESCE(SUM(quantity_delta), 0) AS BIGINT) FROM stock_movements \
                 WHERE listing_id = '{l}'"
            ),
        )
        .await;
        assert_eq!(stock, movements);
    }
    crate::harness::figure(&format!(
        "postgres cut: {:.1}s down; before {before:?}; during {during:?} (slowest answer \
         {:.1}s); after {after:?}; first success {:.2}s after PostgreSQL returned; {} orders \
         acknowledged, all present",
        restored_at - cut_at,
        slowest.as_secs_f64(),
        recovered.as_secs_f64(),
        acknowledged.len()
    ));
    drop(server);
    let _ = std::fs::remove_dir_all(&root);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_cut_off_under_load_changes_nothing_and_keeps_the_process_ready() {
    let Some(redis) = std::env::var("PEKEN_TEST_REDIS_URL")
        .ok()
        .filter(|v| !v.is_empty())
    else {
        println!("skipped: needs Redis (PEKEN_TEST_REDIS_URL)");
        return;
    };
    let root = scratch("rediscut");
    let (database_url, _database) = harness::database(&root, "rediscut").await;
    let (target, _) = reroute(&redis, 0);
    let mut proxy = Proxy::start(&target);
    let (_, proxied_redis) = reroute(&redis, proxy.port);
    let mut vars = base_vars(&database_url, &root);
    vars.extend([
        ("PEKEN_AUTO_MIGRATE".to_owned(), "true".to_owned()),
        ("PEKEN_REDIS_URL".to_owned(), proxied_redis),
        (
            "PEKEN_REDIS_PREFIX".to_owned(),
            format!("faults:{}:", uuid::Uuid::new_v4().simple()),
        ),
        ("PEKEN_LOGIN_IP_PER_MINUTE".to_owned(), "40".to_owned()),
    ]);
    let client = Client::new(Duration::from_secs(30));
    let mut server = Peken::start(vars, root.join("peken.log"));
    server.ready(&client, Duration::from_secs(60)).await;
    let base = server.base.clone();
    let admin = client.login(&base, ADMIN_EMAIL).await;
    let shops = open_shops(&client, &base, &admin, 3, 2, 100_000).await;
    let buyers = register_buyers(&client, &base, &database_url, 3, 4).await;
    let listings: Vec<String> = shops.iter().map(|s| s.listing.clone()).collect();

    let stop = Arc::new(AtomicBool::new(false));
    let began = Instant::now();
    let (outcomes, acknowledged, tasks) =
        start_load(&client, &base, &buyers, &listings, &stop, "rediscut");
    tokio::time::sleep(Duration::from_secs(2)).await;
    proxy.cut();
    let cut_at = began.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let ready_down = client.get(&base, "/readyz", None).await;
    // Browsing and logging in still work; the login limit holds, counted in the process.
    let browse = client
        .get(&base, "/api/v1/listings?all_areas=true", None)
        .await;
    let mut logins = BTreeMap::new();
    for _ in 0..50 {
        let r = client
            .post(
                &base,
                "/api/v1/auth/login",
                None,
                &json!({"login": "nobody@faults.test", "password": "wrong-password"}),
            )
            .await;
        *logins.entry(r.status).or_insert(0) += 1;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    proxy.restore();
    let restored_at = began.elapsed().as_secs_f64();
    let restored = Instant::now();
    let ready_again = loop {
        if client.get(&base, "/readyz", None).await.text == "ready\nredis: ok" {
            break restored.elapsed();
        }
        assert!(
            restored.elapsed() < Duration::from_secs(30),
            "Redis never came back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.unwrap();
    }

    // Readiness depends only on what the process cannot serve without: Redis is not that.
    assert_eq!(ready_down.status, 200, "{}", ready_down.text);
    assert_eq!(ready_down.text, "ready\nredis: unavailable");
    assert_eq!(browse.status, 200, "{}", browse.text);
    assert!(
        logins.get(&429).copied().unwrap_or(0) > 0,
        "the login limit must hold without Redis: {logins:?}"
    );
    let outcomes = outcomes.lock().await;
    let during = tally(&outcomes, cut_at, restored_at);
    assert!(
        outcomes.iter().all(|o| matches!(o.status, 200 | 201)),
        "every request succeeds with Redis gone: {during:?}"
    );
    let slowest = outcomes
        .iter()
        .filter(|o| o.at >= cut_at && o.at < restored_at)
        .map(|o| o.took)
        .max()
        .unwrap_or_default();
    let acknowledged = acknowledged.lock().await;
    let db = Database::connect(database_url.as_str()).await.unwrap();
    let orders = number(&db, "SELECT COUNT(*) FROM orders").await;
    assert_eq!(orders, acknowledged.len() as i64);
    crate::harness::figure(&format!(
        "redis cut: {:.1}s down; during {during:?} (slowest answer {:.2}s); logins while down \
         {logins:?}; ready again {:.2}s after Redis returned; {} orders acknowledged, all present",
        restored_at - cut_at,
        slowest.as_secs_f64(),
        ready_again.as_secs_f64(),
        acknowledged.len()
    ));
    drop(server);
    let _ = std::fs::remove_dir_all(&root);
}
