//! `gatehouse check`: ask the web filter's engine (`gatehouse-filter`) what happens to a
//! host or URL for a group at a time, with the rule that decided it, and answer squid's
//! `url_rewrite_program` helper protocol in batch mode.

use super::{say, say_json};
use crate::cli::CheckArgs;
use crate::config::Config;
use anyhow::{Context as _, Result, bail};
use gatehouse_filter::{Action, Database, Decision, Engine, EngineConfig, Identity};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// Where blocked requests are redirected in batch mode.
const BLOCK_PAGE: &str = "http://block.gatehouse.invalid/";

/// The filter engine over a compiled database, with the names of its policies.
struct Filter {
    engine: Engine,
    groups: Vec<String>,
    timezone: TimeZone,
}

impl Filter {
    fn open(path: &Path) -> Result<Filter> {
        let db = Database::open(path)
            .with_context(|| format!("opening the compiled lists {}", path.display()))?;
        let config = EngineConfig::uk_default().context("loading the default policies")?;
        let engine = Engine::new(Arc::new(db), &config).context("building the filter")?;
        Ok(Filter {
            engine,
            groups: config
                .policies
                .policies
                .iter()
                .map(|p| p.name.clone())
                .collect(),
            timezone: config.policies.timezone.clone(),
        })
    }

    fn group<'a>(&self, name: &'a str) -> Result<&'a str> {
        if self.groups.iter().any(|g| g == name) {
            Ok(name)
        } else {
            bail!(
                "unknown group {name:?}; the groups are: {}",
                self.groups.join(", ")
            )
        }
    }
}

fn lists_path(config: &Config, lists: Option<&PathBuf>) -> Result<PathBuf> {
    if let Some(p) = lists {
        return Ok(p.clone());
    }
    let p = config.filter_database();
    if !p.is_file() {
        bail!(
            "no compiled lists at {} (give --lists FILE, or compile them with `gatehouse lists compile SRC… -o {}`)",
            p.display(),
            p.display()
        );
    }
    Ok(p)
}

/// `--at`: an RFC 3339 instant, or a local "YYYY-MM-DD HH:MM" in `tz`.
fn parse_at(text: &str, tz: &TimeZone) -> Result<Timestamp> {
    let text = text.trim();
    if let Ok(t) = text.parse::<Timestamp>() {
        return Ok(t);
    }
    let local = jiff::civil::DateTime::strptime("%Y-%m-%d %H:%M", text)
        .or_else(|_| text.parse::<jiff::civil::DateTime>())
        .with_context(|| {
            format!(
                "--at {text:?}: expected an RFC 3339 instant (2026-01-05T12:30:00Z) or a local \"YYYY-MM-DD HH:MM\""
            )
        })?;
    Ok(local
        .to_zoned(tz.clone())
        .with_context(|| format!("--at {text:?}: not a time in the school's time zone"))?
        .timestamp())
}

/// Run `gatehouse check`.
pub fn check(config: &Config, args: &CheckArgs, json: bool) -> Result<ExitCode> {
    let path = lists_path(config, args.lists.as_ref())?;
    let filter = Filter::open(&path)?;
    if args.batch {
        let default = filter.group(&args.as_default)?;
        return batch(&filter, default);
    }
    let (Some(target), Some(group)) = (args.target.as_deref(), args.group.as_deref()) else {
        bail!("give a HOST or URL and --as GROUP (or --batch)");
    };
    let group = filter.group(group)?;
    let at = match &args.at {
        Some(text) => parse_at(text, &filter.timezone)?,
        None => Timestamp::now(),
    };
    let decision = filter.engine.decide(&Identity::group(group), target, at);
    let host = gatehouse_filter::split_url(target).0;
    let taxonomy = filter.engine.taxonomy();
    let categories: Vec<String> = filter
        .engine
        .categories_of(host)
        .iter()
        .filter_map(|id| taxonomy.get(id).map(|c| c.name.to_string()))
        .collect();
    let db = filter.engine.database();
    let listed = db.lookup(host).map(|m| {
        let names: Vec<String> = m
            .categories()
            .iter()
            .filter_map(|c| db.category(c).map(|i| i.name.clone()))
            .collect();
        (m.name().to_owned(), names)
    });
    if json {
        say_json(&serde_json::json!({
            "host": host,
            "group": group,
            "at": at.to_string(),
            "action": decision.action.as_str(),
            "category": decision.category.as_deref(),
            "rule": decision.rule.to_string(),
            "explain": decision.explain(),
            "matched_list": decision.matched_list,
            "safe_search": decision.safe_search.as_ref().map(|s| serde_json::json!({
                "engine": &*s.engine, "target": &*s.target,
            })),
            "categories": categories,
            "list_entry": listed.as_ref().map(|(name, _)| name),
            "list_categories": listed.as_ref().map(|(_, cats)| cats),
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    let local = at.to_zoned(filter.timezone.clone());
    say(format!(
        "{host} for {group} at {}:",
        local.strftime("%Y-%m-%d %H:%M %Z (%a)")
    ));
    say(format!("  action:     {}", decision.action.as_str()));
    say(format!(
        "  rule:       {} ({})",
        decision.explain(),
        decision.rule
    ));
    match &listed {
        Some((name, cats)) => say(format!("  listed:     {name} in {}", cats.join(", "))),
        None => say("  listed:     no (not in the compiled lists)"),
    }
    say(format!(
        "  categories: {}",
        if categories.is_empty() {
            "none".to_owned()
        } else {
            categories.join(", ")
        }
    ));
    if let Some(s) = &decision.safe_search {
        say(format!("  safe search: {} -> {}", s.engine, s.target));
    }
    Ok(ExitCode::SUCCESS)
}

// ---------------------------------------------------------------- check --batch

/// Append `s` to `out`, percent-encoding everything but unreserved URL characters.
fn push_encoded(out: &mut Vec<u8>, s: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in s {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b);
        } else {
            out.push(b'%');
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 15)]);
        }
    }
}

