//! Comparing two versions of an agreement clause by clause.

use super::{Clause, ClauseChange, Diff, DiffClause, PolicyText};
use std::collections::BTreeSet;

/// How alike two clauses must be (Jaccard similarity of their word sets) for the new one
/// to count as a change of the old one rather than an addition.
const SIMILAR: f64 = 0.5;

/// A clause's text for comparison: lower case, punctuation as spaces, whitespace
/// collapsed.
fn normalised(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_alphanumeric() {
                c.to_lowercase().collect::<String>()
            } else {
                " ".to_string()
            }
        })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn similarity(a: &BTreeSet<&str>, b: &BTreeSet<&str>) -> f64 {
    let union = a.union(b).count();
    if union == 0 {
        return 1.0;
    }
    let common = a.intersection(b).count();
    // Word counts are far below 2^52, so these conversions are exact.
    common as f64 / union as f64
}

struct Side<'a> {
    section: Option<&'a str>,
    clause: &'a Clause,
    key: String,
}

impl Side<'_> {
    fn words(&self) -> BTreeSet<&str> {
        self.key.split(' ').filter(|w| !w.is_empty()).collect()
    }
}

/// Compares an old version with a new one.
///
/// Every clause of the new version comes back in order, marked:
/// - [`ClauseChange::Unchanged`] when an old clause has the same text, ignoring case,
///   spacing and punctuation (the first such old clause not yet matched, wherever it was);
/// - [`ClauseChange::Changed`] when it is similar to an old clause left unmatched (at
///   least half of the two clauses' distinct words shared, Jaccard ≥ 0.5), the most
///   similar pairs matched first;
/// - [`ClauseChange::Added`] otherwise.
///
/// Old clauses matched by nothing are listed in [`Diff::removed`].
pub fn diff(old: &PolicyText, new: &PolicyText) -> Diff {
    let olds: Vec<Side<'_>> = old
        .clauses()
        .map(|(section, clause)| Side {
            section,
            clause,
            key: normalised(&clause.text),
        })
        .collect();
    let news: Vec<Side<'_>> = new
        .clauses()
        .map(|(section, clause)| Side {
            section,
            clause,
            key: normalised(&clause.text),
        })
        .collect();

    // For each new clause, the old clause it matches, if any.
    let mut matched_old: Vec<Option<usize>> = vec![None; news.len()];
    let mut old_taken = vec![false; olds.len()];

    for (n, new_side) in news.iter().enumerate() {
        let found = olds
            .iter()
            .enumerate()
            .find(|(o, old_side)| {
                !old_taken.get(*o).copied().unwrap_or(true) && old_side.key == new_side.key
            })
            .map(|(o, _)| o);
        if let Some(o) = found {
            if let Some(slot) = matched_old.get_mut(n) {
                *slot = Some(o);
            }
            if let Some(taken) = old_taken.get_mut(o) {
                *taken = true;
            }
        }
    }
    let exact: Vec<bool> = matched_old.iter().map(Option::is_some).collect();

    // Similar pairs among what is left, best first.
    let old_words: Vec<BTreeSet<&str>> = olds.iter().map(Side::words).collect();
    let new_words: Vec<BTreeSet<&str>> = news.iter().map(Side::words).collect();
    let mut pairs: Vec<(f64, usize, usize)> = Vec::new();
    for (n, nw) in new_words.iter().enumerate() {
        if exact.get(n).copied().unwrap_or(true) {
            continue;
        }
        for (o, ow) in old_words.iter().enumerate() {
            if old_taken.get(o).copied().unwrap_or(true) {
                continue;
            }
            let score = similarity(nw, ow);
            if score >= SIMILAR {
                pairs.push((score, n, o));
            }
        }
    }
    pairs.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    for (_, n, o) in pairs {
        let new_free = matched_old.get(n).is_some_and(Option::is_none);
        let old_free = !old_taken.get(o).copied().unwrap_or(true);
        if new_free && old_free {
            if let Some(slot) = matched_old.get_mut(n) {
                *slot = Some(o);
            }
            if let Some(taken) = old_taken.get_mut(o) {
                *taken = true;
            }
        }
    }

    let clauses = news
        .iter()
        .enumerate()
        .map(|(n, new_side)| {
            let change = match matched_old.get(n).copied().flatten() {
                Some(_) if exact.get(n).copied().unwrap_or(false) => ClauseChange::Unchanged,
                Some(o) => ClauseChange::Changed {
                    before: olds
                        .get(o)
                        .map(|s| s.clause.text.clone())
                        .unwrap_or_default(),
                },
                None => ClauseChange::Added,
            };
            DiffClause {
                section: new_side.section.map(str::to_string),
                clause: new_side.clause.clone(),
                change,
            }
        })
        .collect();
    let removed = olds
        .iter()
        .zip(&old_taken)
        .filter(|(_, taken)| !**taken)
        .map(|(s, _)| (s.section.map(str::to_string), s.clause.clone()))
        .collect();
    Diff { clauses, removed }
}
