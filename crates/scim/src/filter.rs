//! The SCIM filter language (RFC 7644 section 3.4.2.2), parsed into an AST.
//!
//! Strict where it matters, tolerant where real clients are sloppy:
//! - operators, `and`/`or`/`not`, `pr` and the literals `true`/`false`/`null` in any case
//!   (Entra sends `EQ`, Okta `Eq`);
//! - unquoted legacy values (`externalId eq jyoung`, sent by older Entra versions) are strings;
//! - a value path followed by a sub-attribute comparison, `emails[type eq "work"].value eq "x"`, is
//!   read as `emails[type eq "work" and value eq "x"]`, which is what Entra means by it.
//!
//! Precedence, highest first: `not`, `and`, `or`; parentheses group. Length and nesting are bounded
//! so that a hostile filter costs little.

use std::fmt;

/// Longest filter accepted, in bytes.
pub const MAX_LEN: usize = 10_000;
/// Deepest nesting of parentheses, `not` and value paths accepted.
pub const MAX_DEPTH: usize = 32;

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    /// `attr pr`
    Present(AttrPath),
    /// `attr op value`
    Compare(AttrPath, CompareOp, CompValue),
    /// `attr[filter]`: some value of the multi-valued `attr` matches `filter`, whose attribute
    /// paths are relative to that value.
    ValuePath(AttrPath, Box<Filter>),
}

/// `[urn ":"] attr ["." sub]`, e.g. `name.familyName` or
/// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    pub urn: Option<String>,
    pub attr: String,
    pub sub: Option<String>,
}

impl AttrPath {
    pub fn new(attr: &str) -> Self {
        AttrPath {
            urn: None,
            attr: attr.to_string(),
            sub: None,
        }
    }

