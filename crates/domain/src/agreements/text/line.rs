//! Line-level rules: normalising the source, list markers, heading shapes and signature
//! lines.

/// One source line after normalisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Line {
    /// The line with runs of spaces collapsed and no leading or trailing spaces; empty
    /// for a blank line.
    pub text: String,
    /// How many spaces it was indented by (tabs count as one).
    pub indent: usize,
}

impl Line {
    pub(super) fn is_blank(&self) -> bool {
        self.text.is_empty()
    }

    pub(super) fn blank() -> Self {
        Line {
            text: String::new(),
            indent: 0,
        }
    }
}

/// Splits the source into normalised lines: CRLF/CR and other line separators become
/// `\n`, tabs and every kind of space become a plain space, zero-width and control
/// characters go, inline HTML tags (`<u>`, `<b>`, `<br>`…) go, trailing spaces go.
pub(super) fn normalise(source: &str) -> Vec<Line> {
    let mut cleaned = String::with_capacity(source.len());
    let mut chars = source.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                cleaned.push('\n');
            }
            '\n' | '\u{0B}' | '\u{0C}' | '\u{85}' | '\u{2028}' | '\u{2029}' => cleaned.push('\n'),
            '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
            | '\u{AD}'
            | '\u{180E}' => {}
            c if c.is_whitespace() => cleaned.push(' '),
            c if c.is_control() => {}
            c => cleaned.push(c),
        }
    }
    cleaned
        .split('\n')
        .map(|raw| {
            let raw = strip_tags(raw);
            let trimmed_end = raw.trim_end();
            let text = trimmed_end.trim_start();
            Line {
                indent: trimmed_end.len().saturating_sub(text.len()),
                text: collapse_ws(text),
            }
        })
        .collect()
}

/// Collapses every run of whitespace to one space and trims the ends.
pub(super) fn collapse_ws(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

const INLINE_TAGS: &[&str] = &[
    "u", "b", "i", "em", "strong", "span", "sup", "sub", "mark", "ins", "del", "s", "font",
    "small", "big",
];
const BREAK_TAGS: &[&str] = &["br", "p", "div"];

/// Removes inline HTML tags, as some Markdown exports keep `<u>…</u>` for underlining.
fn strip_tags(line: &str) -> String {
    let mut current = line.to_string();
    // Each pass that changes anything makes the line shorter, so this ends.
    loop {
        let next = strip_tags_once(&current);
        if next == current {
            return next;
        }
        current = next;
    }
}

fn strip_tags_once(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find('<') {
        let before = rest.get(..pos).unwrap_or("");
        let after = rest.get(pos..).unwrap_or("");
        out.push_str(before);
        match tag_len(after) {
            Some((len, is_break)) => {
                if is_break {
                    out.push(' ');
                }
                rest = after.get(len..).unwrap_or("");
            }
            None => {
                out.push('<');
                rest = after.get(1..).unwrap_or("");
            }
        }
    }
    out.push_str(rest);
    out
}

/// The byte length of a known HTML tag at the start of `s` (which starts with `<`), and
/// whether it breaks a line.
fn tag_len(s: &str) -> Option<(usize, bool)> {
    let end = s.find('>')?;
    let inner = s.get(1..end)?;
    if inner.contains('<') {
        return None;
    }
    let inner = inner.trim();
    let inner = inner.strip_prefix('/').unwrap_or(inner);
    let inner = inner.strip_suffix('/').unwrap_or(inner).trim_end();
    let name_len = inner
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(inner.len());
    let name = inner.get(..name_len)?.to_ascii_lowercase();
    let after_name = inner.get(name_len..)?;
    if !(after_name.is_empty() || after_name.starts_with(' ')) {
        return None;
    }
    if INLINE_TAGS.contains(&name.as_str()) {
        Some((end + 1, false))
    } else if BREAK_TAGS.contains(&name.as_str()) {
        Some((end + 1, true))
    } else {
        None
    }
}

/// A list marker at the start of a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Marker {
    /// A bullet: `-`, `*`, `•`, `·`, `o`, a Symbol-font bullet…
    Bullet,
    /// A number or letter the source gave the item.
    Number {
        /// The number as written, without punctuation: `"3"`, `"b"`, `"iv"`, `"2.1"`.
        label: String,
        /// Its value when it is a plain decimal number.
        value: Option<u32>,
    },
}

