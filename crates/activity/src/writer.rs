//! The event writer: takes batches from the DNS filter's event queue and inserts each
//! batch in one transaction, with multi-row prepared statements.
//!
//! Events are written when [`WriterSettings::max_batch`] have accumulated, when the oldest
//! unwritten event is [`WriterSettings::flush_interval`] old, on [`WriterHandle::flush`],
//! and when the queue closes. One write runs at a time, in its own task, while the loop
//! keeps taking events from the queue. A failed batch is counted and its error kept; the writer
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
    /// Write once this many events are waiting. Events that arrive while a batch is
    /// being written are taken from the queue meanwhile (up to eight times this many) and
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

/// Events held while a write is running, in batches: beyond this the writer stops taking
/// events and the DNS filter's queue absorbs (then drops and counts) the excess.
const HOLD_BATCHES: usize = 8;

/// Wait for the running write, if any, to hand the writer back with its batch size.
async fn finished(inflight: &mut Option<JoinHandle<(Writer, u64)>>) -> Option<(Writer, u64)> {
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
    let mut inflight: Option<JoinHandle<(Writer, u64)>> = None;
    let mut buf: Vec<ActivityEvent> = Vec::new();
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
            let batch = std::mem::take(&mut buf);
            let n = batch.len() as u64;
            submitted += n;
            deadline = None;
            inflight = Some(tokio::spawn(async move {
                w.write_logged(&batch).await;
                (w, n)
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
                    Some((w, n)) => {
                        idle = Some(w);
                        completed += n;
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
                        let more = tokio::select! {
                            biased;
                            b = source.recv_batch(room) => b,
                            () = std::future::ready(()) => break,
                        };
                        match more {
                            Some(b) => {
                                taken += b.len() as u64;
                                buf.extend(b);
                            }
                            None => source_open = false,
                        }
                    }
                    flushes.push((taken, reply));
                }
                None => control_open = false,
            },
            () = tokio::time::sleep_until(wait), if deadline.is_some() && idle.is_some() => {}
            batch = source.recv_batch(room), if source_open && buf.len() < hold => match batch {
                Some(b) => {
                    if buf.is_empty() {
                        deadline = Some(Instant::now() + interval);
                    }
                    taken += b.len() as u64;
                    buf.extend(b);
                }
                None => source_open = false,
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
    device: Option<i64>,
}

impl Writer {
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
            let device = match e.device.as_deref() {
                Some(v) => Some(self.string_id(&mut tx, new_strings, v).await?),
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
                device,
            });
        }
        for (chunk, chunk_ids) in events
            .chunks(ROWS_PER_STATEMENT)
            .zip(resolved.chunks(ROWS_PER_STATEMENT))
        {
            let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO events (time_us, client, person, grp, identified_by, qname, qtype, \
                 category, action, rule, matched_list, cname, rcode, upstream_latency_us, \
                 cached, transport, device) ",
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
                    .push_bind(transport_code(e.transport))
                    .push_bind(i.device);
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
