//! The HTTP server: the router and its middleware, health endpoints, start-up
//! (settings, database, first administrator) and graceful shutdown.

use crate::audit::{self, Actor, Outcome};
use crate::auth::session::{self, CurrentUser};
use crate::auth::throttle::{Limits, Throttle};
use crate::config::{self, CommonArgs, DatabaseTarget, ServeArgs, SettingsError};
use crate::db::{self, Pool};
use crate::model::Role;
use crate::state::{AppState, Settings};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use tower_sessions::{ExpiredDeletion, Expiry, SessionManagerLayer};

/// Why the server could not start: a bad setting (exit code 2) or anything else (exit code 1).
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

pub fn plain_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        message.to_string(),
    )
        .into_response()
}

/// The site on disk named by `--site-root` (or `LEPTOS_SITE_ROOT`): it overrides the embedded
/// bundle (development).
fn site_on_disk(site_root: Option<&std::path::Path>) -> Option<String> {
    site_root
        .map(|p| p.display().to_string())
        .or_else(|| std::env::var("LEPTOS_SITE_ROOT").ok())
        .filter(|s| !s.trim().is_empty())
}

/// Whether the browser bundle is served from the binary (see assets.rs).
fn serves_embedded(site_root: Option<&std::path::Path>) -> bool {
    crate::assets::embedded() && site_on_disk(site_root).is_none()
}

fn leptos_options(site_root: Option<&std::path::Path>) -> LeptosOptions {
    let embedded = serves_embedded(site_root);
    let site_root = site_on_disk(site_root).unwrap_or_else(|| "target/site".into());
    let output_name = std::env::var("LEPTOS_OUTPUT_NAME").unwrap_or_else(|_| "provisio".into());
    LeptosOptions::builder()
        .output_name(output_name)
        .site_root(site_root)
        .site_pkg_dir(match embedded {
            true => crate::assets::pkg_dir(),
            false => "pkg".into(),
        })
        .build()
}

/// A started server: its address, and a handle to stop it gracefully.
pub struct Running {
    pub addr: SocketAddr,
    pub state: AppState,
    shutdown: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    render: crate::render::RenderThreads,
    /// The data directory's shared lock, held while serving.
    _lock: crate::datadir_lock::DataDirLock,
}

impl Running {
    /// Serves until SIGINT or SIGTERM, then finishes in-flight requests.
    pub async fn until_signal(self) -> anyhow::Result<()> {
        shutdown_signal().await;
        tracing::info!("shutting down: finishing requests in flight");
        self.stop().await
    }

    /// Stops accepting requests and finishes those in flight. A request that never finishes (a
    /// client that stops sending its body halfway, or stops reading a page) must not keep the
    /// process alive: after the grace period it stops all the same, and the console's render
    /// threads abandon what they still do. Writes are transactions, so nothing is left half-done.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(true);
        match tokio::time::timeout(SHUTDOWN_GRACE, self.task).await {
            Ok(served) => served??,
            Err(_) => tracing::warn!(
                seconds = SHUTDOWN_GRACE.as_secs(),
                "requests still in flight after the grace period; stopping anyway"
            ),
        }
        self.render.stop(RENDER_STOP).await;
        if tokio::time::timeout(RENDER_STOP, self.state.pool.close())
            .await
            .is_err()
        {
            tracing::warn!("database connections still in use at shutdown; stopping anyway");
        }
        Ok(())
    }
}

/// How long a shutdown waits for requests in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// How long a shutdown waits for the render threads once no request is in flight.
const RENDER_STOP: Duration = Duration::from_secs(2);

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

async fn listen(addr: SocketAddr) -> Result<tokio::net::TcpListener, SettingsError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| SettingsError::Listen {
            addr,
            reason: match e.kind() {
                std::io::ErrorKind::AddrInUse => {
                    "the address is already in use (is another provisio running?)".into()
                }
                std::io::ErrorKind::PermissionDenied => {
                    "permission denied (ports below 1024 need privileges)".into()
                }
                _ => e.to_string(),
            },
        })
}

