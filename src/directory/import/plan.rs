//! Validating a file's rows against the rules and the directory as it is, without writing.

use super::read::{err, split_groups};
use super::{Kind, MemberRow, Plan, Row, Rows, Table, UserRow};
use crate::db::directory as store;
use crate::db::Pool;
use crate::directory::{validate, DirError};
use crate::model::{user_attr, ImportColumn, ImportError};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Validates every row against the rules and the directory as it is now.
pub async fn plan(
    pool: &Pool,
    kind: Kind,
    table: &Table,
    mut errors: Vec<ImportError>,
) -> Result<Plan, DirError> {
    let mut conn = pool.acquire().await?;
    let mut plan = Plan {
        columns: Vec::new(),
        rows: Rows::Users(Vec::new()),
        creates: 0,
        updates: 0,
        new_groups: 0,
        memberships: 0,
        errors: Vec::new(),
    };
    // Group names seen in the file that do not exist yet (lower-cased).
    let mut missing_groups: HashSet<String> = HashSet::new();
    let mut known_groups: HashSet<String> = HashSet::new();
    let mut seen_header = HashSet::new();
    match kind {
        Kind::Users => {
            let mut mapped: Vec<Option<&'static str>> = Vec::new();
            for c in &table.columns {
                let a = if c.trim().eq_ignore_ascii_case("groups") {
                    Some("groups")
                } else {
                    user_attr(c).map(|a| a.name)
                };
                match a {
                    Some(a) if !seen_header.insert(a) => errors.push(err(1, format!("the column {a} appears twice"))),
                    Some(_) => {}
                    None => errors.push(err(
                        1,
                        format!("unknown column {c:?}: use user attribute names such as userPrincipalName, displayName, department, or groups"),
                    )),
                }
                plan.columns.push(ImportColumn {
                    header: c.clone(),
                    attribute: a.map(str::to_string),
                });
                mapped.push(a);
            }
            if !seen_header.contains("userPrincipalName") {
                errors.push(err(
                    1,
                    "the file needs a userPrincipalName column: users are matched by it",
                ));
            }
            if !errors.is_empty() && errors.iter().any(|e| e.line == 1) {
                plan.errors = errors;
                return Ok(plan);
            }
            let upns_in_file: HashMap<String, usize> = table
                .rows
                .iter()
                .filter_map(|r| {
                    let i = mapped.iter().position(|m| *m == Some("userPrincipalName"))?;
                    Some((r.cells[i].clone()?.trim().to_lowercase(), r.line))
                })
                .collect();
            let mut seen_upn: HashMap<String, usize> = HashMap::new();
            let listed: Vec<String> = upns_in_file.keys().cloned().collect();
            // Existing users by lower-cased UPN: whether each is deleted.
            let existing: HashMap<String, bool> = store::users_by_upns(&mut conn, &listed)
                .await?
                .into_iter()
                .map(|u| (u.upn.to_lowercase(), u.deleted_at.is_some()))
                .collect();
            let mut rows = Vec::with_capacity(table.rows.len());
            for r in &table.rows {
                let mut fields = Vec::new();
                let mut groups_cell = None;
                for (m, cell) in mapped.iter().zip(&r.cells) {
                    match (m, cell) {
                        (Some("groups"), Some(v)) => groups_cell = Some(v.as_str()),
                        (Some(a), Some(v)) => fields.push((*a, v.as_str())),
                        _ => {}
                    }
                }
                let changes = match validate::user_changes(fields) {
                    Ok(c) => c,
                    Err(problems) => {
                        for (f, m) in problems {
                            errors.push(err(r.line, format!("{f}: {m}")));
                        }
                        continue;
                    }
                };
                let Some(upn) = changes.upn.clone() else {
                    errors.push(err(r.line, "userPrincipalName: enter a user principal name"));
                    continue;
                };
                let key = upn.to_lowercase();
                if let Some(first) = seen_upn.insert(key.clone(), r.line) {
                    errors.push(err(r.line, format!("{upn} is already on line {first}")));
                    continue;
                }
                match existing.get(&key) {
                    Some(deleted) if *deleted => {
                        errors.push(err(
                            r.line,
                            format!(
                                "{upn} belongs to a deleted user; restore it or delete it permanently first"
                            ),
                        ));
                        continue;
                    }
                    Some(_) => plan.updates += 1,
                    None if changes.display_name.is_none() => {
                        errors.push(err(r.line, "displayName: a new user needs a display name"));
                        continue;
                    }
                    None => plan.creates += 1,
                }
                if let Some(Some(m)) = &changes.manager {
                    let in_file = upns_in_file.contains_key(&m.to_lowercase());
                    if !in_file {
                        let found = match store::user_by_upn(&mut conn, m).await? {
                            Some(u) => Some(u),
                            None => store::user(&mut conn, m).await?,
                        };
                        match found {
                            Some(u) if u.deleted_at.is_none() => {}
                            Some(_) => errors.push(err(r.line, format!("manager: {m} is deleted"))),
                            None => errors.push(err(r.line, format!("manager: there is no user {m}"))),
                        }
                    }
                    if m.eq_ignore_ascii_case(&upn) {
                        errors.push(err(r.line, "manager: a user cannot be their own manager"));
                    }
                }
                let groups = groups_cell.map(split_groups).unwrap_or_default();
                for g in &groups {
                    if let Err(m) = validate::group_name(g) {
                        errors.push(err(r.line, format!("groups: {g:?}: {m}")));
                    }
                    check_group(&mut conn, g, &mut known_groups, &mut missing_groups).await?;
                }
                plan.memberships += groups.len();
                rows.push(UserRow {
                    line: r.line,
                    changes,
                    groups,
                });
            }
            plan.rows = Rows::Users(rows);
        }
        Kind::Memberships => {
            let mut at: BTreeMap<&'static str, usize> = BTreeMap::new();
            for (i, c) in table.columns.iter().enumerate() {
                let a = match c.trim().to_ascii_lowercase().as_str() {
                    "group" | "groupname" | "group name" => Some("group"),
                    "member" | "userprincipalname" => Some("member"),
                    "membertype" | "member type" => Some("memberType"),
                    _ => None,
                };
                match a {
                    Some(a) if at.insert(a, i).is_some() => errors.push(err(1, format!("the column {a} appears twice"))),
                    Some(_) => {}
                    None => errors.push(err(
                        1,
                        format!("unknown column {c:?}: a membership file has the columns group, member and (optionally) memberType"),
                    )),
                }
                plan.columns.push(ImportColumn {
                    header: c.clone(),
                    attribute: a.map(str::to_string),
                });
            }
            for need in ["group", "member"] {
                if !at.contains_key(need) {
                    errors.push(err(1, format!("the file needs a {need} column")));
                }
            }
            if errors.iter().any(|e| e.line == 1) {
                plan.errors = errors;
                return Ok(plan);
            }
            let cell = |r: &Row, name: &str| -> String {
                at.get(name)
                    .and_then(|i| r.cells[*i].clone())
                    .unwrap_or_default()
                    .trim()
                    .to_string()
            };
            let mut rows = Vec::new();
            for r in &table.rows {
                let group = cell(r, "group");
                let member = cell(r, "member");
                let member_type = match cell(r, "memberType").to_ascii_lowercase().as_str() {
                    "" | "user" => "user",
                    "group" => "group",
                    other => {
                        errors.push(err(
                            r.line,
                            format!("memberType: {other:?} is neither user nor group"),
                        ));
                        continue;
                    }
                };
                if let Err(m) = validate::group_name(&group) {
                    errors.push(err(r.line, format!("group: {m}")));
                    continue;
                }
                if member.is_empty() {
                    errors.push(err(r.line, "member: enter a user principal name or group name"));
                    continue;
                }
                check_group(&mut conn, &group, &mut known_groups, &mut missing_groups).await?;
                if member_type == "user" {
                    let found = match store::user_by_upn(&mut conn, &member).await? {
                        Some(u) => Some(u),
                        None => store::user(&mut conn, &member).await?,
                    };
                    match found {
                        Some(u) if u.deleted_at.is_none() => {}
                        Some(_) => errors.push(err(r.line, format!("member: {member} is deleted"))),
                        None => errors.push(err(r.line, format!("member: there is no user {member}"))),
                    }
                } else {
                    if member.eq_ignore_ascii_case(&group) {
                        errors.push(err(r.line, "member: a group cannot be a member of itself"));
                    }
                    check_group(&mut conn, &member, &mut known_groups, &mut missing_groups).await?;
                }
                plan.memberships += 1;
                rows.push(MemberRow {
                    line: r.line,
                    group,
                    member,
                    member_type,
                });
            }
            plan.rows = Rows::Memberships(rows);
        }
    }
    plan.new_groups = missing_groups.len();
    errors.sort_by_key(|e| e.line);
    plan.errors = errors;
    Ok(plan)
}

async fn check_group(
    conn: &mut crate::db::Conn,
    name: &str,
    known: &mut HashSet<String>,
    missing: &mut HashSet<String>,
) -> Result<(), DirError> {
    let key = name.to_lowercase();
    if known.contains(&key) || missing.contains(&key) {
        return Ok(());
    }
    if store::group_by_name(conn, name).await?.is_some() {
        known.insert(key);
    } else {
        missing.insert(key);
    }
    Ok(())
}
