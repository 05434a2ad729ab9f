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

/// Only a path of this site may follow sign-in, so the form cannot bounce users elsewhere: printable
/// ASCII without whitespace or backslashes (browsers drop tabs and newlines from URLs and read `\`
/// as `/`, so `/\t/evil.example` would become `//evil.example`; a newline would not even make a
/// valid header), a single leading `/`, and no encoded character that decodes to one of those.
pub fn safe_next(next: Option<&str>) -> String {
    let Some(n) = next.map(str::trim) else {
        return "/".to_string();
    };
    let plain = |s: &str| s.bytes().all(|b| b.is_ascii_graphic() && b != b'\\');
    let decoded = percent_decode(n);
    let local = |s: &str| s.starts_with('/') && !s.starts_with("//") && !s.starts_with("/login");
    if n.len() <= 2048 && plain(n) && local(n) && decoded.as_deref().is_some_and(|d| plain(d) && local(d)) {
        n.to_string()
    } else {
        "/".to_string()
    }
}

/// `s` with its `%XX` escapes decoded; `None` when an escape is malformed or decodes to non-text.
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// "Try again in ..." for a refused sign-in: seconds while the wait is short, minutes after.
#[cfg(feature = "ssr")]
fn wait_message(wait: std::time::Duration) -> String {
    let secs = wait.as_secs().max(1);
    let (n, unit) = if secs < 120 {
        (secs, "second")
    } else {
        (secs.div_ceil(60), "minute")
    };
    format!(
        "Too many failed sign-in attempts. Try again in {n} {unit}{}.",
        if n == 1 { "" } else { "s" }
    )
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
    use crate::auth::throttle::MAX_USERNAME_BYTES;
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
    if username.len() > MAX_USERNAME_BYTES {
        return Err(ApiError::invalid(
            "username",
            format!("A user name has at most {MAX_USERNAME_BYTES} bytes."),
        ));
    }
    let creds = db::console_users::credentials_by_username(&state.pool, &username).await?;
    // Reserved before the password is checked, so concurrent attempts count against the limits.
    let version = creds.as_ref().map_or(0, |c| c.session_version);
    let ticket = match state.throttle.begin(&username, &addr, version) {
        Ok(t) => t,
        Err(refused) => {
            // One audit entry per refused key and window, carrying the count it stands for.
            if let Some(unreported) = refused.report {
                let detail = match unreported {
                    0 => "refused: too many failed attempts".to_string(),
                    n => {
                        format!("refused: too many failed attempts ({n} more refusals since the last entry)")
                    }
                };
                audit::record(
                    &state.pool,
                    &actor,
                    "sign_in",
                    &username,
                    Outcome::Failure,
                    &detail,
                )
                .await;
            }
            return Err(ApiError::Throttled(wait_message(refused.wait)));
        }
    };
    let usable = creds
        .as_ref()
        .filter(|c| !c.disabled && password.len() <= pw::MAX_LEN);
    let ok = match pw::verify(password, usable.map(|c| c.password_hash.clone())).await {
        Ok(ok) => ok,
        Err(pw::Busy) => {
            state.throttle.cancel(ticket);
            return Err(ApiError::Throttled(
                "Many sign-ins are being checked right now. Try again in a moment.".into(),
            ));
        }
    };
    let Some(creds) = usable.filter(|_| ok) else {
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
    state.throttle.succeeded(ticket);
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
        // Browsers drop tabs and newlines: these would become //evil.example.
        assert_eq!(safe_next(Some("/\t/evil.example")), "/");
        assert_eq!(safe_next(Some("/%09/evil.example")), "/");
        assert_eq!(safe_next(Some("/%2F/evil.example")), "/");
        assert_eq!(safe_next(Some("/%5Cevil.example")), "/");
        assert_eq!(safe_next(Some("/\n/evil.example")), "/");
        assert_eq!(safe_next(Some("/a\r\nSet-Cookie: x=1")), "/");
        assert_eq!(safe_next(Some("/%zz")), "/");
        assert_eq!(safe_next(Some("/apps?q=%20x")), "/");
        assert_eq!(
            safe_next(Some("/apps/a1?tab=logs&x=%41")),
            "/apps/a1?tab=logs&x=%41"
        );
    }
}
