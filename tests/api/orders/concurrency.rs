//! Collisions on purpose: many buyers for the last units, carts that cross, callbacks and
//! workers racing. The invariants must hold whatever the interleaving.

use futures_util::future::join_all;
use peken_tests::spawn_app;

use crate::fixtures::orders::{
    any_commodity, buyer, callback, cart, checkout, movements_sum, scalar, shop, shop_with_listing,
    stock_of,
};

#[tokio::test]
async fn two_hundred_buyers_for_thirty_seven_units_sell_exactly_thirty_seven() {
    let app = spawn_app().await;
    let (_shop, hot) = shop_with_listing(&app, 15_000, 37).await;
    let mut buyers = Vec::new();
    for _ in 0..10 {
        buyers.push(buyer(&app).await);
    }
    let body = cart(&[(&hot, 1)]);
    let attempts = (0..200).map(|i| {
        let b = &buyers[i % buyers.len()];
        let key = format!("rush-{i}");
        let body = &body;
        let app = &app;
        async move { checkout(app, b, &key, body).await }
    });
    let replies = join_all(attempts).await;
    let sold = replies.iter().filter(|r| r.status.as_u16() == 201).count();
    let refused = replies
        .iter()
        .filter(|r| r.status.as_u16() == 409 && r.code() == "out_of_stock")
        .count();
    assert_eq!(sold, 37, "exactly the stock is sold");
    assert_eq!(refused, 163, "everyone else hears out_of_stock");
    assert_eq!(stock_of(&app, &hot).await, 0);
    assert_eq!(movements_sum(&app, &hot).await, 0);
}

#[tokio::test]
async fn carts_sharing_listings_in_opposite_order_never_deadlock() {
    let app = spawn_app().await;
    let s = shop(&app, "toko_kelontong", "35.78.03.1001").await;
    let a = s
        .list(&app, &any_commodity(&app, None, None).await, 1_000, 1_000)
        .await;
    let b = s
        .list(&app, &any_commodity(&app, None, None).await, 2_000, 1_000)
        .await;
    let buyers = [buyer(&app).await, buyer(&app).await];
    let forward = cart(&[(&a, 1), (&b, 1)]);
    let backward = cart(&[(&b, 1), (&a, 1)]);
    let attempts = (0..60).map(|i| {
        let body = if i % 2 == 0 { &forward } else { &backward };
        let buyer = &buyers[i % 2];
        let key = format!("cross-{i}");
        let app = &app;
        async move { checkout(app, buyer, &key, body).await }
    });
    let replies = join_all(attempts).await;
    assert!(
        replies.iter().all(|r| r.status.as_u16() == 201),
        "every crossing cart succeeds"
    );
    assert_eq!(stock_of(&app, &a).await, 940);
    assert_eq!(stock_of(&app, &b).await, 940);
}

#[tokio::test]
async fn the_same_callback_twenty_times_at_once_pays_once() {
    let app = spawn_app().await;
    let (_s, beras) = shop_with_listing(&app, 11_000, 10).await;
    let buyer = buyer(&app).await;
    let reply = checkout(&app, &buyer, "once", &cart(&[(&beras, 2)]))
        .await
        .expect(201);
    let payment_id = reply.body["payment"]["id"].as_str().unwrap().to_owned();
    let calls = (0..20).map(|_| callback(&app, &payment_id, 22_000, "bank-same"));
    let replies = join_all(calls).await;
    assert!(
        replies.iter().all(|r| r.status.as_u16() == 200),
        "a replay is a 200"
    );
    let applied = replies
        .iter()
        .filter(|r| r.body["outcome"] == "applied")
        .count();
    assert_eq!(applied, 1, "one payment");
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) AS n FROM payment_receipts").await,
        1
    );
    let paid_events = scalar(
        &app,
        "SELECT COUNT(*) AS n FROM order_events WHERE to_status = 'paid'",
    )
    .await;
    assert_eq!(paid_events, 1, "one status change");
}

#[tokio::test]
async fn an_expired_reservation_returns_its_stock_once_with_two_workers() {
    let app = spawn_app().await;
    let (_s, beras) = shop_with_listing(&app, 9_000, 20).await;
    let buyer = buyer(&app).await;
    for i in 0..5 {
        checkout(&app, &buyer, &format!("exp-{i}"), &cart(&[(&beras, 2)]))
            .await
            .expect(201);
    }
    assert_eq!(stock_of(&app, &beras).await, 10);
    app.clock.advance(chrono::Duration::hours(3));
    let (a, b) = tokio::join!(
        peken_order::workers::run_once(&app.state),
        peken_order::workers::run_once(&app.state)
    );
    assert_eq!(
        a.unwrap() + b.unwrap(),
        5,
        "each bill expired by exactly one worker"
    );
    assert_eq!(stock_of(&app, &beras).await, 20);
    assert_eq!(movements_sum(&app, &beras).await, 20);
    let releases = scalar(&app, &format!("SELECT COUNT(*) AS n FROM stock_movements WHERE listing_id = '{beras}' AND kind = 'release'")).await;
    assert_eq!(releases, 5);
}
