//! Which connection the exports read: a report that may be seconds stale through the read
//! replica's (`AppState::read_db`), the list treasury works from and a sheet that is imported
//! back from the primary.
//!
//! On PostgreSQL the replica is a stand-in: a second migrated database on the same server. The
//! probe finds it fresh (it is not in recovery, so it has "replayed" everything) and it holds
//! none of the test's writes, so an answer read there lacks them and an answer read on the
//! primary has them. SQLite has no replica (the settings refuse one): there every export reads
//! the primary and shows everything.

use calamine::Reader;
use peken_kernel::scratch::ScratchDatabase;
use peken_migrations::{Migrator, MigratorTrait};
use peken_tests::{Options, TestApp, spawn_app, spawn_app_with};
use serde_json::json;

use crate::fixtures::opd::{billed_and_paid, opd, ordered, shop_listing};
use crate::fixtures::orders::{buyer, paid_order, shop_with_listing};
use crate::fixtures::payouts::treasurers;

/// A test server with a stand-in replica on PostgreSQL (kept alive by the returned guard), or a
/// plain one on SQLite.
async fn app_with_stand_in() -> (TestApp, Option<ScratchDatabase>) {
    let Some(base) = std::env::var("PEKEN_TEST_DATABASE_URL")
        .ok()
        .filter(|v| !v.is_empty())
    else {
        return (spawn_app().await, None);
    };
    let stand_in = ScratchDatabase::create(&base, "replica").await.unwrap();
    let db = sea_orm::Database::connect(&stand_in.url).await.unwrap();
    Migrator::up(&db, None).await.unwrap();
    db.close().await.ok();
    let app = spawn_app_with(Options {
        vars: vec![("PEKEN_DATABASE_READ_URL".into(), stand_in.url.clone())],
        ..Options::default()
    })
    .await;
    let replica = app.state.replica.as_ref().expect("a replica is configured");
    assert!(replica.is_fresh(), "the probe at start found it fresh");
    (app, Some(stand_in))
}

async fn bytes_of(app: &TestApp, path: &str, token: &str) -> Vec<u8> {
    let res = app
        .client
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{path}");
    res.bytes().await.unwrap().to_vec()
}

/// Data rows of the first sheet of a workbook (the header not counted).
fn xlsx_rows(bytes: Vec<u8>, sheet: &str) -> usize {
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    book.worksheet_range(sheet)
        .unwrap()
        .height()
        .saturating_sub(1)
}

#[tokio::test]
async fn a_refund_export_is_read_on_the_replica_and_the_refund_list_on_the_primary() {
    let (app, stand_in) = app_with_stand_in().await;
    let on_replica = stand_in.is_some();
    let (treasury, _) = treasurers(&app).await;
    let (_, listing) = shop_with_listing(&app, 12_000, 50).await;
    let asn = buyer(&app).await;
    let (order, _, amount) = paid_order(&app, &asn, &listing, 1).await;
    app.post(
        &format!("/api/v1/orders/{order}/cancel"),
        Some(&asn.token),
        &json!({}),
    )
    .await
    .expect(200);

    // The list treasury works from: the refund just owed, on the primary in every setting.
    let list = app
        .get("/api/v1/treasury/refunds?status=due", Some(&treasury.token))
        .await
        .expect(200);
    let items = list.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", list.text);
    assert_eq!(items[0]["order_id"], order.as_str());
    assert_eq!(items[0]["amount"], amount);
    let refund = items[0]["id"].as_str().unwrap().to_owned();

    // Its exports: by `format` and by `Accept`, from the replica where there is one.
    let csv = app
        .get(
            "/api/v1/treasury/refunds?status=due&format=csv",
            Some(&treasury.token),
        )
        .await
        .expect(200);
    assert!(
        csv.text.starts_with("id,created_at,order_id,"),
        "{}",
        csv.text
    );
    assert_eq!(csv.text.contains(&refund), !on_replica, "{}", csv.text);
    assert_eq!(csv.text.lines().count(), if on_replica { 1 } else { 2 });
    let by_accept = app
        .send(
            reqwest::Method::GET,
            "/api/v1/treasury/refunds?status=due",
            Some(&treasury.token),
            None,
            &[("accept", "text/csv")],
        )
        .await
        .expect(200);
    assert_eq!(by_accept.text.contains(&refund), !on_replica);
    let xlsx = bytes_of(
        &app,
        "/api/v1/treasury/refunds?format=xlsx",
        &treasury.token,
    )
    .await;
    assert_eq!(xlsx_rows(xlsx, "Refund"), usize::from(!on_replica));
    if on_replica {
        // The primary answered nothing of it: no read failed over.
        assert_eq!(
            app.state.metrics.read_replica_fallbacks.get(),
            0,
            "no read fell back to the primary"
        );
    }
}

