//! Payout batches: cut-off, four-eyes approval, transfer file, failures, holds and retries.

use sea_orm::ConnectionTrait;
use serde_json::json;

use crate::fixtures::payouts::{
    app_at, item_of, merchant, move_clock, normal_balance, owed, paid_batch, refunded, treasurers,
    trial, utc,
};

const KEL_A: &str = "35.78.01.1001";
const KEL_B: &str = "35.78.03.1001";

#[tokio::test]
async fn a_batch_pays_each_merchant_up_to_the_cutoff_once_with_four_eyes() {
    let app = app_at(utc(2026, 3, 4, 3)).await;
    let (maker, checker) = treasurers(&app).await;
    let (m1, _) = merchant(&app, "toko_kelontong", KEL_A, None).await;
    let (m2, _) = merchant(&app, "umkm", KEL_B, None).await;
    owed(&app, "o1", &m1, 100_000, utc(2026, 3, 2, 2)).await;
    owed(&app, "o2", &m1, 50_000, utc(2026, 3, 2, 5)).await;
    owed(&app, "o3", &m2, 300_000_000, utc(2026, 3, 2, 6)).await;
    // A refund of a completed order reduces what the merchant is owed.
    refunded(&app, "o2", 10_000, utc(2026, 3, 2, 7)).await;
    // After the cut-off: paid by a later batch.
    owed(&app, "o4", &m1, 20_000, utc(2026, 3, 3, 9)).await;
    // Dated before the cut-off but recorded after a later sale: it waits, with that sale, for
    // the next batch (each item pays one unbroken run of the merchant's payable changes).
    refunded(&app, "o1", 5_000, utc(2026, 3, 2, 8)).await;
    let cutoff = utc(2026, 3, 2, 17);

    let asn_like = app.staff("admin", None).await;
    app.post(
        "/api/v1/treasury/payout-batches",
        Some(&asn_like.token),
        &json!({"cutoff": cutoff.to_rfc3339()}),
    )
    .await
    .expect_problem(403, "forbidden");
    app.post(
        "/api/v1/treasury/payout-batches",
        Some(&maker.token),
        &json!({"cutoff": "yesterday"}),
    )
    .await
    .expect_problem(422, "validation_failed");
    app.post(
        "/api/v1/treasury/payout-batches",
        Some(&maker.token),
        &json!({"cutoff": utc(2026, 3, 9, 0).to_rfc3339()}),
    )
    .await
    .expect_problem(422, "validation_failed");

    let draft = app
        .post(
            "/api/v1/treasury/payout-batches",
            Some(&maker.token),
            &json!({"cutoff": cutoff.to_rfc3339()}),
        )
        .await
        .expect(201);
    let batch_id = draft.body["id"].as_str().unwrap().to_owned();
    assert_eq!(draft.body["status"], "draft");
    assert_eq!(draft.body["item_count"], 2);
    assert_eq!(draft.body["total_amount"], 300_140_000);
    let i1 = item_of(&draft.body, &m1);
    assert_eq!(
        (i1["amount"].as_i64(), i1["rail"].as_str()),
        (Some(140_000), Some("BIFAST"))
    );
    let i2 = item_of(&draft.body, &m2);
    assert_eq!(
        (i2["amount"].as_i64(), i2["rail"].as_str()),
        (Some(300_000_000), Some("SKN"))
    );
    assert_ne!(i1["reference"], i2["reference"]);

    // Nothing moved yet, and no second batch while this draft waits.
    let before = trial(&app, &maker).await;
    assert_eq!(normal_balance(&before, "payout_in_transit"), 0);
    app.post(
        "/api/v1/treasury/payout-batches",
        Some(&checker.token),
        &json!({"cutoff": cutoff.to_rfc3339()}),
    )
    .await
    .expect_problem(409, "draft_batch_exists");
    let path = format!("/api/v1/treasury/payout-batches/{batch_id}");
    app.get(&format!("{path}/transfer-file"), Some(&maker.token))
        .await
        .expect_problem(409, "batch_not_approved");

    app.post(&format!("{path}/approval"), Some(&maker.token), &json!({}))
        .await
        .expect_problem(403, "four_eyes_required");
    let approved = app
        .post(
            &format!("{path}/approval"),
            Some(&checker.token),
            &json!({}),
        )
        .await
        .expect(200);
    assert_eq!(approved.body["status"], "approved");
    assert_eq!(approved.body["approved_by"], checker.id);
    app.post(
        &format!("{path}/approval"),
        Some(&checker.token),
        &json!({}),
    )
    .await
    .expect_problem(409, "batch_not_draft");
    app.post(
        &format!("{path}/cancellation"),
        Some(&maker.token),
        &json!({}),
    )
    .await
    .expect_problem(409, "batch_not_draft");

    let after = trial(&app, &maker).await;
    assert_eq!(normal_balance(&after, "payout_in_transit"), 300_140_000);
    assert_eq!(
        normal_balance(&after, &format!("merchant_payable:{m1}")),
        15_000
    );
    assert_eq!(normal_balance(&after, &format!("merchant_payable:{m2}")), 0);

    let file = app
        .get(&format!("{path}/transfer-file"), Some(&maker.token))
        .await
        .expect(200);
    assert!(
        file.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let mut lines = file.text.lines();
    assert_eq!(
        lines.next(),
        Some("reference,bank_code,account_number,account_name,amount,rail,remark")
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 2);
    for row in &rows {
        assert!(
            row[6].contains(row[0]),
            "remark carries the reference: {row:?}"
        );
    }
    let amounts: Vec<&str> = rows.iter().map(|r| r[4]).collect();
    assert!(amounts.contains(&"140000") && amounts.contains(&"300000000"));

    // The later order is paid by the next batch, exactly.
    let [maker, checker] =
        <[_; 2]>::try_from(move_clock(&app, utc(2026, 3, 4, 4), &[&maker, &checker]).await)
            .unwrap();
    let next = app
        .post(
            "/api/v1/treasury/payout-batches",
            Some(&checker.token),
            &json!({"cutoff": utc(2026, 3, 4, 4).to_rfc3339()}),
        )
        .await
        .expect(201);
    assert_eq!(next.body["item_count"], 1);
    assert_eq!(item_of(&next.body, &m1)["amount"], 15_000);
    let list = app
        .get(
            "/api/v1/treasury/payout-batches?limit=1",
            Some(&maker.token),
        )
        .await
        .expect(200);
    assert_eq!(list.body["items"][0]["id"], next.body["id"]);
    assert!(list.body["next_cursor"].is_string());
}

#[tokio::test]
async fn a_cancelled_draft_frees_its_amounts_for_the_next_batch() {
    let app = app_at(utc(2026, 3, 4, 3)).await;
    let (maker, checker) = treasurers(&app).await;
    let (m1, _) = merchant(&app, "koperasi", KEL_A, None).await;
    owed(&app, "o1", &m1, 75_000, utc(2026, 3, 2, 2)).await;
    let cutoff = json!({"cutoff": utc(2026, 3, 3, 0).to_rfc3339()});
    let draft = app
        .post(
            "/api/v1/treasury/payout-batches",
            Some(&maker.token),
            &cutoff,
        )
        .await
        .expect(201);
    let id = draft.body["id"].as_str().unwrap();
    let cancelled = app
        .post(
            &format!("/api/v1/treasury/payout-batches/{id}/cancellation"),
            Some(&checker.token),
            &json!({}),
        )
        .await
        .expect(200);
    assert_eq!(cancelled.body["status"], "cancelled");
    app.post(
        &format!("/api/v1/treasury/payout-batches/{id}/approval"),
        Some(&checker.token),
        &json!({}),
    )
    .await
    .expect_problem(409, "batch_not_draft");
    let again = paid_batch(&app, &maker, &checker, utc(2026, 3, 3, 0)).await;
    assert_eq!(item_of(&again, &m1)["amount"], 75_000);
    let trial = trial(&app, &maker).await;
    assert_eq!(normal_balance(&trial, "payout_in_transit"), 75_000);
}

#[tokio::test]
async fn a_failed_payout_holds_the_merchant_and_is_paid_again_exactly_once() {
    let app = app_at(utc(2026, 3, 4, 3)).await;
    let (maker, checker) = treasurers(&app).await;
    let (m1, _) = merchant(&app, "toko_kelontong", KEL_A, None).await;
    let (m2, _) = merchant(&app, "toko_kelontong", KEL_A, None).await;
    owed(&app, "o1", &m1, 120_000, utc(2026, 3, 2, 2)).await;
    owed(&app, "o2", &m2, 80_000, utc(2026, 3, 2, 2)).await;
    let batch = paid_batch(&app, &maker, &checker, utc(2026, 3, 3, 0)).await;
    let item = item_of(&batch, &m1)["id"].as_str().unwrap().to_owned();
    let failure = format!("/api/v1/treasury/payout-items/{item}/failure");

    app.post(&failure, Some(&maker.token), &json!({"reason": " "}))
        .await
        .expect_problem(422, "validation_failed");
    let failed = app
        .post(
            &failure,
            Some(&maker.token),
            &json!({"reason": "rekening ditutup"}),
        )
        .await
        .expect(200);
    assert_eq!(failed.body["status"], "failed");
    app.post(&failure, Some(&checker.token), &json!({"reason": "lagi"}))
        .await
        .expect_problem(409, "payout_already_failed");
    app.post(
        "/api/v1/treasury/payout-items/nope/failure",
        Some(&maker.token),
        &json!({"reason": "x"}),
    )
    .await
    .expect_problem(404, "not_found");

    let trial_after = trial(&app, &maker).await;
    assert_eq!(normal_balance(&trial_after, "payout_in_transit"), 80_000);
    assert_eq!(
        normal_balance(&trial_after, &format!("merchant_payable:{m1}")),
        120_000
    );
    let holds = app
        .get("/api/v1/treasury/payout-holds", Some(&maker.token))
        .await
        .expect(200);
    assert_eq!(holds.body.as_array().unwrap().len(), 1);
    assert_eq!(holds.body[0]["merchant_id"], m1);
    let hold = holds.body[0]["id"].as_str().unwrap().to_owned();

    // Held: a new batch leaves the merchant out.
    owed(&app, "o3", &m2, 5_000, utc(2026, 3, 3, 1)).await;
    let [maker, checker] =
        <[_; 2]>::try_from(move_clock(&app, utc(2026, 3, 5, 3), &[&maker, &checker]).await)
            .unwrap();
    let held_batch = app
        .post(
            "/api/v1/treasury/payout-batches",
            Some(&maker.token),
            &json!({"cutoff": utc(2026, 3, 5, 0).to_rfc3339()}),
        )
        .await
        .expect(201);
    assert_eq!(held_batch.body["item_count"], 1);
    assert_eq!(item_of(&held_batch.body, &m2)["amount"], 5_000);
    assert_eq!(held_batch.body["held_merchants"], json!([m1]));
    // One draft at a time: it is approved before the next batch is built.
    app.post(
        "/api/v1/treasury/payout-batches",
        Some(&checker.token),
        &json!({"cutoff": utc(2026, 3, 5, 0).to_rfc3339()}),
    )
    .await
    .expect_problem(409, "draft_batch_exists");
    app.post(
        &format!(
            "/api/v1/treasury/payout-batches/{}/approval",
            held_batch.body["id"].as_str().unwrap()
        ),
        Some(&checker.token),
        &json!({}),
    )
    .await
    .expect(200);

    let clear = format!("/api/v1/treasury/payout-holds/{hold}/clearance");
    app.post(
        &clear,
        Some(&checker.token),
        &json!({"note": "rekening baru"}),
    )
    .await
    .expect(200);
    app.post(&clear, Some(&checker.token), &json!({"note": "lagi"}))
        .await
        .expect_problem(409, "hold_already_cleared");

    // Cleared: the returned money is paid again, once.
    let retry = paid_batch(&app, &maker, &checker, utc(2026, 3, 5, 1)).await;
    assert_eq!(retry["item_count"], 1);
    assert_eq!(item_of(&retry, &m1)["amount"], 120_000);
    app.post(
        "/api/v1/treasury/payout-batches",
        Some(&maker.token),
        &json!({"cutoff": utc(2026, 3, 5, 2).to_rfc3339()}),
    )
    .await
    .expect_problem(422, "nothing_to_pay");
    let trial_end = trial(&app, &maker).await;
    assert_eq!(
        normal_balance(&trial_end, &format!("merchant_payable:{m1}")),
        0
    );
    assert_eq!(normal_balance(&trial_end, "payout_in_transit"), 205_000);
}

#[tokio::test]
async fn two_batches_built_at_once_never_share_an_amount() {
    let app = app_at(utc(2026, 3, 4, 3)).await;
    let (maker, checker) = treasurers(&app).await;
    let mut merchants = Vec::new();
    for n in 0..20 {
        let (m, _) = merchant(&app, "umkm", KEL_B, None).await;
        owed(&app, &format!("o{n}"), &m, 1_000 + n, utc(2026, 3, 2, 2)).await;
        merchants.push(m);
    }
    let body = json!({"cutoff": utc(2026, 3, 3, 0).to_rfc3339()});
    let tokens = [&maker.token, &checker.token, &maker.token, &checker.token];
    let replies = futures_util::future::join_all(
        tokens
            .iter()
            .map(|t| app.post("/api/v1/treasury/payout-batches", Some(t), &body)),
    )
    .await;
    let mut paid: Vec<String> = Vec::new();
    let mut total = 0;
    for reply in &replies {
        match reply.status.as_u16() {
            201 => {
                for item in reply.body["items"].as_array().unwrap() {
                    paid.push(item["merchant_id"].as_str().unwrap().to_owned());
                    total += item["amount"].as_i64().unwrap();
                }
            }
            409 => assert_eq!(reply.code(), "draft_batch_exists"),
            other => panic!("unexpected {other}: {}", reply.text),
        }
    }
    paid.sort();
    merchants.sort();
    assert_eq!(paid, merchants, "every merchant in exactly one batch");
    assert_eq!(total, (0..20).map(|n| 1_000 + n).sum::<i64>());
}

#[tokio::test]
async fn an_idempotency_key_replays_the_first_answer() {
    let app = app_at(utc(2026, 3, 4, 3)).await;
    let (maker, checker) = treasurers(&app).await;
    let (m1, _) = merchant(&app, "umkm", KEL_A, None).await;
    owed(&app, "o1", &m1, 42_000, utc(2026, 3, 2, 2)).await;
    let body = json!({"cutoff": utc(2026, 3, 3, 0).to_rfc3339()});
    let create = |token: String, body: serde_json::Value, key: &'static str| {
        let app = &app;
        async move {
            app.send(
                reqwest::Method::POST,
                "/api/v1/treasury/payout-batches",
                Some(&token),
                Some(&body),
                &[("Idempotency-Key", key)],
            )
            .await
        }
    };
    let first = create(maker.token.clone(), body.clone(), "batch-1")
        .await
        .expect(201);
    let again = create(maker.token.clone(), body.clone(), "batch-1")
        .await
        .expect(201);
    assert_eq!(first.body, again.body);
    let other = json!({"cutoff": utc(2026, 3, 3, 1).to_rfc3339()});
    create(maker.token.clone(), other, "batch-1")
        .await
        .expect_problem(409, "idempotency_key_reused");

    let id = first.body["id"].as_str().unwrap();
    let path = format!("/api/v1/treasury/payout-batches/{id}/approval");
    let empty = json!({});
    let approve = || {
        app.send(
            reqwest::Method::POST,
            &path,
            Some(&checker.token),
            Some(&empty),
            &[("Idempotency-Key", "approve-1")],
        )
    };
    let approved = approve().await.expect(200);
    let replayed = approve().await.expect(200);
    assert_eq!(approved.body, replayed.body);
    // Without the key, the second approval is refused: the batch is approved already.
    app.post(&path, Some(&checker.token), &empty)
        .await
        .expect_problem(409, "batch_not_draft");
    let trial = trial(&app, &maker).await;
    assert_eq!(normal_balance(&trial, "payout_in_transit"), 42_000);
}

