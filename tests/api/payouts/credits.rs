//! Credits on the bank statement matched to bills: a VA or QRIS credit pays a pending bill or
//! confirms a callback, money for a bill that can no longer take it is owed back, a callback
//! after a credit counts nothing again, and what matches nothing stays an exception.

use peken_tests::{TestApp, User};
use serde_json::{Value, json};

use crate::fixtures::orders::{buyer, callback, cart, checkout, shop_with_listing};
use crate::fixtures::payouts::{
    app_at, csv_statement, move_clock, normal_balance, scalar, treasurers, trial, unique, utc,
};

/// A pending bill of `quantity` units at 10,000; returns (payment, first order id).
async fn bill(app: &TestApp, buyer: &User, listing: &str, quantity: i64) -> (Value, String) {
    let reply = checkout(
        app,
        buyer,
        &format!("c-{}", unique()),
        &cart(&[(listing, quantity)]),
    )
    .await
    .expect(201);
    (
        reply.body["payment"].clone(),
        reply.body["orders"][0]["id"].as_str().unwrap().to_owned(),
    )
}

async fn import(app: &TestApp, who: &User, lines: &[(&str, &str, i64, i64)]) -> peken_tests::Reply {
    app.post_raw(
        "/api/v1/treasury/bank-statements",
        Some(&who.token),
        "text/csv",
        &csv_statement(lines),
    )
    .await
}

fn va(payment: &Value) -> String {
    payment["va_number"].as_str().unwrap().to_owned()
}

fn amount(payment: &Value) -> i64 {
    payment["amount"].as_i64().unwrap()
}

fn id(payment: &Value) -> String {
    payment["id"].as_str().unwrap().to_owned()
}

async fn refunds_of(app: &TestApp, payment_id: &str) -> i64 {
    scalar(
        app,
        &format!("SELECT COUNT(*) AS n FROM refunds WHERE payment_id = '{payment_id}'"),
    )
    .await
}

async fn confirmed_postings(app: &TestApp, payment_id: &str) -> i64 {
    scalar(
        app,
        &format!(
            "SELECT COUNT(*) AS n FROM ledger_transactions \
             WHERE natural_key = 'payment:{payment_id}:confirmed'"
        ),
    )
    .await
}

#[tokio::test]
async fn a_va_credit_pays_a_pending_bill_and_reimporting_changes_nothing() {
    let app = app_at(utc(2026, 3, 4, 3)).await;
    let (maker, _) = treasurers(&app).await;
    let (_shop, beras) = shop_with_listing(&app, 10_000, 10).await;
    let buyer = buyer(&app).await;
    let (payment, order) = bill(&app, &buyer, &beras, 3).await;
    // A second buyer's bill paid by the same statement: both are paid together.
    let other_buyer = crate::fixtures::orders::buyer(&app).await;
    let (other, other_order) = bill(&app, &other_buyer, &beras, 2).await;
    let v = va(&payment);
    let lines = [
        (
            "2026-03-04",
            &*format!("SETORAN VA {} {} BUDI", &v[..8], &v[8..]),
            0,
            amount(&payment),
        ),
        ("2026-03-04", "BUNGA JASA GIRO", 0, 1_234),
        (
            "2026-03-04",
            &*format!("VA {} SITI", va(&other)),
            0,
            amount(&other),
        ),
    ];
    let first = import(&app, &maker, &lines).await.expect(201);
    assert_eq!(first.body["credits_matched"], 2);
    assert_eq!(first.body["credits_paid"], 2);
    let other_view = app
        .get(
            &format!("/api/v1/orders/{other_order}"),
            Some(&other_buyer.token),
        )
        .await
        .expect(200);
    assert_eq!(other_view.body["status"], "paid");
    assert_eq!(confirmed_postings(&app, &id(&other)).await, 1);
    assert_eq!(
        scalar(
            &app,
            &format!("SELECT COUNT(*) AS n FROM stock_movements WHERE listing_id = '{beras}' AND kind = 'sale'"),
        )
        .await,
        2,
        "each paid order's units sold once"
    );
    assert_eq!(first.body["credits_confirmed"], 0);
    assert_eq!(first.body["unmatched"], 1);
    let seen = app
        .get(
            &format!("/api/v1/payments/{}", id(&payment)),
            Some(&buyer.token),
        )
        .await
        .expect(200);
    assert_eq!(seen.body["status"], "paid");
    let order_view = app
        .get(&format!("/api/v1/orders/{order}"), Some(&buyer.token))
        .await
        .expect(200);
    assert_eq!(order_view.body["status"], "paid");
    assert_eq!(confirmed_postings(&app, &id(&payment)).await, 1);

    let again = import(&app, &maker, &lines).await.expect(200);
    assert_eq!(again.body["already_imported"], true);
    assert_eq!(again.body["credits_matched"], 0);
    assert_eq!(confirmed_postings(&app, &id(&payment)).await, 1);
    assert_eq!(refunds_of(&app, &id(&payment)).await, 0);
    let books = trial(&app, &maker).await;
    assert_eq!(
        normal_balance(&books, "collection"),
        amount(&payment) + amount(&other)
    );
}

