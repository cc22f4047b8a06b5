//! People: applying imports, the directory, person records and facets.

use super::*;
use gatehouse_domain::people::MisId;
use gatehouse_store::{ImportOutcome, PeopleFilter, Person, PersonRef};
use std::sync::Mutex;

fn names(people: &[Person]) -> Vec<String> {
    people.iter().map(|p| p.details.full_name()).collect()
}

fn ref_names(refs: &[PersonRef]) -> Vec<&str> {
    refs.iter().map(|r| r.name.as_str()).collect()
}

fn filter() -> PeopleFilter {
    PeopleFilter {
        limit: 100,
        ..PeopleFilter::default()
    }
}

/// Everyone matching `f` (one big page), by name.
async fn list(store: &dyn Store, school: i64, f: PeopleFilter) -> Vec<String> {
    let page = store.list_people(school, &f).await.unwrap();
    assert_eq!(
        page.total,
        page.people.len() as i64,
        "a single page should hold all"
    );
    names(&page.people)
}

/// The stored person with this MIS id.
async fn by_mis_id(store: &dyn Store, school: i64, mis_id: &str) -> Person {
    let page = store
        .list_people(
            school,
            &PeopleFilter {
                query: Some(mis_id.into()),
                include_inactive: true,
                ..filter()
            },
        )
        .await
        .unwrap();
    page.people
        .into_iter()
        .find(|p| p.details.mis_id.as_ref().map(MisId::as_str) == Some(mis_id))
        .unwrap_or_else(|| panic!("no person with MIS id {mis_id}"))
}

#[tokio::test]
async fn an_import_creates_people_links_and_derived_groups() {
    let (dir, store) = open().await;
    let s = store.as_ref();
    let school = new_school(s).await;

    let staff = import(s, school.id, PersonKind::Staff, STAFF_CSV, false).await;
    assert_eq!(
        staff,
        ImportOutcome {
            created: 2,
            ..ImportOutcome::default()
        }
    );
    let pupils_plan = plan(s, school.id, PersonKind::Pupil, PUPILS_CSV, false).await;
    let progress = Mutex::new(Vec::new());
    let pupils = s
        .apply_import(
            school.id,
            &pupils_plan,
            at(100),
            event("cli", "people.import", None),
            &|n| progress.lock().unwrap().push(n),
        )
        .await
        .unwrap();
    assert_eq!(pupils.created, 5);
    assert_eq!(
        progress.lock().unwrap().last(),
        Some(&5),
        "progress ends at the total"
    );
    let parents = import(s, school.id, PersonKind::Parent, PARENTS_CSV, false).await;
    assert_eq!(
        parents,
        ImportOutcome {
            created: 2,
            links_added: 3,
            ..ImportOutcome::default()
        }
    );

    let zoe = by_mis_id(s, school.id, "A100").await;
    assert!(zoe.active);
    assert_eq!(zoe.details.kind, PersonKind::Pupil);
    assert_eq!(
        zoe.details.year_group.map(|y| y.code()).as_deref(),
        Some("3")
    );
    assert_eq!(
        zoe.details.class_name.as_ref().map(|c| c.as_str()),
        Some("3 Oak")
    );
    let alice = by_mis_id(s, school.id, "S1").await;
    assert_eq!(
        alice.details.email.as_ref().map(|e| e.as_str()),
        Some("alice.hart@oakfield.example")
    );
    assert_eq!(
        alice.details.job_title.as_ref().map(|j| j.as_str()),
        Some("Headteacher")
    );

    // What is stored is what the file said.
    let parsed = parse_people_csv(PUPILS_CSV.as_bytes(), PersonKind::Pupil, &[], &mut |_| {});
    let stored = s
        .people_for_import(school.id, PersonKind::Pupil)
        .await
        .unwrap();
    for row in &parsed.rows {
        assert!(
            stored.iter().any(|p| p.details == row.details && p.active),
            "{:?} not stored as imported",
            row.details
        );
    }

    let pool = raw(&dir).await;
    let groups: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT name, source, rule_key FROM groups WHERE school_id = $1 ORDER BY name",
    )
    .bind(school.id)
    .fetch_all(&pool)
    .await
    .unwrap();
    for wanted in [
        ("Pupils", "kind", "pupil"),
        ("Staff", "kind", "staff"),
        ("Parents and carers", "kind", "parent"),
        ("Year 3", "year", "3"),
        ("Reception", "year", "R"),
        ("Nursery", "year", "N"),
        ("Year 10", "year", "10"),
        ("Class 3 Oak", "class", "3 Oak"),
        ("Class R Ash", "class", "R Ash"),
    ] {
        assert!(
            groups
                .iter()
                .any(|(n, s, k)| (n.as_str(), s.as_str(), k.as_deref())
                    == (wanted.0, wanted.1, Some(wanted.2))),
            "no group {wanted:?} in {groups:?}"
        );
    }
    // Staff have no year or class, so 3 kinds + 5 years + 5 classes.
    assert_eq!(groups.len(), 13, "{groups:?}");
}

