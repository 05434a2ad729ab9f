//! What an operator runs Provisio by, for Prometheus: one set of metric families per process,
//! recorded where things happen (requests, SCIM operations, write transactions, cycles, outbound
//! requests, emails) and read at each scrape of `GET /metrics` (see [`endpoint`]), where the
//! gauges that live in the database (escrows, quarantine) are read too.
//!
//! Labels are bounded: route families and operations are closed sets, statuses are HTTP codes,
//! accounts are authenticated account ids only (a request to an unknown account is counted under
//! `unauthenticated`, so nobody can make up series), applications are ids (their names are on the
//! `provisio_app_*` gauges, read afresh at each scrape).

pub mod endpoint;
pub mod http;

use crate::model::CycleCounts;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::LazyLock;
use std::time::Duration;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    family: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FamilyLabels {
    family: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ScimLabels {
    account: String,
    operation: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ScopeLabels {
    scope: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CycleLabels {
    app: String,
    kind: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ObjectLabels {
    app: String,
    action: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutboundLabels {
    app: String,
    /// The HTTP status, or `error` when no answer came (refused, timed out, reset).
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AppLabels {
    app: String,
    name: String,
}

/// Seconds, from half a millisecond to about half a minute.
fn latency() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

type Latencies<L> = Family<L, Histogram, fn() -> Histogram>;

pub struct Metrics {
    registry: Registry,
    http_requests: Family<HttpLabels, Counter>,
    http_seconds: Latencies<FamilyLabels>,
    scim_operations: Family<ScimLabels, Counter>,
    scim_turn_seconds: Histogram,
    scim_turns_refused: Counter,
    write_wait_seconds: Latencies<ScopeLabels>,
    pool_connections: Family<StateLabels, Gauge>,
    cycles: Family<CycleLabels, Counter>,
    cycle_objects: Family<ObjectLabels, Counter>,
    outbound: Family<OutboundLabels, Counter>,
    emails: Family<OutcomeLabels, Counter>,
    app_escrowed: Family<AppLabels, Gauge>,
    app_quarantined: Family<AppLabels, Gauge>,
    app_running: Family<AppLabels, Gauge>,
}

impl Metrics {
    fn new() -> Metrics {
        let mut m = Metrics {
            registry: Registry::with_prefix("provisio"),
            http_requests: Family::default(),
            http_seconds: Family::new_with_constructor(latency),
            scim_operations: Family::default(),
            scim_turn_seconds: latency(),
            scim_turns_refused: Counter::default(),
            write_wait_seconds: Family::new_with_constructor(latency),
            pool_connections: Family::default(),
            cycles: Family::default(),
            cycle_objects: Family::default(),
            outbound: Family::default(),
            emails: Family::default(),
            app_escrowed: Family::default(),
            app_quarantined: Family::default(),
            app_running: Family::default(),
        };
        let r = &mut m.registry;
        r.register(
            "http_requests",
            "HTTP requests answered, by route family (scim, server_fn, page, asset, health, metrics) and status",
            m.http_requests.clone(),
        );
        r.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request (until the response head), by route family",
            m.http_seconds.clone(),
        );
        r.register(
            "scim_operations",
            "SCIM requests answered, by account, operation and status",
            m.scim_operations.clone(),
        );
        r.register(
            "scim_account_turn_wait_seconds",
            "Time an authenticated SCIM request waited for one of its account's turns (the per-account bound on requests in progress)",
            m.scim_turn_seconds.clone(),
        );
        r.register(
            "scim_account_turns_refused",
            "SCIM requests answered 429 because their account kept every turn busy too long",
            m.scim_turns_refused.clone(),
        );
        r.register(
            "db_write_wait_seconds",
            "Time a write transaction waited before it could start, by what it excludes (rows, directory, app, console)",
            m.write_wait_seconds.clone(),
        );
        r.register(
            "db_pool_connections",
            "Database connections of this instance's pool: in_use, idle and max",
            m.pool_connections.clone(),
        );
        r.register(
            "provisioning_cycles",
            "Provisioning cycles ended on this instance, by application id, kind and outcome",
            m.cycles.clone(),
        );
        r.register(
            "provisioning_objects",
            "Objects provisioning cycles acted on, by application id and action",
            m.cycle_objects.clone(),
        );
        r.register(
            "outbound_requests",
            "Requests sent to applications' SCIM endpoints, by application id and status (error: no answer)",
            m.outbound.clone(),
        );
        r.register(
            "emails",
            "Failure emails, by outcome (sent, failed: to be tried again)",
            m.emails.clone(),
        );
        r.register(
            "app_escrowed_objects",
            "Objects in escrow (failed, to be retried), per application",
            m.app_escrowed.clone(),
        );
        r.register(
            "app_quarantined",
            "1 while an application's provisioning job is in quarantine",
            m.app_quarantined.clone(),
        );
        r.register(
            "app_cycle_running",
            "1 while a provisioning cycle of the application runs (on any instance)",
            m.app_running.clone(),
        );
        m
    }
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

fn m() -> &'static Metrics {
    &METRICS
}

/// An HTTP request answered.
pub fn http_request(family: RouteFamily, status: u16, took: Duration) {
    let family = family.as_str();
    m().http_requests
        .get_or_create(&HttpLabels { family, status })
        .inc();
    m().http_seconds
        .get_or_create(&FamilyLabels { family })
        .observe(took.as_secs_f64());
}

/// The route families requests are counted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteFamily {
    Scim,
    ServerFn,
    Page,
    Asset,
    Health,
    Metrics,
}

impl RouteFamily {
    pub fn of(path: &str) -> RouteFamily {
        if path.starts_with("/gateway/") {
            RouteFamily::Scim
        } else if path.starts_with("/api/") {
            RouteFamily::ServerFn
        } else if matches!(path, "/healthz" | "/readyz") {
            RouteFamily::Health
        } else if path == "/metrics" {
            RouteFamily::Metrics
        } else if crate::server::is_static_asset(path) {
            RouteFamily::Asset
        } else {
            RouteFamily::Page
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RouteFamily::Scim => "scim",
            RouteFamily::ServerFn => "server_fn",
            RouteFamily::Page => "page",
            RouteFamily::Asset => "asset",
            RouteFamily::Health => "health",
            RouteFamily::Metrics => "metrics",
        }
    }
}

/// A SCIM request answered; `account` is None when it was not authenticated.
pub fn scim_operation(account: Option<&str>, operation: &'static str, status: u16) {
    m().scim_operations
        .get_or_create(&ScimLabels {
            account: account.unwrap_or("unauthenticated").to_string(),
            operation,
            status,
        })
        .inc();
}

/// An authenticated SCIM request got its account's turn after `waited`, or (None) gave up.
pub fn scim_turn(waited: Option<Duration>) {
    match waited {
        Some(w) => m().scim_turn_seconds.observe(w.as_secs_f64()),
        None => {
            m().scim_turns_refused.inc();
        }
    }
}

/// A write transaction started after `waited` (see `db::Exclusive`).
pub fn write_wait(scope: &'static str, waited: Duration) {
    m().write_wait_seconds
        .get_or_create(&ScopeLabels { scope })
        .observe(waited.as_secs_f64());
}

/// A provisioning cycle ended.
pub fn cycle(app: &str, kind: &'static str, outcome: &'static str, c: &CycleCounts) {
    m().cycles
        .get_or_create(&CycleLabels {
            app: app.to_string(),
            kind,
            outcome,
        })
        .inc();
    for (action, n) in [
        ("created", c.created),
        ("updated", c.updated),
        ("disabled", c.disabled),
        ("deleted", c.deleted),
        ("skipped", c.skipped),
        ("failed", c.failed),
    ] {
        if n > 0 {
            m().cycle_objects
                .get_or_create(&ObjectLabels {
                    app: app.to_string(),
                    action,
                })
                .inc_by(n as u64);
        }
    }
}

/// A request to an application's SCIM endpoint answered with `status` (None: no answer).
pub fn outbound(app: &str, status: Option<u16>) {
    m().outbound
        .get_or_create(&OutboundLabels {
            app: app.to_string(),
            status: status.map_or_else(|| "error".to_string(), |s| s.to_string()),
        })
        .inc();
}

/// A failure email sent, or failed (to be tried again).
pub fn email(sent: bool) {
    m().emails
        .get_or_create(&OutcomeLabels {
            outcome: if sent { "sent" } else { "failed" },
        })
        .inc();
}
