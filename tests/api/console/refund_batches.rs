//! Refund batches in the console over plain HTTP: one treasurer builds, sees the four-eyes rule
//! instead of the approve button, another approves, the transfer file is downloaded, a returned
//! transfer is marked failed (the refund is due again), and a draft is cancelled.

use peken_tests::{TestApp, User};
use reqwest::header::{CONTENT_TYPE, COOKIE as COOKIE_HEADER, LOCATION};
use serde_json::json;

use super::{COOKIE, FormBody, csrf_in};
use crate::fixtures::payouts::treasurers;

async fn get(app: &TestApp, path: &str, who: &User) -> reqwest::Response {
    app.client
        .get(app.url(path))
        .header(COOKIE_HEADER, format!("{COOKIE}={}", who.refresh))
        .send()
        .await
        .unwrap()
}

async fn page(app: &TestApp, path: &str, who: &User) -> String {
    let res = get(app, path, who).await;
    assert_eq!(res.status(), 200, "{path}");
    res.text().await.unwrap()
}

async fn post(app: &TestApp, path: &str, who: &User, form: &[(&str, &str)]) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .header(COOKIE_HEADER, format!("{COOKIE}={}", who.refresh))
        .form_body(form)
        .send()
        .await
        .unwrap()
}

fn location(res: &reqwest::Response) -> String {
    res.headers()[LOCATION].to_str().unwrap().to_owned()
}

