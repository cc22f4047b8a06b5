//! `gatehouse serve`: the web server, until Ctrl-C or SIGTERM, with background upkeep
//! and, when `filter.update_at` is set, the daily rebuild of the filter lists
//! ([`spawn_list_updates`]).

use super::{open, say, security};
use crate::config::Config;
use anyhow::{Context, Result};
use gatehouse_filter::{Outcome, UpdateReport};
use gatehouse_service::mail::Mailer;
use gatehouse_service::{Actor, Gatehouse};
use gatehouse_web::WebSettings;
use jiff::Timestamp;
use jiff::civil::Time;
use jiff::tz::TimeZone;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

/// Start from the configuration.
pub async fn run(
    config: Config,
    web: Option<SocketAddr>,
    dns: crate::filtering::DnsOverrides,
) -> Result<ExitCode> {
    let app = open(&config, security(&config)).await?;
    app.ensure_school(&Actor::cli(), &config.school.name)
        .await?;
    if app
        .store
        .list_accounts(app.school().await?.id)
        .await?
        .is_empty()
    {
        tracing::warn!(
            "no accounts yet: create the first with `gatehouse user add NAME --role head`"
        );
    }
    let addr = web.unwrap_or(config.web.listen);
    let mut settings = WebSettings {
        secure_cookies: config.web.secure_cookies,
        banner: Some(config.web.banner.clone()).filter(|b| !b.trim().is_empty()),
        filter_groups: crate::filtering::filter_groups(&config),
        trusted_proxies: config.web.trusted_proxies.clone(),
        ..WebSettings::default()
    };
    let mailer = if config.email.reminders {
        Some(config.mailer()?)
    } else {
        None
    };
    let app = app
        .with_files(config.storage.data_dir.join("files"))
        .with_mailer(config.mailer()?);
    let updates = spawn_list_updates(&config)?;
    let (app, dns) = crate::filtering::attach(&config, &dns, addr, app, &mut settings).await?;
    let result = serve_until_stopped(app, addr, settings, mailer, |url| {
        say(format!("Gatehouse is running at {url}"));
        if let Some(d) = &dns {
            say(format!("DNS filter listening on {}", addrs(d)));
        }
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

/// The DNS filter's addresses, for the start-up message (`udp 127.0.0.1:8053, tcp …`).
pub fn addrs(d: &crate::filtering::DnsFilter) -> String {
    let list = |a: &[SocketAddr]| {
        a.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" ")
    };
    format!(
        "udp {}, tcp {}",
        list(d.handle.udp_addrs()),
        list(d.handle.tcp_addrs())
    )
}

/// The next time after `now` that is `at` on the wall clock in `tz` (today if still to
/// come, else tomorrow; a time skipped by a clock change runs just after the change).
pub fn next_update(now: Timestamp, at: Time, tz: &TimeZone) -> Result<Timestamp> {
    let today = now.to_zoned(tz.clone()).date();
    for date in [today, today.tomorrow()?] {
        let t = date.to_datetime(at).to_zoned(tz.clone())?.timestamp();
        if t > now {
            return Ok(t);
        }
    }
    // Only reached when a clock change repeats `at` (the later instant has passed).
    Ok(today
        .checked_add(jiff::Span::new().days(2))?
        .to_datetime(at)
        .to_zoned(tz.clone())?
        .timestamp())
}

/// When `filter.update_at` is set: a task that runs `gatehouse lists update` daily at
/// that local time and logs the outcome. A failed or refused update keeps the current
/// file. Whoever serves the database picks up an installed file by its change on disk
/// (`gatehouse_filter::update::Reloader`).
pub fn spawn_list_updates(config: &Config) -> Result<Option<tokio::task::JoinHandle<()>>> {
    let Some(at) = config.filter_update_at()? else {
        return Ok(None);
    };
    let tz = crate::filtering::school_timezone(config)?;
    if config.filter.sources.is_empty() {
        tracing::warn!(
            "filter.update_at is set but no [[filter.sources]] are configured: the lists will not be updated"
        );
        return Ok(None);
    }
    let config = config.clone();
    tracing::info!(at = %at.strftime("%H:%M"), timezone = tz.iana_name().unwrap_or("?"), "filter lists update daily");
    Ok(Some(tokio::spawn(async move {
        loop {
            let next = match next_update(Timestamp::now(), at, &tz) {
                Ok(t) => t,
                Err(e) => {
                    tracing::error!(error = %e, "cannot schedule the filter lists update");
                    return;
                }
            };
            // Wait in steps, re-reading the wall clock, so that a suspended machine or a
            // clock adjustment does not shift the run.
            loop {
                let left = next.duration_since(Timestamp::now());
                if left.is_negative() || left.is_zero() {
                    break;
                }
                let step = Duration::try_from(left)
                    .unwrap_or(Duration::from_secs(60))
                    .min(Duration::from_secs(600));
                tokio::time::sleep(step).await;
            }
            tracing::info!("filter lists update starting");
            let cfg = config.clone();
            let result = tokio::task::spawn_blocking(move || {
                super::lists::run_update(&cfg, false, false, &mut |_| {})
            })
            .await;
            log_update(result);
        }
    })))
}

fn log_update(result: std::result::Result<Result<UpdateReport>, tokio::task::JoinError>) {
    match result {
        Ok(Ok(report)) => match &report.outcome {
            Outcome::Installed { .. } | Outcome::Forced { .. } => tracing::info!(
                domains = report.compile.domains,
                urls = report.compile.urls,
                categories = report.changes.len(),
                "filter lists updated"
            ),
            Outcome::Refused => tracing::warn!(
                shrunk = %super::lists::shrink_summary(&report),
                "filter lists update refused, the current lists are kept: categories shrank too much"
            ),
            Outcome::DryRun => {}
        },
        Ok(Err(e)) => tracing::warn!(
            error = format!("{e:#}"),
            "filter lists update failed, the current lists are kept"
        ),
        Err(e) => tracing::error!(error = %e, "filter lists update stopped"),
    }
}

/// Bind, report the URL, serve until a stop signal.
pub async fn serve_until_stopped(
    app: Gatehouse,
    addr: SocketAddr,
    settings: WebSettings,
    mailer: Option<Mailer>,
    announce: impl FnOnce(String),
) -> Result<ExitCode> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("listening on {addr} (is another server using it?)"))?;
    let url = format!("http://{}", listener.local_addr()?);
    announce(url);
    let upkeep = tokio::spawn(upkeep(app.clone(), mailer));
    let router = gatehouse_web::router(app, settings);
    gatehouse_web::serve(listener, router, stop_signal()).await?;
    upkeep.abort();
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// Hourly: remove expired sessions; send the reminders and digests that are due.
async fn upkeep(app: Gatehouse, mailer: Option<Mailer>) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tick.tick().await;
        if let Some(m) = &mailer {
            match app.send_reminders(m).await {
                Ok(r) if r.sent + r.failed > 0 => {
                    tracing::info!(
                        sent = r.sent,
                        failed = r.failed,
                        no_address = r.no_address,
                        "reminders"
                    );
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "reminders could not be sent"),
            }
        }
        match app.store.purge_sessions(app.clock.now()).await {
            Ok(n) if n > 0 => tracing::info!(removed = n, "expired sessions removed"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not remove expired sessions"),
        }
    }
}

async fn stop_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("stopping");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn the_next_update_is_today_or_tomorrow_at_the_local_time() {
        let london = TimeZone::get("Europe/London").unwrap();
        let half_three = jiff::civil::time(3, 30, 0, 0);
        // Winter (GMT): 03:30 local is 03:30 UTC.
        assert_eq!(
            next_update(at("2026-01-05T01:00:00Z"), half_three, &london).unwrap(),
            at("2026-01-05T03:30:00Z")
        );
        assert_eq!(
            next_update(at("2026-01-05T03:30:00Z"), half_three, &london).unwrap(),
            at("2026-01-06T03:30:00Z")
        );
        // Summer (BST): 03:30 local is 02:30 UTC.
        assert_eq!(
            next_update(at("2026-07-01T12:00:00Z"), half_three, &london).unwrap(),
            at("2026-07-02T02:30:00Z")
        );
        // 01:30 does not exist on 29 March 2026 (clocks go forward at 01:00 GMT): the
        // run is just after the change.
        let half_one = jiff::civil::time(1, 30, 0, 0);
        assert_eq!(
            next_update(at("2026-03-29T00:10:00Z"), half_one, &london).unwrap(),
            at("2026-03-29T01:30:00Z")
        );
    }
}
