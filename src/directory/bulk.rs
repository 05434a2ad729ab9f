//! The users list's bulk actions on the ticked users: sign-in on or off, and adding them to a
//! group. Each is all or nothing (one transaction; a user that no longer exists fails the whole
//! request), and each user's change is recorded and audited as the single action would be.

use super::begin;
use super::groups::{add_member_in, existing as existing_group};
use super::users::{existing, upsert, Upserted};
use super::validate::UserChanges;
use super::{invalid, DirError};
use crate::audit::{self, Actor, Outcome};
use crate::db::directory as store;
use crate::db::Pool;

/// The most users one bulk action takes (a page of the list is 50).
pub const MAX_USERS: usize = 200;

/// The ids, trimmed and without repeats, within [`MAX_USERS`].
pub fn selected(ids: &[String]) -> Result<Vec<&str>, DirError> {
    let mut v: Vec<&str> = ids.iter().map(|i| i.trim()).filter(|i| !i.is_empty()).collect();
    v.sort_unstable();
    v.dedup();
    if v.is_empty() {
        return Err(invalid("ids", "select at least one user"));
    }
    if v.len() > MAX_USERS {
        return Err(invalid(
            "ids",
            format!("select at most {MAX_USERS} users at a time"),
        ));
    }
    Ok(v)
}

/// Turns sign-in on or off for the users; returns how many changed (the others already were).
pub async fn set_enabled(
    pool: &Pool,
    ids: &[String],
    enabled: bool,
    actor: &Actor,
) -> Result<usize, DirError> {
    let ids = selected(ids)?;
    let changes = UserChanges {
        enabled: Some(enabled),
        ..Default::default()
    };
    let now = crate::timefmt::now();
    let mut tx = begin(pool).await?;
    let mut changed = Vec::new();
    for id in ids {
        let before = existing(&mut tx, id).await?;
        if before.deleted_at.is_some() {
            return Err(invalid("ids", format!("{} is deleted", before.upn)));
        }
        let (u, done) = upsert(&mut tx, Some(&before), &changes, &now).await?;
        if done != Upserted::Unchanged {
            changed.push(u.upn);
        }
    }
    tx.commit().await?;
    let action = if enabled {
        "directory.user.enable"
    } else {
        "directory.user.disable"
    };
    for upn in &changed {
        audit::record(pool, actor, action, upn, Outcome::Success, "bulk action").await;
    }
    Ok(changed.len())
}

/// What adding users to a group did.
#[derive(Debug, Clone)]
pub struct AddedToGroup {
    pub group: String,
    pub added: usize,
    pub already: usize,
}

/// Adds the users to the group named by id or name; those already in it are counted and left.
pub async fn add_to_group(
    pool: &Pool,
    group: &str,
    ids: &[String],
    actor: &Actor,
) -> Result<AddedToGroup, DirError> {
    let ids = selected(ids)?;
    let reference = group.trim();
    if reference.is_empty() {
        return Err(invalid("group", "enter the group's name"));
    }
    let mut tx = begin(pool).await?;
    let g = match store::group_by_name(&mut tx, reference).await? {
        Some(g) => g,
        None => existing_group(&mut tx, reference)
            .await
            .map_err(|_| invalid("group", format!("there is no group {reference:?}")))?,
    };
    let now = crate::timefmt::now();
    let mut added = Vec::new();
    let mut already = 0;
    for id in ids {
        let u = existing(&mut tx, id).await?;
        if u.deleted_at.is_some() {
            return Err(invalid("ids", format!("{} is deleted", u.upn)));
        }
        if add_member_in(&mut tx, &g, "user", &u.id, &u.upn, &now).await? {
            added.push(u.upn);
        } else {
            already += 1;
        }
    }
    tx.commit().await?;
    for upn in &added {
        let detail = format!("user {upn}; bulk action");
        audit::record(
            pool,
            actor,
            "directory.group.add_member",
            &g.display_name,
            Outcome::Success,
            &detail,
        )
        .await;
    }
    Ok(AddedToGroup {
        group: g.display_name,
        added: added.len(),
        already,
    })
}
