//! Recursive descent over characters: `expr := operand [cmp operand]`, `operand := [attr] |
//! "string" | number | Name(args) | Name`, `args := [arg {, arg}]` where an argument may be omitted.

use super::functions;
use super::{CmpOp, Expr, ExprError, Kind, MAX_DEPTH, MAX_LEN, NAMES};
use std::collections::HashMap;

/// Largest compiled size of a regular expression in a mapping.
pub(super) const REGEX_SIZE_LIMIT: usize = 1 << 20;

pub(super) fn compile_regex(pattern: &str) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| format!("the regular expression {pattern:?} is invalid: {e}"))
}

struct Parser {
    chars: Vec<char>,
    at: usize,
}

fn err<T>(pos: usize, message: impl Into<String>) -> Result<T, ExprError> {
    Err(ExprError {
        pos,
        message: message.into(),
    })
}

pub(super) fn parse(source: &str) -> Result<Expr, ExprError> {
    let chars: Vec<char> = source.chars().collect();
    if chars.len() > MAX_LEN {
        return err(
            MAX_LEN,
            format!("the expression is longer than {MAX_LEN} characters"),
        );
    }
    let mut p = Parser { chars, at: 0 };
    p.skip_ws();
    if p.at == p.chars.len() {
        return err(0, "the expression is empty");
    }
    let e = p.expr(0)?;
    p.skip_ws();
    if p.at < p.chars.len() {
        return err(
            p.at,
            format!("unexpected {:?} after the end of the expression", p.chars[p.at]),
        );
    }
    check(&e, 0)?;
    Ok(e)
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.at += 1;
        }
    }

    fn expr(&mut self, depth: usize) -> Result<Expr, ExprError> {
        let lhs = self.operand(depth)?;
        self.skip_ws();
        let pos = self.at;
        let Some(op) = self.cmp_op() else {
            return Ok(lhs);
        };
        self.skip_ws();
        let rhs = self.operand(depth)?;
        self.skip_ws();
        let after = self.at;
        if self.cmp_op().is_some() {
            return err(after, "only one comparison per argument; nest IIF for more");
        }
        Ok(Expr {
            pos,
            kind: Kind::Compare {
                op,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
            },
        })
    }

    fn cmp_op(&mut self) -> Option<CmpOp> {
        let two: String = self.chars[self.at..].iter().take(2).collect();
        let (op, len) = match two.as_str() {
            "<>" => (CmpOp::Ne, 2),
            ">=" => (CmpOp::Ge, 2),
            "<=" => (CmpOp::Le, 2),
            _ => match two.chars().next()? {
                '=' => (CmpOp::Eq, 1),
                '>' => (CmpOp::Gt, 1),
                '<' => (CmpOp::Lt, 1),
                _ => return None,
            },
        };
        self.at += len;
        Some(op)
    }

    fn operand(&mut self, depth: usize) -> Result<Expr, ExprError> {
        self.skip_ws();
        let pos = self.at;
        let kind = match self.peek() {
            None => return err(pos, "the expression ends where a value was expected"),
            Some('[') => Kind::Attr(self.attribute()?),
            Some('"') => Kind::Str(self.string()?),
            Some('&') | Some('-') => Kind::Num(self.number()?),
            Some(c) if c.is_ascii_digit() => Kind::Num(self.number()?),
            Some(c) if c.is_alphabetic() || c == '_' => {
                let name = self.ident();
                self.skip_ws();
                if self.peek() == Some('(') {
                    self.at += 1;
                    if depth + 1 > MAX_DEPTH {
                        return err(pos, format!("functions are nested deeper than {MAX_DEPTH}"));
                    }
                    let args = self.args(depth + 1)?;
                    Kind::Call { name, args }
                } else {
                    Kind::Name(name)
                }
            }
            Some(c) => {
                return err(
                    pos,
                    format!("unexpected {c:?}; expected [attribute], \"text\", a number or a function"),
                )
            }
        };
        Ok(Expr { kind, pos })
    }

    fn ident(&mut self) -> String {
        let start = self.at;
        while self.peek().is_some_and(|c| c.is_alphanumeric() || c == '_') {
            self.at += 1;
        }
        self.chars[start..self.at].iter().collect()
    }

    fn attribute(&mut self) -> Result<String, ExprError> {
        let open = self.at;
        self.at += 1;
        let start = self.at;
        while let Some(c) = self.peek() {
            match c {
                ']' => {
                    let name: String = self.chars[start..self.at].iter().collect();
                    self.at += 1;
                    let name = name.trim().to_string();
                    if name.is_empty() {
                        return err(open, "an attribute name is missing between [ and ]");
                    }
                    return Ok(name);
                }
                '[' | '"' | '(' | ')' | ',' => {
                    return err(self.at, format!("{c:?} is not allowed in an attribute name"))
                }
                _ => self.at += 1,
            }
        }
        err(open, "the attribute name is not closed with ]")
    }

    fn string(&mut self) -> Result<String, ExprError> {
        let open = self.at;
        self.at += 1;
        let mut out = String::new();
        while let Some(c) = self.peek() {
            self.at += 1;
            match c {
                '"' => return Ok(out),
                '\\' => match self.peek() {
                    Some(n @ ('"' | '\\')) => {
                        out.push(n);
                        self.at += 1;
                    }
                    // Entra keeps other backslashes as they are (regular expressions need them).
                    _ => out.push('\\'),
                },
                c => out.push(c),
            }
        }
        err(open, "the text is not closed with \"")
    }

    fn number(&mut self) -> Result<i64, ExprError> {
        let start = self.at;
        let negative = self.peek() == Some('-');
        if negative {
            self.at += 1;
        }
        let hex =
            self.chars[self.at..].starts_with(&['&', 'H']) || self.chars[self.at..].starts_with(&['&', 'h']);
        if hex {
            self.at += 2;
        }
        let digits_start = self.at;
        while self.peek().is_some_and(|c| {
            if hex {
                c.is_ascii_hexdigit()
            } else {
                c.is_ascii_digit()
            }
        }) {
            self.at += 1;
        }
        let digits: String = self.chars[digits_start..self.at].iter().collect();
        if digits.is_empty() {
            return err(start, "a number was expected");
        }
        if self.peek().is_some_and(|c| c.is_alphanumeric() || c == '.') {
            return err(self.at, "a number must be followed by , ) or a comparison");
        }
        let v = i64::from_str_radix(&digits, if hex { 16 } else { 10 }).map_err(|_| ExprError {
            pos: start,
            message: "the number is too large".into(),
        })?;
        Ok(if negative { -v } else { v })
    }

    fn args(&mut self, depth: usize) -> Result<Vec<Expr>, ExprError> {
        let mut args = Vec::new();
        self.skip_ws();
        if self.peek() == Some(')') {
            self.at += 1;
            return Ok(args);
        }
        loop {
            self.skip_ws();
            let pos = self.at;
            match self.peek() {
                Some(',') | Some(')') => args.push(Expr {
                    kind: Kind::Empty,
                    pos,
                }),
                _ => args.push(self.expr(depth)?),
            }
            self.skip_ws();
            match self.peek() {
                Some(',') => self.at += 1,
                Some(')') => {
                    self.at += 1;
                    return Ok(args);
                }
                Some(c) => return err(self.at, format!("unexpected {c:?}; expected , or )")),
                None => return err(self.at, "the function call is not closed with )"),
            }
        }
    }
}

