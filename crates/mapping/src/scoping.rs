//! Scoping filters: which source objects a mapping provisions. Clauses within one filter are
//! ANDed; separate filters are ORed; no filter means everything is in scope.
//!
//! Entra's rules, which the tests pin down:
//! - every clause except `IS NULL` is false when the attribute is null or empty (so `NOT EQUALS`,
//!   `IS FALSE` and `NOT REGEX MATCH` are false for a missing attribute);
//! - `EQUALS`, `NOT EQUALS`, `Includes` and `ENDS_WITH` compare case-sensitively;
//! - `Greater_Than`, `Greater_Than_OR_EQUALS`, `&` and `!&` compare integers;
//! - regular expressions match anywhere in the value unless anchored.

use crate::Value;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operator {
    BitAnd,
    NotBitAnd,
    EndsWith,
    Equals,
    NotEquals,
    GreaterThan,
    GreaterThanOrEquals,
    Includes,
    IsTrue,
    IsFalse,
    IsNull,
    IsNotNull,
    RegexMatch,
    NotRegexMatch,
}

impl Operator {
    pub const ALL: [Operator; 14] = [
        Operator::Equals,
        Operator::NotEquals,
        Operator::IsTrue,
        Operator::IsFalse,
        Operator::IsNull,
        Operator::IsNotNull,
        Operator::RegexMatch,
        Operator::NotRegexMatch,
        Operator::Includes,
        Operator::EndsWith,
        Operator::GreaterThan,
        Operator::GreaterThanOrEquals,
        Operator::BitAnd,
        Operator::NotBitAnd,
    ];

    /// The name Entra shows and stores.
    pub fn label(self) -> &'static str {
        match self {
            Operator::BitAnd => "&",
            Operator::NotBitAnd => "!&",
            Operator::EndsWith => "ENDS_WITH",
            Operator::Equals => "EQUALS",
            Operator::NotEquals => "NOT EQUALS",
            Operator::GreaterThan => "Greater_Than",
            Operator::GreaterThanOrEquals => "Greater_Than_OR_EQUALS",
            Operator::Includes => "Includes",
            Operator::IsTrue => "IS TRUE",
            Operator::IsFalse => "IS FALSE",
            Operator::IsNull => "IS NULL",
            Operator::IsNotNull => "IS NOT NULL",
            Operator::RegexMatch => "REGEX MATCH",
            Operator::NotRegexMatch => "NOT REGEX MATCH",
        }
    }

    /// Reads a label, ignoring case and the difference between `_` and a space.
    pub fn parse(label: &str) -> Option<Operator> {
        let norm = |s: &str| s.trim().to_ascii_uppercase().replace('_', " ");
        let want = norm(label);
        Operator::ALL.into_iter().find(|o| norm(o.label()) == want)
    }

    pub fn takes_value(self) -> bool {
        !matches!(
            self,
            Operator::IsTrue | Operator::IsFalse | Operator::IsNull | Operator::IsNotNull
        )
    }

    fn integer(self) -> bool {
        matches!(
            self,
            Operator::GreaterThan | Operator::GreaterThanOrEquals | Operator::BitAnd | Operator::NotBitAnd
        )
    }

    fn regex(self) -> bool {
        matches!(self, Operator::RegexMatch | Operator::NotRegexMatch)
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    pub attribute: String,
    pub operator: Operator,
    /// Empty for the operators that take no value.
    pub value: String,
}

/// A scoping filter: its clauses are ANDed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Filter {
    pub title: String,
    pub clauses: Vec<Clause>,
}

impl fmt::Display for Clause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.operator.takes_value() {
            write!(
                f,
                "{} {} {}",
                self.attribute,
                self.operator,
                crate::expr::quote(&self.value)
            )
        } else {
            write!(f, "{} {}", self.attribute, self.operator)
        }
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, c) in self.clauses.iter().enumerate() {
            if i > 0 {
                f.write_str(" AND ")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

/// Source attributes that cannot be used in a scoping clause (Entra does not support them).
pub const UNSUPPORTED_ATTRIBUTES: [&str; 4] = ["manager", "members", "memberOf", "appRoleAssignments"];

/// Why a clause is invalid, for the field it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClauseError {
    Attribute(String),
    Value(String),
}

impl fmt::Display for ClauseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClauseError::Attribute(m) | ClauseError::Value(m) => f.write_str(m),
        }
    }
}

