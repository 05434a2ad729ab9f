//! The directory: users, deleted users, groups and members, imports.

use super::ApiError;
use crate::model::{
    DirGroup, DirGroupPage, DirUser, DirUserPage, DirectoryCounts, ImportPreview, PrincipalRef,
};
use leptos::prelude::*;
use std::collections::BTreeMap;

pub const USER_PAGE: i64 = 50;
pub const GROUP_PAGE: i64 = 50;
/// Members shown on a group's page (the count is always exact).
/// Members per page of a group's page.
pub const MEMBER_PAGE: i64 = 50;

#[cfg(feature = "ssr")]
mod ssr {
    pub(crate) use super::super::guard;
    pub use crate::db::directory as store;
    pub use crate::directory::{groups, users};
    pub use crate::model::Role;

    /// Directory objects as the console names them.
    pub fn refs(list: Vec<store::Named>) -> Vec<crate::model::PrincipalRef> {
        list.into_iter()
            .map(|n| crate::model::PrincipalRef {
                id: n.id,
                kind: n.kind.as_str().to_string(),
                name: n.name,
                detail: n.detail,
            })
            .collect()
    }
}

#[server(endpoint = "directory/counts")]
pub async fn get_directory_counts() -> Result<DirectoryCounts, ApiError> {
    use ssr::*;
    let state = guard::state()?;
    guard::require(Role::Viewer)?;
    let counts = store::directory_counts(&state.pool).await?;
    Ok(DirectoryCounts {
        users: counts.users,
        deleted_users: counts.deleted_users,
        groups: counts.groups,
        last_change: store::last_change(&state.pool).await?,
    })
}

/// A page of users (or of deleted users) whose display name, UPN or mail contains `q` (ignoring
/// case and accents), sign-in `enabled` ("enabled", "disabled" or any) and in `department`.
#[server(endpoint = "directory/users")]
pub async fn list_users(
    #[server(default)] q: String,
    #[server(default)] after: String,
    #[server(default)] deleted: bool,
    #[server(default)] enabled: String,
    #[server(default)] department: String,
    #[server(default)] app: String,
    #[server(default)] sort: String,
) -> Result<DirUserPage, ApiError> {
    use ssr::*;
    let state = guard::state()?;
    guard::require(Role::Viewer)?;
    let text = |s: &str, field: &str, max: usize| -> Result<Option<String>, ApiError> {
        let s = s.trim();
        if s.chars().count() > max {
            return Err(ApiError::invalid(field, format!("Use at most {max} characters.")));
        }
        Ok((!s.is_empty()).then(|| s.to_string()))
    };
    let filter = store::UserFilter {
        deleted,
        q: text(&q, "q", 256)?,
        enabled: match enabled.as_str() {
            "" | "any" => None,
            "enabled" => Some(true),
            "disabled" => Some(false),
            _ => return Err(ApiError::invalid("enabled", "Choose enabled, disabled or any.")),
        },
        department: text(&department, "department", 256)?,
        app: match app.trim() {
            "" => None,
            a => Some(
                crate::model::AppRelation::parse(a)
                    .map(|(r, id)| (r, id.to_string()))
                    .ok_or_else(|| ApiError::invalid("app", "Choose an application from the list."))?,
            ),
        },
    };
    let order = crate::model::UserSort::parse(&sort)
        .ok_or_else(|| ApiError::invalid("sort", "Sort by name or upn, or -name or -upn."))?;
    let cursor = (!after.is_empty()).then(|| crate::model::parse_user_cursor(&after));
    let cursor = cursor.as_ref().map(|(d, i)| (d.as_str(), i.as_str()));
    let (rows, more, total) = match filter.app.clone() {
        Some((crate::model::AppRelation::InScope, app)) => {
            in_scope_page(&state.pool, filter, &app, order, cursor).await?
        }
        _ => {
            let (rows, more) = store::user_page(&state.pool, &filter, order, cursor, USER_PAGE).await?;
            (rows, more, store::user_count(&state.pool, &filter).await?)
        }
    };
    let next = more
        .then(|| {
            rows.last().map(|r| match order.by_upn() {
                true => crate::model::user_cursor(&r.upn.to_lowercase(), &r.id),
                false => crate::model::user_cursor(&r.display_lower, &r.id),
            })
        })
        .flatten();
    Ok(DirUserPage {
        rows: rows
            .into_iter()
            .map(|r| {
                let attrs: BTreeMap<String, String> = serde_json::from_str(&r.attrs).unwrap_or_default();
                crate::model::DirUserRow {
                    id: r.id,
                    upn: r.upn,
                    display_name: r.display_name,
                    mail: r.mail.unwrap_or_default(),
                    job_title: attrs.get("jobTitle").cloned().unwrap_or_default(),
                    department: attrs.get("department").cloned().unwrap_or_default(),
                    account_enabled: r.account_enabled,
                    deleted_at: r.deleted_at,
                }
            })
            .collect(),
        total,
        next,
    })
}

