use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use gatehouse_filter::list::{parse_list, parse_url_list};
use gatehouse_filter::{ListFormat, normalise_domain};
use proptest::prelude::*;

fn label() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]{1,3}",
        "[a-z0-9][a-z0-9_-]{0,8}",
        Just("www".to_owned()),
        Just("example".to_owned()),
        Just("badexample".to_owned()),
    ]
}

fn name() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(label(), 0..4),
        prop_oneof![Just("com"), Just("org"), Just("xn--p1ai")],
    )
        .prop_map(|(mut labels, tld)| {
            labels.push(tld.to_owned());
            labels.join(".")
        })
}

/// Naive reference: most specific listed suffix, by string comparison.
fn naive<'a>(
    listed: &'a BTreeMap<String, BTreeSet<&'a str>>,
    host: &str,
) -> Option<(String, Vec<&'a str>)> {
    let host = host.to_ascii_lowercase();
    let host = host.strip_suffix('.').unwrap_or(&host).to_owned();
    let mut cand: &str = &host;
    loop {
        if let Some(cats) = listed.get(cand) {
            return Some((cand.to_owned(), cats.iter().copied().collect()));
        }
        cand = &cand[cand.find('.')? + 1..];
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn normalise_idempotent(s in "\\PC{0,40}") {
        if let Ok(d) = normalise_domain(&s) {
            let again = normalise_domain(d.as_str()).unwrap();
            prop_assert_eq!(again, d);
        }
    }

    #[test]
    fn normalise_case_and_dot_insensitive(n in name(), upper in prop::collection::vec(any::<bool>(), 0..40), dot in any::<bool>()) {
        let mixed: String = n.chars().zip(upper.iter().chain(std::iter::repeat(&false)))
            .map(|(c, &u)| if u { c.to_ascii_uppercase() } else { c }).collect();
        let mixed = if dot { format!("{mixed}.") } else { mixed };
        prop_assert_eq!(normalise_domain(&mixed), normalise_domain(&n));
        prop_assert_eq!(normalise_domain(&n).unwrap().into_string(), n.clone());
    }

    #[test]
    fn idna_unicode_equals_punycode(u in "[a-zäöüéßñ]{1,10}", tld in "[a-z]{2,3}") {
        let unicode = format!("{u}.{tld}");
        if let Ok(ascii) = idna::domain_to_ascii(&unicode) {
            prop_assert_eq!(normalise_domain(&unicode).unwrap().into_string(), ascii.clone());
            prop_assert_eq!(normalise_domain(&ascii).unwrap().into_string(), ascii.clone());
            // Case-insensitive where upper-casing round-trips (not `ß` -> `SS`).
            let upper = unicode.to_uppercase();
            if upper.to_lowercase() == unicode {
                prop_assert_eq!(normalise_domain(&upper).ok().map(|d| d.into_string()), Some(ascii));
            }
        }
    }

    #[test]
    fn parse_never_panics_and_counts_lines(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        for format in [ListFormat::Domains, ListFormat::Hosts, ListFormat::Adblock, ListFormat::Ut1Category] {
            let mut n = 0usize;
            let s = parse_list(&bytes, format, Path::new("x"), &mut |_| n += 1);
            let lines = if bytes.is_empty() { 0 } else { bytes.strip_suffix(b"\n").unwrap_or(&bytes).split(|&b| b == b'\n').count() };
            prop_assert_eq!(s.lines, lines);
            prop_assert_eq!(n, s.domains + s.urls);
            for inv in &s.invalid_lines {
                prop_assert!(inv.line >= 1 && inv.line <= lines);
            }
        }
        let s = parse_url_list(&bytes, Path::new("u"), &mut |_| {});
        for inv in &s.invalid_lines { prop_assert!(inv.line >= 1); }
    }

    #[test]
    fn invalid_line_numbers(lines in prop::collection::vec(prop_oneof![name(), Just("bad..name".to_owned()), Just("# c".to_owned()), Just(String::new())], 0..30)) {
        let text = lines.join("\n");
        let s = parse_list(text.as_bytes(), ListFormat::Domains, Path::new("f"), &mut |_| {});
        let expected: Vec<usize> = lines.iter().enumerate().filter(|(_, l)| *l == "bad..name").map(|(i, _)| i + 1).collect();
        let got: Vec<usize> = s.invalid_lines.iter().map(|l| l.line).collect();
        prop_assert_eq!(got, expected);
    }
}

proptest! {
    // Each case compiles a file: keep the count small (2 shared cores).
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn lookup_equals_naive(
        a in prop::collection::vec(name(), 0..60),
        b in prop::collection::vec(name(), 0..60),
        queries in prop::collection::vec((prop::collection::vec(label(), 0..3), name()), 1..40),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = crate::compile_lists(dir.path(), &[("a", a.join("\n")), ("b", b.join("\n"))]);
        let db = crate::open(&path);
        let mut listed: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
        for n in &a { listed.entry(n.clone()).or_default().insert("a"); }
        for n in &b { listed.entry(n.clone()).or_default().insert("b"); }
        prop_assert_eq!(db.metadata().domains as usize, listed.len());
        let mut hosts: Vec<String> = queries.iter().map(|(pre, n)| {
            let mut l = pre.clone(); l.push(n.clone()); l.join(".")
        }).collect();
        hosts.extend(listed.keys().map(|k| format!("bad{k}")));
        hosts.extend(listed.keys().map(|k| format!("deep.er.{}.", k.to_uppercase())));
        for h in &hosts {
            let got = db.lookup(h).map(|m| (m.name().to_owned(), m.categories().iter().map(|c| db.category(c).unwrap().name.clone()).collect::<Vec<_>>()));
            let want = naive(&listed, h).map(|(n, c)| (n, c.into_iter().map(str::to_owned).collect::<Vec<_>>()));
            prop_assert_eq!(got, want, "host {}", h);
        }
    }
}

/// Many blocks, heavy suffixes (thousands of names under `co.uk` and under a three-label
/// suffix), block-head prefix ties (names sharing their first 12+ reversed bytes) and
/// deep names: every listed name, every name below one and near misses answer as the
/// naive model does, and the deep verification passes.
#[test]
fn large_lists_with_heavy_suffixes_and_prefix_ties() {
    let mut a: Vec<String> = Vec::new();
    let mut b: Vec<String> = Vec::new();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut rnd = move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    for i in 0..3000 {
        a.push(format!("shop{i}.co.uk"));
    }
    for i in 0..1500 {
        b.push(format!("n{i}.nodes.gen4.ninja"));
        a.push(format!("aaaaaaaaaaaaaaaaaaaa{i}.com"));
        a.push(format!("aaaaaaaaaaaa-{i}.com"));
    }
    for i in 0..6000 {
        let len = 3 + rnd(12) as usize;
        let label: String = (0..len)
            .map(|_| char::from(b"abcdefghij0-"[rnd(12) as usize]))
            .collect();
        let label = label.trim_matches('-').to_owned();
        if label.is_empty() {
            continue;
        }
        let tld = ["com", "org", "fr", "co.uk", "xn--p1ai"][rnd(5) as usize];
        let deep = if i % 7 == 0 { "x.y." } else { "" };
        if i % 2 == 0 {
            a.push(format!("{deep}{label}.{tld}"));
        } else {
            b.push(format!("{deep}{label}.{tld}"));
        }
    }
    b.push("co.uk".to_owned());
    let mut listed: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
    for (cat, names) in [("a", &a), ("b", &b)] {
        for n in names.iter() {
            listed.entry(n.clone()).or_default().insert(cat);
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = crate::compile_lists(dir.path(), &[("a", a.join("\n")), ("b", b.join("\n"))]);
    let db = crate::open(&path);
    db.verify().unwrap();
    let cats = |m: gatehouse_filter::Match<'_>| -> (String, Vec<String>) {
        let mut c: Vec<String> = m
            .categories()
            .iter()
            .map(|id| db.category(id).unwrap().name.clone())
            .collect();
        c.sort();
        (m.name().to_owned(), c)
    };
    let mut queries: Vec<String> = Vec::new();
    for n in listed.keys() {
        queries.push(n.clone());
        queries.push(format!("www.{n}"));
        queries.push(format!("Z{n}"));
        queries.push(n.replacen('a', "b", 1));
        queries.push(format!("{}.", n.to_ascii_uppercase()));
    }
    queries.push("example.co.uk".to_owned());
    queries.push("nodes.gen4.ninja".to_owned());
    queries.push("n99999.nodes.gen4.ninja".to_owned());
    for q in &queries {
        let want = naive(&listed, q)
            .map(|(n, c)| (n, c.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>()));
        let got = db.lookup(q).map(cats);
        assert_eq!(got, want, "query {q}");
    }
}
