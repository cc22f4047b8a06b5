//! Service tests over a real SQLite store with an injected clock.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod devices;
mod incidents;
mod reminders;

use gatehouse_domain::clock::FixedClock;
use gatehouse_domain::people::PersonKind;
use gatehouse_service::people::ImportRequest;
use gatehouse_service::{Actor, Gatehouse, SecuritySettings};
use gatehouse_store::SqliteStore;
use std::sync::Arc;

/// A school in a temporary database, with its clock.
pub struct World {
    pub app: Gatehouse,
    pub clock: Arc<FixedClock>,
    pub dir: tempfile::TempDir,
}

pub async fn world(at: &str) -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("t.db")).await.unwrap();
    let clock = Arc::new(FixedClock::new(at.parse().unwrap()));
    let app = Gatehouse::new(Arc::new(store), clock.clone(), SecuritySettings::default())
        .await
        .unwrap();
    app.ensure_school(&Actor::cli(), "Test School")
        .await
        .unwrap();
    World { app, clock, dir }
}

pub async fn import(app: &Gatehouse, kind: PersonKind, csv: &str) {
    let req = ImportRequest {
        kind,
        overrides: Vec::new(),
        full: false,
        file_name: "t.csv".into(),
    };
    let cli = Actor::cli();
    let preview = app
        .preview_import(&cli, csv.as_bytes(), &req, &mut |_| {})
        .await
        .unwrap();
    assert!(preview.problems().is_empty(), "{:?}", preview.problems());
    app.apply_import(&cli, &preview, &req, false, &|_| {})
        .await
        .unwrap();
}
