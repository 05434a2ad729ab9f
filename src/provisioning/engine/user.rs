//! Carrying out a user's plan: the lookup a new user needs, then the target operation, told as
//! provisioning-log steps.

use super::*;

const MATCH: &str = "Match user between source and target";

/// Processes one user: plans (with a lookup in the target first when it is not linked yet),
/// then carries the plan out. `prefound` is what a batched lookup found by the first matching
/// attribute, if one ran.
pub(super) async fn process_user(
    ctx: Arc<Ctx>,
    row: SourceRow,
    mut eval: UserEval,
    managed: Option<Managed>,
    quiet_in_sync: bool,
    prefound: Option<Lookup>,
) -> Done {
    let mut permit = Some(ctx.permits.clone().acquire_owned().await);
    let u = &row.user;
    let managed_target = managed.as_ref().map(|m| m.target_id.clone()).unwrap_or_default();
    let log = Log {
        object_type: ObjectType::User,
        source_id: &u.id,
        display_name: &u.display_name,
        target_id: &managed_target,
        started: Instant::now(),
    };
    let mut steps = narrate::user_intro(u, &mut eval);
    let mut done = Done {
        imported: true,
        entitled: eval.in_scope,
        manager_unresolved: eval.manager_unresolved,
        ..Done::default()
    };
    let mut plan = plan_user(&ctx.policy, &eval, managed.as_ref(), None);
    if let UserPlan::NeedsLookup { matching } = &plan {
        // Match before create: a repeated cycle (after a crash) finds what it created.
        let mut trace = Vec::new();
        let lookup = match prefound {
            // The first matching attribute found nothing: the others decide.
            Some(Lookup::Missing) => {
                let rest = matching.get(1..).unwrap_or_default();
                find_existing(&ctx, Kind::User, pairs(rest), &mut trace).await
            }
            Some(known) => known,
            None => find_existing(&ctx, Kind::User, pairs(matching), &mut trace).await,
        };
        let matched = match lookup {
            Lookup::Found(id, resource) => Matched::Found { id, resource },
            Lookup::Missing => Matched::Missing,
            Lookup::Duplicates(what) => return duplicates(&log, steps, "users", &what, trace, done),
            Lookup::Failed(e) => {
                steps.push(step(MATCH, "Failure", "The lookup in the target failed.", trace));
                return ctx.failure(&log, ObjectType::User, "Create", steps, &[], e, false, done);
            }
        };
        // Every entry that looked the user up says what it found (cycles too: a wrong match is
        // the first thing an admin suspects).
        steps.push(narrate::matched(MATCH, "user", &matched, trace));
        plan = plan_user(&ctx.policy, &eval, None, Some(&matched));
    } else if ctx.detailed {
        match (&plan, &managed) {
            (UserPlan::MappingFailed(_) | UserPlan::Unmatchable, _) => {}
            (_, m) if !eval.in_scope => steps.push(step(
                MATCH,
                "Skipped",
                "The user is out of scope: nothing is looked up in the target.",
                m.as_ref().map(narrate::managed_detail).unwrap_or_default(),
            )),
            (_, Some(m)) => steps.push(step(
                MATCH,
                "Success",
                format!("Matched the user in the target: {}.", m.target_id),
                narrate::managed_detail(m),
            )),
            (_, None) => {}
        }
    }
    let exported: &[Exported] = eval.exported.as_deref().unwrap_or_default();
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
    let active_link = |target_id: String| ObjectWrite {
        object_type: ObjectType::User,
        source_id: u.id.clone(),
        target_id,
        exported: Some(exported_json(exported)),
        state: LinkState::Active,
    };
    // A plan is carried out once, or twice when a create finds the account there after all.
    loop {
        return match plan {
            UserPlan::Untouched {
                imported,
                not_entitled,
            } => {
                // Users outside the assignment scope are not even imported, as in Entra (provision
                // on demand still reports them).
                if !imported {
                    done.imported = false;
                    if !ctx.detailed {
                        return done;
                    }
                }
                let code = not_entitled.then(|| {
                    Problem::new(
                        "NotEffectivelyEntitled",
                        "assigned only with a role that is not provisioned",
                        "Assign the user with a role other than Default Access.",
                    )
                });
                let why = "Out of scope and never provisioned: nothing in the target is touched.";
                skip(&log, &mut done, steps, "Other", why, code);
                done.escrow = ctx.cleared(ObjectType::User, &u.id);
                done
            }
            UserPlan::AlreadyDisabled { relink } => {
                done.escrow = ctx.cleared(ObjectType::User, &u.id);
                if let (true, Some(m)) = (relink, &managed) {
                    // Still disabled there, as before the restart: the link is a fact again.
                    done.object = Some(ObjectWrite {
                        object_type: ObjectType::User,
                        source_id: u.id.clone(),
                        target_id: m.target_id.clone(),
                        exported: Some(exported_json(&[Exported {
                            target: "active".into(),
                            value: Value::Bool(false),
                            redacted: false,
                        }])),
                        state: LinkState::Disabled,
                    });
                }
                if !quiet_in_sync {
                    let why = "Out of scope and already disabled in the target.";
                    skip(&log, &mut done, steps, "Other", why, None);
                }
                done
            }
            UserPlan::KeptEnabled(kept) => {
                let why = match kept {
                    Kept::SkipOutOfScope => {
                        "Skip out-of-scope deletions is on: the user stays enabled in the target."
                    }
                    Kept::DeleteSwitchedOff => {
                        "Delete is switched off in the mapping's Target Object Actions."
                    }
                };
                skip(&log, &mut done, steps, "Disable", why, None);
                done
            }
            UserPlan::Deprovision { delete } => {
                if let Some(m) = managed {
                    done.deprovision = Some(Deprovision {
                        object_type: ObjectType::User,
                        source_id: u.id.clone(),
                        display_name: u.display_name.clone(),
                        delete,
                        managed: m,
                        reason: eval.reason.to_string(),
                        steps,
                    });
                }
                done
            }
            UserPlan::MappingFailed(e) => narrate::mapping_failed(&log, steps, e, done),
            UserPlan::Unmatchable => {
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
                    Some(Problem::new(
                        "ImportSkipped",
                        "no matching attribute has a value",
                        "Give the user a value for a matching attribute.",
                    )),
                ));
                done.tally = Tally::Skipped;
                done
            }
            // plan_user asks for a lookup only when it has no answer yet; it has one here.
            UserPlan::NeedsLookup { .. } => done,
            UserPlan::CreateSwitchedOff => switched_off(&log, steps, "Create", done),
            UserPlan::Create { mut document } => {
                ctx.caps.declared.trim(Kind::User, &mut document);
                steps.extend(ctx.required_missing(Kind::User, &document));
                let details = match ctx.detailed {
                    true => note(exported.iter().map(|e| (e.target.clone(), shown(e))).collect()),
                    false => Vec::new(),
                };
                let matching = ctx.policy.users.matching(exported);
                let created = match ctx.bulk.as_ref().filter(|b| b.usable()) {
                    Some(bulk) => {
                        // The Bulk sender takes its own permit for the request.
                        permit.take();
                        let created = bulk.create(document.clone()).await;
                        recover_lost_create(&ctx, Kind::User, created, &document, matching)
                            .await
                            .map(|id| (id, None))
                    }
                    None => create_returning(&ctx, Kind::User, &document, matching).await,
                };
                match created {
                    Ok((id, answered)) => {
                        steps.push(step(
                            "Perform action",
                            "Success",
                            format!("Created the user in the target as {id}."),
                            details,
                        ));
                        // What the application answered without: it took the create but
                        // silently dropped these values, which the log must not call a success.
                        let dropped = answered
                            .map(|r| not_kept(Kind::User, &r, exported))
                            .unwrap_or_default();
                        if !dropped.is_empty() {
                            let reason = format!("a create was answered without {}", dropped.join(", "));
                            ctx.learned.learn(Adaptation::DropsValues, reason);
                        }
                        let (status, problem) = match dropped.is_empty() {
                            true => ("Success", None),
                            false => (
                                "Warning",
                                Some(Problem::new(
                                    "AttributesNotKept",
                                    format!("the application did not keep {}", dropped.join(", ")),
                                    NOT_KEPT_ADVICE,
                                )),
                            ),
                        };
                        let log = log.at(&id);
                        done.log = Some(log.entry(
                            "Create",
                            status,
                            steps,
                            &narrate::created_values(exported),
                            problem,
                        ));
                        done.object = Some(active_link(id));
                        done.escrow = ctx.cleared(ObjectType::User, &u.id);
                        done.tally = Tally::Created;
                        done.created = true;
                        done.presence_changed = true;
                        done
                    }
                    Err(e) if conflict(&e) => {
                        // The target has the account although the lookup did not find it (an
                        // inactive account its filters leave out, say): found in a full read, it is
                        // adopted like any match; otherwise the create fails as it was answered.
                        let mut trace = Vec::new();
                        let matching = ctx.policy.users.matching(exported);
                        match find_after_conflict(&ctx, Kind::User, matching, &mut trace).await {
                            Lookup::Found(id, resource) => {
                                let text = format!("The application answered the create with 409: the user is there, as {id}.");
                                steps.push(step(MATCH, "Success", text, trace));
                                plan = plan_user(
                                    &ctx.policy,
                                    &eval,
                                    None,
                                    Some(&Matched::Found { id, resource }),
                                );
                                continue;
                            }
                            _ => {
                                let modified = narrate::created_values(exported);
                                ctx.failure(
                                    &log,
                                    ObjectType::User,
                                    "Create",
                                    steps,
                                    &modified,
                                    e,
                                    false,
                                    done,
                                )
                            }
                        }
                    }
                    Err(e) => {
                        let modified = narrate::created_values(exported);
                        ctx.failure(&log, ObjectType::User, "Create", steps, &modified, e, false, done)
                    }
                }
            }
            UserPlan::InSync { target_id, remember } => {
                let log = log.at(&target_id);
                done.escrow = ctx.cleared(ObjectType::User, &u.id);
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
                if remember {
                    // Matched and nothing to send: remember it.
                    done.object = Some(active_link(target_id.clone()));
                }
                done
            }
            UserPlan::UpdateSwitchedOff { target_id } => {
                let log = log.at(&target_id);
                switched_off(&log, steps, "Update", done)
            }
            UserPlan::Update {
                target_id,
                previous,
                ops,
                manager_only,
                presence_changed,
                fresh,
            } => {
                let log = log.at(&target_id);
                let modified = narrate::modified_of(&ops, &previous, exported);
                let details = match ctx.detailed {
                    true => note(
                        ops.iter()
                            .map(|op| match op {
                                PatchOp::Replace { path, value } => (path.clone(), value.to_string()),
                                PatchOp::Remove { path } => (path.clone(), "(removed)".into()),
                            })
                            .collect(),
                    ),
                    false => Vec::new(),
                };
                let result = fallback::patch(
                    &ctx,
                    Kind::User,
                    &target_id,
                    &patch_json(&ops, &previous, exported, &ctx.caps.declared, Kind::User),
                )
                .await;
                match result {
                    Ok(()) => {
                        steps.push(step(
                            "Perform action",
                            "Success",
                            format!("Updated {} attribute(s) of {target_id}.", ops.len()),
                            details,
                        ));
                        let problem = match ctx.learned.has(Adaptation::DropsValues) {
                            true => verify_update(&ctx, &target_id, &ops, exported, &mut steps).await,
                            false => None,
                        };
                        let status = if problem.is_some() { "Warning" } else { "Success" };
                        done.log = Some(log.entry("Update", status, steps, &modified, problem));
                        done.object = Some(active_link(target_id.clone()));
                        done.escrow = ctx.cleared(ObjectType::User, &u.id);
                        done.tally = Tally::Updated;
                        done.presence_changed = presence_changed;
                        done
                    }
                    Err(e) => {
                        if fresh {
                            // Just matched: the account is this user's whatever the update did, so
                            // the link is kept (a leaver must still be found and disabled).
                            done.object = Some(matched_link(ObjectType::User, &u.id, &target_id));
                        }
                        ctx.failure(
                            &log,
                            ObjectType::User,
                            "Update",
                            steps,
                            &modified,
                            e,
                            manager_only,
                            done,
                        )
                    }
                }
            }
        };
    }
}