/// Append the answer for one decision: `OK`, or a redirect to the block page.
fn push_verdict(out: &mut Vec<u8>, d: &Decision, host: &[u8]) {
    match d.action {
        Action::Allow | Action::Log => out.extend_from_slice(b"OK"),
        Action::Block | Action::Warn => {
            out.extend_from_slice(b"OK status=302 url=\"");
            out.extend_from_slice(BLOCK_PAGE.as_bytes());
            out.extend_from_slice(b"?category=");
            let cat = d.category.as_deref().unwrap_or(match d.rule {
                gatehouse_filter::Rule::Invalid => "invalid",
                _ => "uncategorised",
            });
            push_encoded(out, cat.as_bytes());
            out.extend_from_slice(b"&host=");
            push_encoded(out, host);
            if d.action == Action::Warn {
                out.extend_from_slice(b"&action=warn");
            }
            out.push(b'"');
        }
    }
}

/// Answer squid helper lines from standard input until it closes (see `check --help`).
fn batch(filter: &Filter, default: &str) -> Result<ExitCode> {
    let identities: HashMap<&str, Identity> = filter
        .groups
        .iter()
        .map(|g| (g.as_str(), Identity::group(g)))
        .collect();
    let fallback = Identity::group(default);
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let stdout = std::io::stdout();
    let mut output = stdout.lock();
    let mut line: Vec<u8> = Vec::with_capacity(4096);
    let mut out: Vec<u8> = Vec::with_capacity(512);
    loop {
        line.clear();
        if input
            .read_until(b'\n', &mut line)
            .context("reading standard input")?
            == 0
        {
            break;
        }
        while matches!(line.last(), Some(b'\n' | b'\r')) {
            line.pop();
        }
        out.clear();
        answer(&line, filter, &identities, &fallback, &mut out);
        out.push(b'\n');
        output.write_all(&out).context("writing standard output")?;
        output.flush().context("writing standard output")?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Append the answer to one helper line (without the newline) to `out`.
fn answer(
    line: &[u8],
    filter: &Filter,
    identities: &HashMap<&str, Identity>,
    fallback: &Identity,
    out: &mut Vec<u8>,
) {
    let Ok(text) = std::str::from_utf8(line) else {
        out.extend_from_slice(b"BH message=\"line is not UTF-8\"");
        return;
    };
    let mut fields = text.split_ascii_whitespace();
    let mut first = fields.next();
    // With `concurrency=N`, squid puts a numeric channel ID first; echo it back.
    if let Some(id) = first.filter(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit())) {
        out.extend_from_slice(id.as_bytes());
        out.push(b' ');
        first = fields.next();
    }
    let (Some(url), Some(_client), Some(user), Some(_method)) =
        (first, fields.next(), fields.next(), fields.next())
    else {
        out.extend_from_slice(b"BH message=\"expected: URL ip/fqdn user method [kv-pairs]\"");
        return;
    };
    let host = gatehouse_filter::split_url(url).0;
    if host.is_empty() {
        out.extend_from_slice(b"BH message=\"no host in the URL\"");
        return;
    }
    let who = identities.get(user).unwrap_or(fallback);
    let decision = filter.engine.decide(who, url, Timestamp::now());
    push_verdict(out, &decision, host.as_bytes());
}
