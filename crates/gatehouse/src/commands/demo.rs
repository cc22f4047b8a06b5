//! `gatehouse demo`: create the fictional Elmbrook Primary School in an empty data
//! folder (through the ordinary importer and account service), compile the embedded
//! sample of the UT1 lists for its web filter (used with the default policies), then
//! serve it.

use super::{open, say, security};
use crate::config::Config;
use crate::demo_school::{DemoAccount, demo_school};
use anyhow::{Context, Result, bail};
use gatehouse_domain::people::PersonKind;
use gatehouse_service::accounts::AccountRequest;
use gatehouse_service::people::ImportRequest;
use gatehouse_service::{Actor, Gatehouse};
use gatehouse_web::WebSettings;
use std::net::SocketAddr;
use std::process::ExitCode;

/// Create (if needed) and serve the demo school.
pub async fn run(
    config: Config,
    web: SocketAddr,
    dns: crate::filtering::DnsOverrides,
) -> Result<ExitCode> {
    // The demo's accounts have no phones enrolled: two-step sign-in is offered, not forced.
    let mut sec = security(&config);
    sec.require_mfa = false;
    let app = open(&config, sec).await?;
    let school = demo_school();
    let created = if app.store.first_school().await?.is_none() {
        say(format!(
            "Creating {} in {} …",
            school.name,
            config.storage.data_dir.display()
        ));
        populate(&app).await?;
        true
    } else {
        false
    };
    let lists = demo_lists(&config)?;
    let banner = format!(
        "Demo: {} and everyone in it are fictional. Two-step sign-in is optional here.",
        app.school().await?.name
    );
    let mut settings = WebSettings {
        secure_cookies: false,
        banner: Some(banner),
        filter_groups: crate::filtering::filter_groups(&config),
        trusted_proxies: config.web.trusted_proxies.clone(),
        ..WebSettings::default()
    };
    let mut demo_config = config.clone();
    demo_config.web.listen = web;
    let mailer = Some(demo_config.mailer()?);
    // the head may move the demo's clock forward to see what happens later
    let app = app
        .with_files(config.storage.data_dir.join("files"))
        .with_mailer(demo_config.mailer()?)
        .with_demo_clock(std::sync::Arc::new(
            gatehouse_domain::clock::ShiftedClock::default(),
        ));
    let updates = super::serve::spawn_list_updates(&config)?;
    // The demo shows the signing gate in audit mode: people with an agreement overdue
    // are let through, and the activity log marks their decisions.
    let mut filtering = config.clone();
    if filtering.filter.gate == gatehouse_filter::GateMode::Off {
        filtering.filter.gate = gatehouse_filter::GateMode::Audit;
    }
    let (app, dns) = crate::filtering::attach(&filtering, &dns, web, app, &mut settings).await?;
    let dns_line = dns.as_ref().map(|d| {
        let hint = d.handle.udp_addrs().first().map_or_else(String::new, |a| {
            format!(
                "; try `dig @{} -p {} bet365.com` (this computer gets the policy for unidentified devices)",
                a.ip(),
                a.port()
            )
        });
        format!("{}{hint}.", super::serve::addrs(d))
    });
    let data = config.storage.data_dir.clone();
    let result = super::serve::serve_until_stopped(app, web, settings, mailer, |url| {
        say("");
        if let Some(line) = &dns_line {
            say(format!("DNS filter listening on {line}"));
        }
        say(format!("Gatehouse demo is running at {url}/login"));
        if created {
            say("The demo school was created just now.");
        }
        say("");
        say(format!(
            "Sign in as any of these (password: {}):",
            school.accounts.first().map_or("", |a| a.password.as_str())
        ));
        for a in &school.accounts {
            say(format!("  {:<12} {}", a.username, a.description));
        }
        say("");
        say(format!(
            "Reminder emails are written to {} instead of being sent.",
            config.storage.data_dir.join("outbox").display()
        ));
        say(format!(
            "The web filter's demo lists (a sample of the UT1 lists, CC BY-SA 4.0) are in {}; try `gatehouse check bet365.com --as ks2 --data {}`.",
            lists.display(),
            data.display()
        ));
        say("Press Ctrl-C to stop.");
    })
    .await;
    if let Some(u) = updates {
        u.abort();
    }
    if let Some(d) = dns {
        d.stop().await;
    }
    result
}