/// Bullet characters that may be followed directly by the text.
const BULLET_SYMBOLS: &[char] = &[
    '•', '·', '▪', '▫', '◦', '●', '○', '■', '□', '‣', '⁃', '➢', '➤', '►', '▶', '✓', '✔', '☐', '☑',
    '☒', '∙', '\u{F0B7}', '\u{F0A7}', '\u{F076}', '\u{F0D8}', '\u{F0FC}', '\u{F0A8}',
];

/// Splits a list marker (and any further bullets and a `[ ]` checkbox after it) off the
/// start of a trimmed line.
pub(super) fn split_marker(text: &str) -> Option<(Marker, &str)> {
    let (marker, rest) = match numbered(text) {
        Some(found) => found,
        None => (Marker::Bullet, bullet(text)?),
    };
    let mut rest = rest;
    while let Some(more) = bullet(rest) {
        rest = more;
    }
    for checkbox in ["[ ]", "[x]", "[X]"] {
        if let Some(after) = rest.strip_prefix(checkbox)
            && (after.is_empty() || after.starts_with(' '))
        {
            rest = after.trim_start();
        }
    }
    Some((marker, rest))
}

fn bullet(text: &str) -> Option<&str> {
    let mut chars = text.chars();
    let first = chars.next()?;
    let rest = chars.as_str();
    match first {
        '-' | '*' | '+' | '–' | '—' => {
            if rest.starts_with(' ') {
                Some(rest.trim_start())
            } else if rest.is_empty() {
                Some("")
            } else {
                None
            }
        }
        // Word exports the second-level bullet as a lone letter o.
        'o' => (rest.is_empty() || rest.starts_with(' ')).then(|| rest.trim_start()),
        c if BULLET_SYMBOLS.contains(&c) => Some(rest.trim_start()),
        _ => None,
    }
}

/// The kind of a list number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NumberKind {
    /// `3`
    Decimal(u32),
    /// `2.1`
    MultiLevel,
    /// `b` (may also be a roman numeral such as `i`)
    LowerLetter,
    /// `B`
    UpperLetter,
    /// `iv`
    LowerRoman,
    /// `IV`
    UpperRoman,
}

fn number_kind(token: &str) -> Option<NumberKind> {
    if token.is_empty() {
        return None;
    }
    if token.contains('.') {
        let groups: Vec<&str> = token.split('.').collect();
        let ok = groups.len() <= 4
            && groups
                .iter()
                .all(|g| (1..=3).contains(&g.len()) && g.chars().all(|c| c.is_ascii_digit()));
        return ok.then_some(NumberKind::MultiLevel);
    }
    if token.len() <= 3 && token.chars().all(|c| c.is_ascii_digit()) {
        return token.parse().ok().map(NumberKind::Decimal);
    }
    let mut chars = token.chars();
    if let (Some(c), None) = (chars.next(), chars.next()) {
        if c.is_ascii_lowercase() {
            return Some(NumberKind::LowerLetter);
        }
        if c.is_ascii_uppercase() {
            return Some(NumberKind::UpperLetter);
        }
        return None;
    }
    if token.len() <= 6 {
        if token.chars().all(|c| matches!(c, 'i' | 'v' | 'x')) {
            return Some(NumberKind::LowerRoman);
        }
        if token.chars().all(|c| matches!(c, 'I' | 'V' | 'X')) {
            return Some(NumberKind::UpperRoman);
        }
    }
    None
}

