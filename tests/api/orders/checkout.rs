//! Checkout: splitting, pricing, idempotency, refusals, payment callbacks.

use peken_tests::spawn_app;
use serde_json::json;

use crate::fixtures::orders::{
    any_commodity, buyer, callback, cart, checkout, movements_sum, refreshed, scalar, shop,
    shop_with_listing, stock_of,
};

#[tokio::test]
async fn a_cart_from_two_shops_becomes_two_orders_and_one_payment() {
    let app = spawn_app().await;
    let (shop_a, beras) = shop_with_listing(&app, 14_000, 50).await;
    let gula_c = any_commodity(&app, None, None).await;
    let gula = shop_a.list(&app, &gula_c, 17_500, 20).await;
    let (shop_b, minyak) = shop_with_listing(&app, 15_700, 10).await;
    let buyer = buyer(&app).await;

    let body = cart(&[(&beras, 5), (&gula, 2), (&minyak, 3), (&beras, 1)]);
    let reply = checkout(&app, &buyer, "cart-1", &body).await.expect(201);
    let orders = reply.body["orders"].as_array().unwrap();
    assert_eq!(orders.len(), 2, "one order per shop");
    let total_of = |shop: &str| {
        orders.iter().find(|o| o["merchant_id"] == shop).unwrap()["total_amount"]
            .as_i64()
            .unwrap()
    };
    assert_eq!(
        total_of(&shop_a.id),
        6 * 14_000 + 2 * 17_500,
        "duplicate lines merge"
    );
    assert_eq!(total_of(&shop_b.id), 3 * 15_700);
    assert_eq!(
        reply.body["payment"]["amount"],
        6 * 14_000 + 2 * 17_500 + 3 * 15_700
    );
    assert!(reply.body["payment"]["va_number"].as_str().unwrap().len() <= 24);
    assert_eq!(stock_of(&app, &beras).await, 44);
    assert_eq!(stock_of(&app, &minyak).await, 7);
    for l in [&beras, &gula, &minyak] {
        assert_eq!(stock_of(&app, l).await, movements_sum(&app, l).await);
    }

    // The same key and body: the first answer again, and nothing reserved twice.
    let again = checkout(&app, &buyer, "cart-1", &body).await.expect(201);
    assert_eq!(again.text, reply.text);
    assert_eq!(stock_of(&app, &beras).await, 44);
    // The same key with another body is refused.
    checkout(&app, &buyer, "cart-1", &cart(&[(&beras, 1)]))
        .await
        .expect_problem(409, "idempotency_key_reused");
    // Without a key checkout is refused.
    app.post("/api/v1/checkout", Some(&buyer.token), &body)
        .await
        .expect_problem(400, "idempotency_key_required");
}

#[tokio::test]
async fn bad_carts_are_refused_with_stable_codes_and_reserve_nothing() {
    let app = spawn_app().await;
    let (_shop, beras) = shop_with_listing(&app, 14_000, 5).await;
    let buyer = buyer(&app).await;

    let r = checkout(&app, &buyer, "k1", &cart(&[(&beras, 6)]))
        .await
        .expect_problem(409, "out_of_stock");
    assert_eq!(r.body["context"]["listing_id"], beras.as_str());
    assert_eq!(r.body["context"]["available"], 5);
    // Two lines, the second short: the whole cart is refused, naming the short one, and the
    // first line's units stay on sale.
    let (_other, gula) = shop_with_listing(&app, 17_000, 2).await;
    let r = checkout(&app, &buyer, "k1b", &cart(&[(&beras, 1), (&gula, 3)]))
        .await
        .expect_problem(409, "out_of_stock");
    assert_eq!(r.body["context"]["listing_id"], gula.as_str());
    assert_eq!(r.body["context"]["available"], 2);
    assert_eq!(stock_of(&app, &gula).await, 2);
    checkout(&app, &buyer, "k2", &cart(&[]))
        .await
        .expect_problem(422, "empty_cart");
    let r = checkout(&app, &buyer, "k3", &cart(&[(&beras, 0)]))
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(
        r.field_codes(),
        vec![(
            "items[0].quantity".to_owned(),
            "invalid_quantity".to_owned()
        )]
    );
    let fractional = json!({"items": [{"listing_id": beras, "quantity": 1.5}], "fulfilment": {"method": "pickup"}, "payment_method": "va"});
    checkout(&app, &buyer, "k4", &fractional)
        .await
        .expect_problem(422, "invalid_body");
    checkout(&app, &buyer, "k5", &cart(&[("no-such-listing", 1)]))
        .await
        .expect_problem(422, "listing_not_found");
    let delivery = json!({"items": [{"listing_id": beras, "quantity": 1}], "fulfilment": {"method": "delivery"}, "payment_method": "qris"});
    let r = checkout(&app, &buyer, "k6", &delivery)
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(r.field_codes()[0].1, "address_required");
    assert_eq!(stock_of(&app, &beras).await, 5, "nothing was reserved");
    assert_eq!(scalar(&app, "SELECT COUNT(*) AS n FROM orders").await, 0);

    // Only buyers check out.
    let admin = app.admin().await;
    checkout(&app, &admin, "k7", &cart(&[(&beras, 1)]))
        .await
        .expect_problem(403, "forbidden");
}

