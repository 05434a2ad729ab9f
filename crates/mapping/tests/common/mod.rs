//! An expression context for tests: attributes from a map, a fixed clock, fixed "random" bytes.

use provisio_mapping::expr::Context;
use provisio_mapping::Value;
use std::collections::HashMap;
use time::macros::datetime;
use time::OffsetDateTime;

pub struct Ctx(pub HashMap<String, Value>);

impl Context for Ctx {
    fn attribute(&self, name: &str) -> Value {
        self.0.get(name).cloned().unwrap_or(Value::Null)
    }
    fn now(&self) -> OffsetDateTime {
        datetime!(2026-12-01 12:00 UTC)
    }
    fn fill_random(&self, buf: &mut [u8]) {
        buf.fill(7);
    }
}

/// A context with these text attributes.
pub fn ctx(pairs: &[(&str, &str)]) -> Ctx {
    Ctx(pairs
        .iter()
        .map(|(k, v)| (k.to_string(), Value::str(*v)))
        .collect())
}
