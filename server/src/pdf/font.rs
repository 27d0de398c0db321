//! The font every document is set in: DejaVu Sans, compiled into the binary (no system font is
//! read, so a fresh machine renders the same), measured with ttf-parser, cut down to the glyphs
//! one document uses (subsetter) and embedded as a Type0 font — CIDFontType2, Identity-H — with
//! its glyph widths and a ToUnicode map, so readers show the text as written and can search and
//! copy it.
//!
//! Coverage: DejaVu Sans has Latin with Latin-1, Latin Extended-A and -B and IPA, Greek,
//! Cyrillic, Armenian, Georgian, Hebrew, basic Arabic, and common punctuation and symbols; it
//! has no CJK, Thai or Indic scripts. A character it lacks prints as '?', and the line carries
//! its real text as ActualText so copying it still gives what was written.

use std::collections::BTreeMap;

use pdf_writer::{
    types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap},
    Filter, Finish, Name, Pdf, Rect, Ref, Str,
};
use sha2::{Digest, Sha256};
use subsetter::GlyphRemapper;
use ttf_parser::{Face, GlyphId};

use super::PdfError;

/// DejaVu Sans 2.37; its licence is in `server/assets/fonts/LICENSE-DejaVu.txt`.
static DEJAVU_SANS: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
const POSTSCRIPT_NAME: &str = "DejaVuSans";

/// Glyph space: PDF font metrics are in thousandths of the font size.
const PDF_UNITS: f32 = 1000.0;

const IDENTITY: SystemInfo<'static> = SystemInfo {
    registry: Str(b"Adobe"),
    ordering: Str(b"Identity"),
    supplement: 0,
};

/// The parsed font: which glyph shows a character, and how wide it is.
pub struct Font {
    face: Face<'static>,
    /// Printed for a character the font lacks: a visible mark, where the font's empty
    /// `.notdef` box would look like a stray rectangle.
    missing: u16,
}

impl Font {
    pub fn embedded() -> Result<Self, PdfError> {
        let face = Face::parse(DEJAVU_SANS, 0).map_err(PdfError::Font)?;
        let missing = face.glyph_index('?').map_or(0, |g| g.0);
        Ok(Font { face, missing })
    }

    /// The glyph for `c`, or `None` if the font has none.
    pub fn glyph(&self, c: char) -> Option<u16> {
        self.face.glyph_index(c).map(|g| g.0)
    }

    /// A glyph's advance in thousandths of the font size.
    fn advance(&self, glyph: u16) -> f32 {
        let units = self.face.glyph_hor_advance(GlyphId(glyph)).unwrap_or(0);
        f32::from(units) * PDF_UNITS / f32::from(self.face.units_per_em())
    }

    /// How wide `text` sets at `size` points, as it will be printed (a missing character
    /// at the width of the '?' that stands in for it).
    pub fn measure(&self, text: &str, size: f32) -> f32 {
        let thousandths: f32 = printable(text)
            .map(|c| self.advance(self.glyph(c).unwrap_or(self.missing)))
            .sum();
        thousandths * size / PDF_UNITS
    }

    fn scaled(&self, units: i16) -> f32 {
        f32::from(units) * PDF_UNITS / f32::from(self.face.units_per_em())
    }
}

/// The characters of `text` that are printed: control characters take no glyph.
fn printable(text: &str) -> impl Iterator<Item = char> + '_ {
    text.chars().filter(|c| !c.is_control())
}

/// One line, as a show-text operand: two bytes per glyph (Identity-H), in the subset's
/// numbering. `exact` is false if a character had to print as '?'.
pub struct Encoded {
    pub bytes: Vec<u8>,
    pub exact: bool,
}

/// The glyphs one document uses, numbered as they will be in its subset (the subset's glyph
/// ids are the CIDs the content shows, through CIDToGIDMap Identity).
pub struct UsedGlyphs<'f> {
    font: &'f Font,
    remapper: GlyphRemapper,
    /// What each CID stands for, for the ToUnicode map: the first character seen with it.
    text: BTreeMap<u16, char>,
}

/// Where the font's objects go in the document.
pub struct FontRefs {
    pub type0: Ref,
    pub cid_font: Ref,
    pub descriptor: Ref,
    pub program: Ref,
    pub to_unicode: Ref,
}

impl<'f> UsedGlyphs<'f> {
    pub fn new(font: &'f Font) -> Self {
        UsedGlyphs {
            font,
            remapper: GlyphRemapper::new(),
            text: BTreeMap::new(),
        }
    }

    pub fn encode(&mut self, line: &str) -> Encoded {
        let mut encoded = Encoded {
            bytes: Vec::with_capacity(line.len() * 2),
            exact: true,
        };
        for c in printable(line) {
            let (glyph, shown) = match self.font.glyph(c) {
                Some(g) => (g, c),
                None => {
                    encoded.exact = false;
                    (self.font.missing, '?')
                }
            };
            let cid = self.remapper.remap(glyph);
            self.text.entry(cid).or_insert(shown);
            encoded.bytes.extend(cid.to_be_bytes());
        }
        encoded
    }

