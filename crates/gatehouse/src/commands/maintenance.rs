//! Looking after an installation: `healthcheck`, `backup`, `restore`, `config`, `audit`.

use super::{open_existing, say, say_json};
use crate::cli::{AuditCommand, ConfigCommand};
use crate::config::Config;
use anyhow::{Context, Result, bail};
use gatehouse_service::Actor;
use gatehouse_store::{Maintenance, SqliteStore};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

fn client() -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()?)
}

async fn server_answers(base: &str) -> bool {
    let Ok(c) = client() else { return false };
    c.get(format!("{}/healthz", base.trim_end_matches('/')))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
}

/// `gatehouse healthcheck`
pub async fn healthcheck(config: &Config, url: Option<String>) -> Result<ExitCode> {
    let base = url.unwrap_or_else(|| format!("http://{}", config.web.listen));
    let target = format!("{}/healthz", base.trim_end_matches('/'));
    match client()?.get(&target).send().await {
        Ok(r) if r.status().is_success() => {
            say(format!("healthy: {target}"));
            Ok(ExitCode::SUCCESS)
        }
        Ok(r) => {
            say(format!("unhealthy: {target} answered {}", r.status()));
            Ok(ExitCode::FAILURE)
        }
        Err(e) => {
            say(format!("unhealthy: {target}: {e}"));
            Ok(ExitCode::FAILURE)
        }
    }
}

/// `gatehouse backup FILE`
pub async fn backup(config: &Config, file: &Path) -> Result<ExitCode> {
    let app = open_existing(config).await?;
    app.store.backup_to(file).await?;
    let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    say(format!(
        "Backup written to {} ({} KiB).",
        file.display(),
        size / 1024
    ));
    Ok(ExitCode::SUCCESS)
}

/// `gatehouse restore FILE`: check the backup, then put it in place of the database.
pub async fn restore(config: &Config, file: &Path, force: bool) -> Result<ExitCode> {
    if !file.is_file() {
        bail!("{} is not a file", file.display());
    }
    if server_answers(&format!("http://{}", config.web.listen)).await {
        bail!(
            "Gatehouse is running at {}; stop it before restoring",
            config.web.listen
        );
    }
    let db = config.database_path();
    if db.exists() && !force {
        bail!(
            "{} already has a database; add --force to replace it with the backup",
            config.storage.data_dir.display()
        );
    }
    std::fs::create_dir_all(&config.storage.data_dir)?;
    let staging = db.with_extension("db.restoring");
    let _ = std::fs::remove_file(&staging);
    std::fs::copy(file, &staging).with_context(|| format!("copying {}", file.display()))?;
    // Opening checks the schema (a newer one is refused) and applies any migrations.
    let check = SqliteStore::open(&staging).await;
    let check = match check {
        Ok(store) => {
            let v = store.schema_version().await;
            store.close().await;
            v.map_err(anyhow::Error::from)
        }
        Err(e) => Err(e.into()),
    };
    if let Err(e) = check {
        let _ = std::fs::remove_file(&staging);
        bail!("{} is not a usable Gatehouse backup: {e}", file.display());
    }
    for ext in ["db-wal", "db-shm"] {
        let _ = std::fs::remove_file(db.with_extension(ext));
        let _ = std::fs::remove_file(staging.with_extension(format!("restoring-{}", &ext[3..])));
    }
    std::fs::rename(&staging, &db).with_context(|| format!("replacing {}", db.display()))?;
    say(format!(
        "Restored {} into {}.",
        file.display(),
        db.display()
    ));
    Ok(ExitCode::SUCCESS)
}

/// `gatehouse config check|show`
pub fn config(config: &Config, action: ConfigCommand) -> Result<ExitCode> {
    match action {
        ConfigCommand::Check => say("The configuration is valid."),
        ConfigCommand::Show => say(config.to_masked_toml()?),
    }
    Ok(ExitCode::SUCCESS)
}

/// `gatehouse audit verify`
pub async fn audit(config: &Config, action: AuditCommand, json: bool) -> Result<ExitCode> {
    let app = open_existing(config).await?;
    match action {
        AuditCommand::Verify => {
            let report = app.verify_audit(&Actor::cli()).await?;
            if json {
                say_json(&report)?;
            } else if let Some(b) = &report.broken {
                say(format!(
                    "The audit log has been altered: entry {}: {}. The {} entries before it are intact.",
                    b.seq, b.reason, report.entries
                ));
            } else {
                say(format!(
                    "The audit log is intact: {} entries; last seal {}.",
                    report.entries, report.head
                ));
            }
            Ok(if report.broken.is_some() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
    }
}
