//! `gatehouse check`: ask the web filter's engine (`gatehouse-filter`) what happens to a
//! host or URL for a group or user at a time, with the rule that decided it, and answer
//! squid's `url_rewrite_program` helper protocol in batch mode.
//!
//! Who asks is a group (policy) name or a username. Usernames resolve through a users
//! file (`--users`, lines `username group`) or the installation's accounts: account →
//! person → [`gatehouse_domain::filtering::filter_group`].

use super::{open_existing, say, say_json};
use crate::cli::CheckArgs;
use crate::config::Config;
use anyhow::{Context as _, Result, bail};
use gatehouse_domain::filtering::filter_group;
use gatehouse_filter::{Action, Database, Decision, Engine, EngineConfig, Identity, Request};
use gatehouse_service::Gatehouse;
use gatehouse_store::PeopleFilter;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, mpsc};

/// Where blocked requests are redirected in batch mode.
const BLOCK_PAGE: &str = "http://block.gatehouse.invalid/";

/// Buffer size of batch mode's input and output.
const BATCH_BUFFER: usize = 64 * 1024;

/// The filter engine over a compiled database, with the names of its policies.
struct Filter {
    engine: Engine,
    groups: Vec<String>,
    fallback: String,
    timezone: TimeZone,
}

impl Filter {
    fn open(path: &Path, config: EngineConfig) -> Result<Filter> {
        let db = Database::open(path)
            .with_context(|| format!("opening the compiled lists {}", path.display()))?;
        let engine = Engine::new(Arc::new(db), &config).context("building the filter")?;
        Ok(Filter {
            engine,
            groups: config
                .policies
                .policies
                .iter()
                .map(|p| p.name.clone())
                .collect(),
            fallback: config.policies.fallback.clone(),
            timezone: config.policies.timezone.clone(),
        })
    }

    fn is_group(&self, name: &str) -> bool {
        self.groups.iter().any(|g| g == name)
    }

