//! Refunds paid by refund batch (four-eyes approval, transfer file, statement match, failure
//! and repayment) and by hand (proposed by one treasury user, confirmed by another), and the
//! buyer's refund account.

use peken_kernel::period::wib_date;
use peken_tests::{TestApp, User};
use serde_json::{Value, json};

use crate::fixtures::orders::{buyer, paid_order, shop_with_listing};
use crate::fixtures::payouts::{csv_statement, normal_balance, treasurers, trial};
use crate::fixtures::scalar;

/// A paid order cancelled by its buyer: a refund of its amount is due. Returns (refund id,
/// amount).
async fn refund_due(app: &TestApp, who: &User, listing: &str, treasury: &User) -> (String, i64) {
    let (order, _, amount) = paid_order(app, who, listing, 1).await;
    app.post(
        &format!("/api/v1/orders/{order}/cancel"),
        Some(&who.token),
        &json!({}),
    )
    .await
    .expect(200);
    let due = app
        .get("/api/v1/treasury/refunds?limit=100", Some(&treasury.token))
        .await
        .expect(200);
    let id = due.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["order_id"] == order.as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (id, amount)
}

async fn set_account(app: &TestApp, who: &User, number: &str) -> Value {
    app.put(
        "/api/v1/me/refund-account",
        Some(&who.token),
        &json!({"bank_code": "008", "account_number": number, "account_name": "SITI AMINAH"}),
    )
    .await
    .expect(200)
    .body
}

