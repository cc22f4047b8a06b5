//! Benchmark: the agreements register and the status API for a school of 2,000 people.
//!
//! Builds once, through the ordinary services, a school in a temporary SQLite database:
//! 120 staff, 15 governors, 1,100 pupils (Reception to Year 6, five classes a year), 700
//! parents linked to 1,000 of those pupils and 65 visitors, imported from generated CSV;
//! six published policies from the starter texts (staff and parents with a second,
//! material version); and a ledger of two school years (last year's signatures, this
//! year's, re-signings of the new versions, some withdrawals). Then serves the web app on
//! 127.0.0.1, signs in as the head and measures, over real HTTP on loopback:
//!
//! - `http/register_parents`: `GET /agreements/{id}/register` for the largest policy;
//! - `http/register_pupils_primary` and `…_class`: the pupils' register, whole and for
//!   one class;
//! - `http/api_status_pupil`: `GET /api/v1/people/{id}/agreements` with a bearer token;
//! - `http_summaries/home` and `…/agreements_list`: the pages that show every policy's
//!   counts (no goal is set for them);
//!
//! and, without HTTP and templates, `service/*` (`Gatehouse::register`,
//! `Gatehouse::agreements_of`), `store/*` (the reads the register makes) and
//! `compute/build_register_parents` (the in-memory pass alone, data already loaded).
//!
//! Criterion's `time:` line is the mean; the medians are in
//! `target/criterion/<group>/<name>/new/estimates.json` (docs/benchmarks.md shows how to
//! print them).
//!
//! Run: `cargo bench -p gatehouse-web --bench register -- --warm-up-time 2 --measurement-time 10`.
//! Goal: under 100 ms of server time each (see docs/benchmarks.md).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use gatehouse_domain::agreements::ledger::{Act, Method, Relation, Signature};
use gatehouse_domain::agreements::text::{Clause, parse_policy};
use gatehouse_domain::agreements::{Audience, starter};
use gatehouse_domain::clock::FixedClock;
use gatehouse_domain::people::PersonKind;
use gatehouse_domain::permissions::Role;
use gatehouse_service::accounts::AccountRequest;
use gatehouse_service::agreements::{PolicyRequest, RegisterFilter, build_register};
use gatehouse_service::people::ImportRequest;
use gatehouse_service::{Actor, Gatehouse, SecuritySettings};
use gatehouse_store::{NewPolicy, Person, Policy, SqliteStore};
use gatehouse_web::WebSettings;
use jiff::civil::Date;
use jiff::{Timestamp, ToSpan};
use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;
use tokio::sync::oneshot;

const PASSWORD: &str = "copper kettle margin lantern";
const HEAD: &str = "head";

const STAFF: usize = 120;
const GOVERNORS: usize = 15;
const PUPILS: usize = 1_100;
const PARENTS: usize = 700;
/// Parents with a second child at the school (linked to pupil `PARENTS + i`).
const SECOND_CHILDREN: usize = 300;
const VISITORS: usize = 65;

/// The class whose register is measured with a filter.
const CLASS: &str = "4 Oak";

const FIRST: [&str; 40] = [
    "Amelia", "Oliver", "Isla", "George", "Ava", "Noah", "Mia", "Arthur", "Ivy", "Leo", "Freya",
    "Oscar", "Lily", "Harry", "Florence", "Muhammad", "Willow", "Jack", "Rosie", "Theo", "Sophia",
    "Charlie", "Evie", "Jacob", "Grace", "Alfie", "Poppy", "Henry", "Ella", "Thomas", "Aisha",
    "Finley", "Zara", "Archie", "Maya", "Joshua", "Ruby", "Samuel", "Hannah", "Kai",
];
const LAST: [&str; 40] = [
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel",
    "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall",
    "Thomas", "Clarke", "Jackson", "Wood", "Harris", "Edwards", "Turner", "Martin", "Cooper",
    "Hill", "Ward", "Hughes", "Moore", "Clark", "King", "Harrison", "Lewis", "Baker", "Lee",
    "Allen", "Morris", "Khan",
];
const TREES: [&str; 5] = ["Oak", "Ash", "Elm", "Birch", "Rowan"];
const YEARS: [&str; 7] = ["R", "1", "2", "3", "4", "5", "6"];

fn first(i: usize) -> &'static str {
    FIRST[i % FIRST.len()]
}

fn last(i: usize) -> &'static str {
    LAST[(i / FIRST.len() + i * 7) % LAST.len()]
}

fn upn(i: usize) -> String {
    format!("B82324170{i:04}")
}

