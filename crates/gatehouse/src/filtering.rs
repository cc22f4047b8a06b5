//! The installation's web filter: the engine built from the compiled lists, the school's
//! policies and allow/deny lists (`[filter]`), and the DNS filter server (`[dns]`) that
//! `gatehouse serve` and `gatehouse demo` run with it. A changed database file (after
//! `gatehouse lists update` or a scheduled update) is put in service within a second,
//! without a restart. Every DNS decision is written to the activity log
//! (`activity.db` in the data folder, [`gatehouse_activity`]), pruned daily: raw events
//! after `[activity] raw_days` (default 90; folded into daily counts), daily counts after
//! `daily_days` (default two years).

use crate::config::Config;
use anyhow::{Context as _, Result, bail};
use gatehouse_activity::monitor::{Alerted, coalesce};
use gatehouse_activity::{ActivityLog, WriterHandle, WriterSettings};
use gatehouse_dns::{DnsConfig, DnsHandle, DnsServer, Upstream};
use gatehouse_filter::policy::SchoolLists;
use gatehouse_filter::update::Reloader;
use gatehouse_filter::{Database, EngineConfig, PolicySet};
use gatehouse_service::Gatehouse;
use gatehouse_service::filtering::{FilterRuntime, GateSettings, Identified};
use gatehouse_service::mail::Mailer;
use gatehouse_web::WebSettings;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Read a text file, naming it in the error.
pub fn read_text(path: &Path, what: &str) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading the {what} {}", path.display()))
}

/// A school list file: one host name per line (`#` comments, blank lines ignored).
pub fn read_host_list(path: &Path, what: &str) -> Result<Vec<String>> {
    let text = read_text(path, what)?;
    let mut hosts = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let entry = line.split('#').next().unwrap_or("").trim();
        if entry.is_empty() {
            continue;
        }
        let host = gatehouse_filter::normalise_domain(entry).map_err(|e| {
            anyhow::anyhow!(
                "{} line {}: {entry:?} is not a host name: {e}",
                path.display(),
                i + 1
            )
        })?;
        hosts.push(host.into_string());
    }
    Ok(hosts)
}

/// The engine configuration: shipped taxonomy and safe-search tables; policies from
/// `policies` (a command-line override), else the installation's `[filter] policies`,
/// else the shipped ones; the installation's allow and deny lists.
pub fn engine_config(config: &Config, policies: Option<&PathBuf>) -> Result<EngineConfig> {
    let mut ec = EngineConfig::uk_default().context("loading the default policies")?;
    let installed = |p: &Option<PathBuf>| p.as_deref().map(|p| config.data_path(p));
    if let Some(path) = policies
        .cloned()
        .or_else(|| installed(&config.filter.policies))
    {
        ec.policies = PolicySet::from_toml(&read_text(&path, "policies")?)
            .with_context(|| format!("reading the policies {}", path.display()))?;
    }
    let mut lists = SchoolLists::default();
    if let Some(path) = installed(&config.filter.allow) {
        lists.allow = read_host_list(&path, "allow list")?;
    }
    if let Some(path) = installed(&config.filter.deny) {
        lists.deny = read_host_list(&path, "deny list")?;
    }
    ec.lists = lists;
    Ok(ec)
}

/// The filtering groups (policy names) of the installation, for assigning devices; empty
/// (any well-formed name accepted) when the policies cannot be read, which is logged.
pub fn filter_groups(config: &Config) -> Vec<String> {
    match engine_config(config, None) {
        Ok(ec) => ec
            .policies
            .policies
            .iter()
            .map(|p| p.name.clone())
            .collect(),
        Err(e) => {
            tracing::warn!(
                error = format!("{e:#}"),
                "the filtering policies could not be read"
            );
            Vec::new()
        }
    }
}

/// Command-line overrides of `[dns]` (`--dns`, `--upstream`, `--lists`).
#[derive(Debug, Clone, Default)]
pub struct DnsOverrides {
    /// Listen on this address (UDP and TCP) instead of the configured ones.
    pub listen: Option<SocketAddr>,
    /// Upstream: `static:ADDR` or `IP:PORT[,IP:PORT]`.
    pub upstream: Option<String>,
    /// The compiled lists to serve instead of the installation's.
    pub lists: Option<PathBuf>,
}

