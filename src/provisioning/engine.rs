//! The provisioning pipeline for one user, as Entra's provision on demand runs it: import the
//! source attributes, determine scope (active, assigned with a provisioned role, scoping
//! filters), match in the target by the matching attributes in precedence order, then create,
//! update (only the difference from the connector data store), disable or skip; record the
//! outcome in the connector data store and the provisioning log.
//!
//! Cycles (initial and incremental, over many objects, with escrows and quarantine) are built on
//! the same steps in a later change.

use super::{config, source};
use crate::db::{engine as store, Pool};
use crate::directory::DirError;
use crate::mapping::export::{self, Exported, Mapping, Spec};
use crate::mapping::expr::Context;
use crate::mapping::scoping::{self, Operator, Scope};
use crate::mapping::Value;
use crate::model::{ProvisionReport, ProvisionStep, ProvisioningConfig};
use crate::scim_client::{ClientError, Kind, Target};
use crate::secrets::Sealer;
use serde_json::{json, Value as Json};
use std::time::Instant;

pub(super) const ENTERPRISE_MANAGER: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager";

pub(super) fn step(
    name: &str,
    status: &str,
    description: impl Into<String>,
    details: Vec<(String, String)>,
) -> ProvisionStep {
    ProvisionStep {
        name: name.into(),
        status: status.into(),
        description: description.into(),
        details,
    }
}

/// SCIM booleans that expressions produce as text ("True"/"False", Entra's Switch idiom).
pub(super) fn coerce(target: &str, v: Json) -> Json {
    let boolean = target.eq_ignore_ascii_case("active") || target.to_ascii_lowercase().ends_with(".primary");
    match (&v, boolean) {
        (Json::String(s), true) if s.eq_ignore_ascii_case("true") => Json::Bool(true),
        (Json::String(s), true) if s.eq_ignore_ascii_case("false") => Json::Bool(false),
        _ => v,
    }
}

pub(super) fn specs(c: &ProvisioningConfig, object: &str) -> Vec<Spec> {
    c.mappings
        .iter()
        .find(|m| m.object == object)
        .map(|m| {
            m.attributes
                .iter()
                .map(|a| Spec {
                    target: a.target.clone(),
                    kind: a.kind.clone(),
                    source: a.source.clone(),
                    default_value: a.default_value.clone(),
                    matching: a.matching,
                    create_only: a.apply_on == "create",
                })
                .collect()
        })
        .unwrap_or_default()
}

pub(super) fn filters(c: &ProvisioningConfig, object: &str) -> Vec<scoping::Filter> {
    c.mappings
        .iter()
        .find(|m| m.object == object)
        .map(|m| {
            m.scoping_filters
                .iter()
                .map(|f| scoping::Filter {
                    title: f.title.clone(),
                    clauses: f
                        .clauses
                        .iter()
                        .filter_map(|c| {
                            Some(scoping::Clause {
                                attribute: c.attribute.clone(),
                                operator: Operator::parse(&c.operator)?,
                                value: c.value.clone(),
                            })
                        })
                        .collect(),
                })
                .collect()
        })
        .unwrap_or_default()
}

pub(super) fn shown(e: &Exported) -> String {
    if e.redacted {
        "[Redact]".into()
    } else {
        e.value.to_json().to_string()
    }
}

pub(super) fn exported_json(list: &[Exported]) -> String {
    Json::Array(
        list.iter()
            .map(|e| json!({"target": e.target, "value": e.value.to_json(), "redacted": e.redacted}))
            .collect(),
    )
    .to_string()
}

/// Reads back what `exported_json` stored.
pub(super) fn exported_from(text: &str) -> Vec<Exported> {
    let list: Vec<Json> = serde_json::from_str(text).unwrap_or_default();
    list.into_iter()
        .filter_map(|e| {
            let value = match e.get("value")? {
                Json::String(s) => Value::Str(s.clone()),
                Json::Bool(b) => Value::Bool(*b),
                Json::Number(n) => n.as_i64().map(Value::Int).unwrap_or(Value::Str(n.to_string())),
                Json::Array(a) => Value::Multi(
                    a.iter()
                        .map(|x| match x {
                            Json::String(s) => Value::Str(s.clone()),
                            other => Value::Json(other.clone()),
                        })
                        .collect(),
                ),
                Json::Null => Value::Null,
                other => Value::Json(other.clone()),
            };
            Some(Exported {
                target: e.get("target")?.as_str()?.to_string(),
                value,
                redacted: e.get("redacted").and_then(Json::as_bool).unwrap_or(false),
            })
        })
        .collect()
}

