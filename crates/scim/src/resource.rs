//! Resources as JSON documents: normalising what clients send into the stored form, and rendering
//! the stored form back as the resource a client sees.
//!
//! The stored document holds the client-writable attributes only, under their canonical names:
//! core attributes at the top level, `externalId`, and each extension as an object under its URN.
//! `id`, `meta`, `schemas`, the User's computed `groups` and the write-only `password` are never
//! stored in it; a Group's `members` live in a membership table and are added while a request
//! works on the document.
//!
//! Normalising is tolerant where real clients are sloppy: attribute names in any case, `null` for
//! absent, booleans as strings (`"False"`, `"True"`), numbers where strings belong, a single
//! object where an array belongs, the enterprise URN typo and Entra's own group schema URN, custom
//! extension attributes sent as `urn:...:extension:<Name>:2.0:User:<attr>` keys.

use super::error::{ScimError, ScimResult};
use super::schema::{self, Attr, AttrType, Kind, Mutability};
use serde_json::{Map, Value};

/// Case-insensitive key lookup, because attribute names are case-insensitive.
pub fn get_ci<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.get(name).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

/// The existing key matching `name` case-insensitively, if any.
pub fn key_ci(obj: &Map<String, Value>, name: &str) -> Option<String> {
    if obj.contains_key(name) {
        return Some(name.to_string());
    }
    obj.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned()
}

/// Is `key` a whole schema URN (as opposed to a URN-qualified attribute)?
pub fn is_schema_urn(kind: Kind, key: &str) -> bool {
    if key.eq_ignore_ascii_case(kind.core_urn())
        || schema::schema_attrs(kind, key).is_some()
        || schema::IGNORED_SCHEMAS
            .iter()
            .any(|u| u.eq_ignore_ascii_case(key))
    {
        return true;
    }
    let lower = key.to_ascii_lowercase();
    schema::is_extension_urn(key) && (lower.ends_with(":user") || lower.ends_with(":group"))
}

/// The storage key of an extension URN: the canonical spelling for known extensions (and for the
/// enterprise typo), the client's spelling for custom ones.
pub fn extension_key(kind: Kind, urn: &str) -> Option<String> {
    if urn.eq_ignore_ascii_case(schema::ENTERPRISE_TYPO) && kind == Kind::User {
        return Some(schema::ENTERPRISE.to_string());
    }
    if let Some((u, _)) = kind
        .extensions()
        .iter()
        .find(|(u, _)| u.eq_ignore_ascii_case(urn))
    {
        return Some(u.to_string());
    }
    // Custom extensions name a resource type last: `urn:...:extension:<Name>:2.0:User`.
    let lower = urn.to_ascii_lowercase();
    let suffix = match kind {
        Kind::User => ":user",
        Kind::Group => ":group",
    };
    (schema::is_extension_urn(urn) && lower.ends_with(suffix)).then(|| urn.to_string())
}

/// Coerces a boolean the way Entra sends them: `true`, `"True"`, `"false"`.
pub fn coerce_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// Normalises one attribute value according to its definition; `Ok(None)` means absent.
pub fn normalize_value(a: &Attr, v: &Value, what: &str) -> ScimResult<Option<Value>> {
    if v.is_null() {
        return Ok(None);
    }
    if a.multi {
        let items: Vec<&Value> = match v {
            Value::Array(items) => items.iter().collect(),
            other => vec![other],
        };
        let mut out = Vec::with_capacity(items.len());
        // Duplicates are dropped through a set of canonical forms: a scan per element would make
        // a large group's members quadratic.
        let mut seen = std::collections::HashSet::with_capacity(items.len());
        for item in items {
            if let Some(n) = normalize_single(a, item, what)? {
                let mut key = String::new();
                canonical(&n, &mut key);
                if seen.insert(key) {
                    out.push(n);
                }
            }
        }
        one_primary(&mut out);
        return Ok((!out.is_empty()).then_some(Value::Array(out)));
    }
    normalize_single(a, v, what)
}

