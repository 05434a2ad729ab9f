//! Users: evaluation (scope, mapped attributes, manager reference), then the target operation
//! the outcome calls for.

use super::*;

/// A user's scope and exported attributes, worked out without I/O.
pub(in crate::provisioning) struct UserEval {
    pub(super) in_scope: bool,
    pub(super) assigned: bool,
    pub(super) entitled: bool,
    pub(super) reason: &'static str,
    /// What to send (manager resolved), or the mapping error.
    pub(super) exported: Result<Vec<Exported>, String>,
    pub(super) manager_unresolved: bool,
    /// The source attributes and each scope check, when the context is detailed.
    pub(super) import_details: Vec<(String, String)>,
    pub(super) scope_details: Vec<(String, String)>,
}

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

/// A user's roles in the application: (value, display name, provisioned).
pub(in crate::provisioning) type Roles = Vec<(String, String, bool)>;

pub(in crate::provisioning) fn evaluate_user(
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

pub(super) type Details = Vec<(String, String)>;

/// Provision on demand's Import and Scope details: every source attribute with a value, then each
/// scope check with its outcome.
pub(super) fn user_details(
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

pub(super) fn document(list: &[Exported]) -> serde_json::Map<String, Json> {
    let mut doc = export::to_resource(list);
    if let Some(a) = doc.get_mut("active") {
        *a = coerce("active", a.clone());
    }
    doc
}

pub(super) fn patch_json(ops: &[PatchOp]) -> Vec<Json> {
    ops.iter()
        .map(|op| match op {
            PatchOp::Replace { path, value } => {
                json!({"op": "replace", "path": path, "value": coerce(path, value.clone())})
            }
            other => other.to_json(),
        })
        .collect()
}

pub(super) fn modified_of(
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

/// Ends an object's processing with no operation: a Skipped step and log entry.
pub(in crate::provisioning) fn skip(
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
pub(super) fn switched_off(
    log: &Log<'_>,
    steps: Vec<ProvisionStep>,
    action: &'static str,
    mut done: Done,
) -> Done {
    let why = format!("{action} is switched off in the mapping's Target Object Actions.");
    skip(log, &mut done, steps, action, why, None);
    done
}

/// Processes one user: evaluation, then the target operation its outcome calls for.
/// `prefound` is what a batched lookup found by the first matching attribute, if one ran.
pub(in crate::provisioning) async fn process_user(
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
