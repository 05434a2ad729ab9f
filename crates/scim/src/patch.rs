//! PATCH (RFC 7644 section 3.5.2) applied to a stored document, tolerant of what Entra and Okta
//! actually send:
//! - `op` in any case (`Add`, `Replace`, `Remove`);
//! - path-less `add`/`replace` whose value has dotted (`name.givenName`) or URN-qualified keys,
//!   or a whole extension object, or read-only keys such as Okta's `id` (ignored);
//! - `replace`/`add` on `emails[type eq "work"].value` when there is no work email yet adds
//!   `{"type": "work", "value": ...}` instead of failing with noTarget;
//! - `remove` on a multi-valued attribute with a `value` array removes only the listed values
//!   (Entra's member removal). An RFC-literal reading would empty the whole group;
//! - adding a value that is already there (a member) is not an error.
//!
//! All operations apply to a copy; the result is normalised and validated as a whole, so a
//! request either applies completely or changes nothing.

use super::error::{ScimError, ScimResult, ScimType};
use super::eval;
use super::filter::{AttrPath, CompValue, CompareOp, Filter};
use super::path::{self, PatchPath};
use super::resource::{self, extension_key, get_ci, key_ci};
use super::schema::{self, Attr, AttrType, Kind, Mutability};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};

/// Most operations accepted in one PATCH request.
pub const MAX_OPERATIONS: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    Add,
    Remove,
    Replace,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Op {
    pub kind: OpKind,
    pub path: Option<PatchPath>,
    pub value: Option<Value>,
}

/// Reads a PatchOp request body.
pub fn parse_request(body: &Value) -> ScimResult<Vec<Op>> {
    let syntax = |m: &str| ScimError::bad(ScimType::InvalidSyntax, m);
    let obj = body
        .as_object()
        .ok_or_else(|| syntax("the request body must be a JSON object"))?;
    let ops = get_ci(obj, "Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| syntax("a PATCH request needs an \"Operations\" array"))?;
    if ops.len() > MAX_OPERATIONS {
        return Err(ScimError::bad(
            ScimType::TooMany,
            format!("a PATCH request may carry at most {MAX_OPERATIONS} operations"),
        ));
    }
    ops.iter()
        .enumerate()
        .map(|(i, op)| {
            let n = i + 1;
            let o = op
                .as_object()
                .ok_or_else(|| syntax(&format!("operation {n} must be an object")))?;
            let kind = match get_ci(o, "op")
                .and_then(Value::as_str)
                .map(str::to_ascii_lowercase)
                .as_deref()
            {
                Some("add") => OpKind::Add,
                Some("remove") => OpKind::Remove,
                Some("replace") => OpKind::Replace,
                _ => {
                    return Err(syntax(&format!(
                        "operation {n}: \"op\" must be add, remove or replace"
                    )))
                }
            };
            let path = match get_ci(o, "path") {
                None | Some(Value::Null) => None,
                Some(Value::String(p)) if p.trim().is_empty() => None,
                Some(Value::String(p)) => {
                    Some(path::parse(p).map_err(|e| ScimError::invalid_path(format!("operation {n}: {e}")))?)
                }
                Some(_) => {
                    return Err(ScimError::invalid_path(format!(
                        "operation {n}: \"path\" must be a string"
                    )))
                }
            };
            let value = get_ci(o, "value").cloned();
            if kind != OpKind::Remove && value.is_none() {
                return Err(ScimError::invalid_value(format!(
                    "operation {n}: {kind:?} needs a \"value\""
                )));
            }
            if kind == OpKind::Remove && path.is_none() {
                return Err(ScimError::bad(
                    ScimType::NoTarget,
                    format!("operation {n}: remove needs a \"path\""),
                ));
            }
            Ok(Op { kind, path, value })
        })
        .collect()
}

/// Applies `ops` to `doc` (the stored form, with a Group's members included) and returns the new
/// normalised document.
pub fn apply(kind: Kind, doc: &Map<String, Value>, ops: &[Op]) -> ScimResult<Map<String, Value>> {
    let mut work = doc.clone();
    apply_ops(kind, &mut work, ops)?;
    let out = resource::normalize(kind, &Value::Object(work))?;
    resource::validate_required(kind, &out)?;
    Ok(out)
}

