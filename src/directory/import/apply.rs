//! Writing a validated plan to the directory, a chunk of rows per transaction.
//!
//! Each chunk commits on its own, so the process's other writers (SCIM requests, provisioning
//! cycles, the audit log) wait at most one chunk for their turn however large the file is. What a
//! chunk changed goes into the import's undo journal in the same transaction, and the chunk's
//! directory changes into the change sequence as with any other write. When a chunk fails,
//! everything the import wrote is rolled back from the journal (`undo`), so a file is never left
//! half imported; while it runs, the rows written so far are visible, as in Entra's bulk
//! operations.

use super::run::Run;
use super::{undo, Failed, Plan, Rows, Summary};
use crate::db::directory::{self as store, ChangeBuffer, ChangeKind, GroupRecord};
use crate::db::imports::Undo;
use crate::db::{Pool, WriteTx};
use crate::directory::users::{upsert, Upserted};
use crate::directory::validate::{self, UserChanges};
use crate::directory::{groups, DirError};
use std::collections::HashMap;

/// Rows written per transaction: large enough that the journal and change records go in a few
/// multi-row statements, small enough that a chunk holds the write turn for a few tens of
/// milliseconds.
pub(super) const CHUNK: usize = 1_000;

/// One transaction of an import: the rows it writes, their undo steps and change records.
struct Chunk<'r> {
    run: &'r Run,
    tx: WriteTx,
    undo: Vec<Undo>,
    changes: ChangeBuffer,
}

