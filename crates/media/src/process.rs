//! From uploaded bytes to JPEG renditions: the format is sniffed from the bytes, the size read
//! from the header and refused past [`MAX_PIXELS`] before anything is decoded, the pixels
//! decoded under `image::Limits`, turned upright by the EXIF orientation, flattened on white,
//! resized to [`WIDTHS`] (never up) and encoded afresh. Nothing of the file but its pixels
//! survives: EXIF (GPS included), ICC profiles and comments are gone.

use std::io::Cursor;

use bytes::Bytes;
use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::codecs::jpeg::JpegEncoder;
use image::metadata::Orientation;
use image::{DynamicImage, ExtendedColorType, ImageDecoder as _, ImageError, ImageReader, Limits};
use sha2::{Digest as _, Sha256};

use crate::error::MediaError;
use crate::store::Rendition;

/// The most pixels an upload may have: a 40-megapixel camera's photo passes, a decompression
/// bomb (a few KB of PNG declaring 20,000 × 20,000) does not.
pub const MAX_PIXELS: u64 = 40_000_000;

/// The widths of the renditions, in pixels.
pub const WIDTHS: [u32; 3] = [160, 480, 1080];

/// The JPEG quality of every rendition.
pub const JPEG_QUALITY: u8 = 82;

/// The longest side any decoder may allocate for, whatever the header said.
const MAX_SIDE: u32 = 40_000;

/// An accepted upload format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    Jpeg,
    Png,
    WebP,
}

impl ImageKind {
    pub fn mime(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::WebP => "image/webp",
        }
    }

    fn format(self) -> image::ImageFormat {
        match self {
            Self::Jpeg => image::ImageFormat::Jpeg,
            Self::Png => image::ImageFormat::Png,
            Self::WebP => image::ImageFormat::WebP,
        }
    }

    /// The kind a declared content type names, `None` for one that names no image type.
    fn declared(content_type: &str) -> Option<Self> {
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match essence.as_str() {
            "image/jpeg" | "image/jpg" | "image/pjpeg" => Some(Self::Jpeg),
            "image/png" | "image/x-png" => Some(Self::Png),
            "image/webp" => Some(Self::WebP),
            _ => None,
        }
    }
}

/// The format the bytes are, by their magic numbers; `None` for anything else.
pub fn sniff(bytes: &[u8]) -> Option<ImageKind> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(ImageKind::Jpeg)
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(ImageKind::Png)
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some(ImageKind::WebP)
    } else {
        None
    }
}

/// What the header says, before any pixel is decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    pub kind: ImageKind,
    /// As stored, before the EXIF orientation is applied.
    pub width: u32,
    pub height: u32,
}

impl Probe {
    /// Whole megapixels, rounded up: what decoding this image takes from the budget.
    pub fn megapixels(&self) -> u32 {
        (u64::from(self.width) * u64::from(self.height)).div_ceil(1_000_000) as u32
    }
}

/// Checks an upload without decoding it: an accepted format, as declared (a declared
/// `application/octet-stream` or none declares nothing), a readable header, at most
/// [`MAX_PIXELS`], and for a JPEG an end marker after its image data.
pub fn inspect(bytes: &[u8], declared: Option<&str>) -> Result<Probe, MediaError> {
    let kind = sniff(bytes).ok_or(MediaError::NotAnImage)?;
    if let Some(declared) = declared.map(str::trim).filter(|d| !d.is_empty()) {
        let essence = declared.split(';').next().unwrap_or("").trim();
        if !essence.eq_ignore_ascii_case("application/octet-stream")
            && ImageKind::declared(declared) != Some(kind)
        {
            return Err(MediaError::TypeMismatch {
                declared: essence.to_ascii_lowercase(),
                actual: kind.mime(),
            });
        }
    }
    let (width, height) = ImageReader::with_format(Cursor::new(bytes), kind.format())
        .into_dimensions()
        .map_err(|e| MediaError::Corrupt(e.to_string()))?;
    if width == 0 || height == 0 {
        return Err(MediaError::Corrupt("the image has no pixels".into()));
    }
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(MediaError::TooManyPixels { width, height });
    }
    if kind == ImageKind::Jpeg && !jpeg_is_complete(bytes) {
        return Err(MediaError::Corrupt(
            "the JPEG data ends before its end marker".into(),
        ));
    }
    Ok(Probe {
        kind,
        width,
        height,
    })
}

/// The renditions of one image, smallest first, with their encoded bytes.
#[derive(Debug, Clone)]
pub struct ProcessedImage {
    /// The upright image's size (after the EXIF orientation).
    pub width: u32,
    pub height: u32,
    pub renditions: Vec<(Rendition, Bytes)>,
}

