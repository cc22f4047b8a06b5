//! The event writer: takes batches from the DNS filter's event queue and inserts each
//! batch in one transaction: the batch's new strings and names are interned first, a few
//! statements for all of them, then the events go in with multi-row statements of a few
//! fixed sizes, prepared once and reused.
//!
//! Events are written when [`WriterSettings::max_batch`] have accumulated, when the oldest
//! unwritten event is [`WriterSettings::flush_interval`] old, on [`WriterHandle::flush`],
//! and when the queue closes. One write runs at a time, in its own task, while the loop
//! keeps taking events from the queue. A failed batch is counted and its error kept; the writer
//! carries on with the next batch (the queue is bounded, so holding failed events would
//! only move the loss to the DNS side).

use std::borrow::Cow;
use std::fmt::Write as _;
use std::future::Future;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use foldhash::{HashMap, HashSet};
use gatehouse_dns::{ActivityEvent, EventReceiver};
use jiff::Timestamp;
use sqlx::SqliteConnection;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::codes::{action_code, micros, rcode_code, reversed, transport_code};
use crate::{ActivityError, ActivityLog, Result};

/// Interned ids kept in memory before the caches are cleared.
const CACHE_LIMIT: usize = 200_000;

/// How the writer batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriterSettings {
    /// Write once this many events are waiting. Events that arrive while a batch is
    /// being written are taken from the queue meanwhile (up to four times this many) and
    /// written together next, so under load batches grow and the queue keeps draining.
    pub max_batch: usize,
    /// Write at the latest this long after the oldest waiting event arrived (at most one
    /// second, as the activity log promises).
    pub flush_interval: Duration,
}

impl Default for WriterSettings {
    /// 8,192 events or half a second, whichever comes first.
    fn default() -> WriterSettings {
        WriterSettings {
            max_batch: 8192,
            flush_interval: Duration::from_millis(500),
        }
    }
}

/// Where the writer takes events from: the DNS filter's [`EventReceiver`], or a plain
/// tokio channel.
pub trait EventSource: Send + 'static {
    /// Wait for at least one event, then append up to `max` (at least 1) to `buf`;
    /// returns how many, 0 once the queue is closed and empty. Must be cancel-safe (no
    /// event lost if the future is dropped).
    fn recv_many(
        &mut self,
        buf: &mut Vec<ActivityEvent>,
        max: usize,
    ) -> impl Future<Output = usize> + Send;
}

impl EventSource for EventReceiver {
    fn recv_many(
        &mut self,
        buf: &mut Vec<ActivityEvent>,
        max: usize,
    ) -> impl Future<Output = usize> + Send {
        EventReceiver::recv_many(self, buf, max)
    }
}

impl EventSource for mpsc::Receiver<ActivityEvent> {
    fn recv_many(
        &mut self,
        buf: &mut Vec<ActivityEvent>,
        max: usize,
    ) -> impl Future<Output = usize> + Send {
        mpsc::Receiver::recv_many(self, buf, max)
    }
}

/// The writer's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// Events stored.
    pub written: u64,
    /// Transactions committed.
    pub batches: u64,
    /// Events lost because their batch failed to write.
    pub failed: u64,
    /// The largest batch written.
    pub largest_batch: u64,
    /// The last write error, if any.
    pub last_error: Option<String>,
    /// When a batch was last committed.
    pub last_write: Option<Timestamp>,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    written: AtomicU64,
    batches: AtomicU64,
    failed: AtomicU64,
    largest_batch: AtomicU64,
    last_write_us: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl Counters {
    pub(crate) fn snapshot(&self) -> WriterStats {
        let r = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let last = r(&self.last_write_us);
        WriterStats {
            written: r(&self.written),
            batches: r(&self.batches),
            failed: r(&self.failed),
            largest_batch: r(&self.largest_batch),
            last_error: self.last_error.lock().map(|e| e.clone()).unwrap_or(None),
            last_write: (last > 0)
                .then(|| i64::try_from(last).ok())
                .flatten()
                .and_then(|us| Timestamp::from_microsecond(us).ok()),
        }
    }

    fn record_ok(&self, n: usize) {
        let n = n as u64;
        self.written.fetch_add(n, Ordering::Relaxed);
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.largest_batch.fetch_max(n, Ordering::Relaxed);
        let now = u64::try_from(Timestamp::now().as_microsecond()).unwrap_or(0);
        self.last_write_us.store(now, Ordering::Relaxed);
    }

    fn record_err(&self, n: usize, error: String) {
        self.failed.fetch_add(n as u64, Ordering::Relaxed);
        if let Ok(mut e) = self.last_error.lock() {
            *e = Some(error);
        }
    }
}

