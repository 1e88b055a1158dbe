//! Product and shop photos over HTTP: multipart uploads with the image in a part named `file`,
//! what buyers then see (browse, orders), order and deletion, and every bad upload refused
//! with nothing stored.

use image::codecs::jpeg::JpegEncoder;
use image::{ExtendedColorType, Rgb, RgbImage};
use peken_tests::{Options, Reply, TestApp, User, spawn_app, spawn_app_with};
use serde_json::{Value, json};

use crate::fixtures::merchants::count;
use crate::fixtures::orders::{Shop, buyer, cart, checkout, shop, unique};

const BOUNDARY: &str = "peken-test-boundary-7MA4YWxkTrZu0gW";

fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let picture = RgbImage::from_fn(width, height, |x, y| {
        Rgb([(x % 251) as u8, (y % 241) as u8, ((x * y) % 239) as u8])
    });
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 85)
        .encode(picture.as_raw(), width, height, ExtendedColorType::Rgb8)
        .unwrap();
    out
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let picture = RgbImage::from_fn(width, height, |x, _| Rgb([200, (x % 200) as u8, 40]));
    let mut out = std::io::Cursor::new(Vec::new());
    picture.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFF_u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A PNG that says it is 20,000 × 20,000 pixels in a few dozen bytes.
fn png_bomb() -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = |kind: &[u8; 4], data: &[u8]| {
        out.extend_from_slice(&u32::try_from(data.len()).unwrap().to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32(&body).to_be_bytes());
    };
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&20_000_u32.to_be_bytes());
    ihdr.extend_from_slice(&20_000_u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(b"IHDR", &ihdr);
    chunk(b"IDAT", &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
    chunk(b"IEND", &[]);
    out
}

fn multipart(part: &str, content_type: Option<&str>, bytes: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{part}\"; filename=\"foto.bin\"\r\n"
    )
    .into_bytes();
    if let Some(content_type) = content_type {
        body.extend_from_slice(format!("Content-Type: {content_type}\r\n").as_bytes());
    }
    body.extend_from_slice(b"\r\n");
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Vec<u8>,
) -> Reply {
    let res = app
        .client
        .request(method, app.url(path))
        .bearer_auth(token)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    TestApp::reply(res).await
}

async fn upload(
    app: &TestApp,
    s: &Shop,
    product: &str,
    content_type: Option<&str>,
    bytes: &[u8],
) -> Reply {
    send(
        app,
        reqwest::Method::POST,
        &format!("/api/v1/merchants/{}/products/{product}/images", s.id),
        &s.owner.token,
        multipart("file", content_type, bytes),
    )
    .await
}

/// An approved product of the shop, listed; returns (product id, listing id).
async fn sold_product(app: &TestApp, admin: &User, s: &Shop, name: &str) -> (String, String) {
    let created = app
        .post(
            &format!("/api/v1/merchants/{}/products", s.id),
            Some(&s.owner.token),
            &json!({"name": name, "category": "kuliner", "unit": "bungkus"}),
        )
        .await
        .expect(201);
    let id = created.body["id"].as_str().unwrap().to_owned();
    app.post(
        &format!("/api/v1/admin/products/{id}/moderation"),
        Some(&admin.token),
        &json!({"decision": "approve"}),
    )
    .await
    .expect(200);
    let listing = app
        .post(
            &format!("/api/v1/merchants/{}/listings", s.id),
            Some(&s.owner.token),
            &json!({"product_id": id, "price": 15_000, "stock": 30}),
        )
        .await
        .expect(201);
    (id, listing.body["id"].as_str().unwrap().to_owned())
}

/// Fetches a photo URL the API handed out (a path on this server).
async fn fetch(app: &TestApp, url: &str) -> reqwest::Response {
    assert!(url.starts_with("/media/"), "{url}");
    app.client.get(app.url(url)).send().await.unwrap()
}

fn stored_objects(app: &TestApp) -> usize {
    fn walk(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir).map_or(0, |entries| {
            entries
                .flatten()
                .map(|e| {
                    if e.path().is_dir() {
                        walk(&e.path())
                    } else {
                        1
                    }
                })
                .sum()
        })
    }
    walk(&app.state.settings.data_dir.join("media"))
}

