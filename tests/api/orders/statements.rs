//! What a purchase costs the database: the SQL statements a checkout and its payment callback
//! send (the server's own `peken_db_statements_total`; `BEGIN` and `COMMIT` not counted). On
//! PostgreSQL, the production database, each step is a statement for the whole cart; SQLite
//! takes some of them one by one, where a statement costs no round trip.

use peken_tests::{TestApp, on_postgres, spawn_app};

use crate::fixtures::orders::{any_commodity, buyer, callback, cart, checkout, shop};

async fn statements(app: &TestApp) -> u64 {
    app.metrics()
        .await
        .lines()
        .find_map(|l| l.strip_prefix("peken_db_statements_total "))
        .and_then(|v| v.trim().parse().ok())
        .expect("the statement counter")
}

/// Statements of a checkout of `lines` and of its callback.
async fn purchase(app: &TestApp, lines: &[(&str, i64)], key: &str) -> (u64, u64) {
    let asn = buyer(app).await;
    let body = cart(lines);
    // A first purchase by the same buyer, so that what happens once per buyer (the month's
    // spend row, the buyer's count) is not what is measured.
    let warm = checkout(app, &asn, &format!("{key}-warm"), &cart(&lines[..1]))
        .await
        .expect(201);
    callback(
        app,
        warm.body["payment"]["id"].as_str().unwrap(),
        warm.body["payment"]["amount"].as_i64().unwrap(),
        &format!("{key}-warm-ref"),
    )
    .await
    .expect(200);
    let before = statements(app).await;
    let reply = checkout(app, &asn, key, &body).await.expect(201);
    let after_checkout = statements(app).await;
    callback(
        app,
        reply.body["payment"]["id"].as_str().unwrap(),
        reply.body["payment"]["amount"].as_i64().unwrap(),
        &format!("{key}-ref"),
    )
    .await
    .expect(200);
    let after_callback = statements(app).await;
    (after_checkout - before, after_callback - after_checkout)
}

#[tokio::test]
async fn a_purchase_costs_a_fixed_handful_of_statements_whatever_the_cart() {
    let app = spawn_app().await;
    let a = shop(&app, "toko_kelontong", "35.78.03.1001").await;
    let b = shop(&app, "toko_kelontong", "35.78.03.1001").await;
    let beras = any_commodity(&app, Some(1_000_000), None).await;
    let gula = any_commodity(&app, Some(1_000_000), None).await;
    let a1 = a.list(&app, &beras, 14_000, 100).await;
    let a2 = a.list(&app, &gula, 17_000, 100).await;
    let b1 = b.list(&app, &beras, 14_500, 100).await;

    let one = purchase(&app, &[(&a1, 1)], "one").await;
    let three = purchase(&app, &[(&a1, 2), (&a2, 1), (&b1, 3)], "three").await;
    println!("statements per purchase: one item {one:?}, three items from two shops {three:?}");
    // A bigger cart costs the same statements: every step covers all its lines and shops.
    assert_eq!(
        one, three,
        "one item {one:?} against three from two shops {three:?}"
    );
    // On PostgreSQL: the key with the buyer's lock, holdings, listings, stock, and the bill
    // with its orders, lines, events and answer; then the bill with its receipt, the orders with
    // their events and lines, the sales with the turnover, spend, buyers, shops and people, the
    // messages with the inbox, and the ledger.
    let (checkout_bound, callback_bound) = if on_postgres() { (5, 5) } else { (10, 19) };
    assert!(
        one.0 <= checkout_bound && one.1 <= callback_bound,
        "checkout {} (at most {checkout_bound}), callback {} (at most {callback_bound})",
        one.0,
        one.1
    );
}