#[tokio::test]
async fn person_records_show_links_and_account() {
    let (_dir, store, school) = populated().await;
    let s = store.as_ref();
    let ann = by_mis_id(s, school.id, "P1").await;
    let zoe = by_mis_id(s, school.id, "A100").await;
    let max = by_mis_id(s, school.id, "A102").await;

    let account = s
        .create_account(
            &NewAccount {
                person_id: Some(ann.id),
                ..new_account(school.id, "ann.lee", &[Role::Parent])
            },
            at(200),
            event("cli", "account.create", None),
        )
        .await
        .unwrap();

    let rec = s.person(school.id, ann.id).await.unwrap().unwrap();
    assert_eq!(rec.person, ann);
    assert_eq!(ref_names(&rec.children), ["Sam Lee", "Zoe Lee"]);
    assert!(rec.children.iter().all(|c| c.kind == PersonKind::Pupil));
    assert!(rec.parents.is_empty());
    let acct = rec.account.unwrap();
    assert_eq!(acct.id, account);
    assert_eq!(acct.username, "ann.lee");
    assert_eq!(acct.display_name.as_deref(), Some("Ann Lee"));
    assert_eq!(rec.created_at, at(100));
    assert_eq!(rec.updated_at, at(100));

    let rec = s.person(school.id, zoe.id).await.unwrap().unwrap();
    assert_eq!(ref_names(&rec.parents), ["Ann Lee"]);
    assert_eq!(rec.parents[0].id, ann.id);
    assert_eq!(rec.parents[0].kind, PersonKind::Parent);
    assert!(rec.children.is_empty());
    assert!(rec.account.is_none());

    let rec = s.person(school.id, max.id).await.unwrap().unwrap();
    assert_eq!(ref_names(&rec.parents), ["Raj Brown"]);

    // Another school's id, or an unknown person, finds nothing.
    assert!(s.person(school.id + 1, ann.id).await.unwrap().is_none());
    assert!(s.person(school.id, 999_999).await.unwrap().is_none());

    // Parents come back for import with their children's MIS ids.
    let parents = s
        .people_for_import(school.id, PersonKind::Parent)
        .await
        .unwrap();
    assert_eq!(parents.len(), 2);
    let mut ann_children: Vec<String> = parents
        .iter()
        .find(|p| p.id == ann.id)
        .unwrap()
        .children
        .iter()
        .map(|c| c.to_string())
        .collect();
    ann_children.sort();
    assert_eq!(ann_children, ["A100", "A101"]);
    let pupils = s
        .people_for_import(school.id, PersonKind::Pupil)
        .await
        .unwrap();
    assert_eq!(pupils.len(), 5);
    assert!(pupils.iter().all(|p| p.children.is_empty()));
    let mut ids: Vec<String> = s
        .pupil_mis_ids(school.id)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.to_string())
        .collect();
    ids.sort();
    assert_eq!(ids, ["A100", "A101", "A102", "A103", "A104"]);
}