/// A running DNS filter, its activity log and the tasks that keep both current.
pub struct DnsFilter {
    /// The server (addresses, statistics, shutdown).
    pub handle: DnsHandle,
    /// The activity log the server's events are written to.
    pub activity: ActivityLog,
    /// The engine, portal sign-ins and signing gate, shared with the web server.
    pub runtime: Arc<FilterRuntime>,
    /// What the monitoring rules raise, until [`attach`] takes it to store and notify.
    alerts: Option<tokio::sync::mpsc::Receiver<Vec<gatehouse_activity::monitor::Alerted>>>,
    /// The monitoring rules' fold window.
    fold: jiff::SignedDuration,
    writer: WriterHandle,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl DnsFilter {
    /// What `/healthz` reports: the DNS filter's counters and the activity log writer's;
    /// not well when activity events were dropped or a batch failed to be written.
    pub fn health_probe(&self) -> gatehouse_web::HealthProbe {
        let service = self.handle.service();
        let activity = self.activity.clone();
        gatehouse_web::HealthProbe::new(move || {
            let d = service.stats();
            let w = activity.stats();
            let ok = d.events_dropped == 0 && w.failed == 0;
            let report = serde_json::json!({
                "dns": {
                    "answered": d.answered,
                    "blocked": d.blocked,
                    "refused": d.refused,
                    "rate_limited": d.rate_limited,
                    "malformed": d.malformed,
                    "upstream_failures": d.upstream_failures,
                    "events_dropped": d.events_dropped,
                },
                "activity_log": {
                    "written": w.written,
                    "failed_batches": w.failed,
                    "last_error": w.last_error,
                    "last_write": w.last_write.map(|t| t.to_string()),
                },
            });
            (report, ok)
        })
    }

    /// Stop the server, write the events still queued, and stop the tasks.
    pub async fn stop(self) {
        for t in &self.tasks {
            t.abort();
        }
        self.handle.shutdown().await;
        self.writer.flush().await;
        self.writer.abort();
        self.activity.close().await;
    }
}

/// The `[dns]` configuration with the command-line overrides applied, or `None` when
/// neither asks for a DNS server. Blocked names are answered with the web server's
/// address (where the block page is) unless `[dns] block_address_v4/v6` say otherwise.
pub fn dns_config(config: &Config, o: &DnsOverrides, web: SocketAddr) -> Result<Option<DnsConfig>> {
    if config.dns.is_none() && o.listen.is_none() {
        return Ok(None);
    }
    let mut dns = config.dns.clone().unwrap_or_default();
    if let Some(addr) = o.listen {
        dns.udp = vec![addr];
        dns.tcp = vec![addr];
    }
    if let Some(u) = &o.upstream {
        dns.upstream = Upstream::parse(u).map_err(|e| anyhow::anyhow!("--upstream: {e}"))?;
    }
    match web.ip() {
        IpAddr::V4(ip) if !ip.is_unspecified() && dns.block_address_v4.is_none() => {
            dns.block_address_v4 = Some(ip);
        }
        IpAddr::V6(ip) if !ip.is_unspecified() && dns.block_address_v6.is_none() => {
            dns.block_address_v6 = Some(ip);
        }
        _ => {}
    }
    Ok(Some(dns))
}

/// Start the DNS filter when the configuration or the command line asks for one, and give
/// the web server what it needs to show the block page, the portal and the activity log
/// and to answer DNS over HTTPS: `app` decides with the filter's runtime, `settings` name
/// this server's own hosts, the portal's address, the health probe and the DNS service.
/// The filter's stored state (approved unblock requests, portal sign-ins, the signing
/// gate) is loaded now and every minute after.
pub async fn attach(
    config: &Config,
    o: &DnsOverrides,
    web: SocketAddr,
    app: Gatehouse,
    settings: &mut WebSettings,
) -> Result<(Gatehouse, Option<DnsFilter>)> {
    let Some(dns) = dns_config(config, o, web)? else {
        return Ok((app, None));
    };
    let school = app.school().await.context("reading the school's name")?;
    let mut filter = start_dns(config, dns, o, app.clock.clone(), &school.name).await?;
    let app = app.with_filter(filter.runtime.clone());
    app.refresh_filter()
        .await
        .context("loading the filter's overrides, portal sign-ins and signing gate")?;
    if let Some(alerts) = filter.alerts.take() {
        let mailer = match &app.mailer {
            Some(m) => m.clone(),
            None => config.mailer()?,
        };
        let (digester, digest_mailer) = (app.clone(), mailer.clone());
        filter.tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(600));
            loop {
                tick.tick().await;
                match digester.send_alert_digest(&digest_mailer).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(alerts = n, "daily alert digest sent"),
                    Err(e) => tracing::error!("sending the daily alert digest: {e}"),
                }
            }
        }));
        filter.tasks.push(tokio::spawn(record_alerts(
            app.clone(),
            alerts,
            mailer,
            filter.fold,
        )));
    }
    let refresher = app.clone();
    filter.tasks.push(tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        tick.tick().await;
        loop {
            tick.tick().await;
            if let Err(e) = refresher.refresh_filter().await {
                tracing::error!("refreshing the filter: {e}");
            }
            // incident sanctions whose end date has come: the filter has stopped
            // applying them; write "sanction ended" into their chronologies
            match refresher.end_expired_sanctions().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(ended = n, "incident sanctions ended"),
                Err(e) => tracing::error!("ending incident sanctions: {e}"),
            }
        }
    }));
    settings.health = Some(filter.health_probe());
    settings.dns = Some(filter.handle.service());
    settings.own_hosts = own_hosts(config, web);
    settings.portal_url = format!("{}/portal", config.base_url(web).trim_end_matches('/'));
    Ok((app, Some(filter)))
}

