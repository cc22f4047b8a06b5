//! The people directory (`/people`, searchable and filterable, live with htmx) and the
//! person page (`/people/{id}`, an audited read).

use super::{Chrome, render};
use crate::AppState;
use crate::error::WebError;
use crate::session::Viewer;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Response};
use gatehouse_domain::people::{PersonKind, YearGroup};
use gatehouse_store::{Facets, PeopleFilter, Person, PersonRecord};
use serde::Deserialize;

const PAGE_SIZE: i64 = 50;

/// The directory's query string.
#[derive(Debug, Deserialize, Default)]
pub struct DirectoryQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    year: String,
    #[serde(default)]
    class: String,
    #[serde(default)]
    leavers: String,
    #[serde(default)]
    page: Option<i64>,
}

/// A row of the directory.
#[derive(Debug)]
pub struct Row {
    id: i64,
    name: String,
    kind: &'static str,
    detail: String,
    active: bool,
}

impl From<&Person> for Row {
    fn from(p: &Person) -> Self {
        let d = &p.details;
        let detail = match d.kind {
            PersonKind::Pupil => [
                d.year_group.map(|y| y.to_string()),
                d.class_name.as_ref().map(ToString::to_string),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" · "),
            _ => d
                .job_title
                .as_ref()
                .map(ToString::to_string)
                .or_else(|| d.email.as_ref().map(ToString::to_string))
                .unwrap_or_default(),
        };
        Self {
            id: p.id,
            name: format!("{}, {}", d.last_name, d.first_name),
            kind: d.kind.as_str(),
            detail,
            active: p.active,
        }
    }
}

/// An option in a filter's drop-down.
#[derive(Debug)]
pub struct Choice {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "people.html")]
struct DirectoryPage {
    chrome: Chrome,
    q: String,
    kinds: Vec<Choice>,
    years: Vec<Choice>,
    classes: Vec<Choice>,
    leavers: bool,
    results: Results,
}

/// The results part, also sent alone to htmx.
#[derive(Template)]
#[template(path = "people_results.html")]
pub struct Results {
    rows: Vec<Row>,
    total: i64,
    page: i64,
    pages: i64,
    prev_href: Option<String>,
    next_href: Option<String>,
}

fn choices(values: impl IntoIterator<Item = (String, String)>, selected: &str) -> Vec<Choice> {
    values
        .into_iter()
        .map(|(value, label)| Choice {
            selected: value == selected,
            value,
            label,
        })
        .collect()
}

fn page_href(q: &DirectoryQuery, page: i64) -> String {
    let params = [
        ("q", q.q.as_str()),
        ("kind", q.kind.as_str()),
        ("year", q.year.as_str()),
        ("class", q.class.as_str()),
        ("leavers", q.leavers.as_str()),
    ];
    let mut pairs: Vec<(&str, String)> = params
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k, v.to_owned()))
        .collect();
    pairs.push(("page", page.to_string()));
    format!(
        "/people?{}",
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    )
}

/// `GET /people`: the whole page, or only the results when htmx asks.
pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Query(q): Query<DirectoryQuery>,
) -> Result<Response, WebError> {
    let kind = match q.kind.as_str() {
        "" => None,
        k => Some(
            k.parse::<PersonKind>()
                .map_err(|e| WebError::BadRequest(e.to_string()))?,
        ),
    };
    let page = q.page.unwrap_or(1).max(1);
    let filter = PeopleFilter {
        query: Some(q.q.clone()).filter(|s| !s.trim().is_empty()),
        kind,
        year_group: Some(q.year.clone()).filter(|s| !s.is_empty()),
        class_name: Some(q.class.clone()).filter(|s| !s.is_empty()),
        include_inactive: q.leavers == "on",
        limit: PAGE_SIZE,
        offset: (page - 1) * PAGE_SIZE,
    };
    let found = state.app.people(&viewer.actor, &filter).await?;
    let pages = ((found.total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    let results = Results {
        rows: found.people.iter().map(Row::from).collect(),
        total: found.total,
        page,
        pages,
        prev_href: (page > 1).then(|| page_href(&q, page - 1)),
        next_href: (page < pages).then(|| page_href(&q, page + 1)),
    };
    if headers.contains_key("hx-request") && !headers.contains_key("hx-boosted") {
        return Ok(render(&results)?.into_response());
    }
    let Facets {
        year_groups,
        classes,
    } = state.app.people_facets(&viewer.actor).await?;
    let page = DirectoryPage {
        chrome: Chrome::for_viewer(&state, &viewer, "/people").await,
        kinds: choices(
            PersonKind::ALL.map(|k| (k.as_str().to_owned(), k.plural_label().to_owned())),
            &q.kind,
        ),
        years: choices(
            year_groups.into_iter().map(|y| {
                let label = YearGroup::parse(&y)
                    .map(|g| g.to_string())
                    .unwrap_or_else(|_| y.clone());
                (y, label)
            }),
            &q.year,
        ),
        classes: choices(classes.into_iter().map(|c| (c.clone(), c)), &q.class),
        leavers: q.leavers == "on",
        q: q.q,
        results,
    };
    Ok(render(&page)?.into_response())
}

#[derive(Template)]
#[template(path = "person.html")]
struct PersonPage {
    chrome: Chrome,
    r: PersonRecord,
    facts: Vec<(&'static str, String)>,
}

/// `GET /people/{id}`.
pub async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Html<String>, WebError> {
    let r = state.app.person(&viewer.actor, id).await?;
    let d = &r.person.details;
    let facts: Vec<(&'static str, String)> = [
        ("Kind", Some(d.kind.label().to_owned())),
        ("MIS id", d.mis_id.as_ref().map(ToString::to_string)),
        ("Email", d.email.as_ref().map(ToString::to_string)),
        ("Year group", d.year_group.map(|y| y.to_string())),
        ("Class", d.class_name.as_ref().map(ToString::to_string)),
        ("Job title", d.job_title.as_ref().map(ToString::to_string)),
        (
            "Started",
            d.start_date.map(|x| x.strftime("%-d %B %Y").to_string()),
        ),
        (
            "Left",
            d.leave_date.map(|x| x.strftime("%-d %B %Y").to_string()),
        ),
        (
            "Status",
            Some(if r.person.active { "Current" } else { "Leaver" }.to_owned()),
        ),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| (k, v)))
    .collect();
    render(&PersonPage {
        chrome: Chrome::for_viewer(&state, &viewer, "/people").await,
        r,
        facts,
    })
}
