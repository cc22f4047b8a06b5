//! Helpers: run the binary, start and stop the demo server, read and edit the database.

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection};
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// The password every demo account shares.
pub const DEMO_PASSWORD: &str = "elmbrook-demo-2026";

/// How long the demo may take to create its school and start listening (a debug build
/// on a busy machine).
const START_LIMIT: Duration = Duration::from_secs(300);

/// The binary, with no `GATEHOUSE_*` variables inherited from whoever runs the tests.
pub fn gatehouse() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("GATEHOUSE_") {
            cmd.env_remove(name);
        }
    }
    cmd.stdin(Stdio::null());
    cmd
}

/// A finished command: its exit status and output.
#[derive(Debug)]
pub struct Run {
    /// The command line, for messages.
    pub what: String,
    /// How it ended.
    pub status: ExitStatus,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` exited with {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.what, self.status, self.stdout, self.stderr
        )
    }
}

impl Run {
    /// Run `cmd` to the end, feeding it `input` on standard input if given.
    pub fn of(cmd: Command, input: Option<&str>) -> Self {
        Self::of_bytes(cmd, input.map(str::as_bytes))
    }

    /// [`Run::of`] with input that need not be UTF-8.
    pub fn of_bytes(mut cmd: Command, input: Option<&[u8]>) -> Self {
        let what = format!(
            "gatehouse {}",
            cmd.get_args()
                .map(|a| a.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        );
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        if input.is_some() {
            cmd.stdin(Stdio::piped());
        }
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {what}: {e}"));
        // Input is written from another thread while the output is read: a command that
        // answers as it reads would otherwise fill its output pipe and wait forever.
        let writer = input.map(|text| {
            let mut stdin = child.stdin.take().expect("stdin is piped");
            let text = text.to_owned();
            std::thread::spawn(move || match stdin.write_all(&text) {
                // a command may stop reading (an error, or all it needed): its output
                // and exit status tell the test
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                r => r.expect("writing to the command's stdin"),
            })
        });
        let out = child
            .wait_with_output()
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        if let Some(w) = writer {
            w.join().expect("the stdin writer panicked");
        }
        Self {
            what,
            status: out.status,
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Assert the command succeeded.
    #[track_caller]
    pub fn ok(self) -> Self {
        assert!(self.status.success(), "expected success: {self}");
        self
    }

    /// Assert the command failed (exited non-zero).
    #[track_caller]
    pub fn fails(self) -> Self {
        assert!(
            !self.status.success() && self.status.code().is_some(),
            "expected a non-zero exit: {self}"
        );
        self
    }

    /// Assert standard output contains `text`.
    #[track_caller]
    pub fn says(self, text: &str) -> Self {
        assert!(
            self.stdout.contains(text),
            "expected {text:?} on stdout: {self}"
        );
        self
    }

    /// Assert standard error contains `text`.
    #[track_caller]
    pub fn complains(self, text: &str) -> Self {
        assert!(
            self.stderr.contains(text),
            "expected {text:?} on stderr: {self}"
        );
        self
    }

    /// Standard output parsed as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self}"))
    }
}

/// A test's installation: a temporary data folder (passed as `--data`) and a separate
/// temporary folder for the files the test writes (CSV files, backups, logs).
#[derive(Debug)]
pub struct Site {
    data: TempDir,
    files: TempDir,
}

impl Site {
    /// An empty data folder.
    pub fn empty() -> Self {
        Self {
            data: TempDir::new().expect("temporary data folder"),
            files: TempDir::new().expect("temporary folder"),
        }
    }

    /// The data folder.
    pub fn data(&self) -> &Path {
        self.data.path()
    }

    /// The SQLite database in the data folder.
    pub fn db(&self) -> PathBuf {
        self.data().join("gatehouse.db")
    }

    /// A path in the test's file folder.
    pub fn file(&self, name: &str) -> PathBuf {
        self.files.path().join(name)
    }

    /// Write `contents` to a file in the test's file folder; returns its path.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.file(name);
        std::fs::write(&path, contents).expect("writing a test file");
        path
    }

    /// `gatehouse --data DATA ARGS…`, not started.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = gatehouse();
        cmd.arg("--data").arg(self.data()).args(args);
        cmd
    }

    /// Run `gatehouse --data DATA ARGS…` to the end.
    pub fn run(&self, args: &[&str]) -> Run {
        Run::of(self.command(args), None)
    }

    /// Run `gatehouse --data DATA ARGS…` with `input` on standard input.
    pub fn run_with_input(&self, args: &[&str], input: &str) -> Run {
        Run::of(self.command(args), Some(input))
    }

    /// Start `gatehouse demo --web 127.0.0.1:0 --dns 127.0.0.1:0` on this data folder and
    /// wait until it says it is running. It is stopped when the returned guard is dropped.
    pub fn start_demo(&self) -> Server {
        self.start_demo_with(&[])
    }

    /// `start_demo` with more arguments (e.g. `--upstream static:10.9.9.9`).
    pub fn start_demo_with(&self, args: &[&str]) -> Server {
        let log = self.file("demo-server.log");
        let mut cmd = self.command(&["demo", "--web", "127.0.0.1:0", "--dns", "127.0.0.1:0"]);
        cmd.args(args);
        cmd.stdout(Stdio::piped())
            .stderr(File::create(&log).expect("creating the server log"));
        Server::start(cmd, log)
    }

    /// `import people --kind pupil FILE ARGS…`.
    pub fn import_pupils(&self, file: &Path, args: &[&str]) -> Run {
        let mut cmd = self.command(&["import", "people", "--kind", "pupil"]);
        cmd.arg(file).args(args);
        Run::of(cmd, None)
    }
}

/// A fresh installation of the demo school: `gatehouse demo` is started on an empty data
/// folder, and stopped as soon as it says it is running.
pub fn installation() -> Site {
    let site = Site::empty();
    site.start_demo().stop();
    assert!(
        site.db().is_file(),
        "the demo left no database in {}",
        site.data().display()
    );
    site
}

/// A running server process, killed when dropped.
#[derive(Debug)]
pub struct Server {
    child: Child,
    log: PathBuf,
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub base: String,
    /// The DNS filter's UDP address, when the server said it runs one.
    pub dns: Option<std::net::SocketAddr>,
}

impl Server {
    /// Spawn `cmd` (its stdout piped) and read its output line by line until it says
    /// "running at http://…".
    fn start(mut cmd: Command, log: PathBuf) -> Self {
        let mut child = cmd.spawn().expect("starting gatehouse demo");
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut server = Self {
            child,
            log,
            base: String::new(),
            dns: None,
        };
        let (tx, rx) = mpsc::channel::<String>();
        // Keeps reading (and discarding) after the announcement, so that the server
        // never blocks on a full pipe; ends when the server's stdout closes.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + START_LIMIT;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(rest) = line.strip_prefix("DNS filter listening on udp ") {
                        server.dns = rest
                            .split([',', ' ', ';'])
                            .next()
                            .and_then(|a| a.parse().ok());
                    }
                    if let Some(at) = line.find("running at http://") {
                        let url = line[at + "running at ".len()..].trim();
                        server.base = url
                            .strip_suffix("/login")
                            .unwrap_or(url)
                            .trim_end_matches('/')
                            .to_owned();
                        return server;
                    }
                    seen.push(line);
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = server
                        .child
                        .wait()
                        .map(|s| s.to_string())
                        .unwrap_or_default();
                    panic!(
                        "the demo server stopped before it was running ({status})\n--- stdout ---\n{}\n--- stderr ---\n{}",
                        seen.join("\n"),
                        server.log_text()
                    );
                }
                Err(mpsc::RecvTimeoutError::Timeout) => panic!(
                    "the demo server did not say it was running within {START_LIMIT:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
                    seen.join("\n"),
                    server.log_text()
                ),
            }
        }
    }

    /// `host:port` the server listens on.
    pub fn addr(&self) -> &str {
        self.base.trim_start_matches("http://")
    }

    /// What the server wrote to standard error.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Kill the server and wait for it to exit.
    pub fn stop(self) {
        drop(self);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Run a future to completion on a small runtime of its own.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(f)
}

async fn connect(db: &Path, read_only: bool) -> SqliteConnection {
    SqliteConnectOptions::new()
        .filename(db)
        .read_only(read_only)
        .connect()
        .await
        .unwrap_or_else(|e| panic!("opening {}: {e}", db.display()))
}

/// A number from a query (e.g. `SELECT COUNT(*) …`) with text parameters, run on a
/// read-only connection.
pub fn number(db: &Path, sql: &'static str, params: &[&str]) -> i64 {
    block_on(async {
        let mut conn = connect(db, true).await;
        let mut q = sqlx::query_scalar::<_, i64>(sql);
        for p in params {
            q = q.bind(p.to_string());
        }
        let n = q
            .fetch_one(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        conn.close().await.expect("closing the database");
        n
    })
}

/// Rows of a one-column text query with text parameters, run on a read-only connection.
pub fn texts(db: &Path, sql: &'static str, params: &[&str]) -> Vec<String> {
    block_on(async {
        let mut conn = connect(db, true).await;
        let mut q = sqlx::query_scalar::<_, String>(sql);
        for p in params {
            q = q.bind(p.to_string());
        }
        let rows = q
            .fetch_all(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        conn.close().await.expect("closing the database");
        rows
    })
}

/// Run statements on a read-write connection, in order. The first error is returned.
pub fn execute(db: &Path, statements: &[&'static str]) -> Result<(), sqlx::Error> {
    block_on(async {
        let mut conn = connect(db, false).await;
        for s in statements {
            sqlx::query(*s).execute(&mut conn).await?;
        }
        conn.close().await
    })
}

/// Every stored person as one line of text, in id order: two equal snapshots mean the
/// people table did not change at all.
pub fn people_snapshot(db: &Path) -> Vec<String> {
    texts(
        db,
        "SELECT id || '|' || kind || '|' || COALESCE(mis_id, '') || '|' || first_name || '|' || last_name
             || '|' || COALESCE(email, '') || '|' || COALESCE(year_group, '') || '|' || COALESCE(class_name, '')
             || '|' || COALESCE(job_title, '') || '|' || COALESCE(start_date, '') || '|' || COALESCE(leave_date, '')
             || '|' || active || '|' || updated_at
         FROM people ORDER BY id",
        &[],
    )
}

/// The number of stored people, leavers included.
pub fn people_count(db: &Path) -> i64 {
    number(db, "SELECT COUNT(*) FROM people", &[])
}

/// The number of pupils on roll (not leavers).
pub fn active_pupils(db: &Path) -> i64 {
    number(
        db,
        "SELECT COUNT(*) FROM people WHERE kind = 'pupil' AND active = 1",
        &[],
    )
}

/// A free TCP port on 127.0.0.1 (bound, then released).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binding a free port");
    listener.local_addr().expect("local address").port()
}

/// Sign in through the web form (`GET /login`, then `POST /login` with its CSRF token).
/// True when the server signs the account in (a redirect away from the form); false when
/// it refuses the credentials (401).
pub fn sign_in(base: &str, username: &str, password: &str) -> bool {
    block_on(async {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("HTTP client");
        let page = client
            .get(format!("{base}/login"))
            .send()
            .await
            .expect("GET /login")
            .text()
            .await
            .expect("the sign-in page");
        let marker = "name=\"csrf_token\" value=\"";
        let start = page
            .find(marker)
            .map(|i| i + marker.len())
            .expect("a CSRF token on the sign-in page");
        let token = &page[start..start + page[start..].find('"').expect("end of the CSRF token")];
        let res = client
            .post(format!("{base}/login"))
            .form(&[
                ("csrf_token", token),
                ("username", username),
                ("password", password),
                ("next", "/"),
            ])
            .send()
            .await
            .expect("POST /login");
        let status = res.status();
        match status.as_u16() {
            303 => {
                let to = res
                    .headers()
                    .get("location")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                assert!(
                    !to.starts_with("/login"),
                    "sign-in of {username} redirected back to {to}"
                );
                true
            }
            401 => false,
            _ => panic!(
                "sign-in of {username}: unexpected {status}: {}",
                res.text().await.unwrap_or_default()
            ),
        }
    })
}
