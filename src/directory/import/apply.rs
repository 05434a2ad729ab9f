//! Writing a validated plan to the directory.

use super::{Failed, Plan, Rows, Summary};
use crate::db::directory as store;
use crate::db::Pool;
use crate::directory::users::{upsert, Upserted};
use crate::directory::validate::{self, UserChanges};
use crate::directory::{groups, DirError};
use std::collections::HashMap;

/// are written.
pub async fn apply(
    pool: &Pool,
    plan: &Plan,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<Summary, Failed> {
    if let Some(e) = plan.errors.first() {
        return Err(Failed {
            line: e.line,
            message: format!(
                "{} (the file has {} errors; nothing was imported)",
                e.message,
                plan.errors.len()
            ),
        });
    }
    let mut tx = crate::db::begin(pool)
        .await
        .map_err(|e| Failed::at(0, e.into()))?;
    let now = crate::timefmt::now();
    let mut s = Summary::default();
    let total = plan.row_count() as u64;
    let mut groups_by_name: HashMap<String, store::GroupRecord> = HashMap::new();
    async fn group_named(
        conn: &mut crate::db::Conn,
        cache: &mut HashMap<String, store::GroupRecord>,
        name: &str,
        now: &str,
        s: &mut Summary,
    ) -> Result<store::GroupRecord, DirError> {
        let key = name.to_lowercase();
        if let Some(g) = cache.get(&key) {
            return Ok(g.clone());
        }
        let g = match store::group_by_name(conn, name).await? {
            Some(g) => g,
            None => {
                s.groups_created += 1;
                groups::insert(conn, name, "", now).await?
            }
        };
        cache.insert(key, g.clone());
        Ok(g)
    }
    match &plan.rows {
        Rows::Users(rows) => {
            let mut changes = store::ChangeBuffer::default();
            let upns: Vec<String> = rows
                .iter()
                .map(|r| r.changes.upn.clone().unwrap_or_default())
                .collect();
            let mut existing: HashMap<String, store::UserRecord> = store::users_by_upns(&mut tx, &upns)
                .await
                .map_err(|e| Failed::at(0, e.into()))?
                .into_iter()
                .map(|u| (u.upn.to_lowercase(), u))
                .collect();
            // userPrincipalName (lower-cased) -> objectId of every user this import has written.
            let mut ids: HashMap<String, String> = HashMap::with_capacity(rows.len());
            let mut outcome = Vec::with_capacity(rows.len());
            let mut deferred = Vec::new();
            for (i, r) in rows.iter().enumerate() {
                let key = upns[i].to_lowercase();
                let before = existing.remove(&key);
                let merged =
                    validate::merge_user(before.as_ref(), &r.changes, crate::directory::new_id, &now)
                        .map_err(|p| {
                            Failed::at(r.line, crate::directory::invalid(&p[0].0, p[0].1.clone()))
                        })?;
                // A manager already written (earlier in the file) is set now; one further down the
                // file, or an existing user's new manager (which needs the loop check), later.
                let manager = match &r.changes.manager {
                    None => None,
                    Some(None) => Some(None),
                    Some(Some(m)) => match ids.get(&m.to_lowercase()) {
                        Some(id) if before.is_none() => Some(Some(id.clone())),
                        _ => {
                            deferred.push(i);
                            None
                        }
                    },
                };
                let (u, done) = crate::directory::users::write(&mut tx, before.as_ref(), merged, manager)
                    .await
                    .map_err(|e| Failed::at(r.line, e))?;
                match done {
                    Upserted::Created => changes.push(store::ChangeKind::User, &u.id, "", "create"),
                    Upserted::Updated => changes.push(store::ChangeKind::User, &u.id, "", "update"),
                    Upserted::Unchanged => {}
                }
                ids.insert(key, u.id);
                outcome.push(done);
                if i % 1000 == 999 {
                    progress(i as u64 + 1, total);
                }
            }
            changes
                .flush(&mut tx, &now)
                .await
                .map_err(|e| Failed::at(0, e.into()))?;
            for i in deferred {
                let r = &rows[i];
                let before = store::user_by_upn(&mut tx, &upns[i])
                    .await
                    .map_err(|e| Failed::at(r.line, e.into()))?;
                let manager_only = UserChanges {
                    manager: r.changes.manager.clone(),
                    ..Default::default()
                };
                let (_, done) = upsert(&mut tx, before.as_ref(), &manager_only, &now)
                    .await
                    .map_err(|e| Failed::at(r.line, e))?;
                if done == Upserted::Updated && outcome[i] == Upserted::Unchanged {
                    outcome[i] = Upserted::Updated;
                }
            }
            for o in &outcome {
                match o {
                    Upserted::Created => s.created += 1,
                    Upserted::Updated => s.updated += 1,
                    Upserted::Unchanged => s.unchanged += 1,
                }
            }
            let mut members: Vec<(String, String, &'static str)> = Vec::new();
            for (i, r) in rows.iter().enumerate() {
                for g in &r.groups {
                    let group = group_named(&mut tx, &mut groups_by_name, g, &now, &mut s)
                        .await
                        .map_err(|e| Failed::at(r.line, e))?;
                    let user = ids.get(&upns[i].to_lowercase()).cloned().unwrap_or_default();
                    members.push((group.id, user, "user"));
                }
            }
            let added = store::add_members(&mut tx, &members, &now)
                .await
                .map_err(|e| Failed::at(0, e.into()))?;
            s.memberships_added += added.len();
            for (group, member) in &added {
                changes.push(store::ChangeKind::Membership, group, member, "add");
            }
            changes
                .flush(&mut tx, &now)
                .await
                .map_err(|e| Failed::at(0, e.into()))?;
        }
        Rows::Memberships(rows) => {
            for (i, r) in rows.iter().enumerate() {
                let group = group_named(&mut tx, &mut groups_by_name, &r.group, &now, &mut s)
                    .await
                    .map_err(|e| Failed::at(r.line, e))?;
                let (id, name) = if r.member_type == "group" {
                    let g = group_named(&mut tx, &mut groups_by_name, &r.member, &now, &mut s)
                        .await
                        .map_err(|e| Failed::at(r.line, e))?;
                    (g.id, g.display_name)
                } else {
                    let (kind, id, name) = groups::resolve_principal(&mut tx, &r.member)
                        .await
                        .map_err(|e| Failed::at(r.line, e))?;
                    if kind != "user" {
                        return Err(Failed::at(
                            r.line,
                            crate::directory::invalid("member", format!("there is no user {}", r.member)),
                        ));
                    }
                    (id, name)
                };
                if groups::add_member_in(&mut tx, &group, r.member_type, &id, &name, &now)
                    .await
                    .map_err(|e| Failed::at(r.line, e))?
                {
                    s.memberships_added += 1;
                }
                if i % 1000 == 999 {
                    progress(i as u64 + 1, total);
                }
            }
        }
    }
    tx.commit().await.map_err(|e| Failed::at(0, e.into()))?;
    progress(total, total);
    Ok(s)
}
