//! Every sealed secret the database holds, for re-sealing them all under a new encryption key:
//! applications' secret tokens (`app_provisioning.secret_token`) and the SMTP password
//! (`smtp_settings.password`). A new kind of sealed column must be added here, or a key rotation
//! would leave it sealed with the old key.

use super::Conn;
use sqlx::Row;

/// Where a sealed value lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// An application's secret token.
    AppToken(String),
    /// The SMTP server's password.
    SmtpPassword,
}

/// Keeps every other writer off the tables holding sealed values until the transaction ends (on
/// SQLite the write transaction already does).
pub async fn lock(conn: &mut Conn) -> sqlx::Result<()> {
    if super::Backend::of_conn(conn) == super::Backend::Postgres {
        sqlx::query("LOCK TABLE app_provisioning, smtp_settings IN SHARE ROW EXCLUSIVE MODE")
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Every sealed value, with its owner.
pub async fn all(conn: &mut Conn) -> sqlx::Result<Vec<(Owner, String)>> {
    let mut out = Vec::new();
    for r in sqlx::query("SELECT app_id, secret_token FROM app_provisioning WHERE secret_token IS NOT NULL")
        .fetch_all(&mut *conn)
        .await?
    {
        out.push((Owner::AppToken(r.try_get("app_id")?), r.try_get("secret_token")?));
    }
    for r in sqlx::query("SELECT password FROM smtp_settings WHERE id = 1 AND password IS NOT NULL")
        .fetch_all(&mut *conn)
        .await?
    {
        out.push((Owner::SmtpPassword, r.try_get("password")?));
    }
    Ok(out)
}

/// Replaces one sealed value.
pub async fn replace(conn: &mut Conn, owner: &Owner, sealed: &str) -> sqlx::Result<()> {
    let q = match owner {
        Owner::AppToken(app) => {
            sqlx::query("UPDATE app_provisioning SET secret_token = $1 WHERE app_id = $2")
                .bind(sealed)
                .bind(app.as_str())
        }
        Owner::SmtpPassword => {
            sqlx::query("UPDATE smtp_settings SET password = $1 WHERE id = 1").bind(sealed)
        }
    };
    q.execute(&mut *conn).await.map(|_| ())
}
