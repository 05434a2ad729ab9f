//! Taking objects that left scope out of the target: disable, delete, or hold as StagedDelete.

use super::*;

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
            Some(Problem::new(
                "TooManyDeletes",
                "the disables and deletes within the reconciliation interval exceed the accidental-deletion threshold",
                "Review the changes; choose Allow deletes to release them.",
            )),
        ));
        done.tally = Tally::Staged;
        return done;
    }
    let kind = if d.object_type == ObjectType::Group {
        Kind::Group
    } else {
        Kind::User
    };
    let result = if d.delete {
        ctx.target.delete(kind, &d.managed.target_id).await
    } else {
        let disable = [json!({"op": "replace", "path": "active", "value": false})];
        fallback::patch(&ctx, kind, &d.managed.target_id, &disable).await
    };
    let modified = if d.delete {
        vec![]
    } else {
        vec![("active".to_string(), "true".to_string(), "false".to_string())]
    };
    match result {
        Ok(()) => {
            steps.push(step(
                "Perform action",
                "Success",
                format!("{action}d {} in the target.", d.managed.target_id),
                vec![],
            ));
            let (status, problem) = match d.delete {
                true => verify_deleted(&ctx, kind, &d.managed.target_id, &mut steps).await,
                false => ("Success", None),
            };
            done.log = Some(log.entry(action, status, steps, &modified, problem));
            done.object = Some(if d.delete {
                ObjectWrite {
                    object_type: d.object_type,
                    source_id: d.source_id.clone(),
                    target_id: d.managed.target_id.clone(),
                    exported: None,
                    state: LinkState::Active,
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
                    state: LinkState::Disabled,
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
                state: LinkState::Active,
            });
            done.escrow = ctx.cleared(d.object_type, &d.source_id);
            done.tally = Tally::Skipped;
            done
        }
        Err(e) => ctx.failure(&log, d.object_type, action, steps, &modified, e, false, done),
    }
}

/// After a DELETE the target said it did: reads the object back. Gone is a success. Still there
/// and inactive is a soft delete, a Warning (it cannot sign in, but the account is not gone).
/// Still there and active would leave a leaver able to sign in: it is disabled as well, and the
/// entry says so. A read that fails leaves the success as the target answered it.
async fn verify_deleted(
    ctx: &Ctx,
    kind: Kind,
    id: &str,
    steps: &mut Vec<ProvisionStep>,
) -> (&'static str, Option<Problem>) {
    const VERIFY: &str = "Verify the delete";
    let resource = match ctx.target.get(kind, id).await {
        Err(ClientError::Http { status: 404, .. }) => {
            steps.push(step(
                VERIFY,
                "Success",
                format!("{id} is gone from the target."),
                vec![],
            ));
            return ("Success", None);
        }
        Err(e) => {
            let text =
                format!("{id} could not be read back ({e}); the target answered the DELETE with success.");
            steps.push(step(VERIFY, "Skipped", text, vec![]));
            return ("Success", None);
        }
        Ok(r) => r,
    };
    let active = resource.get("active").and_then(Json::as_bool);
    if kind == Kind::User && active != Some(false) {
        let disable = [json!({"op": "replace", "path": "active", "value": false})];
        let disabled = fallback::patch(ctx, kind, id, &disable).await;
        let text = match &disabled {
            Ok(()) => {
                format!("{id} is still in the target after DELETE, and active: it was disabled instead.")
            }
            Err(e) => {
                format!("{id} is still in the target after DELETE, and active; disabling it failed too: {e}")
            }
        };
        steps.push(step(VERIFY, "Warning", text, vec![]));
        let status = if disabled.is_ok() { "Warning" } else { "Failure" };
        return (
            status,
            Some(Problem::new(
                "DeleteNotApplied",
                "the application answered the DELETE but kept the account, active",
                "Ask the application's vendor how accounts are deleted through SCIM; until then Provisio disables them.",
            )),
        );
    }
    if kind == Kind::Group {
        let text = format!("{id} is still in the target after DELETE.");
        steps.push(step(VERIFY, "Warning", text, vec![]));
        return (
            "Warning",
            Some(Problem::new(
                "DeleteNotApplied",
                "the application answered the DELETE but kept the group",
                "Remove the group in the application by hand, or ask its vendor how groups are deleted through SCIM.",
            )),
        );
    }
    steps.push(step(
        VERIFY,
        "Warning",
        format!(
            "{id} is still in the target after DELETE, inactive: the application only deactivates on delete."
        ),
        vec![],
    ));
    (
        "Warning",
        Some(Problem::new(
            "SoftDeleted",
            "the application kept the account after DELETE, deactivated (a soft delete)",
            "Nothing to do unless accounts must be removed: the application keeps them inactive.",
        )),
    )
}
