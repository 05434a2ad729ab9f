//! The directory as a provisioning cycle reads it: users in pages with their managers, groups
//! with their direct members, and an application's assignments and roles.

use super::directory::UserRecord;
use super::Pool;
use crate::db::sql::Sql;
use sqlx::Row;

/// An app role held by a user or group: directly assigned, or through a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleGrant {
    /// The user or group holding the role.
    pub principal: String,
    /// The role's value ("" for Default Access).
    pub role: String,
    /// The role's display name (its value when the application no longer defines it).
    pub display: String,
}

/// A directory group and one of its direct user members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub group: String,
    pub user: String,
}

fn grant(r: &super::Row) -> RoleGrant {
    RoleGrant {
        principal: r.get("principal"),
        role: r.get("role"),
        display: r.get("display"),
    }
}

/// Users assigned directly to `app`, with their roles.
pub async fn user_assignments(pool: &Pool, app: &str) -> sqlx::Result<Vec<RoleGrant>> {
    let rows = sqlx::query(
        "SELECT s.principal_id AS principal, s.role, COALESCE(r.display_name, s.role) AS display
         FROM app_assignments s LEFT JOIN app_roles r ON r.app_id = s.app_id AND r.value = s.role
         WHERE s.app_id = $1 AND s.principal_type = 'user'",
    )
    .bind(app)
    .fetch_all(pool)
    .await?;
    Ok(rows.iter().map(grant).collect())
}

/// Direct user members of the groups assigned to `app`.
pub async fn assigned_group_members(pool: &Pool, app: &str) -> sqlx::Result<Vec<Membership>> {
    let rows = sqlx::query(
        "SELECT DISTINCT m.group_id, m.member_id FROM dir_members m
         JOIN app_assignments s ON s.principal_id = m.group_id AND s.app_id = $1 AND s.principal_type = 'group'
         WHERE m.member_type = 'user'",
    )
    .bind(app)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| Membership {
            group: r.get("group_id"),
            user: r.get("member_id"),
        })
        .collect())
}

/// A user with its manager's userPrincipalName.
pub struct SourceRow {
    pub user: UserRecord,
    pub manager_upn: Option<String>,
}

const SOURCE_COLS: &str = "u.id, u.upn, u.display_name, u.mail, u.manager_id, u.account_enabled, u.attrs,
    u.created_at, u.updated_at, u.deleted_at, m.upn AS manager_upn";

fn source_from(r: &crate::db::Row) -> SourceRow {
    SourceRow {
        user: super::directory::user_from(r),
        manager_upn: r.get("manager_upn"),
    }
}

/// Users in id order after `after`: an initial cycle reads the directory page by page.
pub async fn users_after(pool: &Pool, after: &str, limit: i64) -> sqlx::Result<Vec<SourceRow>> {
    Ok(sqlx::query(&format!(
        "SELECT {SOURCE_COLS} FROM dir_users u LEFT JOIN dir_users m ON m.id = u.manager_id
         WHERE u.id > $1 ORDER BY u.id LIMIT $2"
    ))
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await?
    .iter()
    .map(source_from)
    .collect())
}

pub async fn users_by_ids(pool: &Pool, ids: &[String]) -> sqlx::Result<Vec<SourceRow>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let mut qb = Sql::new(format!(
            "SELECT {SOURCE_COLS} FROM dir_users u LEFT JOIN dir_users m ON m.id = u.manager_id WHERE u.id IN "
        ));
        qb.push_in_list(chunk);
        out.extend(qb.build().fetch_all(pool).await?.iter().map(source_from));
    }
    Ok(out)
}

/// Direct reports of the given users: (user id).
pub async fn reports_of(pool: &Pool, managers: &[String]) -> sqlx::Result<Vec<String>> {
    let mut out = Vec::new();
    for chunk in managers.chunks(500) {
        let mut qb = Sql::new("SELECT id FROM dir_users WHERE manager_id IN ");
        qb.push_in_list(chunk);
        out.extend(
            qb.build()
                .fetch_all(pool)
                .await?
                .iter()
                .map(|r| r.get::<String, _>("id")),
        );
    }
    Ok(out)
}

