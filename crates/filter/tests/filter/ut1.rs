use std::path::PathBuf;
use std::time::Instant;

use gatehouse_filter::{CompileOptions, Database, Source, compile, normalise_domain};

fn ut1_root() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/ut1");
    assert!(
        root.join("gambling").is_dir(),
        "the UT1 test data is missing: expected the UT1 tree at {} (shared/data/ut1 beside the repository)",
        root.display()
    );
    root
}

/// A valid name from the middle of a category's `domains` file.
fn sample_domain(root: &std::path::Path, cat: &str) -> String {
    let text = std::fs::read_to_string(root.join(cat).join("domains")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len() / 2..]
        .iter()
        .find_map(|l| normalise_domain(l).ok())
        .unwrap()
        .into_string()
}

#[test]
fn real_ut1_tree_compiles_and_matches() {
    let root = ut1_root();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ut1.ghf");
    let t = Instant::now();
    let report = compile(
        &[Source::Ut1Tree {
            path: root.clone(),
            prefix: String::new(),
        }],
        &CompileOptions {
            created_unix: 1_700_000_000,
        },
        &out,
        &mut |_| {},
    )
    .unwrap();
    let compile_time = t.elapsed();
    let t = Instant::now();
    let db = Database::open(&out).unwrap();
    let open_time = t.elapsed();
    println!(
        "UT1: {} domains, {} urls, {} sets, {} categories, file {} bytes ({:.2} B/domain, lookup structures {:.2} B/domain), {} invalid lines, {} IP literals; compile {:?} (debug build), open+validate {:?}",
        report.domains,
        report.urls,
        report.sets,
        report.categories.len(),
        report.bytes,
        report.bytes as f64 / report.domains as f64,
        report.domain_bytes as f64 / report.domains as f64,
        report.totals.invalid,
        report.totals.ip_literals,
        compile_time,
        open_time,
    );
    assert!(report.domains > 400_000);
    assert!(db.category_by_name("gambling").is_some());
    assert_eq!(db.category_by_name("porn").unwrap().name, "adult");
    for cat in ["gambling", "malware", "shopping"] {
        let name = sample_domain(&root, cat);
        let m = db
            .lookup(&format!("www.sub.{name}"))
            .unwrap_or_else(|| panic!("{name} not found"));
        let id = db.category_by_name(cat).unwrap().id;
        // The listed name itself (or a more specific listing) matched.
        assert!(
            m.name().ends_with(&name) || name.ends_with(m.name()),
            "{name} -> {}",
            m.name()
        );
        let exact = db.lookup(&name).unwrap();
        assert_eq!(exact.name(), name);
        assert!(exact.categories().contains(id), "{name} lacks {cat}");
    }
    let u = db.url_match("020sextoy.com", "/sk/page").unwrap();
    assert!(
        u.categories
            .contains(db.category_by_name("adult").unwrap().id)
    );
    assert!(
        db.lookup("definitely-not-listed-gatehouse.invalid")
            .is_none()
    );
}
