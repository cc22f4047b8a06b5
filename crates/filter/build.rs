//! Embeds the demo lists (`data/demo-lists/<category>/{domains,urls}`): writes a table of
//! `(category, file, include_str!(path))` into `OUT_DIR/demo_lists.rs` for `src/demo.rs`,
//! so that adding a category folder needs no code change.

// A build script talks to cargo on standard output.
#![allow(clippy::print_stdout)]

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/demo-lists");
    println!("cargo::rerun-if-changed={}", root.display());
    let mut entries = Vec::new();
    if let Ok(dirs) = std::fs::read_dir(&root) {
        for dir in dirs.flatten() {
            let path = dir.path();
            if !path.is_dir() {
                continue;
            }
            println!("cargo::rerun-if-changed={}", path.display());
            let Some(category) = path.file_name().and_then(|n| n.to_str()).map(str::to_owned)
            else {
                continue;
            };
            for file in ["domains", "urls"] {
                let f = path.join(file);
                if f.is_file() {
                    println!("cargo::rerun-if-changed={}", f.display());
                    entries.push((category.clone(), file, f));
                }
            }
        }
    }
    entries.sort();
    let mut code = String::from("&[\n");
    for (category, file, path) in &entries {
        let _ = writeln!(
            code,
            "    ({category:?}, {file:?}, include_str!({:?})),",
            path.display().to_string()
        );
    }
    code.push(']');
    let out = Path::new(&std::env::var("OUT_DIR").unwrap_or_default()).join("demo_lists.rs");
    if let Err(e) = std::fs::write(&out, code) {
        println!("cargo::error=writing {}: {e}", out.display());
    }
}