/// Resolves the settings, opens the database, creates the first administrator when there is no
/// console user, binds the port and starts serving.
pub async fn start(common: &CommonArgs, args: &ServeArgs) -> Result<Running, StartError> {
    let bind = config::parse_bind(&args.bind)?;
    // Checked before anything else happens; the default is settled once the port is bound.
    config::parse_public_url(args.public_url.as_deref(), bind)?;
    if !(1..=10080).contains(&args.session_idle_minutes) {
        return Err(SettingsError::SessionIdle.into());
    }
    let metrics_token = args.metrics_token.as_deref().filter(|t| !t.trim().is_empty());
    if metrics_token.is_some_and(|t| t.trim().len() < crate::metrics::endpoint::MIN_TOKEN) {
        return Err(SettingsError::MetricsToken(crate::metrics::endpoint::MIN_TOKEN).into());
    }
    let metrics_bind = match args.metrics_bind.as_deref().filter(|b| !b.trim().is_empty()) {
        Some(b) => Some(config::parse_bind(b)?),
        None => None,
    };
    let data_dir = config::prepare_data_dir(&common.data_dir)?;
    let lock = crate::datadir_lock::shared(&data_dir).map_err(|reason| SettingsError::DataDir {
        path: data_dir.clone(),
        reason,
    })?;
    let database = config::resolve_database(common, &data_dir)?;
    let initial_password = initial_admin_password()?;
    let sealer = crate::secrets::Sealer::load(common.encryption_key.as_deref(), &data_dir)?;
    let outbound_timeout = Duration::from_secs(common.outbound_timeout_seconds);

    let listener = listen(bind).await?;
    let metrics_listener = match metrics_bind {
        Some(addr) => Some(listen(addr).await?),
        None => None,
    };
    let addr = listener.local_addr().map_err(anyhow::Error::from)?;
    let public_url = config::parse_public_url(args.public_url.as_deref(), addr)?;
    if args.public_url.is_none() && bind.ip().is_unspecified() {
        tracing::warn!("listening on all interfaces without --public-url: links will say {public_url}");
    }

    let pool = db::connect_server(&database).await?;
    // Half the pool by default: one account's load leaves the other half to everyone else.
    let scim_account_turns = match args.scim_account_concurrency {
        Some(n) => n as usize,
        None => (pool.options().get_max_connections() as usize / 2).max(2),
    };
    bootstrap_admin(&pool, initial_password).await?;
    let sealer = match common.encryption_key.as_deref().filter(|k| !k.trim().is_empty()) {
        Some(_) => sealer,
        None => crate::maintenance::finish_rotation(&data_dir, &pool, sealer).await?,
    };

    let settings = Arc::new(Settings {
        public_url,
        database,
        trust_forwarded_for: args.trust_forwarded_for,
        session_idle: Duration::from_secs(u64::from(args.session_idle_minutes) * 60),
        started: Instant::now(),
        outbound_timeout,
        log_retention_days: i64::from(args.log_retention_days),
        audit_retention_days: i64::from(args.audit_retention_days),
        metrics: crate::metrics::endpoint::Access::new(metrics_token.map(str::trim)),
    });
    let sealer = Arc::new(sealer);
    let outbound = crate::provisioning::connection::client(outbound_timeout);
    let scheduler = crate::provisioning::worker::Scheduler::new(
        pool.clone(),
        sealer.clone(),
        outbound.clone(),
        crate::provisioning::engine::Tuning {
            concurrency: args.provisioning_concurrency as usize,
            escrow_base: time::Duration::seconds(args.escrow_base_seconds as i64),
            public_url: settings.public_url.clone(),
        },
        args.provisioning_jobs as usize,
    );
    let state = AppState {
        pool,
        settings,
        throttle: Arc::new(Throttle::new(Limits::default())),
        leptos_options: leptos_options(args.site_root.as_deref()),
        scim: Arc::new(crate::scim_server::service::Runtime::new(
            args.scim_scan_limit as usize,
            scim_account_turns,
        )),
        scim_last_used: Arc::default(),
        imports: Arc::default(),
        sealer,
        outbound,
        scheduler: scheduler.clone(),
    };
    let (app, render) = router(state.clone()).await?;
    tokio::spawn(purge_deleted_users(state.pool.clone()));
    // Imports a stopped process left half written are rolled back.
    tokio::spawn(crate::directory::import::watch(state.pool.clone()));
    tokio::spawn(prune_provisioning_log(
        state.pool.clone(),
        state.settings.log_retention_days,
        state.settings.audit_retention_days,
    ));
    if let DatabaseTarget::Postgres { url, .. } = &state.settings.database {
        tokio::spawn(scheduler.clone().listen(url.clone()));
    }
    tokio::spawn(scheduler.run());
    tokio::spawn(crate::provisioning::drift_checks::run(
        state.pool.clone(),
        state.sealer.clone(),
        state.outbound.clone(),
        state.scheduler.tuning(),
        std::time::Duration::from_secs(args.drift_look_seconds),
    ));
    tokio::spawn(crate::notify::run_outbox(
        state.pool.clone(),
        state.sealer.clone(),
    ));

    let (tx, mut rx) = tokio::sync::watch::channel(false);
    if let Some(listener) = metrics_listener {
        let addr = listener.local_addr().map_err(anyhow::Error::from)?;
        let metrics = crate::metrics::endpoint::router().with_state(state.clone());
        let mut stop = rx.clone();
        tokio::spawn(async move {
            let served = axum::serve(listener, metrics)
                .with_graceful_shutdown(async move {
                    let _ = stop.wait_for(|stop| *stop).await;
                })
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "the metrics address stopped");
            }
        });
        tracing::info!("metrics on http://{addr}/metrics");
    }
    let task = tokio::spawn(async move {
        // Without TCP_NODELAY a response written in two segments waits for the client's delayed
        // ACK: a 40 ms stall on a few requests in a hundred, seen in bench-directory's p99.
        use axum::serve::ListenerExt;
        let listener = listener.tap_io(|tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!(error = %e, "could not set TCP_NODELAY");
            }
        });
        axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(async move {
                let _ = rx.wait_for(|stop| *stop).await;
            })
            .await
    });
    tracing::info!(
        "provisio {} listening on http://{addr}; sign in at {}/login (database {})",
        env!("CARGO_PKG_VERSION"),
        state.settings.public_url,
        state.settings.database.describe()
    );
    Ok(Running {
        addr,
        state,
        shutdown: tx,
        task,
        render,
        _lock: lock,
    })
}

