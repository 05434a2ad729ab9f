//! The state every handler and server function shares: the resolved settings, the database,
//! and the long-lived parts (throttle, SCIM runtime, sealer, outbound client, scheduler). Below
//! `api/`, `scim_server/` and `server`, which all take it; it imports none of them.

use crate::auth::throttle::Throttle;
use crate::config::DatabaseTarget;
use crate::db::Pool;
use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Settings the running server needs, resolved and validated.
#[derive(Debug)]
pub struct Settings {
    pub public_url: String,
    pub database: DatabaseTarget,
    pub trust_forwarded_for: bool,
    pub session_idle: Duration,
    pub started: Instant,
    /// How long requests to applications' SCIM endpoints wait for an answer.
    pub outbound_timeout: Duration,
    /// Days provisioning logs, cycles and sent emails are kept.
    pub log_retention_days: i64,
    pub audit_retention_days: i64,
    /// Who may scrape `/metrics`, and whether the main address serves it.
    pub metrics: crate::metrics::endpoint::Access,
}

/// Shared by every handler and server function (server functions get it from Leptos's context).
#[derive(Clone)]
pub struct AppState {
    pub pool: Pool,
    pub settings: Arc<Settings>,
    pub throttle: Arc<Throttle>,
    pub leptos_options: LeptosOptions,
    pub scim: Arc<crate::scim_server::service::Runtime>,
    pub scim_last_used: Arc<crate::scim_server::auth::LastUsed>,
    /// Progress of directory imports running in the background.
    pub imports: Arc<crate::directory::import::Progress>,
    /// Seals and opens stored secrets (applications' secret tokens).
    pub sealer: Arc<crate::secrets::Sealer>,
    /// The HTTP client for applications' SCIM endpoints (keep-alive, bounded timeouts).
    pub outbound: reqwest::Client,
    /// Runs provisioning jobs.
    pub scheduler: Arc<crate::provisioning::worker::Scheduler>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
