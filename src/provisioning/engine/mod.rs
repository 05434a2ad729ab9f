//! Provisioning cycles. An initial cycle evaluates every user and group; an incremental cycle
//! only what the directory changes since the watermark touched (plus escrowed objects due for a
//! retry). Both run the same phases:
//!
//! 1. users: scope, map, match (when not yet managed), create or update with only the difference;
//!    leaving scope is a deprovision (disable, or delete on hard delete), held for phase 3;
//! 2. references: users whose manager was created after them get the manager's target id;
//! 3. deprovisions: executed, or all held as StagedDelete when they exceed the accidental-deletion
//!    threshold (the job then quarantines with TooManyDeletes);
//! 4. groups (after users, because members are referenced by target id): create or update, with
//!    memberships as an add/remove difference; groups that left scope are deleted.
//!
//! Outcomes are written in batches (connector data store, escrows, log entries and progress in one
//! transaction) and the watermark moves only at the very end, so a crash at any point repeats work
//! instead of losing it; matching before create makes the repetition harmless.

use super::mapped::{coerce, exported_from, exported_json, shown, step};
use super::{config, rules};
use crate::db::cycles::{self, Counters};
use crate::db::directory as dir;
use crate::db::escrows::{self, EscrowWrite};
use crate::db::jobs;
use crate::db::links::ObjectWrite;
use crate::db::links::{self, Managed};
use crate::db::prov_log::LogWrite;
use crate::db::sources::{self, SourceRow};
use crate::db::vocab::{ChangeKind, CycleKind, CyclePhase, CycleState, JobState, LinkState, ObjectType};
use crate::db::Pool;
use crate::mapping::export::{Exported, PatchOp};
use crate::mapping::Value;
use crate::model::{Adaptation, ProvisionStep, ProvisioningConfig};
use crate::scim_client::{Capabilities, ClientError, FilterCheck, Kind, Target};
use crate::secrets::Sealer;
pub use error::EngineError;
use serde_json::{json, Value as Json};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;
use time::OffsetDateTime;

mod batch;
mod cycle;
mod deprovision;
mod drift;
mod error;
mod fallback;
mod group;
mod learned;
mod lookup;
mod members;
mod narrate;
mod ops;
mod plan;
mod policy;
mod preview;
mod reconcile;
mod scope;
mod single;
mod user;

pub use cycle::run;
pub use drift::drift;
pub use preview::{preview, PreviewOptions};
pub use reconcile::{adopt, prepare_revert, remove_orphan};
pub use scope::{ScopeCheck, ScopedUser};

use deprovision::*;
use group::*;
use lookup::*;
use narrate::{duplicates, skip, switched_off};
pub(in crate::provisioning) use narrate::{Log, Problem};
use ops::*;
use plan::*;
use policy::*;
pub(in crate::provisioning) use single::Single;
use user::*;

/// Objects evaluated and written per batch.
const BATCH: usize = 512;
/// Member references per PATCH request.
const MEMBERS_PER_REQUEST: usize = 500;
/// Values per batched matching lookup (`userName eq "a" or userName eq "b" ...`), kept small
/// enough for any target's URL limit.
const LOOKUPS_PER_REQUEST: usize = 50;
const LOOKUP_URL_CHARS: usize = 3_000;

/// How cycles run; set from the command line.
#[derive(Debug, Clone)]
pub struct Tuning {
    /// Requests in flight per application.
    pub concurrency: usize,
    /// Entra's escrow base period (6 hours); tests shorten it.
    pub escrow_base: time::Duration,
    /// The console's address, for links in failure emails.
    pub public_url: String,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            concurrency: 8,
            escrow_base: time::Duration::hours(6),
            public_url: String::new(),
        }
    }
}

/// What a cycle did.
#[derive(Debug, Clone)]
pub struct CycleReport {
    pub id: String,
    pub kind: CycleKind,
    pub state: CycleState,
    pub counters: Counters,
    pub quarantine: Option<&'static str>,
    pub error: String,
}

/// What does not change during a cycle.
struct Ctx {
    pool: Pool,
    app: String,
    /// None for provision on demand.
    cycle: Option<String>,
    target: Target,
    caps: Capabilities,
    policy: Policy,
    escrow_base: time::Duration,
    escrowed: HashMap<(ObjectType, String), escrows::Escrow>,
    permits: Arc<tokio::sync::Semaphore>,
    /// Provision on demand: every step carries its details (source attributes, scope checks,
    /// lookups, what was sent) and users outside the assignment scope are reported too. Cycles
    /// leave it off, so their log entries stay small.
    detailed: bool,
    /// Whether lookups are answered by the target's filter or matched locally.
    matcher: Matcher,
    /// Forms the target refused and what is done instead (the compatibility profile).
    learned: learned::Learned,
    /// Attributes left out because the target does not declare them (warned once each).
    undeclared: std::sync::Mutex<HashSet<String>>,
    /// User creates through the target's Bulk endpoint (cycles only, when it offers one).
    bulk: Option<crate::provisioning::bulk::BulkCreates>,
    /// A preview: what would be recorded is kept here instead (see `preview`).
    preview: Option<Arc<std::sync::Mutex<preview::Collected>>>,
}

