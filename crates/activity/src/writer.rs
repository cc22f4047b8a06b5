//! The event writer: takes batches from the DNS filter's event queue and inserts each
//! batch in one transaction, with multi-row prepared statements.
//!
//! Events are written when [`WriterSettings::max_batch`] have accumulated, when the oldest
//! unwritten event is [`WriterSettings::flush_interval`] old, on [`WriterHandle::flush`],
//! and when the queue closes. A failed batch is counted and its error kept; the writer
//! carries on with the next batch (the queue is bounded, so holding failed events would
//! only move the loss to the DNS side).

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use gatehouse_dns::{ActivityEvent, EventReceiver};
use jiff::Timestamp;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::codes::{action_code, micros, rcode_code, reversed, transport_code};
use crate::{ActivityLog, Result};

/// Rows per multi-row `INSERT` (17 parameters each, well under SQLite's limit).
const ROWS_PER_STATEMENT: usize = 256;
/// Interned ids kept in memory before the caches are cleared.
const CACHE_LIMIT: usize = 200_000;

/// How the writer batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriterSettings {
    /// Write once this many events are waiting.
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
    /// Wait for at least one event, then take up to `max`; `None` once the queue is
    /// closed and empty. Must be cancel-safe (no event lost if the future is dropped).
    fn recv_batch(&mut self, max: usize)
    -> impl Future<Output = Option<Vec<ActivityEvent>>> + Send;
}

impl EventSource for EventReceiver {
    fn recv_batch(
        &mut self,
        max: usize,
    ) -> impl Future<Output = Option<Vec<ActivityEvent>>> + Send {
        EventReceiver::recv_batch(self, max)
    }
}

impl EventSource for mpsc::Receiver<ActivityEvent> {
    async fn recv_batch(&mut self, max: usize) -> Option<Vec<ActivityEvent>> {
        let first = self.recv().await?;
        let mut out = vec![first];
        while out.len() < max {
            match self.try_recv() {
                Ok(e) => out.push(e),
                Err(_) => break,
            }
        }
        Some(out)
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
        let writer = Writer {
            log: self.clone(),
            strings: HashMap::new(),
            domains: HashMap::new(),
        };
        let task = tokio::spawn(run(writer, source, control_rx, settings));
        WriterHandle { control, task }
    }

    /// Insert `events` in one transaction (what the writer does with each batch; also
    /// useful to import or to test). Counts towards [`ActivityLog::stats`].
    pub async fn insert(&self, events: &[ActivityEvent]) -> Result<()> {
        let mut writer = Writer {
            log: self.clone(),
            strings: HashMap::new(),
            domains: HashMap::new(),
        };
        writer.write(events).await
    }
}

async fn run<S: EventSource>(
    mut writer: Writer,
    mut source: S,
    mut control: mpsc::Receiver<oneshot::Sender<()>>,
    settings: WriterSettings,
) {
    let max_batch = settings.max_batch.max(1);
    let interval = settings.flush_interval.min(Duration::from_secs(1));
    let mut buf: Vec<ActivityEvent> = Vec::with_capacity(max_batch);
    let mut deadline: Option<Instant> = None;
    let mut control_open = true;
    loop {
        let wait = deadline.unwrap_or_else(Instant::now);
        tokio::select! {
            biased;
            cmd = control.recv(), if control_open => match cmd {
                Some(reply) => {
                    // Everything queued now, in batches of at most `max_batch`.
                    loop {
                        writer.write_logged(&mut buf).await;
                        deadline = None;
                        let more = tokio::select! {
                            biased;
                            b = source.recv_batch(max_batch) => b,
                            () = std::future::ready(()) => None,
                        };
                        match more {
                            Some(b) => buf.extend(b),
                            None => break,
                        }
                    }
                    let _ = reply.send(());
                }
                None => control_open = false,
            },
            () = tokio::time::sleep_until(wait), if deadline.is_some() => {
                writer.write_logged(&mut buf).await;
                deadline = None;
            }
            batch = source.recv_batch(max_batch.saturating_sub(buf.len()).max(1)) => match batch {
                Some(b) => {
                    if buf.is_empty() {
                        deadline = Some(Instant::now() + interval);
                    }
                    buf.extend(b);
                    if buf.len() >= max_batch {
                        writer.write_logged(&mut buf).await;
                        deadline = None;
                    }
                }
                None => {
                    writer.write_logged(&mut buf).await;
                    break;
                }
            },
        }
    }
}

/// The writer's state: interned ids already committed.
struct Writer {
    log: ActivityLog,
    strings: HashMap<String, i64>,
    domains: HashMap<String, i64>,
}

/// The interned ids of one event's fields.
struct Ids {
    person: Option<i64>,
    group: i64,
    identified_by: i64,
    qname: i64,
    qtype: i64,
    category: Option<i64>,
    rule: i64,
    matched_list: Option<i64>,
    cname: Option<i64>,
}

impl Writer {
    /// Write and empty `buf`, logging a failure.
    async fn write_logged(&mut self, buf: &mut Vec<ActivityEvent>) {
        if buf.is_empty() {
            return;
        }
        if let Err(e) = self.write(buf).await {
            tracing::warn!(events = buf.len(), error = %e, "activity log: batch not written");
        }
        buf.clear();
    }

