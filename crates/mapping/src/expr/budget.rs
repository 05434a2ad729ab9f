//! What one evaluation may produce. The expression language limits its input (length, nesting),
//! but a short expression can still ask for gigabytes: `ConvertToBase64` nested twenty times, or a
//! `Replace` whose replacement is long. So evaluation has a budget on its *output*: every value a
//! function makes counts, intermediate ones included, and the evaluation stops with an error naming
//! the function that went over. Functions whose result can be many times their input check the size
//! before they allocate.
//!
//! [`bound`] is the same budget applied ahead of time: an upper bound of what an expression can
//! produce for any object whose attributes are within their limits, so a mapping that could blow the
//! budget for some user is refused when it is saved, not in the middle of a cycle.

use super::{Expr, ExprError, Kind};
use crate::Value;

/// Largest value (in bytes) any function may produce.
pub const MAX_VALUE_BYTES: usize = 1 << 20;
/// Largest total of all values one evaluation may produce, intermediate ones included.
pub const MAX_EVALUATION_BYTES: usize = 16 << 20;
/// What a value of a multi-valued result costs beyond its text.
pub const ITEM_OVERHEAD: usize = 32;

fn mib(bytes: usize) -> String {
    format!("{} MiB", bytes >> 20)
}

fn over_value(name: &str, pos: usize, bytes: usize) -> ExprError {
    ExprError {
        pos,
        message: format!(
            "{name} would produce {bytes} bytes; a value may have at most {}",
            mib(MAX_VALUE_BYTES)
        ),
    }
}

/// The bytes a value holds, as the budget counts them.
pub fn footprint(v: &Value) -> usize {
    match v {
        Value::Null | Value::Bool(_) | Value::Int(_) | Value::Date(_) => 8,
        Value::Str(s) => s.len(),
        Value::Multi(items) => items.iter().map(|i| footprint(i) + ITEM_OVERHEAD).sum(),
        Value::Json(j) => json_footprint(j),
    }
}

fn json_footprint(j: &serde_json::Value) -> usize {
    use serde_json::Value as J;
    match j {
        J::String(s) => s.len() + 2,
        J::Array(a) => a.iter().map(|x| json_footprint(x) + 1).sum::<usize>() + 2,
        J::Object(o) => {
            o.iter()
                .map(|(k, x)| k.len() + 4 + json_footprint(x))
                .sum::<usize>()
                + 2
        }
        _ => 8,
    }
}

/// The running account of one evaluation.
#[derive(Debug, Default)]
pub struct Meter {
    spent: usize,
}

impl Meter {
    /// Checks, before allocating, that `name` may make a value of `bytes`.
    pub fn reserve(&self, name: &str, pos: usize, bytes: usize) -> Result<(), ExprError> {
        if bytes > MAX_VALUE_BYTES {
            return Err(over_value(name, pos, bytes));
        }
        self.check_total(name, pos, self.spent.saturating_add(bytes))
    }

    /// Counts a value `name` made.
    pub fn charge(&mut self, name: &str, pos: usize, v: &Value) -> Result<(), ExprError> {
        let bytes = footprint(v);
        if bytes > MAX_VALUE_BYTES {
            return Err(over_value(name, pos, bytes));
        }
        self.spent = self.spent.saturating_add(bytes);
        self.check_total(name, pos, self.spent)
    }

    fn check_total(&self, name: &str, pos: usize, total: usize) -> Result<(), ExprError> {
        if total > MAX_EVALUATION_BYTES {
            return Err(ExprError {
                pos,
                message: format!(
                    "{name} went over the evaluation's budget: an expression may produce at most {} \
                     of values, intermediate ones included",
                    mib(MAX_EVALUATION_BYTES)
                ),
            });
        }
        Ok(())
    }
}

/// An upper bound, in budget bytes, of what `e` can produce when every attribute `name` has at most
/// `attribute_max(name)` bytes (`attribute_max("")` for an attribute named at run time); an error
/// names the first function whose worst case is over the per-value budget. The sum of all the
/// bounds is checked against the evaluation budget.
pub fn bound(e: &Expr, attribute_max: &dyn Fn(&str) -> usize) -> Result<usize, ExprError> {
    let mut total = 0usize;
    let b = node(e, attribute_max, &mut total)?;
    if total > MAX_EVALUATION_BYTES {
        return Err(ExprError {
            pos: e.pos,
            message: format!(
                "for some users this expression would produce more than {} of values",
                mib(MAX_EVALUATION_BYTES)
            ),
        });
    }
    Ok(b)
}

/// Bytes a date, number or boolean costs, and the longest text one renders as.
const SCALAR: usize = 64;

