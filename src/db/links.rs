//! The connector data store: which object in the application belongs to which directory object
//! (`prov_objects`, with what was last exported and whether it is active there), and the users'
//! links a `Restart (Full)` set aside until the next initial cycle confirms them
//! (`prov_unconfirmed`).

use super::sql::Sql;
use super::vocab::{LinkState, ObjectType};
use super::{Conn, Pool};
use sqlx::Row;
use std::collections::HashMap;

#[derive(Debug, Clone)]
pub struct Managed {
    pub target_id: String,
    /// JSON array of {target, value}: what was exported last.
    pub exported: String,
    pub state: LinkState,
    /// A link from before a `Restart (Full)` that no cycle has matched again yet
    /// (`prov_unconfirmed`): used only to take a user who left scope out of the target.
    pub unconfirmed: bool,
}

pub async fn managed(
    pool: &Pool,
    app: &str,
    object_type: ObjectType,
    source_id: &str,
) -> sqlx::Result<Option<Managed>> {
    let row = sqlx::query(
        "SELECT source_id, target_id, exported, state FROM prov_objects WHERE app_id = $1 AND object_type = $2 AND source_id = $3",
    )
    .bind(app)
    .bind(object_type.as_str())
    .bind(source_id)
    .fetch_optional(pool)
    .await?;
    row.map(|r| link(&r, false).map(|(_, m)| m)).transpose()
}

/// A connector data store row: what the target now holds for a source object.
pub struct Remembered<'a> {
    pub app: &'a str,
    pub object_type: ObjectType,
    pub source_id: &'a str,
    pub target_id: &'a str,
    pub exported: &'a str,
    pub state: LinkState,
    pub now: &'a str,
}

/// Records what the target now holds for an object.
pub async fn remember(
    db: impl sqlx::Executor<'_, Database = sqlx::Any>,
    r: &Remembered<'_>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO prov_objects (app_id, object_type, source_id, target_id, exported, state, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (app_id, object_type, source_id) DO UPDATE SET target_id = excluded.target_id,
             exported = excluded.exported, state = excluded.state, updated_at = excluded.updated_at",
    )
    .bind(r.app)
    .bind(r.object_type.as_str())
    .bind(r.source_id)
    .bind(r.target_id)
    .bind(r.exported)
    .bind(r.state.as_str())
    .bind(r.now)
    .execute(db)
    .await?;
    Ok(())
}