#[tokio::test]
async fn the_withholding_table_is_read_on_the_replica_and_the_slip_on_the_primary() {
    let (app, stand_in) = app_with_stand_in().await;
    let on_replica = stand_in.is_some();
    let o = opd(&app).await;
    o.threshold(&app, 100_000_000).await;
    let staff = o.staff(&app, &["buyer", "treasurer"]).await;
    let (_, listing) = shop_listing(&app, 2_100_000, 5).await;
    let order = ordered(&app, &staff, &listing, 1).await;
    let bill = billed_and_paid(&app, &staff, &order).await;
    let slip_number = bill["orders"][0]["slip_number"]
        .as_str()
        .unwrap()
        .to_owned();

    // The slip of the bill just paid, on the primary.
    let pdf = bytes_of(
        &app,
        &format!("/api/v1/orders/{order}/withholding-slip.pdf"),
        &staff.token,
    )
    .await;
    assert!(pdf.starts_with(b"%PDF-"));

    // The month's table for the tax office, in every format from the replica.
    let period = peken_kernel::period::Period::of(peken_kernel::clock::Clock::now(&app.clock));
    let json = app
        .get(
            &format!("/api/v1/opd/withholdings?period={period}"),
            Some(&o.admin.token),
        )
        .await
        .expect(200);
    let rows = json.body.as_array().unwrap();
    assert_eq!(rows.len(), usize::from(!on_replica), "{}", json.text);
    if !on_replica {
        assert_eq!(rows[0]["slip_number"], slip_number.as_str());
    }
    let csv = app
        .get(
            &format!("/api/v1/opd/withholdings?period={period}&format=csv"),
            Some(&o.admin.token),
        )
        .await
        .expect(200);
    assert!(csv.text.starts_with("slip_number,"), "{}", csv.text);
    assert_eq!(csv.text.contains(&slip_number), !on_replica);
    let xlsx = bytes_of(
        &app,
        &format!("/api/v1/opd/withholdings?period={period}&format=xlsx"),
        &o.admin.token,
    )
    .await;
    assert_eq!(xlsx_rows(xlsx, "Bukti potong"), usize::from(!on_replica));
}

#[tokio::test]
async fn the_listings_sheet_is_read_on_the_primary_with_the_price_just_set() {
    let (app, _stand_in) = app_with_stand_in().await;
    let (shop, listing) = shop_with_listing(&app, 12_000, 50).await;
    app.patch(
        &format!("/api/v1/merchants/{}/listings/{listing}", shop.id),
        Some(&shop.owner.token),
        &json!({"price": 13_500}),
    )
    .await
    .expect(200);
    // The sheet is imported back: it has the shop (which the stand-in does not know) and the
    // price just set.
    let path = format!("/api/v1/merchants/{}/listings/export", shop.id);
    let rows = app
        .get(&path, Some(&shop.owner.token))
        .await
        .expect(200)
        .body;
    assert_eq!(rows.as_array().unwrap().len(), 1);
    assert_eq!(rows[0]["price"], 13_500);
    assert_eq!(rows[0]["stock_count"], 50);
    let csv = app
        .get(&format!("{path}?format=csv"), Some(&shop.owner.token))
        .await
        .expect(200);
    assert!(csv.text.lines().nth(1).unwrap().contains(",13500,50,"));
}
