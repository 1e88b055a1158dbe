//! Turnover per merchant and for the city, turnover alerts, the merchant ledger and the payout
//! service level.

use serde_json::json;

use crate::fixtures::payouts::{app_at, merchant, owed, paid_batch, refunded, treasurers, utc};

#[tokio::test]
async fn turnover_by_wib_month_with_year_to_date_class_and_alerts() {
    let app = app_at(utc(2026, 5, 10, 3)).await;
    let (treasury, _) = treasurers(&app).await;
    let (m1, _) = merchant(&app, "umkm", "35.78.01.1001", None).await;
    // 23:30 WIB on 31 March is 16:30 UTC: it counts for March.
    owed(&app, "o1", &m1, 300_000_000, utc(2026, 3, 31, 16)).await;
    // 00:30 WIB on 1 April.
    owed(&app, "o2", &m1, 250_000_000, utc(2026, 3, 31, 17)).await;
    refunded(&app, "o2", 50_000_000, utc(2026, 4, 2, 3)).await;
    owed(&app, "o3", &m1, 1_000, utc(2025, 12, 1, 3)).await;

    let path = format!("/api/v1/merchants/{m1}/turnover?from=2026-02&to=2026-04");
    let report = app.get(&path, Some(&treasury.token)).await.expect(200);
    let months = report.body["months"].as_array().unwrap();
    let rows: Vec<(&str, i64, i64, i64)> = months
        .iter()
        .map(|m| {
            (
                m["period"].as_str().unwrap(),
                m["gross_amount"].as_i64().unwrap(),
                m["refunds_amount"].as_i64().unwrap(),
                m["net_amount"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("2026-02", 0, 0, 0),
            ("2026-03", 300_000_000, 0, 300_000_000),
            ("2026-04", 250_000_000, 50_000_000, 200_000_000),
        ]
    );
    assert_eq!(report.body["year_to_date"]["net_amount"], 500_000_000);
    assert_eq!(report.body["umkm_class"]["class"], "mikro");
    // Crossed Rp500 million with o2 (550M gross), once.
    let alerts = report.body["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0]["threshold_amount"], 500_000_000);
    assert_eq!(alerts[0]["year"], 2026);

    let csv = app
        .send(
            reqwest::Method::GET,
            &path,
            Some(&treasury.token),
            None,
            &[("accept", "text/csv")],
        )
        .await
        .expect(200);
    assert_eq!(
        csv.text,
        "period,gross_amount,refunds_amount,net_amount,completed_orders\n\
         2026-02,0,0,0,0\n2026-03,300000000,0,300000000,1\n2026-04,250000000,50000000,200000000,1\n"
    );

    app.get(
        &format!("/api/v1/merchants/{m1}/turnover?from=2026-05&to=2026-04"),
        Some(&treasury.token),
    )
    .await
    .expect_problem(422, "validation_failed");
    app.get(
        &format!("/api/v1/merchants/{m1}/turnover?from=2026-13"),
        Some(&treasury.token),
    )
    .await
    .expect_problem(422, "validation_failed");
    app.get("/api/v1/merchants/nope/turnover", Some(&treasury.token))
        .await
        .expect_problem(404, "not_found");
    let public = app.public_buyer("35.78.01.1001").await;
    app.get(&path, Some(&public.token))
        .await
        .expect_problem(403, "forbidden");

    let alerts = app
        .get(
            "/api/v1/treasury/turnover-alerts?year=2026",
            Some(&treasury.token),
        )
        .await
        .expect(200);
    assert_eq!(alerts.body.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn the_city_report_groups_turnover_by_kecamatan_and_kind() {
    let app = app_at(utc(2026, 5, 10, 3)).await;
    let admin = app.admin().await;
    let (a, _) = merchant(&app, "toko_kelontong", "35.78.01.1001", None).await;
    let (b, _) = merchant(&app, "toko_kelontong", "35.78.01.1002", None).await;
    let (c, _) = merchant(&app, "umkm", "35.78.03.1001", None).await;
    owed(&app, "o1", &a, 10_000, utc(2026, 4, 2, 3)).await;
    owed(&app, "o2", &b, 20_000, utc(2026, 4, 3, 3)).await;
    owed(&app, "o3", &c, 5_000, utc(2026, 4, 3, 3)).await;
    owed(&app, "o4", &c, 7_000, utc(2026, 5, 3, 3)).await;
    let report = app
        .get(
            "/api/v1/reports/turnover?from=2026-04&to=2026-04",
            Some(&admin.token),
        )
        .await
        .expect(200);
    let rows = report.body["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["kecamatan_code"], "35.78.01");
    assert_eq!(rows[0]["kind"], "toko_kelontong");
    assert_eq!(rows[0]["merchants"], 2);
    assert_eq!(rows[0]["gross_amount"], 30_000);
    assert!(!rows[0]["kecamatan_name"].as_str().unwrap().is_empty());
    assert_eq!(rows[1]["kecamatan_code"], "35.78.03");
    assert_eq!(rows[1]["net_amount"], 5_000);
    assert_eq!(report.body["total"]["gross_amount"], 35_000);
    let csv = app
        .send(
            reqwest::Method::GET,
            "/api/v1/reports/turnover?from=2026-04&to=2026-05",
            Some(&admin.token),
            None,
            &[("accept", "text/csv")],
        )
        .await
        .expect(200);
    let lines: Vec<&str> = csv.text.lines().collect();
    assert_eq!(
        lines[0],
        "kecamatan_code,kecamatan_name,kind,merchants,gross_amount,refunds_amount,net_amount,completed_orders"
    );
    assert_eq!(lines.len(), 3);
    assert!(lines[2].starts_with("35.78.03,") && lines[2].ends_with(",umkm,1,12000,0,12000,2"));
}

#[tokio::test]
async fn the_merchant_ledger_runs_its_balance_and_pages() {
    let app = app_at(utc(2026, 3, 6, 3)).await;
    let (maker, checker) = treasurers(&app).await;
    let (m1, _) = merchant(&app, "umkm", "35.78.01.1001", None).await;
    owed(&app, "o1", &m1, 10_000, utc(2026, 3, 2, 3)).await;
    owed(&app, "o2", &m1, 5_000, utc(2026, 3, 2, 4)).await;
    refunded(&app, "o2", 2_000, utc(2026, 3, 2, 5)).await;
    paid_batch(&app, &maker, &checker, utc(2026, 3, 3, 0)).await;
    let page = app
        .get(
            &format!("/api/v1/merchants/{m1}/ledger?limit=3"),
            Some(&maker.token),
        )
        .await
        .expect(200);
    let rows: Vec<(&str, i64, i64)> = page.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap(),
                e["amount"].as_i64().unwrap(),
                e["balance_amount"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("order_completed", 10_000, 10_000),
            ("order_completed", 5_000, 15_000),
            ("refund", -2_000, 13_000)
        ]
    );
    let cursor = page.body["next_cursor"].as_str().unwrap();
    let rest = app
        .get(
            &format!("/api/v1/merchants/{m1}/ledger?limit=3&cursor={cursor}"),
            Some(&maker.token),
        )
        .await
        .expect(200);
    assert_eq!(rest.body["items"][0]["kind"], "payout_approved");
    assert_eq!(rest.body["items"][0]["amount"], -13_000);
    assert_eq!(rest.body["items"][0]["balance_amount"], 0);
    assert!(rest.body["next_cursor"].is_null());
    let admin = app.admin().await;
    app.get(
        &format!("/api/v1/merchants/{m1}/ledger"),
        Some(&admin.token),
    )
    .await
    .expect_problem(403, "forbidden");
}

#[tokio::test]
async fn payouts_later_than_three_working_days_after_receipt_are_breaches() {
    // Receipt on Thursday 5 March 2026; three working days later is Tuesday 10 March.
    let app = app_at(utc(2026, 3, 11, 3)).await;
    let (maker, checker) = treasurers(&app).await;
    let (late, _) = merchant(&app, "umkm", "35.78.01.1001", None).await;
    let (waiting, _) = merchant(&app, "umkm", "35.78.01.1001", None).await;
    owed(&app, "o1", &late, 10_000, utc(2026, 3, 5, 3)).await;
    owed(&app, "o2", &waiting, 20_000, utc(2026, 3, 5, 4)).await;
    // Approved Wednesday 11 March, one day late; the other merchant is still not in a batch.
    let batch = app
        .post(
            "/api/v1/treasury/payout-batches",
            Some(&maker.token),
            &json!({"cutoff": utc(2026, 3, 5, 3).to_rfc3339()}),
        )
        .await
        .expect(201);
    app.post(
        &format!(
            "/api/v1/treasury/payout-batches/{}/approval",
            batch.body["id"].as_str().unwrap()
        ),
        Some(&checker.token),
        &json!({}),
    )
    .await
    .expect(200);
    let report = app
        .get(
            "/api/v1/treasury/payout-sla?from=2026-03-01&to=2026-03-11",
            Some(&maker.token),
        )
        .await
        .expect(200);
    assert_eq!(report.body["sla_working_days"], 3);
    assert_eq!(report.body["items_checked"], 1);
    let breaches = report.body["breaches"].as_array().unwrap();
    assert_eq!(breaches.len(), 1);
    assert_eq!(breaches[0]["merchant_id"], late);
    assert_eq!(breaches[0]["deadline"], "2026-03-10");
    assert_eq!(breaches[0]["working_days_taken"], 4);
    let outstanding = report.body["outstanding"].as_array().unwrap();
    assert_eq!(outstanding.len(), 1);
    assert_eq!(outstanding[0]["merchant_id"], waiting);
    assert_eq!(outstanding[0]["state"], "unbatched");
    assert_eq!(outstanding[0]["held"], false);
}
