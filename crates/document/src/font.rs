//! The two embedded faces, text measurement, and the subset of each written into a document.

use std::collections::BTreeMap;

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
use pdf_writer::{Filter, Finish, Name, Pdf, Rect, Ref, Str};
use subsetter::GlyphRemapper;
use ttf_parser::{Face, GlyphId};

use crate::DocumentError;

static REGULAR: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
static BOLD: &[u8] = include_bytes!("../fonts/DejaVuSans-Bold.ttf");

/// The weight of a run of text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weight {
    Regular,
    Bold,
}

impl Weight {
    pub(crate) fn index(self) -> usize {
        match self {
            Weight::Regular => 0,
            Weight::Bold => 1,
        }
    }
}

/// The glyphs a document uses of one face, each with the character it stands for (what the
/// `ToUnicode` map tells a reader).
#[derive(Debug, Default, Clone)]
pub(crate) struct FontUse {
    glyphs: BTreeMap<u16, char>,
}

pub(crate) struct Fonts {
    faces: [Face<'static>; 2],
}

impl Fonts {
    pub(crate) fn load() -> Result<Self, DocumentError> {
        let parse = |data: &'static [u8]| {
            Face::parse(data, 0).map_err(|e| DocumentError::Font(e.to_string()))
        };
        Ok(Self {
            faces: [parse(REGULAR)?, parse(BOLD)?],
        })
    }

    fn glyph(face: &Face<'_>, ch: char) -> u16 {
        face.glyph_index(ch)
            .or_else(|| face.glyph_index('?'))
            .map_or(0, |g| g.0)
    }

    pub(crate) fn width_of(&self, weight: Weight, text: &str, size: f32) -> f32 {
        let face = &self.faces[weight.index()];
        let units: u32 = text
            .chars()
            .map(|ch| {
                u32::from(
                    face.glyph_hor_advance(GlyphId(Self::glyph(face, ch)))
                        .unwrap_or(0),
                )
            })
            .sum();
        units as f32 * size / f32::from(face.units_per_em())
    }

    pub(crate) fn glyphs(&self, weight: Weight, text: &str, used: &mut FontUse) -> Vec<u16> {
        let face = &self.faces[weight.index()];
        text.chars()
            // Control characters have no glyph and no place on paper.
            .filter(|ch| !ch.is_control())
            .map(|ch| {
                let glyph = Self::glyph(face, ch);
                used.glyphs.entry(glyph).or_insert(ch);
                glyph
            })
            .collect()
    }

    pub(crate) fn subset(&self, weight: Weight, used: &FontUse) -> Result<Subset, DocumentError> {
        let data = match weight {
            Weight::Regular => REGULAR,
            Weight::Bold => BOLD,
        };
        let face = &self.faces[weight.index()];
        let mut remapper = GlyphRemapper::new();
        for glyph in used.glyphs.keys() {
            remapper.remap(*glyph);
        }
        let font = subsetter::subset(data, 0, &remapper)
            .map_err(|e| DocumentError::Font(e.to_string()))?;
        let scale = 1000.0 / f32::from(face.units_per_em());
        let mut widths = Vec::new();
        let mut unicode = Vec::new();
        let mut old_of_new: Vec<u16> = Vec::new();
        for glyph in std::iter::once(0).chain(used.glyphs.keys().copied()) {
            let new = remapper.get(glyph).unwrap_or(0);
            if usize::from(new) == old_of_new.len() {
                old_of_new.push(glyph);
            }
        }
        for old in &old_of_new {
            let advance = face.glyph_hor_advance(GlyphId(*old)).unwrap_or(0);
            widths.push(f32::from(advance) * scale);
        }
        for (old, ch) in &used.glyphs {
            if let Some(new) = remapper.get(*old) {
                unicode.push((new, *ch));
            }
        }
        let bbox = face.global_bounding_box();
        // A stable subset tag (six capitals) from the glyphs kept, as PDF names subsets.
        let mut hash: u32 = 0x811c_9dc5;
        for old in &old_of_new {
            for b in old.to_be_bytes() {
                hash = (hash ^ u32::from(b)).wrapping_mul(0x0100_0193);
            }
        }
        let tag: String = (0..6)
            .map(|i| char::from(b'A' + ((hash >> (i * 5)) % 26) as u8))
            .collect();
        let base = match weight {
            Weight::Regular => "DejaVuSans",
            Weight::Bold => "DejaVuSans-Bold",
        };
        Ok(Subset {
            remapper,
            font,
            widths,
            unicode,
            name: format!("{tag}+{base}"),
            bbox: [
                f32::from(bbox.x_min) * scale,
                f32::from(bbox.y_min) * scale,
                f32::from(bbox.x_max) * scale,
                f32::from(bbox.y_max) * scale,
            ],
            ascent: f32::from(face.ascender()) * scale,
            descent: f32::from(face.descender()) * scale,
            cap_height: f32::from(face.capital_height().unwrap_or(face.ascender())) * scale,
            bold: weight == Weight::Bold,
        })
    }
}

