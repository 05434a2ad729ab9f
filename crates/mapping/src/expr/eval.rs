//! Evaluation of a parsed expression. Null propagates through the text functions (a mapping of a
//! missing attribute provisions nothing, rather than a fragment such as "@contoso.com"); the
//! functions that test for null (`IsNull`, `Coalesce`, `IIF`, `Switch`, `Join`, ...) see it.

use super::budget::Meter;
use super::parse::compile_regex;
use super::trace::{Trace, Tracer};
use super::{CmpOp, Expr, Expression, Kind};
use crate::netdate;
use crate::Value;
use base64::Engine as _;
use time::{Duration, OffsetDateTime};

/// What an expression reads from the world: the object's attributes, the clock, randomness and,
/// for `SelectUniqueValue`, whether a value is still free in the target.
pub trait Context {
    /// The attribute's value; [`Value::Null`] when the object has none.
    fn attribute(&self, name: &str) -> Value;
    fn now(&self) -> OffsetDateTime;
    fn fill_random(&self, buf: &mut [u8]);
    fn is_unique(&self, _value: &str) -> bool {
        true
    }
}

/// The result of an expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub value: Value,
    /// `IgnoreFlowIfNullOrEmpty` met null: leave the attribute out of the request entirely.
    pub ignore_flow: bool,
    /// `Redact` was used: logs show `[Redact]` instead of the value.
    pub redacted: bool,
}

/// An evaluation error: the position is that of the function that failed.
pub type EvalError = super::ExprError;

/// Longest string `RandomString` makes.
pub const MAX_RANDOM_LENGTH: i64 = 256;
const HEX: &[u8; 16] = b"0123456789ABCDEF";
const SPECIAL: &str = "!#$%&()*+,-./:;<=>?@[]^_{|}~";

pub(super) fn evaluate(expr: &Expression, ctx: &dyn Context) -> Result<Outcome, EvalError> {
    Evaluator::new(expr, ctx, None).run()
}

pub(super) fn evaluate_traced(expr: &Expression, ctx: &dyn Context) -> (Result<Outcome, EvalError>, Trace) {
    let mut ev = Evaluator::new(expr, ctx, Some(Tracer::default()));
    let outcome = ev.outcome();
    let trace = ev.tracer.take().map(Tracer::finish).unwrap_or_default();
    (outcome, trace)
}

struct Evaluator<'a> {
    expr: &'a Expression,
    ctx: &'a dyn Context,
    ignore_flow: bool,
    redacted: bool,
    /// What the evaluation has produced so far (see [`super::budget`]).
    meter: Meter,
    /// Records the calls, when a trace was asked for.
    tracer: Option<Tracer>,
}

type R<T> = Result<T, EvalError>;

fn fail<T>(pos: usize, message: impl Into<String>) -> R<T> {
    Err(EvalError {
        pos,
        message: message.into(),
    })
}

fn int_of(v: &Value, pos: usize, what: &str) -> R<i64> {
    match v {
        Value::Int(i) => Ok(*i),
        Value::Bool(b) => Ok(*b as i64),
        other => match other.text() {
            Some(t) => {
                let t = t.trim();
                let parsed = match t.strip_prefix("&H").or_else(|| t.strip_prefix("&h")) {
                    Some(h) => i64::from_str_radix(h, 16).ok(),
                    None => t.parse().ok(),
                };
                parsed.map_or_else(
                    || fail(pos, format!("{what} must be a whole number, not {t:?}")),
                    Ok,
                )
            }
            None => fail(pos, format!("{what} has no value")),
        },
    }
}

fn bool_of(v: &Value, pos: usize) -> R<bool> {
    match v {
        Value::Null => Ok(false),
        Value::Bool(b) => Ok(*b),
        Value::Int(i) => Ok(*i != 0),
        other => {
            let t = other.text().unwrap_or_default();
            let t = t.trim();
            if t.eq_ignore_ascii_case("true") {
                Ok(true)
            } else if t.eq_ignore_ascii_case("false") || t.is_empty() {
                Ok(false)
            } else if let Ok(i) = t.parse::<i64>() {
                Ok(i != 0)
            } else {
                fail(pos, format!("{t:?} is not a boolean (True or False)"))
            }
        }
    }
}

