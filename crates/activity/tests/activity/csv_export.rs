//! CSV export: header, every field, formula escaping, paging through many rows.

use gatehouse_activity::{ActivitySearch, CSV_HEADER};
use gatehouse_filter::Action;

use crate::support::{at, event, full, open};

/// The position of column `name` in the export.
fn col(name: &str) -> usize {
    CSV_HEADER.iter().position(|c| *c == name).unwrap()
}

fn parse(bytes: &[u8]) -> Vec<Vec<String>> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(bytes);
    r.records()
        .map(|rec| rec.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

#[tokio::test]
async fn export_writes_a_header_and_every_field() {
    let (_dir, log) = open().await;
    let log = log.for_school("Oak Primary, Leeds");
    log.insert(&[full(at(0))]).await.unwrap();
    let mut out = Vec::new();
    let n = log
        .export_csv(&ActivitySearch::default(), &mut out)
        .await
        .unwrap();
    assert_eq!(n, 1);
    let rows = parse(&out);
    assert_eq!(rows[0], CSV_HEADER);
    assert_eq!(
        rows[1],
        [
            "2025-11-13T02:13:20Z",
            "Oak Primary, Leeds",
            "2001:db8::42",
            "ada.lovelace",
            "staff",
            "binding:library",
            "cdn.bet.example",
            "HTTPS",
            "gambling",
            "warn",
            "policy:staff/gambling",
            "bet.example",
            "edge.cdn.example",
            "23",
            "123456",
            "true",
            "https",
            "Laptop 14",
        ]
    );
}

#[tokio::test]
async fn export_escapes_formulas_and_quotes_separators() {
    let (_dir, log) = open().await;
    let mut e = event(
        at(0),
        "x.example",
        Some("=HYPERLINK(\"http://evil\",\"x\")"),
        1,
    );
    e.group = "+ks2".to_owned();
    e.rule = "-1+1".to_owned();
    e.category = Some("@SUM(A1)".to_owned());
    e.matched_list = Some("a,b\nc".to_owned());
    e.qtype = "A=B".to_owned();
    log.insert(&[e]).await.unwrap();
    let mut out = Vec::new();
    log.export_csv(&ActivitySearch::default(), &mut out)
        .await
        .unwrap();
    let rows = parse(&out);
    let r = &rows[1];
    assert_eq!(r[col("person")], "'=HYPERLINK(\"http://evil\",\"x\")");
    assert_eq!(r[col("group")], "'+ks2");
    assert_eq!(r[col("type")], "A=B", "only a leading character is escaped");
    assert_eq!(r[col("category")], "'@SUM(A1)");
    assert_eq!(r[col("rule")], "'-1+1");
    assert_eq!(r[col("matched_list")], "a,b\nc");
    // No raw cell starts with a formula character.
    let text = String::from_utf8(out).unwrap();
    assert!(!text.contains(",=") && !text.contains(",+") && !text.contains(",@"));
}

#[tokio::test]
async fn export_pages_through_every_matching_row_newest_first() {
    let (_dir, log) = open().await;
    let events: Vec<_> = (0..4500)
        .map(|i| {
            let mut e = event(at(i), &format!("n{i}.example"), Some("amy"), 1);
            if i % 3 == 0 {
                e.action = Action::Log;
            }
            e
        })
        .collect();
    log.insert(&events).await.unwrap();
    let mut out = Vec::new();
    let filter = ActivitySearch {
        action: Some(Action::Log),
        limit: 10,
        ..Default::default()
    };
    let n = log.export_csv(&filter, &mut out).await.unwrap();
    assert_eq!(n, 1500, "limit does not apply to exports");
    let rows = parse(&out);
    assert_eq!(rows.len(), 1501);
    assert_eq!(rows[1][col("domain")], "n4497.example");
    assert_eq!(rows[1500][col("domain")], "n0.example");
}
