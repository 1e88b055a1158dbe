//! Printable documents as PDF: A4 pages of text, rules and QR codes, laid out by the caller in
//! points from the top left corner. Knows no domain; `peken_order::receipt` lays out the
//! purchase receipt (BAST) with it, `peken_payout::remittance` the remittance advice.
//!
//! Text is set in `DejaVu Sans` (regular and bold, committed under `fonts/` with their licence),
//! embedded as a subset of the glyphs the document uses, with a `ToUnicode` map so that the text
//! can be selected, searched and extracted (`pdftotext`). The same calls always give the same
//! bytes: no creation date or random file id is written, so a document's digest identifies it.

mod font;

use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

pub use font::Weight;
use font::{FontUse, Fonts};

/// A4 in points.
pub const PAGE_WIDTH: f32 = 595.276;
pub const PAGE_HEIGHT: f32 = 841.89;

#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error("the text does not fit in a QR code: {0}")]
    Qr(String),
    #[error("the font could not be read or subset: {0}")]
    Font(String),
}

/// One drawing instruction, in the caller's coordinates (points, y down from the top).
#[derive(Debug, Clone)]
enum Op {
    Text {
        x: f32,
        y: f32,
        size: f32,
        weight: Weight,
        glyphs: Vec<u16>,
    },
    Line {
        x1: f32,
        y1: f32,
        x2: f32,
        y2: f32,
        width: f32,
    },
    /// Filled black squares of `cell` points, one per dark module.
    Qr {
        x: f32,
        y: f32,
        cell: f32,
        width: usize,
        dark: Vec<bool>,
    },
}

/// A document being laid out: a list of pages, each a list of instructions.
pub struct Document {
    title: String,
    pages: Vec<Vec<Op>>,
    /// The page drawn on.
    page: usize,
    fonts: Fonts,
    used: [FontUse; 2],
}

impl Document {
    /// An empty document with one A4 page.
    pub fn new(title: &str) -> Result<Self, DocumentError> {
        Ok(Self {
            title: title.to_owned(),
            pages: vec![Vec::new()],
            page: 0,
            fonts: Fonts::load()?,
            used: [FontUse::default(), FontUse::default()],
        })
    }