/// The school's people as MIS-style CSV exports, by kind.
fn csv_files() -> Vec<(PersonKind, String)> {
    let mut staff = String::from("Staff code,Forename,Surname,Job title,Email,Start date\n");
    for i in 0..STAFF {
        let job = match i {
            0 => "Headteacher",
            1..=40 => "Class teacher",
            _ => "Teaching assistant",
        };
        staff.push_str(&format!(
            "S{i:04},{},{},{job},s{i:04}@school.example.org,01/09/{}\n",
            first(i + 3),
            last(i + 3),
            2005 + i % 19
        ));
    }
    let mut governors = String::from("ID,Forename,Surname,Role,Email,Start date\n");
    for i in 0..GOVERNORS {
        governors.push_str(&format!(
            "G{i:03},{},{},Parent governor,g{i:03}@governors.example.org,01/09/{}\n",
            first(i + 11),
            last(i + 11),
            2018 + i % 6
        ));
    }
    let mut pupils = String::from("UPN,Forename,Surname,Year,Class,Date of admission\n");
    for i in 0..PUPILS {
        let year = YEARS[i % YEARS.len()];
        let class = format!("{year} {}", TREES[(i / YEARS.len()) % TREES.len()]);
        pupils.push_str(&format!(
            "{},{},{},{year},{class},02/09/{}\n",
            upn(i),
            first(i),
            last(i),
            2024 - (i % YEARS.len())
        ));
    }
    let mut parents = String::from("Contact ID,Forename,Surname,Email,Child UPN\n");
    for j in 0..PARENTS {
        let row = |child: usize| {
            format!(
                "C{j:05},{},{},p{j:05}@home.example.net,{}\n",
                first(j + 17),
                last(j),
                upn(child)
            )
        };
        parents.push_str(&row(j));
        if j < SECOND_CHILDREN {
            parents.push_str(&row(PARENTS + j));
        }
    }
    let mut visitors = String::from("Email,First name,Last name,Role\n");
    for i in 0..VISITORS {
        visitors.push_str(&format!(
            "v{i:03}@visitors.example.com,{},{},Volunteer reader\n",
            first(i + 29),
            last(i + 29)
        ));
    }
    vec![
        (PersonKind::Staff, staff),
        (PersonKind::Governor, governors),
        (PersonKind::Pupil, pupils),
        (PersonKind::Parent, parents),
        (PersonKind::Visitor, visitors),
    ]
}

fn at(s: &str) -> Timestamp {
    s.parse().expect("a timestamp")
}

fn day(s: &str) -> Date {
    s.parse().expect("a date")
}

/// Everything the benchmarks need, built once.
struct School {
    app: Gatehouse,
    head: Actor,
    base: String,
    client: reqwest::Client,
    token: String,
    parents_policy: i64,
    primary_policy: i64,
    pupil: i64,
    _shutdown: oneshot::Sender<()>,
    _dir: tempfile::TempDir,
}

async fn import(app: &Gatehouse) {
    let cli = Actor::cli();
    for (kind, csv) in csv_files() {
        let req = ImportRequest {
            kind,
            overrides: Vec::new(),
            full: false,
            file_name: format!("{}.csv", kind.as_str()),
        };
        let preview = app
            .preview_import(&cli, csv.as_bytes(), &req, &mut |_| {})
            .await
            .expect("preview the import");
        assert!(
            preview.problems().is_empty(),
            "{kind:?}: {:?}",
            preview.problems()
        );
        app.apply_import(&cli, &preview, &req, false, &|_| {})
            .await
            .expect("apply the import");
    }
}

/// Publish the six starter agreements (v1 from September 2024) and return their ids.
async fn publish_policies(app: &Gatehouse) -> HashMap<Audience, i64> {
    let cli = Actor::cli();
    let mut out = HashMap::new();
    for audience in [
        Audience::Staff,
        Audience::Governors,
        Audience::Visitors,
        Audience::PupilsEarly,
        Audience::PupilsPrimary,
        Audience::Parents,
    ] {
        let s = starter::starter(audience);
        let (id, v1) = app
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
            .await
            .expect("create a policy");
        app.approve_version(&cli, v1, "Full governing body", day("2024-07-10"))
            .await
            .expect("approve");
        app.publish_version(&cli, v1, day("2024-09-01"), day("2026-07-31"))
            .await
            .expect("publish");
        out.insert(audience, id);
    }
    out
}

