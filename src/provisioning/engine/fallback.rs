//! Another form of the same request, for targets that refuse one that RFC 7644 allows: the
//! engine tries the standard form first and falls back only on the refusal that says the form
//! was the problem, so compliant targets see no difference.

use super::*;
use crate::scim::patch::seed_from_filter;
use crate::scim::path;

/// The target refused a PATCH because a filtered path selects nothing (`noTarget`): scim2-server
/// and others answer so for `add`/`replace` of `emails[type eq "work"].value` on an account
/// without a work email.
fn no_target(e: &ClientError) -> bool {
    matches!(e, ClientError::Http { status: 400, scim_type: Some(t), .. } if t.eq_ignore_ascii_case("noTarget"))
}

/// `ops` with every operation on a filtered path (`attr[type eq "work"].sub`) rewritten as an
/// `add` of a new element to `attr` (`{"type": "work", "sub": value}`), the operations of one
/// element merged into one; None when there is none to rewrite.
pub(super) fn element_adds(ops: &[Json]) -> Option<Vec<Json>> {
    let mut out: Vec<Json> = Vec::new();
    // (attribute path, filter text) -> index in `out` of the element's add.
    let mut elements: Vec<((String, String), usize)> = Vec::new();
    for op in ops {
        let rewritten = (|| {
            if !matches!(op["op"].as_str(), Some("add" | "replace")) {
                return None;
            }
            let p = path::parse(op["path"].as_str()?).ok()?;
            let filter = p.filter.as_ref()?;
            let mut element = seed_from_filter(filter)?;
            match &p.sub {
                Some(sub) => element.insert(sub.clone(), op["value"].clone()),
                None => {
                    for (k, v) in op["value"].as_object()? {
                        element.insert(k.clone(), v.clone());
                    }
                    None
                }
            };
            let attr = match &p.attr.urn {
                Some(urn) => format!("{urn}:{}", p.attr.attr),
                None => p.attr.attr.clone(),
            };
            Some(((attr, format!("{filter:?}")), element))
        })();
        match rewritten {
            Some((key, element)) => match elements.iter().find(|(k, _)| *k == key) {
                Some((_, i)) => {
                    if let Some(target) = out[*i]["value"][0].as_object_mut() {
                        target.extend(element);
                    }
                }
                None => {
                    elements.push((key.clone(), out.len()));
                    out.push(json!({"op": "add", "path": key.0, "value": [element]}));
                }
            },
            None => out.push(op.clone()),
        }
    }
    (!elements.is_empty()).then_some(out)
}

/// The target does not do PATCH (or not this one): 501 Not Implemented, 405 Method Not Allowed.
fn patch_refused(e: &ClientError) -> bool {
    matches!(
        e,
        ClientError::Http {
            status: 405 | 501,
            ..
        }
    )
}

/// Sends a PATCH. When the target says a filtered path selects nothing: once more with the
/// element added to its attribute instead. When it does not do PATCH (or says so in its
/// ServiceProviderConfig): the account is read, changed here and written back whole with PUT,
/// and the rest of the cycle does the same without trying PATCH again.
pub(super) async fn patch(ctx: &Ctx, kind: Kind, id: &str, ops: &[Json]) -> Result<(), ClientError> {
    if !ctx.caps.patch && ctx.learned.allowed(Adaptation::PutForPatch) {
        return put_instead(ctx, kind, id, ops).await;
    }
    if ctx.learned.has(Adaptation::PutForPatch) {
        // Learned from one refused PATCH (often of one attribute only): where PUT is refused
        // too, PATCH may still do this change.
        return match put_instead(ctx, kind, id, ops).await {
            Err(e) if patch_refused(&e) => ctx.target.patch(kind, id, ops).await,
            other => other,
        };
    }
    match ctx.target.patch(kind, id, ops).await {
        Err(e) if no_target(&e) => match element_adds(ops) {
            Some(alternative) => ctx.target.patch(kind, id, &alternative).await,
            None => Err(e),
        },
        Err(e) if patch_refused(&e) && ctx.learned.allowed(Adaptation::PutForPatch) => {
            if ctx
                .learned
                .learn(Adaptation::PutForPatch, format!("a PATCH was answered: {e}"))
            {
                tracing::warn!(
                    app = %ctx.app,
                    "the application refused a PATCH ({e}): this cycle writes changes with GET and PUT"
                );
            }
            put_instead(ctx, kind, id, ops).await
        }
        other => other,
    }
}

