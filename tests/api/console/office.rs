//! The office's downloads over plain HTTP: the compliance chart's numbers as CSV and XLSX, and
//! an OPD admin's download limited to its own OPD.

use peken_tests::TestApp;
use reqwest::header::{CONTENT_DISPOSITION, CONTENT_TYPE, COOKIE as COOKIE_HEADER};
use serde_json::json;

use super::COOKIE;
use crate::fixtures::execute;
use crate::fixtures::payouts::{app_at, utc};

async fn download(app: &TestApp, path: &str, token: &str) -> reqwest::Response {
    app.client
        .get(app.url(path))
        .header(COOKIE_HEADER, format!("{COOKIE}={token}"))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_compliance_chart_downloads_with_its_numbers() {
    let app = app_at(utc(2026, 3, 20, 3)).await;
    let opd = app.create_opd("UNDUH").await;
    let other = app.create_opd("LAIN").await;
    let (paid, _) = app.asn(&opd, "staf", "35.78.01.1001").await;
    app.asn(&opd, "staf", "35.78.01.1001").await;
    app.asn(&other, "staf", "35.78.01.1001").await;
    let admin = app.admin().await;
    app.put(
        "/api/v1/admin/mandate-policies",
        Some(&admin.token),
        &json!({"position_class": "staf", "min_amount": 500_000, "effective_from": "2026-01"}),
    )
    .await
    .expect(200);
    execute(
        &app,
        &format!(
            "INSERT INTO asn_monthly_spend (user_id, period, spent_amount) \
             VALUES ('{}', '2026-03', 500000)",
            paid.id
        ),
    )
    .await;
    let res = download(
        &app,
        "/console/compliance/export?period=2026-03&format=csv",
        &admin.refresh,
    )
    .await;
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()[CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains("kepatuhan-opd-2026-03.csv")
    );
    let csv = res.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "period,opd_code,opd_name,asn_count,compliant_count,compliance_rate_percent,total_spent"
    );
    assert!(
        lines.contains(&"2026-03,UNDUH,Dinas UNDUH,2,1,50.0,500000"),
        "{csv}"
    );
    assert!(
        lines.contains(&"2026-03,LAIN,Dinas LAIN,1,0,0.0,0"),
        "{csv}"
    );

    let xlsx = download(
        &app,
        "/console/compliance/export?period=2026-03&format=xlsx",
        &admin.refresh,
    )
    .await;
    assert_eq!(xlsx.status(), 200);
    assert!(
        xlsx.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .contains("spreadsheetml")
    );
    assert!(xlsx.bytes().await.unwrap().starts_with(b"PK"));

    // An OPD admin's download holds its own OPD only, and another OPD's is 404.
    let opd_admin = app.staff("opd_admin", Some(&opd)).await;
    let own = download(
        &app,
        "/console/compliance/export?period=2026-03&format=csv",
        &opd_admin.refresh,
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(own.contains("UNDUH") && !own.contains("LAIN"), "{own}");
    let refused = download(
        &app,
        &format!("/console/compliance/export?period=2026-03&format=csv&opd_id={other}"),
        &opd_admin.refresh,
    )
    .await;
    assert_eq!(refused.status(), 404);
}

#[tokio::test]
async fn a_product_waits_for_moderation_and_a_rejection_needs_a_reason() {
    use super::{FormBody, csrf_in};
    let app = app_at(utc(2026, 3, 20, 3)).await;
    let admin = app.admin().await;
    let s = crate::fixtures::orders::shop(&app, "umkm", "35.78.03.1001").await;
    let product = app
        .post(
            &format!("/api/v1/merchants/{}/products", s.id),
            Some(&s.owner.token),
            &json!({"name": "<b>Kerupuk</b> Udang", "description": "Renyah",
                    "category": "kuliner", "unit": "bungkus"}),
        )
        .await
        .expect(201)
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let page = download(&app, "/console/admin/products", &admin.refresh)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("&#60;b&#62;Kerupuk&#60;/b&#62; Udang"),
        "{page}"
    );
    assert!(!page.contains("<b>Kerupuk"));
    let post = |form: Vec<(&'static str, String)>| {
        let app = &app;
        let token = admin.refresh.clone();
        let product = product.clone();
        async move {
            let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.client
                .post(app.url(&format!("/console/admin/products/{product}/moderation")))
                .header(COOKIE_HEADER, format!("{COOKIE}={token}"))
                .form_body(&pairs)
                .send()
                .await
                .unwrap()
        }
    };
    let csrf = csrf_in(&page);
    let refused = post(vec![
        ("csrf", csrf.clone()),
        ("decision", "reject".into()),
        ("reason", "  ".into()),
    ])
    .await;
    assert_eq!(refused.status(), 422);
    assert!(refused.text().await.unwrap().contains("reason"));
    let done = post(vec![
        ("csrf", csrf),
        ("decision", "reject".into()),
        ("reason", "Bukan produk buatan Surabaya".into()),
    ])
    .await;
    assert_eq!(done.status(), 303);
    let product = app
        .get(
            &format!("/api/v1/merchants/{}/products/{product}", s.id),
            Some(&s.owner.token),
        )
        .await
        .expect(200);
    assert_eq!(product.body["status"], "rejected");
    assert_eq!(
        product.body["rejection_reason"],
        "Bukan produk buatan Surabaya"
    );
}