#[tokio::test]
async fn the_directory_filters_searches_and_pages() {
    let (_dir, store, school) = populated().await;
    let s = store.as_ref();
    let id = school.id;

    assert_eq!(
        list(s, id, filter()).await,
        [
            "Max Brown",
            "Raj Brown",
            "Ivy Green",
            "Alice Hart",
            "Ann Lee",
            "Sam Lee",
            "Tom Lee",
            "Zoe Lee",
            "Bob Nash"
        ]
    );
    let pupils = PeopleFilter {
        kind: Some(PersonKind::Pupil),
        ..filter()
    };
    assert_eq!(
        list(s, id, pupils.clone()).await,
        ["Max Brown", "Ivy Green", "Sam Lee", "Tom Lee", "Zoe Lee"]
    );
    assert_eq!(
        list(
            s,
            id,
            PeopleFilter {
                kind: Some(PersonKind::Staff),
                ..filter()
            }
        )
        .await,
        ["Alice Hart", "Bob Nash"]
    );
    assert_eq!(
        list(
            s,
            id,
            PeopleFilter {
                year_group: Some("3".into()),
                ..filter()
            }
        )
        .await,
        ["Zoe Lee"]
    );
    assert_eq!(
        list(
            s,
            id,
            PeopleFilter {
                year_group: Some("N".into()),
                ..filter()
            }
        )
        .await,
        ["Max Brown"]
    );
    assert_eq!(
        list(
            s,
            id,
            PeopleFilter {
                class_name: Some("R Ash".into()),
                ..filter()
            }
        )
        .await,
        ["Sam Lee"]
    );

    let query = |q: &str| PeopleFilter {
        query: Some(q.into()),
        ..filter()
    };
    // Names, any case.
    assert_eq!(
        list(s, id, query("lee")).await,
        ["Ann Lee", "Sam Lee", "Tom Lee", "Zoe Lee"]
    );
    // Every word must match, each in any field.
    assert_eq!(list(s, id, query("lee  ANN")).await, ["Ann Lee"]);
    assert_eq!(list(s, id, query("ann home.example")).await, ["Ann Lee"]);
    assert!(list(s, id, query("zoe brown")).await.is_empty());
    // Email, including an underscore in it.
    assert_eq!(
        list(s, id, query("oakfield.example")).await,
        ["Alice Hart", "Bob Nash"]
    );
    assert_eq!(
        list(s, id, query("bob_nash@oakfield.example")).await,
        ["Bob Nash"]
    );
    // MIS id.
    assert_eq!(list(s, id, query("A103")).await, ["Ivy Green"]);
    assert_eq!(list(s, id, query("p2")).await, ["Raj Brown"]);
    // `_` in the query is not a wildcard.
    assert!(list(s, id, query("b_b")).await.is_empty());
    // Filters combine.
    assert_eq!(
        list(
            s,
            id,
            PeopleFilter {
                query: Some("lee".into()),
                kind: Some(PersonKind::Pupil),
                class_name: Some("1 Fir".into()),
                ..filter()
            }
        )
        .await,
        ["Tom Lee"]
    );
    // Another school sees no one.
    assert!(list(s, id + 1, filter()).await.is_empty());

    // Paging: the total counts every match, the page holds `limit` from `offset`.
    let mut seen = Vec::new();
    for offset in [0, 2, 4] {
        let page = s
            .list_people(
                id,
                &PeopleFilter {
                    limit: 2,
                    offset,
                    ..pupils.clone()
                },
            )
            .await
            .unwrap();
        assert_eq!(page.total, 5);
        assert_eq!(page.people.len(), if offset == 4 { 1 } else { 2 });
        seen.extend(names(&page.people));
    }
    assert_eq!(seen, list(s, id, pupils.clone()).await);
    let beyond = s
        .list_people(
            id,
            &PeopleFilter {
                offset: 10,
                ..pupils.clone()
            },
        )
        .await
        .unwrap();
    assert_eq!((beyond.people.len(), beyond.total), (0, 5));
}

#[tokio::test]
async fn facets_and_counts() {
    let (_dir, store, school) = populated().await;
    let s = store.as_ref();
    let facets = s.facets(school.id).await.unwrap();
    assert_eq!(facets.year_groups, ["N", "R", "1", "3", "10"]);
    let mut sorted = facets.classes.clone();
    sorted.sort();
    assert_eq!(facets.classes, sorted);
    assert_eq!(
        facets.classes,
        ["1 Fir", "10 Yew", "3 Oak", "N Elm", "R Ash"]
    );
    assert_eq!(
        s.count_by_kind(school.id).await.unwrap(),
        [
            (PersonKind::Staff, 2),
            (PersonKind::Pupil, 5),
            (PersonKind::Parent, 2)
        ]
    );
    let empty = s.facets(school.id + 1).await.unwrap();
    assert!(empty.year_groups.is_empty() && empty.classes.is_empty());
    assert!(s.count_by_kind(school.id + 1).await.unwrap().is_empty());
}

/// The pupils file with Tom (A104) gone and Zoe moved class.
const PUPILS_LATER_CSV: &str = "UPN,Forename,Surname,Year,Class
A100,Zoe,Lee,3,3 Birch
A101,Sam,Lee,R,R Ash
A102,Max,Brown,N,N Elm
A103,Ivy,Green,10,10 Yew
";

