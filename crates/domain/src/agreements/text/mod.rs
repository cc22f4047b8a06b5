//! Agreement texts: from a school's own document to numbered clauses, a version hash and
//! a clause-level diff.
//!
//! A school pastes its existing acceptable use agreement (plain text copied out of Word or
//! a PDF, or Markdown). [`parse_policy`] turns it into a [`PolicyText`]: an optional title
//! and a list of [`Section`]s, each with an optional heading, some introductory paragraphs
//! (shown to the reader but not signed one by one) and the numbered [`Clause`]s the reader
//! signs clause by clause. Signature blocks ("Signed: …… Date: ……") are dropped, and a file
//! that holds several agreements (a pupil agreement, a letter to parents, a staff code of
//! conduct) is split into [`Candidate`]s the school picks from with [`PolicyText::select`].
//!
//! A version is identified by [`PolicyText::hash`], the SHA-256 of
//! [`PolicyText::canonical`], a small Markdown form that [`parse_policy`] reads back to the
//! same structure. [`diff`] compares two versions clause by clause so a re-signer sees what
//! is new, what changed and what was taken out.
//!
//! Parsing is heuristic by nature (documents arrive with bullets as `·`, `o` or `-`,
//! headings as short lines, wrapped lines, dotted signature leaders): the rules are
//! described on [`parse_policy`]. Nothing here panics on any input.

mod candidates;
mod compare;
mod line;
mod structure;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use compare::diff;
pub use structure::parse_policy;

/// One numbered statement the reader agrees to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clause {
    /// The clause's number: the list's own number when the source numbered it (`"3"`,
    /// `"b"`, `"iv"`, `"2.1"`), otherwise its position within its section (`"1"`, `"2"`…).
    pub number: String,
    /// The clause as one paragraph: wrapped lines joined with single spaces.
    pub text: String,
}

/// A run of the document under one heading.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Section {
    /// The section's heading, if it has one (the first section of a document often has
    /// none).
    pub heading: Option<String>,
    /// Paragraphs before the first clause: shown to the reader, not signed clause by
    /// clause.
    pub intro: Vec<String>,
    /// The section's clauses, in order.
    pub clauses: Vec<Clause>,
}

/// A policy or agreement as sections of numbered clauses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyText {
    /// The document's title: its first heading, when nothing comes before it.
    pub title: Option<String>,
    /// The sections, in document order.
    pub sections: Vec<Section>,
}

/// What [`parse_policy`] found in a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParseReport {
    /// The whole document as sections and clauses.
    pub text: PolicyText,
    /// How many source lines were dropped as parts of a signature block (signature and
    /// date fields, dotted or underscored blanks, "I have read and agree" declarations).
    pub signature_lines_removed: usize,
    /// The separate agreements the document seems to hold, in order. Always at least one;
    /// a single-agreement file has exactly one covering every section.
    pub candidates: Vec<Candidate>,
}

/// A part of a document that looks like a separate agreement (a file may hold a pupil
/// agreement, a parent letter and a staff agreement).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    /// The candidate's position in [`ParseReport::candidates`], from 0.
    pub index: usize,
    /// A title for the candidate: the heading that starts it (with any heading-only lines
    /// just before it), else the document's title or first heading.
    pub title: String,
    /// Index into [`PolicyText::sections`] of the candidate's first section.
    pub first_section: usize,
    /// How many consecutive sections the candidate covers.
    pub section_count: usize,
    /// How many clauses those sections hold.
    pub clause_count: usize,
}

