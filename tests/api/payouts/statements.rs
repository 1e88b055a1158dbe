//! Bank statements: CSV and MT940 import, deduplication, automatic and manual matching, the
//! exceptions list and the daily close.

use std::fmt::Write as _;

use serde_json::json;

use crate::fixtures::payouts::{
    app_at, csv_statement, item_of, merchant, move_clock, normal_balance, owed, paid_batch,
    treasurers, trial, utc,
};

const KEL: &str = "35.78.01.1001";

#[tokio::test]
async fn a_csv_statement_settles_payouts_by_reference_and_reimporting_adds_nothing() {
    let app = app_at(utc(2026, 3, 4, 3)).await;
    let (maker, checker) = treasurers(&app).await;
    let (m1, _) = merchant(&app, "toko_kelontong", KEL, None).await;
    let (m2, _) = merchant(&app, "umkm", KEL, None).await;
    owed(&app, "o1", &m1, 150_000, utc(2026, 3, 2, 2)).await;
    owed(&app, "o2", &m2, 90_000, utc(2026, 3, 2, 2)).await;
    let batch = paid_batch(&app, &maker, &checker, utc(2026, 3, 3, 0)).await;
    let r1 = item_of(&batch, &m1)["reference"]
        .as_str()
        .unwrap()
        .to_owned();
    let r2 = item_of(&batch, &m2)["reference"]
        .as_str()
        .unwrap()
        .to_owned();

    let file = csv_statement(&[
        ("2026-03-04", "SETORAN VA 88081234", 0, 240_000),
        // The reference in lower case, inside other text.
        (
            "2026-03-04",
            &format!("TRF BIFAST peken {} TOKO", r1.to_lowercase()),
            150_000,
            0,
        ),
        // The right reference with the wrong amount is not a match.
        ("2026-03-04", &format!("TRF BIFAST PEKEN {r2}"), 90_001, 0),
        ("2026-03-04", "BIAYA ADMIN", 5_000, 0),
    ]);
    let upload = |body: String| {
        let app = &app;
        let token = maker.token.clone();
        async move {
            app.post_raw(
                "/api/v1/treasury/bank-statements",
                Some(&token),
                "text/csv",
                &body,
            )
            .await
        }
    };
    let first = upload(file.clone()).await.expect(201);
    assert_eq!(first.body["lines"], 4);
    assert_eq!(first.body["matched"], 1);
    assert_eq!(first.body["unmatched"], 3);
    assert_eq!(first.body["duplicates"], 0);

    let again = upload(file.clone()).await.expect(200);
    assert_eq!(again.body["statement_id"], first.body["statement_id"]);
    assert_eq!(again.body["duplicates"], 4);
    assert_eq!(again.body["matched"], 0);
    assert_eq!(again.body["already_imported"], true);

    // A longer export of the same day repeats three lines and adds one, which pays m2.
    let longer = csv_statement(&[
        ("2026-03-04", "SETORAN VA 88081234", 0, 240_000),
        (
            "2026-03-04",
            &format!("TRF BIFAST peken {} TOKO", r1.to_lowercase()),
            150_000,
            0,
        ),
        ("2026-03-04", "BIAYA ADMIN", 5_000, 0),
        ("2026-03-05", &format!("TRF BIFAST PEKEN{r2}X"), 90_000, 0),
    ]);
    let third = upload(longer).await.expect(201);
    assert_eq!(third.body["duplicates"], 3);
    assert_eq!(third.body["matched"], 1);
    assert_eq!(third.body["unmatched"], 0);

    let trial = trial(&app, &maker).await;
    assert_eq!(normal_balance(&trial, "payout_in_transit"), 0);
    assert_eq!(
        normal_balance(&trial, "collection"),
        150_000 + 90_000 - 150_000 - 90_000
    );
    let batch_id = batch["id"].as_str().unwrap();
    let now = app
        .get(
            &format!("/api/v1/treasury/payout-batches/{batch_id}"),
            Some(&maker.token),
        )
        .await
        .expect(200);
    for item in now.body["items"].as_array().unwrap() {
        assert_eq!(item["status"], "paid");
    }
    // A paid item can no longer fail.
    let item = item_of(&now.body, &m1)["id"].as_str().unwrap().to_owned();
    app.post(
        &format!("/api/v1/treasury/payout-items/{item}/failure"),
        Some(&maker.token),
        &json!({"reason": "x"}),
    )
    .await
    .expect_problem(409, "payout_already_settled");

    let exceptions = app
        .get(
            "/api/v1/treasury/reconciliation/exceptions",
            Some(&maker.token),
        )
        .await
        .expect(200);
    let lines = exceptions.body["unmatched_lines"].as_array().unwrap();
    let descriptions: Vec<&str> = lines
        .iter()
        .map(|l| l["description"].as_str().unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{descriptions:?}");
    assert!(descriptions.contains(&"BIAYA ADMIN"));
    assert!(lines.iter().all(|l| l["direction"] == "debit"));
    assert!(lines[0]["raw"].as_str().unwrap().starts_with("2026-03-04,"));
    let credits = app
        .get(
            "/api/v1/treasury/reconciliation/exceptions?direction=credit",
            Some(&maker.token),
        )
        .await
        .expect(200);
    assert_eq!(credits.body["unmatched_lines"].as_array().unwrap().len(), 1);
    app.get(
        "/api/v1/treasury/reconciliation/exceptions?direction=sideways",
        Some(&maker.token),
    )
    .await
    .expect_problem(422, "validation_failed");
}

#[tokio::test]
async fn bad_statements_are_refused_whole_with_every_bad_line() {
    let app = app_at(utc(2026, 3, 4, 3)).await;
    let (maker, _) = treasurers(&app).await;
    let bad = "value_date,description,debit,credit,balance\n\
               2026-03-04,ok,100,,\n\
               2026-03-04,fraction,100.50,,\n\
               2026-02-30,bad date,100,,\n";
    let reply = app
        .post_raw(
            "/api/v1/treasury/bank-statements",
            Some(&maker.token),
            "text/csv",
            bad,
        )
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(
        reply.field_codes(),
        [
            ("line 3".to_owned(), "amount_has_fraction".to_owned()),
            ("line 4".to_owned(), "invalid_date".to_owned()),
        ]
    );
    app.post_raw(
        "/api/v1/treasury/bank-statements",
        Some(&maker.token),
        "text/plain",
        "not a statement at all",
    )
    .await
    .expect_problem(422, "validation_failed");
    let exceptions = app
        .get(
            "/api/v1/treasury/reconciliation/exceptions?direction=all",
            Some(&maker.token),
        )
        .await
        .expect(200);
    assert!(
        exceptions.body["unmatched_lines"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

fn mt940(account: &str, lines: &[(&str, char, i64, &str)], closing: i64) -> String {
    let mut out = format!(
        "{{1:F01BMRIIDJAXXXX0000000000}}{{4:\r\n:20:STMT{}\r\n:25:{account}\r\n:28C:1/1\r\n:60F:C260303IDR0,00\r\n",
        lines.len()
    );
    for (date, mark, amount, narrative) in lines {
        let _ = write!(
            out,
            ":61:{date}{mark}{amount},00NTRFNONREF//B1\r\n:86:{narrative}\r\n"
        );
    }
    let _ = write!(out, ":62F:C260304IDR{closing},00\r\n-}}");
    out
}

#[tokio::test]
async fn mt940_lines_match_by_amount_date_and_account_when_the_reference_is_lost() {
    let app = app_at(utc(2026, 3, 4, 3)).await;
    let (maker, checker) = treasurers(&app).await;
    let (m1, acc1) = merchant(&app, "toko_kelontong", KEL, None).await;
    let (m2, acc2) = merchant(&app, "toko_kelontong", KEL, None).await;
    let (m3, acc3) = merchant(&app, "toko_kelontong", KEL, None).await;
    owed(&app, "o1", &m1, 70_000, utc(2026, 3, 2, 2)).await;
    owed(&app, "o2", &m2, 70_000, utc(2026, 3, 2, 2)).await;
    owed(&app, "o3", &m3, 33_000, utc(2026, 3, 2, 2)).await;
    paid_batch(&app, &maker, &checker, utc(2026, 3, 3, 0)).await;
    let file = mt940(
        "1230007654321",
        &[
            // Same amount as m2's item, but the narrative names m1's account: m1 only.
            ("260304", 'D', 70_000, &format!("TRF KE {acc1} TOKO")),
            // Names both m2's and m3's accounts, but only m3's amount fits.
            ("260304", 'D', 33_000, &format!("TRF {acc2} / {acc3}")),
            ("260304", 'C', 500_000, "SETORAN"),
        ],
        397_000,
    );
    let reply = app
        .post_raw(
            "/api/v1/treasury/bank-statements",
            Some(&maker.token),
            "application/x-mt940",
            &file,
        )
        .await
        .expect(201);
    assert_eq!(reply.body["lines"], 3);
    assert_eq!(reply.body["matched"], 2);
    // Sent as text/plain, it is recognised as MT940 and is the same statement.
    let again = app
        .post_raw(
            "/api/v1/treasury/bank-statements",
            Some(&maker.token),
            "text/plain",
            &file,
        )
        .await
        .expect(200);
    assert_eq!(again.body["duplicates"], 3);
    let trial = trial(&app, &maker).await;
    assert_eq!(normal_balance(&trial, "payout_in_transit"), 70_000);

    // The daily close compares the ledger's collection account with the statement's closing
    // balance: the ledger saw 173,000 in and 103,000 out; the bank says 397,000.
    let close = app
        .get(
            "/api/v1/treasury/daily-close?date=2026-03-04",
            Some(&maker.token),
        )
        .await
        .expect(200);
    assert_eq!(close.body["ledger_amount"], 173_000 - 103_000);
    assert_eq!(close.body["statement_amount"], 397_000);
    assert_eq!(close.body["difference_amount"], 397_000 - 70_000);
    assert_eq!(close.body["status"], "difference");
    assert_eq!(close.body["in_transit_amount"], 70_000);
    assert_eq!(close.body["unmatched_lines"].as_array().unwrap().len(), 1);
    let none = app
        .get(
            "/api/v1/treasury/daily-close?date=2026-03-01",
            Some(&maker.token),
        )
        .await
        .expect(200);
    assert_eq!(none.body["status"], "no_statement");
    app.post(
        "/api/v1/treasury/daily-closes",
        Some(&maker.token),
        &json!({"date": "2026-03-04"}),
    )
    .await
    .expect(201);
    app.get(
        "/api/v1/treasury/daily-close?date=2026-3-4",
        Some(&maker.token),
    )
    .await
    .expect_problem(422, "validation_failed");
}

#[tokio::test]
async fn a_manual_match_takes_effect_only_when_a_second_treasurer_approves() {
    let app = app_at(utc(2026, 3, 4, 3)).await;
    let (maker, checker) = treasurers(&app).await;
    let (m1, _) = merchant(&app, "umkm", KEL, None).await;
    owed(&app, "o1", &m1, 64_000, utc(2026, 3, 2, 2)).await;
    let batch = paid_batch(&app, &maker, &checker, utc(2026, 3, 3, 0)).await;
    let item = item_of(&batch, &m1)["id"].as_str().unwrap().to_owned();
    let file = csv_statement(&[
        ("2026-03-04", "TRANSFER KELUAR", 64_000, 0),
        ("2026-03-04", "TRANSFER LAIN", 64_001, 0),
    ]);
    app.post_raw(
        "/api/v1/treasury/bank-statements",
        Some(&maker.token),
        "text/csv",
        &file,
    )
    .await
    .expect(201);
    let exceptions = app
        .get(
            "/api/v1/treasury/reconciliation/exceptions",
            Some(&maker.token),
        )
        .await
        .expect(200);
    let line_of = |desc: &str| {
        exceptions.body["unmatched_lines"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["description"] == desc)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let line = line_of("TRANSFER KELUAR");
    let other = line_of("TRANSFER LAIN");

    app.post(
        "/api/v1/treasury/reconciliation/matches",
        Some(&maker.token),
        &json!({"statement_line_id": other, "payout_item_id": item}),
    )
    .await
    .expect_problem(422, "amount_mismatch");
    app.post(
        "/api/v1/treasury/reconciliation/matches",
        Some(&maker.token),
        &json!({"statement_line_id": "nope", "payout_item_id": "nope"}),
    )
    .await
    .expect_problem(422, "validation_failed");
    let proposal = app
        .post(
            "/api/v1/treasury/reconciliation/matches",
            Some(&maker.token),
            &json!({"statement_line_id": line, "payout_item_id": item, "note": "bank lupa berita"}),
        )
        .await
        .expect(201);
    assert_eq!(proposal.body["status"], "pending");
    app.post(
        "/api/v1/treasury/reconciliation/matches",
        Some(&checker.token),
        &json!({"statement_line_id": line, "payout_item_id": item}),
    )
    .await
    .expect_problem(409, "match_pending");
    // Proposed but not approved: nothing changed.
    let pending = trial(&app, &maker).await;
    assert_eq!(normal_balance(&pending, "payout_in_transit"), 64_000);
    let exceptions = app
        .get(
            "/api/v1/treasury/reconciliation/exceptions",
            Some(&maker.token),
        )
        .await
        .expect(200);
    assert_eq!(
        exceptions.body["pending_matches"].as_array().unwrap().len(),
        1
    );

    let approval = format!(
        "/api/v1/treasury/reconciliation/matches/{}/approval",
        proposal.body["id"].as_str().unwrap()
    );
    app.post(&approval, Some(&maker.token), &json!({}))
        .await
        .expect_problem(403, "four_eyes_required");
    let approved = app
        .post(&approval, Some(&checker.token), &json!({}))
        .await
        .expect(200);
    assert_eq!(approved.body["status"], "approved");
    app.post(&approval, Some(&checker.token), &json!({}))
        .await
        .expect_problem(409, "match_decided");
    let done = trial(&app, &maker).await;
    assert_eq!(normal_balance(&done, "payout_in_transit"), 0);
    // The line and the item are each matched once: a second proposal is refused.
    app.post(
        "/api/v1/treasury/reconciliation/matches",
        Some(&maker.token),
        &json!({"statement_line_id": line, "payout_item_id": item}),
    )
    .await
    .expect_problem(409, "statement_line_matched");
}

#[tokio::test]
async fn overdue_payouts_are_exceptions() {
    let app = app_at(utc(2026, 3, 4, 3)).await;
    let (maker, checker) = treasurers(&app).await;
    let (m1, _) = merchant(&app, "umkm", KEL, None).await;
    owed(&app, "o1", &m1, 10_000, utc(2026, 3, 2, 2)).await;
    paid_batch(&app, &maker, &checker, utc(2026, 3, 3, 0)).await;
    let fresh = app
        .get(
            "/api/v1/treasury/reconciliation/exceptions",
            Some(&maker.token),
        )
        .await
        .expect(200);
    assert!(fresh.body["overdue_items"].as_array().unwrap().is_empty());
    // Approved Wednesday 4 March; by Monday 9 March three working days have passed.
    let maker = move_clock(&app, utc(2026, 3, 9, 3), &[&maker])
        .await
        .remove(0);
    let later = app
        .get(
            "/api/v1/treasury/reconciliation/exceptions",
            Some(&maker.token),
        )
        .await
        .expect(200);
    let overdue = later.body["overdue_items"].as_array().unwrap();
    assert_eq!(overdue.len(), 1);
    assert_eq!(overdue[0]["merchant_id"], m1);
    assert_eq!(overdue[0]["working_days_in_transit"], 3);
}
