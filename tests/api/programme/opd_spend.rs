//! OPD spend on micro and small businesses and cooperatives: OPD orders placed, billed and paid
//! through the API at shops of each class, the figures worked out here.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use serde_json::{Value, json};

use crate::fixtures::opd::{billed_and_paid, opd, ordered};
use crate::fixtures::orders::{Shop, any_commodity, shop};
use crate::fixtures::payouts::{app_at, owed, utc};
use crate::reports::{content_type, raw};

/// A shop of `kind` in `kelurahan` with a listing at `price`; `sales` this year (2026) in the
/// journal sets its class.
async fn selling(
    app: &peken_tests::TestApp,
    kind: &str,
    kelurahan: &str,
    price: i64,
    sales: i64,
) -> (Shop, String) {
    let s = shop(app, kind, kelurahan).await;
    if sales > 0 {
        owed(
            app,
            &format!("sales-{}", s.id),
            &s.id,
            sales,
            utc(2026, 1, 5, 3),
        )
        .await;
    }
    let c = any_commodity(app, None, None).await;
    let l = s.list(app, &c, price, 10).await;
    (s, l)
}

fn opd_row<'a>(body: &'a Value, id: &str) -> &'a Value {
    body["opds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["opd_id"] == id)
        .unwrap_or_else(|| panic!("no OPD {id} in {body}"))
}

