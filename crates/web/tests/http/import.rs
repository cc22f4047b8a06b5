//! Importing people through the pages: upload, preview, apply.

use crate::support::{Part, TestApp};
use gatehouse_domain::permissions::Role;
use reqwest::StatusCode;

const GOOD: &[u8] = b"UPN,Forename,Surname,Year,Class\nA123456789012,Ada,Lovelace,3,3 Oak\n";
const WITH_BAD_ROW: &[u8] =
    b"UPN,Forename,Surname,Year,Class\nA123456789012,Ada,Lovelace,3,3 Oak\nB123456789012,Bob,Babbage,banana,3 Oak\n";

async fn head(t: &TestApp) -> crate::support::Browser {
    t.add_account("hana.head", &[Role::Head]).await;
    t.signed_in("hana.head").await
}

#[tokio::test]
async fn an_upload_is_previewed_then_applied() {
    let t = TestApp::start(false).await;
    let b = head(&t).await;
    let form = b.get("/people/import").await;
    assert_eq!(form.status, StatusCode::OK);
    let csrf = form.csrf();

    let preview = b
        .post_multipart(
            "/people/import",
            &[
                Part::Text("csrf_token", &csrf),
                Part::Text("kind", "pupil"),
                Part::File {
                    name: "file",
                    file_name: "pupils.csv",
                    bytes: GOOD,
                },
            ],
        )
        .await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
    assert!(
        preview.body.contains("Check the import"),
        "{}",
        preview.body
    );
    assert!(preview.body.contains("pupils.csv"), "{}", preview.body);
    assert!(
        preview.body.contains("<td>Ada Lovelace</td>"),
        "{}",
        preview.body
    );
    assert!(
        preview.body.contains("<span class=\"count\">1</span> new"),
        "{}",
        preview.body
    );
    assert!(
        preview
            .body
            .contains("<span class=\"count\">0</span> changed"),
        "{}",
        preview.body
    );
    assert!(
        preview
            .body
            .contains("<span class=\"count\">0</span> problem(s)"),
        "{}",
        preview.body
    );
    assert!(preview.body.contains("id=\"apply\""), "{}", preview.body);

    // Nothing is stored until the preview is confirmed.
    assert!(t.find_people("Lovelace").await.is_empty());
    assert!(t.audit_actions("people.import").await.is_empty());
    let list = b.get("/people?q=Lovelace").await;
    assert!(list.body.contains("No one matches"), "{}", list.body);

    let id = preview.input("id").expect("the preview id");
    let csrf = preview.csrf();
    let done = b
        .post_form(
            "/people/import/apply",
            &[("csrf_token", &csrf), ("id", &id)],
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(done.body.contains("Import finished"), "{}", done.body);
    assert!(
        done.body.contains("<span class=\"count\">1</span> added"),
        "{}",
        done.body
    );

    let list = b.get("/people?q=Lovelace").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains("Lovelace, Ada"), "{}", list.body);
    let found = t.find_people("Lovelace").await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].details.first_name.to_string(), "Ada");
    let imports = t.audit_actions("people.import").await;
    assert_eq!(imports.len(), 1);
    assert_eq!(imports[0].event.actor, "hana.head");
    assert_eq!(imports[0].event.ip.as_deref(), Some("127.0.0.1"));

    // A preview is applied once.
    let again = b
        .post_form(
            "/people/import/apply",
            &[("csrf_token", &csrf), ("id", &id)],
        )
        .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST, "{}", again.body);
    assert_eq!(t.find_people("Lovelace").await.len(), 1);
}

#[tokio::test]
async fn a_bad_row_is_shown_with_its_line_and_column_and_blocks_a_plain_apply() {
    let t = TestApp::start(false).await;
    let b = head(&t).await;
    let csrf = b.get("/people/import").await.csrf();
    let preview = b
        .post_multipart(
            "/people/import",
            &[
                Part::Text("csrf_token", &csrf),
                Part::Text("kind", "pupil"),
                Part::File {
                    name: "file",
                    file_name: "pupils.csv",
                    bytes: WITH_BAD_ROW,
                },
            ],
        )
        .await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
    let problems = crate::support::between(&preview.body, "id=\"problems\"", "</table>")
        .expect("a problems table");
    assert!(problems.contains("<td>3</td><td>Year</td>"), "{problems}");
    assert!(problems.contains("banana"), "{problems}");
    assert!(
        preview
            .body
            .contains("<span class=\"count\">1</span> problem(s)"),
        "{}",
        preview.body
    );
    assert!(
        preview.body.contains("name=\"skip_invalid\""),
        "{}",
        preview.body
    );

    let id = preview.input("id").expect("the preview id");
    let csrf = preview.csrf();
    let refused = b
        .post_form(
            "/people/import/apply",
            &[("csrf_token", &csrf), ("id", &id)],
        )
        .await;
    assert!(
        refused.status.is_client_error(),
        "{}: {}",
        refused.status,
        refused.body
    );
    assert!(
        refused.body.contains("nothing was imported"),
        "{}",
        refused.body
    );
    assert!(t.find_people("Lovelace").await.is_empty());
    assert!(t.find_people("Babbage").await.is_empty());
    assert!(t.audit_actions("people.import").await.is_empty());

    // Skipping the invalid row imports the valid one only.
    let done = b
        .post_form(
            "/people/import/apply",
            &[("csrf_token", &csrf), ("id", &id), ("skip_invalid", "on")],
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(t.find_people("Lovelace").await.len(), 1);
    assert!(t.find_people("Babbage").await.is_empty());
}

#[tokio::test]
async fn an_upload_without_the_csrf_token_first_or_without_a_file_is_refused() {
    let t = TestApp::start(false).await;
    let b = head(&t).await;
    let csrf = b.get("/people/import").await.csrf();

    let no_token = b
        .post_multipart(
            "/people/import",
            &[
                Part::Text("kind", "pupil"),
                Part::File {
                    name: "file",
                    file_name: "pupils.csv",
                    bytes: GOOD,
                },
            ],
        )
        .await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);

    let no_file = b
        .post_multipart(
            "/people/import",
            &[Part::Text("csrf_token", &csrf), Part::Text("kind", "pupil")],
        )
        .await;
    assert_eq!(no_file.status, StatusCode::OK);
    assert!(
        no_file.body.contains("Choose a CSV file to upload."),
        "{}",
        no_file.body
    );

    // Another account cannot apply this account's preview.
    let preview = b
        .post_multipart(
            "/people/import",
            &[
                Part::Text("csrf_token", &csrf),
                Part::Text("kind", "pupil"),
                Part::File {
                    name: "file",
                    file_name: "pupils.csv",
                    bytes: GOOD,
                },
            ],
        )
        .await;
    let id = preview.input("id").expect("the preview id");
    t.add_account("ivan.it", &[Role::ItAdmin]).await;
    let other = t.signed_in("ivan.it").await;
    let other_csrf = other.get("/").await.csrf();
    let res = other
        .post_form(
            "/people/import/apply",
            &[("csrf_token", &other_csrf), ("id", &id)],
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.body);
    assert!(t.find_people("Lovelace").await.is_empty());
}
