//! The expression tester's evaluation trace: each call in the order it was entered, with the
//! values of its arguments (and which it never evaluated) and its result; bounded whatever the
//! expression.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use provisio_mapping::expr::trace::{Step, MAX_SHOWN, MAX_STEPS};
use provisio_mapping::expr::Expression;
use provisio_mapping::Value;

mod common;
use common::{ctx, Ctx};

fn traced(src: &str, c: &Ctx) -> (Result<Value, String>, Vec<Step>, bool) {
    let e = Expression::parse(src).unwrap();
    let (outcome, trace) = e.evaluate_traced(c);
    (
        outcome.map(|o| o.value).map_err(|e| e.message),
        trace.steps,
        trace.cut,
    )
}

fn shown(args: &[&str]) -> Vec<Option<String>> {
    args.iter().map(|a| (*a != "-").then(|| a.to_string())).collect()
}

#[test]
fn a_null_flowing_through_shows_where_it_entered() {
    let c = ctx(&[("givenName", "Ana")]);
    let (value, steps, cut) = traced(r#"ToLower(Join(".", [givenName], [surname]))"#, &c);
    assert_eq!(value, Ok(Value::str("ana")));
    assert!(!cut);
    assert_eq!(steps.len(), 2);
    // Entered outer first; the inner call is one level deeper.
    assert_eq!((steps[0].name.as_str(), steps[0].depth), ("ToLower", 0));
    assert_eq!((steps[1].name.as_str(), steps[1].depth), ("Join", 1));
    assert_eq!(steps[1].args, shown(&[r#"".""#, r#""Ana""#, "null"]));
    assert_eq!(steps[1].result, Ok(r#""Ana""#.to_string()));
    assert_eq!(steps[0].args, shown(&[r#""Ana""#]));
    assert_eq!(steps[0].result, Ok(r#""ana""#.to_string()));
    assert_eq!(steps[1].text, r#"Join(".", [givenName], [surname])"#);
    assert_eq!(steps[1].pos, 8);
}

#[test]
fn arguments_a_function_does_not_need_are_marked_not_evaluated() {
    let c = ctx(&[("country", "USA")]);
    let (value, steps, _) = traced(r#"IIF([country]="USA", "US", ToUpper([country]))"#, &c);
    assert_eq!(value, Ok(Value::str("US")));
    // IIF, then its comparison; ToUpper was never called.
    let names: Vec<&str> = steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["IIF", "="]);
    assert_eq!(steps[0].args, shown(&["True", r#""US""#, "-"]));
    assert_eq!(steps[1].args, shown(&[r#""USA""#, r#""USA""#]));
    assert_eq!(steps[1].depth, 1);

    let (_, steps, _) = traced(r#"Coalesce([mail], [upn], "none")"#, &ctx(&[("upn", "a@b")]));
    assert_eq!(steps[0].args, shown(&["null", r#""a@b""#, "-"]));
}

#[test]
fn a_failing_call_shows_its_error_and_the_calls_around_it_fail_too() {
    let (value, steps, _) = traced(r#"ToUpper(Mid("abc", "x", 1))"#, &ctx(&[]));
    assert!(value.unwrap_err().contains("whole number"));
    assert_eq!(steps.len(), 2);
    assert!(steps[1].result.as_ref().unwrap_err().contains("whole number"));
    assert!(steps[0].result.is_err());
    assert_eq!(steps[0].args, shown(&["-"]));
}

#[test]
fn traces_are_bounded_but_the_result_is_exact() {
    let calls: Vec<String> = (0..300).map(|i| format!("ToLower(\"{i}\")")).collect();
    let src = format!("Join(\"\", {})", calls.join(", "));
    let (value, steps, cut) = traced(&src, &ctx(&[]));
    let expected: String = (0..300).map(|i| i.to_string()).collect();
    assert_eq!(value, Ok(Value::Str(expected)));
    assert!(cut);
    assert_eq!(steps.len(), MAX_STEPS);
    // The outer call lists the arguments it shows and counts the others (separator + 300).
    assert_eq!(steps[0].args.len() + steps[0].more_args, 301);
    assert!(steps[0].text.chars().count() <= MAX_SHOWN);
    assert!(steps[0].result.as_ref().unwrap().chars().count() <= MAX_SHOWN);

    let long = "x".repeat(100_000);
    let (_, steps, _) = traced("ToUpper([a])", &ctx(&[("a", &long)]));
    assert!(steps[0].args[0].as_ref().unwrap().chars().count() <= MAX_SHOWN);
    assert!(steps[0].args[0].as_ref().unwrap().ends_with('…'));
}

#[test]
fn multi_valued_and_typed_values_are_shown_as_they_are() {
    let mut c = ctx(&[]);
    c.0.insert(
        "proxyAddresses".into(),
        Value::Multi(vec![Value::str("SMTP:a@b"), Value::str("smtp:c@d")]),
    );
    let (_, steps, _) = traced(r#"Count([proxyAddresses]) > 1"#, &c);
    assert_eq!(steps[0].name, ">");
    assert_eq!(steps[1].args, shown(&[r#"["SMTP:a@b", "smtp:c@d"]"#]));
    assert_eq!(steps[1].result, Ok("2".to_string()));
    assert_eq!(steps[0].result, Ok("True".to_string()));
}
