//! Crash safety: a checkout-and-payment load against a real `peken serve` on PostgreSQL, with the
//! process killed by SIGKILL at random moments and started again. Clients behave like real ones:
//! a request that got no answer is sent again with the same `Idempotency-Key` (a checkout) or the
//! same payload (a provider callback). Afterwards every order a client saw acknowledged exists,
//! no unit is oversold, each listing's stock equals its movements, the journal sums to zero and
//! no payment is recorded twice.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use reqwest::Method;
use sea_orm::Database;
use serde_json::json;
use tokio::sync::Mutex;

use crate::harness::{
    self, ADMIN_EMAIL, Client, Peken, Shop, base_vars, number, open_shops, postgres_base,
    register_buyers, scratch,
};

/// The load: each client places this many checkouts and pays each one it got.
const CLIENTS: usize = 8;
const CHECKOUTS_PER_CLIENT: usize = 40;
const SHOPS: usize = 3;
/// 320 checkouts of 1 to 3 units ask for about 640 units; 3 × 200 are on the shelves, so the
/// shelves run empty near the end and `out_of_stock` is part of the test.
const STOCK: i64 = 200;
const KILLS: u32 = 8;

/// What the clients saw acknowledged.
#[derive(Default)]
struct Seen {
    /// Order ids of checkouts answered 201.
    orders: HashSet<String>,
    /// Payment id → amount of checkouts answered 201.
    payments: HashMap<String, i64>,
    /// Payments whose callback was answered 200.
    paid: HashSet<String>,
    out_of_stock: u64,
}

