//! The harness: a fresh installation per test (its own SQLite file in a temp dir, a
//! fixed clock), served on a random local port, and browser-like clients.

use gatehouse_domain::agreements::Audience;
use gatehouse_domain::agreements::ledger::SignatureRecord;
use gatehouse_domain::clock::FixedClock;
use gatehouse_domain::people::PersonKind;
use gatehouse_domain::permissions::Role;
use gatehouse_service::accounts::AccountRequest;
use gatehouse_service::agreements::PolicyRequest;
use gatehouse_service::people::ImportRequest;
use gatehouse_service::{Actor, Gatehouse, SecuritySettings};
use gatehouse_store::{AuditFilter, NewPolicy, PeopleFilter, Person, Policy, SqliteStore};
use gatehouse_web::WebSettings;
use jiff::{SignedDuration, Timestamp, ToSpan};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::oneshot;

/// A password that passes the rule; every test account has it.
pub const PASSWORD: &str = "copper kettle margin lantern";
/// Another one, for password changes.
pub const OTHER_PASSWORD: &str = "violet harbour pencil orchard";
/// The clock's starting time: 2025-03-10 09:00:00 UTC.
const START_SECS: i64 = 1_741_597_200;

/// One pupil, as an MIS export lists them.
pub const PUPILS_CSV: &str =
    "UPN,Forename,Surname,Year,Class\nA123456789012,Ada,Lovelace,3,3 Oak\n";

/// A running installation. Dropping it stops the server.
pub struct TestApp {
    pub app: Gatehouse,
    pub clock: Arc<FixedClock>,
    pub base: String,
    /// The SQLite file.
    pub db_path: PathBuf,
    shutdown: Option<oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// The filter a test installation runs: the demo lists, the default policies, an
/// activity log, and the signing gate in `gate` mode.
pub struct FilterSetup {
    pub gate: gatehouse_filter::GateMode,
}

impl TestApp {
    /// A fresh installation with one school, served on 127.0.0.1.
    pub async fn start(require_mfa: bool) -> Self {
        Self::start_with(require_mfa, None, WebSettings::default()).await
    }

    /// [`TestApp::start`] with these web settings (e.g. a DNS filter for DNS over HTTPS).
    pub async fn start_with_settings(require_mfa: bool, settings: WebSettings) -> Self {
        Self::start_with(require_mfa, None, settings).await
    }

    /// A fresh installation that runs the web filter (block page, portal, activity log);
    /// no second factor required.
    pub async fn start_filtering(gate: gatehouse_filter::GateMode) -> Self {
        Self::start_with(false, Some(FilterSetup { gate }), WebSettings::default()).await
    }

    /// The running filter.
    pub fn filter(&self) -> &Arc<gatehouse_service::filtering::FilterRuntime> {
        self.app.filter.as_ref().expect("the filter runs")
    }