#[tokio::test]
async fn callbacks_and_credits_confirm_each_other_and_count_once() {
    let app = app_at(utc(2026, 3, 4, 3)).await;
    let (maker, _) = treasurers(&app).await;
    let (_shop, beras) = shop_with_listing(&app, 10_000, 10).await;
    let buyer = buyer(&app).await;
    // Callback first, then the credit: the credit confirms it, nothing is posted again.
    let (a, _) = bill(&app, &buyer, &beras, 1).await;
    let applied = callback(&app, &id(&a), amount(&a), "PRV-A-1")
        .await
        .expect(200);
    assert_eq!(applied.body["outcome"], "applied");
    // The provider's reference in the narrative is enough.
    let credit_a = import(
        &app,
        &maker,
        &[("2026-03-04", "QR PAYMENT PRV-A-1", 0, amount(&a))],
    )
    .await
    .expect(201);
    assert_eq!(credit_a.body["credits_confirmed"], 1);
    assert_eq!(credit_a.body["credits_paid"], 0);
    assert_eq!(
        scalar(
            &app,
            &format!(
                "SELECT COUNT(*) AS n FROM payment_receipts WHERE payment_id = '{}' \
                 AND statement_line_id IS NOT NULL",
                id(&a)
            ),
        )
        .await,
        1
    );

    // Credit first (by the QRIS bill number), then the callback: answered as a confirmation.
    let (b, order_b) = bill(&app, &buyer, &beras, 2).await;
    let bill_number: String = id(&b).chars().filter(|c| *c != '-').take(25).collect();
    let credit_b = import(
        &app,
        &maker,
        &[(
            "2026-03-04",
            &*format!("QRIS {} NMID ID1020", bill_number.to_uppercase()),
            0,
            amount(&b),
        )],
    )
    .await
    .expect(201);
    assert_eq!(credit_b.body["credits_paid"], 1);
    let late = callback(&app, &id(&b), amount(&b), "PRV-B-1")
        .await
        .expect(200);
    assert_eq!(late.body["outcome"], "confirmed");
    let replay = callback(&app, &id(&b), amount(&b), "PRV-B-1")
        .await
        .expect(200);
    assert_eq!(replay.body["outcome"], "replayed");
    let order_view = app
        .get(&format!("/api/v1/orders/{order_b}"), Some(&buyer.token))
        .await
        .expect(200);
    assert_eq!(order_view.body["status"], "paid");
    for p in [&a, &b] {
        assert_eq!(
            refunds_of(&app, &id(p)).await,
            0,
            "no refund for counted money"
        );
        assert_eq!(confirmed_postings(&app, &id(p)).await, 1);
    }
    // A second, different callback for B is other money: owed back.
    let second = callback(&app, &id(&b), amount(&b), "PRV-B-2")
        .await
        .expect(200);
    assert_eq!(second.body["outcome"], "refund_due");
    let books = trial(&app, &maker).await;
    assert_eq!(
        normal_balance(&books, "collection"),
        amount(&a) + 2 * amount(&b)
    );
}

