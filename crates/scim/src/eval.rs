//! Evaluating a parsed filter against a resource as clients see it (RFC 7644 section 3.4.2.2).
//!
//! Comparisons follow the attribute's definition: strings compare case-insensitively unless the
//! attribute is caseExact (`userName eq "ALICE@x.com"` finds alice@x.com, `id` and `externalId`
//! compare exactly), booleans accept Entra's `"True"`, dateTimes compare as instants, and a
//! multi-valued attribute matches when any of its values does. A comparison with an absent
//! attribute is false (`ne` is its negation, so absent `ne "x"` is true).

use super::filter::{AttrPath, CompValue, CompareOp, Filter};
use super::resource::{coerce_bool, extension_key, get_ci};
use super::schema::{self, Attr, AttrType, Kind};
use serde_json::{Map, Value};
use std::cmp::Ordering;

/// Does `resource` (a rendered resource of `kind`) match `filter`?
pub fn matches(kind: Kind, filter: &Filter, resource: &Value) -> bool {
    let Some(obj) = resource.as_object() else {
        return false;
    };
    eval(&Scope::Resource(kind), filter, obj)
}

/// Does one value of a multi-valued complex attribute match a value filter whose paths are
/// relative to it (`type eq "work"` inside `emails[...]`)? `attr` is the multi-valued attribute's
/// definition, `None` for a custom extension attribute.
pub fn matches_value(attr: Option<&'static Attr>, filter: &Filter, value: &Value) -> bool {
    match value.as_object() {
        Some(obj) => eval(&Scope::Value(attr), filter, obj),
        None => {
            // A simple multi-valued attribute: its values are compared through `value`.
            let mut m = Map::new();
            m.insert("value".into(), value.clone());
            eval(&Scope::Value(attr), filter, &m)
        }
    }
}

/// What the attribute paths of a (sub-)filter are relative to.
enum Scope {
    Resource(Kind),
    /// One value of a multi-valued complex attribute.
    Value(Option<&'static Attr>),
}

fn eval(scope: &Scope, f: &Filter, obj: &Map<String, Value>) -> bool {
    match f {
        Filter::And(a, b) => eval(scope, a, obj) && eval(scope, b, obj),
        Filter::Or(a, b) => eval(scope, a, obj) || eval(scope, b, obj),
        Filter::Not(a) => !eval(scope, a, obj),
        Filter::Present(p) => {
            let values = match (&p.sub, raw(scope, p, obj)) {
                (None, (_, Some(v))) => vec![v],
                (None, (_, None)) => Vec::new(),
                (Some(_), _) => lookup(scope, p, obj).1,
            };
            values.iter().any(|v| match v {
                Value::Null => false,
                Value::String(s) => !s.is_empty(),
                Value::Array(a) => !a.is_empty(),
                Value::Object(o) => !o.is_empty(),
                _ => true,
            })
        }
        Filter::Compare(p, op, value) => {
            let (def, values) = lookup(scope, p, obj);
            if *op == CompareOp::Ne {
                return !values.iter().any(|v| compare(def, v, CompareOp::Eq, value));
            }
            if matches!(value, CompValue::Null) && *op == CompareOp::Eq {
                return values.iter().all(|v| v.is_null());
            }
            values.iter().any(|v| compare(def, v, *op, value))
        }
        Filter::ValuePath(p, inner) => match raw(scope, p, obj) {
            (def, Some(Value::Array(items))) => items.iter().any(|v| matches_value(def, inner, v)),
            (def, Some(v)) => matches_value(def, inner, v),
            (_, None) => false,
        },
    }
}

/// The definition of the attribute `p` names and its values in `obj`, multi-valued attributes
/// flattened (and their complex values read through `value` when compared directly).
fn container<'o>(
    scope: &Scope,
    p: &AttrPath,
    obj: &'o Map<String, Value>,
) -> (Option<&'o Map<String, Value>>, Option<&'static Attr>) {
    match scope {
        Scope::Resource(kind) => match &p.urn {
            None => (Some(obj), schema::find_top(*kind, &p.attr)),
            Some(u) if u.eq_ignore_ascii_case(kind.core_urn()) => {
                (Some(obj), schema::find_top(*kind, &p.attr))
            }
            Some(u) => match extension_key(*kind, u) {
                Some(ext) => (
                    get_ci(obj, &ext).and_then(Value::as_object),
                    schema::schema_attrs(*kind, &ext).and_then(|attrs| schema::find(attrs, &p.attr)),
                ),
                None => (None, None),
            },
        },
        Scope::Value(parent) => (Some(obj), parent.and_then(|a| schema::find(a.sub, &p.attr))),
    }
}