async fn refund_status(app: &TestApp, treasury: &User, id: &str) -> String {
    let all = app
        .get("/api/v1/treasury/refunds?limit=100", Some(&treasury.token))
        .await
        .expect(200);
    all.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap()["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn build(app: &TestApp, maker: &User) -> peken_tests::Reply {
    app.post(
        "/api/v1/treasury/refund-batches",
        Some(&maker.token),
        &json!({"cutoff": app.state.now().to_rfc3339()}),
    )
    .await
}

async fn approve(app: &TestApp, checker: &User, batch: &str) -> Value {
    app.post(
        &format!("/api/v1/treasury/refund-batches/{batch}/approval"),
        Some(&checker.token),
        &json!({}),
    )
    .await
    .expect(200)
    .body
}

async fn import(app: &TestApp, treasury: &User, lines: &[(&str, i64)]) -> peken_tests::Reply {
    let day = wib_date(app.state.now()).to_string();
    let rows: Vec<(&str, &str, i64, i64)> = lines
        .iter()
        .map(|(text, amount)| (day.as_str(), *text, *amount, 0))
        .collect();
    app.post_raw(
        "/api/v1/treasury/bank-statements",
        Some(&treasury.token),
        "text/csv",
        &csv_statement(&rows),
    )
    .await
}

/// How many journal transactions pay refunds back for this refund's order (by hand or by
/// batch).
async fn refund_postings(app: &TestApp, item_or_refund_keys: &[String]) -> i64 {
    let keys = item_or_refund_keys
        .iter()
        .map(|k| format!("'{k}'"))
        .collect::<Vec<_>>()
        .join(", ");
    scalar(
        app,
        &format!(
            "SELECT COUNT(*) AS n FROM ledger_transactions WHERE kind = 'refund_paid' \
             AND natural_key IN ({keys})"
        ),
    )
    .await
}

async fn refunds_payable(app: &TestApp) -> i64 {
    -peken_ledger::read::balance_of(&app.state.db, "refunds_payable")
        .await
        .unwrap()
}

#[tokio::test]
async fn a_refund_batch_is_approved_by_a_second_treasurer_and_posted_once_on_the_statement() {
    let app = peken_tests::spawn_app().await;
    let (maker, checker) = treasurers(&app).await;
    let (_, listing) = shop_with_listing(&app, 12_000, 50).await;
    let asn = buyer(&app).await;
    let (refund, amount) = refund_due(&app, &asn, &listing, &maker).await;
    assert_eq!(refunds_payable(&app).await, amount);

    // The buyer says where refunds go; separators in the number are dropped.
    app.get("/api/v1/me/refund-account", Some(&asn.token))
        .await
        .expect_problem(404, "not_found");
    let account = set_account(&app, &asn, "1234-567-890").await;
    assert_eq!(account["account_number"], "1234567890");
    let read = app
        .get("/api/v1/me/refund-account", Some(&asn.token))
        .await
        .expect(200);
    assert_eq!(read.body["account_name"], "SITI AMINAH");

    let draft = build(&app, &maker).await.expect(201);
    let batch = draft.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        draft.headers["location"].to_str().unwrap(),
        format!("/api/v1/treasury/refund-batches/{batch}")
    );
    let items = draft.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["refund_id"], refund.as_str());
    assert_eq!(items[0]["amount"], amount);
    assert_eq!(items[0]["rail"], "BIFAST");
    assert_eq!(items[0]["account_number"], "1234567890");
    let reference = items[0]["reference"].as_str().unwrap().to_owned();
    let item = items[0]["id"].as_str().unwrap().to_owned();
    assert!(reference.starts_with("PKN") && reference.len() == 15);
    assert_eq!(refund_status(&app, &maker, &refund).await, "batched");
    // In a draft the refund can be neither paid by hand nor taken by another batch.
    app.post(
        &format!("/api/v1/treasury/refunds/{refund}/payment"),
        Some(&maker.token),
        &json!({"reference": "TRF-X"}),
    )
    .await
    .expect_problem(409, "refund_not_due");
    build(&app, &checker)
        .await
        .expect_problem(422, "nothing_to_refund");
    app.get(
        &format!("/api/v1/treasury/refund-batches/{batch}/transfer-file"),
        Some(&maker.token),
    )
    .await
    .expect_problem(409, "batch_not_approved");

    // Four eyes: the maker cannot approve.
    app.post(
        &format!("/api/v1/treasury/refund-batches/{batch}/approval"),
        Some(&maker.token),
        &json!({}),
    )
    .await
    .expect_problem(403, "four_eyes_required");
    let approved = approve(&app, &checker, &batch).await;
    assert_eq!(approved["status"], "approved");
    assert_eq!(approved["items"][0]["status"], "approved");
    assert_eq!(refund_status(&app, &maker, &refund).await, "in_transit");
    app.post(
        &format!("/api/v1/treasury/refund-batches/{batch}/cancellation"),
        Some(&maker.token),
        &json!({}),
    )
    .await
    .expect_problem(409, "batch_not_draft");
    // Approved is not paid: the ledger waits for the bank.
    assert_eq!(refunds_payable(&app).await, amount);

    let file = app
        .get(
            &format!("/api/v1/treasury/refund-batches/{batch}/transfer-file"),
            Some(&checker.token),
        )
        .await
        .expect(200);
    let lines: Vec<&str> = file.text.lines().collect();
    assert_eq!(
        lines[0],
        "reference,bank_code,account_number,account_name,amount,rail,remark"
    );
    assert_eq!(
        lines[1],
        format!("{reference},008,1234567890,SITI AMINAH,{amount},BIFAST,PEKEN {reference}")
    );

    // The statement shows the transfer: matched, paid, posted once.
    let narrative = format!("TRF BIFAST PEKEN {reference} SITI");
    let first = import(
        &app,
        &maker,
        &[(&narrative, amount), ("BIAYA ADMIN", 2_500)],
    )
    .await
    .expect(201);
    assert_eq!(first.body["refunds_matched"], 1);
    assert_eq!(first.body["matched"], 0);
    assert_eq!(first.body["unmatched"], 1);
    assert_eq!(refund_status(&app, &maker, &refund).await, "paid");
    assert_eq!(refunds_payable(&app).await, 0);
    let keys = [
        format!("refund_item:{item}:paid"),
        format!("refund:{refund}:paid"),
    ];
    assert_eq!(refund_postings(&app, &keys).await, 1);
    let detail = app
        .get(
            &format!("/api/v1/treasury/refund-batches/{batch}"),
            Some(&maker.token),
        )
        .await
        .expect(200);
    assert_eq!(detail.body["items"][0]["status"], "paid");
    trial(&app, &maker).await;

    // Re-importing changes nothing; a paid transfer cannot fail any more.
    let again = import(
        &app,
        &maker,
        &[(&narrative, amount), ("BIAYA ADMIN", 2_500)],
    )
    .await
    .expect(200);
    assert_eq!(again.body["already_imported"], true);
    assert_eq!(refund_postings(&app, &keys).await, 1);
    app.post(
        &format!("/api/v1/treasury/refund-items/{item}/failure"),
        Some(&maker.token),
        &json!({"reason": "rekening tidak ditemukan"}),
    )
    .await
    .expect_problem(409, "refund_already_settled");
    assert_eq!(refunds_payable(&app).await, 0);

    // The batch and the refunds as CSV and XLSX.
    let csv = app
        .get(
            &format!("/api/v1/treasury/refund-batches/{batch}?format=csv"),
            Some(&maker.token),
        )
        .await
        .expect(200);
    assert!(csv.text.starts_with("item_id,refund_id,"), "{}", csv.text);
    assert!(csv.text.contains(&reference));
    let listed = app
        .get(
            "/api/v1/treasury/refunds?status=paid&format=csv&delimiter=semicolon",
            Some(&maker.token),
        )
        .await
        .expect(200);
    assert!(listed.text.starts_with('\u{feff}'), "a BOM with semicolons");
    assert!(listed.text.contains(&format!("{refund};")));
    let xlsx = app
        .get("/api/v1/treasury/refunds?format=xlsx", Some(&maker.token))
        .await
        .expect(200);
    assert!(
        xlsx.headers["content-type"]
            .to_str()
            .unwrap()
            .contains("spreadsheetml")
    );
    let batches = app
        .get("/api/v1/treasury/refund-batches", Some(&maker.token))
        .await
        .expect(200);
    assert_eq!(batches.body["items"][0]["id"], batch.as_str());
}

