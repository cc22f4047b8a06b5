//! `gatehouse lists compile`: compile block lists (UT1 trees, hosts files, domain and
//! adblock lists) into one filter database file with the web filter's engine
//! (`gatehouse-filter`).

use super::{say, say_json};
use crate::cli::{ListFormatArg, ListsCommand, ListsCompile};
use anyhow::{Context as _, Result, bail};
use gatehouse_filter::{CompileOptions, ListFormat, Progress, Source};
use indicatif::{ProgressBar, ProgressStyle};
use jiff::Timestamp;
use std::io::Read as _;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

/// Invalid lines printed in full after a compile.
const SHOW_INVALID: usize = 20;

/// Run `gatehouse lists …`.
pub fn run(action: ListsCommand, json: bool) -> Result<ExitCode> {
    match action {
        ListsCommand::Compile(args) => compile(&args, json),
    }
}

// ---------------------------------------------------------------- lists compile

fn list_format(f: ListFormatArg) -> ListFormat {
    match f {
        ListFormatArg::Hosts => ListFormat::Hosts,
        ListFormatArg::Domains => ListFormat::Domains,
        ListFormatArg::Adblock => ListFormat::Adblock,
    }
}

/// Is `dir` a UT1 category folder (rather than a tree of them)?
fn is_ut1_category(dir: &Path) -> bool {
    ["domains", "urls", "usage"]
        .iter()
        .any(|f| dir.join(f).is_file())
}

/// Guess a list file's format from its first lines: adblock rules (`||name^`), hosts
/// lines (an address, then names) or plain domains (the majority of the meaningful lines).
fn detect_format(path: &Path) -> Result<ListFormat> {
    let mut head = Vec::with_capacity(64 * 1024);
    std::fs::File::open(path)
        .with_context(|| format!("reading {}", path.display()))?
        .take(64 * 1024)
        .read_to_end(&mut head)
        .with_context(|| format!("reading {}", path.display()))?;
    let text = String::from_utf8_lossy(&head);
    let (mut adblock, mut hosts, mut domains) = (0usize, 0usize, 0usize);
    for line in text.lines().take(2_000) {
        let line = line.trim();
        if line.starts_with("[Adblock") {
            adblock += 10;
            continue;
        }
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        if line.starts_with("||") || line.starts_with("@@") || line.contains('^') {
            adblock += 1;
            continue;
        }
        let mut words = line.split_whitespace();
        let first = words.next().unwrap_or("");
        if first.parse::<std::net::IpAddr>().is_ok() && words.next().is_some() {
            hosts += 1;
        } else {
            domains += 1;
        }
    }
    Ok(if adblock > 0 && adblock >= hosts.max(domains) {
        ListFormat::Adblock
    } else if hosts > domains {
        ListFormat::Hosts
    } else {
        ListFormat::Domains
    })
}

/// The compile sources for the command line's SRC arguments.
fn sources(args: &ListsCompile) -> Result<Vec<Source>> {
    let mut out = Vec::new();
    for path in &args.sources {
        let meta = std::fs::metadata(path)
            .with_context(|| format!("{}: no such file or folder", path.display()))?;
        if meta.is_dir() {
            if is_ut1_category(path) {
                let category = match &args.category {
                    Some(c) => c.clone(),
                    None => path
                        .file_name()
                        .and_then(|n| n.to_str())
                        .map(str::to_owned)
                        .with_context(|| {
                            format!(
                                "{}: give the folder's category with --category",
                                path.display()
                            )
                        })?,
                };
                out.push(Source::List {
                    category,
                    format: ListFormat::Ut1Category,
                    path: path.clone(),
                });
            } else {
                out.push(Source::Ut1Tree {
                    path: path.clone(),
                    prefix: String::new(),
                });
            }
        } else {
            let Some(category) = &args.category else {
                bail!(
                    "{}: a list file needs --category NAME (e.g. --category gambling)",
                    path.display()
                );
            };
            let format = match args.format {
                Some(f) => list_format(f),
                None => detect_format(path)?,
            };
            out.push(Source::List {
                category: category.clone(),
                format,
                path: path.clone(),
            });
        }
    }
    Ok(out)
}