    /// Starts a new page; what follows is drawn on it.
    pub fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.page = self.pages.len() - 1;
    }

    /// Draws on an earlier page again (a page count in each footer, say); an index past the
    /// last page means the last.
    pub fn set_page(&mut self, index: usize) {
        self.page = index.min(self.pages.len().saturating_sub(1));
    }

    /// The number of pages so far.
    pub fn page_count(&self) -> usize {
        self.pages.len()
    }

    fn current(&mut self) -> &mut Vec<Op> {
        if self.pages.is_empty() {
            self.pages.push(Vec::new());
        }
        let index = self.page.min(self.pages.len() - 1);
        &mut self.pages[index]
    }

    /// The width of `text` set at `size` points.
    pub fn width_of(&self, text: &str, size: f32, weight: Weight) -> f32 {
        self.fonts.width_of(weight, text, size)
    }

    /// Writes `text` with its baseline at `y`, starting at `x`.
    pub fn text(&mut self, x: f32, y: f32, size: f32, weight: Weight, text: &str) {
        let glyphs = self
            .fonts
            .glyphs(weight, text, &mut self.used[weight.index()]);
        self.current().push(Op::Text {
            x,
            y,
            size,
            weight,
            glyphs,
        });
    }

    /// Writes `text` so that it ends at `right`.
    pub fn text_right(&mut self, right: f32, y: f32, size: f32, weight: Weight, text: &str) {
        let width = self.width_of(text, size, weight);
        self.text(right - width, y, size, weight, text);
    }

    /// Writes `text` centred on `centre`.
    pub fn text_centred(&mut self, centre: f32, y: f32, size: f32, weight: Weight, text: &str) {
        let width = self.width_of(text, size, weight);
        self.text(centre - width / 2.0, y, size, weight, text);
    }

    /// Breaks `text` into lines no wider than `max_width` at `size`: at spaces, and inside a
    /// word only when the word alone is too wide.
    pub fn wrap(&self, text: &str, size: f32, weight: Weight, max_width: f32) -> Vec<String> {
        let mut lines = Vec::new();
        let mut line = String::new();
        for word in text.split_whitespace() {
            let candidate = if line.is_empty() {
                word.to_owned()
            } else {
                format!("{line} {word}")
            };
            if self.width_of(&candidate, size, weight) <= max_width {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            // The word alone: split it where it must be.
            for ch in word.chars() {
                let mut next = line.clone();
                next.push(ch);
                if !line.is_empty() && self.width_of(&next, size, weight) > max_width {
                    lines.push(std::mem::take(&mut line));
                    line.push(ch);
                } else {
                    line = next;
                }
            }
        }
        if !line.is_empty() || lines.is_empty() {
            lines.push(line);
        }
        lines
    }

    /// A straight rule.
    pub fn line(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, width: f32) {
        self.current().push(Op::Line {
            x1,
            y1,
            x2,
            y2,
            width,
        });
    }

    /// The heading every peken document opens with: `title` in bold and `subtitle` centred at
    /// the top of the page, the programme's line under them and a rule from `left` to `right`.
    /// Returns where the body starts.
    pub fn letterhead(&mut self, title: &str, subtitle: &str, left: f32, right: f32) -> f32 {
        let centre = PAGE_WIDTH / 2.0;
        let mut y = 60.0;
        self.text_centred(centre, y, 15.0, Weight::Bold, title);
        y += 18.0;
        self.text_centred(centre, y, 10.0, Weight::Regular, subtitle);
        y += 14.0;
        self.text_centred(
            centre,
            y,
            9.0,
            Weight::Regular,
            "Peken — belanja kebutuhan pokok Pemerintah Kota Surabaya",
        );
        y += 10.0;
        self.line(left, y, right, y, 0.8);
        y + 20.0
    }

    /// A QR code of `data` (error correction level M) drawn `size` points wide with its top
    /// left corner at (`x`, `y`), quiet zone included.
    pub fn qr(&mut self, x: f32, y: f32, size: f32, data: &str) -> Result<(), DocumentError> {
        let code = qrcode::QrCode::with_error_correction_level(data, qrcode::EcLevel::M)
            .map_err(|e| DocumentError::Qr(e.to_string()))?;
        let width = code.width();
        // Four modules of quiet zone on each side, as the standard asks.
        let cell = size / (width + 8) as f32;
        let dark = code
            .to_colors()
            .into_iter()
            .map(|c| c == qrcode::Color::Dark)
            .collect();
        self.current().push(Op::Qr {
            x: x + 4.0 * cell,
            y: y + 4.0 * cell,
            cell,
            width,
            dark,
        });
        Ok(())
    }

    /// The finished PDF.
    pub fn finish(self) -> Result<Vec<u8>, DocumentError> {
        let mut pdf = Pdf::new();
        let mut next = 1;
        let mut alloc = || {
            let r = Ref::new(next);
            next += 1;
            r
        };
        let catalog_id = alloc();
        let tree_id = alloc();
        let info_id = alloc();
        let font_ids: Vec<[Ref; 5]> = (0..2)
            .map(|_| [alloc(), alloc(), alloc(), alloc(), alloc()])
            .collect();
        let page_ids: Vec<(Ref, Ref)> = self.pages.iter().map(|_| (alloc(), alloc())).collect();

        pdf.catalog(catalog_id).pages(tree_id);
        pdf.pages(tree_id)
            .kids(page_ids.iter().map(|(page, _)| *page))
            .count(page_ids.len() as i32);
        let mut info = pdf.document_info(info_id);
        info.title(TextStr(&self.title));
        info.producer(TextStr("peken"));
        info.finish();

        let subsets = [
            self.fonts.subset(Weight::Regular, &self.used[0])?,
            self.fonts.subset(Weight::Bold, &self.used[1])?,
        ];
        for (subset, ids) in subsets.iter().zip(&font_ids) {
            subset.write(&mut pdf, *ids);
        }

        for ((page_id, content_id), ops) in page_ids.iter().zip(&self.pages) {
            let mut page = pdf.page(*page_id);
            page.media_box(Rect::new(0.0, 0.0, PAGE_WIDTH, PAGE_HEIGHT));
            page.parent(tree_id);
            page.contents(*content_id);
            let mut resources = page.resources();
            let mut fonts = resources.fonts();
            fonts.pair(Name(b"F1"), font_ids[0][0]);
            fonts.pair(Name(b"F2"), font_ids[1][0]);
            fonts.finish();
            resources.finish();
            page.finish();

            let content = content_of(ops, &subsets);
            let compressed = miniz_oxide::deflate::compress_to_vec_zlib(&content, 9);
            pdf.stream(*content_id, &compressed)
                .filter(Filter::FlateDecode);
        }
        Ok(pdf.finish())
    }
}

