//! Partial fulfilment: a shop accepts an order with some units short; the shortfall is refunded
//! through the ledger, the ASN's spend drops by it, the short units go back on the shelf, the
//! buyer is told, and completion pays the shop for what it supplied.

use peken_tests::{TestApp, User, on_postgres, spawn_app};
use serde_json::{Value, json};

use crate::fixtures::orders::{
    Shop, any_commodity, buyer, callback, cart, checkout, movements_sum, scalar, shop, stock_of,
    unique,
};

async fn balance(app: &TestApp, account: &str) -> i64 {
    peken_ledger::read::balance_of(&app.state.db, account)
        .await
        .unwrap()
}

/// The basis-point share of an amount, half up (what the ledger's split must give).
fn share(amount: i64, bps: i64) -> i64 {
    (amount * bps + 5_000) / 10_000
}

/// A shop in Rungkut with two listings: (shop, beras at 14,000 × 10, minyak at 17,500 × 6).
async fn shop_with_two(app: &TestApp) -> (Shop, String, String) {
    let s = shop(app, "toko_kelontong", "35.78.03.1001").await;
    let beras = any_commodity(app, None, None).await;
    let minyak = any_commodity(app, None, None).await;
    let beras = s.list(app, &beras, 14_000, 10).await;
    let minyak = s.list(app, &minyak, 17_500, 6).await;
    (s, beras, minyak)
}

/// Checks out `lines` at one shop and pays; returns the order as checkout answered it.
async fn paid(app: &TestApp, buyer: &User, lines: &[(&str, i64)]) -> Value {
    let reply = checkout(app, buyer, &format!("k-{}", unique()), &cart(lines))
        .await
        .expect(201);
    let payment = reply.body["payment"]["id"].as_str().unwrap();
    let amount = reply.body["payment"]["amount"].as_i64().unwrap();
    callback(app, payment, amount, &format!("ref-{}", unique()))
        .await
        .expect(200);
    reply.body["orders"][0].clone()
}

/// The price of a line of a checked-out order.
fn price_of(order: &Value, listing: &str) -> i64 {
    order["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["listing_id"] == listing)
        .unwrap()["price"]
        .as_i64()
        .unwrap()
}

fn line_of<'a>(order: &'a Value, listing: &str) -> &'a Value {
    order["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["listing_id"] == listing)
        .unwrap()
}

async fn spent(app: &TestApp, asn: &User) -> i64 {
    app.get("/api/v1/mandate/me", Some(&asn.token))
        .await
        .expect(200)
        .body["spent_amount"]
        .as_i64()
        .unwrap()
}

fn accept_path(order: &str) -> String {
    format!("/api/v1/orders/{order}/accept")
}

async fn refunds_of(app: &TestApp, order: &str) -> i64 {
    scalar(
        app,
        &format!(
            "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS n FROM refunds WHERE order_id = '{order}'"
        ),
    )
    .await
}

