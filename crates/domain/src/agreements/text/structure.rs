//! From source lines to sections and clauses.

use super::line::{self, Line, Marker};
use super::{Clause, ParseReport, PolicyText, Section, candidates};

/// How many non-blank lines ahead a numbered line looks for the next number of its list.
const NUMBER_LOOKAHEAD: usize = 6;

/// Parses a policy document, plain text or Markdown, into sections and clauses.
///
/// The rules, in the order they apply:
///
/// - **Normalising**: CRLF and CR become LF, tabs and non-breaking spaces become spaces,
///   zero-width characters and inline HTML tags go, whitespace inside a paragraph is
///   collapsed.
/// - **Signature blocks** are dropped and counted: signature and date fields
///   (`Signed: …… Date: ……`, `Print name`, `Parent/carer signature`), rows of empty
///   `Label:` fields, dotted or underscored blanks, and "I have read and agree…"
///   declarations that end in blanks or stand just before a signature field.
/// - **Clauses** start at a bullet (`-`, `*`, `+`, `•`, `·`, `▪`, `◦`, `o`, a Symbol-font
///   bullet…) or a list number (`1.`, `1)`, `(1)`, `2.1`, `a)`, `(a)`, `a.`, `i.`, `(iv)`).
///   Numbered items keep their own number; bullets are numbered 1, 2, 3… within their
///   section. A further bullet straight after the first (`- o text`) is dropped.
/// - **Wrapped lines**: a line straight after a clause (or paragraph) line continues it,
///   joined with a space, unless it is a new bullet or, in plain text, looks like a
///   heading (short, capitalised, followed by a blank line). A line that is
///   indented further or starts in lower case always continues. A blank line ends a
///   clause; the list goes on if the next block is another bullet.
/// - **Headings**: Markdown `#` to `######` lines, and a short paragraph that is all
///   bold (`**At home**`). In plain text (a document with no `#`
///   headings) also a short line standing on its own: at most 80 characters, no final
///   full stop, comma or semicolon, starting with a capital; and a short numbered line
///   such as `2. Education and Curriculum` that does not continue a numbered list. A
///   heading-like line ending in `:` that leads into a list ("We will:") is an intro
///   paragraph instead, as is a lower-case lead-in ("This school") standing between a
///   heading and its list.
/// - **Title**: the first heading, when nothing comes before it (in Markdown, a level-1
///   heading; in plain text, not a numbered one).
/// - **Intro paragraphs**: paragraphs before a section's first clause. A paragraph after
///   a list starts a new section without a heading.
///
/// The canonical text ([`PolicyText::canonical`]) parses back to the same structure.
pub fn parse_policy(source: &str) -> ParseReport {
    let mut lines = line::normalise(source);
    let signature_lines_removed = remove_signature_blocks(&mut lines);
    let markdown = lines.iter().any(|l| line::atx_heading(&l.text).is_some());
    let blocks = Blocks::read(&lines, markdown);
    let (text, signature_headings) = build(&blocks.blocks, markdown);
    let candidates = candidates::find(&text);
    ParseReport {
        text,
        signature_lines_removed: signature_lines_removed
            + blocks.signature_lines
            + signature_headings,
        candidates,
    }
}

