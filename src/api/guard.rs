//! What every server function does first: find the state, the session and the signed-in user,
//! check the CSRF token and the role, and turn errors into the right HTTP status.

use super::ApiError;
use crate::audit::Actor;
use crate::auth::session::{csrf_matches, ClientAddr, CurrentUser, SessionKeys};
use crate::model::Role;
use crate::state::AppState;
use axum::http::request::Parts;
use leptos::prelude::*;
use tower_sessions::Session;

pub fn state() -> Result<AppState, ApiError> {
    use_context::<AppState>().ok_or(ApiError::Internal)
}

fn parts() -> Result<Parts, ApiError> {
    use_context::<Parts>().ok_or(ApiError::Internal)
}

pub fn session() -> Result<Session, ApiError> {
    parts()?
        .extensions
        .get::<Session>()
        .cloned()
        .ok_or(ApiError::Internal)
}

pub fn client_addr() -> String {
    parts()
        .ok()
        .and_then(|p| p.extensions.get::<ClientAddr>().cloned())
        .map(|a| a.0)
        .unwrap_or_default()
}

/// The signed-in user of the page being rendered, as the gate found it before rendering began.
pub fn rendered_session() -> Option<crate::model::SessionInfo> {
    parts()
        .ok()?
        .extensions
        .get::<crate::model::SessionInfo>()
        .cloned()
}

pub fn user() -> Option<CurrentUser> {
    parts().ok()?.extensions.get::<CurrentUser>().cloned()
}

/// The signed-in user, who must hold at least `min` (an Administrator can do what a Viewer can).
pub fn require(min: Role) -> Result<CurrentUser, ApiError> {
    let user = user().ok_or(ApiError::Unauthenticated)?;
    match (min, user.role) {
        (Role::Viewer, _) | (Role::Administrator, Role::Administrator) => Ok(user),
        (Role::Administrator, Role::Viewer) => Err(ApiError::Forbidden),
    }
}

/// The session's CSRF token, empty when it has none.
pub async fn session_csrf() -> Result<String, ApiError> {
    Ok(session()?
        .get::<String>(SessionKeys::CSRF)
        .await?
        .unwrap_or_default())
}

/// Checks the token a form echoed back against the session's.
pub async fn csrf(submitted: &str) -> Result<(), ApiError> {
    let expected = session_csrf().await?;
    if csrf_matches(Some(&expected), submitted) {
        Ok(())
    } else {
        Err(ApiError::Csrf)
    }
}

/// The signed-in user after the checks every configuration change needs: a session, the CSRF
/// token, and the Administrator role.
pub async fn admin_change(submitted_csrf: &str) -> Result<CurrentUser, ApiError> {
    let user = require(Role::Viewer)?;
    csrf(submitted_csrf).await?;
    require(Role::Administrator)?;
    Ok(user)
}

/// A value a form post without JavaScript left for the page its redirect shows: the console's
/// gate middleware moves it from the session into that one page request.
#[derive(Clone)]
pub struct Flashed<T>(pub T);

/// Keeps what a plain form post produced (a new API key, a Test Connection result) for the page
/// its redirect shows; the hydrated console gets it in the answer instead. The value is sealed
/// (AES-GCM with the server's key, bound to `key`) before it reaches the session row, so the
/// database never holds a new API key in plain text, not even for the moment until it is shown.
pub async fn flash<T: serde::Serialize + Send + Sync>(key: &str, value: &T) -> Result<(), ApiError> {
    if !wants_json() {
        let json = serde_json::to_string(value).map_err(|_| ApiError::Internal)?;
        let sealed = state()?.sealer.seal(&json, &format!("flash:{key}"));
        session()?.insert(key, sealed).await?;
    }
    Ok(())
}

/// A page request on its way in, with the session its flashed values wait in.
pub(crate) struct Flashes<'a> {
    pub(crate) path: &'a str,
    pub(crate) session: &'a Session,
    pub(crate) sealer: &'a crate::secrets::Sealer,
    pub(crate) req: &'a mut axum::extract::Request,
}

impl Flashes<'_> {
    /// Moves the value a form post left in the session under `key` (sealed, see [`flash`])
    /// into this request's extensions.
    pub(crate) async fn take<T>(&mut self, key: &str)
    where
        T: serde::de::DeserializeOwned + Clone + Send + Sync + 'static,
    {
        // Looked at before it is taken: removing marks the session changed even when the key
        // is absent, and a changed session is written back to the store with every response (a
        // database write and a Set-Cookie on each view of every page that can show a flash).
        match self.session.get::<String>(key).await {
            Ok(Some(_)) => {}
            Ok(None) => return,
            Err(e) => {
                tracing::error!(error = %e, "could not read the session");
                return;
            }
        }
        match self.session.remove::<String>(key).await {
            Ok(Some(sealed)) => {
                let value = self
                    .sealer
                    .open(&sealed, &format!("flash:{key}"))
                    .ok()
                    .and_then(|json| serde_json::from_str::<T>(&json).ok());
                match value {
                    Some(v) => {
                        self.req.extensions_mut().insert(Flashed(v));
                    }
                    None => tracing::warn!(key, "a flashed value could not be opened; it is dropped"),
                }
            }
            Ok(None) => {}
            Err(e) => tracing::error!(error = %e, "could not read the session"),
        }
    }
}

/// The value flashed for this page request, if any.
pub fn flashed<T: Clone + Send + Sync + 'static>() -> Option<T> {
    parts().ok()?.extensions.get::<Flashed<T>>().map(|f| f.0.clone())
}

/// Did the hydrated console call (it asks for JSON), rather than a plain form post?
pub fn wants_json() -> bool {
    parts()
        .ok()
        .and_then(|p| p.headers.get(axum::http::header::ACCEPT).cloned())
        .and_then(|v| v.to_str().ok().map(|s| s.contains("application/json")))
        .unwrap_or(false)
}

pub fn actor(user: &CurrentUser) -> Actor {
    Actor {
        name: user.username.clone(),
        source_ip: client_addr(),
    }
}