/// Checks, decodes and re-encodes an upload (see the module documentation). Pure and
/// CPU-bound: callers on an async runtime run it on the blocking pool.
pub fn process(bytes: &[u8], declared: Option<&str>) -> Result<ProcessedImage, MediaError> {
    let probe = inspect(bytes, declared)?;
    let mut reader = ImageReader::with_format(Cursor::new(bytes), probe.kind.format());
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    // Eight bytes a pixel: a 16-bit RGBA PNG at the pixel limit, plus room for the decoder.
    limits.max_alloc = Some(MAX_PIXELS * 8 + (64 << 20));
    reader.limits(limits);
    let decode_error = |e: ImageError| match e {
        ImageError::Limits(_) => MediaError::TooManyPixels {
            width: probe.width,
            height: probe.height,
        },
        other => MediaError::Corrupt(other.to_string()),
    };
    let mut decoder = reader.into_decoder().map_err(decode_error)?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(decode_error)?;
    image.apply_orientation(orientation);
    let (width, height) = (image.width(), image.height());
    let rgb = flatten_on_white(image);
    let renditions = render(&rgb, width, height)?;
    Ok(ProcessedImage {
        width,
        height,
        renditions,
    })
}

/// RGB pixels; transparent parts become white (JPEG has no alpha, and black would show).
fn flatten_on_white(image: DynamicImage) -> Vec<u8> {
    if !image.color().has_alpha() {
        return image.into_rgb8().into_raw();
    }
    let rgba = image.into_rgba8();
    let mut rgb = Vec::with_capacity(rgba.len() / 4 * 3);
    for px in rgba.as_raw().chunks_exact(4) {
        let alpha = u32::from(px[3]);
        for &channel in &px[..3] {
            let value = (u32::from(channel) * alpha + 255 * (255 - alpha) + 127) / 255;
            rgb.push(value as u8);
        }
    }
    rgb
}

/// The renditions, smallest first: each width of [`WIDTHS`] no wider than the image, and the
/// image's own width for those above it, once. The largest is resized from the original, each
/// smaller one from the next larger (at least twice as large), which looks the same and costs
/// a fraction.
fn render(rgb: &[u8], width: u32, height: u32) -> Result<Vec<(Rendition, Bytes)>, MediaError> {
    let mut widths: Vec<u32> = Vec::new();
    for target in WIDTHS {
        let w = target.min(width);
        if !widths.contains(&w) {
            widths.push(w);
        }
    }
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3));
    let mut resizer = Resizer::new();
    let mut out = Vec::with_capacity(widths.len());
    // The pixels the next smaller rendition is resized from.
    let mut source: (Vec<u8>, u32, u32) = (Vec::new(), width, height);
    for &w in widths.iter().rev() {
        let h = ((u64::from(height) * u64::from(w) + u64::from(width) / 2) / u64::from(width))
            .max(1) as u32;
        let pixels = if w == width {
            None
        } else {
            let src_pixels: &[u8] = if source.0.is_empty() { rgb } else { &source.0 };
            let src = ImageRef::new(source.1, source.2, src_pixels, PixelType::U8x3)
                .map_err(|e| MediaError::Internal(anyhow::anyhow!("source image: {e}")))?;
            let mut dst = Image::new(w, h, PixelType::U8x3);
            resizer
                .resize(&src, &mut dst, &options)
                .map_err(|e| MediaError::Internal(anyhow::anyhow!("resizing: {e}")))?;
            Some(dst.into_vec())
        };
        let encoded = encode_jpeg(pixels.as_deref().unwrap_or(rgb), w, h)?;
        let digest = hex::encode(Sha256::digest(&encoded));
        let rendition = Rendition {
            width: w,
            height: h,
            key: format!("img/{}/{digest}.jpg", &digest[..2]),
            bytes: encoded.len() as u64,
        };
        out.push((rendition, Bytes::from(encoded)));
        if let Some(pixels) = pixels {
            source = (pixels, w, h);
        }
    }
    out.reverse();
    Ok(out)
}

fn encode_jpeg(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>, MediaError> {
    let mut encoded = Vec::with_capacity(rgb.len() / 8);
    JpegEncoder::new_with_quality(&mut encoded, JPEG_QUALITY)
        .encode(rgb, width, height, ExtendedColorType::Rgb8)
        .map_err(|e| MediaError::Internal(anyhow::anyhow!("encoding a JPEG: {e}")))?;
    Ok(encoded)
}

/// Whether a JPEG has an end-of-image marker after the start of its image data. The segments
/// before the first scan are skipped by their lengths (an EXIF thumbnail carries an end marker
/// of its own); in the scan data a 0xFF byte is always followed by 0x00 or a marker, so an
/// `FF D9` there is the real end. A file cut short has none: decoders would fill the missing
/// rows with grey rather than fail.
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let mut at = 2;
    loop {
        let Some(&[0xFF, marker]) = bytes.get(at..at + 2) else {
            return false;
        };
        match marker {
            // Fill bytes before a marker.
            0xFF => at += 1,
            // Start of scan: the entropy-coded data follows.
            0xDA => break,
            // Markers without a length.
            0x01 | 0xD0..=0xD7 => at += 2,
            0xD9 => return false,
            _ => {
                let Some(&[hi, lo]) = bytes.get(at + 2..at + 4) else {
                    return false;
                };
                at += 2 + usize::from(u16::from_be_bytes([hi, lo]));
            }
        }
    }
    bytes[at..]
        .windows(2)
        .rev()
        .any(|pair| pair == [0xFF, 0xD9])
}