#[tokio::test]
async fn a_products_photos_show_in_browse_and_orders_in_their_order() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let s = shop(&app, "umkm", "35.78.03.1001").await;
    let (product, listing) = sold_product(&app, &admin, &s, "Keripik Tempe Malang").await;

    let first = upload(&app, &s, &product, Some("image/jpeg"), &jpeg(1600, 1200))
        .await
        .expect(201);
    let image = &first.body["images"][0];
    assert_eq!(image["position"], 0);
    assert_eq!(image["width"], 1080);
    assert_eq!(image["height"], 810);
    let thumbnail = image["thumbnail_url"].as_str().unwrap().to_owned();
    let full = image["url"].as_str().unwrap().to_owned();
    assert_ne!(thumbnail, full);
    let got = fetch(&app, &thumbnail).await;
    assert_eq!(got.status(), 200);
    assert_eq!(got.headers()["content-type"], "image/jpeg");
    let etag = got.headers()["etag"].to_str().unwrap().to_owned();
    let small = image::load_from_memory(&got.bytes().await.unwrap()).unwrap();
    assert_eq!(small.width(), 160);
    let again = app
        .client
        .get(app.url(&thumbnail))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);

    // A PNG second; browse shows the first photo and the shop.
    let second = upload(&app, &s, &product, Some("image/png"), &png(640, 480))
        .await
        .expect(201);
    assert_eq!(second.body["images"].as_array().unwrap().len(), 2);
    let second_id = second.body["images"][1]["id"].as_str().unwrap().to_owned();
    let first_id = second.body["images"][0]["id"].as_str().unwrap().to_owned();
    let browse = app
        .get("/api/v1/listings?q=keripik+tempe", None)
        .await
        .expect(200);
    assert_eq!(
        browse.body["items"][0]["product"]["image"]["thumbnail_url"],
        thumbnail.as_str()
    );

    let page = app
        .get(&format!("/api/v1/listings/{listing}"), None)
        .await
        .expect(200);
    assert_eq!(page.body["product"]["images"].as_array().unwrap().len(), 2);
    assert_eq!(
        page.body["product"]["images"][0]["thumbnail_url"],
        thumbnail.as_str()
    );

    // Reordered: the PNG comes first everywhere.
    let reordered = app
        .put(
            &format!("/api/v1/merchants/{}/products/{product}/images/order", s.id),
            Some(&s.owner.token),
            &json!({"image_ids": [second_id, first_id]}),
        )
        .await
        .expect(200);
    assert_eq!(reordered.body["images"][0]["id"], second_id.as_str());
    app.put(
        &format!("/api/v1/merchants/{}/products/{product}/images/order", s.id),
        Some(&s.owner.token),
        &json!({"image_ids": [second_id]}),
    )
    .await
    .expect(422);
    let png_thumbnail = reordered.body["images"][0]["thumbnail_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let browse = app
        .get("/api/v1/listings?q=keripik+malang", None)
        .await
        .expect(200);
    assert_eq!(
        browse.body["items"][0]["product"]["image"]["thumbnail_url"],
        png_thumbnail.as_str()
    );

    // The buyer's checkout line and order show the photo and the shop.
    let buyer = buyer(&app).await;
    let bought = checkout(
        &app,
        &buyer,
        &format!("k-{}", unique()),
        &cart(&[(&listing, 1)]),
    )
    .await
    .expect(201);
    assert_eq!(
        bought.body["orders"][0]["items"][0]["image"]["thumbnail_url"],
        png_thumbnail.as_str()
    );
    let order_id = bought.body["orders"][0]["id"].as_str().unwrap();
    let order = app
        .get(&format!("/api/v1/orders/{order_id}"), Some(&buyer.token))
        .await
        .expect(200);
    assert_eq!(
        order.body["items"][0]["image"]["thumbnail_url"],
        png_thumbnail.as_str()
    );

    // Deleting the first photo moves the other up; its objects go when nothing uses them.
    let deleted = app
        .delete(
            &format!(
                "/api/v1/merchants/{}/products/{product}/images/{second_id}",
                s.id
            ),
            Some(&s.owner.token),
        )
        .await
        .expect(200);
    assert_eq!(deleted.body["images"][0]["id"], first_id.as_str());
    assert_eq!(deleted.body["images"][0]["position"], 0);
    assert_eq!(fetch(&app, &png_thumbnail).await.status(), 404);
    assert_eq!(fetch(&app, &thumbnail).await.status(), 200);
}

