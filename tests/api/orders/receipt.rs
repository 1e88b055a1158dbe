//! The purchase receipt (BAST) as a PDF: its text read back with poppler's `pdftotext`, its QR
//! code read back from a page rendered by `pdftoppm`, and the public verification of that code.

use std::io::Write as _;
use std::process::{Command, Stdio};

use chrono::{DateTime, Datelike, Timelike, Utc};
use peken_tests::{PUBLIC_URL, TestApp, User, spawn_app, spawn_app_with};
use serde_json::json;

use crate::fixtures::merchants::create_commodity;
use crate::fixtures::orders::{Shop, callback, cart, checkout, paid_order, shop, unique};

/// Whether poppler's tools are here to read PDFs back. `.ci/run` installs them, so under CI
/// (`CI` set) their absence fails the test; a developer without them sees the test skipped, as
/// the several-process tests are without PostgreSQL.
fn poppler_installed() -> bool {
    let found = Command::new("pdftotext")
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success())
        && Command::new("pdftoppm")
            .arg("-v")
            .output()
            .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "poppler-utils (pdftotext, pdftoppm) must be installed under CI"
        );
        eprintln!("skipped: install poppler-utils (pdftotext, pdftoppm) to read receipts back");
    }
    found
}

/// Runs a poppler tool with the PDF on its standard input and returns its standard output.
fn poppler(tool: &str, args: &[&str], pdf: &[u8]) -> Vec<u8> {
    let mut child = Command::new(tool)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{tool} (poppler-utils) is installed: {e}"));
    child.stdin.take().unwrap().write_all(pdf).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{tool}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The text of the PDF as `pdftotext -layout` reads it.
fn text_of(pdf: &[u8]) -> String {
    String::from_utf8(poppler("pdftotext", &["-layout", "-", "-"], pdf)).unwrap()
}

/// The QR codes on the first page, rendered in grey at 200 dpi and decoded.
fn qr_codes_of(pdf: &[u8]) -> Vec<String> {
    let pgm = poppler(
        "pdftoppm",
        &[
            "-gray",
            "-r",
            "200",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            "-",
        ],
        pdf,
    );
    // Binary PGM: "P5", width, height, maximum, then one byte a pixel.
    let mut fields = Vec::new();
    let mut at = 0;
    while fields.len() < 4 {
        while pgm[at].is_ascii_whitespace() {
            at += 1;
        }
        let start = at;
        while !pgm[at].is_ascii_whitespace() {
            at += 1;
        }
        fields.push(String::from_utf8(pgm[start..at].to_vec()).unwrap());
    }
    at += 1;
    assert_eq!(fields[0], "P5");
    let (w, h): (usize, usize) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    let pixels = &pgm[at..];
    assert_eq!(pixels.len(), w * h);
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| pixels[y * w + x]);
    image
        .detect_grids()
        .into_iter()
        .map(|grid| grid.decode().expect("the QR code decodes").1)
        .collect()
}

/// `5 Desember 2026 pukul 14.03 WIB`, worked out here apart from the server's code.
fn wib(at: DateTime<Utc>) -> String {
    let months = [
        "Januari",
        "Februari",
        "Maret",
        "April",
        "Mei",
        "Juni",
        "Juli",
        "Agustus",
        "September",
        "Oktober",
        "November",
        "Desember",
    ];
    let local = at + chrono::Duration::hours(7);
    format!(
        "{} {} {} pukul {:02}.{:02} WIB",
        local.day(),
        months[local.month0() as usize],
        local.year(),
        local.hour(),
        local.minute()
    )
}

async fn pdf(app: &TestApp, order: &str, token: &str) -> peken_tests::Reply {
    app.get(&format!("/api/v1/orders/{order}/receipt.pdf"), Some(token))
        .await
}

