//! `gatehouse demo`: create the fictional Elmbrook Primary School in an empty data
//! folder (through the ordinary importer and account service), then serve it.

use super::{open, say, security};
use crate::config::Config;
use crate::demo_school::{DemoAccount, demo_school};
use anyhow::{Context, Result, bail};
use gatehouse_domain::people::PersonKind;
use gatehouse_service::accounts::AccountRequest;
use gatehouse_service::people::ImportRequest;
use gatehouse_service::{Actor, Gatehouse};
use gatehouse_web::WebSettings;
use std::net::SocketAddr;
use std::process::ExitCode;

/// Create (if needed) and serve the demo school.
pub async fn run(config: Config, web: SocketAddr) -> Result<ExitCode> {
    // The demo's accounts have no phones enrolled: two-step sign-in is offered, not forced.
    let mut sec = security(&config);
    sec.require_mfa = false;
    let app = open(&config, sec).await?;
    let school = demo_school();
    let created = if app.store.first_school().await?.is_none() {
        say(format!("Creating {} in {} …", school.name, config.storage.data_dir.display()));
        populate(&app).await?;
        true
    } else {
        false
    };
    let banner = format!(
        "Demo: {} and everyone in it are fictional. Two-step sign-in is optional here.",
        app.school().await?.name
    );
    let settings = WebSettings {
        secure_cookies: false,
        banner: Some(banner),
    };
    super::serve::serve_until_stopped(app, web, settings, |url| {
        say("");
        say(format!("Gatehouse demo is running at {url}/login"));
        if created {
            say("The demo school was created just now.");
        }
        say("");
        say(format!("Sign in as any of these (password: {}):", school.accounts.first().map_or("", |a| a.password.as_str())));
        for a in &school.accounts {
            say(format!("  {:<12} {}", a.username, a.description));
        }
        say("");
        say("Press Ctrl-C to stop.");
    })
    .await
}

/// Import the demo's people and create its accounts.
pub async fn populate(app: &Gatehouse) -> Result<()> {
    let school = demo_school();
    let cli = Actor::cli();
    app.ensure_school(&cli, school.name).await?;
    let files = [
        (PersonKind::Staff, "staff.csv", &school.staff_csv),
        (PersonKind::Governor, "governors.csv", &school.governors_csv),
        (PersonKind::Pupil, "pupils.csv", &school.pupils_csv),
        (PersonKind::Parent, "parents.csv", &school.parents_csv),
        (PersonKind::Visitor, "visitors.csv", &school.visitors_csv),
        (PersonKind::Volunteer, "volunteers.csv", &school.volunteers_csv),
    ];
    for (kind, name, csv) in files {
        let req = ImportRequest {
            kind,
            overrides: Vec::new(),
            full: false,
            file_name: format!("demo/{name}"),
        };
        let preview = app.preview_import(&cli, csv.as_bytes(), &req, &mut |_| {}).await?;
        if let Some(p) = preview.problems().first() {
            bail!("the demo's {name} has a problem: {p}");
        }
        app.apply_import(&cli, &preview, &req, false, &|_| {}).await?;
    }
    for account in &school.accounts {
        create_account(app, &cli, account)
            .await
            .with_context(|| format!("creating the demo account {}", account.username))?;
    }
    Ok(())
}

async fn create_account(app: &Gatehouse, cli: &Actor, a: &DemoAccount) -> Result<()> {
    let kind: PersonKind = a.kind.parse()?;
    let person_id = super::users::find_person(app, kind, &a.mis_id_or_email).await?;
    app.create_account(
        cli,
        &AccountRequest {
            username: a.username.clone(),
            password: a.password.clone(),
            roles: vec![a.role.parse()?],
            person_id: Some(person_id),
        },
    )
    .await?;
    Ok(())
}
