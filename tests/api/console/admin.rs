//! The cooperatives office's pages over plain HTTP: the photos an applicant and a merchant
//! uploaded shown in the verification and moderation queues (under a policy that allows them),
//! new bank accounts confirmed from their queue, and a NIK given back to its owner.

use image::codecs::jpeg::JpegEncoder;
use image::{ExtendedColorType, Rgb, RgbImage};
use peken_tests::{PASSWORD, TestApp, User, next_nik, spawn_app};
use reqwest::header::{CONTENT_SECURITY_POLICY, COOKIE as COOKIE_HEADER, LOCATION};
use serde_json::json;

use super::{COOKIE, FormBody, csrf_in};
use crate::fixtures::orders::shop;
use crate::fixtures::{execute, scalar};

const BOUNDARY: &str = "peken-console-boundary-4kQ2";

fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let picture = RgbImage::from_fn(width, height, |x, y| {
        Rgb([(x % 251) as u8, (y % 241) as u8, ((x + y) % 239) as u8])
    });
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 85)
        .encode(picture.as_raw(), width, height, ExtendedColorType::Rgb8)
        .unwrap();
    out
}

async fn upload(app: &TestApp, method: reqwest::Method, path: &str, who: &User) {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"foto.jpg\"\r\n\
         Content-Type: image/jpeg\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&jpeg(400, 300));
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    let res = app
        .client
        .request(method, app.url(path))
        .bearer_auth(&who.token)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{path}: {}", res.status());
}

async fn get(app: &TestApp, path: &str, who: &User) -> reqwest::Response {
    app.client
        .get(app.url(path))
        .header(COOKIE_HEADER, format!("{COOKIE}={}", who.refresh))
        .send()
        .await
        .unwrap()
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

/// The first thumbnail's address in a page.
fn thumbnail(html: &str) -> String {
    html.split("<img class=\"thumb\" src=\"")
        .nth(1)
        .expect("a thumbnail")
        .split('"')
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn the_queues_show_the_uploaded_photos() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let treasury = app.staff("treasury", None).await;
    let s = shop(&app, "umkm", "35.78.03.1001").await;
    upload(
        &app,
        reqwest::Method::PUT,
        &format!("/api/v1/merchants/{}/photo", s.id),
        &s.owner,
    )
    .await;
    let product = app
        .post(
            &format!("/api/v1/merchants/{}/products", s.id),
            Some(&s.owner.token),
            &json!({"name": "Bandeng Presto", "category": "kuliner", "unit": "bungkus"}),
        )
        .await
        .expect(201)
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    upload(
        &app,
        reqwest::Method::POST,
        &format!("/api/v1/merchants/{}/products/{product}/images", s.id),
        &s.owner,
    )
    .await;
    // The shop back in the verification queue, as an applicant with a photo.
    execute(
        &app,
        &format!(
            "UPDATE merchants SET status = 'pending' WHERE id = '{}'",
            s.id
        ),
    )
    .await;

    for (path, alt) in [
        ("/console/admin/merchants", "alt=\"Foto toko "),
        (
            "/console/admin/products",
            "alt=\"Foto 1 dari Bandeng Presto\"",
        ),
    ] {
        assert_eq!(get(&app, path, &treasury).await.status(), 403, "{path}");
        let res = get(&app, path, &admin).await;
        assert_eq!(res.status(), 200);
        let policy = res.headers()[CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(policy.contains("img-src 'self'"), "{policy}");
        assert!(policy.contains("default-src 'none'"), "{policy}");
        let html = res.text().await.unwrap();
        assert!(html.contains(alt), "{html}");
        let thumb = thumbnail(&html);
        assert!(thumb.starts_with("/media/"), "{thumb}");
        let image = app.client.get(app.url(&thumb)).send().await.unwrap();
        assert_eq!(image.status(), 200, "{thumb}");
        assert_eq!(image.headers()["content-type"], "image/jpeg");
    }
}

#[tokio::test]
async fn a_new_bank_account_is_confirmed_from_its_queue() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let treasury = app.staff("treasury", None).await;
    let s = shop(&app, "toko_kelontong", "35.78.01.1001").await;
    let queue = "/console/admin/bank-accounts";
    let empty = get(&app, queue, &admin).await.text().await.unwrap();
    assert!(
        empty.contains("Tidak ada rekening baru yang menunggu."),
        "{empty}"
    );
    app.put(
        &format!("/api/v1/merchants/{}/bank-account", s.id),
        Some(&s.owner.token),
        &json!({"bank_code": "014", "account_number": "5550001111", "account_name": "PEMILIK BARU"}),
    )
    .await
    .expect(200);
    assert_eq!(get(&app, queue, &treasury).await.status(), 403);
    let page = get(&app, queue, &admin).await.text().await.unwrap();
    assert!(page.contains("5550001111"), "{page}");
    assert!(page.contains("PEMILIK BARU"), "{page}");
    let confirm = format!(
        "/console/admin/merchants/{}/bank-account/confirmation",
        s.id
    );
    assert!(page.contains(&format!("action=\"{confirm}\"")), "{page}");
    let held = format!(
        "SELECT COUNT(*) AS n FROM merchants WHERE id = '{}' AND bank_account_hold_until IS NOT NULL",
        s.id
    );
    // Without the session's token, and from another site, nothing changes.
    assert_eq!(post(&app, &confirm, &admin, &[]).await.status(), 403);
    let csrf = csrf_in(&page);
    let cross = app
        .client
        .post(app.url(&confirm))
        .header(COOKIE_HEADER, format!("{COOKIE}={}", admin.refresh))
        .header("origin", "https://evil.example")
        .form_body(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), 403);
    assert_eq!(scalar(&app, &held).await, 1);
    let done = post(&app, &confirm, &admin, &[("csrf", csrf.as_str())]).await;
    assert_eq!(done.status(), 303);
    assert_eq!(
        done.headers()[LOCATION],
        format!("{queue}?pesan=dikonfirmasi")
    );
    assert_eq!(scalar(&app, &held).await, 0);
    let page = get(&app, queue, &admin).await.text().await.unwrap();
    assert!(
        page.contains("Tidak ada rekening baru yang menunggu."),
        "{page}"
    );
    let again = post(&app, &confirm, &admin, &[("csrf", csrf.as_str())]).await;
    assert_eq!(again.status(), 409);
    assert!(
        again
            .text()
            .await
            .unwrap()
            .contains("bank_account_not_held")
    );
}