async fn pdf_bytes(
    app: &TestApp,
    order: &str,
    token: &str,
) -> (reqwest::header::HeaderMap, Vec<u8>) {
    let res = app
        .client
        .get(app.url(&format!("/api/v1/orders/{order}/receipt.pdf")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let headers = res.headers().clone();
    (headers, res.bytes().await.unwrap().to_vec())
}

/// A commodity of this name listed in the shop; the listing's id.
async fn listed(app: &TestApp, shop: &Shop, name: &str, unit: &str, price: i64) -> String {
    let admin = app.admin().await;
    let commodity = create_commodity(
        app,
        &admin,
        &json!({"name": name, "category": "sembako", "unit": unit}),
    )
    .await;
    shop.list(app, &commodity, price, 1_000).await
}

/// An ASN of a fresh OPD, with its NIP and OPD name.
async fn asn_buyer(app: &TestApp) -> (User, String, String) {
    let code = format!("OPD{}", unique());
    let opd = app.create_opd(&code).await;
    let (user, nip) = app.asn(&opd, "staf", "35.78.03.1002").await;
    (user, nip, format!("Dinas {code}"))
}

async fn step(app: &TestApp, order: &str, action: &str, token: &str) {
    app.post(
        &format!("/api/v1/orders/{order}/{action}"),
        Some(token),
        &json!({}),
    )
    .await
    .expect(200);
}

/// Pays a cart of several lines; the order's id.
async fn paid_cart(app: &TestApp, buyer: &User, lines: &[(&str, i64)]) -> String {
    let reply = checkout(app, buyer, &format!("k-{}", unique()), &cart(lines))
        .await
        .expect(201);
    let payment = reply.body["payment"]["id"].as_str().unwrap();
    let amount = reply.body["payment"]["amount"].as_i64().unwrap();
    callback(app, payment, amount, &format!("ref-{}", unique()))
        .await
        .expect(200);
    reply.body["orders"][0]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_receipt_reads_back_with_the_orders_facts_and_its_qr_code_verifies() {
    if !poppler_installed() {
        return;
    }
    let app = spawn_app().await;
    let (buyer, nip, opd_name) = asn_buyer(&app).await;
    let s = shop(&app, "toko_kelontong", "35.78.03.1001").await;
    let n = unique();
    let long_name = format!(
        "Minyak goreng kelapa sawit “Sêhat” kemasan isi ulang 2 liter untuk keluarga besar {n}"
    );
    let rice = format!("Beras medium Ñgawi {n}");
    let oil = listed(&app, &s, &long_name, "liter", 38_500).await;
    let beras = listed(&app, &s, &rice, "kg", 1_234_567).await;
    let order = paid_cart(&app, &buyer, &[(&oil, 3), (&beras, 2)]).await;
    for (action, token) in [
        ("accept", &s.owner.token),
        ("ship", &s.owner.token),
        ("receipt", &buyer.token),
    ] {
        step(&app, &order, action, token).await;
    }
    let view = app
        .get(&format!("/api/v1/orders/{order}"), Some(&buyer.token))
        .await
        .expect(200);
    let paid_at: DateTime<Utc> = view.body["paid_at"].as_str().unwrap().parse().unwrap();
    let completed_at: DateTime<Utc> = view.body["completed_at"].as_str().unwrap().parse().unwrap();
    let shop_view = app
        .get(&format!("/api/v1/merchants/{}", s.id), Some(&s.owner.token))
        .await
        .expect(200);

    let (headers, bytes) = pdf_bytes(&app, &order, &buyer.token).await;
    if let Ok(dir) = std::env::var("PEKEN_TEST_RECEIPT_DIR") {
        std::fs::write(format!("{dir}/receipt.pdf"), &bytes).unwrap();
    }
    assert_eq!(headers["content-type"], "application/pdf");
    assert!(bytes.starts_with(b"%PDF-"));
    assert!(bytes.len() < 100_000, "the PDF is {} bytes", bytes.len());
    let disposition = headers["content-disposition"].to_str().unwrap().to_owned();
    let number = disposition
        .strip_prefix("inline; filename=\"BAST-")
        .and_then(|rest| rest.strip_suffix(".pdf\""))
        .unwrap_or_else(|| panic!("{disposition}"))
        .to_owned();
    let paid_local = paid_at + chrono::Duration::hours(7);
    assert!(
        number.starts_with(&format!("PKN-{}-", paid_local.format("%Y%m%d"))),
        "{number}"
    );
    assert!(headers.contains_key("etag"));

    let text = text_of(&bytes);
    let squashed: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for expected in [
        "BERITA ACARA SERAH TERIMA BARANG".to_owned(),
        format!("Nomor: {number}"),
        format!("pesanan {order}"),
        "Test ASN".to_owned(),
        format!("NIP : {nip}"),
        format!("Perangkat Daerah : {opd_name}"),
        format!("Nama toko : {}", shop_view.body["name"].as_str().unwrap()),
        "Pemilik : Pemilik Uji".to_owned(),
        format!("NIB : {}", shop_view.body["nib"].as_str().unwrap()),
        "Jl. Uji No. 1".to_owned(),
        format!("Beras medium Ñgawi {n}"),
        "2 kg Rp 1.234.567 Rp 2.469.134".to_owned(),
        "3 liter Rp 38.500 Rp 115.500".to_owned(),
        "Subtotal Rp 2.584.634".to_owned(),
        "Total dibayar Rp 2.584.634".to_owned(),
        format!("Dibayar : {}", wib(paid_at)),
        format!("Diterima : {} (dikonfirmasi pembeli)", wib(completed_at)),
        "Status pesanan : Selesai (barang diterima)".to_owned(),
        "PIHAK PERTAMA".to_owned(),
        "PIHAK KEDUA".to_owned(),
    ] {
        assert!(
            squashed.contains(&expected),
            "{expected:?} missing from:\n{text}"
        );
    }
    // The long name wraps inside its column; its words all read back, in order.
    let words: Vec<&str> = long_name.split_whitespace().collect();
    let at = squashed.find("Minyak goreng").expect("the long name");
    let mut rest = &squashed[at..];
    for word in &words {
        let found = rest
            .find(word)
            .unwrap_or_else(|| panic!("{word} of the long name:\n{text}"));
        rest = &rest[found + word.len()..];
    }

    // The QR code holds the verification address printed beside it.
    let codes = qr_codes_of(&bytes);
    assert_eq!(codes.len(), 1, "one QR code on the page");
    let url = &codes[0];
    let prefix = format!("{PUBLIC_URL}/api/v1/verify/orders/{order}?code=");
    assert!(url.starts_with(&prefix), "{url}");
    let code = &url[prefix.len()..];
    assert_eq!(code.len(), 16);
    assert!(
        squashed.contains(&format!(
            "{PUBLIC_URL}/api/v1/verify/orders/{order} ?code={code}"
        )),
        "{text}"
    );

    let verified = app.get(&url[PUBLIC_URL.len()..], None).await.expect(200);
    assert_eq!(verified.body["genuine"], true);
    assert_eq!(verified.body["order_id"], order.as_str());
    assert_eq!(verified.body["document_number"], number.as_str());
    assert_eq!(verified.body["shop_name"], shop_view.body["name"]);
    assert_eq!(verified.body["buyer_name"], "T*** A**");
    assert_eq!(verified.body["total_amount"], 2_584_634);
    assert_eq!(verified.body["status"], "completed");
    let verified_paid: DateTime<Utc> = verified.body["paid_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(verified_paid, paid_at);
    assert!(verified.body["received_at"].is_string());
    // Typed from paper in lower case, the code still reads.
    app.get(
        &format!("/api/v1/verify/orders/{order}?code={}", code.to_lowercase()),
        None,
    )
    .await
    .expect(200);
}

#[tokio::test]
async fn forged_codes_other_orders_and_unknown_orders_all_answer_the_same_404() {
    if !poppler_installed() {
        return;
    }
    let app = spawn_app().await;
    let (buyer, _, _) = asn_buyer(&app).await;
    let s = shop(&app, "toko_kelontong", "35.78.03.1001").await;
    let listing = listed(&app, &s, &format!("Gula pasir {}", unique()), "kg", 17_000).await;
    let (a, _, _) = paid_order(&app, &buyer, &listing, 1).await;
    let (b, _, _) = paid_order(&app, &buyer, &listing, 2).await;
    let code_of = |bytes: &[u8]| {
        let url = qr_codes_of(bytes).pop().unwrap();
        url.rsplit_once("code=").unwrap().1.to_owned()
    };
    let code_a = code_of(&pdf_bytes(&app, &a, &buyer.token).await.1);
    let code_b = code_of(&pdf_bytes(&app, &b, &buyer.token).await.1);
    assert_ne!(code_a, code_b);
    let verify = |order: String, code: String| {
        let app = &app;
        async move {
            app.get(&format!("/api/v1/verify/orders/{order}?code={code}"), None)
                .await
        }
    };
    verify(a.clone(), code_a.clone()).await.expect(200);
    verify(b.clone(), code_b.clone()).await.expect(200);
    let mut forged = code_a.clone().into_bytes();
    forged[0] = if forged[0] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    let unpaid = {
        let reply = checkout(
            &app,
            &buyer,
            &format!("k-{}", unique()),
            &cart(&[(&listing, 1)]),
        )
        .await
        .expect(201);
        reply.body["orders"][0]["id"].as_str().unwrap().to_owned()
    };
    let refusals = [
        verify(a.clone(), forged).await,
        verify(a.clone(), code_b.clone()).await,
        verify(b.clone(), code_a.clone()).await,
        verify(a.clone(), code_a[..15].to_owned()).await,
        verify(a.clone(), String::new()).await,
        verify(unpaid, code_a.clone()).await,
        verify(
            "01a00000-0000-7000-8000-000000000000".into(),
            code_a.clone(),
        )
        .await,
        verify("ünbekannt-ñ".into(), "Ç".repeat(300)).await,
    ];
    let first = &refusals[0];
    for refusal in &refusals {
        assert_eq!(refusal.status.as_u16(), 404, "{}", refusal.text);
        assert_eq!(refusal.code(), "not_found");
        assert_eq!(
            refusal.body["detail"], first.body["detail"],
            "{}",
            refusal.text
        );
    }
    // No code at all is a malformed query; a control character is refused before anything.
    app.get(&format!("/api/v1/verify/orders/{a}"), None)
        .await
        .expect(400);
    app.get(&format!("/api/v1/verify/orders/{a}?code=A%00B"), None)
        .await
        .expect_problem(422, "control_character");
}

#[tokio::test]
async fn the_receipt_follows_the_order_view_rules_and_needs_a_paid_order() {
    let app = spawn_app().await;
    let (buyer, _, _) = asn_buyer(&app).await;
    let stranger = app.public_buyer("35.78.03.1002").await;
    let s = shop(&app, "toko_kelontong", "35.78.03.1001").await;
    let other_shop = shop(&app, "toko_kelontong", "35.78.03.1001").await;
    let admin = app.admin().await;
    let treasury = app.staff("treasury", None).await;
    let opd = app.create_opd(&format!("OPD{}", unique())).await;
    let opd_admin = app.staff("opd_admin", Some(&opd)).await;
    let listing = listed(&app, &s, &format!("Telur ayam {}", unique()), "kg", 28_000).await;
    let (order, _, _) = paid_order(&app, &buyer, &listing, 1).await;

    for user in [&buyer, &s.owner, &admin, &treasury] {
        let reply = pdf(&app, &order, &user.token).await.expect(200);
        assert_eq!(reply.headers["content-type"], "application/pdf");
    }
    pdf(&app, &order, &stranger.token)
        .await
        .expect_problem(404, "not_found");
    pdf(&app, &order, &other_shop.owner.token)
        .await
        .expect_problem(404, "not_found");
    pdf(&app, &order, &opd_admin.token)
        .await
        .expect_problem(403, "forbidden");
    app.get(&format!("/api/v1/orders/{order}/receipt.pdf"), None)
        .await
        .expect_problem(401, "unauthenticated");
    pdf(&app, "01a00000-0000-7000-8000-000000000000", &admin.token)
        .await
        .expect_problem(404, "not_found");

    // Not paid yet: no receipt.
    let unpaid = checkout(
        &app,
        &buyer,
        &format!("k-{}", unique()),
        &cart(&[(&listing, 1)]),
    )
    .await
    .expect(201);
    let unpaid = unpaid.body["orders"][0]["id"].as_str().unwrap().to_owned();
    let refused = pdf(&app, &unpaid, &buyer.token)
        .await
        .expect_problem(409, "order_not_paid");
    assert_eq!(refused.body["context"]["status"], "awaiting_payment");

    // Paid, then cancelled and refunded: no receipt either.
    let (cancelled, _, _) = paid_order(&app, &buyer, &listing, 1).await;
    step(&app, &cancelled, "cancel", &buyer.token).await;
    let refused = pdf(&app, &cancelled, &buyer.token)
        .await
        .expect_problem(409, "order_voided");
    assert_eq!(refused.body["context"]["status"], "cancelled");
}

#[tokio::test]
async fn the_etag_answers_304_until_the_order_changes() {
    if !poppler_installed() {
        return;
    }
    let app = spawn_app().await;
    let (buyer, _, _) = asn_buyer(&app).await;
    let s = shop(&app, "toko_kelontong", "35.78.03.1001").await;
    let listing = listed(
        &app,
        &s,
        &format!("Tepung terigu {}", unique()),
        "kg",
        12_000,
    )
    .await;
    let (order, _, _) = paid_order(&app, &buyer, &listing, 2).await;

    let (headers, paid_pdf) = pdf_bytes(&app, &order, &buyer.token).await;
    let etag = headers["etag"].to_str().unwrap().to_owned();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    let text = text_of(&paid_pdf);
    assert!(text.contains("belum dikonfirmasi"), "{text}");
    // The same state gives the same document, whoever asks.
    let (again, same_pdf) = pdf_bytes(&app, &order, &s.owner.token).await;
    assert_eq!(again["etag"].to_str().unwrap(), etag);
    assert_eq!(same_pdf, paid_pdf);

    let path = format!("/api/v1/orders/{order}/receipt.pdf");
    let not_modified = app
        .send(
            reqwest::Method::GET,
            &path,
            Some(&buyer.token),
            None,
            &[("If-None-Match", &etag)],
        )
        .await;
    assert_eq!(not_modified.status.as_u16(), 304);
    assert!(not_modified.text.is_empty());
    assert_eq!(not_modified.headers["etag"].to_str().unwrap(), etag);

    for (action, token) in [
        ("accept", &s.owner.token),
        ("ship", &s.owner.token),
        ("receipt", &buyer.token),
    ] {
        step(&app, &order, action, token).await;
    }
    let changed = app
        .send(
            reqwest::Method::GET,
            &path,
            Some(&buyer.token),
            None,
            &[("If-None-Match", &etag)],
        )
        .await
        .expect(200);
    let new_etag = changed.headers["etag"].to_str().unwrap().to_owned();
    assert_ne!(new_etag, etag);
    let (_, received_pdf) = pdf_bytes(&app, &order, &buyer.token).await;
    assert!(text_of(&received_pdf).contains("dikonfirmasi pembeli"));
}

#[tokio::test]
async fn many_long_lines_run_onto_a_second_page() {
    if !poppler_installed() {
        return;
    }
    let app = spawn_app().await;
    let (buyer, _, _) = asn_buyer(&app).await;
    let s = shop(&app, "toko_kelontong", "35.78.03.1001").await;
    let n = unique();
    let mut listings = Vec::new();
    for i in 0..24 {
        let name =
            format!("Kerupuk udang khas Sidoarjo “Bu Sri” rasa pedas manis nomor {i:02} {n}");
        listings.push(listed(&app, &s, &name, "bungkus", 15_000 + i).await);
    }
    let lines: Vec<(&str, i64)> = listings.iter().map(|l| (l.as_str(), 1)).collect();
    let order = paid_cart(&app, &buyer, &lines).await;
    let (_, bytes) = pdf_bytes(&app, &order, &buyer.token).await;
    if let Ok(dir) = std::env::var("PEKEN_TEST_RECEIPT_DIR") {
        std::fs::write(format!("{dir}/long.pdf"), &bytes).unwrap();
    }
    let text = text_of(&bytes);
    assert!(
        text.matches('\u{c}').count() >= 2,
        "more than one page:\n{text}"
    );
    assert!(text.contains("(lanjutan)"), "{text}");
    let pages = text.matches('\u{c}').count();
    for page in 1..=pages {
        assert!(
            text.contains(&format!("Halaman {page} dari {pages}")),
            "{text}"
        );
    }
    let squashed: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for i in 0..24 {
        assert!(
            squashed.contains(&format!("nomor {i:02} {n}")),
            "line {i}:\n{text}"
        );
    }
    let total: i64 = (0..24).map(|i| 15_000 + i).sum();
    let formatted = format!("Total dibayar Rp {}.{:03}", total / 1000, total % 1000);
    assert!(squashed.contains(&formatted), "{formatted}:\n{text}");
    // The QR code is on the last page; the verification still answers.
    let url = text
        .lines()
        .find_map(|l| l.trim().strip_prefix(PUBLIC_URL).map(str::to_owned))
        .expect("the address printed");
    assert!(url.starts_with(&format!("/api/v1/verify/orders/{order}")));
}

#[tokio::test]
async fn verification_is_limited_per_client_address() {
    let app = spawn_app_with(peken_tests::Options {
        vars: vec![("PEKEN_VERIFY_IP_PER_MINUTE".into(), "3".into())],
        ..Default::default()
    })
    .await;
    let path = "/api/v1/verify/orders/01a00000-0000-7000-8000-000000000000?code=AAAAAAAAAAAAAAAA";
    for _ in 0..3 {
        app.get(path, None).await.expect_problem(404, "not_found");
    }
    let limited = app
        .get(path, None)
        .await
        .expect_problem(429, "too_many_requests");
    assert!(limited.headers.contains_key("retry-after"));
}

/// A shop registered with this NPWP (`None`: the owner's NIK as NPWP, as individuals have it),
/// approved, with one listing; the shop, its NIK and the listing.
async fn shop_with_npwp(app: &TestApp, npwp: Option<&str>) -> (Shop, String, String) {
    use crate::fixtures::merchants::{approve, registration};
    let mut body = registration(
        &format!("Toko Pajak {}", unique()),
        "toko_kelontong",
        "35.78.03.1001",
    );
    let nik = body["owner_nik"].as_str().unwrap().to_owned();
    body["npwp"] = json!(npwp.unwrap_or(&nik));
    let reply = app.post("/api/v1/merchants", None, &body).await.expect(201);
    let id = reply.body["id"].as_str().unwrap().to_owned();
    approve(app, &app.admin().await, &id).await;
    let owner = app
        .login(
            body["owner"]["email"].as_str().unwrap(),
            peken_tests::PASSWORD,
        )
        .await;
    let s = Shop { id, owner };
    let listing = listed(
        app,
        &s,
        &format!("Garam beryodium {}", unique()),
        "bungkus",
        4_000,
    )
    .await;
    (s, nik, listing)
}

#[tokio::test]
async fn a_shops_npwp_is_printed_unless_it_is_the_owners_nik() {
    if !poppler_installed() {
        return;
    }
    let app = spawn_app().await;
    let (buyer, _, _) = asn_buyer(&app).await;

    let (_, nik, listing) = shop_with_npwp(&app, Some("01.234.567.8-901.000")).await;
    let (order, _, _) = paid_order(&app, &buyer, &listing, 1).await;
    let text = text_of(&pdf_bytes(&app, &order, &buyer.token).await.1);
    let squashed: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(squashed.contains("NPWP : 0012345678901000"), "{text}");
    assert!(!text.contains(&nik), "{text}");

    let (_, nik, listing) = shop_with_npwp(&app, None).await;
    let (order, _, _) = paid_order(&app, &buyer, &listing, 1).await;
    let text = text_of(&pdf_bytes(&app, &order, &buyer.token).await.1);
    assert!(!text.contains("NPWP"), "{text}");
    assert!(
        !text.contains(&nik),
        "the owner's NIK is never printed: {text}"
    );

    // A public buyer registered with a NIK: named, never identified by it.
    let buyer_nik = peken_tests::next_nik();
    app.register(&json!({
        "nik": buyer_nik, "name": "Warga Penerima", "email": format!("{buyer_nik}@warga.test"),
        "phone": "081234567890", "password": peken_tests::PASSWORD,
        "kelurahan_code": "35.78.03.1002",
    }))
    .await
    .expect(201);
    let public = app.login(&buyer_nik, peken_tests::PASSWORD).await;
    let (order, _, _) = paid_order(&app, &public, &listing, 1).await;
    let text = text_of(&pdf_bytes(&app, &order, &public.token).await.1);
    let squashed: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(squashed.contains("Nama : Warga Penerima"), "{text}");
    assert!(squashed.contains("Pembeli umum (warga)"), "{text}");
    assert!(
        !text.contains(&buyer_nik),
        "the buyer's NIK is never printed: {text}"
    );
    assert!(!text.contains("NIP"), "{text}");
}

#[tokio::test]
async fn a_receipt_of_a_partial_acceptance_shows_the_short_units_and_their_refund() {
    if !poppler_installed() {
        return;
    }
    let app = spawn_app().await;
    let s = shop(&app, "toko_kelontong", "35.78.03.1001").await;
    let (buyer, _, _) = asn_buyer(&app).await;
    let gula = listed(&app, &s, &format!("Gula Pasir {}", unique()), "kg", 16_000).await;
    let telur = listed(&app, &s, &format!("Telur Ayam {}", unique()), "kg", 28_500).await;
    let order = paid_cart(&app, &buyer, &[(&gula, 2), (&telur, 3)]).await;
    app.post(
        &format!("/api/v1/orders/{order}/accept"),
        Some(&s.owner.token),
        &json!({"short": [{"listing_id": telur, "quantity": 2}]}),
    )
    .await
    .expect(200);
    step(&app, &order, "ship", &s.owner.token).await;
    step(&app, &order, "receipt", &buyer.token).await;
    let (_, bytes) = pdf_bytes(&app, &order, &buyer.token).await;
    let text = text_of(&bytes);
    // 2 × 16,000 + 3 × 28,500 paid; 2 × 28,500 refunded; 60,500 of goods handed over.
    assert!(text.contains("(kurang 2 kg,"), "{text}");
    assert!(text.contains("Total dibayar"), "{text}");
    assert!(text.contains("Rp 117.500"), "{text}");
    assert!(text.contains("Dikembalikan (barang kurang)"), "{text}");
    assert!(text.contains("-Rp 57.000"), "{text}");
    assert!(text.contains("Nilai barang diserahkan"), "{text}");
    assert!(text.contains("Rp 60.500"), "{text}");
}