/// Forgets an object's link (it was deleted in the target).
pub async fn forget(
    conn: &mut Conn,
    app: &str,
    object_type: ObjectType,
    source_id: &str,
) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM prov_objects WHERE app_id = $1 AND object_type = $2 AND source_id = $3")
        .bind(app)
        .bind(object_type.as_str())
        .bind(source_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// `Restart (Full)`: the links are cleared so the next initial cycle matches everything again;
/// users' links wait in `prov_unconfirmed` until then, so that one who leaves scope meanwhile is
/// still disabled. A second restart keeps the links of the first that were not confirmed yet.
pub async fn set_aside(conn: &mut Conn, app: &str) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO prov_unconfirmed (app_id, object_type, source_id, target_id, state)
         SELECT app_id, object_type, source_id, target_id, state FROM prov_objects
         WHERE app_id = $1 AND object_type = 'user'
         ON CONFLICT (app_id, object_type, source_id) DO NOTHING",
    )
    .bind(app)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM prov_objects WHERE app_id = $1")
        .bind(app)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Drops the set-aside links of users the engine has just recorded (a link of their own now, or
/// none because they were deleted in the target).
pub async fn confirm_users(conn: &mut Conn, app: &str, users: &[String]) -> sqlx::Result<()> {
    for chunk in users.chunks(500) {
        let mut qb = Sql::new("DELETE FROM prov_unconfirmed WHERE app_id = ");
        qb.push_bind(app)
            .push(" AND object_type = 'user' AND source_id IN ");
        qb.push_in_list(chunk);
        qb.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// How many objects the connector data store links.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub users: i64,
    pub groups: i64,
}

pub async fn managed_counts(pool: &Pool, app: &str) -> sqlx::Result<Counts> {
    let r = sqlx::query(
        "SELECT COALESCE(sum(CASE WHEN object_type = 'user' THEN 1 ELSE 0 END), 0) AS user_count,
                COALESCE(sum(CASE WHEN object_type = 'group' THEN 1 ELSE 0 END), 0) AS group_count
         FROM prov_objects WHERE app_id = $1",
    )
    .bind(app)
    .fetch_one(pool)
    .await?;
    Ok(Counts {
        users: r.get("user_count"),
        groups: r.get("group_count"),
    })
}

/// The connector data store of one object type: source id -> (target id, exported, state);
/// without `exported` (left empty) when `with_exported` is false.
pub async fn managed_all(
    pool: &Pool,
    app: &str,
    object_type: ObjectType,
    with_exported: bool,
) -> sqlx::Result<HashMap<String, Managed>> {
    let exported = if with_exported {
        "exported"
    } else {
        "'' AS exported"
    };
    let rows = sqlx::query(&format!(
        "SELECT source_id, target_id, {exported}, state FROM prov_objects WHERE app_id = $1 AND object_type = $2"
    ))
    .bind(app)
    .bind(object_type.as_str())
    .fetch_all(pool)
    .await?;
    rows.iter().map(|r| link(r, false)).collect()
}

/// A link from a row of (source_id, target_id, exported, state).
fn link(r: &super::Row, unconfirmed: bool) -> sqlx::Result<(String, Managed)> {
    Ok((
        r.try_get("source_id")?,
        Managed {
            target_id: r.try_get("target_id")?,
            exported: r.try_get("exported")?,
            state: super::vocab::column(r, "state")?,
            unconfirmed,
        },
    ))
}

/// The connector data store rows of the given source ids.
pub async fn managed_some(
    pool: &Pool,
    app: &str,
    object_type: ObjectType,
    ids: &[String],
) -> sqlx::Result<HashMap<String, Managed>> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(500) {
        let mut qb =
            Sql::new("SELECT source_id, target_id, exported, state FROM prov_objects WHERE app_id = ");
        qb.push_bind(app)
            .push(" AND object_type = ")
            .push_bind(object_type.as_str())
            .push(" AND source_id IN ");
        qb.push_in_list(chunk);
        for r in qb.build().fetch_all(pool).await? {
            let (id, m) = link(&r, false)?;
            out.insert(id, m);
        }
    }
    Ok(out)
}

/// The object linked to account `target_id` of the target, with its link.
pub async fn by_target(
    pool: &Pool,
    app: &str,
    object_type: ObjectType,
    target_id: &str,
) -> sqlx::Result<Option<(String, Managed)>> {
    sqlx::query(
        "SELECT source_id, target_id, exported, state FROM prov_objects
         WHERE app_id = $1 AND object_type = $2 AND target_id = $3",
    )
    .bind(app)
    .bind(object_type.as_str())
    .bind(target_id)
    .fetch_optional(pool)
    .await?
    .map(|r| link(&r, false))
    .transpose()
}

/// What was last exported to each of the given target ids (target id -> exported JSON).
pub async fn exported_by_target(
    pool: &Pool,
    app: &str,
    object_type: ObjectType,
    target_ids: &[String],
) -> sqlx::Result<HashMap<String, String>> {
    let mut out = HashMap::new();
    for chunk in target_ids.chunks(500) {
        let mut qb = Sql::new("SELECT target_id, exported FROM prov_objects WHERE app_id = ");
        qb.push_bind(app)
            .push(" AND object_type = ")
            .push_bind(object_type.as_str())
            .push(" AND target_id IN ");
        qb.push_in_list(chunk);
        for r in qb.build().fetch_all(pool).await? {
            out.insert(r.try_get("target_id")?, r.try_get("exported")?);
        }
    }
    Ok(out)
}

/// Users' links from before a `Restart (Full)` that no cycle has confirmed yet (all of them, or
/// those of `ids`), marked `unconfirmed`.
pub async fn unconfirmed_users(
    pool: &Pool,
    app: &str,
    ids: Option<&[String]>,
) -> sqlx::Result<HashMap<String, Managed>> {
    let mut out = HashMap::new();
    let all = [String::new()];
    let chunks: Vec<&[String]> = match ids {
        Some(ids) => ids.chunks(500).collect(),
        None => vec![&all[..]],
    };
    for chunk in chunks {
        let mut qb = Sql::new(
            "SELECT source_id, target_id, '' AS exported, state FROM prov_unconfirmed WHERE object_type = 'user' AND app_id = ",
        );
        qb.push_bind(app);
        if ids.is_some() {
            qb.push(" AND source_id IN ");
            qb.push_in_list(chunk);
        }
        for r in qb.build().fetch_all(pool).await? {
            let (id, m) = link(&r, true)?;
            out.insert(id, m);
        }
    }
    Ok(out)
}

/// One object's new state in the connector data store; `None` exported = forget the object
/// (deleted in the target).
pub struct ObjectWrite {
    pub object_type: ObjectType,
    pub source_id: String,
    pub target_id: String,
    pub exported: Option<String>,
    pub state: LinkState,
}
