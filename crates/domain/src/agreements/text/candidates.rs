//! Finding the separate agreements a document holds.

use super::{Candidate, PolicyText, Section};

/// What joins heading-only lines to the heading that starts a candidate in its title:
/// `Staff, Governor and Visitor – Acceptable Use Agreement`.
pub(super) const TITLE_JOIN: &str = " – ";

/// The title of a candidate that has no heading at all.
const UNTITLED: &str = "Untitled agreement";

/// Phrases in a heading that start an agreement.
const STARTS_AGREEMENT: &[&str] = &[
    "agreement",
    "acceptable use",
    "code of conduct",
    "charter",
    "pledge",
    "dear parent",
    "dear carer",
];

/// Whole words in a heading that start an agreement.
const AGREEMENT_WORDS: &[&str] = &["rules", "aup", "letter"];

/// Whether a heading names an agreement (or opens a letter): "Pupil Acceptable Use
/// Agreement", "ICT Code of Conduct", "eSafety Rules", "Dear Parent/Carer", "Online
/// Safety Policy" (but not "Password policy", a part of a policy).
pub(super) fn names_agreement(heading: &str) -> bool {
    let lower = heading.to_lowercase();
    STARTS_AGREEMENT.iter().any(|p| lower.contains(p))
        || lower.starts_with("dear ")
        || lower
            .split(|c: char| !c.is_alphanumeric())
            .any(|w| AGREEMENT_WORDS.contains(&w))
        || heading
            .split_whitespace()
            .last()
            .is_some_and(|w| w == "Policy" || w == "POLICY")
}

/// What starts a new candidate at a section: its title and whether it is a letter.
fn start_of(section: &Section) -> Option<(String, bool)> {
    match section.heading.as_deref() {
        Some(heading) if names_agreement(heading) => Some((
            heading.to_string(),
            heading.to_lowercase().starts_with("dear "),
        )),
        Some(_) => None,
        None => {
            let first = section.intro.first()?;
            if !first.to_lowercase().starts_with("dear ") {
                return None;
            }
            let greeting: String = first
                .split([',', '.', ':', ';'])
                .next()
                .unwrap_or(first)
                .chars()
                .take(60)
                .collect();
            Some((greeting.trim().to_string(), true))
        }
    }
}

fn heading_only(section: &Section) -> bool {
    section.heading.is_some() && section.intro.is_empty() && section.clauses.is_empty()
}

struct Run {
    first: usize,
    title: Option<String>,
    letter: bool,
    has_clauses: bool,
    has_content: bool,
}

/// Splits the text into candidates. A new one starts at a section whose heading names an
/// agreement (or opens a letter) once the current one has clauses, or once a letter has
/// its text; heading-only sections just before it go with it. There is always at least
/// one candidate, and together they cover every section in order.
pub(super) fn find(text: &PolicyText) -> Vec<Candidate> {
    let sections = &text.sections;
    let mut runs: Vec<Run> = vec![Run {
        first: 0,
        title: None,
        letter: false,
        has_clauses: false,
        has_content: false,
    }];
    for (i, section) in sections.iter().enumerate() {
        if let Some((title, letter)) = start_of(section)
            && let Some(run) = runs.last_mut()
        {
            if run.has_clauses || (run.letter && run.has_content) {
                let mut first = i;
                while first > run.first
                    && sections
                        .get(first - 1)
                        .is_some_and(|s| heading_only(s) && !names_agreement_section(s))
                {
                    first -= 1;
                }
                let mut parts: Vec<String> = sections
                    .get(first..i)
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|s| s.heading.clone())
                    .collect();
                parts.push(title);
                runs.push(Run {
                    first,
                    title: Some(parts.join(TITLE_JOIN)),
                    letter,
                    has_clauses: false,
                    has_content: false,
                });
            } else if run.title.is_none() {
                run.title = Some(title);
                run.letter = letter;
            }
        }
        if let Some(run) = runs.last_mut() {
            run.has_clauses |= !section.clauses.is_empty();
            run.has_content |= !section.clauses.is_empty() || !section.intro.is_empty();
        }
    }

    let mut candidates = Vec::with_capacity(runs.len());
    for (index, run) in runs.iter().enumerate() {
        let end = runs
            .get(index + 1)
            .map_or(sections.len(), |next| next.first);
        let own = sections.get(run.first..end).unwrap_or_default();
        let title = if index == 0 {
            first_title(text, run.title.as_deref(), own)
        } else {
            run.title.clone()
        };
        candidates.push(Candidate {
            index,
            title: title.unwrap_or_else(|| UNTITLED.to_string()),
            first_section: run.first,
            section_count: own.len(),
            clause_count: own.iter().map(|s| s.clauses.len()).sum(),
        });
    }
    candidates
}

fn names_agreement_section(section: &Section) -> bool {
    section.heading.as_deref().is_some_and(names_agreement)
}

/// The first candidate's title: the document title if it names an agreement, else the
/// heading in it that does, else the document title, else its first heading.
fn first_title(text: &PolicyText, matched: Option<&str>, own: &[Section]) -> Option<String> {
    let doc_title = text.title.as_deref();
    doc_title
        .filter(|t| names_agreement(t))
        .or(matched)
        .or(doc_title)
        .or_else(|| own.iter().find_map(|s| s.heading.as_deref()))
        .map(str::to_string)
}
