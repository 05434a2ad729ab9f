//! The engine's decisions, pure and synchronous: from a directory object, the cycle's policy,
//! what the connector data store remembers and (for an object not linked yet) what the lookup
//! in the target found, what must happen to the object in the target. No I/O, no clock, no
//! randomness: the executor carries a plan out, the narrator tells it, and a preview could show
//! it without doing it. The rules of `provisioning-engine.md` are each a test below.

use super::policy::{Policy, Role};
use crate::db::directory::UserRecord;
use crate::db::links::Managed;
use crate::db::vocab::LinkState;
use crate::mapping::export::{self, Exported, Mapping, PatchOp};
use crate::mapping::Value;
use crate::provisioning::mapped::{coerce, exported_from, ENTERPRISE_MANAGER};
use crate::provisioning::source;
use crate::scim::schema::Kind;
use serde_json::{json, Map, Value as Json};
use std::collections::{BTreeSet, HashMap};

/// Name/value pairs shown as a provisioning step's details.
pub(super) type Details = Vec<(String, String)>;

/// A user's scope and exported attributes.
pub(super) struct UserEval {
    pub(super) in_scope: bool,
    pub(super) assigned: bool,
    pub(super) entitled: bool,
    pub(super) reason: &'static str,
    /// What to send (manager resolved), or the mapping error.
    pub(super) exported: Result<Vec<Exported>, String>,
    pub(super) manager_unresolved: bool,
    /// The source attributes and each scope check, when asked for in detail.
    pub(super) import_details: Details,
    pub(super) scope_details: Details,
}

/// A user as an application's policy sees it before mapping: its expression context and each
/// check of its scope.
pub(super) struct Scoped {
    pub(super) context: source::UserContext,
    pub(super) active: bool,
    pub(super) assigned: bool,
    pub(super) entitled: bool,
    /// Assigned with a provisioned role, or the scope is everyone.
    pub(super) in_assignment: bool,
    /// Passes the scoping filters.
    pub(super) passes: bool,
}

impl Scoped {
    pub(super) fn in_scope(&self) -> bool {
        self.active && self.in_assignment && self.passes
    }
}

/// The scope checks of a user (see [`Scoped`]).
pub(super) fn scope_user(
    policy: &Policy,
    user: &UserRecord,
    manager_upn: Option<String>,
    roles: &[Role],
) -> Scoped {
    let assigned = !roles.is_empty();
    let entitled = policy.entitled(roles);
    let active = user.deleted_at.is_none() && user.account_enabled;
    let in_assignment = policy.all || (assigned && entitled);
    let shown_roles: Vec<(String, String)> = roles
        .iter()
        .filter(|r| !r.value.is_empty())
        .map(|r| (r.value.clone(), r.display.clone()))
        .collect();
    let context = source::UserContext::new(user, manager_upn, &shown_roles, in_assignment);
    let passes = policy
        .user_scope
        .matches(&|a: &str| crate::mapping::expr::Context::attribute(&context, a));
    Scoped {
        context,
        active,
        assigned,
        entitled,
        in_assignment,
        passes,
    }
}