/// A request refused for its form (400), where another form may be accepted.
fn form_refused(e: &ClientError) -> bool {
    matches!(e, ClientError::Http { status: 400, .. })
}

/// Removes members from a group: by `members[value eq "id"]` paths (RFC 7644's form); where the
/// target refuses those, by value (Entra's form: a `remove` of `members` with the values), and
/// where it refuses that too, GET + PUT. The form that worked is kept for the rest of the cycle.
pub(super) async fn remove_members(ctx: &Ctx, id: &str, members: &[String]) -> Result<(), ClientError> {
    let by_path: Vec<Json> = members
        .iter()
        .map(|m| json!({"op": "remove", "path": format!("members[value eq \"{m}\"]")}))
        .collect();
    let values: Vec<Json> = members.iter().map(|m| json!({"value": m})).collect();
    let by_value = [json!({"op": "remove", "path": "members", "value": values})];
    if ctx.learned.has(Adaptation::MembersByValue) {
        return patch(ctx, Kind::Group, id, &by_value).await;
    }
    let refused = match patch(ctx, Kind::Group, id, &by_path).await {
        Err(e) if form_refused(&e) => e,
        other => return other,
    };
    if !ctx.learned.allowed(Adaptation::MembersByValue) {
        return put_instead(ctx, Kind::Group, id, &by_path).await;
    }
    match patch(ctx, Kind::Group, id, &by_value).await {
        Ok(()) => {
            let reason = format!("removing members by path was answered: {refused}");
            if ctx.learned.learn(Adaptation::MembersByValue, reason) {
                tracing::warn!(
                    app = %ctx.app,
                    "the application refused removing members by path ({refused}): this cycle removes them by value"
                );
            }
            Ok(())
        }
        Err(e) if form_refused(&e) => put_instead(ctx, Kind::Group, id, &by_path).await,
        Err(e) => Err(e),
    }
}

/// GET, apply `ops` here (keeping everything else the account holds), PUT.
async fn put_instead(ctx: &Ctx, kind: Kind, id: &str, ops: &[Json]) -> Result<(), ClientError> {
    let current = ctx.target.get(kind, id).await?;
    let parsed = crate::scim::patch::parse_request(&json!({ "Operations": ops }))
        .map_err(|e| ClientError::Incompatible(format!("the change cannot be applied here: {}", e.detail)))?;
    let resource = current
        .as_object()
        .ok_or_else(|| ClientError::Incompatible(format!("{} {id} is not a JSON object", kind.name())))?;
    let changed = crate::scim::patch::apply_to_foreign(kind, resource, &parsed).map_err(|e| {
        ClientError::Incompatible(format!("the change cannot be applied to {id}: {}", e.detail))
    })?;
    ctx.target.replace(kind, id, &changed).await.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filtered_paths_become_one_added_element_each() {
        let ops = vec![
            json!({"op": "add", "path": "emails[type eq \"work\"].value", "value": "a@x.com"}),
            json!({"op": "replace", "path": "displayName", "value": "A"}),
            json!({"op": "add", "path": "addresses[type eq \"work\"].locality", "value": "Oslo"}),
            json!({"op": "add", "path": "addresses[type eq \"work\"].country", "value": "NO"}),
            json!({"op": "remove", "path": "phoneNumbers[type eq \"fax\"].value"}),
        ];
        let out = element_adds(&ops).unwrap();
        assert_eq!(
            out,
            vec![
                json!({"op": "add", "path": "emails", "value": [{"type": "work", "value": "a@x.com"}]}),
                json!({"op": "replace", "path": "displayName", "value": "A"}),
                json!({"op": "add", "path": "addresses", "value": [{"type": "work", "locality": "Oslo", "country": "NO"}]}),
                json!({"op": "remove", "path": "phoneNumbers[type eq \"fax\"].value"}),
            ]
        );
        assert_eq!(element_adds(&ops[1..2]), None);
    }
}