#[tokio::test]
async fn a_listing_is_taken_down_with_a_reason_and_restored() {
    use super::{FormBody, csrf_in};
    use crate::fixtures::payouts::scalar;
    let app = app_at(utc(2026, 3, 20, 3)).await;
    let admin = app.admin().await;
    let (s, listing) = crate::fixtures::orders::shop_with_listing(&app, 12_000, 5).await;
    let page = download(
        &app,
        &format!("/console/admin/listings?merchant_id={}", s.id),
        &admin.refresh,
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(
        page.contains(&format!("/console/admin/listings/{listing}/takedown")),
        "{page}"
    );
    assert!(page.contains("Rp12.000"));
    let csrf = csrf_in(&page);
    let post = |path: String, form: Vec<(&'static str, String)>| {
        let app = &app;
        let token = admin.refresh.clone();
        async move {
            let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.client
                .post(app.url(&path))
                .header(COOKIE_HEADER, format!("{COOKIE}={token}"))
                .form_body(&pairs)
                .send()
                .await
                .unwrap()
        }
    };
    let taken = format!(
        "SELECT COUNT(*) AS n FROM listings WHERE id = '{listing}' AND taken_down_at IS NOT NULL"
    );
    let takedown = format!("/console/admin/listings/{listing}/takedown");
    let refused = post(
        takedown.clone(),
        vec![("csrf", csrf.clone()), ("merchant_id", s.id.clone())],
    )
    .await;
    assert_eq!(refused.status(), 422, "a reason is required");
    assert_eq!(scalar(&app, &taken).await, 0);
    let done = post(
        takedown,
        vec![
            ("csrf", csrf.clone()),
            ("merchant_id", s.id.clone()),
            ("reason", "Harga di atas HET".into()),
        ],
    )
    .await;
    assert_eq!(done.status(), 303);
    assert_eq!(scalar(&app, &taken).await, 1);
    let page = download(
        &app,
        &format!("/console/admin/listings?merchant_id={}", s.id),
        &admin.refresh,
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(page.contains("Harga di atas HET"));
    let restored = post(
        format!("/console/admin/listings/{listing}/restoration"),
        vec![("csrf", csrf), ("merchant_id", s.id.clone())],
    )
    .await;
    assert_eq!(restored.status(), 303);
    assert_eq!(scalar(&app, &taken).await, 0);
}

#[tokio::test]
async fn the_list_of_who_is_short_says_whether_each_was_reminded() {
    let smtp = peken_tests::smtp::SmtpServer::start().await;
    // Thursday 26 November 2026, 10:00 WIB: two working days left, within the policy's three.
    let app = peken_tests::spawn_app_with(peken_tests::Options {
        vars: vec![("PEKEN_SMTP_URL".into(), smtp.url())],
        start: Some(utc(2026, 11, 26, 3)),
    })
    .await;
    let opd = app.create_opd("INGAT").await;
    let (_, short) = app.asn(&opd, "staf", "35.78.01.1001").await;
    let admin = app.admin().await;
    app.put(
        "/api/v1/admin/mandate-policies",
        Some(&admin.token),
        &json!({"position_class": "staf", "min_amount": 500_000, "effective_from": "2026-01"}),
    )
    .await
    .expect(200);
    let opd_admin = app.staff("opd_admin", Some(&opd)).await;
    let row = |html: &str| {
        html.split("<tr>")
            .find(|r| r.contains(&short))
            .unwrap_or_else(|| panic!("{short} listed as short: {html}"))
            .to_owned()
    };
    let page = |who: String| {
        let app = &app;
        async move {
            let res = download(app, "/console/compliance?period=2026-11", &who).await;
            assert_eq!(res.status(), 200);
            res.text().await.unwrap()
        }
    };
    assert!(row(&page(opd_admin.refresh.clone()).await).contains("Belum dikirim"));
    assert_eq!(
        peken_order::mandate::send_reminders(&app.state)
            .await
            .unwrap(),
        1
    );
    let queued = row(&page(opd_admin.refresh.clone()).await);
    assert!(
        queued.contains("Dalam antrean sejak 26-11-2026 10:00 WIB"),
        "{queued}"
    );
    app.clock.advance(chrono::Duration::minutes(5));
    assert!(peken_mail::worker::drain_once(&app.state).await.unwrap() >= 1);
    for who in [opd_admin.refresh.clone(), admin.refresh.clone()] {
        let sent = row(&page(who).await);
        assert!(sent.contains("Terkirim 26-11-2026 10:05 WIB"), "{sent}");
    }
}
