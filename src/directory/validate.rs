//! Checking user and group input, pure: the same rules for forms, imports and demo data.

use crate::db::directory::UserRecord;
use crate::model::{user_attr, AttrDef};
use std::collections::BTreeMap;

/// A problem with one field: (attribute name, message).
pub type FieldProblem = (String, String);

/// What a form or import row asks to change. `None` leaves a value as it is; for the optional
/// values `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserChanges {
    pub upn: Option<String>,
    pub display_name: Option<String>,
    pub mail: Option<Option<String>>,
    /// A manager's userPrincipalName or objectId, or `Some(None)` for no manager.
    pub manager: Option<Option<String>>,
    pub enabled: Option<bool>,
    pub attrs: Vec<(&'static str, Option<String>)>,
}

fn problem(field: &str, message: impl Into<String>) -> FieldProblem {
    (field.to_string(), message.into())
}

/// Reads attribute/value pairs (names in any case) into changes, collecting every problem.
pub fn user_changes<'a>(
    fields: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<UserChanges, Vec<FieldProblem>> {
    let mut c = UserChanges::default();
    let mut problems = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (name, value) in fields {
        let Some(def) = user_attr(name) else {
            problems.push(problem(name, format!("{name:?} is not a user attribute")));
            continue;
        };
        if !seen.insert(def.name) {
            problems.push(problem(def.name, format!("{} is given twice", def.name)));
            continue;
        }
        let value = value.trim();
        if let Err(m) = plain_text(def, value) {
            problems.push(problem(def.name, m));
            continue;
        }
        let r = match def.name {
            "userPrincipalName" => upn(value).map(|v| c.upn = Some(v)),
            "displayName" => {
                if value.is_empty() {
                    Err("enter a display name".to_string())
                } else {
                    c.display_name = Some(value.to_string());
                    Ok(())
                }
            }
            "mail" => optional(value, email).map(|v| c.mail = Some(v)),
            "manager" => {
                c.manager = Some((!value.is_empty()).then(|| value.to_string()));
                Ok(())
            }
            "accountEnabled" => match boolean(value) {
                Some(b) => {
                    c.enabled = Some(b);
                    Ok(())
                }
                None if value.is_empty() => Ok(()),
                None => Err("use true or false".to_string()),
            },
            "preferredLanguage" => optional(value, language).map(|v| c.attrs.push((def.name, v))),
            "mailNickname" => optional(value, nickname).map(|v| c.attrs.push((def.name, v))),
            _ => {
                c.attrs
                    .push((def.name, (!value.is_empty()).then(|| value.to_string())));
                Ok(())
            }
        };
        if let Err(m) = r {
            problems.push(problem(def.name, m));
        }
    }
    if problems.is_empty() {
        Ok(c)
    } else {
        Err(problems)
    }
}

fn plain_text(def: &AttrDef, value: &str) -> Result<(), String> {
    if value.chars().count() > def.max {
        return Err(format!("use at most {} characters", def.max));
    }
    if value.chars().any(char::is_control) {
        return Err("contains control characters".into());
    }
    Ok(())
}

fn optional(value: &str, check: fn(&str) -> Result<String, String>) -> Result<Option<String>, String> {
    if value.is_empty() {
        Ok(None)
    } else {
        check(value).map(Some)
    }
}

pub fn boolean(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" | "enabled" => Some(true),
        "false" | "no" | "0" | "disabled" => Some(false),
        _ => None,
    }
}

fn domain(d: &str) -> bool {
    let labels: Vec<&str> = d.split('.').collect();
    labels.len() >= 2
        && d.len() <= 253
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// Entra's rules: `alias@domain`, the alias of letters, digits and `' . - _ ! # ^ ~ +`, not
/// starting or ending with a dot, no two dots in a row.
pub fn upn(value: &str) -> Result<String, String> {
    let Some((local, dom)) = value.rsplit_once('@') else {
        return Err("use the form alias@domain, for example adele@contoso.com".into());
    };
    if local.is_empty() || local.len() > 64 {
        return Err("the part before @ must have 1 to 64 characters".into());
    }
    if !local
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "'.-_!#^~+".contains(c))
    {
        return Err("the part before @ may contain only letters, digits and ' . - _ ! # ^ ~ +".into());
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err("the part before @ cannot start or end with a dot or contain two dots in a row".into());
    }
    if !domain(dom) {
        return Err(format!("{dom:?} is not a valid domain name"));
    }
    if value.len() > 113 {
        return Err("use at most 113 characters".into());
    }
    Ok(value.to_string())
}