fn node(e: &Expr, attribute_max: &dyn Fn(&str) -> usize, total: &mut usize) -> Result<usize, ExprError> {
    let b = match &e.kind {
        Kind::Attr(a) => attribute_max(a),
        Kind::Str(s) => s.len(),
        Kind::Num(_) | Kind::Name(_) | Kind::Empty | Kind::Compare { .. } => SCALAR,
        Kind::Call { name, args } => {
            let mut a = Vec::with_capacity(args.len());
            for x in args {
                a.push(node(x, attribute_max, total)?);
            }
            let b = call(name, &a, args, attribute_max);
            if b > MAX_VALUE_BYTES {
                return Err(over_value(name, e.pos, b));
            }
            b
        }
    };
    if let Kind::Compare { lhs, rhs, .. } = &e.kind {
        node(lhs, attribute_max, total)?;
        node(rhs, attribute_max, total)?;
    }
    *total = total.saturating_add(b);
    Ok(b)
}

/// The worst case of one function, from its arguments' worst cases. Every function of
/// [`super::functions::FUNCTIONS`] has an arm (a unit test checks), and a property test checks the
/// evaluator never exceeds these bounds.
fn call(name: &str, a: &[usize], args: &[Expr], attribute_max: &dyn Fn(&str) -> usize) -> usize {
    let arg = |i: usize| a.get(i).copied().unwrap_or(0);
    let max_of = |from: usize| a.iter().skip(from).copied().max().unwrap_or(0);
    let sum = |from: usize| a.iter().skip(from).fold(0usize, |s, x| s.saturating_add(*x));
    match name {
        "Append" => arg(0).saturating_add(arg(1)),
        // Each role becomes an object with its value twice and 60 bytes of keys.
        "AppRoleAssignmentsComplex" => arg(0).saturating_mul(3).saturating_add(128),
        "BitAnd" | "CBool" | "Not" | "CDate" | "Count" | "DateAdd" | "DateDiff" | "DateFromNum"
        | "NumFromDate" | "Guid" | "InStr" | "IsNull" | "IsNullOrEmpty" | "IsPresent" | "IsString"
        | "Now" => SCALAR,
        "Coalesce" | "SelectUniqueValue" => max_of(0),
        "IIF" => arg(1).max(arg(2)),
        "Switch" => arg(1).max(a.iter().skip(3).step_by(2).copied().max().unwrap_or(0)),
        // UTF-16 has at most two bytes per UTF-8 byte; base64 makes four of every three.
        "ConvertToBase64" => arg(0).saturating_mul(8) / 3 + 4,
        "ConvertToUTF8Hex" => arg(0).saturating_mul(2),
        // A JSON value renders as text no longer than its footprint; scalars as SCALAR at most.
        "CStr"
        | "Item"
        | "SingleAppRoleAssignment"
        | "Left"
        | "Mid"
        | "Word"
        | "StripSpaces"
        | "IgnoreFlowIfNullOrEmpty"
        | "Redact"
        | "RemoveDuplicates" => arg(0).max(SCALAR),
        // Each format letter writes at most a month name.
        "FormatDateTime" => arg(a.len().saturating_sub(1))
            .saturating_mul(16)
            .saturating_add(SCALAR),
        // Non-empty parts, each of at least one byte, with a separator between two.
        "Join" => sum(1).saturating_add(sum(1).saturating_mul(arg(0))),
        // Case mapping and decomposition write at most three bytes per byte.
        "NormalizeDiacritics" | "PCase" | "ToLower" | "ToUpper" => arg(0).saturating_mul(3),
        "RandomString" => super::eval::MAX_RANDOM_LENGTH as usize,
        "Replace" => replace_bound(a, args, attribute_max),
        // Up to one value per byte plus one, each no longer than the source.
        "Split" => arg(0).saturating_add(arg(0).saturating_add(1).saturating_mul(ITEM_OVERHEAD)),
        _ => usize::MAX,
    }
}

/// Replace's forms: a template with `oldValue` replaced by the source; the source with every
/// `oldValue` (at most one per byte plus one) or regular expression match replaced by the
/// replacement, whose `$` references expand to at most the source each; or a regular expression
/// group of another attribute.
fn replace_bound(a: &[usize], args: &[Expr], attribute_max: &dyn Fn(&str) -> usize) -> usize {
    let arg = |i: usize| a.get(i).copied().unwrap_or(0);
    let (source, replacement, template) = (arg(0), arg(4), arg(6));
    let old_min = match args.get(1).map(|x| &x.kind) {
        Some(Kind::Str(s)) => s.len().max(1),
        _ => 1,
    };
    let references = match args.get(4).map(|x| &x.kind) {
        Some(Kind::Str(s)) => s.matches('$').count(),
        Some(Kind::Empty) | None => 0,
        _ => replacement,
    };
    let regex = args.get(2).is_some_and(|x| !matches!(x.kind, Kind::Empty));
    let per_match = if regex {
        replacement.saturating_add(references.saturating_mul(source))
    } else {
        replacement
    };
    let matches = if regex {
        source.saturating_add(1)
    } else {
        source / old_min + 1
    };
    let in_source = matches.saturating_mul(per_match).saturating_add(source);
    let in_template = (template / old_min + 1)
        .saturating_mul(source)
        .saturating_add(template);
    in_template.max(in_source).max(attribute_max(""))
}
