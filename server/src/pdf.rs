//! Rendering a filled template to a real PDF (pdf-writer): the title and text wrapped by their
//! measured width and laid out over as many A4 pages as they need, set in DejaVu Sans embedded
//! as a subset ([`font`]), so a name in Polish, Greek or Cyrillic prints as written.

mod font;

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

use font::{Font, FontRefs, UsedGlyphs};

const WIDTH: f32 = 595.0;
const HEIGHT: f32 = 842.0;
const MARGIN: f32 = 72.0;
const TITLE_SIZE: f32 = 18.0;
const BODY_SIZE: f32 = 12.0;
/// Baseline to baseline, as a multiple of the font size.
const LEADING: f32 = 4.0 / 3.0;
const FONT_NAME: Name<'static> = Name(b"F1");

#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("the embedded font does not parse: {0}")]
    Font(ttf_parser::FaceParsingError),
    #[error("the embedded font could not be subset: {0}")]
    Subset(subsetter::Error),
}

/// One line of type, placed on its page.
struct Placed {
    page: usize,
    y: f32,
    size: f32,
    text: String,
}

pub fn render(title: &str, text: &str) -> Result<Vec<u8>, PdfError> {
    let font = Font::embedded()?;
    let mut lines: Vec<(f32, String)> = wrap(&font, title, TITLE_SIZE)
        .into_iter()
        .map(|l| (TITLE_SIZE, l))
        .collect();
    for paragraph in text.lines() {
        lines.extend(
            wrap(&font, paragraph, BODY_SIZE)
                .into_iter()
                .map(|l| (BODY_SIZE, l)),
        );
    }
    let placed = paginate(lines);
    let pages = placed.last().map_or(1, |p| p.page + 1);

    let font_refs = FontRefs {
        type0: Ref::new(3),
        cid_font: Ref::new(4),
        descriptor: Ref::new(5),
        program: Ref::new(6),
        to_unicode: Ref::new(7),
    };
    // Each page and its content, numbered after the font's objects.
    let mut next = Ref::new(8);
    let page_refs: Vec<(Ref, Ref)> = (0..pages).map(|_| (next.bump(), next.bump())).collect();
    let (catalog, tree) = (Ref::new(1), Ref::new(2));
    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(page_refs.iter().map(|(page, _)| *page))
        .count(i32::try_from(pages).unwrap_or(i32::MAX));

    let mut glyphs = UsedGlyphs::new(&font);
    for (i, (page_ref, content_ref)) in page_refs.into_iter().enumerate() {
        let mut page = pdf.page(page_ref);
        page.media_box(Rect::new(0.0, 0.0, WIDTH, HEIGHT));
        page.parent(tree);
        page.contents(content_ref);
        page.resources().fonts().pair(FONT_NAME, font_refs.type0);
        page.finish();
        let content = page_content(&mut glyphs, placed.iter().filter(|p| p.page == i));
        pdf.stream(content_ref, &font::deflate(&content))
            .filter(pdf_writer::Filter::FlateDecode);
    }
    glyphs.write(&mut pdf, &font_refs)?;
    Ok(pdf.finish())
}

/// Lines top to bottom, a new page whenever the next baseline would fall into the margin.
fn paginate(lines: Vec<(f32, String)>) -> Vec<Placed> {
    let mut page = 0;
    let mut y = HEIGHT - MARGIN;
    let mut placed = Vec::with_capacity(lines.len());
    for (size, text) in lines {
        if y < MARGIN {
            page += 1;
            y = HEIGHT - MARGIN;
        }
        placed.push(Placed {
            page,
            y,
            size,
            text,
        });
        y -= size * LEADING;
    }
    placed
}

