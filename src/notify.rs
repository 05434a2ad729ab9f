//! Failure emails: Settings > Notifications (the SMTP server, its password sealed at rest), the
//! send-a-test-email check, the quarantine emails provisioning jobs queue, and the outbox worker
//! that sends them, retrying with back-off while the SMTP server fails, so nothing is lost.

use crate::audit::{self, Actor, Outcome};
use crate::db::notifications::{self as store, SmtpRow};
use crate::db::Pool;
use crate::directory::{invalid, validate, DirError};
use crate::model::NotificationSettings;
use crate::secrets::Sealer;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

pub(crate) const PASSWORD_CONTEXT: &str = "smtp:password";
const SEND_TIMEOUT: Duration = Duration::from_secs(15);
const LOOK_EVERY: Duration = Duration::from_secs(2);

pub async fn settings(pool: &Pool) -> Result<NotificationSettings, DirError> {
    let s = store::smtp(pool).await?;
    let recent = store::recent(pool, 20).await?;
    let pending = recent.iter().filter(|e| e.sent_at.is_none()).count() as i64;
    Ok(NotificationSettings {
        host: s.as_ref().map(|s| s.host.clone()).unwrap_or_default(),
        port: s.as_ref().map(|s| s.port).unwrap_or(587),
        tls: s
            .as_ref()
            .map(|s| s.tls.clone())
            .unwrap_or_else(|| "starttls".into()),
        username: s.as_ref().map(|s| s.username.clone()).unwrap_or_default(),
        password_set: s.as_ref().is_some_and(|s| s.password.is_some()),
        from_address: s.as_ref().map(|s| s.from_address.clone()).unwrap_or_default(),
        updated_at: s.as_ref().map(|s| s.updated_at.clone()).unwrap_or_default(),
        pending,
        outbox: recent,
    })
}

/// The Notifications form as posted.
pub struct SmtpForm {
    pub host: String,
    pub port: String,
    pub tls: String,
    pub username: String,
    /// Empty keeps the stored password.
    pub password: String,
    pub clear_password: bool,
    pub from_address: String,
}

/// Validates the form; the stored (sealed) password is kept unless a new one is typed.
async fn validated(pool: &Pool, sealer: &Sealer, f: &SmtpForm) -> Result<SmtpRow, DirError> {
    let host = f.host.trim().to_string();
    if host.is_empty()
        || host.len() > 253
        || !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
    {
        return Err(invalid("host", "enter the SMTP server's host name or IP address"));
    }
    let port: i64 = f
        .port
        .trim()
        .parse()
        .ok()
        .filter(|p| (1..=65_535).contains(p))
        .ok_or_else(|| {
            invalid(
                "port",
                "enter a port from 1 to 65535 (587 for STARTTLS, 465 for TLS)",
            )
        })?;
    let tls = f.tls.trim().to_ascii_lowercase();
    if !matches!(tls.as_str(), "none" | "starttls" | "tls") {
        return Err(invalid("tls", "choose None, STARTTLS or TLS"));
    }
    let from_address = validate::email(f.from_address.trim()).map_err(|m| invalid("from_address", m))?;
    let username = f.username.trim().to_string();
    if username.len() > 320 {
        return Err(invalid("username", "use at most 320 characters"));
    }
    let password = if f.clear_password {
        None
    } else if !f.password.is_empty() {
        if f.password.len() > 1024 {
            return Err(invalid("password", "use at most 1024 characters"));
        }
        Some(sealer.seal(&f.password, PASSWORD_CONTEXT))
    } else {
        match store::smtp(pool).await? {
            // The stored password goes only to the host it was saved for: a session that was
            // taken over must not be able to send it to a server of its choosing.
            Some(saved) if saved.password.is_some() && !saved.host.eq_ignore_ascii_case(&host) => {
                return Err(invalid(
                    "password",
                    "the SMTP server changed: enter its password again (the saved one is only sent to the server it was saved for)",
                ));
            }
            saved => saved.and_then(|s| s.password),
        }
    };
    Ok(SmtpRow {
        host,
        port,
        tls,
        username,
        password,
        from_address,
        updated_at: crate::timefmt::now(),
    })
}

pub async fn save(pool: &Pool, sealer: &Sealer, f: &SmtpForm, actor: &Actor) -> Result<(), DirError> {
    let row = validated(pool, sealer, f).await?;
    store::save_smtp(pool, &row).await?;
    // New settings deserve a new try at whatever is waiting.
    store::retry_all_now(pool, &row.updated_at).await?;
    audit::record(
        pool,
        actor,
        "notifications.smtp",
        &format!("{}:{}", row.host, row.port),
        Outcome::Success,
        &format!("TLS {}, from {}", row.tls, row.from_address),
    )
    .await;
    Ok(())
}

/// Sends one email through `s` now.
async fn send(sealer: &Sealer, s: &SmtpRow, to: &str, subject: &str, body: &str) -> Result<(), String> {
    // lettre dials by name itself: the addresses are checked first (see crate::outbound).
    crate::outbound::check_host(
        s.host.trim_start_matches('[').trim_end_matches(']'),
        s.port as u16,
    )
    .await?;
    let builder = match s.tls.as_str() {
        "tls" => AsyncSmtpTransport::<Tokio1Executor>::relay(&s.host).map_err(|e| e.to_string())?,
        "starttls" => {
            AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&s.host).map_err(|e| e.to_string())?
        }
        _ => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host),
    };
    let mut builder = builder.port(s.port as u16).timeout(Some(SEND_TIMEOUT));
    if !s.username.is_empty() {
        let password = match &s.password {
            Some(sealed) => sealer.open(sealed, PASSWORD_CONTEXT).map_err(|_| {
                "the stored SMTP password cannot be opened with this encryption key".to_string()
            })?,
            None => String::new(),
        };
        builder = builder.credentials(Credentials::new(s.username.clone(), password));
    }
    let message = Message::builder()
        .from(s.from_address.parse().map_err(|e| format!("from address: {e}"))?)
        .to(to.parse().map_err(|e| format!("to address: {e}"))?)
        .subject(subject)
        .header(ContentType::TEXT_PLAIN)
        .body(body.to_string())
        .map_err(|e| e.to_string())?;
    builder
        .build()
        .send(message)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The "Send test email" button: the settings as typed (saved or not), straight to `to`.
