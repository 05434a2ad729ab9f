//! The signed-in user of a request, resolved from the tower-sessions session by a middleware, and
//! the session's CSRF token.

use crate::db;
use crate::model::Role;
use crate::state::AppState;
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use std::net::SocketAddr;
use tower_sessions::Session;

/// Keys of the values kept in a console session.
pub struct SessionKeys;
impl SessionKeys {
    pub const USER_ID: &'static str = "uid";
    pub const SESSION_VERSION: &'static str = "sv";
    pub const CSRF: &'static str = "csrf";
    pub const TOUCHED: &'static str = "touched";
}

/// Idle expiry is extended only when a session is saved; saving on every request would be a
/// database write per page view, so a request saves only when the last save is this old.
const TOUCH_EVERY_SECS: i64 = 60;

/// The signed-in console user, placed in the request's extensions by [`resolve`].
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub id: String,
    pub username: String,
    pub role: Role,
}

/// The client's address as the audit log records it.
#[derive(Debug, Clone)]
pub struct ClientAddr(pub String);

pub fn new_csrf_token() -> String {
    super::random_token::<32>()
}

/// Compares a submitted CSRF token with the session's in constant time.
pub fn csrf_matches(expected: Option<&str>, submitted: &str) -> bool {
    use subtle::ConstantTimeEq;
    match expected {
        Some(e) if !e.is_empty() => e.as_bytes().ct_eq(submitted.as_bytes()).into(),
        _ => false,
    }
}

pub fn client_addr(req: &Request, trust_forwarded_for: bool) -> String {
    if trust_forwarded_for {
        // The proxy appends the address it saw; the last entry is the one it vouches for.
        if let Some(last) = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse::<std::net::IpAddr>().ok())
        {
            // Parsed, so what becomes a throttle key and an audit entry is an address, not text.
            return last.to_string();
        }
    }
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(a)| a.ip().to_string())
        .unwrap_or_default()
}

/// Middleware: resolves the session's user (refusing disabled users and sessions from before a
/// password reset) and keeps idle expiry current. Static assets skip it: loading the session and
/// the user costs two queries, four times per page view, for files anyone may fetch.
pub async fn resolve(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    if crate::server::is_static_asset(req.uri().path()) {
        return next.run(req).await;
    }
    let addr = client_addr(&req, state.settings.trust_forwarded_for);
    req.extensions_mut().insert(ClientAddr(addr));
    let Some(session) = req.extensions().get::<Session>().cloned() else {
        return next.run(req).await;
    };
    match load_user(&state, &session).await {
        Ok(Some(user)) => {
            req.extensions_mut().insert(user);
        }
        Ok(None) => {}
        Err(e) => {
            tracing::error!(error = %e, "could not resolve the console session");
            return crate::server::plain_error(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "The console cannot reach its database. Try again shortly.",
            );
        }
    }
    next.run(req).await
}

async fn load_user(state: &AppState, session: &Session) -> anyhow::Result<Option<CurrentUser>> {
    let Some(uid) = session.get::<String>(SessionKeys::USER_ID).await? else {
        return Ok(None);
    };
    let version = session
        .get::<i64>(SessionKeys::SESSION_VERSION)
        .await?
        .unwrap_or(-1);
    let creds = db::console_users::credentials_by_id(&state.pool, &uid).await?;
    match creds {
        Some(c) if !c.disabled && c.session_version == version => {
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            let touched = session.get::<i64>(SessionKeys::TOUCHED).await?.unwrap_or(0);
            if now - touched >= TOUCH_EVERY_SECS {
                session.insert(SessionKeys::TOUCHED, now).await?;
            }
            Ok(Some(CurrentUser {
                id: c.id,
                username: c.username,
                role: c.role,
            }))
        }
        _ => {
            // Disabled, deleted, or a password reset since this session began: end it.
            session.flush().await?;
            Ok(None)
        }
    }
}

/// Gives the session a CSRF token if it has none. Called for rendered pages only, so redirects and
/// static files do not create sessions.
pub async fn ensure_csrf(session: &Session) -> Result<(), tower_sessions::session::Error> {
    if session.get::<String>(SessionKeys::CSRF).await?.is_none() {
        session.insert(SessionKeys::CSRF, new_csrf_token()).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_tokens_are_random_and_compared_exactly() {
        let a = new_csrf_token();
        assert_eq!(a.len(), 43);
        assert_ne!(a, new_csrf_token());
        assert!(csrf_matches(Some(&a), &a));
        assert!(!csrf_matches(Some(&a), &a[..42]));
        assert!(!csrf_matches(Some(&a), ""));
        assert!(!csrf_matches(None, ""));
        assert!(!csrf_matches(Some(""), ""));
    }
}