/// This server's own names: the host of `email.base_url` (the address people use) and
/// `localhost` (IP addresses are always its own: the block page is reached by name).
fn own_hosts(config: &Config, web: SocketAddr) -> Vec<String> {
    let mut hosts = vec!["localhost".to_owned()];
    let base = config.base_url(web);
    if let Some(host) = base
        .split_once("://")
        .map_or(base.as_str(), |(_, rest)| rest)
        .split(['/', ':'])
        .next()
        .filter(|h| !h.is_empty())
    {
        hosts.push(host.to_ascii_lowercase());
    }
    hosts
}

/// The school's time zone: that of the configured policies (`filter.policies`), or of
/// the shipped default policies.
pub fn school_timezone(config: &Config) -> Result<jiff::tz::TimeZone> {
    Ok(engine_config(config, None)?.policies.timezone)
}

/// The monitoring rules: `[activity] monitoring_rules`, else the shipped ones; in the
/// school's time zone.
pub fn monitoring_rules(config: &Config) -> Result<gatehouse_activity::monitor::MonitorRules> {
    let tz = school_timezone(config)?;
    let (text, name) = match &config.activity.monitoring_rules {
        Some(p) => {
            let path = config.data_path(p);
            (
                read_text(&path, "monitoring rules")?,
                path.display().to_string(),
            )
        }
        None => (
            gatehouse_activity::monitor::DEFAULT_RULES.to_owned(),
            "the shipped monitoring rules".to_owned(),
        ),
    };
    gatehouse_activity::monitor::MonitorRules::from_toml(&text, tz)
        .map_err(|e| anyhow::anyhow!("{name}: {e}"))
}

/// How long repeats folded into open alerts may wait to be stored: new alerts are stored
/// at once, repeats at most once a second (under load the monitor reports a few repeats
/// per wake-up, and a write each kept the main database busy with thousands of small
/// transactions a second).
const FOLD_WRITE_INTERVAL: Duration = Duration::from_secs(1);

/// Store what the monitor raises and tell the DSL of new alerts, until the monitor stops.
async fn record_alerts(
    app: Gatehouse,
    mut alerts: tokio::sync::mpsc::Receiver<Vec<Alerted>>,
    mailer: Mailer,
    fold: jiff::SignedDuration,
) {
    let mut pending: Vec<Alerted> = Vec::new();
    let mut due: Option<tokio::time::Instant> = None;
    let mut open = true;
    while open {
        tokio::select! {
            raised = alerts.recv() => match raised {
                Some(raised) => {
                    let now = tokio::time::Instant::now();
                    let new = raised.iter().any(|a| matches!(a, Alerted::New(_)));
                    pending.extend(raised);
                    if new {
                        due = Some(now);
                    } else if due.is_none() {
                        due = Some(now + FOLD_WRITE_INTERVAL);
                    }
                    if pending.len() > 4096 {
                        pending = coalesce(std::mem::take(&mut pending));
                    }
                    if due.is_some_and(|d| d > now) {
                        continue;
                    }
                }
                // The monitor stopped: store what is left.
                None => open = false,
            },
            () = tokio::time::sleep_until(due.unwrap_or_else(tokio::time::Instant::now)), if due.is_some() => {}
        }
        due = None;
        if pending.is_empty() {
            continue;
        }
        let raised = coalesce(std::mem::take(&mut pending));
        match app.record_alerts(&raised, fold).await {
            Ok(new) => {
                for a in &new {
                    tracing::info!(alert = a.id, severity = %a.severity, rule = %a.rule, "monitoring alert");
                }
                if let Err(e) = app.notify_alerts(&mailer, &new).await {
                    tracing::error!("telling the DSL of new alerts: {e}");
                }
            }
            Err(e) => tracing::error!("storing monitoring alerts: {e}"),
        }
    }
}