/// Checks a clause; `known` says whether a source attribute exists.
pub fn validate(clause: &Clause, known: &dyn Fn(&str) -> bool) -> Result<(), ClauseError> {
    let a = clause.attribute.trim();
    if a.is_empty() {
        return Err(ClauseError::Attribute("choose a source attribute".into()));
    }
    if UNSUPPORTED_ATTRIBUTES.iter().any(|u| u.eq_ignore_ascii_case(a)) {
        return Err(ClauseError::Attribute(format!(
            "{a} cannot be used in a scoping filter (group membership, manager and multi-valued attributes are not supported)"
        )));
    }
    if !known(a) {
        return Err(ClauseError::Attribute(format!("{a} is not a source attribute")));
    }
    let op = clause.operator;
    let v = clause.value.trim();
    if !op.takes_value() {
        return if v.is_empty() {
            Ok(())
        } else {
            Err(ClauseError::Value(format!("{op} takes no value")))
        };
    }
    if v.is_empty() {
        return Err(ClauseError::Value(format!("{op} needs a value")));
    }
    if op.integer() && v.parse::<i64>().is_err() {
        return Err(ClauseError::Value(format!(
            "{op} compares whole numbers; {v:?} is not one"
        )));
    }
    if op.regex() {
        compile(&clause.value).map_err(ClauseError::Value)?;
    }
    Ok(())
}

fn compile(pattern: &str) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| format!("the regular expression is invalid: {e}"))
}

/// A clause with its regular expression or integer value read once.
type Compiled = (Clause, Option<regex::Regex>, Option<i64>);

/// A set of filters ready to evaluate for many objects: regular expressions compiled once.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    filters: Vec<Vec<Compiled>>,
}

impl Scope {
    /// Compiles validated filters; a clause that does not compile is an error naming it.
    pub fn new(filters: &[Filter]) -> Result<Scope, String> {
        let mut out = Vec::with_capacity(filters.len());
        for f in filters {
            let mut clauses = Vec::with_capacity(f.clauses.len());
            for c in &f.clauses {
                let re = if c.operator.regex() {
                    Some(compile(&c.value).map_err(|m| format!("{c}: {m}"))?)
                } else {
                    None
                };
                let int = if c.operator.integer() {
                    Some(
                        c.value
                            .trim()
                            .parse()
                            .map_err(|_| format!("{c}: not a whole number"))?,
                    )
                } else {
                    None
                };
                clauses.push((c.clone(), re, int));
            }
            out.push(clauses);
        }
        Ok(Scope { filters: out })
    }

    pub fn is_empty(&self) -> bool {
        self.filters.is_empty()
    }

    /// Whether an object is in scope; `get` reads its attributes.
    pub fn matches(&self, get: &dyn Fn(&str) -> Value) -> bool {
        self.filters.is_empty()
            || self.filters.iter().any(|clauses| {
                clauses
                    .iter()
                    .all(|(c, re, int)| clause_matches(c, re.as_ref(), *int, &get(&c.attribute)))
            })
    }

    /// Each clause with its result, for provision on demand's "determine scope" step.
    pub fn explain(&self, get: &dyn Fn(&str) -> Value) -> Vec<Vec<(Clause, bool)>> {
        self.filters
            .iter()
            .map(|clauses| {
                clauses
                    .iter()
                    .map(|(c, re, int)| {
                        (
                            c.clone(),
                            clause_matches(c, re.as_ref(), *int, &get(&c.attribute)),
                        )
                    })
                    .collect()
            })
            .collect()
    }
}

fn clause_matches(c: &Clause, re: Option<&regex::Regex>, int: Option<i64>, v: &Value) -> bool {
    let text = v.text().filter(|t| !t.is_empty());
    let Some(t) = text else {
        return c.operator == Operator::IsNull;
    };
    let as_int = || t.trim().parse::<i64>().ok();
    match c.operator {
        Operator::IsNull => false,
        Operator::IsNotNull => true,
        Operator::IsTrue => t.eq_ignore_ascii_case("true"),
        Operator::IsFalse => t.eq_ignore_ascii_case("false"),
        Operator::Equals => t == c.value,
        Operator::NotEquals => t != c.value,
        Operator::Includes => t.contains(c.value.as_str()),
        Operator::EndsWith => t.ends_with(c.value.as_str()),
        Operator::GreaterThan => matches!((as_int(), int), (Some(a), Some(b)) if a > b),
        Operator::GreaterThanOrEquals => matches!((as_int(), int), (Some(a), Some(b)) if a >= b),
        Operator::BitAnd => matches!((as_int(), int), (Some(a), Some(b)) if a & b != 0),
        Operator::NotBitAnd => matches!((as_int(), int), (Some(a), Some(b)) if a & b == 0),
        Operator::RegexMatch => re.is_some_and(|r| r.is_match(&t)),
        Operator::NotRegexMatch => re.is_some_and(|r| !r.is_match(&t)),
    }
}