    async fn write(&mut self, events: &[ActivityEvent]) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        if self.strings.len() + self.domains.len() > CACHE_LIMIT {
            self.strings.clear();
            self.domains.clear();
        }
        let mut new_strings = HashMap::new();
        let mut new_domains = HashMap::new();
        let result = self
            .write_tx(events, &mut new_strings, &mut new_domains)
            .await;
        match result {
            Ok(()) => {
                self.strings.extend(new_strings);
                self.domains.extend(new_domains);
                self.log.stats.record_ok(events.len());
                Ok(())
            }
            Err(e) => {
                self.log.stats.record_err(events.len(), e.to_string());
                Err(e)
            }
        }
    }

    async fn write_tx(
        &self,
        events: &[ActivityEvent],
        new_strings: &mut HashMap<String, i64>,
        new_domains: &mut HashMap<String, i64>,
    ) -> Result<()> {
        let mut tx = self.log.write.begin_with("BEGIN IMMEDIATE").await?;
        // Cached ids stay valid: prune never deletes interned strings.
        let mut resolved = Vec::with_capacity(events.len());
        for e in events {
            let identified_by = e.identified_by.to_string();
            let person = match e.person.as_deref() {
                Some(v) => Some(self.string_id(&mut tx, new_strings, v).await?),
                None => None,
            };
            let category = match e.category.as_deref() {
                Some(v) => Some(self.string_id(&mut tx, new_strings, v).await?),
                None => None,
            };
            let matched_list = match e.matched_list.as_deref() {
                Some(v) => Some(self.string_id(&mut tx, new_strings, v).await?),
                None => None,
            };
            let cname = match e.cname.as_deref() {
                Some(v) => Some(self.domain_id(&mut tx, new_domains, v).await?),
                None => None,
            };
            resolved.push(Ids {
                person,
                group: self.string_id(&mut tx, new_strings, &e.group).await?,
                identified_by: self.string_id(&mut tx, new_strings, &identified_by).await?,
                qname: self.domain_id(&mut tx, new_domains, &e.qname).await?,
                qtype: self.string_id(&mut tx, new_strings, &e.qtype).await?,
                category,
                rule: self.string_id(&mut tx, new_strings, &e.rule).await?,
                matched_list,
                cname,
            });
        }
        for (chunk, chunk_ids) in events
            .chunks(ROWS_PER_STATEMENT)
            .zip(resolved.chunks(ROWS_PER_STATEMENT))
        {
            let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO events (time_us, client, person, grp, identified_by, qname, qtype, \
                 category, action, rule, matched_list, cname, rcode, upstream_latency_us, \
                 cached, transport) ",
            );
            qb.push_values(chunk.iter().zip(chunk_ids), |mut b, (e, i)| {
                b.push_bind(micros(e.time))
                    .push_bind(e.client.to_canonical().to_string())
                    .push_bind(i.person)
                    .push_bind(i.group)
                    .push_bind(i.identified_by)
                    .push_bind(i.qname)
                    .push_bind(i.qtype)
                    .push_bind(i.category)
                    .push_bind(action_code(e.action))
                    .push_bind(i.rule)
                    .push_bind(i.matched_list)
                    .push_bind(i.cname)
                    .push_bind(rcode_code(e.rcode))
                    .push_bind(
                        e.upstream_latency_us
                            .map(|v| i64::try_from(v).unwrap_or(i64::MAX)),
                    )
                    .push_bind(e.cached)
                    .push_bind(transport_code(e.transport));
            });
            qb.build().persistent(true).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The id of `v` in `strings`, interning it (inside the batch's transaction) if new.
    async fn string_id(
        &self,
        conn: &mut SqliteConnection,
        new: &mut HashMap<String, i64>,
        v: &str,
    ) -> Result<i64> {
        if let Some(id) = self.strings.get(v).or_else(|| new.get(v)) {
            return Ok(*id);
        }
        let id = intern_string(conn, v).await?;
        new.insert(v.to_owned(), id);
        Ok(id)
    }

    /// The id of `v` in `domains`, interning it (inside the batch's transaction) if new.
    async fn domain_id(
        &self,
        conn: &mut SqliteConnection,
        new: &mut HashMap<String, i64>,
        v: &str,
    ) -> Result<i64> {
        if let Some(id) = self.domains.get(v).or_else(|| new.get(v)) {
            return Ok(*id);
        }
        let id = intern_domain(conn, v).await?;
        new.insert(v.to_owned(), id);
        Ok(id)
    }
}

async fn intern_string(conn: &mut SqliteConnection, value: &str) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO strings (value) VALUES ($1) \
         ON CONFLICT (value) DO UPDATE SET value = excluded.value RETURNING id",
    )
    .bind(value)
    .fetch_one(conn)
    .await?)
}

async fn intern_domain(conn: &mut SqliteConnection, name: &str) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO domains (name, rev) VALUES ($1, $2) \
         ON CONFLICT (name) DO UPDATE SET name = excluded.name RETURNING id",
    )
    .bind(name)
    .bind(reversed(name))
    .fetch_one(conn)
    .await?)
}
