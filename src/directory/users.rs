//! Creating, editing, disabling, soft-deleting, restoring and purging directory users.

use super::validate::{self, UserChanges};
use super::{begin, invalid, DirError, RESTORE_DAYS};
use crate::audit::{self, Actor, Outcome};
use crate::db::directory::{self as store, ChangeKind, UserRecord};
use crate::db::Pool;

fn first_problem(problems: Vec<validate::FieldProblem>) -> DirError {
    let (field, message) = problems.into_iter().next().unwrap_or_default();
    DirError::Invalid { field, message }
}

/// Whether [`upsert`] made a new user or changed one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upserted {
    Created,
    Updated,
    Unchanged,
}

/// Writes changes to a user inside the caller's transaction: checks the userPrincipalName is free,
/// resolves the manager (it must exist, not be deleted, and not close a loop), writes the row and
/// records the change. The write path of forms and the command line; imports use [`write`] with
/// lookups of their own.
pub async fn upsert(
    conn: &mut crate::db::Conn,
    existing: Option<&UserRecord>,
    changes: &UserChanges,
    now: &str,
) -> Result<(UserRecord, Upserted), DirError> {
    let u = validate::merge_user(existing, changes, crate::ids::new, now).map_err(first_problem)?;
    if existing.is_some_and(|e| !e.upn.eq_ignore_ascii_case(&u.upn)) {
        if let Some(other) = store::user_by_upn(conn, &u.upn).await? {
            if other.id != u.id {
                return Err(upn_taken(&u.upn, other.deleted_at.is_some()));
            }
        }
    }
    let manager = match &changes.manager {
        None => None,
        Some(None) => Some(None),
        Some(Some(reference)) => Some(Some(resolve_manager(conn, &u.id, reference).await?)),
    };
    let (u, done) = write(conn, existing, u, manager).await?;
    if done != Upserted::Unchanged {
        let op = if done == Upserted::Created {
            "create"
        } else {
            "update"
        };
        store::record_change(conn, ChangeKind::User, &u.id, "", op, now).await?;
    }
    Ok((u, done))
}

fn upn_taken(upn: &str, deleted: bool) -> DirError {
    invalid(
        "userPrincipalName",
        if deleted {
            format!("{upn} belongs to a deleted user; restore that user or delete it permanently first")
        } else {
            format!("another user already has the user principal name {upn}")
        },
    )
}

/// Writes a merged user with an already resolved manager (`Some(id)`, `Some(None)` to clear,
/// `None` to keep), without recording the change: the caller records it, possibly in a batch. A
/// new user's UPN is guarded by the unique index, which is cheaper than asking first.
pub async fn write(
    conn: &mut crate::db::Conn,
    existing: Option<&UserRecord>,
    mut u: UserRecord,
    manager: Option<Option<String>>,
) -> Result<(UserRecord, Upserted), DirError> {
    if let Some(m) = manager {
        u.manager_id = m;
    }
    if existing.is_some_and(|e| {
        *e == UserRecord {
            updated_at: e.updated_at.clone(),
            ..u.clone()
        }
    }) {
        return Ok((u, Upserted::Unchanged));
    }
    let kind = match existing {
        Some(_) => {
            store::update_user(conn, &u).await?;
            Upserted::Updated
        }
        None => {
            if !store::insert_user(conn, &u).await? {
                let other = store::user_by_upn(conn, &u.upn).await?;
                return Err(upn_taken(&u.upn, other.is_some_and(|o| o.deleted_at.is_some())));
            }
            Upserted::Created
        }
    };
    Ok((u, kind))
}

/// A manager named by objectId or userPrincipalName, checked for existence and loops.
pub async fn resolve_manager(
    conn: &mut crate::db::Conn,
    user_id: &str,
    reference: &str,
) -> Result<String, DirError> {
    let found = store::user_by_ref(conn, reference).await?;
    let m = match found {
        Some(m) if m.deleted_at.is_none() => m,
        Some(_) => return Err(invalid("manager", format!("the manager {reference} is deleted"))),
        None => {
            return Err(invalid(
                "manager",
                format!("there is no user {reference} to be the manager"),
            ))
        }
    };
    if m.id == user_id {
        return Err(invalid("manager", "a user cannot be their own manager"));
    }
    if store::manager_cycle(conn, user_id, &m.id).await? {
        return Err(invalid(
            "manager",
            format!(
                "{} already reports (directly or indirectly) to this user; that would make a loop",
                m.upn
            ),
        ));
    }
    Ok(m.id)
}

pub(super) async fn existing(conn: &mut crate::db::Conn, id: &str) -> Result<UserRecord, DirError> {
    store::user(conn, id)
        .await?
        .ok_or_else(|| DirError::NotFound("there is no such user".into()))
}