fn page_content<'a>(
    glyphs: &mut UsedGlyphs<'_>,
    lines: impl Iterator<Item = &'a Placed>,
) -> Vec<u8> {
    let mut content = Content::new();
    for line in lines.filter(|l| !l.text.is_empty()) {
        let encoded = glyphs.encode(&line.text);
        // A line with a character the font lacks shows '?' for it; ActualText keeps what
        // was written for copying, searching and screen readers.
        if !encoded.exact {
            content
                .begin_marked_content_with_properties(Name(b"Span"))
                .properties()
                .actual_text(TextStr(&line.text));
        }
        content.begin_text();
        content.set_font(FONT_NAME, line.size);
        content.next_line(MARGIN, line.y);
        content.show(Str(&encoded.bytes));
        content.end_text();
        if !encoded.exact {
            content.end_marked_content();
        }
    }
    content.finish().into_vec()
}

/// A paragraph in lines no wider than the text column; an empty paragraph is one empty line.
fn wrap(font: &Font, paragraph: &str, size: f32) -> Vec<String> {
    let column = WIDTH - 2.0 * MARGIN;
    let mut lines = vec![String::new()];
    for word in paragraph.split_whitespace() {
        for piece in split_word(font, word, size, column) {
            let Some(last) = lines.last_mut() else {
                continue;
            };
            let joined = format!("{last} {piece}");
            if last.is_empty() {
                *last = piece;
            } else if font.measure(&joined, size) <= column {
                *last = joined;
            } else {
                lines.push(piece);
            }
        }
    }
    lines
}

/// A word wider than the column, broken where it must be; any other word whole.
fn split_word(font: &Font, word: &str, size: f32, column: f32) -> Vec<String> {
    if font.measure(word, size) <= column {
        return vec![word.to_owned()];
    }
    let mut pieces = vec![String::new()];
    for c in word.chars() {
        let Some(last) = pieces.last_mut() else {
            continue;
        };
        last.push(c);
        if font.measure(last, size) > column && last.chars().count() > 1 {
            last.pop();
            pieces.push(c.to_string());
        }
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_pdf_with_an_embedded_font() {
        let bytes = render("Sick note", "Zoë Łukasiewicz is unfit for work.").expect("renders");
        assert!(bytes.starts_with(b"%PDF-"));
        assert!(bytes.ends_with(b"%%EOF") || bytes.ends_with(b"%%EOF\n"));
        let text = String::from_utf8_lossy(&bytes);
        for needle in [
            "/Type0",
            "/CIDFontType2",
            "/Identity-H",
            "/FontFile2",
            "/ToUnicode",
            "+DejaVuSans",
        ] {
            assert!(text.contains(needle), "{needle}");
        }
        assert!(!text.contains("/Helvetica"));
        assert_eq!(
            render("Sick note", "Zoë").ok(),
            render("Sick note", "Zoë").ok(),
            "the same bytes each time"
        );
    }

    #[test]
    fn lines_fit_the_column_and_long_text_takes_more_pages() {
        let font = Font::embedded().expect("font");
        let column = WIDTH - 2.0 * MARGIN;
        let words = "Wide words wrap by their measured width, not by a count of bytes. ".repeat(20);
        let lines = wrap(&font, &words, BODY_SIZE);
        assert!(lines.len() > 5);
        assert!(lines.iter().all(|l| font.measure(l, BODY_SIZE) <= column));
        let long = "W".repeat(200);
        let pieces = wrap(&font, &long, BODY_SIZE);
        assert!(pieces.len() > 1 && pieces.concat() == long);
        assert_eq!(wrap(&font, "", BODY_SIZE), vec![String::new()]);

        let many: Vec<(f32, String)> = (0..100).map(|i| (BODY_SIZE, format!("line {i}"))).collect();
        let placed = paginate(many);
        assert!(placed
            .iter()
            .all(|p| p.y >= MARGIN && p.y <= HEIGHT - MARGIN));
        assert_eq!(
            placed.last().map(|p| p.page),
            Some(2),
            "100 lines at 16 pt: three pages"
        );
        let text = (0..100).map(|i| format!("line {i}\n")).collect::<String>();
        let pdf = String::from_utf8_lossy(&render("Long", &text).expect("renders")).into_owned();
        assert!(pdf.contains("/Count 3"), "nothing is cut off");
    }
}