/// Applies `ops` to a resource as another service provider returned it, keeping whatever else it
/// holds, known here or not (its own attributes, vendor extensions); only the read-only `meta`
/// is dropped. For a client whose target refuses PATCH: GET, apply, PUT.
pub fn apply_to_foreign(
    kind: Kind,
    resource: &Map<String, Value>,
    ops: &[Op],
) -> ScimResult<Map<String, Value>> {
    let mut work = resource.clone();
    if let Some(k) = key_ci(&work, "meta") {
        work.remove(&k);
    }
    apply_ops(kind, &mut work, ops)?;
    Ok(work)
}

fn apply_ops(kind: Kind, work: &mut Map<String, Value>, ops: &[Op]) -> ScimResult<()> {
    for op in ops {
        // A path that is a whole extension URN addresses the extension object.
        if let Some(urn) = op.path.as_ref().and_then(|p| whole_schema(kind, p)) {
            match op.kind {
                OpKind::Remove => {
                    if let Some(ext) = extension_key(kind, &urn) {
                        if let Some(k) = key_ci(work, &ext) {
                            work.remove(&k);
                        }
                    }
                }
                _ => {
                    let mut wrapped = Map::new();
                    wrapped.insert(urn, op.value.clone().unwrap_or(Value::Null));
                    apply_pathless(kind, work, op.kind, Some(&Value::Object(wrapped)))?;
                }
            }
            continue;
        }
        match &op.path {
            Some(p) => apply_path(kind, work, op.kind, p, op.value.as_ref(), false)?,
            None => apply_pathless(kind, work, op.kind, op.value.as_ref())?,
        }
    }
    Ok(())
}

/// The schema URN a path names as a whole (`urn:...:enterprise:2.0:User`), if it does.
fn whole_schema(kind: Kind, p: &PatchPath) -> Option<String> {
    let urn = p.attr.urn.as_ref()?;
    if p.filter.is_some() || p.sub.is_some() || p.attr.sub.is_some() {
        return None;
    }
    let full = format!("{urn}:{}", p.attr.attr);
    (resource::is_schema_urn(kind, &full) && !full.eq_ignore_ascii_case(kind.core_urn())).then_some(full)
}

fn apply_pathless(
    kind: Kind,
    doc: &mut Map<String, Value>,
    op: OpKind,
    value: Option<&Value>,
) -> ScimResult<()> {
    let Some(Value::Object(obj)) = value else {
        return Err(ScimError::invalid_value(
            "an operation without a path needs an object value",
        ));
    };
    for (k, v) in obj {
        if ["schemas", "id", "meta"]
            .iter()
            .any(|s| s.eq_ignore_ascii_case(k))
        {
            continue;
        }
        if resource::is_schema_urn(kind, k) {
            if k.eq_ignore_ascii_case(kind.core_urn()) {
                if let Value::Object(inner) = v {
                    apply_pathless(kind, doc, op, Some(&Value::Object(inner.clone())))?;
                }
                continue;
            }
            let Some(ext) = extension_key(kind, k) else {
                continue;
            };
            match v {
                Value::Object(inner) => {
                    for (ik, iv) in inner {
                        if let Some(attr) = super::filter::parse_attr_path(ik) {
                            let p = PatchPath {
                                attr: AttrPath {
                                    urn: Some(ext.clone()),
                                    attr: attr.attr,
                                    sub: attr.sub,
                                },
                                filter: None,
                                sub: None,
                            };
                            apply_path(kind, doc, op, &p, Some(iv), true)?;
                        }
                    }
                }
                Value::Null => {
                    if let Some(key) = key_ci(doc, &ext) {
                        doc.remove(&key);
                    }
                }
                _ => return Err(ScimError::invalid_value(format!("{k} must be an object"))),
            }
            continue;
        }
        let Some(attr) = super::filter::parse_attr_path(k) else {
            continue;
        };
        let p = PatchPath {
            attr,
            filter: None,
            sub: None,
        };
        apply_path(kind, doc, op, &p, Some(v), true)?;
    }
    Ok(())
}

/// Where a path points: the container (top level or an extension object), the attribute and its
/// definition (`None` for custom extensions), the value filter and the sub-attribute.
struct Target {
    ext: Option<String>,
    name: String,
    def: Option<&'static Attr>,
    filter: Option<Filter>,
    sub: Option<String>,
}

