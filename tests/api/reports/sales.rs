//! The shop's sales report after real checkouts, payments, completions and a refund; the
//! numbers are worked out from what the test did.

use chrono::Duration;
use peken_tests::{Options, spawn_app_with};
use serde_json::{Value, json};

use super::{content_type, raw};
use crate::fixtures::merchants::create_commodity;
use crate::fixtures::orders::{Shop, buyer, callback, cart, checkout, shop, unique};
use crate::fixtures::payouts::utc;

async fn listed(app: &peken_tests::TestApp, s: &Shop, name: &str, price: i64) -> String {
    let admin = app.admin().await;
    let commodity = create_commodity(
        app,
        &admin,
        &json!({"name": name, "category": "sembako", "unit": "kg"}),
    )
    .await;
    s.list(app, &commodity, price, 1_000).await
}

/// Checks a cart out and pays it; the order's id and total.
async fn paid(
    app: &peken_tests::TestApp,
    buyer: &peken_tests::User,
    lines: &[(&str, i64)],
) -> (String, i64) {
    let reply = checkout(app, buyer, &format!("k-{}", unique()), &cart(lines))
        .await
        .expect(201);
    let payment = reply.body["payment"]["id"].as_str().unwrap();
    let amount = reply.body["payment"]["amount"].as_i64().unwrap();
    callback(app, payment, amount, &format!("ref-{}", unique()))
        .await
        .expect(200);
    (
        reply.body["orders"][0]["id"].as_str().unwrap().to_owned(),
        reply.body["orders"][0]["total_amount"].as_i64().unwrap(),
    )
}

fn row<'a>(report: &'a Value, key: &str, value: &str) -> &'a Value {
    report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r[key] == value)
        .unwrap_or_else(|| panic!("no row {key} = {value} in {report}"))
}

fn amounts(r: &Value) -> (i64, i64, i64, i64, i64) {
    (
        r["orders"].as_i64().unwrap(),
        r["quantity"].as_i64().unwrap(),
        r["gross_amount"].as_i64().unwrap(),
        r["refunds_amount"].as_i64().unwrap(),
        r["net_amount"].as_i64().unwrap(),
    )
}