/// Evaluates a user: scope (active, assignment, entitlement, scoping filters) and the mapped
/// attributes. `creating` includes the attributes applied only on creation; `manager_target` is
/// the manager's id in the target, if it has one yet.
pub(super) fn evaluate_user(
    policy: &Policy,
    detailed: bool,
    user: &UserRecord,
    manager_upn: Option<String>,
    roles: &[Role],
    creating: bool,
    manager_target: Option<&str>,
) -> UserEval {
    let scoped = scope_user(policy, user, manager_upn, roles);
    let in_scope = scoped.in_scope();
    let Scoped {
        context: uc,
        active,
        assigned,
        entitled,
        passes,
        ..
    } = scoped;
    let get = |a: &str| crate::mapping::expr::Context::attribute(&uc, a);
    let reason = if !active {
        "The user is disabled or deleted in the directory."
    } else if !policy.all && !assigned {
        "The user is not assigned to the application."
    } else if !policy.all && !entitled {
        "The user is assigned only with a role that is not provisioned (NotEffectivelyEntitled)."
    } else if !passes {
        "The user does not match the scoping filters."
    } else {
        "The user is in scope."
    };
    let (exported, manager_unresolved) = match policy.users.export(&uc, creating) {
        Ok(list) => {
            let (list, unresolved) = resolve_manager(list, manager_target);
            (Ok(list), unresolved && user.manager_id.is_some())
        }
        Err(e) => (Err(e.to_string()), false),
    };
    let (import_details, scope_details) = if detailed {
        user_details(policy, &get, roles, active, assigned, entitled)
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

/// The manager reference is sent as the manager's target id; without one it is left out (and
/// reported unresolved).
pub(super) fn resolve_manager(list: Vec<Exported>, manager_target: Option<&str>) -> (Vec<Exported>, bool) {
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

/// Provision on demand's Import and Scope details: every source attribute with a value, then each
/// scope check with its outcome.
fn user_details(
    policy: &Policy,
    get: &dyn Fn(&str) -> Value,
    roles: &[Role],
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
            .map(|r| match r.value.is_empty() {
                true => "(no role)".to_string(),
                false => r.display.clone(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let scope = if policy.all {
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
    for (i, filter) in policy.user_scope.explain(get).iter().enumerate() {
        for (clause, ok) in filter {
            checks.push((format!("Scoping filter {}: {clause}", i + 1), ok.to_string()));
        }
    }
    (import, checks)
}

/// What the lookup in the target found for an object not linked yet.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Matched {
    /// The account, as the target answered the lookup.
    Found {
        id: String,
        resource: Json,
    },
    Missing,
}

/// What a matched account already holds of `exported`: the values it holds equal by SCIM's
/// comparison rules (case, Entra's "True"). The first update after a match then sends only what
/// differs, and adds (rather than replaces) what the account does not have at all.
pub(super) fn held(kind: Kind, resource: &Json, exported: &[Exported]) -> Vec<Exported> {
    exported
        .iter()
        .filter(|e| {
            let literal = match coerce(&e.target, e.value.to_json()) {
                Json::String(s) => serde_json::to_string(&s).unwrap_or_default(),
                Json::Bool(b) => b.to_string(),
                Json::Number(n) => n.to_string(),
                // A complex or multi-valued value (a manager reference, a list of roles) cannot
                // be a filter's literal: it is held when the resource holds every part of it.
                Json::Null => return false,
                other => return found(kind, resource, &e.target).is_some_and(|f| contains(&f, &other)),
            };
            crate::scim::filter::parse(&format!("{} eq {literal}", e.target))
                .is_ok_and(|f| crate::scim::eval::matches(kind, &f, resource))
        })
        .cloned()
        .collect()
}

/// The value at mapping target `path` in a resource: `title`, `name.givenName`,
/// `emails[type eq "work"].value`, `urn:...:enterprise:2.0:User:department`.
pub(super) fn found(kind: Kind, resource: &Json, path: &str) -> Option<Json> {
    use crate::scim::resource::get_ci;
    let p = crate::scim::path::parse(path).ok()?;
    let obj = resource.as_object()?;
    let base = match &p.attr.urn {
        Some(urn) if !urn.eq_ignore_ascii_case(kind.core_urn()) => get_ci(obj, urn)?.as_object()?,
        _ => obj,
    };
    let mut v = get_ci(base, &p.attr.attr)?;
    if let Some(f) = &p.filter {
        let attr = crate::scim::schema::find_top(kind, &p.attr.attr);
        v = v
            .as_array()?
            .iter()
            .find(|e| crate::scim::eval::matches_value(attr, f, e))?;
    }
    match p.sub.as_deref().or(p.attr.sub.as_deref()) {
        Some(sub) => get_ci(v.as_object()?, sub).cloned(),
        None => Some(v.clone()),
    }
}

/// Whether `found` holds everything in `sent`: each of an object's members (names without
/// regard to case; the target may add its own, such as `$ref` or `displayName`), each element
/// of a list, equal scalars.
pub(super) fn contains(found: &Json, sent: &Json) -> bool {
    match (found, sent) {
        (Json::Object(f), Json::Object(s)) => s
            .iter()
            .all(|(k, v)| crate::scim::resource::get_ci(f, k).is_some_and(|fv| contains(fv, v))),
        (Json::Array(f), Json::Array(s)) => s.iter().all(|v| f.iter().any(|fv| contains(fv, v))),
        (f, s) => f == s,
    }
}

/// Why a user out of scope stays enabled in the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kept {
    /// "Skip out-of-scope deletions" is on.
    SkipOutOfScope,
    /// Delete is switched off in the mapping's target object actions.
    DeleteSwitchedOff,
}

/// What must happen to a user in the target.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum UserPlan {
    /// Out of scope and never provisioned: nothing in the target is touched. A user outside the
    /// assignment scope is not even `imported` (as in Entra); `not_entitled`: assigned only with
    /// a role that is not provisioned.
    Untouched {
        imported: bool,
        not_entitled: bool,
    },
    /// Out of scope and already disabled in the target. `relink`: the link is one from before a
    /// `Restart (Full)`, recorded again as it is.
    AlreadyDisabled {
        relink: bool,
    },
    /// Out of scope, but the cycle does not deprovision.
    KeptEnabled(Kept),
    /// Out of scope: disabled (soft delete) or deleted, in the cycle's deprovisioning phase.
    Deprovision {
        delete: bool,
    },
    /// The mappings failed for this user.
    MappingFailed(String),
    /// Not linked, and no matching attribute has a value: it cannot be matched or created.
    Unmatchable,
    /// Not linked: look it up in the target by these (path, value) pairs in precedence order,
    /// then plan again with what was found.
    NeedsLookup {
        matching: Vec<(String, Value)>,
    },
    /// Not in the target, and Create is switched off.
    CreateSwitchedOff,
    Create {
        document: Map<String, Json>,
    },
    /// The target holds what the mappings export. `remember`: a match not linked yet.
    InSync {
        target_id: String,
        remember: bool,
    },
    /// There is a difference, and Update is switched off.
    UpdateSwitchedOff {
        target_id: String,
    },
    /// Only the difference is sent. `manager_only`: the ops touch only the manager reference;
    /// `presence_changed`: the user becomes enabled or newly linked (its groups need a look);
    /// `fresh`: just matched, not linked yet.
    Update {
        target_id: String,
        previous: Vec<Exported>,
        ops: Vec<PatchOp>,
        manager_only: bool,
        presence_changed: bool,
        fresh: bool,
    },
}

/// Decides what happens to a user. `managed` is its link (its own, or for a user out of scope
/// one from before a `Restart (Full)`); `matched` is the answer to a [`UserPlan::NeedsLookup`].
pub(super) fn plan_user(
    policy: &Policy,
    eval: &UserEval,
    managed: Option<&Managed>,
    matched: Option<&Matched>,
) -> UserPlan {
    if !eval.in_scope {
        return match managed {
            None => UserPlan::Untouched {
                imported: policy.all || eval.assigned,
                not_entitled: eval.assigned && !eval.entitled,
            },
            Some(m) if m.state != LinkState::Active => UserPlan::AlreadyDisabled {
                relink: m.unconfirmed,
            },
            Some(_) if policy.skip_out_of_scope => UserPlan::KeptEnabled(Kept::SkipOutOfScope),
            Some(_) if !policy.user_actions.delete => UserPlan::KeptEnabled(Kept::DeleteSwitchedOff),
            Some(_) => UserPlan::Deprovision {
                delete: !policy.soft_delete,
            },
        };
    }
    let exported = match &eval.exported {
        Ok(list) => list,
        Err(e) => return UserPlan::MappingFailed(e.clone()),
    };
    let (target_id, previous) = match (managed, matched) {
        (Some(m), _) => (m.target_id.clone(), exported_from(&m.exported)),
        (None, None) => {
            let matching = owned(policy.users.matching(exported));
            return match matching.is_empty() {
                true => UserPlan::Unmatchable,
                false => UserPlan::NeedsLookup { matching },
            };
        }
        (None, Some(Matched::Found { id, resource })) => (id.clone(), held(Kind::User, resource, exported)),
        (None, Some(Matched::Missing)) if !policy.user_actions.create => return UserPlan::CreateSwitchedOff,
        (None, Some(Matched::Missing)) => {
            return UserPlan::Create {
                document: document(exported),
            }
        }
    };
    let fresh = managed.is_none();
    let ops = export::diff(&previous, exported, &|t| policy.users.writes(t));
    if ops.is_empty() {
        return UserPlan::InSync {
            remember: fresh,
            target_id,
        };
    }
    if !policy.user_actions.update {
        return UserPlan::UpdateSwitchedOff { target_id };
    }
    // Disabled in the target: by a deprovision (false) or by the mapping ("False" text).
    let was_disabled = previous.iter().any(|e| {
        e.target.eq_ignore_ascii_case("active") && coerce("active", e.value.to_json()) == Json::Bool(false)
    });
    let manager_only = ops.iter().all(|op| match op {
        PatchOp::Replace { path, .. } | PatchOp::Remove { path } => {
            path.eq_ignore_ascii_case(ENTERPRISE_MANAGER)
        }
    });
    UserPlan::Update {
        target_id,
        presence_changed: was_disabled || fresh,
        previous,
        ops,
        manager_only,
        fresh,
    }
}

/// The exported attributes a target answered a write without: attributes it silently dropped.
/// Checked by presence, not value (a target may normalise what it keeps), which costs a key
/// lookup per attribute on the create path; references and write-only attributes are not echoed
/// back and are not checked.
pub(super) fn not_kept(kind: Kind, resource: &Json, exported: &[Exported]) -> Vec<String> {
    use crate::scim::resource::get_ci;
    let Some(obj) = resource.as_object() else {
        return Vec::new();
    };
    let present = |path: &str| {
        let urn = path.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:"));
        let (holder, name) = match path.rfind(':').filter(|_| urn) {
            Some(colon) if !path[..colon].eq_ignore_ascii_case(kind.core_urn()) => {
                match get_ci(obj, &path[..colon]).and_then(Json::as_object) {
                    Some(ext) => (ext, &path[colon + 1..]),
                    None => return false,
                }
            }
            Some(colon) => (obj, &path[colon + 1..]),
            None => (obj, path),
        };
        let top = name.split(['.', '[']).next().unwrap_or(name);
        get_ci(holder, top).is_some_and(|v| !v.is_null())
    };
    exported
        .iter()
        .filter(|e| {
            let lower = e.target.to_ascii_lowercase();
            !e.redacted && !lower.ends_with("manager") && lower != "password" && !present(&e.target)
        })
        .map(|e| e.target.clone())
        .collect()
}

fn owned(matching: Vec<(&str, &Value)>) -> Vec<(String, Value)> {
    matching
        .into_iter()
        .map(|(p, v)| (p.to_string(), v.clone()))
        .collect()
}

/// The SCIM resource of exported attributes (SCIM booleans from expression text).
pub(super) fn document(list: &[Exported]) -> Map<String, Json> {
    let mut doc = export::to_resource(list);
    if let Some(a) = doc.get_mut("active") {
        *a = coerce("active", a.clone());
    }
    doc
}

/// A group's members in the target: the target ids of its direct user members that are
/// provisioned and enabled.
pub(super) fn member_targets(members: &[String], users: &HashMap<String, Managed>) -> BTreeSet<String> {
    members
        .iter()
        .filter_map(|m| users.get(m))
        .filter(|m| m.state == LinkState::Active)
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

pub(super) fn without_members(list: &[Exported]) -> Vec<Exported> {
    list.iter()
        .filter(|e| !e.target.eq_ignore_ascii_case("members"))
        .cloned()
        .collect()
}

pub(super) fn with_members(mut list: Vec<Exported>, members: &BTreeSet<String>) -> Vec<Exported> {
    if !members.is_empty() {
        list.push(Exported {
            target: "members".into(),
            value: Value::Multi(members.iter().cloned().map(Value::Str).collect()),
            redacted: false,
        });
    }
    list
}

/// A group in scope, evaluated: its attributes without members, and the members it should have
/// in the target (empty when the mapping does not write members).
pub(super) struct GroupEval {
    pub(super) attrs: Vec<Exported>,
    pub(super) wanted: BTreeSet<String>,
}

/// Evaluates a group's mapping; `members` are its members' target ids.
pub(super) fn evaluate_group(
    mapping: &Mapping,
    group: &crate::db::sources::GroupSource,
    members: &BTreeSet<String>,
    creating: bool,
) -> Result<GroupEval, String> {
    let gc = source::GroupContext::new(
        &group.id,
        &group.display_name,
        &group.description,
        &group.mail_nickname,
        members.iter().cloned().collect(),
    );
    let exported = mapping.export(&gc, creating).map_err(|e| e.to_string())?;
    Ok(GroupEval {
        wanted: match mapping.writes("members") {
            true => members_of(&exported),
            false => BTreeSet::new(),
        },
        attrs: without_members(&exported),
    })
}

/// What must happen to a group in scope. (A group out of scope is a deprovision.)
#[derive(Debug, Clone, PartialEq)]
pub(super) enum GroupPlan {
    /// Not linked: look it up by these (path, value) pairs, then plan again.
    NeedsLookup {
        matching: Vec<(String, Value)>,
    },
    CreateSwitchedOff,
    /// Create it with its attributes, then add its members.
    Create {
        document: Map<String, Json>,
        add: Vec<String>,
    },
    /// `had`: its members as last recorded. `remember`: a match not linked yet.
    InSync {
        target_id: String,
        had: BTreeSet<String>,
        remember: bool,
    },
    UpdateSwitchedOff {
        target_id: String,
    },
    /// Attributes first (only the difference), then the members' difference.
    Update {
        target_id: String,
        previous: Vec<Exported>,
        attr_ops: Vec<PatchOp>,
        had: BTreeSet<String>,
        add: Vec<String>,
        remove: Vec<String>,
        /// Just matched, not linked yet.
        fresh: bool,
    },
}

/// Decides what happens to a group in scope, like [`plan_user`].
pub(super) fn plan_group(
    mapping: &Mapping,
    actions: super::policy::Actions,
    eval: &GroupEval,
    managed: Option<&Managed>,
    matched: Option<&Matched>,
) -> GroupPlan {
    let (target_id, previous) = match (managed, matched) {
        (Some(m), _) => (m.target_id.clone(), exported_from(&m.exported)),
        (None, None) => {
            return GroupPlan::NeedsLookup {
                matching: owned(mapping.matching(&eval.attrs)),
            }
        }
        // Its attributes as the account holds them, and of its members those it should have:
        // members Provisio does not manage are left alone, never removed.
        (None, Some(Matched::Found { id, resource })) => {
            let there: BTreeSet<String> = resource["members"]
                .as_array()
                .map(|list| {
                    list.iter()
                        .filter_map(|m| m["value"].as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            let kept = there.intersection(&eval.wanted).cloned().collect();
            (
                id.clone(),
                with_members(held(Kind::Group, resource, &eval.attrs), &kept),
            )
        }
        (None, Some(Matched::Missing)) if !actions.create => return GroupPlan::CreateSwitchedOff,
        (None, Some(Matched::Missing)) => {
            return GroupPlan::Create {
                document: document(&eval.attrs),
                add: eval.wanted.iter().cloned().collect(),
            }
        }
    };
    let had = members_of(&previous);
    let add: Vec<String> = eval.wanted.difference(&had).cloned().collect();
    let remove: Vec<String> = had.difference(&eval.wanted).cloned().collect();
    let attr_ops = export::diff(&without_members(&previous), &eval.attrs, &|t| mapping.writes(t));
    if attr_ops.is_empty() && add.is_empty() && remove.is_empty() {
        return GroupPlan::InSync {
            target_id,
            had,
            remember: managed.is_none(),
        };
    }
    if !actions.update {
        return GroupPlan::UpdateSwitchedOff { target_id };
    }
    GroupPlan::Update {
        target_id,
        previous,
        attr_ops,
        had,
        add,
        remove,
        fresh: managed.is_none(),
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
