//! Payouts as the shop sees them: its list (in transit, then paid with the bank's reference),
//! one payout with the orders and refunds it pays, and the remittance advice as a PDF read back
//! with poppler's `pdftotext`. Orders are real (checkout, callback, receipt); the refund of a
//! completed order is posted through the ledger, as no API call makes one yet. A payout the
//! bank returned is seen failed, and its money as a line of the payout that pays it again.

use std::io::Write as _;
use std::process::{Command, Stdio};

use peken_tests::{PASSWORD, TestApp, User};
use serde_json::{Value, json};

use crate::fixtures::orders::{any_commodity, paid_order, shop};
use crate::fixtures::payouts::{
    app_at, item_of, merchant, move_clock, owed, paid_batch, refunded, treasurers, unique, utc,
};

/// Whether poppler's `pdftotext` is here. Under CI (`CI` set) its absence fails the test; a
/// developer without it sees the PDF part skipped.
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
        eprintln!("skipped: install poppler-utils (pdftotext) to read remittance advice back");
    }
    found
}

/// The text of a PDF as `pdftotext -layout` reads it, whitespace squashed.
fn text_of(pdf: &[u8]) -> String {
    let mut child = Command::new("pdftotext")
        .args(["-layout", "-", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(pdf).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// A paid order walked to receipt; its id.
async fn completed(app: &TestApp, buyer: &User, owner: &User, listing: &str, qty: i64) -> String {
    let (order, _, _) = paid_order(app, buyer, listing, qty).await;
    for (step, who) in [("accept", owner), ("ship", owner), ("receipt", buyer)] {
        app.post(
            &format!("/api/v1/orders/{order}/{step}"),
            Some(&who.token),
            &json!({}),
        )
        .await
        .expect(200);
    }
    order
}

async fn build_batch(app: &TestApp, maker: &User, cutoff: chrono::DateTime<chrono::Utc>) -> Value {
    app.post(
        "/api/v1/treasury/payout-batches",
        Some(&maker.token),
        &json!({"cutoff": cutoff.to_rfc3339()}),
    )
    .await
    .expect(201)
    .body
}

fn mt940_debit(date: &str, amount: i64, reference: &str, bank_reference: &str) -> String {
    format!(
        "{{1:F01BMRIIDJAXXXX0000000000}}{{4:\r\n:20:STMT{date}\r\n:25:1230007654321\r\n\
         :28C:1/1\r\n:60F:C{date}IDR{amount},00\r\n\
         :61:{date}D{amount},00NTRF{reference}//{bank_reference}\r\n\
         :86:TRF BIFAST PEKEN {reference} TOKO\r\n:62F:C{date}IDR0,00\r\n-}}"
    )
}

#[tokio::test]
async fn a_shop_follows_its_payout_from_transit_to_the_bank_statement() {
    let app = app_at(utc(2026, 3, 2, 2)).await;
    let (maker, checker) = treasurers(&app).await;
    let s = shop(&app, "toko_kelontong", "35.78.03.1001").await;
    let other = shop(&app, "toko_kelontong", "35.78.03.1001").await;
    let staff_email = format!("staf{}@toko.test", unique());
    app.post(
        &format!("/api/v1/merchants/{}/staff", s.id),
        Some(&s.owner.token),
        &json!({"name": "Karyawan", "email": staff_email, "phone": "081298765432",
                "password": PASSWORD}),
    )
    .await
    .expect(201);
    let staff = app.login(&staff_email, PASSWORD).await;
    let commodity = any_commodity(&app, None, None).await;
    let listing = s.list(&app, &commodity, 14_000, 50).await;
    let opd = app.create_opd(&format!("BAYAR{}", unique())).await;
    let (buyer, _) = app.asn(&opd, "staf", "35.78.03.1002").await;
    let first = completed(&app, &buyer, &s.owner, &listing, 3).await;
    let second = completed(&app, &buyer, &s.owner, &listing, 2).await;
    // One unit of the first order is refunded after completion: taken off what the shop is owed.
    refunded(&app, &first, 14_000, utc(2026, 3, 2, 5)).await;

    let [maker, checker, owner, staff, other_owner, buyer] = <[_; 6]>::try_from(
        move_clock(
            &app,
            utc(2026, 3, 3, 2),
            &[&maker, &checker, &s.owner, &staff, &other.owner, &buyer],
        )
        .await,
    )
    .unwrap();
    let batch = build_batch(&app, &maker, utc(2026, 3, 3, 0)).await;
    let batch_id = batch["id"].as_str().unwrap();
    let payout_id = batch["items"][0]["id"].as_str().unwrap().to_owned();
    let reference = batch["items"][0]["reference"].as_str().unwrap().to_owned();
    let account = batch["items"][0]["account_number"]
        .as_str()
        .unwrap()
        .to_owned();
    let list_path = format!("/api/v1/merchants/{}/payouts", s.id);
    let detail_path = format!("{list_path}/{payout_id}");
    let pdf_path = format!("{detail_path}/remittance.pdf");

    // A draft promises nothing yet: the shop does not see it.
    let listed = app.get(&list_path, Some(&owner.token)).await.expect(200);
    assert_eq!(listed.body["items"], json!([]), "{}", listed.text);
    app.get(&detail_path, Some(&owner.token))
        .await
        .expect_problem(404, "not_found");
    app.get(&pdf_path, Some(&owner.token))
        .await
        .expect_problem(404, "not_found");

    app.post(
        &format!("/api/v1/treasury/payout-batches/{batch_id}/approval"),
        Some(&checker.token),
        &json!({}),
    )
    .await
    .expect(200);

    let listed = app.get(&list_path, Some(&owner.token)).await.expect(200);
    let items = listed.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", listed.text);
    let item = &items[0];
    assert_eq!(item["id"], payout_id.as_str());
    assert_eq!(item["status"], "in_transit");
    assert_eq!(item["amount"], 70_000 - 14_000);
    assert_eq!(item["reference"], reference.as_str());
    assert_eq!(item["rail"], "BIFAST");
    assert_eq!(item["account_number"], account.as_str());
    assert_eq!(
        item["cutoff"]
            .as_str()
            .unwrap()
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap(),
        utc(2026, 3, 3, 0)
    );
    assert!(item["approved_at"].is_string());
    assert_eq!(item["paid_at"], Value::Null);
    assert_eq!(item["seen_on_statement"], Value::Null);

    // Staff see the payout, not the account number; treasury and admin see it whole.
    let by_staff = app.get(&list_path, Some(&staff.token)).await.expect(200);
    let masked = by_staff.body["items"][0]["account_number"]
        .as_str()
        .unwrap();
    assert_eq!(masked.len(), account.len());
    assert!(masked.ends_with(&account[account.len() - 4..]));
    assert!(masked.starts_with("******"), "{masked}");
    let by_treasury = app.get(&list_path, Some(&maker.token)).await.expect(200);
    assert_eq!(
        by_treasury.body["items"][0]["account_number"],
        account.as_str()
    );
    let admin = app.admin().await;
    app.get(&detail_path, Some(&admin.token)).await.expect(200);

    // The payout's lines are the journal's: two orders and the refund, adding up to it.
    let detail = app.get(&detail_path, Some(&owner.token)).await.expect(200);
    let lines = detail.body["lines"].as_array().unwrap();
    let summary: Vec<(&str, &str, i64)> = lines
        .iter()
        .map(|l| {
            (
                l["kind"].as_str().unwrap(),
                l["order_id"].as_str().unwrap(),
                l["amount"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("order", first.as_str(), 42_000),
            ("order", second.as_str(), 28_000),
            ("refund", first.as_str(), -14_000),
        ],
        "{}",
        detail.text
    );
    let sum: i64 = lines.iter().map(|l| l["amount"].as_i64().unwrap()).sum();
    assert_eq!(sum, detail.body["amount"].as_i64().unwrap());
    assert_eq!(detail.body["orders_amount"], 70_000);
    assert_eq!(detail.body["refunds_amount"], -14_000);
    assert_eq!(lines[0]["date"], "2026-03-02");

    // Another shop, or this payout under another shop's id, is not found; a buyer is refused.
    for (path, token) in [
        (&list_path, &other_owner.token),
        (&detail_path, &other_owner.token),
        (&pdf_path, &other_owner.token),
    ] {
        app.get(path, Some(token))
            .await
            .expect_problem(404, "not_found");
    }
    let under_other = format!("/api/v1/merchants/{}/payouts/{payout_id}", other.id);
    for token in [&other_owner.token, &maker.token] {
        app.get(&under_other, Some(token))
            .await
            .expect_problem(404, "not_found");
    }
    let others_list = app
        .get(
            &format!("/api/v1/merchants/{}/payouts", other.id),
            Some(&other_owner.token),
        )
        .await
        .expect(200);
    assert_eq!(others_list.body["items"], json!([]));
    app.get(&list_path, Some(&buyer.token))
        .await
        .expect_problem(403, "forbidden");

    // A later draft stays out of the list.
    completed(&app, &buyer, &owner, &listing, 1).await;
    app.clock.advance(chrono::Duration::minutes(5));
    let draft = build_batch(&app, &maker, app.state.now()).await;
    assert_eq!(draft["items"][0]["amount"], 14_000, "{draft}");
    let draft_item = draft["items"][0]["id"].as_str().unwrap();
    app.get(&format!("{list_path}/{draft_item}"), Some(&owner.token))
        .await
        .expect_problem(404, "not_found");

    // The bank statement shows the transfer: paid, with the bank's reference.
    let statement = mt940_debit("260303", 56_000, &reference, "BNI2603030001");
    let imported = app
        .post_raw(
            "/api/v1/treasury/bank-statements",
            Some(&maker.token),
            "application/x-mt940",
            &statement,
        )
        .await
        .expect(201);
    assert_eq!(imported.body["matched"], 1, "{}", imported.text);
    let listed = app.get(&list_path, Some(&owner.token)).await.expect(200);
    let item = &listed.body["items"][0];
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(item["status"], "paid");
    assert!(item["paid_at"].is_string());
    let seen = &item["seen_on_statement"];
    assert_eq!(seen["bank_reference"], "BNI2603030001");
    assert_eq!(seen["value_date"], "2026-03-03");
    assert!(seen["narrative"].as_str().unwrap().contains(&reference));
    let paid_only = app
        .get(&format!("{list_path}?status=paid"), Some(&owner.token))
        .await
        .expect(200);
    assert_eq!(paid_only.body["items"].as_array().unwrap().len(), 1);
    let in_transit = app
        .get(
            &format!("{list_path}?status=in_transit"),
            Some(&owner.token),
        )
        .await
        .expect(200);
    assert_eq!(in_transit.body["items"], json!([]));
    // Approved on 3 March (WIB): a range ending the day before finds nothing.
    let before = app
        .get(
            &format!("{list_path}?from=2026-03-01&to=2026-03-02"),
            Some(&owner.token),
        )
        .await
        .expect(200);
    assert_eq!(before.body["items"], json!([]));
    let on_the_day = app
        .get(
            &format!("{list_path}?from=2026-03-03&to=2026-03-03"),
            Some(&owner.token),
        )
        .await
        .expect(200);
    assert_eq!(on_the_day.body["items"].as_array().unwrap().len(), 1);
    let bad_range = app
        .get(
            &format!("{list_path}?from=2026-03-04&to=2026-03-03"),
            Some(&owner.token),
        )
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(bad_range.body["errors"][0]["code"], "invalid_date_range");

    // The remittance advice as a PDF, with an ETag.
    let res = app
        .client
        .get(app.url(&pdf_path))
        .bearer_auth(&owner.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let headers = res.headers().clone();
    let bytes = res.bytes().await.unwrap().to_vec();
    assert_eq!(headers["content-type"], "application/pdf");
    assert!(bytes.starts_with(b"%PDF-"));
    if let Ok(dir) = std::env::var("PEKEN_TEST_RECEIPT_DIR") {
        std::fs::write(format!("{dir}/remittance.pdf"), &bytes).unwrap();
    }
    let etag = headers["etag"].to_str().unwrap().to_owned();
    let again = app
        .client
        .get(app.url(&pdf_path))
        .bearer_auth(&owner.token)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status().as_u16(), 304);
    if pdftotext_installed() {
        let text = text_of(&bytes);
        let shop_name = app
            .get(&format!("/api/v1/merchants/{}", s.id), Some(&owner.token))
            .await
            .expect(200)
            .body["name"]
            .as_str()
            .unwrap()
            .to_owned();
        for expected in [
            "PEMBERITAHUAN PEMBAYARAN (REMITANSI)".to_owned(),
            format!("Referensi transfer: {reference}"),
            format!("Kepada : {shop_name}"),
            format!("******{}", &account[account.len() - 4..]),
            "Jalur transfer : BI-FAST".to_owned(),
            "Referensi bank : BNI2603030001".to_owned(),
            "tanggal valuta 3 Maret 2026".to_owned(),
            format!("Pesanan {first} Rp 42.000"),
            format!("Pesanan {second} Rp 28.000"),
            "-Rp 14.000".to_owned(),
            "Total dibayarkan Rp 56.000".to_owned(),
            "Disetujui : 3 Maret 2026 pukul 09.00 WIB".to_owned(),
        ] {
            assert!(text.contains(&expected), "{expected:?} not in {text}");
        }
        assert!(
            !text.contains(&account),
            "the full account number is printed"
        );
    }
}

#[tokio::test]
async fn a_returned_payout_shows_failed_and_its_money_comes_back_as_a_line_of_the_next() {
    let app = app_at(utc(2026, 3, 4, 3)).await;
    let (maker, checker) = treasurers(&app).await;
    let (m, _) = merchant(&app, "toko_kelontong", "35.78.01.1001", None).await;
    owed(&app, "o-first", &m, 120_000, utc(2026, 3, 2, 2)).await;
    let batch = paid_batch(&app, &maker, &checker, utc(2026, 3, 3, 0)).await;
    let failed = item_of(&batch, &m)["id"].as_str().unwrap().to_owned();
    let failed_reference = item_of(&batch, &m)["reference"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(
        &format!("/api/v1/treasury/payout-items/{failed}/failure"),
        Some(&maker.token),
        &json!({"reason": "rekening ditutup"}),
    )
    .await
    .expect(200);
    let list_path = format!("/api/v1/merchants/{m}/payouts");
    let listed = app.get(&list_path, Some(&maker.token)).await.expect(200);
    assert_eq!(listed.body["items"][0]["status"], "failed");
    assert_eq!(
        listed.body["items"][0]["failure_reason"],
        "rekening ditutup"
    );
    assert!(listed.body["items"][0]["failed_at"].is_string());

    let holds = app
        .get("/api/v1/treasury/payout-holds", Some(&maker.token))
        .await
        .expect(200);
    let hold = holds.body[0]["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/treasury/payout-holds/{hold}/clearance"),
        Some(&checker.token),
        &json!({"note": "rekening baru"}),
    )
    .await
    .expect(200);
    owed(&app, "o-second", &m, 30_000, utc(2026, 3, 4, 1)).await;
    let [maker, checker] =
        <[_; 2]>::try_from(move_clock(&app, utc(2026, 3, 5, 3), &[&maker, &checker]).await)
            .unwrap();
    let retry = paid_batch(&app, &maker, &checker, utc(2026, 3, 5, 0)).await;
    let retry_id = item_of(&retry, &m)["id"].as_str().unwrap().to_owned();

    // Newest first, and one per page with a cursor to the older.
    let first_page = app
        .get(&format!("{list_path}?limit=1"), Some(&maker.token))
        .await
        .expect(200);
    assert_eq!(first_page.body["items"][0]["id"], retry_id.as_str());
    assert_eq!(first_page.body["items"][0]["status"], "in_transit");
    let cursor = first_page.body["next_cursor"].as_str().unwrap();
    let second_page = app
        .get(
            &format!("{list_path}?limit=1&cursor={cursor}"),
            Some(&maker.token),
        )
        .await
        .expect(200);
    assert_eq!(second_page.body["items"][0]["id"], failed.as_str());
    assert_eq!(second_page.body["next_cursor"], Value::Null);

    let detail = app
        .get(&format!("{list_path}/{retry_id}"), Some(&maker.token))
        .await
        .expect(200);
    assert_eq!(detail.body["amount"], 150_000);
    let lines = detail.body["lines"].as_array().unwrap();
    let sum: i64 = lines.iter().map(|l| l["amount"].as_i64().unwrap()).sum();
    assert_eq!(sum, 150_000);
    let returned = lines
        .iter()
        .find(|l| l["kind"] == "returned_payout")
        .unwrap_or_else(|| panic!("no returned payout in {}", detail.text));
    assert_eq!(returned["amount"], 120_000);
    assert_eq!(returned["payout_id"], failed.as_str());
    assert_eq!(returned["payout_reference"], failed_reference.as_str());
    assert_eq!(detail.body["other_amount"], 120_000);
    assert_eq!(detail.body["orders_amount"], 30_000);
    let order = lines.iter().find(|l| l["kind"] == "order").unwrap();
    assert_eq!(order["order_id"], "o-second");
}