/// A text form in which equal JSON values (objects equal whatever their key order) are equal.
fn canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(o) => {
            let mut keys: Vec<&String> = o.keys().collect();
            keys.sort();
            out.push('{');
            for k in keys {
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                canonical(&o[k.as_str()], out);
                out.push(',');
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for x in a {
                canonical(x, out);
                out.push(',');
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// At most one value of a multi-valued attribute may be primary (RFC 7643 section 2.4): the first
/// one marked primary keeps it.
fn one_primary(items: &mut [Value]) {
    let mut seen = false;
    for item in items.iter_mut() {
        if let Some(obj) = item.as_object_mut() {
            if obj.get("primary") == Some(&Value::Bool(true)) {
                if seen {
                    obj.insert("primary".into(), Value::Bool(false));
                }
                seen = true;
            }
        }
    }
}

fn normalize_single(a: &Attr, v: &Value, what: &str) -> ScimResult<Option<Value>> {
    if v.is_null() {
        return Ok(None);
    }
    match a.ty {
        AttrType::Complex => {
            let Value::Object(obj) = v else {
                // `"members": ["id"]` or `"emails": "a@x"`: read as the value sub-attribute.
                if let Some(value_attr) = schema::find(a.sub, "value") {
                    return Ok(normalize_single(value_attr, v, what)?.map(|n| {
                        let mut m = Map::new();
                        m.insert(value_attr.name.to_string(), n);
                        Value::Object(m)
                    }));
                }
                return Err(ScimError::invalid_value(format!("{what} must be an object")));
            };
            let mut out = Map::new();
            for (k, sv) in obj {
                let Some(sub) = schema::find(a.sub, k) else {
                    continue;
                };
                if sub.mutability == Mutability::ReadOnly {
                    continue;
                }
                if let Some(n) = normalize_single(sub, sv, &format!("{what}.{}", sub.name))? {
                    out.insert(sub.name.to_string(), n);
                }
            }
            Ok((!out.is_empty()).then_some(Value::Object(out)))
        }
        AttrType::Boolean => coerce_bool(v)
            .map(|b| Some(Value::Bool(b)))
            .ok_or_else(|| ScimError::invalid_value(format!("{what} must be true or false"))),
        AttrType::Integer => match v {
            Value::Number(n) if n.is_i64() => Ok(Some(v.clone())),
            Value::String(s) => s
                .trim()
                .parse::<i64>()
                .map(|n| Some(Value::from(n)))
                .map_err(|_| ScimError::invalid_value(format!("{what} must be an integer"))),
            _ => Err(ScimError::invalid_value(format!("{what} must be an integer"))),
        },
        AttrType::Decimal => match v {
            Value::Number(_) => Ok(Some(v.clone())),
            _ => Err(ScimError::invalid_value(format!("{what} must be a number"))),
        },
        _ => match v {
            Value::String(s) => Ok(Some(Value::String(s.clone()))),
            // Clients send employeeNumber: 7 or a boolean where a string belongs; keep the text.
            Value::Number(n) => Ok(Some(Value::String(n.to_string()))),
            Value::Bool(b) => Ok(Some(Value::String(b.to_string()))),
            _ => Err(ScimError::invalid_value(format!("{what} must be a string"))),
        },
    }
}

/// Drops nulls and empty containers from a custom extension's values, which have no schema.
fn clean_free(v: &Value) -> Option<Value> {
    match v {
        Value::Null => None,
        Value::Object(o) => {
            let m: Map<String, Value> = o
                .iter()
                .filter_map(|(k, v)| clean_free(v).map(|v| (k.clone(), v)))
                .collect();
            (!m.is_empty()).then_some(Value::Object(m))
        }
        Value::Array(a) => {
            let items: Vec<Value> = a.iter().filter_map(clean_free).collect();
            (!items.is_empty()).then_some(Value::Array(items))
        }
        other => Some(other.clone()),
    }
}

/// Normalises a whole resource as a client sent it (POST, PUT, or a document after PATCH) into
/// the stored form. Read-only attributes are dropped, as RFC 7644 section 3.5.1 allows.
pub fn normalize(kind: Kind, input: &Value) -> ScimResult<Map<String, Value>> {
    let Value::Object(obj) = input else {
        return Err(ScimError::bad(
            super::error::ScimType::InvalidSyntax,
            "the request body must be a JSON object",
        ));
    };
    if let Some(s) = get_ci(obj, "schemas") {
        let ok = match s {
            Value::Array(items) => items.iter().all(Value::is_string),
            Value::Null => true,
            _ => false,
        };
        if !ok {
            return Err(ScimError::bad(
                super::error::ScimType::InvalidSyntax,
                "schemas must be an array of schema URNs",
            ));
        }
    }
    let mut out = Map::new();
    for (key, v) in obj {
        if key.eq_ignore_ascii_case("schemas") {
            continue;
        }
        if is_schema_urn(kind, key) {
            if key.eq_ignore_ascii_case(kind.core_urn()) {
                if let Value::Object(inner) = v {
                    for (k, v) in inner {
                        put_top(kind, &mut out, k, v)?;
                    }
                }
                continue;
            }
            let Some(ext) = extension_key(kind, key) else {
                continue;
            };
            if v.is_null() {
                continue;
            }
            let Value::Object(inner) = v else {
                return Err(ScimError::invalid_value(format!("{key} must be an object")));
            };
            for (k, v) in inner {
                put_ext(kind, &mut out, &ext, k, v)?;
            }
            continue;
        }
        if key.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:")) {
            // A URN-qualified attribute as a key: `urn:...:2.0:User:employeeNumber`.
            let Some(colon) = key.rfind(':') else { continue };
            let (urn, attr) = (&key[..colon], &key[colon + 1..]);
            if urn.eq_ignore_ascii_case(kind.core_urn()) {
                put_top(kind, &mut out, attr, v)?;
            } else if let Some(ext) = extension_key(kind, urn) {
                put_ext(kind, &mut out, &ext, attr, v)?;
            }
            continue;
        }
        put_top(kind, &mut out, key, v)?;
    }
    Ok(out)
}

fn put_top(kind: Kind, out: &mut Map<String, Value>, key: &str, v: &Value) -> ScimResult<()> {
    let Some(a) = schema::find_top(kind, key) else {
        // Unknown attributes are ignored rather than refused: a client's extra field must not
        // stop a user from being provisioned.
        return Ok(());
    };
    if matches!(a.mutability, Mutability::ReadOnly | Mutability::WriteOnly) {
        return Ok(());
    }
    match normalize_value(a, v, a.name)? {
        Some(n) => {
            out.insert(a.name.to_string(), n);
        }
        None => {
            out.remove(a.name);
        }
    }
    Ok(())
}

fn put_ext(kind: Kind, out: &mut Map<String, Value>, ext: &str, key: &str, v: &Value) -> ScimResult<()> {
    let slot = out
        .entry(ext.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(target) = slot else {
        unreachable!("extension slots are objects")
    };
    match schema::schema_attrs(kind, ext) {
        Some(attrs) => {
            if let Some(a) = schema::find(attrs, key) {
                if a.mutability != Mutability::ReadOnly {
                    match normalize_value(a, v, a.name)? {
                        Some(n) => {
                            target.insert(a.name.to_string(), n);
                        }
                        None => {
                            target.remove(a.name);
                        }
                    }
                }
            }
        }
        None => {
            let k = key_ci(target, key).unwrap_or_else(|| key.to_string());
            match clean_free(v) {
                Some(n) => {
                    target.insert(k, n);
                }
                None => {
                    target.remove(&k);
                }
            }
        }
    }
    if target.is_empty() {
        out.remove(ext);
    }
    Ok(())
}

/// Checks the attributes a resource cannot exist without.
pub fn validate_required(kind: Kind, doc: &Map<String, Value>) -> ScimResult<()> {
    for a in kind.core_attrs().iter().filter(|a| a.required) {
        match doc.get(a.name) {
            Some(Value::String(s)) if !s.trim().is_empty() => {}
            _ => return Err(ScimError::invalid_value(format!("{} is required", a.name))),
        }
    }
    Ok(())
}

/// The facts about a stored resource that are not in its document.
pub struct Meta<'a> {
    pub id: &'a str,
    pub created: &'a str,
    pub last_modified: &'a str,
    pub version: i64,
    /// `{base}/Users/{id}`
    pub location: String,
}

pub fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

/// The resource as clients see it: `schemas`, `id`, the document, the computed attribute
/// (`groups` for a User, `members` for a Group) and `meta`.
pub fn render(kind: Kind, doc: &Map<String, Value>, meta: &Meta, computed: Option<Vec<Value>>) -> Value {
    let mut schemas = vec![Value::String(kind.core_urn().to_string())];
    let mut out = Map::new();
    out.insert("schemas".into(), Value::Null);
    out.insert("id".into(), Value::String(meta.id.to_string()));
    for (k, v) in doc {
        if is_schema_urn(kind, k) {
            schemas.push(Value::String(k.clone()));
        }
        out.insert(k.clone(), v.clone());
    }
    if let Some(items) = computed {
        let name = match kind {
            Kind::User => "groups",
            Kind::Group => "members",
        };
        if !items.is_empty() {
            out.insert(name.into(), Value::Array(items));
        }
    }
    out.insert("schemas".into(), Value::Array(schemas));
    out.insert(
        "meta".into(),
        serde_json::json!({
            "resourceType": kind.name(),
            "created": meta.created,
            "lastModified": meta.last_modified,
            "location": meta.location,
            "version": etag(meta.version),
        }),
    );
    Value::Object(out)
}

/// `attributes` / `excludedAttributes` (RFC 7644 section 3.4.2.5). `id`, `schemas` and `meta` are
/// always returned: clients rely on them even when they narrow the output.
pub fn project(kind: Kind, resource: &mut Value, attributes: &[AttrSel], excluded: &[AttrSel]) {
    let Value::Object(obj) = resource else { return };
    if !attributes.is_empty() {
        let mut kept = Map::new();
        for (k, v) in obj.iter() {
            if ["schemas", "id", "meta"].contains(&k.as_str()) {
                kept.insert(k.clone(), v.clone());
                continue;
            }
            let ext = is_schema_urn(kind, k);
            if ext {
                let Value::Object(inner) = v else { continue };
                let mut sub = Map::new();
                for (ik, iv) in inner {
                    if let Some(s) = attributes.iter().find(|s| s.matches(kind, Some(k), ik)) {
                        sub.insert(ik.clone(), s.narrow(iv));
                    }
                }
                if attributes.iter().any(|s| s.is_schema(k)) {
                    kept.insert(k.clone(), v.clone());
                } else if !sub.is_empty() {
                    kept.insert(k.clone(), Value::Object(sub));
                }
            } else if let Some(s) = attributes.iter().find(|s| s.matches(kind, None, k)) {
                kept.insert(k.clone(), s.narrow(v));
            }
        }
        *obj = kept;
    }
    for s in excluded {
        let keys: Vec<String> = obj.keys().cloned().collect();
        for k in keys {
            if ["schemas", "id", "meta"].contains(&k.as_str()) {
                continue;
            }
            if is_schema_urn(kind, &k) {
                if s.is_schema(&k) {
                    obj.remove(&k);
                    continue;
                }
                if let Some(Value::Object(inner)) = obj.get_mut(&k) {
                    let iks: Vec<String> = inner.keys().cloned().collect();
                    for ik in iks {
                        if s.matches(kind, Some(&k), &ik) {
                            s.exclude_from(inner, &ik);
                        }
                    }
                    if inner.is_empty() {
                        obj.remove(&k);
                    }
                }
            } else if s.matches(kind, None, &k) {
                s.exclude_from(obj, &k);
            }
        }
    }
}

/// Will a projection with these lists return the top-level attribute `name`? Lets the endpoint
/// skip computing `groups` or `members` that nobody asked for.
pub fn wants(kind: Kind, attributes: &[AttrSel], excluded: &[AttrSel], name: &str) -> bool {
    if !attributes.is_empty() {
        return attributes.iter().any(|s| s.names(kind, name));
    }
    !excluded.iter().any(|s| s.names(kind, name) && s.sub.is_none())
}

/// One entry of `attributes=` or `excludedAttributes=`.
#[derive(Debug, Clone, PartialEq)]
pub struct AttrSel {
    urn: Option<String>,
    attr: String,
    sub: Option<String>,
}

impl AttrSel {
    /// Parses a comma-separated list; entries that are not attribute paths are refused.
    pub fn parse_list(list: &str) -> ScimResult<Vec<AttrSel>> {
        let mut out = Vec::new();
        for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            if part.len() > 500 {
                return Err(ScimError::invalid_value("an attribute name is too long"));
            }
            // A whole schema URN selects that extension.
            if part.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:"))
                && (part.to_ascii_lowercase().ends_with(":user")
                    || part.to_ascii_lowercase().ends_with(":group"))
            {
                out.push(AttrSel {
                    urn: Some(part.to_string()),
                    attr: String::new(),
                    sub: None,
                });
                continue;
            }
            let p = super::filter::parse_attr_path(part)
                .ok_or_else(|| ScimError::invalid_value(format!("{part:?} is not an attribute name")))?;
            out.push(AttrSel {
                urn: p.urn,
                attr: p.attr,
                sub: p.sub,
            });
        }
        Ok(out)
    }

    /// Does this entry name the top-level attribute `name` (with or without a sub-attribute)?
    pub fn names(&self, kind: Kind, name: &str) -> bool {
        self.matches(kind, None, name)
    }

    fn is_schema(&self, key: &str) -> bool {
        self.attr.is_empty() && self.urn.as_deref().is_some_and(|u| u.eq_ignore_ascii_case(key))
    }

    fn matches(&self, kind: Kind, ext: Option<&str>, key: &str) -> bool {
        if self.attr.is_empty() || !self.attr.eq_ignore_ascii_case(key) {
            return false;
        }
        match (&self.urn, ext) {
            (None, None) => true,
            (Some(u), None) => u.eq_ignore_ascii_case(kind.core_urn()),
            (Some(u), Some(e)) => u.eq_ignore_ascii_case(e),
            (None, Some(_)) => false,
        }
    }

    fn narrow(&self, v: &Value) -> Value {
        let Some(sub) = &self.sub else { return v.clone() };
        let pick = |o: &Map<String, Value>| {
            let mut m = Map::new();
            if let Some(k) = key_ci(o, sub) {
                m.insert(k.clone(), o[&k].clone());
            }
            Value::Object(m)
        };
        match v {
            Value::Object(o) => pick(o),
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|i| i.as_object().map(pick).unwrap_or_else(|| i.clone()))
                    .filter(|i| !is_empty(i))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    fn exclude_from(&self, obj: &mut Map<String, Value>, key: &str) {
        let Some(sub) = &self.sub else {
            obj.remove(key);
            return;
        };
        match obj.get_mut(key) {
            Some(Value::Object(o)) => {
                if let Some(k) = key_ci(o, sub) {
                    o.remove(&k);
                }
            }
            Some(Value::Array(items)) => {
                for i in items.iter_mut() {
                    if let Some(o) = i.as_object_mut() {
                        if let Some(k) = key_ci(o, sub) {
                            o.remove(&k);
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests;