/// The content stream of one page. PDF's y axis points up; the caller's points down.
fn content_of(ops: &[Op], subsets: &[font::Subset; 2]) -> Vec<u8> {
    let mut content = Content::new();
    for op in ops {
        match op {
            Op::Text {
                x,
                y,
                size,
                weight,
                glyphs,
            } => {
                let subset = &subsets[weight.index()];
                let mut encoded = Vec::with_capacity(glyphs.len() * 2);
                for glyph in glyphs {
                    encoded.extend_from_slice(&subset.new_id(*glyph).to_be_bytes());
                }
                let name = match weight {
                    Weight::Regular => Name(b"F1"),
                    Weight::Bold => Name(b"F2"),
                };
                content
                    .begin_text()
                    .set_font(name, *size)
                    .next_line(*x, PAGE_HEIGHT - *y)
                    .show(Str(&encoded))
                    .end_text();
            }
            Op::Line {
                x1,
                y1,
                x2,
                y2,
                width,
            } => {
                content
                    .set_line_width(*width)
                    .move_to(*x1, PAGE_HEIGHT - *y1)
                    .line_to(*x2, PAGE_HEIGHT - *y2)
                    .stroke();
            }
            Op::Qr {
                x,
                y,
                cell,
                width,
                dark,
            } => {
                content.set_fill_gray(0.0);
                for (i, _) in dark.iter().enumerate().filter(|(_, d)| **d) {
                    let (col, row) = (i % width, i / width);
                    let left = x + col as f32 * cell;
                    let top = y + row as f32 * cell;
                    content.rect(left, PAGE_HEIGHT - top - cell, *cell, *cell);
                }
                content.fill_nonzero();
            }
        }
    }
    content.finish().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_calls_give_the_same_bytes_and_subset_fonts_keep_it_small() {
        let make = || {
            let mut doc = Document::new("Uji").unwrap();
            doc.text(50.0, 50.0, 12.0, Weight::Bold, "BERITA ACARA");
            doc.text(
                50.0,
                70.0,
                10.0,
                Weight::Regular,
                "Kecap manis “Bango” – 1 botol",
            );
            doc.line(50.0, 80.0, 500.0, 80.0, 0.5);
            doc.qr(50.0, 100.0, 90.0, "https://peken.example/verify")
                .unwrap();
            doc.finish().unwrap()
        };
        let a = make();
        assert_eq!(a, make());
        assert!(a.starts_with(b"%PDF-"));
        assert!(a.len() < 60_000, "a one-page document is {} bytes", a.len());
    }

    /// What poppler's `pdftotext` reads from the document (CI installs poppler-utils).
    fn extracted(pdf: &[u8]) -> String {
        use std::io::Write as _;
        let mut child = std::process::Command::new("pdftotext")
            .args(["-layout", "-", "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("pdftotext (poppler-utils) is installed");
        child.stdin.take().unwrap().write_all(pdf).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    }

    #[test]
    fn text_reads_back_as_written_on_every_page() {
        let mut doc = Document::new("Uji").unwrap();
        doc.text(
            50.0,
            50.0,
            14.0,
            Weight::Bold,
            "BERITA ACARA SERAH TERIMA BARANG",
        );
        doc.text(
            50.0,
            80.0,
            10.0,
            Weight::Regular,
            "Kerupuk udang “Bu Sri” – Rp 1.234.567 · é ñ",
        );
        doc.new_page();
        doc.text(50.0, 50.0, 10.0, Weight::Regular, "Halaman kedua");
        assert_eq!(doc.page_count(), 2);
        doc.set_page(0);
        doc.text(50.0, 800.0, 8.0, Weight::Regular, "Kaki halaman pertama");
        let text = extracted(&doc.finish().unwrap());
        assert!(text.contains("BERITA ACARA SERAH TERIMA BARANG"), "{text}");
        assert!(
            text.contains("Kerupuk udang “Bu Sri” – Rp 1.234.567 · é ñ"),
            "{text}"
        );
        let second = text.find("Halaman kedua").expect("the second page's text");
        let footer = text
            .find("Kaki halaman pertama")
            .expect("the first page's footer");
        assert!(
            footer < second,
            "the footer drawn later is on the first page: {text}"
        );
        assert_eq!(text.matches('\u{c}').count(), 2, "two pages: {text:?}");
    }

    #[test]
    fn wrapping_breaks_at_spaces_and_inside_long_words() {
        let doc = Document::new("Uji").unwrap();
        let lines = doc.wrap(
            "Minyak goreng kemasan premium isi ulang",
            10.0,
            Weight::Regular,
            80.0,
        );
        assert!(lines.len() > 1, "{lines:?}");
        for line in &lines {
            assert!(doc.width_of(line, 10.0, Weight::Regular) <= 80.0, "{line}");
        }
        assert_eq!(lines.join(" "), "Minyak goreng kemasan premium isi ulang");
        let long = "x".repeat(200);
        let lines = doc.wrap(&long, 10.0, Weight::Regular, 80.0);
        assert!(lines.len() > 1);
        assert_eq!(lines.concat(), long);
    }
}
