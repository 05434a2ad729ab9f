//! Turns a SCIM filter into a condition on the indexed columns. A plan is either *exact* (the SQL
//! condition selects precisely the matching resources, so counting and paging happen in SQL) or a
//! *narrowing* (a superset of the matches, finished by the evaluator in Rust), or nothing at all
//! (every resource of the account is a candidate). Correctness never depends on the SQL: anything
//! not translated exactly is evaluated by `scim::eval`.

use crate::db::scim_resources::{Col, Cond, Order, SqlOp, SqlVal};
use crate::scim::eval;
use crate::scim::filter::{AttrPath, CompValue, CompareOp, Filter};
use crate::scim::resource::coerce_bool;
use crate::scim::schema::Kind;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub cond: Option<Cond>,
    pub exact: bool,
}

impl Plan {
    fn none() -> Plan {
        Plan {
            cond: None,
            exact: false,
        }
    }

    fn exact(c: Cond) -> Plan {
        Plan {
            cond: Some(c),
            exact: true,
        }
    }

    fn narrowing(c: Cond) -> Plan {
        Plan {
            cond: Some(c),
            exact: false,
        }
    }
}

pub fn plan(kind: Kind, f: &Filter) -> Plan {
    match f {
        Filter::And(a, b) => {
            let (a, b) = (plan(kind, a), plan(kind, b));
            match (a.cond, b.cond) {
                (Some(x), Some(y)) => Plan {
                    cond: Some(Cond::And(vec![x, y])),
                    exact: a.exact && b.exact,
                },
                (Some(x), None) | (None, Some(x)) => Plan::narrowing(x),
                (None, None) => Plan::none(),
            }
        }
        Filter::Or(a, b) => {
            let (a, b) = (plan(kind, a), plan(kind, b));
            match (a.cond, b.cond) {
                (Some(x), Some(y)) => Plan {
                    cond: Some(Cond::Or(vec![x, y])),
                    exact: a.exact && b.exact,
                },
                // One side unrestricted makes the union unrestricted.
                _ => Plan::none(),
            }
        }
        Filter::Not(_) => Plan::none(),
        Filter::Present(p) => match column(kind, p) {
            Some(Col::Id) | Some(Col::UserName) | Some(Col::Created) | Some(Col::LastModified) => Plan {
                cond: None,
                exact: true,
            },
            // displayName "" is present in SQL terms but not in SCIM's; finish in Rust.
            Some(Col::DisplayName) => Plan::narrowing(Cond::NotNull(Col::DisplayName)),
            Some(col) => Plan::exact(Cond::NotNull(col)),
            None => Plan::none(),
        },
        Filter::Compare(p, op, v) => compare(kind, p, *op, v),
        Filter::ValuePath(p, inner) => value_path(kind, p, inner),
    }
}

/// The indexed column behind an attribute path, if there is one.
fn column(kind: Kind, p: &AttrPath) -> Option<Col> {
    if let Some(urn) = &p.urn {
        if !urn.eq_ignore_ascii_case(kind.core_urn()) {
            return None;
        }
    }
    let attr = p.attr.to_ascii_lowercase();
    let sub = p.sub.as_ref().map(|s| s.to_ascii_lowercase());
    Some(match (attr.as_str(), sub.as_deref(), kind) {
        ("id", None, _) => Col::Id,
        ("externalid", None, _) => Col::ExternalId,
        ("displayname", None, _) => Col::DisplayName,
        ("username", None, Kind::User) => Col::UserName,
        ("active", None, Kind::User) => Col::Active,
        ("meta", Some("created"), _) => Col::Created,
        ("meta", Some("lastmodified"), _) => Col::LastModified,
        _ => return None,
    })
}

fn folded(col: Col) -> bool {
    matches!(col, Col::UserName | Col::DisplayName)
}

/// LIKE pattern for `co`/`ew` with `%`, `_` and `\` escaped.
fn like(prefix: &str, s: &str, suffix: &str) -> String {
    let mut out = String::from(prefix);
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push_str(suffix);
    out
}