pub fn email(value: &str) -> Result<String, String> {
    let ok = value.rsplit_once('@').is_some_and(|(local, dom)| {
        !local.is_empty()
            && local.len() <= 64
            && local
                .chars()
                .all(|c| c.is_ascii_graphic() && !"(),:;<>@[\\]\"".contains(c))
            && domain(dom)
    });
    if ok {
        Ok(value.to_string())
    } else {
        Err("enter an email address such as adele@contoso.com".into())
    }
}

fn language(value: &str) -> Result<String, String> {
    let mut parts = value.split(['-', '_']);
    let first = parts.next().unwrap_or_default();
    let ok = (2..=3).contains(&first.len())
        && first.chars().all(|c| c.is_ascii_alphabetic())
        && parts.all(|p| (2..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()));
    if ok {
        Ok(value.replace('_', "-"))
    } else {
        Err("use a language tag such as en-US".into())
    }
}

fn nickname(value: &str) -> Result<String, String> {
    if value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "'.-_!#^~+".contains(c))
    {
        Ok(value.to_string())
    } else {
        Err("use letters, digits and ' . - _ ! # ^ ~ + only".into())
    }
}

/// The mail nickname Entra derives from a userPrincipalName.
pub fn default_nickname(upn: &str) -> String {
    upn.split('@').next().unwrap_or(upn).to_string()
}

