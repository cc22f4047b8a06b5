//! The demo lists: a small sample of the UT1 blacklists (CC BY-SA 4.0, credited in
//! [`DEMO_LISTS_NOTICE`]), embedded in the binary so that `gatehouse demo` filters real,
//! well-known sites with the default policies from any folder.
//!
//! [`write_demo_tree`] writes them out as a UT1 tree (one folder per UT1 category, plus
//! the notice); [`compile_demo`] writes the tree and compiles it.

use std::fs;
use std::path::Path;

use crate::compile::{CompileOptions, CompileReport, Source, compile};
use crate::error::{Error, Result};

/// `(UT1 category, file name, contents)` of every embedded list file, sorted.
pub const DEMO_LISTS: &[(&str, &str, &str)] = include!(concat!(env!("OUT_DIR"), "/demo_lists.rs"));

/// The demo lists' source, licence and changes (to be kept with them).
pub const DEMO_LISTS_NOTICE: &str = include_str!("../data/demo-lists/README.md");

/// Write the demo lists into `dir` as a UT1 tree (`dir/<category>/domains`, `urls`) with
/// the notice as `dir/README.md`. Existing files of the same names are replaced.
pub fn write_demo_tree(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let notice = dir.join("README.md");
    fs::write(&notice, DEMO_LISTS_NOTICE).map_err(|e| Error::io(&notice, e))?;
    for (category, file, text) in DEMO_LISTS {
        let folder = dir.join(category);
        fs::create_dir_all(&folder).map_err(|e| Error::io(&folder, e))?;
        let path = folder.join(file);
        fs::write(&path, text).map_err(|e| Error::io(&path, e))?;
    }
    Ok(())
}

/// Write the demo tree into `tree` and compile it into `out` (written atomically).
pub fn compile_demo(tree: &Path, out: &Path, created_unix: i64) -> Result<CompileReport> {
    write_demo_tree(tree)?;
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    compile(
        &[Source::Ut1Tree {
            path: tree.to_path_buf(),
            prefix: String::new(),
        }],
        &CompileOptions { created_unix },
        out,
        &mut |_| {},
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Action, Database, Engine, EngineConfig, Identity};
    use std::sync::Arc;

    #[test]
    fn the_demo_lists_feed_the_default_policies() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("lists/current.gdb");
        let report = compile_demo(&dir.path().join("lists/demo-ut1"), &out, 1).unwrap();
        assert!(report.categories.len() >= 20, "{report:?}");
        assert_eq!(
            report.totals.invalid, 0,
            "{:?}",
            report.totals.invalid_lines
        );
        assert!(dir.path().join("lists/demo-ut1/README.md").is_file());
        let db = Database::open(&out).unwrap();
        db.verify().unwrap();
        let config = EngineConfig::uk_default().unwrap();
        let engine = Engine::new(Arc::new(db), &config).unwrap();
        // Every embedded category feeds a Gatehouse category of the default taxonomy.
        for (category, file, text) in DEMO_LISTS {
            let first = text.lines().next().unwrap();
            let host = if *file == "urls" {
                format!("http://{first}")
            } else {
                first.to_owned()
            };
            let d = engine.decide(&Identity::group("ks2"), &host, jiff::Timestamp::UNIX_EPOCH);
            assert!(
                d.category.is_some(),
                "{category}/{file}: {host} is in no Gatehouse category: {d:?}"
            );
        }
        let at = jiff::Timestamp::UNIX_EPOCH;
        let ks2 = engine.decide(&Identity::group("ks2"), "www.bet365.com", at);
        assert_eq!(ks2.action, Action::Block);
        assert_eq!(ks2.category.as_deref(), Some("gambling"));
        let shop = |g: &str| {
            engine
                .decide(&Identity::group(g), "amazon.co.uk", at)
                .action
        };
        assert_eq!(shop("ks2"), Action::Block);
        assert_eq!(shop("staff"), Action::Allow);
    }
}
