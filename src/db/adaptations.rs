//! An application's compatibility profile (migration 0013/0006 `prov_adaptations`): what the
//! engine learned about its SCIM endpoint, valid for the configuration version it was learned
//! under. A fact from an older version is neither loaded nor shown, and is replaced when learned
//! again.

use super::{write, Pool};
use crate::model::Adaptation;
use sqlx::Row;

/// A stored fact.
pub struct Learned {
    pub adaptation: Adaptation,
    pub reason: String,
    pub learned_at: String,
}

/// The facts learned under the application's current configuration, oldest first.
pub async fn current(pool: &Pool, app: &str) -> sqlx::Result<Vec<Learned>> {
    let rows = sqlx::query(
        "SELECT a.adaptation AS adaptation, a.reason AS reason, a.learned_at AS learned_at
         FROM prov_adaptations a JOIN app_provisioning p ON p.app_id = a.app_id
         WHERE a.app_id = $1 AND a.config_version = p.config_version
         ORDER BY a.learned_at, a.adaptation",
    )
    .bind(app)
    .fetch_all(pool)
    .await?;
    // A name this version does not know (written by a newer one) is left out.
    Ok(rows
        .iter()
        .filter_map(|r| {
            Some(Learned {
                adaptation: Adaptation::from_spelling(r.get::<String, _>("adaptation").as_str())?,
                reason: r.get("reason"),
                learned_at: r.get("learned_at"),
            })
        })
        .collect())
}

/// Records a fact under the application's current configuration version; one already known for
/// that version keeps its first reason and date.
pub async fn record(pool: &Pool, app: &str, a: Adaptation, reason: &str, now: &str) -> sqlx::Result<()> {
    let statement = sqlx::query(
        "INSERT INTO prov_adaptations (app_id, adaptation, reason, learned_at, config_version)
         SELECT $1, $2, $3, $4, config_version FROM app_provisioning WHERE app_id = $1
         ON CONFLICT (app_id, adaptation) DO UPDATE SET reason = excluded.reason,
             learned_at = excluded.learned_at, config_version = excluded.config_version
         WHERE prov_adaptations.config_version <> excluded.config_version",
    )
    .bind(app)
    .bind(a.as_str())
    .bind(reason)
    .bind(now);
    write(pool, statement).await.map(|_| ())
}

/// Forgets everything learned (Restart (Full): the application may have been replaced).
pub async fn forget(conn: &mut super::Conn, app: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM prov_adaptations WHERE app_id = $1")
        .bind(app)
        .execute(&mut *conn)
        .await
        .map(|_| ())
}