fn date_of(v: &Value, pos: usize) -> R<Option<OffsetDateTime>> {
    match v {
        Value::Null => Ok(None),
        Value::Date(d) => Ok(Some(*d)),
        other => {
            let t = other.text().unwrap_or_default();
            match netdate::parse_any(&t) {
                Some(d) => Ok(Some(d)),
                None if t.is_empty() => Ok(None),
                None => fail(pos, format!("{t:?} is not a date")),
            }
        }
    }
}

/// `value` months later, with the day clamped to the month's length as .NET's AddMonths does.
fn add_months(d: OffsetDateTime, months: i64) -> Option<OffsetDateTime> {
    let total = d.year() as i64 * 12 + (d.month() as i64 - 1) + months;
    let year = i32::try_from(total.div_euclid(12)).ok()?;
    let month = time::Month::try_from((total.rem_euclid(12) + 1) as u8).ok()?;
    let day = d.day().min(month.length(year));
    let date = time::Date::from_calendar_date(year, month, day).ok()?;
    Some(d.replace_date(date))
}

/// The byte offset of the `n`th character of `s` (`s.len()` for one past the end), `None` beyond.
fn char_offset(s: &str, n: usize) -> Option<usize> {
    s.char_indices().map(|(i, _)| i).chain([s.len()]).nth(n)
}

fn compare(op: CmpOp, a: &Value, b: &Value) -> bool {
    let a = a.text().unwrap_or_default();
    let b = b.text().unwrap_or_default();
    let ord = match (a.trim().parse::<i64>(), b.trim().parse::<i64>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        _ => a.cmp(&b),
    };
    match op {
        CmpOp::Eq => a == b || (ord.is_eq() && a.trim().parse::<i64>().is_ok()),
        CmpOp::Ne => !(a == b || (ord.is_eq() && a.trim().parse::<i64>().is_ok())),
        CmpOp::Gt => ord.is_gt(),
        CmpOp::Ge => ord.is_ge(),
        CmpOp::Lt => ord.is_lt(),
        CmpOp::Le => ord.is_le(),
    }
}