fn compare(kind: Kind, p: &AttrPath, op: CompareOp, v: &CompValue) -> Plan {
    // Group membership and emails have their own indexed tables.
    let attr = p.attr.to_ascii_lowercase();
    let sub = p.sub.as_ref().map(|s| s.to_ascii_lowercase());
    let core = p
        .urn
        .as_ref()
        .is_none_or(|u| u.eq_ignore_ascii_case(kind.core_urn()));
    if core && op == CompareOp::Eq {
        if let CompValue::Str(s) = v {
            match (kind, attr.as_str(), sub.as_deref()) {
                (Kind::User, "emails", Some("value") | None) => {
                    return Plan::exact(Cond::Email(eval::fold(s)))
                }
                (Kind::Group, "members", Some("value") | None) => {
                    return Plan::exact(Cond::HasMember(s.clone()))
                }
                _ => {}
            }
        }
    }
    let Some(col) = column(kind, p) else {
        return Plan::none();
    };
    match col {
        Col::Active => {
            let b = match v {
                CompValue::Bool(b) => Some(*b),
                CompValue::Str(s) => coerce_bool(&Value::String(s.clone())),
                _ => None,
            };
            match (op, b) {
                (CompareOp::Eq, Some(b)) => {
                    Plan::exact(Cond::Cmp(Col::Active, SqlOp::Eq, SqlVal::Int(i64::from(b))))
                }
                (CompareOp::Ne, Some(b)) => {
                    Plan::exact(Cond::NullOrNe(Col::Active, SqlVal::Int(i64::from(b))))
                }
                _ => Plan::none(),
            }
        }
        Col::Created | Col::LastModified => {
            let CompValue::Str(s) = v else { return Plan::none() };
            let Some(t) = eval::parse_time(s) else {
                return Plan::none();
            };
            // Stored timestamps have millisecond precision; finer values are finished in Rust.
            let stored = crate::timefmt::format(t);
            let exact = t.nanosecond() % 1_000_000 == 0;
            let sql_op = match op {
                CompareOp::Eq => SqlOp::Eq,
                CompareOp::Gt => SqlOp::Gt,
                CompareOp::Ge => SqlOp::Ge,
                CompareOp::Lt => SqlOp::Lt,
                CompareOp::Le => SqlOp::Le,
                _ => return Plan::none(),
            };
            if !exact {
                return Plan::none();
            }
            Plan::exact(Cond::Cmp(col, sql_op, SqlVal::Text(stored)))
        }
        _ => {
            let s = match v {
                CompValue::Str(s) => s.clone(),
                _ => return Plan::none(),
            };
            let s = if folded(col) { eval::fold(&s) } else { s };
            let text = SqlVal::Text(s.clone());
            match op {
                CompareOp::Eq => Plan::exact(Cond::Cmp(col, SqlOp::Eq, text)),
                CompareOp::Ne => Plan::exact(Cond::NullOrNe(col, text)),
                CompareOp::Gt => Plan::exact(Cond::Cmp(col, SqlOp::Gt, text)),
                CompareOp::Ge => Plan::exact(Cond::Cmp(col, SqlOp::Ge, text)),
                CompareOp::Lt => Plan::exact(Cond::Cmp(col, SqlOp::Lt, text)),
                CompareOp::Le => Plan::exact(Cond::Cmp(col, SqlOp::Le, text)),
                CompareOp::Sw => {
                    // A range keeps the index usable and is byte-exact on both databases.
                    let mut upper = s.clone();
                    upper.push(char::MAX);
                    Plan::exact(Cond::And(vec![
                        Cond::Cmp(col, SqlOp::Ge, text),
                        Cond::Cmp(col, SqlOp::Lt, SqlVal::Text(upper)),
                    ]))
                }
                // LIKE folds ASCII case on SQLite, so it is exact only on lower-cased columns.
                CompareOp::Co if folded(col) => Plan::exact(Cond::Like(col, like("%", &s, "%"))),
                CompareOp::Ew if folded(col) => Plan::exact(Cond::Like(col, like("%", &s, ""))),
                CompareOp::Co | CompareOp::Ew => Plan::narrowing(Cond::NotNull(col)),
            }
        }
    }
}

