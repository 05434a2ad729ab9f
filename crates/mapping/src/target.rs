//! The target attribute of a mapping: a SCIM path such as `userName`, `name.givenName`,
//! `emails[type eq "work"].value` or
//! `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department`.

use provisio_scim::filter::{CompValue, CompareOp, Filter};
use provisio_scim::path::{self, PatchPath};

/// Attributes the target assigns itself; a mapping may not write them.
const READ_ONLY: [&str; 3] = ["id", "meta", "schemas"];

/// Parses and checks a target path; the result prints in canonical form.
pub fn parse(target: &str) -> Result<PatchPath, String> {
    let p = path::parse(target).map_err(|e| e.to_string())?;
    if READ_ONLY.iter().any(|r| r.eq_ignore_ascii_case(&p.attr.attr)) && p.attr.urn.is_none() {
        return Err(format!(
            "{} is assigned by the target application and cannot be mapped",
            p.attr.attr
        ));
    }
    if let Some(f) = &p.filter {
        if !equality_only(f) {
            return Err(
                "a value filter selects one value by equality, e.g. emails[type eq \"work\"].value".into(),
            );
        }
        if p.sub.is_none() {
            return Err(format!(
                "name the sub-attribute the value filter writes, e.g. {}.value",
                p
            ));
        }
    }
    Ok(p)
}

fn equality_only(f: &Filter) -> bool {
    match f {
        Filter::Compare(a, CompareOp::Eq, CompValue::Str(_) | CompValue::Bool(_)) => {
            a.urn.is_none() && a.sub.is_none()
        }
        Filter::And(a, b) => equality_only(a) && equality_only(b),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn accepts_entra_targets() {
        for t in [
            "userName",
            "active",
            "name.givenName",
            "emails[type eq \"work\"].value",
            "addresses[type eq \"work\"].streetAddress",
            "phoneNumbers[type eq \"mobile\"].value",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
            "urn:ietf:params:scim:schemas:extension:contoso:2.0:User:costCenter",
            "members",
            "externalId",
        ] {
            assert_eq!(parse(t).map(|p| p.to_string()), Ok(t.to_string()), "{t}");
        }
    }

    #[test]
    fn refuses_what_cannot_be_written() {
        for t in [
            "id",
            "ID",
            "meta.created",
            "",
            "emails[type eq \"work\"]",
            "emails[type co \"w\"].value",
            "emails[type eq \"work\" or type eq \"home\"].value",
            "name..givenName",
            "emails[type eq \"work\"",
        ] {
            assert!(parse(t).is_err(), "{t}");
        }
    }
}
