//! Enterprise applications: adding one from the gallery, renaming, deleting, and assigning users
//! and groups with app roles. Assignment changes go into the directory's change sequence, because
//! they decide who is provisioned.

use super::gallery;
use crate::audit::{self, Actor, Outcome};
use crate::db::apps as store;
use crate::db::directory::{self as dir, ChangeKind};
use crate::db::{Exclusive, Pool};
use crate::directory::{self, groups::resolve_principal, invalid, DirError};

fn clean_name(name: &str) -> Result<String, DirError> {
    let n = name.trim();
    if n.is_empty() {
        return Err(invalid("name", "enter a name for the application"));
    }
    if n.chars().count() > 120 {
        return Err(invalid("name", "use at most 120 characters"));
    }
    if n.chars().any(char::is_control) {
        return Err(invalid("name", "the name contains control characters"));
    }
    Ok(n.to_string())
}

/// Adds an application from a gallery template, copying its roles and mappings; returns its id.
pub async fn create(pool: &Pool, template: &str, name: &str, actor: &Actor) -> Result<String, DirError> {
    let t = gallery::template(template)
        .ok_or_else(|| invalid("template", "choose an application from the gallery"))?;
    let name = clean_name(if name.trim().is_empty() { &t.name } else { name })?;
    // The unique index on the name decides between two creates at once; the check first gives
    // the usual case its message without a failed insert.
    let mut tx = crate::db::begin(pool, Exclusive::Rows).await?;
    if store::name_taken(&mut tx, &name, "").await? {
        return Err(name_taken(&name));
    }
    let id = crate::ids::new();
    store::insert(
        &mut tx,
        &id,
        &name,
        &t.new_app(),
        &actor.name,
        &crate::timefmt::now(),
    )
    .await
    .map_err(|e| taken_or(e, &name))?;
    tx.commit().await?;
    audit::record(
        pool,
        actor,
        "app.create",
        &name,
        Outcome::Success,
        &format!("from the gallery: {}", t.name),
    )
    .await;
    Ok(id)
}

/// The name of `role` in `app` and whether its users are provisioned: a role must be chosen when
/// the application has roles, and none when it has none.
pub(super) async fn role_of(
    pool: &Pool,
    app: &store::AppRow,
    role: &str,
) -> Result<(String, bool), DirError> {
    let roles = store::roles(pool, &app.id).await?;
    if roles.is_empty() {
        if !role.is_empty() {
            return Err(invalid("role", "this application has no roles"));
        }
        return Ok((String::new(), true));
    }
    match roles.iter().find(|r| r.value == role) {
        Some(r) => Ok((r.display_name.clone(), r.provisioned)),
        None if role.is_empty() => Err(invalid("role", "select a role")),
        None => Err(invalid("role", format!("{role:?} is not a role of {}", app.name))),
    }
}

pub(super) async fn existing(pool: &Pool, id: &str) -> Result<store::AppRow, DirError> {
    store::get(pool, id)
        .await?
        .ok_or_else(|| DirError::NotFound("there is no such application".into()))
}

fn name_taken(name: &str) -> DirError {
    invalid("name", format!("an application named {name:?} already exists"))
}

fn taken_or(e: sqlx::Error, name: &str) -> DirError {
    if crate::db::is_unique_violation(&e) {
        name_taken(name)
    } else {
        e.into()
    }
}

pub async fn rename(pool: &Pool, id: &str, name: &str, actor: &Actor) -> Result<(), DirError> {
    let name = clean_name(name)?;
    let before = existing(pool, id).await?;
    // As in create: the unique index decides a race.
    let mut tx = crate::db::begin(pool, Exclusive::Rows).await?;
    if store::name_taken(&mut tx, &name, id).await? {
        return Err(name_taken(&name));
    }
    store::rename(&mut tx, id, &name, &crate::timefmt::now())
        .await
        .map_err(|e| taken_or(e, &name))?;
    tx.commit().await?;
    audit::record(
        pool,
        actor,
        "app.rename",
        &name,
        Outcome::Success,
        &format!("was {}", before.name),
    )
    .await;
    Ok(())
}

