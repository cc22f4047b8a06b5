//! `gatehouse agreements …`: the register's counts per policy (`status`), a school's own
//! agreement made into a draft or published policy (`import`), and the signature ledger's
//! check (`verify`).

use super::{open_existing, say, say_json};
use crate::cli::{AgreementsCommand, AgreementsImport, AgreementsStatus};
use crate::config::Config;
use anyhow::{Context as _, Result, anyhow, bail};
use gatehouse_domain::agreements::Audience;
use gatehouse_domain::agreements::requirement::DEFAULT_ANNUAL_FROM;
use gatehouse_domain::agreements::text::{Candidate, ParseReport, parse_policy};
use gatehouse_domain::import::decode;
use gatehouse_domain::people::parse_uk_date;
use gatehouse_service::Actor;
use gatehouse_service::agreements::{PolicyRequest, RegisterCounts, RegisterFilter};
use gatehouse_store::{NewPolicy, Policy, PolicyVersion};
use jiff::ToSpan as _;
use jiff::civil::Date;
use serde::Serialize;
use std::process::ExitCode;

/// Run `gatehouse agreements …`.
pub async fn run(config: &Config, action: AgreementsCommand, json: bool) -> Result<ExitCode> {
    match action {
        AgreementsCommand::Status(args) => status(config, &args, json).await,
        AgreementsCommand::Import(args) => import(config, &args, json).await,
        AgreementsCommand::Verify => verify(config, json).await,
    }
}

// ---------------------------------------------------------------- status

/// The version a policy's status refers to: the published one, else the newest.
#[derive(Debug, Serialize)]
struct VersionSummary {
    number: u32,
    status: &'static str,
    effective_on: Option<Date>,
    review_on: Option<Date>,
}

/// Someone past their due date.
#[derive(Debug, Serialize)]
struct OverduePerson {
    id: i64,
    name: String,
    kind: &'static str,
    class: Option<String>,
    due: Option<Date>,
    /// `overdue` (never signed) or `resign` (signed an older version or year).
    status: &'static str,
}

/// One policy's line of `agreements status`.
#[derive(Debug, Serialize)]
struct PolicyStatus {
    id: i64,
    title: String,
    audience: Audience,
    owner: String,
    version: Option<VersionSummary>,
    counts: RegisterCounts,
    signed_percent: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    overdue_people: Option<Vec<OverduePerson>>,
}

/// The whole answer of `agreements status`.
#[derive(Debug, Serialize)]
struct StatusReport {
    today: Date,
    policies: Vec<PolicyStatus>,
}

/// The policies `--policy` names: the one with that id, else every policy whose title
/// holds all the words (case ignored).
fn select_policies(all: Vec<Policy>, wanted: Option<&str>) -> Result<Vec<Policy>> {
    let Some(wanted) = wanted.map(str::trim) else {
        return Ok(all);
    };
    if let Ok(id) = wanted.parse::<i64>()
        && all.iter().any(|p| p.id == id)
    {
        return Ok(all.into_iter().filter(|p| p.id == id).collect());
    }
    let words: Vec<String> = wanted.split_whitespace().map(str::to_lowercase).collect();
    if words.is_empty() {
        bail!("policy: give a policy's id or words of its title");
    }
    let found: Vec<Policy> = all
        .into_iter()
        .filter(|p| {
            let title = p.title.to_lowercase();
            words.iter().all(|w| title.contains(w.as_str()))
        })
        .collect();
    if found.is_empty() {
        bail!(
            "policy: no policy has the id or title words '{wanted}' (see `gatehouse agreements status`)"
        );
    }
    Ok(found)
}

fn current_version(p: &Policy) -> Option<&PolicyVersion> {
    p.published().or_else(|| p.versions.last())
}

fn version_line(v: Option<&VersionSummary>, today: Date) -> String {
    match v {
        None => "no version".to_owned(),
        Some(v) if v.status == "published" => {
            let mut s = format!("version {} published", v.number);
            if let Some(e) = v.effective_on {
                if e > today {
                    s.push_str(&format!(", in force from {e}"));
                } else {
                    s.push_str(&format!(", in force since {e}"));
                }
            }
            if let Some(r) = v.review_on
                && r < today
            {
                s.push_str(&format!(", review was due {r}"));
            }
            s
        }
        Some(v) => format!("version {} {}, not published", v.number, v.status),
    }
}