#[tokio::test]
async fn refunds_of_buyers_without_a_refund_account_are_skipped_and_stay_due() {
    let app = peken_tests::spawn_app().await;
    let (maker, _) = treasurers(&app).await;
    let (_, listing) = shop_with_listing(&app, 9_000, 50).await;
    let with = buyer(&app).await;
    let without = app.public_buyer("35.78.03.1002").await;
    set_account(&app, &with, "9876543210").await;
    let (paid_back, _) = refund_due(&app, &with, &listing, &maker).await;
    let (waiting, amount) = refund_due(&app, &without, &listing, &maker).await;

    let draft = build(&app, &maker).await.expect(201);
    let items = draft.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["refund_id"], paid_back.as_str());
    let skipped = draft.body["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0]["refund_id"], waiting.as_str());
    assert_eq!(skipped[0]["reason"], "no_refund_account");
    assert_eq!(skipped[0]["amount"], amount);
    assert_eq!(refund_status(&app, &maker, &waiting).await, "due");

    // Cancelling the draft gives its refund back; the public buyer's account lets the next
    // batch take both.
    let batch = draft.body["id"].as_str().unwrap();
    let cancelled = app
        .post(
            &format!("/api/v1/treasury/refund-batches/{batch}/cancellation"),
            Some(&maker.token),
            &json!({}),
        )
        .await
        .expect(200);
    assert_eq!(cancelled.body["status"], "cancelled");
    assert_eq!(refund_status(&app, &maker, &paid_back).await, "due");
    set_account(&app, &without, "5555566666").await;
    let next = build(&app, &maker).await.expect(201);
    assert_eq!(next.body["items"].as_array().unwrap().len(), 2);
    assert!(next.body["skipped"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn a_failed_refund_transfer_is_due_again_and_paid_once_by_the_next_batch() {
    let app = peken_tests::spawn_app().await;
    let (maker, checker) = treasurers(&app).await;
    let (_, listing) = shop_with_listing(&app, 15_000, 50).await;
    let asn = buyer(&app).await;
    set_account(&app, &asn, "1112223334").await;
    let (refund, amount) = refund_due(&app, &asn, &listing, &maker).await;

    let first = build(&app, &maker).await.expect(201);
    let first_batch = first.body["id"].as_str().unwrap().to_owned();
    let first_item = first.body["items"][0]["id"].as_str().unwrap().to_owned();
    let first_ref = first.body["items"][0]["reference"]
        .as_str()
        .unwrap()
        .to_owned();
    approve(&app, &checker, &first_batch).await;
    let failed = app
        .post(
            &format!("/api/v1/treasury/refund-items/{first_item}/failure"),
            Some(&maker.token),
            &json!({"reason": "rekening ditutup"}),
        )
        .await
        .expect(200);
    assert_eq!(failed.body["status"], "failed");
    assert_eq!(refund_status(&app, &maker, &refund).await, "due");
    app.post(
        &format!("/api/v1/treasury/refund-items/{first_item}/failure"),
        Some(&maker.token),
        &json!({"reason": "rekening ditutup"}),
    )
    .await
    .expect_problem(409, "refund_item_already_failed");
    assert_eq!(refunds_payable(&app).await, amount, "still owed");

    // The buyer fixes the account; the next batch pays it again with a new reference.
    set_account(&app, &asn, "1112223335").await;
    let second = build(&app, &maker).await.expect(201);
    let second_batch = second.body["id"].as_str().unwrap().to_owned();
    let second_item = second.body["items"][0]["id"].as_str().unwrap().to_owned();
    let second_ref = second.body["items"][0]["reference"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(first_ref, second_ref);
    assert_eq!(second.body["items"][0]["account_number"], "1112223335");
    approve(&app, &checker, &second_batch).await;

    // A statement showing the failed transfer (as a return would) and the new one: only the new
    // one is a refund paid.
    let reply = import(
        &app,
        &maker,
        &[
            (&format!("TRF PEKEN {first_ref}"), amount),
            (&format!("TRF PEKEN {second_ref}"), amount),
        ],
    )
    .await
    .expect(201);
    assert_eq!(reply.body["refunds_matched"], 1);
    assert_eq!(refund_status(&app, &maker, &refund).await, "paid");
    let keys = [
        format!("refund_item:{first_item}:paid"),
        format!("refund_item:{second_item}:paid"),
        format!("refund:{refund}:paid"),
    ];
    assert_eq!(refund_postings(&app, &keys).await, 1);
    assert_eq!(
        refund_postings(&app, &[format!("refund_item:{second_item}:paid")]).await,
        1
    );
    assert_eq!(refunds_payable(&app).await, 0);
    build(&app, &maker)
        .await
        .expect_problem(422, "nothing_to_refund");
    let t = trial(&app, &maker).await;
    assert_eq!(normal_balance(&t, "refunds_payable"), 0);
}

#[tokio::test]
async fn paying_a_refund_by_hand_needs_a_second_treasurer() {
    let app = peken_tests::spawn_app().await;
    let (maker, checker) = treasurers(&app).await;
    let (_, listing) = shop_with_listing(&app, 11_000, 50).await;
    let asn = buyer(&app).await;
    let (refund, amount) = refund_due(&app, &asn, &listing, &maker).await;
    let path = format!("/api/v1/treasury/refunds/{refund}/payment");

    app.post(
        &format!("{path}/approval"),
        Some(&checker.token),
        &json!({}),
    )
    .await
    .expect_problem(409, "refund_payment_not_proposed");
    let proposed = app
        .post(&path, Some(&maker.token), &json!({"reference": "TRF-1"}))
        .await
        .expect(200);
    assert_eq!(proposed.body["status"], "payment_proposed");
    assert_eq!(proposed.body["proposed_by"], maker.id.as_str());
    assert_eq!(refunds_payable(&app).await, amount, "nothing posted yet");
    app.post(&path, Some(&checker.token), &json!({"reference": "TRF-2"}))
        .await
        .expect_problem(409, "refund_not_due");
    app.post(&format!("{path}/approval"), Some(&maker.token), &json!({}))
        .await
        .expect_problem(403, "four_eyes_required");
    // A waiting payment is in no batch either.
    set_account(&app, &asn, "1234512345").await;
    build(&app, &maker)
        .await
        .expect_problem(422, "nothing_to_refund");

    // Rejected: due again, then proposed anew and confirmed by the other treasurer.
    let rejected = app
        .post(
            &format!("{path}/rejection"),
            Some(&checker.token),
            &json!({"reason": "referensi tidak ada di rekening koran"}),
        )
        .await
        .expect(200);
    assert_eq!(rejected.body["status"], "due");
    assert_eq!(rejected.body["payment_reference"], Value::Null);
    app.post(&path, Some(&maker.token), &json!({"reference": "TRF-3"}))
        .await
        .expect(200);
    let paid = app
        .post(
            &format!("{path}/approval"),
            Some(&checker.token),
            &json!({}),
        )
        .await
        .expect(200);
    assert_eq!(paid.body["status"], "paid");
    assert_eq!(paid.body["paid_by"], checker.id.as_str());
    assert_eq!(paid.body["payment_reference"], "TRF-3");
    assert_eq!(refunds_payable(&app).await, 0);
    assert_eq!(
        refund_postings(&app, &[format!("refund:{refund}:paid")]).await,
        1
    );
    app.post(
        &format!("{path}/approval"),
        Some(&checker.token),
        &json!({}),
    )
    .await
    .expect_problem(409, "refund_payment_not_proposed");
    app.post(&path, Some(&maker.token), &json!({"reference": "TRF-4"}))
        .await
        .expect_problem(409, "refund_already_paid");
    build(&app, &maker)
        .await
        .expect_problem(422, "nothing_to_refund");
    trial(&app, &maker).await;
}

#[tokio::test]
async fn a_refund_account_is_checked_and_refuses_control_characters() {
    let app = peken_tests::spawn_app().await;
    let asn = buyer(&app).await;
    let put = |body: Value| {
        let app = &app;
        let token = asn.token.clone();
        async move {
            app.put("/api/v1/me/refund-account", Some(&token), &body)
                .await
        }
    };
    put(json!({"bank_code": "8", "account_number": "1234567890", "account_name": "SITI"}))
        .await
        .expect(422);
    put(json!({"bank_code": "008", "account_number": "12ab", "account_name": "SITI"}))
        .await
        .expect(422);
    put(json!({"bank_code": "008", "account_number": "1234567890", "account_name": "  "}))
        .await
        .expect(422);
    put(json!({"bank_code": "008", "account_number": "1234567890", "account_name": "SITI\u{0}AMINAH"}))
        .await
        .expect_problem(422, "control_character");
    put(json!({"bank_code": "008\u{1}", "account_number": "1234567890", "account_name": "SITI"}))
        .await
        .expect_problem(422, "control_character");
    app.get("/api/v1/me/refund-account", Some(&asn.token))
        .await
        .expect_problem(404, "not_found");
    put(json!({"bank_code": "014", "account_number": "0987654321", "account_name": "Siti Aminah"}))
        .await
        .expect(200);
    let account = app
        .get("/api/v1/me/refund-account", Some(&asn.token))
        .await
        .expect(200);
    assert_eq!(account.body["bank_code"], "014");
    assert_eq!(account.body["account_name"], "Siti Aminah");
}

#[tokio::test]
async fn refund_batches_built_at_once_never_share_a_refund() {
    let app = peken_tests::spawn_app().await;
    let (maker, checker) = treasurers(&app).await;
    let third = app.staff("treasury", None).await;
    let (_, listing) = shop_with_listing(&app, 5_000, 100).await;
    let asn = buyer(&app).await;
    set_account(&app, &asn, "4444455555").await;
    let mut refunds = Vec::new();
    for _ in 0..8 {
        refunds.push(refund_due(&app, &asn, &listing, &maker).await.0);
    }
    let body = json!({"cutoff": app.state.now().to_rfc3339()});
    let tokens = [&maker.token, &checker.token, &third.token, &maker.token];
    let replies = futures_util::future::join_all(
        tokens
            .iter()
            .map(|t| app.post("/api/v1/treasury/refund-batches", Some(t), &body)),
    )
    .await;
    let mut taken: Vec<String> = Vec::new();
    let mut built = 0;
    for reply in &replies {
        match reply.status.as_u16() {
            201 => {
                built += 1;
                for item in reply.body["items"].as_array().unwrap() {
                    taken.push(item["refund_id"].as_str().unwrap().to_owned());
                }
            }
            409 => assert_eq!(reply.code(), "concurrent_batch"),
            422 => assert_eq!(reply.code(), "nothing_to_refund"),
            other => panic!("unexpected {other}: {}", reply.text),
        }
    }
    assert!(built >= 1);
    taken.sort();
    refunds.sort();
    assert_eq!(taken, refunds, "every refund in exactly one batch");
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) AS n FROM refund_items WHERE status = 'draft'"
        )
        .await,
        8
    );
}