/// Resolves a path; `Ok(None)` for unknown attributes named by a path-less operation, which are
/// ignored like unknown attributes in a POST.
fn resolve(kind: Kind, p: &PatchPath, lenient: bool) -> ScimResult<Option<Target>> {
    let unknown = |name: &str| {
        if lenient {
            Ok(None)
        } else {
            Err(ScimError::invalid_path(format!(
                "{name:?} is not an attribute of a {}",
                kind.name()
            )))
        }
    };
    let (ext, def, name) = match &p.attr.urn {
        None => match schema::find_top(kind, &p.attr.attr) {
            Some(d) => (None, Some(d), d.name.to_string()),
            None => return unknown(&p.attr.attr),
        },
        Some(u) if u.eq_ignore_ascii_case(kind.core_urn()) => match schema::find_top(kind, &p.attr.attr) {
            Some(d) => (None, Some(d), d.name.to_string()),
            None => return unknown(&p.attr.attr),
        },
        Some(u) => match extension_key(kind, u) {
            Some(ext) => match schema::schema_attrs(kind, &ext) {
                Some(attrs) => match schema::find(attrs, &p.attr.attr) {
                    Some(d) => (Some(ext), Some(d), d.name.to_string()),
                    None => return unknown(&p.attr.attr),
                },
                None => (Some(ext), None, p.attr.attr.clone()),
            },
            None => return unknown(&format!("{u}:{}", p.attr.attr)),
        },
    };
    let sub = p.attr.sub.clone().or_else(|| p.sub.clone());
    let mut sub_name = sub.clone();
    if let (Some(d), Some(s)) = (def, &sub) {
        match schema::find(d.sub, s) {
            Some(sd) => {
                if sd.mutability == Mutability::ReadOnly && d.mutability != Mutability::ReadOnly {
                    return Err(ScimError::mutability(format!(
                        "{}.{} is read-only",
                        d.name, sd.name
                    )));
                }
                sub_name = Some(sd.name.to_string());
            }
            None => {
                return Err(ScimError::invalid_path(format!(
                    "{} has no sub-attribute {s:?}",
                    d.name
                )))
            }
        }
    }
    if let Some(d) = def {
        if d.mutability == Mutability::ReadOnly {
            if lenient {
                return Ok(None);
            }
            return Err(ScimError::mutability(format!("{} is read-only", d.name)));
        }
        if p.filter.is_some() && !d.multi {
            return Err(ScimError::invalid_path(format!(
                "{} is not multi-valued, so it takes no value filter",
                d.name
            )));
        }
    }
    Ok(Some(Target {
        ext,
        name,
        def,
        filter: p.filter.clone(),
        sub: sub_name,
    }))
}

fn container<'a>(
    doc: &'a mut Map<String, Value>,
    ext: &Option<String>,
    create: bool,
) -> Option<&'a mut Map<String, Value>> {
    let Some(ext) = ext else { return Some(doc) };
    let key = match key_ci(doc, ext) {
        Some(k) => k,
        None if create => {
            doc.insert(ext.clone(), Value::Object(Map::new()));
            ext.clone()
        }
        None => return None,
    };
    if !doc[&key].is_object() {
        doc.insert(key.clone(), Value::Object(Map::new()));
    }
    doc.get_mut(&key).and_then(Value::as_object_mut)
}

fn is_multi(def: Option<&Attr>, current: Option<&Value>) -> bool {
    match def {
        Some(d) => d.multi,
        None => matches!(current, Some(Value::Array(_))),
    }
}