/// A batch's running tasks: (source id, outcome) each.
type UserTasks = tokio::task::JoinSet<(String, Done)>;

/// A deprovision waiting for phase 3.
#[derive(Debug, Clone)]
struct Deprovision {
    object_type: ObjectType,
    source_id: String,
    display_name: String,
    managed: Managed,
    delete: bool,
    reason: String,
    /// The steps that led here (import, scope, match); empty when there were none (a hard
    /// delete, a group leaving scope).
    steps: Vec<ProvisionStep>,
}

/// One object's outcome.
#[derive(Default)]
struct Done {
    object: Option<ObjectWrite>,
    escrow: Option<EscrowWrite>,
    log: Option<LogWrite>,
    deprovision: Option<Deprovision>,
    imported: bool,
    entitled: bool,
    tally: Tally,
    /// 401/403 or an answer that is not SCIM: the cycle stops and the job quarantines.
    fatal: Option<String>,
    manager_unresolved: bool,
    created: bool,
    /// Whether the object's presence in the target changed (created, enabled, disabled): its
    /// groups' member lists need another look.
    presence_changed: bool,
}

#[derive(Default, Clone, Copy, PartialEq)]
enum Tally {
    #[default]
    Nothing,
    Created,
    Updated,
    Disabled,
    Deleted,
    Skipped,
    Failed,
    Staged,
}

fn tally(c: &mut Counters, d: &Done) {
    c.processed += 1;
    c.imported += d.imported as i64;
    c.entitled += d.entitled as i64;
    match d.tally {
        Tally::Nothing => {}
        Tally::Created => c.created += 1,
        Tally::Updated => c.updated += 1,
        Tally::Disabled => c.disabled += 1,
        Tally::Deleted => c.deleted += 1,
        Tally::Skipped => c.skipped += 1,
        Tally::Failed => c.failed += 1,
        Tally::Staged => c.staged += 1,
    }
}

/// The per-cycle state that changes as objects are processed.
struct Run {
    ctx: Arc<Ctx>,
    users_managed: HashMap<String, Managed>,
    /// Users' links from before a `Restart (Full)` not matched again yet: a user out of scope
    /// without a link of their own is taken out of the target through these.
    users_unconfirmed: HashMap<String, Managed>,
    groups_managed: HashMap<String, Managed>,
    roles: HashMap<String, Roles>,
    /// Everything above is loaded (an initial cycle); otherwise it is read as objects come up,
    /// so an incremental cycle's cost follows its changes, not the directory's size.
    complete: bool,
    /// The users' exported documents are not kept in memory (an initial cycle of a large
    /// directory): they are read per batch, for the users the batch processes.
    slim: bool,
    looked_up: HashSet<(ObjectType, String)>,
    counters: Counters,
    fatal: Option<String>,
    created_users: Vec<String>,
    unresolved: HashSet<String>,
    processed_users: HashSet<String>,
    presence_changed: Vec<String>,
    deprovisions: Vec<Deprovision>,
    /// The last batch's write, running while the next batch is processed; awaited before the
    /// next write and by `flush`.
    pending: Option<tokio::task::JoinHandle<Result<(), EngineError>>>,
    /// When the live progress was last written (see `finish`).
    progress_at: std::time::Instant,
}

/// The link of an object just matched in the target, before anything was sent to it: nothing is
/// known to be exported, so the next cycle sends the whole difference again.
fn matched_link(object_type: ObjectType, source_id: &str, target_id: &str) -> ObjectWrite {
    ObjectWrite {
        object_type,
        source_id: source_id.to_string(),
        target_id: target_id.to_string(),
        exported: Some(exported_json(&[])),
        state: LinkState::Active,
    }
}

fn fatal(e: &ClientError) -> bool {
    e.is_unauthorized() || matches!(e, ClientError::Incompatible(_))
}