struct Outcome {
    action: &'static str,
    status: &'static str,
    target_id: String,
    error: Option<(String, String, String)>,
}

/// Provisions one directory user (by userPrincipalName or object id) to an application now.
pub async fn provision_user(
    pool: &Pool,
    sealer: &Sealer,
    http: &reqwest::Client,
    app: &str,
    user_ref: &str,
) -> Result<ProvisionReport, DirError> {
    let started = Instant::now();
    let cfg = config::export(pool, app).await?;
    if cfg.tenant_url.is_empty() {
        return Err(crate::directory::invalid(
            "tenant_url",
            "set the Tenant URL and Secret Token first",
        ));
    }
    let token = config::secret_token(pool, sealer, app)
        .await?
        .ok_or_else(|| crate::directory::invalid("secret_token", "set the Secret Token first"))?;
    let all_users = cfg.settings.scope == "all";
    let source::SourceUser {
        user,
        manager,
        assignments,
        entitled,
        ctx,
        ..
    } = source::load_user(pool, app, all_users, user_ref, "user").await?;
    let assigned = !assignments.is_empty();
    let in_assignment_scope = all_users || (assigned && entitled);
    let run = Run {
        pool,
        app,
        source_id: &user.id,
        display_name: &user.display_name,
        started,
    };
    let target = Target::new(&cfg.tenant_url, &token, http.clone());
    let mut steps = Vec::new();

    // 1. The target must answer (shown only when it does not).
    let caps = match target.discover().await {
        Ok(c) => c,
        Err(e) => {
            steps.push(step(
                "Test connection",
                "Failure",
                format!("The application could not be reached: {e}"),
                vec![],
            ));
            return stop(
                &run,
                steps,
                "Failure",
                e.code(),
                e.to_string(),
                "Check the Admin Credentials with Test Connection.",
            )
            .await;
        }
    };

    // 2. Import.
    let active_in_source = user.deleted_at.is_none() && user.account_enabled;
    let attrs: Vec<(String, String)> = source::user_sources()
        .into_iter()
        .filter_map(|a| {
            let v = ctx.attribute(&a);
            (!v.is_null()).then(|| (a, v.to_string()))
        })
        .collect();
    steps.push(step(
        "Import user",
        "Success",
        format!("Retrieved {} from the directory.", user.upn),
        attrs,
    ));

    // 3. Scope.
    let scope = Scope::new(&filters(&cfg, "user")).map_err(|m| crate::directory::invalid("scoping", m))?;
    let get = |a: &str| ctx.attribute(a);
    let explained = scope.explain(&get);
    let filters_pass = scope.matches(&get);
    let mut details = vec![
        ("Active in the source".to_string(), active_in_source.to_string()),
        (
            "Scope".to_string(),
            if all_users {
                "Sync all users and groups"
            } else {
                "Sync only assigned users and groups"
            }
            .to_string(),
        ),
        ("Assigned to the application".to_string(), assigned.to_string()),
        (
            "Role".to_string(),
            if assignments.is_empty() {
                "none".into()
            } else {
                assignments
                    .iter()
                    .map(|(v, d)| {
                        if v.is_empty() {
                            "(no role)".to_string()
                        } else {
                            d.clone()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        ),
        ("Effectively entitled".to_string(), entitled.to_string()),
    ];
    for (fi, f) in explained.iter().enumerate() {
        for (c, ok) in f {
            details.push((format!("Scoping filter {}: {c}", fi + 1), ok.to_string()));
        }
    }
    let in_scope = active_in_source && in_assignment_scope && filters_pass;
    let reason = if !active_in_source {
        "The user is disabled or deleted in the directory."
    } else if !all_users && !assigned {
        "The user is not assigned to the application."
    } else if !all_users && !entitled {
        "The user is assigned only with a role that is not provisioned (NotEffectivelyEntitled)."
    } else if !filters_pass {
        "The user does not match the scoping filters."
    } else {
        "The user is in scope."
    };
    steps.push(step(
        "Determine if user is in scope",
        if in_scope { "Success" } else { "Skipped" },
        reason,
        details,
    ));

    // 4. Match.
    let mapping = Mapping::new(&specs(&cfg, "user")).map_err(|m| crate::directory::invalid("mappings", m))?;
    let managed = store::managed(pool, app, "user", &user.id).await?;
    let creating_export = mapping.export(&ctx, true);
    let exported_create = match creating_export {
        Ok(e) => e,
        Err(e) => {
            steps.push(step(
                "Match user between source and target",
                "Failure",
                e.to_string(),
                vec![],
            ));
            return stop(
                &run,
                steps,
                "Failure",
                "MappingError",
                e.to_string(),
                "Fix the expression in the attribute mapping.",
            )
            .await;
        }
    };
    let mut found: Option<String> = managed.as_ref().map(|m| m.target_id.clone());
    let mut match_details = Vec::new();
    if let Some(m) = &managed {
        match_details.push((
            "Connector data store".to_string(),
            format!("managed as {}", m.target_id),
        ));
    } else if in_scope {
        let matching = mapping.matching(&exported_create);
        if matching.is_empty() {
            steps.push(step(
                "Match user between source and target",
                "Skipped",
                "No matching attribute has a value (ImportSkipped).",
                vec![],
            ));
            return stop(
                &run,
                steps,
                "Skipped",
                "ImportSkipped",
                "no matching attribute has a value".into(),
                "Give the user a value for a matching attribute.",
            )
            .await;
        }
        for (path, value) in matching {
            let text = value.text().unwrap_or_default();
            match target.find(Kind::User, path, &text).await {
                Ok(list) => {
                    match_details.push((format!("{path} eq {text:?}"), format!("{} found", list.len())));
                    if list.len() > 1 {
                        steps.push(step(
                            "Match user between source and target",
                            "Failure",
                            format!(
                                "{} users in the target have {path} {text:?} (DuplicateTargetEntries).",
                                list.len()
                            ),
                            match_details,
                        ));
                        return stop(
                            &run,
                            steps,
                            "Failure",
                            "DuplicateTargetEntries",
                            format!("more than one user has {path} {text:?}"),
                            "Remove the duplicates in the application.",
                        )
                        .await;
                    }
                    if let Some(id) = list.first().and_then(|u| u.get("id")).and_then(Json::as_str) {
                        found = Some(id.to_string());
                        break;
                    }
                }
                Err(e) => {
                    steps.push(step(
                        "Match user between source and target",
                        "Failure",
                        e.to_string(),
                        match_details,
                    ));
                    return stop(
                        &run,
                        steps,
                        "Failure",
                        e.code(),
                        e.to_string(),
                        "Try again; check the application's availability.",
                    )
                    .await;
                }
            }
        }
    }
    steps.push(step(
        "Match user between source and target",
        "Success",
        match &found {
            Some(id) => format!("Matched the user in the target: {id}."),
            None => "No user in the target matched.".to_string(),
        },
        match_details,
    ));

    // 5. Act.
    let object_mapping = cfg.mappings.iter().find(|m| m.object == "user");
    let (can_create, can_update) = object_mapping
        .map(|m| (m.create, m.update))
        .unwrap_or((true, true));
    let manager_target = match &manager {
        Some(m) => store::managed(pool, app, "user", &m.id)
            .await?
            .map(|x| x.target_id),
        None => None,
    };
    let resolve_refs = |list: Vec<Exported>| -> (Vec<Exported>, Option<String>) {
        let mut note = None;
        let list = list
            .into_iter()
            .filter_map(|mut e| {
                if !e.target.eq_ignore_ascii_case(ENTERPRISE_MANAGER) {
                    return Some(e);
                }
                match &manager_target {
                    Some(id) => {
                        e.value = Value::Json(json!({"value": id}));
                        Some(e)
                    }
                    None => {
                        note = Some("The manager is not provisioned to this application yet; the reference is left out.".to_string());
                        None
                    }
                }
            })
            .collect();
        (list, note)
    };
    // (name, old value, new value) of what the action changed, for the log's Modified Properties.
    let mut modified: Vec<(String, String, String)> = Vec::new();
    let outcome = match (in_scope, &found) {
        (true, None) if !can_create => {
            steps.push(step(
                "Perform action",
                "Skipped",
                "Create is switched off in the mapping's Target Object Actions.",
                vec![],
            ));
            Outcome {
                action: "Create",
                status: "Skipped",
                target_id: String::new(),
                error: None,
            }
        }
        (true, None) => {
            let (list, note) = resolve_refs(exported_create);
            let mut doc = export::to_resource(&list);
            if let Some(a) = doc.get_mut("active") {
                *a = coerce("active", a.clone());
            }
            let mut details: Vec<(String, String)> =
                list.iter().map(|e| (e.target.clone(), shown(e))).collect();
            modified = list
                .iter()
                .map(|e| (e.target.clone(), String::new(), shown(e)))
                .collect();
            if let Some(n) = note {
                details.push(("Note".into(), n));
            }
            match super::cycle::create(&target, Kind::User, &doc, mapping.matching(&list)).await {
                Ok(id) => {
                    remember(&run, &id, &list, "active").await?;
                    steps.push(step(
                        "Perform action",
                        "Success",
                        format!("Created the user in the target as {id}."),
                        details,
                    ));
                    Outcome {
                        action: "Create",
                        status: "Success",
                        target_id: id,
                        error: None,
                    }
                }
                Err(e) => failed(&mut steps, "Create", e, details),
            }
        }
        (true, Some(id)) => {
            let current = mapping
                .export(&ctx, false)
                .map_err(|e| crate::directory::invalid("mappings", e.to_string()))?;
            let (current, note) = resolve_refs(current);
            let previous = managed
                .as_ref()
                .map(|m| exported_from(&m.exported))
                .unwrap_or_default();
            let ops = export::diff(&previous, &current, &|t| mapping.writes(t));
            let value_in = |list: &[Exported], path: &str| {
                list.iter()
                    .find(|e| e.target == path)
                    .map(shown)
                    .unwrap_or_default()
            };
            modified = ops
                .iter()
                .map(|op| match op {
                    export::PatchOp::Replace { path, .. } | export::PatchOp::Remove { path } => {
                        (path.clone(), value_in(&previous, path), value_in(&current, path))
                    }
                })
                .collect();
            let mut details: Vec<(String, String)> = ops
                .iter()
                .map(|op| match op {
                    export::PatchOp::Replace { path, value } => (path.clone(), value.to_string()),
                    export::PatchOp::Remove { path } => (path.clone(), "(removed)".into()),
                })
                .collect();
            if let Some(n) = note {
                details.push(("Note".into(), n));
            }
            if ops.is_empty() {
                steps.push(step(
                    "Perform action",
                    "Skipped",
                    "The user is already in sync with the target.",
                    vec![],
                ));
                Outcome {
                    action: "Other",
                    status: "Skipped",
                    target_id: id.clone(),
                    error: None,
                }
            } else if !can_update {
                steps.push(step(
                    "Perform action",
                    "Skipped",
                    "Update is switched off in the mapping's Target Object Actions.",
                    details,
                ));
                Outcome {
                    action: "Update",
                    status: "Skipped",
                    target_id: id.clone(),
                    error: None,
                }
            } else {
                let result = if caps.patch {
                    let json_ops: Vec<Json> = ops
                        .iter()
                        .map(|op| match op {
                            export::PatchOp::Replace { path, value } => {
                                json!({"op": "replace", "path": path, "value": coerce(path, value.clone())})
                            }
                            other => other.to_json(),
                        })
                        .collect();
                    target.patch(Kind::User, id, &json_ops).await
                } else {
                    let mut doc = export::to_resource(&current);
                    if let Some(a) = doc.get_mut("active") {
                        *a = coerce("active", a.clone());
                    }
                    target.replace(Kind::User, id, &doc).await.map(|_| ())
                };
                match result {
                    Ok(()) => {
                        remember(&run, id, &current, "active").await?;
                        steps.push(step(
                            "Perform action",
                            "Success",
                            format!("Updated {} attribute(s) of {id}.", ops.len()),
                            details,
                        ));
                        Outcome {
                            action: "Update",
                            status: "Success",
                            target_id: id.clone(),
                            error: None,
                        }
                    }
                    Err(e) => failed(&mut steps, "Update", e, details),
                }
            }
        }
        (false, _) => {
            match &managed {
                Some(m) if m.state == "active" && !cfg.settings.skip_out_of_scope_deletions => {
                    match target
                        .patch(
                            Kind::User,
                            &m.target_id,
                            &[json!({"op": "replace", "path": "active", "value": false})],
                        )
                        .await
                    {
                        Ok(()) => {
                            // What the target now holds: the same values, but inactive, so a
                            // return to scope sends active again.
                            let mut held = exported_from(&m.exported);
                            held.retain(|e| !e.target.eq_ignore_ascii_case("active"));
                            held.push(Exported {
                                target: "active".into(),
                                value: Value::Bool(false),
                                redacted: false,
                            });
                            remember(&run, &m.target_id, &held, "disabled").await?;
                            steps.push(step(
                                "Perform action",
                                "Success",
                                format!(
                                    "Disabled {} in the target (active = false): the user left scope.",
                                    m.target_id
                                ),
                                vec![],
                            ));
                            Outcome {
                                action: "Disable",
                                status: "Success",
                                target_id: m.target_id.clone(),
                                error: None,
                            }
                        }
                        Err(e) => failed(&mut steps, "Disable", e, vec![]),
                    }
                }
                Some(m) if m.state == "active" => {
                    steps.push(step("Perform action", "Skipped", "The user left scope; Skip out-of-scope deletions is on, so it stays enabled in the target.", vec![]));
                    Outcome {
                        action: "Disable",
                        status: "Skipped",
                        target_id: m.target_id.clone(),
                        error: None,
                    }
                }
                Some(m) => {
                    steps.push(step(
                        "Perform action",
                        "Skipped",
                        "The user is out of scope and already disabled in the target.",
                        vec![],
                    ));
                    Outcome {
                        action: "Other",
                        status: "Skipped",
                        target_id: m.target_id.clone(),
                        error: None,
                    }
                }
                None => {
                    steps.push(step("Perform action", "Skipped", "The user is out of scope and was never provisioned: nothing in the target is touched.", vec![]));
                    Outcome {
                        action: "Other",
                        status: "Skipped",
                        target_id: String::new(),
                        error: (!entitled && assigned).then(|| {
                            (
                                "NotEffectivelyEntitled".into(),
                                "assigned only with a role that is not provisioned".into(),
                                "Assign the user with a role other than Default Access.".into(),
                            )
                        }),
                    }
                }
            }
        }
    };
    finish(&run, steps, outcome, &modified).await
}

fn failed(
    steps: &mut Vec<ProvisionStep>,
    action: &'static str,
    e: ClientError,
    details: Vec<(String, String)>,
) -> Outcome {
    let hint = if e.is_unauthorized() {
        "Check the Secret Token: its permissions must include admin."
    } else if e.is_transient() {
        "The application was unavailable or throttling; provisioning retries it."
    } else {
        "Check the attribute values against what the application accepts."
    };
    steps.push(step(
        "Perform action",
        "Failure",
        format!("{action} failed: {e}"),
        details,
    ));
    Outcome {
        action,
        status: "Failure",
        target_id: String::new(),
        error: Some((e.code().into(), e.to_string(), hint.into())),
    }
}

/// Who is being provisioned where, for the log entry and the report.
struct Run<'a> {
    pool: &'a Pool,
    app: &'a str,
    source_id: &'a str,
    display_name: &'a str,
    started: Instant,
}

/// Records in the connector data store what the target now holds for the run's user.
async fn remember(
    run: &Run<'_>,
    target_id: &str,
    exported: &[Exported],
    state: &str,
) -> Result<(), DirError> {
    store::remember(
        run.pool,
        &store::Remembered {
            app: run.app,
            object_type: "user",
            source_id: run.source_id,
            target_id,
            exported: &exported_json(exported),
            state,
            now: &crate::timefmt::now(),
        },
    )
    .await?;
    Ok(())
}

/// Ends a run that took no action, with Entra's error code, the reason and what to do.
async fn stop(
    run: &Run<'_>,
    steps: Vec<ProvisionStep>,
    status: &'static str,
    code: &str,
    reason: String,
    hint: &str,
) -> Result<ProvisionReport, DirError> {
    let outcome = Outcome {
        action: "Other",
        status,
        target_id: String::new(),
        error: Some((code.to_string(), reason, hint.to_string())),
    };
    finish(run, steps, outcome, &[]).await
}

async fn finish(
    run: &Run<'_>,
    steps: Vec<ProvisionStep>,
    o: Outcome,
    modified: &[(String, String, String)],
) -> Result<ProvisionReport, DirError> {
    let modified_json = serde_json::to_string(modified).unwrap_or_else(|_| "[]".into());
    let (code, reason, action) = o.error.clone().unwrap_or_default();
    let steps_json = serde_json::to_string(&steps).unwrap_or_else(|_| "[]".into());
    store::log(
        run.pool,
        &store::LogEntry {
            id: &crate::directory::new_id(),
            app: run.app,
            cycle_id: None,
            at: &crate::timefmt::now(),
            duration_ms: run.started.elapsed().as_millis() as i64,
            object_type: "user",
            source_id: run.source_id,
            display_name: run.display_name,
            target_id: &o.target_id,
            action: o.action,
            status: o.status,
            steps: &steps_json,
            modified: &modified_json,
            error_code: &code,
            error_reason: &reason,
            error_action: &action,
        },
    )
    .await?;
    Ok(ProvisionReport {
        display_name: run.display_name.to_string(),
        source_id: run.source_id.to_string(),
        target_id: o.target_id,
        action: o.action.to_string(),
        status: o.status.to_string(),
        error_code: code,
        steps,
    })
}