#[tokio::test]
async fn a_nik_is_given_back_to_its_owner() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let treasury = app.staff("treasury", None).await;
    let nik = next_nik();
    app.register(&json!({
        "nik": nik, "name": "Pemakai NIK", "email": format!("{nik}@warga.test"),
        "phone": "081234567890", "password": PASSWORD, "kelurahan_code": "35.78.01.1001",
    }))
    .await
    .expect(201);
    let holders = format!("SELECT COUNT(*) AS n FROM users WHERE nik = '{nik}'");
    assert_eq!(scalar(&app, &holders).await, 1);
    let form = "/console/admin/nik-reclaims";
    assert_eq!(get(&app, form, &treasury).await.status(), 403);
    let page = get(&app, form, &admin).await;
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains("<label for=\"nik\">"), "{page}");
    let csrf = csrf_in(&page);
    let reason = "KTP diperiksa di kantor";
    assert_eq!(
        post(
            &app,
            form,
            &admin,
            &[("nik", nik.as_str()), ("reason", reason)]
        )
        .await
        .status(),
        403
    );
    let bad = post(
        &app,
        form,
        &admin,
        &[
            ("csrf", csrf.as_str()),
            ("nik", "12345"),
            ("reason", reason),
        ],
    )
    .await;
    assert_eq!(bad.status(), 422);
    let no_reason = post(
        &app,
        form,
        &admin,
        &[
            ("csrf", csrf.as_str()),
            ("nik", nik.as_str()),
            ("reason", " "),
        ],
    )
    .await;
    assert_eq!(no_reason.status(), 422);
    assert_eq!(scalar(&app, &holders).await, 1);
    let done = post(
        &app,
        form,
        &admin,
        &[
            ("csrf", csrf.as_str()),
            ("nik", nik.as_str()),
            ("reason", reason),
        ],
    )
    .await;
    assert_eq!(done.status(), 303);
    assert_eq!(done.headers()[LOCATION], format!("{form}?pesan=ditutup"));
    assert_eq!(scalar(&app, &holders).await, 0);
    // Nobody holds it now.
    let again = post(
        &app,
        form,
        &admin,
        &[
            ("csrf", csrf.as_str()),
            ("nik", nik.as_str()),
            ("reason", reason),
        ],
    )
    .await;
    assert_eq!(again.status(), 404);
}