#[tokio::test]
async fn a_full_import_marks_missing_people_as_leavers_and_keeps_them() {
    let (dir, store, school) = populated().await;
    let s = store.as_ref();
    let tom = by_mis_id(s, school.id, "A104").await;

    let p = plan(s, school.id, PersonKind::Pupil, PUPILS_LATER_CSV, true).await;
    assert_eq!(p.leavers.len(), 1);
    assert_eq!(p.leavers[0].id, tom.id);
    let out = s
        .apply_import(
            school.id,
            &p,
            at(300),
            event("cli", "people.import", None),
            &|_| {},
        )
        .await
        .unwrap();
    assert_eq!(
        out,
        ImportOutcome {
            updated: 1,
            leavers: 1,
            ..ImportOutcome::default()
        }
    );

    // Tom's row is kept, inactive, and left out unless asked for.
    let rec = s.person(school.id, tom.id).await.unwrap().unwrap();
    assert!(!rec.person.active);
    assert_eq!(rec.person.details, tom.details);
    assert_eq!(rec.updated_at, at(300));
    let pupils = PeopleFilter {
        kind: Some(PersonKind::Pupil),
        ..filter()
    };
    assert_eq!(
        list(s, school.id, pupils.clone()).await,
        ["Max Brown", "Ivy Green", "Sam Lee", "Zoe Lee"]
    );
    let everyone = s
        .list_people(
            school.id,
            &PeopleFilter {
                include_inactive: true,
                ..pupils
            },
        )
        .await
        .unwrap();
    assert_eq!(everyone.total, 5);
    assert!(everyone.people.iter().any(|p| p.id == tom.id && !p.active));
    assert!(
        s.people_for_import(school.id, PersonKind::Pupil)
            .await
            .unwrap()
            .iter()
            .any(|p| p.id == tom.id && !p.active)
    );
    assert!(
        s.pupil_mis_ids(school.id)
            .await
            .unwrap()
            .contains(&MisId::parse("A104").unwrap())
    );
    assert_eq!(
        s.count_by_kind(school.id).await.unwrap(),
        [
            (PersonKind::Staff, 2),
            (PersonKind::Pupil, 4),
            (PersonKind::Parent, 2)
        ]
    );
    // Facets are of active people only; the new class has its group.
    let facets = s.facets(school.id).await.unwrap();
    assert_eq!(facets.year_groups, ["N", "R", "3", "10"]);
    assert_eq!(facets.classes, ["10 Yew", "3 Birch", "N Elm", "R Ash"]);
    let pool = raw(&dir).await;
    let birch: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM groups WHERE name = 'Class 3 Birch' AND source = 'class'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(birch, 1);

    // The same file again changes nothing.
    let again = plan(s, school.id, PersonKind::Pupil, PUPILS_LATER_CSV, true).await;
    assert!(again.is_empty(), "{again:?}");
    assert_eq!(again.unchanged, 4);

    // Back in a later file, Tom is active again.
    let back = plan(s, school.id, PersonKind::Pupil, PUPILS_CSV, false).await;
    assert_eq!(back.updates.len(), 2);
    assert!(back.updates.iter().any(|u| u.id == tom.id && u.reactivate));
    s.apply_import(
        school.id,
        &back,
        at(400),
        event("cli", "people.import", None),
        &|_| {},
    )
    .await
    .unwrap();
    assert!(
        s.person(school.id, tom.id)
            .await
            .unwrap()
            .unwrap()
            .person
            .active
    );
}

#[tokio::test]
async fn re_applying_each_file_plans_nothing() {
    let (_dir, store, school) = populated().await;
    let s = store.as_ref();
    for (kind, csv) in [
        (PersonKind::Staff, STAFF_CSV),
        (PersonKind::Pupil, PUPILS_CSV),
        (PersonKind::Parent, PARENTS_CSV),
    ] {
        let p = plan(s, school.id, kind, csv, true).await;
        assert!(p.is_empty(), "{kind}: {p:?}");
    }

    // A parent gaining a child is an update that adds only the new link.
    let more = "Parent ID,First name,Last name,Email,Child UPN
P1,Ann,Lee,ann.lee@home.example,A100;A101;A104
P2,Raj,Brown,,A102
";
    let out = import(s, school.id, PersonKind::Parent, more, false).await;
    assert_eq!(
        out,
        ImportOutcome {
            updated: 1,
            links_added: 1,
            ..ImportOutcome::default()
        }
    );
    let ann = by_mis_id(s, school.id, "P1").await;
    let rec = s.person(school.id, ann.id).await.unwrap().unwrap();
    assert_eq!(ref_names(&rec.children), ["Sam Lee", "Tom Lee", "Zoe Lee"]);
    assert!(
        plan(s, school.id, PersonKind::Parent, more, true)
            .await
            .is_empty()
    );
}
