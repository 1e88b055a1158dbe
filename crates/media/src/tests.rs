//! Processing real images made here with the `image` crate, EXIF written by hand.

use std::time::{Duration, Instant};

use bytes::Bytes;
use image::codecs::jpeg::JpegEncoder;
use image::{ExtendedColorType, ImageEncoder as _, Rgb, RgbImage, Rgba, RgbaImage};
use peken_kernel::ApiError;
use peken_kernel::media::MediaStore;
use peken_kernel::settings::S3Settings;

use crate::{MediaError, Upload, process, store_image_in};

/// A photo-like test image: smooth gradients under a little noise.
fn picture(width: u32, height: u32) -> RgbImage {
    let mut state = 0x2545_f491_u32;
    RgbImage::from_fn(width, height, |x, y| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let noise = (state % 24) as u8;
        Rgb([
            ((x * 255 / width.max(1)) as u8).saturating_add(noise),
            ((y * 255 / height.max(1)) as u8).saturating_add(noise),
            128_u8.saturating_add(noise),
        ])
    })
}

fn jpeg_of(image: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 90)
        .encode(
            image.as_raw(),
            image.width(),
            image.height(),
            ExtendedColorType::Rgb8,
        )
        .unwrap();
    out
}

fn png_of(image: &RgbaImage) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(
            image.as_raw(),
            image.width(),
            image.height(),
            ExtendedColorType::Rgba8,
        )
        .unwrap();
    out
}

const GPS_MARK: &[u8] = b"PEKEN-GPS-MARK";

/// An EXIF block (little-endian TIFF): IFD0 with the orientation, an image description and a
/// pointer to a GPS IFD holding latitude and longitude references and a map datum naming
/// [`GPS_MARK`].
fn exif(orientation: u16) -> Vec<u8> {
    fn entry(out: &mut Vec<u8>, tag: u16, kind: u16, count: u32, value: u32) {
        out.extend_from_slice(&tag.to_le_bytes());
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&count.to_le_bytes());
        out.extend_from_slice(&value.to_le_bytes());
    }
    const ASCII: u16 = 2;
    const SHORT: u16 = 3;
    const LONG: u16 = 4;
    let mut tiff = b"II*\0".to_vec();
    tiff.extend_from_slice(&8_u32.to_le_bytes());
    // IFD0 at 8: three entries (2 + 3 * 12 + 4 = 42 bytes), then the GPS IFD at 50.
    let gps_ifd = 50_u32;
    // GPS IFD: three entries (42 bytes); the datum text after it, at 92.
    let datum_at = gps_ifd + 42;
    tiff.extend_from_slice(&3_u16.to_le_bytes());
    entry(&mut tiff, 0x0112, SHORT, 1, u32::from(orientation));
    entry(&mut tiff, 0x010E, ASCII, 4, u32::from_le_bytes(*b"GPS\0"));
    entry(&mut tiff, 0x8825, LONG, 1, gps_ifd);
    tiff.extend_from_slice(&0_u32.to_le_bytes());
    assert_eq!(tiff.len() as u32, gps_ifd);
    tiff.extend_from_slice(&3_u16.to_le_bytes());
    entry(&mut tiff, 0x0001, ASCII, 2, u32::from_le_bytes(*b"S\0\0\0"));
    entry(&mut tiff, 0x0003, ASCII, 2, u32::from_le_bytes(*b"E\0\0\0"));
    entry(
        &mut tiff,
        0x0012,
        ASCII,
        GPS_MARK.len() as u32 + 1,
        datum_at,
    );
    tiff.extend_from_slice(&0_u32.to_le_bytes());
    assert_eq!(tiff.len() as u32, datum_at);
    tiff.extend_from_slice(GPS_MARK);
    tiff.push(0);
    let mut app1 = vec![0xFF, 0xE1];
    app1.extend_from_slice(&((tiff.len() + 8) as u16).to_be_bytes());
    app1.extend_from_slice(b"Exif\0\0");
    app1.extend_from_slice(&tiff);
    app1
}