#[tokio::test]
async fn bad_uploads_are_refused_and_nothing_is_stored() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let s = shop(&app, "umkm", "35.78.03.1001").await;
    let other = shop(&app, "umkm", "35.78.03.1001").await;
    let (product, _) = sold_product(&app, &admin, &s, "Abon Lele").await;
    let objects = stored_objects(&app);

    upload(&app, &s, &product, Some("image/jpeg"), b"GIF89a not really")
        .await
        .expect_problem(415, "not_an_image");
    upload(
        &app,
        &s,
        &product,
        Some("image/png"),
        b"%PDF-1.7 a document",
    )
    .await
    .expect_problem(415, "not_an_image");
    upload(&app, &s, &product, Some("image/jpeg"), &png(64, 64))
        .await
        .expect_problem(422, "image_type_mismatch");
    upload(&app, &s, &product, Some("image/png"), &png_bomb())
        .await
        .expect_problem(422, "image_too_many_pixels");
    let whole = jpeg(800, 600);
    upload(
        &app,
        &s,
        &product,
        Some("image/jpeg"),
        &whole[..whole.len() / 2],
    )
    .await
    .expect_problem(422, "image_corrupt");
    // Over 5 MB: refused by its Content-Length, before the body is read.
    let huge = vec![0xFF_u8; 5 * 1024 * 1024 + 1];
    upload(&app, &s, &product, Some("image/jpeg"), &huge)
        .await
        .expect_problem(413, "payload_too_large");
    // No part named `file`.
    send(
        &app,
        reqwest::Method::POST,
        &format!("/api/v1/merchants/{}/products/{product}/images", s.id),
        &s.owner.token,
        multipart("photo", Some("image/jpeg"), &jpeg(100, 100)),
    )
    .await
    .expect_problem(422, "file_missing");
    // Another merchant's product, and through another merchant's path.
    send(
        &app,
        reqwest::Method::POST,
        &format!("/api/v1/merchants/{}/products/{product}/images", other.id),
        &other.owner.token,
        multipart("file", Some("image/jpeg"), &jpeg(100, 100)),
    )
    .await
    .expect_problem(404, "not_found");
    send(
        &app,
        reqwest::Method::POST,
        &format!("/api/v1/merchants/{}/products/{product}/images", s.id),
        &other.owner.token,
        multipart("file", Some("image/jpeg"), &jpeg(100, 100)),
    )
    .await
    .expect_problem(404, "not_found");
    assert_eq!(count(&app, "product_images", "1 = 1").await, 0);
    if peken_tests::test_s3_url().is_none() {
        assert_eq!(stored_objects(&app), objects);
    }

    // Eight photos, then a ninth is refused before it is decoded.
    for n in 0..8 {
        upload(&app, &s, &product, None, &jpeg(200 + n, 150))
            .await
            .expect(201);
    }
    upload(&app, &s, &product, Some("image/jpeg"), &jpeg(300, 200))
        .await
        .expect_problem(409, "too_many_images");
    assert_eq!(
        count(&app, "product_images", &format!("product_id = '{product}'")).await,
        8
    );
}

#[tokio::test]
async fn a_failing_media_store_leaves_no_photo_record() {
    // An S3 endpoint where nothing listens.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let app = spawn_app_with(Options {
        vars: vec![
            ("PEKEN_MEDIA_URL".into(), "s3://nowhere".into()),
            (
                "PEKEN_MEDIA_S3_ENDPOINT".into(),
                format!("http://127.0.0.1:{port}"),
            ),
            ("PEKEN_MEDIA_S3_ACCESS_KEY_ID".into(), "test".into()),
            ("PEKEN_MEDIA_S3_SECRET_ACCESS_KEY".into(), "test".into()),
        ],
        ..Options::default()
    })
    .await;
    let admin = app.admin().await;
    let s = shop(&app, "umkm", "35.78.03.1001").await;
    let (product, _) = sold_product(&app, &admin, &s, "Pia Kacang Hijau").await;
    upload(&app, &s, &product, Some("image/jpeg"), &jpeg(400, 300))
        .await
        .expect_problem(503, "media_unavailable");
    assert_eq!(count(&app, "product_images", "1 = 1").await, 0);
}

#[tokio::test]
async fn the_owner_sets_and_removes_the_shops_photo() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let s = shop(&app, "umkm", "35.78.03.1001").await;
    sold_product(&app, &admin, &s, "Lapis Legit Pandan").await;
    let path = format!("/api/v1/merchants/{}/photo", s.id);
    let set = send(
        &app,
        reqwest::Method::PUT,
        &path,
        &s.owner.token,
        multipart("file", Some("image/jpeg"), &jpeg(800, 800)),
    )
    .await
    .expect(200);
    let photo = set.body["photo"]["thumbnail_url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(fetch(&app, &photo).await.status(), 200);
    let public: Value = app
        .get(&format!("/api/v1/merchants/{}", s.id), None)
        .await
        .expect(200)
        .body;
    assert_eq!(public["photo"]["thumbnail_url"], photo.as_str());
    let browse = app
        .get("/api/v1/listings?q=lapis+legit", None)
        .await
        .expect(200);
    assert_eq!(
        browse.body["items"][0]["merchant"]["photo"]["thumbnail_url"],
        photo.as_str()
    );

    // Only the owner; bad bytes change nothing.
    send(
        &app,
        reqwest::Method::PUT,
        &path,
        &s.owner.token,
        multipart("file", Some("image/png"), b"not a picture"),
    )
    .await
    .expect_problem(415, "not_an_image");
    let removed = app.delete(&path, Some(&s.owner.token)).await.expect(200);
    assert!(removed.body.get("photo").is_none());
    assert_eq!(fetch(&app, &photo).await.status(), 404);
    app.delete(&path, Some(&s.owner.token))
        .await
        .expect_problem(404, "not_found");
}