/// A numbered-list marker: `1.`, `1)`, `(1)`, `2.1`, `2.1.`, `a)`, `(a)`, `a.`, `iv.`,
/// `(iv)`, `B)`, `(B)`, `IV)`. Upper-case letters and numerals need a bracket, since
/// `A. N. Other` is a name.
fn numbered(text: &str) -> Option<(Marker, &str)> {
    let (open, body) = match text.strip_prefix('(') {
        Some(body) => (true, body),
        None => (false, text),
    };
    let token_len = body
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.'))
        .unwrap_or(body.len());
    let raw = body.get(..token_len)?;
    let after = body.get(token_len..)?;
    let (token, dot) = match raw.strip_suffix('.') {
        Some(token) => (token, true),
        None => (raw, false),
    };
    let kind = number_kind(token)?;
    let rest = if open {
        if dot {
            return None;
        }
        after.strip_prefix(')')?
    } else if let Some(rest) = after.strip_prefix(')') {
        if dot {
            return None;
        }
        rest
    } else if dot {
        match kind {
            NumberKind::UpperLetter | NumberKind::UpperRoman => return None,
            _ => after,
        }
    } else if kind == NumberKind::MultiLevel {
        after
    } else {
        return None;
    };
    if !(rest.is_empty() || rest.starts_with(' ')) {
        return None;
    }
    let value = match kind {
        NumberKind::Decimal(value) => Some(value),
        _ => None,
    };
    Some((
        Marker::Number {
            label: token.to_string(),
            value,
        },
        rest.trim_start(),
    ))
}

/// How a clause number is written in the canonical text (`2.`, `2.1.`, `b)`, `iv)`), or
/// `None` when it is not a number the parser would read back.
pub(super) fn number_label(number: &str) -> Option<String> {
    match number_kind(number)? {
        NumberKind::Decimal(_) | NumberKind::MultiLevel => Some(format!("{number}.")),
        _ => Some(format!("{number})")),
    }
}

/// A Markdown ATX heading (`## Heading`): its level and text. A bare `#` is an empty
/// heading (canonical text without a title starts with one).
pub(super) fn atx_heading(text: &str) -> Option<(usize, &str)> {
    let hashes = text.chars().take_while(|&c| c == '#').count();
    if !(1..=6).contains(&hashes) {
        return None;
    }
    let rest = text.get(hashes..)?;
    if !(rest.is_empty() || rest.starts_with(' ')) {
        return None;
    }
    Some((hashes, rest.trim()))
}

/// A horizontal rule such as `-----`, `=====` or `* * *`.
pub(super) fn is_rule(text: &str) -> bool {
    let marks = text.chars().filter(|c| !c.is_whitespace()).count();
    marks >= 3
        && text
            .chars()
            .all(|c| c.is_whitespace() || matches!(c, '-' | '=' | '*' | '~' | '—' | '–' | '─'))
}

/// Whether the line has any letter or digit.
pub(super) fn has_alphanumeric(text: &str) -> bool {
    text.chars().any(char::is_alphanumeric)
}

/// Strips Markdown emphasis wrapping the whole text: `**Rules**` → `Rules`.
fn strip_emphasis(text: &str) -> &str {
    let mut t = text.trim();
    loop {
        let inner = ["**", "__"].iter().find_map(|m| {
            t.strip_prefix(m)
                .and_then(|rest| rest.strip_suffix(m))
                .filter(|inner| !inner.trim().is_empty())
        });
        match inner {
            Some(inner) => t = inner.trim(),
            None => return t,
        }
    }
}

/// Whether the whole text is bold (`**Rules**`, `__Rules__`): a Markdown writer's
/// heading.
pub(super) fn all_bold(text: &str) -> bool {
    strip_emphasis(text) != text.trim()
}

/// A heading as it is kept: whitespace collapsed, emphasis markers and trailing colons
/// removed.
pub(super) fn clean_heading(text: &str) -> String {
    let mut current = collapse_ws(text);
    loop {
        let next = strip_emphasis(current.trim_end_matches(':').trim_end()).to_string();
        if next == current {
            return next;
        }
        current = next;
    }
}

