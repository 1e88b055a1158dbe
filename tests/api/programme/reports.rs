//! Each programme report on seeded data, with the figures worked out here from what was made.

use std::io::Cursor;

use calamine::{Data, DataType, Reader, Xlsx};
use chrono::{Duration, TimeZone, Utc};
use serde_json::Value;

use super::{month_count, paid, programme_shop};
use crate::fixtures::payouts::{app_at, owed, refunded, utc};
use crate::reports::{content_type, raw};

const KEC_A: &str = "35.78.01";
const KEL_A: &str = "35.78.01.1001";
const KEL_B: &str = "35.78.03.1001";

fn ids(items: &Value) -> Vec<String> {
    let mut out: Vec<String> = items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["merchant_id"].as_str().unwrap().to_owned())
        .collect();
    out.sort();
    out
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[tokio::test]
async fn shops_without_a_sale_are_counted_by_kecamatan_and_kind_from_the_window_start() {
    // 12:00 WIB on 15 April 2026: three months back is 15 January, from 00:00 WIB
    // (14 January 17:00 UTC).
    let app = app_at(utc(2026, 4, 15, 5)).await;
    let admin = app.admin().await;
    let registered = utc(2025, 6, 1, 3);
    let cutoff = Utc.with_ymd_and_hms(2026, 1, 14, 17, 0, 0).unwrap();
    let at_edge = programme_shop(&app, "toko_kelontong", KEL_A, "active", registered).await;
    let just_before = programme_shop(&app, "toko_kelontong", KEL_A, "active", registered).await;
    let never_a = programme_shop(&app, "umkm", KEL_A, "active", registered).await;
    let recent_b = programme_shop(&app, "umkm", KEL_B, "active", registered).await;
    let never_b = programme_shop(&app, "koperasi", KEL_B, "active", registered).await;
    // Not selling: neither counted nor listed.
    programme_shop(&app, "umkm", KEL_A, "pending", registered).await;
    programme_shop(&app, "umkm", KEL_A, "suspended", registered).await;
    paid(&app, &at_edge, "b1", "asn", Some((cutoff, "2026-01"))).await;
    paid(
        &app,
        &just_before,
        "b1",
        "asn",
        Some((cutoff - Duration::seconds(1), "2026-01")),
    )
    .await;
    paid(
        &app,
        &just_before,
        "b1",
        "asn",
        Some((utc(2025, 7, 1, 3), "2025-07")),
    )
    .await;
    paid(
        &app,
        &recent_b,
        "b2",
        "public",
        Some((utc(2026, 4, 1, 3), "2026-04")),
    )
    .await;
    // An order never paid is no sale.
    paid(&app, &never_b, "b2", "public", None).await;

    let report = app
        .get(
            "/api/v1/programme/reports/dormant-shops",
            Some(&admin.token),
        )
        .await
        .expect(200);
    let body = &report.body;
    assert_eq!(body["months"], 3);
    assert_eq!(body["since"], "2026-01-15");
    assert_eq!(body["shops"], 5, "{}", report.text);
    assert_eq!(body["without_sale"], 3);
    assert_eq!(body["never_sold"], 2);
    assert_eq!(
        ids(&body["items"]),
        sorted(vec![just_before.clone(), never_a.clone(), never_b.clone()])
    );
    let groups: Vec<(String, String, i64, i64, i64)> = body["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["kecamatan_code"].as_str().unwrap().to_owned(),
                g["kind"].as_str().unwrap().to_owned(),
                g["shops"].as_i64().unwrap(),
                g["without_sale"].as_i64().unwrap(),
                g["never_sold"].as_i64().unwrap(),
            )
        })
        .collect();
    let g = |k: &str, kind: &str, s, w, n| (k.to_owned(), kind.to_owned(), s, w, n);
    assert_eq!(
        groups,
        vec![
            g(KEC_A, "toko_kelontong", 2, 1, 0),
            g(KEC_A, "umkm", 1, 1, 1),
            g("35.78.03", "koperasi", 1, 1, 1),
            g("35.78.03", "umkm", 1, 0, 0),
        ]
    );
    let item = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["merchant_id"] == just_before.as_str())
        .unwrap();
    // 23:59:59 WIB on 14 January.
    assert_eq!(item["last_sale_on"], "2026-01-14");
    assert_eq!(item["registered_on"], "2025-06-01");
    assert_eq!(item["verified_on"], "2025-06-02");
    assert_eq!(item["kelurahan_code"], KEL_A);
    assert!(!item["kelurahan_name"].as_str().unwrap().is_empty());
    let never = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["merchant_id"] == never_a.as_str())
        .unwrap();
    assert!(never.get("last_sale_on").is_none() || never["last_sale_on"].is_null());

    // Four months back is 15 December: the sale one second before 15 January now counts.
    let four = app
        .get(
            "/api/v1/programme/reports/dormant-shops?months=4",
            Some(&admin.token),
        )
        .await
        .expect(200);
    assert_eq!(four.body["without_sale"], 2);
    assert_eq!(
        ids(&four.body["items"]),
        sorted(vec![never_a.clone(), never_b.clone()])
    );
    for bad in ["0", "121", "x"] {
        let reply = app
            .get(
                &format!("/api/v1/programme/reports/dormant-shops?months={bad}"),
                Some(&admin.token),
            )
            .await;
        assert!(
            matches!(reply.status.as_u16(), 400 | 422),
            "{bad}: {}",
            reply.text
        );
    }
    app.get(
        "/api/v1/programme/reports/dormant-shops?months=0",
        Some(&admin.token),
    )
    .await
    .expect_problem(422, "validation_failed");

    // The CSV lists the same shops.
    let (status, headers, bytes) = raw(
        &app,
        "/api/v1/programme/reports/dormant-shops?format=csv",
        &admin.token,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(content_type(&headers), "text/csv; charset=utf-8");
    let text = String::from_utf8(bytes).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "merchant_id,name,kind,kecamatan_code,kelurahan_code,kelurahan_name,registered_on,verified_on,last_sale_on"
    );
    assert_eq!(lines.len(), 4);
    let row = lines.iter().find(|l| l.starts_with(&just_before)).unwrap();
    assert!(row.ends_with(",2025-06-01,2025-06-02,2026-01-14"), "{row}");
}