/// `jpeg` with an APP1 EXIF segment right after its start marker.
fn with_exif(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&exif(orientation));
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// The markers of a JPEG's segments before its first scan.
fn header_markers(jpeg: &[u8]) -> Vec<u8> {
    let mut markers = Vec::new();
    let mut at = 2;
    while at + 4 <= jpeg.len() && jpeg[at] == 0xFF {
        let marker = jpeg[at + 1];
        markers.push(marker);
        if marker == 0xDA {
            break;
        }
        at += 2 + usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
    }
    markers
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn decode(bytes: &[u8]) -> RgbImage {
    image::load_from_memory_with_format(bytes, image::ImageFormat::Jpeg)
        .unwrap()
        .into_rgb8()
}

#[test]
fn exif_and_its_gps_block_do_not_survive() {
    let input = with_exif(&jpeg_of(&picture(640, 480)), 1);
    assert!(contains(&input, GPS_MARK) && contains(&input, b"Exif\0\0"));
    let out = process(&input, Some("image/jpeg")).unwrap();
    assert_eq!(out.renditions.len(), 3);
    for (rendition, bytes) in &out.renditions {
        assert!(!contains(bytes, GPS_MARK), "{}", rendition.key);
        assert!(!contains(bytes, b"Exif"), "{}", rendition.key);
        let markers = header_markers(bytes);
        assert!(
            !markers.iter().any(|m| (0xE1..=0xEF).contains(m)),
            "no APP1-APP15 segment: {markers:x?}"
        );
    }
}

#[test]
fn an_orientation_6_photo_comes_out_upright() {
    // Stored 64 × 32, the top half red and the bottom half blue; orientation 6 means "rotate
    // 90° clockwise to show", so the upright image is 32 × 64 with red on the right.
    let stored = RgbImage::from_fn(64, 32, |_, y| {
        if y < 16 {
            Rgb([220, 20, 20])
        } else {
            Rgb([20, 20, 220])
        }
    });
    let input = with_exif(&jpeg_of(&stored), 6);
    let out = process(&input, None).unwrap();
    assert_eq!((out.width, out.height), (32, 64));
    let [(rendition, bytes)] = &out.renditions[..] else {
        panic!("one rendition of a 32 px wide image: {:?}", out.renditions);
    };
    assert_eq!((rendition.width, rendition.height), (32, 64));
    let upright = decode(bytes);
    assert_eq!(upright.dimensions(), (32, 64));
    let right = upright.get_pixel(26, 32);
    let left = upright.get_pixel(5, 32);
    assert!(
        right[0] > 150 && right[2] < 100,
        "red on the right: {right:?}"
    );
    assert!(left[2] > 150 && left[0] < 100, "blue on the left: {left:?}");
}

#[test]
fn bytes_that_are_no_image_are_refused_as_such() {
    for bytes in [
        &b"hello, this is a text file"[..],
        b"",
        b"GIF89a\x01\x00\x01\x00",
    ] {
        let err = process(bytes, Some("image/jpeg")).unwrap_err();
        assert!(matches!(err, MediaError::NotAnImage), "{err}");
        let api = ApiError::from(err);
        assert_eq!((api.status().as_u16(), api.code()), (415, "not_an_image"));
    }
}

#[test]
fn png_bytes_declared_as_jpeg_are_a_mismatch() {
    let png = png_of(&RgbaImage::from_pixel(20, 20, Rgba([1, 2, 3, 255])));
    let err = process(&png, Some("image/jpeg")).unwrap_err();
    assert!(
        matches!(&err, MediaError::TypeMismatch { declared, actual }
            if declared == "image/jpeg" && *actual == "image/png"),
        "{err}"
    );
    assert_eq!(ApiError::from(err).code(), "image_type_mismatch");
    // A declared type that names nothing, or the right one with parameters, is fine.
    assert!(process(&png, Some("application/octet-stream")).is_ok());
    assert!(process(&png, Some("IMAGE/PNG; name=x.png")).is_ok());
    assert!(process(&png, Some("text/plain")).is_err());
}

/// The CRC-32 of a PNG chunk (its type and data).
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

fn chunk(out: &mut Vec<u8>, kind: [u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32(&body).to_be_bytes());
}

#[test]
fn a_20000_square_png_of_a_few_kb_is_refused_before_decoding() {
    // An 8-bit RGB 20,000 × 20,000 header and a few KB of a zlib stream of zero rows: decoded,
    // it would take 1.2 GB.
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&20_000_u32.to_be_bytes());
    ihdr.extend_from_slice(&20_000_u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut png, *b"IHDR", &ihdr);
    // zlib header, then stored (uncompressed) deflate blocks of zeros: valid as far as it goes.
    let mut idat = vec![0x78, 0x01];
    for _ in 0..4 {
        idat.extend_from_slice(&[0x00, 0x00, 0x04, 0xFF, 0xFB]);
        idat.extend_from_slice(&[0_u8; 1024]);
    }
    chunk(&mut png, *b"IDAT", &idat);
    chunk(&mut png, *b"IEND", &[]);
    assert!(png.len() < 8 * 1024, "a few KB: {}", png.len());

    let started = Instant::now();
    let err = process(&png, Some("image/png")).unwrap_err();
    let elapsed = started.elapsed();
    assert!(
        matches!(
            err,
            MediaError::TooManyPixels {
                width: 20_000,
                height: 20_000
            }
        ),
        "{err}"
    );
    assert!(elapsed < Duration::from_millis(200), "took {elapsed:?}");
    let api = ApiError::from(err);
    assert_eq!(
        (api.status().as_u16(), api.code()),
        (422, "image_too_many_pixels")
    );
}

