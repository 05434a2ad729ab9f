//! What a mapping makes of one source object: each attribute mapping evaluated (Direct, Constant,
//! Expression; the default value on create; "Only during object creation" honoured;
//! `IgnoreFlowIfNullOrEmpty` and null values left out), then placed at its SCIM path in a resource
//! document: `name.givenName` in a sub-object, `emails[type eq "work"].value` in the array element
//! the filter selects (created when missing), extension attributes under their schema URN.

use crate::expr::{Context, ExprError, Expression};
use crate::Value;
use provisio_scim::filter::{CompValue, CompareOp, Filter};
use provisio_scim::path::PatchPath;
use serde_json::{Map, Value as Json};

/// The core schemas, whose attributes live at the top of a resource.
const CORE_URNS: [&str; 2] = [
    "urn:ietf:params:scim:schemas:core:2.0:User",
    "urn:ietf:params:scim:schemas:core:2.0:Group",
];

/// One attribute mapping as configured.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    pub target: String,
    pub kind: SpecKind,
    /// The source attribute, the constant or the expression text.
    pub source: String,
    pub default_value: String,
    /// 0 when not used for matching.
    pub matching: i64,
    pub create_only: bool,
}

/// Where an attribute mapping's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecKind {
    Direct,
    Constant,
    Expression,
    /// Nothing flows (the mapping only documents the target attribute).
    None,
}

#[derive(Debug, Clone)]
enum Source {
    Direct(String),
    Constant(String),
    Expression(Expression),
    None,
}

#[derive(Debug, Clone)]
struct Compiled {
    target_text: String,
    source: Source,
    default_value: Option<String>,
    matching: i64,
    create_only: bool,
}

/// A mapping's attribute mappings, parsed once for every object they are applied to.
#[derive(Debug, Clone)]
pub struct Mapping {
    attrs: Vec<Compiled>,
}

/// One exported attribute: where it goes and what it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Exported {
    pub target: String,
    pub value: Value,
    /// `Redact` was used: logs show `[Redact]`.
    pub redacted: bool,
}

/// Why an object could not be exported: the mapping and the expression's error.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportError {
    pub target: String,
    pub error: ExprError,
}

impl std::fmt::Display for ExportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the mapping of {} failed {}", self.target, self.error)
    }
}

impl Mapping {
    pub fn new(specs: &[Spec]) -> Result<Mapping, String> {
        let mut attrs = Vec::with_capacity(specs.len());
        for s in specs {
            let target = crate::target::parse(&s.target).map_err(|m| format!("{}: {m}", s.target))?;
            let source = match s.kind {
                SpecKind::Direct => Source::Direct(s.source.clone()),
                SpecKind::Constant => Source::Constant(s.source.clone()),
                SpecKind::Expression => Source::Expression(
                    Expression::parse(&s.source).map_err(|e| format!("{}: {e}", s.target))?,
                ),
                SpecKind::None => Source::None,
            };
            attrs.push(Compiled {
                target_text: target.to_string(),
                source,
                default_value: (!s.default_value.is_empty()).then(|| s.default_value.clone()),
                matching: s.matching,
                create_only: s.create_only,
            });
        }
        Ok(Mapping { attrs })
    }

    /// The attribute values for an object; `creating` applies defaults and create-only mappings.
    pub fn export(&self, ctx: &dyn Context, creating: bool) -> Result<Vec<Exported>, ExportError> {
        let mut out = Vec::with_capacity(self.attrs.len());
        for a in &self.attrs {
            if a.create_only && !creating {
                continue;
            }
            let (mut value, redacted) = match &a.source {
                Source::None => continue,
                Source::Direct(name) => (ctx.attribute(name), false),
                Source::Constant(c) => (Value::Str(c.clone()), false),
                Source::Expression(e) => {
                    let o = e.evaluate(ctx).map_err(|error| ExportError {
                        target: a.target_text.clone(),
                        error,
                    })?;
                    if o.ignore_flow {
                        continue;
                    }
                    (o.value, o.redacted)
                }
            };
            if value.is_null_or_empty() {
                match (&a.default_value, creating) {
                    (Some(d), true) => value = Value::Str(d.clone()),
                    _ => continue,
                }
            }
            out.push(Exported {
                target: a.target_text.clone(),
                value,
                redacted,
            });
        }
        Ok(out)
    }

    /// The matching attributes in precedence order, with their values for this export: what the
    /// engine looks the object up by in the target.
    pub fn matching<'a>(&self, exported: &'a [Exported]) -> Vec<(&'a str, &'a Value)> {
        let mut m: Vec<&Compiled> = self.attrs.iter().filter(|a| a.matching > 0).collect();
        m.sort_by_key(|a| a.matching);
        m.iter()
            .filter_map(|a| {
                exported
                    .iter()
                    .find(|e| e.target == a.target_text)
                    .map(|e| (e.target.as_str(), &e.value))
            })
            .collect()
    }

    /// The first matching attribute's target (`userName`), if any attribute matches.
    pub fn first_matching(&self) -> Option<&str> {
        self.attrs
            .iter()
            .filter(|a| a.matching > 0)
            .min_by_key(|a| a.matching)
            .map(|a| a.target_text.as_str())
    }

    /// Whether any mapping writes `target` (for example `members` or the enterprise `manager`).
    pub fn writes(&self, target: &str) -> bool {
        self.attrs
            .iter()
            .any(|a| a.target_text.eq_ignore_ascii_case(target) && !matches!(a.source, Source::None))
    }
}