impl Ctx {
    /// A user's evaluation under this cycle's policy (see [`evaluate_user`]).
    fn evaluate(
        &self,
        row: &SourceRow,
        roles: &[Role],
        creating: bool,
        manager_target: Option<&str>,
    ) -> UserEval {
        let manager_upn = row.manager_upn.clone();
        let mut eval = evaluate_user(
            &self.policy,
            self.detailed,
            &row.user,
            manager_upn,
            roles,
            creating,
            manager_target,
        );
        if let Ok(list) = &mut eval.exported {
            self.declared_only(Kind::User, list);
        }
        eval
    }

    /// Leaves out of `list` what the target's `/Schemas` and `/ResourceTypes` do not declare (it
    /// would refuse the whole request for it), saying so in the server log once per attribute and
    /// cycle.
    fn declared_only(&self, kind: Kind, list: &mut Vec<Exported>) {
        let declared = &self.caps.declared;
        list.retain(|e| {
            let keep = declared.allows(kind, &e.target);
            if !keep {
                let mut warned = self.undeclared.lock().unwrap_or_else(|p| p.into_inner());
                if warned.insert(format!("{}:{}", kind.name(), e.target)) {
                    tracing::warn!(
                        app = %self.app,
                        attribute = %e.target,
                        "the application does not declare this attribute of {} resources: it is not sent",
                        kind.name()
                    );
                }
            }
            keep
        });
    }

    /// For a create: a step naming the attributes the application's schema marks required that
    /// `doc` lacks (it may refuse the create; the admin's fix is a mapping), each warned in the
    /// server log once per cycle. None when nothing is missing.
    fn required_missing(&self, kind: Kind, doc: &serde_json::Map<String, Json>) -> Option<ProvisionStep> {
        let missing = self.caps.declared.missing(kind, doc);
        if missing.is_empty() {
            return None;
        }
        let mut warned = self.undeclared.lock().unwrap_or_else(|p| p.into_inner());
        for m in &missing {
            if warned.insert(format!("required:{}:{m}", kind.name())) {
                tracing::warn!(
                    app = %self.app,
                    attribute = %m,
                    "the application marks this attribute of {} resources required and no mapping writes it: creates may be refused",
                    kind.name()
                );
            }
        }
        let list = missing.join(", ");
        Some(step(
            "Check the application's required attributes",
            "Warning",
            format!(
                "The application's schema marks {list} required and the mapping does not write it: the application may refuse the create. Map a value to {list}."
            ),
            vec![],
        ))
    }

    /// The escrow entry after a failure of `source_id`: the schedule continues from the first
    /// failure; an object past 28 days is dropped (cleared).
    fn escrow_after_failure(
        &self,
        object_type: ObjectType,
        source_id: &str,
        code: &str,
        reference: bool,
    ) -> EscrowWrite {
        let now = OffsetDateTime::now_utc();
        let previous = self.escrowed.get(&(object_type, source_id.to_string()));
        let first = previous
            .and_then(|e| crate::timefmt::parse(&e.first_failed_at))
            .unwrap_or(now);
        let attempts = previous.map(|e| e.attempts + 1).unwrap_or(1);
        EscrowWrite {
            object_type,
            source_id: source_id.to_string(),
            retry: rules::escrow_next(first, attempts, self.escrow_base).map(|next| escrows::Retry {
                first_failed_at: crate::timefmt::format(first),
                attempts,
                next_at: crate::timefmt::format(next),
                error_code: code.to_string(),
                reference,
            }),
        }
    }

    fn cleared(&self, object_type: ObjectType, source_id: &str) -> Option<EscrowWrite> {
        self.escrowed
            .contains_key(&(object_type, source_id.to_string()))
            .then(|| EscrowWrite {
                object_type,
                source_id: source_id.to_string(),
                retry: None,
            })
    }

    /// A failed operation: the cycle stops on credentials or a non-SCIM answer, otherwise the
    /// object goes to escrow. `modified` is what the operation tried to change (the log shows it
    /// for failures as for successes).
    #[allow(clippy::too_many_arguments)]
    fn failure(
        &self,
        log: &Log<'_>,
        object_type: ObjectType,
        action: &'static str,
        mut steps: Vec<ProvisionStep>,
        modified: &[(String, String, String)],
        e: ClientError,
        reference: bool,
        mut done: Done,
    ) -> Done {
        steps.push(step(
            "Perform action",
            "Failure",
            format!("{action} failed: {e}"),
            vec![],
        ));
        if fatal(&e) {
            done.fatal = Some(format!("{}: {e}", e.code()));
        }
        done.escrow = Some(self.escrow_after_failure(object_type, log.source_id, e.code(), reference));
        done.log = Some(log.entry(
            action,
            "Failure",
            steps,
            modified,
            Some(Problem::new(e.code(), e.to_string(), narrate::hint(&e))),
        ));
        done.tally = Tally::Failed;
        done
    }
}