fn initial_admin_password() -> Result<Option<String>, SettingsError> {
    match std::env::var("PROVISIO_ADMIN_PASSWORD") {
        Ok(p) if !p.is_empty() => {
            crate::auth::password::validate_new(&p, "admin").map_err(SettingsError::AdminPassword)?;
            Ok(Some(p))
        }
        _ => Ok(None),
    }
}

/// When no console user exists, creates the Administrator `admin`. A generated password is printed
/// once, to the terminal, because there is no other way to hand it over.
async fn bootstrap_admin(pool: &Pool, password: Option<String>) -> anyhow::Result<()> {
    if db::console_users::count(pool).await? > 0 {
        return Ok(());
    }
    let generated = password.is_none();
    let password = password.unwrap_or_else(crate::auth::password::generate);
    let hash = crate::auth::password::hash(password.clone()).await;
    let id = crate::ids::new();
    match db::console_users::insert(
        pool,
        &id,
        "admin",
        &hash,
        Role::Administrator,
        &crate::timefmt::now(),
    )
    .await
    {
        Ok(()) => {}
        // Another instance created it first.
        Err(e) if db::is_unique_violation(&e) => return Ok(()),
        Err(e) => return Err(e.into()),
    }
    audit::record(
        pool,
        &Actor::system(),
        "console_user.create",
        "admin",
        Outcome::Success,
        "initial Administrator",
    )
    .await;
    if generated {
        eprintln!(
            "\n  Created the console Administrator `admin` with the generated password\n\n      {password}\n\n  It is shown only this once. Sign in and keep it safe, or set PROVISIO_ADMIN_PASSWORD\n  before the first start. `provisio admin reset-password admin` sets a new one.\n"
        );
    } else {
        tracing::info!(
            "created the console Administrator `admin` with the password from PROVISIO_ADMIN_PASSWORD"
        );
    }
    Ok(())
}

