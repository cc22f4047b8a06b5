//! The end-to-end test in a real browser: headless Chromium driven through chromedriver.
//!
//! Needs `/usr/bin/chromedriver` and `/usr/bin/chromium` (Debian/Ubuntu:
//! `apt-get install chromium chromium-driver`). Without them the test fails: it does not
//! skip.

use crate::support::{DEMO_PASSWORD, Site, free_port};
use anyhow::{Context, Result, ensure};
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

/// A new headless Chromium session.
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

/// The text of the element found by `css`, waiting for it to appear, with its words
/// separated by single spaces and a space at either end.
async fn text_of(c: &Client, css: &str) -> Result<String> {
    let found = c.wait().at_most(WAIT).for_element(Locator::Css(css)).await;
    let el = match found {
        Ok(el) => el,
        Err(e) => {
            let url = c
                .current_url()
                .await
                .map(|u| u.to_string())
                .unwrap_or_default();
            let page = c
                .find(Locator::Css("main"))
                .await?
                .text()
                .await
                .unwrap_or_default();
            return Err(e)
                .with_context(|| format!("waiting for {css} on {url}, which shows:\n{page}"));
        }
    };
    // Collapse the layout's line breaks: "1\nnew\n0\nchanged" reads " 1 new 0 changed ".
    let text = el.text().await?;
    Ok(format!(
        " {} ",
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    ))
}

/// The head signs in, imports a one-pupil file through the web pages and finds the new
/// pupil with the directory's live search.
async fn import_a_pupil_and_find_them(c: &Client, base: &str, csv: &Path) -> Result<()> {
    // Sign in.
    c.goto(&format!("{base}/login")).await?;
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Id("username"))
        .await?
        .send_keys("head")
        .await?;
    c.find(Locator::Id("password"))
        .await?
        .send_keys(DEMO_PASSWORD)
        .await?;
    c.find(Locator::Css("form[action='/login'] button[type='submit']"))
        .await?
        .click()
        .await?;
    let nav = text_of(c, "nav").await?;
    ensure!(
        nav.contains("Import"),
        "after signing in, the head's navigation has no Import: {nav}"
    );

    // Upload the file.
    c.goto(&format!("{base}/people/import")).await?;
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Id("kind"))
        .await?
        .select_by_label("Pupils")
        .await?;
    c.find(Locator::Id("file"))
        .await?
        .send_keys(&csv.display().to_string())
        .await?;
    c.find(Locator::Css(
        "form[action='/people/import'] button[type='submit']",
    ))
    .await?
    .click()
    .await?;

    // The preview.
    let summary = text_of(c, "#import-summary").await?;
    ensure!(
        summary.contains(" 1 new "),
        "the preview does not count 1 new pupil: {summary}"
    );
    ensure!(
        summary.contains(" 0 problem(s) "),
        "the preview reports problems: {summary}"
    );
    let creates = text_of(c, "#creates").await?;
    ensure!(
        creates.contains("Wilhelmina Fairweather"),
        "the preview does not name the new pupil: {creates}"
    );

    // Apply.
    c.find(Locator::Id("apply")).await?.click().await?;
    let outcome = text_of(c, "#import-outcome").await?;
    ensure!(
        outcome.contains(" 1 added "),
        "the import did not add 1 pupil: {outcome}"
    );

    // Search the directory; htmx replaces the results as the search box changes.
    c.goto(&format!("{base}/people")).await?;
    let q = c.wait().at_most(WAIT).for_element(Locator::Id("q")).await?;
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
    require_browser();
    let site = Site::empty();
    let csv = site.write(
        "new-pupil.csv",
        "UPN,Legal forename,Legal surname,NC Year,Registration group\n\
         B00000000042,Wilhelmina,Fairweather,Year 4,4 Birch\n",
    );
    let server = site.start_demo();
    let scratch = TempDir::new().expect("temporary folder");
    let driver = Driver::start(scratch.path()).await;
    let profile = scratch.path().join("chromium-profile");
    std::fs::create_dir_all(&profile).expect("profile folder");
    let client = browser(&driver, &profile).await;

    let outcome = import_a_pupil_and_find_them(&client, &server.base, &csv).await;
    // End the session (and Chromium) whatever happened, before chromedriver is killed.
    let closed = client.close().await;
    if let Err(e) = outcome {
        panic!("{e:#}\n--- server log ---\n{}", server.log_text());
    }
    closed.expect("closing the browser session");
    drop(driver);
    drop(server);
}
