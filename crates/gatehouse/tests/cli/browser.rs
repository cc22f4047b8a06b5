//! The end-to-end tests in a real browser: headless Chromium driven through chromedriver,
//! on the demo school.
//!
//! - The head imports a pupil and finds them in the directory.
//! - A teacher reports a concern on a phone-sized screen and the DSL has it.
//! - The agreements' acceptance test: staff sign a changed agreement, the head publishes
//!   a new version with a material change, and the register follows who has signed it.
//! - A pupil's device is refused a gambling site by the DNS filter, the pupil opens the
//!   block page and asks for access, the online safety lead approves, and the next query
//!   from the device is answered.
//! - A pupil's device asks for self-harm sites: a high alert is raised at once; the DSL
//!   acknowledges it, escalates it into a safeguarding concern, records that the parents
//!   were told and removes the pupil's internet access for three days; the pupil's next
//!   DNS query is blocked; the head moves the demo's clock past the end date, and her
//!   next query is answered again.
//!
//! Needs `/usr/bin/chromedriver` and `/usr/bin/chromium` (Debian/Ubuntu:
//! `apt-get install chromium chromium-driver`). Without them the tests fail: they do not
//! skip.

use crate::support::{DEMO_PASSWORD, Server, Site, free_port};
use anyhow::{Context, Result, ensure};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use std::fs::File;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tempfile::TempDir;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
/// The longest wait for any one thing to appear in the browser.
const WAIT: Duration = Duration::from_secs(30);

/// chromedriver, killed when dropped.
struct Driver {
    child: Child,
    log: std::path::PathBuf,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Fail (not skip) when the browser or its driver is missing.
fn require_browser() {
    for (path, what) in [(CHROMEDRIVER, "chromedriver"), (CHROMIUM, "chromium")] {
        assert!(
            Path::new(path).exists(),
            "{path} ({what}) is not installed: the browser test needs it. \
             Run `apt-get install chromium chromium-driver` (as CI does)."
        );
    }
}

impl Driver {
    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Start chromedriver on a free port and wait until it answers `GET /status`.
    async fn start(dir: &Path) -> Driver {
        let port = free_port();
        let log = dir.join("chromedriver.log");
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(File::create(&log).expect("chromedriver log"))
            .stderr(Stdio::null())
            .spawn()
            .expect("starting chromedriver");
        let mut driver = Driver {
            child,
            log,
            url: format!("http://127.0.0.1:{port}"),
        };
        // Poll its status until it is ready, a bounded number of times.
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .expect("HTTP client");
        for attempt in 0.. {
            let ready = match http.get(format!("{}/status", driver.url)).send().await {
                Ok(r) if r.status().is_success() => r
                    .json::<serde_json::Value>()
                    .await
                    .is_ok_and(|v| v["value"]["ready"].as_bool().unwrap_or(true)),
                _ => false,
            };
            if ready {
                break;
            }
            if let Ok(Some(status)) = driver.child.try_wait() {
                panic!("chromedriver exited ({status}):\n{}", driver.log_text());
            }
            assert!(
                attempt < 300,
                "chromedriver at {} did not become ready:\n{}",
                driver.url,
                driver.log_text()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        driver
    }
}

/// A new headless Chromium session. Every host name resolves to 127.0.0.1, as it does
/// for a device whose DNS filter answers a blocked name with the block page's address.
async fn browser(driver: &Driver, profile: &Path) -> Client {
    let caps = serde_json::json!({
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--host-resolver-rules=MAP * 127.0.0.1",
                "--disable-features=HttpsUpgrades,HttpsFirstBalancedModeAutoEnable",
                format!("--user-data-dir={}", profile.display()),
            ]
        }
    });
    let serde_json::Value::Object(caps) = caps else {
        unreachable!()
    };
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "could not open a Chromium session through {}: {e}\n--- chromedriver log ---\n{}",
                driver.url,
                driver.log_text()
            )
        })
}

/// The demo server, chromedriver and a Chromium session on them, for one test.
struct Browsing {
    server: Server,
    driver: Driver,
    client: Client,
    /// chromedriver's log and Chromium's profile.
    _scratch: TempDir,
}

impl Browsing {
    /// Start the demo on `site`, then chromedriver and a headless Chromium.
    async fn start(site: &Site) -> Self {
        Self::start_with(site, &[]).await
    }

