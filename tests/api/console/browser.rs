//! The console in headless Chromium: one browser per test, driven over `WebDriver`. Every page
//! visited is saved as a screenshot under `target/console-screenshots/` and checked for errors
//! in the browser's log, unlabelled form controls and script elements.

use peken_tests::{ADMIN_EMAIL, PASSWORD, TestApp};
use serde_json::json;

use super::staff_email;
use super::webdriver::{Browser, chromedriver, output_dir};
use crate::fixtures::execute;
use crate::fixtures::payouts::{app_at, csv_statement, merchant, owed, scalar, utc};

const KEL: &str = "35.78.01.1001";
const MARKUP: &str = "<script>alert(1)</script>";

/// The address the browser uses: `localhost`, which browsers treat as a secure context, so the
/// session cookie is `Secure` and `__Host-` as behind TLS (the test servers' public address is
/// https).
fn at(app: &TestApp, path: &str) -> String {
    app.url(path).replace("://127.0.0.1:", "://localhost:")
}

async fn sign_in(browser: &Browser, app: &TestApp, login: &str, shot: &str) {
    browser.goto(&at(app, "/console/masuk")).await;
    browser.check_page(shot).await;
    browser.type_into("#login", login).await;
    browser.type_into("#password", PASSWORD).await;
    browser.submit("main form button[type=submit]").await;
    assert_eq!(
        browser.url().await,
        at(app, "/console"),
        "not signed in: {}",
        browser.text("main").await
    );
}

async fn sign_out(browser: &Browser, app: &TestApp) {
    browser.submit("header form button").await;
    assert_eq!(
        browser.url().await,
        at(app, "/console/masuk?pesan=keluar"),
        "signed out"
    );
    assert_eq!(browser.text(".notice").await, "Anda telah keluar.");
}

/// The text of every cell of the page, for checks on what a table shows.
async fn cells(browser: &Browser) -> Vec<String> {
    serde_json::from_value(
        browser
            .script("return [...document.querySelectorAll('td')].map(td => td.textContent);")
            .await,
    )
    .unwrap()
}