/// The whole HTTP surface. Health endpoints sit outside the session layer so probes neither need
/// nor create sessions.
/// Also returns the console's render threads, which the server stops when it stops.
pub async fn router(state: AppState) -> anyhow::Result<(Router, crate::render::RenderThreads)> {
    let store = crate::session_store::Store::open(&state.settings.database).await?;
    // Expired sessions are refused on load anyway; this only reclaims their rows.
    tokio::spawn(
        store
            .clone()
            .continuously_delete_expired(tokio::time::Duration::from_secs(600)),
    );
    let secure = state.settings.public_url.starts_with("https://");
    let sessions = SessionManagerLayer::new(store)
        .with_name("provisio_session")
        .with_http_only(true)
        .with_same_site(tower_sessions::cookie::SameSite::Lax)
        .with_secure(secure)
        .with_expiry(Expiry::OnInactivity(time::Duration::seconds(
            state.settings.session_idle.as_secs() as i64,
        )));

    // Before anything of Leptos's runs, route list included (see render.rs).
    crate::render::install_spawner();
    let routes = generate_route_list(crate::app::App);
    let options = state.leptos_options.clone();
    // leptos_routes gives pages and server functions the router state (AppState) as context.
    // Import files may be far larger than any form: their route has its own limit.
    let upload = Router::new()
        .route(
            "/directory/import/upload",
            axum::routing::post(crate::api::import_upload::upload),
        )
        .layer(axum::extract::DefaultBodyLimit::max(
            crate::directory::import::MAX_UPLOAD + 64 * 1024,
        ));
    // Pages, server functions and the site's files, on render threads of their own (see render.rs).
    let leptos = Router::new()
        .leptos_routes(&state, routes, move || crate::app::shell(options.clone()))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(
            crate::app::shell,
        ))
        .with_state(state.clone());
    let render = crate::render::RenderThreads::start(leptos, crate::render::RenderThreads::default_count())?;
    let console = Router::new()
        .fallback_service(render.clone())
        .layer(middleware::from_fn(refuse_nul))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(1024 * 1024))
        .merge(upload)
        .route(
            "/provisioning-logs/download",
            get(crate::api::log_download::download),
        )
        .layer(middleware::from_fn(server_fn_status))
        .layer(middleware::from_fn_with_state(state.clone(), gate))
        .layer(middleware::from_fn_with_state(state.clone(), session::resolve))
        .layer(sessions)
        .layer(middleware::from_fn_with_state(state.clone(), same_origin))
        // Pages, server functions' JSON and log downloads go out gzipped to browsers that take it
        // (the bundle's files are compressed at build time and pass through as they are). A
        // middle level: these are made per request.
        .layer(
            tower_http::compression::CompressionLayer::new()
                .quality(tower_http::CompressionLevel::Precise(5))
                .compress_when(tower_http::compression::predicate::SizeAbove::new(1024)),
        );

    let mut health = Router::new().route("/healthz", get(|| async { "ok" })).route(
        "/readyz",
        get({
            let render = render.clone();
            move |state: State<AppState>| readyz(state, render.clone())
        }),
    );
    // Scrapes, outside sessions like the probes; with the bearer token it is configured with.
    if state.settings.metrics.on_main() {
        health = health.merge(crate::metrics::endpoint::router());
    }

    // The SCIM endpoint sits outside sessions, CSRF and the console's body limit: it authenticates
    // every request with an API key and answers every failure, 413 included, in SCIM terms.
    let scim = crate::scim_server::router();
    // The embedded browser bundle, outside sessions (no cookie for a file) and render threads.
    // (leptos_options names the versioned directory exactly when it is served.)
    let assets = match state.leptos_options.site_pkg_dir.starts_with("pkg/") {
        true => crate::assets::router(),
        false => Router::new(),
    };

    let app = Router::new()
        .merge(health)
        .merge(assets)
        .merge(console)
        .merge(scim)
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("frame-ancestors 'none'"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(middleware::from_fn(crate::metrics::http::track))
        // Request logs: method, path (never the query, which may carry tokens), status and latency.
        // Headers, cookies and bodies are never logged.
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    tracing::info_span!("http", method = %req.method(), path = %req.uri().path())
                })
                .on_request(())
                .on_response(|res: &Response, latency: Duration, _span: &tracing::Span| {
                    tracing::info!(
                        status = res.status().as_u16(),
                        latency_ms = (latency.as_micros() as f64) / 1000.0,
                        "request"
                    );
                })
                .on_body_chunk(())
                .on_eos(())
                .on_failure(()),
        )
        .with_state(state);
    Ok((app, render))
}