#[tokio::test]
async fn an_account_name_written_as_a_formula_reaches_the_transfer_file_as_text() {
    let app = app_at(utc(2026, 3, 4, 3)).await;
    let (maker, checker) = treasurers(&app).await;
    let (m1, account) = merchant(&app, "toko_kelontong", KEL_A, None).await;
    let name = "=HYPERLINK(\"http://evil.example/\",\"klik\")";
    let db = &app.state.db;
    db.execute_raw(sea_orm::Statement::from_sql_and_values(
        db.get_database_backend(),
        "UPDATE merchants SET account_name = $1 WHERE id = $2",
        [name.into(), m1.clone().into()],
    ))
    .await
    .unwrap();
    owed(&app, "f1", &m1, 125_000, utc(2026, 3, 2, 2)).await;
    let batch = paid_batch(&app, &maker, &checker, utc(2026, 3, 2, 17)).await;
    let id = batch["id"].as_str().unwrap();
    let file = app
        .get(
            &format!("/api/v1/treasury/payout-batches/{id}/transfer-file"),
            Some(&maker.token),
        )
        .await
        .expect(200);
    let line = file.text.lines().nth(1).unwrap().to_owned();
    let reference = item_of(&batch, &m1)["reference"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        line,
        format!(
            "{reference},008,{account},\"'=HYPERLINK(\"\"http://evil.example/\"\",\"\"klik\"\")\",125000,BIFAST,PEKEN {reference}"
        ),
        "the name is text (a leading '), the amount a number"
    );
}
