//! The expression language of attribute mappings, as Entra's provisioning service defines it:
//! VBA-like function calls (`FunctionName(arg, ...)`, nestable, names case sensitive) over
//! attributes (`[attributeName]`), string constants (`"text"`, with `\"` and `\\` escapes), numbers
//! (`3`, `-1`, `&HF7`), the names `vbTextCompare`, `vbBinaryCompare`, `True` and `False`, omitted
//! arguments (`Switch([IsSoftDeleted], , "False", "True")`) and one comparison per operand
//! (`IIF([country]="USA", ...)`, operators `= <> > >= < <=`).
//!
//! [`Expression::parse`] checks the syntax, the function names and their argument counts, and
//! constant arguments that can be checked early (regular expressions, date formats, intervals); its
//! errors carry the position. `Display` prints the canonical form, which parses back to the same
//! tree. [`Expression::evaluate`] never panics.

pub mod budget;
mod eval;
pub mod functions;
mod parse;
pub mod trace;

pub use eval::{Context, EvalError, Outcome};
pub use trace::Trace;

use std::collections::HashMap;
use std::fmt;

/// Longest expression accepted, in characters (Entra's limit).
pub const MAX_LEN: usize = 10_000;
/// Deepest nesting of function calls accepted.
pub const MAX_DEPTH: usize = 32;

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: Kind,
    /// Character offset in the source, 0-based.
    pub pos: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Call {
        name: String,
        args: Vec<Expr>,
    },
    Attr(String),
    Str(String),
    Num(i64),
    /// `vbTextCompare`, `vbBinaryCompare`, `True`, `False`.
    Name(String),
    /// An omitted argument.
    Empty,
    Compare {
        op: CmpOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CmpOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "<>",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
        }
    }
}

/// Names that may appear bare, as constants.
pub const NAMES: [&str; 4] = ["vbTextCompare", "vbBinaryCompare", "True", "False"];

/// A parse error, with the character position (0-based) it was found at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExprError {
    pub pos: usize,
    pub message: String,
}

impl fmt::Display for ExprError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at position {}: {}", self.pos + 1, self.message)
    }
}

impl std::error::Error for ExprError {}

/// A parsed expression with its constant regular expressions compiled once, so evaluating it for
/// every user of a directory does not compile them again.
#[derive(Debug, Clone)]
pub struct Expression {
    root: Expr,
    regexes: HashMap<String, regex::Regex>,
}

impl Expression {
    pub fn parse(source: &str) -> Result<Self, ExprError> {
        let root = parse::parse(source)?;
        let mut regexes = HashMap::new();
        parse::collect_regexes(&root, &mut regexes)?;
        Ok(Expression { root, regexes })
    }

    pub fn root(&self) -> &Expr {
        &self.root
    }

    /// The attributes the expression reads, with the position of each mention.
    pub fn attributes(&self) -> Vec<(String, usize)> {
        let mut out = Vec::new();
        self.root.visit(&mut |e| {
            if let Kind::Attr(a) = &e.kind {
                out.push((a.clone(), e.pos));
            }
        });
        out
    }

    /// Evaluates within the output budget of [`budget`]: never more than
    /// [`budget::MAX_VALUE_BYTES`] per value nor [`budget::MAX_EVALUATION_BYTES`] in all.
    pub fn evaluate(&self, ctx: &dyn Context) -> Result<Outcome, EvalError> {
        eval::evaluate(self, ctx)
    }

    /// Evaluates as [`Expression::evaluate`] does, and records every call it makes with its
    /// arguments' values and its result (see [`trace`]).
    pub fn evaluate_traced(&self, ctx: &dyn Context) -> (Result<Outcome, EvalError>, Trace) {
        eval::evaluate_traced(self, ctx)
    }

    /// Checks ahead of time that the expression stays within the budget for every object whose
    /// attributes are no longer than `attribute_max(name)` bytes (`""`: an attribute named at run
    /// time); returns the worst case of its result in bytes. What a mapping must pass to be saved.
    pub fn check_budget(&self, attribute_max: &dyn Fn(&str) -> usize) -> Result<usize, ExprError> {
        budget::bound(&self.root, attribute_max)
    }
}

impl fmt::Display for Expression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.root.fmt(f)
    }
}

impl Expr {
    pub fn visit(&self, f: &mut dyn FnMut(&Expr)) {
        f(self);
        match &self.kind {
            Kind::Call { args, .. } => args.iter().for_each(|a| a.visit(f)),
            Kind::Compare { lhs, rhs, .. } => {
                lhs.visit(f);
                rhs.visit(f);
            }
            _ => {}
        }
    }
}

/// Writes a string constant with `\` and `"` escaped.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Call { name, args } => {
                write!(f, "{name}(")?;
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{a}")?;
                }
                f.write_str(")")
            }
            Kind::Attr(a) => write!(f, "[{a}]"),
            Kind::Str(s) => f.write_str(&quote(s)),
            Kind::Num(n) => write!(f, "{n}"),
            Kind::Name(n) => f.write_str(n),
            Kind::Empty => Ok(()),
            Kind::Compare { op, lhs, rhs } => write!(f, "{lhs} {} {rhs}", op.symbol()),
        }
    }
}
