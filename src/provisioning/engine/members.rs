//! Group members as the target names them: by id (RFC 7643), or, for applications whose groups
//! list members by userName, by the userName Provisio last exported to each user. The engine
//! plans in target ids throughout (and records them so); the translation happens here, where
//! members are sent and where a matched group's members are read, so what was learned never
//! changes the connector data store.

use super::*;

/// The userName last exported to each of `ids` (target ids of managed users); an id without one
/// is left out. Read only when needed, from the connector data store, so a compliant target
/// costs nothing.
async fn user_names(ctx: &Ctx, ids: &[String]) -> HashMap<String, String> {
    match links::exported_by_target(&ctx.pool, &ctx.app, ObjectType::User, ids).await {
        Ok(rows) => rows
            .into_iter()
            .filter_map(|(id, exported)| {
                let name = exported_from(&exported)
                    .into_iter()
                    .find(|e| e.target.eq_ignore_ascii_case("userName"))?
                    .value
                    .text()?;
                Some((id, name))
            })
            .collect(),
        Err(e) => {
            tracing::warn!(app = %ctx.app, error = %e, "cannot read the members' userNames");
            HashMap::new()
        }
    }
}

/// `ids` as the target names them: their userNames where it names members so (an id whose
/// userName is not known stays an id), else the ids.
pub(super) async fn values(ctx: &Ctx, ids: &[String]) -> Vec<String> {
    if !ctx.learned.has(Adaptation::MembersByUserName) {
        return ids.to_vec();
    }
    let names = user_names(ctx, ids).await;
    ids.iter()
        .map(|id| names.get(id).cloned().unwrap_or_else(|| id.clone()))
        .collect()
}

/// `[{"value": v}, ...]`.
pub(super) fn documents(values: &[String]) -> Vec<Json> {
    values.iter().map(|v| json!({ "value": v })).collect()
}

/// Whether a refusal of members sent by id is worth another try by userName: a 400 (the values
/// were the problem) from a target not known to name members so, unless the admin forbade it.
fn maybe_names(ctx: &Ctx, e: &ClientError) -> bool {
    matches!(e, ClientError::Http { status: 400, .. })
        && !ctx.learned.has(Adaptation::MembersByUserName)
        && ctx.learned.allowed(Adaptation::MembersByUserName)
}

/// Sends `request` with `ids` as the target names them; where members sent by id are refused
/// (400), once more with their userNames, and when that is accepted, the rest of the cycle
/// names members so. The first refusal is the error returned when both are refused.
pub(super) async fn by_id_or_name<F, Fut, T>(ctx: &Ctx, ids: &[String], request: F) -> Result<T, ClientError>
where
    F: Fn(Vec<String>) -> Fut,
    Fut: std::future::Future<Output = Result<T, ClientError>>,
{
    let refused = match request(values(ctx, ids).await).await {
        Err(e) if maybe_names(ctx, &e) => e,
        other => return other,
    };
    let names = user_names(ctx, ids).await;
    let Some(named) = ids
        .iter()
        .map(|id| names.get(id).cloned())
        .collect::<Option<Vec<_>>>()
    else {
        return Err(refused);
    };
    let Ok(done) = request(named).await else {
        return Err(refused);
    };
    learn(ctx, format!("members sent by id were answered: {refused}"));
    Ok(done)
}

fn learn(ctx: &Ctx, reason: String) {
    if ctx.learned.learn(Adaptation::MembersByUserName, reason.clone()) {
        tracing::warn!(app = %ctx.app, "the application names group members by userName ({reason}): this cycle sends userNames");
    }
}

/// Sends membership changes in requests of at most MEMBERS_PER_REQUEST references (through
/// [`fallback::patch`]: GET + PUT where the target has no PATCH, so members Provisio does not
/// manage stay).
pub(super) async fn send(
    ctx: &Ctx,
    target_id: &str,
    add: &[String],
    remove: &[String],
) -> Result<(), ClientError> {
    for chunk in add.chunks(MEMBERS_PER_REQUEST) {
        by_id_or_name(ctx, chunk, |values| async move {
            let ops = [json!({"op": "add", "path": "members", "value": documents(&values)})];
            fallback::patch(ctx, Kind::Group, target_id, &ops).await
        })
        .await?;
    }
    for chunk in remove.chunks(MEMBERS_PER_REQUEST) {
        let values = values(ctx, chunk).await;
        fallback::remove_members(ctx, target_id, &values).await?;
    }
    Ok(())
}

/// A matched group's members read as target ids: a value that is the userName of one of the
/// members it should have (`wanted`) becomes that member's id. When its members are listed only
/// by userName, the application names members so, and that is learned.
pub(super) async fn read_as_ids(ctx: &Ctx, group: &str, resource: &mut Json, wanted: &BTreeSet<String>) {
    let Some(list) = resource.get_mut("members").and_then(Json::as_array_mut) else {
        return;
    };
    let unknown = list
        .iter()
        .filter_map(|m| m["value"].as_str())
        .any(|v| !wanted.contains(v));
    if !unknown || wanted.is_empty() || !ctx.learned.allowed(Adaptation::MembersByUserName) {
        return;
    }
    let ids: Vec<String> = wanted.iter().cloned().collect();
    let by_name: HashMap<String, String> = user_names(ctx, &ids)
        .await
        .into_iter()
        .map(|(id, name)| (name.to_lowercase(), id))
        .collect();
    let (mut named, mut by_id) = (0, 0);
    for m in list.iter_mut() {
        let Some(v) = m["value"].as_str() else {
            continue;
        };
        if wanted.contains(v) {
            by_id += 1;
        } else if let Some(id) = by_name.get(&v.to_lowercase()) {
            m["value"] = json!(id);
            named += 1;
        }
    }
    if named > 0 && by_id == 0 {
        learn(ctx, format!("its group {group} lists its members by userName"));
    }
}
