//! `gatehouse import people`: read an MIS export, show every problem by line and column,
//! and apply it in one transaction (or nothing at all).

use super::{open_existing, say, say_json};
use crate::cli::ImportPeople;
use crate::config::Config;
use anyhow::{Context, Result};
use gatehouse_domain::import::parse_map_arg;
use gatehouse_service::Actor;
use gatehouse_service::people::{ImportPreview, ImportRequest};
use indicatif::{ProgressBar, ProgressStyle};
use std::process::ExitCode;

/// Rows above which a progress bar is drawn.
const PROGRESS_FROM: u64 = 1_000;

fn bar(len: u64, what: &str) -> ProgressBar {
    if len <= PROGRESS_FROM {
        return ProgressBar::hidden();
    }
    let b = ProgressBar::new(len);
    if let Ok(style) =
        ProgressStyle::with_template("{msg:>9} [{bar:40}] {pos}/{len} rows ({eta} left)")
    {
        b.set_style(style.progress_chars("=> "));
    }
    b.set_message(what.to_owned());
    b
}

fn print_preview(p: &ImportPreview, dry_run: bool) {
    let plan = &p.plan;
    say(format!(
        "{} row(s) read: {} new, {} changed, {} unchanged, {} to mark as leavers, {} problem(s).",
        p.parsed.rows.len(),
        plan.creates.len(),
        plan.updates.len(),
        plan.unchanged,
        plan.leavers.len(),
        plan.problems.len()
    ));
    let ignored: Vec<&str> = p
        .parsed
        .columns
        .iter()
        .filter(|c| c.field.is_none())
        .map(|c| c.header.as_str())
        .collect();
    if !ignored.is_empty() {
        say(format!("Columns not used: {}", ignored.join(", ")));
    }
    for problem in &plan.problems {
        say(format!("  problem: {problem}"));
    }
    if dry_run {
        for r in plan.creates.iter().take(20) {
            say(format!(
                "  new (line {}): {}",
                r.line,
                r.details.full_name()
            ));
        }
        for u in plan.updates.iter().take(20) {
            let changes: Vec<String> = u
                .changes
                .iter()
                .map(|c| format!("{} '{}' -> '{}'", c.field, c.before, c.after))
                .collect();
            say(format!(
                "  changed (line {}): {}: {}",
                u.row.line,
                u.row.details.full_name(),
                changes.join(", ")
            ));
        }
        for l in plan.leavers.iter().take(20) {
            say(format!("  leaver: {}", l.name));
        }
    }
}

/// Run the import.
pub async fn import(config: &Config, args: ImportPeople, json: bool) -> Result<ExitCode> {
    let bytes =
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let overrides = args
        .map
        .iter()
        .map(|m| parse_map_arg(m))
        .collect::<Result<Vec<_>, _>>()?;
    let app = open_existing(config).await?;
    let cli = Actor::cli();
    let req = ImportRequest {
        kind: args.kind.into(),
        overrides,
        full: args.full,
        file_name: args.file.display().to_string(),
    };
    let lines = bytes.iter().filter(|b| **b == b'\n').count() as u64;
    let reading = bar(lines, "reading");
    let preview = app
        .preview_import(&cli, &bytes, &req, &mut |n| reading.set_position(n as u64))
        .await?;
    reading.finish_and_clear();
    let problems = preview.problems().len();
    if json && (args.dry_run || (problems > 0 && !args.skip_invalid)) {
        say_json(
            &serde_json::json!({ "applied": false, "plan": preview.plan, "columns": preview.parsed.columns }),
        )?;
        return Ok(if problems > 0 {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        });
    }
    if !json {
        print_preview(&preview, args.dry_run);
    }
    if args.dry_run {
        say("Dry run: nothing was changed.");
        return Ok(if problems > 0 {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        });
    }
    if problems > 0 && !args.skip_invalid {
        say(
            "Nothing was imported. Correct the file, or use --skip-invalid to import only the valid rows.",
        );
        return Ok(ExitCode::FAILURE);
    }
    let changes = (preview.plan.creates.len()
        + preview.plan.updates.len()
        + preview.plan.leavers.len()) as u64;
    let writing = bar(changes, "saving");
    let outcome = app
        .apply_import(&cli, &preview, &req, args.skip_invalid, &|n| {
            writing.set_position(n as u64)
        })
        .await?;
    writing.finish_and_clear();
    if json {
        say_json(
            &serde_json::json!({ "applied": true, "outcome": outcome, "skipped_problems": problems }),
        )?;
    } else {
        say(format!(
            "Imported: {} added, {} updated, {} marked as leavers, {} parent–child links added{}.",
            outcome.created,
            outcome.updated,
            outcome.leavers,
            outcome.links_added,
            if problems > 0 {
                format!("; {problems} problem row(s) skipped")
            } else {
                String::new()
            }
        ));
    }
    Ok(ExitCode::SUCCESS)
}