    fn group<'a>(&self, name: &'a str) -> Result<&'a str> {
        if self.is_group(name) {
            Ok(name)
        } else {
            bail!(
                "unknown group {name:?}; the groups are: {}",
                self.groups.join(", ")
            )
        }
    }

    /// `group` if the policies have it, else the fallback (what the engine applies).
    fn effective<'a>(&'a self, group: &'a str) -> &'a str {
        if self.is_group(group) {
            group
        } else {
            &self.fallback
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

/// A users file: `username group` per line, `#` comments. Usernames are matched without
/// regard to ASCII case; every group must be one of the policies'.
fn read_users(path: &Path, filter: &Filter) -> Result<HashMap<String, String>> {
    let text = crate::filtering::read_text(path, "users file")?;
    let mut users = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let content = line.split('#').next().unwrap_or("");
        let mut fields = content.split_whitespace();
        let Some(user) = fields.next() else {
            continue;
        };
        let (Some(group), None) = (fields.next(), fields.next()) else {
            bail!(
                "{} line {n}: expected `username group`, found {:?}",
                path.display(),
                content.trim()
            );
        };
        if !filter.is_group(group) {
            bail!(
                "{} line {n}: unknown group {group:?} for {user}; the groups are: {}",
                path.display(),
                filter.groups.join(", ")
            );
        }
        if users
            .insert(user.to_ascii_lowercase(), group.to_owned())
            .is_some()
        {
            bail!("{} line {n}: {user} is listed twice", path.display());
        }
    }
    Ok(users)
}

/// Whether `--data` names an installation (its database exists).
fn has_installation(config: &Config) -> bool {
    config.database_path().is_file()
}

/// The group of the installation's account `username`: `Ok(None)` when there is no such
/// account; the policies' fallback (with the reason) when it has no group.
async fn installation_user(
    app: &Gatehouse,
    username: &str,
) -> Result<Option<(Option<&'static str>, String)>> {
    let Some(account) = app.store.account_by_username(username).await? else {
        return Ok(None);
    };
    if account.disabled {
        return Ok(Some((None, "disabled account".to_owned())));
    }
    let Some(pid) = account.person_id else {
        return Ok(Some((None, "account linked to no person".to_owned())));
    };
    let person = app.store.person(account.school_id, pid).await?;
    Ok(Some(match person {
        Some(r) if r.person.active => {
            let d = &r.person.details;
            let group = filter_group(d.kind, d.year_group);
            let what = match d.year_group {
                Some(y) if d.kind == gatehouse_domain::people::PersonKind::Pupil => {
                    format!("pupil in year {}", y.code())
                }
                _ => d.kind.as_str().to_owned(),
            };
            (group, what)
        }
        Some(_) => (None, "leaver".to_owned()),
        None => (None, "account linked to no person".to_owned()),
    }))
}

/// Every account of the installation with the group it filters as (accounts without a
/// group are left out: they get the default).
async fn installation_users(app: &Gatehouse) -> Result<HashMap<String, String>> {
    let school = app.school().await?;
    let mut groups: HashMap<i64, &'static str> = HashMap::new();
    let mut offset = 0;
    loop {
        let page = app
            .store
            .list_people(
                school.id,
                &PeopleFilter {
                    limit: 500,
                    offset,
                    ..PeopleFilter::default()
                },
            )
            .await?;
        let n = i64::try_from(page.people.len()).unwrap_or(i64::MAX);
        for p in page.people {
            if let Some(g) = filter_group(p.details.kind, p.details.year_group) {
                groups.insert(p.id, g);
            }
        }
        offset += n;
        if n == 0 || offset >= page.total {
            break;
        }
    }
    let mut users = HashMap::new();
    for a in app.store.list_accounts(school.id).await? {
        if a.disabled {
            continue;
        }
        if let Some(g) = a.person_id.and_then(|id| groups.get(&id)) {
            users.insert(a.username.to_ascii_lowercase(), (*g).to_owned());
        }
    }
    Ok(users)
}

/// Who a single check is for: the group, and how it was found.
struct Who {
    group: String,
    user: Option<String>,
    how: String,
}

async fn resolve(config: &Config, args: &CheckArgs, filter: &Filter, name: &str) -> Result<Who> {
    if filter.is_group(name) {
        return Ok(Who {
            group: name.to_owned(),
            user: None,
            how: "group".to_owned(),
        });
    }
    let user = Some(name.to_owned());
    if let Some(path) = &args.users {
        let users = read_users(path, filter)?;
        return match users.get(&name.to_ascii_lowercase()) {
            Some(g) => Ok(Who {
                group: g.clone(),
                user,
                how: format!("user {name} in {}", path.display()),
            }),
            None => bail!(
                "{name:?} is neither a group nor a user in {}; the groups are: {}",
                path.display(),
                filter.groups.join(", ")
            ),
        };
    }
    if !has_installation(config) {
        bail!(
            "unknown group {name:?}; the groups are: {} (a username needs an installation, \
             --data DIR, or a users file, --users FILE)",
            filter.groups.join(", ")
        );
    }
    let app = open_existing(config).await?;
    match installation_user(&app, name).await? {
        Some((group, what)) => {
            let group = filter.effective(group.unwrap_or(&filter.fallback));
            Ok(Who {
                group: group.to_owned(),
                user,
                how: format!("user {name}, {what}"),
            })
        }
        None => bail!(
            "{name:?} is neither a group nor a username of this installation; the groups are: {}",
            filter.groups.join(", ")
        ),
    }
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
pub async fn check(config: &Config, args: &CheckArgs, json: bool) -> Result<ExitCode> {
    let path = lists_path(config, args.lists.as_ref())?;
    let filter = Filter::open(
        &path,
        crate::filtering::engine_config(config, args.policies.as_ref())?,
    )?;
    if args.batch {
        let default = match &args.as_default {
            Some(g) => filter.group(g)?.to_owned(),
            None => filter.fallback.clone(),
        };
        let users = match &args.users {
            Some(p) => read_users(p, &filter)?,
            None if has_installation(config) => {
                installation_users(&open_existing(config).await?).await?
            }
            None => HashMap::new(),
        };
        return batch(&filter, &users, &default, usize::from(args.threads));
    }
    let (Some(target), Some(name)) = (args.target.as_deref(), args.who.as_deref()) else {
        bail!("give a HOST or URL and --as USERNAME|GROUP (or --batch)");
    };
    let who = resolve(config, args, &filter, name).await?;
    let group = who.group.as_str();
    let at = match &args.at {
        Some(text) => parse_at(text, &filter.timezone)?,
        None => Timestamp::now(),
    };
    let request = Request::parse(target);
    let decision = filter
        .engine
        .decide_request(&Identity::group(group), &request, at);
    let host = request.host;
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
            "user": who.user,
            "as": who.how,
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
    if who.user.is_some() {
        say(format!("  as:         {} -> group {group}", who.how));
    }
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

/// Append `s` to `out`, percent-encoding everything but unreserved URL characters (runs
/// of those are copied at once: a host name usually is one run).
fn push_encoded(out: &mut Vec<u8>, s: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    const UNRESERVED: [bool; 256] = {
        let mut t = [false; 256];
        let mut b = 0;
        while b < 256 {
            let c = b as u8;
            t[b] = c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~');
            b += 1;
        }
        t
    };
    let mut rest = s;
    while !rest.is_empty() {
        let run = rest
            .iter()
            .position(|&b| !UNRESERVED[usize::from(b)])
            .unwrap_or(rest.len());
        let (plain, tail) = rest.split_at(run);
        out.extend_from_slice(plain);
        if let Some((&b, after)) = tail.split_first() {
            out.extend_from_slice(&[b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
            rest = after;
        } else {
            rest = tail;
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

/// Who a helper line's user field stands for: group names, then usernames, then the
/// default; identities are built once, lines only look them up.
struct Identities {
    /// By user or group name; foldhash: one lookup per helper line.
    by_name: foldhash::HashMap<String, Identity>,
    default: Identity,
}

impl Identities {
    fn new(filter: &Filter, users: &HashMap<String, String>, default: &str) -> Identities {
        let mut by_name: foldhash::HashMap<String, Identity> = users
            .iter()
            .map(|(user, group)| (user.clone(), Identity::group(filter.effective(group))))
            .collect();
        // group names win over usernames
        for g in &filter.groups {
            by_name.insert(g.clone(), Identity::group(g));
        }
        Identities {
            by_name,
            default: Identity::group(filter.effective(default)),
        }
    }

    /// The identity of squid's user field (percent-encoded; `-` for none). `scratch` is
    /// reused for the decoded, lower-cased name when the field is not found as it is.
    fn get(&self, user: &str, scratch: &mut Vec<u8>) -> &Identity {
        if let Some(who) = self.by_name.get(user) {
            return who;
        }
        // a field without escapes or capitals decodes to itself: not listed either
        if user == "-" || !user.bytes().any(|b| b == b'%' || b.is_ascii_uppercase()) {
            return &self.default;
        }
        decode_user(user.as_bytes(), scratch);
        std::str::from_utf8(scratch)
            .ok()
            .and_then(|name| self.by_name.get(name))
            .unwrap_or(&self.default)
    }
}

/// Percent-decode and ASCII-lower-case squid's user field into `out` (replacing its
/// contents; escapes that are not two hex digits are kept as they are).
fn decode_user(field: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let hex = |j: usize| field.get(j).and_then(|h| char::from(*h).to_digit(16));
    let mut i = 0;
    while let Some(&c) = field.get(i) {
        match (c, hex(i + 1), hex(i + 2)) {
            (b'%', Some(h), Some(l)) => {
                out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                i += 3;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    out.make_ascii_lowercase();
}

/// Answer squid helper lines from standard input until it closes (see `check --help`),
/// with `threads` threads: the complete lines of each read are shared out in consecutive
/// runs, one per thread, and the answers written in input order.
fn batch(
    filter: &Filter,
    users: &HashMap<String, String>,
    default: &str,
    threads: usize,
) -> Result<ExitCode> {
    let identities = Identities::new(filter, users, default);
    let helper = Helper {
        filter,
        identities: &identities,
    };
    std::thread::scope(|scope| -> Result<ExitCode> {
        let mut workers = Vec::new();
        for i in 1..threads.max(1) {
            let (jobs, inbox) = mpsc::channel::<Job>();
            let (done, answers) = mpsc::channel::<Job>();
            std::thread::Builder::new()
                .name(format!("batch-{i}"))
                .spawn_scoped(scope, move || {
                    let mut scratch = Vec::with_capacity(64);
                    for mut job in inbox {
                        job.out.clear();
                        helper.answer_lines(&job.lines, job.now, &mut scratch, &mut job.out);
                        if done.send(job).is_err() {
                            break;
                        }
                    }
                })
                .context("starting a batch thread")?;
            workers.push(Worker {
                jobs,
                answers,
                spare: Some(Job::default()),
            });
        }
        helper.serve(&mut workers)
    })
}

/// A run of complete helper lines for another thread, and its answers.
#[derive(Default)]
struct Job {
    lines: Vec<u8>,
    out: Vec<u8>,
    now: Timestamp,
}

/// Another thread of batch mode, as the reading thread sees it.
struct Worker {
    jobs: mpsc::Sender<Job>,
    answers: mpsc::Receiver<Job>,
    /// The job buffers while the thread is idle.
    spare: Option<Job>,
}

/// What every thread of batch mode answers with.
#[derive(Clone, Copy)]
struct Helper<'a> {
    filter: &'a Filter,
    identities: &'a Identities,
}

impl Helper<'_> {
    /// Fewer bytes of complete lines than this in one read are answered by the reading
    /// thread alone (a request or two at a time, as squid sends them when it is quiet).
    const SHARE_FROM: usize = 8 * 1024;

    /// The reading thread: read, share out, answer, write, until the input closes.
    fn serve(&self, workers: &mut [Worker]) -> Result<ExitCode> {
        let stdin = std::io::stdin();
        // With threads to share out to, larger reads: fewer hand-overs per line.
        let capacity = if workers.is_empty() {
            BATCH_BUFFER
        } else {
            8 * BATCH_BUFFER
        };
        let mut input = BufReader::with_capacity(capacity, stdin.lock());
        // The answers of a read go out in one write (standard output passes whole lines
        // straight through).
        let mut output = std::io::stdout().lock();
        // The start of a line whose end has not arrived yet.
        let mut partial: Vec<u8> = Vec::new();
        let mut out: Vec<u8> = Vec::with_capacity(BATCH_BUFFER);
        let mut scratch: Vec<u8> = Vec::with_capacity(64);
        loop {
            let buf = input.fill_buf().context("reading standard input")?;
            let read = buf.len();
            if read == 0 {
                // end of input: a last line without its newline is still answered
                if !partial.is_empty() {
                    partial.push(b'\n');
                    out.clear();
                    self.answer_lines(&partial, Timestamp::now(), &mut scratch, &mut out);
                    output.write_all(&out).context("writing standard output")?;
                }
                break;
            }
            // Lines read together arrived together: one reading of the clock (and one more
            // every `CLOCK_EVERY` lines).
            let now = Timestamp::now();
            out.clear();
            let mut rest = buf;
            if !partial.is_empty() {
                if let Some(nl) = memchr::memchr(b'\n', rest) {
                    partial.extend_from_slice(rest.get(..=nl).unwrap_or_default());
                    self.answer_lines(&partial, now, &mut scratch, &mut out);
                    partial.clear();
                    rest = rest.get(nl + 1..).unwrap_or_default();
                } else {
                    partial.extend_from_slice(rest);
                    rest = &[];
                }
            }
            let complete = memchr::memrchr(b'\n', rest).map_or(0, |i| i + 1);
            let (lines, tail) = rest.split_at(complete);
            self.answer_shared(lines, now, workers, &mut scratch, &mut out)?;
            partial.extend_from_slice(tail);
            input.consume(read);
            // Every complete request read so far is answered: send the answers before a
            // read that may wait for squid.
            output.write_all(&out).context("writing standard output")?;
            output.flush().context("writing standard output")?;
        }
        output.flush().context("writing standard output")?;
        Ok(ExitCode::SUCCESS)
    }

    /// Answer `lines` (complete lines) into `out`, in order: with the other threads when
    /// there are enough of them, a consecutive run each, the reading thread taking the
    /// first.
    fn answer_shared(
        &self,
        lines: &[u8],
        now: Timestamp,
        workers: &mut [Worker],
        scratch: &mut Vec<u8>,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        if workers.is_empty() || lines.len() < Self::SHARE_FROM {
            self.answer_lines(lines, now, scratch, out);
            return Ok(());
        }
        // Cut into runs of about equal size, at line ends.
        let share = lines.len() / (workers.len() + 1);
        let cut = |from: usize| -> usize {
            lines
                .get(from + share..)
                .and_then(|r| memchr::memchr(b'\n', r))
                .map_or(lines.len(), |i| from + share + i + 1)
        };
        let own_end = cut(0);
        let mut from = own_end;
        let mut busy = 0;
        for w in workers.iter_mut() {
            if from >= lines.len() {
                break;
            }
            let to = cut(from);
            let mut job = w.spare.take().unwrap_or_default();
            job.lines.clear();
            job.lines
                .extend_from_slice(lines.get(from..to).unwrap_or_default());
            job.now = now;
            w.jobs
                .send(job)
                .map_err(|_| anyhow::anyhow!("a batch thread stopped"))?;
            busy += 1;
            from = to;
        }
        self.answer_lines(lines.get(..own_end).unwrap_or_default(), now, scratch, out);
        for w in workers.iter_mut().take(busy) {
            let job = w
                .answers
                .recv()
                .map_err(|_| anyhow::anyhow!("a batch thread stopped"))?;
            out.extend_from_slice(&job.out);
            w.spare = Some(job);
        }
        Ok(())
    }

    /// Answer every line of `lines` (each ending in `\n`) into `out`, one answer line each.
    fn answer_lines(&self, lines: &[u8], now: Timestamp, scratch: &mut Vec<u8>, out: &mut Vec<u8>) {
        // A thread that is never idle still sees the time move on (schedules change by
        // the minute).
        const CLOCK_EVERY: u32 = 64;
        let mut now = now;
        let mut count = 0u32;
        // One UTF-8 check for the whole read; only if it fails, one per line (so that the
        // line that is not UTF-8 gets the error).
        let whole = std::str::from_utf8(lines).ok();
        let mut at = 0usize;
        while let Some(nl) = lines.get(at..).and_then(|rest| memchr::memchr(b'\n', rest)) {
            let mut end = at + nl;
            while end > at && lines.get(end - 1) == Some(&b'\r') {
                end -= 1;
            }
            let text = match whole {
                Some(t) => t.get(at..end),
                None => lines.get(at..end).and_then(|l| std::str::from_utf8(l).ok()),
            };
            match text {
                Some(line) => answer(line, self.filter, self.identities, now, scratch, out),
                None => out.extend_from_slice(b"BH message=\"line is not UTF-8\""),
            }
            out.push(b'\n');
            at += nl + 1;
            count += 1;
            if count.is_multiple_of(CLOCK_EVERY) {
                now = Timestamp::now();
            }
        }
    }
}

/// The fields of a helper line: the runs of characters between spaces or tabs (other
/// ASCII white space before a field is skipped too).
struct Fields<'a>(&'a str);

impl<'a> Iterator for Fields<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let rest = self.0.trim_ascii_start();
        if rest.is_empty() {
            return None;
        }
        let end = memchr::memchr2(b' ', b'\t', rest.as_bytes()).unwrap_or(rest.len());
        let (field, tail) = rest.split_at(end);
        self.0 = tail;
        Some(field)
    }
}

/// Append the answer to one helper line (without the newline) to `out`.
fn answer(
    line: &str,
    filter: &Filter,
    identities: &Identities,
    now: Timestamp,
    scratch: &mut Vec<u8>,
    out: &mut Vec<u8>,
) {
    let mut fields = Fields(line);
    let mut first = fields.next();
    // With `concurrency=N`, squid puts a numeric channel ID first; echo it back.
    if let Some(id) = first.filter(|f| f.bytes().all(|b| b.is_ascii_digit())) {
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
    let request = Request::parse(url);
    if request.host.is_empty() {
        out.extend_from_slice(b"BH message=\"no host in the URL\"");
        return;
    }
    let who = identities.get(user, scratch);
    let decision = filter.engine.decide_request(who, &request, now);
    push_verdict(out, &decision, request.host.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::push_encoded;

    #[test]
    fn only_unreserved_characters_are_left_as_they_are() {
        let enc = |s: &str| {
            let mut out = Vec::new();
            push_encoded(&mut out, s.as_bytes());
            String::from_utf8(out).unwrap()
        };
        assert_eq!(enc("www.example-1_a~.com"), "www.example-1_a~.com");
        assert_eq!(enc(""), "");
        assert_eq!(enc("a b/é&"), "a%20b%2F%C3%A9%26");
        assert_eq!(enc("%%"), "%25%25");
        assert_eq!(enc("x\"y"), "x%22y");
    }
}