/// A page of the users in an application's scope (as the engine decides it, see
/// `ScopeCheck`): the users the other filters select (assigned ones, unless the application syncs
/// all users) are checked in list order, then paged here; the total is exact.
#[cfg(feature = "ssr")]
async fn in_scope_page(
    pool: &crate::db::Pool,
    mut filter: ssr::store::UserFilter,
    app: &str,
    order: crate::model::UserSort,
    after: Option<(&str, &str)>,
) -> Result<(Vec<ssr::store::UserListRow>, bool, i64), ApiError> {
    let check = crate::provisioning::engine::ScopeCheck::open(pool, app)
        .await
        .map_err(|e| ApiError::invalid("app", format!("The application's scope cannot be read: {e}")))?;
    if check.all_users() {
        filter.app = None;
    }
    let keys = ssr::store::user_keys(pool, &filter, order).await?;
    let ids: Vec<String> = keys.iter().map(|(_, id)| id.clone()).collect();
    let in_scope: std::collections::HashSet<String> = check
        .in_scope(pool, &ids)
        .await
        .map_err(|e| ApiError::invalid("app", format!("The application's scope cannot be read: {e}")))?
        .into_iter()
        .collect();
    let total = in_scope.len() as i64;
    let past = |k: &str, id: &str| match after {
        None => true,
        Some(c) if order.descending() => (k, id) < c,
        Some(c) => (k, id) > c,
    };
    let page: Vec<String> = keys
        .iter()
        .filter(|(k, id)| in_scope.contains(id) && past(k, id))
        .take(USER_PAGE as usize + 1)
        .map(|(_, id)| id.clone())
        .collect();
    let more = page.len() as i64 > USER_PAGE;
    let rows = ssr::store::user_rows(pool, &page[..page.len().min(USER_PAGE as usize)]).await?;
    Ok((rows, more, total))
}

/// The departments of live users, with how many users each has (the users list's filter).
#[server(endpoint = "directory/departments")]
pub async fn user_departments() -> Result<Vec<(String, i64)>, ApiError> {
    use ssr::*;
    let state = guard::state()?;
    guard::require(Role::Viewer)?;
    Ok(store::departments(&state.pool).await?)
}

#[server(endpoint = "directory/user")]
pub async fn get_user(id: String) -> Result<DirUser, ApiError> {
    use ssr::*;
    let state = guard::state()?;
    guard::require(Role::Viewer)?;
    let mut conn = state.pool.acquire().await?;
    let u = store::user(&mut conn, &id)
        .await?
        .ok_or_else(|| ApiError::NotFound("There is no such user.".into()))?;
    drop(conn);
    let manager = match &u.manager_id {
        Some(m) => refs(store::user_names(&state.pool, std::slice::from_ref(m)).await?)
            .into_iter()
            .next(),
        None => None,
    };
    Ok(DirUser {
        reports: refs(store::direct_reports(&state.pool, &u.id, 100).await?),
        groups: refs(store::groups_of(&state.pool, &u.id).await?),
        assignments: crate::db::apps::assignments_of(&state.pool, &u.id).await?,
        purge_at: u.deleted_at.as_deref().and_then(users::purge_date),
        attrs: serde_json::from_str(&u.attrs).unwrap_or_default(),
        id: u.id,
        upn: u.upn,
        display_name: u.display_name,
        mail: u.mail.unwrap_or_default(),
        account_enabled: u.account_enabled,
        manager,
        created_at: u.created_at,
        updated_at: u.updated_at,
        deleted_at: u.deleted_at,
    })
}

/// The user form's fields come as `attrs[name]=value`, one per attribute.
#[server(endpoint = "directory/create_user")]
pub async fn create_user(csrf: String, attrs: BTreeMap<String, String>) -> Result<String, ApiError> {
    use ssr::*;
    let state = guard::state()?;
    let me = guard::admin_change(&csrf).await?;
    let fields: Vec<(String, String)> = attrs.into_iter().collect();
    let id = users::create(&state.pool, &fields, &guard::actor(&me)).await?;
    leptos_axum::redirect(&format!("/directory/users/{id}"));
    Ok(id)
}