/// The running writer.
#[derive(Debug)]
pub struct WriterHandle {
    control: mpsc::Sender<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl WriterHandle {
    /// Write every event already queued and wait until it is committed. Returns at once
    /// if the writer has stopped.
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.control.send(tx).await.is_ok() {
            let _ = rx.await;
        }
    }

    /// Wait for the writer to finish: it stops once the event queue is closed (the DNS
    /// server stopped) and everything queued has been written.
    pub async fn join(self) {
        drop(self.control);
        let _ = self.task.await;
    }

    /// Stop the writer without waiting for the queue to close (queued events not yet
    /// taken are not written).
    pub fn abort(&self) {
        self.task.abort();
    }
}

impl ActivityLog {
    /// Start the writer task on the current tokio runtime, taking events from `source`.
    pub fn spawn_writer<S: EventSource>(
        &self,
        source: S,
        settings: WriterSettings,
    ) -> WriterHandle {
        let (control, control_rx) = mpsc::channel(4);
        let writer = Writer::new(self.clone());
        let task = tokio::spawn(run(writer, source, control_rx, settings));
        WriterHandle { control, task }
    }

    /// Insert `events` in one transaction (what the writer does with each batch; also
    /// useful to import or to test). Counts towards [`ActivityLog::stats`].
    pub async fn insert(&self, events: &[ActivityEvent]) -> Result<()> {
        Writer::new(self.clone()).write(events).await
    }
}

/// Events held while a write is running, in batches: beyond this the writer stops taking
/// events and the DNS filter's queue absorbs (then drops and counts) the excess. At most
/// twice this many events are in memory (those held and those being written), about
/// 500 bytes each.
const HOLD_BATCHES: usize = 4;

/// A write in progress: it hands back the writer, the batch's size and its emptied
/// buffer (kept for the next batch, so that large buffers are not allocated and freed
/// over and over, which left the allocator holding tens of megabytes).
type Inflight = JoinHandle<(Writer, u64, Vec<ActivityEvent>)>;

/// Wait for the running write, if any, to finish.
async fn finished(inflight: &mut Option<Inflight>) -> Option<(Writer, u64, Vec<ActivityEvent>)> {
    match inflight {
        Some(h) => h.await.ok(),
        None => std::future::pending().await,
    }
}

