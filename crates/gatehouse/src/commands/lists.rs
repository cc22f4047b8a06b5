//! `gatehouse lists compile`: compile block lists (UT1 trees, hosts files, domain and
//! adblock lists) into one filter database file with the web filter's engine
//! (`gatehouse-filter`); `gatehouse lists update`: rebuild it from the configured sources
//! with the checks of `gatehouse_filter::update` (also run on a schedule by `serve`).

use super::{say, say_json};
use crate::cli::{ListFormatArg, ListsCommand, ListsCompile, ListsUpdate};
use crate::config::Config;
use anyhow::{Context as _, Result, bail};
use gatehouse_filter::{
    CompileOptions, ListFormat, Outcome, Progress, Source, UpdateOptions, UpdateProgress,
    UpdateReport,
};
use indicatif::{ProgressBar, ProgressStyle};
use jiff::Timestamp;
use std::process::ExitCode;
use std::time::Instant;

/// Invalid lines printed in full after a compile.
const SHOW_INVALID: usize = 20;

/// Run `gatehouse lists …`.
pub fn run(config: &Config, action: ListsCommand, json: bool) -> Result<ExitCode> {
    match action {
        ListsCommand::Compile(args) => compile(&args, json),
        ListsCommand::Update(args) => update(config, &args, json),
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

/// The compile sources for the command line's SRC arguments.
fn sources(args: &ListsCompile) -> Result<Vec<Source>> {
    let mut out = Vec::new();
    for path in &args.sources {
        let meta = std::fs::metadata(path)
            .with_context(|| format!("{}: no such file or folder", path.display()))?;
        if meta.is_dir() {
            if gatehouse_filter::list::is_ut1_category(path) {
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
                None => ListFormat::detect(path)?,
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

// ---------------------------------------------------------------- lists update

/// Rebuild the configured database from the configured sources (the update logic is
/// `gatehouse_filter::update`; this fills in its options from the configuration).
pub fn run_update(
    config: &Config,
    force: bool,
    dry_run: bool,
    progress: &mut dyn FnMut(UpdateProgress<'_>),
) -> Result<UpdateReport> {
    let sources = config.filter_sources()?;
    if sources.is_empty() {
        bail!(
            "no list sources are configured: add [[filter.sources]] tables to the configuration (see docs/configuration.md), or compile lists by hand with `gatehouse lists compile`"
        );
    }
    let target = config.filter_database();
    let mut options = UpdateOptions::new(&target, &config.storage.data_dir);
    options.max_shrink = config.filter.max_shrink;
    options.force = force;
    options.dry_run = dry_run;
    gatehouse_filter::update(&sources, &options, progress)
        .with_context(|| format!("updating {}", target.display()))
}

/// A category's entries for the summary: a count, or "-" when absent.
fn count(n: Option<u64>) -> String {
    n.map_or_else(|| "-".to_owned(), |n| n.to_string())
}

/// One line per category that failed the shrink check: `gambling 10 -> 4 entries`.
pub fn shrink_summary(report: &UpdateReport) -> String {
    report
        .shrunk
        .iter()
        .map(|c| match c.after {
            Some(after) => format!("{} {} -> {after} entries", c.name, count(c.before)),
            None => format!("{} {} entries -> gone", c.name, count(c.before)),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn update(config: &Config, args: &ListsUpdate, json: bool) -> Result<ExitCode> {
    let started = Instant::now();
    let bar = progress_bar();
    // Keeps the elapsed time moving while a large archive is unpacked.
    bar.enable_steady_tick(std::time::Duration::from_millis(250));
    let report = run_update(config, args.force, args.dry_run, &mut |p| match p {
        UpdateProgress::Extracting { archive } => {
            bar.set_message(format!(
                "extracting {}",
                archive.file_name().unwrap_or_default().to_string_lossy()
            ));
            bar.tick();
        }
        UpdateProgress::Compiling(Progress::Reading {
            category,
            index,
            total,
        }) => {
            bar.set_length(total as u64);
            bar.set_position(index as u64);
            bar.set_message(category.to_owned());
        }
        UpdateProgress::Compiling(Progress::Sorting { entries }) => {
            bar.set_position(bar.length().unwrap_or(0));
            bar.set_message(format!("sorting {entries} names"));
        }
        UpdateProgress::Compiling(Progress::Writing { bytes }) => {
            bar.set_message(format!("writing {bytes} bytes"));
        }
        UpdateProgress::Compiling(Progress::Done) => {}
        UpdateProgress::Verifying => bar.set_message("checking the new file"),
    });
    bar.finish_and_clear();
    let report = report?;
    let target = config.filter_database();
    let max = config.filter.max_shrink;
    let outcome = match &report.outcome {
        Outcome::Installed { .. } => "installed",
        Outcome::Forced { .. } => "forced",
        Outcome::Refused => "refused",
        Outcome::DryRun => "dry_run",
    };
    let previous = match &report.outcome {
        Outcome::Installed { previous } | Outcome::Forced { previous } => previous.clone(),
        Outcome::Refused | Outcome::DryRun => None,
    };
    if json {
        say_json(&serde_json::json!({
            "file": target,
            "outcome": outcome,
            "previous": previous,
            "max_shrink": max,
            "domains": report.compile.domains,
            "urls": report.compile.urls,
            "seconds": started.elapsed().as_secs_f64(),
            "current_unreadable": report.current_unreadable,
            "categories": report.changes.iter().map(|c| serde_json::json!({
                "name": c.name, "before": c.before, "after": c.after,
                "shrunk": c.shrank_beyond(max),
            })).collect::<Vec<_>>(),
            "invalid": report.compile.totals.invalid,
        }))?;
    } else {
        let width = report
            .changes
            .iter()
            .map(|c| c.name.len())
            .max()
            .unwrap_or(0);
        say(format!(
            "{:<width$}  {:>9}  {:>9}  change",
            "category", "before", "after"
        ));
        for c in &report.changes {
            let change = match (c.before, c.after) {
                (None, Some(_)) => "new".to_owned(),
                (Some(_), None) => "gone".to_owned(),
                (Some(b), Some(a)) if a == b => "=".to_owned(),
                (Some(b), Some(a)) => format!("{:+}", i128::from(a) - i128::from(b)),
                (None, None) => String::new(),
            };
            let flag = match (c.shrank_beyond(max), c.after) {
                (false, _) => String::new(),
                (true, None) => "  <- vanished".to_owned(),
                (true, Some(_)) => format!("  <- lost more than {:.0}%", max * 100.0),
            };
            say(format!(
                "{:<width$}  {:>9}  {:>9}  {change}{flag}",
                c.name,
                count(c.before),
                count(c.after)
            ));
        }
        say(format!(
            "{} distinct domains, {} URL entries; {} invalid line(s); took {:.2} s.",
            report.compile.domains,
            report.compile.urls,
            report.compile.totals.invalid,
            started.elapsed().as_secs_f64()
        ));
        if let Some(why) = &report.current_unreadable {
            say(format!(
                "The current file could not be read ({why}); it was not compared."
            ));
        }
        match &report.outcome {
            Outcome::Installed { .. } | Outcome::Forced { .. } => {
                say(format!("Installed {}.", target.display()));
                if let Some(p) = &previous {
                    say(format!("The file it replaced is kept as {}.", p.display()));
                }
                if !report.shrunk.is_empty() {
                    say(format!(
                        "Installed despite the shrink check (--force): {}.",
                        shrink_summary(&report)
                    ));
                }
            }
            Outcome::DryRun => {
                if report.shrunk.is_empty() {
                    say("Dry run: nothing was changed; the update would be installed.");
                } else {
                    say(format!(
                        "Dry run: nothing was changed; the update would be refused: {}.",
                        shrink_summary(&report)
                    ));
                }
            }
            Outcome::Refused => {}
        }
    }
    if report.outcome == Outcome::Refused {
        bail!(
            "kept the current lists in {}: categories shrank by more than {:.0}%: {}. Check the sources, or install anyway with `gatehouse lists update --force`",
            target.display(),
            max * 100.0,
            shrink_summary(&report)
        );
    }
    Ok(ExitCode::SUCCESS)
}
