use super::*;
use proptest::prelude::*;

fn p(s: &str) -> Filter {
    parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn s(v: &str) -> CompValue {
    CompValue::Str(v.to_string())
}

fn cmp(path: AttrPath, op: CompareOp, v: CompValue) -> Filter {
    Filter::Compare(path, op, v)
}

fn and(a: Filter, b: Filter) -> Filter {
    Filter::And(Box::new(a), Box::new(b))
}

fn or(a: Filter, b: Filter) -> Filter {
    Filter::Or(Box::new(a), Box::new(b))
}

#[test]
fn every_example_of_rfc_7644_parses() {
    for f in [
        r#"userName eq "bjensen""#,
        r#"name.familyName co "O'Malley""#,
        r#"userName sw "J""#,
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
        r#"title pr"#,
        r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified ge "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified lt "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified le "2011-05-13T04:42:34Z""#,
        r#"title pr and userType eq "Employee""#,
        r#"title pr or userType eq "Intern""#,
        r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
        r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
        r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
        r#"userType eq "Employee" and (emails.type eq "work")"#,
        r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
        r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
    ] {
        let parsed = p(f);
        assert_eq!(p(&parsed.to_string()), parsed, "{f} -> {parsed}");
    }
}

#[test]
fn shapes_of_the_ast() {
    assert_eq!(
        p(r#"userName eq "bjensen""#),
        cmp(AttrPath::new("userName"), CompareOp::Eq, s("bjensen"))
    );
    assert_eq!(
        p(r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "7""#),
        cmp(
            AttrPath {
                urn: Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".into()),
                attr: "manager".into(),
                sub: Some("value".into()),
            },
            CompareOp::Eq,
            s("7")
        )
    );
    assert_eq!(
        p(r#"userType ne "Employee" and not (emails co "x" or title pr)"#),
        and(
            cmp(AttrPath::new("userType"), CompareOp::Ne, s("Employee")),
            Filter::Not(Box::new(or(
                cmp(AttrPath::new("emails"), CompareOp::Co, s("x")),
                Filter::Present(AttrPath::new("title"))
            )))
        )
    );
    assert_eq!(
        p("active eq true and meta.version ne null and x gt 5.5"),
        and(
            and(
                cmp(AttrPath::new("active"), CompareOp::Eq, CompValue::Bool(true)),
                cmp(
                    AttrPath::with_sub("meta", "version"),
                    CompareOp::Ne,
                    CompValue::Null
                )
            ),
            cmp(
                AttrPath::new("x"),
                CompareOp::Gt,
                CompValue::Number(serde_json::Number::from_f64(5.5).unwrap())
            )
        )
    );
    assert_eq!(
        p(r#"members.$ref pr"#),
        Filter::Present(AttrPath::with_sub("members", "$ref"))
    );
}

#[test]
fn and_binds_tighter_than_or_and_parentheses_group() {
    let a = || cmp(AttrPath::new("a"), CompareOp::Eq, CompValue::Number(1.into()));
    let b = || cmp(AttrPath::new("b"), CompareOp::Eq, CompValue::Number(2.into()));
    let c = || cmp(AttrPath::new("c"), CompareOp::Eq, CompValue::Number(3.into()));
    assert_eq!(p("a eq 1 or b eq 2 and c eq 3"), or(a(), and(b(), c())));
    assert_eq!(p("a eq 1 and b eq 2 or c eq 3"), or(and(a(), b()), c()));
    assert_eq!(p("(a eq 1 or b eq 2) and c eq 3"), and(or(a(), b()), c()));
    assert_eq!(p("not (a eq 1) and b eq 2"), and(Filter::Not(Box::new(a())), b()));
}

#[test]
fn what_entra_and_okta_send() {
    // Operators and keywords in any case.
    assert_eq!(p(r#"userName EQ "x""#), p(r#"userName eq "x""#));
    assert_eq!(
        p(r#"userName Eq "x" AND active Eq TRUE"#),
        p(r#"userName eq "x" and active eq true"#)
    );
    // Unquoted legacy value.
    assert_eq!(
        p("externalId eq jyoung"),
        cmp(AttrPath::new("externalId"), CompareOp::Eq, s("jyoung"))
    );
    assert_eq!(
        p("externalId eq 5f1a-77@contoso.com"),
        cmp(
            AttrPath::new("externalId"),
            CompareOp::Eq,
            s("5f1a-77@contoso.com")
        )
    );
    // A value path with a trailing sub-attribute comparison.
    assert_eq!(
        p(r#"emails[type eq "work"].value eq "ada@example.com""#),
        Filter::ValuePath(
            AttrPath::new("emails"),
            Box::new(and(
                cmp(AttrPath::new("type"), CompareOp::Eq, s("work")),
                cmp(AttrPath::new("value"), CompareOp::Eq, s("ada@example.com"))
            ))
        )
    );
    // String booleans stay strings here; comparison decides (the schema says primary is boolean).
    assert_eq!(
        p(r#"addresses[primary EQ "True"]"#),
        Filter::ValuePath(
            AttrPath::new("addresses"),
            Box::new(cmp(AttrPath::new("primary"), CompareOp::Eq, s("True")))
        )
    );
    p(r#"id eq "9b1f" and manager eq "77a0""#);
    // Escapes and awkward characters inside quotes.
    assert_eq!(
        p(r#"displayName eq "Sales (EMEA) [old] \"team\" and co""#),
        cmp(
            AttrPath::new("displayName"),
            CompareOp::Eq,
            s(r#"Sales (EMEA) [old] "team" and co"#)
        )
    );
    assert_eq!(
        p(r#"name.givenName eq "Zoë""#),
        cmp(AttrPath::with_sub("name", "givenName"), CompareOp::Eq, s("Zoë"))
    );
}

#[test]
fn errors_say_what_and_where() {
    let e = |f: &str| parse(f).unwrap_err();
    assert_eq!(e("").message, "the filter is empty");
    assert_eq!(e(r#"userName eq "open"#).position, 12);
    assert!(e("userName").message.contains("expected an operator"));
    assert!(e("userName like \"x\"").message.contains("expected an operator"));
    assert!(e("userName eq").message.contains("expected a value"));
    assert_eq!(e("userName eq \"x\" garbage").position, 16);
    assert!(e("(userName eq \"x\"").message.contains("')'"));
    assert!(e("emails[type eq \"work\"").message.contains("']'"));
    assert!(e("emails.value[type eq \"work\"]")
        .message
        .contains("sub-attribute"));
    assert!(e("9lives eq 1").message.contains("not a valid attribute path"));
    assert!(e("a eq 1 and").message.contains("attribute name"));
    assert!(e(r#"a eq "\q""#).message.contains("escape"));
    let deep = format!("{}a eq 1{}", "(".repeat(MAX_DEPTH + 2), ")".repeat(MAX_DEPTH + 2));
    assert!(e(&deep).message.contains("nested"));
    let nots = format!(
        "{}a eq 1{}",
        "not (".repeat(MAX_DEPTH + 2),
        ")".repeat(MAX_DEPTH + 2)
    );
    assert!(e(&nots).message.contains("nested"));
    let long = format!("a eq \"{}\"", "x".repeat(MAX_LEN));
    assert!(e(&long).message.contains("longer"));
    // Nesting within the limit is fine.
    p(&format!(
        "{}a eq 1{}",
        "(".repeat(MAX_DEPTH),
        ")".repeat(MAX_DEPTH)
    ));
}

/// Found by `arbitrary_unicode_never_panics`: a multi-byte character across byte 4 of a word.
#[test]
fn multibyte_characters_at_the_urn_prefix_do_not_panic() {
    assert!(parse("&+આ𔐍 eq 1").is_err());
    assert!(parse("uఆ eq 1").is_err());
}

fn name() -> impl Strategy<Value = String> {
    "[a-zA-Z][a-zA-Z0-9_-]{0,6}".prop_filter("keywords are not attribute names here", |n| {
        !["and", "or", "not", "pr"].contains(&n.to_ascii_lowercase().as_str())
    })
}

fn attr_path(allow_sub: bool) -> impl Strategy<Value = AttrPath> {
    let urn = prop_oneof![
        Just(None),
        Just(Some("urn:ietf:params:scim:schemas:core:2.0:User".to_string())),
        Just(Some(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".to_string()
        )),
    ];
    let sub = if allow_sub {
        proptest::option::of(name()).boxed()
    } else {
        Just(None).boxed()
    };
    (urn, name(), sub).prop_map(|(urn, attr, sub)| AttrPath { urn, attr, sub })
}

fn comp_value() -> impl Strategy<Value = CompValue> {
    prop_oneof![
        Just(CompValue::Null),
        any::<bool>().prop_map(CompValue::Bool),
        any::<i64>().prop_map(|n| CompValue::Number(n.into())),
        any::<String>().prop_map(CompValue::Str),
    ]
}

fn op() -> impl Strategy<Value = CompareOp> {
    prop_oneof![
        Just(CompareOp::Eq),
        Just(CompareOp::Ne),
        Just(CompareOp::Co),
        Just(CompareOp::Sw),
        Just(CompareOp::Ew),
        Just(CompareOp::Gt),
        Just(CompareOp::Ge),
        Just(CompareOp::Lt),
        Just(CompareOp::Le),
    ]
}

fn filter() -> impl Strategy<Value = Filter> {
    let leaf = prop_oneof![
        attr_path(true).prop_map(Filter::Present),
        (attr_path(true), op(), comp_value()).prop_map(|(p, o, v)| Filter::Compare(p, o, v)),
    ];
    leaf.prop_recursive(6, 48, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::Or(Box::new(a), Box::new(b))),
            inner.clone().prop_map(|a| Filter::Not(Box::new(a))),
            (attr_path(false), inner).prop_map(|(p, f)| Filter::ValuePath(p, Box::new(f))),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Printing a filter and parsing it again gives the same filter.
    #[test]
    fn display_then_parse_round_trips(f in filter()) {
        let text = f.to_string();
        match parse(&text) {
            Ok(parsed) => prop_assert_eq!(parsed, f),
            Err(e) => prop_assert!(false, "{}: {}", text, e),
        }
    }

    /// No input makes the parser panic; errors point inside the input.
    #[test]
    fn arbitrary_input_never_panics(input in "[ a-zA-Z0-9\"()\\[\\].:$\\\\-]{0,80}") {
        if let Err(e) = parse(&input) {
            prop_assert!(e.position <= input.len());
        }
    }

    #[test]
    fn arbitrary_unicode_never_panics(input in any::<String>()) {
        let _ = parse(&input);
    }
}

/// Found by `cargo fuzz run filter`: a long integer literal printed back as a float that parsed
/// to a different value.
#[test]
fn fuzz_regression_long_numbers_print_back_exactly() {
    for input in [
        "f sw 22222222222222222222222222222222222222222222222222222",
        "x gt 1.7976931348623157e308",
        "x lt -0.000000000000000000000000000001",
    ] {
        let f = parse(input).unwrap();
        assert_eq!(parse(&f.to_string()).unwrap(), f, "{input}");
    }
}

/// Found by `cargo fuzz run filter`: control characters in an unquoted legacy value were taken
/// as part of the value (and printed back escaped, beyond the length limit).
#[test]
fn fuzz_regression_control_characters_need_quotes() {
    let e = parse("f sw eq\u{3}\0x").unwrap_err();
    assert!(e.message.contains("control characters"), "{e}");
    assert!(parse("userName eq \"a\\u0000b\"").is_ok());
    assert!(parse("userName\teq\r\n\"x\"").is_ok());
}