/// `emails[type eq "work" and value eq "x"]` and `members[value eq "x"]`: narrow by the value.
fn value_path(kind: Kind, p: &AttrPath, inner: &Filter) -> Plan {
    fn value_eq(f: &Filter) -> Option<String> {
        match f {
            Filter::Compare(p, CompareOp::Eq, CompValue::Str(s))
                if p.urn.is_none() && p.sub.is_none() && p.attr.eq_ignore_ascii_case("value") =>
            {
                Some(s.clone())
            }
            Filter::And(a, b) => value_eq(a).or_else(|| value_eq(b)),
            _ => None,
        }
    }
    if p.urn
        .as_ref()
        .is_some_and(|u| !u.eq_ignore_ascii_case(kind.core_urn()))
    {
        return Plan::none();
    }
    let Some(v) = value_eq(inner) else {
        return Plan::none();
    };
    match (kind, p.attr.to_ascii_lowercase().as_str()) {
        (Kind::User, "emails") => Plan::narrowing(Cond::Email(eval::fold(&v))),
        (Kind::Group, "members") => Plan::narrowing(Cond::HasMember(v)),
        _ => Plan::none(),
    }
}

/// The SQL order for `sortBy`, or `None` when the attribute has no column (sorted in Rust).
pub fn order(kind: Kind, sort_by: Option<&AttrPath>, descending: bool) -> Option<Order> {
    let Some(p) = sort_by else {
        return Some(Order {
            desc: descending,
            ..Order::STABLE
        });
    };
    match column(kind, p) {
        Some(Col::Active) | None => None,
        Some(col) => Some(Order {
            col,
            desc: descending,
        }),
    }
}

/// Does the filter look at the computed attribute (`groups` of a User, `members` of a Group)?
pub fn mentions(f: &Filter, name: &str) -> bool {
    match f {
        Filter::And(a, b) | Filter::Or(a, b) => mentions(a, name) || mentions(b, name),
        Filter::Not(a) => mentions(a, name),
        Filter::Present(p) | Filter::Compare(p, _, _) => p.attr.eq_ignore_ascii_case(name),
        Filter::ValuePath(p, _) => p.attr.eq_ignore_ascii_case(name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::filter::parse;

    fn p(kind: Kind, f: &str) -> Plan {
        plan(kind, &parse(f).unwrap())
    }

    #[test]
    fn entra_lookups_are_exact_sql() {
        let e = p(Kind::User, r#"userName eq "ALICE@x.com""#);
        assert!(e.exact);
        assert_eq!(
            e.cond,
            Some(Cond::Cmp(
                Col::UserName,
                SqlOp::Eq,
                SqlVal::Text("alice@x.com".into())
            ))
        );
        let e = p(Kind::User, "externalId eq jYoung");
        assert_eq!(
            e.cond,
            Some(Cond::Cmp(
                Col::ExternalId,
                SqlOp::Eq,
                SqlVal::Text("jYoung".into())
            ))
        );
        assert!(p(Kind::Group, r#"displayName eq "Team""#).exact);
        assert!(p(Kind::User, r#"emails.value eq "A@x.com""#).exact);
        assert!(p(Kind::User, r#"active eq "False""#).exact);
        assert!(p(Kind::User, r#"meta.lastModified gt "2026-01-01T00:00:00Z""#).exact);
        assert!(p(Kind::Group, r#"members[value eq "u1"]"#).cond.is_some());
    }

    #[test]
    fn partial_translations_narrow() {
        let e = p(
            Kind::User,
            r#"id eq "x" and urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "m""#,
        );
        assert!(!e.exact);
        assert!(e.cond.is_some());
        let e = p(Kind::User, r#"emails[type eq "work"].value eq "a@x""#);
        assert_eq!(e.cond, Some(Cond::Email("a@x".into())));
        assert!(!e.exact);
        assert_eq!(p(Kind::User, r#"title eq "x" or userName eq "y""#).cond, None);
        assert_eq!(p(Kind::User, r#"not (userName eq "y")"#).cond, None);
        assert!(!p(Kind::User, r#"meta.created gt "2026-01-01T00:00:00.0001Z""#).exact);
    }

    #[test]
    fn like_patterns_are_escaped() {
        assert_eq!(like("%", "50%_a\\", "%"), "%50\\%\\_a\\\\%");
    }
}