#[test]
fn truncated_files_are_corrupt() {
    let jpeg = jpeg_of(&picture(400, 300));
    for cut in [jpeg.len() * 6 / 10, jpeg.len() - 2, 40] {
        let err = process(&jpeg[..cut], Some("image/jpeg")).unwrap_err();
        assert!(matches!(err, MediaError::Corrupt(_)), "cut at {cut}: {err}");
        assert_eq!(ApiError::from(err).code(), "image_corrupt");
    }
    let png = png_of(&RgbaImage::from_fn(300, 200, |x, y| {
        Rgba([(x % 256) as u8, (y % 256) as u8, ((x * y) % 256) as u8, 255])
    }));
    let err = process(&png[..png.len() / 2], None).unwrap_err();
    assert!(matches!(err, MediaError::Corrupt(_)), "{err}");
    // The same files whole are fine, EXIF thumbnail markers and all.
    assert!(process(&jpeg, None).is_ok());
    assert!(process(&with_exif(&jpeg, 1), None).is_ok());
}

#[test]
fn renditions_are_160_480_and_1080_wide_and_never_upscaled() {
    let out = process(&jpeg_of(&picture(2000, 1500)), None).unwrap();
    let sizes: Vec<_> = out
        .renditions
        .iter()
        .map(|(r, _)| (r.width, r.height))
        .collect();
    assert_eq!(sizes, [(160, 120), (480, 360), (1080, 810)]);
    for (rendition, bytes) in &out.renditions {
        assert_eq!(
            decode(bytes).dimensions(),
            (rendition.width, rendition.height)
        );
        assert_eq!(rendition.bytes, bytes.len() as u64);
    }

    // 300 px wide: 160, then its own width once for 480 and 1080.
    let out = process(&jpeg_of(&picture(300, 200)), None).unwrap();
    let sizes: Vec<_> = out
        .renditions
        .iter()
        .map(|(r, _)| (r.width, r.height))
        .collect();
    assert_eq!(sizes, [(160, 107), (300, 200)]);
}