/// Applies changes to a stored user (or to nothing, for a new one), giving the row to write; the
/// manager is resolved by the caller. Pure, so forms, imports and tests share it.
pub fn merge_user(
    existing: Option<&UserRecord>,
    c: &UserChanges,
    new_id: impl FnOnce() -> String,
    now: &str,
) -> Result<UserRecord, Vec<FieldProblem>> {
    let mut problems = Vec::new();
    let mut attrs: BTreeMap<String, String> = existing
        .and_then(|u| serde_json::from_str(&u.attrs).ok())
        .unwrap_or_default();
    for (name, value) in &c.attrs {
        match value {
            Some(v) => attrs.insert(name.to_string(), v.clone()),
            None => attrs.remove(*name),
        };
    }
    let upn = c.upn.clone().or_else(|| existing.map(|u| u.upn.clone()));
    let display_name = c
        .display_name
        .clone()
        .or_else(|| existing.map(|u| u.display_name.clone()));
    if upn.is_none() {
        problems.push(problem("userPrincipalName", "enter a user principal name"));
    }
    if display_name.is_none() {
        problems.push(problem("displayName", "enter a display name"));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let upn = upn.unwrap_or_default();
    if !attrs.contains_key("mailNickname") {
        attrs.insert("mailNickname".into(), default_nickname(&upn));
    }
    Ok(UserRecord {
        id: existing.map(|u| u.id.clone()).unwrap_or_else(new_id),
        upn,
        display_name: display_name.unwrap_or_default(),
        mail: match &c.mail {
            Some(m) => m.clone(),
            None => existing.and_then(|u| u.mail.clone()),
        },
        manager_id: existing.and_then(|u| u.manager_id.clone()),
        account_enabled: c
            .enabled
            .unwrap_or_else(|| existing.map(|u| u.account_enabled).unwrap_or(true)),
        attrs: serde_json::to_string(&attrs).unwrap_or_else(|_| "{}".into()),
        created_at: existing
            .map(|u| u.created_at.clone())
            .unwrap_or_else(|| now.to_string()),
        updated_at: now.to_string(),
        deleted_at: existing.and_then(|u| u.deleted_at.clone()),
    })
}

/// A group's display name: 1 to 256 characters, no control characters.
pub fn group_name(value: &str) -> Result<String, String> {
    let v = value.trim();
    if v.is_empty() {
        return Err("enter a group name".into());
    }
    if v.chars().count() > 256 {
        return Err("use at most 256 characters".into());
    }
    if v.chars().any(char::is_control) {
        return Err("contains control characters".into());
    }
    Ok(v.to_string())
}

/// A mail nickname derived from a group name, as Entra suggests one.
pub fn group_nickname(name: &str) -> String {
    let n: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_' || *c == '.')
        .collect();
    if n.is_empty() {
        "group".into()
    } else {
        n.chars().take(64).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changes(pairs: &[(&str, &str)]) -> Result<UserChanges, Vec<FieldProblem>> {
        user_changes(pairs.iter().copied())
    }

    #[test]
    fn upns() {
        for ok in ["adele@contoso.com", "a.b-c_d'e+f@sub.example.org", "X@Y.io"] {
            assert!(upn(ok).is_ok(), "{ok}");
        }
        for bad in [
            "adele",
            "@contoso.com",
            "adele@",
            "adele@contoso",
            ".adele@contoso.com",
            "ad..ele@contoso.com",
            "adele smith@contoso.com",
            "adéle@contoso.com",
            "adele@-contoso.com",
        ] {
            assert!(upn(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_are_case_insensitive_and_checked() {
        let c = changes(&[
            ("USERPRINCIPALNAME", " adele@contoso.com "),
            ("displayname", "Adele Vance"),
            ("accountEnabled", "FALSE"),
            ("preferredLanguage", "en_US"),
            ("department", ""),
        ])
        .unwrap();
        assert_eq!(c.upn.as_deref(), Some("adele@contoso.com"));
        assert_eq!(c.enabled, Some(false));
        assert!(c.attrs.contains(&("preferredLanguage", Some("en-US".into()))));
        assert!(c.attrs.contains(&("department", None)));

        let errs = changes(&[
            ("userPrincipalName", "nope"),
            ("favouriteColour", "blue"),
            ("mail", "not an address"),
            ("accountEnabled", "maybe"),
            ("jobTitle", "\u{7}bell"),
        ])
        .unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            [
                "userPrincipalName",
                "favouriteColour",
                "mail",
                "accountEnabled",
                "jobTitle"
            ]
        );
        assert!(changes(&[("mail", "a@b.co"), ("MAIL", "c@d.co")]).is_err());
        assert!(changes(&[("employeeId", "12345678901234567")]).is_err());
    }

    #[test]
    fn merging_creates_updates_and_clears() {
        let c = changes(&[
            ("userPrincipalName", "adele@contoso.com"),
            ("displayName", "Adele"),
        ])
        .unwrap();
        let u = merge_user(None, &c, || "id1".into(), "t1").unwrap();
        assert_eq!(u.id, "id1");
        assert!(u.account_enabled);
        assert_eq!(u.attrs, r#"{"mailNickname":"adele"}"#);

        let c = changes(&[("department", "Sales"), ("mailNickname", "av")]).unwrap();
        let u2 = merge_user(Some(&u), &c, || unreachable!(), "t2").unwrap();
        assert_eq!(u2.created_at, "t1");
        assert_eq!(u2.updated_at, "t2");
        assert_eq!(u2.attrs, r#"{"department":"Sales","mailNickname":"av"}"#);

        let c = changes(&[("department", "")]).unwrap();
        let u3 = merge_user(Some(&u2), &c, || unreachable!(), "t3").unwrap();
        assert_eq!(u3.attrs, r#"{"mailNickname":"av"}"#);

        let missing = merge_user(None, &UserChanges::default(), || "x".into(), "t").unwrap_err();
        assert_eq!(missing.len(), 2);
    }

    #[test]
    fn group_names() {
        assert_eq!(group_name("  Sales  ").unwrap(), "Sales");
        assert!(group_name(" ").is_err());
        assert_eq!(group_nickname("Sales & Marketing (EU)"), "SalesMarketingEU");
    }
}