/// Start the DNS filter: open the compiled lists, build the engine, listen, then check the
/// lists file every second and put a new one in service; write every event to the
/// activity log (each event marked with `school`, the installation's) and prune it daily.
/// Portal sign-ins expire by `clock`, the service's.
pub async fn start_dns(
    config: &Config,
    dns: DnsConfig,
    o: &DnsOverrides,
    clock: Arc<dyn gatehouse_domain::clock::Clock>,
    school: &str,
) -> Result<DnsFilter> {
    let path = o.lists.clone().unwrap_or_else(|| config.filter_database());
    if !path.is_file() {
        bail!(
            "the DNS filter needs compiled lists at {} (compile them with `gatehouse lists compile`, or give --lists FILE)",
            path.display()
        );
    }
    let ec = engine_config(config, None)?;
    let db = Database::open(&path).with_context(|| format!("opening {}", path.display()))?;
    let activity_path = config.storage.data_dir.join("activity.db");
    let activity = ActivityLog::open(&activity_path)
        .await
        .with_context(|| format!("opening the activity log {}", activity_path.display()))?
        .for_school(school);
    let gate = GateSettings {
        mode: config.filter.gate,
        hold_unidentified: config.filter.gate_unidentified,
        walled_garden: config.filter.walled_garden.clone(),
    };
    let runtime = Arc::new(
        FilterRuntime::new(
            Arc::new(db),
            ec,
            gate,
            Some(activity.clone()),
            config.filter.portal_hours,
        )
        .context("building the filter")?
        .with_retention(config.activity.raw_days, config.activity.daily_days),
    );
    let portal = runtime.clone();
    let source = move |client: IpAddr| portal.portal_identity(client, clock.now());
    let (handle, events) = DnsServer::start(dns, runtime.engines(), Arc::new(source))
        .await
        .context("starting the DNS filter")?;
    let service = handle.service();
    runtime.set_identifier(Arc::new(move |client| {
        let (identity, by) = service.identify(client);
        Identified {
            identity,
            by: by.to_string(),
        }
    }));
    let mut reloader = Reloader::new(&path);
    let reloading = runtime.clone();
    let reload = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            match reloader.poll() {
                Ok(Some(db)) => match reloading.replace_database(db) {
                    Ok(()) => {
                        tracing::info!(file = %path.display(), "new filter lists in service");
                    }
                    Err(e) => tracing::error!("new filter lists not used: {e}"),
                },
                Ok(None) => {}
                Err(e) => tracing::error!(file = %path.display(), "new filter lists not used: {e}"),
            }
        }
    });
    let rules = monitoring_rules(config)?;
    let fold = rules.fold();
    let (alerts_tx, alerts) = tokio::sync::mpsc::channel(1024);
    let monitored = gatehouse_activity::monitor::Monitored::new(
        events,
        gatehouse_activity::monitor::Monitor::new(rules),
        alerts_tx,
    );
    let writer = activity.spawn_writer(monitored, WriterSettings::default());
    let log = activity.clone();
    let (raw_days, daily_days) = (config.activity.raw_days, config.activity.daily_days);
    let prune = tokio::spawn(async move {
        let mut day = tokio::time::interval(Duration::from_secs(24 * 3600));
        loop {
            day.tick().await;
            match log
                .prune(jiff::Timestamp::now(), raw_days, daily_days)
                .await
            {
                Ok(r) => tracing::info!(
                    folded = r.events_folded,
                    expired = r.aggregates_deleted,
                    "activity log pruned"
                ),
                Err(e) => tracing::error!("pruning the activity log: {e}"),
            }
        }
    });
    Ok(DnsFilter {
        handle,
        activity,
        runtime,
        alerts: Some(alerts),
        fold,
        writer,
        tasks: vec![reload, prune],
    })
}