/// A directory group with its direct user members.
#[derive(Debug, Clone)]
pub struct GroupSource {
    pub id: String,
    pub display_name: String,
    pub description: String,
    pub mail_nickname: String,
    pub members: Vec<String>,
}

/// Groups by id (all groups when `ids` is None), with their direct user members.
pub async fn groups(pool: &Pool, ids: Option<&[String]>) -> sqlx::Result<Vec<GroupSource>> {
    let mut out: Vec<GroupSource> = Vec::new();
    let read = |rows: Vec<crate::db::Row>| {
        rows.iter()
            .map(|r| GroupSource {
                id: r.get("id"),
                display_name: r.get("display_name"),
                description: r.get("description"),
                mail_nickname: r.get("mail_nickname"),
                members: Vec::new(),
            })
            .collect::<Vec<_>>()
    };
    const COLS: &str = "SELECT id, display_name, description, mail_nickname FROM dir_groups";
    match ids {
        None => {
            out = read(
                sqlx::query(&format!("{COLS} ORDER BY id"))
                    .fetch_all(pool)
                    .await?,
            )
        }
        Some(ids) => {
            for chunk in ids.chunks(500) {
                let mut qb = Sql::new(format!("{COLS} WHERE id IN "));
                qb.push_in_list(chunk);
                out.extend(read(qb.build().fetch_all(pool).await?));
            }
        }
    }
    for g in &mut out {
        g.members = sqlx::query_scalar(
            "SELECT member_id FROM dir_members WHERE group_id = $1 AND member_type = 'user' ORDER BY member_id",
        )
        .bind(&g.id)
        .fetch_all(pool)
        .await?;
    }
    Ok(out)
}

/// Groups that have any of `users` as a direct member.
pub async fn groups_of_users(pool: &Pool, users: &[String]) -> sqlx::Result<Vec<String>> {
    let mut out = Vec::new();
    for chunk in users.chunks(500) {
        let mut qb = Sql::new("SELECT DISTINCT group_id FROM dir_members WHERE member_id IN ");
        qb.push_in_list(chunk);
        out.extend(
            qb.build()
                .fetch_all(pool)
                .await?
                .iter()
                .map(|r| r.get::<String, _>("group_id")),
        );
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// The app roles of the given users, directly or through a group they are a direct member of
/// (the grant's principal is the user).
pub async fn roles_of_users(pool: &Pool, app: &str, users: &[String]) -> sqlx::Result<Vec<RoleGrant>> {
    let mut out = Vec::new();
    for chunk in users.chunks(400) {
        let mut qb = Sql::new(
            "SELECT s.principal_id AS principal, s.role, COALESCE(r.display_name, s.role) AS display FROM app_assignments s
             LEFT JOIN app_roles r ON r.app_id = s.app_id AND r.value = s.role
             WHERE s.principal_type = 'user' AND s.app_id = ",
        );
        qb.push_bind(app).push(" AND s.principal_id IN ");
        qb.push_in_list(chunk);
        qb.push(
            " UNION SELECT m.member_id AS principal, s.role, COALESCE(r.display_name, s.role) AS display FROM dir_members m
              JOIN app_assignments s ON s.principal_id = m.group_id AND s.principal_type = 'group'
              LEFT JOIN app_roles r ON r.app_id = s.app_id AND r.value = s.role
              WHERE s.app_id = ",
        )
        .push_bind(app)
        .push(" AND m.member_id IN ");
        qb.push_in_list(chunk);
        out.extend(qb.build().fetch_all(pool).await?.iter().map(grant));
    }
    Ok(out)
}

/// Groups assigned to `app`, with their roles.
pub async fn group_assignments(pool: &Pool, app: &str) -> sqlx::Result<Vec<RoleGrant>> {
    let rows = sqlx::query(
        "SELECT s.principal_id AS principal, s.role, COALESCE(r.display_name, s.role) AS display FROM app_assignments s
         LEFT JOIN app_roles r ON r.app_id = s.app_id AND r.value = s.role
         WHERE s.app_id = $1 AND s.principal_type = 'group'",
    )
    .bind(app)
    .fetch_all(pool)
    .await?;
    Ok(rows.iter().map(grant).collect())
}
