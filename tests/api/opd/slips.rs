//! The withholding slip as PDF and the tax office's table.

use calamine::Reader;
use peken_kernel::clock::Clock;
use peken_tests::spawn_app;

use crate::fixtures::opd::{billed_and_paid, opd, ordered, shop_listing};

async fn bytes_of(app: &peken_tests::TestApp, path: &str, token: &str) -> (u16, Vec<u8>) {
    let res = app
        .client
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.bytes().await.unwrap().to_vec())
}

fn pdf_text(bytes: &[u8]) -> String {
    let dir = std::env::temp_dir().join(format!("peken-slip-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("slip.pdf");
    std::fs::write(&path, bytes).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args(["-layout", path.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext (poppler-utils) is installed");
    std::fs::remove_dir_all(&dir).ok();
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test]
async fn a_slip_reads_back_as_pdf_and_as_csv_and_xlsx() {
    let app = spawn_app().await;
    let o = opd(&app).await;
    o.threshold(&app, 100_000_000).await;
    let staff = o.staff(&app, &["buyer", "treasurer"]).await;
    // 2,100,000 × 1.5% = 31,500.
    let (shop, listing) = shop_listing(&app, 2_100_000, 5).await;
    let order = ordered(&app, &staff, &listing, 1).await;
    let bill = billed_and_paid(&app, &staff, &order).await;
    let slip_number = bill["orders"][0]["slip_number"]
        .as_str()
        .unwrap()
        .to_owned();

    for token in [&staff.token, &shop.owner.token] {
        let (status, bytes) = bytes_of(
            &app,
            &format!("/api/v1/orders/{order}/withholding-slip.pdf"),
            token,
        )
        .await;
        assert_eq!(status, 200);
        assert!(bytes.starts_with(b"%PDF-"));
        let text = pdf_text(&bytes);
        assert!(text.contains("BUKTI PEMOTONGAN"), "{text}");
        assert!(text.contains(&slip_number), "{text}");
        assert!(text.contains("PPh Pasal 22"), "{text}");
        assert!(text.contains("31.500"), "{text}");
        assert!(text.contains("2.100.000"), "{text}");
    }
    // Another shop: not found.
    let (other, _) = shop_listing(&app, 1_000, 1).await;
    app.get(
        &format!("/api/v1/orders/{order}/withholding-slip.pdf"),
        Some(&other.owner.token),
    )
    .await
    .expect_problem(404, "not_found");

    let period = peken_kernel::period::Period::of(app.clock.now());
    let (status, csv) = bytes_of(
        &app,
        &format!("/api/v1/opd/withholdings?period={period}&format=csv&delimiter=semicolon"),
        &o.admin.token,
    )
    .await;
    assert_eq!(status, 200);
    let text = String::from_utf8(csv).unwrap();
    assert!(
        text.starts_with('\u{feff}'),
        "a semicolon CSV starts with a BOM"
    );
    let text = text.trim_start_matches('\u{feff}');
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "slip_number;date;kind;rate_bps;base_amount;amount;merchant_id;order_id;certificate_number"
    );
    let row: Vec<&str> = lines.next().unwrap().split(';').collect();
    assert_eq!(row[0], slip_number);
    assert_eq!(row[2], "pph22");
    assert_eq!(row[4], "2100000");
    assert_eq!(row[5], "31500");
    assert_eq!(row[7], order);
    assert!(lines.next().is_none());

    let (status, xlsx) = bytes_of(
        &app,
        &format!("/api/v1/opd/withholdings?period={period}&format=xlsx"),
        &o.admin.token,
    )
    .await;
    assert_eq!(status, 200);
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(xlsx)).unwrap();
    let sheet = book.worksheet_range("Bukti potong").unwrap();
    assert_eq!(sheet.get((1, 0)).unwrap().to_string(), slip_number);
    assert_eq!(sheet.get((1, 5)).unwrap().to_string(), "31500");

    let json = app
        .get(
            &format!("/api/v1/opd/withholdings?period={period}"),
            Some(&staff.token),
        )
        .await
        .expect(200);
    assert_eq!(json.body[0]["amount"], 31_500);
}