#[tokio::test]
async fn a_partial_acceptance_refunds_the_short_units_and_completion_pays_the_rest() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    // A platform fee and PPh 22 collection, so the completion's split is of the reduced gross.
    let policies = app
        .patch(
            "/api/v1/admin/policies",
            Some(&admin.token),
            &json!({"platform_fee_bps": 150, "pph22_collection_enabled": true}),
        )
        .await
        .expect(200)
        .body;
    let tax_bps = policies["pph22_rate_bps"].as_i64().unwrap();
    let (shop, beras, minyak) = shop_with_two(&app).await;
    let asn = buyer(&app).await;
    let order = paid(&app, &asn, &[(&beras, 3), (&minyak, 4)]).await;
    let id = order["id"].as_str().unwrap();
    let total = order["total_amount"].as_i64().unwrap();
    let short_units = 3;
    let refund = short_units * price_of(&order, &minyak);
    assert_eq!(spent(&app, &asn).await, total);
    assert_eq!(stock_of(&app, &minyak).await, 2);
    let funds_before = balance(&app, "buyer_funds_held").await;

    let accepted = app
        .post(
            &accept_path(id),
            Some(&shop.owner.token),
            &json!({"short": [{"listing_id": minyak, "quantity": short_units}]}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(accepted["status"], "accepted");
    assert_eq!(accepted["total_amount"], total);
    assert_eq!(accepted["short_amount"], refund);
    assert_eq!(accepted["supplied_amount"], total - refund);
    assert_eq!(line_of(&accepted, &minyak)["quantity"], 4);
    assert_eq!(line_of(&accepted, &minyak)["short_quantity"], short_units);
    assert_eq!(line_of(&accepted, &beras)["short_quantity"], 0);
    let note = accepted["history"].as_array().unwrap().last().unwrap()["note"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(note.contains("short"), "{note}");
    // The buyer sees the same on a fresh read.
    let seen = app
        .get(&format!("/api/v1/orders/{id}"), Some(&asn.token))
        .await
        .expect(200)
        .body;
    assert_eq!(seen["short_amount"], refund);
    assert_eq!(line_of(&seen, &minyak)["short_quantity"], short_units);

    // Money: a refund row due, the ledger's refunds payable and buyer funds, the mandate.
    assert_eq!(refunds_of(&app, id).await, refund);
    assert_eq!(balance(&app, "refunds_payable").await, -refund);
    assert_eq!(
        balance(&app, "buyer_funds_held").await,
        funds_before + refund
    );
    assert_eq!(spent(&app, &asn).await, total - refund);
    // Stock: the short units are back, as a release movement of this order.
    assert_eq!(stock_of(&app, &minyak).await, 2 + short_units);
    assert_eq!(
        stock_of(&app, &minyak).await,
        movements_sum(&app, &minyak).await
    );
    assert_eq!(
        scalar(
            &app,
            &format!(
                "SELECT COUNT(*) AS n FROM stock_movements WHERE listing_id = '{minyak}' \
                 AND kind = 'release' AND units = {short_units} AND quantity_delta = {short_units} \
                 AND reference_id = '{id}'"
            ),
        )
        .await,
        1
    );
    assert_eq!(stock_of(&app, &beras).await, 7);
    // The buyer's inbox names the refund.
    let inbox = app
        .get("/api/v1/me/notifications", Some(&asn.token))
        .await
        .expect(200)
        .body;
    let notice = inbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["kind"] == "order_accepted")
        .expect("an acceptance notice")
        .clone();
    let shown = format!("Rp{}.{:03}", refund / 1_000, refund % 1_000);
    assert!(
        notice["body"].as_str().unwrap().contains(&shown),
        "{notice}"
    );
    let mailed = scalar(
        &app,
        &format!(
            "SELECT COUNT(*) AS n FROM mail_outbox WHERE dedupe_key = 'order:{id}:accepted' \
             AND body_text LIKE '%{shown} untuk barang tersebut dikembalikan%'"
        ),
    )
    .await;
    assert_eq!(mailed, 1);

    // Completion pays the shop for what it supplied, less fee and tax of that.
    app.post(
        &format!("/api/v1/orders/{id}/ship"),
        Some(&shop.owner.token),
        &json!({}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/orders/{id}/receipt"),
        Some(&asn.token),
        &json!({}),
    )
    .await
    .expect(200);
    let supplied = total - refund;
    let net = supplied - share(supplied, 150) - share(supplied, tax_bps);
    assert_eq!(
        balance(&app, &format!("merchant_payable:{}", shop.id)).await,
        -net
    );
    assert_eq!(balance(&app, "platform_fee").await, -share(supplied, 150));
    assert_eq!(
        balance(&app, "buyer_funds_held").await,
        funds_before + total
    );
    let check = peken_ledger::read::check(&app.state.db).await.unwrap();
    assert!(check.is_sound(), "{check:?}");
    // The order still counts once in the shop's month, at the supplied amount.
    assert_eq!(
        scalar(
            &app,
            &format!(
                "SELECT gross_amount AS n FROM merchant_turnover WHERE merchant_id = '{}'",
                shop.id
            ),
        )
        .await,
        supplied
    );
    // The shop's sales by product: the shortfall refund lands on the short line alone.
    let today = peken_kernel::period::wib_date(app.state.now());
    let from = today - chrono::Duration::days(60);
    let report = app
        .get(
            &format!(
                "/api/v1/merchants/{}/reports/sales?from={from}&to={today}&group=product",
                shop.id
            ),
            Some(&shop.owner.token),
        )
        .await
        .expect(200)
        .body;
    let product_row = |listing: &str| {
        report["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["listing_id"] == listing)
            .cloned()
            .unwrap_or_else(|| panic!("no row for {listing} in {report}"))
    };
    assert_eq!(product_row(&minyak)["refunds_amount"], refund);
    assert_eq!(product_row(&beras)["refunds_amount"], 0);
    assert_eq!(report["total"]["net_amount"], supplied);
}

#[tokio::test]
async fn short_lines_are_checked_and_an_order_all_short_is_refused() {
    let app = spawn_app().await;
    let (shop, beras, minyak) = shop_with_two(&app).await;
    let asn = buyer(&app).await;
    let order = paid(&app, &asn, &[(&beras, 2), (&minyak, 1)]).await;
    let id = order["id"].as_str().unwrap();
    let total = order["total_amount"].as_i64().unwrap();
    let (other, stranger, _) = shop_with_two(&app).await;
    let path = accept_path(id);

    let r = app
        .post(
            &path,
            Some(&shop.owner.token),
            &json!({"short": [
                {"listing_id": stranger, "quantity": 1},
                {"listing_id": beras, "quantity": 0},
                {"listing_id": minyak, "quantity": 2},
                {"listing_id": beras, "quantity": 1},
            ]}),
        )
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(
        r.field_codes(),
        [
            ("short[0].listing_id".into(), "unknown_order_line".into()),
            ("short[1].quantity".into(), "invalid_quantity".into()),
            (
                "short[2].quantity".into(),
                "short_quantity_too_large".into()
            ),
            ("short[3].listing_id".into(), "duplicate_order_line".into()),
        ]
    );
    app.post(
        &path,
        Some(&shop.owner.token),
        &json!({"short": [{"listing_id": beras}]}),
    )
    .await
    .expect_problem(422, "invalid_body");
    app.post_raw(&path, Some(&shop.owner.token), "application/json", "[1")
        .await
        .expect_problem(422, "invalid_body");
    let r = app
        .post(
            &path,
            Some(&shop.owner.token),
            &json!({"short": [
                {"listing_id": beras, "quantity": 2},
                {"listing_id": minyak, "quantity": 1},
            ]}),
        )
        .await
        .expect_problem(409, "all_lines_short");
    assert_eq!(r.body["status"], 409);
    // Another shop's order is not found, whatever the body.
    app.post(
        &path,
        Some(&other.owner.token),
        &json!({"short": [{"listing_id": beras, "quantity": 1}]}),
    )
    .await
    .expect_problem(404, "not_found");
    // Nothing of the refused attempts stayed.
    let seen = app
        .get(&format!("/api/v1/orders/{id}"), Some(&asn.token))
        .await
        .expect(200)
        .body;
    assert_eq!(seen["status"], "paid");
    assert_eq!(seen["short_amount"], 0);
    assert_eq!(refunds_of(&app, id).await, 0);
    assert_eq!(stock_of(&app, &beras).await, 8);
    assert_eq!(spent(&app, &asn).await, total);

    // One unit short of beras is fine; accepting again, whole or partly, is refused.
    let accepted = app
        .post(
            &path,
            Some(&shop.owner.token),
            &json!({"short": [{"listing_id": beras, "quantity": 1}]}),
        )
        .await
        .expect(200)
        .body;
    let refund = price_of(&order, &beras);
    assert_eq!(accepted["short_amount"], refund);
    app.post(
        &path,
        Some(&shop.owner.token),
        &json!({"short": [{"listing_id": beras, "quantity": 1}]}),
    )
    .await
    .expect_problem(409, "invalid_transition");
    app.post(&path, Some(&shop.owner.token), &json!({}))
        .await
        .expect_problem(409, "invalid_transition");
    assert_eq!(refunds_of(&app, id).await, refund);
    assert_eq!(stock_of(&app, &beras).await, 9);
    assert_eq!(spent(&app, &asn).await, total - refund);
}

#[tokio::test]
async fn an_acceptance_without_a_body_or_short_lines_accepts_everything() {
    let app = spawn_app().await;
    let (shop, beras, _) = shop_with_two(&app).await;
    let asn = buyer(&app).await;
    for body in [None, Some(json!({})), Some(json!({"short": []}))] {
        let order = paid(&app, &asn, &[(&beras, 1)]).await;
        let id = order["id"].as_str().unwrap();
        let r = app
            .send(
                reqwest::Method::POST,
                &accept_path(id),
                Some(&shop.owner.token),
                body.as_ref(),
                &[],
            )
            .await
            .expect(200);
        assert_eq!(r.body["status"], "accepted");
        assert_eq!(r.body["short_amount"], 0);
        assert_eq!(r.body["supplied_amount"], order["total_amount"]);
        assert_eq!(refunds_of(&app, id).await, 0);
    }
}

#[tokio::test]
async fn a_dispute_refunded_after_a_partial_acceptance_returns_only_the_rest() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (shop, beras, minyak) = shop_with_two(&app).await;
    let asn = buyer(&app).await;
    let order = paid(&app, &asn, &[(&beras, 1), (&minyak, 2)]).await;
    let id = order["id"].as_str().unwrap();
    let total = order["total_amount"].as_i64().unwrap();
    let refund = price_of(&order, &minyak);
    app.post(
        &accept_path(id),
        Some(&shop.owner.token),
        &json!({"short": [{"listing_id": minyak, "quantity": 1}]}),
    )
    .await
    .expect(200);
    for (step, who) in [("ship", &shop.owner), ("dispute", &asn)] {
        app.post(
            &format!("/api/v1/orders/{id}/{step}"),
            Some(&who.token),
            &json!({"reason": "barang rusak"}),
        )
        .await
        .expect(200);
    }
    app.post(
        &format!("/api/v1/admin/orders/{id}/dispute-resolution"),
        Some(&admin.token),
        &json!({"resolution": "refunded", "reason": "barang rusak"}),
    )
    .await
    .expect(200);
    // Both refunds together are exactly what was paid, and the month's spend is back to zero.
    assert_eq!(refunds_of(&app, id).await, total);
    assert_eq!(balance(&app, "refunds_payable").await, -total);
    assert_eq!(balance(&app, "buyer_funds_held").await, 0);
    assert_eq!(spent(&app, &asn).await, 0);
    assert!(refund < total);
    let check = peken_ledger::read::check(&app.state.db).await.unwrap();
    assert!(check.is_sound(), "{check:?}");
}

#[tokio::test]
async fn a_partial_acceptance_racing_the_buyers_cancellation_has_one_winner() {
    // On PostgreSQL the two requests meet on the order's row; on SQLite they queue. Either way
    // exactly one of them moves the order and the money follows that one.
    let app = spawn_app().await;
    let (shop, beras, minyak) = shop_with_two(&app).await;
    let asn = buyer(&app).await;
    let rounds = if on_postgres() { 6 } else { 3 };
    let mut expected_refunds = 0;
    let mut expected_spend = 0;
    let mut accepted_units = 0;
    for _ in 0..rounds {
        let order = paid(&app, &asn, &[(&beras, 1), (&minyak, 1)]).await;
        let id = order["id"].as_str().unwrap().to_owned();
        let total = order["total_amount"].as_i64().unwrap();
        let refund = price_of(&order, &minyak);
        let accept_body = json!({"short": [{"listing_id": minyak, "quantity": 1}]});
        let accept_path = accept_path(&id);
        let cancel_path = format!("/api/v1/orders/{id}/cancel");
        let empty = json!({});
        let (accepted, cancelled) = tokio::join!(
            app.post(&accept_path, Some(&shop.owner.token), &accept_body),
            app.post(&cancel_path, Some(&asn.token), &empty),
        );
        let statuses = (accepted.status.as_u16(), cancelled.status.as_u16());
        match statuses {
            (200, 409) => {
                assert_eq!(cancelled.code(), "invalid_transition");
                expected_refunds += refund;
                expected_spend += total - refund;
                accepted_units += 1;
                assert_eq!(refunds_of(&app, &id).await, refund);
            }
            (409, 200) => {
                assert_eq!(accepted.code(), "invalid_transition");
                expected_refunds += total;
                assert_eq!(refunds_of(&app, &id).await, total);
            }
            other => panic!("both or neither won: {other:?} {accepted:?} {cancelled:?}"),
        }
    }
    assert_eq!(balance(&app, "refunds_payable").await, -expected_refunds);
    assert_eq!(spent(&app, &asn).await, expected_spend);
    // Minyak: every unit came back (short or cancelled); beras: only accepted orders keep one.
    assert_eq!(stock_of(&app, &minyak).await, 6);
    assert_eq!(stock_of(&app, &beras).await, 10 - accepted_units);
    for listing in [&beras, &minyak] {
        assert_eq!(
            stock_of(&app, listing).await,
            movements_sum(&app, listing).await
        );
    }
    let check = peken_ledger::read::check(&app.state.db).await.unwrap();
    assert!(check.is_sound(), "{check:?}");
}

#[tokio::test]
async fn a_repeated_partial_acceptance_with_its_key_answers_the_first_response_once() {
    let app = spawn_app().await;
    let (shop, beras, minyak) = shop_with_two(&app).await;
    let asn = buyer(&app).await;
    let order = paid(&app, &asn, &[(&beras, 2), (&minyak, 2)]).await;
    let id = order["id"].as_str().unwrap();
    let refund = price_of(&order, &minyak);
    let body = json!({"short": [{"listing_id": minyak, "quantity": 1}]});
    let send = |body: Value| {
        let path = accept_path(id);
        let token = shop.owner.token.clone();
        let app = &app;
        async move {
            app.send(
                reqwest::Method::POST,
                &path,
                Some(&token),
                Some(&body),
                &[("Idempotency-Key", "accept-1")],
            )
            .await
        }
    };
    let first = send(body.clone()).await.expect(200);
    let again = send(body).await.expect(200);
    assert_eq!(first.body, again.body);
    assert_eq!(again.body["short_amount"], refund);
    // The same key with other lines is another request.
    send(json!({"short": [{"listing_id": beras, "quantity": 1}]}))
        .await
        .expect_problem(409, "idempotency_key_reused");
    assert_eq!(refunds_of(&app, id).await, refund);
    assert_eq!(stock_of(&app, &minyak).await, 6 - 2 + 1);
}
