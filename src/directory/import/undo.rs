//! Rolling an import back from its journal: newest step first, a batch of steps per transaction
//! (so a rollback, too, never holds the write turn for long), each batch deleting the steps it
//! undid, so a rollback cut short resumes where it stopped. Every undo is recorded in the change
//! sequence, so provisioning takes the directory back as well.
//!
//! What someone else changed while the import ran is left as it is: a user whose time stamp is no
//! longer the import's, a group that has members or assignments the import did not give it.

use super::run::Run;
use super::Failed;
use crate::db::directory::{self as store, ChangeKind};
use crate::db::imports::{self, Undo};
use crate::db::Pool;
use crate::directory::DirError;

/// Steps undone per transaction.
const BATCH: i64 = 500;

#[derive(Debug, Default)]
pub struct Undone {
    /// Users and groups left as they are because someone changed them during the import.
    pub kept: usize,
}

impl Undone {
    /// A clause for the outcome text ("" when nothing was kept).
    pub fn kept_note(&self) -> String {
        match self.kept {
            0 => String::new(),
            1 => "; 1 user or group that someone changed during the import was kept as it is".into(),
            n => {
                format!("; {n} users or groups that someone changed during the import were kept as they are")
            }
        }
    }
}

/// Undoes everything `run` wrote: every step newest first, except that groups the import created
/// go last, once the users it created have left them (their memberships are not journaled).
pub async fn rollback(run: &Run, pool: &Pool) -> Result<Undone, DirError> {
    let mut undone = Undone::default();
    for groups_last in [false, true] {
        undo_steps(run, pool, groups_last, &mut undone).await?;
    }
    Ok(undone)
}

async fn undo_steps(run: &Run, pool: &Pool, groups: bool, undone: &mut Undone) -> Result<(), DirError> {
    loop {
        let mut tx = crate::directory::begin(pool).await?;
        if !run.renew(&mut tx).await? {
            return Err(DirError::Conflict(
                "another instance took this import over; it finishes the rollback".into(),
            ));
        }
        let steps = imports::last_steps(&mut tx, &run.id, groups, BATCH).await?;
        let Some(&(oldest, _)) = steps.last() else {
            tx.commit().await?;
            return Ok(());
        };
        let now = crate::timefmt::now();
        for (_, step) in &steps {
            match step {
                Undo::MemberAdded { group, member } => {
                    store::remove_member(&mut tx, group, member, &now).await?;
                }
                Undo::UserUpdated(before) => match store::user(&mut tx, &before.id).await? {
                    Some(current) if current.updated_at == run.written_at => {
                        let mut restored = (**before).clone();
                        if let Some(m) = &restored.manager_id {
                            if store::user(&mut tx, m).await?.is_none() {
                                restored.manager_id = None;
                            }
                        }
                        // The time stamp too: an earlier step for the same user (the import set a
                        // manager after the rest) then still recognises the import's version.
                        store::update_user(&mut tx, &restored).await?;
                        store::record_change(&mut tx, ChangeKind::User, &before.id, "", "update", &now)
                            .await?;
                    }
                    Some(_) => undone.kept += 1,
                    None => {}
                },
                Undo::UserCreated(id) => match store::user(&mut tx, id).await? {
                    Some(current) if current.updated_at == run.written_at => {
                        store::purge_user(&mut tx, id, &now).await?;
                    }
                    Some(_) => undone.kept += 1,
                    None => {}
                },
                Undo::GroupCreated(id) => {
                    if store::group(&mut tx, id).await?.is_some() {
                        if imports::group_in_use(&mut tx, id).await? {
                            undone.kept += 1;
                        } else {
                            store::delete_group(&mut tx, id, &now).await?;
                        }
                    }
                }
            }
        }
        imports::drop_steps(&mut tx, &run.id, groups, oldest).await?;
        tx.commit().await?;
    }
}

/// Rolls back after `failed` stopped the import, and says so in the failure.
pub(super) async fn after_failure(run: &Run, pool: &Pool, failed: Failed) -> Failed {
    match rollback(run, pool).await {
        Ok(undone) => Failed {
            message: format!("{}{}", failed.message, undone.kept_note()),
            ..failed
        },
        Err(e) => {
            tracing::error!(import = %run.id, error = %e, "could not roll back a failed import");
            Failed {
                message: format!(
                    "{}; the rows written before it are being rolled back (this finishes within a few minutes)",
                    failed.message
                ),
                ..failed
            }
        }
    }
}