/// Purges users soft-deleted more than 30 days ago, at start and then hourly.
async fn purge_deleted_users(pool: Pool) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tick.tick().await;
        match crate::directory::users::purge_expired(&pool).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(users = n, "purged users deleted more than 30 days ago"),
            Err(e) => tracing::error!(error = %e, "purging deleted users failed"),
        }
    }
}

/// Retention, hourly: provisioning log entries, cycles, sent emails and directory changes (those
/// every job has read) older than `days`, audit entries older than `audit_days`.
async fn prune_provisioning_log(pool: Pool, days: i64, audit_days: i64) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tick.tick().await;
        let before = crate::timefmt::ago(time::Duration::days(days));
        match crate::db::audit::prune(&pool, &crate::timefmt::ago(time::Duration::days(audit_days))).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(entries = n, "pruned audit entries older than {audit_days} days"),
            Err(e) => tracing::error!(error = %e, "pruning the audit log failed"),
        }
        match crate::db::directory::prune_changes(&pool, &before).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(changes = n, "pruned directory changes every job has read"),
            Err(e) => tracing::error!(error = %e, "pruning directory changes failed"),
        }
        if let Err(e) = crate::db::cycles::prune_cycles(&pool, &before).await {
            tracing::error!(error = %e, "pruning provisioning cycles failed");
        }
        if let Err(e) = crate::db::notifications::prune_sent(&pool, &before).await {
            tracing::error!(error = %e, "pruning sent emails failed");
        }
        match crate::db::prov_log::prune_log(&pool, &before).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                entries = n,
                "pruned provisioning log entries older than {days} days"
            ),
            Err(e) => tracing::error!(error = %e, "pruning the provisioning log failed"),
        }
    }
}

async fn readyz(State(state): State<AppState>, render: crate::render::RenderThreads) -> Response {
    if !render.healthy() {
        return plain_error(StatusCode::SERVICE_UNAVAILABLE, "console rendering stopped");
    }
    match db::check_ready(&state.pool, &state.settings.database).await {
        Ok(()) => "ready".into_response(),
        Err(reason) => {
            tracing::warn!(%reason, "readiness check failed");
            plain_error(StatusCode::SERVICE_UNAVAILABLE, "database unreachable")
        }
    }
}