    /// Writes the font: the Type0 font the pages name, its CID font with widths, the
    /// descriptor, the subset program (deflated) and the ToUnicode map.
    pub fn write(self, pdf: &mut Pdf, refs: &FontRefs) -> Result<(), PdfError> {
        let program =
            subsetter::subset(DEJAVU_SANS, 0, &self.remapper).map_err(PdfError::Subset)?;
        let base = format!("{}+{POSTSCRIPT_NAME}", self.subset_tag());
        let base = Name(base.as_bytes());

        pdf.type0_font(refs.type0)
            .base_font(base)
            .encoding_predefined(Name(b"Identity-H"))
            .descendant_font(refs.cid_font)
            .to_unicode(refs.to_unicode);

        let widths: Vec<f32> = self
            .remapper
            .remapped_gids()
            .map(|g| self.font.advance(g))
            .collect();
        let mut cid = pdf.cid_font(refs.cid_font);
        cid.subtype(CidFontType::Type2)
            .base_font(base)
            .system_info(IDENTITY)
            .font_descriptor(refs.descriptor)
            .cid_to_gid_map_predefined(Name(b"Identity"));
        cid.widths().consecutive(0, widths);
        cid.finish();

        self.descriptor(pdf, refs, base);

        let deflated = deflate(&program);
        let length = i32::try_from(program.len()).unwrap_or(i32::MAX);
        pdf.stream(refs.program, &deflated)
            .filter(Filter::FlateDecode)
            .pair(Name(b"Length1"), length);

        let mut cmap = UnicodeCmap::new(Name(b"Custom"), IDENTITY);
        for (cid, c) in &self.text {
            cmap.pair(*cid, *c);
        }
        let cmap = deflate(&cmap.finish());
        pdf.cmap(refs.to_unicode, &cmap).filter(Filter::FlateDecode);
        Ok(())
    }

    fn descriptor(&self, pdf: &mut Pdf, refs: &FontRefs, base: Name<'_>) {
        let face = &self.font.face;
        let b = face.global_bounding_box();
        let f = |units: i16| self.font.scaled(units);
        let ascent = f(face.ascender());
        // The usual estimate from the weight: the PDF wants a stem width, fonts do not say.
        let stem_v = 10.0 + 0.244 * (f32::from(face.weight().to_number()) - 50.0);
        pdf.font_descriptor(refs.descriptor)
            .name(base)
            // Symbolic: the glyphs are addressed by CID, not by a standard Latin encoding.
            .flags(FontFlags::SYMBOLIC)
            .bbox(Rect::new(f(b.x_min), f(b.y_min), f(b.x_max), f(b.y_max)))
            .italic_angle(face.italic_angle())
            .ascent(ascent)
            .descent(f(face.descender()))
            .cap_height(face.capital_height().map_or(ascent, f))
            .stem_v(stem_v)
            .font_file2(refs.program);
    }

    /// Six capitals naming this subset (PDF's `ABCDEF+Font` convention): the same glyphs give
    /// the same tag, so a document rendered twice is the same bytes.
    fn subset_tag(&self) -> String {
        let mut hasher = Sha256::new();
        for glyph in self.remapper.remapped_gids() {
            hasher.update(glyph.to_be_bytes());
        }
        hasher
            .finalize()
            .iter()
            .take(6)
            .map(|b| char::from(b'A' + b % 26))
            .collect()
    }
}

pub fn deflate(data: &[u8]) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec_zlib(data, 6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin_extended_greek_and_cyrillic_are_covered_cjk_is_not() {
        let font = Font::embedded().expect("the embedded font parses");
        for c in "Zoë Łukasiewicz Ωμέγα Жуков ŞĞİ ĂȚ".chars() {
            assert!(font.glyph(c).is_some_and(|g| g != 0), "{c}");
        }
        assert_eq!(font.glyph('王'), None);
        let mut used = UsedGlyphs::new(&font);
        let line = used.encode("Zoë 王");
        assert!(!line.exact);
        // Z, o, ë, space, then '?' for 王: .notdef is CID 0, so they are 1 to 5.
        assert_eq!(line.bytes, vec![0, 1, 0, 2, 0, 3, 0, 4, 0, 5]);
        assert_eq!(used.text.get(&5), Some(&'?'));
        assert!(used.encode("oë").exact);
        assert_eq!(
            used.remapper.num_gids(),
            6,
            "a glyph used twice is kept once"
        );
    }

    #[test]
    fn measuring_follows_the_glyphs() {
        let font = Font::embedded().expect("the embedded font parses");
        let one = font.measure("W", 12.0);
        assert!(one > font.measure("i", 12.0));
        assert!((font.measure("WW", 12.0) - 2.0 * one).abs() < 0.001);
        assert!((font.measure("WW", 24.0) - 4.0 * one).abs() < 0.001);
        assert_eq!(font.measure("\u{7}", 12.0), 0.0);
    }
}
