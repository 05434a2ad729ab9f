//! Carrying out a group's plan: the lookup a new group needs, create or update, memberships as
//! an add/remove difference.

use super::*;

const GROUP_MATCH: &str = "Match group between source and target";

/// Creates a group; returns its id and how many of `add` went with the create. Groups are created
/// without members, which then follow in PATCHes of bounded size; a target that refuses a group
/// without members (400) gets the first of them in the create itself, and so does every later
/// group of the cycle.
async fn create_group(
    ctx: &Ctx,
    document: &serde_json::Map<String, Json>,
    add: &[String],
    matching: Vec<(&str, &Value)>,
) -> Result<(String, usize), ClientError> {
    let first = &add[..add.len().min(MEMBERS_PER_REQUEST)];
    // Built only when needed: most targets take a group without members.
    let with_members = |values: Vec<String>| {
        let matching = matching.clone();
        async move {
            let mut doc = document.clone();
            doc.insert("members".into(), Json::Array(members::documents(&values)));
            create(ctx, Kind::Group, &doc, matching).await
        }
    };
    if ctx.learned.has(Adaptation::MembersOnCreate) && !first.is_empty() {
        return members::by_id_or_name(ctx, first, with_members)
            .await
            .map(|id| (id, first.len()));
    }
    let refused = match create(ctx, Kind::Group, document, matching.clone()).await {
        Err(e @ ClientError::Http { status: 400, .. })
            if !first.is_empty() && ctx.learned.allowed(Adaptation::MembersOnCreate) =>
        {
            e
        }
        other => return other.map(|id| (id, 0)),
    };
    let created = members::by_id_or_name(ctx, first, with_members).await?;
    let reason = format!("a group without members was answered: {refused}");
    if ctx.learned.learn(Adaptation::MembersOnCreate, reason) {
        tracing::warn!(
            app = %ctx.app,
            "the application refused a group without members ({refused}): this cycle creates groups with their first members"
        );
    }
    Ok((created, first.len()))
}

/// The modified properties' line for a membership change.
fn members_change(had: usize, wanted: usize, add: usize, remove: usize) -> (String, String, String) {
    (
        "members".into(),
        format!("{had} member(s)"),
        format!("{wanted} member(s): {add} added, {remove} removed"),
    )
}

