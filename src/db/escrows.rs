//! Escrows (`prov_escrows`): objects whose last operation failed, with their retry schedule.

use super::vocab::ObjectType;
use super::Pool;
use sqlx::Row;

#[derive(Debug, Clone)]
pub struct Escrow {
    pub object_type: ObjectType,
    pub source_id: String,
    pub first_failed_at: String,
    pub attempts: i64,
    /// When it is retried.
    pub next_at: String,
}

/// Every escrowed object of an application (few: what failed after the client's retries).
pub async fn escrows(pool: &Pool, app: &str) -> sqlx::Result<Vec<Escrow>> {
    sqlx::query(
        "SELECT object_type, source_id, first_failed_at, attempts, next_at FROM prov_escrows
         WHERE app_id = $1 ORDER BY next_at",
    )
    .bind(app)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| {
        Ok(Escrow {
            object_type: super::vocab::column(r, "object_type")?,
            source_id: r.try_get("source_id")?,
            first_failed_at: r.try_get("first_failed_at")?,
            attempts: r.try_get("attempts")?,
            next_at: r.try_get("next_at")?,
        })
    })
    .collect()
}

/// How many objects of an application are escrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub escrowed: i64,
    /// Of those, the ones whose failure was a reference (manager, member) update.
    pub reference: i64,
}

pub async fn escrow_counts(pool: &Pool, app: &str) -> sqlx::Result<Counts> {
    let r = sqlx::query(
        "SELECT count(*) AS escrowed, CAST(COALESCE(sum(reference), 0) AS BIGINT) AS reference
         FROM prov_escrows WHERE app_id = $1",
    )
    .bind(app)
    .fetch_one(pool)
    .await?;
    Ok(Counts {
        escrowed: r.get("escrowed"),
        reference: r.get("reference"),
    })
}

/// An escrow change: `Some` retry to store, `None` = the object succeeded (or was dropped):
/// clear it.
pub struct EscrowWrite {
    pub object_type: ObjectType,
    pub source_id: String,
    pub retry: Option<Retry>,
}

/// When an escrowed object is tried again, and why it is escrowed.
pub struct Retry {
    /// The first failure of this run of failures: the schedule continues from it.
    pub first_failed_at: String,
    pub attempts: i64,
    pub next_at: String,
    pub error_code: String,
    /// The failure was a reference update (a manager or group membership).
    pub reference: bool,
}

/// Stores or clears an escrow.
pub async fn write(conn: &mut super::Conn, app: &str, e: &EscrowWrite) -> sqlx::Result<()> {
    match &e.retry {
        Some(r) => {
            sqlx::query(
                "INSERT INTO prov_escrows (app_id, object_type, source_id, first_failed_at, attempts, next_at, error_code, reference)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (app_id, object_type, source_id) DO UPDATE SET attempts = excluded.attempts,
                     next_at = excluded.next_at, error_code = excluded.error_code, reference = excluded.reference",
            )
            .bind(app)
            .bind(e.object_type.as_str())
            .bind(&e.source_id)
            .bind(&r.first_failed_at)
            .bind(r.attempts)
            .bind(&r.next_at)
            .bind(&r.error_code)
            .bind(r.reference as i64)
            .execute(conn)
            .await?;
        }
        None => {
            sqlx::query("DELETE FROM prov_escrows WHERE app_id = $1 AND object_type = $2 AND source_id = $3")
                .bind(app)
                .bind(e.object_type.as_str())
                .bind(&e.source_id)
                .execute(conn)
                .await?;
        }
    }
    Ok(())
}
