//! The directory: users, groups, direct memberships and the change sequence (imports: `imports`).
//!
//! Writers pass a connection inside their transaction; every write function that changes a user,
//! group or membership also appends to `dir_changes` in that transaction, so the sequence can never
//! disagree with the data.

use super::Pool;
use crate::db::sql::Sql;
use sqlx::Row;

mod groups;
mod users;

pub use groups::*;
pub use users::*;

pub use super::vocab::{ChangeKind, ObjectType};

/// A directory object as names show it next to ids and in pickers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    pub kind: ObjectType,
    pub id: String,
    /// The display name.
    pub name: String,
    /// A user's userPrincipalName; a group's description (empty where not read).
    pub detail: String,
}

impl Named {
    /// Reads the columns `id`, `name` and `detail`.
    pub(super) fn read(kind: ObjectType, r: &super::Row) -> Named {
        Named {
            kind,
            id: r.get("id"),
            name: r.get("name"),
            detail: r.get("detail"),
        }
    }
}

/// Appends to the change sequence; call inside the transaction of the change.
pub async fn record_change(
    conn: &mut crate::db::Conn,
    kind: ChangeKind,
    object_id: &str,
    related_id: &str,
    op: &str,
    at: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO dir_changes (at, object_type, object_id, related_id, op) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(at)
    .bind(kind.as_str())
    .bind(object_id)
    .bind(related_id)
    .bind(op)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Change records collected during a bulk write and appended in a few multi-row statements, still
/// inside the bulk write's transaction.
#[derive(Default)]
pub struct ChangeBuffer(Vec<(ChangeKind, String, String, &'static str)>);

impl ChangeBuffer {
    pub fn push(&mut self, kind: ChangeKind, object_id: &str, related_id: &str, op: &'static str) {
        self.0
            .push((kind, object_id.to_string(), related_id.to_string(), op));
    }

    pub async fn flush(&mut self, conn: &mut crate::db::Conn, at: &str) -> sqlx::Result<()> {
        for chunk in self.0.chunks(150) {
            let mut qb = Sql::new("INSERT INTO dir_changes (at, object_type, object_id, related_id, op) ");
            qb.push_values(chunk, |mut b, (kind, object, related, op)| {
                b.push_bind(at.to_string())
                    .push_bind(kind.as_str())
                    .push_bind(object.clone())
                    .push_bind(related.clone())
                    .push_bind(*op);
            });
            qb.build().execute(&mut *conn).await?;
        }
        self.0.clear();
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub seq: i64,
    pub at: String,
    /// What changed (stored as `object_type`).
    pub kind: ChangeKind,
    pub object_id: String,
    pub related_id: String,
    pub op: String,
}

/// Changes after `since`, in order: an indexed range read whose cost follows the number of changes.
pub async fn changes_since(pool: &Pool, since: i64, limit: i64) -> sqlx::Result<Vec<Change>> {
    let rows = sqlx::query(
        "SELECT seq, at, object_type, object_id, related_id, op FROM dir_changes
         WHERE seq > $1 ORDER BY seq LIMIT $2",
    )
    .bind(since)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Change {
                seq: r.try_get("seq")?,
                at: r.try_get("at")?,
                kind: super::vocab::column(r, "object_type")?,
                object_id: r.try_get("object_id")?,
                related_id: r.try_get("related_id")?,
                op: r.try_get("op")?,
            })
        })
        .collect()
}

pub async fn last_change(pool: &Pool) -> sqlx::Result<i64> {
    Ok(
        sqlx::query_scalar::<_, Option<i64>>("SELECT max(seq) FROM dir_changes")
            .fetch_one(pool)
            .await?
            .unwrap_or(0),
    )
}

/// Users and groups whose names start with `q`, for pickers.
pub async fn suggest(pool: &Pool, q: &str, groups_too: bool, limit: i64) -> sqlx::Result<Vec<Named>> {
    let q = q.trim().to_lowercase();
    let mut upper = q.clone();
    upper.push(char::MAX);
    let mut out: Vec<Named> = sqlx::query(
        "SELECT u.id, u.display_name AS name, u.upn AS detail FROM dir_users u JOIN (
             SELECT display_lower, id FROM dir_users WHERE deleted_at IS NULL AND display_lower >= $1 AND display_lower < $2
             UNION SELECT display_lower, id FROM dir_users WHERE deleted_at IS NULL AND upn_lower >= $1 AND upn_lower < $2
             ORDER BY 1, 2 LIMIT $3) p ON u.id = p.id
         ORDER BY p.display_lower, p.id",
    )
    .bind(&q)
    .bind(&upper)
    .bind(limit)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| Named::read(ObjectType::User, r))
    .collect();
    if groups_too {
        let rows = sqlx::query(
            "SELECT id, display_name AS name, description AS detail FROM dir_groups WHERE display_lower >= $1 AND display_lower < $2
             ORDER BY display_lower LIMIT $3",
        )
        .bind(&q)
        .bind(&upper)
        .bind(limit)
        .fetch_all(pool)
        .await?;
        out.extend(rows.iter().map(|r| Named::read(ObjectType::Group, r)));
    }
    Ok(out)
}

/// How large the directory is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Users not deleted.
    pub users: i64,
    /// Soft-deleted users (kept 30 days).
    pub deleted_users: i64,
    pub groups: i64,
}

pub async fn directory_counts(pool: &Pool) -> sqlx::Result<Counts> {
    let r = sqlx::query(
        "SELECT live, deleted, (SELECT count(*) FROM dir_groups) AS group_count FROM dir_user_counts",
    )
    .fetch_one(pool)
    .await?;
    Ok(Counts {
        users: r.get("live"),
        deleted_users: r.get("deleted"),
        groups: r.get("group_count"),
    })
}

/// Deletes directory changes older than `before` that every provisioning job has read (at or below
/// the lowest watermark; a job without one runs an initial cycle and reads none), a batch at a
/// time. The newest change always stays, so the sequence never starts again below a watermark.
pub async fn prune_changes(pool: &Pool, before: &str) -> sqlx::Result<u64> {
    const BATCH: i64 = 5_000;
    super::delete_in_batches(pool, BATCH as u64, || {
        sqlx::query(
            "DELETE FROM dir_changes WHERE seq IN (
                 SELECT seq FROM dir_changes
                 WHERE at < $1
                   AND seq < (SELECT max(seq) FROM dir_changes)
                   AND seq <= COALESCE((SELECT min(watermark) FROM prov_jobs WHERE watermark IS NOT NULL),
                                       (SELECT max(seq) FROM dir_changes))
                 ORDER BY seq LIMIT $2)",
        )
        .bind(before)
        .bind(BATCH)
    })
    .await
}
