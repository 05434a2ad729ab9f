//! The expression language: each function's documented examples (Entra's reference for
//! attribute-mapping expressions), the parser's errors and limits, and properties.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use provisio_mapping::expr::{functions, Context, Expression, Kind, MAX_DEPTH, MAX_LEN};
use provisio_mapping::Value;
use std::cell::Cell;
use std::collections::HashMap;
use time::macros::datetime;
use time::OffsetDateTime;

#[derive(Default)]
struct Ctx {
    attrs: HashMap<String, Value>,
    taken: Vec<String>,
    seed: Cell<u8>,
}

impl Ctx {
    fn with(pairs: &[(&str, Value)]) -> Self {
        Ctx {
            attrs: pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
            ..Default::default()
        }
    }
}

impl Context for Ctx {
    fn attribute(&self, name: &str) -> Value {
        self.attrs.get(name).cloned().unwrap_or(Value::Null)
    }
    fn now(&self) -> OffsetDateTime {
        datetime!(2026-11-28 12:00 UTC)
    }
    fn fill_random(&self, buf: &mut [u8]) {
        for b in buf {
            let s = self.seed.get().wrapping_mul(31).wrapping_add(17);
            self.seed.set(s);
            *b = s;
        }
    }
    fn is_unique(&self, value: &str) -> bool {
        !self.taken.iter().any(|t| t == value)
    }
}

fn eval_in(ctx: &Ctx, src: &str) -> Value {
    Expression::parse(src)
        .unwrap_or_else(|e| panic!("{src}: {e}"))
        .evaluate(ctx)
        .unwrap_or_else(|e| panic!("{src}: {e}"))
        .value
}

fn eval(src: &str) -> Value {
    eval_in(&Ctx::default(), src)
}

fn s(v: &str) -> Value {
    Value::str(v)
}

fn multi(v: &[&str]) -> Value {
    Value::Multi(v.iter().map(|x| s(x)).collect())
}

