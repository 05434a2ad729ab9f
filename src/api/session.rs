use super::ApiError;
use crate::model::{LoginContext, SessionInfo};
use leptos::prelude::*;

/// Who is signed in, with the CSRF token forms must send; `None` when nobody is.
#[server(endpoint = "session")]
pub async fn get_session() -> Result<Option<SessionInfo>, ApiError> {
    use super::guard;
    let Some(user) = guard::user() else {
        return Ok(None);
    };
    let csrf = guard::session_csrf().await?;
    Ok(Some(SessionInfo {
        user_id: user.id,
        username: user.username,
        role: user.role,
        csrf,
    }))
}

/// What the sign-in form needs before anyone is signed in. After a sign-out in the browser the
/// sign-in page is reached without a page load, by a session that has no token yet: give it one.
#[server(endpoint = "login_context")]
pub async fn get_login_context() -> Result<LoginContext, ApiError> {
    use super::guard;
    crate::auth::session::ensure_csrf(&guard::session()?).await?;
    Ok(LoginContext {
        csrf: guard::session_csrf().await?,
    })
}

/// Only a local path may follow sign-in, so the form cannot be used to bounce users elsewhere.
pub fn safe_next(next: Option<&str>) -> String {
    match next.map(str::trim) {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.starts_with("/login") =>
        {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

#[server(endpoint = "login")]
pub async fn login(
    csrf: String,
    username: String,
    password: String,
    next: Option<String>,
) -> Result<(), ApiError> {
    use super::guard;
    use crate::audit::{self, Actor, Outcome};
    use crate::auth::{password as pw, session::new_csrf_token, SessionKeys};
    use crate::db;
    let state = guard::state()?;
    let session = guard::session()?;
    guard::csrf(&csrf).await?;
    let username = username.trim().to_lowercase();
    let addr = guard::client_addr();
    let actor = Actor {
        name: if username.is_empty() {
            "-".into()
        } else {
            username.clone()
        },
        source_ip: addr.clone(),
    };
    if username.is_empty() || password.is_empty() {
        return Err(ApiError::invalid(
            "username",
            "Enter your user name and password.",
        ));
    }
    if let Err(wait) = state.throttle.check(&username, &addr) {
        audit::record(
            &state.pool,
            &actor,
            "sign_in",
            &username,
            Outcome::Failure,
            "refused: too many failed attempts",
        )
        .await;
        let minutes = wait.as_secs().div_ceil(60).max(1);
        return Err(ApiError::Throttled(format!(
            "Too many failed sign-in attempts. Try again in {minutes} minute{}.",
            if minutes == 1 { "" } else { "s" }
        )));
    }
    let creds = if password.len() <= pw::MAX_LEN {
        db::console_users::credentials_by_username(&state.pool, &username).await?
    } else {
        None
    };
    let usable = creds.as_ref().filter(|c| !c.disabled);
    let ok = pw::verify(password, usable.map(|c| c.password_hash.clone())).await;
    let Some(creds) = usable.filter(|_| ok) else {
        state.throttle.record_failure(&username, &addr);
        let why = match &creds {
            None => "unknown user name",
            Some(c) if c.disabled => "user is disabled",
            Some(_) => "wrong password",
        };
        audit::record(&state.pool, &actor, "sign_in", &username, Outcome::Failure, why).await;
        // One message for every cause, so the form reveals nothing about which names exist.
        return Err(ApiError::invalid(
            "password",
            "The user name or password is incorrect.",
        ));
    };
    state.throttle.record_success(&username);
    // A new session id at sign-in, so an id planted before sign-in is worthless after it.
    session.cycle_id().await?;
    session.insert(SessionKeys::USER_ID, &creds.id).await?;
    session
        .insert(SessionKeys::SESSION_VERSION, creds.session_version)
        .await?;
    session.insert(SessionKeys::CSRF, new_csrf_token()).await?;
    session
        .insert(
            SessionKeys::TOUCHED,
            time::OffsetDateTime::now_utc().unix_timestamp(),
        )
        .await?;
    db::console_users::record_sign_in(&state.pool, &creds.id, &crate::timefmt::now()).await?;
    audit::record(&state.pool, &actor, "sign_in", &username, Outcome::Success, "").await;
    leptos_axum::redirect(&safe_next(next.as_deref()));
    Ok(())
}

#[server(endpoint = "logout")]
pub async fn logout(csrf: String) -> Result<(), ApiError> {
    use super::guard;
    use crate::audit::{self, Outcome};
    use crate::model::Role;
    let state = guard::state()?;
    let user = guard::require(Role::Viewer)?;
    guard::csrf(&csrf).await?;
    guard::session()?.flush().await?;
    audit::record(
        &state.pool,
        &guard::actor(&user),
        "sign_out",
        &user.username,
        Outcome::Success,
        "",
    )
    .await;
    leptos_axum::redirect("/login");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_must_stay_on_this_site() {
        assert_eq!(
            safe_next(Some("/settings/audit-log?x=1")),
            "/settings/audit-log?x=1"
        );
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(Some("/login")), "/");
        assert_eq!(safe_next(None), "/");
    }
}