#[test]
fn identical_input_gives_identical_content_addressed_keys() {
    let input = jpeg_of(&picture(800, 600));
    let a = process(&input, None).unwrap();
    let b = process(&input, None).unwrap();
    let keys = |p: &crate::ProcessedImage| -> Vec<String> {
        p.renditions.iter().map(|(r, _)| r.key.clone()).collect()
    };
    assert_eq!(keys(&a), keys(&b));
    for (rendition, bytes) in &a.renditions {
        use sha2::Digest as _;
        let hash = hex::encode(sha2::Sha256::digest(bytes));
        assert_eq!(rendition.key, format!("img/{}/{hash}.jpg", &hash[..2]));
    }
    let other = process(&jpeg_of(&picture(801, 600)), None).unwrap();
    assert_ne!(keys(&a)[0], keys(&other)[0]);
}

#[test]
fn transparency_becomes_white_and_webp_is_accepted() {
    let clear = RgbaImage::from_pixel(40, 40, Rgba([0, 0, 0, 0]));
    let out = process(&png_of(&clear), Some("image/png")).unwrap();
    let pixel = *decode(&out.renditions[0].1).get_pixel(20, 20);
    assert!(pixel.0.iter().all(|&c| c > 245), "white: {pixel:?}");

    let mut webp = Vec::new();
    image::codecs::webp::WebPEncoder::new_lossless(&mut webp)
        .write_image(
            picture(200, 100).as_raw(),
            200,
            100,
            ExtendedColorType::Rgb8,
        )
        .unwrap();
    let out = process(&webp, Some("image/webp")).unwrap();
    assert_eq!((out.width, out.height), (200, 100));
}

fn upload(bytes: Vec<u8>) -> Upload {
    Upload {
        bytes: Bytes::from(bytes),
        content_type: Some("image/jpeg".into()),
        file_name: Some("foto.jpg".into()),
    }
}

#[tokio::test]
async fn every_rendition_is_stored_and_the_budget_given_back() {
    let dir = std::env::temp_dir().join(format!("peken-media-{}", uuid::Uuid::new_v4()));
    let store = MediaStore::local(&dir, None).unwrap();
    let stored = store_image_in(&store, upload(jpeg_of(&picture(1200, 900))))
        .await
        .unwrap();
    assert_eq!((stored.width, stored.height), (1200, 900));
    assert_eq!(stored.renditions.len(), 3);
    for rendition in &stored.renditions {
        let (bytes, info) = store.get(&rendition.key).await.unwrap().unwrap();
        assert_eq!(info.size, rendition.bytes);
        assert_eq!(decode(&bytes).width(), rendition.width);
    }
    // Storing the same photo again finds its objects there and keeps them.
    let again = store_image_in(&store, upload(jpeg_of(&picture(1200, 900))))
        .await
        .unwrap();
    assert_eq!(again, stored);
    assert_eq!(
        crate::store::available_megapixels(),
        crate::BUDGET_MEGAPIXELS as usize
    );
    crate::delete_keys_in(&store, &stored.keys()).await;
    for key in stored.keys() {
        assert!(store.head(&key).await.unwrap().is_none());
    }
    let err = store_image_in(&store, upload(b"not an image".to_vec()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "not_an_image");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_store_that_refuses_is_media_unavailable() {
    // A port that was just free: connections to it are refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let store = MediaStore::s3(
        &S3Settings {
            bucket: "peken-media".into(),
            prefix: None,
            endpoint: Some(format!("http://127.0.0.1:{port}")),
            region: "us-east-1".into(),
            access_key_id: Some("test".into()),
            secret_access_key: Some(peken_kernel::settings::Secret::new("test")),
        },
        None,
    )
    .unwrap();
    let started = Instant::now();
    let err = store_image_in(&store, upload(jpeg_of(&picture(500, 400))))
        .await
        .unwrap_err();
    assert_eq!(
        (err.status().as_u16(), err.code()),
        (503, "media_unavailable")
    );
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
}