/// Compile the embedded demo lists into the filter database's place unless a database
/// is there already; the lists' UT1 tree (with its licence notice) is kept beside it in
/// `demo-ut1/`. Returns the database file.
fn demo_lists(config: &Config) -> Result<std::path::PathBuf> {
    let file = config.filter_database();
    // Lists compiled by an older version are compiled again.
    if file.exists() && gatehouse_filter::Database::open(&file).is_ok() {
        return Ok(file);
    }
    let tree = file.parent().map_or_else(
        || std::path::PathBuf::from("demo-ut1"),
        |d| d.join("demo-ut1"),
    );
    let created = jiff::Timestamp::now().as_second();
    let report = gatehouse_filter::demo::compile_demo(&tree, &file, created)
        .with_context(|| format!("compiling the demo lists into {}", file.display()))?;
    tracing::info!(
        file = %file.display(),
        categories = report.categories.len(),
        domains = report.domains,
        "demo filter lists compiled"
    );
    Ok(file)
}

/// Import the demo's people and create its accounts.
pub async fn populate(app: &Gatehouse) -> Result<()> {
    let school = demo_school();
    let cli = Actor::cli();
    app.ensure_school(&cli, school.name).await?;
    let files = [
        (PersonKind::Staff, "staff.csv", &school.staff_csv),
        (PersonKind::Governor, "governors.csv", &school.governors_csv),
        (PersonKind::Pupil, "pupils.csv", &school.pupils_csv),
        (PersonKind::Parent, "parents.csv", &school.parents_csv),
        (PersonKind::Visitor, "visitors.csv", &school.visitors_csv),
        (
            PersonKind::Volunteer,
            "volunteers.csv",
            &school.volunteers_csv,
        ),
    ];
    for (kind, name, csv) in files {
        let req = ImportRequest {
            kind,
            overrides: Vec::new(),
            full: false,
            file_name: format!("demo/{name}"),
        };
        let preview = app
            .preview_import(&cli, csv.as_bytes(), &req, &mut |_| {})
            .await?;
        if let Some(p) = preview.problems().first() {
            bail!("the demo's {name} has a problem: {p}");
        }
        app.apply_import(&cli, &preview, &req, false, &|_| {})
            .await?;
    }
    for account in &school.accounts {
        create_account(app, &cli, account)
            .await
            .with_context(|| format!("creating the demo account {}", account.username))?;
    }
    seed_agreements(app)
        .await
        .context("publishing the demo agreements")?;
    seed_alerts(app)
        .await
        .context("raising the demo monitoring alerts")?;
    seed_incidents(app)
        .await
        .context("recording the demo incidents")?;
    Ok(())
}

async fn create_account(app: &Gatehouse, cli: &Actor, a: &DemoAccount) -> Result<()> {
    let kind: PersonKind = a.kind.parse()?;
    let person_id = super::users::find_person(app, kind, &a.mis_id_or_email).await?;
    app.create_account(
        cli,
        &AccountRequest {
            username: a.username.clone(),
            password: a.password.clone(),
            roles: vec![a.role.parse()?],
            person_id: Some(person_id),
        },
    )
    .await?;
    Ok(())
}

