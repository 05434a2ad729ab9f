//! The output budget of evaluation: short expressions that ask for gigabytes are refused with an
//! error naming the function, before the memory is taken; the static bound used when a mapping is
//! saved refuses them too, accepts realistic mappings, and is never below what evaluation makes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use provisio_mapping::expr::budget::{footprint, MAX_EVALUATION_BYTES, MAX_VALUE_BYTES};
use provisio_mapping::expr::{functions, Expression};
use provisio_mapping::Value;

mod common;
use common::{ctx, Ctx};

/// The error of an evaluation that must fail.
fn refused(src: &str, c: &Ctx) -> String {
    let e = Expression::parse(src).unwrap_or_else(|e| panic!("{src}: {e}"));
    match e.evaluate(c) {
        Ok(o) => panic!("{src} evaluated to {} bytes", footprint(&o.value)),
        Err(e) => e.to_string(),
    }
}

fn nested(function: &str, inner: &str, depth: usize) -> String {
    let mut s = inner.to_string();
    for _ in 0..depth {
        s = format!("{function}({s})");
    }
    s
}

/// Attributes of at most 1,024 characters of up to 4 bytes each, as the directory allows.
fn attribute_max(_: &str) -> usize {
    4096
}

#[test]
fn nested_base64_is_refused_naming_the_function() {
    let c = ctx(&[("givenName", "Zoë")]);
    let src = nested("ConvertToBase64", "[givenName]", 24);
    let error = refused(&src, &c);
    assert!(error.contains("ConvertToBase64"), "{error}");
    assert!(error.contains("1 MiB"), "{error}");
    // And ahead of time, as a mapping being saved.
    let e = Expression::parse(&src).unwrap();
    let error = e.check_budget(&attribute_max).unwrap_err().to_string();
    assert!(error.contains("ConvertToBase64"), "{error}");
}

