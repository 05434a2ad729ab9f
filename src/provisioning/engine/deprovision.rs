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
            done.log = Some(log.entry(action, "Success", steps, &modified, None));
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