/// The definition of the attribute `p` names and its values in `obj`, multi-valued attributes
/// flattened and complex values read through their `value` sub-attribute.
fn lookup<'o>(
    scope: &Scope,
    p: &AttrPath,
    obj: &'o Map<String, Value>,
) -> (Option<&'static Attr>, Vec<&'o Value>) {
    let (container, top_def) = container(scope, p, obj);
    let Some(container) = container else {
        return (None, Vec::new());
    };
    let Some(v) = get_ci(container, &p.attr) else {
        return (top_def, Vec::new());
    };
    let mut out = Vec::new();
    match &p.sub {
        Some(sub) => {
            let def = top_def.and_then(|a| schema::find(a.sub, sub));
            let mut push = |item: &'o Value| {
                if let Some(sv) = item.as_object().and_then(|o| get_ci(o, sub)) {
                    flatten(sv, &mut out);
                }
            };
            match v {
                Value::Array(items) => items.iter().for_each(&mut push),
                other => push(other),
            }
            (def, out)
        }
        None => {
            // `emails co "x"` or `members eq "id"`: complex values compare through `value`.
            let def = match top_def {
                Some(a) if a.ty == AttrType::Complex => schema::find(a.sub, "value"),
                other => other,
            };
            let mut push = |item: &'o Value| match item {
                Value::Object(o) => {
                    if let Some(sv) = get_ci(o, "value") {
                        out.push(sv);
                    }
                }
                other => out.push(other),
            };
            match v {
                Value::Array(items) => items.iter().for_each(&mut push),
                other => push(other),
            }
            (def, out)
        }
    }
}

/// The raw value of the attribute `p` names, for value filters, which look at whole elements.
fn raw<'o>(
    scope: &Scope,
    p: &AttrPath,
    obj: &'o Map<String, Value>,
) -> (Option<&'static Attr>, Option<&'o Value>) {
    let (container, def) = container(scope, p, obj);
    (def, container.and_then(|c| get_ci(c, &p.attr)))
}

fn flatten<'o>(v: &'o Value, out: &mut Vec<&'o Value>) {
    match v {
        Value::Array(items) => out.extend(items.iter()),
        other => out.push(other),
    }
}

fn compare(def: Option<&Attr>, v: &Value, op: CompareOp, target: &CompValue) -> bool {
    let ty = def.map(|d| d.ty);
    let case_exact = def.is_some_and(|d| d.case_exact);
    match (v, target) {
        (_, CompValue::Null) => false,
        (Value::Bool(b), t) => {
            let t = match t {
                CompValue::Bool(t) => Some(*t),
                CompValue::Str(s) => coerce_bool(&Value::String(s.clone())),
                _ => None,
            };
            match (op, t) {
                (CompareOp::Eq, Some(t)) => *b == t,
                _ => false,
            }
        }
        (Value::String(s), CompValue::Bool(t)) if ty == Some(AttrType::Boolean) || ty.is_none() => {
            coerce_bool(&Value::String(s.clone())) == Some(*t) && op == CompareOp::Eq
        }
        (Value::Number(n), CompValue::Number(t)) => match (n.as_f64(), t.as_f64()) {
            (Some(a), Some(b)) => ordered(op, a.partial_cmp(&b)),
            _ => false,
        },
        (Value::Number(n), CompValue::Str(t)) => match t.trim().parse::<f64>() {
            Ok(b) => ordered(op, n.as_f64().and_then(|a| a.partial_cmp(&b))),
            Err(_) => false,
        },
        (Value::String(s), CompValue::Str(t)) => {
            if ty == Some(AttrType::DateTime) {
                if let (Some(a), Some(b)) = (parse_time(s), parse_time(t)) {
                    return ordered(op, Some(a.cmp(&b)));
                }
            }
            compare_str(s, t, op, case_exact)
        }
        (Value::String(s), CompValue::Number(n)) => compare_str(s, &n.to_string(), op, case_exact),
        _ => false,
    }
}

