//! Page handlers, one module per feature. Each handler extracts, calls one service on
//! [`gatehouse_service::Gatehouse`] and renders a typed template.

pub mod account;
pub mod activity;
pub mod agreements;
pub mod alerts;
pub mod api;
pub mod assets;
pub mod audit;
pub mod auth;
pub mod blocked;
pub mod demo_clock;
pub mod devices;
pub mod doh;
pub mod health;
pub mod home;
pub mod import;
pub mod incidents;
pub mod people;
pub mod portal;
pub mod sign;
pub mod signatures;
pub mod unblock;

use crate::AppState;
use crate::error::WebError;
use crate::session::Viewer;
use askama::Template;
use axum::Router;
use axum::response::Html;
use axum::routing::{get, post};
use gatehouse_domain::permissions::{Action, Resource};

/// Every route of the application.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home::show))
        .route("/login", get(auth::login_form).post(auth::login))
        .route("/login/code", get(auth::code_form).post(auth::code))
        .route("/logout", post(auth::logout))
        .route("/people", get(people::list))
        .route("/people/{id}", get(people::show))
        .route("/people/import", get(import::form).post(import::preview))
        .route("/people/import/apply", post(import::apply))
        .route("/sign", get(sign::show).post(sign::sign))
        .route("/agreements", get(agreements::list))
        .route(
            "/agreements/new",
            get(agreements::new_form).post(agreements::create),
        )
        .route(
            "/agreements/{id}",
            get(agreements::show).post(agreements::act),
        )
        .route("/agreements/{id}/register", get(agreements::register))
        .route("/people/{id}/agreements", get(signatures::show))
        .route("/people/{id}/agreements/paper", post(signatures::paper))
        .route(
            "/people/{id}/agreements/withdraw",
            post(signatures::withdraw),
        )
        .route("/people/{id}/agreements/{seq}", get(signatures::copy))
        .route("/people/{id}/agreements/{seq}/scan", get(signatures::scan))
        .route("/people/{id}/agreements/{seq}/pdf", get(signatures::pdf))
        .route("/api/v1/people/{id}/agreements", get(api::agreements))
        .route("/account", get(account::show))
        .route("/account/password", post(account::change_password))
        .route(
            "/account/mfa",
            get(account::mfa_form).post(account::mfa_confirm),
        )
        .route("/portal", get(portal::show))
        .route("/portal/connect", post(portal::connect))
        .route("/portal/disconnect", post(portal::disconnect))
        .route(
            "/portal/visitor",
            get(portal::visitor_form).post(portal::register_visitor),
        )
        .route("/alerts", get(alerts::list))
        .route("/alerts/{id}", get(alerts::show).post(alerts::triage))
        .route("/activity", get(activity::search))
        .route("/activity/export", get(activity::export))
        .route("/unblock-requests", get(unblock::list))
        .route("/unblock-requests/{id}", post(unblock::decide))
        .route("/incidents", get(incidents::list))
        .route(
            "/incidents/new",
            get(incidents::report_form).post(incidents::report),
        )
        .route("/incidents/{id}", get(incidents::show))
        .route("/incidents/{id}/entries", post(incidents::add_entry))
        .route("/incidents/{id}/status", post(incidents::status))
        .route("/incidents/{id}/people", post(incidents::add_person))
        .route("/incidents/{id}/sanctions", post(incidents::sanction))
        .route(
            "/incidents/{id}/sanctions/{override_id}/lift",
            post(incidents::lift),
        )
        .route("/incidents/{id}/breach", post(incidents::breach))
        .route("/incidents/{id}/evidence", post(incidents::add_evidence))
        .route(
            "/incidents/{id}/evidence/{attachment}",
            get(incidents::evidence),
        )
        .route("/breaches", get(incidents::breach_log))
        .route("/breaches/export", get(incidents::breach_export))
        .route("/api/v1/incidents", get(incidents::api_list))
        .route(
            "/demo/clock",
            get(demo_clock::show).post(demo_clock::advance),
        )
        .route("/audit", get(audit::search))
        .route("/audit/verify", post(audit::verify))
        .route("/devices", get(devices::list).post(devices::register))
        .route("/devices/{id}/revoke", post(devices::revoke))
        .route("/devices/{id}/assign", post(devices::reassign))
        .route("/dns-query", get(doh::query).post(doh::query))
        .route(
            "/dns-query/{token}",
            get(doh::device_query).post(doh::device_query),
        )
        .route("/healthz", get(health::check))
        .route("/api/v1/me", get(api::me))
        .route("/api/v1/alerts", get(api::alerts))
        .route("/api/v1/people", get(api::people))
        .route("/static/{file}", get(assets::file))
        .fallback(|| async { WebError::NotFound })
}

