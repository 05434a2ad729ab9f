use super::Pool;
use crate::model::{ConsoleUser, Role};
use sqlx::Row;

/// A console user with what authentication needs; the hash never leaves the server.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub id: String,
    pub username: String,
    pub password_hash: String,
    pub role: Role,
    pub disabled: bool,
    pub session_version: i64,
}

fn role_of(s: &str) -> Role {
    Role::parse(s).unwrap_or(Role::Viewer)
}

pub async fn count(pool: &Pool) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT count(*) FROM console_users")
        .fetch_one(pool)
        .await
}

/// Enabled administrators, so the last one cannot be disabled or demoted.
pub async fn count_active_admins(pool: &Pool) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT count(*) FROM console_users WHERE role = 'administrator' AND disabled = 0")
        .fetch_one(pool)
        .await
}

pub async fn insert(
    pool: &Pool,
    id: &str,
    username: &str,
    password_hash: &str,
    role: Role,
    now: &str,
) -> sqlx::Result<()> {
    super::write(
        pool,
        sqlx::query(
            "INSERT INTO console_users (id, username, password_hash, role, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(id)
        .bind(username)
        .bind(password_hash)
        .bind(role.as_str())
        .bind(now),
    )
    .await
    .map(|_| ())
}

fn credentials_from(row: &crate::db::Row) -> Credentials {
    Credentials {
        id: row.get("id"),
        username: row.get("username"),
        password_hash: row.get("password_hash"),
        role: role_of(row.get("role")),
        disabled: row.get::<i64, _>("disabled") != 0,
        session_version: row.get("session_version"),
    }
}

pub async fn credentials_by_username(pool: &Pool, username: &str) -> sqlx::Result<Option<Credentials>> {
    let row = sqlx::query(
        "SELECT id, username, password_hash, role, disabled, session_version
         FROM console_users WHERE username = $1",
    )
    .bind(username)
    .fetch_optional(pool)
    .await?;
    Ok(row.as_ref().map(credentials_from))
}

pub async fn credentials_by_id(pool: &Pool, id: &str) -> sqlx::Result<Option<Credentials>> {
    let row = sqlx::query(
        "SELECT id, username, password_hash, role, disabled, session_version
         FROM console_users WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    Ok(row.as_ref().map(credentials_from))
}

pub async fn list(pool: &Pool) -> sqlx::Result<Vec<ConsoleUser>> {
    let rows = sqlx::query(
        "SELECT id, username, role, disabled, created_at, last_sign_in_at
         FROM console_users ORDER BY username",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| ConsoleUser {
            id: r.get("id"),
            username: r.get("username"),
            role: role_of(r.get("role")),
            disabled: r.get::<i64, _>("disabled") != 0,
            created_at: r.get("created_at"),
            last_sign_in_at: r.get("last_sign_in_at"),
        })
        .collect())
}

pub async fn record_sign_in(pool: &Pool, id: &str, now: &str) -> sqlx::Result<()> {
    super::write(
        pool,
        sqlx::query("UPDATE console_users SET last_sign_in_at = $2 WHERE id = $1")
            .bind(id)
            .bind(now),
    )
    .await
    .map(|_| ())
}

/// Replaces the password and ends the user's sessions. Returns false when no such user exists.
pub async fn set_password(pool: &Pool, id: &str, password_hash: &str, now: &str) -> sqlx::Result<bool> {
    let r = super::write(
        pool,
        sqlx::query(
            "UPDATE console_users
         SET password_hash = $2, session_version = session_version + 1, updated_at = $3
         WHERE id = $1",
        )
        .bind(id)
        .bind(password_hash)
        .bind(now),
    )
    .await?;
    Ok(r == 1)
}

/// What a change that could leave no administrator did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminChange {
    Done,
    NoSuchUser,
    /// Refused: the user is the last enabled administrator.
    LastAdministrator,
}

/// Runs `change` on user `id` unless it would leave no enabled administrator (`removes`: the
/// change takes administration away from an enabled administrator).
/// The count and the change are one [`super::Exclusive::Console`] transaction: two
/// administrators disabling each other at once leave one of them enabled.
async fn keeping_an_admin<'q>(
    pool: &Pool,
    id: &str,
    removes: bool,
    change: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
) -> sqlx::Result<AdminChange> {
    let mut tx = super::begin(pool, super::Exclusive::Console).await?;
    let Some(r) = sqlx::query("SELECT role, disabled FROM console_users WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
    else {
        return Ok(AdminChange::NoSuchUser);
    };
    let (role, disabled) = (role_of(r.get("role")), r.get::<i64, _>("disabled") != 0);
    if removes && role == Role::Administrator && !disabled {
        let admins: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM console_users WHERE role = 'administrator' AND disabled = 0",
        )
        .fetch_one(&mut *tx)
        .await?;
        if admins <= 1 {
            return Ok(AdminChange::LastAdministrator);
        }
    }
    change.execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(AdminChange::Done)
}

/// Disables a user (ending its sessions), unless it is the last enabled administrator.
pub async fn disable_keeping_an_admin(pool: &Pool, id: &str, now: &str) -> sqlx::Result<AdminChange> {
    keeping_an_admin(pool, id, true, disable_statement(id, true, now)).await
}

/// Changes a user's role (a session picks it up on its next request), unless that demotes the
/// last enabled administrator.
pub async fn set_role(pool: &Pool, id: &str, role: Role, now: &str) -> sqlx::Result<AdminChange> {
    let change = sqlx::query("UPDATE console_users SET role = $2, updated_at = $3 WHERE id = $1")
        .bind(id)
        .bind(role.as_str())
        .bind(now);
    keeping_an_admin(pool, id, role != Role::Administrator, change).await
}

fn disable_statement<'q>(
    id: &'q str,
    disabled: bool,
    now: &'q str,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    sqlx::query(
        "UPDATE console_users
         SET disabled = $2,
             session_version = session_version + (CASE WHEN $2 = 1 THEN 1 ELSE 0 END),
             updated_at = $3
         WHERE id = $1",
    )
    .bind(id)
    .bind(disabled as i64)
    .bind(now)
}

/// Disables (ending the user's sessions) or enables a user, whatever its role (the command
/// line's way back in). Returns false when no such user exists.
pub async fn set_disabled(pool: &Pool, id: &str, disabled: bool, now: &str) -> sqlx::Result<bool> {
    Ok(super::write(pool, disable_statement(id, disabled, now)).await? == 1)
}
