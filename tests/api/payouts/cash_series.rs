//! The cash position: per WIB day what the collection account received and paid, the fee
//! recognised, the closing balance and the float held for buyers.

use peken_kernel::Rupiah;
use sea_orm::TransactionTrait;
use serde_json::Value;

use crate::fixtures::payouts::{
    app_at, csv_statement, item_of, merchant, normal_balance, paid_batch, treasurers, trial, utc,
};

const KEL: &str = "35.78.02.1001";

fn amount(day: &Value, field: &str) -> i64 {
    day[field]
        .as_i64()
        .unwrap_or_else(|| panic!("{field} in {day}"))
}

#[tokio::test]
async fn each_day_closes_at_the_previous_close_plus_its_movements() {
    // 10:00 WIB on 4 March 2026.
    let app = app_at(utc(2026, 3, 4, 3)).await;
    let (maker, checker) = treasurers(&app).await;
    let (shop, _) = merchant(&app, "toko_kelontong", KEL, None).await;
    let db = &app.state.db;
    let rp = Rupiah::new;

    let txn = db.begin().await.unwrap();
    // 1 March (WIB), before the range: an order paid and completed, no fee.
    peken_ledger::post_payment_confirmed(&txn, "pay-c", rp(7_000), utc(2026, 2, 28, 18))
        .await
        .unwrap();
    peken_ledger::post_order_completed(
        &txn,
        "cash-c",
        &shop,
        rp(7_000),
        Rupiah::ZERO,
        Rupiah::ZERO,
        utc(2026, 2, 28, 18),
    )
    .await
    .unwrap();
    // 2 March: order A paid (not completed); order B paid and completed with a fee and tax.
    peken_ledger::post_payment_confirmed(&txn, "pay-a", rp(100_000), utc(2026, 3, 2, 2))
        .await
        .unwrap();
    peken_ledger::post_payment_confirmed(&txn, "pay-b", rp(50_000), utc(2026, 3, 2, 3))
        .await
        .unwrap();
    peken_ledger::post_order_completed(
        &txn,
        "cash-b",
        &shop,
        rp(50_000),
        rp(1_000),
        rp(500),
        utc(2026, 3, 2, 3),
    )
    .await
    .unwrap();
    // 3 March: 30,000 of A owed back before completion; 10,000 of completed B owed back
    // (fee 200, tax 100 and 9,700 from the shop come back).
    peken_ledger::post_refund(
        &txn,
        "order:cash-a:refunded",
        Some("cash-a"),
        None,
        rp(30_000),
        utc(2026, 3, 3, 3),
    )
    .await
    .unwrap();
    peken_ledger::post_refund(
        &txn,
        "order:cash-b:refunded",
        Some("cash-b"),
        None,
        rp(10_000),
        utc(2026, 3, 3, 4),
    )
    .await
    .unwrap();
    txn.commit().await.unwrap();

    // 4 March: the shop is paid 7,000 + 48,500 − 9,700 = 45,800, seen on the statement today;
    // A's refund is paid back.
    let batch = paid_batch(&app, &maker, &checker, utc(2026, 3, 4, 0)).await;
    let item = item_of(&batch, &shop);
    assert_eq!(item["amount"], 45_800, "{batch}");
    let reference = item["reference"].as_str().unwrap();
    let statement = csv_statement(&[(
        "2026-03-04",
        &format!("TRF BIFAST {reference} TOKO"),
        45_800,
        0,
    )]);
    let imported = app
        .post_raw(
            "/api/v1/treasury/bank-statements",
            Some(&maker.token),
            "text/csv",
            &statement,
        )
        .await
        .expect(201);
    assert_eq!(imported.body["matched"], 1, "{}", imported.text);
    let txn = db.begin().await.unwrap();
    peken_ledger::post_refund_paid(
        &txn,
        "refund:cash-a:paid",
        Some("cash-a"),
        rp(30_000),
        utc(2026, 3, 4, 5),
    )
    .await
    .unwrap();
    txn.commit().await.unwrap();

    let report = app
        .get(
            "/api/v1/treasury/cash-series?from=2026-03-02&to=2026-03-05",
            Some(&maker.token),
        )
        .await
        .expect(200);
    let body = &report.body;
    assert_eq!(body["opening_collection_amount"], 7_000, "{}", report.text);
    assert_eq!(body["opening_buyer_float_amount"], 0);
    let days = body["days"].as_array().unwrap();
    let rows: Vec<(&str, [i64; 7])> = days
        .iter()
        .map(|d| {
            (
                d["date"].as_str().unwrap(),
                [
                    "collections_amount",
                    "refunds_paid_amount",
                    "payouts_amount",
                    "net_amount",
                    "fees_amount",
                    "closing_collection_amount",
                    "buyer_float_amount",
                ]
                .map(|f| amount(d, f)),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (
                "2026-03-02",
                [150_000, 0, 0, 150_000, 1_000, 157_000, 100_000]
            ),
            ("2026-03-03", [0, 0, 0, 0, -200, 157_000, 110_000]),
            (
                "2026-03-04",
                [0, 30_000, 45_800, -75_800, 0, 81_200, 80_000]
            ),
            // A day without movement has its row, balances carried.
            ("2026-03-05", [0, 0, 0, 0, 0, 81_200, 80_000]),
        ]
    );

    // Every day closes at the previous close plus its net movements, and the net is its parts.
    let mut previous = amount(body, "opening_collection_amount");
    for d in days {
        let net = amount(d, "net_amount");
        assert_eq!(
            net,
            amount(d, "collections_amount")
                - amount(d, "refunds_paid_amount")
                - amount(d, "payouts_amount")
                + amount(d, "other_amount"),
            "{d}"
        );
        assert_eq!(
            amount(d, "closing_collection_amount"),
            previous + net,
            "{d}"
        );
        previous = amount(d, "closing_collection_amount");
    }
    let totals = &body["totals"];
    assert_eq!(totals["collections_amount"], 150_000);
    assert_eq!(totals["refunds_paid_amount"], 30_000);
    assert_eq!(totals["payouts_amount"], 45_800);
    assert_eq!(totals["net_amount"], 74_200);
    assert_eq!(totals["fees_amount"], 800);
    assert_eq!(body["closing_collection_amount"], 81_200);
    assert_eq!(body["closing_buyer_float_amount"], 80_000);

    // The ledger agrees: collection and the buyers' float now.
    let t = trial(&app, &maker).await;
    assert_eq!(normal_balance(&t, "collection"), 81_200);
    assert_eq!(
        normal_balance(&t, "buyer_funds_held") + normal_balance(&t, "refunds_payable"),
        80_000
    );
    assert_eq!(normal_balance(&t, "platform_fee"), 800);
}

#[tokio::test]
async fn the_range_is_checked() {
    let app = app_at(utc(2026, 3, 4, 3)).await;
    let (treasury, _) = treasurers(&app).await;
    let get = |query: &'static str| {
        let app = &app;
        let token = treasury.token.clone();
        async move {
            app.get(
                &format!("/api/v1/treasury/cash-series{query}"),
                Some(&token),
            )
            .await
        }
    };
    for (query, field, code) in [
        ("?from=2026-03-05&to=2026-03-04", "from", "invalid_range"),
        ("?from=2025-01-01&to=2026-01-02", "to", "range_too_long"),
        ("?from=2026-02-30", "from", "invalid_date"),
    ] {
        let reply = get(query).await.expect_problem(422, "validation_failed");
        assert_eq!(
            reply.field_codes(),
            [(field.to_owned(), code.to_owned())],
            "{query}"
        );
    }
    // 366 days is the longest range; the default is this month so far (WIB).
    let year = get("?from=2024-01-01&to=2024-12-31").await.expect(200);
    assert_eq!(year.body["days"].as_array().unwrap().len(), 366);
    let month = get("").await.expect(200);
    assert_eq!(month.body["from"], "2026-03-01");
    assert_eq!(month.body["to"], "2026-03-04");
    assert_eq!(month.body["days"].as_array().unwrap().len(), 4);
}
