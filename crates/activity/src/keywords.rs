//! Keyword libraries: whole-word, case-insensitive matching of terms (one or more words)
//! in a text — a search, or the name of a site split at dots and hyphens — with plurals
//! of the last word, and a list of false positives: phrases inside which a match does not
//! count ("suicide prevention", "butter knife").

/// The words of `text`: runs of letters and digits, lower-cased.
pub fn words(text: &str) -> Vec<String> {
    split(text).map(str::to_lowercase).collect()
}

/// The words of `text` as slices of it (no lower-casing).
pub fn split(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

/// The forms of a word that count as the word: itself and its regular plurals.
fn forms(word: &str) -> Vec<String> {
    let mut out = vec![word.to_owned(), format!("{word}s"), format!("{word}es")];
    if let Some(stem) = word.strip_suffix('y') {
        out.push(format!("{stem}ies"));
    }
    if let Some(stem) = word.strip_suffix("fe") {
        out.push(format!("{stem}ves"));
    } else if let Some(stem) = word.strip_suffix('f') {
        out.push(format!("{stem}ves"));
    }
    out
}

#[derive(Debug, Clone)]
struct Term {
    text: String,
    /// Each position's accepted forms (the last word's plurals included).
    words: Vec<Vec<String>>,
}

impl Term {
    fn new(text: &str) -> Option<Term> {
        let ws = words(text);
        let last = ws.len().checked_sub(1)?;
        let words = ws
            .iter()
            .enumerate()
            .map(|(i, w)| if i == last { forms(w) } else { vec![w.clone()] })
            .collect();
        Some(Term {
            text: ws.join(" "),
            words,
        })
    }

    /// Start positions in `ws` where the term matches.
    fn positions<W: AsRef<str>>(&self, ws: &[W]) -> Vec<usize> {
        let n = self.words.len();
        (0..ws.len().saturating_sub(n - 1))
            .filter(|&i| {
                self.words
                    .iter()
                    .zip(&ws[i..i + n])
                    .all(|(forms, w)| forms.iter().any(|f| f == w.as_ref()))
            })
            .collect()
    }
}

/// A named list of terms with its false positives.
#[derive(Debug, Clone)]
pub struct KeywordLibrary {
    name: String,
    terms: Vec<Term>,
    false_positives: Vec<Term>,
    /// Every form of every term's first word: a text with none of these has no match.
    starts: std::collections::HashSet<String>,
}

impl KeywordLibrary {
    /// A library; a term with no letters or digits is an error naming it.
    pub fn new(name: &str, terms: &[String], false_positives: &[String]) -> Result<Self, String> {
        let parse = |list: &[String], what: &str| {
            list.iter()
                .map(|t| Term::new(t).ok_or_else(|| format!("{what} {t:?} has no words")))
                .collect::<Result<Vec<_>, _>>()
        };
        let terms = parse(terms, "term")?;
        let starts = terms
            .iter()
            .filter_map(|t| t.words.first())
            .flatten()
            .cloned()
            .collect();
        Ok(KeywordLibrary {
            name: name.to_owned(),
            terms,
            false_positives: parse(false_positives, "false positive")?,
            starts,
        })
    }

    /// The library's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The first term found in `text` outside every false positive, if any. (Names from
    /// the DNS filter are already lower case: they are split without copying.)
    pub fn find(&self, text: &str) -> Option<&str> {
        let lowered;
        let text = if text.chars().any(char::is_uppercase) {
            lowered = text.to_lowercase();
            lowered.as_str()
        } else {
            text
        };
        let ws: Vec<&str> = split(text).collect();
        self.find_in(&ws)
    }

    /// [`KeywordLibrary::find`] over text already split into lower-case words.
    pub fn find_in(&self, ws: &[&str]) -> Option<&str> {
        if !ws.iter().any(|w| self.starts.contains(*w)) {
            return None;
        }
        // word positions covered by a false positive
        let mut covered = vec![false; ws.len()];
        for fp in &self.false_positives {
            for start in fp.positions(ws) {
                for c in covered.iter_mut().skip(start).take(fp.words.len()) {
                    *c = true;
                }
            }
        }
        self.terms.iter().find_map(|t| {
            t.positions(ws)
                .into_iter()
                .any(|start| !covered[start..start + t.words.len()].iter().all(|c| *c))
                .then_some(t.text.as_str())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lib(terms: &[&str], fps: &[&str]) -> KeywordLibrary {
        let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        KeywordLibrary::new("test", &s(terms), &s(fps)).unwrap()
    }

    #[test]
    fn whole_words_only_in_any_case() {
        let l = lib(&["knife", "kill myself"], &[]);
        assert_eq!(l.find("where to buy a KNIFE"), Some("knife"));
        assert_eq!(l.find("knife-shop.example"), Some("knife"));
        assert_eq!(l.find("penknifestore.example"), None, "inside a word");
        assert_eq!(l.find("how to kill myself"), Some("kill myself"));
        assert_eq!(l.find("kill-myself.example"), Some("kill myself"));
        assert_eq!(
            l.find("kill the myself"),
            None,
            "the words must be adjacent"
        );
        assert_eq!(l.find("skill myself"), None);
    }

    #[test]
    fn plurals_of_the_last_word_match() {
        let l = lib(&["knife", "party", "gun", "box"], &[]);
        assert_eq!(l.find("kitchen knives"), Some("knife"));
        assert_eq!(l.find("house parties"), Some("party"));
        assert_eq!(l.find("guns.example"), Some("gun"));
        assert_eq!(l.find("boxes"), Some("box"));
        assert_eq!(l.find("gunsmith"), None);
    }

    #[test]
    fn false_positives_suppress_only_the_words_they_cover() {
        let l = lib(
            &["suicide", "knife"],
            &["suicide prevention", "butter knife"],
        );
        assert_eq!(l.find("suicide prevention week"), None);
        assert_eq!(l.find("a butter knife"), None);
        assert_eq!(l.find("butter knives"), None);
        assert_eq!(
            l.find("suicide prevention and suicide methods"),
            Some("suicide"),
            "a second mention outside the false positive counts"
        );
        assert_eq!(l.find("butter knife and a zombie knife"), Some("knife"));
    }

    #[test]
    fn a_term_without_words_is_refused() {
        let e = KeywordLibrary::new("x", &["--".to_owned()], &[]).unwrap_err();
        assert!(e.contains("\"--\""), "{e}");
    }
}