    async fn start_with(
        require_mfa: bool,
        filter: Option<FilterSetup>,
        settings: WebSettings,
    ) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let db_path = dir.path().join("t.db");
        let store = SqliteStore::open(&db_path)
            .await
            .expect("open the database");
        let clock = Arc::new(FixedClock::new(
            Timestamp::from_second(START_SECS).expect("start time"),
        ));
        let app = Gatehouse::new(
            Arc::new(store),
            clock.clone(),
            SecuritySettings {
                require_mfa,
                ..Default::default()
            },
        )
        .await
        .expect("build the services")
        .with_files(dir.path().join("files"));
        app.ensure_school(&Actor::cli(), "Test School")
            .await
            .expect("create the school");
        let mut settings = settings;
        let app = match filter {
            None => app,
            Some(f) => {
                let lists = dir.path().join("lists.gdb");
                gatehouse_filter::demo::compile_demo(&dir.path().join("tree"), &lists, 1)
                    .expect("compile the demo lists");
                let db = gatehouse_filter::Database::open(&lists).expect("open the lists");
                let activity =
                    gatehouse_activity::ActivityLog::open(&dir.path().join("activity.db"))
                        .await
                        .expect("open the activity log");
                let runtime = gatehouse_service::filtering::FilterRuntime::new(
                    Arc::new(db),
                    gatehouse_filter::EngineConfig::uk_default().expect("default policies"),
                    gatehouse_service::filtering::GateSettings {
                        mode: f.gate,
                        hold_unidentified: false,
                        walled_garden: Vec::new(),
                    },
                    Some(activity),
                    8,
                )
                .expect("build the filter");
                settings.own_hosts = vec!["localhost".into()];
                settings.portal_url = "http://localhost/portal".into();
                let app = app.with_filter(Arc::new(runtime));
                app.refresh_filter().await.expect("load the filter state");
                app
            }
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a port");
        let addr = listener.local_addr().expect("local address");
        let router = gatehouse_web::router(app.clone(), settings);
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let stopped = async move {
                let _ = rx.await;
            };
            gatehouse_web::serve(listener, router, stopped)
                .await
                .expect("serve");
        });
        Self {
            app,
            clock,
            base: format!("http://{addr}"),
            db_path,
            shutdown: Some(tx),
            _dir: dir,
        }
    }

    /// Create an account with [`PASSWORD`].
    pub async fn add_account(&self, username: &str, roles: &[Role]) -> i64 {
        self.add_account_for(username, roles, None).await
    }

    /// Create an account with [`PASSWORD`], linked to a person.
    pub async fn add_account_for(
        &self,
        username: &str,
        roles: &[Role],
        person_id: Option<i64>,
    ) -> i64 {
        self.app
            .create_account(
                &Actor::cli(),
                &AccountRequest {
                    username: username.into(),
                    password: PASSWORD.into(),
                    roles: roles.to_vec(),
                    person_id,
                },
            )
            .await
            .expect("create the account")
    }

    /// Import a CSV at the command line (preview, then apply).
    pub async fn import(&self, kind: PersonKind, csv: &str) {
        let req = ImportRequest {
            kind,
            overrides: Vec::new(),
            full: false,
            file_name: "test.csv".into(),
        };
        let preview = self
            .app
            .preview_import(&Actor::cli(), csv.as_bytes(), &req, &mut |_| {})
            .await
            .expect("preview the import");
        assert!(preview.problems().is_empty(), "{:?}", preview.problems());
        self.app
            .apply_import(&Actor::cli(), &preview, &req, false, &|_| {})
            .await
            .expect("apply the import");
    }

    /// People the directory finds for a search (leavers included).
    pub async fn find_people(&self, query: &str) -> Vec<Person> {
        self.app
            .people(
                &Actor::cli(),
                &PeopleFilter {
                    query: Some(query.into()),
                    include_inactive: true,
                    limit: 50,
                    ..Default::default()
                },
            )
            .await
            .expect("search the directory")
            .people
    }

    /// The id of the one person a search finds.
    pub async fn person_id(&self, query: &str) -> i64 {
        let found = self.find_people(query).await;
        assert_eq!(found.len(), 1, "one person for {query:?}: {found:?}");
        found[0].id
    }

    /// Audit entries (newest first) matching a filter, read straight from the store.
    pub async fn audit(&self, filter: AuditFilter) -> Vec<gatehouse_domain::audit::AuditEntry> {
        self.app
            .store
            .search_audit(&AuditFilter {
                limit: if filter.limit == 0 { 100 } else { filter.limit },
                ..filter
            })
            .await
            .expect("search the audit log")
    }

    /// Entries with exactly this action (the store's filter is a prefix match).
    pub async fn audit_actions(&self, action: &str) -> Vec<gatehouse_domain::audit::AuditEntry> {
        self.audit(AuditFilter {
            action: Some(action.into()),
            ..Default::default()
        })
        .await
        .into_iter()
        .filter(|e| e.event.action == action)
        .collect()
    }

    /// Create a policy from `source` (all of it), approve it and publish it in force from
    /// today; 14 days to sign, again every year from 1 September. Returns (policy, version).
    pub async fn publish_policy(
        &self,
        title: &str,
        audience: Audience,
        source: &str,
    ) -> (i64, i64) {
        let (policy, version) = self
            .app
            .create_policy(
                &Actor::cli(),
                &PolicyRequest {
                    policy: NewPolicy {
                        title: title.into(),
                        audience,
                        owner: "Headteacher".into(),
                        days_to_sign: 14,
                        annual_from: Some((9, 1)),
                    },
                    source: source.into(),
                    candidate: None,
                },
            )
            .await
            .expect("create the policy");
        self.approve_and_publish(version).await;
        (policy, version)
    }

    /// A new version of a policy from `source`, approved and published in force from today.
    pub async fn publish_new_version(&self, policy: i64, source: &str, material: bool) -> i64 {
        let version = self
            .app
            .new_version(&Actor::cli(), policy, source, material, "Changed")
            .await
            .expect("add a version");
        self.approve_and_publish(version).await;
        version
    }

    /// Approve a draft version and publish it in force from today, for review in a year.
    pub async fn approve_and_publish(&self, version: i64) {
        let today = self.app.today();
        self.app
            .approve_version(&Actor::cli(), version, "Full governing body", today)
            .await
            .expect("approve the version");
        self.app
            .publish_version(
                &Actor::cli(),
                version,
                today,
                today.checked_add(1.year()).expect("a year on"),
            )
            .await
            .expect("publish the version");
    }

    /// A policy with its versions, read through the services.
    pub async fn policy(&self, id: i64) -> Policy {
        self.app
            .policy(&Actor::cli(), id)
            .await
            .expect("read the policy")
    }

    /// The signature ledger records of these people, oldest first.
    pub async fn signatures(&self, people: &[i64]) -> Vec<SignatureRecord> {
        let school = self.app.school().await.expect("the school");
        self.app
            .store
            .signatures(school.id, Some(people))
            .await
            .expect("read the ledger")
    }

    /// The whole signature ledger, oldest first.
    pub async fn all_signatures(&self) -> Vec<SignatureRecord> {
        let school = self.app.school().await.expect("the school");
        self.app
            .store
            .signatures(school.id, None)
            .await
            .expect("read the ledger")
    }

    /// Move the clock on.
    pub fn advance_secs(&self, secs: i64) {
        self.clock.advance(SignedDuration::from_secs(secs));
    }

    /// The TOTP code for the clock's current time.
    pub fn code_now(&self, secret: &str) -> String {
        self.app.current_code(secret).expect("compute a code")
    }

    /// A six-digit code that is wrong now (not the code of this step or either neighbour).
    pub fn wrong_code(&self, secret: &str) -> String {
        let now = self.app.clock.now();
        let mut near = Vec::new();
        for offset in [-30, 0, 30] {
            self.clock.set(
                now.checked_add(SignedDuration::from_secs(offset))
                    .expect("time in range"),
            );
            near.push(self.code_now(secret));
        }
        self.clock.set(now);
        (0..1_000_000u32)
            .map(|n| format!("{n:06}"))
            .find(|c| !near.contains(c))
            .expect("a wrong code")
    }

    /// A new browser: its own cookies, redirects not followed.
    pub fn browser(&self) -> Browser {
        Browser {
            client: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("build a client"),
            base: self.base.clone(),
        }
    }

    /// A browser signed in (password only) and at the home page.
    pub async fn signed_in(&self, username: &str) -> Browser {
        let b = self.browser();
        let res = b.sign_in(username, PASSWORD).await;
        assert_redirect(&res, "/");
        b
    }
}

