//! PATCH operation paths (RFC 7644 section 3.5.2): `attr`, `attr.sub`, `attr[filter]`,
//! `attr[filter].sub`, each optionally URN-qualified, e.g.
//! `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value` or
//! `members[value eq "2819c223"]` or `emails[type eq "work"].value`.

use super::filter::{self, AttrPath, Filter};
use std::fmt;

/// Longest path accepted, in bytes.
pub const MAX_LEN: usize = 2_000;

#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    /// The attribute, with its sub-attribute when there is no value filter (`name.familyName`).
    pub attr: AttrPath,
    /// The value filter of a multi-valued attribute (`members[value eq "x"]`).
    pub filter: Option<Filter>,
    /// The sub-attribute after a value filter (`emails[type eq "work"].value`).
    pub sub: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathError(pub String);

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PathError {}

/// Byte offset of the `]` closing the `[` at `open`, skipping quoted strings.
fn closing_bracket(s: &str, open: usize) -> Option<usize> {
    let mut in_quotes = false;
    let mut escaped = false;
    for (i, c) in s[open + 1..].char_indices() {
        let i = i + open + 1;
        match c {
            _ if escaped => escaped = false,
            '\\' if in_quotes => escaped = true,
            '"' => in_quotes = !in_quotes,
            ']' if !in_quotes => return Some(i),
            _ => {}
        }
    }
    None
}

pub fn parse(input: &str) -> Result<PatchPath, PathError> {
    let s = input.trim();
    if s.is_empty() {
        return Err(PathError("the path is empty".into()));
    }
    if s.len() > MAX_LEN {
        return Err(PathError(format!("the path is longer than {MAX_LEN} characters")));
    }
    let bad_attr = |a: &str| PathError(format!("{a:?} is not a valid attribute path"));
    let Some(open) = s.find('[') else {
        let attr = filter::parse_attr_path(s).ok_or_else(|| bad_attr(s))?;
        return Ok(PatchPath {
            attr,
            filter: None,
            sub: None,
        });
    };
    let head = &s[..open];
    let attr = filter::parse_attr_path(head)
        .filter(|a| a.sub.is_none())
        .ok_or_else(|| bad_attr(head))?;
    let close = closing_bracket(s, open)
        .ok_or_else(|| PathError("the value filter is not closed with ']'".into()))?;
    let inner = filter::parse(&s[open + 1..close])
        .map_err(|e| PathError(format!("the value filter is invalid: {}", e.message)))?;
    let rest = &s[close + 1..];
    let sub = if rest.is_empty() {
        None
    } else {
        let name = rest
            .strip_prefix('.')
            .ok_or_else(|| PathError(format!("unexpected {rest:?} after the value filter")))?;
        match filter::parse_attr_path(name) {
            Some(p) if p.urn.is_none() && p.sub.is_none() => Some(p.attr),
            _ => return Err(PathError(format!("{name:?} is not a valid sub-attribute"))),
        }
    };
    Ok(PatchPath {
        attr,
        filter: Some(inner),
        sub,
    })
}

impl fmt::Display for PatchPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.attr)?;
        if let Some(filter) = &self.filter {
            write!(f, "[{filter}]")?;
        }
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::{CompValue, CompareOp};
    use proptest::prelude::*;

    const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

    #[test]
    fn simple_and_sub_attribute_paths() {
        let p = parse("displayName").unwrap();
        assert_eq!(p.attr, AttrPath::new("displayName"));
        assert!(p.filter.is_none() && p.sub.is_none());
        assert_eq!(
            parse("name.familyName").unwrap().attr,
            AttrPath::with_sub("name", "familyName")
        );
        let m = parse(&format!("{ENTERPRISE}:manager.value")).unwrap();
        assert_eq!(m.attr.urn.as_deref(), Some(ENTERPRISE));
        assert_eq!(
            (m.attr.attr.as_str(), m.attr.sub.as_deref()),
            ("manager", Some("value"))
        );
        assert_eq!(
            parse(&format!("{ENTERPRISE}:employeeNumber")).unwrap().attr.attr,
            "employeeNumber"
        );
    }

    #[test]
    fn value_filter_paths() {
        let p = parse(r#"members[value eq "2819c223-7f76-453a-919d-413861904646"]"#).unwrap();
        assert_eq!(p.attr, AttrPath::new("members"));
        assert_eq!(
            p.filter,
            Some(Filter::Compare(
                AttrPath::new("value"),
                CompareOp::Eq,
                CompValue::Str("2819c223-7f76-453a-919d-413861904646".into())
            ))
        );
        let p = parse(r#"emails[type eq "work"].value"#).unwrap();
        assert_eq!(p.sub.as_deref(), Some("value"));
        // Brackets and quotes inside the filter's strings do not end it.
        let p = parse(r#"members[display eq "Team ] \"A\" ["].value"#).unwrap();
        assert_eq!(p.sub.as_deref(), Some("value"));
        // Entra's string booleans in a path filter.
        assert!(parse(r#"addresses[primary EQ "True"].streetAddress"#).is_ok());
    }

    #[test]
    fn invalid_paths_are_explained() {
        for (path, says) in [
            ("", "empty"),
            ("9x", "not a valid attribute path"),
            ("members[value eq \"x\"", "not closed"),
            ("members[value eq]", "value filter is invalid"),
            ("members[value eq \"x\"]value", "unexpected"),
            ("emails[type eq \"work\"].9", "not a valid sub-attribute"),
            ("name.familyName[value eq \"x\"]", "not a valid attribute path"),
            ("a.b.c", "not a valid attribute path"),
        ] {
            let e = parse(path).unwrap_err();
            assert!(e.0.contains(says), "{path}: {e}");
        }
    }

    proptest! {
        #[test]
        fn arbitrary_input_never_panics(input in any::<String>()) {
            let _ = parse(&input);
        }

        #[test]
        fn bracket_heavy_input_never_panics(input in "[a-z\\[\\]\". =\\\\]{0,40}") {
            if let Ok(p) = parse(&input) {
                // What parses prints as a path that parses to the same thing.
                prop_assert_eq!(parse(&p.to_string()).ok(), Some(p));
            }
        }
    }
}
