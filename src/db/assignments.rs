//! Beside the assignments of an application: provisioning's view of each assigned user or group
//! (the connector data store's link and the newest log entry), the users and groups the Add
//! assignment page offers, and changing an assignment's role.

use super::sql::Sql;
use super::{Conn, Pool};
use crate::model::{AssignCandidate, AssignmentState, PrincipalRef, ProvisionState};
use sqlx::Row;
use std::collections::HashMap;

/// Provisioning's view of each of these principals (id, "user" or "group") in `app`. Three
/// statements whatever the page's size: the links, the newest log entry of each (one index seek
/// per principal, on prov_log_source), and the groups' direct user members the application holds.
pub async fn provisioning_states(
    pool: &Pool,
    app: &str,
    principals: &[(String, String)],
) -> sqlx::Result<HashMap<String, AssignmentState>> {
    if principals.is_empty() {
        return Ok(HashMap::new());
    }
    let ids: Vec<String> = principals.iter().map(|(id, _)| id.clone()).collect();
    let groups: Vec<String> = principals
        .iter()
        .filter(|(_, k)| k == "group")
        .map(|(id, _)| id.clone())
        .collect();

    let mut qb = Sql::new("SELECT object_type, source_id, state FROM prov_objects WHERE app_id = ");
    qb.push_bind(app).push(" AND source_id IN ").push_in_list(&ids);
    let mut links: HashMap<(String, String), String> = HashMap::new();
    for r in qb.build().fetch_all(pool).await? {
        links.insert((r.get("object_type"), r.get("source_id")), r.get("state"));
    }

    let mut qb = Sql::new(
        "SELECT l.id, l.source_id, l.at, l.action, l.status, l.error_reason, l.steps FROM prov_log l
         WHERE l.app_id = ",
    );
    qb.push_bind(app)
        .push(" AND l.source_id IN ")
        .push_in_list(&ids)
        .push(
            " AND l.id = (SELECT n.id FROM prov_log n WHERE n.app_id = l.app_id AND n.source_id = l.source_id
                 ORDER BY n.at DESC, n.id DESC LIMIT 1)",
        );
    let mut newest: HashMap<String, crate::db::Row> = HashMap::new();
    for r in qb.build().fetch_all(pool).await? {
        newest.insert(r.get("source_id"), r);
    }

    let mut members: HashMap<String, (i64, i64)> = HashMap::new();
    if !groups.is_empty() {
        let mut qb = Sql::new(
            "SELECT m.group_id, count(*) AS total,
                 SUM(CASE WHEN o.state = 'active' THEN 1 ELSE 0 END) AS held
             FROM dir_members m
             LEFT JOIN prov_objects o ON o.app_id = ",
        );
        qb.push_bind(app)
            .push(
                " AND o.object_type = 'user' AND o.source_id = m.member_id
                 WHERE m.member_type = 'user' AND m.group_id IN ",
            )
            .push_in_list(&groups)
            .push(" GROUP BY m.group_id");
        for r in qb.build().fetch_all(pool).await? {
            let held: Option<i64> = r.get("held");
            members.insert(r.get("group_id"), (held.unwrap_or(0), r.get("total")));
        }
    }

    Ok(principals
        .iter()
        .map(|(id, kind)| {
            let link = links.get(&(kind.clone(), id.clone())).map(String::as_str);
            let entry = newest.get(id);
            let status: Option<String> = entry.map(|r| r.get("status"));
            let action: Option<String> = entry.map(|r| r.get("action"));
            let state = ProvisionState::of(link, status.as_deref(), action.as_deref());
            let reason = match (state, entry) {
                (ProvisionState::Skipped | ProvisionState::Failed, Some(r)) => reason_of(r),
                _ => String::new(),
            };
            let members = (kind == "group").then(|| members.get(id).copied().unwrap_or((0, 0)));
            let s = AssignmentState {
                state,
                reason,
                entry: entry.map(|r| (r.get("id"), r.get("at"))),
                members,
            };
            (id.clone(), s)
        })
        .collect())
}

/// Why a log entry skipped or failed: its error's reason, or else the description of its first
/// step that did not succeed (a skip has no error, its step says why).
fn reason_of(r: &crate::db::Row) -> String {
    let reason: String = r.get("error_reason");
    if !reason.is_empty() {
        return reason;
    }
    let steps: String = r.get("steps");
    serde_json::from_str::<Vec<crate::model::ProvisionStep>>(&steps)
        .unwrap_or_default()
        .into_iter()
        .find(|s| s.status != "Success")
        .map(|s| s.description)
        .unwrap_or_default()
}