/// The (path, value) pairs of a plan's matching attributes, as the lookups take them.
pub(super) fn pairs(matching: &[(String, Value)]) -> Vec<(&str, &Value)> {
    matching.iter().map(|(p, v)| (p.as_str(), v)).collect()
}

/// What to do about values an application does not keep.
const NOT_KEPT_ADVICE: &str =
    "The application ignores these attributes: remove their mappings, or ask its vendor whether it supports them.";

/// After an update of a target known to drop values silently: reads the account back and names
/// the values just sent that it did not keep (a Warning, AttributesNotKept). A read that fails
/// leaves the update as the target answered it.
async fn verify_update(
    ctx: &Ctx,
    target_id: &str,
    ops: &[PatchOp],
    exported: &[Exported],
    steps: &mut Vec<ProvisionStep>,
) -> Option<Problem> {
    const VERIFY: &str = "Verify the update";
    let sent: Vec<Exported> = exported
        .iter()
        .filter(|e| {
            ops.iter()
                .any(|op| matches!(op, PatchOp::Replace { path, .. } if path.eq_ignore_ascii_case(&e.target)))
        })
        .cloned()
        .collect();
    let resource = match ctx.target.get(Kind::User, target_id).await {
        Ok(r) => r,
        Err(e) => {
            let text = format!("{target_id} could not be read back ({e}).");
            steps.push(step(VERIFY, "Skipped", text, vec![]));
            return None;
        }
    };
    let dropped = not_kept(Kind::User, &resource, &sent);
    if dropped.is_empty() {
        steps.push(step(
            VERIFY,
            "Success",
            "The application kept every value sent.",
            vec![],
        ));
        return None;
    }
    let text = format!("The application did not keep {}.", dropped.join(", "));
    steps.push(step(VERIFY, "Warning", text, vec![]));
    Some(Problem::new(
        "AttributesNotKept",
        format!("the application did not keep {}", dropped.join(", ")),
        NOT_KEPT_ADVICE,
    ))
}
