//! Treasury's exceptions over plain HTTP: a debit line nothing matched is matched by hand, the
//! proposer cannot approve, a second treasurer does, and the item is paid.

use reqwest::header::{COOKIE as COOKIE_HEADER, LOCATION};

use super::{COOKIE, FormBody, csrf_in};
use crate::fixtures::payouts::{
    app_at, csv_statement, item_of, merchant, owed, paid_batch, scalar, treasurers, utc,
};

#[tokio::test]
async fn an_unmatched_line_is_matched_by_hand_with_four_eyes() {
    let app = app_at(utc(2026, 3, 4, 3)).await;
    let (maker, checker) = treasurers(&app).await;
    let (m1, _) = merchant(&app, "toko_kelontong", "35.78.01.1001", None).await;
    owed(&app, "o1", &m1, 150_000, utc(2026, 3, 2, 2)).await;
    let batch = paid_batch(&app, &maker, &checker, utc(2026, 3, 3, 0)).await;
    let item = item_of(&batch, &m1)["id"].as_str().unwrap().to_owned();
    // The bank lost the reference and the account number: nothing matches automatically.
    app.post_raw(
        "/api/v1/treasury/bank-statements",
        Some(&maker.token),
        "text/csv",
        &csv_statement(&[
            ("2026-03-04", "TRF BIFAST TANPA REFERENSI", 150_000, 0),
            ("2026-03-04", "=1+1 TRANSFER LAIN", 99_000, 0),
        ]),
    )
    .await
    .expect(201);
    let get = |token: String| {
        let app = &app;
        async move {
            app.client
                .get(app.url("/console/treasury/exceptions"))
                .header(COOKIE_HEADER, format!("{COOKIE}={token}"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let post = |token: String, path: String, form: Vec<(&'static str, String)>| {
        let app = &app;
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
    let page = get(maker.refresh.clone()).await;
    assert!(page.contains("TRF BIFAST TANPA REFERENSI"), "{page}");
    // The item in transit of the same amount is offered in the line's picker; the line of an
    // amount nothing is owed for offers nothing.
    assert!(
        page.contains(&format!("<option value=\"{item}\">")),
        "{page}"
    );
    assert!(
        page.contains("Tidak ada item pembayaran dalam perjalanan dengan jumlah yang sama."),
        "{page}"
    );
    // The exceptions as CSV, formulas defused.
    let csv = app
        .client
        .get(app.url("/console/treasury/exceptions/export?format=csv"))
        .header(COOKIE_HEADER, format!("{COOKIE}={}", maker.refresh))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = csv.text().await.unwrap();
    assert!(csv.starts_with("kind,"), "{csv}");
    assert!(csv.contains("TRF BIFAST TANPA REFERENSI"), "{csv}");
    assert!(csv.contains("'=1+1 TRANSFER LAIN"), "{csv}");
    let line = page
        .split("name=\"statement_line_id\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let csrf = csrf_in(&page);
    let res = post(
        maker.refresh.clone(),
        "/console/treasury/exceptions/matches".into(),
        vec![
            ("csrf", csrf.clone()),
            ("statement_line_id", line),
            ("payout_item_id", item.clone()),
            ("note", "referensi hilang di bank".into()),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    let page = get(maker.refresh.clone()).await;
    assert!(page.contains("Anda mengusulkan ini"), "{page}");
    let proposal = page
        .split("/console/treasury/exceptions/matches/")
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let approval = format!("/console/treasury/exceptions/matches/{proposal}/approval");
    let refused = post(
        maker.refresh.clone(),
        approval.clone(),
        vec![("csrf", csrf)],
    )
    .await;
    assert_eq!(refused.status(), 403);
    assert!(refused.text().await.unwrap().contains("four_eyes_required"));
    let page = get(checker.refresh.clone()).await;
    assert!(page.contains("referensi hilang di bank"));
    let res = post(
        checker.refresh.clone(),
        approval,
        vec![("csrf", csrf_in(&page))],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        res.headers()[LOCATION].to_str().unwrap(),
        "/console/treasury/exceptions?pesan=disetujui"
    );
    assert_eq!(
        scalar(
            &app,
            &format!(
                "SELECT COUNT(*) AS n FROM payout_items WHERE id = '{item}' AND status = 'paid'"
            )
        )
        .await,
        1
    );
    let page = get(checker.refresh).await;
    assert!(!page.contains("TRF BIFAST TANPA REFERENSI"), "{page}");
    assert!(page.contains("=1+1 TRANSFER LAIN"), "{page}");
}

#[tokio::test]
async fn a_refund_paid_by_hand_is_approved_by_a_second_treasurer() {
    let app = peken_tests::spawn_app().await;
    let (maker, checker) = treasurers(&app).await;
    let (_, listing) = crate::fixtures::orders::shop_with_listing(&app, 10_000, 10).await;
    let opd = app.create_opd("REFUND").await;
    let (asn, _) = app.asn(&opd, "staf", "35.78.03.1002").await;
    let (order, _, _) = crate::fixtures::orders::paid_order(&app, &asn, &listing, 1).await;
    app.post(
        &format!("/api/v1/orders/{order}/cancel"),
        Some(&asn.token),
        &serde_json::json!({}),
    )
    .await
    .expect(200);
    let due = app
        .get("/api/v1/treasury/refunds?status=due", Some(&maker.token))
        .await
        .expect(200);
    let refund = due.body["items"][0]["id"].as_str().unwrap().to_owned();
    let console = |token: String, path: String, form: Option<Vec<(&'static str, String)>>| {
        let app = &app;
        async move {
            let req = match form {
                None => app.client.get(app.url(&path)),
                Some(form) => {
                    let pairs: Vec<(&str, &str)> =
                        form.iter().map(|(k, v)| (*k, v.as_str())).collect();
                    app.client.post(app.url(&path)).form_body(&pairs)
                }
            };
            req.header(COOKIE_HEADER, format!("{COOKIE}={token}"))
                .send()
                .await
                .unwrap()
        }
    };
    let page = console(
        maker.refresh.clone(),
        "/console/treasury/refunds".into(),
        None,
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(page.contains(&format!("/console/treasury/refunds/{refund}/payment")));
    let csrf = csrf_in(&page);
    let res = console(
        maker.refresh.clone(),
        format!("/console/treasury/refunds/{refund}/payment"),
        Some(vec![
            ("csrf", csrf.clone()),
            ("reference", "TRF-REFUND-1".into()),
        ]),
    )
    .await;
    assert_eq!(res.status(), 303);
    let approval = format!("/console/treasury/refunds/{refund}/payment/approval");
    let refused = console(
        maker.refresh.clone(),
        approval.clone(),
        Some(vec![("csrf", csrf)]),
    )
    .await;
    assert_eq!(refused.status(), 403);
    let page = console(
        checker.refresh.clone(),
        "/console/treasury/refunds?status=payment_proposed".into(),
        None,
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(page.contains("TRF-REFUND-1"), "{page}");
    let res = console(
        checker.refresh.clone(),
        approval,
        Some(vec![("csrf", csrf_in(&page))]),
    )
    .await;
    assert_eq!(res.status(), 303);
    let paid = app
        .get("/api/v1/treasury/refunds?status=paid", Some(&maker.token))
        .await
        .expect(200);
    assert_eq!(paid.body["items"][0]["id"], refund.as_str());
}

#[tokio::test]
async fn a_credit_no_bill_explains_pays_its_bill_by_hand_with_four_eyes() {
    let app = app_at(utc(2026, 3, 4, 3)).await;
    let (maker, checker) = treasurers(&app).await;
    let (_, listing) = crate::fixtures::orders::shop_with_listing(&app, 10_000, 10).await;
    let buyer = crate::fixtures::orders::buyer(&app).await;
    let bill = crate::fixtures::orders::checkout(
        &app,
        &buyer,
        "console-credit",
        &crate::fixtures::orders::cart(&[(listing.as_str(), 2)]),
    )
    .await
    .expect(201);
    let payment = bill.body["payment"]["id"].as_str().unwrap().to_owned();
    let amount = bill.body["payment"]["amount"].as_i64().unwrap();
    app.post_raw(
        "/api/v1/treasury/bank-statements",
        Some(&maker.token),
        "text/csv",
        &csv_statement(&[("2026-03-04", "SETORAN ATM BUDI SANTOSO", 0, amount)]),
    )
    .await
    .expect(201);
    let get = |token: String| {
        let app = &app;
        async move {
            app.client
                .get(app.url("/console/treasury/exceptions"))
                .header(COOKIE_HEADER, format!("{COOKIE}={token}"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let post = |token: String, path: String, form: Vec<(&'static str, String)>| {
        let app = &app;
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
    let page = get(maker.refresh.clone()).await;
    assert!(page.contains("SETORAN ATM BUDI SANTOSO"), "{page}");
    assert!(
        page.contains("name=\"payment_id\""),
        "a credit line is offered a bill"
    );
    let line = page
        .split("name=\"statement_line_id\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let res = post(
        maker.refresh.clone(),
        "/console/treasury/exceptions/credit-matches".into(),
        vec![
            ("csrf", csrf_in(&page)),
            ("statement_line_id", line),
            ("payment_id", payment.clone()),
            ("note", "pembeli menelepon".into()),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    let page = get(checker.refresh.clone()).await;
    let proposal = page
        .split("/console/treasury/exceptions/credit-matches/")
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let approval = format!("/console/treasury/exceptions/credit-matches/{proposal}/approval");
    let maker_page = get(maker.refresh.clone()).await;
    let refused = post(
        maker.refresh.clone(),
        approval.clone(),
        vec![("csrf", csrf_in(&maker_page))],
    )
    .await;
    assert_eq!(refused.status(), 403);
    let res = post(
        checker.refresh.clone(),
        approval,
        vec![("csrf", csrf_in(&page))],
    )
    .await;
    assert_eq!(res.status(), 303);
    let paid = app
        .get(&format!("/api/v1/payments/{payment}"), Some(&buyer.token))
        .await
        .expect(200);
    assert_eq!(paid.body["status"], "paid");
}

#[tokio::test]
async fn a_returned_payout_holds_the_shop_until_a_person_clears_it() {
    let app = app_at(utc(2026, 3, 4, 3)).await;
    let (maker, checker) = treasurers(&app).await;
    let (m1, _) = merchant(&app, "toko_kelontong", "35.78.01.1001", None).await;
    owed(&app, "o1", &m1, 80_000, utc(2026, 3, 2, 2)).await;
    let batch = paid_batch(&app, &maker, &checker, utc(2026, 3, 3, 0)).await;
    let batch_id = batch["id"].as_str().unwrap().to_owned();
    let item = item_of(&batch, &m1)["id"].as_str().unwrap().to_owned();
    let get = |path: String| {
        let app = &app;
        let token = maker.refresh.clone();
        async move {
            app.client
                .get(app.url(&path))
                .header(COOKIE_HEADER, format!("{COOKIE}={token}"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let post = |path: String, form: Vec<(&'static str, String)>| {
        let app = &app;
        let token = maker.refresh.clone();
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
    let page = get(format!("/console/treasury/batches/{batch_id}")).await;
    let failure = format!("/console/treasury/items/{item}/failure");
    assert!(page.contains(&failure), "{page}");
    let res = post(
        failure,
        vec![
            ("csrf", csrf_in(&page)),
            ("text", "rekening tidak ditemukan".into()),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        scalar(
            &app,
            &format!(
                "SELECT COUNT(*) AS n FROM payout_items WHERE id = '{item}' AND status = 'failed'"
            )
        )
        .await,
        1
    );
    let holds = get("/console/treasury/holds".into()).await;
    assert!(holds.contains("rekening tidak ditemukan"), "{holds}");
    let hold = holds
        .split("/console/treasury/holds/")
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let res = post(
        format!("/console/treasury/holds/{hold}/clearance"),
        vec![
            ("csrf", csrf_in(&holds)),
            ("text", "rekening baru diperiksa dengan pemilik".into()),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert!(
        get("/console/treasury/holds".into())
            .await
            .contains("Tidak ada toko yang ditahan.")
    );
}