fn pcase(s: &str, separators: Option<&str>) -> String {
    let seps: std::collections::HashSet<char> = separators.unwrap_or_default().chars().collect();
    let is_sep = |c: char| c.is_whitespace() || seps.contains(&c);
    let mut out = String::with_capacity(s.len());
    let mut start = true;
    for c in s.chars() {
        if is_sep(c) {
            out.push(c);
            start = true;
        } else if start {
            out.extend(c.to_uppercase());
            start = false;
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

impl<'a> Evaluator<'a> {
    fn new(expr: &'a Expression, ctx: &'a dyn Context, tracer: Option<Tracer>) -> Self {
        Evaluator {
            expr,
            ctx,
            ignore_flow: false,
            redacted: false,
            meter: Meter::default(),
            tracer,
        }
    }

    fn run(mut self) -> R<Outcome> {
        self.outcome()
    }

    fn outcome(&mut self) -> R<Outcome> {
        let value = self.eval(&self.expr.root)?;
        Ok(Outcome {
            value,
            ignore_flow: self.ignore_flow,
            redacted: self.redacted,
        })
    }

    fn eval(&mut self, e: &Expr) -> R<Value> {
        let Some(tracer) = self.tracer.as_mut() else {
            return self.eval_node(e);
        };
        let traced = Tracer::traced(e);
        if traced {
            tracer.enter(e);
        }
        let result = self.eval_node(e);
        if let Some(tracer) = self.tracer.as_mut() {
            if traced {
                tracer.leave(&result);
            }
            if let Ok(v) = &result {
                tracer.evaluated(e, v);
            }
        }
        result
    }

    fn eval_node(&mut self, e: &Expr) -> R<Value> {
        match &e.kind {
            Kind::Attr(a) => Ok(self.ctx.attribute(a)),
            Kind::Str(s) => Ok(Value::Str(s.clone())),
            Kind::Num(n) => Ok(Value::Int(*n)),
            Kind::Name(n) => Ok(match n.as_str() {
                "True" => Value::Bool(true),
                "False" => Value::Bool(false),
                other => Value::Str(other.to_string()),
            }),
            Kind::Empty => Ok(Value::Null),
            Kind::Compare { op, lhs, rhs } => {
                let a = self.eval(lhs)?;
                let b = self.eval(rhs)?;
                Ok(Value::Bool(compare(*op, &a, &b)))
            }
            Kind::Call { name, args } => {
                let v = self.call(name, args, e.pos)?;
                self.meter.charge(name, e.pos, &v)?;
                Ok(v)
            }
        }
    }

    fn arg(&mut self, args: &[Expr], i: usize) -> R<Value> {
        match args.get(i) {
            Some(a) => self.eval(a),
            None => Ok(Value::Null),
        }
    }

    fn text(&mut self, args: &[Expr], i: usize) -> R<Option<String>> {
        Ok(self.arg(args, i)?.text())
    }

    fn int(&mut self, args: &[Expr], i: usize, what: &str) -> R<i64> {
        let v = self.arg(args, i)?;
        int_of(&v, args[i].pos, what)
    }

    fn optional_int(&mut self, args: &[Expr], i: usize, what: &str) -> R<Option<i64>> {
        match self.arg(args, i)? {
            Value::Null => Ok(None),
            v => int_of(&v, args[i].pos, what).map(Some),
        }
    }

    fn regex(&self, pattern: &str, pos: usize) -> R<std::borrow::Cow<'_, regex::Regex>> {
        match self.expr.regexes.get(pattern) {
            Some(r) => Ok(std::borrow::Cow::Borrowed(r)),
            None => compile_regex(pattern)
                .map(std::borrow::Cow::Owned)
                .or_else(|m| fail(pos, m)),
        }
    }

    /// A text function of one argument: null in, null out.
    fn map_text(&mut self, args: &[Expr], f: impl FnOnce(String) -> String) -> R<Value> {
        Ok(self.text(args, 0)?.map(f).into())
    }

    fn call(&mut self, name: &str, args: &[Expr], pos: usize) -> R<Value> {
        let present = |i: usize| args.get(i).is_some_and(|a| !matches!(a.kind, Kind::Empty));
        match name {
            "Append" => {
                let Some(s) = self.text(args, 0)? else {
                    return Ok(Value::Null);
                };
                let suffix = self.text(args, 1)?.unwrap_or_default();
                self.meter.reserve("Append", pos, s.len() + suffix.len())?;
                Ok(Value::Str(s + &suffix))
            }
            "AppRoleAssignmentsComplex" => {
                let roles = self.arg(args, 0)?.items();
                let list: Vec<_> = roles
                    .iter()
                    .map(|r| {
                        let value = r.text().unwrap_or_default();
                        let display = match r {
                            Value::Json(j) => j
                                .get("displayName")
                                .and_then(|d| d.as_str())
                                .unwrap_or(&value)
                                .to_string(),
                            _ => value.clone(),
                        };
                        serde_json::json!({
                            "primary": false,
                            "type": "WindowsAzureActiveDirectoryRole",
                            "display": display,
                            "value": value,
                        })
                    })
                    .collect();
                Ok(if list.is_empty() {
                    Value::Null
                } else {
                    Value::Json(list.into())
                })
            }
            "BitAnd" => {
                let a = self.int(args, 0, "value1")?;
                let b = self.int(args, 1, "value2")?;
                Ok(Value::Int(a & b))
            }
            "CBool" => {
                let v = self.arg(args, 0)?;
                bool_of(&v, pos).map(Value::Bool)
            }
            "Not" => {
                let v = self.arg(args, 0)?;
                bool_of(&v, pos).map(|b| Value::Bool(!b))
            }
            "CDate" => {
                let v = self.arg(args, 0)?;
                Ok(date_of(&v, pos)?.map_or(Value::Null, Value::Date))
            }
            "Coalesce" => {
                for a in args {
                    let v = self.eval(a)?;
                    if !v.is_null_or_empty() {
                        return Ok(v);
                    }
                }
                Ok(Value::Null)
            }
            "ConvertToBase64" => {
                let Some(s) = self.text(args, 0)? else {
                    return Ok(Value::Null);
                };
                let utf16 = s.encode_utf16().count() * 2;
                self.meter
                    .reserve("ConvertToBase64", pos, utf16.div_ceil(3) * 4)?;
                let bytes: Vec<u8> = s.encode_utf16().flat_map(u16::to_le_bytes).collect();
                Ok(Value::Str(
                    base64::engine::general_purpose::STANDARD.encode(bytes),
                ))
            }
            "ConvertToUTF8Hex" => {
                let Some(s) = self.text(args, 0)? else {
                    return Ok(Value::Null);
                };
                self.meter.reserve("ConvertToUTF8Hex", pos, s.len() * 2)?;
                let mut out = String::with_capacity(s.len() * 2);
                for b in s.bytes() {
                    out.push(char::from(HEX[usize::from(b >> 4)]));
                    out.push(char::from(HEX[usize::from(b & 15)]));
                }
                Ok(Value::Str(out))
            }
            "Count" => Ok(Value::Int(self.arg(args, 0)?.items().len() as i64)),
            "CStr" => Ok(self.text(args, 0)?.into()),
            "DateAdd" => {
                let interval = self.text(args, 0)?.unwrap_or_default();
                let n = self.int(args, 1, "value")?;
                let v = self.arg(args, 2)?;
                let Some(d) = date_of(&v, args[2].pos)? else {
                    return Ok(Value::Null);
                };
                let secs = |unit: i64| n.checked_mul(unit).map(Duration::seconds);
                let out = match interval.as_str() {
                    "yyyy" => n.checked_mul(12).and_then(|m| add_months(d, m)),
                    "m" => add_months(d, n),
                    "d" => secs(86_400).and_then(|x| d.checked_add(x)),
                    "ww" => secs(7 * 86_400).and_then(|x| d.checked_add(x)),
                    "h" => secs(3_600).and_then(|x| d.checked_add(x)),
                    "n" => secs(60).and_then(|x| d.checked_add(x)),
                    "s" => secs(1).and_then(|x| d.checked_add(x)),
                    other => {
                        return fail(
                            args[0].pos,
                            format!("unknown interval {other:?}; use one of yyyy, m, d, ww, h, n, s"),
                        )
                    }
                };
                out.map(Value::Date)
                    .map_or_else(|| fail(pos, "the date is out of range"), Ok)
            }
            "DateDiff" => {
                let interval = self.text(args, 0)?.unwrap_or_default();
                let a = self.arg(args, 1)?;
                let b = self.arg(args, 2)?;
                let (Some(a), Some(b)) = (date_of(&a, args[1].pos)?, date_of(&b, args[2].pos)?) else {
                    return Ok(Value::Null);
                };
                let span = b - a;
                let months = (b.year() as i64 - a.year() as i64) * 12 + (b.month() as i64 - a.month() as i64);
                Ok(Value::Int(match interval.as_str() {
                    "yyyy" => b.year() as i64 - a.year() as i64,
                    "m" => months,
                    "d" => span.whole_days(),
                    "ww" => span.whole_weeks(),
                    "h" => span.whole_hours(),
                    "n" => span.whole_minutes(),
                    "s" => span.whole_seconds(),
                    other => {
                        return fail(
                            args[0].pos,
                            format!("unknown interval {other:?}; use one of yyyy, m, d, ww, h, n, s"),
                        )
                    }
                }))
            }
            "DateFromNum" => match self.arg(args, 0)? {
                Value::Null => Ok(Value::Null),
                v => {
                    let n = int_of(&v, args[0].pos, "value")?;
                    netdate::from_filetime(n)
                        .map(Value::Date)
                        .map_or_else(|| fail(pos, format!("{n} is not a FILETIME date")), Ok)
                }
            },
            "NumFromDate" => {
                let v = self.arg(args, 0)?;
                Ok(date_of(&v, args[0].pos)?.map_or(Value::Null, |d| Value::Int(netdate::to_filetime(d))))
            }
            "FormatDateTime" => {
                let (input_format, output_format) = if args.len() == 4 { (2, 3) } else { (1, 2) };
                let v = self.arg(args, 0)?;
                let input = self.text(args, input_format)?.unwrap_or_default();
                let output = self.text(args, output_format)?.unwrap_or_default();
                let date = match v {
                    Value::Null => return Ok(Value::Null),
                    Value::Date(d) => d,
                    other => {
                        let t = other.text().unwrap_or_default();
                        if t.is_empty() {
                            return Ok(Value::Null);
                        }
                        if input.is_empty() {
                            date_of(&Value::Str(t), args[0].pos)?.unwrap_or(OffsetDateTime::UNIX_EPOCH)
                        } else {
                            netdate::parse(&t, &input).or_else(|m| fail(pos, m))?
                        }
                    }
                };
                netdate::format(date, &output)
                    .map(Value::Str)
                    .or_else(|m| fail(args[output_format].pos, m))
            }
            "Guid" => {
                let mut b = [0u8; 16];
                self.ctx.fill_random(&mut b);
                b[6] = (b[6] & 0x0f) | 0x40;
                b[8] = (b[8] & 0x3f) | 0x80;
                let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
                Ok(Value::Str(format!(
                    "{}-{}-{}-{}-{}",
                    &h[0..8],
                    &h[8..12],
                    &h[12..16],
                    &h[16..20],
                    &h[20..32]
                )))
            }
            "IgnoreFlowIfNullOrEmpty" => {
                let v = self.arg(args, 0)?;
                if v.is_null_or_empty() {
                    self.ignore_flow = true;
                    Ok(Value::Null)
                } else {
                    Ok(v)
                }
            }
            "IIF" => {
                let c = self.arg(args, 0)?;
                if bool_of(&c, args[0].pos)? {
                    self.arg(args, 1)
                } else {
                    self.arg(args, 2)
                }
            }
            "InStr" => {
                let Some(hay) = self.text(args, 0)? else {
                    return Ok(Value::Null);
                };
                let needle = self.text(args, 1)?.unwrap_or_default();
                let start = self.optional_int(args, 2, "start")?.unwrap_or(1);
                if start < 1 {
                    return fail(args[2].pos, "start must be 1 or more");
                }
                let ignore_case =
                    matches!(args.get(3).map(|a| &a.kind), Some(Kind::Name(n)) if n == "vbTextCompare");
                let (hay, needle) = if ignore_case {
                    (hay.to_lowercase(), needle.to_lowercase())
                } else {
                    (hay, needle)
                };
                // Positions count characters; the search itself is str::find (linear time).
                let from = (start - 1) as usize;
                let Some(offset) = char_offset(&hay, from) else {
                    return Ok(Value::Int(0));
                };
                Ok(Value::Int(hay[offset..].find(needle.as_str()).map_or(0, |at| {
                    (from + hay[offset..offset + at].chars().count()) as i64 + 1
                })))
            }
            "IsNull" => Ok(Value::Bool(self.arg(args, 0)?.is_null())),
            "IsNullOrEmpty" => Ok(Value::Bool(self.arg(args, 0)?.is_null_or_empty())),
            "IsPresent" => Ok(Value::Bool(!self.arg(args, 0)?.is_null_or_empty())),
            "IsString" => Ok(Value::Bool(matches!(self.arg(args, 0)?, Value::Str(_)))),
            "Item" => {
                let items = self.arg(args, 0)?.items();
                let i = self.int(args, 1, "index")?;
                Ok(usize::try_from(i - 1)
                    .ok()
                    .and_then(|i| items.get(i).cloned())
                    .unwrap_or(Value::Null))
            }
            "Join" => {
                let sep = self.text(args, 0)?.unwrap_or_default();
                let mut parts = Vec::new();
                let mut bytes = 0usize;
                for a in &args[1..] {
                    for v in self.eval(a)?.items() {
                        if let Some(t) = v.text().filter(|t| !t.is_empty()) {
                            bytes += t.len() + sep.len();
                            self.meter.reserve("Join", pos, bytes)?;
                            parts.push(t);
                        }
                    }
                }
                Ok(if parts.is_empty() {
                    Value::Null
                } else {
                    Value::Str(parts.join(&sep))
                })
            }
            "Left" => {
                let s = self.text(args, 0)?.unwrap_or_default();
                let n = self.int(args, 1, "numChars")?;
                Ok(Value::Str(if n < 0 {
                    s
                } else {
                    s.chars().take(n as usize).collect()
                }))
            }
            "Mid" => {
                let s = self.text(args, 0)?;
                let start = self.int(args, 1, "start")?;
                let len = self.int(args, 2, "length")?;
                if start < 1 {
                    return fail(args[1].pos, "start must be 1 or more");
                }
                if len < 0 {
                    return fail(args[2].pos, "length must not be negative");
                }
                Ok(s.map(|s| {
                    s.chars()
                        .skip(start as usize - 1)
                        .take(len as usize)
                        .collect::<String>()
                })
                .into())
            }
            "NormalizeDiacritics" => self.map_text(args, |s| crate::text::normalize_diacritics(&s)),
            "Now" => Ok(Value::Date(self.ctx.now())),
            "PCase" => {
                let seps = self.text(args, 1)?;
                self.map_text(args, |s| pcase(&s, seps.as_deref()))
            }
            "RandomString" => self.random_string(args),
            "Redact" => {
                self.redacted = true;
                self.arg(args, 0)
            }
            "RemoveDuplicates" => match self.arg(args, 0)? {
                Value::Multi(items) => {
                    let mut seen = std::collections::HashSet::new();
                    Ok(Value::Multi(
                        items.into_iter().filter(|v| seen.insert(v.text())).collect(),
                    ))
                }
                other => Ok(other),
            },
            "Replace" => self.replace(args, pos, present),
            "SelectUniqueValue" => {
                for a in args {
                    let v = self.eval(a)?;
                    if let Some(t) = v.text().filter(|t| !t.is_empty()) {
                        if self.ctx.is_unique(&t) {
                            return Ok(Value::Str(t));
                        }
                    }
                }
                fail(
                    pos,
                    "SelectUniqueValue found no value that is not already taken in the target",
                )
            }
            "SingleAppRoleAssignment" => Ok(self.arg(args, 0)?.items().first().and_then(Value::text).into()),
            "Split" => {
                let Some(s) = self.text(args, 0)? else {
                    return Ok(Value::Null);
                };
                let delim = self.text(args, 1)?.unwrap_or_default();
                if delim.is_empty() {
                    return Ok(Value::Multi(vec![Value::Str(s)]));
                }
                let items = s.matches(delim.as_str()).count() + 1;
                let overhead = super::budget::ITEM_OVERHEAD;
                self.meter.reserve("Split", pos, s.len() + items * overhead)?;
                Ok(Value::Multi(s.split(delim.as_str()).map(Value::str).collect()))
            }
            "StripSpaces" => self.map_text(args, |s| s.replace(' ', "")),
            "Switch" => {
                let source = self.text(args, 0)?;
                let mut i = 2;
                while i + 1 < args.len() {
                    let key = self.text(args, i)?;
                    if source.is_some() && key == source {
                        return self.arg(args, i + 1);
                    }
                    i += 2;
                }
                self.arg(args, 1)
            }
            "ToLower" => self.map_text(args, |s| s.to_lowercase()),
            "ToUpper" => self.map_text(args, |s| s.to_uppercase()),
            "Word" => {
                let Some(s) = self.text(args, 0)? else {
                    return Ok(Value::Null);
                };
                let n = self.int(args, 1, "wordNumber")?;
                let delims: std::collections::HashSet<char> =
                    self.text(args, 2)?.unwrap_or_default().chars().collect();
                let word = usize::try_from(n - 1)
                    .ok()
                    .and_then(|i| s.split(|c| delims.contains(&c)).filter(|w| !w.is_empty()).nth(i));
                Ok(Value::Str(word.unwrap_or_default().to_string()))
            }
            other => fail(pos, format!("unknown function {other}")),
        }
    }

    fn replace(&mut self, args: &[Expr], pos: usize, present: impl Fn(usize) -> bool) -> R<Value> {
        let source = self.text(args, 0)?;
        let old = self.text(args, 1)?;
        let pattern = self.text(args, 2)?;
        let group = self.text(args, 3)?.filter(|g| !g.is_empty());
        let replacement = self.text(args, 4)?.unwrap_or_default();
        let replacement_attr = self.text(args, 5)?.filter(|a| !a.is_empty());
        let template = self.text(args, 6)?;
        if let (true, Some(old)) = (present(1), &old) {
            if present(6) {
                let Some(source) = source else {
                    return Ok(Value::Null);
                };
                let template = template.unwrap_or_default();
                return self.replace_text(&template, old, &source, pos).map(Value::Str);
            }
            if present(4) {
                let Some(source) = source else {
                    return Ok(Value::Null);
                };
                if old.is_empty() {
                    return Ok(Value::Str(source));
                }
                return self.replace_text(&source, old, &replacement, pos).map(Value::Str);
            }
        }
        let (true, Some(pattern)) = (present(2), pattern) else {
            return fail(pos, "Replace needs oldValue or regexPattern, with replacementValue, template or replacementAttributeName");
        };
        let re = self.regex(&pattern, args[2].pos)?;
        if let (Some(group), Some(attr)) = (&group, &replacement_attr) {
            if let Some(s) = source.filter(|s| !s.is_empty()) {
                return Ok(Value::Str(s));
            }
            let other = self.ctx.attribute(attr).text().unwrap_or_default();
            return Ok(re
                .captures(&other)
                .and_then(|c| c.name(group).map(|m| m.as_str().to_string()))
                .into());
        }
        if !present(4) {
            return fail(pos, "Replace with regexPattern needs replacementValue (or regexGroupName and replacementAttributeName)");
        }
        let Some(source) = source else {
            return Ok(Value::Null);
        };
        if let Some(group) = group {
            if !re.capture_names().any(|n| n == Some(group.as_str())) {
                return fail(
                    args[3].pos,
                    format!("the regular expression has no group named {group:?}"),
                );
            }
            let mut out = String::with_capacity(source.len());
            let mut last = 0;
            for caps in re.captures_iter(&source) {
                if let Some(m) = caps.name(&group) {
                    self.meter
                        .reserve("Replace", pos, out.len() + m.start() - last + replacement.len())?;
                    out.push_str(&source[last..m.start()]);
                    out.push_str(&replacement);
                    last = m.end();
                }
            }
            out.push_str(&source[last..]);
            return Ok(Value::Str(out));
        }
        // As Regex.Replace: `$1`, `${name}` and `$0` in the replacement expand to what was matched.
        // A reference expands to at most the whole match, so each expansion is checked first.
        let references = replacement.matches('$').count();
        let mut out = String::with_capacity(source.len());
        let mut last = 0;
        for caps in re.captures_iter(&source) {
            let Some(m) = caps.get(0) else { continue };
            let most = out.len() + (m.start() - last) + replacement.len() + references * m.len();
            self.meter.reserve("Replace", pos, most)?;
            out.push_str(&source[last..m.start()]);
            caps.expand(&replacement, &mut out);
            last = m.end();
        }
        self.meter
            .reserve("Replace", pos, out.len() + source.len() - last)?;
        out.push_str(&source[last..]);
        Ok(Value::Str(out))
    }

    /// `text` with every `old` replaced by `new`, its size checked before it is made.
    fn replace_text(&self, text: &str, old: &str, new: &str, pos: usize) -> R<String> {
        let count = text.matches(old).count();
        let bytes = text.len() - count * old.len() + count * new.len();
        self.meter.reserve("Replace", pos, bytes)?;
        Ok(text.replace(old, new))
    }

    fn random_string(&mut self, args: &[Expr]) -> R<Value> {
        let len = self.int(args, 0, "length")?;
        let mut mins = [0i64; 4];
        for (k, what) in [
            "minimumNumbers",
            "minimumSpecialCharacters",
            "minimumCapital",
            "minimumLowerCase",
        ]
        .iter()
        .enumerate()
        {
            mins[k] = self.optional_int(args, k + 1, what)?.unwrap_or(0);
            if mins[k] < 0 {
                return fail(args[k + 1].pos, format!("{what} must not be negative"));
            }
        }
        let avoid = self.text(args, 5)?.unwrap_or_default();
        if !(1..=MAX_RANDOM_LENGTH).contains(&len) {
            return fail(
                args[0].pos,
                format!("length must be between 1 and {MAX_RANDOM_LENGTH}"),
            );
        }
        if mins.iter().sum::<i64>() > len {
            return fail(args[0].pos, "the minimums add up to more than length");
        }
        let pool = |chars: &str| -> Vec<char> { chars.chars().filter(|c| !avoid.contains(*c)).collect() };
        let pools = [
            pool("0123456789"),
            pool(SPECIAL),
            pool("ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
            pool("abcdefghijklmnopqrstuvwxyz"),
        ];
        let all: Vec<char> = pools.iter().flatten().copied().collect();
        if all.is_empty() || pools.iter().zip(mins).any(|(p, m)| m > 0 && p.is_empty()) {
            return fail(
                args[5].pos,
                "charactersToAvoid leaves no characters to choose from",
            );
        }
        let mut random = vec![0u8; len as usize * 4 * 2];
        self.ctx.fill_random(&mut random);
        let mut r = random
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]) as usize);
        let mut next = |n: usize| r.next().unwrap_or(0) % n;
        let mut out: Vec<char> = Vec::with_capacity(len as usize);
        for (p, m) in pools.iter().zip(mins) {
            for _ in 0..m {
                out.push(p[next(p.len())]);
            }
        }
        while out.len() < len as usize {
            out.push(all[next(all.len())]);
        }
        for i in (1..out.len()).rev() {
            out.swap(i, next(i + 1));
        }
        Ok(Value::Str(out.into_iter().collect()))
    }
}