/// Processes one group in scope: plans (looking it up in the target first when it is not linked
/// yet), then creates or updates it.
pub(super) async fn process_group(
    ctx: Arc<Ctx>,
    group: sources::GroupSource,
    managed: Option<Managed>,
    members: BTreeSet<String>,
) -> Done {
    let _permit = ctx.permits.clone().acquire_owned().await;
    let managed_target = managed.as_ref().map(|m| m.target_id.clone()).unwrap_or_default();
    let log = Log {
        object_type: ObjectType::Group,
        source_id: &group.id,
        display_name: &group.display_name,
        target_id: &managed_target,
        started: Instant::now(),
    };
    let mut steps = narrate::group_intro(&group.display_name);
    let done = Done {
        imported: true,
        entitled: true,
        ..Done::default()
    };
    // Groups are processed only when a groups mapping exists.
    let Some(mapping) = ctx.policy.groups.as_ref() else {
        return done;
    };
    let mut eval = match evaluate_group(mapping, &group, &members, managed.is_none()) {
        Ok(eval) => eval,
        Err(e) => return narrate::mapping_failed(&log, steps, e, done),
    };
    ctx.declared_only(Kind::Group, &mut eval.attrs);
    let actions = ctx.policy.group_actions;
    let mut plan = plan_group(mapping, actions, &eval, managed.as_ref(), None);
    if let GroupPlan::NeedsLookup { matching } = &plan {
        let mut trace = Vec::new();
        let matched = match find_existing(&ctx, Kind::Group, pairs(matching), &mut trace).await {
            Lookup::Found(id, mut resource) => {
                members::read_as_ids(&ctx, &group.display_name, &mut resource, &eval.wanted).await;
                Matched::Found { id, resource }
            }
            Lookup::Missing => Matched::Missing,
            Lookup::Duplicates(what) => return duplicates(&log, steps, "groups", &what, trace, done),
            Lookup::Failed(e) => {
                steps.push(step(
                    GROUP_MATCH,
                    "Failure",
                    "The lookup in the target failed.",
                    trace,
                ));
                return ctx.failure(&log, ObjectType::Group, "Create", steps, &[], e, false, done);
            }
        };
        steps.push(narrate::matched(GROUP_MATCH, "group", &matched, trace));
        plan = plan_group(mapping, actions, &eval, None, Some(&matched));
    }
    let remember = |target_id: &str, members: &BTreeSet<String>| ObjectWrite {
        object_type: ObjectType::Group,
        source_id: group.id.clone(),
        target_id: target_id.to_string(),
        exported: Some(exported_json(&with_members(eval.attrs.clone(), members))),
        state: LinkState::Active,
    };
    match plan {
        // plan_group asks for a lookup only when it has no answer yet; it has one here.
        GroupPlan::NeedsLookup { .. } => done,
        GroupPlan::CreateSwitchedOff => switched_off(&log, steps, "Create", done),
        GroupPlan::UpdateSwitchedOff { target_id } => {
            let log = log.at(&target_id);
            switched_off(&log, steps, "Update", done)
        }
        GroupPlan::InSync {
            target_id,
            had,
            remember: new_link,
        } => {
            let log = log.at(&target_id);
            let mut done = done;
            done.escrow = ctx.cleared(ObjectType::Group, &group.id);
            if new_link {
                done.object = Some(remember(&target_id, &had));
            }
            skip(
                &log,
                &mut done,
                steps,
                "Other",
                "Already in sync with the target.",
                None,
            );
            done
        }
        GroupPlan::Create { mut document, add } => {
            ctx.caps.declared.trim(Kind::Group, &mut document);
            if add.is_empty() {
                // With members to add, a target that requires them gets them in the create.
                steps.extend(ctx.required_missing(Kind::Group, &document));
            } else {
                let mut with = document.clone();
                with.insert("members".into(), Json::Array(Vec::new()));
                steps.extend(ctx.required_missing(Kind::Group, &with));
            }
            let matching = mapping.matching(&eval.attrs);
            let (target_id, sent) = match create_group(&ctx, &document, &add, matching).await {
                Ok(created) => created,
                Err(e) => {
                    let modified = narrate::created_values(&eval.attrs);
                    return ctx.failure(
                        &log,
                        ObjectType::Group,
                        "Create",
                        steps,
                        &modified,
                        e,
                        false,
                        done,
                    );
                }
            };
            let log = log.at(&target_id);
            let mut modified = narrate::created_values(&eval.attrs);
            if !add.is_empty() {
                modified.push(members_change(0, eval.wanted.len(), add.len(), 0));
            }
            let members = members::send(&ctx, &target_id, &add[sent..], &[]).await;
            let had = BTreeSet::new();
            finish(
                &ctx,
                &log,
                steps,
                "Create",
                modified,
                members,
                || remember(&target_id, &eval.wanted),
                || remember(&target_id, &had),
                done,
            )
        }
        GroupPlan::Update {
            target_id,
            previous,
            attr_ops,
            had,
            add,
            remove,
            fresh,
        } => {
            let log = log.at(&target_id);
            let mut modified = narrate::modified_of(&attr_ops, &previous, &eval.attrs);
            if !add.is_empty() || !remove.is_empty() {
                modified.push(members_change(
                    had.len(),
                    eval.wanted.len(),
                    add.len(),
                    remove.len(),
                ));
            }
            // Attributes first, then memberships; what the target holds is recorded even when
            // the memberships fail, so the retry sends only what is missing.
            if !attr_ops.is_empty() {
                let r = fallback::patch(
                    &ctx,
                    Kind::Group,
                    &target_id,
                    &patch_json(&attr_ops, &previous, &eval.attrs, &ctx.caps.declared, Kind::Group),
                )
                .await;
                if let Err(e) = r {
                    let mut done = done;
                    if fresh {
                        // Just matched: keep the link whatever the update did.
                        done.object = Some(matched_link(ObjectType::Group, &group.id, &target_id));
                    }
                    return ctx.failure(
                        &log,
                        ObjectType::Group,
                        "Update",
                        steps,
                        &modified,
                        e,
                        false,
                        done,
                    );
                }
            }
            let members = members::send(&ctx, &target_id, &add, &remove).await;
            finish(
                &ctx,
                &log,
                steps,
                "Update",
                modified,
                members,
                || remember(&target_id, &eval.wanted),
                || remember(&target_id, &had),
                done,
            )
        }
    }
}

/// A group's outcome once its memberships went out (or failed): on failure, what the target
/// holds (`held`) is recorded all the same.
#[allow(clippy::too_many_arguments)]
fn finish(
    ctx: &Ctx,
    log: &Log<'_>,
    mut steps: Vec<ProvisionStep>,
    action: &'static str,
    modified: Vec<(String, String, String)>,
    members: Result<(), ClientError>,
    wanted: impl FnOnce() -> ObjectWrite,
    held: impl FnOnce() -> ObjectWrite,
    mut done: Done,
) -> Done {
    match members {
        Ok(()) => {
            steps.push(step(
                "Perform action",
                "Success",
                format!("{action}d the group in the target as {}.", log.target_id),
                vec![],
            ));
            done.log = Some(log.entry(action, "Success", steps, &modified, None));
            done.object = Some(wanted());
            done.escrow = ctx.cleared(ObjectType::Group, log.source_id);
            done.tally = if action == "Create" {
                Tally::Created
            } else {
                Tally::Updated
            };
            done
        }
        Err(e) => {
            let object = held();
            let mut d = ctx.failure(log, ObjectType::Group, action, steps, &modified, e, true, done);
            d.object = Some(object);
            d
        }
    }
}
