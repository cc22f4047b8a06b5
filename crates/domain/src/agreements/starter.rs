//! Gatehouse's own starter acceptable use agreements, one per audience.
//!
//! They were written for Gatehouse, reflect current guidance for schools in England
//! (Keeping Children Safe in Education, the DfE filtering and monitoring standards, the
//! UK GDPR, the Prevent duty and the DfE guidance on mobile phones in schools), and are
//! free for any school to adopt as they are or edit. Each is plain Markdown: a `# ` title,
//! intro paragraphs, then `## ` sections of numbered clauses, one clause per line.

use super::Audience;

/// A starter agreement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Starter {
    /// Who it is written for.
    pub audience: Audience,
    /// The title, the same as the Markdown's `# ` line.
    pub title: &'static str,
    /// The full text, as Markdown.
    pub markdown: &'static str,
}

const STAFF: &str = include_str!("starter/staff.md");
const GOVERNORS: &str = include_str!("starter/governors.md");
const VISITORS: &str = include_str!("starter/visitors.md");
const PUPILS_EARLY: &str = include_str!("starter/pupils_early.md");
const PUPILS_PRIMARY: &str = include_str!("starter/pupils_primary.md");
const PUPILS_SECONDARY: &str = include_str!("starter/pupils_secondary.md");
const PARENTS: &str = include_str!("starter/parents.md");

/// The starter agreement for an audience.
pub fn starter(audience: Audience) -> Starter {
    let (title, markdown) = match audience {
        Audience::Staff => ("Staff acceptable use agreement", STAFF),
        Audience::Governors => ("Governor acceptable use agreement", GOVERNORS),
        Audience::Visitors => (
            "Visitors, volunteers and contractors acceptable use agreement",
            VISITORS,
        ),
        Audience::PupilsEarly => ("Staying safe with computers and tablets", PUPILS_EARLY),
        Audience::PupilsPrimary => (
            "Using technology safely at school: Years 3 to 6",
            PUPILS_PRIMARY,
        ),
        Audience::PupilsSecondary => (
            "Student acceptable use agreement: Year 7 and above",
            PUPILS_SECONDARY,
        ),
        Audience::Parents => ("Parent and carer acceptable use agreement", PARENTS),
    };
    Starter {
        audience,
        title,
        markdown,
    }
}

/// All of them, in [`Audience::ALL`] order.
pub fn all() -> Vec<Starter> {
    Audience::ALL.into_iter().map(starter).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fewest numbered clauses each audience's starter must have.
    fn min_clauses(audience: Audience) -> usize {
        match audience {
            Audience::Staff => 25,
            Audience::Governors => 15,
            Audience::Visitors => 10,
            Audience::PupilsEarly => 5,
            Audience::PupilsPrimary => 10,
            Audience::PupilsSecondary => 13,
            Audience::Parents => 9,
        }
    }

    /// Whether a line is a numbered clause: digits, then ". ".
    fn is_clause(line: &str) -> bool {
        let digits = line.bytes().take_while(u8::is_ascii_digit).count();
        digits > 0 && line[digits..].starts_with(". ")
    }

    fn clauses(markdown: &str) -> usize {
        markdown.lines().filter(|l| is_clause(l)).count()
    }

    #[test]
    fn every_audience_has_a_starter_in_order() {
        let all = all();
        assert_eq!(all.len(), Audience::ALL.len());
        for (s, a) in all.iter().zip(Audience::ALL) {
            assert_eq!(s.audience, a);
            assert_eq!(*s, starter(a));
        }
    }

    #[test]
    fn titles_match_the_markdown_heading() {
        for s in all() {
            assert!(!s.title.trim().is_empty(), "{:?}: empty title", s.audience);
            let first = s.markdown.lines().next().unwrap_or_default();
            assert_eq!(first, format!("# {}", s.title), "{:?}", s.audience);
            let h1s = s.markdown.lines().filter(|l| l.starts_with("# ")).count();
            assert_eq!(h1s, 1, "{:?}: exactly one title line", s.audience);
        }
    }

    #[test]
    fn shape_sections_and_clauses() {
        for s in all() {
            let sections = s.markdown.lines().filter(|l| l.starts_with("## ")).count();
            assert!(sections >= 1, "{:?}: no sections", s.audience);
            let n = clauses(s.markdown);
            assert!(
                n >= min_clauses(s.audience),
                "{:?}: only {n} clauses",
                s.audience
            );
        }
    }

    #[test]
    fn numbering_restarts_in_each_section_and_runs_in_order() {
        for s in all() {
            let mut expected = 1usize;
            for line in s.markdown.lines() {
                if line.starts_with("## ") {
                    expected = 1;
                } else if is_clause(line) {
                    let digits: String = line.chars().take_while(char::is_ascii_digit).collect();
                    assert_eq!(
                        digits.parse::<usize>().ok(),
                        Some(expected),
                        "{:?}: {line}",
                        s.audience
                    );
                    expected += 1;
                }
            }
        }
    }

    #[test]
    fn only_plain_markdown() {
        for s in all() {
            for line in s.markdown.lines() {
                let ok = line.is_empty()
                    || line.starts_with("# ")
                    || line.starts_with("## ")
                    || is_clause(line)
                    || line.chars().next().is_some_and(char::is_alphabetic);
                assert!(ok, "{:?}: unexpected line {line:?}", s.audience);
                assert_eq!(line, line.trim_end(), "{:?}: trailing space", s.audience);
                for bad in ["- ", "* ", "> ", "### ", "|", "\t", " "] {
                    assert!(
                        !line.starts_with(bad),
                        "{:?}: {bad:?} in {line:?}",
                        s.audience
                    );
                }
                for bad in ["**", "](", "http://", "https://", "|", "__"] {
                    assert!(!line.contains(bad), "{:?}: {bad:?} in {line:?}", s.audience);
                }
            }
        }
    }

    #[test]
    fn no_signature_lines() {
        for s in all() {
            for line in s.markdown.lines() {
                if let Some(i) = line.find("Signed") {
                    let rest = line[i + "Signed".len()..].trim_start_matches([':', ' ']);
                    assert!(
                        !rest.starts_with(['_', '.', '…']),
                        "{:?}: signature line {line:?}",
                        s.audience
                    );
                }
                assert!(
                    !line.contains("___"),
                    "{:?}: blank to fill {line:?}",
                    s.audience
                );
                assert!(
                    !line.contains("...."),
                    "{:?}: blank to fill {line:?}",
                    s.audience
                );
            }
        }
    }

    #[test]
    fn no_names_from_other_schools() {
        const NAMES: [&str; 8] = [
            "norfolk",
            "foresters",
            "havard",
            "quality first",
            "q1e",
            "trelawnyd",
            "borthwick",
            "flintshire",
        ];
        for s in all() {
            let lower = s.markdown.to_lowercase();
            for name in NAMES {
                assert!(!lower.contains(name), "{:?} mentions {name:?}", s.audience);
            }
        }
    }

    #[test]
    fn files_end_with_one_newline() {
        for s in all() {
            assert!(s.markdown.ends_with('\n'), "{:?}", s.audience);
            assert!(!s.markdown.ends_with("\n\n"), "{:?}", s.audience);
        }
    }
}