#[tokio::test]
async fn opd_spend_is_split_by_class_and_kind_against_the_target_and_scoped_to_the_reader() {
    // 10:00 WIB on 10 March 2026.
    let app = app_at(utc(2026, 3, 10, 3)).await;
    let admin = app.admin().await;
    let o = opd(&app).await;
    o.threshold(&app, 100_000_000).await;
    let staff = o.staff(&app, &["buyer", "treasurer"]).await;
    let idle = opd(&app).await;

    // Micro (no sales yet), a cooperative elsewhere, small (one rupiah over Rp2 billion) and
    // medium (over Rp15 billion).
    let (toko, toko_l) = selling(&app, "toko_kelontong", "35.78.03.1001", 1_500_000, 0).await;
    let (_kop, kop_l) = selling(&app, "koperasi", "35.78.01.1001", 200_000, 0).await;
    let (_small, small_l) = selling(
        &app,
        "toko_kelontong",
        "35.78.03.1001",
        500_000,
        2_000_000_001,
    )
    .await;
    let (_medium, medium_l) = selling(
        &app,
        "toko_kelontong",
        "35.78.03.1001",
        1_000_000,
        15_000_000_001,
    )
    .await;

    let mut spent = Vec::new();
    for (listing, quantity) in [(&toko_l, 2), (&kop_l, 1), (&small_l, 1), (&medium_l, 1)] {
        let order = ordered(&app, &staff, listing, quantity).await;
        billed_and_paid(&app, &staff, &order).await;
        spent.push(order);
    }
    // Paid, then rejected by the shop: refunded whole, it spent nothing.
    let rejected = ordered(&app, &staff, &toko_l, 1).await;
    billed_and_paid(&app, &staff, &rejected).await;
    app.post(
        &format!("/api/v1/orders/{rejected}/reject"),
        Some(&toko.owner.token),
        &json!({"reason": "stok rusak"}),
    )
    .await
    .expect(200);
    // Ordered, never billed: not spent.
    ordered(&app, &staff, &toko_l, 1).await;

    let report = app
        .get(
            "/api/v1/programme/reports/opd-spend?from=2026-02&to=2026-03",
            Some(&admin.token),
        )
        .await
        .expect(200);
    let body = &report.body;
    assert_eq!(body["target_share_bps"], 4_000);
    let row = opd_row(body, &o.id);
    // 3,000,000 (the gross before the 45,000 withheld) + 200,000 + 500,000 + 1,000,000.
    let s = &row["spend"];
    assert_eq!(s["orders"], 4);
    assert_eq!(s["total_amount"], 4_700_000);
    assert_eq!(s["micro_amount"], 3_000_000);
    assert_eq!(s["cooperative_amount"], 200_000);
    assert_eq!(s["small_amount"], 500_000);
    assert_eq!(s["other_amount"], 1_000_000);
    assert_eq!(s["qualifying_amount"], 3_700_000);
    // 3,700,000 / 4,700,000 = 78.7234…% → 7872 bps.
    assert_eq!(s["share_bps"], 7_872);
    assert_eq!(row["meets_target"], true);
    let months = row["months"].as_array().unwrap();
    assert_eq!(months.len(), 2, "February without spend is listed");
    assert_eq!(months[0]["period"], "2026-02");
    assert_eq!(months[0]["spend"]["total_amount"], 0);
    assert!(months[0]["spend"].get("share_bps").is_none());
    assert_eq!(months[0]["meets_target"], false);
    assert_eq!(months[1]["spend"]["total_amount"], 4_700_000);
    // By kecamatan: Rungkut's three shops, and the cooperative's kecamatan.
    let by_kec: Vec<(String, i64, i64)> = row["by_kecamatan"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["kecamatan_code"].as_str().unwrap().to_owned(),
                k["spend"]["total_amount"].as_i64().unwrap(),
                k["spend"]["qualifying_amount"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        by_kec,
        vec![
            ("35.78.01".to_owned(), 200_000, 200_000),
            ("35.78.03".to_owned(), 4_500_000, 3_500_000),
        ]
    );
    // The OPD that bought nothing is listed, short of the target.
    let none = opd_row(body, &idle.id);
    assert_eq!(none["spend"]["total_amount"], 0);
    assert_eq!(none["meets_target"], false);

    // A stricter target.
    app.patch(
        "/api/v1/admin/policies",
        Some(&admin.token),
        &json!({"opd_small_business_target_bps": 8_000}),
    )
    .await
    .expect(200);
    let strict = app
        .get(
            &format!(
                "/api/v1/programme/reports/opd-spend?from=2026-03&to=2026-03&opd_id={}",
                o.id
            ),
            Some(&admin.token),
        )
        .await
        .expect(200);
    assert_eq!(strict.body["opds"].as_array().unwrap().len(), 1);
    assert_eq!(opd_row(&strict.body, &o.id)["meets_target"], false);

    // The OPD's own admin and staff see their OPD only; another OPD is not found.
    for reader in [&o.admin, &staff] {
        let own = app
            .get(
                "/api/v1/programme/reports/opd-spend?from=2026-03&to=2026-03",
                Some(&reader.token),
            )
            .await
            .expect(200);
        let ids: Vec<&str> = own.body["opds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["opd_id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, vec![o.id.as_str()]);
    }
    app.get(
        &format!(
            "/api/v1/programme/reports/opd-spend?from=2026-03&to=2026-03&opd_id={}",
            idle.id
        ),
        Some(&o.admin.token),
    )
    .await
    .expect(404);
    // A camat sees the spend at its kecamatan's shops: the cooperative only.
    let camat = app.camat("35.78.01").await;
    let local = app
        .get(
            "/api/v1/programme/reports/opd-spend?from=2026-03&to=2026-03",
            Some(&camat.token),
        )
        .await
        .expect(200);
    assert_eq!(local.body["kecamatan_code"], "35.78.01");
    let s = &opd_row(&local.body, &o.id)["spend"];
    assert_eq!(s["total_amount"], 200_000);
    assert_eq!(s["cooperative_amount"], 200_000);
    assert_eq!(local.body["spend"]["total_amount"], 200_000);

    // Bad ranges.
    for (query, code) in [
        ("from=2026-13&to=2026-03", "invalid_period"),
        ("from=2026-04&to=2026-03", "invalid_range"),
        ("from=2016-01&to=2026-03", "range_too_long"),
    ] {
        let reply = app
            .get(
                &format!("/api/v1/programme/reports/opd-spend?{query}"),
                Some(&admin.token),
            )
            .await;
        assert_eq!(reply.status, 422, "{query}: {}", reply.body);
        let text = reply.body.to_string();
        assert!(text.contains(code), "{query}: {text}");
    }
}

#[tokio::test]
async fn opd_spend_exports_a_csv_per_month_or_kecamatan_and_a_workbook_of_both() {
    let app = app_at(utc(2026, 3, 10, 3)).await;
    let admin = app.admin().await;
    let o = opd(&app).await;
    o.threshold(&app, 100_000_000).await;
    let staff = o.staff(&app, &["buyer", "treasurer"]).await;
    let (_kop, kop_l) = selling(&app, "koperasi", "35.78.01.1001", 250_000, 0).await;
    let order = ordered(&app, &staff, &kop_l, 2).await;
    billed_and_paid(&app, &staff, &order).await;

    let path = format!(
        "/api/v1/programme/reports/opd-spend?from=2026-02&to=2026-03&opd_id={}",
        o.id
    );
    let (status, headers, bytes) = raw(
        &app,
        &format!("{path}&format=csv&delimiter=semicolon"),
        &admin.token,
    )
    .await;
    assert_eq!(status, 200);
    assert!(content_type(&headers).starts_with("text/csv"));
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "a byte order mark");
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "opd_id;opd_code;opd_name;period;orders;total_amount;micro_amount;small_amount;\
         cooperative_amount;other_amount;qualifying_amount;share_bps;target_bps;meets_target"
    );
    assert_eq!(lines.len(), 3, "two months: {text}");
    assert!(
        lines[1].contains(";2026-02;0;0;0;0;0;0;0;;4000;tidak"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].contains(";2026-03;1;500000;0;0;500000;0;500000;10000;4000;ya"),
        "{}",
        lines[2]
    );

    let (_, _, bytes) = raw(
        &app,
        &format!("{path}&format=csv&rows=kecamatan"),
        &admin.token,
    )
    .await;
    let text = String::from_utf8(bytes).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].contains("kecamatan_code,kecamatan_name"));
    assert!(lines[1].contains(",2026-03,35.78.01,"), "{}", lines[1]);

    let (status, headers, bytes) = raw(&app, &format!("{path}&format=xlsx"), &admin.token).await;
    assert_eq!(status, 200);
    assert!(content_type(&headers).contains("spreadsheetml"));
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes)).unwrap();
    assert_eq!(
        book.sheet_names(),
        vec!["Belanja OPD per bulan", "Belanja OPD per kecamatan"]
    );
    let monthly = book.worksheet_range("Belanja OPD per bulan").unwrap();
    let rows: Vec<Vec<Data>> = monthly.rows().map(<[Data]>::to_vec).collect();
    assert_eq!(rows.len(), 3);
    // Amounts are numbers.
    assert_eq!(rows[2][5], Data::Float(500_000.0));
    let local = book.worksheet_range("Belanja OPD per kecamatan").unwrap();
    assert_eq!(local.rows().count(), 2);
}
