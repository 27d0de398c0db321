//! Reading back the PDFs the server renders, as far as the tests need: objects, their streams
//! (inflated), the font's ToUnicode map, and the glyph ids each line shows. Not a general PDF
//! parser: it knows the layout pdf-writer produces.

use std::collections::BTreeMap;

pub struct PdfFile {
    bytes: Vec<u8>,
}

/// One object: its dictionary as text, and its stream's bytes (inflated if deflated).
pub struct Object {
    pub dict: String,
    pub stream: Option<Vec<u8>>,
}

#[derive(Debug, PartialEq)]
enum Token {
    Str(Vec<u8>),
    Name(String),
    Op(String),
    Other,
}

impl PdfFile {
    pub fn new(bytes: &[u8]) -> Self {
        PdfFile {
            bytes: bytes.to_vec(),
        }
    }

    pub fn object(&self, id: u32) -> Object {
        let header = format!("\n{id} 0 obj\n");
        let start = find(&self.bytes, header.as_bytes(), 0).expect("the object") + header.len();
        let end = find(&self.bytes, b"\nendobj", start).expect("its end");
        let body = &self.bytes[start..end];
        let Some(at) = find(body, b"\nstream\n", 0) else {
            return Object {
                dict: String::from_utf8_lossy(body).into_owned(),
                stream: None,
            };
        };
        let dict = String::from_utf8_lossy(&body[..at]).into_owned();
        let length: usize = value_after(&dict, "/Length")
            .expect("/Length")
            .parse()
            .expect("a length");
        let data = &body[at + 8..at + 8 + length];
        let stream = if dict.contains("/FlateDecode") {
            miniz_oxide::inflate::decompress_to_vec_zlib(data).expect("inflates")
        } else {
            data.to_vec()
        };
        Object {
            dict,
            stream: Some(stream),
        }
    }

    /// The objects whose dictionary has `needle`, by id.
    pub fn objects_with(&self, needle: &str) -> Vec<u32> {
        let text = String::from_utf8_lossy(&self.bytes).into_owned();
        let mut ids = Vec::new();
        for (at, _) in text.match_indices(" 0 obj\n") {
            let id_start = text[..at].rfind('\n').map_or(0, |n| n + 1);
            let Ok(id) = text[id_start..at].parse::<u32>() else {
                continue;
            };
            if self.object(id).dict.contains(needle) {
                ids.push(id);
            }
        }
        ids
    }

    /// The id an indirect reference under `key` points to.
    pub fn reference(&self, dict: &str, key: &str) -> u32 {
        value_after(dict, key)
            .and_then(|v| v.trim_start_matches('[').parse().ok())
            .unwrap_or_else(|| panic!("{key} is a reference in {dict}"))
    }

    /// CID to text, from the font's ToUnicode map.
    pub fn to_unicode(&self) -> BTreeMap<u16, String> {
        let font = self.object(self.objects_with("/Subtype /Type0")[0]);
        let cmap = self.object(self.reference(&font.dict, "/ToUnicode"));
        let tokens = tokens(&cmap.stream.expect("a ToUnicode stream"));
        let mut map = BTreeMap::new();
        let mut inside = false;
        let mut pending: Option<Vec<u8>> = None;
        for token in tokens {
            match token {
                Token::Op(op) => inside = op == "beginbfchar" || (inside && op != "endbfchar"),
                Token::Str(s) if inside => match pending.take() {
                    None => pending = Some(s),
                    Some(cid) => {
                        map.insert(u16::from_be_bytes([cid[0], cid[1]]), utf16(&s));
                    }
                },
                _ => {}
            }
        }
        map
    }

    /// Every line the pages show, as the CIDs of its glyphs, in page order.
    pub fn shown(&self) -> Vec<Vec<u16>> {
        self.content_tokens()
            .windows(2)
            .filter_map(|w| match (&w[0], &w[1]) {
                (Token::Str(s), Token::Op(op)) if op == "Tj" => Some(
                    s.chunks(2)
                        .map(|c| u16::from_be_bytes([c[0], c[1]]))
                        .collect(),
                ),
                _ => None,
            })
            .collect()
    }

    /// The lines as a reader copying them would get them, through ToUnicode.
    pub fn text(&self) -> String {
        let map = self.to_unicode();
        let lines: Vec<String> = self
            .shown()
            .iter()
            .map(|cids| {
                cids.iter()
                    .map(|c| map.get(c).cloned().unwrap_or_default())
                    .collect()
            })
            .collect();
        lines.join("\n")
    }

