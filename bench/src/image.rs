//! `peken-bench image`: what one product photo costs. A 4000 × 3000 JPEG of about 4 MB (a
//! phone's photo: gradients under sensor-like noise, quality 90) goes through
//! `peken_media::process` (sniff, header check, decode, resize to 160/480/1080 px, encode) a
//! number of times on this thread; the wall times and the renditions' sizes are printed.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use image::codecs::jpeg::JpegEncoder;
use image::{ExtendedColorType, RgbImage};

/// Runs the benchmark and prints its figures.
pub fn run(runs: usize, width: u32, height: u32) -> anyhow::Result<()> {
    let started = Instant::now();
    let jpeg = photo(width, height)?;
    println!(
        "input: {width} x {height} JPEG ({:.1} MP), {} bytes ({:.2} MB), made in {:.2?}",
        f64::from(width) * f64::from(height) / 1e6,
        jpeg.len(),
        jpeg.len() as f64 / 1e6,
        started.elapsed()
    );
    let mut times: Vec<Duration> = Vec::with_capacity(runs);
    let mut sizes = Vec::new();
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        let out = peken_media::process(&jpeg, Some("image/jpeg"))
            .map_err(|e| anyhow::anyhow!("processing the photo: {e}"))?;
        times.push(started.elapsed());
        sizes = out
            .renditions
            .iter()
            .map(|(r, _)| (r.width, r.height, r.bytes))
            .collect();
    }
    times.sort();
    let median = times[times.len() / 2];
    println!(
        "process x {}: min {:.0} ms, median {:.0} ms, max {:.0} ms",
        times.len(),
        ms(times[0]),
        ms(median),
        ms(times[times.len() - 1])
    );
    for (w, h, bytes) in sizes {
        println!(
            "  rendition {w} x {h}: {bytes} bytes ({:.1} KB)",
            bytes as f64 / 1e3
        );
    }
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// A photo-like image: smooth colour gradients and shapes under per-pixel noise strong enough
/// that quality 90 gives a phone-sized file (about 4 MB at 12 MP).
fn photo(width: u32, height: u32) -> anyhow::Result<Vec<u8>> {
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % 23) as i32 - 11
    };
    let (w, h) = (f64::from(width), f64::from(height));
    let image = RgbImage::from_fn(width, height, |x, y| {
        let (fx, fy) = (f64::from(x) / w, f64::from(y) / h);
        let ring = ((fx - 0.5).hypot(fy - 0.5) * 40.0).sin() * 40.0;
        let base = [
            80.0 + 120.0 * fx + ring,
            60.0 + 140.0 * fy - ring,
            120.0 + 60.0 * (fx * 9.0).sin() * (fy * 7.0).cos(),
        ];
        image::Rgb(base.map(|c| (c as i32 + noise()).clamp(0, 255) as u8))
    });
    let mut out = Vec::with_capacity((width * height) as usize / 3);
    JpegEncoder::new_with_quality(&mut out, 90)
        .encode(image.as_raw(), width, height, ExtendedColorType::Rgb8)
        .context("encoding the input photo")?;
    Ok(out)
}