/// Publish the starter agreements for every audience and give the school a realistic
/// history: most people signed this school year, some are overdue, staff have a new
/// version with a material change that some have re-signed, and a few joiners are due.
pub async fn seed_agreements(app: &Gatehouse) -> Result<()> {
    use gatehouse_domain::agreements::ledger::{Act, Method, Relation, Signature};
    use gatehouse_domain::agreements::requirement::academic_year_start;
    use gatehouse_domain::agreements::text::parse_policy;
    use gatehouse_domain::agreements::{Audience, starter};
    use gatehouse_service::agreements::PolicyRequest;
    use gatehouse_store::NewPolicy;
    use jiff::ToSpan;

    let cli = Actor::cli();
    let today = app.today();
    let year_start = academic_year_start(today, 9, 1);
    let last_year = year_start.checked_sub(1.year())?;
    let school = app.school().await?;
    let mut policies = Vec::new();
    for audience in Audience::ALL {
        let s = starter::starter(audience);
        let (policy_id, v1) = app
            .create_policy(
                &cli,
                &PolicyRequest {
                    policy: NewPolicy {
                        title: s.title.to_owned(),
                        audience,
                        owner: "Headteacher".into(),
                        days_to_sign: 14,
                        annual_from: Some((9, 1)),
                    },
                    source: s.markdown.to_owned(),
                    candidate: None,
                },
            )
            .await?;
        app.approve_version(
            &cli,
            v1,
            "Full governing body",
            last_year.checked_sub(2.months())?,
        )
        .await?;
        // The visitors' agreement is left past its review date, to show the reminder.
        let review = if audience == Audience::Visitors {
            today.checked_sub(3.weeks())?
        } else {
            year_start.checked_add(1.year())?.checked_sub(1.month())?
        };
        app.publish_version(&cli, v1, last_year, review).await?;
        policies.push((audience, policy_id));
    }

    // Staff: a second version with a material change, in force since five days ago.
    let staff_policy = policies
        .iter()
        .find(|(a, _)| *a == Audience::Staff)
        .map(|(_, id)| *id)
        .unwrap_or_default();
    let mut text = parse_policy(starter::starter(Audience::Staff).markdown).text;
    if let Some(clause) = text.sections.get_mut(1).and_then(|s| s.clauses.first_mut()) {
        clause.text.push_str(" This includes generative AI tools, which I use only in the ways the school has approved.");
    }
    if let Some(section) = text.sections.last_mut() {
        let n = section.clauses.len() + 1;
        section.clauses.push(gatehouse_domain::agreements::text::Clause {
            number: n.to_string(),
            text: "I will complete the school's annual online safety training and keep my knowledge of the filtering and monitoring arrangements up to date.".into(),
        });
    }
    let v2 = app
        .new_version(
            &cli,
            staff_policy,
            &text.canonical(),
            true,
            "Generative AI and annual training added",
        )
        .await?;
    app.approve_version(
        &cli,
        v2,
        "Full governing body",
        today.checked_sub(3.weeks())?,
    )
    .await?;
    let v2_effective = today.checked_sub(5.days())?;
    app.publish_version(&cli, v2, v2_effective, year_start.checked_add(1.year())?)
        .await?;

    // Signatures: decided by a fixed hash of the person, so every demo is the same.
    let people = app.store.active_people(school.id).await?;
    let demo_accounts = demo_school().accounts;
    let all_policies = app.store.policies(school.id).await?;
    let mut signatures = Vec::new();
    for person in &people {
        let audience = Audience::of(person.details.kind, person.details.year_group);
        let Some(policy) = all_policies.iter().find(|p| p.audience == audience) else {
            continue;
        };
        let roll = (person.id.wrapping_mul(2_654_435_761) >> 7) % 100;
        let is_demo_login = |name: &str| {
            demo_accounts.iter().any(|a| {
                a.username == name
                    && (a.mis_id_or_email
                        == person
                            .details
                            .mis_id
                            .as_ref()
                            .map(|m| m.to_string())
                            .unwrap_or_default()
                        || a.mis_id_or_email
                            == person
                                .details
                                .email
                                .as_ref()
                                .map(|e| e.to_string())
                                .unwrap_or_default())
            })
        };
        // Who signed this year (the rest are overdue): most people.
        let signed_share = match audience {
            Audience::Staff | Audience::Governors => 92,
            Audience::Visitors => 60,
            Audience::Parents => 70,
            _ => 82,
        };
        let head = is_demo_login("head");
        let teacher = is_demo_login("teacher");
        if roll >= signed_share && !head && !teacher {
            continue;
        }
        let signed_on = year_start.checked_add((roll % 20).days())?.min(today);
        let (signer_id, relation) =
            if audience.is_pupils() && (audience.parent_signs_only() || roll % 3 == 0) {
                match app
                    .store
                    .person(school.id, person.id)
                    .await?
                    .and_then(|r| r.parents.first().map(|p| p.id))
                {
                    Some(parent) => (parent, Relation::Parent),
                    None => (person.id, Relation::Own),
                }
            } else {
                (person.id, Relation::Own)
            };
        let mut versions: Vec<&gatehouse_store::PolicyVersion> =
            policy.versions.iter().take(1).collect();
        // Staff who have already re-signed the new version (the head has; the teacher has not).
        if audience == Audience::Staff && (head || (roll % 2 == 0 && !teacher)) {
            versions.extend(policy.versions.get(1));
        }
        for (i, v) in versions.into_iter().enumerate() {
            let on = if i == 0 {
                signed_on
            } else {
                v2_effective.checked_add((roll % 4).days())?.min(today)
            };
            signatures.push(Signature {
                person_id: person.id,
                signer_id,
                relation,
                policy_id: policy.id,
                version_id: v.id,
                version_number: v.number,
                version_hash: v.hash.clone(),
                act: Act::Sign,
                method: if roll % 10 == 0 {
                    Method::Paper
                } else {
                    Method::Online
                },
                typed_name: String::new(),
                signed_on: on,
                recorded_at: on
                    .to_zoned(jiff::tz::TimeZone::UTC)?
                    .timestamp()
                    .checked_add(9.hours())?,
                recorded_by: "demo".into(),
                ip: None,
                user_agent: None,
                scan_sha256: None,
            });
        }
    }
    // Typed names are those of the signer.
    let names: std::collections::HashMap<i64, String> = people
        .iter()
        .map(|p| (p.id, p.details.full_name()))
        .collect();
    for s in &mut signatures {
        s.typed_name = names.get(&s.signer_id).cloned().unwrap_or_default();
    }
    signatures.sort_by_key(|s| s.recorded_at);
    app.store
        .append_signatures(
            school.id,
            signatures,
            cli.event("demo.signatures", None, serde_json::json!({})),
        )
        .await?;
    Ok(())
}