fn apply_path(
    kind: Kind,
    doc: &mut Map<String, Value>,
    op: OpKind,
    p: &PatchPath,
    value: Option<&Value>,
    lenient: bool,
) -> ScimResult<()> {
    let Some(t) = resolve(kind, p, lenient)? else {
        return Ok(());
    };
    let Some(c) = container(doc, &t.ext, op != OpKind::Remove) else {
        return Ok(()); // removing from an extension that is not there
    };
    let key = key_ci(c, &t.name).unwrap_or_else(|| t.name.clone());
    let multi = is_multi(t.def, c.get(&key));
    match op {
        OpKind::Add | OpKind::Replace => {
            let v = value.cloned().unwrap_or(Value::Null);
            match (&t.filter, &t.sub) {
                (None, None) => set_whole(c, &key, t.def, multi, op, v),
                (None, Some(sub)) => {
                    if multi {
                        let items = array_mut(c, &key);
                        if items.is_empty() {
                            items.push(Value::Object(Map::new()));
                        }
                        for item in items.iter_mut() {
                            set_sub(item, sub, v.clone());
                        }
                    } else {
                        let slot = c.entry(key).or_insert_with(|| Value::Object(Map::new()));
                        if !slot.is_object() {
                            *slot = Value::Object(Map::new());
                        }
                        set_sub(slot, sub, v);
                    }
                }
                (Some(f), sub) => {
                    let def = t.def;
                    let items = array_mut(c, &key);
                    let mut hit = false;
                    for item in items.iter_mut() {
                        if eval::matches_value(def, f, item) {
                            hit = true;
                            match sub {
                                Some(s) => set_sub(item, s, v.clone()),
                                None => merge_into(item, &v),
                            }
                        }
                    }
                    if !hit {
                        // Entra: replacing emails[type eq "work"].value with no work email adds one.
                        let mut seed = seed_from_filter(f).ok_or_else(|| {
                            ScimError::bad(
                                ScimType::NoTarget,
                                format!("no value of {} matches the filter {f}", t.name),
                            )
                        })?;
                        let mut item = Value::Object(std::mem::take(&mut seed));
                        match sub {
                            Some(s) => set_sub(&mut item, s, v),
                            None => merge_into(&mut item, &v),
                        }
                        items.push(item);
                    }
                }
            }
        }
        OpKind::Remove => match (&t.filter, &t.sub) {
            (None, None) => match value {
                Some(v) if multi && !v.is_null() => {
                    let wanted: Vec<Value> = match v {
                        Value::Array(a) => a.clone(),
                        other => vec![other.clone()],
                    };
                    if let Some(Value::Array(items)) = c.get_mut(&key) {
                        match keyed(&wanted) {
                            // Members and emails: one set lookup per element, not a scan.
                            Some(gone) if items.iter().all(|i| value_key(i).is_some()) => {
                                items.retain(|i| !value_key(i).is_some_and(|k| gone.contains(k)))
                            }
                            _ => items.retain(|item| !wanted.iter().any(|w| same_value(w, item))),
                        }
                    }
                }
                _ => {
                    c.remove(&key);
                }
            },
            (None, Some(sub)) => match c.get_mut(&key) {
                Some(Value::Array(items)) => items.iter_mut().for_each(|i| remove_sub(i, sub)),
                Some(item) => remove_sub(item, sub),
                None => {}
            },
            (Some(f), sub) => {
                if let Some(Value::Array(items)) = c.get_mut(&key) {
                    match sub {
                        None => items.retain(|item| !eval::matches_value(t.def, f, item)),
                        Some(s) => items
                            .iter_mut()
                            .filter(|i| eval::matches_value(t.def, f, i))
                            .for_each(|i| remove_sub(i, s)),
                    }
                }
            }
        },
    }
    Ok(())
}

fn set_whole(c: &mut Map<String, Value>, key: &str, def: Option<&Attr>, multi: bool, op: OpKind, v: Value) {
    if v.is_null() {
        c.remove(key);
        return;
    }
    if multi {
        let new: Vec<Value> = match v {
            Value::Array(a) => a,
            other => vec![other],
        };
        if op == OpKind::Replace {
            c.insert(key.to_string(), Value::Array(new));
            return;
        }
        let items = array_mut(c, key);
        // Where every element is named by a string value (members, emails), elements are found
        // through an index instead of a scan, so adding to a large group stays linear.
        let mut index: Option<HashMap<String, usize>> = items
            .iter()
            .enumerate()
            .map(|(i, item)| value_key(item).map(|k| (k.to_string(), i)))
            .collect();
        for n in new {
            let found = match (&index, value_key(&n)) {
                (Some(ix), Some(k)) => ix.get(k).copied(),
                _ => items.iter().position(|i| same_value(&n, i)),
            };
            // Adding a value that is already there (a member, an email) changes nothing.
            match found {
                Some(at) if n.is_object() => merge_into(&mut items[at], &n),
                Some(_) => {}
                None => {
                    match (index.as_mut(), value_key(&n)) {
                        (Some(ix), Some(k)) => {
                            ix.insert(k.to_string(), items.len());
                        }
                        _ => index = None,
                    }
                    items.push(n);
                }
            }
        }
        return;
    }
    let complex = def.is_some_and(|d| d.ty == AttrType::Complex);
    match (complex, c.get_mut(key)) {
        // RFC 7644: sub-attributes not in the value are left unchanged.
        (true, Some(existing)) if existing.is_object() && v.is_object() => merge_into(existing, &v),
        _ => {
            c.insert(key.to_string(), v);
        }
    }
}

