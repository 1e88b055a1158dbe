//! Several processes, one database. Three real `peken serve` processes share one fresh
//! PostgreSQL database and one Redis prefix, each with its background workers on. Checkouts,
//! idempotent replays, payment callbacks (each delivered to two processes at once), the order
//! lifecycle, payout batches built on all three at the same moment, reservation expiry and mail
//! are spread over them; then the database and the mail each process wrote are checked: no unit
//! oversold, no reservation released twice, no payment applied twice, no payable paid out twice,
//! no mail sent twice, and a token issued by one process accepted by the others.
//!
//! It needs PostgreSQL (`PEKEN_TEST_DATABASE_URL`, as for the rest of the suite) and shares
//! Redis when `PEKEN_TEST_REDIS_URL` is set. Without PostgreSQL it says so and passes: SQLite is
//! the one-process embedded mode. `.ci/run` runs it in its PostgreSQL pass.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test: a failed expectation is a failed test"
)]

mod cluster;
mod replica;

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::time::Duration;

use cluster::{ADMIN_EMAIL, Cluster, PASSWORD, Parts, wait_until};
use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};

const PROCESSES: usize = 3;
const SHOPS: usize = 3;
const STOCK: i64 = 20;
const BUYERS: usize = 9;
/// Checkout `i` asks for `1 + i % 2` units: 135 units in all for 60 on the shelves.
const CHECKOUTS: usize = 90;

/// A shop with one listing, and its owner's token.
struct Shop {
    merchant: String,
    owner: String,
    listing: String,
}

/// A checkout that got its units: which one it was, its bill and its (single) order.
struct Placed {
    index: usize,
    payment: String,
    amount: i64,
    order: String,
}

/// A valid, unique Surabaya NIK.
fn nik(n: usize) -> String {
    format!("357801{:02}0190{:04}", 1 + n / 9999 % 28, 1 + n % 9999)
}

