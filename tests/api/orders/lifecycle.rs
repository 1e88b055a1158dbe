//! The order state machine: who may do what from which state, and what each step does to stock
//! and money.

use peken_tests::{Options, spawn_app, spawn_app_with};
use serde_json::json;

use crate::fixtures::orders::{
    buyer, callback, cart, checkout, movements_sum, paid_order, refreshed, scalar,
    shop_with_listing, stock_of,
};

#[tokio::test]
async fn an_order_lives_from_payment_to_receipt_and_the_shop_is_owed() {
    let app = spawn_app().await;
    let (shop, beras) = shop_with_listing(&app, 14_000, 10).await;
    let buyer = buyer(&app).await;
    let (order_id, _, amount) = paid_order(&app, &buyer, &beras, 3).await;
    let path = |step: &str| format!("/api/v1/orders/{order_id}/{step}");

    // The buyer cannot ship, the shop cannot confirm receipt, a stranger sees nothing.
    app.post(&path("ship"), Some(&buyer.token), &json!({}))
        .await
        .expect_problem(403, "forbidden");
    let (other_shop, _) = shop_with_listing(&app, 1_000, 1).await;
    app.post(&path("accept"), Some(&other_shop.owner.token), &json!({}))
        .await
        .expect_problem(404, "not_found");
    app.get(
        &format!("/api/v1/orders/{order_id}"),
        Some(&other_shop.owner.token),
    )
    .await
    .expect_problem(404, "not_found");
    // Out of order: shipping before accepting.
    let r = app
        .post(&path("ship"), Some(&shop.owner.token), &json!({}))
        .await
        .expect_problem(409, "invalid_transition");
    assert_eq!(r.body["context"]["status"], "paid");

    app.post(&path("accept"), Some(&shop.owner.token), &json!({}))
        .await
        .expect(200);
    // Accepted orders are no longer the buyer's to cancel.
    app.post(&path("cancel"), Some(&buyer.token), &json!({}))
        .await
        .expect_problem(409, "invalid_transition");
    app.post(&path("ship"), Some(&shop.owner.token), &json!({}))
        .await
        .expect(200);
    let done = app
        .post(&path("receipt"), Some(&buyer.token), &json!({}))
        .await
        .expect(200);
    assert_eq!(done.body["status"], "completed");
    let history: Vec<&str> = done.body["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["to_status"].as_str().unwrap())
        .collect();
    assert_eq!(
        history,
        [
            "awaiting_payment",
            "paid",
            "accepted",
            "shipped",
            "completed"
        ]
    );

    let payable =
        peken_ledger::read::balance_of(&app.state.db, &format!("merchant_payable:{}", shop.id))
            .await
            .unwrap();
    assert_eq!(
        payable.abs(),
        amount,
        "the shop is owed the whole order (fees 0 by default)"
    );
    assert_eq!(
        stock_of(&app, &beras).await,
        movements_sum(&app, &beras).await
    );

    // The shop sees the order among its own; the buyer among theirs.
    let mine = app
        .get("/api/v1/orders?status=completed", Some(&shop.owner.token))
        .await
        .expect(200);
    assert_eq!(mine.body["items"].as_array().unwrap().len(), 1);
    let theirs = app
        .get("/api/v1/orders", Some(&buyer.token))
        .await
        .expect(200);
    assert_eq!(theirs.body["items"][0]["id"], order_id.as_str());
}

#[tokio::test]
async fn cancelling_and_rejecting_return_stock_once_and_refund_paid_orders() {
    let app = spawn_app().await;
    let (shop, beras) = shop_with_listing(&app, 10_000, 10).await;
    let buyer = buyer(&app).await;

    // Unpaid, cancelled by the buyer: stock back, bill closed.
    let unpaid = checkout(&app, &buyer, "u1", &cart(&[(&beras, 4)]))
        .await
        .expect(201);
    let unpaid_id = unpaid.body["orders"][0]["id"].as_str().unwrap();
    assert_eq!(stock_of(&app, &beras).await, 6);
    app.post(
        &format!("/api/v1/orders/{unpaid_id}/cancel"),
        Some(&buyer.token),
        &json!({}),
    )
    .await
    .expect(200);
    assert_eq!(stock_of(&app, &beras).await, 10);
    app.post(
        &format!("/api/v1/orders/{unpaid_id}/cancel"),
        Some(&buyer.token),
        &json!({}),
    )
    .await
    .expect_problem(409, "invalid_transition");
    assert_eq!(stock_of(&app, &beras).await, 10, "released exactly once");
    // A transfer that arrives for the cancelled bill is owed back.
    let late = callback(
        &app,
        unpaid.body["payment"]["id"].as_str().unwrap(),
        40_000,
        "late-1",
    )
    .await
    .expect(200);
    assert_eq!(late.body["outcome"], "refund_due");

    // Paid, then cancelled before acceptance: refunded. A retried cancel with the same
    // Idempotency-Key answers the first response again instead of a conflict.
    let (paid_id, _, amount) = paid_order(&app, &buyer, &beras, 2).await;
    let cancel_path = format!("/api/v1/orders/{paid_id}/cancel");
    let empty = json!({});
    let cancel = || {
        app.send(
            reqwest::Method::POST,
            &cancel_path,
            Some(&buyer.token),
            Some(&empty),
            &[("Idempotency-Key", "cancel-once")],
        )
    };
    let first = cancel().await.expect(200);
    let again = cancel().await.expect(200);
    assert_eq!(first.text, again.text);
    assert_eq!(first.body["status"], "cancelled");
    assert_eq!(stock_of(&app, &beras).await, 10);
    // Paid, then rejected by the shop: refunded too.
    let (rejected_id, _, amount2) = paid_order(&app, &buyer, &beras, 1).await;
    app.post(
        &format!("/api/v1/orders/{rejected_id}/reject"),
        Some(&shop.owner.token),
        &json!({"reason": ""}),
    )
    .await
    .expect_problem(422, "validation_failed");
    let r = app
        .post(
            &format!("/api/v1/orders/{rejected_id}/reject"),
            Some(&shop.owner.token),
            &json!({"reason": "stok habis"}),
        )
        .await
        .expect(200);
    assert_eq!(r.body["status"], "rejected");
    assert_eq!(stock_of(&app, &beras).await, 10);
    assert_eq!(movements_sum(&app, &beras).await, 10);
    let refunded = scalar(&app, "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS n FROM refunds WHERE order_id IS NOT NULL").await;
    assert_eq!(refunded, amount + amount2);
    let releases = scalar(&app, &format!("SELECT COUNT(*) AS n FROM stock_movements WHERE listing_id = '{beras}' AND kind = 'release'")).await;
    assert_eq!(releases, 3);
}

#[tokio::test]
async fn disputes_go_to_an_admin_and_shipped_orders_complete_by_themselves() {
    let app = spawn_app().await;
    let (shop, beras) = shop_with_listing(&app, 10_000, 10).await;
    let buyer = buyer(&app).await;
    let admin = app.admin().await;
    let ship_it = |id: String| {
        let app = &app;
        let token = shop.owner.token.clone();
        async move {
            app.post(
                &format!("/api/v1/orders/{id}/accept"),
                Some(&token),
                &json!({}),
            )
            .await
            .expect(200);
            app.post(
                &format!("/api/v1/orders/{id}/ship"),
                Some(&token),
                &json!({}),
            )
            .await
            .expect(200);
        }
    };
    let (disputed, _, amount) = paid_order(&app, &buyer, &beras, 1).await;
    ship_it(disputed.clone()).await;
    app.post(
        &format!("/api/v1/orders/{disputed}/dispute"),
        Some(&buyer.token),
        &json!({"reason": "beras basah"}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/admin/orders/{disputed}/dispute-resolution"),
        Some(&buyer.token),
        &json!({"resolution": "refunded", "reason": "x"}),
    )
    .await
    .expect_problem(403, "forbidden");
    let resolved = app
        .post(
            &format!("/api/v1/admin/orders/{disputed}/dispute-resolution"),
            Some(&admin.token),
            &json!({"resolution": "refunded", "reason": "barang rusak"}),
        )
        .await
        .expect(200);
    assert_eq!(resolved.body["status"], "refunded");
    assert_eq!(
        scalar(
            &app,
            &format!("SELECT amount AS n FROM refunds WHERE order_id = '{disputed}'")
        )
        .await,
        amount
    );

    let (quiet, _, _) = paid_order(&app, &buyer, &beras, 1).await;
    ship_it(quiet.clone()).await;
    assert_eq!(
        peken_order::workers::run_once(&app.state).await.unwrap(),
        0,
        "the window is still open"
    );
    app.clock.advance(chrono::Duration::hours(73));
    let buyer = refreshed(&app, &buyer).await;
    assert_eq!(peken_order::workers::run_once(&app.state).await.unwrap(), 1);
    let order = app
        .get(&format!("/api/v1/orders/{quiet}"), Some(&buyer.token))
        .await
        .expect(200);
    assert_eq!(order.body["status"], "completed");
}

#[tokio::test]
async fn unpaid_checkouts_expire_and_a_manual_proof_holds_them() {
    let app = spawn_app_with(Options::default()).await;
    let (_shop, beras) = shop_with_listing(&app, 10_000, 10).await;
    let buyer = buyer(&app).await;
    let treasury = app.staff("treasury", None).await;
    let lapsed = checkout(&app, &buyer, "e1", &cart(&[(&beras, 3)]))
        .await
        .expect(201);
    let proofed = checkout(&app, &buyer, "e2", &cart(&[(&beras, 2)]))
        .await
        .expect(201);
    let proofed_payment = proofed.body["payment"]["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/payments/{proofed_payment}/proof"),
        Some(&buyer.token),
        &json!({"transfer_reference": "TRF-778899", "paid_at": chrono::Utc::now()}),
    )
    .await
    .expect(200);
    assert_eq!(stock_of(&app, &beras).await, 5);

    app.clock.advance(chrono::Duration::hours(3));
    let buyer = refreshed(&app, &buyer).await;
    let treasury = refreshed(&app, &treasury).await;
    assert_eq!(peken_order::workers::run_once(&app.state).await.unwrap(), 1);
    assert_eq!(
        stock_of(&app, &beras).await,
        8,
        "only the lapsed checkout gave its stock back"
    );
    let order = app
        .get(
            &format!(
                "/api/v1/orders/{}",
                lapsed.body["orders"][0]["id"].as_str().unwrap()
            ),
            Some(&buyer.token),
        )
        .await
        .expect(200);
    assert_eq!(order.body["status"], "cancelled");
    // A late callback for the expired bill is recorded for refund, not lost.
    let late = callback(
        &app,
        lapsed.body["payment"]["id"].as_str().unwrap(),
        30_000,
        "late-2",
    )
    .await
    .expect(200);
    assert_eq!(late.body["outcome"], "refund_due");

    // Two treasury users verify the proof: the bill is paid.
    let second = app.staff("treasury", None).await;
    app.post(
        &format!("/api/v1/treasury/payments/{proofed_payment}/verification"),
        Some(&buyer.token),
        &json!({"decision": "approve"}),
    )
    .await
    .expect_problem(403, "forbidden");
    let v = app
        .post(
            &format!("/api/v1/treasury/payments/{proofed_payment}/verification"),
            Some(&treasury.token),
            &json!({"decision": "approve"}),
        )
        .await
        .expect(200);
    assert_eq!(v.body["outcome"], "approval_proposed");
    assert_eq!(v.body["payment"]["status"], "pending");
    let v = app
        .post(
            &format!("/api/v1/treasury/payments/{proofed_payment}/verification"),
            Some(&second.token),
            &json!({"decision": "approve"}),
        )
        .await
        .expect(200);
    assert_eq!(v.body["outcome"], "applied");
    assert_eq!(v.body["payment"]["status"], "paid");
    app.post(
        &format!("/api/v1/treasury/payments/{proofed_payment}/verification"),
        Some(&treasury.token),
        &json!({"decision": "approve"}),
    )
    .await
    .expect_problem(409, "no_proof_to_verify");
    assert_eq!(
        stock_of(&app, &beras).await,
        movements_sum(&app, &beras).await
    );
}

#[tokio::test]
async fn treasury_pays_refunds_back_once() {
    let app = spawn_app().await;
    let (_shop, beras) = shop_with_listing(&app, 10_000, 10).await;
    let buyer = buyer(&app).await;
    let treasury = app.staff("treasury", None).await;
    let (order_id, _, amount) = paid_order(&app, &buyer, &beras, 2).await;
    app.post(
        &format!("/api/v1/orders/{order_id}/cancel"),
        Some(&buyer.token),
        &json!({}),
    )
    .await
    .expect(200);
    let due = app
        .get("/api/v1/treasury/refunds?status=due", Some(&treasury.token))
        .await
        .expect(200);
    let items = due.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["amount"], amount);
    let id = items[0]["id"].as_str().unwrap();
    app.get("/api/v1/treasury/refunds", Some(&buyer.token))
        .await
        .expect_problem(403, "forbidden");
    let path = format!("/api/v1/treasury/refunds/{id}/payment");
    let proposed = app
        .post(
            &path,
            Some(&treasury.token),
            &json!({"reference": "TRF-REFUND-1"}),
        )
        .await
        .expect(200);
    assert_eq!(proposed.body["status"], "payment_proposed");
    // Paying by hand takes a second treasury user.
    app.post(
        &format!("{path}/approval"),
        Some(&treasury.token),
        &json!({}),
    )
    .await
    .expect_problem(403, "four_eyes_required");
    let second = app.staff("treasury", None).await;
    let paid = app
        .post(&format!("{path}/approval"), Some(&second.token), &json!({}))
        .await
        .expect(200);
    assert_eq!(paid.body["status"], "paid");
    assert_eq!(paid.body["payment_reference"], "TRF-REFUND-1");
    app.post(
        &path,
        Some(&treasury.token),
        &json!({"reference": "TRF-REFUND-1"}),
    )
    .await
    .expect_problem(409, "refund_already_paid");
    let owed = peken_ledger::read::balance_of(&app.state.db, "refunds_payable")
        .await
        .unwrap();
    assert_eq!(owed, 0, "nothing is owed back any more");
    let left = app
        .get("/api/v1/treasury/refunds?status=due", Some(&treasury.token))
        .await
        .expect(200);
    assert!(left.body["items"].as_array().unwrap().is_empty());
}