#[allow(clippy::expect_used, reason = "the slot was made an array just above")]
fn array_mut<'a>(c: &'a mut Map<String, Value>, key: &str) -> &'a mut Vec<Value> {
    let slot = c
        .entry(key.to_string())
        .or_insert_with(|| Value::Array(Vec::new()));
    if !slot.is_array() {
        let old = std::mem::take(slot);
        *slot = Value::Array(if old.is_null() { Vec::new() } else { vec![old] });
    }
    slot.as_array_mut().expect("made an array above")
}

#[allow(clippy::expect_used, reason = "the item was made an object just above")]
fn set_sub(item: &mut Value, sub: &str, v: Value) {
    if !item.is_object() {
        let old = std::mem::take(item);
        let mut m = Map::new();
        if !old.is_null() {
            m.insert("value".into(), old);
        }
        *item = Value::Object(m);
    }
    let obj = item.as_object_mut().expect("made an object above");
    let key = key_ci(obj, sub).unwrap_or_else(|| sub.to_string());
    if v.is_null() {
        obj.remove(&key);
    } else {
        obj.insert(key, v);
    }
}

fn remove_sub(item: &mut Value, sub: &str) {
    if let Some(obj) = item.as_object_mut() {
        if let Some(k) = key_ci(obj, sub) {
            obj.remove(&k);
        }
    }
}

fn merge_into(target: &mut Value, v: &Value) {
    match (target.as_object_mut(), v) {
        (Some(t), Value::Object(src)) => {
            for (k, sv) in src {
                let key = key_ci(t, k).unwrap_or_else(|| k.clone());
                if sv.is_null() {
                    t.remove(&key);
                } else {
                    t.insert(key, sv.clone());
                }
            }
        }
        _ => *target = v.clone(),
    }
}

/// Does `wanted` (from a remove or add value) name the element `item`? Elements with a `value`
/// compare by it; otherwise every non-null key of `wanted` must agree.
fn same_value(wanted: &Value, item: &Value) -> bool {
    match (wanted, item) {
        (Value::Object(w), Value::Object(i)) => {
            if let (Some(wv), Some(iv)) = (get_ci(w, "value"), get_ci(i, "value")) {
                return values_equal(wv, iv);
            }
            let mut any = false;
            for (k, wv) in w.iter().filter(|(_, v)| !v.is_null()) {
                any = true;
                match get_ci(i, k) {
                    Some(iv) if values_equal(wv, iv) => {}
                    _ => return false,
                }
            }
            any
        }
        (Value::Object(w), other) => get_ci(w, "value").is_some_and(|wv| values_equal(wv, other)),
        (w, Value::Object(i)) => get_ci(i, "value").is_some_and(|iv| values_equal(w, iv)),
        (w, i) => values_equal(w, i),
    }
}

/// The string that names an element for `same_value`: its `value` sub-attribute, or the element
/// itself when it is a bare string. Two elements with keys are the same exactly when the keys are
/// equal.
fn value_key(v: &Value) -> Option<&str> {
    match v {
        Value::Object(o) => get_ci(o, "value").and_then(Value::as_str),
        Value::String(s) => Some(s),
        _ => None,
    }
}

/// The keys of `wanted`, when every one of them has a key.
fn keyed(wanted: &[Value]) -> Option<HashSet<&str>> {
    wanted.iter().map(value_key).collect()
}

fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => x == y,
        (x, y) => resource::coerce_bool(x)
            .zip(resource::coerce_bool(y))
            .map_or(x == y, |(p, q)| p == q),
    }
}

/// The value a filter of equality tests describes (`type eq "work"` -> `{"type": "work"}`), for
/// adding an element that a filtered path found missing.
pub fn seed_from_filter(f: &Filter) -> Option<Map<String, Value>> {
    match f {
        Filter::Compare(p, CompareOp::Eq, v) if p.urn.is_none() && p.sub.is_none() => {
            let mut m = Map::new();
            let v = match v {
                CompValue::Null => return None,
                CompValue::Bool(b) => Value::Bool(*b),
                CompValue::Number(n) => Value::Number(n.clone()),
                CompValue::Str(s) => Value::String(s.clone()),
            };
            m.insert(p.attr.clone(), v);
            Some(m)
        }
        Filter::And(a, b) => {
            let mut m = seed_from_filter(a)?;
            m.extend(seed_from_filter(b)?);
            Some(m)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests;