#[server(endpoint = "directory/update_user")]
pub async fn update_user(csrf: String, id: String, attrs: BTreeMap<String, String>) -> Result<(), ApiError> {
    use ssr::*;
    let state = guard::state()?;
    let me = guard::admin_change(&csrf).await?;
    let fields: Vec<(String, String)> = attrs.into_iter().collect();
    users::update(&state.pool, &id, &fields, &guard::actor(&me)).await?;
    Ok(())
}

#[server(endpoint = "directory/set_user_enabled")]
pub async fn set_user_enabled(csrf: String, id: String, enabled: bool) -> Result<(), ApiError> {
    use ssr::*;
    let state = guard::state()?;
    let me = guard::admin_change(&csrf).await?;
    users::set_enabled(&state.pool, &id, enabled, &guard::actor(&me)).await?;
    Ok(())
}

#[server(endpoint = "directory/delete_user")]
pub async fn delete_user(csrf: String, id: String) -> Result<(), ApiError> {
    use ssr::*;
    let state = guard::state()?;
    let me = guard::admin_change(&csrf).await?;
    users::soft_delete(&state.pool, &id, &guard::actor(&me)).await?;
    leptos_axum::redirect("/directory/deleted-users");
    Ok(())
}

#[server(endpoint = "directory/restore_user")]
pub async fn restore_user(csrf: String, id: String) -> Result<(), ApiError> {
    use ssr::*;
    let state = guard::state()?;
    let me = guard::admin_change(&csrf).await?;
    users::restore(&state.pool, &id, &guard::actor(&me)).await?;
    Ok(())
}

#[server(endpoint = "directory/purge_user")]
pub async fn purge_user(csrf: String, id: String) -> Result<(), ApiError> {
    use ssr::*;
    let state = guard::state()?;
    let me = guard::admin_change(&csrf).await?;
    users::purge(&state.pool, &id, &guard::actor(&me)).await?;
    Ok(())
}

/// Users (and groups) whose names start with `q`, for the manager and member pickers.
#[server(endpoint = "directory/suggest")]
pub async fn suggest(q: String, #[server(default)] groups: bool) -> Result<Vec<PrincipalRef>, ApiError> {
    use ssr::*;
    let state = guard::state()?;
    guard::require(Role::Viewer)?;
    if q.trim().is_empty() {
        return Ok(Vec::new());
    }
    Ok(refs(store::suggest(&state.pool, &q, groups, 10).await?))
}

#[server(endpoint = "directory/groups")]
pub async fn list_groups(
    #[server(default)] q: String,
    #[server(default)] page: u32,
    #[server(default)] sort: String,
) -> Result<DirGroupPage, ApiError> {
    use ssr::*;
    let state = guard::state()?;
    guard::require(Role::Viewer)?;
    let q = q.trim();
    let q = (!q.is_empty()).then_some(q);
    let order = crate::model::GroupSort::parse(&sort)
        .ok_or_else(|| ApiError::invalid("sort", "Sort by name or members, or -name or -members."))?;
    let offset = i64::from(page) * GROUP_PAGE;
    let rows = store::group_page(&state.pool, q, order, offset, GROUP_PAGE).await?;
    Ok(DirGroupPage {
        rows: rows
            .into_iter()
            .map(|g| crate::model::DirGroupRow {
                id: g.id,
                display_name: g.display_name,
                description: g.description,
                members: g.members,
            })
            .collect(),
        total: store::group_count(&state.pool, q).await?,
        offset,
    })
}

#[server(endpoint = "directory/group")]
pub async fn get_group(
    id: String,
    /// Only members whose name, UPN or mail contains this.
    #[server(default)]
    members_q: String,
    /// The page of members, from 0.
    #[server(default)]
    members_page: u32,
) -> Result<DirGroup, ApiError> {
    use ssr::*;
    let state = guard::state()?;
    guard::require(Role::Viewer)?;
    let members_q = members_q.trim();
    if members_q.chars().count() > 256 {
        return Err(ApiError::invalid("members_q", "Use at most 256 characters."));
    }
    let mut conn = state.pool.acquire().await?;
    let g = store::group(&mut conn, &id)
        .await?
        .ok_or_else(|| ApiError::NotFound("There is no such group.".into()))?;
    drop(conn);
    let (members, member_total) = store::members(
        &state.pool,
        &id,
        (!members_q.is_empty()).then_some(members_q),
        i64::from(members_page.min(1_000_000)) * MEMBER_PAGE,
        MEMBER_PAGE,
    )
    .await?;
    Ok(DirGroup {
        members: members
            .into_iter()
            .map(|m| crate::model::DirMember {
                member: PrincipalRef {
                    id: m.id,
                    kind: m.member_type,
                    name: m.name,
                    detail: m.detail,
                },
                enabled: m.enabled,
                deleted: m.deleted,
            })
            .collect(),
        member_total,
        member_of: refs(store::groups_of(&state.pool, &id).await?),
        assignments: crate::db::apps::assignments_of(&state.pool, &id).await?,
        id: g.id,
        display_name: g.display_name,
        description: g.description,
        mail_nickname: g.mail_nickname,
        created_at: g.created_at,
        updated_at: g.updated_at,
    })
}

