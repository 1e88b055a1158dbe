//! `/media/{key}`: photos stored through `peken_media::store_image` (into the data directory's
//! folder on SQLite, into a bucket of the S3 test server when `PEKEN_TEST_S3_URL` is set) and
//! fetched over HTTP.

use bytes::Bytes;
use image::codecs::jpeg::JpegEncoder;
use image::{ExtendedColorType, Rgb, RgbImage};
use peken_media::{StoredImage, Upload};
use peken_tests::{TestApp, spawn_app, test_s3_url};
use reqwest::{Method, StatusCode};

async fn stored_photo(app: &TestApp) -> StoredImage {
    let photo = RgbImage::from_fn(900, 600, |x, y| {
        Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
    });
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpeg, 90)
        .encode(photo.as_raw(), 900, 600, ExtendedColorType::Rgb8)
        .unwrap();
    peken_media::store_image(
        &app.state,
        Upload {
            bytes: Bytes::from(jpeg),
            content_type: Some("image/jpeg".into()),
            file_name: Some("sayur.jpg".into()),
        },
    )
    .await
    .unwrap()
}

async fn fetch(
    app: &TestApp,
    method: Method,
    path: &str,
    if_none_match: Option<&str>,
) -> reqwest::Response {
    let mut request = app.client.request(method, format!("{}{path}", app.base));
    if let Some(tag) = if_none_match {
        request = request.header("if-none-match", tag);
    }
    request.send().await.unwrap()
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn a_stored_photo_is_served_immutable_with_its_hash_as_etag() {
    let app = spawn_app().await;
    if test_s3_url().is_some() {
        let store = format!("{:?}", app.state.media);
        assert!(
            store.contains("S3"),
            "media kept in the test bucket: {store}"
        );
    }
    let image = stored_photo(&app).await;
    assert_eq!((image.width, image.height), (900, 600));
    let widths: Vec<u32> = image.renditions.iter().map(|r| r.width).collect();
    assert_eq!(widths, [160, 480, 900]);

    for rendition in &image.renditions {
        let path = app.state.media.url(&rendition.key);
        assert_eq!(path, format!("/media/{}", rendition.key));
        let hash = rendition
            .key
            .rsplit('/')
            .next()
            .unwrap()
            .trim_end_matches(".jpg");
        let etag = format!("\"{hash}\"");

        let response = fetch(&app, Method::GET, &path, None).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(header(&response, "content-type"), "image/jpeg");
        assert_eq!(header(&response, "etag"), etag);
        assert_eq!(
            header(&response, "cache-control"),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(header(&response, "x-content-type-options"), "nosniff");
        let body = response.bytes().await.unwrap();
        assert_eq!(body.len() as u64, rendition.bytes);
        let (stored, _) = app.state.media.get(&rendition.key).await.unwrap().unwrap();
        assert_eq!(body, stored);
        let decoded = image::load_from_memory(&body).unwrap();
        assert_eq!(
            (decoded.width(), decoded.height()),
            (rendition.width, rendition.height)
        );

        // The client's copy is current: 304, no body, the same validators.
        for tag in [etag.clone(), format!("\"other\", W/{etag}"), "*".to_owned()] {
            let response = fetch(&app, Method::GET, &path, Some(&tag)).await;
            assert_eq!(response.status(), StatusCode::NOT_MODIFIED, "{tag}");
            assert_eq!(header(&response, "etag"), etag);
            assert!(header(&response, "cache-control").contains("immutable"));
            assert!(response.bytes().await.unwrap().is_empty());
        }
        let response = fetch(&app, Method::GET, &path, Some("\"stale\"")).await;
        assert_eq!(response.status(), StatusCode::OK);

        let response = fetch(&app, Method::HEAD, &path, None).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(header(&response, "etag"), etag);
        assert_eq!(header(&response, "content-type"), "image/jpeg");
        assert!(response.bytes().await.unwrap().is_empty());
    }

    // Deleted, the photo is gone from the address too.
    peken_media::delete_keys(&app.state, &image.keys()).await;
    let path = app.state.media.url(&image.renditions[0].key);
    let reply = app.get(&path, None).await;
    reply.expect_problem(404, "media_not_found");
    let etag = format!(
        "\"{}\"",
        image.renditions[0]
            .key
            .rsplit('/')
            .next()
            .unwrap()
            .trim_end_matches(".jpg")
    );
    let response = fetch(&app, Method::GET, &path, Some(&etag)).await;
    assert_eq!(
        response.status(),
        StatusCode::NOT_FOUND,
        "no 304 for a deleted photo"
    );
}

#[tokio::test]
async fn unknown_keys_are_404_and_keys_leaving_the_store_are_refused() {
    let app = spawn_app().await;
    let unknown = format!("/media/img/00/{}.jpg", "0".repeat(64));
    app.get(&unknown, None)
        .await
        .expect_problem(404, "media_not_found");
    app.get("/media/img/nothing.jpg", None)
        .await
        .expect_problem(404, "media_not_found");

    // A file next to the media folder that a `..` would reach.
    std::fs::write(
        app.state.settings.data_dir.join("secret.txt"),
        b"not for the public",
    )
    .unwrap();
    // Sent as written: an HTTP client library would resolve the dot segments itself.
    for path in [
        "/media/../secret.txt",
        "/media/%2e%2e/secret.txt",
        "/media/img/%2E%2E/%2e%2e/secret.txt",
        "/media/..%2Fsecret.txt",
        "/media//etc/passwd",
        "/media/img//a.jpg",
        "/media/img/a%20b.jpg",
    ] {
        let (status, body) = raw_get(&app, path).await;
        assert!(!body.contains("not for the public"), "{path}: {body}");
        assert_eq!(status, 400, "{path}: {body}");
        assert!(body.contains("\"invalid_media_key\""), "{path}: {body}");
    }
}

/// A GET of `path` exactly as given, over a plain connection: the status and the body.
async fn raw_get(app: &TestApp, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let address = app.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await
        .unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}