pub async fn send_test(pool: &Pool, sealer: &Sealer, f: &SmtpForm, to: &str) -> Result<String, DirError> {
    let to = validate::email(to.trim()).map_err(|m| invalid("test_to", m))?;
    let row = validated(pool, sealer, f).await?;
    send(
        sealer,
        &row,
        &to,
        "Provisio test email",
        "This is a test email from Provisio. Failure notifications of provisioning jobs will arrive like this one.",
    )
    .await
    .map_err(|e| invalid("test_to", format!("the SMTP server did not accept the email: {e}")))?;
    Ok(format!("Test email sent to {to}."))
}

/// Queues an email about `app` to its Notification Email when its admin asked for failure
/// emails; `write` makes its subject and body from the application's name.
async fn email_admin(
    pool: &Pool,
    app: &str,
    write: impl FnOnce(&str) -> (String, String),
) -> Result<(), DirError> {
    let Some(stored) = crate::db::provisioning::load_pool(pool, app).await? else {
        return Ok(());
    };
    let c = stored.config;
    if !c.notify_on_failure || c.notification_email.is_empty() {
        return Ok(());
    }
    let name = crate::db::apps::get(pool, app)
        .await?
        .map(|a| a.name)
        .unwrap_or_default();
    let (subject, body) = write(&name);
    store::enqueue(
        pool,
        &crate::ids::new(),
        &c.notification_email,
        &subject,
        &body,
        &crate::timefmt::now(),
    )
    .await?;
    Ok(())
}

/// Queues the quarantine email of `app` when its admin asked for failure emails.
pub async fn quarantine_email(
    pool: &Pool,
    app: &str,
    reason: &str,
    public_url: &str,
) -> Result<(), DirError> {
    email_admin(pool, app, |name| {
        (
            format!("Provisioning of {name} is in quarantine"),
            format!(
                "The provisioning job of {name} is in quarantine.\n\nReason: {reason}\n{}\n\n\
                 While in quarantine the job tries again once a day. Open the application to see its \
                 synchronization details and provisioning logs:\n{public_url}/apps/{app}/provisioning\n",
                crate::model::quarantine_text(reason)
            ),
        )
    })
    .await
}

/// Queues the email of a scheduled drift check that found something, when the admin asked for
/// failure emails.
pub async fn drift_email(
    pool: &Pool,
    app: &str,
    report: &crate::model::DriftReport,
    public_url: &str,
) -> Result<(), DirError> {
    email_admin(pool, app, |name| {
        (
            format!("{name} holds accounts or values Provisio did not put there"),
            format!(
                "The scheduled drift check of {name} found: {}\n\n\
                 Accounts not managed by Provisio, values changed in the application and managed accounts \
                 it no longer has are listed, with what you can do about each, on the application's Drift tab:\n\
                 {public_url}/apps/{app}/drift?run=1\n",
                report.summary()
            ),
        )
    })
    .await
}

/// Sends what the outbox holds, for as long as the process runs. An email that fails waits
/// 1, 2, 4, ... minutes (at most six hours) and is tried again; it is never dropped.
pub async fn run_outbox(pool: Pool, sealer: std::sync::Arc<Sealer>) {
    loop {
        tokio::time::sleep(LOOK_EVERY).await;
        let now = crate::timefmt::now();
        let due = match store::due(&pool, &now, 50).await {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the email outbox");
                continue;
            }
        };
        if due.is_empty() {
            continue;
        }
        let smtp = match store::smtp(&pool).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the SMTP settings");
                continue;
            }
        };
        for email in due {
            // Instances sharing the database read the same outbox: only the one that claims an
            // email sends it.
            let until = time::OffsetDateTime::now_utc() + Duration::from_secs(120);
            match store::claim(&pool, &email, &crate::timefmt::format(until)).await {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot update the email outbox");
                    continue;
                }
            }
            let result = match &smtp {
                None => Err("no SMTP server is configured (Settings > Notifications)".to_string()),
                Some(s) => send(&sealer, s, &email.to_address, &email.subject, &email.body).await,
            };
            let now = crate::timefmt::now();
            crate::metrics::email(result.is_ok());
            let written = match result {
                Ok(()) => store::mark_sent(&pool, &email.id, &now).await,
                Err(e) => {
                    let wait = Duration::from_secs(60u64 << email.attempts.clamp(0, 9) as u32)
                        .min(Duration::from_secs(6 * 3600));
                    let next = time::OffsetDateTime::now_utc() + wait;
                    tracing::warn!(to = %email.to_address, error = %e, "email not sent; it stays in the outbox");
                    store::mark_failed(&pool, &email.id, &crate::timefmt::format(next), &e).await
                }
            };
            if let Err(e) = written {
                tracing::warn!(error = %e, "cannot update the email outbox");
            }
        }
    }
}
