//! Enterprise applications: the application, its roles and mappings (copied from the gallery
//! template when it was added) and its assignments.

use super::Pool;
use crate::db::sql::Sql;
use crate::model::{AppAssignmentRef, AppRoleInfo, MappingInfo, PrincipalRef};
use sqlx::Row;

pub struct AppRow {
    pub id: String,
    pub name: String,
    pub template: String,
    pub provisioning_on: bool,
    pub created_at: String,
    pub users: i64,
    pub groups: i64,
}

const APP_SELECT: &str = "SELECT a.id, a.name, a.template, a.provisioning_status, a.created_at,
        (SELECT count(*) FROM app_assignments s WHERE s.app_id = a.id AND s.principal_type = 'user') AS users,
        (SELECT count(*) FROM app_assignments s WHERE s.app_id = a.id AND s.principal_type = 'group') AS groups
     FROM apps a";

fn app_from(r: &crate::db::Row) -> AppRow {
    AppRow {
        id: r.get("id"),
        name: r.get("name"),
        template: r.get("template"),
        provisioning_on: r.get::<String, _>("provisioning_status") == "on",
        created_at: r.get("created_at"),
        users: r.get("users"),
        groups: r.get("groups"),
    }
}

/// Every application, by name (the command line, the users list's choices).
pub async fn list(pool: &Pool) -> sqlx::Result<Vec<AppRow>> {
    let rows = sqlx::query(&format!("{APP_SELECT} ORDER BY a.name_lower"))
        .fetch_all(pool)
        .await?;
    Ok(rows.iter().map(app_from).collect())
}

/// A page of the applications whose name contains `q` (case and accents aside), by name, with
/// how many match in all. Names are compared on one narrow read; only the page's rows are read
/// with their assignment counts.
pub async fn page(pool: &Pool, q: &str, offset: i64, limit: i64) -> sqlx::Result<(Vec<AppRow>, i64)> {
    let q = crate::mapping::text::search_fold(q);
    let names = sqlx::query("SELECT id, name FROM apps ORDER BY name_lower, id")
        .fetch_all(pool)
        .await?;
    let matching: Vec<String> = names
        .iter()
        .filter(|r| {
            q.is_empty() || crate::mapping::text::search_fold(&r.get::<String, _>("name")).contains(&q)
        })
        .map(|r| r.get("id"))
        .collect();
    let mut rows = Vec::new();
    for id in matching
        .iter()
        .skip(offset.max(0) as usize)
        .take(limit.max(0) as usize)
    {
        if let Some(a) = get(pool, id).await? {
            rows.push(a);
        }
    }
    Ok((rows, matching.len() as i64))
}

/// How many applications there are, and how many have provisioning On.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub apps: i64,
    pub provisioning_on: i64,
}

pub async fn counts(pool: &Pool) -> sqlx::Result<Counts> {
    let r = sqlx::query(
        "SELECT count(*) AS apps, COALESCE(sum(CASE WHEN provisioning_status = 'on' THEN 1 ELSE 0 END), 0) AS provisioning_on
         FROM apps",
    )
    .fetch_one(pool)
    .await?;
    Ok(Counts {
        apps: r.get("apps"),
        provisioning_on: r.get("provisioning_on"),
    })
}

pub async fn get(pool: &Pool, id: &str) -> sqlx::Result<Option<AppRow>> {
    Ok(sqlx::query(&format!("{APP_SELECT} WHERE a.id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?
        .as_ref()
        .map(app_from))
}

pub async fn name_taken(conn: &mut crate::db::Conn, name: &str, except: &str) -> sqlx::Result<bool> {
    Ok(
        sqlx::query_scalar::<_, String>("SELECT id FROM apps WHERE name_lower = $1")
            .bind(name.to_lowercase())
            .fetch_optional(&mut *conn)
            .await?
            .is_some_and(|id| id != except),
    )
}

/// What a new application starts with: its gallery template's id, roles and mappings.
pub struct NewApp<'a> {
    pub template: &'a str,
    pub roles: Vec<NewRole<'a>>,
    pub user_mappings: Vec<NewMapping<'a>>,
    pub group_mappings: Vec<NewMapping<'a>>,
}

pub struct NewRole<'a> {
    pub value: &'a str,
    pub display_name: &'a str,
    pub description: &'a str,
    pub provisioned: bool,
}