fn progress_bar() -> ProgressBar {
    // Draws on standard error only when it is a terminal.
    let b = ProgressBar::new(0);
    if let Ok(style) =
        ProgressStyle::with_template("{msg:>24} [{bar:40}] {pos}/{len} categories ({elapsed})")
    {
        b.set_style(style.progress_chars("=> "));
    }
    b
}

fn compile(args: &ListsCompile, json: bool) -> Result<ExitCode> {
    let sources = sources(args)?;
    if let Some(dir) = args.output.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the folder {}", dir.display()))?;
    }
    let created_unix = Timestamp::now().as_second();
    let started = Instant::now();
    let bar = progress_bar();
    let report = gatehouse_filter::compile(
        &sources,
        &CompileOptions { created_unix },
        &args.output,
        &mut |p| match p {
            Progress::Reading {
                category,
                index,
                total,
            } => {
                bar.set_length(total as u64);
                bar.set_position(index as u64);
                bar.set_message(category.to_owned());
            }
            Progress::Sorting { entries } => {
                bar.set_position(bar.length().unwrap_or(0));
                bar.set_message(format!("sorting {entries} names"));
            }
            Progress::Writing { bytes } => bar.set_message(format!("writing {bytes} bytes")),
            Progress::Done => {}
        },
    );
    bar.finish_and_clear();
    let report = report.with_context(|| format!("compiling {}", args.output.display()))?;
    // Check every entry of the new file once (opening checks only its structure), so a
    // file installed from here is known good.
    gatehouse_filter::Database::open(&args.output)
        .and_then(|db| db.verify())
        .with_context(|| format!("verifying {}", args.output.display()))?;
    let took = started.elapsed();
    let per_domain = |bytes: usize| {
        if report.domains == 0 {
            0.0
        } else {
            bytes as f64 / report.domains as f64
        }
    };
    let totals = &report.totals;
    if json {
        say_json(&serde_json::json!({
            "file": report.path,
            "domains": report.domains,
            "urls": report.urls,
            "sets": report.sets,
            "bytes": report.bytes,
            "bytes_per_domain": per_domain(report.bytes),
            "lookup_bytes_per_domain": per_domain(report.domain_bytes),
            "seconds": took.as_secs_f64(),
            "categories": report.categories.iter().map(|c| serde_json::json!({
                "name": c.name, "domains": c.domains, "urls": c.urls,
                "lines": c.stats.lines, "invalid": c.stats.invalid,
            })).collect::<Vec<_>>(),
            "invalid": totals.invalid,
            "invalid_lines": totals.invalid_lines.iter().map(|l| serde_json::json!({
                "file": l.file, "line": l.line, "reason": l.reason,
            })).collect::<Vec<_>>(),
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    say(format!(
        "Compiled {} categor{} into {}:",
        report.categories.len(),
        if report.categories.len() == 1 {
            "y"
        } else {
            "ies"
        },
        report.path.display()
    ));
    let width = report
        .categories
        .iter()
        .map(|c| c.name.len())
        .max()
        .unwrap_or(0);
    for c in &report.categories {
        let invalid = if c.stats.invalid > 0 {
            format!(", {} invalid line(s)", c.stats.invalid)
        } else {
            String::new()
        };
        say(format!(
            "  {:<width$}  {:>8} domains  {:>6} URLs{invalid}",
            c.name, c.domains, c.urls
        ));
    }
    say(format!(
        "{} distinct domains, {} URL entries, {} category sets; {} lines read, {} skipped, {} IP addresses (kept under their reverse-DNS names), {} invalid.",
        report.domains,
        report.urls,
        report.sets,
        totals.lines,
        totals.skipped,
        totals.ip_literals,
        totals.invalid
    ));
    if totals.invalid > 0 {
        say("Invalid lines:");
        for l in totals.invalid_lines.iter().take(SHOW_INVALID) {
            say(format!("  {}:{}: {}", l.file.display(), l.line, l.reason));
        }
        let shown = totals.invalid_lines.len().min(SHOW_INVALID);
        if totals.invalid > shown {
            say(format!("  and {} more", totals.invalid - shown));
        }
    }
    say(format!(
        "{} bytes: {:.1} bytes per domain ({:.1} bytes per domain used by lookups); took {:.2} s.",
        report.bytes,
        per_domain(report.bytes),
        per_domain(report.domain_bytes),
        took.as_secs_f64()
    ));
    Ok(ExitCode::SUCCESS)
}