fn month<'a>(body: &'a Value, period: &str) -> &'a Value {
    body["months"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["period"] == period)
        .unwrap_or_else(|| panic!("no {period}"))
}

#[tokio::test]
async fn turnover_and_orders_run_monthly_from_launch_past_36_months_quiet_months_included() {
    // 10:00 WIB on 10 February 2026.
    let app = app_at(utc(2026, 2, 10, 3)).await;
    let admin = app.admin().await;
    let a = programme_shop(&app, "toko_kelontong", KEL_A, "active", utc(2021, 9, 1, 3)).await;
    let b = programme_shop(&app, "umkm", KEL_B, "active", utc(2021, 9, 1, 3)).await;
    // 23:30 WIB on 31 October 2021 counts for October.
    owed(&app, "m1", &a, 150_000, utc(2021, 10, 31, 16)).await;
    owed(&app, "m2", &b, 275_000, utc(2021, 11, 2, 3)).await;
    owed(&app, "m3", &a, 1_000_000, utc(2023, 5, 20, 3)).await;
    owed(&app, "m4", &b, 40_000, utc(2026, 2, 1, 3)).await;
    refunded(&app, "m3", 250_000, utc(2023, 6, 1, 3)).await;
    paid(
        &app,
        &a,
        "x1",
        "asn",
        Some((utc(2021, 10, 31, 16), "2021-10")),
    )
    .await;
    paid(
        &app,
        &b,
        "x2",
        "public",
        Some((utc(2021, 11, 2, 3), "2021-11")),
    )
    .await;
    paid(
        &app,
        &a,
        "x1",
        "asn",
        Some((utc(2023, 5, 19, 3), "2023-05")),
    )
    .await;
    paid(
        &app,
        &a,
        "x3",
        "asn",
        Some((utc(2023, 5, 19, 4), "2023-05")),
    )
    .await;
    paid(&app, &b, "x2", "public", None).await;

    let reply = app
        .get("/api/v1/programme/reports/monthly", Some(&admin.token))
        .await
        .expect(200);
    let body = &reply.body;
    assert_eq!(body["from"], "2021-10");
    assert_eq!(body["to"], "2026-02");
    let n = month_count((2021, 10), (2026, 2));
    assert_eq!(n, 53);
    assert_eq!(body["months"].as_array().unwrap().len(), n);
    let oct = month(body, "2021-10");
    assert_eq!(oct["gross_amount"], 150_000);
    assert_eq!(oct["completed_orders"], 1);
    assert_eq!(oct["paid_orders"], 1);
    let quiet = month(body, "2022-07");
    assert_eq!(
        (
            quiet["gross_amount"].as_i64(),
            quiet["paid_orders"].as_i64()
        ),
        (Some(0), Some(0))
    );
    let may = month(body, "2023-05");
    assert_eq!(may["gross_amount"], 1_000_000);
    assert_eq!(may["paid_orders"], 2);
    let june = month(body, "2023-06");
    assert_eq!(june["refunds_amount"], 250_000);
    assert_eq!(june["net_amount"], -250_000);
    assert_eq!(
        body["total"]["gross_amount"],
        150_000 + 275_000 + 1_000_000 + 40_000
    );
    assert_eq!(body["total"]["refunds_amount"], 250_000);
    assert_eq!(
        body["total"]["net_amount"],
        150_000 + 275_000 + 1_000_000 + 40_000 - 250_000
    );
    assert_eq!(body["total"]["completed_orders"], 4);
    assert_eq!(body["total"]["paid_orders"], 4);

    // A range of its own, and a backwards one.
    let part = app
        .get(
            "/api/v1/programme/reports/monthly?from=2023-04&to=2023-06",
            Some(&admin.token),
        )
        .await
        .expect(200);
    assert_eq!(part.body["months"].as_array().unwrap().len(), 3);
    assert_eq!(part.body["total"]["net_amount"], 750_000);
    app.get(
        "/api/v1/programme/reports/monthly?from=2023-06&to=2023-04",
        Some(&admin.token),
    )
    .await
    .expect_problem(422, "validation_failed");

    // CSV: the months and a total line.
    let (status, _, bytes) = raw(
        &app,
        "/api/v1/programme/reports/monthly?format=csv&delimiter=semicolon",
        &admin.token,
    )
    .await;
    assert_eq!(status, 200);
    let text = String::from_utf8(bytes).unwrap();
    let text = text.strip_prefix('\u{feff}').expect("a byte order mark");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1 + n + 1);
    assert_eq!(
        lines[0],
        "period;gross_amount;refunds_amount;net_amount;completed_orders;paid_orders"
    );
    assert_eq!(lines[1], "2021-10;150000;0;150000;1;1");
    assert_eq!(lines[n + 1], "total;1465000;250000;1215000;4;4");

    // XLSX: amounts are numbers.
    let (status, headers, bytes) = raw(
        &app,
        "/api/v1/programme/reports/monthly?format=xlsx",
        &admin.token,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(content_type(&headers), peken_kernel::export::XLSX);
    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).unwrap();
    let range = workbook.worksheet_range_at(0).unwrap().unwrap();
    let rows: Vec<Vec<Data>> = range.rows().map(<[Data]>::to_vec).collect();
    assert_eq!(rows.len(), 1 + n + 1);
    assert_eq!(rows[1][0], Data::String("2021-10".into()));
    assert_eq!(rows[1][1], Data::Float(150_000.0));
    assert_eq!(rows[n + 1][3], Data::Float(1_215_000.0));
}