/// A realistic day of monitoring alerts: the last school day's DNS events of a few pupils run
/// through the shipped rules (a self-harm search in words, a VPN, a burst on games, a late
/// night), one acknowledged and one dismissed by the DSL.
async fn seed_alerts(app: &Gatehouse) -> Result<()> {
    use gatehouse_activity::monitor::{Monitor, MonitorRules};
    use gatehouse_dns::{ActivityEvent, IdentifiedBy, Rcode, Transport};
    use gatehouse_filter::Action;
    let school = app.school().await?;
    let pupils = app
        .store
        .list_people(
            school.id,
            &gatehouse_store::PeopleFilter {
                kind: Some(PersonKind::Pupil),
                year_group: Some("6".into()),
                limit: 4,
                ..Default::default()
            },
        )
        .await?
        .people;
    let [a, b, c, d] = pupils.as_slice() else {
        bail!("the demo school has fewer than four pupils in year 6");
    };
    let tz = jiff::tz::TimeZone::get(gatehouse_service::agreements::SCHOOL_TZ)
        .unwrap_or(jiff::tz::TimeZone::UTC);
    // the last school day before today
    let mut yesterday = app.today().yesterday()?;
    while matches!(
        yesterday.weekday(),
        jiff::civil::Weekday::Saturday | jiff::civil::Weekday::Sunday
    ) {
        yesterday = yesterday.yesterday()?;
    }
    let at = |h: i8, m: i8| -> Result<jiff::Timestamp> {
        Ok(yesterday.at(h, m, 0, 0).to_zoned(tz.clone())?.timestamp())
    };
    let event = |who: i64, t: jiff::Timestamp, qname: &str, category: Option<&str>| ActivityEvent {
        time: t,
        client: std::net::IpAddr::from([10, 20, 6, u8::try_from(who % 200).unwrap_or(1)]),
        person: Some(who.to_string()),
        group: "ks2".into(),
        identified_by: IdentifiedBy::Source,
        qname: qname.into(),
        qtype: "A".into(),
        category: category.map(str::to_owned),
        action: if category.is_some() {
            Action::Block
        } else {
            Action::Allow
        },
        rule: category.map_or_else(|| "default:ks2".into(), |c| format!("policy:ks2/{c}")),
        matched_list: None,
        cname: None,
        rcode: Rcode::NoError,
        upstream_latency_us: None,
        cached: false,
        transport: Transport::Udp,
        device: None,
    };
    let mut events = vec![
        event(
            a.id,
            at(10, 14)?,
            "why-do-i-want-to-self-harm.example",
            None,
        ),
        event(a.id, at(10, 16)?, "self-harm-forum.example", None),
        event(
            b.id,
            at(11, 2)?,
            "free-vpn-unblock.example",
            Some("circumvention"),
        ),
        event(
            b.id,
            at(11, 3)?,
            "proxy-site.example",
            Some("circumvention"),
        ),
        event(d.id, at(22, 47)?, "bbc.co.uk", None),
    ];
    for i in 0..22 {
        events.push(event(
            c.id,
            at(12, 30)? + jiff::SignedDuration::from_secs(i * 9),
            &format!("game{i}.example"),
            Some("games"),
        ));
    }
    events.sort_by_key(|e| e.time);
    let rules = MonitorRules::uk_default().map_err(|e| anyhow::anyhow!(e))?;
    let fold = rules.fold();
    let mut monitor = Monitor::new(rules);
    let raised: Vec<_> = events.iter().flat_map(|e| monitor.observe(e)).collect();
    let alerts = app.record_alerts(&raised, fold).await?;
    let dsl = demo_actor(app, "dsl").await?;
    for alert in &alerts {
        if alert.rule == "circumvention" {
            app.triage_alert(&dsl, alert.id, "acknowledge", "").await?;
        }
        if alert.rule == "outside_hours" {
            app.triage_alert(
                &dsl,
                alert.id,
                "dismiss",
                "False positive: homework on the class blog, agreed with parents",
            )
            .await?;
        }
    }
    Ok(())
}