/// A line that could be a heading: short, no closing full stop, comma or semicolon,
/// starting with a capital (or wholly in brackets, like `(code of conduct)`).
pub(super) fn heading_like(text: &str) -> bool {
    let core = strip_emphasis(text);
    let length = core.chars().count();
    if length == 0 || length > 80 || !core.chars().any(char::is_alphabetic) {
        return false;
    }
    if matches!(core.chars().last(), Some('.' | ',' | ';' | '…')) {
        return false;
    }
    let bracketed = (core.starts_with('(') && core.ends_with(')'))
        || (core.starts_with('[') && core.ends_with(']'));
    let first_word_capital = core
        .split_whitespace()
        .next()
        .is_some_and(|w| w.chars().any(char::is_uppercase));
    let first_letter_capital = core
        .chars()
        .find(|c| c.is_alphabetic())
        .is_some_and(char::is_uppercase);
    bracketed || first_word_capital || first_letter_capital
}

const MINOR_WORDS: &[&str] = &[
    "a", "an", "the", "and", "or", "of", "to", "in", "on", "at", "for", "with", "from", "by",
    "this", "that", "these", "those", "your", "our", "their", "will", "into", "onto", "when",
    "what", "about", "its", "than", "then", "over", "upon",
];

/// Whether every significant word (four letters or more, not a minor word) has a capital
/// letter: `Key Responsibilities`, `Headteacher`, `eSafety Rules`, but not `This school`.
pub(super) fn title_case(text: &str) -> bool {
    let significant: Vec<&str> = text
        .split_whitespace()
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()))
        .filter(|w| {
            w.chars().filter(|c| c.is_alphabetic()).count() >= 4
                && !MINOR_WORDS.contains(&w.to_lowercase().as_str())
        })
        .collect();
    !significant.is_empty()
        && significant
            .iter()
            .all(|w| w.chars().any(char::is_uppercase))
}

/// Words that open a lead-in sentence fragment rather than a heading: "This school",
/// "In this school", "We will".
const LEAD_IN_STARTS: &[&str] = &[
    "this", "the", "we", "in", "at", "all", "each", "every", "our", "you", "i", "they", "it", "to",
    "when", "as", "by", "if", "where",
];

/// Whether a short line reads as the start of a sentence that the list below finishes.
pub(super) fn lead_in(text: &str) -> bool {
    !title_case(text)
        && text
            .split_whitespace()
            .next()
            .is_some_and(|w| LEAD_IN_STARTS.contains(&w.to_lowercase().as_str()))
}

/// The first character decides whether a line may start something new: a lower-case
/// letter or punctuation (other than an opening bracket or quote) continues the line
/// before.
pub(super) fn starts_fresh(text: &str) -> bool {
    text.chars()
        .next()
        .is_some_and(|c| c.is_uppercase() || c.is_ascii_digit() || "(['\"‘“".contains(c))
}

// ----- signature blocks -----

/// Words that name a signature field when a line also has a dotted or underscored blank.
const FIELD_WORDS: &[&str] = &[
    "name",
    "names",
    "date",
    "dated",
    "print",
    "printed",
    "class",
    "form",
    "dob",
    "title",
    "position",
    "relationship",
    "tutor",
    "year",
    "parent",
    "carer",
    "pupil",
    "child",
    "student",
    "guardian",
    "witness",
];

/// Openings of "I have read and agree" declarations that precede a signature.
const DECLARATIONS: &[&str] = &[
    "i have read",
    "i/we have read",
    "we have read",
    "i have discussed",
    "we have discussed",
    "i have understood",
    "i agree",
    "we agree",
    "i confirm",
    "we confirm",
    "i understand and agree",
    "i accept",
    "by signing",
    "i, the undersigned",
    "i the undersigned",
];

/// The text of a line with any list marker taken off.
fn without_marker(text: &str) -> &str {
    split_marker(text).map_or(text, |(_, rest)| rest)
}

