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

use super::mapped::{coerce, exported_from, exported_json, filters, shown, specs, step, ENTERPRISE_MANAGER};
use super::{config, rules, source};
use crate::db::directory as dir;
use crate::db::engine::Managed;
use crate::db::jobs::{self, Counters, EscrowWrite, LogWrite, ObjectWrite, SourceRow};
use crate::db::Pool;
use crate::directory::DirError;
use crate::mapping::export::{self, Exported, Mapping, PatchOp};
use crate::mapping::scoping::Scope;
use crate::mapping::Value;
use crate::model::{ProvisionStep, ProvisioningConfig};
use crate::scim_client::{Capabilities, ClientError, Kind, Target};
use crate::secrets::Sealer;
use serde_json::{json, Value as Json};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;
use time::OffsetDateTime;

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
    pub kind: &'static str,
    pub state: &'static str,
    pub counters: Counters,
    pub quarantine: Option<&'static str>,
    pub error: String,
}

#[derive(Clone, Copy)]
struct Actions {
    create: bool,
    update: bool,
    delete: bool,
}

/// What does not change during a cycle.
pub(super) struct Ctx {
    pool: Pool,
    app: String,
    /// None for provision on demand.
    cycle: Option<String>,
    target: Target,
    caps: Capabilities,
    users: Mapping,
    user_scope: Scope,
    user_actions: Actions,
    /// The users mapping writes `active`: deprovisioning disables; otherwise it deletes.
    soft_delete: bool,
    pub(super) groups: Option<Mapping>,
    group_scope: Scope,
    group_actions: Actions,
    all: bool,
    skip_out_of_scope: bool,
    /// Whether each app role is provisioned (Default Access is not).
    provisioned: HashMap<String, bool>,
    /// Per assigned group: whether any of its roles is provisioned.
    group_entitled: HashMap<String, bool>,
    app_has_roles: bool,
    escrow_base: time::Duration,
    escrowed: HashMap<(String, String), jobs::Escrow>,
    permits: Arc<tokio::sync::Semaphore>,
    /// Provision on demand: every step carries its details (source attributes, scope checks,
    /// lookups, what was sent) and users outside the assignment scope are reported too. Cycles
    /// leave it off, so their log entries stay small.
    pub(super) detailed: bool,
    /// The target refused a batched lookup (no `or` in its filters): one lookup per object.
    single_lookups: std::sync::atomic::AtomicBool,
    /// User creates through the target's Bulk endpoint (cycles only, when it offers one).
    bulk: Option<super::bulk::BulkCreates>,
}

/// A batch's running tasks: (source id, outcome) each.
pub(super) type UserTasks = tokio::task::JoinSet<(String, Done)>;

/// A deprovision waiting for phase 3.
#[derive(Debug, Clone)]
pub(super) struct Deprovision {
    object_type: &'static str,
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
pub(super) struct Done {
    object: Option<ObjectWrite>,
    pub(super) escrow: Option<EscrowWrite>,
    pub(super) log: Option<LogWrite>,
    pub(super) deprovision: Option<Deprovision>,
    imported: bool,
    entitled: bool,
    tally: Tally,
    /// 401/403 or an answer that is not SCIM: the cycle stops and the job quarantines.
    pub(super) fatal: Option<String>,
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
pub(super) struct Run {
    ctx: Arc<Ctx>,
    pub(super) users_managed: HashMap<String, Managed>,
    /// Users' links from before a `Restart (Full)` not matched again yet: a user out of scope
    /// without a link of their own is taken out of the target through these.
    users_unconfirmed: HashMap<String, Managed>,
    pub(super) groups_managed: HashMap<String, Managed>,
    pub(super) roles: HashMap<String, Roles>,
    /// Everything above is loaded (an initial cycle); otherwise it is read as objects come up,
    /// so an incremental cycle's cost follows its changes, not the directory's size.
    complete: bool,
    /// The users' exported documents are not kept in memory (an initial cycle of a large
    /// directory): they are read per batch, for the users the batch processes.
    slim: bool,
    looked_up: HashSet<(&'static str, String)>,
    counters: Counters,
    fatal: Option<String>,
    created_users: Vec<String>,
    unresolved: HashSet<String>,
    processed_users: HashSet<String>,
    presence_changed: Vec<String>,
    deprovisions: Vec<Deprovision>,
    /// The last batch's write, running while the next batch is processed; awaited before the
    /// next write and by `flush`.
    pending: Option<tokio::task::JoinHandle<Result<(), DirError>>>,
}

pub(super) struct Log<'a> {
    pub(super) object_type: &'static str,
    pub(super) source_id: &'a str,
    pub(super) display_name: &'a str,
    pub(super) target_id: &'a str,
    pub(super) started: Instant,
}

impl Log<'_> {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn entry(
        &self,
        action: &'static str,
        status: &'static str,
        steps: Vec<ProvisionStep>,
        modified: &[(String, String, String)],
        error: Option<(&str, String, &str)>,
    ) -> LogWrite {
        let (code, reason, hint) = error.unwrap_or(("", String::new(), ""));
        LogWrite {
            id: crate::directory::new_id(),
            at: crate::timefmt::now(),
            duration_ms: self.started.elapsed().as_millis() as i64,
            object_type: self.object_type,
            source_id: self.source_id.to_string(),
            display_name: self.display_name.to_string(),
            target_id: self.target_id.to_string(),
            action,
            status,
            steps: serde_json::to_string(&steps).unwrap_or_else(|_| "[]".into()),
            modified: serde_json::to_string(modified).unwrap_or_else(|_| "[]".into()),
            error_code: code.to_string(),
            error_reason: reason,
            error_action: hint.to_string(),
        }
    }
}

fn fatal(e: &ClientError) -> bool {
    e.is_unauthorized() || matches!(e, ClientError::Incompatible(_))
}

fn hint(e: &ClientError) -> &'static str {
    if e.is_unauthorized() {
        "Check the Secret Token: its permissions must include admin."
    } else if e.is_transient() {
        "The application was unavailable or throttling; the object is retried on the escrow schedule."
    } else {
        "Check the attribute values against what the application accepts."
    }
}

impl Ctx {
    /// The escrow entry after a failure of `source_id`: the schedule continues from the first
    /// failure; an object past 28 days is dropped (cleared).
    fn escrow_after_failure(
        &self,
        object_type: &'static str,
        source_id: &str,
        code: &str,
        reference: bool,
    ) -> EscrowWrite {
        let now = OffsetDateTime::now_utc();
        let previous = self
            .escrowed
            .get(&(object_type.to_string(), source_id.to_string()));
        let first = previous
            .and_then(|e| crate::timefmt::parse(&e.first_failed_at))
            .unwrap_or(now);
        let attempts = previous.map(|e| e.attempts + 1).unwrap_or(1);
        EscrowWrite {
            object_type,
            source_id: source_id.to_string(),
            retry: rules::escrow_next(first, attempts, self.escrow_base).map(|next| {
                (
                    crate::timefmt::format(first),
                    attempts,
                    crate::timefmt::format(next),
                    code.to_string(),
                    reference,
                )
            }),
        }
    }

    fn cleared(&self, object_type: &'static str, source_id: &str) -> Option<EscrowWrite> {
        self.escrowed
            .contains_key(&(object_type.to_string(), source_id.to_string()))
            .then(|| EscrowWrite {
                object_type,
                source_id: source_id.to_string(),
                retry: None,
            })
    }

    /// Whether users with `role` are provisioned; a role the application does not define counts
    /// as provisioned only when the application has no roles at all.
    fn role_provisioned(&self, role: &str) -> bool {
        self.provisioned.get(role).copied().unwrap_or(!self.app_has_roles)
    }

    fn entitled(&self, roles: &[(String, String, bool)]) -> bool {
        !roles.is_empty() && (!self.app_has_roles || roles.iter().any(|(v, _, p)| !v.is_empty() && *p))
    }

    /// A failed operation: the cycle stops on credentials or a non-SCIM answer, otherwise the
    /// object goes to escrow.
    #[allow(clippy::too_many_arguments)]
    fn failure(
        &self,
        log: &Log<'_>,
        object_type: &'static str,
        action: &'static str,
        mut steps: Vec<ProvisionStep>,
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
            &[],
            Some((e.code(), e.to_string(), hint(&e))),
        ));
        done.tally = Tally::Failed;
        done
    }
}

/// A user's scope and exported attributes, worked out without I/O.
pub(super) struct UserEval {
    in_scope: bool,
    assigned: bool,
    entitled: bool,
    reason: &'static str,
    /// What to send (manager resolved), or the mapping error.
    exported: Result<Vec<Exported>, String>,
    manager_unresolved: bool,
    /// The source attributes and each scope check, when the context is detailed.
    import_details: Vec<(String, String)>,
    scope_details: Vec<(String, String)>,
}

fn resolve_manager(list: Vec<Exported>, manager_target: Option<&str>) -> (Vec<Exported>, bool) {
    let mut unresolved = false;
    let list = list
        .into_iter()
        .filter_map(|mut e| {
            if !e.target.eq_ignore_ascii_case(ENTERPRISE_MANAGER) {
                return Some(e);
            }
            match manager_target {
                Some(id) => {
                    e.value = Value::Json(json!({"value": id}));
                    Some(e)
                }
                None => {
                    unresolved = true;
                    None
                }
            }
        })
        .collect();
    (list, unresolved)
}

/// A user's roles in the application: (value, display name, provisioned).
pub(super) type Roles = Vec<(String, String, bool)>;