/// A link in the navigation bar.
#[derive(Debug, Clone)]
pub struct NavLink {
    /// Target.
    pub href: &'static str,
    /// Text.
    pub label: &'static str,
    /// The page being shown is under this link.
    pub current: bool,
}

/// What the page frame (header, navigation, banner) needs.
#[derive(Debug, Clone, Default)]
pub struct Chrome {
    /// Signed-in person's name.
    pub user: Option<String>,
    /// Navigation links allowed to them.
    pub nav: Vec<NavLink>,
    /// CSRF token for the sign-out form and htmx.
    pub csrf: String,
    /// Installation banner (e.g. demo notice).
    pub banner: Option<String>,
    /// The school's name.
    pub school: String,
}

impl Chrome {
    /// The frame for a signed-in viewer, `section` naming the current nav link.
    pub async fn for_viewer(state: &AppState, viewer: &Viewer, section: &str) -> Self {
        let a = &viewer.actor;
        let mut nav = vec![NavLink {
            href: "/",
            label: "Home",
            current: section == "/",
        }];
        let mut add = |ok: bool, href: &'static str, label: &'static str| {
            if ok {
                nav.push(NavLink {
                    href,
                    label,
                    current: section == href,
                });
            }
        };
        add(a.can(Action::View, Resource::People), "/people", "People");
        add(
            a.can(Action::Edit, Resource::People),
            "/people/import",
            "Import",
        );
        add(
            a.can(Action::View, Resource::Policies),
            "/agreements",
            "Agreements",
        );
        add(a.can(Action::View, Resource::Alerts), "/alerts", "Alerts");
        add(
            a.can(Action::View, Resource::Activity),
            "/activity",
            "Activity",
        );
        add(
            a.can(Action::View, Resource::UnblockRequests),
            "/unblock-requests",
            "Unblock requests",
        );
        add(
            a.can(Action::View, Resource::Devices),
            "/devices",
            "Devices",
        );
        add(
            a.can(Action::View, Resource::AuditLog),
            "/audit",
            "Audit log",
        );
        add(
            a.roles
                .iter()
                .any(|r| gatehouse_domain::permissions::may_report_incident(*r)),
            "/incidents",
            if a.roles
                .iter()
                .all(|r| *r == gatehouse_domain::permissions::Role::Pupil)
            {
                "Tell someone"
            } else {
                "Incidents"
            },
        );
        add(state.app.filter.is_some(), "/portal", "Internet");
        add(
            state.app.demo_clock.is_some() && a.can(Action::View, Resource::DemoClock),
            "/demo/clock",
            "Demo clock",
        );
        add(true, "/account", "My account");
        Self {
            user: Some(viewer.display_name()),
            nav,
            csrf: viewer.csrf().to_owned(),
            banner: state.settings.banner.clone(),
            school: school_name(state).await,
        }
    }

    /// The frame for a page seen before sign-in.
    pub async fn anonymous(state: &AppState, csrf: String) -> Self {
        Self {
            csrf,
            banner: state.settings.banner.clone(),
            school: school_name(state).await,
            ..Self::default()
        }
    }
}

async fn school_name(state: &AppState) -> String {
    state
        .app
        .school()
        .await
        .map(|s| s.name)
        .unwrap_or_else(|_| "Gatehouse".into())
}

/// Render a template as an HTML response.
pub fn render(t: &impl Template) -> Result<Html<String>, WebError> {
    Ok(Html(t.render()?))
}
