//! Rendering a filled template to a real PDF (pdf-writer). Helvetica is one of the standard
//! fonts every reader has, so nothing is embedded; text outside Latin-1 prints as '?'.

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str};

const WIDTH: f32 = 595.0;
const HEIGHT: f32 = 842.0;
const MARGIN: f32 = 72.0;
const LEADING: f32 = 16.0;
const CHARS_PER_LINE: usize = 80;

pub fn render(title: &str, text: &str) -> Vec<u8> {
    let (catalog, tree, page_id, font, content_id) = (
        Ref::new(1),
        Ref::new(2),
        Ref::new(3),
        Ref::new(4),
        Ref::new(5),
    );
    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree).kids([page_id]).count(1);
    let mut page = pdf.page(page_id);
    page.media_box(Rect::new(0.0, 0.0, WIDTH, HEIGHT));
    page.parent(tree);
    page.contents(content_id);
    page.resources().fonts().pair(Name(b"F1"), font);
    page.finish();
    pdf.type1_font(font).base_font(Name(b"Helvetica"));

    let mut content = Content::new();
    let mut y = HEIGHT - MARGIN;
    line(&mut content, &mut y, 18.0, title);
    for paragraph in text.lines() {
        for chunk in wrap(paragraph) {
            if y < MARGIN {
                break;
            }
            line(&mut content, &mut y, 12.0, &chunk);
        }
    }
    pdf.stream(content_id, &content.finish());
    pdf.finish()
}

/// One line of text at `y`, which then moves down by a line.
fn line(content: &mut Content, y: &mut f32, size: f32, s: &str) {
    content.begin_text();
    content.set_font(Name(b"F1"), size);
    content.next_line(MARGIN, *y);
    content.show(Str(latin1(s).as_slice()));
    content.end_text();
    *y -= LEADING * size / 12.0;
}

fn latin1(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
        .collect()
}

fn wrap(paragraph: &str) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in paragraph.split_whitespace() {
        let last = lines.last_mut().map(|l| l.len()).unwrap_or(0);
        if last > 0 && last + 1 + word.len() > CHARS_PER_LINE {
            lines.push(String::new());
        }
        if let Some(l) = lines.last_mut() {
            if !l.is_empty() {
                l.push(' ');
            }
            l.push_str(word);
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_pdf_with_the_text() {
        let bytes = render("Sick note", "Alex Morgan is unfit for work (until Friday).");
        assert!(bytes.starts_with(b"%PDF-"));
        assert!(bytes.ends_with(b"%%EOF") || bytes.ends_with(b"%%EOF\n"));
        let text = String::from_utf8_lossy(&bytes);
        // Balanced parentheses need no escaping in a PDF string.
        assert!(text.contains("(Alex Morgan is unfit for work (until Friday).) Tj"));
        assert!(text.contains("/Helvetica"));
    }

    #[test]
    fn long_lines_wrap() {
        let words = "word ".repeat(60);
        assert!(wrap(&words).iter().all(|l| l.len() <= CHARS_PER_LINE));
        assert_eq!(latin1("café ☕"), b"caf\xe9 ?".to_vec());
    }
}
