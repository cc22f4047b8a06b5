//! Opening, migrating and refusing a newer schema.

use super::*;
use gatehouse_store::{Maintenance, StoreError};

#[tokio::test]
async fn opening_twice_keeps_the_data_and_schema_version_is_the_newest() {
    let (dir, store) = open().await;
    let newest = newest_migration();
    assert_eq!(store.schema_version().await.unwrap(), newest);
    let school = new_school(store.as_ref()).await;

    // A second handle while the first is open, as a CLI command while the server runs.
    let again = SqliteStore::open(&db_path(&dir)).await.unwrap();
    assert_eq!(again.schema_version().await.unwrap(), newest);
    assert_eq!(again.first_school().await.unwrap(), Some(school));
    // Each migration is recorded once, as applied.
    let pool = raw(&dir).await;
    let recorded: Vec<(i64, bool)> =
        sqlx::query_as("SELECT version, success FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&pool)
            .await
            .unwrap();
    let wanted: Vec<(i64, bool)> = migrations().into_iter().map(|v| (v, true)).collect();
    assert_eq!(recorded, wanted);
}

#[tokio::test]
async fn a_database_from_a_newer_gatehouse_is_refused() {
    let (dir, store) = open().await;
    let known = newest_migration();
    let future = known + 5;
    drop(store);
    let pool = raw(&dir).await;
    let columns: Vec<String> =
        sqlx::query_scalar("SELECT name FROM pragma_table_info('_sqlx_migrations')")
            .fetch_all(&pool)
            .await
            .unwrap();
    for c in [
        "version",
        "description",
        "installed_on",
        "success",
        "checksum",
        "execution_time",
    ] {
        assert!(
            columns.iter().any(|n| n == c),
            "no column {c} in {columns:?}"
        );
    }
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, installed_on, success, checksum, execution_time)
         VALUES ($1, 'from the future', CURRENT_TIMESTAMP, TRUE, X'00', 0)",
    )
    .bind(future)
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;

    let err = SqliteStore::open(&db_path(&dir)).await.unwrap_err();
    match &err {
        StoreError::SchemaTooNew {
            found,
            known: known_version,
        } => {
            assert_eq!((*found, *known_version), (future, known));
        }
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
    let shown = err.to_string();
    assert!(
        shown.contains(&format!("schema version {future}")),
        "{shown}"
    );
    assert!(shown.contains(&format!("up to {known}")), "{shown}");
}
