//! Backups and two handles on one database.

use super::*;
use gatehouse_store::{Maintenance, PeopleFilter, StoreError};

async fn people_total(store: &dyn Store, school: i64) -> i64 {
    store
        .list_people(
            school,
            &PeopleFilter {
                include_inactive: true,
                limit: 1,
                ..PeopleFilter::default()
            },
        )
        .await
        .unwrap()
        .total
}

#[tokio::test]
async fn a_backup_opens_as_a_store_with_the_same_data() {
    let (dir, store, school) = populated().await;
    let s = store.as_ref();
    let total = people_total(s, school.id).await;
    assert_eq!(total, 9);
    let log = verified_log(s).await;

    let target = dir.path().join("backup.db");
    s.backup_to(&target).await.unwrap();
    // The original is still in use.
    s.append_audit(at(500), event("cli", "backup.create", None))
        .await
        .unwrap();

    let copy = SqliteStore::open(&target).await.unwrap();
    assert_eq!(copy.schema_version().await.unwrap(), newest_migration());
    assert_eq!(copy.first_school().await.unwrap(), Some(school.clone()));
    assert_eq!(people_total(&copy, school.id).await, total);
    assert_eq!(
        copy.count_by_kind(school.id).await.unwrap(),
        s.count_by_kind(school.id).await.unwrap()
    );
    // The copy's log is the log at the time of the backup.
    assert_eq!(verified_log(&copy).await, log);
}

#[tokio::test]
async fn a_backup_never_overwrites_a_file() {
    let (dir, store) = open().await;
    let s = store.as_ref();
    new_school(s).await;
    let target = dir.path().join("existing.db");
    std::fs::write(&target, b"precious").unwrap();
    let err = s.backup_to(&target).await.unwrap_err();
    assert!(matches!(err, StoreError::Io(_)), "{err:?}");
    assert!(err.to_string().contains("existing.db"), "{err}");
    assert_eq!(std::fs::read(&target).unwrap(), b"precious");
    // Nor the live database itself.
    let err = s.backup_to(&db_path(&dir)).await.unwrap_err();
    assert!(matches!(err, StoreError::Io(_)), "{err:?}");
    assert_eq!(verified_log(s).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_handles_on_one_file_append_one_unbroken_chain() {
    let (dir, server) = open().await;
    // A second handle on the same file, as a CLI command while the server runs.
    let cli: Arc<dyn Store> = Arc::new(SqliteStore::open(&db_path(&dir)).await.unwrap());
    let append_50 = |store: Arc<dyn Store>, actor: &'static str| async move {
        for i in 0..50 {
            store
                .append_audit(
                    at(i),
                    event(actor, "person.view", Some(&format!("person:{i}"))),
                )
                .await
                .unwrap();
        }
    };
    tokio::join!(
        append_50(server.clone(), "server"),
        append_50(cli.clone(), "cli")
    );

    for store in [&server, &cli] {
        let log = verified_log(store.as_ref()).await;
        assert_eq!(log.len(), 100);
        assert_eq!(log.iter().filter(|e| e.event.actor == "server").count(), 50);
        assert_eq!(log.iter().filter(|e| e.event.actor == "cli").count(), 50);
    }
}
