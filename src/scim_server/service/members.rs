//! Group members: read from a document, resolved to stored users and groups, and changed by
//! PATCH operations without rewriting the whole list.

use super::*;

/// A member as a request names it: id and the optional display the client sent.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Member {
    pub(super) id: String,
    pub(super) display: Option<String>,
    /// "User" or "Group", known for stored members.
    pub(super) kind: Option<String>,
}

/// A membership change in the shapes identity providers send for groups: Entra's `add` and
/// `remove` with `path: members` and values, Okta's `remove` of `members[value eq "id"]`.
pub(super) enum MemberChange {
    Add(Vec<Member>),
    Remove(Vec<String>),
}

/// Splits a group document into the stored document and its members (first mention of an id
/// wins).
pub(super) fn take_members(doc: &mut Map<String, Value>) -> Option<Vec<Member>> {
    let members = doc.remove("members")?;
    let mut out: Vec<Member> = Vec::new();
    let mut seen: HashSet<&str> = HashSet::new();
    for m in members.as_array().into_iter().flatten() {
        let Some(id) = m.get("value").and_then(Value::as_str) else {
            continue;
        };
        if !seen.insert(id) {
            continue;
        }
        out.push(Member {
            id: id.to_string(),
            display: m.get("display").and_then(Value::as_str).map(str::to_string),
            kind: None,
        });
    }
    Some(out)
}

/// Checks that every member exists in the account and returns (id, type) pairs.
pub(super) async fn resolve_members(
    ctx: &Ctx<'_>,
    conn: &mut crate::db::Conn,
    group_id: &str,
    ids: &[String],
) -> ScimResult<Vec<(String, String)>> {
    if ids.iter().any(|m| m == group_id) {
        return Err(ScimError::invalid_value("a group cannot be a member of itself"));
    }
    let found = store::resolve_members(conn, ctx.account, ids)
        .await
        .map_err(db_err)?;
    if found.len() < ids.len() {
        let known: HashSet<&str> = found.iter().map(|(id, _)| id.as_str()).collect();
        let missing: Vec<&str> = ids
            .iter()
            .map(String::as_str)
            .filter(|i| !known.contains(i))
            .take(5)
            .collect();
        return Err(ScimError::invalid_value(format!(
            "members must be users or groups of this account; not found: {}",
            missing.join(", ")
        )));
    }
    Ok(found)
}

pub(super) async fn stored_members(tx: &mut crate::db::Conn, id: &str) -> ScimResult<Vec<Member>> {
    Ok(store::members_of(tx, &[id.to_string()])
        .await
        .map_err(db_err)?
        .into_iter()
        .map(|m| Member {
            id: m.member_id,
            display: m.client_display,
            kind: Some(m.member_type),
        })
        .collect())
}

/// The operations as membership changes, when every one of them is one; otherwise (a rename,
/// a `replace` of all members, a filter of another shape) the general path applies them.
pub(super) fn member_changes(ops: &[patch::Op]) -> Option<Vec<MemberChange>> {
    ops.iter().map(member_change).collect()
}

pub(super) fn member_change(op: &patch::Op) -> Option<MemberChange> {
    let p = op.path.as_ref()?;
    let core = match &p.attr.urn {
        None => true,
        Some(u) => u.eq_ignore_ascii_case(Kind::Group.core_urn()),
    };
    if !core || !p.attr.attr.eq_ignore_ascii_case("members") || p.attr.sub.is_some() || p.sub.is_some() {
        return None;
    }
    match (op.kind, &p.filter, &op.value) {
        (patch::OpKind::Add, None, Some(v)) => member_values(v).map(MemberChange::Add),
        (patch::OpKind::Remove, None, Some(v)) => {
            member_values(v).map(|list| MemberChange::Remove(list.into_iter().map(|m| m.id).collect()))
        }
        (
            patch::OpKind::Remove,
            Some(Filter::Compare(a, filter::CompareOp::Eq, filter::CompValue::Str(id))),
            None,
        ) if a.urn.is_none() && a.sub.is_none() && a.attr.eq_ignore_ascii_case("value") => {
            Some(MemberChange::Remove(vec![id.clone()]))
        }
        _ => None,
    }
}

/// `[{"value": id, "display": ...}, ...]` (or one such object) as members.
pub(super) fn member_values(v: &Value) -> Option<Vec<Member>> {
    let items: Vec<&Value> = match v {
        Value::Array(a) => a.iter().collect(),
        Value::Object(_) => vec![v],
        _ => return None,
    };
    items
        .into_iter()
        .map(|m| {
            let obj = m.as_object()?;
            let id = resource::get_ci(obj, "value")?.as_str()?;
            let display = match resource::get_ci(obj, "display") {
                None | Some(Value::Null) => None,
                Some(Value::String(d)) => Some(d.clone()),
                Some(_) => return None,
            };
            Some(Member {
                id: id.to_string(),
                display,
                kind: None,
            })
        })
        .collect()
}

/// Applies membership changes to the member rows they name, as the general path would: an added
/// member must exist (and not be the group), adding one already there only updates a display
/// sent with it, removing one that is not there is no change. The group gets a new version when
/// anything changed (the result).
pub(super) async fn change_members(
    ctx: &Ctx<'_>,
    tx: &mut crate::db::Conn,
    id: &str,
    changes: Vec<MemberChange>,
) -> ScimResult<bool> {
    let mut changed = false;
    for change in changes {
        match change {
            MemberChange::Add(list) => {
                let mut wanted: Vec<Member> = Vec::with_capacity(list.len());
                let mut at: HashMap<String, usize> = HashMap::new();
                for m in list {
                    match at.get(&m.id) {
                        Some(&i) => {
                            if m.display.is_some() {
                                wanted[i].display = m.display;
                            }
                        }
                        None => {
                            at.insert(m.id.clone(), wanted.len());
                            wanted.push(m);
                        }
                    }
                }
                let ids: Vec<String> = wanted.iter().map(|m| m.id.clone()).collect();
                let present: HashMap<String, Option<String>> = store::members_among(tx, id, &ids)
                    .await
                    .map_err(db_err)?
                    .into_iter()
                    .collect();
                let added: Vec<String> = ids.into_iter().filter(|m| !present.contains_key(m)).collect();
                let types: HashMap<String, String> =
                    resolve_members(ctx, tx, id, &added).await?.into_iter().collect();
                for m in &wanted {
                    match present.get(&m.id) {
                        None => {
                            store::add_member(tx, id, &m.id, &types[&m.id], m.display.as_deref())
                                .await
                                .map_err(db_err)?;
                            changed = true;
                        }
                        Some(old) if m.display.is_some() && *old != m.display => {
                            store::set_member_display(tx, id, &m.id, m.display.as_deref())
                                .await
                                .map_err(db_err)?;
                            changed = true;
                        }
                        Some(_) => {}
                    }
                }
            }
            MemberChange::Remove(ids) => {
                for m in ids {
                    changed |= store::remove_member(tx, id, &m).await.map_err(db_err)?;
                }
            }
        }
    }
    if changed {
        store::touch_group(tx, ctx.account, id, &crate::timefmt::now())
            .await
            .map_err(db_err)?;
    }
    Ok(changed)
}
