//! Integration tests of gatehouse-filter: properties of normalisation and suffix lookup,
//! list parsing over arbitrary bytes, round trips, corrupt files, the real UT1 tree, list updates
//! (shrink check, archives), and the policy engine (precedence, schedules, safe search, overrides, properties, golden file).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod corrupt;
mod golden;
mod policy;
mod policy_props;
mod props;
mod update;
mod ut1;

use std::path::{Path, PathBuf};

use gatehouse_filter::{CompileOptions, Database, ListFormat, Source, compile};

/// Compile `lists` (category, newline-separated names) in `dir`; returns the file path.
pub fn compile_lists(dir: &Path, lists: &[(&str, String)]) -> PathBuf {
    let mut sources = Vec::new();
    for (i, (cat, text)) in lists.iter().enumerate() {
        let p = dir.join(format!("list{i}.txt"));
        std::fs::write(&p, text).unwrap();
        sources.push(Source::List {
            category: (*cat).to_owned(),
            format: ListFormat::Domains,
            path: p,
        });
    }
    let out = dir.join("filter.ghf");
    compile(
        &sources,
        &CompileOptions { created_unix: 1 },
        &out,
        &mut |_| {},
    )
    .unwrap();
    out
}

pub fn open(path: &Path) -> Database {
    Database::open(path).unwrap()
}