/// Blanks out signature lines and the declarations that lead into them; returns how many
/// lines went. Lines with no letter or digit (stray brackets, rules) are blanked too, but
/// only dotted or underscored blanks are counted.
fn remove_signature_blocks(lines: &mut [Line]) -> usize {
    let mut removed_here = vec![false; lines.len()];
    for (l, removed) in lines.iter_mut().zip(removed_here.iter_mut()) {
        if l.is_blank() {
            continue;
        }
        // A Markdown heading is judged by its text.
        let text = line::atx_heading(&l.text).map_or(l.text.as_str(), |(_, text)| text);
        if line::is_leader_only(text) || line::is_signature_line(text) {
            *l = Line::blank();
            *removed = true;
        } else if !line::has_alphanumeric(&l.text)
            && line::split_marker(&l.text).is_none()
            && line::atx_heading(&l.text).is_none()
        {
            *l = Line::blank();
        }
    }
    // Declarations just before a signature block: "I have read … and agree …". A
    // paragraph (not a list item) that opens with one and is followed by a signature line
    // goes too. Walking backwards lets a run of declarations go together.
    let mut paragraphs: Vec<(usize, usize)> = Vec::new();
    let mut start = None;
    for (i, l) in lines.iter().enumerate() {
        match (l.is_blank(), start) {
            (false, None) => start = Some(i),
            (true, Some(s)) => {
                paragraphs.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        paragraphs.push((s, lines.len()));
    }
    for &(start, end) in paragraphs.iter().rev() {
        let is_declaration = lines.get(start).is_some_and(|l| {
            line::split_marker(&l.text).is_none() && line::is_declaration(&l.text)
        });
        if !is_declaration {
            continue;
        }
        // The next line that is still there or went as a signature line.
        let next = (end..lines.len()).find(|&j| {
            removed_here.get(j).copied().unwrap_or(false)
                || lines.get(j).is_some_and(|l| !l.is_blank())
        });
        let signature_follows = next.is_some_and(|j| removed_here.get(j).copied().unwrap_or(false));
        if signature_follows {
            for j in start..end {
                if let Some(l) = lines.get_mut(j) {
                    *l = Line::blank();
                }
                if let Some(removed) = removed_here.get_mut(j) {
                    *removed = true;
                }
            }
        }
    }
    removed_here.iter().filter(|&&r| r).count()
}

/// The parsed blocks of a document, before sections are formed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Block {
    /// An explicit heading: Markdown `#`, or a short numbered line in plain text.
    Heading {
        /// The heading text.
        text: String,
        /// Whether it may be the document's title.
        title_ok: bool,
    },
    /// A list item.
    Item {
        /// The source's own number, if it numbered the item.
        number: Option<String>,
        /// The item's text, wrapped lines joined.
        text: String,
    },
    /// A paragraph.
    Para {
        /// The text, wrapped lines joined.
        text: String,
        /// How many source lines it came from.
        lines: usize,
    },
}

enum Open {
    Nothing,
    Item {
        number: Option<String>,
        parts: Vec<String>,
        last_indent: usize,
    },
    Para {
        parts: Vec<String>,
        last: String,
        last_indent: usize,
    },
}

struct Blocks {
    blocks: Vec<Block>,
    open: Open,
    /// Lines of blocks dropped as signature lines once their lines were joined.
    signature_lines: usize,
}

impl Blocks {
    fn read(lines: &[Line], markdown: bool) -> Blocks {
        let mut reader = Blocks {
            blocks: Vec::new(),
            open: Open::Nothing,
            signature_lines: 0,
        };
        let mut last_number: Option<u32> = None;
        for (i, l) in lines.iter().enumerate() {
            if l.is_blank() {
                reader.flush();
                continue;
            }
            if let Some((level, text)) = line::atx_heading(&l.text) {
                reader.flush();
                reader.blocks.push(Block::Heading {
                    text: text.to_string(),
                    title_ok: level == 1,
                });
                last_number = None;
                continue;
            }
            if line::is_rule(&l.text) {
                reader.flush();
                continue;
            }
            let next = lines.get(i + 1);
            if let Some((marker, rest)) = line::split_marker(&l.text) {
                let (number, value) = match marker {
                    Marker::Bullet => (None, None),
                    Marker::Number { label, value } => (Some(label), value),
                };
                if !markdown
                    && let Some(value) = value
                    && numbered_heading(lines, i, value, rest, last_number)
                {
                    reader.flush();
                    reader.blocks.push(Block::Heading {
                        text: l.text.clone(),
                        title_ok: false,
                    });
                    last_number = None;
                    continue;
                }
                if value.is_some() {
                    last_number = value;
                }
                reader.flush();
                reader.open = Open::Item {
                    number,
                    parts: vec![rest.to_string()],
                    last_indent: l.indent,
                };
                continue;
            }
            match &mut reader.open {
                Open::Item {
                    parts, last_indent, ..
                } => {
                    let empty_so_far = parts.iter().all(|p| p.trim().is_empty());
                    if empty_so_far || markdown || !breaks_item(l, *last_indent, next) {
                        parts.push(l.text.clone());
                        *last_indent = l.indent;
                        continue;
                    }
                }
                Open::Para {
                    parts,
                    last,
                    last_indent,
                } => {
                    if markdown || !breaks_para(last, parts.len(), *last_indent, l, next) {
                        parts.push(l.text.clone());
                        last.clone_from(&l.text);
                        *last_indent = l.indent;
                        continue;
                    }
                }
                Open::Nothing => {}
            }
            reader.flush();
            reader.open = Open::Para {
                parts: vec![l.text.clone()],
                last: l.text.clone(),
                last_indent: l.indent,
            };
        }
        reader.flush();
        reader
    }

    fn flush(&mut self) {
        match std::mem::replace(&mut self.open, Open::Nothing) {
            Open::Nothing => {}
            Open::Item { number, parts, .. } => {
                let text = line::collapse_ws(&parts.join(" "));
                // Joined up, wrapped lines can make a signature line ("I have read the
                // rules" / "and agree ________").
                if line::is_signature_line(&format!("- {text}")) {
                    self.signature_lines += parts.len();
                } else if !text.is_empty() {
                    self.blocks.push(Block::Item { number, text });
                }
            }
            Open::Para { parts, .. } => {
                let text = line::collapse_ws(&parts.join(" "));
                if line::is_signature_line(&text) {
                    self.signature_lines += parts.len();
                } else if !text.is_empty() {
                    self.blocks.push(Block::Para {
                        text,
                        lines: parts.len(),
                    });
                }
            }
        }
    }
}

/// Whether the next line after `l` leaves room for `l` to be a heading: the end, a blank
/// line, a list item or a Markdown heading.
fn ends_block(next: Option<&Line>) -> bool {
    next.is_none_or(|n| {
        n.is_blank()
            || line::split_marker(&n.text).is_some()
            || line::atx_heading(&n.text).is_some()
    })
}

/// In plain text, whether a line straight after a list item's line starts something new
/// (a heading standing before a blank line) instead of continuing the item. A short
/// capitalised line followed by the next bullet is taken as the item's wrapped end.
fn breaks_item(l: &Line, last_indent: usize, next: Option<&Line>) -> bool {
    l.indent <= last_indent
        && line::starts_fresh(&l.text)
        && line::heading_like(&l.text)
        && next.is_none_or(|n| n.is_blank() || line::atx_heading(&n.text).is_some())
}

/// In plain text, whether a line straight after a paragraph's line starts a new block.
fn breaks_para(
    last: &str,
    lines_so_far: usize,
    last_indent: usize,
    l: &Line,
    next: Option<&Line>,
) -> bool {
    if l.indent > last_indent || !line::starts_fresh(&l.text) {
        return false;
    }
    if last.ends_with(':') {
        return true;
    }
    if lines_so_far == 1 && line::heading_like(last) && last.chars().count() <= 50 {
        return true;
    }
    line::heading_like(&l.text)
        && ends_block(next)
        && matches!(last.chars().last(), Some('.' | '!' | '?'))
}

/// Whether a numbered line in plain text is a section heading (`2. Education and
/// Curriculum`) rather than a list item: short, capitalised, no closing full stop, not
/// the next number of the list before it and not followed soon by the next number.
fn numbered_heading(
    lines: &[Line],
    at: usize,
    value: u32,
    rest: &str,
    last_number: Option<u32>,
) -> bool {
    let Some(l) = lines.get(at) else {
        return false;
    };
    if l.text.chars().count() > 80
        || rest.is_empty()
        || !line::heading_like(rest)
        || !line::starts_fresh(rest)
        || rest.ends_with(':')
    {
        return false;
    }
    if last_number.is_some_and(|n| n.checked_add(1) == Some(value)) {
        return false;
    }
    // The next number of the list soon after, with nothing but this item's own wrapped
    // lines in between, makes this an item; a paragraph or a bulleted list in between
    // makes both numbered lines headings.
    let mut after_blank = false;
    let mut seen = 0;
    for n in lines.iter().skip(at + 1) {
        if n.is_blank() {
            after_blank = true;
            continue;
        }
        seen += 1;
        if seen > NUMBER_LOOKAHEAD {
            break;
        }
        match line::split_marker(&n.text) {
            Some((Marker::Number { value: Some(v), .. }, _)) if value.checked_add(1) == Some(v) => {
                return false;
            }
            Some((Marker::Bullet, _)) => return true,
            Some(_) => {}
            None if after_blank => return true,
            None => {}
        }
        after_blank = false;
    }
    true
}

/// Assembles blocks into a title and sections.
struct Builder {
    title: Option<String>,
    sections: Vec<Section>,
    /// Headings dropped as signature lines.
    signature_lines: usize,
}

impl Builder {
    fn nothing_yet(&self) -> bool {
        self.title.is_none() && self.sections.is_empty()
    }

    fn current_has_clauses(&self) -> bool {
        self.sections.last().is_some_and(|s| !s.clauses.is_empty())
    }

    /// Whether the last thing emitted is a heading (or the title) with nothing under it.
    fn under_bare_heading(&self) -> bool {
        match self.sections.last() {
            Some(s) => s.heading.is_some() && s.intro.is_empty() && s.clauses.is_empty(),
            None => self.title.is_some(),
        }
    }

    fn heading(&mut self, text: &str, title_ok: bool) {
        let text = line::clean_heading(text);
        if text.is_empty() {
            return;
        }
        // Without its colon a heading can read as a signature field ("Signed:" rows are
        // caught earlier; this keeps the canonical text reading back the same).
        if line::is_signature_line(&text) {
            self.signature_lines += 1;
            return;
        }
        if title_ok && self.nothing_yet() {
            self.title = Some(text);
        } else {
            self.sections.push(Section {
                heading: Some(text),
                intro: Vec::new(),
                clauses: Vec::new(),
            });
        }
    }

    fn intro(&mut self, text: &str) {
        match self.sections.last_mut() {
            Some(section) if section.clauses.is_empty() => section.intro.push(text.to_string()),
            _ => self.sections.push(Section {
                heading: None,
                intro: vec![text.to_string()],
                clauses: Vec::new(),
            }),
        }
    }

    fn clause(&mut self, number: Option<&str>, text: &str) {
        if self.sections.is_empty() {
            self.sections.push(Section {
                heading: None,
                intro: Vec::new(),
                clauses: Vec::new(),
            });
        }
        if let Some(section) = self.sections.last_mut() {
            let number =
                number.map_or_else(|| (section.clauses.len() + 1).to_string(), str::to_string);
            section.clauses.push(Clause {
                number,
                text: text.to_string(),
            });
        }
    }

    /// A one-line paragraph that looks like a heading, in plain text.
    fn heading_like_para(&mut self, text: &str, next_is_item: bool) {
        let cleaned = line::clean_heading(text);
        if text.ends_with(':') {
            if !self.current_has_clauses() {
                if line::title_case(&cleaned) {
                    // "Using Computers:" after an opening paragraph.
                    self.heading(text, true);
                } else {
                    // "We will:" leading into the list under a heading.
                    self.intro(text);
                }
            } else if cleaned.split_whitespace().count() > 5 || cleaned.contains(',') {
                // A lead-in sentence after a list: a new untitled section.
                self.intro(text);
            } else {
                self.heading(text, false);
            }
        } else if self.under_bare_heading() && next_is_item && line::lead_in(&cleaned) {
            // "This school" between a heading and the list it leads into.
            self.intro(text);
        } else {
            self.heading(text, true);
        }
    }
}

fn build(blocks: &[Block], markdown: bool) -> (PolicyText, usize) {
    let mut b = Builder {
        title: None,
        sections: Vec::new(),
        signature_lines: 0,
    };
    for (i, block) in blocks.iter().enumerate() {
        match block {
            Block::Heading { text, title_ok } => b.heading(text, *title_ok),
            Block::Item { number, text } => b.clause(number.as_deref(), text),
            Block::Para { text, lines } => {
                if line::all_bold(text) && line::heading_like(text) {
                    b.heading(text, true);
                } else if !markdown && *lines == 1 && line::heading_like(text) {
                    let next_is_item = matches!(blocks.get(i + 1), Some(Block::Item { .. }));
                    b.heading_like_para(text, next_is_item);
                } else {
                    b.intro(text);
                }
            }
        }
    }
    let text = PolicyText {
        title: b.title,
        sections: b.sections,
    };
    (text, b.signature_lines)
}