pub struct NewMapping<'a> {
    pub target: &'a str,
    pub kind: &'a str,
    pub source: &'a str,
    pub default_value: &'a str,
    pub matching: i64,
    pub apply_on: &'a str,
}

/// Adds an application with the template's roles and mappings.
pub async fn insert(
    conn: &mut crate::db::Conn,
    id: &str,
    name: &str,
    t: &NewApp<'_>,
    actor: &str,
    now: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO apps (id, name, name_lower, template, created_at, created_by, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $5)",
    )
    .bind(id)
    .bind(name)
    .bind(name.to_lowercase())
    .bind(t.template)
    .bind(now)
    .bind(actor)
    .execute(&mut *conn)
    .await?;
    super::provisioning::insert_defaults(&mut *conn, id, now).await?;
    for (i, r) in t.roles.iter().enumerate() {
        sqlx::query(
            "INSERT INTO app_roles (app_id, value, display_name, description, provisioned, position)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(r.value)
        .bind(r.display_name)
        .bind(r.description)
        .bind(i64::from(r.provisioned))
        .bind(i as i64)
        .execute(&mut *conn)
        .await?;
    }
    for (object, target_object, list) in [
        ("user", "User", &t.user_mappings),
        ("group", "Group", &t.group_mappings),
    ] {
        sqlx::query(
            "INSERT INTO app_object_mappings (app_id, object, enabled, target_object) VALUES ($1, $2, 1, $3)",
        )
        .bind(id)
        .bind(object)
        .bind(target_object)
        .execute(&mut *conn)
        .await?;
        for (i, m) in list.iter().enumerate() {
            sqlx::query(
                "INSERT INTO app_mappings (app_id, object, position, target, kind, source, default_value, matching, apply_on)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(id)
            .bind(object)
            .bind(i as i64)
            .bind(m.target)
            .bind(m.kind)
            .bind(m.source)
            .bind(m.default_value)
            .bind(m.matching)
            .bind(m.apply_on)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

pub async fn rename(conn: &mut crate::db::Conn, id: &str, name: &str, now: &str) -> sqlx::Result<bool> {
    let done = sqlx::query("UPDATE apps SET name = $2, name_lower = $3, updated_at = $4 WHERE id = $1")
        .bind(id)
        .bind(name)
        .bind(name.to_lowercase())
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes the application; roles, mappings and assignments go with it (foreign keys cascade).
pub async fn delete(conn: &mut crate::db::Conn, id: &str) -> sqlx::Result<bool> {
    let done = sqlx::query("DELETE FROM apps WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn roles(pool: &Pool, app: &str) -> sqlx::Result<Vec<AppRoleInfo>> {
    let rows = sqlx::query(
        "SELECT value, display_name, description, provisioned FROM app_roles WHERE app_id = $1 ORDER BY position",
    )
    .bind(app)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| AppRoleInfo {
            value: r.get("value"),
            display_name: r.get("display_name"),
            description: r.get("description"),
            provisioned: r.get::<i64, _>("provisioned") != 0,
        })
        .collect())
}

pub async fn mappings(pool: &Pool, app: &str) -> sqlx::Result<Vec<MappingInfo>> {
    let rows = sqlx::query(
        "SELECT object, target, kind, source, matching, apply_on FROM app_mappings WHERE app_id = $1
         ORDER BY object DESC, position",
    )
    .bind(app)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| MappingInfo {
            object: r.get("object"),
            target: r.get("target"),
            kind: r.get("kind"),
            source: r.get("source"),
            matching: r.get("matching"),
            apply_on: r.get("apply_on"),
        })
        .collect())
}

/// Adds an assignment; false when the principal already has that role in the application.
#[allow(clippy::too_many_arguments)]
pub async fn assign(
    conn: &mut crate::db::Conn,
    id: &str,
    app: &str,
    principal_type: &str,
    principal: &str,
    role: &str,
    actor: &str,
    now: &str,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "INSERT INTO app_assignments (id, app_id, principal_type, principal_id, role, created_at, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (app_id, principal_id, role) DO NOTHING",
    )
    .bind(id)
    .bind(app)
    .bind(principal_type)
    .bind(principal)
    .bind(role)
    .bind(now)
    .bind(actor)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Removes an assignment, returning its principal.
pub async fn unassign(conn: &mut crate::db::Conn, app: &str, id: &str) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("DELETE FROM app_assignments WHERE app_id = $1 AND id = $2 RETURNING principal_id")
        .bind(app)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
}

pub struct AssignmentListRow {
    pub id: String,
    pub principal: PrincipalRef,
    pub role: String,
    pub role_name: String,
    pub role_provisioned: bool,
    pub created_at: String,
}

fn push_assignment_filter(qb: &mut Sql<'_>, app: &str, q: Option<&str>) {
    qb.push(
        " FROM app_assignments s
          LEFT JOIN dir_users u ON s.principal_type = 'user' AND u.id = s.principal_id
          LEFT JOIN dir_groups g ON s.principal_type = 'group' AND g.id = s.principal_id
          LEFT JOIN app_roles r ON r.app_id = s.app_id AND r.value = s.role
          WHERE s.app_id = ",
    )
    .push_bind(app.to_string());
    if let Some(p) = q
        .map(crate::mapping::text::search_fold)
        .filter(|q| !q.is_empty())
        .map(|q| crate::db::directory::contains_pattern(&q))
    {
        qb.push(" AND (u.search_fold LIKE ")
            .push_bind(p.clone())
            .push(" ESCAPE '\\' OR g.search_fold LIKE ")
            .push_bind(p)
            .push(" ESCAPE '\\')");
    }
}

pub async fn assignment_page(
    pool: &Pool,
    app: &str,
    q: Option<&str>,
    offset: i64,
    limit: i64,
) -> sqlx::Result<Vec<AssignmentListRow>> {
    let mut qb = Sql::new(
        "SELECT s.id, s.principal_type, s.principal_id, s.role, s.created_at,
             COALESCE(u.display_name, g.display_name, s.principal_id) AS name,
             COALESCE(u.upn, g.description, '') AS detail,
             COALESCE(r.display_name, s.role) AS role_name, COALESCE(r.provisioned, 1) AS provisioned",
    );
    push_assignment_filter(&mut qb, app, q);
    qb.push(" ORDER BY lower(COALESCE(u.display_name, g.display_name, s.principal_id)), s.id LIMIT ")
        .push_bind(limit)
        .push(" OFFSET ")
        .push_bind(offset);
    let rows = qb.build().fetch_all(pool).await?;
    Ok(rows
        .iter()
        .map(|r| AssignmentListRow {
            id: r.get("id"),
            principal: PrincipalRef {
                id: r.get("principal_id"),
                kind: r.get("principal_type"),
                name: r.get("name"),
                detail: r.get("detail"),
            },
            role: r.get("role"),
            role_name: r.get("role_name"),
            role_provisioned: r.get::<i64, _>("provisioned") != 0,
            created_at: r.get("created_at"),
        })
        .collect())
}

pub async fn assignment_count(pool: &Pool, app: &str, q: Option<&str>) -> sqlx::Result<i64> {
    let mut qb = Sql::new("SELECT count(*)");
    push_assignment_filter(&mut qb, app, q);
    qb.build_query_scalar().fetch_one(pool).await
}

/// The applications a user or group is assigned to, with the role's name.
pub async fn assignments_of(pool: &Pool, principal: &str) -> sqlx::Result<Vec<AppAssignmentRef>> {
    let rows = sqlx::query(
        "SELECT a.id, a.name, COALESCE(r.display_name, s.role) AS role FROM app_assignments s
         JOIN apps a ON a.id = s.app_id
         LEFT JOIN app_roles r ON r.app_id = s.app_id AND r.value = s.role
         WHERE s.principal_id = $1 ORDER BY a.name_lower",
    )
    .bind(principal)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| AppAssignmentRef {
            app_id: r.get("id"),
            app_name: r.get("name"),
            role: r.get("role"),
        })
        .collect())
}