/// A second, material version of the staff and parents agreements, from 5 January 2026.
async fn publish_second_versions(app: &Gatehouse, policies: &HashMap<Audience, i64>) {
    let cli = Actor::cli();
    for audience in [Audience::Staff, Audience::Parents] {
        let mut text = parse_policy(starter::starter(audience).markdown).text;
        let section = text.sections.last_mut().expect("a section");
        section.clauses.push(Clause {
            number: (section.clauses.len() + 1).to_string(),
            text: "I will read the school's guidance on generative AI tools and follow it.".into(),
        });
        let v2 = app
            .new_version(
                &cli,
                policies[&audience],
                &text.canonical(),
                true,
                "Generative AI",
            )
            .await
            .expect("a new version");
        app.approve_version(&cli, v2, "Full governing body", day("2025-12-10"))
            .await
            .expect("approve v2");
        app.publish_version(&cli, v2, day("2026-01-05"), day("2027-07-31"))
            .await
            .expect("publish v2");
    }
}

/// A fixed pseudo-random number 0–99 for a person.
fn roll(id: i64) -> i64 {
    (id.wrapping_mul(2_654_435_761) >> 7).rem_euclid(100)
}

/// Two school years of signatures: last year's (85%), this year's (70%), re-signings of
/// the new versions (50%), and a few signatures withdrawn (4%). Returns the ledger size.
async fn sign_ledger(app: &Gatehouse, today: Date) -> usize {
    let school = app.school().await.expect("the school");
    let people = app
        .store
        .active_people(school.id)
        .await
        .expect("active people");
    let policies = app.store.policies(school.id).await.expect("policies");
    let by_mis: HashMap<String, i64> = people
        .iter()
        .filter_map(|p| Some((p.details.mis_id.as_ref()?.to_string(), p.id)))
        .collect();
    let mut parent_of: HashMap<i64, i64> = HashMap::new();
    for j in 0..PARENTS {
        let parent = by_mis[&format!("C{j:05}")];
        parent_of.insert(by_mis[&upn(j)], parent);
        if j < SECOND_CHILDREN {
            parent_of.insert(by_mis[&upn(PARENTS + j)], parent);
        }
    }
    let names: HashMap<i64, String> = people
        .iter()
        .map(|p| (p.id, p.details.full_name()))
        .collect();
    let mut ledger = Vec::new();
    for person in &people {
        let audience = Audience::of(person.details.kind, person.details.year_group);
        let Some(policy) = policies.iter().find(|p| p.audience == audience) else {
            continue;
        };
        let r = roll(person.id);
        let parent = parent_of.get(&person.id).copied();
        let (signer, relation) = match (audience, parent) {
            (Audience::PupilsEarly, None) => continue,
            (Audience::PupilsEarly, Some(p)) => (p, Relation::Parent),
            (Audience::PupilsPrimary, Some(p)) if r % 3 == 0 => (p, Relation::Parent),
            _ => (person.id, Relation::Own),
        };
        let mut push = |version: usize, on: Date, act: Act| {
            let v = &policy.versions[version];
            let recorded_at = on
                .to_zoned(jiff::tz::TimeZone::UTC)
                .expect("a day")
                .timestamp()
                .checked_add((9 * 3600 + person.id % 28_800).seconds())
                .expect("a time");
            ledger.push(Signature {
                person_id: person.id,
                signer_id: signer,
                relation,
                policy_id: policy.id,
                version_id: v.id,
                version_number: v.number,
                version_hash: v.hash.clone(),
                act,
                method: if r % 10 == 0 {
                    Method::Paper
                } else {
                    Method::Online
                },
                typed_name: names[&signer].clone(),
                signed_on: on,
                recorded_at,
                recorded_by: "bench".into(),
                ip: None,
                user_agent: None,
                scan_sha256: None,
            });
        };
        let offset = |base: &str, days: i64| {
            day(base)
                .checked_add(days.days())
                .expect("a date")
                .min(today)
        };
        if r < 85 {
            push(0, offset("2024-09-02", r % 20), Act::Sign);
        }
        if r < 70 {
            push(0, offset("2025-09-01", r % 25), Act::Sign);
            if r < 50 && policy.versions.len() > 1 {
                push(1, offset("2026-01-06", r % 20), Act::Sign);
            }
        } else if r < 74 {
            push(0, offset("2025-09-10", r % 5), Act::Sign);
            push(0, offset("2025-11-03", r % 5), Act::Withdraw);
        }
    }
    ledger.sort_by_key(|s| s.recorded_at);
    let n = ledger.len();
    app.store
        .append_signatures(
            school.id,
            ledger,
            Actor::cli().event("bench.signatures", None, serde_json::json!({})),
        )
        .await
        .expect("append the ledger");
    n
}