impl PolicyText {
    /// The Markdown form that is stored and hashed:
    ///
    /// ```text
    /// # Title
    ///
    /// ## Heading
    ///
    /// An intro paragraph.
    ///
    /// 1. A clause.
    /// 2. Another clause.
    /// ```
    ///
    /// A text without a title starts with a bare `#` line instead (an empty level-1
    /// heading), so that the canonical text always reads back as Markdown rather than
    /// through the plain-text heading rules. Whitespace inside every string is collapsed
    /// to single spaces, lines end in `\n` and the text ends with exactly one newline (an
    /// empty text gives an empty string).
    /// Empty paragraphs and clauses are left out. Numbers made of digits are written
    /// `2.` or `2.1.`, letters and roman numerals `b)` or `iv)`; a number that is none of
    /// these is replaced by the clause's position in its section. [`parse_policy`] reads
    /// the result back to the same structure.
    pub fn canonical(&self) -> String {
        let mut blocks: Vec<String> = Vec::new();
        let title = self
            .title
            .as_deref()
            .map(line::collapse_ws)
            .filter(|t| !t.is_empty());
        blocks.push(match &title {
            Some(title) => format!("# {title}"),
            None => "#".to_string(),
        });
        for section in &self.sections {
            if let Some(heading) = section.heading.as_deref().map(line::collapse_ws)
                && !heading.is_empty()
            {
                blocks.push(format!("## {heading}"));
            }
            for paragraph in &section.intro {
                let paragraph = line::collapse_ws(paragraph);
                if !paragraph.is_empty() {
                    blocks.push(paragraph);
                }
            }
            let items: Vec<String> = section
                .clauses
                .iter()
                .enumerate()
                .filter_map(|(position, clause)| {
                    let text = line::collapse_ws(&clause.text);
                    if text.is_empty() {
                        return None;
                    }
                    let label = line::number_label(clause.number.trim())
                        .unwrap_or_else(|| format!("{}.", position + 1));
                    Some(format!("{label} {text}"))
                })
                .collect();
            if !items.is_empty() {
                blocks.push(items.join("\n"));
            }
        }
        if title.is_none() && blocks.len() == 1 {
            return String::new();
        }
        let mut out = blocks.join("\n\n");
        out.push('\n');
        out
    }

    /// The version's identity: the lower-case hex SHA-256 of [`PolicyText::canonical`].
    pub fn hash(&self) -> String {
        hex::encode(Sha256::digest(self.canonical().as_bytes()))
    }

    /// How many clauses the text holds, over all sections.
    pub fn clause_count(&self) -> usize {
        self.sections.iter().map(|s| s.clauses.len()).sum()
    }

    /// Every clause with the heading of its section, in document order.
    pub fn clauses(&self) -> impl Iterator<Item = (Option<&str>, &Clause)> {
        self.sections.iter().flat_map(|section| {
            section
                .clauses
                .iter()
                .map(move |clause| (section.heading.as_deref(), clause))
        })
    }

    /// Just the candidate's sections, titled with the candidate's title.
    ///
    /// Leading heading-only sections that the title already names are dropped, and a
    /// first section whose heading is the title loses its heading, so the reader does not
    /// see the same words twice. A candidate that does not belong to this text (its
    /// sections are out of range) gives a text with the candidate's title and no
    /// sections.
    pub fn select(&self, candidate: &Candidate) -> PolicyText {
        let end = candidate
            .first_section
            .saturating_add(candidate.section_count);
        let mut sections: Vec<Section> = self
            .sections
            .get(candidate.first_section..end)
            .map(<[Section]>::to_vec)
            .unwrap_or_default();
        let title = candidate.title.clone();
        let named_by_title = |heading: &str| {
            title == heading
                || title.starts_with(&format!("{heading}{}", candidates::TITLE_JOIN))
                || title.ends_with(&format!("{}{heading}", candidates::TITLE_JOIN))
        };
        while let Some(first) = sections.first() {
            let empty = first.intro.is_empty() && first.clauses.is_empty();
            match first.heading.as_deref() {
                Some(heading) if named_by_title(heading) => {
                    if empty {
                        sections.remove(0);
                    } else {
                        if let Some(first) = sections.first_mut() {
                            first.heading = None;
                        }
                        break;
                    }
                }
                _ => break,
            }
        }
        PolicyText {
            title: Some(title),
            sections,
        }
    }
}

/// How a clause of the new version relates to the old one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum ClauseChange {
    /// The old version had the same clause (ignoring case, spacing and punctuation).
    Unchanged,
    /// The clause is new.
    Added,
    /// The clause replaces a similar clause of the old version.
    Changed {
        /// The old clause's text.
        before: String,
    },
}

/// One clause of the new version and what happened to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffClause {
    /// The heading of the clause's section in the new version.
    pub section: Option<String>,
    /// The clause as it is in the new version.
    pub clause: Clause,
    /// How it relates to the old version.
    pub change: ClauseChange,
}

/// The clause-level difference between two versions of an agreement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diff {
    /// Every clause of the new version, in order.
    pub clauses: Vec<DiffClause>,
    /// Clauses of the old version with no counterpart in the new one, with the heading of
    /// their old section, in old order.
    pub removed: Vec<(Option<String>, Clause)>,
}

impl Diff {
    /// Whether anything differs at clause level (something added, changed or removed).
    pub fn has_changes(&self) -> bool {
        !self.removed.is_empty()
            || self
                .clauses
                .iter()
                .any(|c| c.change != ClauseChange::Unchanged)
    }
}