pub(super) fn evaluate_user(
    ctx: &Ctx,
    row: &SourceRow,
    roles: &Roles,
    creating: bool,
    manager_target: Option<&str>,
) -> UserEval {
    let u = &row.user;
    let assigned = !roles.is_empty();
    let entitled = ctx.entitled(roles);
    let active = u.deleted_at.is_none() && u.account_enabled;
    let in_assignment = ctx.all || (assigned && entitled);
    let shown_roles: Vec<(String, String)> = roles
        .iter()
        .filter(|(v, _, _)| !v.is_empty())
        .map(|(v, d, _)| (v.clone(), d.clone()))
        .collect();
    let uc = source::UserContext::new(u, row.manager_upn.clone(), &shown_roles, in_assignment);
    let get = |a: &str| crate::mapping::expr::Context::attribute(&uc, a);
    let passes = ctx.user_scope.matches(&get);
    let reason = if !active {
        "The user is disabled or deleted in the directory."
    } else if !ctx.all && !assigned {
        "The user is not assigned to the application."
    } else if !ctx.all && !entitled {
        "The user is assigned only with a role that is not provisioned (NotEffectivelyEntitled)."
    } else if !passes {
        "The user does not match the scoping filters."
    } else {
        "The user is in scope."
    };
    let in_scope = active && in_assignment && passes;
    let (exported, manager_unresolved) = match ctx.users.export(&uc, creating) {
        Ok(list) => {
            let (list, unresolved) = resolve_manager(list, manager_target);
            (Ok(list), unresolved && row.user.manager_id.is_some())
        }
        Err(e) => (Err(e.to_string()), false),
    };
    let (import_details, scope_details) = if ctx.detailed {
        user_details(ctx, &get, roles, active, assigned, entitled)
    } else {
        Default::default()
    };
    UserEval {
        in_scope,
        assigned,
        entitled,
        reason,
        exported,
        manager_unresolved,
        import_details,
        scope_details,
    }
}

type Details = Vec<(String, String)>;

