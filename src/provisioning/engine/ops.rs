//! The PATCH operations as sent, from the planner's [`PatchOp`]s and what the target declares.

use super::*;
use crate::scim_client::Declared;

/// PATCH operations as sent: SCIM booleans from expression text; a value the target is not known
/// to hold (not in `previous`) is an `add`, which RFC 7644 defines where nothing is there to
/// replace (`emails[type eq "work"].value` on an account without a work email). Where the target
/// cannot select an element by the sub-attribute a mapping filters on (emails with a value but no
/// declared `type`), the attribute is written whole, once, from what is exported now (`current`).
pub(super) fn patch_json(
    ops: &[PatchOp],
    previous: &[Exported],
    current: &[Exported],
    declared: &Declared,
    kind: Kind,
) -> Vec<Json> {
    let mut whole: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for op in ops {
        let path = match op {
            PatchOp::Replace { path, .. } | PatchOp::Remove { path } => path,
        };
        if let Some(attr) = declared.unselectable(kind, path) {
            if !whole.iter().any(|w| w.eq_ignore_ascii_case(&attr)) {
                out.push(whole_attribute(&attr, current, declared, kind));
                whole.push(attr);
            }
            continue;
        }
        out.push(match op {
            PatchOp::Replace { path, value } => {
                let held = previous.iter().any(|e| e.target.eq_ignore_ascii_case(path));
                let op = if held { "replace" } else { "add" };
                json!({"op": op, "path": path, "value": coerce(path, value.clone())})
            }
            other => other.to_json(),
        });
    }
    out
}

/// Whether mapping target `target` writes attribute `attr` (`emails[type eq "work"].value`
/// writes `emails`).
fn writes_attribute(target: &str, attr: &str) -> bool {
    crate::scim::path::parse(target).is_ok_and(|p| p.attr.attr.eq_ignore_ascii_case(attr))
}

/// `attr` replaced with every value exported for it now, as the target declares it; removed when
/// none is left.
fn whole_attribute(attr: &str, current: &[Exported], declared: &Declared, kind: Kind) -> Json {
    let values: Vec<Exported> = current
        .iter()
        .filter(|e| writes_attribute(&e.target, attr))
        .cloned()
        .collect();
    let mut doc = document(&values);
    declared.trim(kind, &mut doc);
    let value = doc
        .into_iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(attr))
        .map(|(_, v)| v)
        .filter(|v| v.as_array().is_none_or(|a| !a.is_empty()));
    match value {
        Some(value) => json!({"op": "replace", "path": attr, "value": value}),
        None => json!({"op": "remove", "path": attr}),
    }
}