#[tokio::test]
async fn buyers_are_distinct_per_wib_month_asn_and_public_apart() {
    let app = app_at(utc(2026, 2, 10, 3)).await;
    let admin = app.admin().await;
    let a = programme_shop(&app, "toko_kelontong", KEL_A, "active", utc(2021, 9, 1, 3)).await;
    let b = programme_shop(&app, "umkm", KEL_B, "active", utc(2021, 9, 1, 3)).await;
    // One ASN buying twice at two shops in January, a resident once; the ASN again in December;
    // an order never paid counts nobody.
    paid(
        &app,
        &a,
        "asn-1",
        "asn",
        Some((utc(2026, 1, 5, 3), "2026-01")),
    )
    .await;
    paid(
        &app,
        &b,
        "asn-1",
        "asn",
        Some((utc(2026, 1, 6, 3), "2026-01")),
    )
    .await;
    paid(
        &app,
        &b,
        "pub-1",
        "public",
        Some((utc(2026, 1, 7, 3), "2026-01")),
    )
    .await;
    paid(
        &app,
        &a,
        "asn-1",
        "asn",
        Some((utc(2025, 12, 31, 16), "2025-12")),
    )
    .await;
    paid(
        &app,
        &a,
        "asn-2",
        "asn",
        Some((utc(2023, 3, 3, 3), "2023-03")),
    )
    .await;
    paid(&app, &a, "pub-2", "public", None).await;

    let reply = app
        .get("/api/v1/programme/reports/buyers", Some(&admin.token))
        .await
        .expect(200);
    let body = &reply.body;
    assert_eq!(
        body["months"].as_array().unwrap().len(),
        month_count((2021, 10), (2026, 2))
    );
    let count = |p: &str| {
        let m = month(body, p);
        (
            m["buyers"].as_i64().unwrap(),
            m["asn_buyers"].as_i64().unwrap(),
            m["public_buyers"].as_i64().unwrap(),
        )
    };
    assert_eq!(count("2026-01"), (2, 1, 1));
    assert_eq!(count("2025-12"), (1, 1, 0));
    assert_eq!(count("2023-03"), (1, 1, 0));
    assert_eq!(count("2024-06"), (0, 0, 0));
    assert_eq!(count("2026-02"), (0, 0, 0));

    let (status, _, bytes) = raw(
        &app,
        "/api/v1/programme/reports/buyers?from=2025-12&to=2026-01&format=csv",
        &admin.token,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        String::from_utf8(bytes).unwrap(),
        "period,buyers,asn_buyers,public_buyers\n2025-12,1,1,0\n2026-01,2,1,1\n"
    );
}

