//! A merchant's new bank account: the owner is mailed, and payout batches leave the merchant out
//! (saying why) until an admin confirms the account or the cooling-off period passes.

use serde_json::json;

use crate::fixtures::orders::shop;
use crate::fixtures::payouts::{
    app_at, item_of, merchant, move_clock, owed, scalar, treasurers, utc,
};

const KEL: &str = "35.78.03.1001";

fn skipped_reason(batch: &serde_json::Value, merchant: &str) -> Option<String> {
    batch["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["merchant_id"] == merchant)
        .map(|s| s["reason"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn a_new_bank_account_is_mailed_and_held_until_confirmed_or_cooled_off() {
    let app = app_at(utc(2026, 3, 4, 3)).await;
    let (maker, checker) = treasurers(&app).await;
    let admin = app.admin().await;
    let changed = shop(&app, "toko_kelontong", KEL).await;
    let (steady, _) = merchant(&app, "umkm", KEL, None).await;
    owed(&app, "bh1", &changed.id, 100_000, utc(2026, 3, 2, 2)).await;
    owed(&app, "bh2", &steady, 50_000, utc(2026, 3, 2, 2)).await;

    let bank_path = format!("/api/v1/merchants/{}/bank-account", changed.id);
    let reply = app
        .put(
            &bank_path,
            Some(&changed.owner.token),
            &json!({"bank_code": "014", "account_number": "5550001111", "account_name": "PEMILIK BARU"}),
        )
        .await
        .expect(200);
    assert_eq!(
        reply.body["bank_account_hold_until"],
        utc(2026, 3, 7, 3).to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
    );
    let mails = scalar(
        &app,
        &format!(
            "SELECT COUNT(*) AS n FROM mail_outbox WHERE template = 'bank_account_changed' \
             AND dedupe_key LIKE 'merchant:{}:bank_account:%' AND body_text LIKE '%******1111%'",
            changed.id
        ),
    )
    .await;
    assert_eq!(mails, 1, "the owner hears of the change, the number masked");

    // Held: the batch pays the other merchant and says why this one is left out.
    let cutoff = json!({"cutoff": utc(2026, 3, 2, 17).to_rfc3339()});
    let draft = app
        .post(
            "/api/v1/treasury/payout-batches",
            Some(&maker.token),
            &cutoff,
        )
        .await
        .expect(201);
    assert_eq!(draft.body["item_count"], 1);
    assert_eq!(item_of(&draft.body, &steady)["amount"], 50_000);
    assert_eq!(
        skipped_reason(&draft.body, &changed.id).as_deref(),
        Some("bank_account_unconfirmed")
    );
    let id = draft.body["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/treasury/payout-batches/{id}/cancellation"),
        Some(&checker.token),
        &json!({}),
    )
    .await
    .expect(200);

    // An admin confirms the account: the next batch pays to it.
    let confirm = format!(
        "/api/v1/admin/merchants/{}/bank-account/confirmation",
        changed.id
    );
    app.post(&confirm, Some(&maker.token), &json!({}))
        .await
        .expect_problem(403, "forbidden");
    let confirmed = app
        .post(&confirm, Some(&admin.token), &json!({}))
        .await
        .expect(200);
    assert!(confirmed.body.get("bank_account_hold_until").is_none());
    app.post(&confirm, Some(&admin.token), &json!({}))
        .await
        .expect_problem(409, "bank_account_not_held");
    let draft = app
        .post(
            "/api/v1/treasury/payout-batches",
            Some(&maker.token),
            &cutoff,
        )
        .await
        .expect(201);
    let item = item_of(&draft.body, &changed.id);
    assert_eq!(
        (item["account_number"].as_str(), item["amount"].as_i64()),
        (Some("5550001111"), Some(100_000))
    );
    let id = draft.body["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/treasury/payout-batches/{id}/cancellation"),
        Some(&checker.token),
        &json!({}),
    )
    .await
    .expect(200);

    // Another change, nobody confirms: held until the cooling-off period has passed.
    app.put(
        &bank_path,
        Some(&changed.owner.token),
        &json!({"bank_code": "014", "account_number": "5550002222", "account_name": "PEMILIK BARU"}),
    )
    .await
    .expect(200);
    let [maker, checker] =
        <[_; 2]>::try_from(move_clock(&app, utc(2026, 3, 7, 2), &[&maker, &checker]).await)
            .unwrap();
    let draft = app
        .post(
            "/api/v1/treasury/payout-batches",
            Some(&maker.token),
            &cutoff,
        )
        .await
        .expect(201);
    assert_eq!(
        skipped_reason(&draft.body, &changed.id).as_deref(),
        Some("bank_account_unconfirmed"),
        "23 hours before the end of the cooling-off period"
    );
    let id = draft.body["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/treasury/payout-batches/{id}/cancellation"),
        Some(&checker.token),
        &json!({}),
    )
    .await
    .expect(200);
    let [maker] =
        <[_; 1]>::try_from(move_clock(&app, utc(2026, 3, 10, 4), &[&maker]).await).unwrap();
    let draft = app
        .post(
            "/api/v1/treasury/payout-batches",
            Some(&maker.token),
            &cutoff,
        )
        .await
        .expect(201);
    assert_eq!(
        item_of(&draft.body, &changed.id)["account_number"],
        "5550002222"
    );
    assert_eq!(skipped_reason(&draft.body, &changed.id), None);
}