#[tokio::test]
async fn a_credit_for_an_expired_bill_is_owed_back_once() {
    let app = app_at(utc(2026, 3, 4, 3)).await;
    let (maker, _) = treasurers(&app).await;
    let (_shop, beras) = shop_with_listing(&app, 10_000, 10).await;
    let buyer = buyer(&app).await;
    let (p, order) = bill(&app, &buyer, &beras, 2).await;
    app.clock.advance(chrono::Duration::hours(3));
    peken_order::workers::run_once(&app.state).await.unwrap();
    let maker = move_clock(&app, app.state.now(), &[&maker]).await.remove(0);
    let reply = import(
        &app,
        &maker,
        &[(
            "2026-03-04",
            &*format!("SETORAN VA {}", va(&p)),
            0,
            amount(&p),
        )],
    )
    .await
    .expect(201);
    assert_eq!(reply.body["credits_refund_due"], 1);
    assert_eq!(refunds_of(&app, &id(&p)).await, 1);
    // The provider's callback for the same money afterwards confirms it, owes nothing more.
    let late = callback(&app, &id(&p), amount(&p), "PRV-EXP")
        .await
        .expect(200);
    assert_eq!(late.body["outcome"], "confirmed");
    assert_eq!(refunds_of(&app, &id(&p)).await, 1);
    let owed = scalar(
        &app,
        &format!(
            "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS n FROM refunds \
             WHERE payment_id = '{}' AND status = 'due'",
            id(&p)
        ),
    )
    .await;
    assert_eq!(owed, amount(&p));
    let buyer = move_clock(&app, app.state.now(), &[&buyer]).await.remove(0);
    let order_view = app
        .get(&format!("/api/v1/orders/{order}"), Some(&buyer.token))
        .await
        .expect(200);
    assert_ne!(order_view.body["status"], "paid");
}