const INTERVALS: [&str; 7] = ["yyyy", "m", "d", "ww", "h", "n", "s"];

/// Checks what the grammar cannot: function names and argument counts, names, and constants.
fn check(e: &Expr, depth: usize) -> Result<(), ExprError> {
    match &e.kind {
        Kind::Name(n) if !NAMES.contains(&n.as_str()) => err(
            e.pos,
            format!("unknown name {n:?}: write attributes as [{n}], text as \"{n}\", functions as {n}(...)"),
        ),
        Kind::Compare { lhs, rhs, .. } => {
            check(lhs, depth + 1)?;
            check(rhs, depth + 1)
        }
        Kind::Call { name, args } => {
            let Some(f) = functions::find(name) else {
                return match functions::find_ignoring_case(name) {
                    Some(f) => err(
                        e.pos,
                        format!("function names are case sensitive: {name} should be {}", f.name),
                    ),
                    None => err(e.pos, format!("unknown function {name}")),
                };
            };
            let n = args.len();
            if n < f.min_args || f.max_args.is_some_and(|m| n > m) {
                let wanted = match f.max_args {
                    Some(m) if m == f.min_args => format!("{m}"),
                    Some(m) => format!("{} to {m}", f.min_args),
                    None => format!("at least {}", f.min_args),
                };
                return err(
                    e.pos,
                    format!("{name} takes {wanted} arguments ({}), not {n}", f.signature),
                );
            }
            let constant = |i: usize| match args.get(i).map(|a| &a.kind) {
                Some(Kind::Str(s)) => Some(s.as_str()),
                _ => None,
            };
            match name.as_str() {
                "Switch" if (n - 2) % 2 == 1 => {
                    return err(e.pos, "Switch needs a value after every key: Switch(source, defaultValue, key1, value1, ...)");
                }
                "SelectUniqueValue" if depth > 0 => {
                    return err(e.pos, "SelectUniqueValue must be the outermost function");
                }
                "DateAdd" | "DateDiff" => {
                    if let Some(i) = constant(0) {
                        if !INTERVALS.contains(&i) {
                            return err(
                                args[0].pos,
                                format!("unknown interval {i:?}; use one of yyyy, m, d, ww, h, n, s"),
                            );
                        }
                    }
                }
                "FormatDateTime" => {
                    for (i, a) in args.iter().enumerate().skip(n - 2) {
                        if let Some(fmt) = constant(i) {
                            crate::netdate::check_format(fmt).map_err(|m| ExprError {
                                pos: a.pos,
                                message: m,
                            })?;
                        }
                    }
                }
                "InStr" if n == 4 && !matches!(&args[3].kind, Kind::Empty | Kind::Name(_)) => {
                    return err(
                        args[3].pos,
                        "the compare type is vbTextCompare or vbBinaryCompare",
                    );
                }
                "AppRoleAssignmentsComplex" | "SingleAppRoleAssignment" if !matches!(&args[0].kind, Kind::Attr(a) if a == "appRoleAssignments") =>
                {
                    return err(args[0].pos, format!("{name} takes [appRoleAssignments]"));
                }
                _ => {}
            }
            for a in args {
                check(a, depth + 1)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Compiles the constant regular expressions of `Replace` once.
pub(super) fn collect_regexes(e: &Expr, out: &mut HashMap<String, regex::Regex>) -> Result<(), ExprError> {
    let mut error = None;
    e.visit(&mut |x| {
        if let Kind::Call { name, args } = &x.kind {
            if name == "Replace" {
                if let Some(Expr {
                    kind: Kind::Str(p),
                    pos,
                }) = args.get(2)
                {
                    match compile_regex(p) {
                        Ok(r) => {
                            out.insert(p.clone(), r);
                        }
                        Err(m) if error.is_none() => {
                            error = Some(ExprError {
                                pos: *pos,
                                message: m,
                            })
                        }
                        Err(_) => {}
                    }
                }
            }
        }
    });
    error.map_or(Ok(()), Err)
}