#[server(endpoint = "directory/create_group")]
pub async fn create_group(
    csrf: String,
    name: String,
    #[server(default)] description: String,
) -> Result<String, ApiError> {
    use ssr::*;
    let state = guard::state()?;
    let me = guard::admin_change(&csrf).await?;
    let id = groups::create(&state.pool, &name, &description, &guard::actor(&me)).await?;
    leptos_axum::redirect(&format!("/directory/groups/{id}"));
    Ok(id)
}

#[server(endpoint = "directory/update_group")]
pub async fn update_group(
    csrf: String,
    id: String,
    name: String,
    #[server(default)] description: String,
    #[server(default)] mail_nickname: String,
) -> Result<(), ApiError> {
    use ssr::*;
    let state = guard::state()?;
    let me = guard::admin_change(&csrf).await?;
    groups::update(
        &state.pool,
        &id,
        &name,
        &description,
        &mail_nickname,
        &guard::actor(&me),
    )
    .await?;
    Ok(())
}

#[server(endpoint = "directory/delete_group")]
pub async fn delete_group(csrf: String, id: String) -> Result<(), ApiError> {
    use ssr::*;
    let state = guard::state()?;
    let me = guard::admin_change(&csrf).await?;
    groups::delete(&state.pool, &id, &guard::actor(&me)).await?;
    leptos_axum::redirect("/directory/groups");
    Ok(())
}

/// Adds a user (by userPrincipalName) or a group (by name) as a direct member.
#[server(endpoint = "directory/add_member")]
pub async fn add_member(csrf: String, group: String, member: String) -> Result<(), ApiError> {
    use ssr::*;
    let state = guard::state()?;
    let me = guard::admin_change(&csrf).await?;
    groups::add_member(&state.pool, &group, &member, &guard::actor(&me)).await?;
    Ok(())
}

#[server(endpoint = "directory/remove_member")]
pub async fn remove_member(csrf: String, group: String, member: String) -> Result<(), ApiError> {
    use ssr::*;
    let state = guard::state()?;
    let me = guard::admin_change(&csrf).await?;
    groups::remove_member(&state.pool, &group, &member, &guard::actor(&me)).await?;
    Ok(())
}

/// An uploaded file's preview, with the progress of its import once started.
#[server(endpoint = "directory/import")]
pub async fn get_import(id: String) -> Result<ImportPreview, ApiError> {
    use ssr::*;
    let state = guard::state()?;
    guard::require(Role::Viewer)?;
    let staged = crate::db::imports::staged_import(&state.pool, &id)
        .await?
        .ok_or_else(|| ApiError::NotFound("There is no such import; uploads are kept for a day.".into()))?;
    let mut p: ImportPreview = serde_json::from_str(&staged.result).map_err(|e| {
        tracing::error!(error = %e, "stored import preview does not parse");
        ApiError::Internal
    })?;
    p.status = staged.status;
    p.progress = state.imports.get(&id);
    Ok(p)
}

/// Starts a staged import in the background; the page shows its progress.
#[server(endpoint = "directory/run_import")]
pub async fn run_import(csrf: String, id: String) -> Result<(), ApiError> {
    use ssr::*;
    let state = guard::state()?;
    let me = guard::admin_change(&csrf).await?;
    crate::directory::import::start_staged(&state.pool, state.imports.clone(), &id, guard::actor(&me))
        .await?;
    Ok(())
}

#[server(endpoint = "directory/discard_import")]
pub async fn discard_import(csrf: String, id: String) -> Result<(), ApiError> {
    use ssr::*;
    let state = guard::state()?;
    guard::admin_change(&csrf).await?;
    if !crate::db::imports::discard_import(&state.pool, &id).await? {
        return Err(ApiError::Conflict(
            "This import has already started or ended.".into(),
        ));
    }
    leptos_axum::redirect("/directory/import");
    Ok(())
}