#[tokio::test]
async fn a_credit_no_bill_explains_stays_an_exception_and_exports() {
    let app = app_at(utc(2026, 3, 4, 3)).await;
    let (maker, _) = treasurers(&app).await;
    let (_shop, beras) = shop_with_listing(&app, 10_000, 10).await;
    let buyer = buyer(&app).await;
    let (p, _) = bill(&app, &buyer, &beras, 1).await;
    // The right VA with the wrong amount is not a match either.
    import(
        &app,
        &maker,
        &[
            ("2026-03-04", "=HYPERLINK(1) SETORAN TUNAI", 0, 55_000),
            (
                "2026-03-04",
                &*format!("SETORAN VA {}", va(&p)),
                0,
                amount(&p) + 1,
            ),
        ],
    )
    .await
    .expect(201);
    let list = app
        .get(
            "/api/v1/treasury/reconciliation/exceptions",
            Some(&maker.token),
        )
        .await
        .expect(200);
    let credits = list.body["unmatched_credits"].as_array().unwrap();
    assert_eq!(credits.len(), 2, "{list:?}");
    let csv = app
        .get(
            "/api/v1/treasury/reconciliation/exceptions?format=csv&delimiter=semicolon",
            Some(&maker.token),
        )
        .await
        .expect(200);
    assert!(csv.text.contains("kind;"), "{}", csv.text);
    assert_eq!(
        csv.text.matches("unmatched_credits;").count(),
        2,
        "{}",
        csv.text
    );
    assert!(
        csv.text.contains("'=HYPERLINK"),
        "formulas defused: {}",
        csv.text
    );
    let xlsx = app
        .get(
            "/api/v1/treasury/reconciliation/exceptions?format=xlsx",
            Some(&maker.token),
        )
        .await
        .expect(200);
    assert_eq!(
        xlsx.headers["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
}

async fn unconfirmed(app: &TestApp, who: &User) -> Vec<Value> {
    app.get(
        "/api/v1/treasury/reconciliation/exceptions",
        Some(&who.token),
    )
    .await
    .expect(200)
    .body["unconfirmed_receipts"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn a_callback_no_credit_confirms_is_listed_after_the_working_days() {
    let app = app_at(utc(2026, 3, 4, 3)).await;
    let (maker, _) = treasurers(&app).await;
    let (_shop, beras) = shop_with_listing(&app, 10_000, 10).await;
    let buyer = buyer(&app).await;
    let (p, _) = bill(&app, &buyer, &beras, 1).await;
    callback(&app, &id(&p), amount(&p), "PRV-LATE")
        .await
        .expect(200);
    let maker = move_clock(&app, utc(2026, 3, 6, 3), &[&maker])
        .await
        .remove(0);
    assert!(
        unconfirmed(&app, &maker).await.is_empty(),
        "two working days are allowed"
    );
    let maker = move_clock(&app, utc(2026, 3, 10, 3), &[&maker])
        .await
        .remove(0);
    let listed = unconfirmed(&app, &maker).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["payment_id"], id(&p));
    assert_eq!(listed[0]["provider_reference"], "PRV-LATE");
    assert!(listed[0]["working_days_unconfirmed"].as_i64().unwrap() > 2);
    import(
        &app,
        &maker,
        &[("2026-03-09", &*format!("VA {}", va(&p)), 0, amount(&p))],
    )
    .await
    .expect(201);
    assert!(
        unconfirmed(&app, &maker).await.is_empty(),
        "the credit confirmed it"
    );
}

#[tokio::test]
async fn a_manual_credit_match_takes_two_treasury_users() {
    let app = app_at(utc(2026, 3, 4, 3)).await;
    let (maker, checker) = treasurers(&app).await;
    let (_shop, beras) = shop_with_listing(&app, 10_000, 10).await;
    let buyer = buyer(&app).await;
    let (p, _) = bill(&app, &buyer, &beras, 4).await;
    import(
        &app,
        &maker,
        &[("2026-03-04", "SETORAN ATM BUDI SANTOSO", 0, amount(&p))],
    )
    .await
    .expect(201);
    let list = app
        .get(
            "/api/v1/treasury/reconciliation/exceptions?direction=credit",
            Some(&maker.token),
        )
        .await
        .expect(200);
    let line = list.body["unmatched_credits"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = "/api/v1/treasury/reconciliation/credit-matches";
    let body = json!({"statement_line_id": line, "payment_id": id(&p), "note": "buyer phoned"});
    app.post(
        path,
        Some(&maker.token),
        &json!({"statement_line_id": line, "payment_id": "nope"}),
    )
    .await
    .expect_problem(422, "validation_failed");
    // A NUL (which PostgreSQL refuses) or another control character in the note is refused.
    app.post(
        path,
        Some(&maker.token),
        &json!({"statement_line_id": line, "payment_id": id(&p), "note": "a\u{0}b"}),
    )
    .await
    .expect_problem(422, "control_character");
    let first = app.post(path, Some(&maker.token), &body).await.expect(201);
    app.post(path, Some(&checker.token), &body)
        .await
        .expect_problem(409, "match_pending");
    let first_id = first.body["id"].as_str().unwrap();
    // A rejected proposal changes nothing.
    app.post(
        &format!("{path}/{first_id}/rejection"),
        Some(&checker.token),
        &json!({}),
    )
    .await
    .expect(200);
    let still = app
        .get(&format!("/api/v1/payments/{}", id(&p)), Some(&buyer.token))
        .await
        .expect(200);
    assert_eq!(still.body["status"], "pending");
    let second = app.post(path, Some(&maker.token), &body).await.expect(201);
    let second_id = second.body["id"].as_str().unwrap();
    app.post(
        &format!("{path}/{second_id}/approval"),
        Some(&maker.token),
        &json!({}),
    )
    .await
    .expect_problem(403, "four_eyes_required");
    let approved = app
        .post(
            &format!("{path}/{second_id}/approval"),
            Some(&checker.token),
            &json!({}),
        )
        .await
        .expect(200);
    assert_eq!(approved.body["status"], "approved");
    assert_eq!(approved.body["outcome"], "paid");
    let paid = app
        .get(&format!("/api/v1/payments/{}", id(&p)), Some(&buyer.token))
        .await
        .expect(200);
    assert_eq!(paid.body["status"], "paid");
    app.post(path, Some(&maker.token), &body)
        .await
        .expect_problem(409, "statement_line_matched");
    assert_eq!(confirmed_postings(&app, &id(&p)).await, 1);
}

#[tokio::test]
async fn a_waiting_proof_is_paid_by_a_matching_credit_without_a_second_approval() {
    let app = app_at(utc(2026, 3, 4, 3)).await;
    let (maker, checker) = treasurers(&app).await;
    let (_shop, beras) = shop_with_listing(&app, 10_000, 10).await;
    let buyer = buyer(&app).await;
    let (p, order) = bill(&app, &buyer, &beras, 2).await;
    app.post(
        &format!("/api/v1/payments/{}/proof", id(&p)),
        Some(&buyer.token),
        &json!({"transfer_reference": "TRF-778899", "paid_at": utc(2026, 3, 4, 2)}),
    )
    .await
    .expect(200);
    let verification = format!("/api/v1/treasury/payments/{}/verification", id(&p));
    let proposed = app
        .post(
            &verification,
            Some(&maker.token),
            &json!({"decision": "approve"}),
        )
        .await
        .expect(200);
    assert_eq!(proposed.body["outcome"], "approval_proposed");
    let reply = import(
        &app,
        &maker,
        &[(
            "2026-03-04",
            "TRSF E-BANKING CR TRF-778899 BUDI",
            0,
            amount(&p),
        )],
    )
    .await
    .expect(201);
    assert_eq!(reply.body["credits_paid"], 1);
    let seen = app
        .get(&format!("/api/v1/payments/{}", id(&p)), Some(&buyer.token))
        .await
        .expect(200);
    assert_eq!(seen.body["status"], "paid");
    assert_eq!(seen.body["proof_status"], "confirmed_by_statement");
    let order_view = app
        .get(&format!("/api/v1/orders/{order}"), Some(&buyer.token))
        .await
        .expect(200);
    assert_eq!(order_view.body["status"], "paid");
    // The second approval has nothing left to do.
    app.post(
        &verification,
        Some(&checker.token),
        &json!({"decision": "approve"}),
    )
    .await
    .expect_problem(409, "no_proof_to_verify");
    assert_eq!(confirmed_postings(&app, &id(&p)).await, 1);
}

#[tokio::test]
async fn a_callback_and_a_statement_racing_count_the_money_once() {
    let app = app_at(utc(2026, 3, 4, 3)).await;
    let (maker, _) = treasurers(&app).await;
    let (_shop, beras) = shop_with_listing(&app, 10_000, 100).await;
    let mut total = 0;
    for round in 0..6 {
        let buyer = buyer(&app).await;
        let (p, _) = bill(&app, &buyer, &beras, 1 + round % 3).await;
        total += amount(&p);
        let reference = format!("PRV-RACE-{round}");
        let narrative = format!("SETORAN VA {} {round}", va(&p));
        let lines = [("2026-03-04", narrative.as_str(), 0, amount(&p))];
        let payment_id = id(&p);
        let (cb, statement) = tokio::join!(
            callback(&app, &payment_id, amount(&p), &reference),
            import(&app, &maker, &lines)
        );
        let outcome = cb.expect(200).body["outcome"].as_str().unwrap().to_owned();
        let statement = statement.expect(201);
        assert!(
            (outcome == "applied" && statement.body["credits_confirmed"] == 1)
                || (outcome == "confirmed" && statement.body["credits_paid"] == 1),
            "{outcome} {:?}",
            statement.body
        );
        assert_eq!(refunds_of(&app, &id(&p)).await, 0, "round {round}");
        assert_eq!(confirmed_postings(&app, &id(&p)).await, 1, "round {round}");
        assert_eq!(
            scalar(
                &app,
                &format!(
                    "SELECT COUNT(*) AS n FROM payment_receipts WHERE payment_id = '{}'",
                    id(&p)
                ),
            )
            .await,
            1
        );
    }
    let books = trial(&app, &maker).await;
    assert_eq!(normal_balance(&books, "collection"), total);
}