impl<'r> Chunk<'r> {
    async fn open(run: &'r Run, pool: &Pool) -> Result<Chunk<'r>, Failed> {
        let db = |e: sqlx::Error| Failed::at(0, e.into());
        let mut tx = crate::db::begin(pool, crate::db::Exclusive::Directory)
            .await
            .map_err(db)?;
        if !run.renew(&mut tx).await.map_err(db)? {
            return Err(Failed {
                line: 0,
                message: "another instance took this import over and rolled it back".into(),
            });
        }
        Ok(Chunk {
            run,
            tx,
            undo: Vec::new(),
            changes: ChangeBuffer::default(),
        })
    }

    async fn commit(mut self) -> Result<(), Failed> {
        let db = |e: sqlx::Error| Failed::at(0, e.into());
        self.changes
            .flush(&mut self.tx, &self.run.written_at)
            .await
            .map_err(db)?;
        self.run.journal(&mut self.tx, &self.undo).await.map_err(db)?;
        self.tx.commit().await.map_err(db)
    }

    /// The group of this name, created (and journaled) when there is none yet.
    async fn group_named(
        &mut self,
        cache: &mut HashMap<String, GroupRecord>,
        name: &str,
        s: &mut Summary,
    ) -> Result<GroupRecord, DirError> {
        let key = name.to_lowercase();
        if let Some(g) = cache.get(&key) {
            return Ok(g.clone());
        }
        let g = match store::group_by_name(&mut self.tx, name).await? {
            Some(g) => g,
            None => {
                let g = groups::insert(&mut self.tx, name, "", &self.run.written_at).await?;
                self.undo.push(Undo::GroupCreated(g.id.clone()));
                s.groups_created += 1;
                g
            }
        };
        cache.insert(key, g.clone());
        Ok(g)
    }
}

/// Runs a plan that has no errors as part of `run`. `progress(done, total)` is called after each
/// chunk. On failure everything `run` wrote is rolled back before this returns.
pub async fn apply(
    run: &Run,
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
    let outcome = match &plan.rows {
        Rows::Users(rows) => users(run, pool, rows, progress).await,
        Rows::Memberships(rows) => memberships(run, pool, rows, progress).await,
    };
    match outcome {
        Ok(s) => {
            let total = plan.row_count() as u64;
            progress(total, total);
            Ok(s)
        }
        Err(failed) => Err(undo::after_failure(run, pool, failed).await),
    }
}

/// Creates the groups of these names that do not exist yet (demo data's groups without members).
pub async fn ensure_groups(run: &Run, pool: &Pool, names: &[String]) -> Result<usize, Failed> {
    let mut s = Summary::default();
    let mut cache = HashMap::new();
    let outcome = async {
        for chunk in names.chunks(CHUNK) {
            let mut c = Chunk::open(run, pool).await?;
            for n in chunk {
                c.group_named(&mut cache, n, &mut s)
                    .await
                    .map_err(|e| Failed::at(0, e))?;
            }
            c.commit().await?;
        }
        Ok(s.groups_created)
    }
    .await;
    match outcome {
        Ok(n) => Ok(n),
        Err(failed) => Err(undo::after_failure(run, pool, failed).await),
    }
}

async fn users(
    run: &Run,
    pool: &Pool,
    rows: &[super::UserRow],
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<Summary, Failed> {
    let total = rows.len() as u64;
    let mut s = Summary::default();
    let upns: Vec<String> = rows
        .iter()
        .map(|r| r.changes.upn.clone().unwrap_or_default())
        .collect();
    // userPrincipalName (lower-cased) -> objectId of every user this import has written.
    let mut ids: HashMap<String, String> = HashMap::with_capacity(rows.len());
    let mut outcome = Vec::with_capacity(rows.len());
    let mut deferred = Vec::new();
    for (c, chunk) in rows.chunks(CHUNK).enumerate() {
        let base = c * CHUNK;
        let mut ch = Chunk::open(run, pool).await?;
        // Read in the chunk's own transaction: what it overwrites is what the journal keeps.
        let mut existing: HashMap<String, store::UserRecord> =
            store::users_by_upns(&mut ch.tx, &upns[base..base + chunk.len()])
                .await
                .map_err(|e| Failed::at(0, e.into()))?
                .into_iter()
                .map(|u| (u.upn.to_lowercase(), u))
                .collect();
        for (j, r) in chunk.iter().enumerate() {
            let i = base + j;
            let key = upns[i].to_lowercase();
            let before = existing.remove(&key);
            let merged = validate::merge_user(before.as_ref(), &r.changes, crate::ids::new, &run.written_at)
                .map_err(|p| Failed::at(r.line, crate::directory::invalid(&p[0].0, p[0].1.clone())))?;
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
            let (u, done) = crate::directory::users::write(&mut ch.tx, before.as_ref(), merged, manager)
                .await
                .map_err(|e| Failed::at(r.line, e))?;
            match (done, before) {
                (Upserted::Created, _) => {
                    ch.changes.push(ChangeKind::User, &u.id, "", "create");
                    ch.undo.push(Undo::UserCreated(u.id.clone()));
                }
                (Upserted::Updated, Some(before)) => {
                    ch.changes.push(ChangeKind::User, &u.id, "", "update");
                    ch.undo.push(Undo::UserUpdated(Box::new(before)));
                }
                _ => {}
            }
            ids.insert(key, u.id);
            outcome.push(done);
        }
        ch.commit().await?;
        progress((base + chunk.len()) as u64, total);
    }
    for chunk in deferred.chunks(CHUNK) {
        let mut ch = Chunk::open(run, pool).await?;
        for &i in chunk {
            let r = &rows[i];
            let before = store::user_by_upn(&mut ch.tx, &upns[i])
                .await
                .map_err(|e| Failed::at(r.line, e.into()))?;
            let manager_only = UserChanges {
                manager: r.changes.manager.clone(),
                ..Default::default()
            };
            let (_, done) = upsert(&mut ch.tx, before.as_ref(), &manager_only, &run.written_at)
                .await
                .map_err(|e| Failed::at(r.line, e))?;
            if done == Upserted::Updated {
                // A user this import created goes as a whole; no need to remember its manager.
                if let (Some(b), false) = (before, outcome[i] == Upserted::Created) {
                    ch.undo.push(Undo::UserUpdated(Box::new(b)));
                }
                if outcome[i] == Upserted::Unchanged {
                    outcome[i] = Upserted::Updated;
                }
            }
        }
        ch.commit().await?;
    }
    for o in &outcome {
        match o {
            Upserted::Created => s.created += 1,
            Upserted::Updated => s.updated += 1,
            Upserted::Unchanged => s.unchanged += 1,
        }
    }
    let created: std::collections::HashSet<&str> = (0..rows.len())
        .filter(|&i| outcome[i] == Upserted::Created)
        .filter_map(|i| ids.get(&upns[i].to_lowercase()).map(String::as_str))
        .collect();
    let mut groups_by_name = HashMap::new();
    let with_groups: Vec<usize> = (0..rows.len()).filter(|&i| !rows[i].groups.is_empty()).collect();
    for chunk in with_groups.chunks(CHUNK) {
        let mut ch = Chunk::open(run, pool).await?;
        let mut members: Vec<(String, String, &'static str)> = Vec::new();
        for &i in chunk {
            let r = &rows[i];
            for g in &r.groups {
                let group = ch
                    .group_named(&mut groups_by_name, g, &mut s)
                    .await
                    .map_err(|e| Failed::at(r.line, e))?;
                let user = ids.get(&upns[i].to_lowercase()).cloned().unwrap_or_default();
                members.push((group.id, user, "user"));
            }
        }
        let added = store::add_members(&mut ch.tx, &members, &run.written_at)
            .await
            .map_err(|e| Failed::at(0, e.into()))?;
        s.memberships_added += added.len();
        for (group, member) in added {
            ch.changes.push(ChangeKind::Membership, &group, &member, "add");
            // A user this import created leaves with its memberships when it is rolled back;
            // only memberships of users that were there before need a step of their own.
            if !created.contains(member.as_str()) {
                ch.undo.push(Undo::MemberAdded { group, member });
            }
        }
        ch.commit().await?;
    }
    Ok(s)
}

async fn memberships(
    run: &Run,
    pool: &Pool,
    rows: &[super::MemberRow],
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<Summary, Failed> {
    let total = rows.len() as u64;
    let mut s = Summary::default();
    let mut groups_by_name = HashMap::new();
    for (c, chunk) in rows.chunks(CHUNK).enumerate() {
        let mut ch = Chunk::open(run, pool).await?;
        for r in chunk {
            let group = ch
                .group_named(&mut groups_by_name, &r.group, &mut s)
                .await
                .map_err(|e| Failed::at(r.line, e))?;
            let (id, name) = if r.member_type == "group" {
                let g = ch
                    .group_named(&mut groups_by_name, &r.member, &mut s)
                    .await
                    .map_err(|e| Failed::at(r.line, e))?;
                (g.id, g.display_name)
            } else {
                let (kind, id, name) = groups::resolve_principal(&mut ch.tx, &r.member)
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
            if groups::add_member_in(&mut ch.tx, &group, r.member_type, &id, &name, &run.written_at)
                .await
                .map_err(|e| Failed::at(r.line, e))?
            {
                s.memberships_added += 1;
                ch.undo.push(Undo::MemberAdded {
                    group: group.id.clone(),
                    member: id,
                });
            }
        }
        ch.commit().await?;
        progress((c * CHUNK + chunk.len()) as u64, total);
    }
    Ok(s)
}
