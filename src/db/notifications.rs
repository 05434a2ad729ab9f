//! SMTP settings and the email outbox.

use super::Pool;
pub use crate::model::OutboxEntry;
use sqlx::Row;

#[derive(Debug, Clone, PartialEq)]
pub struct SmtpRow {
    pub host: String,
    pub port: i64,
    pub tls: String,
    pub username: String,
    /// Sealed.
    pub password: Option<String>,
    pub from_address: String,
    pub updated_at: String,
}

pub async fn smtp(pool: &Pool) -> sqlx::Result<Option<SmtpRow>> {
    Ok(sqlx::query(
        "SELECT host, port, tls, username, password, from_address, updated_at FROM smtp_settings WHERE id = 1",
    )
    .fetch_optional(pool)
    .await?
    .map(|r| SmtpRow {
        host: r.get("host"),
        port: r.get("port"),
        tls: r.get("tls"),
        username: r.get("username"),
        password: r.get("password"),
        from_address: r.get("from_address"),
        updated_at: r.get("updated_at"),
    }))
}

pub async fn save_smtp(pool: &Pool, s: &SmtpRow) -> sqlx::Result<()> {
    super::write(
        pool,
        sqlx::query(
            "INSERT INTO smtp_settings (id, host, port, tls, username, password, from_address, updated_at)
         VALUES (1, $1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (id) DO UPDATE SET host = excluded.host, port = excluded.port, tls = excluded.tls,
             username = excluded.username, password = excluded.password,
             from_address = excluded.from_address, updated_at = excluded.updated_at",
        )
        .bind(&s.host)
        .bind(s.port)
        .bind(&s.tls)
        .bind(&s.username)
        .bind(&s.password)
        .bind(&s.from_address)
        .bind(&s.updated_at),
    )
    .await?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct Email {
    pub id: String,
    pub to_address: String,
    pub subject: String,
    pub body: String,
    pub attempts: i64,
    pub next_at: String,
}

pub async fn enqueue(
    pool: &Pool,
    id: &str,
    to: &str,
    subject: &str,
    body: &str,
    now: &str,
) -> sqlx::Result<()> {
    let statement = sqlx::query(
        "INSERT INTO email_outbox (id, to_address, subject, body, created_at, next_at) VALUES ($1, $2, $3, $4, $5, $5)",
    )
    .bind(id)
    .bind(to)
    .bind(subject)
    .bind(body)
    .bind(now);
    super::write(pool, statement).await?;
    Ok(())
}

/// Emails waiting to be sent whose time has come, oldest first.
pub async fn due(pool: &Pool, now: &str, limit: i64) -> sqlx::Result<Vec<Email>> {
    Ok(sqlx::query(
        "SELECT id, to_address, subject, body, attempts, next_at FROM email_outbox
         WHERE sent_at IS NULL AND next_at <= $1 ORDER BY next_at LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| Email {
        id: r.get("id"),
        to_address: r.get("to_address"),
        subject: r.get("subject"),
        body: r.get("body"),
        attempts: r.get("attempts"),
        next_at: r.get("next_at"),
    })
    .collect())
}

/// Takes `email` for sending until `until`, unless another instance took it since it was read:
/// true when this caller may send it. An instance that dies while sending leaves the email to be
/// taken again at `until`.
pub async fn claim(pool: &Pool, email: &Email, until: &str) -> sqlx::Result<bool> {
    let done = super::write(
        pool,
        sqlx::query(
            "UPDATE email_outbox SET next_at = $3 WHERE id = $1 AND next_at = $2 AND sent_at IS NULL",
        )
        .bind(&email.id)
        .bind(&email.next_at)
        .bind(until),
    )
    .await?;
    Ok(done == 1)
}

pub async fn mark_sent(pool: &Pool, id: &str, now: &str) -> sqlx::Result<()> {
    super::write(
        pool,
        sqlx::query(
            "UPDATE email_outbox SET sent_at = $2, attempts = attempts + 1, last_error = '' WHERE id = $1",
        )
        .bind(id)
        .bind(now),
    )
    .await?;
    Ok(())
}

pub async fn mark_failed(pool: &Pool, id: &str, next_at: &str, error: &str) -> sqlx::Result<()> {
    super::write(
        pool,
        sqlx::query(
            "UPDATE email_outbox SET attempts = attempts + 1, next_at = $2, last_error = $3 WHERE id = $1",
        )
        .bind(id)
        .bind(next_at)
        .bind(error),
    )
    .await?;
    Ok(())
}

/// Sends everything waiting now (after the SMTP settings changed).
pub async fn retry_all_now(pool: &Pool, now: &str) -> sqlx::Result<()> {
    super::write(
        pool,
        sqlx::query("UPDATE email_outbox SET next_at = $1 WHERE sent_at IS NULL").bind(now),
    )
    .await?;
    Ok(())
}

/// The latest emails, newest first.
pub async fn recent(pool: &Pool, limit: i64) -> sqlx::Result<Vec<OutboxEntry>> {
    Ok(sqlx::query(
        "SELECT to_address, subject, created_at, attempts, last_error, sent_at FROM email_outbox
         ORDER BY created_at DESC, id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| OutboxEntry {
        to_address: r.get("to_address"),
        subject: r.get("subject"),
        created_at: r.get("created_at"),
        attempts: r.get("attempts"),
        last_error: r.get("last_error"),
        sent_at: r.get("sent_at"),
    })
    .collect())
}

/// Sent emails older than `before` go (the unsent never do).
pub async fn prune_sent(pool: &Pool, before: &str) -> sqlx::Result<u64> {
    let statement =
        sqlx::query("DELETE FROM email_outbox WHERE sent_at IS NOT NULL AND sent_at < $1").bind(before);
    super::write(pool, statement).await
}