#[tokio::test]
async fn ceilings_caps_and_daily_limits_refuse_checkout() {
    let app = spawn_app().await;
    let s = shop(&app, "toko_kelontong", "35.78.03.1001").await;
    let minyak_c = any_commodity(&app, Some(15_700), Some(2)).await;
    let minyak = s.list(&app, &minyak_c, 15_700, 100).await;
    let buyer = buyer(&app).await;

    // Rationing: two a day, counted across checkouts.
    checkout(&app, &buyer, "d1", &cart(&[(&minyak, 2)]))
        .await
        .expect(201);
    let r = checkout(&app, &buyer, "d2", &cart(&[(&minyak, 1)]))
        .await
        .expect_problem(409, "daily_limit_exceeded");
    assert_eq!(r.body["context"]["limit"], 2);
    // The next WIB day the buyer may buy again.
    app.clock.advance(chrono::Duration::days(1));
    let buyer = refreshed(&app, &buyer).await;
    let admin = app.admin().await;
    let next = checkout(&app, &buyer, "d3", &cart(&[(&minyak, 2)]))
        .await
        .expect(201);

    // A lowered ceiling makes the listing unsellable until repriced.
    app.patch(
        &format!("/api/v1/admin/commodities/{minyak_c}"),
        Some(&admin.token),
        &json!({"het_price": 15_000}),
    )
    .await
    .expect(200);
    app.clock.advance(chrono::Duration::days(1));
    let buyer = refreshed(&app, &buyer).await;
    let admin = app.admin().await;
    checkout(&app, &buyer, "d4", &cart(&[(&minyak, 1)]))
        .await
        .expect_problem(409, "price_above_het");

    // A shop at its monthly cap takes no new orders.
    let (capped_shop, beras) = shop_with_listing(&app, 10_000, 1_000).await;
    app.patch(
        "/api/v1/admin/policies",
        Some(&admin.token),
        &json!({"turnover_cap_amount": 50_000}),
    )
    .await
    .expect(200);
    let first = checkout(&app, &buyer, "c1", &cart(&[(&beras, 5)]))
        .await
        .expect(201);
    let payment = &first.body["payment"];
    callback(
        &app,
        payment["id"].as_str().unwrap(),
        payment["amount"].as_i64().unwrap(),
        "cap-ref",
    )
    .await
    .expect(200);
    let r = checkout(&app, &buyer, "c2", &cart(&[(&beras, 1)]))
        .await
        .expect_problem(409, "merchant_capped");
    assert_eq!(r.body["context"]["merchant_id"], capped_shop.id.as_str());
    drop(next);
}

#[tokio::test]
async fn callbacks_are_signed_checked_and_replay_safe() {
    let app = spawn_app().await;
    let (_s, beras) = shop_with_listing(&app, 12_000, 10).await;
    let buyer = buyer(&app).await;
    let reply = checkout(&app, &buyer, "p1", &cart(&[(&beras, 2)]))
        .await
        .expect(201);
    let payment_id = reply.body["payment"]["id"].as_str().unwrap();
    let order_id = reply.body["orders"][0]["id"].as_str().unwrap();

    // A forged signature is refused and records nothing.
    let res = app
        .client
        .post(app.url("/api/v1/payments/callback"))
        .header("X-Peken-Signature", "sha256=00")
        .body(json!({"payment_id": payment_id, "provider_reference": "x", "amount": 24_000, "paid_at": chrono::Utc::now()}).to_string())
        .send()
        .await
        .unwrap();
    peken_tests::TestApp::reply(res)
        .await
        .expect_problem(401, "invalid_signature");
    // A wrong amount is refused and records nothing.
    callback(&app, payment_id, 23_999, "bank-1")
        .await
        .expect_problem(422, "amount_mismatch");
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) AS n FROM payment_receipts").await,
        0
    );

    let ok = callback(&app, payment_id, 24_000, "bank-1")
        .await
        .expect(200);
    assert_eq!(ok.body["outcome"], "applied");
    let again = callback(&app, payment_id, 24_000, "bank-1")
        .await
        .expect(200);
    assert_eq!(again.body["outcome"], "replayed");
    let order = app
        .get(&format!("/api/v1/orders/{order_id}"), Some(&buyer.token))
        .await
        .expect(200);
    assert_eq!(order.body["status"], "paid");
    assert!(order.body["paid_at"].is_string());
    // A second, different transfer for the same bill is money owed back, not lost.
    let dup = callback(&app, payment_id, 24_000, "bank-2")
        .await
        .expect(200);
    assert_eq!(dup.body["outcome"], "refund_due");
    assert_eq!(
        scalar(
            &app,
            "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS n FROM refunds"
        )
        .await,
        24_000
    );
    // Stock: reserved at checkout, sold at payment; movements still sum to the stock.
    assert_eq!(stock_of(&app, &beras).await, 8);
    assert_eq!(movements_sum(&app, &beras).await, 8);
    let sales = scalar(&app, &format!("SELECT COUNT(*) AS n FROM stock_movements WHERE listing_id = '{beras}' AND kind = 'sale'")).await;
    assert_eq!(sales, 1);
}

#[tokio::test]
async fn checkout_is_rate_limited_per_buyer() {
    let app = peken_tests::spawn_app_with(peken_tests::Options {
        vars: vec![("PEKEN_CHECKOUT_PER_MINUTE".into(), "3".into())],
        ..peken_tests::Options::default()
    })
    .await;
    let (_s, beras) = shop_with_listing(&app, 1_000, 100).await;
    let buyer = buyer(&app).await;
    for i in 0..3 {
        checkout(&app, &buyer, &format!("rl{i}"), &cart(&[(&beras, 1)]))
            .await
            .expect(201);
    }
    let limited = checkout(&app, &buyer, "rl3", &cart(&[(&beras, 1)]))
        .await
        .expect_problem(429, "too_many_requests");
    assert!(limited.headers.get("retry-after").is_some());
    // Another buyer is not affected.
    let other = crate::fixtures::orders::buyer(&app).await;
    checkout(&app, &other, "rl4", &cart(&[(&beras, 1)]))
        .await
        .expect(201);
}