/// Provision on demand's Import and Scope details: every source attribute with a value, then each
/// scope check with its outcome.
fn user_details(
    ctx: &Ctx,
    get: &dyn Fn(&str) -> Value,
    roles: &Roles,
    active: bool,
    assigned: bool,
    entitled: bool,
) -> (Details, Details) {
    let import = source::user_sources()
        .into_iter()
        .filter_map(|a| {
            let v = get(&a);
            (!v.is_null()).then(|| (a, v.to_string()))
        })
        .collect();
    let role = if roles.is_empty() {
        "none".to_string()
    } else {
        roles
            .iter()
            .map(|(v, d, _)| {
                if v.is_empty() {
                    "(no role)".to_string()
                } else {
                    d.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let scope = if ctx.all {
        "Sync all users and groups"
    } else {
        "Sync only assigned users and groups"
    };
    let mut checks = vec![
        ("Active in the source".to_string(), active.to_string()),
        ("Scope".to_string(), scope.to_string()),
        ("Assigned to the application".to_string(), assigned.to_string()),
        ("Role".to_string(), role),
        ("Effectively entitled".to_string(), entitled.to_string()),
    ];
    for (i, filter) in ctx.user_scope.explain(get).iter().enumerate() {
        for (clause, ok) in filter {
            checks.push((format!("Scoping filter {}: {clause}", i + 1), ok.to_string()));
        }
    }
    (import, checks)
}

fn document(list: &[Exported]) -> serde_json::Map<String, Json> {
    let mut doc = export::to_resource(list);
    if let Some(a) = doc.get_mut("active") {
        *a = coerce("active", a.clone());
    }
    doc
}

fn patch_json(ops: &[PatchOp]) -> Vec<Json> {
    ops.iter()
        .map(|op| match op {
            PatchOp::Replace { path, value } => {
                json!({"op": "replace", "path": path, "value": coerce(path, value.clone())})
            }
            other => other.to_json(),
        })
        .collect()
}

fn modified_of(
    ops: &[PatchOp],
    previous: &[Exported],
    current: &[Exported],
) -> Vec<(String, String, String)> {
    let value_in = |list: &[Exported], path: &str| {
        list.iter()
            .find(|e| e.target == path)
            .map(shown)
            .unwrap_or_default()
    };
    ops.iter()
        .map(|op| match op {
            PatchOp::Replace { path, .. } | PatchOp::Remove { path } => {
                (path.clone(), value_in(previous, path), value_in(current, path))
            }
        })
        .collect()
}

/// What looking an object up by its matching attributes found.
pub(super) enum Lookup {
    Found(String),
    Missing,
    /// More than one object has the value: "{path} {value}".
    Duplicates(String),
    Failed(ClientError),
}

/// Matches in precedence order: the first matching attribute that finds anything decides. Each
/// lookup and its count is added to `trace`.
async fn find_existing(
    target: &Target,
    kind: Kind,
    matching: Vec<(&str, &Value)>,
    trace: &mut Details,
) -> Lookup {
    for (path, value) in matching {
        let text = value.text().unwrap_or_default();
        let found = target.find(kind, path, &text).await;
        if let Ok(list) = &found {
            trace.push((format!("{path} eq {text:?}"), format!("{} found", list.len())));
        }
        match found {
            Ok(list) if list.len() > 1 => return Lookup::Duplicates(format!("{path} {text:?}")),
            Ok(list) => {
                if let Some(id) = list.first().and_then(|x| x.get("id")).and_then(Json::as_str) {
                    return Lookup::Found(id.to_string());
                }
            }
            Err(e) => return Lookup::Failed(e),
        }
    }
    Lookup::Missing
}

fn duplicates(
    log: &Log<'_>,
    mut steps: Vec<ProvisionStep>,
    objects: &str,
    what: &str,
    trace: Details,
    mut done: Done,
) -> Done {
    steps.push(step(
        &format!("Match {} between source and target", log.object_type),
        "Failure",
        format!("More than one of the target's {objects} has {what}."),
        trace,
    ));
    done.log = Some(log.entry(
        "Other",
        "Failure",
        steps,
        &[],
        Some((
            "DuplicateTargetEntries",
            format!("more than one of the target's {objects} has {what}"),
            "Remove the duplicates in the application.",
        )),
    ));
    done.tally = Tally::Failed;
    done
}

/// Looks up the batch's new users (in scope, not yet managed) by their first matching attribute,
/// LOOKUPS_PER_REQUEST values per request instead of one request each. Users it cannot decide
/// for (a complex attribute path, values differing only in case, a paged or failed answer) are
/// left out and looked up one by one; a target that refuses the filter gets single lookups from
/// then on.
async fn prefetch(ctx: &Ctx, work: &[(SourceRow, UserEval, Option<Managed>)]) -> HashMap<String, Lookup> {
    use std::sync::atomic::Ordering;
    let mut out = HashMap::new();
    if !ctx.caps.filter || ctx.single_lookups.load(Ordering::Relaxed) {
        return out;
    }
    // (path, value, source id) of each new user's first matching attribute.
    let mut wanted: Vec<(&str, String, &str)> = work
        .iter()
        .filter(|(_, eval, managed)| managed.is_none() && eval.in_scope)
        .filter_map(|(row, eval, _)| {
            let list = eval.exported.as_ref().ok()?;
            let (path, value) = ctx.users.matching(list).into_iter().next()?;
            let simple = !path.contains(['.', '[', ':']);
            Some((simple.then_some(path)?, value.text()?, row.user.id.as_str()))
        })
        .collect();
    if wanted.len() < 2 {
        return out;
    }
    wanted.sort();
    let mut rest = wanted.as_slice();
    while let Some((path, ..)) = rest.first() {
        // One request's worth: the same path, within the value and length limits.
        let mut len = 0;
        let n = rest
            .iter()
            .take_while(|(p, v, _)| {
                len += v.len() + p.len() + 12;
                p == path && len <= LOOKUP_URL_CHARS
            })
            .take(LOOKUPS_PER_REQUEST)
            .count()
            .max(1);
        let (chunk, next) = rest.split_at(n);
        rest = next;
        let mut folded: HashMap<String, usize> = HashMap::new();
        for (_, v, _) in chunk {
            *folded.entry(v.to_lowercase()).or_default() += 1;
        }
        let values: Vec<&str> = chunk.iter().map(|(_, v, _)| v.as_str()).collect();
        let list = match ctx.target.find_any(Kind::User, path, &values).await {
            Ok(Some(list)) => list,
            Ok(None) => continue,
            Err(ClientError::Http { status: 400, .. }) => {
                ctx.single_lookups.store(true, Ordering::Relaxed);
                break;
            }
            Err(_) => continue,
        };
        let mut ids: HashMap<String, Vec<String>> = HashMap::new();
        for r in &list {
            let value = r
                .as_object()
                .and_then(|o| crate::scim::resource::get_ci(o, path))
                .and_then(Json::as_str);
            if let (Some(id), Some(value)) = (r.get("id").and_then(Json::as_str), value) {
                ids.entry(value.to_lowercase()).or_default().push(id.to_string());
            }
        }
        for (_, value, source) in chunk {
            let key = value.to_lowercase();
            if folded[&key] > 1 {
                continue;
            }
            let lookup = match ids.get(&key).map(Vec::as_slice) {
                None | Some([]) => Lookup::Missing,
                Some([id]) => Lookup::Found(id.clone()),
                Some(_) => Lookup::Duplicates(format!("{path} {value:?}")),
            };
            out.insert(source.to_string(), lookup);
        }
    }
    out
}

/// Creates an object; when the answer is lost on the way (the target may have created it), looks
/// it up again by its matching attributes before giving up, so a retry never makes a second one.
pub(super) async fn create(
    target: &Target,
    kind: Kind,
    doc: &serde_json::Map<String, Json>,
    matching: Vec<(&str, &Value)>,
) -> Result<String, ClientError> {
    let created = target
        .create(kind, doc)
        .await
        .map(|created| created["id"].as_str().unwrap_or_default().to_string());
    recover_lost_create(target, kind, created, matching).await
}

/// A create whose answer was lost (the target may have made the object) is looked up again by
/// its matching attributes before it counts as failed.
async fn recover_lost_create(
    target: &Target,
    kind: Kind,
    created: Result<String, ClientError>,
    matching: Vec<(&str, &Value)>,
) -> Result<String, ClientError> {
    match created {
        Ok(id) => Ok(id),
        Err(e) if e.is_transient() => match find_existing(target, kind, matching, &mut Vec::new()).await {
            Lookup::Found(id) => Ok(id),
            _ => Err(e),
        },
        Err(e) => Err(e),
    }
}

/// Ends an object's processing with no operation: a Skipped step and log entry.
pub(super) fn skip(
    log: &Log<'_>,
    done: &mut Done,
    mut steps: Vec<ProvisionStep>,
    action: &'static str,
    why: impl Into<String>,
    error: Option<(&str, String, &str)>,
) {
    steps.push(step("Perform action", "Skipped", why, vec![]));
    done.log = Some(log.entry(action, "Skipped", steps, &[], error));
    done.tally = Tally::Skipped;
}

/// The mapping's Target Object Actions do not allow `action`.
fn switched_off(log: &Log<'_>, steps: Vec<ProvisionStep>, action: &'static str, mut done: Done) -> Done {
    let why = format!("{action} is switched off in the mapping's Target Object Actions.");
    skip(log, &mut done, steps, action, why, None);
    done
}

/// Processes one user: evaluation, then the target operation its outcome calls for.
/// `prefound` is what a batched lookup found by the first matching attribute, if one ran.
pub(super) async fn process_user(
    ctx: Arc<Ctx>,
    row: SourceRow,
    mut eval: UserEval,
    managed: Option<Managed>,
    quiet_in_sync: bool,
    prefound: Option<Lookup>,
) -> Done {
    const MATCH: &str = "Match user between source and target";
    let mut permit = Some(ctx.permits.clone().acquire_owned().await);
    let u = &row.user;
    let managed_target = managed.as_ref().map(|m| m.target_id.clone()).unwrap_or_default();
    let log = Log {
        object_type: "user",
        source_id: &u.id,
        display_name: &u.display_name,
        target_id: &managed_target,
        started: Instant::now(),
    };
    let mut steps = vec![
        step(
            "Import user",
            "Success",
            format!("Retrieved {} from the directory.", u.upn),
            std::mem::take(&mut eval.import_details),
        ),
        step(
            "Determine if user is in scope",
            if eval.in_scope { "Success" } else { "Skipped" },
            eval.reason,
            std::mem::take(&mut eval.scope_details),
        ),
    ];
    let managed_detail = |m: &Managed| {
        vec![(
            "Connector data store".to_string(),
            format!("managed as {}", m.target_id),
        )]
    };
    let mut done = Done {
        imported: true,
        entitled: eval.in_scope,
        manager_unresolved: eval.manager_unresolved,
        ..Done::default()
    };
    if !eval.in_scope {
        if ctx.detailed {
            steps.push(step(
                MATCH,
                "Skipped",
                "The user is out of scope: nothing is looked up in the target.",
                managed.as_ref().map(managed_detail).unwrap_or_default(),
            ));
        }
        let Some(m) = managed else {
            // Never provisioned: nothing in the target is touched. Users outside the assignment
            // scope are not even imported, as in Entra (provision on demand still reports them).
            if !(ctx.all || eval.assigned) {
                done.imported = false;
                if !ctx.detailed {
                    return done;
                }
            }
            let code = (!eval.entitled && eval.assigned).then_some((
                "NotEffectivelyEntitled",
                "assigned only with a role that is not provisioned".to_string(),
                "Assign the user with a role other than Default Access.",
            ));
            skip(
                &log,
                &mut done,
                steps,
                "Other",
                "Out of scope and never provisioned: nothing in the target is touched.",
                code,
            );
            done.escrow = ctx.cleared("user", &u.id);
            return done;
        };
        if m.state != "active" {
            done.escrow = ctx.cleared("user", &u.id);
            if m.unconfirmed {
                // Still disabled there, as before the restart: the link is a fact again.
                done.object = Some(ObjectWrite {
                    object_type: "user",
                    source_id: u.id.clone(),
                    target_id: m.target_id.clone(),
                    exported: Some(exported_json(&[Exported {
                        target: "active".into(),
                        value: Value::Bool(false),
                        redacted: false,
                    }])),
                    state: "disabled",
                });
            }
            if !quiet_in_sync {
                skip(
                    &log,
                    &mut done,
                    steps,
                    "Other",
                    "Out of scope and already disabled in the target.",
                    None,
                );
            }
            return done;
        }
        if ctx.skip_out_of_scope || !ctx.user_actions.delete {
            let why = if ctx.skip_out_of_scope {
                "Skip out-of-scope deletions is on: the user stays enabled in the target."
            } else {
                "Delete is switched off in the mapping's Target Object Actions."
            };
            skip(&log, &mut done, steps, "Disable", why, None);
            return done;
        }
        done.deprovision = Some(Deprovision {
            object_type: "user",
            source_id: u.id.clone(),
            display_name: u.display_name.clone(),
            delete: !ctx.soft_delete,
            managed: m,
            reason: eval.reason.to_string(),
            steps,
        });
        return done;
    }
    let exported = match eval.exported {
        Ok(list) => list,
        Err(e) => {
            steps.push(step("Perform action", "Failure", e.clone(), vec![]));
            done.log = Some(log.entry(
                "Other",
                "Failure",
                steps,
                &[],
                Some(("MappingError", e, "Fix the expression in the attribute mapping.")),
            ));
            done.tally = Tally::Failed;
            return done;
        }
    };
    // What the action step shows in detail: the references it could not send yet.
    let note = |mut details: Details| {
        if eval.manager_unresolved {
            details.push((
                "Note".into(),
                "The manager is not provisioned to this application yet; the reference follows once it is."
                    .into(),
            ));
        }
        details
    };
    let (target_id, previous) = match managed {
        Some(m) => {
            if ctx.detailed {
                steps.push(step(
                    MATCH,
                    "Success",
                    format!("Matched the user in the target: {}.", m.target_id),
                    managed_detail(&m),
                ));
            }
            let previous = exported_from(&m.exported);
            (m.target_id, previous)
        }
        None => {
            // Match before create: a repeated cycle (after a crash) finds what it created.
            let matching = ctx.users.matching(&exported);
            if matching.is_empty() {
                steps.push(step(
                    MATCH,
                    "Skipped",
                    "No matching attribute has a value.",
                    vec![],
                ));
                done.log = Some(log.entry(
                    "Other",
                    "Skipped",
                    steps,
                    &[],
                    Some((
                        "ImportSkipped",
                        "no matching attribute has a value".into(),
                        "Give the user a value for a matching attribute.",
                    )),
                ));
                done.tally = Tally::Skipped;
                return done;
            }
            let mut trace = Vec::new();
            let lookup = match prefound {
                // The first matching attribute found nothing: the others decide.
                Some(Lookup::Missing) => {
                    let rest = matching.into_iter().skip(1).collect();
                    find_existing(&ctx.target, Kind::User, rest, &mut trace).await
                }
                Some(known) => known,
                None => find_existing(&ctx.target, Kind::User, matching, &mut trace).await,
            };
            let found = match lookup {
                Lookup::Found(id) => Some(id),
                Lookup::Missing => None,
                Lookup::Duplicates(what) => return duplicates(&log, steps, "users", &what, trace, done),
                Lookup::Failed(e) => return ctx.failure(&log, "user", "Create", steps, e, false, done),
            };
            if ctx.detailed {
                let description = match &found {
                    Some(id) => format!("Matched the user in the target: {id}."),
                    None => "No user in the target matched.".to_string(),
                };
                steps.push(step(MATCH, "Success", description, trace));
            }
            match found {
                Some(id) => (id, Vec::new()),
                None if !ctx.user_actions.create => {
                    return switched_off(&log, steps, "Create", done);
                }
                None => {
                    let doc = document(&exported);
                    let modified: Vec<(String, String, String)> = exported
                        .iter()
                        .map(|e| (e.target.clone(), String::new(), shown(e)))
                        .collect();
                    let details = if ctx.detailed {
                        note(exported.iter().map(|e| (e.target.clone(), shown(e))).collect())
                    } else {
                        Vec::new()
                    };
                    let created = match ctx.bulk.as_ref().filter(|b| b.usable()) {
                        Some(bulk) => {
                            // The Bulk sender takes its own permit for the request.
                            permit.take();
                            let created = bulk.create(doc).await;
                            recover_lost_create(
                                &ctx.target,
                                Kind::User,
                                created,
                                ctx.users.matching(&exported),
                            )
                            .await
                        }
                        None => create(&ctx.target, Kind::User, &doc, ctx.users.matching(&exported)).await,
                    };
                    return match created {
                        Ok(id) => {
                            steps.push(step(
                                "Perform action",
                                "Success",
                                format!("Created the user in the target as {id}."),
                                details,
                            ));
                            let log = Log {
                                target_id: &id,
                                ..log
                            };
                            done.log = Some(log.entry("Create", "Success", steps, &modified, None));
                            done.object = Some(ObjectWrite {
                                object_type: "user",
                                source_id: u.id.clone(),
                                target_id: id,
                                exported: Some(exported_json(&exported)),
                                state: "active",
                            });
                            done.escrow = ctx.cleared("user", &u.id);
                            done.tally = Tally::Created;
                            done.created = true;
                            done.presence_changed = true;
                            done
                        }
                        Err(e) => ctx.failure(&log, "user", "Create", steps, e, false, done),
                    };
                }
            }
        }
    };
    // Update: only the difference from what the target holds.
    let was_disabled = previous
        .iter()
        .any(|e| e.target.eq_ignore_ascii_case("active") && e.value == Value::Bool(false));
    let log = Log {
        target_id: &target_id,
        ..log
    };
    let ops = export::diff(&previous, &exported, &|t| ctx.users.writes(t));
    if ops.is_empty() {
        done.escrow = ctx.cleared("user", &u.id);
        if !quiet_in_sync {
            skip(
                &log,
                &mut done,
                steps,
                "Other",
                "Already in sync with the target.",
                None,
            );
        }
        if previous.is_empty() {
            // Matched and nothing to send: remember it.
            done.object = Some(ObjectWrite {
                object_type: "user",
                source_id: u.id.clone(),
                target_id: target_id.clone(),
                exported: Some(exported_json(&exported)),
                state: "active",
            });
        }
        return done;
    }
    if !ctx.user_actions.update {
        return switched_off(&log, steps, "Update", done);
    }
    let modified = modified_of(&ops, &previous, &exported);
    let details = if ctx.detailed {
        note(
            ops.iter()
                .map(|op| match op {
                    PatchOp::Replace { path, value } => (path.clone(), value.to_string()),
                    PatchOp::Remove { path } => (path.clone(), "(removed)".into()),
                })
                .collect(),
        )
    } else {
        Vec::new()
    };
    let manager_only = ops
        .iter()
        .all(|op| matches!(op, PatchOp::Replace { path, .. } | PatchOp::Remove { path } if path.eq_ignore_ascii_case(ENTERPRISE_MANAGER)));
    let result = if ctx.caps.patch {
        ctx.target.patch(Kind::User, &target_id, &patch_json(&ops)).await
    } else {
        ctx.target
            .replace(Kind::User, &target_id, &document(&exported))
            .await
            .map(|_| ())
    };
    match result {
        Ok(()) => {
            steps.push(step(
                "Perform action",
                "Success",
                format!("Updated {} attribute(s) of {target_id}.", ops.len()),
                details,
            ));
            done.log = Some(log.entry("Update", "Success", steps, &modified, None));
            done.object = Some(ObjectWrite {
                object_type: "user",
                source_id: u.id.clone(),
                target_id: target_id.clone(),
                exported: Some(exported_json(&exported)),
                state: "active",
            });
            done.escrow = ctx.cleared("user", &u.id);
            done.tally = Tally::Updated;
            done.presence_changed = was_disabled || previous.is_empty();
            done
        }
        Err(e) => ctx.failure(&log, "user", "Update", steps, e, manager_only, done),
    }
}

/// Disables or deletes an object that left scope (phase 3), or holds it as StagedDelete.
pub(super) async fn deprovision(ctx: Arc<Ctx>, d: Deprovision, held: bool) -> Done {
    let _permit = ctx.permits.clone().acquire_owned().await;
    let log = Log {
        object_type: d.object_type,
        source_id: &d.source_id,
        display_name: &d.display_name,
        target_id: &d.managed.target_id,
        started: Instant::now(),
    };
    let action = if d.delete { "Delete" } else { "Disable" };
    let mut steps = if d.steps.is_empty() {
        vec![step(
            "Determine if object is in scope",
            "Skipped",
            d.reason.clone(),
            vec![],
        )]
    } else {
        d.steps.clone()
    };
    let mut done = Done {
        imported: true,
        ..Done::default()
    };
    if held {
        steps.push(step(
            "Perform action",
            "Skipped",
            "Held by accidental-deletion prevention: the disables and deletes of this cycle and of the reconciliation interval before it exceed the threshold.",
            vec![],
        ));
        done.log = Some(log.entry(
            "StagedDelete",
            "Skipped",
            steps,
            &[],
            Some((
                "TooManyDeletes",
                "the disables and deletes within the reconciliation interval exceed the accidental-deletion threshold".into(),
                "Review the changes; choose Allow deletes to release them.",
            )),
        ));
        done.tally = Tally::Staged;
        return done;
    }
    let kind = if d.object_type == "group" {
        Kind::Group
    } else {
        Kind::User
    };
    let result = if d.delete {
        ctx.target.delete(kind, &d.managed.target_id).await
    } else {
        ctx.target
            .patch(
                kind,
                &d.managed.target_id,
                &[json!({"op": "replace", "path": "active", "value": false})],
            )
            .await
    };
    match result {
        Ok(()) => {
            steps.push(step(
                "Perform action",
                "Success",
                format!("{action}d {} in the target.", d.managed.target_id),
                vec![],
            ));
            let modified = if d.delete {
                vec![]
            } else {
                vec![("active".to_string(), "true".to_string(), "false".to_string())]
            };
            done.log = Some(log.entry(action, "Success", steps, &modified, None));
            done.object = Some(if d.delete {
                ObjectWrite {
                    object_type: d.object_type,
                    source_id: d.source_id.clone(),
                    target_id: d.managed.target_id.clone(),
                    exported: None,
                    state: "active",
                }
            } else {
                // What the target now holds: the same values, but inactive, so a return to
                // scope sends active again.
                let mut held = exported_from(&d.managed.exported);
                held.retain(|e| !e.target.eq_ignore_ascii_case("active"));
                held.push(Exported {
                    target: "active".into(),
                    value: Value::Bool(false),
                    redacted: false,
                });
                ObjectWrite {
                    object_type: d.object_type,
                    source_id: d.source_id.clone(),
                    target_id: d.managed.target_id.clone(),
                    exported: Some(exported_json(&held)),
                    state: "disabled",
                }
            });
            done.escrow = ctx.cleared(d.object_type, &d.source_id);
            done.tally = if d.delete { Tally::Deleted } else { Tally::Disabled };
            done.presence_changed = true;
            done
        }
        // A link from before a Restart (Full) may point at an account the target no longer has
        // (it was reset): nothing is left to take out, and the link goes.
        Err(ClientError::Http { status: 404, .. }) if d.managed.unconfirmed => {
            let text = format!(
                "{} is no longer in the target: nothing to {}.",
                d.managed.target_id,
                action.to_lowercase()
            );
            steps.push(step("Perform action", "Skipped", text, vec![]));
            done.log = Some(log.entry(action, "Skipped", steps, &[], None));
            done.object = Some(ObjectWrite {
                object_type: d.object_type,
                source_id: d.source_id.clone(),
                target_id: d.managed.target_id.clone(),
                exported: None,
                state: "active",
            });
            done.escrow = ctx.cleared(d.object_type, &d.source_id);
            done.tally = Tally::Skipped;
            done
        }
        Err(e) => ctx.failure(&log, d.object_type, action, steps, e, false, done),
    }
}

/// A group's members in the target: the target ids of its direct user members that are
/// provisioned and enabled.
pub(super) fn member_targets(members: &[String], users: &HashMap<String, Managed>) -> BTreeSet<String> {
    members
        .iter()
        .filter_map(|m| users.get(m))
        .filter(|m| m.state == "active")
        .map(|m| m.target_id.clone())
        .collect()
}

pub(super) fn members_of(list: &[Exported]) -> BTreeSet<String> {
    list.iter()
        .filter(|e| e.target.eq_ignore_ascii_case("members"))
        .flat_map(|e| match &e.value {
            Value::Multi(v) => v.iter().filter_map(|x| x.text()).collect::<Vec<_>>(),
            other => other.text().into_iter().collect(),
        })
        .collect()
}

fn without_members(list: &[Exported]) -> Vec<Exported> {
    list.iter()
        .filter(|e| !e.target.eq_ignore_ascii_case("members"))
        .cloned()
        .collect()
}

fn with_members(mut list: Vec<Exported>, members: &BTreeSet<String>) -> Vec<Exported> {
    if !members.is_empty() {
        list.push(Exported {
            target: "members".into(),
            value: Value::Multi(members.iter().cloned().map(Value::Str).collect()),
            redacted: false,
        });
    }
    list
}

/// Sends membership changes in requests of at most MEMBERS_PER_REQUEST references.
async fn send_members(
    ctx: &Ctx,
    target_id: &str,
    add: &[String],
    remove: &[String],
) -> Result<(), ClientError> {
    for chunk in add.chunks(MEMBERS_PER_REQUEST) {
        let value: Vec<Json> = chunk.iter().map(|id| json!({"value": id})).collect();
        ctx.target
            .patch(
                Kind::Group,
                target_id,
                &[json!({"op": "add", "path": "members", "value": value})],
            )
            .await?;
    }
    for chunk in remove.chunks(MEMBERS_PER_REQUEST) {
        let ops: Vec<Json> = chunk
            .iter()
            .map(|id| json!({"op": "remove", "path": format!("members[value eq \"{id}\"]")}))
            .collect();
        ctx.target.patch(Kind::Group, target_id, &ops).await?;
    }
    Ok(())
}

/// PUT of a whole group, for targets without PATCH.
async fn replace_group(
    ctx: &Ctx,
    target_id: &str,
    attrs: &[Exported],
    members: &BTreeSet<String>,
) -> Result<(), ClientError> {
    let mut doc = document(attrs);
    doc.insert(
        "members".into(),
        Json::Array(members.iter().map(|id| json!({"value": id})).collect()),
    );
    ctx.target.replace(Kind::Group, target_id, &doc).await.map(|_| ())
}

/// Processes one group in scope: create or update, memberships as a difference.
#[allow(
    clippy::expect_used,
    reason = "groups are processed only when a groups mapping exists"
)]
pub(super) async fn process_group(
    ctx: Arc<Ctx>,
    group: jobs::GroupSource,
    managed: Option<Managed>,
    members: BTreeSet<String>,
) -> Done {
    let _permit = ctx.permits.clone().acquire_owned().await;
    let mapping = ctx
        .groups
        .as_ref()
        .expect("groups are processed only when mapped");
    let managed_target = managed.as_ref().map(|m| m.target_id.clone()).unwrap_or_default();
    let log = Log {
        object_type: "group",
        source_id: &group.id,
        display_name: &group.display_name,
        target_id: &managed_target,
        started: Instant::now(),
    };
    let mut steps = vec![
        step(
            "Import group",
            "Success",
            format!("Retrieved {} from the directory.", group.display_name),
            vec![],
        ),
        step(
            "Determine if group is in scope",
            "Success",
            "The group is in scope.",
            vec![],
        ),
    ];
    let mut done = Done {
        imported: true,
        entitled: true,
        ..Done::default()
    };
    let gc = source::GroupContext::new(
        &group.id,
        &group.display_name,
        &group.description,
        &group.mail_nickname,
        members.iter().cloned().collect(),
    );
    let exported = match mapping.export(&gc, managed.is_none()) {
        Ok(e) => e,
        Err(e) => {
            done.log = Some(log.entry(
                "Other",
                "Failure",
                steps,
                &[],
                Some((
                    "MappingError",
                    e.to_string(),
                    "Fix the expression in the attribute mapping.",
                )),
            ));
            done.tally = Tally::Failed;
            return done;
        }
    };
    let writes_members = mapping.writes("members");
    let wanted = if writes_members {
        members_of(&exported)
    } else {
        BTreeSet::new()
    };
    let attrs = without_members(&exported);
    let (target_id, previous, created) = match managed {
        Some(m) => (m.target_id.clone(), exported_from(&m.exported), false),
        None => {
            let mut trace = Vec::new();
            let found =
                match find_existing(&ctx.target, Kind::Group, mapping.matching(&attrs), &mut trace).await {
                    Lookup::Found(id) => Some(id),
                    Lookup::Missing => None,
                    Lookup::Duplicates(what) => return duplicates(&log, steps, "groups", &what, trace, done),
                    Lookup::Failed(e) => return ctx.failure(&log, "group", "Create", steps, e, false, done),
                };
            match found {
                Some(id) => (id, Vec::new(), false),
                None if !ctx.group_actions.create => {
                    return switched_off(&log, steps, "Create", done);
                }
                None => match create(
                    &ctx.target,
                    Kind::Group,
                    &document(&attrs),
                    mapping.matching(&attrs),
                )
                .await
                {
                    Ok(id) => (id, attrs.clone(), true),
                    Err(e) => return ctx.failure(&log, "group", "Create", steps, e, false, done),
                },
            }
        }
    };
    let log = Log {
        target_id: &target_id,
        ..log
    };
    let had = members_of(&previous);
    let add: Vec<String> = wanted.difference(&had).cloned().collect();
    let remove: Vec<String> = had.difference(&wanted).cloned().collect();
    let attr_ops = export::diff(&without_members(&previous), &attrs, &|t| mapping.writes(t));
    let remember = |members: &BTreeSet<String>, attrs: Vec<Exported>| ObjectWrite {
        object_type: "group",
        source_id: group.id.clone(),
        target_id: target_id.clone(),
        exported: Some(exported_json(&with_members(attrs, members))),
        state: "active",
    };
    let mut modified = if created {
        attrs
            .iter()
            .map(|e| (e.target.clone(), String::new(), shown(e)))
            .collect()
    } else {
        modified_of(&attr_ops, &previous, &attrs)
    };
    if !add.is_empty() || !remove.is_empty() {
        modified.push((
            "members".into(),
            format!("{} member(s)", had.len()),
            format!(
                "{} member(s): {} added, {} removed",
                wanted.len(),
                add.len(),
                remove.len()
            ),
        ));
    }
    if attr_ops.is_empty() && add.is_empty() && remove.is_empty() && !created {
        done.escrow = ctx.cleared("group", &group.id);
        if previous.is_empty() {
            done.object = Some(remember(&had, attrs));
        }
        skip(
            &log,
            &mut done,
            steps,
            "Other",
            "Already in sync with the target.",
            None,
        );
        return done;
    }
    if !created && !ctx.group_actions.update {
        return switched_off(&log, steps, "Update", done);
    }
    // Attributes first, then memberships; what the target holds is recorded even when the
    // memberships fail, so the retry sends only what is missing.
    if !attr_ops.is_empty() && !created {
        let r = if ctx.caps.patch {
            ctx.target
                .patch(Kind::Group, &target_id, &patch_json(&attr_ops))
                .await
        } else {
            replace_group(&ctx, &target_id, &attrs, &had).await
        };
        if let Err(e) = r {
            return ctx.failure(&log, "group", "Update", steps, e, false, done);
        }
    }
    let members_result = if add.is_empty() && remove.is_empty() {
        Ok(())
    } else if ctx.caps.patch {
        send_members(&ctx, &target_id, &add, &remove).await
    } else {
        replace_group(&ctx, &target_id, &attrs, &wanted).await
    };
    let action = if created { "Create" } else { "Update" };
    match members_result {
        Ok(()) => {
            steps.push(step(
                "Perform action",
                "Success",
                format!("{action}d the group in the target as {target_id}."),
                vec![],
            ));
            done.log = Some(log.entry(action, "Success", steps, &modified, None));
            done.object = Some(remember(&wanted, attrs));
            done.escrow = ctx.cleared("group", &group.id);
            done.tally = if created { Tally::Created } else { Tally::Updated };
            done
        }
        Err(e) => {
            let object = remember(&had, attrs);
            let mut d = ctx.failure(&log, "group", action, steps, e, true, done);
            d.object = Some(object);
            d
        }
    }
}

impl Run {
    pub(super) fn new(ctx: Arc<Ctx>) -> Run {
        Run {
            ctx,
            users_managed: HashMap::new(),
            users_unconfirmed: HashMap::new(),
            groups_managed: HashMap::new(),
            roles: HashMap::new(),
            complete: false,
            slim: false,
            looked_up: HashSet::new(),
            counters: Counters::default(),
            fatal: None,
            created_users: Vec::new(),
            unresolved: HashSet::new(),
            processed_users: HashSet::new(),
            presence_changed: Vec::new(),
            deprovisions: Vec::new(),
            pending: None,
        }
    }

    /// Waits for the last batch's write.
    pub(super) async fn flush(&mut self) -> Result<(), DirError> {
        match self.pending.take() {
            Some(write) => write
                .await
                .map_err(|e| DirError::Conflict(format!("a provisioning write failed: {e}")))?,
            None => Ok(()),
        }
    }

    /// Applies finished objects to the in-memory connector data store and starts writing the
    /// batch (one at a time, in order); the next batch's requests go out meanwhile. Nothing
    /// reads a batch's rows back before `flush`, and the watermark moves only after it.
    pub(super) async fn record(&mut self, results: Vec<Done>) -> Result<(), DirError> {
        let mut batch = jobs::Batch::default();
        for mut d in results {
            if let Some(f) = d.fatal.take() {
                self.fatal.get_or_insert(f);
            }
            if let Some(dep) = d.deprovision.take() {
                self.deprovisions.push(dep);
                continue;
            }
            tally(&mut self.counters, &d);
            if let Some(o) = d.object.take() {
                let map = if o.object_type == "group" {
                    &mut self.groups_managed
                } else {
                    &mut self.users_managed
                };
                match &o.exported {
                    Some(exported) => {
                        let slim = self.slim && o.object_type == "user";
                        map.insert(
                            o.source_id.clone(),
                            Managed {
                                target_id: o.target_id.clone(),
                                exported: if slim { String::new() } else { exported.clone() },
                                state: o.state.to_string(),
                                unconfirmed: false,
                            },
                        );
                    }
                    None => {
                        map.remove(&o.source_id);
                    }
                }
                if o.object_type == "user" {
                    if d.created {
                        self.created_users.push(o.source_id.clone());
                    }
                    if d.presence_changed {
                        self.presence_changed.push(o.source_id.clone());
                    }
                }
                batch.objects.push(o);
            }
            if let Some(e) = d.escrow.take() {
                batch.escrows.push(e);
            }
            if let Some(l) = d.log.take() {
                batch.logs.push(l);
            }
        }
        self.flush().await?;
        let (ctx, counters) = (self.ctx.clone(), self.counters.clone());
        self.pending = Some(tokio::spawn(async move {
            let now = crate::timefmt::now();
            jobs::record_batch(&ctx.pool, &ctx.app, ctx.cycle.as_deref(), &batch, &counters, &now).await?;
            Ok(())
        }));
        Ok(())
    }

    /// Reads the connector data store rows (and, for users, the app roles) of `ids` not read yet.
    pub(super) async fn ensure(&mut self, object_type: &'static str, ids: &[String]) -> Result<(), DirError> {
        if self.complete {
            return Ok(());
        }
        let mut missing: Vec<String> = ids
            .iter()
            .filter(|id| !self.looked_up.contains(&(object_type, (*id).clone())))
            .cloned()
            .collect();
        missing.sort();
        missing.dedup();
        if missing.is_empty() {
            return Ok(());
        }
        let pool = &self.ctx.pool;
        let found = jobs::managed_some(pool, &self.ctx.app, object_type, &missing).await?;
        let map = if object_type == "group" {
            &mut self.groups_managed
        } else {
            &mut self.users_managed
        };
        for (k, v) in found {
            map.entry(k).or_insert(v);
        }
        if object_type == "user" {
            for (k, v) in jobs::unconfirmed_users(pool, &self.ctx.app, Some(&missing)).await? {
                self.users_unconfirmed.entry(k).or_insert(v);
            }
            for (user, role, display) in jobs::roles_of_users(pool, &self.ctx.app, &missing).await? {
                let p = self.ctx.role_provisioned(&role);
                let list = self.roles.entry(user).or_default();
                if !list.iter().any(|(v, _, _)| *v == role) {
                    list.push((role, display, p));
                }
            }
        }
        self.looked_up
            .extend(missing.into_iter().map(|id| (object_type, id)));
        Ok(())
    }

    /// The link a user is processed with: its own; or, for a user out of scope without one, the
    /// link from before a `Restart (Full)`, so the user goes out of the target. (A user in scope
    /// is matched again instead.)
    pub(super) fn link_for(&self, user: &str, own: Option<Managed>, eval: &UserEval) -> Option<Managed> {
        match own {
            None if !eval.in_scope => self.users_unconfirmed.get(user).cloned(),
            own => own,
        }
    }

    async fn users(&mut self, rows: Vec<SourceRow>, quiet_in_sync: bool) -> Result<(), DirError> {
        let set = self.start_users(rows, quiet_in_sync).await?;
        self.finish(set).await
    }

    /// [`Run::users`] for a stream of batches, one batch ahead: the next batch is read, evaluated
    /// and looked up while the previous one's requests are out, and both share the request
    /// permits, so the target is never idle between batches. Batches are still recorded in
    /// order. A user whose manager is in the batch before it finds no target id for the manager
    /// yet and gets the reference in the references pass, as any unresolved manager does.
    pub(super) async fn users_pipelined(
        &mut self,
        mut running: Option<UserTasks>,
        rows: Vec<SourceRow>,
    ) -> Result<Option<UserTasks>, DirError> {
        let next = if self.fatal.is_none() && !rows.is_empty() {
            Some(self.start_users(rows, false).await?)
        } else {
            None
        };
        if let Some(set) = running.take() {
            self.finish(set).await?;
        }
        Ok(next)
    }

    /// Reads, evaluates and looks up a batch of users and starts their tasks.
    async fn start_users(
        &mut self,
        rows: Vec<SourceRow>,
        quiet_in_sync: bool,
    ) -> Result<UserTasks, DirError> {
        let ids: Vec<String> = rows
            .iter()
            .flat_map(|r| std::iter::once(r.user.id.clone()).chain(r.user.manager_id.clone()))
            .collect();
        self.ensure("user", &ids).await?;
        let mut full = if self.slim {
            let known: Vec<String> = rows
                .iter()
                .map(|r| r.user.id.clone())
                .filter(|id| self.users_managed.contains_key(id))
                .collect();
            jobs::managed_some(&self.ctx.pool, &self.ctx.app, "user", &known).await?
        } else {
            HashMap::new()
        };
        let mut inputs = Vec::with_capacity(rows.len());
        for row in rows {
            self.processed_users.insert(row.user.id.clone());
            let roles = self.roles.get(&row.user.id).cloned().unwrap_or_default();
            let managed = if self.slim {
                full.remove(&row.user.id)
            } else {
                self.users_managed.get(&row.user.id).cloned()
            };
            let manager_target = row
                .user
                .manager_id
                .as_ref()
                .and_then(|m| self.users_managed.get(m))
                .map(|m| m.target_id.clone());
            inputs.push((row, roles, managed, manager_target));
        }
        // Mapping expressions are CPU work (bounded by their output budget): the batch is
        // evaluated on the blocking pool, so the async workers keep serving requests meanwhile.
        let ctx = self.ctx.clone();
        let evaluated = tokio::task::spawn_blocking(move || {
            inputs
                .into_iter()
                .map(|(row, roles, managed, manager_target)| {
                    let eval =
                        evaluate_user(&ctx, &row, &roles, managed.is_none(), manager_target.as_deref());
                    (row, eval, managed)
                })
                .collect::<Vec<_>>()
        })
        .await
        .map_err(|e| DirError::Conflict(format!("evaluating the mappings failed: {e}")))?;
        let work: Vec<_> = evaluated
            .into_iter()
            .map(|(row, eval, managed)| {
                let managed = self.link_for(&row.user.id, managed, &eval);
                (row, eval, managed)
            })
            .collect();
        let mut found = prefetch(&self.ctx, &work).await;
        let mut set = tokio::task::JoinSet::new();
        for (row, eval, managed) in work {
            let id = row.user.id.clone();
            let (ctx, prefound) = (self.ctx.clone(), found.remove(&id));
            set.spawn(async move {
                let done = process_user(ctx, row, eval, managed, quiet_in_sync, prefound).await;
                (id, done)
            });
        }
        Ok(set)
    }

    /// Waits for a batch's tasks and records their outcomes.
    async fn finish(&mut self, mut set: UserTasks) -> Result<(), DirError> {
        let mut results = Vec::new();
        while let Some(r) = set.join_next().await {
            let (id, d) = r.map_err(|e| DirError::Conflict(format!("a provisioning task failed: {e}")))?;
            if d.manager_unresolved {
                self.unresolved.insert(id);
            }
            results.push(d);
        }
        self.record(results).await
    }

    /// Managed users whose source is gone (hard deleted): deleted in the target.
    async fn hard_deleted(&mut self, ids: Vec<String>) -> Result<(), DirError> {
        self.ensure("user", &ids).await?;
        for id in ids {
            let link = self
                .users_managed
                .get(&id)
                .or_else(|| self.users_unconfirmed.get(&id));
            if let Some(m) = link.cloned() {
                if self.ctx.user_actions.delete {
                    self.deprovisions.push(Deprovision {
                        object_type: "user",
                        source_id: id.clone(),
                        display_name: id.clone(),
                        managed: m,
                        delete: true,
                        reason: "The user was deleted from the directory for good.".into(),
                        steps: Vec::new(),
                    });
                }
            }
        }
        Ok(())
    }

    /// Phase 2: users whose manager had no target id when they were processed.
    async fn references(&mut self) -> Result<(), DirError> {
        let mut candidates: BTreeSet<String> = self.unresolved.drain().collect();
        if !self.created_users.is_empty() {
            for id in jobs::reports_of(&self.ctx.pool, &self.created_users).await? {
                if !self.processed_users.contains(&id) {
                    candidates.insert(id);
                }
            }
        }
        let candidates: Vec<String> = candidates.into_iter().collect();
        self.ensure("user", &candidates).await?;
        let candidates: Vec<String> = candidates
            .into_iter()
            .filter(|id| self.users_managed.contains_key(id))
            .collect();
        for chunk in candidates.chunks(BATCH) {
            let rows = jobs::users_by_ids(&self.ctx.pool, chunk).await?;
            let rows = rows
                .into_iter()
                .filter(|r| {
                    r.user
                        .manager_id
                        .as_ref()
                        .is_some_and(|m| self.users_managed.contains_key(m))
                })
                .collect();
            self.users(rows, true).await?;
            if self.fatal.is_some() {
                break;
            }
        }
        Ok(())
    }

    /// Phase 3: executes the cycle's deprovisions, or holds them all.
    async fn deprovisions(&mut self, held: bool) -> Result<(), DirError> {
        let list = std::mem::take(&mut self.deprovisions);
        for chunk in list.chunks(BATCH) {
            let mut set = tokio::task::JoinSet::new();
            for d in chunk {
                let (ctx, d) = (self.ctx.clone(), d.clone());
                set.spawn(async move { (d.source_id.clone(), deprovision(ctx, d, held).await) });
            }
            self.finish(set).await?;
            if self.fatal.is_some() {
                break;
            }
        }
        Ok(())
    }

    /// Whether a directory group is in the group scope.
    pub(super) fn group_in_scope(&self, g: &jobs::GroupSource) -> bool {
        let entitled = self.ctx.all || self.ctx.group_entitled.get(&g.id).copied().unwrap_or(false);
        let gc = source::GroupContext::new(
            &g.id,
            &g.display_name,
            &g.description,
            &g.mail_nickname,
            Vec::new(),
        );
        entitled
            && self
                .ctx
                .group_scope
                .matches(&|a: &str| crate::mapping::expr::Context::attribute(&gc, a))
    }

    /// Phase 4 input: groups that left scope are queued for deletion; returns those in scope.
    fn plan_groups(&mut self, groups: Vec<jobs::GroupSource>, gone: Vec<String>) -> Vec<jobs::GroupSource> {
        let mut keep = Vec::new();
        for g in groups {
            if self.ctx.groups.is_some() && self.group_in_scope(&g) {
                keep.push(g);
                continue;
            }
            match self.groups_managed.get(&g.id).cloned() {
                Some(m) if self.ctx.group_actions.delete && !self.ctx.skip_out_of_scope => {
                    self.deprovisions.push(Deprovision {
                        object_type: "group",
                        source_id: g.id.clone(),
                        display_name: g.display_name.clone(),
                        managed: m,
                        delete: true,
                        reason: "The group left scope.".into(),
                        steps: Vec::new(),
                    });
                }
                // Looked at and left alone: progress all the same.
                _ => self.counters.processed += 1,
            }
        }
        for id in gone {
            if let Some(m) = self.groups_managed.get(&id).cloned() {
                if self.ctx.group_actions.delete {
                    self.deprovisions.push(Deprovision {
                        object_type: "group",
                        source_id: id.clone(),
                        display_name: id.clone(),
                        managed: m,
                        delete: true,
                        reason: "The group was deleted from the directory.".into(),
                        steps: Vec::new(),
                    });
                }
            }
        }
        keep
    }

    async fn groups(&mut self, groups: Vec<jobs::GroupSource>) -> Result<(), DirError> {
        for chunk in groups.chunks(BATCH / 4) {
            let ids: Vec<String> = chunk.iter().map(|g| g.id.clone()).collect();
            self.ensure("group", &ids).await?;
            let members: Vec<String> = chunk.iter().flat_map(|g| g.members.iter().cloned()).collect();
            self.ensure("user", &members).await?;
            let mut set = tokio::task::JoinSet::new();
            for g in chunk {
                let members = member_targets(&g.members, &self.users_managed);
                let managed = self.groups_managed.get(&g.id).cloned();
                let ctx = self.ctx.clone();
                let group = jobs::GroupSource {
                    id: g.id.clone(),
                    display_name: g.display_name.clone(),
                    description: g.description.clone(),
                    mail_nickname: g.mail_nickname.clone(),
                    members: Vec::new(),
                };
                set.spawn(async move {
                    (
                        group.id.clone(),
                        process_group(ctx, group, managed, members).await,
                    )
                });
            }
            self.finish(set).await?;
            if self.fatal.is_some() {
                break;
            }
        }
        Ok(())
    }
}

/// What a cycle (or provision on demand, with no cycle) knows before it looks at objects: the
/// compiled mappings and scoping filters, target object actions, app roles and the groups'
/// entitlement. Also returns each assigned group's roles.
pub(super) async fn context(
    pool: &Pool,
    app: &str,
    cfg: &ProvisioningConfig,
    target: Target,
    caps: Capabilities,
    cycle: Option<String>,
    tuning: &Tuning,
) -> Result<(Ctx, HashMap<String, Roles>), DirError> {
    let users_mapping =
        Mapping::new(&specs(cfg, "user")).map_err(|m| crate::directory::invalid("mappings", m))?;
    let group_cfg = cfg.mappings.iter().find(|m| m.object == "group");
    let groups_mapping = match group_cfg {
        Some(g) if g.enabled => {
            Some(Mapping::new(&specs(cfg, "group")).map_err(|m| crate::directory::invalid("mappings", m))?)
        }
        _ => None,
    };
    let actions = |object: &str| {
        cfg.mappings
            .iter()
            .find(|m| m.object == object)
            .map(|m| Actions {
                create: m.create,
                update: m.update,
                delete: m.delete,
            })
            .unwrap_or(Actions {
                create: true,
                update: true,
                delete: true,
            })
    };

    // Groups' entitlement always (few); users' in bulk for an initial cycle, else as they come up.
    let app_roles = crate::db::apps::roles(pool, app).await?;
    let provisioned: HashMap<String, bool> = app_roles
        .iter()
        .map(|r| (r.value.clone(), r.provisioned))
        .collect();
    let role_provisioned = |role: &str| provisioned.get(role).copied().unwrap_or(app_roles.is_empty());
    let mut group_roles: HashMap<String, Roles> = HashMap::new();
    let mut group_entitled: HashMap<String, bool> = HashMap::new();
    for (group, role, display) in jobs::group_assignments(pool, app).await? {
        let p = role_provisioned(&role);
        *group_entitled.entry(group.clone()).or_default() |= app_roles.is_empty() || p;
        group_roles.entry(group).or_default().push((role, display, p));
    }
    let escrowed: HashMap<(String, String), jobs::Escrow> = jobs::escrows(pool, app)
        .await?
        .into_iter()
        .map(|e| ((e.object_type.clone(), e.source_id.clone()), e))
        .collect();

    let permits = Arc::new(tokio::sync::Semaphore::new(tuning.concurrency.max(1)));
    // Provision on demand creates one user: a plain POST, as Entra sends.
    let bulk = match (&cycle, caps.bulk) {
        (Some(_), true) => super::bulk::BulkCreates::start(
            target.clone(),
            permits.clone(),
            caps.bulk_max_operations,
            caps.bulk_max_payload,
        ),
        _ => None,
    };
    let ctx = Ctx {
        pool: pool.clone(),
        app: app.to_string(),
        cycle,
        target,
        caps,
        soft_delete: users_mapping.writes("active"),
        users: users_mapping,
        user_scope: Scope::new(&filters(cfg, "user")).map_err(|m| crate::directory::invalid("scoping", m))?,
        user_actions: actions("user"),
        groups: groups_mapping,
        group_scope: Scope::new(&filters(cfg, "group"))
            .map_err(|m| crate::directory::invalid("scoping", m))?,
        group_actions: actions("group"),
        all: cfg.settings.scope == "all",
        skip_out_of_scope: cfg.settings.skip_out_of_scope_deletions,
        provisioned,
        group_entitled,
        app_has_roles: !app_roles.is_empty(),
        escrow_base: tuning.escrow_base,
        escrowed,
        permits,
        detailed: false,
        single_lookups: std::sync::atomic::AtomicBool::new(false),
        bulk,
    };
    Ok((ctx, group_roles))
}

/// Which objects an incremental cycle looks at: those the changes after `since` (up to `upto`)
/// touched.
async fn changed(
    pool: &Pool,
    app: &str,
    since: i64,
    upto: i64,
) -> Result<(BTreeSet<String>, BTreeSet<String>, BTreeSet<String>), DirError> {
    let mut users = BTreeSet::new();
    let mut groups = BTreeSet::new();
    // Principals whose assignment changed: a group's members change scope with it.
    let mut assigned = BTreeSet::new();
    let mut cursor = since;
    while cursor < upto {
        let batch = dir::changes_since(pool, cursor, 5_000).await?;
        let Some(last) = batch.last() else { break };
        cursor = last.seq;
        for c in batch.iter().filter(|c| c.seq <= upto) {
            match c.object_type.as_str() {
                "user" => {
                    users.insert(c.object_id.clone());
                }
                "group" => {
                    groups.insert(c.object_id.clone());
                }
                "membership" => {
                    groups.insert(c.object_id.clone());
                    users.insert(c.related_id.clone());
                }
                "assignment" if c.object_id == app => {
                    users.insert(c.related_id.clone());
                    groups.insert(c.related_id.clone());
                    assigned.insert(c.related_id.clone());
                }
                _ => {}
            }
        }
    }
    Ok((users, groups, assigned))
}

/// Runs one cycle of `app` now: initial when the job has none completed, was restarted, or the
/// configuration changed since; incremental otherwise.
pub async fn run(
    pool: &Pool,
    sealer: &Sealer,
    http: &reqwest::Client,
    app: &str,
    tuning: &Tuning,
) -> Result<CycleReport, DirError> {
    let now = crate::timefmt::now();
    let job = jobs::ensure_job(pool, app, &crate::directory::new_id(), &now).await?;
    let stored = crate::db::provisioning::load_pool(pool, app)
        .await?
        .ok_or_else(|| DirError::NotFound("there is no such application".into()))?;
    let initial = job.watermark.is_none() || job.initial_requested || stored.needs_initial_cycle;
    let version = jobs::config_version(pool, app).await?;
    let upto = dir::last_change(pool).await?;
    let cfg = stored.config;
    let loaded = stored.updated_at;
    let id = crate::directory::new_id();
    let kind = if initial { "initial" } else { "incremental" };
    jobs::start_cycle(pool, &id, app, kind, &now).await?;
    let mut report = CycleReport {
        id: id.clone(),
        kind,
        state: "Running",
        counters: Counters::default(),
        quarantine: None,
        error: String::new(),
    };

    let token = config::secret_token(pool, sealer, app).await?.unwrap_or_default();
    let target = Target::new(&cfg.tenant_url, &token, http.clone())
        .limited(super::limits::for_app(app, cfg.settings.max_requests_per_second));
    let caps = match target.discover().await {
        Ok(c) => c,
        Err(e) => {
            return fail_cycle(pool, app, report, &e, &loaded, tuning).await;
        }
    };
    let (ctx, group_roles) = context(pool, app, &cfg, target, caps, Some(id.clone()), tuning).await?;
    let ctx = Arc::new(ctx);
    let mut run = Run::new(ctx.clone());
    if initial {
        // Everything in bulk: an initial cycle looks at every object.
        for (user, role, display) in jobs::user_assignments(pool, app).await? {
            let p = ctx.role_provisioned(&role);
            run.roles.entry(user).or_default().push((role, display, p));
        }
        for (group, user) in jobs::assigned_group_members(pool, app).await? {
            if let Some(roles) = group_roles.get(&group) {
                let list = run.roles.entry(user).or_default();
                for r in roles {
                    if !list.iter().any(|(v, _, _)| *v == r.0) {
                        list.push(r.clone());
                    }
                }
            }
        }
        // Users' exported documents are read per batch: a large directory's would not fit the
        // memory budget.
        run.users_managed = jobs::managed_all(pool, app, "user", false).await?;
        run.users_unconfirmed = jobs::unconfirmed_users(pool, app, None).await?;
        run.groups_managed = jobs::managed_all(pool, app, "group", true).await?;
        run.complete = true;
        run.slim = true;
    }

    // What to look at.
    let due_now = crate::timefmt::now();
    let due: Vec<jobs::Escrow> = ctx
        .escrowed
        .values()
        .filter(|e| e.next_at <= due_now)
        .cloned()
        .collect();
    let (group_list, gone_groups) = if initial {
        let (users, groups, deleted) = dir::directory_counts(pool).await?;
        run.counters.total = users + groups + deleted;
        jobs::progress(pool, &id, &run.counters).await?;
        // Users, page by page in id order.
        let mut seen: HashSet<String> = HashSet::new();
        let mut after = String::new();
        let mut running = None;
        loop {
            let rows = jobs::users_after(pool, &after, BATCH as i64).await?;
            let last = rows.last().map(|r| r.user.id.clone());
            seen.extend(rows.iter().map(|r| r.user.id.clone()));
            running = run.users_pipelined(running, rows).await?;
            match last {
                Some(last) if run.fatal.is_none() => after = last,
                _ => break,
            }
        }
        run.users_pipelined(running, Vec::new()).await?;
        let gone: Vec<String> = run
            .users_managed
            .keys()
            .chain(run.users_unconfirmed.keys())
            .filter(|k| !seen.contains(*k))
            .cloned()
            .collect::<BTreeSet<String>>()
            .into_iter()
            .collect();
        run.hard_deleted(gone).await?;
        let groups = jobs::groups(pool, None).await?;
        let present: HashSet<&str> = groups.iter().map(|g| g.id.as_str()).collect();
        let gone_groups: Vec<String> = run
            .groups_managed
            .keys()
            .filter(|k| !present.contains(k.as_str()))
            .cloned()
            .collect();
        (groups, gone_groups)
    } else {
        let (mut users, mut group_ids, assigned) =
            changed(pool, app, job.watermark.unwrap_or(0), upto).await?;
        for e in &due {
            if e.object_type == "user" {
                users.insert(e.source_id.clone());
            } else {
                group_ids.insert(e.source_id.clone());
            }
        }
        let ids: Vec<String> = group_ids.iter().cloned().collect();
        let groups = jobs::groups(pool, Some(&ids)).await?;
        for g in groups.iter().filter(|g| assigned.contains(&g.id)) {
            users.extend(g.members.iter().cloned());
        }
        let ids: Vec<String> = users.iter().cloned().collect();
        run.counters.total = (ids.len() + group_ids.len()) as i64;
        jobs::progress(pool, &id, &run.counters).await?;
        let mut found: HashSet<String> = HashSet::new();
        let mut running = None;
        for chunk in ids.chunks(BATCH) {
            let rows = jobs::users_by_ids(pool, chunk).await?;
            found.extend(rows.iter().map(|r| r.user.id.clone()));
            running = run.users_pipelined(running, rows).await?;
            if run.fatal.is_some() {
                break;
            }
        }
        run.users_pipelined(running, Vec::new()).await?;
        // Ids that are no longer users: hard deleted (group ids are never managed as users).
        let gone: Vec<String> = ids.iter().filter(|i| !found.contains(*i)).cloned().collect();
        run.hard_deleted(gone).await?;
        let present: HashSet<String> = groups.iter().map(|g| g.id.clone()).collect();
        let gone_groups: Vec<String> = group_ids
            .iter()
            .filter(|g| !present.contains(*g) && !found.contains(*g))
            .cloned()
            .collect();
        (groups, gone_groups)
    };

    // The references pass reads users' connector data store rows back.
    run.flush().await?;
    if run.fatal.is_none() {
        run.references().await?;
    }
    let in_scope_groups = if run.fatal.is_none() {
        let ids: Vec<String> = group_list
            .iter()
            .map(|g| g.id.clone())
            .chain(gone_groups.iter().cloned())
            .collect();
        run.ensure("group", &ids).await?;
        run.plan_groups(group_list, gone_groups)
    } else {
        Vec::new()
    };
    let mut quarantine = None;
    if run.fatal.is_none() {
        // The threshold counts over a sliding window (the reconciliation interval), across
        // cycles: cycles start within a second of a change, so deletions arriving a few at a
        // time would otherwise never trip it.
        let recent = if run.deprovisions.is_empty() {
            0
        } else {
            let window = time::Duration::minutes(cfg.settings.reconciliation_interval_minutes.max(1));
            crate::db::engine::recent_deprovisions(pool, app, &crate::timefmt::ago(window)).await?
        };
        let held = rules::hold_deletes(
            cfg.settings.prevent_accidental_deletions,
            cfg.settings.deletion_threshold,
            recent + run.deprovisions.len() as i64,
            job.force_deletes,
        );
        if held {
            quarantine = Some(rules::TOO_MANY_DELETES);
        }
        run.deprovisions(held).await?;
    }
    if run.fatal.is_none() && ctx.groups.is_some() {
        let mut in_scope_groups = in_scope_groups;
        if !initial {
            // Groups whose members appeared in or vanished from the target (created, enabled,
            // disabled, deleted users) need their member lists looked at too.
            let planned: HashSet<String> = in_scope_groups.iter().map(|g| g.id.clone()).collect();
            let extra: Vec<String> = jobs::groups_of_users(pool, &run.presence_changed)
                .await?
                .into_iter()
                .filter(|g| !planned.contains(g))
                .collect();
            for g in jobs::groups(pool, Some(&extra)).await? {
                if run.group_in_scope(&g) {
                    run.counters.total += 1;
                    in_scope_groups.push(g);
                }
            }
        }
        run.groups(in_scope_groups).await?;
    }
    if initial && run.fatal.is_none() {
        run.counters.total = run.counters.processed;
    }
    run.flush().await?;

    let end = crate::timefmt::now();
    report.counters = run.counters.clone();
    if let Some(f) = run.fatal.take() {
        report.state = "Failed";
        report.error = f;
        report.quarantine = Some(rules::QUARANTINE_EXCEPTION);
        jobs::end_cycle(pool, &id, &report.counters, "Failed", &report.error, &end).await?;
        enter_quarantine(pool, app, rules::QUARANTINE_EXCEPTION, &loaded, tuning).await?;
        return Ok(report);
    }
    report.state = if report.counters.failed > 0 {
        "EntryLevelErrors"
    } else {
        "Succeeded"
    };
    jobs::end_cycle(pool, &id, &report.counters, report.state, "", &end).await?;
    // An initial cycle that held deletes has not done its work: it stays requested (see below).
    jobs::complete_cycle(
        pool,
        app,
        upto,
        (initial && quarantine.is_none()).then_some(version),
        job.requests,
        &end,
    )
    .await?;
    if quarantine.is_none() {
        let (failed, reference) = jobs::escrow_counts(pool, app).await?;
        let c = &report.counters;
        quarantine = rules::quarantine_for(
            failed,
            reference,
            c.created + c.updated + c.disabled + c.deleted + c.skipped,
        );
    }
    match quarantine {
        Some(reason) => {
            report.quarantine = Some(reason);
            if reason == rules::TOO_MANY_DELETES {
                // The held deletes are not in the change sequence any more: the next cycle
                // evaluates everything again.
                jobs::request_initial(pool, app).await?;
            }
            enter_quarantine(pool, app, reason, &loaded, tuning).await?;
        }
        None if job.state == "Quarantine" => jobs::leave_quarantine(pool, app, &end).await?,
        None => {}
    }
    Ok(report)
}

/// The target could not be used at all (discovery failed).
async fn fail_cycle(
    pool: &Pool,
    app: &str,
    mut report: CycleReport,
    e: &ClientError,
    loaded: &str,
    tuning: &Tuning,
) -> Result<CycleReport, DirError> {
    report.state = "Failed";
    report.error = format!("{}: {e}", e.code());
    jobs::end_cycle(
        pool,
        &report.id,
        &report.counters,
        "Failed",
        &report.error,
        &crate::timefmt::now(),
    )
    .await?;
    if fatal(e) {
        report.quarantine = Some(rules::QUARANTINE_EXCEPTION);
        enter_quarantine(pool, app, rules::QUARANTINE_EXCEPTION, loaded, tuning).await?;
    }
    Ok(report)
}

/// `loaded`: the `updated_at` of the configuration the failed cycle ran with.
async fn enter_quarantine(
    pool: &Pool,
    app: &str,
    reason: &str,
    loaded: &str,
    tuning: &Tuning,
) -> Result<(), DirError> {
    let now = OffsetDateTime::now_utc();
    let next = now + rules::quarantine_backoff(tuning.escrow_base);
    jobs::quarantine(
        pool,
        app,
        reason,
        &crate::timefmt::format(next),
        &crate::timefmt::format(now),
        loaded,
    )
    .await?;
    if let Some(job) = jobs::job(pool, app).await? {
        // One email when quarantine starts, and again when its reason changes.
        if job.last_notified_reason != reason {
            crate::notify::quarantine_email(pool, app, reason, &tuning.public_url).await?;
            jobs::set_notified(pool, app, reason).await?;
        }
        let expired = job
            .quarantine_since
            .as_deref()
            .and_then(crate::timefmt::parse)
            .is_some_and(|since| rules::quarantine_expired(since, now, tuning.escrow_base));
        if expired {
            jobs::set_state(pool, app, "Disabled", &crate::timefmt::format(now)).await?;
        }
    }
    Ok(())
}