#[tokio::test]
async fn umkm_classes_follow_pp_7_2021_to_the_rupiah_and_changes_are_reported() {
    let app = app_at(utc(2026, 2, 10, 3)).await;
    let admin = app.admin().await;
    let at_limit = programme_shop(&app, "umkm", KEL_A, "active", utc(2022, 1, 3, 3)).await;
    let grows = programme_shop(&app, "umkm", KEL_A, "active", utc(2022, 1, 3, 3)).await;
    let shrinks = programme_shop(&app, "koperasi", KEL_B, "active", utc(2022, 1, 3, 3)).await;
    // Exactly Rp2 billion stays micro; one rupiah more is small.
    owed(&app, "c1", &at_limit, 2_000_000_000, utc(2024, 3, 3, 3)).await;
    owed(&app, "c2", &at_limit, 2_000_000_000, utc(2025, 3, 3, 3)).await;
    owed(&app, "c3", &grows, 2_000_000_000, utc(2024, 3, 3, 3)).await;
    owed(&app, "c4", &grows, 2_000_000_001, utc(2025, 3, 3, 3)).await;
    // Above Rp15 billion is medium; then a quiet year is micro again.
    owed(&app, "c5", &shrinks, 15_000_000_001, utc(2024, 5, 3, 3)).await;

    let classes = app
        .get(
            &format!("/api/v1/programme/merchants/{grows}/classes"),
            Some(&admin.token),
        )
        .await
        .expect(200);
    let years: Vec<(i64, i64, String)> = classes.body["years"]
        .as_array()
        .unwrap()
        .iter()
        .map(|y| {
            (
                y["year"].as_i64().unwrap(),
                y["turnover_amount"].as_i64().unwrap(),
                y["class"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let y = |year, amount, class: &str| (year, amount, class.to_owned());
    assert_eq!(
        years,
        vec![
            y(2021, 0, "mikro"),
            y(2022, 0, "mikro"),
            y(2023, 0, "mikro"),
            y(2024, 2_000_000_000, "mikro"),
            y(2025, 2_000_000_001, "kecil"),
            y(2026, 0, "mikro"),
        ]
    );
    app.get(
        "/api/v1/programme/merchants/01a00000-0000-7000-8000-000000000000/classes",
        Some(&admin.token),
    )
    .await
    .expect_problem(404, "not_found");

    let changes = app
        .get(
            "/api/v1/programme/reports/class-changes?from_year=2024&to_year=2025",
            Some(&admin.token),
        )
        .await
        .expect(200);
    let body = &changes.body;
    assert_eq!(
        (body["up"].as_i64(), body["down"].as_i64()),
        (Some(1), Some(1))
    );
    let items: Vec<(String, String, String, String)> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["merchant_id"].as_str().unwrap().to_owned(),
                c["from_class"].as_str().unwrap().to_owned(),
                c["to_class"].as_str().unwrap().to_owned(),
                c["direction"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let c = |id: &str, f: &str, t: &str, d: &str| {
        (id.to_owned(), f.to_owned(), t.to_owned(), d.to_owned())
    };
    let mut want = vec![
        c(&grows, "mikro", "kecil", "up"),
        c(&shrinks, "menengah", "mikro", "down"),
    ];
    want.sort();
    let mut got = items;
    got.sort();
    assert_eq!(got, want);
    // The default is last year against the year before.
    let default = app
        .get(
            "/api/v1/programme/reports/class-changes",
            Some(&admin.token),
        )
        .await
        .expect(200);
    assert_eq!(default.body["from_year"], 2024);
    assert_eq!(default.body["to_year"], 2025);
    app.get(
        "/api/v1/programme/reports/class-changes?from_year=2025&to_year=2025",
        Some(&admin.token),
    )
    .await
    .expect_problem(422, "validation_failed");
    // The lowest year there is: refused, not an overflow.
    app.get(
        "/api/v1/programme/reports/class-changes?to_year=-2147483648",
        Some(&admin.token),
    )
    .await
    .expect_problem(422, "validation_failed");

    let (status, _, bytes) = raw(
        &app,
        "/api/v1/programme/reports/class-changes?from_year=2024&to_year=2025&format=xlsx",
        &admin.token,
    )
    .await;
    assert_eq!(status, 200);
    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).unwrap();
    let range = workbook.worksheet_range_at(0).unwrap().unwrap();
    let rows: Vec<Vec<Data>> = range.rows().map(<[Data]>::to_vec).collect();
    assert_eq!(rows.len(), 3);
    let grown_row = rows
        .iter()
        .find(|r| r[0] == Data::String(grows.clone()))
        .unwrap();
    assert_eq!(grown_row[7], Data::Float(2_000_000_001.0));
}

/// The rows of the sheet `name`, header first.
fn sheet(workbook: &mut Xlsx<Cursor<Vec<u8>>>, name: &str) -> Vec<Vec<Data>> {
    let range = workbook.worksheet_range(name).unwrap();
    range.rows().map(<[Data]>::to_vec).collect()
}

#[tokio::test]
async fn the_lkpj_workbook_holds_the_years_totals_as_numbers() {
    let app = app_at(utc(2026, 2, 10, 3)).await;
    let admin = app.admin().await;
    let a = programme_shop(&app, "toko_kelontong", KEL_A, "active", utc(2024, 1, 3, 3)).await;
    let b = programme_shop(&app, "umkm", KEL_B, "active", utc(2025, 2, 3, 3)).await;
    // Registered in 2025, never sold.
    programme_shop(&app, "koperasi", KEL_B, "active", utc(2025, 3, 3, 3)).await;
    // Registered after 2025: not in its totals.
    programme_shop(&app, "umkm", KEL_A, "active", utc(2026, 1, 3, 3)).await;
    owed(&app, "l1", &a, 300_000, utc(2025, 4, 4, 3)).await;
    owed(&app, "l2", &b, 2_000_000_001, utc(2025, 8, 4, 3)).await;
    owed(&app, "l3", &a, 999, utc(2024, 8, 4, 3)).await;
    refunded(&app, "l1", 1_000, utc(2025, 9, 4, 3)).await;
    paid(&app, &a, "u1", "asn", Some((utc(2025, 4, 3, 3), "2025-04"))).await;
    paid(
        &app,
        &b,
        "u2",
        "public",
        Some((utc(2025, 8, 3, 3), "2025-08")),
    )
    .await;
    paid(&app, &b, "u1", "asn", Some((utc(2025, 8, 3, 4), "2025-08"))).await;
    paid(&app, &a, "u3", "asn", Some((utc(2024, 8, 3, 4), "2024-08"))).await;

    let (status, headers, bytes) =
        raw(&app, "/api/v1/programme/reports/lkpj/2025", &admin.token).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
    assert_eq!(content_type(&headers), peken_kernel::export::XLSX);
    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).unwrap();
    assert_eq!(
        workbook.sheet_names(),
        vec![
            "Total",
            "Per kecamatan",
            "Per jenis",
            "Per bulan",
            "Perubahan kelas"
        ]
    );
    let totals: Vec<(String, f64)> = sheet(&mut workbook, "Total")[1..]
        .iter()
        .map(|r| (r[0].to_string(), r[1].get_float().unwrap()))
        .collect();
    let t = |k: &str, v: f64| (k.to_owned(), v);
    assert_eq!(
        totals,
        vec![
            t("shops_registered", 3.0),
            t("shops_active", 2.0),
            t("shops_never_sold", 1.0),
            t("buyers", 2.0),
            t("asn_buyers", 1.0),
            t("public_buyers", 1.0),
            t("paid_orders", 3.0),
            t("completed_orders", 2.0),
            t("gross_amount", 2_000_300_001.0),
            t("refunds_amount", 1_000.0),
            t("net_amount", 2_000_299_001.0),
        ]
    );
    let kecamatan = sheet(&mut workbook, "Per kecamatan");
    assert_eq!(kecamatan.len(), 3);
    assert_eq!(kecamatan[1][0], Data::String(KEC_A.into()));
    // KEC_A: one shop, active, 300,000 − 1,000.
    assert_eq!(kecamatan[1][2].get_float(), Some(1.0));
    assert_eq!(kecamatan[1][3].get_float(), Some(1.0));
    assert_eq!(kecamatan[1][7].get_float(), Some(299_000.0));
    assert_eq!(kecamatan[2][2].get_float(), Some(2.0));
    assert_eq!(kecamatan[2][3].get_float(), Some(1.0));
    let months = sheet(&mut workbook, "Per bulan");
    assert_eq!(months.len(), 1 + 12 + 1);
    let changes = sheet(&mut workbook, "Perubahan kelas");
    assert_eq!(changes.len(), 2);
    assert_eq!(changes[1][0], Data::String(b.clone()));
    app.get("/api/v1/programme/reports/lkpj/1999", Some(&admin.token))
        .await
        .expect_problem(422, "validation_failed");
}

#[tokio::test]
async fn real_payments_count_the_months_buyers_per_kecamatan_and_the_shops_paid_orders() {
    use crate::fixtures::orders::{any_commodity, buyer, paid_order, shop};

    let app = peken_tests::spawn_app().await;
    let admin = app.admin().await;
    let rungkut = shop(&app, "toko_kelontong", KEL_B).await;
    let karang_pilang = shop(&app, "toko_kelontong", KEL_A).await;
    let commodity = any_commodity(&app, None, None).await;
    let at_rungkut = rungkut.list(&app, &commodity, 10_000, 100).await;
    let at_karang_pilang = karang_pilang.list(&app, &commodity, 12_000, 100).await;
    let asn = buyer(&app).await;
    let resident = app.public_buyer("35.78.03.1002").await;
    // The civil servant pays twice at one shop and once at the other; the resident once.
    paid_order(&app, &asn, &at_rungkut, 1).await;
    paid_order(&app, &asn, &at_rungkut, 2).await;
    paid_order(&app, &asn, &at_karang_pilang, 1).await;
    paid_order(&app, &resident, &at_karang_pilang, 3).await;

    let period = app
        .get("/api/v1/programme/reports/buyers", Some(&admin.token))
        .await
        .expect(200)
        .body["to"]
        .as_str()
        .unwrap()
        .to_owned();
    let range = format!("from={period}&to={period}");
    let city = app
        .get(
            &format!("/api/v1/programme/reports/buyers?{range}"),
            Some(&admin.token),
        )
        .await
        .expect(200);
    let month = &city.body["months"][0];
    assert_eq!(
        (
            month["buyers"].as_i64(),
            month["asn_buyers"].as_i64(),
            month["public_buyers"].as_i64()
        ),
        (Some(2), Some(1), Some(1))
    );
    let monthly = app
        .get(
            &format!("/api/v1/programme/reports/monthly?{range}"),
            Some(&admin.token),
        )
        .await
        .expect(200);
    assert_eq!(monthly.body["months"][0]["paid_orders"], 4);

    // A camat of Karang Pilang sees both buyers at its shop and its two orders; of Rungkut, the
    // civil servant alone and two orders.
    for (kecamatan, buyers, asn_buyers, orders) in [(KEC_A, 2, 1, 2), ("35.78.03", 1, 1, 2)] {
        let camat = app.camat(kecamatan).await;
        let mine = app
            .get(
                &format!("/api/v1/programme/reports/buyers?{range}"),
                Some(&camat.token),
            )
            .await
            .expect(200);
        let month = &mine.body["months"][0];
        assert_eq!(
            (month["buyers"].as_i64(), month["asn_buyers"].as_i64()),
            (Some(buyers), Some(asn_buyers)),
            "{kecamatan}"
        );
        let monthly = app
            .get(
                &format!("/api/v1/programme/reports/monthly?{range}"),
                Some(&camat.token),
            )
            .await
            .expect(200);
        assert_eq!(
            monthly.body["months"][0]["paid_orders"], orders,
            "{kecamatan}"
        );
    }
}