    /// [`Browsing::start`], with more arguments for `gatehouse demo`.
    async fn start_with(site: &Site, args: &[&str]) -> Self {
        require_browser();
        let server = site.start_demo_with(args);
        let scratch = TempDir::new().expect("temporary folder");
        let driver = Driver::start(scratch.path()).await;
        let profile = scratch.path().join("chromium-profile");
        std::fs::create_dir_all(&profile).expect("profile folder");
        let client = browser(&driver, &profile).await;
        Self {
            server,
            driver,
            client,
            _scratch: scratch,
        }
    }

    /// `http://127.0.0.1:PORT` of the demo server.
    fn base(&self) -> &str {
        &self.server.base
    }

    /// End the browser session (and Chromium) whatever happened, before chromedriver and
    /// the server are stopped; panic with the server's log if `outcome` is an error.
    async fn finish(self, outcome: Result<()>) {
        let Self {
            server,
            driver,
            client,
            _scratch,
        } = self;
        let closed = client.close().await;
        if let Err(e) = outcome {
            panic!("{e:#}\n--- server log ---\n{}", server.log_text());
        }
        closed.expect("closing the browser session");
        drop(driver);
        drop(server);
    }
}

/// The element found by `locator`, waiting for it to appear; the error says which page
/// was shown instead.
async fn element(c: &Client, locator: Locator<'_>) -> Result<Element> {
    match c.wait().at_most(WAIT).for_element(locator).await {
        Ok(el) => Ok(el),
        Err(e) => {
            let url = c
                .current_url()
                .await
                .map(|u| u.to_string())
                .unwrap_or_default();
            let page = match c.find(Locator::Css("main")).await {
                Ok(main) => main.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            Err(e)
                .with_context(|| format!("waiting for {locator:?} on {url}, which shows:\n{page}"))
        }
    }
}

/// An element's text with its words separated by single spaces and a space at either
/// end: the layout's "1\nnew\n0\nchanged" reads " 1 new 0 changed ".
async fn words(el: &Element) -> Result<String> {
    let text = el.text().await?;
    Ok(format!(
        " {} ",
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    ))
}

/// The text (as [`words`]) of the element found by `locator`, waiting for it to appear.
async fn text_of(c: &Client, locator: Locator<'_>) -> Result<String> {
    words(&element(c, locator).await?).await
}

/// Click `control` (a button or link that loads a page) and return once the page it
/// was on has been replaced: a form that redirects back to its own page shows elements
/// with the same ids, and reading them before the new page arrives reads the old one.
async fn submit(c: &Client, control: Element) -> Result<()> {
    // the old document is marked; the page that replaces it is not
    c.execute("document.documentElement.dataset.leaving = 'yes';", vec![])
        .await?;
    control.click().await?;
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let arrived = c
            .execute(
                "return document.documentElement.dataset.leaving === undefined \
                 && document.readyState === 'complete';",
                vec![],
            )
            .await?;
        if arrived == serde_json::Value::Bool(true) {
            return Ok(());
        }
        ensure!(
            std::time::Instant::now() < deadline,
            "the page did not change after the click"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The path of the page shown, e.g. `/sign`.
async fn path(c: &Client) -> Result<String> {
    Ok(c.current_url().await?.path().to_owned())
}

/// Sign in as the demo account `username` through the sign-in form; returns once a
/// signed-in page (one with the main navigation) is shown.
async fn sign_in(c: &Client, base: &str, username: &str) -> Result<()> {
    c.goto(&format!("{base}/login")).await?;
    fill_sign_in(c, username).await?;
    element(c, Locator::Css("nav"))
        .await
        .with_context(|| format!("signing in as {username}"))?;
    Ok(())
}

/// Fill in the sign-in form shown as the demo account `username` and send it; returns
/// once the page it leads to is shown.
async fn fill_sign_in(c: &Client, username: &str) -> Result<()> {
    element(c, Locator::Id("username"))
        .await?
        .send_keys(username)
        .await?;
    c.find(Locator::Id("password"))
        .await?
        .send_keys(DEMO_PASSWORD)
        .await?;
    submit(
        c,
        c.find(Locator::Css("form[action='/login'] button[type='submit']"))
            .await?,
    )
    .await
}

/// The demo pupil signs in and connects her device at the portal (her queries from
/// 127.0.0.1 are hers from now on); she stays signed in.
async fn connect_pupil_device(c: &Client, base: &str) -> Result<()> {
    sign_in(c, base, "pupil").await?;
    c.goto(&format!("{base}/portal")).await?;
    submit(c, element(c, Locator::Id("portal-connect")).await?).await?;
    let connected = text_of(c, Locator::Id("portal-connected")).await?;
    ensure!(connected.contains("connected as you"), "{connected}");
    Ok(())
}

/// Sign out with the header's button; returns once the sign-in form is shown.
async fn sign_out(c: &Client) -> Result<()> {
    c.find(Locator::Css("form.signout button[type='submit']"))
        .await?
        .click()
        .await?;
    element(c, Locator::Id("username")).await?;
    Ok(())
}

/// The head signs in, imports a one-pupil file through the web pages and finds the new
/// pupil with the directory's live search.
async fn import_a_pupil_and_find_them(c: &Client, base: &str, csv: &Path) -> Result<()> {
    sign_in(c, base, "head").await?;
    let nav = text_of(c, Locator::Css("nav")).await?;
    ensure!(
        nav.contains("Import"),
        "after signing in, the head's navigation has no Import: {nav}"
    );

    // Upload the file.
    c.goto(&format!("{base}/people/import")).await?;
    element(c, Locator::Id("kind"))
        .await?
        .select_by_label("Pupils")
        .await?;
    c.find(Locator::Id("file"))
        .await?
        .send_keys(&csv.display().to_string())
        .await?;
    submit(
        c,
        c.find(Locator::Css(
            "form[action='/people/import'] button[type='submit']",
        ))
        .await?,
    )
    .await?;

    // The preview.
    let summary = text_of(c, Locator::Id("import-summary")).await?;
    ensure!(
        summary.contains(" 1 new "),
        "the preview does not count 1 new pupil: {summary}"
    );
    ensure!(
        summary.contains(" 0 problem(s) "),
        "the preview reports problems: {summary}"
    );
    let creates = text_of(c, Locator::Id("creates")).await?;
    ensure!(
        creates.contains("Wilhelmina Fairweather"),
        "the preview does not name the new pupil: {creates}"
    );

    // Apply.
    submit(c, c.find(Locator::Id("apply")).await?).await?;
    let outcome = text_of(c, Locator::Id("import-outcome")).await?;
    ensure!(
        outcome.contains(" 1 added "),
        "the import did not add 1 pupil: {outcome}"
    );

    // Search the directory; htmx replaces the results as the search box changes.
    c.goto(&format!("{base}/people")).await?;
    let q = element(c, Locator::Id("q")).await?;
    q.send_keys("Fairweather").await?;
    let found = c
        .wait()
        .at_most(WAIT)
        .for_element(Locator::XPath(
            "//div[@id='results'][./p[starts-with(normalize-space(.), '1 person')]]\
             //a[contains(., 'Fairweather, Wilhelmina')]",
        ))
        .await;
    if found.is_err() {
        let results = c.find(Locator::Id("results")).await?.text().await?;
        anyhow::bail!("the search did not find the new pupil; the results show: {results}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_imports_a_pupil_in_the_browser_and_finds_them_in_the_directory() {
    let site = Site::empty();
    let csv = site.write(
        "new-pupil.csv",
        "UPN,Legal forename,Legal surname,NC Year,Registration group\n\
         B00000000042,Wilhelmina,Fairweather,Year 4,4 Birch\n",
    );
    let b = Browsing::start(&site).await;
    let outcome = import_a_pupil_and_find_them(&b.client, b.base(), &csv).await;
    b.finish(outcome).await;
}

/// A teacher reports a concern on a phone-sized screen: the form fits the screen (no
/// sideways scrolling, every control in view, the fields most of its width) and the
/// report reaches the DSL.
async fn a_teacher_reports_a_concern_from_a_phone(c: &Client, base: &str) -> Result<()> {
    c.set_window_size(390, 844).await?;
    sign_in(c, base, "teacher").await?;
    c.goto(&format!("{base}/incidents/new")).await?;
    element(c, Locator::Id("report-form")).await?;
    let layout = c
        .execute(
            "const w = document.documentElement.clientWidth;
             const outside = [...document.querySelectorAll(
                 '#report-form input:not([type=hidden]), #report-form select, #report-form textarea, #report-form button')]
               .filter(e => { const r = e.getBoundingClientRect();
                   return r.left < 0 || r.right > w || (e.tagName !== 'BUTTON' && r.width < w * 0.6); })
               .map(e => e.id);
             return { width: w, sideways: document.documentElement.scrollWidth - w, outside };",
            vec![],
        )
        .await?;
    ensure!(
        layout["width"].as_i64().is_some_and(|w| w <= 400),
        "the page is not phone-sized: {layout}"
    );
    ensure!(
        layout["sideways"].as_i64() == Some(0) && layout["outside"] == serde_json::json!([]),
        "the report form does not fit a phone's screen: {layout}"
    );
    element(c, Locator::Id("kind"))
        .await?
        .select_by_value("online_safety")
        .await?;
    c.find(Locator::Id("summary"))
        .await?
        .send_keys("Pupil shown a frightening video at break")
        .await?;
    c.find(Locator::Id("description"))
        .await?
        .send_keys("An older pupil showed Year 4 a violent clip on his phone by the gate.")
        .await?;
    submit(c, c.find(Locator::Id("report-submit")).await?).await?;
    let thanks = text_of(c, Locator::Id("thanks")).await?;
    ensure!(
        thanks.contains("reached the designated safeguarding lead"),
        "{thanks}"
    );
    sign_out(c).await?;

    sign_in(c, base, "dsl").await?;
    c.goto(&format!("{base}/incidents")).await?;
    let list = text_of(c, Locator::Id("incidents")).await?;
    ensure!(
        list.contains("Pupil shown a frightening video at break"),
        "the DSL's list: {list}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_teacher_reports_a_concern_from_a_phone_and_the_dsl_has_it() {
    let site = Site::empty();
    let b = Browsing::start(&site).await;
    let outcome = a_teacher_reports_a_concern_from_a_phone(&b.client, b.base()).await;
    b.finish(outcome).await;
}

/// The clause the head adds to the staff agreement in version 3.
const NEW_CLAUSE: &str = "I will check that an app or website is on the approved list \
                          before I use it with pupils for the first time.";

/// The teacher's name as the register lists it.
const TEACHER_IN_REGISTER: &str = "Pemberton, Laura";

/// On `/sign`: the staff agreement at `version`, changed since `previous` (which the
/// signer signed), with at least one clause highlighted as changed or new. Returns the
/// texts of the clauses highlighted as new.
async fn expect_changed_agreement(c: &Client, version: u32, previous: u32) -> Result<Vec<String>> {
    let at = path(c).await?;
    ensure!(
        at == "/sign",
        "expected to be sent to /sign, but the page is {at}"
    );
    let title = text_of(c, Locator::Css("main h1")).await?;
    ensure!(
        title.contains(" Staff acceptable use agreement "),
        "the agreement to sign is not the staff agreement: {title}"
    );
    let shown = text_of(c, Locator::Css("main h1 + p.muted")).await?;
    ensure!(
        shown.starts_with(&format!(" Version {version} ")),
        "expected version {version} to sign: {shown}"
    );
    let note = text_of(c, Locator::Id("changes-note")).await?;
    ensure!(
        note.contains(&format!(" changed since you signed version {previous}. ")),
        "the note does not say what was signed before: {note}"
    );
    let highlighted = c
        .find_all(Locator::Css("li.clause-changed, li.clause-new"))
        .await?;
    ensure!(!highlighted.is_empty(), "no clause is highlighted");
    let mut new = Vec::new();
    for li in c.find_all(Locator::Css("li.clause-new")).await? {
        new.push(words(&li).await?);
    }
    Ok(new)
}

/// On `/sign`: tick the box, type `typed_name` and sign; returns the home page's
/// greeting it lands on.
async fn sign_agreement(c: &Client, typed_name: &str) -> Result<String> {
    let agree = c.find(Locator::Id("agree")).await?;
    if !agree.is_selected().await? {
        agree.click().await?;
    }
    c.find(Locator::Id("typed_name"))
        .await?
        .send_keys(typed_name)
        .await?;
    submit(c, c.find(Locator::Id("sign")).await?).await?;
    let hello = text_of(
        c,
        Locator::XPath("//main/h1[starts-with(normalize-space(.), 'Hello,')]"),
    )
    .await
    .with_context(|| format!("signing as {typed_name:?}"))?;
    let at = path(c).await?;
    ensure!(
        at == "/",
        "after signing, the page is {at}, not the home page"
    );
    Ok(hello)
}

/// Open the staff agreement's page from the list of agreements.
async fn open_staff_agreement(c: &Client, base: &str) -> Result<()> {
    c.goto(&format!("{base}/agreements")).await?;
    submit(
        c,
        element(
            c,
            Locator::XPath(
                "//table[@id='policies']//tr[td[2][normalize-space(.)='Staff']]/td[1]/a",
            ),
        )
        .await?,
    )
    .await?;
    element(c, Locator::Id("versions")).await?;
    Ok(())
}

/// Open the staff agreement's register ("Who has signed"), show the people with `status`
/// (a value of the status filter) and return the text of `name`'s row.
async fn register_row(c: &Client, base: &str, status: &str, name: &str) -> Result<String> {
    open_staff_agreement(c, base).await?;
    submit(c, c.find(Locator::LinkText("Who has signed")).await?).await?;
    element(c, Locator::Id("status"))
        .await?
        .select_by_value(status)
        .await?;
    submit(
        c,
        c.find(Locator::Css("form.filters button[type='submit']"))
            .await?,
    )
    .await?;
    // The filtered page is the one whose select has the option selected by the server.
    let filtered = format!("//select[@id='status']/option[@value='{status}'][@selected]");
    element(c, Locator::XPath(&filtered)).await?;
    let row = format!("//table[@id='register']/tbody/tr[td[1][normalize-space(.)='{name}']]");
    match c.find(Locator::XPath(&row)).await {
        Ok(tr) => words(&tr).await,
        Err(_) => {
            let register = text_of(c, Locator::Id("register")).await?;
            anyhow::bail!("{name} is not in the register filtered by status={status}: {register}")
        }
    }
}

/// In the new-version form's text, append `clause` to the last numbered list (the last
/// section's clauses), numbered after the last clause.
async fn append_clause(source: &Element, clause: &str) -> Result<()> {
    let text = source.prop("value").await?.unwrap_or_default();
    let last = text
        .lines()
        .rev()
        .find_map(|l| l.split_once(". ").and_then(|(n, _)| n.parse::<u32>().ok()))
        .context("the agreement's text has no numbered clause")?;
    let line = format!("{}. {clause}", last + 1);
    let typed = if text.ends_with('\n') {
        line.clone()
    } else {
        format!("\n{line}")
    };
    // WebDriver types at the end of a textarea's text.
    source.send_keys(&typed).await?;
    let now = source.prop("value").await?.unwrap_or_default();
    let end: Vec<&str> = now.lines().rev().take(2).collect();
    ensure!(
        end.first().is_some_and(|l| l.trim_end() == line),
        "the text does not end with the new clause: {end:?}"
    );
    Ok(())
}

/// The head makes, approves and publishes version 3 of the staff agreement, with
/// [`NEW_CLAUSE`] added as a material change.
async fn publish_staff_version_3(c: &Client, base: &str) -> Result<()> {
    open_staff_agreement(c, base).await?;
    element(c, Locator::Css("details#new-version > summary"))
        .await?
        .click()
        .await?;
    let source = element(c, Locator::Css("details#new-version textarea#source")).await?;
    append_clause(&source, NEW_CLAUSE).await?;
    ensure!(
        c.find(Locator::Id("material")).await?.is_selected().await?,
        "\"material\" is not ticked by default"
    );
    c.find(Locator::Id("note"))
        .await?
        .send_keys("Approved apps and websites")
        .await?;
    submit(
        c,
        c.find(Locator::Css("details#new-version button[type='submit']"))
            .await?,
    )
    .await?;

    // The draft: record the governors' approval (dated today by default).
    let approve = element(c, Locator::Id("approve-form")).await?;
    let heading = words(&approve.find(Locator::Css("h2")).await?).await?;
    ensure!(
        heading == " Approve version 3 ",
        "the draft is not version 3: {heading}"
    );
    approve
        .find(Locator::Id("by"))
        .await?
        .send_keys("Full governing body")
        .await?;
    submit(
        c,
        approve.find(Locator::Css("button[type='submit']")).await?,
    )
    .await?;

    // Publish with the default dates (in force today, review in a year).
    element(c, Locator::Id("publish-form")).await?;
    submit(c, c.find(Locator::Id("publish")).await?).await?;
    // With nothing pending, the page offers a new version again.
    element(c, Locator::Id("new-version")).await?;
    for (version, status) in [("v3", "Published"), ("v2", "Superseded")] {
        let row =
            format!("//table[@id='versions']/tbody/tr[td[1][normalize-space(.)='{version}']]");
        let text = text_of(c, Locator::XPath(&row)).await?;
        ensure!(
            text.contains(&format!(" {status} ")),
            "{version} is not {status}: {text}"
        );
    }
    Ok(())
}

/// The agreements feature's acceptance test: see the test below.
async fn staff_re_sign_a_changed_agreement(c: &Client, base: &str) -> Result<()> {
    // 1. The teacher signed version 1; version 2 is in force, so signing in sends her to
    // sign it, with what changed highlighted. Her name is checked ignoring case.
    sign_in(c, base, "teacher").await?;
    expect_changed_agreement(c, 2, 1).await?;
    let hello = sign_agreement(c, "laura pemberton").await?;
    ensure!(
        hello == " Hello, Laura Pemberton ",
        "unexpected greeting: {hello}"
    );
    sign_out(c).await?;

    // 2. The head adds a clause and publishes it as version 3, a material change.
    sign_in(c, base, "head").await?;
    publish_staff_version_3(c, base).await?;

    // 3. The teacher must now sign again.
    let row = register_row(c, base, "resign", TEACHER_IN_REGISTER).await?;
    ensure!(
        row.contains(" Re-sign due "),
        "the teacher's row is not \"Re-sign due\": {row}"
    );
    sign_out(c).await?;

    // 4. She signs version 3, in which the new clause is highlighted as new.
    sign_in(c, base, "teacher").await?;
    let new = expect_changed_agreement(c, 3, 2).await?;
    ensure!(
        new.iter().any(|li| li.contains(NEW_CLAUSE)),
        "the added clause is not highlighted as new; the new clauses are: {new:?}"
    );
    sign_agreement(c, "Laura Pemberton").await?;
    sign_out(c).await?;

    // 5. The register shows her signature of version 3. (The head, who signed version 2,
    // is asked to sign version 3 first too.)
    sign_in(c, base, "head").await?;
    let at = path(c).await?;
    ensure!(
        at == "/sign",
        "the head was not asked to sign version 3 ({at})"
    );
    let row = register_row(c, base, "signed", TEACHER_IN_REGISTER).await?;
    ensure!(
        row.contains(" Signed ") && row.contains(" v3 "),
        "the teacher's row does not show version 3 signed: {row}"
    );
    Ok(())
}

/// The teacher signs the changed staff agreement; the head publishes a version 3 with a
/// new clause; the register shows the teacher must sign again; she signs version 3 with
/// the new clause highlighted; the register shows it signed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_sign_again_when_the_head_publishes_a_material_change() {
    let site = Site::empty();
    let b = Browsing::start(&site).await;
    let outcome = staff_re_sign_a_changed_agreement(&b.client, b.base()).await;
    b.finish(outcome).await;
}

/// A gambling site of the demo lists, blocked for the ks2 policy.
const GAMBLING: &str = "770.com";
/// What the `static:` upstream answers for every allowed name.
const UPSTREAM: std::net::Ipv4Addr = std::net::Ipv4Addr::new(10, 9, 9, 9);

/// The A records the DNS filter at `dns` gives for `name`, asked from 127.0.0.1.
fn resolve(dns: std::net::SocketAddr, id: u16, name: &str) -> Vec<std::net::Ipv4Addr> {
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").expect("a UDP socket");
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("a timeout");
    let (rcode, records) = crate::dns::ask(&sock, dns, id, name, 1);
    assert_eq!(rcode, 0, "NOERROR for {name}");
    crate::dns::a_records(&records)
}

async fn pupil_asks_for_a_blocked_site_and_is_let_through(
    c: &Client,
    base: &str,
    dns: std::net::SocketAddr,
) -> Result<()> {
    // The pupil connects the device at the portal: its queries are now hers.
    connect_pupil_device(c, base).await?;
    sign_out(c).await?;

    // The DNS filter sends the gambling site to the block page.
    let blocked = resolve(dns, 1, GAMBLING);
    ensure!(
        blocked == vec![std::net::Ipv4Addr::LOCALHOST],
        "{GAMBLING} should be answered with the block page's address, got {blocked:?}"
    );

    // The browser follows that answer: the block page says what, why and for whom.
    let port = base.rsplit(':').next().unwrap_or_default();
    c.goto(&format!("http://{GAMBLING}:{port}/bonus")).await?;
    let title = text_of(c, Locator::Id("blocked-title")).await?;
    ensure!(title.contains("This page is blocked"), "{title}");
    let who = text_of(c, Locator::Id("blocked-who")).await?;
    ensure!(
        who.contains("Sophia Bennett"),
        "the block page names the pupil: {who}"
    );
    let category = text_of(c, Locator::Id("blocked-category")).await?;
    ensure!(category.contains("gambling"), "{category}");
    element(c, Locator::Id("reason"))
        .await?
        .send_keys("We are learning about probability in maths")
        .await?;
    submit(
        c,
        c.find(Locator::Css("#unblock-form button[type='submit']"))
            .await?,
    )
    .await?;
    let sent = text_of(c, Locator::Id("request-sent")).await?;
    ensure!(sent.contains("sent to the online safety lead"), "{sent}");

    // The online safety lead approves it for her.
    sign_in(c, base, "esafety").await?;
    let nav = text_of(c, Locator::Css("nav")).await?;
    ensure!(nav.contains("Unblock requests"), "{nav}");
    c.goto(&format!("{base}/unblock-requests")).await?;
    let card = element(c, Locator::Css("article.request")).await?;
    let text = words(&card).await?;
    ensure!(
        text.contains(GAMBLING) && text.contains("probability") && text.contains("Sophia Bennett"),
        "the request as listed: {text}"
    );
    submit(c, card.find(Locator::Css("button[value='approve']")).await?).await?;
    element(c, Locator::Id("no-pending")).await?;
    let decided = text_of(c, Locator::Css("table.list tbody")).await?;
    ensure!(decided.contains("approved"), "{decided}");

    // The device's next query is answered.
    let allowed = resolve(dns, 2, GAMBLING);
    ensure!(
        allowed == vec![UPSTREAM],
        "after the approval {GAMBLING} should be answered by the upstream, got {allowed:?}"
    );

    // Both queries are in the activity log, under her name (the log is written at least
    // every second: search until both are there).
    let search = format!("{base}/activity?domain={GAMBLING}");
    let deadline = std::time::Instant::now() + WAIT;
    let rows = loop {
        c.goto(&search).await?;
        let rows = match c.find(Locator::Id("activity-rows")).await {
            Ok(table) => words(&table).await?,
            Err(_) => String::new(),
        };
        if rows.contains(" allow ") && rows.contains(" block ") {
            break rows;
        }
        ensure!(
            std::time::Instant::now() < deadline,
            "the activity page does not show both queries: {rows}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    ensure!(rows.contains("Sophia Bennett"), "{rows}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_pupil_asks_for_access_and_the_online_safety_lead_approves() {
    let site = Site::empty();
    let b = Browsing::start_with(&site, &["--upstream", &format!("static:{UPSTREAM}")]).await;
    let dns = b.server.dns.expect("the demo runs the DNS filter");
    let outcome = pupil_asks_for_a_blocked_site_and_is_let_through(&b.client, b.base(), dns).await;
    b.finish(outcome).await;
}

async fn self_harm_queries_raise_an_alert_the_dsl_handles(
    c: &Client,
    base: &str,
    dns: std::net::SocketAddr,
) -> Result<()> {
    connect_pupil_device(c, base).await?;
    sign_out(c).await?;

    resolve(dns, 1, "how-to-self-harm.example");
    resolve(dns, 2, "self-harm-tips.example");

    sign_in(c, base, "dsl").await?;
    // raised as the events arrive (written at least every second): wait for it
    let deadline = std::time::Instant::now() + WAIT;
    let link = loop {
        c.goto(&format!("{base}/alerts")).await?;
        if let Ok(table) = c.find(Locator::Id("alerts")).await {
            let text = words(&table).await?;
            if text.contains("self harm") {
                ensure!(
                    text.contains("Sophia Bennett") && text.contains(" high "),
                    "{text}"
                );
                break table
                    .find(Locator::XPath(".//a[contains(., 'self harm')]"))
                    .await?;
            }
        }
        ensure!(
            std::time::Instant::now() < deadline,
            "no self-harm alert on the alerts page"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    submit(c, link).await?;
    // The repeat is stored within a second or so of the new alert: wait for it.
    let alert_page = c.current_url().await?;
    loop {
        let count = text_of(c, Locator::Id("alert-count")).await?;
        if count.trim() == "2" {
            break;
        }
        ensure!(
            count.trim() == "1" && std::time::Instant::now() < deadline,
            "both queries are in one alert: {count}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        c.goto(alert_page.as_str()).await?;
    }
    let evidence = text_of(c, Locator::Id("evidence")).await?;
    ensure!(evidence.contains("how-to-self-harm.example"), "{evidence}");
    submit(c, element(c, Locator::Id("acknowledge")).await?).await?;
    let status = text_of(c, Locator::Id("alert-status")).await?;
    ensure!(status.contains("acknowledged (by dsl)"), "{status}");
    element(c, Locator::Id("note"))
        .await?
        .send_keys("Spoke to Sophia with her class teacher")
        .await?;
    submit(c, element(c, Locator::Id("escalate")).await?).await?;

    // the safeguarding concern, with the evidence and the pupil
    let description = text_of(c, Locator::Id("description")).await?;
    ensure!(
        description.contains("how-to-self-harm.example"),
        "{description}"
    );
    let people = text_of(c, Locator::Id("people")).await?;
    ensure!(people.contains("Sophia Bennett"), "{people}");
    ensure!(
        path(c).await?.starts_with("/incidents/"),
        "not on the incident"
    );

    // parents informed
    element(c, Locator::Id("entry-kind"))
        .await?
        .select_by_value("parents_informed")
        .await?;
    c.find(Locator::Id("entry-text"))
        .await?
        .send_keys("Mum told about the searches; she will talk to Sophia tonight")
        .await?;
    c.find(Locator::Id("entry-how"))
        .await?
        .send_keys("phone")
        .await?;
    submit(
        c,
        c.find(Locator::Css("#entry-form button[type='submit']"))
            .await?,
    )
    .await?;
    let chronology = text_of(c, Locator::Id("chronology")).await?;
    ensure!(
        chronology.contains("Parents/carers informed"),
        "{chronology}"
    );

    // internet removed for three days
    let until = (jiff::Zoned::now()
        .with_time_zone(jiff::tz::TimeZone::get("Europe/London").expect("the UK time zone"))
        + jiff::SignedDuration::from_hours(72))
    .strftime("%Y-%m-%dT%H:%M")
    .to_string();
    element(c, Locator::Id("sanction"))
        .await?
        .select_by_value("removed")
        .await?;
    c.execute(
        "document.getElementById('sanction-until').value = arguments[0];",
        vec![serde_json::json!(until)],
    )
    .await?;
    submit(
        c,
        c.find(Locator::Css("#sanction-form button[type='submit']"))
            .await?,
    )
    .await?;
    let sanctions = text_of(c, Locator::Id("sanctions")).await?;
    ensure!(sanctions.contains("Sophia Bennett"), "{sanctions}");

    // her device's next query is blocked, whatever the name
    let blocked = resolve(dns, 3, "www.bbc.co.uk");
    ensure!(
        blocked == vec![std::net::Ipv4Addr::LOCALHOST],
        "with internet access removed, the pupil's query should be blocked, got {blocked:?}"
    );
    let incident = path(c).await?;
    sign_out(c).await?;

    // the head moves the demo's clock past the end date: the sanction ends at once
    sign_in(c, base, "head").await?;
    c.goto(&format!("{base}/demo/clock")).await?;
    let hours = element(c, Locator::Id("hours")).await?;
    hours.clear().await?;
    hours.send_keys("73").await?;
    submit(c, c.find(Locator::Id("advance")).await?).await?;
    // three days on, every sign-in has expired: the head signs in again and is taken
    // back to the clock
    fill_sign_in(c, "head").await?;
    let moved = text_of(c, Locator::Id("clock-moved")).await?;
    ensure!(moved.contains("One sanction ended"), "{moved}");
    c.goto(&format!("{base}{incident}")).await?;
    let chronology = text_of(c, Locator::Id("chronology")).await?;
    ensure!(chronology.contains("ended on its end date"), "{chronology}");
    sign_out(c).await?;

    // three days on, she connects her device again and her queries are answered
    connect_pupil_device(c, base).await?;
    let allowed = resolve(dns, 4, "www.bbc.co.uk");
    ensure!(
        allowed == vec![UPSTREAM],
        "after the sanction's end, the pupil's query should be answered, got {allowed:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_harm_queries_raise_an_alert_the_dsl_escalates_and_a_sanction_blocks_the_pupil() {
    let site = Site::empty();
    let b = Browsing::start_with(&site, &["--upstream", &format!("static:{UPSTREAM}")]).await;
    let dns = b.server.dns.expect("the demo runs the DNS filter");
    let outcome = self_harm_queries_raise_an_alert_the_dsl_handles(&b.client, b.base(), dns).await;
    b.finish(outcome).await;
}