fn cart(shops: &[Shop], i: usize) -> Value {
    json!({"items": [{"listing_id": shops[i % SHOPS].listing, "quantity": 1 + i % 2}],
           "fulfilment": {"method": "pickup"}, "payment_method": "va"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_processes_on_one_database_sell_release_pay_and_mail_each_thing_once() {
    let Some(base_url) = std::env::var("PEKEN_TEST_DATABASE_URL")
        .ok()
        .filter(|v| !v.is_empty())
    else {
        println!(
            "skipped: several processes need a shared PostgreSQL; set PEKEN_TEST_DATABASE_URL \
             (SQLite is the one-process embedded mode)"
        );
        return;
    };
    // Through PgBouncer in transaction pooling mode when there is one (always in CI): workers,
    // leases and the payout batch lock must hold there as they do on direct connections.
    let parts = Parts {
        pooler: cluster::part("PEKEN_TEST_PGBOUNCER_URL"),
        ..Parts::default()
    };
    println!(
        "the processes reach PostgreSQL {}",
        if parts.pooler.is_some() {
            "through PgBouncer"
        } else {
            "directly"
        }
    );
    let _pooler = cluster::PARTS.read().await;
    // All three start at once, racing to create the bootstrap admin: one wins, none fails.
    let c = &Cluster::start_with(&base_url, PROCESSES, &parts).await;
    assert_eq!(
        c.number("SELECT COUNT(*) FROM users WHERE role = 'admin'")
            .await,
        1
    );
    sessions_work_on_every_process(c).await;
    let (admin, _) = c.login(2, ADMIN_EMAIL).await;
    short_reservations_everywhere(c, &admin).await;
    let shops = open_shops(c, &admin).await;
    let buyers = register_buyers(c).await;

    let placed = rush(c, &shops, &buyers).await;
    let paid: Vec<&Placed> = placed.iter().step_by(2).collect();
    pay_each_twice(c, &paid).await;
    let completed = complete_some(c, &shops, &buyers, &paid).await;
    build_batches_at_once(c, &admin).await;

    // The unpaid rest expire by themselves; the workers of all three processes race for them.
    wait_until(
        "every unpaid reservation to expire",
        Duration::from_secs(180),
        || async {
            c.number("SELECT COUNT(*) FROM payments WHERE status = 'pending'")
                .await
                == 0
        },
    )
    .await;
    wait_until(
        "every mail to be sent",
        Duration::from_secs(120),
        || async {
            c.number("SELECT COUNT(*) FROM mail_outbox WHERE status <> 'sent'")
                .await
                == 0
        },
    )
    .await;

    no_unit_oversold(c, &shops).await;
    let expired = no_reservation_released_twice(c, placed.len() - paid.len()).await;
    no_payment_applied_twice(c, paid.len()).await;
    no_payable_paid_out_twice(c, &shops).await;
    let mails = no_mail_sent_twice(c).await;
    println!(
        "{} checkouts placed of {CHECKOUTS}, {} paid, {completed} completed, {expired} expired; \
         mails sent by process: {mails}",
        placed.len(),
        paid.len(),
    );
}

/// A session started on one process is good on the others and refreshes on a third; reusing
/// the spent refresh token (on yet another) ends the session everywhere.
async fn sessions_work_on_every_process(c: &Cluster) {
    let (access, refresh) = c.login(0, ADMIN_EMAIL).await;
    for p in 1..PROCESSES {
        c.get(p, "/api/v1/me", Some(&access)).await.expect(200);
    }
    let body = json!({"refresh_token": refresh});
    let pair = c
        .post(1, "/api/v1/auth/refresh", None, &body)
        .await
        .expect(200);
    let second = pair.str("/access_token");
    c.get(2, "/api/v1/me", Some(&second)).await.expect(200);
    c.post(0, "/api/v1/auth/refresh", None, &body)
        .await
        .expect(401);
    if c.redis {
        // Revoked sessions are shared through Redis.
        for p in 0..PROCESSES {
            c.get(p, "/api/v1/me", Some(&second)).await.expect(401);
        }
    }
}

/// Reservations of one minute, set on one process; every process's policy cache must have it
/// before the rush.
async fn short_reservations_everywhere(c: &Cluster, admin: &str) {
    c.send(
        1,
        Method::PATCH,
        "/api/v1/admin/policies",
        Some(admin),
        Some(&json!({"reservation_minutes": 1})),
        &[],
    )
    .await
    .expect(200);
    for p in 0..PROCESSES {
        wait_until(
            "the policy on every process",
            Duration::from_secs(30),
            || async move {
                let r = c.get(p, "/api/v1/admin/policies", Some(admin)).await;
                r.body["reservation_minutes"] == 1
            },
        )
        .await;
    }
}

/// Shops registered, approved, stocked and logged into on different processes.
async fn open_shops(c: &Cluster, admin: &str) -> Vec<Shop> {
    let mut shops = Vec::new();
    for s in 0..SHOPS {
        let email = format!("shop{s}@toko.test");
        let merchant = c
            .post(
                s,
                "/api/v1/merchants",
                None,
                &json!({
                    "name": format!("Toko Ramai {s}"), "kind": "toko_kelontong",
                    "nib": format!("912000000000{s}"), "owner_nik": nik(1000 + s), "mbr": false,
                    "kelurahan_code": "35.78.03.1001", "address": "Jl. Rungkut No. 1",
                    "bank": {"bank_code": "008", "account_number": format!("120000000{s}"),
                             "account_name": "PEMILIK"},
                    "owner": {"name": "Pemilik", "email": email, "phone": "081234567890",
                              "password": PASSWORD},
                }),
            )
            .await
            .expect(201)
            .str("/id");
        c.post(
            s + 1,
            &format!("/api/v1/admin/merchants/{merchant}/verification"),
            Some(admin),
            &json!({"decision": "approve"}),
        )
        .await
        .expect(200);
        let commodity = c
            .post(
                s + 2,
                "/api/v1/admin/commodities",
                Some(admin),
                &json!({"name": format!("Beras Ramai {s}"), "category": "sembako", "unit": "kg"}),
            )
            .await
            .expect(201)
            .str("/id");
        let (owner, _) = c.login(s + 2, &email).await;
        let listing = c
            .post(
                s,
                &format!("/api/v1/merchants/{merchant}/listings"),
                Some(&owner),
                &json!({"commodity_id": commodity, "price": 10_000, "stock": STOCK}),
            )
            .await
            .expect(201)
            .str("/id");
        shops.push(Shop {
            merchant,
            owner,
            listing,
        });
    }
    shops
}

/// Public buyers, each registered on one process, confirmed on the next and logged in on the
/// one after.
async fn register_buyers(c: &Cluster) -> Vec<String> {
    let mut buyers = Vec::new();
    for b in 0..BUYERS {
        let nik = nik(b);
        let email = format!("{nik}@warga.test");
        c.post(
            b,
            "/api/v1/auth/register",
            None,
            &json!({"nik": nik, "name": format!("Warga {b}"), "email": email,
                    "phone": "081234567890", "password": PASSWORD, "kelurahan_code": "35.78.03.1002"}),
        )
        .await
        .expect(202);
        let mail = c
            .strings(&format!(
                "SELECT body_text FROM mail_outbox \
                 WHERE template = 'registration_confirm' AND recipient = '{email}'"
            ))
            .await;
        let code = mail[0]
            .lines()
            .map(str::trim)
            .find(|l| l.len() == 43 && !l.contains(' '))
            .expect("a code in the confirmation mail")
            .to_owned();
        c.post(
            b + 1,
            "/api/v1/auth/register/confirm",
            None,
            &json!({ "token": code }),
        )
        .await
        .expect(201);
        buyers.push(c.login(b + 2, &nik).await.0);
    }
    buyers
}

/// More units asked for than there are, over all processes at once; then a few of the
/// successful requests again, on another process, which must answer with the first result.
async fn rush(c: &Cluster, shops: &[Shop], buyers: &[String]) -> Vec<Placed> {
    let checkout = |p: usize, i: usize| {
        let key = format!("rush-{i}");
        let body = cart(shops, i);
        let buyer = &buyers[i % BUYERS];
        async move {
            let headers = [("Idempotency-Key", key.as_str())];
            c.send(
                p,
                Method::POST,
                "/api/v1/checkout",
                Some(buyer),
                Some(&body),
                &headers,
            )
            .await
        }
    };
    let replies = join_all((0..CHECKOUTS).map(|i| checkout(i, i))).await;
    let mut placed = Vec::new();
    for (i, r) in replies.iter().enumerate() {
        match r.status {
            201 => placed.push(Placed {
                index: i,
                payment: r.str("/payment/id"),
                amount: r.body["payment"]["amount"].as_i64().unwrap(),
                order: r.str("/orders/0/id"),
            }),
            409 => assert_eq!(r.body["code"], "out_of_stock", "{}", r.text),
            other => panic!("checkout {i}: unexpected {other}: {}", r.text),
        }
    }
    assert!(
        placed.len() < CHECKOUTS,
        "the rush must run out of stock for the test to mean anything"
    );
    let expires = replies[placed[0].index].str("/payment/expires_at");
    let expires = chrono::DateTime::parse_from_rfc3339(&expires).unwrap();
    assert!(expires < chrono::Utc::now() + chrono::Duration::minutes(2));
    for p in placed.iter().take(6) {
        let again = checkout(p.index + 1, p.index).await.expect(201);
        assert_eq!(again.str("/payment/id"), p.payment);
    }
    placed
}

/// Each bill's callback is delivered to two processes at the same moment.
async fn pay_each_twice(c: &Cluster, paid: &[&Placed]) {
    let deliveries = join_all(paid.iter().enumerate().flat_map(|(n, bill)| {
        [n, n + 1].map(move |p| {
            let reference = format!("BANK-{n}");
            async move { c.callback(p, &bill.payment, bill.amount, &reference).await }
        })
    }))
    .await;
    for d in &deliveries {
        assert_eq!(d.status, 200, "{}", d.text);
    }
}

/// Some paid orders go all the way: accepted, shipped and received on different processes.
async fn complete_some(c: &Cluster, shops: &[Shop], buyers: &[String], paid: &[&Placed]) -> usize {
    let mut completed = 0;
    for (n, bill) in paid.iter().enumerate().take(9) {
        let order = &bill.order;
        let owner = &shops[bill.index % SHOPS].owner;
        for (step, p) in [("accept", n), ("ship", n + 1)] {
            let path = format!("/api/v1/orders/{order}/{step}");
            c.post(p, &path, Some(owner), &json!({})).await.expect(200);
        }
        let buyer = &buyers[bill.index % BUYERS];
        let path = format!("/api/v1/orders/{order}/receipt");
        c.post(n + 2, &path, Some(buyer), &json!({}))
            .await
            .expect(200);
        completed += 1;
    }
    completed
}

/// Treasury users press "build payout batch" on every process at the same moment: one batch
/// holds everything; the others find it waiting as a draft (409) or nothing left to pay (422).
async fn build_batches_at_once(c: &Cluster, admin: &str) {
    let mut treasurers = Vec::new();
    for t in 0..PROCESSES {
        let email = format!("bendahara{t}@scale.test");
        c.post(
            t,
            "/api/v1/admin/users",
            Some(admin),
            &json!({"role": "treasury", "email": email, "password": PASSWORD, "name": "Bendahara"}),
        )
        .await
        .expect(201);
        treasurers.push(c.login(t + 1, &email).await.0);
    }
    let body = json!({"cutoff": chrono::Utc::now().to_rfc3339()});
    let builds = join_all(treasurers.iter().enumerate().map(|(p, token)| {
        let body = &body;
        async move {
            c.post(p, "/api/v1/treasury/payout-batches", Some(token), body)
                .await
        }
    }))
    .await;
    for r in &builds {
        let refused = (r.status == 409 && r.text.contains("\"draft_batch_exists\""))
            || (r.status == 422 && r.text.contains("\"nothing_to_pay\""));
        assert!(r.status == 201 || refused, "a build: {}", r.text);
    }
    assert_eq!(builds.iter().filter(|r| r.status == 201).count(), 1);
}

/// Every listing's stock is its movements' sum, never negative, and with the units held by
/// live orders it makes up what was stocked.
async fn no_unit_oversold(c: &Cluster, shops: &[Shop]) {
    for shop in shops {
        let listing = &shop.listing;
        let stock = c
            .number(&format!(
                "SELECT stock FROM listings WHERE id = '{listing}'"
            ))
            .await;
        let moved = c
            .number(&format!(
                "SELECT CAST(COALESCE(SUM(quantity_delta), 0) AS BIGINT) FROM stock_movements \
                 WHERE listing_id = '{listing}'"
            ))
            .await;
        let held = c
            .number(&format!(
                "SELECT CAST(COALESCE(SUM(i.quantity), 0) AS BIGINT) FROM order_items i \
                 JOIN orders o ON o.id = i.order_id WHERE i.listing_id = '{listing}' \
                 AND o.status NOT IN ('cancelled', 'rejected', 'refunded')"
            ))
            .await;
        assert!(stock >= 0);
        assert_eq!(stock, moved, "stock is the sum of its movements");
        assert_eq!(
            stock + held,
            STOCK,
            "each unit on the shelf or in one live order"
        );
    }
}

/// One release per line of each expired order, none twice, none for paid ones. Returns how
/// many orders expired.
async fn no_reservation_released_twice(c: &Cluster, unpaid: usize) -> i64 {
    let doubled = c
        .strings(
            "SELECT reference_id FROM stock_movements WHERE kind = 'release' \
             GROUP BY reference_id, listing_id HAVING COUNT(*) > 1",
        )
        .await;
    assert!(doubled.is_empty(), "released twice: {doubled:?}");
    let expired = c
        .number("SELECT COUNT(*) FROM orders WHERE status = 'cancelled'")
        .await;
    let releases = c
        .number("SELECT COUNT(*) FROM stock_movements WHERE kind = 'release'")
        .await;
    assert_eq!(expired as usize, unpaid);
    assert_eq!(releases, expired, "each order has one line, released once");
    expired
}

/// Each paid bill confirmed once in the journal; the journal balanced.
async fn no_payment_applied_twice(c: &Cluster, paid: usize) {
    let bills = c
        .number("SELECT COUNT(*) FROM payments WHERE status = 'paid'")
        .await;
    let postings = c
        .number(
            "SELECT COUNT(*) FROM ledger_transactions WHERE natural_key LIKE 'payment:%:confirmed'",
        )
        .await;
    let receipts = c
        .number("SELECT COUNT(*) FROM payment_receipts WHERE outcome = 'applied'")
        .await;
    assert_eq!(
        (bills as usize, postings as usize, receipts as usize),
        (paid, paid, paid)
    );
    let sum = c
        .number("SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM ledger_entries")
        .await;
    assert_eq!(sum, 0, "every journal transaction sums to zero");
}

/// The one batch pays exactly what completed orders made owed, one item to each merchant with
/// a completed order.
async fn no_payable_paid_out_twice(c: &Cluster, shops: &[Shop]) {
    let owed = c
        .number("SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM ledger_payable_movements")
        .await;
    let in_batches = c
        .number("SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM payout_items")
        .await;
    let unclaimed = c
        .number(
            "SELECT COUNT(*) FROM ledger_payable_movements m \
             LEFT JOIN payable_watermarks w ON w.merchant_id = m.merchant_id \
             WHERE w.seq IS NULL OR m.seq > w.seq",
        )
        .await;
    assert!(owed > 0);
    assert_eq!((in_batches, unclaimed), (owed, 0));
    let twice = c
        .strings("SELECT merchant_id FROM payout_items GROUP BY merchant_id HAVING COUNT(*) > 1")
        .await;
    assert!(twice.is_empty(), "paid twice: {twice:?}");
    let mut paid_to = c.strings("SELECT merchant_id FROM payout_items").await;
    let mut completed_at = c
        .strings("SELECT DISTINCT merchant_id FROM orders WHERE status = 'completed'")
        .await;
    paid_to.sort();
    completed_at.sort();
    assert_eq!(paid_to, completed_at);
    assert!(
        paid_to
            .iter()
            .all(|m| shops.iter().any(|s| &s.merchant == m))
    );
}

/// Each outbox row is one `.eml` file in exactly one process's mail directory, with its own
/// Message-ID. Returns how many each process sent.
async fn no_mail_sent_twice(c: &Cluster) -> String {
    let rows: HashSet<String> = c
        .strings("SELECT id FROM mail_outbox")
        .await
        .into_iter()
        .collect();
    let mut files: HashMap<String, usize> = HashMap::new();
    let mut message_ids = HashSet::new();
    let mut per_process = String::new();
    for (p, dir) in c.mail_dirs.iter().enumerate() {
        let mut count = 0;
        for entry in std::fs::read_dir(dir).into_iter().flatten() {
            let path = entry.unwrap().path();
            if path.extension().and_then(|e| e.to_str()) != Some("eml") {
                continue;
            }
            let stem = path.file_stem().unwrap().to_str().unwrap().to_owned();
            *files.entry(stem).or_default() += 1;
            let text = std::fs::read_to_string(&path).unwrap();
            let message_id = text
                .lines()
                .find_map(|l| l.strip_prefix("Message-ID: "))
                .unwrap_or_else(|| panic!("no Message-ID in {}", path.display()))
                .to_owned();
            assert!(message_ids.insert(message_id), "a Message-ID twice");
            count += 1;
        }
        let _ = write!(per_process, "p{p}={count} ");
    }
    assert!(!rows.is_empty());
    assert!(files.values().all(|n| *n == 1), "a message was sent twice");
    assert_eq!(files.into_keys().collect::<HashSet<_>>(), rows);
    per_process.trim_end().to_owned()
}
