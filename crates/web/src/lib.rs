//! The web application: admin pages, sign-in, the JSON API and health checks.
//!
//! Handlers live in [`views`], one module per feature: each extracts the request, calls a
//! service on [`gatehouse_service::Gatehouse`] and renders a typed askama template from
//! `templates/`. [`security`] adds the response headers (strict CSP, no framing) and checks
//! the CSRF token of every state-changing request; [`session`] turns the session cookie
//! into the signed-in [`session::Viewer`]. [`views::doh`] answers DNS over HTTPS for the
//! school's registered devices with the running DNS filter.

pub mod error;
pub mod pdf;
pub mod security;
pub mod session;
pub mod views;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use gatehouse_service::Gatehouse;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

/// The largest request body accepted (an MIS export of a large school fits easily).
pub const MAX_BODY_BYTES: usize = 20 * 1024 * 1024;

/// How the web application is set up.
#[derive(Debug, Clone, Default)]
pub struct WebSettings {
    /// Mark cookies `Secure` (set when served over HTTPS, directly or behind a proxy).
    pub secure_cookies: bool,
    /// Shown on every page when set (e.g. "Demo school: data is fictional").
    pub banner: Option<String>,
    /// Other parts of the installation reported by `/healthz` (the DNS filter, the
    /// activity log).
    pub health: Option<HealthProbe>,
    /// This server's own host names (lower case, no port). A request naming any other
    /// host gets the block page, when the web filter runs. Empty: no block page.
    pub own_hosts: Vec<String>,
    /// The captive portal's address, linked from the block page (e.g.
    /// `http://gatehouse.school.example/portal`).
    pub portal_url: String,
    /// The running DNS filter, which answers DNS over HTTPS at `/dns-query`; `None` when
    /// the DNS filter is not running (then `/dns-query` answers 503).
    pub dns: Option<Arc<gatehouse_dns::DnsService>>,
    /// The filtering groups (policy names) a device may be assigned to; empty when not
    /// known (then any well-formed name is accepted).
    pub filter_groups: Vec<String>,
    /// Reverse proxies whose `X-Forwarded-For` header names the client of a DNS-over-HTTPS
    /// request (a request from any other address is its own client).
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

/// A part of the installation `/healthz` reports on: `report()` gives its figures as a
/// JSON object and whether it is working as it should (e.g. no activity event dropped).
#[derive(Clone)]
pub struct HealthProbe(Arc<dyn Fn() -> (serde_json::Value, bool) + Send + Sync>);

impl HealthProbe {
    /// A probe calling `f` on every health check.
    pub fn new(f: impl Fn() -> (serde_json::Value, bool) + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }

    /// The figures and whether all is well.
    pub fn report(&self) -> (serde_json::Value, bool) {
        (self.0)()
    }
}

impl std::fmt::Debug for HealthProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HealthProbe")
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The services.
    pub app: Gatehouse,
    /// Web settings.
    pub settings: Arc<WebSettings>,
    /// Uploaded import files waiting for the user to confirm the preview.
    pub pending_imports: Arc<views::import::PendingImports>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

/// Build the application's router.
pub fn router(app: Gatehouse, settings: WebSettings) -> Router {
    let state = AppState {
        app,
        settings: Arc::new(settings),
        pending_imports: Arc::default(),
    };
    views::routes()
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            views::blocked::intercept,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            security::csrf,
        ))
        .layer(axum::middleware::from_fn(error::friendly))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            error::panicked,
        ))
        .layer(axum::middleware::from_fn(security::headers))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// Serve on an already bound listener until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