/// JSON for a value at a leaf: multi-valued values become arrays, complex values stay as they are.
fn leaf(v: &Value) -> Json {
    v.to_json()
}

/// Places each exported value at its path in a resource document (without `schemas`, `id` or
/// `meta`, which the engine adds).
#[allow(clippy::expect_used, reason = "the extension was made an object just above")]
pub fn to_resource(exported: &[Exported]) -> Map<String, Json> {
    let mut doc = Map::new();
    for e in exported {
        let Ok(p) = crate::target::parse(&e.target) else {
            continue;
        };
        let holder: &mut Map<String, Json> = match &p.attr.urn {
            Some(urn) if !CORE_URNS.iter().any(|c| c.eq_ignore_ascii_case(urn)) => {
                let ext = doc.entry(urn.clone()).or_insert_with(|| Json::Object(Map::new()));
                if !ext.is_object() {
                    *ext = Json::Object(Map::new());
                }
                ext.as_object_mut().expect("an object")
            }
            _ => &mut doc,
        };
        place(holder, &p, leaf(&e.value));
    }
    doc
}

/// The equalities of a value filter (`type eq "work" and primary eq true`).
fn equalities(f: &Filter, out: &mut Vec<(String, Json)>) {
    match f {
        Filter::Compare(a, CompareOp::Eq, v) => out.push((
            a.attr.clone(),
            match v {
                CompValue::Str(s) => Json::String(s.clone()),
                CompValue::Bool(b) => Json::Bool(*b),
                CompValue::Number(n) => Json::Number(n.clone()),
                CompValue::Null => Json::Null,
            },
        )),
        Filter::And(a, b) => {
            equalities(a, out);
            equalities(b, out);
        }
        _ => {}
    }
}

#[allow(
    clippy::expect_used,
    reason = "the list and the value were made an array and an object just above"
)]
fn place(holder: &mut Map<String, Json>, p: &PatchPath, value: Json) {
    let name = p.attr.attr.clone();
    match (&p.filter, &p.sub, &p.attr.sub) {
        (Some(f), Some(sub), _) => {
            let mut eqs = Vec::new();
            equalities(f, &mut eqs);
            let list = holder.entry(name).or_insert_with(|| Json::Array(Vec::new()));
            if !list.is_array() {
                *list = Json::Array(Vec::new());
            }
            let items = list.as_array_mut().expect("an array");
            let found = items.iter().position(|item| {
                eqs.iter()
                    .all(|(k, v)| item.get(k).is_some_and(|x| json_eq(x, v)))
            });
            let i = match found {
                Some(i) => i,
                None => {
                    let mut m = Map::new();
                    for (k, v) in &eqs {
                        m.insert(k.clone(), v.clone());
                    }
                    items.push(Json::Object(m));
                    items.len() - 1
                }
            };
            if let Some(obj) = items[i].as_object_mut() {
                obj.insert(sub.clone(), value);
            }
        }
        (_, _, Some(sub)) => {
            let obj = holder.entry(name).or_insert_with(|| Json::Object(Map::new()));
            if !obj.is_object() {
                *obj = Json::Object(Map::new());
            }
            obj.as_object_mut().expect("an object").insert(sub.clone(), value);
        }
        _ => {
            holder.insert(name, value);
        }
    }
}

/// Filter values compare case-insensitively for strings (`type eq "Work"` finds `"work"`).
fn json_eq(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::String(x), Json::String(y)) => x.eq_ignore_ascii_case(y),
        _ => a == b,
    }
}

/// One operation of a SCIM PATCH request, as the engine sends it.
#[derive(Debug, Clone, PartialEq)]
pub enum PatchOp {
    Replace { path: String, value: Json },
    Remove { path: String },
}

impl PatchOp {
    pub fn to_json(&self) -> Json {
        match self {
            PatchOp::Replace { path, value } => {
                serde_json::json!({"op": "replace", "path": path, "value": value})
            }
            PatchOp::Remove { path } => serde_json::json!({"op": "remove", "path": path}),
        }
    }
}

/// What must change in the target to go from what was last exported to what is exported now:
/// a replace for each new or changed attribute, a remove for each that no longer has a value.
/// Only attributes the mapping still writes are removed (`still_mapped`), so deleting a mapping
/// leaves the target's value alone, as Entra does. An unchanged object gives no operations: the
/// engine logs it as already in sync and sends nothing.
pub fn diff(
    previous: &[Exported],
    current: &[Exported],
    still_mapped: &dyn Fn(&str) -> bool,
) -> Vec<PatchOp> {
    let mut ops = Vec::new();
    for c in current {
        let before = previous.iter().find(|p| p.target == c.target);
        if before.is_none_or(|p| p.value != c.value) {
            ops.push(PatchOp::Replace {
                path: c.target.clone(),
                value: leaf(&c.value),
            });
        }
    }
    for p in previous {
        if !current.iter().any(|c| c.target == p.target) && still_mapped(&p.target) {
            ops.push(PatchOp::Remove {
                path: p.target.clone(),
            });
        }
    }
    ops
}
