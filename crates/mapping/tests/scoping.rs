//! Scoping filters: Entra's operators with their null and case rules, AND within a filter, OR
//! across filters, validation and readable text.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use provisio_mapping::scoping::{validate, Clause, ClauseError, Filter, Operator, Scope};
use provisio_mapping::Value;
use std::collections::HashMap;

fn clause(attribute: &str, op: &str, value: &str) -> Clause {
    Clause {
        attribute: attribute.into(),
        operator: Operator::parse(op).unwrap_or_else(|| panic!("{op}")),
        value: value.into(),
    }
}

fn object(pairs: &[(&str, Value)]) -> HashMap<String, Value> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

fn matches(filters: &[Filter], obj: &HashMap<String, Value>) -> bool {
    Scope::new(filters)
        .unwrap()
        .matches(&|a| obj.get(a).cloned().unwrap_or(Value::Null))
}

fn one(c: Clause, obj: &HashMap<String, Value>) -> bool {
    matches(
        &[Filter {
            title: String::new(),
            clauses: vec![c],
        }],
        obj,
    )
}

#[test]
fn each_operator() {
    let o = object(&[
        ("department", Value::str("Sales")),
        ("mail", Value::str("ann@contoso.com")),
        ("employeeId", Value::str("42")),
        ("flags", Value::str("6")),
        ("accountEnabled", Value::Bool(true)),
        ("isContractor", Value::str("False")),
    ]);
    let cases = [
        (clause("department", "EQUALS", "Sales"), true),
        (clause("department", "EQUALS", "sales"), false),
        (clause("department", "NOT EQUALS", "Marketing"), true),
        (clause("department", "NOT EQUALS", "Sales"), false),
        (clause("mail", "ENDS_WITH", "@contoso.com"), true),
        (clause("mail", "ENDS_WITH", "@CONTOSO.com"), false),
        (clause("mail", "Includes", "contoso"), true),
        (clause("mail", "Includes", "Contoso"), false),
        (clause("employeeId", "Greater_Than", "41"), true),
        (clause("employeeId", "Greater_Than", "42"), false),
        (clause("employeeId", "Greater_Than_OR_EQUALS", "42"), true),
        (clause("flags", "&", "2"), true),
        (clause("flags", "&", "1"), false),
        (clause("flags", "!&", "1"), true),
        (clause("flags", "!&", "4"), false),
        (clause("accountEnabled", "IS TRUE", ""), true),
        (clause("accountEnabled", "IS FALSE", ""), false),
        (clause("isContractor", "IS FALSE", ""), true),
        (clause("department", "IS NOT NULL", ""), true),
        (clause("department", "IS NULL", ""), false),
        (clause("mail", "REGEX MATCH", "^ann@"), true),
        (clause("mail", "REGEX MATCH", "^bob@"), false),
        (clause("mail", "NOT REGEX MATCH", "^bob@"), true),
        (clause("department", "Greater_Than", "1"), false),
    ];
    for (c, want) in cases {
        assert_eq!(one(c.clone(), &o), want, "{c}");
    }
}

#[test]
fn null_and_empty_attributes_fail_every_clause_but_is_null() {
    for obj in [object(&[]), object(&[("department", Value::str(""))])] {
        for op in Operator::ALL {
            let value = match op {
                Operator::GreaterThan
                | Operator::GreaterThanOrEquals
                | Operator::BitAnd
                | Operator::NotBitAnd => "1",
                o if !o.takes_value() => "",
                _ => "x",
            };
            let c = Clause {
                attribute: "department".into(),
                operator: op,
                value: value.into(),
            };
            assert_eq!(one(c, &obj), op == Operator::IsNull, "{op}");
        }
    }
}