/// The writer loop: events are taken from the queue while the previous batch is being
/// written (one write at a time), so the queue keeps draining during a long commit.
async fn run<S: EventSource>(
    writer: Writer,
    mut source: S,
    mut control: mpsc::Receiver<oneshot::Sender<()>>,
    settings: WriterSettings,
) {
    let max_batch = settings.max_batch.max(1);
    let interval = settings.flush_interval.min(Duration::from_secs(1));
    let hold = max_batch.saturating_mul(HOLD_BATCHES);
    let mut idle = Some(writer);
    let mut inflight: Option<Inflight> = None;
    let mut buf: Vec<ActivityEvent> = Vec::new();
    let mut spare: Vec<ActivityEvent> = Vec::new();
    let mut deadline: Option<Instant> = None;
    let mut control_open = true;
    let mut source_open = true;
    // Events taken, handed to a write, and written (or failed); flushes waiting for a count.
    let mut taken = 0u64;
    let mut submitted = 0u64;
    let mut completed = 0u64;
    let mut flushes: Vec<(u64, oneshot::Sender<()>)> = Vec::new();
    loop {
        let flush_wanted = flushes.iter().any(|(target, _)| *target > submitted);
        let due = !buf.is_empty()
            && (buf.len() >= max_batch
                || !source_open
                || flush_wanted
                || deadline.is_some_and(|d| d <= Instant::now()));
        if due && let Some(mut w) = idle.take() {
            let mut batch = std::mem::replace(&mut buf, std::mem::take(&mut spare));
            let n = batch.len() as u64;
            submitted += n;
            deadline = None;
            inflight = Some(tokio::spawn(async move {
                w.write_logged(&batch).await;
                batch.clear();
                (w, n, batch)
            }));
        }
        let (ready, waiting): (Vec<_>, Vec<_>) = flushes
            .into_iter()
            .partition(|(target, _)| *target <= completed);
        flushes = waiting;
        for (_, reply) in ready {
            let _ = reply.send(());
        }
        if !source_open && buf.is_empty() && inflight.is_none() {
            for (_, reply) in flushes {
                let _ = reply.send(());
            }
            break;
        }
        let wait = deadline.unwrap_or_else(Instant::now);
        let room = hold.saturating_sub(buf.len()).min(max_batch).max(1);
        tokio::select! {
            biased;
            done = finished(&mut inflight), if inflight.is_some() => {
                inflight = None;
                match done {
                    Some((w, n, emptied)) => {
                        idle = Some(w);
                        completed += n;
                        spare = emptied;
                    }
                    None => {
                        tracing::error!("activity log: the writer stopped unexpectedly");
                        return;
                    }
                }
            }
            cmd = control.recv(), if control_open => match cmd {
                Some(reply) => {
                    // Everything queued now counts towards this flush.
                    while source_open && buf.len() < hold {
                        let room = hold.saturating_sub(buf.len()).min(max_batch);
                        let n = tokio::select! {
                            biased;
                            n = source.recv_many(&mut buf, room) => n,
                            () = std::future::ready(()) => break,
                        };
                        if n == 0 {
                            source_open = false;
                        }
                        taken += n as u64;
                    }
                    flushes.push((taken, reply));
                }
                None => control_open = false,
            },
            () = tokio::time::sleep_until(wait), if deadline.is_some() && idle.is_some() => {}
            n = source.recv_many(&mut buf, room), if source_open && buf.len() < hold => {
                if n == 0 {
                    source_open = false;
                } else {
                    if deadline.is_none() {
                        deadline = Some(Instant::now() + interval);
                    }
                    taken += n as u64;
                }
            }
        }
    }
}

/// The writer's state: interned ids already committed, and the text of recent client
/// addresses.
struct Writer {
    log: ActivityLog,
    strings: HashMap<String, i64>,
    domains: HashMap<String, i64>,
    clients: HashMap<IpAddr, Arc<str>>,
}

impl Writer {
    fn new(log: ActivityLog) -> Writer {
        Writer {
            log,
            strings: HashMap::default(),
            domains: HashMap::default(),
            clients: HashMap::default(),
        }
    }

    /// Write `batch`, logging a failure.
    async fn write_logged(&mut self, batch: &[ActivityEvent]) {
        if batch.is_empty() {
            return;
        }
        if let Err(e) = self.write(batch).await {
            tracing::warn!(events = batch.len(), error = %e, "activity log: batch not written");
        }
    }