    /// The ActualText of every marked span.
    pub fn actual_texts(&self) -> Vec<String> {
        self.content_tokens()
            .windows(2)
            .filter_map(|w| match (&w[0], &w[1]) {
                (Token::Name(n), Token::Str(s)) if n == "ActualText" => Some(text_string(s)),
                _ => None,
            })
            .collect()
    }

    fn content_tokens(&self) -> Vec<Token> {
        let mut all = Vec::new();
        for page in self.objects_with("/Type /Page\n") {
            let page = self.object(page);
            let content = self.object(self.reference(&page.dict, "/Contents"));
            all.extend(tokens(&content.stream.expect("content")));
        }
        all
    }
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

fn value_after<'a>(dict: &'a str, key: &str) -> Option<&'a str> {
    let at = dict.find(&format!("{key} "))? + key.len() + 1;
    dict[at..].split_whitespace().next()
}

/// UTF-16BE, as a ToUnicode map writes its text.
fn utf16(bytes: &[u8]) -> String {
    let units: Vec<u16> = bytes
        .chunks(2)
        .map(|c| u16::from_be_bytes([c[0], c.get(1).copied().unwrap_or(0)]))
        .collect();
    String::from_utf16_lossy(&units)
}

/// A text string (ActualText): UTF-16BE after a byte order mark, else ASCII.
fn text_string(bytes: &[u8]) -> String {
    match bytes.strip_prefix(&[0xfe, 0xff]) {
        Some(rest) => utf16(rest),
        None => String::from_utf8_lossy(bytes).into_owned(),
    }
}

fn tokens(data: &[u8]) -> Vec<Token> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < data.len() {
        let b = data[i];
        match b {
            b'(' => {
                let (s, next) = literal(data, i + 1);
                out.push(Token::Str(s));
                i = next;
            }
            b'<' if data.get(i + 1) == Some(&b'<') => i += 2,
            b'>' if data.get(i + 1) == Some(&b'>') => i += 2,
            b'<' => {
                let end = i + data[i..].iter().position(|&c| c == b'>').expect("hex end");
                let hex: Vec<u8> = data[i + 1..end]
                    .iter()
                    .copied()
                    .filter(u8::is_ascii_hexdigit)
                    .collect();
                let bytes = hex
                    .chunks(2)
                    .map(|p| {
                        u8::from_str_radix(std::str::from_utf8(p).unwrap_or("0"), 16).unwrap_or(0)
                    })
                    .collect();
                out.push(Token::Str(bytes));
                i = end + 1;
            }
            b'/' | b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'\'' | b'"' | b'*' => {
                let end = i
                    + 1
                    + data[i + 1..]
                        .iter()
                        .position(|c| c.is_ascii_whitespace() || b"()<>[]{}/%".contains(c))
                        .unwrap_or(data.len() - i - 1);
                let word = String::from_utf8_lossy(&data[i..end]).into_owned();
                out.push(match word.strip_prefix('/') {
                    Some(name) => Token::Name(name.to_owned()),
                    None if word.starts_with(|c: char| {
                        c.is_ascii_alphabetic() || c == '\'' || c == '"'
                    }) =>
                    {
                        Token::Op(word)
                    }
                    None => Token::Other,
                });
                i = end;
            }
            _ => i += 1,
        }
    }
    out
}

/// A literal string from just after its '(' to its matching ')', with escapes undone.
fn literal(data: &[u8], mut i: usize) -> (Vec<u8>, usize) {
    let mut out = Vec::new();
    let mut depth = 0;
    while i < data.len() {
        match data[i] {
            b'\\' => {
                i += 1;
                match data.get(i) {
                    Some(b'n') => out.push(b'\n'),
                    Some(b'r') => out.push(b'\r'),
                    Some(b't') => out.push(b'\t'),
                    Some(b'b') => out.push(8),
                    Some(b'f') => out.push(12),
                    Some(d @ b'0'..=b'7') => {
                        let mut value = u32::from(d - b'0');
                        for _ in 0..2 {
                            match data.get(i + 1) {
                                Some(d @ b'0'..=b'7') => {
                                    value = value * 8 + u32::from(d - b'0');
                                    i += 1;
                                }
                                _ => break,
                            }
                        }
                        out.push(u8::try_from(value & 0xff).unwrap_or(0));
                    }
                    Some(b'\n') => {}
                    Some(other) => out.push(*other),
                    None => break,
                }
            }
            b'(' => {
                depth += 1;
                out.push(b'(');
            }
            b')' if depth == 0 => return (out, i + 1),
            b')' => {
                depth -= 1;
                out.push(b')');
            }
            other => out.push(other),
        }
        i += 1;
    }
    (out, i)
}