async fn build() -> School {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(&dir.path().join("bench.db"))
        .await
        .expect("open the database");
    let clock = Arc::new(FixedClock::new(at("2024-08-01T09:00:00Z")));
    let app = Gatehouse::new(
        Arc::new(store),
        clock.clone(),
        SecuritySettings {
            require_mfa: false,
            ..Default::default()
        },
    )
    .await
    .expect("build the services");
    let cli = Actor::cli();
    app.ensure_school(&cli, "Benchmark Primary School")
        .await
        .expect("create the school");
    import(&app).await;
    let policies = publish_policies(&app).await;
    clock.set(at("2025-12-15T09:00:00Z"));
    publish_second_versions(&app, &policies).await;
    clock.set(at("2026-02-10T09:00:00Z"));
    let today = app.today();
    let ledger = sign_ledger(&app, today).await;

    let account_id = app
        .create_account(
            &cli,
            &AccountRequest {
                username: HEAD.into(),
                password: PASSWORD.into(),
                roles: vec![Role::Head],
                person_id: None,
            },
        )
        .await
        .expect("create the head's account");
    let (_, token) = app
        .create_token(&cli, HEAD, "bench")
        .await
        .expect("create a token");
    let head = Actor {
        account_id: Some(account_id),
        person_id: None,
        name: HEAD.into(),
        roles: vec![Role::Head],
        ip: None,
    };

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a port");
    let base = format!("http://{}", listener.local_addr().expect("local address"));
    let router = gatehouse_web::router(app.clone(), WebSettings::default());
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let stopped = async move {
            let _ = rx.await;
        };
        gatehouse_web::serve(listener, router, stopped)
            .await
            .expect("serve");
    });

    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("build a client");
    sign_in(&client, &base).await;

    let school = app.school().await.expect("the school");
    let people = app.store.active_people(school.id).await.expect("people");
    let pupil = people
        .iter()
        .find(|p| {
            p.details.kind == PersonKind::Pupil
                && p.details.class_name.as_ref().map(|c| c.as_str()) == Some(CLASS)
        })
        .expect("a pupil in the class")
        .id;

    eprintln!(
        "School: {} active people, {ledger} ledger records",
        people.len()
    );
    for (audience, id) in &policies {
        let reg = app
            .register(&head, *id, &RegisterFilter::default())
            .await
            .expect("a register");
        eprintln!("  {audience}: {:?}", reg.counts);
    }

    School {
        app,
        head,
        base,
        client,
        token,
        parents_policy: policies[&Audience::Parents],
        primary_policy: policies[&Audience::PupilsPrimary],
        pupil,
        _shutdown: tx,
        _dir: dir,
    }
}

/// The text between the first `start` and the next `end`.
fn between<'a>(haystack: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = haystack.find(start)? + start.len();
    let len = haystack[from..].find(end)?;
    Some(&haystack[from..from + len])
}

async fn sign_in(client: &reqwest::Client, base: &str) {
    let form = client
        .get(format!("{base}/login"))
        .send()
        .await
        .expect("the sign-in page")
        .text()
        .await
        .expect("its body");
    let csrf = between(&form, "name=\"csrf_token\" value=\"", "\"")
        .expect("a CSRF token")
        .to_owned();
    let res = client
        .post(format!("{base}/login"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("username", HEAD),
            ("password", PASSWORD),
            ("next", "/"),
        ])
        .send()
        .await
        .expect("sign in");
    assert_eq!(res.status(), reqwest::StatusCode::SEE_OTHER, "signed in");
}

/// `GET url` (with a bearer token if given); the body's length. Panics unless 200.
async fn get(client: &reqwest::Client, url: &str, bearer: Option<&str>) -> usize {
    let mut req = client.get(url);
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.expect("send");
    assert_eq!(res.status(), reqwest::StatusCode::OK, "GET {url}");
    res.bytes().await.expect("the body").len()
}

/// Run `f` on one of the runtime's workers (as the server runs a handler) and wait for it.
async fn on_worker<T: Send + 'static>(f: impl Future<Output = T> + Send + 'static) -> T {
    black_box(tokio::spawn(f).await.expect("the task finished"))
}