/// Sends a request until it gets an answer that is not "server gone" (no answer, or 503 while
/// the process starts), the way a client with a retry policy does.
async fn until_answered<F, Fut>(retries: &AtomicU64, mut send: F) -> harness::Reply
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = harness::Reply>,
{
    let started = Instant::now();
    loop {
        let reply = send().await;
        if reply.status != 0 && reply.status != 503 {
            return reply;
        }
        retries.fetch_add(1, Ordering::Relaxed);
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no answer for two minutes: {}",
            reply.text
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killing_the_server_under_load_loses_nothing_acknowledged() {
    let Some(pg) = postgres_base() else {
        println!(
            "skipped: the crash test runs a real server on PostgreSQL; set \
             PEKEN_TEST_DATABASE_URL (.ci/run does in its PostgreSQL pass)"
        );
        return;
    };
    let root = scratch("crash");
    let database = harness::postgres(&pg, "crash").await;
    let database_url = database.url.clone();
    let vars = base_vars(&database_url, &root);
    let (ok, out) = harness::run(&vars, &["migrate"], &root.join("migrate.log"));
    assert!(ok, "peken migrate failed: {out}");
    let client = Client::new(Duration::from_secs(20));
    let mut server = Peken::start(vars, root.join("peken.log"));
    server.ready(&client, Duration::from_secs(60)).await;
    let base = server.base.clone();

    let admin = client.login(&base, ADMIN_EMAIL).await;
    let shops = open_shops(&client, &base, &admin, 1, SHOPS, STOCK).await;
    let buyers = register_buyers(&client, &base, &database_url, 1, CLIENTS).await;

    let rng_seed: u64 = rand::rng().random();
    println!("crash test seed {rng_seed}");
    let seen = Arc::new(Mutex::new(Seen::default()));
    let retries = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let started = Instant::now();

    let mut tasks = Vec::new();
    for (c, (_, token)) in buyers.iter().enumerate() {
        let (client, base, token) = (client.clone(), base.clone(), token.clone());
        let listings: Vec<String> = shops.iter().map(|s| s.listing.clone()).collect();
        let (seen, retries) = (seen.clone(), retries.clone());
        let mut rng = rand::rngs::StdRng::seed_from_u64(rng_seed ^ c as u64);
        tasks.push(tokio::spawn(async move {
            for i in 0..CHECKOUTS_PER_CLIENT {
                let key = format!("crash-{c}-{i}");
                let body = json!({
                    "items": [{"listing_id": listings[rng.random_range(0..listings.len())],
                               "quantity": rng.random_range(1..=3)}],
                    "fulfilment": {"method": "pickup"}, "payment_method": "va",
                });
                let headers = [("Idempotency-Key", key.as_str())];
                let reply = until_answered(&retries, || {
                    client.send(
                        &base,
                        Method::POST,
                        "/api/v1/checkout",
                        Some(&token),
                        Some(&body),
                        &headers,
                    )
                })
                .await;
                if reply.status == 409 && reply.code() == "out_of_stock" {
                    seen.lock().await.out_of_stock += 1;
                    continue;
                }
                let reply = reply.expect(201);
                let payment = reply.str("/payment/id");
                let amount = reply.body["payment"]["amount"].as_i64().unwrap();
                {
                    let mut seen = seen.lock().await;
                    for order in reply.body["orders"].as_array().unwrap() {
                        seen.orders.insert(order["id"].as_str().unwrap().to_owned());
                    }
                    seen.payments.insert(payment.clone(), amount);
                }
                until_answered(&retries, || client.callback(&base, &payment, amount))
                    .await
                    .expect(200);
                seen.lock().await.paid.insert(payment);
            }
        }));
    }

    // The killer: SIGKILL at a random moment, start again at once, several times.
    let mut rng = rand::rngs::StdRng::seed_from_u64(rng_seed);
    let mut downtime = Duration::ZERO;
    for _ in 0..KILLS {
        tokio::time::sleep(Duration::from_millis(rng.random_range(200..900))).await;
        if tasks.iter().all(tokio::task::JoinHandle::is_finished) {
            break;
        }
        server.kill();
        let down = Instant::now();
        server.respawn();
        server.ready(&client, Duration::from_secs(60)).await;
        downtime += down.elapsed();
    }
    let kills = server.starts - 1;
    for task in tasks {
        task.await.unwrap();
    }
    done.store(true, Ordering::Relaxed);
    let elapsed = started.elapsed();

    // Every acknowledged payment's callback is delivered once more, as providers do: a replay
    // changes nothing.
    let seen = seen.lock().await;
    for (payment, amount) in seen.payments.iter().take(20) {
        let again = client.callback(&base, payment, *amount).await.expect(200);
        assert_eq!(again.body["outcome"], "replayed", "{}", again.text);
    }

    let db = Database::connect(database_url.as_str()).await.unwrap();
    check(&db, &seen, &shops).await;
    // A deadlock is answered 503 and retried, so nothing is lost, but it means two transactions
    // took the same rows in different orders, which the code promises never to do.
    let log = std::fs::read_to_string(&server.log).unwrap_or_default();
    let deadlocks = log.matches("deadlock detected").count();
    assert_eq!(deadlocks, 0, "transactions deadlocked {deadlocks} times");
    assert!(!log.contains("panicked"), "the server panicked");
    let (orders, paid) = (seen.orders.len(), seen.paid.len());
    crate::harness::figure(&format!(
        "crash test: {kills} SIGKILLs in {:.1}s of load ({:.1}s down in all); {} checkouts \
         acknowledged, {orders} orders, {paid} payments acknowledged, {} out of stock, {} \
         requests sent again; lost: 0",
        elapsed.as_secs_f64(),
        downtime.as_secs_f64(),
        seen.payments.len(),
        seen.out_of_stock,
        retries.load(Ordering::Relaxed),
    ));
    assert!(
        kills >= 5,
        "the load ended before the server was killed enough"
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&root);
}

async fn check(db: &sea_orm::DatabaseConnection, seen: &Seen, shops: &[Shop]) {
    // Every order the clients saw acknowledged exists.
    let ids: Vec<String> = seen.orders.iter().map(|id| format!("'{id}'")).collect();
    let found = number(
        db,
        &format!(
            "SELECT COUNT(*) FROM orders WHERE id IN ({})",
            ids.join(",")
        ),
    )
    .await;
    assert_eq!(found, ids.len() as i64, "an acknowledged order is missing");
    // And nothing exists that no client saw: a checkout cut off by the kill left no order
    // behind, or its retry got that very order back.
    let all = number(db, "SELECT COUNT(*) FROM orders").await;
    assert_eq!(all, ids.len() as i64, "an order exists that no client saw");

    for shop in shops {
        let l = &shop.listing;
        let stock = number(db, &format!("SELECT stock FROM listings WHERE id = '{l}'")).await;
        let movements = number(
            db,
            &format!(
                "SELECT CAST(COALESCE(SUM(quantity_delta), 0) AS BIGINT) FROM stock_movements \
                 WHERE listing_id = '{l}'"
            ),
        )
        .await;
        assert_eq!(
            stock, movements,
            "listing {l}: stock differs from its movements"
        );
        assert!(stock >= 0, "listing {l} oversold: stock {stock}");
        let held = number(
            db,
            &format!(
                "SELECT CAST(COALESCE(SUM(i.quantity), 0) AS BIGINT) FROM order_items i \
                 JOIN orders o ON o.id = i.order_id WHERE i.listing_id = '{l}' \
                 AND o.status NOT IN ('cancelled', 'rejected')"
            ),
        )
        .await;
        assert_eq!(
            held + stock,
            STOCK,
            "listing {l}: units sold plus units left differ from the units stocked"
        );
    }

    let journal = peken_ledger::read::check(db).await.unwrap();
    assert!(journal.is_sound(), "journal: {journal:?}");
    // Each payment is confirmed in the journal at most once, and every acknowledged one is.
    let twice = number(
        db,
        "SELECT COUNT(*) FROM (SELECT payment_id FROM ledger_transactions \
         WHERE kind = 'payment_confirmed' GROUP BY payment_id HAVING COUNT(*) > 1) t",
    )
    .await;
    assert_eq!(twice, 0, "a payment was recorded twice");
    let confirmed = number(
        db,
        "SELECT COUNT(*) FROM ledger_transactions WHERE kind = 'payment_confirmed'",
    )
    .await;
    assert_eq!(confirmed, seen.paid.len() as i64);
    let paid = number(db, "SELECT COUNT(*) FROM payments WHERE status = 'paid'").await;
    assert_eq!(
        paid,
        seen.paid.len() as i64,
        "an acknowledged payment is not paid"
    );
    let receipts_twice = number(
        db,
        "SELECT COUNT(*) FROM (SELECT payment_id FROM payment_receipts WHERE outcome = 'applied' \
         GROUP BY payment_id HAVING COUNT(*) > 1) t",
    )
    .await;
    assert_eq!(receipts_twice, 0, "a payment was applied twice");
}