#[tokio::test]
async fn treasury_builds_approves_downloads_and_reconciles_a_batch() {
    let Some(driver) = chromedriver() else {
        eprintln!("skipped: chromedriver is not installed");
        return;
    };
    let app = app_at(utc(2026, 3, 4, 3)).await;
    let maker = staff_email(&app, "treasury", None).await;
    let checker = staff_email(&app, "treasury", None).await;
    let (m1, _) = merchant(&app, "toko_kelontong", KEL, None).await;
    execute(
        &app,
        &format!("UPDATE merchants SET name = '{MARKUP}' WHERE id = '{m1}'"),
    )
    .await;
    owed(&app, "o1", &m1, 150_000, utc(2026, 3, 2, 2)).await;
    let browser = Browser::start(&driver, output_dir("treasury")).await;

    sign_in(&browser, &app, &maker, "01-sign-in").await;
    browser.check_page("02-home").await;
    browser.goto(&at(&app, "/console/treasury/batches")).await;
    browser.check_page("03-batches").await;
    browser.type_into("#cutoff", "2026-03-03 07:00").await;
    browser.submit("main form button[type=submit]").await;
    assert!(
        browser
            .url()
            .await
            .starts_with(&at(&app, "/console/treasury/batches/"))
    );
    browser.check_page("04-draft").await;
    let batch_url = browser.url().await.split('?').next().unwrap().to_owned();
    assert!(browser.text("#status").await.starts_with("Draf"));
    assert!(browser.text(".warning").await.contains("empat mata"));
    assert_eq!(
        browser
            .script("return document.querySelectorAll('form[action$=\"/approval\"]').length;")
            .await,
        json!(0),
        "the creator is offered no approval"
    );
    // The merchant's name is text in a cell, not markup.
    let shown = cells(&browser).await;
    assert!(shown.iter().any(|c| c == MARKUP), "{shown:?}");
    assert!(shown.iter().any(|c| c == "Rp150.000"), "{shown:?}");
    let reference = browser.text("td code").await;
    sign_out(&browser, &app).await;

    sign_in(&browser, &app, &checker, "05-sign-in-checker").await;
    browser.goto(&batch_url).await;
    browser.submit("form[action$=\"/approval\"] button").await;
    assert_eq!(browser.text("#status").await, "Disetujui");
    browser.check_page("06-approved").await;
    let (status, disposition, transfer) = browser.download("#transfer-file").await;
    assert_eq!(status, 200, "{transfer}");
    assert!(
        disposition.starts_with("attachment") && disposition.contains("payout-"),
        "{disposition}"
    );
    assert!(transfer.contains(&reference), "{transfer}");
    assert!(transfer.contains("150000"), "{transfer}");

    let statement = browser.dir.join("statement.csv");
    std::fs::write(
        &statement,
        csv_statement(&[
            (
                "2026-03-04",
                &format!("TRF BIFAST PEKEN {reference}"),
                150_000,
                0,
            ),
            ("2026-03-04", "BIAYA ADMIN", 5_000, 0),
        ]),
    )
    .unwrap();
    browser
        .goto(&at(&app, "/console/treasury/statements"))
        .await;
    browser.check_page("07-statement-form").await;
    browser
        .send_keys("#file", &statement.display().to_string())
        .await;
    browser.submit("main form button[type=submit]").await;
    assert_eq!(browser.text("#matched").await, "1");
    assert_eq!(browser.text("#unmatched").await, "1");
    let statuses = browser
        .script(
            "return [...document.querySelectorAll('#lines tbody tr')]\
             .map(tr => tr.dataset.status + ' ' + tr.lastElementChild.textContent);",
        )
        .await;
    assert_eq!(statuses, json!(["matched Cocok", "unmatched Belum cocok"]));
    browser.check_page("08-statement-result").await;
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) AS n FROM payout_items WHERE status = 'paid'"
        )
        .await,
        1
    );

    // The bank's fee is left for a person: listed with a labelled manual-match form.
    browser
        .goto(&at(&app, "/console/treasury/exceptions"))
        .await;
    browser.check_page("09-exceptions").await;
    assert!(cells(&browser).await.iter().any(|c| c == "BIAYA ADMIN"));

    browser
        .goto(&at(
            &app,
            "/console/treasury/ledger?from=2026-03-01&to=2026-03-04",
        ))
        .await;
    browser.check_page("10-ledger").await;
    assert!(browser.text("#trial-status").await.starts_with("Seimbang"));
    assert_eq!(
        browser
            .script("return document.querySelectorAll('svg.chart rect.bar').length;")
            .await,
        json!(4),
        "one bar a day"
    );
    let cash = browser
        .script(
            "return [...document.querySelectorAll('#cash tbody tr')]\
             .map(tr => [...tr.children].map(td => td.textContent).join(' '));",
        )
        .await;
    assert_eq!(
        cash,
        json!([
            "2026-03-01 Rp0 Rp0 Rp0 Rp0",
            "2026-03-02 Rp150.000 Rp0 Rp0 Rp150.000",
            "2026-03-03 Rp0 Rp0 Rp0 Rp150.000",
            "2026-03-04 Rp0 Rp0 Rp150.000 Rp0",
        ])
    );
    browser
        .submit("form[action$=\"/daily-closes\"] button")
        .await;
    assert_eq!(browser.text(".notice").await, "Tutup harian dicatat.");
    browser.check_page("11-daily-close").await;

    browser
        .goto(&at(
            &app,
            "/console/treasury/sla?from=2026-03-01&to=2026-03-04",
        ))
        .await;
    browser.check_page("12-service-level").await;

    let sla = browser
        .script("return [...document.querySelectorAll('#sla td')].map(td => td.textContent);")
        .await;
    assert_eq!(
        sla,
        json!(["1", "0", "0"]),
        "one payout, on time: {}",
        browser.text("main").await
    );
    browser
        .goto(&at(&app, "/console/treasury/refund-batches"))
        .await;
    browser.check_page("12b-refund-batches").await;
    assert_eq!(browser.text("h1").await, "Batch refund");
    // On a tablet the pages fit the screen.
    browser.resize(768, 1024).await;
    for (path, name) in [
        (batch_url.as_str(), "13-tablet-batch"),
        ("/console/treasury/exceptions", "14-tablet-exceptions"),
        ("/console/treasury/ledger", "15-tablet-ledger"),
    ] {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            at(&app, path)
        };
        browser.goto(&url).await;
        browser.check_page(name).await;
        browser.fits_width(name).await;
    }
    browser.quit().await;
}

