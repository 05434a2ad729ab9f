//! `GET /metrics` in the Prometheus text format (0.0.4). Served only when configured: with a
//! bearer token (`--metrics-token`) on the main address, and/or on an address of its own
//! (`--metrics-bind`) that only a scraper can reach. The token is kept as its SHA-256 and compared
//! in constant time; it is never logged.

use crate::db::vocab::JobState;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The shortest token accepted: a scrape token is a long random secret, not a password.
pub const MIN_TOKEN: usize = 32;

/// Who may scrape.
#[derive(Clone, Default)]
pub struct Access {
    /// SHA-256 of the bearer token every scrape must present; None: no token.
    token: Option<[u8; 32]>,
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Access")
            .field("token", &self.token.map(|_| "***"))
            .finish()
    }
}

impl Access {
    /// From the settings: a token (checked for length by the caller).
    pub fn new(token: Option<&str>) -> Access {
        Access {
            token: token.map(|t| Sha256::digest(t.as_bytes()).into()),
        }
    }

    /// Whether the main address serves /metrics: only behind a token.
    pub fn on_main(&self) -> bool {
        self.token.is_some()
    }

    fn allows(&self, headers: &HeaderMap) -> bool {
        let Some(want) = &self.token else {
            return true;
        };
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim());
        let Some(presented) = presented else {
            return false;
        };
        let got: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        got.ct_eq(want).into()
    }
}

/// The `/metrics` route, for the main router (when [`Access::on_main`]) or an address of its own.
pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(scrape))
}

async fn scrape(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if !state.settings.metrics.allows(&headers) {
        let mut r = (StatusCode::UNAUTHORIZED, "a metrics bearer token is required\n").into_response();
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"provisio metrics\""),
        );
        return r;
    }
    // One scrape at a time: the database's gauges are cleared and filled again.
    static SCRAPE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _one = SCRAPE.lock().await;
    if let Err(e) = refresh(&state.pool).await {
        // The counters are still worth having; the database's gauges keep their last values.
        tracing::warn!(error = %e, "metrics: cannot read the applications' health");
    }
    let mut body = String::with_capacity(16 * 1024);
    if let Err(e) = prometheus_client::encoding::prometheus_text::encode(&mut body, &super::m().registry) {
        tracing::error!(error = %e, "metrics: cannot encode");
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(prometheus_client::encoding::prometheus_text::CONTENT_TYPE),
        )],
        body,
    )
        .into_response()
}

/// The gauges read at each scrape: this instance's pool, and every application's escrows,
/// quarantine and running cycle (one query).
async fn refresh(pool: &crate::db::Pool) -> sqlx::Result<()> {
    let m = super::m();
    let size = i64::from(pool.size());
    let idle = pool.num_idle() as i64;
    for (state, n) in [
        ("in_use", size - idle),
        ("idle", idle),
        ("max", i64::from(pool.options().get_max_connections())),
    ] {
        m.pool_connections
            .get_or_create(&super::StateLabels { state })
            .set(n);
    }
    let apps = crate::db::health::all(pool).await?;
    for family in [&m.app_escrowed, &m.app_quarantined, &m.app_running] {
        family.clear();
    }
    for a in apps {
        let labels = super::AppLabels {
            app: a.app_id,
            name: a.app_name,
        };
        m.app_escrowed.get_or_create(&labels).set(a.escrowed);
        m.app_quarantined
            .get_or_create(&labels)
            .set(i64::from(a.job_state == Some(JobState::Quarantine)));
        m.app_running.get_or_create(&labels).set(i64::from(a.running));
    }
    Ok(())
}