fn words_lower(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// The weight of the longest run of leader characters (`.` and `_` count one, `…`
/// three), or three for any run of three underscores.
fn leader_weight(text: &str) -> usize {
    let mut best = 0;
    let mut run = 0;
    let mut underscores = 0;
    for c in text.chars() {
        match c {
            '.' => run += 1,
            '_' => {
                run += 1;
                underscores += 1;
            }
            '…' => run += 3,
            _ => {
                run = 0;
                underscores = 0;
            }
        }
        best = best.max(run);
        if underscores >= 3 {
            best = best.max(5);
        }
    }
    best
}

/// A blank to be filled in: `.....`, `……`, `___`.
fn has_leader(text: &str) -> bool {
    leader_weight(text) >= 5
}

pub(super) fn is_declaration(text: &str) -> bool {
    let lower = without_marker(text)
        .trim_start_matches(|c: char| !c.is_alphanumeric())
        .to_lowercase();
    DECLARATIONS.iter().any(|d| lower.starts_with(d))
}

/// Whether a line is part of a signature block: a signature or date field, a dotted or
/// underscored blank, a declaration ending in blanks, or a row of empty `Label:` fields.
pub(super) fn is_signature_line(text: &str) -> bool {
    let body = without_marker(text).trim();
    let words = words_lower(body);
    if has_leader(body) {
        let spoken = body
            .split_whitespace()
            .filter(|w| !has_leader(w) && has_alphanumeric(w))
            .count();
        // A long sentence that happens to trail off in dots ("… Google Safe Search, …..")
        // is text; a field label, a signature or name field, or a declaration is not.
        let names_field = words
            .iter()
            .any(|w| w.starts_with("sign") || w == "name" || w == "names");
        let field_word = words.iter().any(|w| FIELD_WORDS.contains(&w.as_str()));
        if words.is_empty()
            || names_field
            || is_declaration(body)
            || spoken <= 6
            || (field_word && spoken <= 12)
        {
            return true;
        }
    }
    if is_form_line(body) {
        return true;
    }
    let short = body
        .split_whitespace()
        .filter(|w| has_alphanumeric(w))
        .count()
        <= 6
        && !body.ends_with('.');
    short && names_signature(&words)
}

/// A short line that names a signature field on its own: `Signature`, `Signed`,
/// `Parent/carer signature`, `Print name`, `Name of child`, `Date`.
fn names_signature(words: &[String]) -> bool {
    let first = words.first().map(String::as_str);
    let second = words.get(1).map(String::as_str);
    words
        .iter()
        .any(|w| w.starts_with("signat") || w == "signed" || w == "countersigned")
        || matches!(first, Some("name" | "date" | "dated" | "print" | "printed"))
        || matches!(
            (first, second),
            (Some("full" | "pupil" | "child" | "parent"), Some("name"))
                | (Some("job"), Some("title"))
        )
}

/// A row of empty form fields: `Signed: Printed: Date:`, `Name: ____ Date: ____`. Two
/// or more labels, or one that names a signature field; every label short and no field
/// filled in.
fn is_form_line(body: &str) -> bool {
    if !body.contains(':') {
        return false;
    }
    let segments: Vec<&str> = body.split(':').collect();
    let Some((last, labels)) = segments.split_last() else {
        return false;
    };
    if has_alphanumeric(last) {
        return false;
    }
    let mut label_words: Vec<Vec<String>> = Vec::new();
    for label in labels {
        let spoken: Vec<&str> = label
            .split_whitespace()
            .filter(|w| !has_leader(w) && has_alphanumeric(w))
            .collect();
        if spoken.is_empty() || spoken.len() > 6 {
            return false;
        }
        label_words.push(words_lower(&spoken.join(" ")));
    }
    match label_words.as_slice() {
        [] => false,
        [only] => names_signature(only) || only.iter().any(|w| w == "name" || w == "date"),
        _ => true,
    }
}

/// Whether a line is only leader characters (a blank to sign on).
pub(super) fn is_leader_only(text: &str) -> bool {
    has_leader(text) && !has_alphanumeric(text)
}
