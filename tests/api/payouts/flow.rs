//! The whole money path through the public API: checkout, payment callback, receipt, payout
//! batch, approval, transfer file, bank statement, and a ledger that ends where it began.

use peken_tests::{TestApp, User, WEBHOOK_SECRET};
use serde_json::{Value, json};

use crate::fixtures::payouts::{
    app_at, move_clock, normal_balance, scalar, treasurers, trial, unique, utc,
};

/// Checks out `quantity` units, pays through the signed callback, and walks the order to
/// receipt; returns the order's total.
async fn completed_order(
    app: &TestApp,
    buyer: &User,
    owner: &User,
    listing: &str,
    qty: i64,
) -> i64 {
    let body = json!({
        "items": [{"listing_id": listing, "quantity": qty}],
        "fulfilment": {"method": "pickup"},
        "payment_method": "va",
    });
    let key = format!("flow-{}", unique());
    let checkout = app
        .send(
            reqwest::Method::POST,
            "/api/v1/checkout",
            Some(&buyer.token),
            Some(&body),
            &[("Idempotency-Key", &key)],
        )
        .await
        .expect(201);
    let payment = &checkout.body["payment"];
    let callback = json!({
        "payment_id": payment["id"], "provider_reference": format!("prov-{}", unique()),
        "amount": payment["amount"], "paid_at": app.clock_now().to_rfc3339(),
    })
    .to_string();
    let res = app
        .client
        .post(app.url("/api/v1/payments/callback"))
        .header("content-type", "application/json")
        .header(
            "X-Peken-Signature",
            peken_order::http::sign(WEBHOOK_SECRET, callback.as_bytes()),
        )
        .body(callback)
        .send()
        .await
        .unwrap();
    TestApp::reply(res).await.expect(200);
    let order = checkout.body["orders"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (step, who) in [("accept", owner), ("ship", owner), ("receipt", buyer)] {
        app.post(
            &format!("/api/v1/orders/{order}/{step}"),
            Some(&who.token),
            &json!({}),
        )
        .await
        .expect(200);
    }
    payment["amount"].as_i64().unwrap()
}

trait ClockNow {
    fn clock_now(&self) -> chrono::DateTime<chrono::Utc>;
}

impl ClockNow for TestApp {
    fn clock_now(&self) -> chrono::DateTime<chrono::Utc> {
        self.state.now()
    }
}

fn account(trial: &Value, code: &str) -> i64 {
    normal_balance(trial, code)
}

#[tokio::test]
async fn from_checkout_to_bank_statement_every_rupiah_is_accounted_for() {
    let app = app_at(utc(2026, 3, 2, 2)).await;
    let (maker, checker) = treasurers(&app).await;
    let shop = crate::fixtures::orders::shop(&app, "toko_kelontong", "35.78.03.1001").await;
    let (shop_id, owner) = (shop.id.clone(), shop.owner.clone());
    let gula = crate::fixtures::orders::any_commodity(&app, None, None).await;
    let beras = shop.list(&app, &gula, 14_000, 50).await;
    let opd = app.create_opd(&format!("ALUR{}", unique())).await;
    let (buyer, _) = app.asn(&opd, "staf", "35.78.03.1002").await;
    let first = completed_order(&app, &buyer, &owner, &beras, 3).await;
    let second = completed_order(&app, &buyer, &owner, &beras, 2).await;
    assert_eq!(first + second, 70_000);

    let t = trial(&app, &maker).await;
    assert_eq!(account(&t, &format!("merchant_payable:{shop_id}")), 70_000);
    assert_eq!(account(&t, "collection"), 70_000);
    assert_eq!(account(&t, "buyer_funds_held"), 0);
    let turnover = app
        .get(
            &format!("/api/v1/merchants/{shop_id}/turnover?from=2026-03&to=2026-03"),
            Some(&owner.token),
        )
        .await
        .expect(200);
    assert_eq!(turnover.body["months"][0]["gross_amount"], 70_000);
    assert_eq!(turnover.body["months"][0]["completed_orders"], 2);

    let [maker, checker] =
        <[_; 2]>::try_from(move_clock(&app, utc(2026, 3, 3, 2), &[&maker, &checker]).await)
            .unwrap();
    let batch = app
        .post(
            "/api/v1/treasury/payout-batches",
            Some(&maker.token),
            &json!({"cutoff": utc(2026, 3, 3, 0).to_rfc3339()}),
        )
        .await
        .expect(201);
    let batch_id = batch.body["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/treasury/payout-batches/{batch_id}/approval"),
        Some(&checker.token),
        &json!({}),
    )
    .await
    .expect(200);
    let file = app
        .get(
            &format!("/api/v1/treasury/payout-batches/{batch_id}/transfer-file"),
            Some(&maker.token),
        )
        .await
        .expect(200);
    let row: Vec<&str> = file.text.lines().nth(1).unwrap().split(',').collect();
    assert_eq!((row[1], row[4], row[5]), ("008", "70000", "BIFAST"));
    let reference = row[0];

    // The merchant's owner is told what the payout pays for, by the payout worker after the
    // approval: once, however often the worker passes.
    let advices = "SELECT COUNT(*) AS n FROM mail_outbox WHERE template = 'remittance_advice'";
    assert_eq!(scalar(&app, advices).await, 0);
    let pass = || peken_payout::batches::send_due_remittances(&app.state.db, app.state.now());
    assert_eq!(pass().await.unwrap(), 1);
    assert_eq!(pass().await.unwrap(), 0);
    assert_eq!(scalar(&app, advices).await, 1);

    let statement = format!(
        "value_date,description,debit,credit,balance\n\
         2026-03-02,SETORAN VA,,{first}.00,{first}.00\n\
         2026-03-02,SETORAN VA,,{second}.00,70000.00\n\
         2026-03-03,TRF BIFAST {reference} TOKO ALUR,70000.00,,0.00\n"
    );
    let imported = app
        .post_raw(
            "/api/v1/treasury/bank-statements",
            Some(&maker.token),
            "text/csv",
            &statement,
        )
        .await
        .expect(201);
    assert_eq!(imported.body["matched"], 1);
    let t = trial(&app, &maker).await;
    for (code, expected) in [
        ("collection".to_owned(), 0),
        ("payout_in_transit".to_owned(), 0),
        (format!("merchant_payable:{shop_id}"), 0),
        ("buyer_funds_held".to_owned(), 0),
    ] {
        assert_eq!(account(&t, &code), expected, "{code}");
    }
    let close = app
        .get(
            "/api/v1/treasury/daily-close?date=2026-03-03",
            Some(&maker.token),
        )
        .await
        .expect(200);
    assert_eq!(close.body["status"], "balanced", "{}", close.text);
}