async fn refund_status(app: &TestApp, treasury: &User, id: &str) -> String {
    let all = app
        .get("/api/v1/treasury/refunds?limit=100", Some(&treasury.token))
        .await
        .expect(200);
    all.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap()["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_refund_batch_is_built_approved_by_another_treasurer_and_an_item_failed() {
    let app = peken_tests::spawn_app().await;
    let (maker, checker) = treasurers(&app).await;
    let admin = app.admin().await;
    let (_, listing) = crate::fixtures::orders::shop_with_listing(&app, 10_000, 10).await;
    let opd = app.create_opd("REFBATCH").await;
    let (asn, _) = app.asn(&opd, "staf", "35.78.03.1002").await;
    let (order, _, _) = crate::fixtures::orders::paid_order(&app, &asn, &listing, 1).await;
    app.post(
        &format!("/api/v1/orders/{order}/cancel"),
        Some(&asn.token),
        &json!({}),
    )
    .await
    .expect(200);
    app.put(
        "/api/v1/me/refund-account",
        Some(&asn.token),
        &json!({"bank_code": "008", "account_number": "1234567890", "account_name": "SITI AMINAH"}),
    )
    .await
    .expect(200);
    let refund = app
        .get("/api/v1/treasury/refunds?status=due", Some(&maker.token))
        .await
        .expect(200)
        .body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Another role is refused the page and its forms.
    assert_eq!(
        get(&app, "/console/treasury/refund-batches", &admin)
            .await
            .status(),
        403
    );
    let list = page(&app, "/console/treasury/refund-batches", &maker).await;
    assert!(list.contains("Belum ada batch refund."), "{list}");
    let csrf = csrf_in(&list);
    // A cut-off may not lie ahead; typed to the minute, it must fall after the refund.
    app.clock.advance(chrono::Duration::minutes(2));
    let cutoff = (app.state.now() + chrono::Duration::hours(7))
        .format("%Y-%m-%d %H:%M")
        .to_string();
    // Without the session's token nothing is built.
    let refused = post(
        &app,
        "/console/treasury/refund-batches",
        &maker,
        &[("cutoff", cutoff.as_str())],
    )
    .await;
    assert_eq!(refused.status(), 403);
    assert_eq!(refund_status(&app, &maker, &refund).await, "due");
    let built = post(
        &app,
        "/console/treasury/refund-batches",
        &maker,
        &[("csrf", csrf.as_str()), ("cutoff", cutoff.as_str())],
    )
    .await;
    assert_eq!(built.status(), 303, "{}", built.text().await.unwrap());
    let to = location(&built);
    assert!(to.ends_with("?pesan=dibuat&dilewati=0"), "{to}");
    let batch_path = to.split('?').next().unwrap().to_owned();
    let batch = batch_path.rsplit('/').next().unwrap().to_owned();
    assert_eq!(refund_status(&app, &maker, &refund).await, "batched");

    // The builder sees the rule, not the button; posting the approval anyway is refused.
    let mine = page(&app, &batch_path, &maker).await;
    assert!(mine.contains("Prinsip empat mata"), "{mine}");
    let approval = format!("{batch_path}/approval");
    assert!(!mine.contains(&format!("action=\"{approval}\"")), "{mine}");
    assert!(mine.contains("SITI AMINAH"));
    let refused = post(&app, &approval, &maker, &[("csrf", csrf.as_str())]).await;
    assert_eq!(refused.status(), 403);
    assert!(refused.text().await.unwrap().contains("four_eyes_required"));
    // No transfer file before approval.
    assert_eq!(
        get(&app, &format!("{batch_path}/transfer-file"), &maker)
            .await
            .status(),
        409
    );

    let theirs = page(&app, &batch_path, &checker).await;
    assert!(!theirs.contains("Prinsip empat mata"), "{theirs}");
    assert!(
        theirs.contains(&format!("action=\"{approval}\"")),
        "{theirs}"
    );
    let checker_csrf = csrf_in(&theirs);
    let approved = post(
        &app,
        &approval,
        &checker,
        &[("csrf", checker_csrf.as_str())],
    )
    .await;
    assert_eq!(approved.status(), 303);
    assert_eq!(location(&approved), format!("{batch_path}?pesan=disetujui"));
    assert_eq!(refund_status(&app, &maker, &refund).await, "in_transit");

    let file = get(&app, &format!("{batch_path}/transfer-file"), &maker).await;
    assert_eq!(file.status(), 200);
    assert!(
        file.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let file = file.text().await.unwrap();
    assert!(
        file.starts_with("reference,bank_code,account_number"),
        "{file}"
    );
    assert!(file.contains("1234567890"), "{file}");
    let items = get(&app, &format!("{batch_path}/items?format=csv"), &checker).await;
    assert_eq!(items.status(), 200);
    let items = items.text().await.unwrap();
    assert!(items.starts_with("item_id,refund_id,"), "{items}");
    assert!(items.contains(&refund), "{items}");
    assert!(items.contains("SITI AMINAH"), "{items}");
    let sheet = get(&app, &format!("{batch_path}/items?format=xlsx"), &checker).await;
    assert_eq!(sheet.status(), 200);
    assert!(sheet.bytes().await.unwrap().starts_with(b"PK"));

    // The bank returned the transfer: an empty reason is refused, a reason fails the item.
    let approved_page = page(&app, &batch_path, &maker).await;
    let item = approved_page
        .split("/console/treasury/refund-items/")
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let failure = format!("/console/treasury/refund-items/{item}/failure");
    let refused = post(&app, &failure, &maker, &[("reason", "rekening ditutup")]).await;
    assert_eq!(refused.status(), 403);
    let empty = post(
        &app,
        &failure,
        &maker,
        &[("csrf", csrf.as_str()), ("reason", " ")],
    )
    .await;
    assert_eq!(empty.status(), 422);
    let failed = post(
        &app,
        &failure,
        &maker,
        &[("csrf", csrf.as_str()), ("reason", "rekening ditutup")],
    )
    .await;
    assert_eq!(failed.status(), 303);
    assert_eq!(location(&failed), format!("{batch_path}?pesan=gagal"));
    assert_eq!(refund_status(&app, &maker, &refund).await, "due");
    assert!(
        page(&app, &batch_path, &maker)
            .await
            .contains("rekening ditutup")
    );

    // A second draft, cancelled: the refund is due again.
    let rebuilt = post(
        &app,
        "/console/treasury/refund-batches",
        &checker,
        &[("csrf", checker_csrf.as_str()), ("cutoff", cutoff.as_str())],
    )
    .await;
    assert_eq!(rebuilt.status(), 303);
    let second = location(&rebuilt).split('?').next().unwrap().to_owned();
    assert_ne!(second, batch_path);
    let cancelled = post(
        &app,
        &format!("{second}/cancellation"),
        &maker,
        &[("csrf", csrf.as_str())],
    )
    .await;
    assert_eq!(cancelled.status(), 303);
    assert_eq!(refund_status(&app, &maker, &refund).await, "due");
    let list = page(&app, "/console/treasury/refund-batches", &maker).await;
    assert!(list.contains(&batch), "{list}");
    assert!(list.contains("Dibatalkan"), "{list}");
}
