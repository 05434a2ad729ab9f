//! Groups: documents, memberships as add/remove differences, create, update and replace.

use super::*;

/// A group's members in the target: the target ids of its direct user members that are
/// provisioned and enabled.
pub(in crate::provisioning) fn member_targets(
    members: &[String],
    users: &HashMap<String, Managed>,
) -> BTreeSet<String> {
    members
        .iter()
        .filter_map(|m| users.get(m))
        .filter(|m| m.state == "active")
        .map(|m| m.target_id.clone())
        .collect()
}

pub(in crate::provisioning) fn members_of(list: &[Exported]) -> BTreeSet<String> {
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

/// Sends membership changes in requests of at most MEMBERS_PER_REQUEST references.
pub(super) async fn send_members(
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
pub(super) async fn replace_group(
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
pub(in crate::provisioning) async fn process_group(
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