async fn status(config: &Config, args: &AgreementsStatus, json: bool) -> Result<ExitCode> {
    let app = open_existing(config).await?;
    let cli = Actor::cli();
    let today = app.today();
    let policies = select_policies(app.policies(&cli).await?, args.policy.as_deref())?;
    let mut report = StatusReport {
        today,
        policies: Vec::new(),
    };
    for policy in policies {
        let register = app
            .register(&cli, policy.id, &RegisterFilter::default())
            .await?;
        let overdue_people = args.overdue.then(|| {
            register
                .rows
                .iter()
                .filter(|r| r.status.is_overdue())
                .map(|r| {
                    let d = &r.person.details;
                    OverduePerson {
                        id: r.person.id,
                        name: d.full_name(),
                        kind: d.kind.as_str(),
                        class: d
                            .class_name
                            .as_ref()
                            .map(|c| c.as_str().to_owned())
                            .or_else(|| d.year_group.map(|y| y.code())),
                        due: r.status.due(),
                        status: r.status.key(),
                    }
                })
                .collect()
        });
        report.policies.push(PolicyStatus {
            id: policy.id,
            title: policy.title.clone(),
            audience: policy.audience,
            owner: policy.owner.clone(),
            version: current_version(&policy).map(|v| VersionSummary {
                number: v.number,
                status: v.status.as_str(),
                effective_on: v.effective_on,
                review_on: v.review_on,
            }),
            signed_percent: register.counts.signed_percent(),
            counts: register.counts,
            overdue_people,
        });
    }
    if json {
        say_json(&report)?;
        return Ok(ExitCode::SUCCESS);
    }
    if report.policies.is_empty() {
        say("No agreements yet. Create one with `gatehouse agreements import FILE --audience …`.");
        return Ok(ExitCode::SUCCESS);
    }
    for (i, p) in report.policies.iter().enumerate() {
        if i > 0 {
            say("");
        }
        say(format!(
            "[{}] {} ({}; {})",
            p.id,
            p.title,
            p.audience.label(),
            version_line(p.version.as_ref(), today)
        ));
        let c = &p.counts;
        say(format!(
            "    required {}, signed {} ({}%), due {}, overdue {}, re-sign {}",
            c.required, c.signed, p.signed_percent, c.due, c.overdue, c.resign
        ));
        if let Some(people) = &p.overdue_people {
            if people.is_empty() {
                say("    Nobody is overdue.");
                continue;
            }
            say(format!("    Overdue ({}):", people.len()));
            say(format!(
                "      {:<30} {:<10} {:<18} {:<10} {}",
                "NAME", "KIND", "CLASS", "DUE", "STATUS"
            ));
            for o in people {
                say(format!(
                    "      {:<30} {:<10} {:<18} {:<10} {}",
                    o.name,
                    o.kind,
                    o.class.as_deref().unwrap_or("-"),
                    o.due.map(|d| d.to_string()).unwrap_or_default(),
                    if o.status == "resign" {
                        "re-sign overdue"
                    } else {
                        "overdue"
                    }
                ));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

// ---------------------------------------------------------------- import

/// A part of the file, for the listing.
#[derive(Debug, Serialize)]
struct Part {
    part: usize,
    title: String,
    sections: usize,
    clauses: usize,
}

fn parts(report: &ParseReport) -> Vec<Part> {
    report
        .candidates
        .iter()
        .map(|c| Part {
            part: c.index + 1,
            title: c.title.clone(),
            sections: c.section_count,
            clauses: c.clause_count,
        })
        .collect()
}

fn part_line(p: &Part) -> String {
    format!(
        "part {}: {} ({} clause{})",
        p.part,
        p.title,
        p.clauses,
        if p.clauses == 1 { "" } else { "s" }
    )
}

/// The settings of the import, checked before anything is stored.
struct Settings {
    audience: Audience,
    publish: Option<(String, Date, Date)>,
}

fn settings(args: &AgreementsImport, today: Date) -> Result<Settings> {
    let audience: Audience = args.audience.parse()?;
    if args.days > 365 {
        bail!("days: a whole number of days from 0 to 365");
    }
    if args.owner.trim().is_empty() {
        bail!("owner: say who owns the policy (e.g. Headteacher)");
    }
    if let Some(t) = &args.title
        && t.trim().is_empty()
    {
        bail!("title: must not be empty");
    }
    let publish = if args.publish {
        let by = args
            .approved_by
            .as_deref()
            .map(str::trim)
            .filter(|b| !b.is_empty())
            .ok_or_else(|| {
                anyhow!("approved by: say who approved it (e.g. \"Full governing body\")")
            })?;
        let effective = match &args.effective {
            Some(raw) => parse_uk_date(raw).map_err(|e| anyhow!("effective {e}"))?,
            None => today,
        };
        let review = match &args.review {
            Some(raw) => parse_uk_date(raw).map_err(|e| anyhow!("review {e}"))?,
            None => effective.checked_add(1.year())?,
        };
        if review <= effective {
            bail!("review date: must be after the effective date ({effective})");
        }
        Some((by.to_owned(), effective, review))
    } else {
        None
    };
    Ok(Settings { audience, publish })
}

/// The candidate `--part` names (1-based), or the only one.
fn choose(report: &ParseReport, part: Option<usize>) -> Result<&Candidate> {
    let n = report.candidates.len();
    match part {
        Some(p) => p
            .checked_sub(1)
            .and_then(|i| report.candidates.get(i))
            .ok_or_else(|| {
                anyhow!(
                    "part: the file holds {n} agreement{}; choose a part from 1 to {n}",
                    if n == 1 { "" } else { "s" }
                )
            }),
        None if n == 1 => report
            .candidates
            .first()
            .ok_or_else(|| anyhow!("part: the file holds no agreement")),
        None => bail!("part: the file holds {n} agreements; choose one with --part (1 to {n})"),
    }
}

async fn import(config: &Config, args: &AgreementsImport, json: bool) -> Result<ExitCode> {
    let bytes =
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let app = open_existing(config).await?;
    let cli = Actor::cli();
    let settings = settings(args, app.today())?;
    let source = decode(&bytes);
    let report = parse_policy(&source);
    let found = parts(&report);
    let all_clauses = report.text.clause_count();
    if !json {
        say(format!(
            "Read {}: title {}; {} section{}, {} clause{}{}.",
            args.file.display(),
            report
                .text
                .title
                .as_deref()
                .map_or_else(|| "(none)".to_owned(), |t| format!("\"{t}\"")),
            report.text.sections.len(),
            if report.text.sections.len() == 1 {
                ""
            } else {
                "s"
            },
            all_clauses,
            if all_clauses == 1 { "" } else { "s" },
            match report.signature_lines_removed {
                0 => String::new(),
                n => format!("; {n} signature line(s) left out"),
            }
        ));
        if found.len() > 1 {
            say(format!("The file holds {} agreements:", found.len()));
            for p in &found {
                say(format!("  {}", part_line(p)));
            }
        }
    }
    let candidate = match choose(&report, args.part) {
        Ok(c) => c,
        Err(e) => {
            if json {
                say_json(&serde_json::json!({ "created": false, "parts": found }))?;
            }
            return Err(e);
        }
    };
    let part = candidate.index + 1;
    if candidate.clause_count == 0 {
        bail!(
            "part: part {part} (\"{}\") has no clauses to sign: each thing the reader agrees to must be a numbered or bulleted item",
            candidate.title
        );
    }
    let title = args
        .title
        .as_deref()
        .map_or_else(|| candidate.title.clone(), |t| t.trim().to_owned());
    let (policy_id, version_id) = app
        .create_policy(
            &cli,
            &PolicyRequest {
                policy: NewPolicy {
                    title: title.clone(),
                    audience: settings.audience,
                    owner: args.owner.trim().to_owned(),
                    days_to_sign: args.days,
                    annual_from: (!args.no_annual).then_some(DEFAULT_ANNUAL_FROM),
                },
                source,
                candidate: Some(candidate.index),
            },
        )
        .await?;
    let version = app
        .policy(&cli, policy_id)
        .await?
        .versions
        .into_iter()
        .find(|v| v.id == version_id)
        .ok_or_else(|| anyhow!("the new version {version_id} was not found"))?;
    let short_hash: String = version.hash.chars().take(12).collect();
    if !json {
        say(format!(
            "Created draft policy {policy_id}: \"{title}\" for {} (part {part}, {} clause{}, version 1, hash {short_hash}).",
            settings.audience.label(),
            candidate.clause_count,
            if candidate.clause_count == 1 { "" } else { "s" },
        ));
    }
    let mut published = None;
    if let Some((by, effective, review)) = &settings.publish {
        app.approve_version(&cli, version_id, by, app.today())
            .await?;
        app.publish_version(&cli, version_id, *effective, *review)
            .await?;
        let counts = app
            .register(&cli, policy_id, &RegisterFilter::default())
            .await?
            .counts;
        if !json {
            say(format!(
                "Approved by {by} and published: in force from {effective}, to be reviewed by {review}. {} {} to sign it.",
                counts.required,
                if counts.required == 1 {
                    "person has"
                } else {
                    "people have"
                }
            ));
        }
        published = Some(serde_json::json!({
            "approved_by": by,
            "effective_on": effective,
            "review_on": review,
            "counts": counts,
        }));
    } else if !json {
        say(format!(
            "It is a draft: approve and publish it on its page (/agreements/{policy_id}), or import it with --publish."
        ));
    }
    if json {
        say_json(&serde_json::json!({
            "created": true,
            "policy_id": policy_id,
            "version_id": version_id,
            "title": title,
            "audience": settings.audience,
            "part": part,
            "parts": found,
            "sections": candidate.section_count,
            "clauses": candidate.clause_count,
            "hash": version.hash,
            "status": if published.is_some() { "published" } else { "draft" },
            "published": published,
        }))?;
    }
    Ok(ExitCode::SUCCESS)
}

// ---------------------------------------------------------------- verify

async fn verify(config: &Config, json: bool) -> Result<ExitCode> {
    let app = open_existing(config).await?;
    let report = app.verify_ledger(&Actor::cli()).await?;
    if json {
        say_json(&report)?;
    } else if let Some(b) = &report.broken {
        say(format!(
            "The signature ledger has been altered: record {}: {}. The {} record{} before it {} intact.",
            b.seq,
            b.reason,
            report.records,
            if report.records == 1 { "" } else { "s" },
            if report.records == 1 { "is" } else { "are" },
        ));
    } else {
        say(format!(
            "The signature ledger is intact: {} records.",
            report.records
        ));
    }
    Ok(if report.broken.is_some() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
