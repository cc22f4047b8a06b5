//! `gatehouse serve`: the web server, until Ctrl-C or SIGTERM, with background upkeep.

use super::{open, say, security};
use crate::config::Config;
use anyhow::{Context, Result};
use gatehouse_service::mail::Mailer;
use gatehouse_service::{Actor, Gatehouse};
use gatehouse_web::WebSettings;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

/// Start from the configuration.
pub async fn run(config: Config, web: Option<SocketAddr>) -> Result<ExitCode> {
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
    let settings = WebSettings {
        secure_cookies: config.web.secure_cookies,
        banner: Some(config.web.banner.clone()).filter(|b| !b.trim().is_empty()),
    };
    let mailer = if config.email.reminders {
        Some(config.mailer()?)
    } else {
        None
    };
    let app = app.with_files(config.storage.data_dir.join("files"));
    serve_until_stopped(app, addr, settings, mailer, |url| {
        say(format!("Gatehouse is running at {url}"))
    })
    .await
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