    pub fn with_sub(attr: &str, sub: &str) -> Self {
        AttrPath {
            urn: None,
            attr: attr.to_string(),
            sub: Some(sub.to_string()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CompareOp {
    fn parse(word: &str) -> Option<CompareOp> {
        Some(match word.to_ascii_lowercase().as_str() {
            "eq" => CompareOp::Eq,
            "ne" => CompareOp::Ne,
            "co" => CompareOp::Co,
            "sw" => CompareOp::Sw,
            "ew" => CompareOp::Ew,
            "gt" => CompareOp::Gt,
            "ge" => CompareOp::Ge,
            "lt" => CompareOp::Lt,
            "le" => CompareOp::Le,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum CompValue {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    Str(String),
}

/// Why a filter was refused; `position` is the byte offset where the problem starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    pub position: usize,
    pub message: String,
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at character {})", self.message, self.position + 1)
    }
}

impl std::error::Error for FilterError {}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    LParen,
    RParen,
    LBracket,
    RBracket,
    /// `.` right after `]`, introducing a sub-attribute of a value path.
    Dot,
}

fn is_word_char(c: char) -> bool {
    !c.is_whitespace() && !c.is_control() && !matches!(c, '(' | ')' | '[' | ']' | '"')
}

fn tokenize(input: &str) -> Result<Vec<(usize, Tok)>, FilterError> {
    let mut out = Vec::new();
    let mut chars = input.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' | '[' | ']' => {
                chars.next();
                out.push((
                    i,
                    match c {
                        '(' => Tok::LParen,
                        ')' => Tok::RParen,
                        '[' => Tok::LBracket,
                        _ => Tok::RBracket,
                    },
                ));
            }
            '.' if matches!(out.last(), Some((_, Tok::RBracket))) => {
                chars.next();
                out.push((i, Tok::Dot));
            }
            '"' => {
                chars.next();
                let start = i;
                let mut end = None;
                let mut escaped = false;
                for (j, d) in chars.by_ref() {
                    if escaped {
                        escaped = false;
                    } else if d == '\\' {
                        escaped = true;
                    } else if d == '"' {
                        end = Some(j);
                        break;
                    }
                }
                let end = end.ok_or_else(|| FilterError {
                    position: start,
                    message: "a quoted value is not closed".into(),
                })?;
                let raw = &input[start..=end];
                let s: String = serde_json::from_str(raw).map_err(|_| FilterError {
                    position: start,
                    message: "a quoted value has an invalid escape".into(),
                })?;
                out.push((start, Tok::Str(s)));
            }
            c if c.is_control() => {
                return Err(FilterError {
                    position: i,
                    message: "control characters are allowed only inside quoted values".into(),
                })
            }
            _ => {
                let start = i;
                let mut end = input.len();
                while let Some(&(j, d)) = chars.peek() {
                    if !is_word_char(d) {
                        end = j;
                        break;
                    }
                    chars.next();
                }
                out.push((start, Tok::Word(input[start..end].to_string())));
            }
        }
    }
    Ok(out)
}

/// Parses a SCIM filter.
pub fn parse(input: &str) -> Result<Filter, FilterError> {
    if input.len() > MAX_LEN {
        return Err(FilterError {
            position: MAX_LEN,
            message: format!("the filter is longer than {MAX_LEN} characters"),
        });
    }
    let tokens = tokenize(input)?;
    if tokens.is_empty() {
        return Err(FilterError {
            position: 0,
            message: "the filter is empty".into(),
        });
    }
    let mut p = Parser {
        tokens,
        pos: 0,
        len: input.len(),
    };
    let f = p.or(0)?;
    match p.peek() {
        None => Ok(f),
        Some(_) => Err(p.error("expected 'and', 'or' or the end of the filter")),
    }
}

/// Parses an attribute path such as `name.familyName` or a URN-qualified one.
/// A JSON number literal. Integers stay exact; anything else goes through Rust's correctly
/// rounded float parser, so a number prints back as text that parses to the same value (found by
/// fuzzing: serde_json's fast float parser rounds `2222…2` (53 digits) differently from its own
/// printed form).
fn number(w: &str) -> Option<serde_json::Number> {
    let n = serde_json::from_str::<serde_json::Number>(w).ok()?;
    if n.is_i64() || n.is_u64() {
        return Some(n);
    }
    serde_json::Number::from_f64(w.parse::<f64>().ok()?)
}

pub fn parse_attr_path(s: &str) -> Option<AttrPath> {
    let (urn, rest) = split_urn(s);
    let mut parts = rest.splitn(2, '.');
    let attr = parts.next()?;
    let sub = parts.next();
    let valid = |n: &str| {
        let mut cs = n.chars();
        matches!(cs.next(), Some(c) if c.is_ascii_alphabetic() || c == '$')
            && cs.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    if !valid(attr) || sub.is_some_and(|s| !valid(s)) {
        return None;
    }
    Some(AttrPath {
        urn: urn.map(str::to_string),
        attr: attr.to_string(),
        sub: sub.map(str::to_string),
    })
}

/// Splits `urn:...:Resource:attr.sub` into the schema URN and the rest. The URN ends at the last
/// colon; dots before it belong to the URN (`...:2.0:User`).
fn split_urn(s: &str) -> (Option<&str>, &str) {
    if s.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:")) {
        if let Some(colon) = s.rfind(':') {
            return (Some(&s[..colon]), &s[colon + 1..]);
        }
    }
    (None, s)
}

struct Parser {
    tokens: Vec<(usize, Tok)>,
    pos: usize,
    len: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos).map(|(_, t)| t)
    }

    fn position(&self) -> usize {
        self.tokens.get(self.pos).map(|(p, _)| *p).unwrap_or(self.len)
    }

    fn error(&self, message: &str) -> FilterError {
        FilterError {
            position: self.position(),
            message: message.to_string(),
        }
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.tokens.get(self.pos).map(|(_, t)| t.clone());
        self.pos += 1;
        t
    }

    fn keyword(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(kw))
    }

    fn depth_check(&self, depth: usize) -> Result<(), FilterError> {
        if depth > MAX_DEPTH {
            Err(self.error(&format!("the filter is nested more than {MAX_DEPTH} levels deep")))
        } else {
            Ok(())
        }
    }

    fn or(&mut self, depth: usize) -> Result<Filter, FilterError> {
        let mut left = self.and(depth)?;
        while self.keyword("or") {
            self.next();
            let right = self.and(depth)?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self, depth: usize) -> Result<Filter, FilterError> {
        let mut left = self.unary(depth)?;
        while self.keyword("and") {
            self.next();
            let right = self.unary(depth)?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self, depth: usize) -> Result<Filter, FilterError> {
        self.depth_check(depth)?;
        if self.keyword("not") && matches!(self.tokens.get(self.pos + 1), Some((_, Tok::LParen))) {
            self.next();
            self.next();
            let inner = self.or(depth + 1)?;
            self.expect(Tok::RParen, "expected ')' to close 'not ('")?;
            return Ok(Filter::Not(Box::new(inner)));
        }
        if self.peek() == Some(&Tok::LParen) {
            self.next();
            let inner = self.or(depth + 1)?;
            self.expect(Tok::RParen, "expected ')'")?;
            return Ok(inner);
        }
        self.attr_expression(depth)
    }

    fn expect(&mut self, tok: Tok, message: &str) -> Result<(), FilterError> {
        if self.peek() == Some(&tok) {
            self.next();
            Ok(())
        } else {
            Err(self.error(message))
        }
    }

    fn attr_expression(&mut self, depth: usize) -> Result<Filter, FilterError> {
        let start = self.position();
        let name = match self.next() {
            Some(Tok::Word(w)) => w,
            _ => {
                self.pos -= 1;
                return Err(self.error("expected an attribute name"));
            }
        };
        let path = parse_attr_path(&name).ok_or(FilterError {
            position: start,
            message: format!("{name:?} is not a valid attribute path"),
        })?;
        if self.peek() == Some(&Tok::LBracket) {
            if path.sub.is_some() {
                return Err(self.error("a value filter cannot follow a sub-attribute"));
            }
            self.next();
            let inner = self.or(depth + 1)?;
            self.expect(Tok::RBracket, "expected ']' to close the value filter")?;
            if self.peek() == Some(&Tok::Dot) {
                // Entra's `emails[type eq "work"].value eq "x"`.
                self.next();
                let sub_start = self.position();
                let sub = match self.next() {
                    Some(Tok::Word(w)) => w,
                    _ => {
                        return Err(FilterError {
                            position: sub_start,
                            message: "expected a sub-attribute after ']. '".into(),
                        })
                    }
                };
                let sub_path = parse_attr_path(&sub)
                    .filter(|p| p.urn.is_none() && p.sub.is_none())
                    .ok_or(FilterError {
                        position: sub_start,
                        message: format!("{sub:?} is not a valid sub-attribute"),
                    })?;
                let tail = self.comparison(sub_path)?;
                return Ok(Filter::ValuePath(
                    path,
                    Box::new(Filter::And(Box::new(inner), Box::new(tail))),
                ));
            }
            return Ok(Filter::ValuePath(path, Box::new(inner)));
        }
        self.comparison(path)
    }

    fn comparison(&mut self, path: AttrPath) -> Result<Filter, FilterError> {
        let op = match self.peek() {
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("pr") => {
                self.next();
                return Ok(Filter::Present(path));
            }
            Some(Tok::Word(w)) => CompareOp::parse(w),
            _ => None,
        }
        .ok_or_else(|| self.error("expected an operator: eq, ne, co, sw, ew, gt, ge, lt, le or pr"))?;
        self.next();
        let value = match self.next() {
            Some(Tok::Str(s)) => CompValue::Str(s),
            Some(Tok::Word(w)) => match w.to_ascii_lowercase().as_str() {
                "true" => CompValue::Bool(true),
                "false" => CompValue::Bool(false),
                "null" => CompValue::Null,
                _ => match number(&w) {
                    Some(n) => CompValue::Number(n),
                    // Legacy clients send unquoted strings.
                    None => CompValue::Str(w),
                },
            },
            _ => {
                self.pos -= 1;
                return Err(self.error("expected a value after the operator"));
            }
        };
        Ok(Filter::Compare(path, op, value))
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(urn) = &self.urn {
            write!(f, "{urn}:")?;
        }
        f.write_str(&self.attr)?;
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

impl fmt::Display for CompValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompValue::Null => f.write_str("null"),
            CompValue::Bool(b) => write!(f, "{b}"),
            CompValue::Number(n) => write!(f, "{n}"),
            CompValue::Str(s) => f.write_str(&serde_json::Value::String(s.clone()).to_string()),
        }
    }
}

/// The canonical text of a filter: lower-case operators, quoted strings, and parentheses around
/// every compound, so that printing and parsing again gives the same AST.
impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Filter::And(a, b) => write!(f, "({a} and {b})"),
            Filter::Or(a, b) => write!(f, "({a} or {b})"),
            Filter::Not(a) => write!(f, "not ({a})"),
            Filter::Present(p) => write!(f, "{p} pr"),
            Filter::Compare(p, op, v) => write!(f, "{p} {} {v}", op.as_str()),
            Filter::ValuePath(p, inner) => write!(f, "{p}[{inner}]"),
        }
    }
}

#[cfg(test)]
mod tests;