/// The demo account `username` as an actor (for records made in its name).
async fn demo_actor(app: &Gatehouse, username: &str) -> Result<Actor> {
    let a = app
        .store
        .account_by_username(username)
        .await?
        .with_context(|| format!("the demo account {username}"))?;
    Ok(Actor {
        account_id: Some(a.id),
        person_id: a.person_id,
        name: a.username.clone(),
        roles: a.roles.clone(),
        ip: None,
    })
}

/// The demo's incidents and concerns: the self-harm alert escalated into a safeguarding
/// concern with its chronology and a sanction, a cyberbullying report from a teacher, a
/// neutral notification, a filtering failure from the network manager, and a data breach
/// discovered this morning with its ICO countdown running.
async fn seed_incidents(app: &Gatehouse) -> Result<()> {
    use gatehouse_domain::incidents::{
        BreachDetails, EntryKind, IncidentKind, ReportDecision, Severity,
    };
    use gatehouse_service::incidents::ReportRequest;
    use gatehouse_store::NewEntry;
    let dsl = demo_actor(app, "dsl").await?;
    let teacher = demo_actor(app, "teacher").await?;
    let itadmin = demo_actor(app, "itadmin").await?;
    let dpo = demo_actor(app, "dpo").await?;
    let now = app.clock.now();
    let hours = |h: i64| now - jiff::SignedDuration::from_hours(h);
    let entry = |kind: EntryKind, text: &str, method: Option<&str>| NewEntry {
        kind: Some(kind),
        text: text.into(),
        occurred_at: None,
        done_by: None,
        method: method.map(str::to_owned),
        agency: None,
        reference: None,
        corrects: None,
    };

    // the self-harm alert, escalated
    let school = app.school().await?;
    if let Some(alert) = app
        .store
        .alerts(school.id, Some("new"), 100)
        .await?
        .into_iter()
        .find(|a| a.rule.contains("self-harm"))
    {
        let id = app
            .escalate_alert(
                &dsl,
                alert.id,
                None,
                "Pupil seen by the DSL the same afternoon",
            )
            .await?;
        app.add_incident_entry(
            &dsl,
            id,
            entry(
                EntryKind::ParentsInformed,
                "Mother told of the searches and the conversation in school",
                Some("phone"),
            ),
        )
        .await?;
        app.add_incident_entry(
            &dsl,
            id,
            entry(
                EntryKind::SupportOffered,
                "Weekly check-in with the school counsellor offered and accepted",
                None,
            ),
        )
        .await?;
    }

    let report = |kind, summary: &str, description: &str, severity, occurred: i64| ReportRequest {
        kind,
        summary: summary.into(),
        description: description.into(),
        severity,
        occurred_at: Some(hours(occurred)),
        people: Vec::new(),
        breach: None,
    };
    let bullying = app
        .report_incident(
            &teacher,
            &report(
                IncidentKind::Cyberbullying,
                "Unkind messages in a Year 6 group chat",
                "Two pupils showed me messages in a group chat calling a classmate names and leaving her out. Screenshots were taken by a parent.",
                Severity::Medium,
                30,
            ),
        )
        .await?;
    app.add_incident_entry(
        &dsl,
        bullying,
        entry(
            EntryKind::Action,
            "Spoke to the pupils involved; restorative conversation planned with the class teacher",
            None,
        ),
    )
    .await?;
    app.report_incident(
        &teacher,
        &report(
            IncidentKind::NeutralNotification,
            "Pupil emailed me from a personal account",
            "A Year 6 pupil emailed my school address from a personal account asking about homework. I replied once, copying the office, and asked her to use the class page.",
            Severity::Low,
            50,
        ),
    )
    .await?;
    app.report_incident(
        &itadmin,
        &report(
            IncidentKind::FilteringFailure,
            "Proxy site reachable from the ICT suite",
            "A web proxy under a new name was reachable from the ICT suite for about an hour before the lists update. Added to the school deny list.",
            Severity::Medium,
            70,
        ),
    )
    .await?;
    let mut breach = report(
        IncidentKind::DataBreach,
        "Class list emailed to the wrong parent",
        "A class list with pupils' names and dates of birth was attached to an email to one parent by mistake. The parent has been asked to delete it.",
        Severity::Medium,
        6,
    );
    breach.breach = Some(BreachDetails {
        discovered_at: hours(5),
        near_miss: false,
        data: "Names and dates of birth of 28 pupils".into(),
        people_count: Some(28),
        records_count: Some(28),
        consequences: "Low: no contact details or sensitive data".into(),
        risk: None,
        decision: ReportDecision::Undecided,
        ico_reference: None,
        people_told: None,
        measures: "Recipient asked to delete the email and confirm".into(),
    });
    app.report_incident(&dpo, &breach).await?;
    Ok(())
}
