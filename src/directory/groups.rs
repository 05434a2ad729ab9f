//! Directory groups and their direct members (users, and groups nested as members).

use super::validate;
use super::{begin, invalid, DirError};
use crate::audit::{self, Actor, Outcome};
use crate::db::directory::{self as store, GroupRecord};
use crate::db::Pool;

fn check_description(d: &str) -> Result<String, DirError> {
    let d = d.trim();
    if d.chars().count() > 1024 {
        return Err(invalid("description", "use at most 1024 characters"));
    }
    if d.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(invalid("description", "contains control characters"));
    }
    Ok(d.to_string())
}

async fn name_free(conn: &mut crate::db::Conn, name: &str, id: &str) -> Result<(), DirError> {
    match store::group_by_name(conn, name).await? {
        Some(g) if g.id != id => Err(invalid(
            "displayName",
            format!("a group named {name:?} already exists"),
        )),
        _ => Ok(()),
    }
}

/// Creates a group inside the caller's transaction (imports create groups they name).
pub async fn insert(
    conn: &mut crate::db::Conn,
    name: &str,
    description: &str,
    now: &str,
) -> Result<GroupRecord, DirError> {
    let name = validate::group_name(name).map_err(|m| invalid("displayName", m))?;
    name_free(conn, &name, "").await?;
    let g = GroupRecord {
        id: crate::ids::new(),
        mail_nickname: validate::group_nickname(&name),
        display_name: name,
        description: check_description(description)?,
        created_at: now.to_string(),
        updated_at: now.to_string(),
    };
    store::insert_group(conn, &g).await?;
    Ok(g)
}

pub async fn create(pool: &Pool, name: &str, description: &str, actor: &Actor) -> Result<String, DirError> {
    let mut tx = begin(pool).await?;
    let g = insert(&mut tx, name, description, &crate::timefmt::now()).await?;
    tx.commit().await?;
    audit::record(
        pool,
        actor,
        "directory.group.create",
        &g.display_name,
        Outcome::Success,
        "",
    )
    .await;
    Ok(g.id)
}

pub(super) async fn existing(conn: &mut crate::db::Conn, id: &str) -> Result<GroupRecord, DirError> {
    store::group(conn, id)
        .await?
        .ok_or_else(|| DirError::NotFound("there is no such group".into()))
}

pub async fn update(
    pool: &Pool,
    id: &str,
    name: &str,
    description: &str,
    mail_nickname: &str,
    actor: &Actor,
) -> Result<(), DirError> {
    let name = validate::group_name(name).map_err(|m| invalid("displayName", m))?;
    let description = check_description(description)?;
    let nick = mail_nickname.trim();
    if nick.chars().count() > 64
        || !nick
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "'.-_!#^~+".contains(c))
    {
        return Err(invalid(
            "mailNickname",
            "use up to 64 letters, digits and ' . - _ ! # ^ ~ +",
        ));
    }
    let mut tx = begin(pool).await?;
    let before = existing(&mut tx, id).await?;
    name_free(&mut tx, &name, id).await?;
    let g = GroupRecord {
        display_name: name,
        description,
        mail_nickname: if nick.is_empty() {
            before.mail_nickname.clone()
        } else {
            nick.to_string()
        },
        updated_at: crate::timefmt::now(),
        ..before.clone()
    };
    let unchanged = GroupRecord {
        updated_at: before.updated_at.clone(),
        ..g.clone()
    } == before;
    if unchanged {
        return Ok(());
    }
    store::update_group(&mut tx, &g).await?;
    tx.commit().await?;
    audit::record(
        pool,
        actor,
        "directory.group.update",
        &g.display_name,
        Outcome::Success,
        "",
    )
    .await;
    Ok(())
}

pub async fn delete(pool: &Pool, id: &str, actor: &Actor) -> Result<(), DirError> {
    let mut tx = begin(pool).await?;
    let g = existing(&mut tx, id).await?;
    store::delete_group(&mut tx, id, &crate::timefmt::now()).await?;
    tx.commit().await?;
    audit::record(
        pool,
        actor,
        "directory.group.delete",
        &g.display_name,
        Outcome::Success,
        "",
    )
    .await;
    Ok(())
}

/// A user or group named by objectId, userPrincipalName or group name: ("user" | "group", id, name).
pub async fn resolve_principal(
    conn: &mut crate::db::Conn,
    reference: &str,
) -> Result<(&'static str, String, String), DirError> {
    let r = reference.trim();
    if r.is_empty() {
        return Err(invalid("member", "enter a user principal name or a group name"));
    }
    let user = store::user_by_ref(conn, r).await?;
    if let Some(u) = user {
        if u.deleted_at.is_some() {
            return Err(invalid("member", format!("{} is deleted", u.upn)));
        }
        return Ok(("user", u.id, u.upn));
    }
    let group = match store::group(conn, r).await? {
        Some(g) => Some(g),
        None => store::group_by_name(conn, r).await?,
    };
    match group {
        Some(g) => Ok(("group", g.id, g.display_name)),
        None => Err(invalid("member", format!("there is no user or group {r:?}"))),
    }
}

/// Adds a member inside the caller's transaction, refusing a group that would contain itself.
pub async fn add_member_in(
    conn: &mut crate::db::Conn,
    group: &GroupRecord,
    kind: &str,
    member_id: &str,
    member_name: &str,
    now: &str,
) -> Result<bool, DirError> {
    if kind == "group" && store::nesting_cycle(conn, &group.id, member_id).await? {
        return Err(invalid(
            "member",
            if group.id == member_id {
                "a group cannot be a member of itself".to_string()
            } else {
                format!(
                    "{} already contains {} (through nesting); adding it would make a loop",
                    member_name, group.display_name
                )
            },
        ));
    }
    Ok(store::add_member(conn, &group.id, member_id, kind, now).await?)
}

pub async fn add_member(pool: &Pool, group_id: &str, reference: &str, actor: &Actor) -> Result<(), DirError> {
    let mut tx = begin(pool).await?;
    let g = existing(&mut tx, group_id).await?;
    let (kind, id, name) = resolve_principal(&mut tx, reference).await?;
    let now = crate::timefmt::now();
    if !add_member_in(&mut tx, &g, kind, &id, &name, &now).await? {
        return Err(DirError::Conflict(format!(
            "{name} is already a member of {}",
            g.display_name
        )));
    }
    tx.commit().await?;
    audit::record(
        pool,
        actor,
        "directory.group.add_member",
        &g.display_name,
        Outcome::Success,
        &format!("{kind} {name}"),
    )
    .await;
    Ok(())
}

pub async fn remove_member(
    pool: &Pool,
    group_id: &str,
    member_id: &str,
    actor: &Actor,
) -> Result<(), DirError> {
    let mut tx = begin(pool).await?;
    let g = existing(&mut tx, group_id).await?;
    if !store::remove_member(&mut tx, group_id, member_id, &crate::timefmt::now()).await? {
        return Err(DirError::NotFound("that is not a member of this group".into()));
    }
    tx.commit().await?;
    audit::record(
        pool,
        actor,
        "directory.group.remove_member",
        &g.display_name,
        Outcome::Success,
        member_id,
    )
    .await;
    Ok(())
}