#[test]
fn a_long_replacement_is_refused_before_it_is_made() {
    // 100,000 occurrences times a 10 KB replacement would be a gigabyte.
    let c = ctx(&[("mail", &"a".repeat(100_000))]);
    let replacement = "x".repeat(9_000);
    let src = format!(r#"Replace([mail], "a", , , "{replacement}", , )"#);
    let error = refused(&src, &c);
    assert!(error.contains("Replace would produce 900000000 bytes"), "{error}");
    // The same with a template that repeats the source.
    let src = format!(r#"Replace([mail], "a", , , , , "{}")"#, "a".repeat(9_000));
    assert!(refused(&src, &c).contains("Replace would produce"));
}

#[test]
fn regex_references_in_the_replacement_are_counted() {
    let c = ctx(&[("mail", &"b".repeat(2_000))]);
    let src = format!(r#"Replace([mail], , "b+", , "{}", , )"#, "$0".repeat(1_000));
    assert!(refused(&src, &c).contains("Replace would produce"));
}

#[test]
fn intermediate_values_count_even_when_the_answer_is_small() {
    // Each level multiplies the text by ten and divides it again, and the outermost Left keeps
    // 140 characters: no single value is over 1 MiB, but together they pass the evaluation's
    // budget (without it, the same shape 15 levels deep with more levels of Left passes gigabytes).
    let c = ctx(&[("givenName", &"z".repeat(104_000))]);
    let ten = "zzzzzzzzzz";
    let mut src = "[givenName]".to_string();
    for _ in 0..15 {
        src = format!(r#"Replace(Replace({src}, "z", , , "{ten}", , ), "{ten}", , , "z", , )"#);
    }
    let error = refused(&format!("Left({src}, 140)"), &c);
    assert!(error.contains("budget"), "{error}");
    assert!(
        error.contains(&format!("{} MiB", MAX_EVALUATION_BYTES >> 20)),
        "{error}"
    );
}

#[test]
fn split_and_join_are_bounded() {
    let c = ctx(&[("streetAddress", &",".repeat(600_000))]);
    // 600,001 empty values cost their overhead: refused before the vector is built.
    assert!(refused("Split([streetAddress], \",\")", &c).contains("Split would produce"));
    let c = ctx(&[("streetAddress", &"a,".repeat(300_000))]);
    let src = format!(r#"Join("{}", Split([streetAddress], ","))"#, "-".repeat(10));
    assert!(refused(&src, &c).contains("would produce"));
}

#[test]
fn instr_on_a_large_text_is_linear_and_still_counts_characters() {
    // A needle that almost matches everywhere: quadratic search would take minutes.
    let hay = format!("é{}b", "a".repeat(200_000));
    let needle = format!("{}b", "a".repeat(100_000));
    let c = ctx(&[("city", &hay), ("state", &needle)]);
    let e = Expression::parse("InStr([city], [state])").unwrap();
    assert_eq!(e.evaluate(&c).unwrap().value, Value::Int(100_002));
    let e = Expression::parse("InStr([city], [state], 100003)").unwrap();
    assert_eq!(e.evaluate(&c).unwrap().value, Value::Int(0));
    let e = Expression::parse("InStr([city], \"a\", 200003)").unwrap();
    assert_eq!(e.evaluate(&c).unwrap().value, Value::Int(0));
}

#[test]
fn realistic_mappings_pass_the_check_at_save() {
    for src in [
        r#"Join("@", NormalizeDiacritics(StripSpaces([givenName])), "contoso.com")"#,
        r#"Replace([mail], "@contoso.com", , , "@fabrikam.com", , )"#,
        r#"Replace([userPrincipalName], , "(?<Suffix>@(.)*)", "Suffix", "", , )"#,
        r#"SelectUniqueValue(Join("@", NormalizeDiacritics(StripSpaces([givenName])), "contoso.com"), Join("@", NormalizeDiacritics(StripSpaces(Left([givenName], 1))), "contoso.com"))"#,
        r#"Switch([IsSoftDeleted], , "False", "True", "True", "False")"#,
        r#"FormatDateTime([extensionAttribute1], , "yyyyMMddHHmmss.fZ", "yyyy-MM-dd")"#,
        r#"IIF([country]="USA", Append([givenName], " (US)"), ToUpper(PCase([surname])))"#,
        r#"AppRoleAssignmentsComplex([appRoleAssignments])"#,
        r#"ConvertToBase64(ConvertToBase64([objectId]))"#,
        r#"Join(",", Split([proxyAddresses], ";"))"#,
        r#"Redact(RandomString(20, 2, 2, 2, 2, "O0"))"#,
    ] {
        let e = Expression::parse(src).unwrap();
        let bound = e
            .check_budget(&attribute_max)
            .unwrap_or_else(|e| panic!("{src}: {e}"));
        assert!(bound <= MAX_VALUE_BYTES, "{src}");
    }
}

#[test]
fn every_function_has_a_bound() {
    for f in functions::FUNCTIONS {
        let args = vec!["[a]"; f.min_args.max(f.max_args.unwrap_or(3).min(3))].join(", ");
        let src = match f.name {
            "Replace" => "Replace([a], \"x\", , , \"y\", , )".to_string(),
            "DateAdd" | "DateDiff" => format!("{}(\"d\", [a], [a])", f.name),
            "AppRoleAssignmentsComplex" | "SingleAppRoleAssignment" => {
                format!("{}([appRoleAssignments])", f.name)
            }
            _ => format!("{}({args})", f.name),
        };
        let e = Expression::parse(&src).unwrap_or_else(|e| panic!("{src}: {e}"));
        e.check_budget(&|_| 100)
            .unwrap_or_else(|err| panic!("{} has no bound: {err}", f.name));
    }
}

/// A random expression over two attributes, from the functions whose size depends on their input.
fn expression() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("[a]".to_string()),
        Just("[b]".to_string()),
        "[a-zé$,]{0,6}".prop_map(|s| format!("\"{s}\"")),
    ];
    leaf.prop_recursive(5, 40, 3, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(x, y)| format!("Append({x}, {y})")),
            inner.clone().prop_map(|x| format!("ConvertToBase64({x})")),
            inner.clone().prop_map(|x| format!("ConvertToUTF8Hex({x})")),
            inner.clone().prop_map(|x| format!("ToUpper({x})")),
            inner.clone().prop_map(|x| format!("PCase({x})")),
            inner.clone().prop_map(|x| format!("NormalizeDiacritics({x})")),
            (inner.clone(), inner.clone(), inner.clone())
                .prop_map(|(x, y, z)| format!("Join({x}, {y}, Split({z}, \",\"))")),
            (inner.clone(), inner.clone()).prop_map(|(x, y)| format!("Replace({x}, \"a\", , , {y}, , )")),
            (inner.clone(), inner.clone())
                .prop_map(|(x, y)| format!("Replace({x}, , \"[a-z]+\", , {y}, , )")),
            (inner.clone(), inner.clone()).prop_map(|(x, y)| format!("Replace({x}, \"\", , , , , {y})")),
            (inner.clone(), inner.clone()).prop_map(|(x, y)| format!("IIF({x}=\"a\", {y}, {x})")),
            inner.clone().prop_map(|x| format!("Left({x}, 3)")),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// What evaluation makes is never more than the bound checked at save, so a saved mapping
    /// never meets the budget at run time.
    #[test]
    fn evaluation_stays_within_the_static_bound(
        src in expression(),
        a in "[a-zé$İß,]{0,12}",
        b in "[a-zé$İß,]{0,12}",
    ) {
        let e = Expression::parse(&src).unwrap();
        let max = |_: &str| 12 * 3;
        if let Ok(bound) = e.check_budget(&max) {
            let c = ctx(&[("a", &a), ("b", &b)]);
            let v = e.evaluate(&c).unwrap_or_else(|err| panic!("{src}: {err}")).value;
            prop_assert!(footprint(&v) <= bound, "{} made {} bytes, bound {}", src, footprint(&v), bound);
        }
    }
}