fn benches(c: &mut Criterion) {
    // The server's tasks run on the runtime's two workers; each measured request is
    // driven from the benchmark's thread.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let s = rt.block_on(build());
    let parents_url = format!("{}/agreements/{}/register", s.base, s.parents_policy);
    let primary_url = format!("{}/agreements/{}/register", s.base, s.primary_policy);
    let class_url = format!("{primary_url}?class={}", CLASS.replace(' ', "%20"));
    let api_url = format!("{}/api/v1/people/{}/agreements", s.base, s.pupil);

    // Sanity: the pages hold what they should.
    let page = rt.block_on(async {
        s.client
            .get(&class_url)
            .send()
            .await
            .expect("send")
            .text()
            .await
            .expect("body")
    });
    assert!(page.contains(&format!("/people/{}/agreements", s.pupil)));

    let mut g = c.benchmark_group("http");
    for (name, url, bearer) in [
        ("register_parents", &parents_url, None),
        ("register_pupils_primary", &primary_url, None),
        ("register_pupils_primary_class", &class_url, None),
        ("api_status_pupil", &api_url, Some(s.token.as_str())),
    ] {
        g.bench_function(name, |b| {
            b.to_async(&rt)
                .iter(|| async { black_box(get(&s.client, url, bearer).await) });
        });
    }
    g.finish();

    // Pages that show every policy's counts (no goal set; one register per policy).
    let mut g = c.benchmark_group("http_summaries");
    g.sample_size(20);
    for (name, url) in [
        ("home", format!("{}/", s.base)),
        ("agreements_list", format!("{}/agreements", s.base)),
    ] {
        g.bench_function(name, |b| {
            b.to_async(&rt)
                .iter(|| async { black_box(get(&s.client, &url, None).await) });
        });
    }
    g.finish();

    // Service and store calls run on the runtime's workers, where a handler would run them.
    let mut g = c.benchmark_group("service");
    for (name, policy, filter) in [
        (
            "register_parents",
            s.parents_policy,
            RegisterFilter::default(),
        ),
        (
            "register_pupils_primary",
            s.primary_policy,
            RegisterFilter::default(),
        ),
        (
            "register_pupils_primary_class",
            s.primary_policy,
            RegisterFilter {
                class_name: Some(CLASS.into()),
                ..RegisterFilter::default()
            },
        ),
    ] {
        g.bench_function(name, |b| {
            b.to_async(&rt).iter(|| {
                let (app, head, filter) = (s.app.clone(), s.head.clone(), filter.clone());
                on_worker(async move {
                    app.register(&head, policy, &filter)
                        .await
                        .expect("register")
                        .rows
                        .len()
                })
            });
        });
    }
    g.bench_function("agreements_of_pupil", |b| {
        b.to_async(&rt).iter(|| {
            let (app, head, pupil) = (s.app.clone(), s.head.clone(), s.pupil);
            on_worker(async move {
                app.agreements_of(&head, pupil)
                    .await
                    .expect("status")
                    .1
                    .len()
            })
        });
    });
    g.finish();

    // What the register reads from the database on each request.
    let school_id = rt.block_on(s.app.school()).expect("school").id;
    let mut g = c.benchmark_group("store");
    g.bench_function("active_people", |b| {
        b.to_async(&rt).iter(|| {
            let app = s.app.clone();
            on_worker(async move {
                app.store
                    .active_people(school_id)
                    .await
                    .expect("people")
                    .len()
            })
        });
    });
    g.bench_function("signatures_all", |b| {
        b.to_async(&rt).iter(|| {
            let app = s.app.clone();
            on_worker(async move {
                app.store
                    .signatures(school_id, None)
                    .await
                    .expect("ledger")
                    .len()
            })
        });
    });
    g.bench_function("policy", |b| {
        b.to_async(&rt).iter(|| {
            let (app, id) = (s.app.clone(), s.parents_policy);
            on_worker(async move {
                app.store
                    .policy(school_id, id)
                    .await
                    .expect("policy")
                    .map(|p| p.versions.len())
            })
        });
    });
    g.finish();

    // The in-memory pass alone, with people, ledger and policy already loaded.
    let (policy, people, records): (Policy, Vec<Person>, _) = rt.block_on(async {
        (
            s.app
                .store
                .policy(school_id, s.parents_policy)
                .await
                .expect("policy")
                .expect("exists"),
            s.app.store.active_people(school_id).await.expect("people"),
            s.app
                .store
                .signatures(school_id, None)
                .await
                .expect("ledger"),
        )
    });
    let today = s.app.today();
    let mut g = c.benchmark_group("compute");
    g.bench_function("build_register_parents", |b| {
        b.iter_batched(
            || policy.clone(),
            |policy| {
                build_register(policy, &people, &records, &RegisterFilter::default(), today)
                    .rows
                    .len()
            },
            BatchSize::SmallInput,
        );
    });
    g.finish();
}

criterion_group!(register, benches);
criterion_main!(register);