/// Users (not deleted) and groups whose names contain `q` (ignoring case and accents; all when
/// empty), in name order, `kind` "user", "group" or both (""), with the roles each already has in
/// `app`; at most `limit`, and whether more match.
pub async fn candidates(
    pool: &Pool,
    app: &str,
    q: &str,
    kind: &str,
    limit: i64,
) -> sqlx::Result<(Vec<AssignCandidate>, bool)> {
    let pattern = crate::db::directory::contains_pattern(&crate::mapping::text::search_fold(q));
    const USERS: &str = "SELECT id, display_name, display_lower, upn AS detail, account_enabled AS enabled
         FROM dir_users WHERE deleted_at IS NULL AND search_fold LIKE $1 ESCAPE '\\'
         ORDER BY display_lower, id LIMIT $2";
    const GROUPS: &str = "SELECT id, display_name, display_lower, description AS detail, 1 AS enabled
         FROM dir_groups WHERE search_fold LIKE $1 ESCAPE '\\' ORDER BY display_lower, id LIMIT $2";
    let mut found: Vec<(String, AssignCandidate)> = Vec::new();
    let mut more = false;
    for (of, sql) in [("user", USERS), ("group", GROUPS)] {
        if !kind.is_empty() && kind != of {
            continue;
        }
        let rows = sqlx::query(sql)
            .bind(&pattern)
            .bind(limit + 1)
            .fetch_all(pool)
            .await?;
        more |= rows.len() as i64 > limit;
        found.extend(rows.iter().take(limit as usize).map(|r| {
            let candidate = AssignCandidate {
                principal: PrincipalRef {
                    id: r.get("id"),
                    kind: of.into(),
                    name: r.get("display_name"),
                    detail: r.get("detail"),
                },
                enabled: r.get::<i64, _>("enabled") != 0,
                roles: Vec::new(),
            };
            (r.get::<String, _>("display_lower"), candidate)
        }));
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    if found.len() as i64 > limit {
        found.truncate(limit as usize);
        more = true;
    }
    let mut rows: Vec<AssignCandidate> = found.into_iter().map(|(_, c)| c).collect();
    let ids: Vec<String> = rows.iter().map(|c| c.principal.id.clone()).collect();
    if !ids.is_empty() {
        let mut qb = Sql::new(
            "SELECT s.principal_id, COALESCE(r.display_name, s.role) AS role FROM app_assignments s
             LEFT JOIN app_roles r ON r.app_id = s.app_id AND r.value = s.role WHERE s.app_id = ",
        );
        qb.push_bind(app)
            .push(" AND s.principal_id IN ")
            .push_in_list(&ids)
            .push(" ORDER BY s.created_at");
        let mut roles: HashMap<String, Vec<String>> = HashMap::new();
        for r in qb.build().fetch_all(pool).await? {
            roles
                .entry(r.get("principal_id"))
                .or_default()
                .push(r.get("role"));
        }
        for c in &mut rows {
            c.roles = roles.remove(&c.principal.id).unwrap_or_default();
        }
    }
    Ok((rows, more))
}

/// An assignment of `app`: its principal and role.
pub async fn assignment(conn: &mut Conn, app: &str, id: &str) -> sqlx::Result<Option<(String, String)>> {
    let row = sqlx::query("SELECT principal_id, role FROM app_assignments WHERE app_id = $1 AND id = $2")
        .bind(app)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(|r| (r.get("principal_id"), r.get("role"))))
}

/// Gives an assignment another role; false when its principal already holds that role in the
/// application (the unique key (app, principal, role) would be broken: nothing is written).
pub async fn set_role(
    conn: &mut Conn,
    app: &str,
    id: &str,
    principal: &str,
    role: &str,
) -> sqlx::Result<bool> {
    let taken: Option<String> = sqlx::query_scalar(
        "SELECT id FROM app_assignments WHERE app_id = $1 AND principal_id = $2 AND role = $3 AND id <> $4",
    )
    .bind(app)
    .bind(principal)
    .bind(role)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    if taken.is_some() {
        return Ok(false);
    }
    sqlx::query("UPDATE app_assignments SET role = $3 WHERE app_id = $1 AND id = $2")
        .bind(app)
        .bind(id)
        .bind(role)
        .execute(&mut *conn)
        .await?;
    Ok(true)
}
