//! A signed copy of an agreement as a PDF: the exact text of the version signed, who
//! signed it, when, how, and the fingerprints that tie it to the version and the ledger.
//! Uses the standard Helvetica fonts every PDF reader has, so nothing is embedded.

use gatehouse_service::agreements::SignedCopy;
use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str};

const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const MARGIN: f32 = 56.0;

/// Approximate Helvetica advance widths (in thousandths of the font size), enough to wrap
/// lines safely inside the margins.
fn char_width(c: char, bold: bool) -> f32 {
    let w = match c {
        ' ' | '.' | ',' | ':' | ';' | '\'' | '!' | '|' | 'i' | 'j' | 'l' | 'I' => 280.0,
        'f' | 't' | 'r' | '(' | ')' | '-' | '[' | ']' | '/' => 340.0,
        'm' | 'w' | 'M' | 'W' | '@' => 900.0,
        c if c.is_ascii_uppercase() => 700.0,
        c if c.is_ascii_digit() => 556.0,
        _ => 560.0,
    };
    if bold { w * 1.06 } else { w }
}

fn text_width(s: &str, size: f32, bold: bool) -> f32 {
    s.chars().map(|c| char_width(c, bold)).sum::<f32>() * size / 1000.0
}

/// Split `text` into lines no wider than `width`.
fn wrap(text: &str, size: f32, bold: bool, width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let candidate = if line.is_empty() {
            word.to_owned()
        } else {
            format!("{line} {word}")
        };
        if text_width(&candidate, size, bold) <= width || line.is_empty() {
            line = candidate;
        } else {
            lines.push(std::mem::take(&mut line));
            line = word.to_owned();
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// Text in the fonts' WinAnsi encoding; characters it lacks become '?'.
fn win_ansi(s: &str) -> Vec<u8> {
    let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(s);
    bytes.into_owned()
}

struct Layout {
    pages: Vec<Content>,
    y: f32,
}

impl Layout {
    fn new() -> Self {
        Self {
            pages: vec![Content::new()],
            y: PAGE_H - MARGIN,
        }
    }

    fn line(&mut self, text: &str, size: f32, bold: bool, indent: f32) {
        if self.y < MARGIN + size {
            self.pages.push(Content::new());
            self.y = PAGE_H - MARGIN;
        }
        self.y -= size * 1.35;
        if let Some(page) = self.pages.last_mut() {
            page.begin_text();
            page.set_font(Name(if bold { b"F2" } else { b"F1" }), size);
            page.next_line(MARGIN + indent, self.y);
            page.show(Str(&win_ansi(text)));
            page.end_text();
        }
    }

    fn paragraph(&mut self, text: &str, size: f32, bold: bool, indent: f32) {
        for l in wrap(text, size, bold, PAGE_W - 2.0 * MARGIN - indent) {
            self.line(&l, size, bold, indent);
        }
    }

    fn gap(&mut self, h: f32) {
        self.y -= h;
    }
}

/// The PDF bytes of a signed copy.
pub fn signed_copy(copy: &SignedCopy, school: &str, signed_by: &str, method: &str) -> Vec<u8> {
    let s = &copy.record.signature;
    let mut l = Layout::new();
    l.paragraph(
        &format!("{school} - signed copy from Gatehouse"),
        9.0,
        false,
        0.0,
    );
    l.gap(6.0);
    l.paragraph(&copy.title, 16.0, true, 0.0);
    l.gap(6.0);
    let facts = [
        ("For", copy.person.details.full_name()),
        (
            "Signed by",
            format!("{signed_by}, typing the name \"{}\"", s.typed_name),
        ),
        (
            "Date",
            format!("{} (recorded {})", s.signed_on, s.recorded_at),
        ),
        ("How", method.to_owned()),
        (
            "Version",
            format!(
                "{}, in force from {}",
                copy.version.number,
                copy.version
                    .effective_on
                    .map(|d| d.to_string())
                    .unwrap_or_default()
            ),
        ),
        (
            "Fingerprint of the text (SHA-256)",
            copy.version.hash.clone(),
        ),
        (
            "Ledger record",
            format!("{} - {}", copy.record.seq, copy.record.hash),
        ),
    ];
    for (k, v) in facts {
        l.paragraph(k, 9.0, true, 0.0);
        l.paragraph(&v, 9.0, false, 12.0);
    }
    l.gap(10.0);
    for section in &copy.text.sections {
        if let Some(h) = &section.heading {
            l.gap(4.0);
            l.paragraph(h, 12.0, true, 0.0);
        }
        for p in &section.intro {
            l.paragraph(p, 10.0, false, 0.0);
            l.gap(3.0);
        }
        for c in &section.clauses {
            l.paragraph(&format!("{}. {}", c.number, c.text), 10.0, false, 12.0);
            l.gap(2.0);
        }
    }

    let mut pdf = Pdf::new();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let regular = Ref::new(3);
    let bold = Ref::new(4);
    let mut next = 5;
    let mut page_ids = Vec::new();
    let mut contents = Vec::new();
    for content in l.pages {
        let page = Ref::new(next);
        let body = Ref::new(next + 1);
        next += 2;
        page_ids.push(page);
        contents.push((page, body, content.finish()));
    }
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(page_ids.iter().copied())
        .count(i32::try_from(page_ids.len()).unwrap_or(1));
    for (page, body, bytes) in &contents {
        let mut p = pdf.page(*page);
        p.media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H));
        p.parent(tree);
        p.contents(*body);
        let mut resources = p.resources();
        let mut fonts = resources.fonts();
        fonts.pair(Name(b"F1"), regular);
        fonts.pair(Name(b"F2"), bold);
        fonts.finish();
        resources.finish();
        p.finish();
        pdf.stream(*body, bytes);
    }
    pdf.type1_font(regular)
        .base_font(Name(b"Helvetica"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.type1_font(bold)
        .base_font(Name(b"Helvetica-Bold"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_wraps_inside_the_margins() {
        let text = "I will report anything that worries me to the designated safeguarding lead straight away. ".repeat(5);
        let lines = wrap(&text, 10.0, false, 300.0);
        assert!(lines.len() > 3);
        assert!(lines.iter().all(|l| text_width(l, 10.0, false) <= 300.0));
        assert_eq!(
            lines.join(" "),
            text.split_whitespace().collect::<Vec<_>>().join(" ")
        );
    }

    #[test]
    fn text_is_encoded_for_the_standard_fonts() {
        assert_eq!(
            win_ansi("Zoë – £5"),
            vec![b'Z', b'o', 0xEB, b' ', 0x96, b' ', 0xA3, b'5']
        );
    }
}
