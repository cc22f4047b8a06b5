//! Compile a UT1 tree and print size per domain, compile/open time and lookup speed.
//!
//! `cargo run --release -p gatehouse-filter --example measure [UT1_DIR]`
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::Instant;

use gatehouse_filter::{CompileOptions, Database, Source, compile};

fn main() {
    let root = std::env::args().nth(1).map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/ut1"),
        PathBuf::from,
    );
    let dir = std::env::temp_dir().join(format!("gatehouse-measure-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("ut1.ghf");
    let t = Instant::now();
    let r = compile(
        &[Source::Ut1Tree {
            path: root,
            prefix: String::new(),
        }],
        &CompileOptions { created_unix: 0 },
        &out,
        &mut |_| {},
    )
    .unwrap();
    let compile_time = t.elapsed();
    let t = Instant::now();
    let db = Database::open(&out).unwrap();
    let open_time = t.elapsed();
    println!(
        "{} domains, {} urls, {} sets, {} categories",
        r.domains,
        r.urls,
        r.sets,
        r.categories.len()
    );
    println!(
        "file {} bytes = {:.2} B/domain; index+blob+sets {:.2} B/domain",
        r.bytes,
        r.bytes as f64 / r.domains as f64,
        r.domain_bytes as f64 / r.domains as f64
    );
    println!("compile {compile_time:?}, open+validate {open_time:?}");
    let names: Vec<String> = db.domains().step_by(7).map(|d| d.0).collect();
    let hits: Vec<String> = names.iter().map(|n| format!("www.a.{n}")).collect();
    let misses: Vec<String> = names.iter().map(|n| format!("www.x{n}")).collect();
    for (label, qs) in [("hit (2 extra labels)", &hits), ("miss", &misses)] {
        let t = Instant::now();
        let mut found = 0usize;
        for q in qs {
            found += usize::from(db.lookup(q).is_some());
        }
        let ns = t.elapsed().as_nanos() as f64 / qs.len() as f64;
        println!(
            "lookup {label}: {ns:.0} ns/query over {} queries ({found} matched)",
            qs.len()
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}
