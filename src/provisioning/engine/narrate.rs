//! The provisioning log's side of the engine: the steps an object went through, the modified
//! properties, the error code and the hint an admin acts on. Cycles keep entries small;
//! provision on demand (`Ctx::detailed`) adds the details of every step.

use super::*;

/// The object a log entry is about, and when its processing started.
pub(in crate::provisioning) struct Log<'a> {
    pub(super) object_type: ObjectType,
    pub(in crate::provisioning) source_id: &'a str,
    pub(in crate::provisioning) display_name: &'a str,
    pub(super) target_id: &'a str,
    pub(super) started: Instant,
}

/// Why an entry failed or was skipped: the error code, the reason, and what the admin should do.
pub(in crate::provisioning) struct Problem {
    pub(super) code: &'static str,
    pub(super) reason: String,
    pub(super) hint: &'static str,
}

impl Problem {
    pub(in crate::provisioning) fn new(
        code: &'static str,
        reason: impl Into<String>,
        hint: &'static str,
    ) -> Self {
        Problem {
            code,
            reason: reason.into(),
            hint,
        }
    }
}

impl<'a> Log<'a> {
    /// An object not (yet) known in the target, starting now.
    pub(in crate::provisioning) fn new(
        object_type: ObjectType,
        source_id: &'a str,
        display_name: &'a str,
    ) -> Self {
        Log {
            object_type,
            source_id,
            display_name,
            target_id: "",
            started: Instant::now(),
        }
    }

    /// The same object, now known in the target as `target_id`.
    pub(super) fn at<'b>(&'b self, target_id: &'b str) -> Log<'b> {
        Log { target_id, ..*self }
    }

    #[allow(clippy::too_many_arguments)]
    pub(in crate::provisioning) fn entry(
        &self,
        action: &'static str,
        status: &'static str,
        steps: Vec<ProvisionStep>,
        modified: &[(String, String, String)],
        error: Option<Problem>,
    ) -> LogWrite {
        let Problem { code, reason, hint } = error.unwrap_or(Problem::new("", "", ""));
        LogWrite {
            id: crate::ids::new(),
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

/// What the admin should do about a failed request.
pub(super) fn hint(e: &ClientError) -> &'static str {
    if e.is_unauthorized() {
        "Check the Secret Token: its permissions must include admin."
    } else if e.is_transient() {
        "The application was unavailable or throttling; the object is retried on the escrow schedule."
    } else {
        "Check the attribute values against what the application accepts."
    }
}

/// A user's first two steps: imported from the directory, and whether it is in scope (with the
/// details, when they were worked out).
pub(super) fn user_intro(u: &crate::db::directory::UserRecord, eval: &mut UserEval) -> Vec<ProvisionStep> {
    vec![
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
    ]
}

pub(super) fn group_intro(display_name: &str) -> Vec<ProvisionStep> {
    vec![
        step(
            "Import group",
            "Success",
            format!("Retrieved {display_name} from the directory."),
            vec![],
        ),
        step(
            "Determine if group is in scope",
            "Success",
            "The group is in scope.",
            vec![],
        ),
    ]
}

pub(super) fn managed_detail(m: &Managed) -> Details {
    vec![(
        "Connector data store".to_string(),
        format!("managed as {}", m.target_id),
    )]
}

/// The old and new value of each attribute an update changes.
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

/// Every attribute of a created object, as modified properties.
pub(super) fn created_values(list: &[Exported]) -> Vec<(String, String, String)> {
    list.iter()
        .map(|e| (e.target.clone(), String::new(), shown(e)))
        .collect()
}

/// Ends an object's processing with no operation: a Skipped step and log entry.
pub(super) fn skip(
    log: &Log<'_>,
    done: &mut Done,
    mut steps: Vec<ProvisionStep>,
    action: &'static str,
    why: impl Into<String>,
    error: Option<Problem>,
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

/// The mappings failed for the object.
pub(super) fn mapping_failed(
    log: &Log<'_>,
    mut steps: Vec<ProvisionStep>,
    e: String,
    mut done: Done,
) -> Done {
    steps.push(step("Perform action", "Failure", e.clone(), vec![]));
    done.log = Some(log.entry(
        "Other",
        "Failure",
        steps,
        &[],
        Some(Problem::new(
            "MappingError",
            e,
            "Fix the expression in the attribute mapping.",
        )),
    ));
    done.tally = Tally::Failed;
    done
}

/// More than one object in the target has the matching value: nothing is written.
pub(super) fn duplicates(
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
        Some(Problem::new(
            "DuplicateTargetEntries",
            format!("more than one of the target's {objects} has {what}"),
            "Remove the duplicates in the application.",
        )),
    ));
    done.tally = Tally::Failed;
    done
}

/// The Match step of an object looked up in the target (`what`: "user" or "group").
pub(super) fn matched(name: &str, what: &str, matched: &Matched, trace: Details) -> ProvisionStep {
    let description = match matched {
        Matched::Found { id, .. } => format!("Matched the {what} in the target: {id}."),
        Matched::Missing => format!("No {what} in the target matched."),
    };
    step(name, "Success", description, trace)
}