/// One face's subset, ready to write.
pub(crate) struct Subset {
    remapper: GlyphRemapper,
    font: Vec<u8>,
    widths: Vec<f32>,
    unicode: Vec<(u16, char)>,
    name: String,
    bbox: [f32; 4],
    ascent: f32,
    descent: f32,
    cap_height: f32,
    bold: bool,
}

impl Subset {
    /// The glyph's id in the subset (its CID in the document).
    pub(crate) fn new_id(&self, old: u16) -> u16 {
        self.remapper.get(old).unwrap_or(0)
    }

    /// Writes the Type 0 font, its CID font, descriptor, `ToUnicode` map and font file under
    /// `ids` (in that order).
    pub(crate) fn write(&self, pdf: &mut Pdf, ids: [Ref; 5]) {
        let [type0_id, cid_id, descriptor_id, cmap_id, file_id] = ids;
        let name = Name(self.name.as_bytes());
        let system_info = SystemInfo {
            registry: Str(b"Adobe"),
            ordering: Str(b"Identity"),
            supplement: 0,
        };

        pdf.type0_font(type0_id)
            .base_font(name)
            .encoding_predefined(Name(b"Identity-H"))
            .descendant_font(cid_id)
            .to_unicode(cmap_id);

        let mut cid = pdf.cid_font(cid_id);
        cid.subtype(CidFontType::Type2)
            .base_font(name)
            .system_info(system_info)
            .font_descriptor(descriptor_id)
            .default_width(0.0)
            .cid_to_gid_map_predefined(Name(b"Identity"));
        cid.widths().consecutive(0, self.widths.iter().copied());
        cid.finish();

        let mut flags = FontFlags::NON_SYMBOLIC;
        if self.bold {
            flags |= FontFlags::FORCE_BOLD;
        }
        pdf.font_descriptor(descriptor_id)
            .name(name)
            .flags(flags)
            .bbox(Rect::new(
                self.bbox[0],
                self.bbox[1],
                self.bbox[2],
                self.bbox[3],
            ))
            .italic_angle(0.0)
            .ascent(self.ascent)
            .descent(self.descent)
            .cap_height(self.cap_height)
            .stem_v(if self.bold { 120.0 } else { 80.0 })
            .font_file2(file_id);

        let mut cmap = UnicodeCmap::new(Name(b"Custom"), system_info);
        for (glyph, ch) in &self.unicode {
            cmap.pair(*glyph, *ch);
        }
        let cmap = cmap.finish();
        pdf.cmap(cmap_id, &cmap);

        let compressed = miniz_oxide::deflate::compress_to_vec_zlib(&self.font, 9);
        pdf.stream(file_id, &compressed)
            .filter(Filter::FlateDecode)
            .pair(Name(b"Length1"), self.font.len() as i32);
    }
}