/// A response, read whole.
#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    /// Where a redirect goes.
    pub fn location(&self) -> Option<&str> {
        self.headers.get(LOCATION).and_then(|v| v.to_str().ok())
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Every `Set-Cookie` header.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_owned)
            .collect()
    }

    /// The value of a hidden (or any) input named `name`, if the page has one.
    pub fn input(&self, name: &str) -> Option<String> {
        between(&self.body, &format!("name=\"{name}\" value=\""), "\"")
    }

    /// The page's CSRF token, from its forms.
    pub fn csrf(&self) -> String {
        let token = self
            .input("csrf_token")
            .unwrap_or_else(|| panic!("no csrf_token on the page:\n{}", self.body));
        assert!(!token.is_empty(), "empty csrf_token");
        token
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// The text between the first `start` and the next `end`.
pub fn between(haystack: &str, start: &str, end: &str) -> Option<String> {
    let from = haystack.find(start)? + start.len();
    let len = haystack[from..].find(end)?;
    Some(haystack[from..from + len].to_owned())
}

/// Assert a redirect (302 or 303) to exactly `to`.
#[track_caller]
pub fn assert_redirect(page: &Page, to: &str) {
    assert!(
        matches!(page.status, StatusCode::SEE_OTHER | StatusCode::FOUND),
        "expected a redirect to {to}, got {}: {}",
        page.status,
        page.body
    );
    assert_eq!(page.location(), Some(to), "redirect target");
}

/// A part of a multipart form.
pub enum Part<'a> {
    Text(&'a str, &'a str),
    File {
        name: &'a str,
        file_name: &'a str,
        bytes: &'a [u8],
    },
}

