//! Values that flow through mappings: the source attributes a directory object offers and the
//! results of expressions.

use std::fmt;
use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// An attribute without a value. Null values are not provisioned.
    Null,
    Str(String),
    Bool(bool),
    Int(i64),
    /// Always in UTC.
    Date(OffsetDateTime),
    /// A multi-valued attribute (`proxyAddresses`, `Split(...)`), never nested.
    Multi(Vec<Value>),
    /// A complex value such as an app role assignment (`{"value": ..., "displayName": ...}`).
    Json(serde_json::Value),
}

impl Value {
    pub fn str(s: impl Into<String>) -> Self {
        Value::Str(s.into())
    }

    /// Null, an empty string, or a multi-valued attribute without values.
    pub fn is_null_or_empty(&self) -> bool {
        match self {
            Value::Null => true,
            Value::Str(s) => s.is_empty(),
            Value::Multi(v) => v.iter().all(Value::is_null_or_empty),
            _ => false,
        }
    }

    pub fn is_null(&self) -> bool {
        match self {
            Value::Null => true,
            Value::Multi(v) => v.is_empty(),
            _ => false,
        }
    }

    /// The value as text, the way .NET's `ToString()` renders it (booleans `True`/`False`, dates
    /// `M/d/yyyy h:mm:ss tt`); a multi-valued attribute gives its first value. `None` for null.
    pub fn text(&self) -> Option<String> {
        match self {
            Value::Null => None,
            Value::Str(s) => Some(s.clone()),
            Value::Bool(b) => Some(if *b { "True" } else { "False" }.to_string()),
            Value::Int(i) => Some(i.to_string()),
            Value::Date(d) => Some(crate::netdate::default_string(*d)),
            Value::Multi(v) => v.iter().find_map(Value::text),
            Value::Json(j) => Some(json_text(j)),
        }
    }

    /// Every value of a multi-valued attribute (one for a single value, none for null).
    pub fn items(&self) -> Vec<Value> {
        match self {
            Value::Null => Vec::new(),
            Value::Multi(v) => v.iter().filter(|x| !x.is_null()).cloned().collect(),
            other => vec![other.clone()],
        }
    }

    /// The JSON a SCIM resource carries for this value.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Null => J::Null,
            Value::Str(s) => J::String(s.clone()),
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Date(d) => J::String(
                d.format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default(),
            ),
            Value::Multi(v) => J::Array(v.iter().map(Value::to_json).collect()),
            Value::Json(j) => j.clone(),
        }
    }
}

/// A complex value as text: its `value` member when it has one (an app role's value), else JSON.
fn json_text(j: &serde_json::Value) -> String {
    match j {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Object(o) => match o.get("value") {
            Some(serde_json::Value::String(s)) => s.clone(),
            _ => j.to_string(),
        },
        other => other.to_string(),
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Multi(v) => {
                f.write_str("[")?;
                for (i, x) in v.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{x}")?;
                }
                f.write_str("]")
            }
            Value::Null => f.write_str("(null)"),
            other => f.write_str(&other.text().unwrap_or_default()),
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(s)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<Option<String>> for Value {
    fn from(s: Option<String>) -> Self {
        s.map(Value::Str).unwrap_or(Value::Null)
    }
}