    async fn write(&mut self, events: &[ActivityEvent]) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        if self.strings.len() + self.domains.len() + self.clients.len() > CACHE_LIMIT {
            self.strings.clear();
            self.domains.clear();
            self.clients.clear();
        }
        for e in events {
            let ip = e.client.to_canonical();
            self.clients
                .entry(ip)
                .or_insert_with(|| Arc::from(ip.to_string()));
        }
        let mut new = Interned::default();
        let result = self.write_tx(events, &mut new).await;
        match result {
            Ok(()) => {
                self.strings.extend(new.strings);
                self.domains.extend(new.domains);
                self.log.stats.record_ok(events.len());
                Ok(())
            }
            Err(e) => {
                self.log.stats.record_err(events.len(), e.to_string());
                Err(e)
            }
        }
    }

    /// One transaction: intern the batch's new strings and names (a few statements for
    /// all of them), then insert the events, [`ROWS`] rows a statement.
    async fn write_tx(&self, events: &[ActivityEvent], new: &mut Interned) -> Result<()> {
        let mut tx = self.log.write.begin_with("BEGIN IMMEDIATE").await?;
        // Cached ids stay valid: prune never deletes interned strings.
        let mut label = String::new();
        let (strings, mut domains) = self.missing(events, &mut label);
        // New names in order: their inserts into the name index then touch its pages in
        // turn instead of at random (a fresh log interns every name it sees).
        domains.sort_unstable();
        let strings: Vec<&str> = strings.iter().map(|s| s.as_ref()).collect();
        intern(&mut tx, Table::Strings, &strings, &mut new.strings).await?;
        intern(&mut tx, Table::Domains, &domains, &mut new.domains).await?;
        // The installation's school: the same id on every row.
        let school = self.opt_string(new, self.log.school.as_deref())?;
        let mut at = 0;
        for n in chunks(events.len()) {
            let part = events.get(at..at + n).unwrap_or_default();
            at += n;
            let mut q = sqlx::query(statement(Statement::Events, n));
            for e in part {
                let r = self.row(e, new, &mut label)?;
                q = q
                    .bind(r.time_us)
                    .bind(r.client)
                    .bind(r.person)
                    .bind(r.group)
                    .bind(r.identified_by)
                    .bind(r.qname)
                    .bind(r.qtype)
                    .bind(r.category)
                    .bind(r.action)
                    .bind(r.rule)
                    .bind(r.matched_list)
                    .bind(r.cname)
                    .bind(r.rcode)
                    .bind(r.upstream_latency_us)
                    .bind(r.cached)
                    .bind(r.transport)
                    .bind(r.device)
                    .bind(school);
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// `e` as stored: interned ids (cached or new in this batch) and codes.
    fn row(&self, e: &ActivityEvent, new: &Interned, label: &mut String) -> Result<Row> {
        label.clear();
        let _ = write!(label, "{}", e.identified_by);
        let ip = e.client.to_canonical();
        Ok(Row {
            time_us: micros(e.time),
            client: self
                .clients
                .get(&ip)
                .cloned()
                .unwrap_or_else(|| Arc::from(ip.to_string())),
            person: self.opt_string(new, e.person.as_deref())?,
            group: self.string(new, &e.group)?,
            identified_by: self.string(new, label)?,
            qname: self.domain(new, &e.qname)?,
            qtype: self.string(new, &e.qtype)?,
            category: self.opt_string(new, e.category.as_deref())?,
            action: action_code(e.action),
            rule: self.string(new, &e.rule)?,
            matched_list: self.opt_string(new, e.matched_list.as_deref())?,
            cname: e
                .cname
                .as_deref()
                .map(|c| self.domain(new, c))
                .transpose()?,
            rcode: rcode_code(e.rcode),
            upstream_latency_us: e
                .upstream_latency_us
                .map(|v| i64::try_from(v).unwrap_or(i64::MAX)),
            cached: e.cached,
            transport: transport_code(e.transport),
            device: self.opt_string(new, e.device.as_deref())?,
        })
    }

    /// The strings and domain names of `events` that have no cached id, each once.
    fn missing<'e>(
        &self,
        events: &'e [ActivityEvent],
        label: &mut String,
    ) -> (Vec<Cow<'e, str>>, Vec<&'e str>) {
        let mut strings: HashSet<Cow<'e, str>> = HashSet::default();
        let mut domains: HashSet<&'e str> = HashSet::default();
        if let Some(school) = self.log.school.as_deref()
            && !self.strings.contains_key(school)
        {
            strings.insert(Cow::Owned(school.to_owned()));
        }
        for e in events {
            let texts = [
                e.person.as_deref(),
                Some(e.group.as_str()),
                Some(e.qtype.as_str()),
                e.category.as_deref(),
                Some(e.rule.as_str()),
                e.matched_list.as_deref(),
                e.device.as_deref(),
            ];
            for v in texts.into_iter().flatten() {
                if !self.strings.contains_key(v) {
                    strings.insert(Cow::Borrowed(v));
                }
            }
            label.clear();
            let _ = write!(label, "{}", e.identified_by);
            if !self.strings.contains_key(label.as_str()) && !strings.contains(label.as_str()) {
                strings.insert(Cow::Owned(label.clone()));
            }
            for v in [Some(e.qname.as_str()), e.cname.as_deref()]
                .into_iter()
                .flatten()
            {
                if !self.domains.contains_key(v) {
                    domains.insert(v);
                }
            }
        }
        (strings.into_iter().collect(), domains.into_iter().collect())
    }

    /// The id of string `v`, cached or interned in this batch.
    fn string(&self, new: &Interned, v: &str) -> Result<i64> {
        lookup(&self.strings, &new.strings, v)
    }

    fn opt_string(&self, new: &Interned, v: Option<&str>) -> Result<Option<i64>> {
        v.map(|v| self.string(new, v)).transpose()
    }

    /// The id of domain name `v`, cached or interned in this batch.
    fn domain(&self, new: &Interned, v: &str) -> Result<i64> {
        lookup(&self.domains, &new.domains, v)
    }
}

/// One event as stored.
struct Row {
    time_us: i64,
    client: Arc<str>,
    person: Option<i64>,
    group: i64,
    identified_by: i64,
    qname: i64,
    qtype: i64,
    category: Option<i64>,
    action: i64,
    rule: i64,
    matched_list: Option<i64>,
    cname: Option<i64>,
    rcode: i64,
    upstream_latency_us: Option<i64>,
    cached: bool,
    transport: i64,
    device: Option<i64>,
}

/// Ids interned by the batch being written (kept once it commits).
#[derive(Default)]
struct Interned {
    strings: HashMap<String, i64>,
    domains: HashMap<String, i64>,
}

fn lookup(cached: &HashMap<String, i64>, new: &HashMap<String, i64>, v: &str) -> Result<i64> {
    cached
        .get(v)
        .or_else(|| new.get(v))
        .copied()
        .ok_or_else(|| ActivityError::Corrupt(format!("{v:?} was not interned")))
}

/// Statement sizes (rows): a batch of any size is written with statements of these
/// sizes, largest first, so only these few statements are prepared, and reused.
const ROWS: [usize; 5] = [256, 64, 16, 4, 1];

/// The statement sizes for `n` rows (e.g. 300 = 256 + 16 + 16 + 4 + 4 + 4).
fn chunks(n: usize) -> impl Iterator<Item = usize> {
    let mut left = n;
    std::iter::from_fn(move || {
        let size = ROWS.into_iter().find(|s| *s <= left)?;
        left -= size;
        Some(size)
    })
}

#[derive(Clone, Copy)]
enum Table {
    Strings,
    Domains,
}

#[derive(Clone, Copy)]
enum Statement {
    Events,
    InsertStrings,
    SelectStrings,
    InsertDomains,
    SelectDomains,
}

/// The text of `kind` for `rows` rows (one of [`ROWS`]), built once.
///
/// The inserts cannot abort halfway (`OR FAIL`, `OR IGNORE`; foreign keys are not
/// enforced on the writer's connection), so SQLite keeps no statement journal for them:
/// with one, every page a multi-row insert touched was copied first, which took about a
/// third of the writer's time.
fn statement(kind: Statement, rows: usize) -> &'static str {
    static TEXT: LazyLock<Vec<[String; 5]>> =
        LazyLock::new(|| {
            let list = |n: usize, item: &str| vec![item; n].join(", ");
            let build =
                |kind: Statement| {
                    ROWS.map(|n| match kind {
                Statement::Events => format!(
                    "INSERT OR FAIL INTO events (time_us, client, person, grp, identified_by, \
                     qname, qtype, category, action, rule, matched_list, cname, rcode, \
                     upstream_latency_us, cached, transport, device, school) VALUES {}",
                    list(n, "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
                ),
                Statement::InsertStrings => {
                    format!("INSERT OR IGNORE INTO strings (value) VALUES {}", list(n, "(?)"))
                }
                Statement::SelectStrings => format!(
                    "SELECT id, value FROM strings WHERE value IN ({})",
                    list(n, "?")
                ),
                Statement::InsertDomains => format!(
                    "INSERT OR IGNORE INTO domains (name, rev) VALUES {}",
                    list(n, "(?, ?)")
                ),
                Statement::SelectDomains => format!(
                    "SELECT id, name FROM domains WHERE name IN ({})",
                    list(n, "?")
                ),
            })
                };
            [
                Statement::Events,
                Statement::InsertStrings,
                Statement::SelectStrings,
                Statement::InsertDomains,
                Statement::SelectDomains,
            ]
            .map(build)
            .into()
        });
    let size = ROWS
        .iter()
        .position(|r| *r == rows)
        .unwrap_or(ROWS.len() - 1);
    TEXT.get(kind as usize)
        .and_then(|t| t.get(size))
        .map_or("", String::as_str)
}

/// Intern `values` (distinct) in `table`: insert those not there yet, then read every
/// id back, a statement of up to 256 values at a time.
async fn intern(
    conn: &mut SqliteConnection,
    table: Table,
    values: &[&str],
    into: &mut HashMap<String, i64>,
) -> Result<()> {
    let (insert, select) = match table {
        Table::Strings => (Statement::InsertStrings, Statement::SelectStrings),
        Table::Domains => (Statement::InsertDomains, Statement::SelectDomains),
    };
    let mut at = 0;
    for rows in chunks(values.len()) {
        let part = values.get(at..at + rows).unwrap_or_default();
        at += rows;
        let mut q = sqlx::query(statement(insert, rows));
        for v in part {
            q = q.bind(*v);
            if let Table::Domains = table {
                q = q.bind(reversed(v));
            }
        }
        q.execute(&mut *conn).await?;
        let mut q = sqlx::query_as::<_, (i64, String)>(statement(select, rows));
        for v in part {
            q = q.bind(*v);
        }
        for (id, v) in q.fetch_all(&mut *conn).await? {
            into.insert(v, id);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{ROWS, Statement, chunks, statement};

    #[test]
    fn statement_sizes_add_up_largest_first() {
        for n in 0..1100 {
            let sizes: Vec<usize> = chunks(n).collect();
            assert_eq!(sizes.iter().sum::<usize>(), n);
            assert!(sizes.windows(2).all(|w| w[0] >= w[1]));
            assert!(sizes.iter().all(|s| ROWS.contains(s)));
        }
        assert_eq!(chunks(300).collect::<Vec<_>>(), [256, 16, 16, 4, 4, 4]);
    }

    #[test]
    fn statements_have_one_parameter_per_value() {
        let params = |s: &str| s.matches('?').count();
        for rows in ROWS {
            assert_eq!(params(statement(Statement::Events, rows)), 18 * rows);
            assert_eq!(params(statement(Statement::InsertStrings, rows)), rows);
            assert_eq!(params(statement(Statement::SelectStrings, rows)), rows);
            assert_eq!(params(statement(Statement::InsertDomains, rows)), 2 * rows);
            assert_eq!(params(statement(Statement::SelectDomains, rows)), rows);
        }
    }
}
