//! Assigning many users and groups at once (the Add assignment page) and changing the role of an
//! existing assignment. Like a single assignment, each change goes into the directory's change
//! sequence, so the next incremental cycle provisions (or re-provisions) whom it concerns.

use super::apps::{existing, role_of};
use crate::audit::{self, Actor, Outcome};
use crate::db::apps as store;
use crate::db::assignments;
use crate::db::directory::{self as dir, ChangeKind};
use crate::db::Pool;
use crate::directory::{groups::resolve_principal, invalid, DirError};

/// The most users and groups one Add assignment submits.
pub const MAX_AT_ONCE: usize = 200;

/// What assigning several did.
#[derive(Debug, Clone, Default)]
pub struct AssignedMany {
    pub users: usize,
    pub groups: usize,
    /// Names of those that already had the role (left as they were).
    pub already: Vec<String>,
    pub role_name: String,
    pub provisioned: bool,
}

impl AssignedMany {
    /// "Assigned 3 users and 1 group with the role Admin. Already assigned: Ana."
    pub fn message(&self) -> String {
        use crate::model::plural;
        let mut parts = Vec::new();
        if self.users > 0 {
            parts.push(plural(self.users as i64, "user", "users"));
        }
        if self.groups > 0 {
            parts.push(plural(self.groups as i64, "group", "groups"));
        }
        let mut m = if parts.is_empty() {
            "Nothing new was assigned.".to_string()
        } else if self.role_name.is_empty() {
            format!("Assigned {}.", parts.join(" and "))
        } else {
            format!(
                "Assigned {} with the role {}.",
                parts.join(" and "),
                self.role_name
            )
        };
        if !self.already.is_empty() {
            m.push_str(&format!(
                " Already assigned{}: {}.",
                if self.role_name.is_empty() {
                    ""
                } else {
                    " with this role"
                },
                self.already.join(", ")
            ));
        }
        if !self.provisioned && !parts.is_empty() {
            m.push_str(" Users with this role are not provisioned.");
        }
        m
    }
}

/// Assigns the users and groups named by object id with one role, all or nothing: a principal
/// that no longer exists (or a user since deleted) fails the whole request and nothing is
/// assigned; those that already hold the role are reported and left alone.
pub async fn assign_many(
    pool: &Pool,
    app: &str,
    principals: &[String],
    role: &str,
    actor: &Actor,
) -> Result<AssignedMany, DirError> {
    let mut ids: Vec<&str> = principals
        .iter()
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Err(invalid("principals", "select at least one user or group"));
    }
    if ids.len() > MAX_AT_ONCE {
        return Err(invalid(
            "principals",
            format!("select at most {MAX_AT_ONCE} users and groups at a time"),
        ));
    }
    let a = existing(pool, app).await?;
    let role = role.trim();
    let (role_name, provisioned) = role_of(pool, &a, role).await?;
    let mut done = AssignedMany {
        role_name: role_name.clone(),
        provisioned,
        ..Default::default()
    };
    let mut assigned = Vec::new();
    let mut tx = crate::directory::begin(pool).await?;
    let now = crate::timefmt::now();
    for id in ids {
        let (kind, pid, pname) = resolve_principal(&mut tx, id).await.map_err(|e| match e {
            DirError::Invalid { message, .. } => invalid("principals", message),
            other => other,
        })?;
        if store::assign(
            &mut tx,
            &crate::ids::new(),
            app,
            kind,
            &pid,
            role,
            &actor.name,
            &now,
        )
        .await?
        {
            dir::record_change(&mut tx, ChangeKind::Assignment, app, &pid, "add", &now).await?;
            match kind {
                "user" => done.users += 1,
                _ => done.groups += 1,
            }
            assigned.push((kind, pname));
        } else {
            done.already.push(pname);
        }
    }
    tx.commit().await?;
    let role_label = if role_name.is_empty() { "none" } else { &role_name };
    for (kind, name) in &assigned {
        let detail = format!("{kind} {name}; role {role_label}");
        audit::record(pool, actor, "app.assign", &a.name, Outcome::Success, &detail).await;
    }
    Ok(done)
}

/// Gives an existing assignment another role of its application. The change is recorded for the
/// assigned user or group, so the next cycle sends the new role (or, for a role that is not
/// provisioned, takes the account out as leaving scope does).
pub async fn set_role(
    pool: &Pool,
    app: &str,
    assignment: &str,
    role: &str,
    actor: &Actor,
) -> Result<String, DirError> {
    let a = existing(pool, app).await?;
    let role = role.trim();
    let (role_name, _) = role_of(pool, &a, role).await?;
    if role_name.is_empty() {
        return Err(invalid("role", "this application has no roles"));
    }
    let mut tx = crate::directory::begin(pool).await?;
    let (principal, before) = assignments::assignment(&mut tx, app, assignment)
        .await?
        .ok_or_else(|| DirError::NotFound("that assignment no longer exists".into()))?;
    let name = match resolve_principal(&mut tx, &principal).await {
        Ok((_, _, name)) => name,
        Err(_) => principal.clone(),
    };
    if before == role {
        return Ok(format!("{name} already has the role {role_name}."));
    }
    if !assignments::set_role(&mut tx, app, assignment, &principal, role).await? {
        return Err(DirError::Conflict(format!(
            "{name} is already assigned with the role {role_name}"
        )));
    }
    let now = crate::timefmt::now();
    dir::record_change(&mut tx, ChangeKind::Assignment, app, &principal, "update", &now).await?;
    tx.commit().await?;
    let detail = format!("{name}; role {before} -> {role}");
    audit::record(
        pool,
        actor,
        "app.assignment_role",
        &a.name,
        Outcome::Success,
        &detail,
    )
    .await;
    Ok(format!("{name} now has the role {role_name}."))
}
