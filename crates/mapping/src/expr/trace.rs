//! The evaluation trace of the expression tester: every function call (and comparison) an
//! evaluation made, in the order it was entered, with the value each argument had and the call's
//! result, so a wrong nesting or a null flowing through shows at a glance.
//!
//! Bounded whatever the expression: at most [`MAX_STEPS`] steps, [`MAX_ARGS`] arguments shown per
//! step and [`MAX_SHOWN`] characters per value; past that the trace says it was cut.

use super::{Expr, Kind};
use crate::Value;

/// Steps kept; an evaluation that makes more calls has its trace cut (the result is still exact).
pub const MAX_STEPS: usize = 200;
/// Arguments shown per step; the rest are counted.
pub const MAX_ARGS: usize = 16;
/// Characters of a value or a call's text shown.
pub const MAX_SHOWN: usize = 160;

/// One function call or comparison of an evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// How deeply nested the call is: 0 for the outermost.
    pub depth: usize,
    /// Character offset of the call in the source, 0-based.
    pub pos: usize,
    /// The function's name, or the comparison's operator.
    pub name: String,
    /// The call as written (canonical form), shortened.
    pub text: String,
    /// Each argument in order: the value it had, or `None` when the function did not evaluate it
    /// (the branch of `IIF` not taken, the values `Coalesce` did not need).
    pub args: Vec<Option<String>>,
    /// Arguments beyond [`MAX_ARGS`], not shown.
    pub more_args: usize,
    /// The result, or the error the call failed with.
    pub result: Result<String, String>,
}

/// An evaluation's steps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trace {
    pub steps: Vec<Step>,
    /// More steps were made than are kept.
    pub cut: bool,
}

/// A value as the trace shows it: null, booleans and numbers bare, text quoted, multi-valued
/// attributes in brackets; shortened to [`MAX_SHOWN`] characters, without ever writing out more
/// of a long value than that.
pub fn show(v: &Value) -> String {
    let mut out = String::new();
    write_shown(v, &mut out);
    crate::text::shorten(&out, MAX_SHOWN)
}

fn write_shown(v: &Value, out: &mut String) {
    if out.len() > MAX_SHOWN * 4 {
        return;
    }
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "True" } else { "False" }),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Str(s) => {
            let head: String = s.chars().take(MAX_SHOWN + 1).collect();
            out.push_str(&serde_json::Value::String(head).to_string());
        }
        Value::Multi(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if out.len() > MAX_SHOWN * 4 {
                    break;
                }
                if i > 0 {
                    out.push_str(", ");
                }
                write_shown(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_json().to_string()),
    }
}

/// A call being evaluated: its step's index and the expressions of its arguments.
struct Frame {
    step: Option<usize>,
    children: Vec<*const Expr>,
}

/// Records steps as the evaluator enters and leaves calls.
#[derive(Default)]
pub(super) struct Tracer {
    trace: Trace,
    frames: Vec<Frame>,
}

impl Tracer {
    /// Whether `e` gets a step of its own (calls and comparisons do; constants and attributes
    /// show as the arguments of the call they are given to).
    pub(super) fn traced(e: &Expr) -> bool {
        matches!(e.kind, Kind::Call { .. } | Kind::Compare { .. })
    }

    pub(super) fn enter(&mut self, e: &Expr) {
        let (name, children): (String, Vec<*const Expr>) = match &e.kind {
            Kind::Call { name, args } => (name.clone(), args.iter().map(|a| a as *const Expr).collect()),
            Kind::Compare { op, lhs, rhs } => (
                op.symbol().to_string(),
                vec![&**lhs as *const Expr, &**rhs as *const Expr],
            ),
            _ => (String::new(), Vec::new()),
        };
        let step = if self.trace.steps.len() < MAX_STEPS {
            let shown = children.len().min(MAX_ARGS);
            self.trace.steps.push(Step {
                depth: self.frames.len(),
                pos: e.pos,
                name,
                text: crate::text::shorten(&e.to_string(), MAX_SHOWN),
                args: vec![None; shown],
                more_args: children.len() - shown,
                result: Ok(String::new()),
            });
            Some(self.trace.steps.len() - 1)
        } else {
            self.trace.cut = true;
            None
        };
        self.frames.push(Frame { step, children });
    }

    pub(super) fn leave(&mut self, result: &Result<Value, super::EvalError>) {
        let Some(frame) = self.frames.pop() else {
            return;
        };
        if let Some(step) = frame.step.and_then(|i| self.trace.steps.get_mut(i)) {
            step.result = match result {
                Ok(v) => Ok(show(v)),
                Err(e) => Err(e.message.clone()),
            };
        }
    }

    /// `e` was evaluated to `value`: if it is an argument of the call being evaluated, that call's
    /// step shows the value.
    pub(super) fn evaluated(&mut self, e: &Expr, value: &Value) {
        let Some(frame) = self.frames.last() else {
            return;
        };
        let Some(i) = frame.children.iter().position(|c| std::ptr::eq(*c, e)) else {
            return;
        };
        if let Some(slot) = frame
            .step
            .and_then(|s| self.trace.steps.get_mut(s))
            .and_then(|s| s.args.get_mut(i))
        {
            *slot = Some(show(value));
        }
    }

    pub(super) fn finish(self) -> Trace {
        self.trace
    }
}