/// Middleware: server functions answer every error with 500 and the serialized [`ApiError`]; this
/// gives each error its real status (401, 403, 400, 409, 429...), including errors raised before
/// the function body runs, such as a missing argument. Plain form posts are 302s and pass untouched.
async fn server_fn_status(req: Request, next: Next) -> Response {
    let is_server_fn = req.uri().path().starts_with("/api/");
    let res = next.run(req).await;
    if !is_server_fn
        || res.status() != StatusCode::INTERNAL_SERVER_ERROR
        || !res.headers().contains_key("serverfnerror")
    {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let bytes = match axum::body::to_bytes(body, 64 * 1024).await {
        Ok(b) => b,
        Err(_) => return plain_error(StatusCode::INTERNAL_SERVER_ERROR, "error response too large"),
    };
    if let Ok(e) = serde_json::from_slice::<crate::api::ApiError>(&bytes) {
        parts.status = e.status();
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// Compiled browser assets and icons: public, and served without looking at the session.
pub fn is_static_asset(path: &str) -> bool {
    path.starts_with("/pkg/") || matches!(path, "/favicon.ico" | "/favicon.svg" | "/robots.txt")
}

fn is_public(path: &str) -> bool {
    path.starts_with("/api/") || is_static_asset(path)
}

/// Middleware: every page but the sign-in page needs a signed-in user. Server functions check the
/// session and role themselves, because they answer with errors rather than redirects.
async fn gate(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if is_public(&path) {
        return next.run(req).await;
    }
    let signed_in = req.extensions().get::<CurrentUser>().is_some();
    if path == "/login" {
        if signed_in {
            return redirect_see_other("/");
        }
    } else if !signed_in {
        let target = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let location = if target == "/" {
            "/login".to_string()
        } else {
            format!("/login?next={}", crate::urlenc::local_path(target))
        };
        return redirect_see_other(&location);
    }
    let mut req = req;
    if req.method() == Method::GET {
        if let Some(s) = req.extensions().get::<tower_sessions::Session>().cloned() {
            if let Err(e) = session::ensure_csrf(&s).await {
                tracing::error!(error = %e, "could not store the CSRF token in the session");
            }
            // What a form post without JavaScript produced (a new API key, Test Connection's
            // result, a provision-on-demand report) is shown by the page the post redirected
            // to, once: taken from the session here, so that every render of this one request
            // sees it and no later request does.
            crate::api::take_flashes(&path, &s, &state.sealer, &mut req).await;
            // Who is signed in, for the console's layout to render with at once (see
            // `app::Console`): read here, where waiting is free, rather than in a Suspense.
            if let Some(user) = req.extensions().get::<CurrentUser>().cloned() {
                let csrf = s
                    .get::<String>(crate::auth::session::SessionKeys::CSRF)
                    .await
                    .ok()
                    .flatten()
                    .unwrap_or_default();
                req.extensions_mut().insert(crate::model::SessionInfo {
                    user_id: user.id,
                    username: user.username,
                    role: user.role,
                    csrf,
                });
            }
        }
    }
    let mut res = next.run(req).await;
    res.headers_mut()
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    res
}

/// No console request may carry the NUL character, in its address or a form field: PostgreSQL
/// cannot store it (a query with it fails as a whole), and no name, attribute or setting has a use
/// for it. Forms are at most 1 MiB (the layer outside this one), so reading one here is bounded.
async fn refuse_nul(req: Request, next: Next) -> Response {
    let refused = || {
        (
            StatusCode::BAD_REQUEST,
            "A value contains the NUL character (%00), which cannot be stored.",
        )
            .into_response()
    };
    if crate::input::uri_carries_nul(req.uri()) {
        return refused();
    }
    let form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 1024 * 1024).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "The form is larger than 1 MiB.").into_response();
    };
    if crate::input::carries_nul(&bytes) {
        return refused();
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

fn redirect_see_other(location: &str) -> Response {
    // A location that is not a valid header value (it never is: callers encode what they add)
    // sends the browser to the start page rather than panicking the request.
    let location = HeaderValue::from_str(location).unwrap_or(HeaderValue::from_static("/"));
    (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
}

/// Middleware, defence in depth beside the CSRF token: a state-changing request that a browser
/// marks as coming from another site is refused before it reaches any handler.
async fn same_origin(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let headers = req.headers();
    if headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes() == b"cross-site")
    {
        return plain_error(StatusCode::FORBIDDEN, "cross-site request refused");
    }
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let origin_host = origin.split_once("://").map(|(_, h)| h).unwrap_or(origin);
        let public_host = state
            .settings
            .public_url
            .split_once("://")
            .map(|(_, h)| h.split('/').next().unwrap_or_default())
            .unwrap_or_default();
        if origin_host != host && origin_host != public_host {
            return plain_error(StatusCode::FORBIDDEN, "cross-origin request refused");
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_paths() {
        assert!(is_public("/pkg/provisio.js"));
        assert!(is_public("/api/login"));
        assert!(!is_public("/"));
        assert!(!is_public("/settings/console-users"));
    }
}