/// Creates a user from attribute/value pairs; returns its objectId.
pub async fn create(pool: &Pool, fields: &[(String, String)], actor: &Actor) -> Result<String, DirError> {
    let changes = validate::user_changes(fields.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .map_err(first_problem)?;
    let mut tx = begin(pool).await?;
    let (u, _) = upsert(&mut tx, None, &changes, &crate::timefmt::now()).await?;
    tx.commit().await?;
    audit::record(pool, actor, "directory.user.create", &u.upn, Outcome::Success, "").await;
    Ok(u.id)
}

/// Changes the attributes named in `fields`; an empty value clears an optional attribute.
pub async fn update(
    pool: &Pool,
    id: &str,
    fields: &[(String, String)],
    actor: &Actor,
) -> Result<(), DirError> {
    let changes = validate::user_changes(fields.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .map_err(first_problem)?;
    let mut tx = begin(pool).await?;
    let before = existing(&mut tx, id).await?;
    if before.deleted_at.is_some() {
        return Err(DirError::Conflict(
            "this user is deleted; restore it before editing".into(),
        ));
    }
    let (u, done) = upsert(&mut tx, Some(&before), &changes, &crate::timefmt::now()).await?;
    tx.commit().await?;
    if done != Upserted::Unchanged {
        audit::record(pool, actor, "directory.user.update", &u.upn, Outcome::Success, "").await;
    }
    Ok(())
}

pub async fn set_enabled(pool: &Pool, id: &str, enabled: bool, actor: &Actor) -> Result<(), DirError> {
    let changes = UserChanges {
        enabled: Some(enabled),
        ..Default::default()
    };
    let mut tx = begin(pool).await?;
    let before = existing(&mut tx, id).await?;
    let (u, done) = upsert(&mut tx, Some(&before), &changes, &crate::timefmt::now()).await?;
    tx.commit().await?;
    if done != Upserted::Unchanged {
        let action = if enabled {
            "directory.user.enable"
        } else {
            "directory.user.disable"
        };
        audit::record(pool, actor, action, &u.upn, Outcome::Success, "").await;
    }
    Ok(())
}

/// Moves a user to Deleted users, from where it can be restored for [`RESTORE_DAYS`] days.
pub async fn soft_delete(pool: &Pool, id: &str, actor: &Actor) -> Result<(), DirError> {
    let mut tx = begin(pool).await?;
    let mut u = existing(&mut tx, id).await?;
    if u.deleted_at.is_some() {
        return Err(DirError::Conflict("this user is already deleted".into()));
    }
    let now = crate::timefmt::now();
    u.deleted_at = Some(now.clone());
    u.updated_at = now.clone();
    store::update_user(&mut tx, &u).await?;
    store::record_change(&mut tx, ChangeKind::User, id, "", "delete", &now).await?;
    tx.commit().await?;
    audit::record(
        pool,
        actor,
        "directory.user.delete",
        &u.upn,
        Outcome::Success,
        "soft delete",
    )
    .await;
    Ok(())
}

pub async fn restore(pool: &Pool, id: &str, actor: &Actor) -> Result<(), DirError> {
    let mut tx = begin(pool).await?;
    let mut u = existing(&mut tx, id).await?;
    if u.deleted_at.is_none() {
        return Err(DirError::Conflict("this user is not deleted".into()));
    }
    let now = crate::timefmt::now();
    u.deleted_at = None;
    u.updated_at = now.clone();
    // A manager deleted meanwhile is dropped rather than restored.
    if let Some(m) = &u.manager_id {
        if store::user(&mut tx, m)
            .await?
            .is_none_or(|m| m.deleted_at.is_some())
        {
            u.manager_id = None;
        }
    }
    store::update_user(&mut tx, &u).await?;
    store::record_change(&mut tx, ChangeKind::User, id, "", "restore", &now).await?;
    tx.commit().await?;
    audit::record(
        pool,
        actor,
        "directory.user.restore",
        &u.upn,
        Outcome::Success,
        "",
    )
    .await;
    Ok(())
}

/// Deletes a soft-deleted user for good ("Delete permanently"); only deleted users can be purged.
pub async fn purge(pool: &Pool, id: &str, actor: &Actor) -> Result<(), DirError> {
    let mut tx = begin(pool).await?;
    let u = existing(&mut tx, id).await?;
    if u.deleted_at.is_none() {
        return Err(DirError::Conflict(
            "delete the user first; only deleted users can be deleted permanently".into(),
        ));
    }
    store::purge_user(&mut tx, id, &crate::timefmt::now()).await?;
    tx.commit().await?;
    audit::record(pool, actor, "directory.user.purge", &u.upn, Outcome::Success, "").await;
    Ok(())
}

/// Purges users deleted more than [`RESTORE_DAYS`] days ago; returns how many.
pub async fn purge_expired(pool: &Pool) -> Result<usize, DirError> {
    let before = crate::timefmt::ago(time::Duration::days(RESTORE_DAYS));
    let ids = store::expired_deleted_users(pool, &before).await?;
    for id in &ids {
        let mut tx = begin(pool).await?;
        store::purge_user(&mut tx, id, &crate::timefmt::now()).await?;
        tx.commit().await?;
    }
    if !ids.is_empty() {
        audit::record(
            pool,
            &Actor::system(),
            "directory.user.purge",
            &format!("{} users", ids.len()),
            Outcome::Success,
            &format!("deleted more than {RESTORE_DAYS} days ago"),
        )
        .await;
    }
    Ok(ids.len())
}

/// The date a soft-deleted user will be purged.
pub fn purge_date(deleted_at: &str) -> Option<String> {
    let t = time::OffsetDateTime::parse(deleted_at, &time::format_description::well_known::Rfc3339).ok()?;
    Some(crate::timefmt::format(t + time::Duration::days(RESTORE_DAYS)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn purge_is_thirty_days_later() {
        assert_eq!(
            super::purge_date("2026-11-28T10:00:00.000Z").as_deref(),
            Some("2026-12-28T10:00:00.000Z")
        );
    }
}