pub fn parse_time(s: &str) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::parse(s.trim(), &time::format_description::well_known::Rfc3339).ok()
}

fn ordered(op: CompareOp, ord: Option<Ordering>) -> bool {
    let Some(ord) = ord else { return false };
    match op {
        CompareOp::Eq => ord == Ordering::Equal,
        CompareOp::Ne => ord != Ordering::Equal,
        CompareOp::Gt => ord == Ordering::Greater,
        CompareOp::Ge => ord != Ordering::Less,
        CompareOp::Lt => ord == Ordering::Less,
        CompareOp::Le => ord != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

/// Case folding for caseExact=false comparisons: Unicode lower case, so `ÅSA` finds `åsa`.
pub fn fold(s: &str) -> String {
    s.to_lowercase()
}

fn compare_str(s: &str, t: &str, op: CompareOp, case_exact: bool) -> bool {
    let (a, b) = if case_exact {
        (s.to_string(), t.to_string())
    } else {
        (fold(s), fold(t))
    };
    match op {
        CompareOp::Co => a.contains(&b),
        CompareOp::Sw => a.starts_with(&b),
        CompareOp::Ew => a.ends_with(&b),
        _ => ordered(op, Some(a.cmp(&b))),
    }
}

/// Orders two resources by the attribute `path` for `sortBy` (RFC 7644 section 3.4.2.3): by its
/// first value (the primary one for multi-valued attributes), absent values last, strings by the
/// attribute's caseExact.
pub fn sort_key(kind: Kind, path: &AttrPath, resource: &Value) -> Option<SortKey> {
    let obj = resource.as_object()?;
    let (def, values) = lookup(&Scope::Resource(kind), path, obj);
    let v = values.first()?;
    let case_exact = def.is_some_and(|d| d.case_exact);
    Some(match v {
        Value::String(s) if case_exact => SortKey::Str(s.clone()),
        Value::String(s) => SortKey::Str(fold(s)),
        Value::Number(n) => SortKey::Num(n.as_f64().unwrap_or(0.0)),
        Value::Bool(b) => SortKey::Num(f64::from(u8::from(*b))),
        other => SortKey::Str(other.to_string()),
    })
}

#[derive(Debug, Clone, PartialEq, PartialOrd)]
pub enum SortKey {
    Num(f64),
    Str(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::parse;
    use serde_json::json;

    fn user() -> Value {
        json!({
            "schemas": [schema::USER, schema::ENTERPRISE],
            "id": "2819c223-7f76-453a-919d-413861904646",
            "externalId": "jYoung",
            "userName": "Alice@Example.com",
            "name": {"givenName": "Alice", "familyName": "Åström"},
            "active": true,
            "emails": [
                {"value": "alice@work.example", "type": "work", "primary": true},
                {"value": "alice@home.example", "type": "home"}
            ],
            "addresses": [{"type": "work", "primary": true, "streetAddress": "1 Main St"}],
            "groups": [{"value": "g1", "display": "Admins"}],
            schema::ENTERPRISE: {"employeeNumber": "701984", "manager": {"value": "m1"}},
            "urn:ietf:params:scim:schemas:extension:CustomExt:2.0:User": {"costCenter": "CC-9"},
            "meta": {"resourceType": "User", "created": "2026-01-02T03:04:05.000Z", "lastModified": "2026-03-01T00:00:00.000Z"}
        })
    }

    fn m(filter: &str) -> bool {
        matches(Kind::User, &parse(filter).unwrap(), &user())
    }

    #[test]
    fn case_exactness_follows_the_schema() {
        assert!(m(r#"userName eq "alice@example.com""#));
        assert!(m(r#"USERNAME EQ "ALICE@EXAMPLE.COM""#));
        assert!(!m(r#"externalId eq "jyoung""#));
        assert!(m(r#"externalId eq "jYoung""#));
        assert!(m("externalId eq jYoung"));
        assert!(!m(r#"id eq "2819C223-7F76-453A-919D-413861904646""#));
        assert!(m(r#"name.familyName eq "åström""#));
    }

    #[test]
    fn operators() {
        assert!(m(r#"userName sw "alice""#));
        assert!(m(r#"userName ew "example.COM""#));
        assert!(m(r#"userName co "e@ex""#));
        assert!(m(r#"userName ne "bob""#));
        assert!(!m(r#"userName gt "b""#));
        assert!(m(r#"userName lt "b""#));
        assert!(m("title ne \"x\""));
        assert!(!m("title pr"));
        assert!(m("name pr"));
        assert!(m(r#"not (userName eq "bob")"#));
        assert!(m(r#"userName eq "bob" or active eq true"#));
        assert!(!m(r#"userName eq "bob" and active eq true"#));
    }

    #[test]
    fn booleans_accept_strings() {
        assert!(m(r#"active eq "True""#));
        assert!(m("active eq true"));
        assert!(!m("active eq false"));
        assert!(m(r#"addresses[primary EQ "True"]"#));
        assert!(m(r#"emails[type eq "work" and primary eq true]"#));
    }

    #[test]
    fn multi_valued_and_value_paths() {
        assert!(m(r#"emails.value eq "ALICE@home.example""#));
        assert!(m(r#"emails co "home""#));
        assert!(m(r#"emails[type eq "work"].value eq "alice@work.example""#));
        assert!(!m(r#"emails[type eq "home"].value eq "alice@work.example""#));
        assert!(m(r#"emails[type eq "work" and value co "@work"]"#));
        assert!(m(r#"groups.value eq "g1""#));
        assert!(m(r#"groups eq "g1""#));
    }

    #[test]
    fn extensions_and_meta() {
        assert!(m(&format!("{}:employeeNumber eq \"701984\"", schema::ENTERPRISE)));
        assert!(m(&format!("{}:manager.value eq \"m1\"", schema::ENTERPRISE)));
        assert!(m(
            r#"id eq "2819c223-7f76-453a-919d-413861904646" and urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "m1""#
        ));
        assert!(m(
            "urn:ietf:params:scim:schemas:extension:CustomExt:2.0:User:costcenter eq \"cc-9\""
        ));
        assert!(m(r#"meta.lastModified gt "2026-01-01T00:00:00Z""#));
        assert!(m(
            r#"meta.lastModified lt "2026-03-01T01:00:00+01:00" or meta.created eq "2026-01-02T03:04:05Z""#
        ));
        assert!(!m(r#"meta.created gt "2026-01-02T03:04:05Z""#));
        assert!(m(&format!("{}:userName eq \"alice@example.com\"", schema::USER)));
    }

    #[test]
    fn absent_and_null() {
        assert!(!m(r#"nickName eq "x""#));
        assert!(m("nickName eq null"));
        assert!(!m("userName eq null"));
        assert!(!m(
            r#"urn:ietf:params:scim:schemas:extension:Other:2.0:User:x eq "y""#
        ));
    }

    #[test]
    fn members_of_a_group() {
        let g = json!({"id": "g", "displayName": "Team", "members": [{"value": "u1", "type": "User"}, {"value": "u2"}]});
        let f = parse(r#"members[value eq "u2"]"#).unwrap();
        assert!(matches(Kind::Group, &f, &g));
        assert!(matches(Kind::Group, &parse(r#"members eq "u1""#).unwrap(), &g));
        assert!(!matches(
            Kind::Group,
            &parse(r#"members.value eq "U1""#).unwrap(),
            &g
        ));
        assert!(matches(
            Kind::Group,
            &parse(r#"displayName eq "TEAM""#).unwrap(),
            &g
        ));
    }
}