#[tokio::test]
async fn the_office_verifies_a_shop_and_reads_compliance_and_an_opd_sees_only_its_own() {
    let Some(driver) = chromedriver() else {
        eprintln!("skipped: chromedriver is not installed");
        return;
    };
    let app = app_at(utc(2026, 3, 20, 3)).await;
    let (shop, _) = merchant(&app, "umkm", KEL, None).await;
    execute(
        &app,
        &format!("UPDATE merchants SET status = 'pending', name = '{MARKUP}' WHERE id = '{shop}'"),
    )
    .await;
    let opd = app.create_opd("KONSOL").await;
    let (asn_one, _) = app.asn(&opd, "staf", KEL).await;
    app.asn(&opd, "staf", KEL).await;
    let admin = app.admin().await;
    app.put(
        "/api/v1/admin/mandate-policies",
        Some(&admin.token),
        &json!({"position_class": "staf", "min_amount": 500_000, "effective_from": "2026-03"}),
    )
    .await
    .expect(200);
    execute(
        &app,
        &format!(
            "INSERT INTO asn_monthly_spend (user_id, period, spent_amount) \
             VALUES ('{}', '2026-03', 600000)",
            asn_one.id
        ),
    )
    .await;
    let opd_admin = staff_email(&app, "opd_admin", Some(&opd)).await;
    let browser = Browser::start(&driver, output_dir("office")).await;

    sign_in(&browser, &app, ADMIN_EMAIL, "01-sign-in").await;
    browser.goto(&at(&app, "/console/admin/merchants")).await;
    browser.check_page("02-verification-queue").await;
    assert_eq!(browser.text("main h2").await, MARKUP);
    browser
        .submit("form[action$=\"/verification\"] button")
        .await;
    assert!(browser.text(".notice").await.contains("diverifikasi"));
    browser.check_page("03-verified").await;
    assert_eq!(
        scalar(
            &app,
            &format!(
                "SELECT COUNT(*) AS n FROM merchants WHERE id = '{shop}' AND status = 'active'"
            )
        )
        .await,
        1
    );

    browser
        .goto(&at(&app, "/console/compliance?period=2026-03"))
        .await;
    browser.check_page("04-compliance").await;
    let totals = browser.text("#totals").await;
    assert!(totals.contains("1 dari 2 ASN patuh (50.0%)"), "{totals}");
    let shown = cells(&browser).await;
    assert!(shown.iter().any(|c| c == "50.0%"), "{shown:?}");
    assert_eq!(
        browser
            .script(
                "return [...document.querySelectorAll('svg.chart')]\
                 .map(svg => svg.querySelectorAll('rect.bar').length);"
            )
            .await,
        json!([1, 1, 6]),
        "bars for one OPD, one kecamatan and six months"
    );
    let trend = browser
        .script(
            "return [...document.querySelectorAll('#trend tbody tr')]\
             .map(tr => tr.firstElementChild.textContent + ' ' + tr.children[3].textContent);",
        )
        .await;
    assert_eq!(
        trend,
        json!([
            "2025-10 0.0%",
            "2025-11 0.0%",
            "2025-12 0.0%",
            "2026-01 0.0%",
            "2026-02 0.0%",
            "2026-03 50.0%"
        ])
    );
    assert!(browser.text("#reminders").await.contains("belum dikirim"));
    // Drilling down to the OPD lists its short ASN.
    browser.submit("#per-opd tbody a").await;
    assert!(browser.url().await.contains(&format!("opd_id={opd}")));
    assert_eq!(
        browser
            .script("return document.querySelectorAll('#short tbody tr').length;")
            .await,
        json!(1)
    );
    browser.check_page("04b-compliance-one-opd").await;
    assert_eq!(
        browser
            .script("return document.querySelectorAll('#short tbody tr').length;")
            .await,
        json!(1),
        "one ASN is short"
    );

    // The minimums, with the API's checks: a bad amount is refused and named.
    browser
        .goto(&at(&app, "/console/admin/mandate-policies"))
        .await;
    browser.check_page("05-policies").await;
    browser.type_into("#position_class", "camat").await;
    browser.type_into("#min_amount", "-5").await;
    browser.type_into("#effective_from", "2026-04").await;
    browser.submit("main form button[type=submit]").await;
    assert!(browser.text("main").await.contains("min_amount"));
    browser.log().await;
    browser
        .goto(&at(&app, "/console/admin/mandate-policies"))
        .await;
    browser.type_into("#position_class", "camat").await;
    browser.type_into("#min_amount", "2.000.000").await;
    browser.type_into("#effective_from", "2026-04").await;
    browser.submit("main form button[type=submit]").await;
    assert_eq!(browser.text(".notice").await, "Batas minimum disimpan.");
    let shown = cells(&browser).await;
    assert!(
        shown
            .windows(3)
            .any(|w| w == ["camat", "Rp2.000.000", "2026-04"]),
        "{shown:?}"
    );
    browser.check_page("06-policy-saved").await;
    browser.goto(&at(&app, "/console/admin/outbox")).await;
    browser.check_page("07-outbox").await;
    assert_eq!(browser.text("h1").await, "Kotak keluar surel");
    for (path, name, title) in [
        (
            "/console/admin/bank-accounts",
            "07b-bank-accounts",
            "Rekening bank baru yang menunggu",
        ),
        (
            "/console/admin/nik-reclaims",
            "07c-nik-reclaims",
            "Pengembalian NIK kepada pemiliknya",
        ),
    ] {
        browser.goto(&at(&app, path)).await;
        browser.check_page(name).await;
        assert_eq!(browser.text("h1").await, title);
    }
    sign_out(&browser, &app).await;

    sign_in(&browser, &app, &opd_admin, "08-sign-in-opd").await;
    browser
        .goto(&at(&app, "/console/compliance?period=2026-03"))
        .await;
    browser.check_page("09-compliance-own-opd").await;
    assert!(browser.text("#totals").await.contains("1 dari 2"));
    // Another OPD's figures and another role's pages are refused.
    browser
        .goto(&at(
            &app,
            "/console/compliance?period=2026-03&opd_id=01a00000-0000-7000-8000-000000000000",
        ))
        .await;
    assert_eq!(browser.text("h1").await, "Tidak ditemukan");
    browser.goto(&at(&app, "/console/treasury/batches")).await;
    assert_eq!(browser.text("h1").await, "Tidak diizinkan");
    browser.goto(&at(&app, "/console/admin/merchants")).await;
    assert_eq!(browser.text("h1").await, "Tidak diizinkan");
    // The refusals' own status lines are all the log may hold.
    let logged = browser.log().await;
    assert!(
        logged
            .iter()
            .all(|(_, m)| m.contains("403") || m.contains("404")),
        "{logged:?}"
    );
    browser.quit().await;
}