/// Deletes an application with its roles, mappings and assignments. Nothing is left that refers
/// to it; its provisioning job stops with it.
pub async fn delete(pool: &Pool, id: &str, actor: &Actor) -> Result<(), DirError> {
    let before = existing(pool, id).await?;
    // Not while anything else writes the application's records.
    let mut tx = crate::db::begin(pool, Exclusive::App(id)).await?;
    store::delete(&mut tx, id).await?;
    tx.commit().await?;
    audit::record(pool, actor, "app.delete", &before.name, Outcome::Success, "").await;
    Ok(())
}

/// What an assignment did, for the message next to the form.
#[derive(Debug, Clone)]
pub struct Assigned {
    pub principal_name: String,
    pub role_name: String,
    /// False when the role is one provisioning skips (Default Access).
    pub provisioned: bool,
}

/// Assigns a user or group (by objectId, userPrincipalName or group name) with a role. When the
/// application has roles one must be chosen; when it has none the role is empty.
pub async fn assign(
    pool: &Pool,
    app: &str,
    principal: &str,
    role: &str,
    actor: &Actor,
) -> Result<Assigned, DirError> {
    assign_as(pool, app, principal, None, role, actor).await
}

/// [`assign`], insisting that the principal is a "user" or a "group" when `expect` says so.
pub async fn assign_as(
    pool: &Pool,
    app: &str,
    principal: &str,
    expect: Option<&str>,
    role: &str,
    actor: &Actor,
) -> Result<Assigned, DirError> {
    let a = existing(pool, app).await?;
    let role = role.trim();
    let (role_name, provisioned) = role_of(pool, &a, role).await?;
    // An assignment is a directory change (appended to its sequence).
    let mut tx = directory::begin(pool).await?;
    let (kind, pid, pname) = resolve_principal(&mut tx, principal).await.map_err(|e| match e {
        DirError::Invalid { message, .. } => invalid("principal", message),
        other => other,
    })?;
    if expect.is_some_and(|e| e != kind) {
        return Err(invalid(
            "principal",
            format!(
                "{} is a {kind}, not a {}",
                principal.trim(),
                expect.unwrap_or_default()
            ),
        ));
    }
    let now = crate::timefmt::now();
    let id = crate::ids::new();
    if !store::assign(&mut tx, &id, app, kind, &pid, role, &actor.name, &now).await? {
        return Err(DirError::Conflict(if role_name.is_empty() {
            format!("{pname} is already assigned")
        } else {
            format!("{pname} is already assigned with the role {role_name}")
        }));
    }
    dir::record_change(&mut tx, ChangeKind::Assignment, app, &pid, "add", &now).await?;
    tx.commit().await?;
    audit::record(
        pool,
        actor,
        "app.assign",
        &a.name,
        Outcome::Success,
        &format!(
            "{kind} {pname}; role {}",
            if role_name.is_empty() { "none" } else { &role_name }
        ),
    )
    .await;
    Ok(Assigned {
        principal_name: pname,
        role_name,
        provisioned,
    })
}

pub async fn unassign(pool: &Pool, app: &str, assignment: &str, actor: &Actor) -> Result<(), DirError> {
    let a = existing(pool, app).await?;
    let mut tx = directory::begin(pool).await?;
    let Some(principal) = store::unassign(&mut tx, app, assignment).await? else {
        return Err(DirError::NotFound("that assignment no longer exists".into()));
    };
    dir::record_change(
        &mut tx,
        ChangeKind::Assignment,
        app,
        &principal,
        "remove",
        &crate::timefmt::now(),
    )
    .await?;
    tx.commit().await?;
    audit::record(pool, actor, "app.unassign", &a.name, Outcome::Success, &principal).await;
    Ok(())
}
