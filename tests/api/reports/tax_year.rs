//! The tax-year statement: months, running total, the month it reached Rp500 million, the
//! final-tax basis and tax, the Rp4.8 billion ceiling and the UMKM class; as JSON, CSV and PDF.
//! Turnover is posted through the ledger as the payout tests do, so a year's worth is cheap.

use std::io::Write as _;
use std::process::{Command, Stdio};

use sea_orm::{ConnectionTrait, Statement};
use serde_json::Value;

use super::{content_type, raw};
use crate::fixtures::orders::shop;
use crate::fixtures::payouts::{app_at, merchant, owed, refunded, utc};

/// Whether poppler's `pdftotext` is here; under CI (`CI` set) its absence fails the test.
fn pdftotext_installed() -> bool {
    let found = Command::new("pdftotext")
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "poppler-utils (pdftotext) must be installed under CI"
        );
        eprintln!("skipped: install poppler-utils (pdftotext) to read the statement back");
    }
    found
}

fn pdf_text(pdf: &[u8]) -> String {
    let mut child = Command::new("pdftotext")
        .args(["-layout", "-", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(pdf).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

/// `1.234.567`, worked out here apart from the server's code.
fn dotted(n: i64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    out
}

/// What the statement must say for monthly turnovers, by PP 55/2022: the running total, the
/// part above the exemption not taxed before, and 0.5% of it rounded half up.
fn expected(monthly: &[i64; 12], exemption: i64) -> Vec<(i64, i64, i64)> {
    let (mut running, mut taxed) = (0_i64, 0_i64);
    monthly
        .iter()
        .map(|m| {
            running += m;
            let taxable = ((running - exemption).max(0) - taxed).max(0);
            taxed += taxable;
            (running, taxable, (taxable * 50 + 5_000) / 10_000)
        })
        .collect()
}

fn months(body: &Value) -> Vec<(i64, i64, i64)> {
    body["months"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["running_total_amount"].as_i64().unwrap(),
                m["taxable_amount"].as_i64().unwrap(),
                m["tax_amount"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn an_individuals_year_is_taxed_above_rp500_million_from_the_month_it_crossed() {
    let app = app_at(utc(2026, 12, 20, 3)).await;
    let treasury = app.staff("treasury", None).await;
    let (m, _) = merchant(&app, "umkm", "35.78.01.1001", None).await;
    let db = &app.state.db;
    db.execute_raw(Statement::from_string(
        db.get_database_backend(),
        format!("UPDATE merchants SET npwp = '0123456789012345' WHERE id = '{m}'"),
    ))
    .await
    .unwrap();
    // 23:00 WIB on 31 December 2025: the year before. 00:00 WIB on 1 January: this year.
    owed(&app, "t0", &m, 7_000_000, utc(2025, 12, 31, 16)).await;
    let mut monthly = [0_i64; 12];
    for (order, amount, at, month) in [
        ("t1", 1_000_000, utc(2025, 12, 31, 17), 0),
        ("t2", 200_000_000, utc(2026, 1, 15, 3), 0),
        ("t3", 250_000_000, utc(2026, 3, 10, 3), 2),
        // Past Rp500 million in April; 0.5% of the part above ends in a half rupiah.
        ("t4", 120_000_100, utc(2026, 4, 5, 3), 3),
        ("t5", 1_000, utc(2026, 6, 1, 3), 5),
    ] {
        owed(&app, order, &m, amount, at).await;
        monthly[month] += amount;
    }
    // A refund in May takes the running total down; June is taxed only once it climbs back.
    refunded(&app, "t4", 600, utc(2026, 5, 2, 3)).await;
    monthly[4] -= 600;
    let want = expected(&monthly, 500_000_000);

    let path = format!("/api/v1/merchants/{m}/reports/tax-year/2026");
    let statement = app.get(&path, Some(&treasury.token)).await.expect(200);
    let body = &statement.body;
    assert_eq!(body["taxpayer"], "orang_pribadi");
    assert_eq!(body["exemption_amount"], 500_000_000);
    assert_eq!(body["months"].as_array().unwrap().len(), 12);
    assert_eq!(body["months"][0]["period"], "2026-01");
    assert_eq!(body["months"][0]["turnover_amount"], monthly[0]);
    assert_eq!(body["months"][4]["refunds_amount"], 600);
    assert_eq!(months(body), want);
    assert!(want[3].2 > 0 && want[4].1 == 0 && want[5].1 > 0);
    assert_eq!(body["exemption_crossed_in"], "2026-04");
    assert!(body["ceiling_exceeded_in"].is_null());
    let year_total: i64 = monthly.iter().sum();
    let tax_total: i64 = want.iter().map(|w| w.2).sum();
    assert_eq!(body["total"]["turnover_amount"], year_total);
    assert_eq!(body["total"]["tax_amount"], tax_total);
    assert_eq!(
        body["total"]["taxable_amount"],
        want.iter().map(|w| w.1).sum::<i64>()
    );
    assert_eq!(body["umkm_class"]["class"], "mikro");
    assert_eq!(body["umkm_class"]["annual_sales_amount"], year_total);
    assert_eq!(body["npwp"], "0123456789012345");
    // The ledger's Rp500 million alert fell in the same month.
    let alerts = app
        .get(
            &format!("/api/v1/treasury/turnover-alerts?year=2026&merchant_id={m}"),
            Some(&treasury.token),
        )
        .await
        .expect(200);
    let crossed = alerts.body[0]["crossed_at"].as_str().unwrap();
    assert!(crossed.starts_with("2026-04"), "{crossed}");

    // CSV: the months and a total row.
    let (status, headers, bytes) = raw(&app, &format!("{path}?format=csv"), &treasury.token).await;
    assert_eq!(status, 200);
    assert!(content_type(&headers).starts_with("text/csv"));
    let csv = String::from_utf8(bytes).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "period,gross_amount,refunds_amount,turnover_amount,running_total_amount,taxable_amount,tax_amount"
    );
    assert_eq!(lines.len(), 14);
    assert_eq!(
        lines[4],
        format!(
            "2026-04,{},0,{},{},{},{}",
            monthly[3], monthly[3], want[3].0, want[3].1, want[3].2
        )
    );
    assert!(lines[13].starts_with("total,") && lines[13].ends_with(&format!(",{tax_total}")));

    // PDF: one page that reads back with the shop, the totals and the crossing month.
    let (status, headers, pdf) = raw(&app, &format!("{path}?format=pdf"), &treasury.token).await;
    assert_eq!(status, 200);
    assert_eq!(content_type(&headers), "application/pdf");
    assert!(pdf.starts_with(b"%PDF-"));
    if pdftotext_installed() {
        let text = pdf_text(&pdf);
        assert_eq!(text.matches('\u{c}').count(), 1, "one page");
        let profile = app
            .get(&format!("/api/v1/merchants/{m}"), Some(&treasury.token))
            .await
            .expect(200);
        for needle in [
            profile.body["name"].as_str().unwrap().to_owned(),
            profile.body["nib"].as_str().unwrap().to_owned(),
            "TAHUN 2026".to_owned(),
            "0123456789012345".to_owned(),
            "April 2026".to_owned(),
            dotted(year_total),
            dotted(tax_total),
            dotted(want[3].0),
            "mikro".to_owned(),
        ] {
            assert!(text.contains(&needle), "{needle} missing in:\n{text}");
        }
    }

    // Another shop's statement is not found, a year outside the calendar is refused.
    let other = shop(&app, "toko_kelontong", "35.78.03.1001").await;
    app.get(&path, Some(&other.owner.token))
        .await
        .expect_problem(404, "not_found");
    let bad = app
        .get(
            &format!("/api/v1/merchants/{m}/reports/tax-year/1999"),
            Some(&treasury.token),
        )
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(
        bad.field_codes(),
        [("year".to_owned(), "invalid_period".to_owned())]
    );
}

#[tokio::test]
async fn a_cooperative_is_taxed_on_everything_and_the_ceiling_is_noted() {
    let app = app_at(utc(2026, 12, 20, 3)).await;
    let admin = app.admin().await;
    let (m, _) = merchant(&app, "koperasi", "35.78.01.1001", None).await;
    let mut monthly = [0_i64; 12];
    for (order, amount, at, month) in [
        ("k1", 10_000_001, utc(2026, 2, 3, 3), 1),
        ("k2", 4_790_000_000, utc(2026, 3, 3, 3), 2),
    ] {
        owed(&app, order, &m, amount, at).await;
        monthly[month] += amount;
    }
    let want = expected(&monthly, 0);
    let statement = app
        .get(
            &format!("/api/v1/merchants/{m}/reports/tax-year/2026"),
            Some(&admin.token),
        )
        .await
        .expect(200);
    let body = &statement.body;
    assert_eq!(body["taxpayer"], "badan");
    assert_eq!(body["exemption_amount"], 0);
    assert!(body["exemption_crossed_in"].is_null());
    assert_eq!(months(body), want);
    assert_eq!(body["months"][1]["tax_amount"], want[1].2);
    assert_eq!(body["ceiling_exceeded_in"], "2026-03");
    assert_eq!(body["umkm_class"]["class"], "kecil");
    // A year without sales is all zeros.
    let empty = app
        .get(
            &format!("/api/v1/merchants/{m}/reports/tax-year/2025"),
            Some(&admin.token),
        )
        .await
        .expect(200);
    assert_eq!(empty.body["total"]["tax_amount"], 0);
    assert_eq!(empty.body["months"].as_array().unwrap().len(), 12);
}