#[test]
fn append_and_join() {
    let ctx = Ctx::with(&[
        ("userPrincipalName", s("john")),
        ("givenName", s("John")),
        ("surname", s("Doe")),
    ]);
    assert_eq!(
        eval_in(&ctx, r#"Append([userPrincipalName], "@contoso.com")"#),
        s("john@contoso.com")
    );
    assert_eq!(eval(r#"Append([missing], "@contoso.com")"#), Value::Null);
    assert_eq!(
        eval_in(&ctx, r#"Join(" ", [givenName], [surname])"#),
        s("John Doe")
    );
    assert_eq!(
        eval_in(&ctx, r#"Join(" ", [givenName], [middleName], [surname])"#),
        s("John Doe")
    );
    let ctx = Ctx::with(&[("proxyAddresses", multi(&["a", "b"]))]);
    assert_eq!(eval_in(&ctx, r#"Join(",", "x", [proxyAddresses])"#), s("x,a,b"));
    assert_eq!(eval(r#"Join("@", "john", "contoso.com")"#), s("john@contoso.com"));
}

#[test]
fn app_roles() {
    let roles = Value::Multi(vec![
        Value::Json(serde_json::json!({"value": "admin", "displayName": "Admin"})),
        Value::Json(serde_json::json!({"value": "user", "displayName": "User"})),
    ]);
    let ctx = Ctx::with(&[("appRoleAssignments", roles)]);
    assert_eq!(
        eval_in(&ctx, "AppRoleAssignmentsComplex([appRoleAssignments])").to_json(),
        serde_json::json!([
            {"primary": false, "type": "WindowsAzureActiveDirectoryRole", "display": "Admin", "value": "admin"},
            {"primary": false, "type": "WindowsAzureActiveDirectoryRole", "display": "User", "value": "user"}
        ])
    );
    assert_eq!(
        eval_in(&ctx, "SingleAppRoleAssignment([appRoleAssignments])"),
        s("admin")
    );
    assert!(Expression::parse("SingleAppRoleAssignment([mail])").is_err());
}

#[test]
fn numbers_and_booleans() {
    assert_eq!(eval("BitAnd(&HF, &HF7)"), Value::Int(7));
    let ctx = Ctx::with(&[
        ("attribute1", s("a")),
        ("attribute2", s("a")),
        ("enabled", s("False")),
    ]);
    assert_eq!(
        eval_in(&ctx, "CBool([attribute1] = [attribute2])"),
        Value::Bool(true)
    );
    assert_eq!(
        eval_in(&ctx, "CBool([attribute1] <> [attribute2])"),
        Value::Bool(false)
    );
    assert_eq!(eval_in(&ctx, "Not([enabled])"), Value::Bool(true));
    assert_eq!(eval("CBool(\"0\")"), Value::Bool(false));
    assert_eq!(eval("CBool(5)"), Value::Bool(true));
    assert!(Expression::parse("CBool(\"maybe\")")
        .unwrap()
        .evaluate(&Ctx::default())
        .is_err());
    assert_eq!(
        eval("CBool(10 > 9)"),
        Value::Bool(true),
        "numbers compare as numbers"
    );
    assert_eq!(eval("CBool(\"10\" < \"9\")"), Value::Bool(false));
    assert_eq!(eval("CBool(\"b\" > \"a\")"), Value::Bool(true));
}

#[test]
fn dates() {
    // DateAdd's documented example: 3 days after 2012-03-16-07:00 is 3/19/2012 7:00:00 AM (UTC).
    assert_eq!(
        eval(r#"DateAdd("d", 3, CDate("2012-03-16-07:00"))"#)
            .text()
            .unwrap(),
        "3/19/2012 7:00:00 AM"
    );
    assert_eq!(
        eval(r#"CDate("2021-08-11T13:54:24Z")"#),
        Value::Date(datetime!(2021-08-11 13:54:24 UTC))
    );
    assert_eq!(
        eval(r#"DateAdd("m", 1, "2024-01-31")"#),
        Value::Date(datetime!(2024-02-29 00:00 UTC))
    );
    assert_eq!(
        eval(r#"DateAdd("yyyy", -1, "2024-02-29")"#),
        Value::Date(datetime!(2023-02-28 00:00 UTC))
    );
    assert_eq!(
        eval(r#"DateAdd("ww", 2, "2024-01-01")"#),
        Value::Date(datetime!(2024-01-15 00:00 UTC))
    );
    assert_eq!(
        eval(r#"DateAdd("n", 90, "2024-01-01")"#),
        Value::Date(datetime!(2024-01-01 01:30 UTC))
    );
    assert_eq!(
        eval(r#"DateDiff("d", "2024-01-01", "2024-03-01")"#),
        Value::Int(60)
    );
    assert_eq!(
        eval(r#"DateDiff("yyyy", "2023-12-31", "2024-01-01")"#),
        Value::Int(1)
    );
    assert_eq!(
        eval(r#"DateDiff("m", "2024-01-31", "2024-02-01")"#),
        Value::Int(1)
    );
    assert_eq!(
        eval(r#"DateDiff("h", "2024-01-02", "2024-01-01")"#),
        Value::Int(-24)
    );
    assert_eq!(
        eval(r#"DateDiff("d", Now(), CDate("2026-12-01T12:00:00Z"))"#),
        Value::Int(3)
    );
    assert_eq!(
        eval("DateFromNum(129699324000000000)"),
        Value::Date(datetime!(2012-01-01 23:00 UTC))
    );
    assert_eq!(
        eval(r#"NumFromDate("2012-01-01T23:00:00-00:00")"#),
        Value::Int(129699324000000000)
    );
    assert_eq!(
        eval(r#"FormatDateTime("20150123105347.1Z", , "yyyyMMddHHmmss.fZ", "yyyy-MM-dd")"#),
        s("2015-01-23")
    );
    assert_eq!(
        eval(
            r#"FormatDateTime(DateAdd("d", 7, CDate("2021-08-11T13:54:24Z")), , "M/d/yyyy h:mm:ss tt", "yyyy-MM-dd")"#
        ),
        s("2021-08-18")
    );
    assert_eq!(eval("Now()"), Value::Date(datetime!(2026-11-28 12:00 UTC)));
    assert!(
        Expression::parse(r#"DateAdd("q", 1, Now())"#).is_err(),
        "unknown interval caught at parse"
    );
    assert!(Expression::parse(r#"FormatDateTime([d], , "yyyy'", "yyyy")"#).is_err());
    let bad = Expression::parse(r#"CDate("not a date")"#).unwrap();
    assert!(bad
        .evaluate(&Ctx::default())
        .unwrap_err()
        .message
        .contains("not a date"));
}

#[test]
fn coalesce_and_null_tests() {
    let ctx = Ctx::with(&[("personalEmail", s("p@x.com")), ("empty", s(""))]);
    assert_eq!(
        eval_in(&ctx, "Coalesce([businessEmail], [personalEmail])"),
        s("p@x.com")
    );
    assert_eq!(
        eval_in(&ctx, r#"Coalesce([businessEmail], [empty], "none")"#),
        s("none")
    );
    assert_eq!(eval("Coalesce([a], [b])"), Value::Null);
    assert_eq!(eval_in(&ctx, "IsNull([businessEmail])"), Value::Bool(true));
    assert_eq!(eval_in(&ctx, "IsNull([empty])"), Value::Bool(false));
    assert_eq!(eval_in(&ctx, "IsNullOrEmpty([empty])"), Value::Bool(true));
    assert_eq!(eval_in(&ctx, "IsPresent([personalEmail])"), Value::Bool(true));
    assert_eq!(eval_in(&ctx, "IsPresent([empty])"), Value::Bool(false));
    assert_eq!(eval_in(&ctx, "IsString([personalEmail])"), Value::Bool(true));
    assert_eq!(eval("IsString(5)"), Value::Bool(false));
}

#[test]
fn encodings() {
    assert_eq!(
        eval(r#"ConvertToBase64("Hello world!")"#),
        s("SABlAGwAbABvACAAdwBvAHIAbABkACEA")
    );
    assert_eq!(
        eval(r#"ConvertToUTF8Hex("Hello world!")"#),
        s("48656C6C6F20776F726C6421")
    );
}

#[test]
fn multi_valued() {
    let ctx = Ctx::with(&[(
        "proxyAddresses",
        multi(&["SMTP:a@x.com", "smtp:b@x.com", "SMTP:a@x.com"]),
    )]);
    assert_eq!(eval_in(&ctx, "Count([proxyAddresses])"), Value::Int(3));
    assert_eq!(eval_in(&ctx, "Item([proxyAddresses], 2)"), s("smtp:b@x.com"));
    assert_eq!(eval_in(&ctx, "Item([proxyAddresses], 4)"), Value::Null);
    assert_eq!(
        eval_in(&ctx, "RemoveDuplicates([proxyAddresses])"),
        multi(&["SMTP:a@x.com", "smtp:b@x.com"])
    );
    assert_eq!(
        eval(r#"Split("SalesAdmin,HRAdmin", ",")"#),
        multi(&["SalesAdmin", "HRAdmin"])
    );
    assert_eq!(eval("Count([none])"), Value::Int(0));
}

#[test]
fn text_functions() {
    assert_eq!(eval(r#"CStr(5)"#), s("5"));
    assert_eq!(eval(r#"InStr("The quick brown fox","quick")"#), Value::Int(5));
    assert_eq!(eval(r#"InStr("repEated","e",3,vbBinaryCompare)"#), Value::Int(7));
    assert_eq!(eval(r#"InStr("repEated","e",3,vbTextCompare)"#), Value::Int(4));
    assert_eq!(eval(r#"InStr("abc","z")"#), Value::Int(0));
    assert_eq!(eval(r#"Left("John Doe", 3)"#), s("Joh"));
    assert_eq!(eval(r#"Left("John Doe", 0)"#), s(""));
    assert_eq!(eval(r#"Left("John Doe", -1)"#), s("John Doe"));
    assert_eq!(eval(r#"Left("John", 30)"#), s("John"));
    assert_eq!(eval(r#"Left([missing], 3)"#), s(""));
    assert_eq!(eval(r#"Mid("John Doe", 3, 5)"#), s("hn Do"));
    assert_eq!(eval(r#"Mid("John", 9, 2)"#), s(""));
    assert_eq!(eval(r#"NormalizeDiacritics("Zoë")"#), s("Zoe"));
    assert_eq!(
        eval(r#"NormalizeDiacritics("Łukasz Ørsted Ångström Müller-Straße")"#),
        s("Lukasz Orsted Angstrom Muller-Strasse")
    );
    assert_eq!(eval(r#"PCase("NEW york")"#), s("New York"));
    assert_eq!(eval(r#"PCase("anne-marie o'neil", "-")"#), s("Anne-Marie O'neil"));
    assert_eq!(eval(r#"StripSpaces("  John  Doe ")"#), s("JohnDoe"));
    assert_eq!(eval(r#"ToLower("TEST")"#), s("test"));
    assert_eq!(eval(r#"ToUpper("test", "en-US")"#), s("TEST"));
    assert_eq!(eval(r#"Word("The quick brown fox", 3, " ")"#), s("brown"));
    assert_eq!(
        eval(r#"Word("This,string!has&many separators", 3, ",!&#")"#),
        s("has")
    );
    assert_eq!(eval(r#"Word("one two", 5, " ")"#), s(""));
}

#[test]
fn iif_and_switch() {
    let us = Ctx::with(&[("country", s("USA")), ("department", s("Sales"))]);
    let fr = Ctx::with(&[("country", s("France")), ("department", s("Sales"))]);
    let e = r#"IIF([country]="USA",[country],[department])"#;
    assert_eq!(eval_in(&us, e), s("USA"));
    assert_eq!(eval_in(&fr, e), s("Sales"));
    let sw = r#"Switch([state], "Australia/Sydney", "NSW", "Australia/Sydney", "QLD", "Australia/Brisbane", "SA", "Australia/Adelaide")"#;
    assert_eq!(
        eval_in(&Ctx::with(&[("state", s("QLD"))]), sw),
        s("Australia/Brisbane")
    );
    assert_eq!(
        eval_in(&Ctx::with(&[("state", s("qld"))]), sw),
        s("Australia/Sydney"),
        "keys are case sensitive"
    );
    assert_eq!(eval(sw), s("Australia/Sydney"));
    // Entra's default mapping of `active`.
    let active = r#"Switch([IsSoftDeleted], , "False", "True", "True", "False")"#;
    assert_eq!(
        eval_in(&Ctx::with(&[("IsSoftDeleted", Value::Bool(false))]), active),
        s("True")
    );
    assert_eq!(
        eval_in(&Ctx::with(&[("IsSoftDeleted", Value::Bool(true))]), active),
        s("False")
    );
    assert_eq!(eval(active), Value::Null);
}

#[test]
fn ignore_flow_and_redact() {
    let e = Expression::parse("IgnoreFlowIfNullOrEmpty([mobile])").unwrap();
    let out = e.evaluate(&Ctx::default()).unwrap();
    assert!(out.ignore_flow);
    assert_eq!(out.value, Value::Null);
    let out = e.evaluate(&Ctx::with(&[("mobile", s("+1 555"))])).unwrap();
    assert!(!out.ignore_flow);
    let out = Expression::parse(r#"Redact("StringToBeRedacted")"#)
        .unwrap()
        .evaluate(&Ctx::default())
        .unwrap();
    assert!(out.redacted);
    assert_eq!(out.value, s("StringToBeRedacted"));
}

#[test]
fn random_values() {
    let g = eval("Guid()").text().unwrap();
    assert_eq!(g.len(), 36);
    assert_eq!(g.as_bytes()[14], b'4');
    let r = eval("RandomString(6, 3, 0, 0, 3)").text().unwrap();
    assert_eq!(r.chars().count(), 6);
    assert!(r.chars().filter(char::is_ascii_digit).count() >= 3, "{r}");
    assert!(r.chars().filter(char::is_ascii_lowercase).count() >= 3, "{r}");
    let avoided = Expression::parse(r#"RandomString(20, 2, 2, 2, 2, "0123456789")"#).unwrap();
    assert!(
        avoided.evaluate(&Ctx::default()).is_err(),
        "digits avoided yet two required"
    );
    let r = eval(r#"RandomString(12, 0, 0, 0, 0, "abcdefghijklmnopqrstuvwxyz")"#)
        .text()
        .unwrap();
    assert!(!r.chars().any(|c| c.is_ascii_lowercase()), "{r}");
    assert!(Expression::parse("RandomString(100000)")
        .unwrap()
        .evaluate(&Ctx::default())
        .is_err());
}

#[test]
fn replace_forms() {
    let nick = Ctx::with(&[("mailNickname", s("john_doe72"))]);
    assert_eq!(
        eval_in(&nick, r#"Replace([mailNickname], , "[a-zA-Z_]*", , "", , )"#),
        s("72")
    );
    assert_eq!(eval(r#"Replace("a-b-c", "-", , , "", , )"#), s("abc"));
    assert_eq!(
        eval(r#"Replace("john", "%s", , , , , "Hello %s!")"#),
        s("Hello john!")
    );
    let phone = Ctx::with(&[("telephoneNumber", s("+1 (425) 555-0100"))]);
    assert_eq!(
        eval_in(
            &phone,
            r#"Replace([telephoneNumber], , "\\+(?<isdCode>\\d* )(?<phoneNumber>.*)", , "${phoneNumber}", , )"#
        ),
        s("(425) 555-0100")
    );
    assert_eq!(
        eval_in(
            &phone,
            r#"Replace([telephoneNumber], , "\\+(?<isdCode>\\d*) ", "isdCode", "44", , )"#
        ),
        s("+44 (425) 555-0100")
    );
    let upn = Ctx::with(&[("userPrincipalName", s("jane@contoso.com"))]);
    assert_eq!(
        eval_in(
            &upn,
            r#"Replace([mail], , "(?<name>[^@]*)@.*", "name", , "userPrincipalName", )"#
        ),
        s("jane")
    );
    assert!(Expression::parse(r#"Replace([x], , "(unclosed", , "", , )"#)
        .unwrap_err()
        .message
        .contains("regular expression"));
    let e = Expression::parse(r#"Replace([x], , , , , , )"#).unwrap();
    assert!(e.evaluate(&Ctx::with(&[("x", s("a"))])).is_err());
}

#[test]
fn select_unique_value() {
    let mut ctx = Ctx::with(&[("givenName", s("Zoë")), ("surname", s("Smith"))]);
    ctx.taken = vec!["Zoe@contoso.com".into()];
    let e = r#"SelectUniqueValue(Join("@", NormalizeDiacritics(StripSpaces([givenName])), "contoso.com"), Join("@", NormalizeDiacritics(StripSpaces(Join(".", [givenName], [surname]))), "contoso.com"))"#;
    assert_eq!(eval_in(&ctx, e), s("Zoe.Smith@contoso.com"));
    ctx.taken.push("Zoe.Smith@contoso.com".into());
    assert!(Expression::parse(e).unwrap().evaluate(&ctx).is_err());
    let nested = Expression::parse(r#"ToLower(SelectUniqueValue("a"))"#).unwrap_err();
    assert!(nested.message.contains("outermost"), "{nested}");
}

#[test]
fn parse_errors_carry_positions() {
    for (src, pos, needle) in [
        ("Join(\" \", [a]", 13, "not closed"),
        ("join(\" \", [a])", 0, "case sensitive"),
        ("Frobnicate([a])", 0, "unknown function"),
        ("Left([a])", 0, "takes 2 arguments"),
        ("ToLower([a]) x", 13, "after the end"),
        ("ToLower([a", 8, "not closed"),
        ("ToLower(\"abc)", 8, "not closed"),
        ("ToLower(department)", 8, "unknown name"),
        (
            "Switch([a], \"d\", \"k\", \"v\", \"k2\")",
            0,
            "value after every key",
        ),
        ("IIF([a] = \"x\" = \"y\", 1, 2)", 14, "one comparison"),
        ("", 0, "empty"),
        ("ToLower([])", 8, "missing"),
        ("Left([a], 12abc)", 12, "number"),
        ("InStr([a], \"b\", 1, \"text\")", 19, "compare type"),
    ] {
        let e = Expression::parse(src).unwrap_err();
        assert_eq!(e.pos, pos, "{src}: {e}");
        assert!(e.message.contains(needle), "{src}: {e}");
    }
}

#[test]
fn limits() {
    let long = format!("\"{}\"", "x".repeat(MAX_LEN));
    assert!(Expression::parse(&long).unwrap_err().message.contains("longer"));
    let deep = format!(
        "{}[a]{}",
        "ToLower(".repeat(MAX_DEPTH + 1),
        ")".repeat(MAX_DEPTH + 1)
    );
    assert!(Expression::parse(&deep).unwrap_err().message.contains("nested"));
    let ok = format!("{}[a]{}", "ToLower(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
    assert!(Expression::parse(&ok).is_ok());
}

#[test]
fn canonical_printing() {
    let e = Expression::parse(r#"Switch( [IsSoftDeleted] ,,"False","True" ,"True","False")"#).unwrap();
    assert_eq!(
        e.to_string(),
        r#"Switch([IsSoftDeleted], , "False", "True", "True", "False")"#
    );
    let e = Expression::parse(r#"Replace([x], , "\\d+", , "", , )"#).unwrap();
    assert_eq!(e.to_string(), r#"Replace([x], , "\\d+", , "", , )"#);
    assert_eq!(
        Expression::parse("BitAnd(&HF, -2)").unwrap().to_string(),
        "BitAnd(15, -2)"
    );
    assert_eq!(
        Expression::parse(r#"IIF([c]="a\"b",1,2)"#).unwrap().to_string(),
        r#"IIF([c] = "a\"b", 1, 2)"#
    );
}

#[test]
fn attributes_are_listed_with_positions() {
    let e = Expression::parse(r#"Join(" ", [givenName], [surname])"#).unwrap();
    assert_eq!(
        e.attributes(),
        vec![("givenName".into(), 10), ("surname".into(), 23)]
    );
}

#[test]
fn every_function_has_a_working_signature() {
    for f in functions::FUNCTIONS {
        assert!(f.signature.starts_with(&format!("{}(", f.name)), "{}", f.name);
    }
}

mod properties {
    use super::*;
    use proptest::prelude::*;
    use provisio_mapping::expr::{CmpOp, Expr};

    fn leaf() -> impl Strategy<Value = Expr> {
        prop_oneof![
            "[a-zA-Z][a-zA-Z0-9]{0,8}".prop_map(Kind::Attr),
            any::<String>().prop_map(Kind::Str),
            any::<i64>().prop_map(Kind::Num),
            Just(Kind::Name("vbTextCompare".into())),
        ]
        .prop_map(|kind| Expr { kind, pos: 0 })
    }

    fn tree() -> impl Strategy<Value = Expr> {
        leaf().prop_recursive(4, 24, 4, |inner| {
            let arg = prop_oneof![4 => inner.clone(), 1 => Just(Expr { kind: Kind::Empty, pos: 0 })];
            prop_oneof![
                (
                    0..functions::FUNCTIONS.len(),
                    proptest::collection::vec(arg, 6),
                    0usize..3
                )
                    .prop_map(|(i, pool, extra)| {
                        let f = &functions::FUNCTIONS[i];
                        let max = f.max_args.unwrap_or(f.min_args + 2).min(6);
                        let n = (f.min_args + extra).min(max);
                        let mut args: Vec<Expr> = pool.into_iter().take(n).collect();
                        if f.name == "Switch" && args.len() % 2 == 1 {
                            args.pop();
                        }
                        if args.len() == 1 && matches!(args[0].kind, Kind::Empty) {
                            args[0] = Expr {
                                kind: Kind::Str(String::new()),
                                pos: 0,
                            };
                        }
                        Expr {
                            kind: Kind::Call {
                                name: f.name.to_string(),
                                args,
                            },
                            pos: 0,
                        }
                    }),
                (
                    inner.clone(),
                    inner,
                    proptest::sample::select(vec![CmpOp::Eq, CmpOp::Ne, CmpOp::Ge, CmpOp::Lt])
                )
                    .prop_filter("comparisons of comparisons", |(a, b, _)| {
                        !matches!(a.kind, Kind::Compare { .. }) && !matches!(b.kind, Kind::Compare { .. })
                    })
                    .prop_map(|(a, b, op)| Expr {
                        kind: Kind::Compare {
                            op,
                            lhs: Box::new(a),
                            rhs: Box::new(b)
                        },
                        pos: 0
                    }),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Whatever parses prints in a form that parses to the same tree and prints the same.
        #[test]
        fn print_parse_round_trip(e in tree()) {
            let printed = e.to_string();
            if let Ok(parsed) = Expression::parse(&printed) {
                prop_assert_eq!(parsed.to_string(), printed.clone());
                let again = Expression::parse(&parsed.to_string()).unwrap();
                prop_assert_eq!(again.to_string(), printed);
            }
        }

        /// Evaluation never panics, whatever the attributes hold.
        #[test]
        fn evaluation_never_panics(e in tree(), a in any::<String>(), n in any::<i64>()) {
            if let Ok(parsed) = Expression::parse(&e.to_string()) {
                let mut attrs = HashMap::new();
                for (name, _) in parsed.attributes() {
                    let v = if name.len() % 3 == 0 { Value::Int(n) } else if name.len() % 3 == 1 { Value::Str(a.clone()) } else { Value::Multi(vec![Value::Str(a.clone()), Value::Null]) };
                    attrs.insert(name, v);
                }
                let ctx = Ctx { attrs, ..Default::default() };
                let _ = parsed.evaluate(&ctx);
            }
        }

        /// Tracing an evaluation never changes its outcome, and its steps stay within bounds.
        #[test]
        fn tracing_never_changes_the_outcome(e in tree(), a in any::<String>()) {
            if let Ok(parsed) = Expression::parse(&e.to_string()) {
                let attrs: HashMap<String, Value> = parsed
                    .attributes()
                    .into_iter()
                    .map(|(name, _)| (name, Value::Str(a.clone())))
                    .collect();
                let plain = parsed.evaluate(&Ctx { attrs: attrs.clone(), ..Default::default() });
                let (traced, trace) = parsed.evaluate_traced(&Ctx { attrs, ..Default::default() });
                prop_assert_eq!(plain, traced);
                prop_assert!(trace.steps.len() <= provisio_mapping::expr::trace::MAX_STEPS);
            }
        }

        /// The parser never panics on arbitrary text.
        #[test]
        fn parser_never_panics(s in ".{0,200}") {
            let _ = Expression::parse(&s);
        }

        /// String constants survive quoting whatever they contain.
        #[test]
        fn strings_round_trip(text in any::<String>()) {
            let e = Expression::parse(&format!("CStr({})", provisio_mapping::expr::quote(&text))).unwrap();
            prop_assert_eq!(e.evaluate(&Ctx::default()).unwrap().value, Value::Str(text));
        }
    }
}