#[test]
fn and_within_or_across() {
    let sales_us = Filter {
        title: "US sales".into(),
        clauses: vec![
            clause("department", "EQUALS", "Sales"),
            clause("country", "EQUALS", "US"),
        ],
    };
    let it = Filter {
        title: "IT".into(),
        clauses: vec![clause("department", "EQUALS", "IT")],
    };
    let filters = [sales_us.clone(), it];
    let o = |d: &str, c: &str| object(&[("department", Value::str(d)), ("country", Value::str(c))]);
    assert!(matches(&filters, &o("Sales", "US")));
    assert!(!matches(&filters, &o("Sales", "FR")));
    assert!(matches(&filters, &o("IT", "FR")));
    assert!(!matches(&filters, &o("HR", "US")));
    assert!(matches(&[], &o("HR", "US")), "no filter: everything is in scope");
    assert_eq!(
        sales_us.to_string(),
        r#"department EQUALS "Sales" AND country EQUALS "US""#
    );
    assert_eq!(clause("mail", "IS NOT NULL", "").to_string(), "mail IS NOT NULL");
    let explained = Scope::new(&filters)
        .unwrap()
        .explain(&|a| o("Sales", "FR").get(a).cloned().unwrap_or(Value::Null));
    assert_eq!(
        explained[0].iter().map(|(_, r)| *r).collect::<Vec<_>>(),
        vec![true, false]
    );
}

#[test]
fn validation() {
    let known = |a: &str| ["department", "employeeId", "mail", "accountEnabled"].contains(&a);
    let ok = |c: Clause| validate(&c, &known);
    assert_eq!(ok(clause("department", "EQUALS", "Sales")), Ok(()));
    assert!(matches!(
        ok(clause("department", "EQUALS", "")),
        Err(ClauseError::Value(_))
    ));
    assert!(matches!(
        ok(clause("employeeId", "Greater_Than", "ten")),
        Err(ClauseError::Value(_))
    ));
    assert!(matches!(
        ok(clause("accountEnabled", "IS TRUE", "yes")),
        Err(ClauseError::Value(_))
    ));
    assert!(matches!(
        ok(clause("mail", "REGEX MATCH", "(")),
        Err(ClauseError::Value(_))
    ));
    assert!(matches!(
        ok(clause("manager", "IS NULL", "")),
        Err(ClauseError::Attribute(_))
    ));
    assert!(matches!(
        ok(clause("shoeSize", "IS NULL", "")),
        Err(ClauseError::Attribute(_))
    ));
    assert!(matches!(
        ok(clause("", "IS NULL", "")),
        Err(ClauseError::Attribute(_))
    ));
}

#[test]
fn operator_labels_round_trip() {
    assert_eq!(Operator::ALL.len(), 14);
    for op in Operator::ALL {
        assert_eq!(Operator::parse(op.label()), Some(op));
    }
    assert_eq!(
        Operator::parse("greater_than_or_equals"),
        Some(Operator::GreaterThanOrEquals)
    );
    assert_eq!(Operator::parse("NOT_EQUALS"), Some(Operator::NotEquals));
    assert_eq!(Operator::parse("LIKE"), None);
}

proptest! {
    /// NOT EQUALS is the negation of EQUALS exactly when the attribute has a value.
    #[test]
    fn not_equals_negates_equals_for_values(v in ".{0,12}", w in ".{1,12}") {
        let o = object(&[("a", Value::Str(v.clone()))]);
        let eq = one(clause("a", "EQUALS", &w), &o);
        let ne = one(clause("a", "NOT EQUALS", &w), &o);
        if v.is_empty() {
            prop_assert!(!eq && !ne);
        } else {
            prop_assert_eq!(eq, !ne);
        }
    }

    /// Adding a clause to a filter never widens it; adding a filter never narrows the scope.
    #[test]
    fn and_narrows_or_widens(d in "[A-C]{0,2}", x in "[A-C]{1,2}", y in "[A-C]{1,2}") {
        let o = object(&[("d", Value::Str(d))]);
        let f1 = Filter { title: String::new(), clauses: vec![clause("d", "Includes", &x)] };
        let mut f12 = f1.clone();
        f12.clauses.push(clause("d", "ENDS_WITH", &y));
        let f2 = Filter { title: String::new(), clauses: vec![clause("d", "ENDS_WITH", &y)] };
        prop_assert!(!matches(std::slice::from_ref(&f12), &o) || matches(std::slice::from_ref(&f1), &o));
        prop_assert!(!matches(std::slice::from_ref(&f1), &o) || matches(&[f1.clone(), f2], &o));
    }
}