const BOUNDARY: &str = "----gatehouse-test-7MA4YWxkTrZu0gW";

/// A `multipart/form-data` body with its content type, parts in the order given.
pub fn multipart(parts: &[Part<'_>]) -> (String, Vec<u8>) {
    let mut body = Vec::new();
    for part in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        match part {
            Part::Text(name, value) => {
                body.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                        .as_bytes(),
                );
            }
            Part::File {
                name,
                file_name,
                bytes,
            } => {
                body.extend_from_slice(
                    format!(
                        "Content-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: text/csv\r\n\r\n"
                    )
                    .as_bytes(),
                );
                body.extend_from_slice(bytes);
                body.extend_from_slice(b"\r\n");
            }
        }
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={BOUNDARY}"), body)
}

/// A browser: keeps its cookies, does not follow redirects.
pub struct Browser {
    pub client: reqwest::Client,
    base: String,
}

impl Browser {
    /// The absolute URL of a path.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Send a request and read the whole response.
    pub async fn send(&self, req: reqwest::RequestBuilder) -> Page {
        let res = req.send().await.expect("send the request");
        let status = res.status();
        let headers = res.headers().clone();
        let body = res.text().await.expect("read the body");
        Page {
            status,
            headers,
            body,
        }
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Page {
        self.send(self.client.get(self.url(path))).await
    }

    /// `POST path` with a urlencoded form.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        self.send(self.client.post(self.url(path)).form(fields))
            .await
    }

    /// `POST path` with a multipart form.
    pub async fn post_multipart(&self, path: &str, parts: &[Part<'_>]) -> Page {
        let (ctype, body) = multipart(parts);
        self.send(
            self.client
                .post(self.url(path))
                .header(reqwest::header::CONTENT_TYPE, ctype)
                .body(body),
        )
        .await
    }

    /// Open the sign-in page and submit it; the answer to the `POST`.
    pub async fn sign_in(&self, username: &str, password: &str) -> Page {
        let form = self.get("/login").await;
        assert_eq!(form.status, StatusCode::OK, "{}", form.body);
        let csrf = form.csrf();
        self.post_form(
            "/login",
            &[
                ("csrf_token", csrf.as_str()),
                ("username", username),
                ("password", password),
                ("next", "/"),
            ],
        )
        .await
    }

    /// Sign in from the sign-in page, asking to return to `next`; the answer to the `POST`.
    pub async fn sign_in_to(&self, username: &str, next: &str) -> Page {
        let csrf = self.get("/login").await.csrf();
        self.post_form(
            "/login",
            &[
                ("csrf_token", csrf.as_str()),
                ("username", username),
                ("password", PASSWORD),
                ("next", next),
            ],
        )
        .await
    }

    /// `GET path`, the body as bytes: (status, headers, body).
    pub async fn get_bytes(&self, path: &str) -> (StatusCode, HeaderMap, Vec<u8>) {
        let res = self
            .client
            .get(self.url(path))
            .send()
            .await
            .expect("send the request");
        let status = res.status();
        let headers = res.headers().clone();
        let body = res.bytes().await.expect("read the body").to_vec();
        (status, headers, body)
    }

    /// Sign out from whatever page the browser can see.
    pub async fn sign_out(&self, csrf: &str) {
        let res = self.post_form("/logout", &[("csrf_token", csrf)]).await;
        assert_redirect(&res, "/login");
    }
}
