//! The subcommands. Each opens the installation named by `--data`/`--config` and calls
//! the same services the web application uses, as the `cli` actor.

mod agreements;
mod check;
mod demo;
mod lists;
mod maintenance;
mod people;
mod serve;
mod users;

use crate::cli::{Cli, Command, KindArg};
use crate::config::Config;
use anyhow::{Context as _, Result};
use gatehouse_domain::clock::SystemClock;
use gatehouse_domain::people::PersonKind;
use gatehouse_service::{Gatehouse, SecuritySettings};
use gatehouse_store::SqliteStore;
use std::process::ExitCode;
use std::sync::Arc;

/// Run the parsed command line.
pub async fn run(cli: Cli) -> Result<ExitCode> {
    let mut config = Config::load(cli.config.as_deref(), std::env::vars())?;
    if let Some(d) = &cli.data {
        config.storage.data_dir.clone_from(d);
    }
    init_logging(
        &config,
        matches!(cli.command, Command::Demo { .. } | Command::Serve { .. }),
    );
    match cli.command {
        Command::Demo { web, dns, filter } => {
            let o = crate::filtering::DnsOverrides {
                listen: Some(dns),
                upstream: filter.upstream,
                lists: filter.lists,
            };
            demo::run(config, web, o).await
        }
        Command::Serve { web, dns, filter } => {
            let o = crate::filtering::DnsOverrides {
                listen: dns,
                upstream: filter.upstream,
                lists: filter.lists,
            };
            serve::run(config, web, o).await
        }
        Command::Healthcheck { url } => maintenance::healthcheck(&config, url).await,
        Command::Import { what } => match what {
            crate::cli::ImportCommand::People(args) => {
                people::import(&config, args, cli.json).await
            }
        },
        Command::User { action } => users::user(&config, action, cli.json).await,
        Command::Token { action } => users::token(&config, action, cli.json).await,
        Command::Backup { file } => maintenance::backup(&config, &file).await,
        Command::Restore { file, force } => maintenance::restore(&config, &file, force).await,
        Command::Config { action } => maintenance::config(&config, action),
        Command::Audit { action } => maintenance::audit(&config, action, cli.json).await,
        Command::Agreements { action } => agreements::run(&config, action, cli.json).await,
        Command::Lists { action } => lists::run(&config, action, cli.json),
        Command::Check(args) => check::check(&config, &args, cli.json).await,
    }
}

fn init_logging(config: &Config, server: bool) {
    let default = if server {
        config.log.level.as_str()
    } else {
        "warn"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(default))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Open the installation's database and services.
pub async fn open(config: &Config, security: SecuritySettings) -> Result<Gatehouse> {
    let dir = &config.storage.data_dir;
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating the data folder {}", dir.display()))?;
    let store = SqliteStore::open(&config.database_path())
        .await
        .with_context(|| format!("opening the database in {}", dir.display()))?;
    Ok(Gatehouse::new(Arc::new(store), Arc::new(SystemClock), security).await?)
}

/// Security settings from the configuration.
pub fn security(config: &Config) -> SecuritySettings {
    SecuritySettings {
        require_mfa: config.security.require_mfa,
        session_hours: config.security.session_hours.clamp(1, 24 * 30),
        ..SecuritySettings::default()
    }
}

/// Open an existing installation for a management command.
pub async fn open_existing(config: &Config) -> Result<Gatehouse> {
    if !config.database_path().exists() {
        anyhow::bail!(
            "no Gatehouse installation in {} (start one with `gatehouse demo` or `gatehouse serve`, or name it with --data)",
            config.storage.data_dir.display()
        );
    }
    open(config, security(config)).await
}

impl From<KindArg> for PersonKind {
    fn from(k: KindArg) -> Self {
        match k {
            KindArg::Staff => Self::Staff,
            KindArg::Pupil => Self::Pupil,
            KindArg::Parent => Self::Parent,
            KindArg::Governor => Self::Governor,
            KindArg::Visitor => Self::Visitor,
            KindArg::Volunteer => Self::Volunteer,
        }
    }
}

/// Print a line of command output (stdout is the command's result; logs go to stderr).
#[allow(clippy::print_stdout)]
pub fn say(line: impl std::fmt::Display) {
    println!("{line}");
}

/// Print a value as pretty JSON.
pub fn say_json(v: &impl serde::Serialize) -> Result<()> {
    say(serde_json::to_string_pretty(v)?);
    Ok(())
}