#[tokio::test]
async fn sales_by_wib_day_and_by_product_agree_with_turnover_and_export_as_csv_and_xlsx() {
    // 23:50 WIB on 10 March 2026; twelve minutes later it is 11 March in Surabaya, while it is
    // still 10 March in UTC.
    let app = spawn_app_with(Options {
        start: Some(utc(2026, 3, 10, 16) + Duration::minutes(50)),
        ..Options::default()
    })
    .await;
    let s = shop(&app, "toko_kelontong", "35.78.03.1001").await;
    let other = shop(&app, "toko_kelontong", "35.78.03.1001").await;
    let asn = buyer(&app).await;
    let n = unique();
    let (rice_price, oil_price) = (12_345, 18_000);
    let rice_name = format!("Beras Laporan {n}");
    let oil_name = format!("=HYPERLINK(\"http://evil.example/\",\"Minyak {n}\")");
    let rice = listed(&app, &s, &rice_name, rice_price).await;
    let oil = listed(&app, &s, &oil_name, oil_price).await;

    // 10 March (WIB): two orders, later received.
    let (order_a, total_a) = paid(&app, &asn, &[(&rice, 2), (&oil, 1)]).await;
    let (order_b, total_b) = paid(&app, &asn, &[(&rice, 3)]).await;
    assert_eq!(total_a, 2 * rice_price + oil_price);
    assert_eq!(total_b, 3 * rice_price);

    app.clock.advance(Duration::minutes(12));
    // 11 March (WIB): one order, rejected by the shop and so refunded the same day.
    let (order_c, total_c) = paid(&app, &asn, &[(&oil, 2)]).await;
    app.post(
        &format!("/api/v1/orders/{order_c}/reject"),
        Some(&s.owner.token),
        &json!({"reason": "stok habis"}),
    )
    .await
    .expect(200);
    for order in [&order_a, &order_b] {
        for (action, token) in [
            ("accept", &s.owner.token),
            ("ship", &s.owner.token),
            ("receipt", &asn.token),
        ] {
            app.post(
                &format!("/api/v1/orders/{order}/{action}"),
                Some(token),
                &json!({}),
            )
            .await
            .expect(200);
        }
    }

    let base = format!("/api/v1/merchants/{}/reports/sales", s.id);
    let by_day = app
        .get(
            &format!("{base}?from=2026-03-09&to=2026-03-12"),
            Some(&s.owner.token),
        )
        .await
        .expect(200);
    let days: Vec<&str> = by_day.body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["date"].as_str().unwrap())
        .collect();
    assert_eq!(
        days,
        ["2026-03-09", "2026-03-10", "2026-03-11", "2026-03-12"]
    );
    assert_eq!(
        amounts(row(&by_day.body, "date", "2026-03-09")),
        (0, 0, 0, 0, 0)
    );
    assert_eq!(
        amounts(row(&by_day.body, "date", "2026-03-10")),
        (2, 6, total_a + total_b, 0, total_a + total_b)
    );
    assert_eq!(
        amounts(row(&by_day.body, "date", "2026-03-11")),
        (1, 2, total_c, total_c, 0)
    );
    let gross = total_a + total_b + total_c;
    assert_eq!(by_day.body["total"]["orders"], 3);
    assert_eq!(by_day.body["total"]["quantity"], 8);
    assert_eq!(by_day.body["total"]["gross_amount"], gross);
    assert_eq!(by_day.body["total"]["refunds_amount"], total_c);
    assert_eq!(by_day.body["total"]["net_amount"], gross - total_c);

    // Every order paid is completed or refunded: the net is the turnover report's net.
    let turnover = app
        .get(
            &format!(
                "/api/v1/merchants/{}/turnover?from=2026-03&to=2026-03",
                s.id
            ),
            Some(&s.owner.token),
        )
        .await
        .expect(200);
    assert_eq!(
        turnover.body["total"]["net_amount"],
        by_day.body["total"]["net_amount"]
    );
    assert_eq!(turnover.body["total"]["gross_amount"], total_a + total_b);

    let treasury = app.staff("treasury", None).await;
    let by_product = app
        .get(
            &format!("{base}?from=2026-03-10&to=2026-03-11&group=product"),
            Some(&treasury.token),
        )
        .await
        .expect(200);
    let rice_row = row(&by_product.body, "listing_id", &rice);
    assert_eq!(rice_row["name"], rice_name.as_str());
    assert_eq!(amounts(rice_row), (2, 5, 5 * rice_price, 0, 5 * rice_price));
    let oil_row = row(&by_product.body, "listing_id", &oil);
    assert_eq!(oil_row["name"], oil_name.as_str());
    assert_eq!(
        amounts(oil_row),
        (2, 3, 3 * oil_price, 2 * oil_price, oil_price)
    );
    assert_eq!(by_product.body["rows"].as_array().unwrap().len(), 2);
    assert_eq!(by_product.body["total"], by_day.body["total"]);

    // CSV for Indonesian Excel: byte order mark, semicolons, the formula defused.
    let (status, headers, bytes) = raw(
        &app,
        &format!(
            "{base}?from=2026-03-10&to=2026-03-11&group=product&format=csv&delimiter=semicolon"
        ),
        &s.owner.token,
    )
    .await;
    assert_eq!(status, 200);
    assert!(content_type(&headers).starts_with("text/csv"));
    let csv = String::from_utf8(bytes).unwrap();
    assert!(csv.starts_with("\u{feff}listing_id;product_id;name;unit;orders;quantity;gross_amount;refunds_amount;net_amount\n"), "{csv}");
    let oil_line = csv.lines().find(|l| l.starts_with(&oil)).unwrap();
    assert!(oil_line.contains("'=HYPERLINK("), "{oil_line}");
    assert!(
        !csv.contains(";=HYPERLINK") && !csv.contains("\"=HYPERLINK"),
        "{csv}"
    );
    assert!(
        oil_line.ends_with(&format!(
            ";2;3;{};{};{}",
            3 * oil_price,
            2 * oil_price,
            oil_price
        )),
        "{oil_line}"
    );
    let total_line = csv.lines().last().unwrap();
    assert_eq!(
        total_line,
        format!("total;;;;3;8;{gross};{total_c};{}", gross - total_c)
    );

    // XLSX: a workbook that reads back with the same rows.
    let (status, headers, bytes) = raw(
        &app,
        &format!("{base}?from=2026-03-09&to=2026-03-12&format=xlsx"),
        &s.owner.token,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(content_type(&headers), peken_kernel::export::XLSX);
    let sheet = peken_kernel::import::read(&bytes, 1_000).unwrap();
    assert_eq!(
        sheet.columns,
        [
            "date",
            "orders",
            "quantity",
            "gross_amount",
            "refunds_amount",
            "net_amount"
        ]
    );
    assert_eq!(sheet.lines.len(), 5);
    // The days in order (written as dates), then the totals.
    let tenth = &sheet.lines[1];
    assert!(!tenth.cells[0].is_empty());
    assert_eq!(tenth.cells[1], "2");
    assert_eq!(tenth.cells[3], (total_a + total_b).to_string());
    assert_eq!(sheet.lines[4].cells[0], "total");
    assert_eq!(sheet.lines[4].cells[5], (gross - total_c).to_string());

    // Another shop's report is not found; so is an unknown shop.
    app.get(&base, Some(&other.owner.token))
        .await
        .expect_problem(404, "not_found");
    app.get(
        "/api/v1/merchants/01a00000-0000-7000-8000-000000000000/reports/sales",
        Some(&treasury.token),
    )
    .await
    .expect_problem(404, "not_found");
    // The other shop sees its own report, empty.
    let own = app
        .get(
            &format!(
                "/api/v1/merchants/{}/reports/sales?from=2026-03-10&to=2026-03-11",
                other.id
            ),
            Some(&other.owner.token),
        )
        .await
        .expect(200);
    assert_eq!(own.body["total"]["gross_amount"], 0);
}

#[tokio::test]
async fn a_bad_range_is_refused_with_its_codes() {
    let app = spawn_app_with(Options {
        start: Some(utc(2026, 3, 10, 3)),
        ..Options::default()
    })
    .await;
    let s = shop(&app, "umkm", "35.78.03.1001").await;
    let base = format!("/api/v1/merchants/{}/reports/sales", s.id);
    let cases = [
        ("?from=2026-03-11&to=2026-03-10", "from", "invalid_range"),
        ("?from=2025-03-01&to=2026-03-10", "to", "range_too_long"),
        ("?from=2026-02-30", "from", "invalid_date"),
        ("?to=10-03-2026", "to", "invalid_date"),
    ];
    for (query, field, code) in cases {
        let reply = app
            .get(&format!("{base}{query}"), Some(&s.owner.token))
            .await
            .expect_problem(422, "validation_failed");
        assert_eq!(
            reply.field_codes(),
            [(field.to_owned(), code.to_owned())],
            "{query}"
        );
    }
    // No dates: this month up to today, every day.
    let month = app.get(&base, Some(&s.owner.token)).await.expect(200);
    assert_eq!(month.body["from"], "2026-03-01");
    assert_eq!(month.body["to"], "2026-03-10");
    assert_eq!(month.body["rows"].as_array().unwrap().len(), 10);
}
