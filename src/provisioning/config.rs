//! An application's provisioning configuration as one document: validated and normalised the same
//! way whether it comes from a console form, `provisio app apply` or a test, compared with what is
//! stored to say what changed, and written in one transaction with an audit entry. Changing
//! mappings or scoping filters moves the configuration version on, so the engine's next cycle is
//! an initial one.

use super::{gallery, source};
use crate::audit::{self, Actor, Outcome};
use crate::db::{self, provisioning as store, Pool};
use crate::directory::{invalid, validate, DirError};
use crate::mapping::expr::Expression;
use crate::mapping::scoping::{self, ClauseError, Operator};
use crate::mapping::target;
use crate::model::{
    Adaptation, AdaptationChoice, AdaptationRule, ApplyOn, AttributeMapping, MappedObject, MappingKind,
    ObjectMapping, ProvisioningConfig, ProvisioningMode, ProvisioningStatus, ProvisioningView, ScopingFilter,
};
use crate::secrets::Sealer;

pub const MAX_ATTRIBUTES: usize = 200;
pub const MAX_FILTERS: usize = 20;
pub const MAX_CLAUSES: usize = 50;
pub const MAX_DELETION_THRESHOLD: i64 = 1_000_000;
pub const MAX_INTERVAL_MINUTES: i64 = 24 * 60;
/// Longest interval between scheduled drift checks: 30 days.
pub const MAX_DRIFT_CHECK_HOURS: i64 = 30 * 24;
pub const MAX_REQUESTS_PER_SECOND: i64 = 100_000;

/// The sealed token's associated data: a token sealed for one application opens for no other.
pub(crate) fn token_context(app: &str) -> String {
    format!("app:{app}:token")
}

/// Checks an absolute http(s) URL without fragment, credentials or spaces; a query is allowed
/// (Entra's `?aadOptscim062020` feature flags live there).
pub fn check_tenant_url(url: &str) -> Result<(), String> {
    let Ok(u) = reqwest::Url::parse(url) else {
        return Err("enter an absolute URL such as https://app.example.com/scim/v2".into());
    };
    if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none_or(str::is_empty) {
        return Err("the tenant URL must start with https:// (or http:// for a local target)".into());
    }
    if u.fragment().is_some() {
        return Err("the tenant URL cannot contain a # fragment".into());
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err("put credentials in Secret Token, not in the URL".into());
    }
    Ok(())
}

/// Validates `c` and brings it to canonical form (trimmed, source attributes and operators spelled
/// as the catalogue spells them, target paths printed canonically). `token_set` says whether a
/// secret token is (or is about to be) stored. The first problem is returned, naming its field.
pub fn normalize(c: &mut ProvisioningConfig, token_set: bool) -> Result<(), DirError> {
    c.tenant_url = c.tenant_url.trim().to_string();
    if !c.tenant_url.is_empty() {
        check_tenant_url(&c.tenant_url).map_err(|m| invalid("tenant_url", m))?;
    }
    c.notification_email = c.notification_email.trim().to_string();
    if !c.notification_email.is_empty() {
        c.notification_email =
            validate::email(&c.notification_email).map_err(|m| invalid("notification_email", m))?;
    } else if c.notify_on_failure {
        return Err(invalid(
            "notification_email",
            "enter the address that failure notifications go to",
        ));
    }
    let s = &mut c.settings;
    if !(1..=MAX_DELETION_THRESHOLD).contains(&s.deletion_threshold) {
        return Err(invalid(
            "deletion_threshold",
            format!("the threshold is a number of deletions from 1 to {MAX_DELETION_THRESHOLD}"),
        ));
    }
    if !(1..=MAX_INTERVAL_MINUTES).contains(&s.reconciliation_interval_minutes) {
        return Err(invalid(
            "reconciliation_interval_minutes",
            format!("the interval is from 1 to {MAX_INTERVAL_MINUTES} minutes"),
        ));
    }
    if !(0..=MAX_DRIFT_CHECK_HOURS).contains(&s.drift_check_hours) {
        return Err(invalid(
            "drift_check_hours",
            format!("check for drift every 1 to {MAX_DRIFT_CHECK_HOURS} hours, or 0 for only when asked"),
        ));
    }
    if !(0..=MAX_REQUESTS_PER_SECOND).contains(&s.max_requests_per_second) {
        return Err(invalid(
            "max_requests_per_second",
            format!("the limit is from 0 (no limit) to {MAX_REQUESTS_PER_SECOND} requests per second"),
        ));
    }
    if c.mode == ProvisioningMode::Automatic {
        if c.tenant_url.is_empty() {
            return Err(invalid(
                "tenant_url",
                "enter the Tenant URL of the application's SCIM endpoint",
            ));
        }
        if !token_set {
            return Err(invalid(
                "secret_token",
                "enter the Secret Token the application gave you",
            ));
        }
    } else if s.provisioning_status == ProvisioningStatus::On {
        return Err(invalid(
            "provisioning_status",
            "provisioning can be On only in Automatic mode",
        ));
    }
    let objects: Vec<MappedObject> = c.mappings.iter().map(|m| m.object).collect();
    if objects != [MappedObject::User, MappedObject::Group] {
        return Err(invalid(
            "mappings",
            "there is one users mapping followed by one groups mapping",
        ));
    }
    for m in &mut c.mappings {
        normalize_object(m)?;
    }
    normalize_compatibility(&mut c.compatibility)
}

/// The admin's adaptation choices: one per adaptation, `auto` left out (it is the default), in
/// the order adaptations are listed.
fn normalize_compatibility(rules: &mut Vec<AdaptationRule>) -> Result<(), DirError> {
    let mut seen = std::collections::HashSet::new();
    for r in rules.iter() {
        if !seen.insert(r.adaptation) {
            return Err(invalid(
                "compatibility",
                format!("{} is chosen more than once", r.adaptation),
            ));
        }
    }
    rules.retain(|r| r.choice != AdaptationChoice::Auto);
    rules.sort_by_key(|r| Adaptation::ALL.iter().position(|a| *a == r.adaptation));
    Ok(())
}

/// The compatibility choices as text: `put_for_patch always, ignores_filters never`, or "auto".
fn describe_compatibility(rules: &[AdaptationRule]) -> String {
    if rules.is_empty() {
        return "auto".into();
    }
    let each: Vec<String> = rules
        .iter()
        .map(|r| format!("{} {}", r.adaptation, r.choice))
        .collect();
    each.join(", ")
}

fn normalize_object(m: &mut ObjectMapping) -> Result<(), DirError> {
    let object = m.object;
    let label = object.plural();
    let want_target = object.resource_type();
    if !m.target_object.eq_ignore_ascii_case(want_target) {
        return Err(invalid(
            &format!("{object}.target_object"),
            format!("the {label} mapping writes {want_target} resources"),
        ));
    }
    m.target_object = want_target.to_string();
    if object == MappedObject::User && !m.enabled {
        return Err(invalid("user.enabled", "the users mapping cannot be disabled"));
    }
    if m.attributes.len() > MAX_ATTRIBUTES {
        return Err(invalid(
            &format!("{object}.attributes"),
            format!("at most {MAX_ATTRIBUTES} attribute mappings"),
        ));
    }
    let mut targets = std::collections::HashSet::new();
    let mut precedences = std::collections::HashSet::new();
    for (i, a) in m.attributes.iter_mut().enumerate() {
        normalize_attribute(object, a).map_err(|e| match e {
            DirError::Invalid { field, message } => invalid(
                &format!("{object}.{i}.{field}"),
                format!(
                    "{}: {message}",
                    if a.target.is_empty() {
                        "new mapping"
                    } else {
                        &a.target
                    }
                ),
            ),
            other => other,
        })?;
        if !targets.insert(a.target.to_lowercase()) {
            return Err(invalid(
                &format!("{object}.{i}.target"),
                format!("{} is mapped twice", a.target),
            ));
        }
        if a.matching > 0 && !precedences.insert(a.matching) {
            return Err(invalid(
                &format!("{object}.{i}.matching"),
                format!(
                    "matching precedence {} is used by two attributes; each must be unique",
                    a.matching
                ),
            ));
        }
    }
    if m.enabled && precedences.is_empty() {
        return Err(invalid(
            &format!("{object}.attributes"),
            format!(
                "the {label} mapping needs at least one attribute with Match objects using this attribute"
            ),
        ));
    }
    if m.scoping_filters.len() > MAX_FILTERS {
        return Err(invalid(
            &format!("{object}.scoping"),
            format!("at most {MAX_FILTERS} scoping filters"),
        ));
    }
    let known = |a: &str| source::canonical(object.as_str(), a).is_some();
    for (fi, f) in m.scoping_filters.iter_mut().enumerate() {
        f.title = f.title.trim().to_string();
        if f.clauses.is_empty() {
            return Err(invalid(
                &format!("{object}.scoping.{fi}"),
                "a scoping filter needs at least one clause",
            ));
        }
        if f.clauses.len() > MAX_CLAUSES {
            return Err(invalid(
                &format!("{object}.scoping.{fi}"),
                format!("at most {MAX_CLAUSES} clauses in a filter"),
            ));
        }
        for (ci, c) in f.clauses.iter_mut().enumerate() {
            let field = |part: &str| format!("{object}.scoping.{fi}.{ci}.{part}");
            let op = Operator::parse(&c.operator).ok_or_else(|| {
                invalid(
                    &field("operator"),
                    format!("{:?} is not a scoping operator", c.operator),
                )
            })?;
            let clause = scoping::Clause {
                attribute: c.attribute.trim().to_string(),
                operator: op,
                value: if op.takes_value() {
                    c.value.clone()
                } else {
                    c.value.trim().to_string()
                },
            };
            scoping::validate(&clause, &known).map_err(|e| match e {
                ClauseError::Attribute(m) => invalid(&field("attribute"), m),
                ClauseError::Value(m) => invalid(&field("value"), m),
            })?;
            c.attribute = source::canonical(object.as_str(), &clause.attribute).unwrap_or(clause.attribute);
            c.operator = op.label().to_string();
            c.value = clause.value;
        }
    }
    Ok(())
}

/// Validates one attribute mapping; errors name the dialog's field.
pub fn normalize_attribute(object: MappedObject, a: &mut AttributeMapping) -> Result<(), DirError> {
    let path = target::parse(a.target.trim()).map_err(|m| invalid("target", m))?;
    a.target = path.to_string();
    if a.matching < 0 || a.matching > 100 {
        return Err(invalid(
            "matching",
            "matching precedence is a number from 1 to 100",
        ));
    }
    if a.matching > 0 && a.apply_on != ApplyOn::Always {
        return Err(invalid(
            "apply_on",
            "an attribute used for matching must apply Always",
        ));
    }
    a.default_value = a.default_value.trim().to_string();
    match a.kind {
        MappingKind::Direct => {
            a.source = source::canonical(object.as_str(), &a.source).ok_or_else(|| {
                invalid(
                    "source",
                    format!(
                        "{:?} is not a source attribute of {}",
                        a.source.trim(),
                        object.plural()
                    ),
                )
            })?;
        }
        MappingKind::Constant => {
            if a.source.is_empty() {
                return Err(invalid("source", "enter the constant value"));
            }
            if a.source.chars().count() > 1024 {
                return Err(invalid("source", "a constant has at most 1,024 characters"));
            }
            if a.matching > 0 {
                return Err(invalid(
                    "matching",
                    "a constant is the same for every object, so all of them would match one account \
                     in the application; match on an attribute that identifies the object",
                ));
            }
            a.default_value.clear();
        }
        MappingKind::Expression => {
            a.source = a.source.trim().to_string();
            let e = Expression::parse(&a.source).map_err(|e| invalid("source", e.to_string()))?;
            for (name, pos) in e.attributes() {
                if source::canonical(object.as_str(), &name).is_none() {
                    return Err(invalid(
                        "source",
                        format!(
                            "at position {}: [{name}] is not a source attribute of {}",
                            pos + 1,
                            object.plural()
                        ),
                    ));
                }
            }
            // Refused now rather than failing (or worse) for some user in every cycle.
            e.check_budget(&|name| source::max_bytes(object.as_str(), name))
                .map_err(|e| invalid("source", e.to_string()))?;
            // A matching value must come out the same every time: after a crash the engine finds
            // what it created by it, and a new random value would create a duplicate instead.
            if a.matching > 0 {
                let mut changing = None;
                e.root().visit(&mut |x| {
                    if let crate::mapping::expr::Kind::Call { name, .. } = &x.kind {
                        if changing.is_none() && matches!(name.as_str(), "Guid" | "RandomString" | "Now") {
                            changing = Some((name.clone(), x.pos));
                        }
                    }
                });
                if let Some((name, pos)) = changing {
                    return Err(invalid(
                        "matching",
                        format!(
                            "at position {}: {name}() gives a new value each time, so an attribute that \
                             uses it cannot match objects; match on an attribute whose value is stable",
                            pos + 1
                        ),
                    ));
                }
            }
        }
        MappingKind::None => {
            if a.matching > 0 {
                return Err(invalid(
                    "matching",
                    "a mapping of type None cannot be used for matching",
                ));
            }
            a.source.clear();
            a.default_value.clear();
        }
    }
    Ok(())
}

/// What changed between two normalised configurations, in words for the audit log and the CLI.
pub fn describe_changes(old: &ProvisioningConfig, new: &ProvisioningConfig) -> Vec<String> {
    // The settings compared as text, one (label, value) per field.
    let scalars = |c: &ProvisioningConfig| {
        let s = &c.settings;
        [
            ("Provisioning Mode", c.mode.to_string()),
            ("Tenant URL", c.tenant_url.clone()),
            ("Notification Email", c.notification_email.clone()),
            (
                "Send an email notification when a failure occurs",
                c.notify_on_failure.to_string(),
            ),
            ("Scope", s.scope.to_string()),
            ("Provisioning Status", s.provisioning_status.to_string()),
            (
                "Prevent accidental deletions",
                s.prevent_accidental_deletions.to_string(),
            ),
            ("Accidental deletion threshold", s.deletion_threshold.to_string()),
            (
                "Skip out-of-scope deletions",
                s.skip_out_of_scope_deletions.to_string(),
            ),
            (
                "Reconciliation interval (minutes)",
                s.reconciliation_interval_minutes.to_string(),
            ),
            (
                "Requests per second to the application",
                s.max_requests_per_second.to_string(),
            ),
            ("Check for drift every (hours)", s.drift_check_hours.to_string()),
            (
                "Revert values changed in the application",
                s.drift_revert.to_string(),
            ),
            (
                "Adopt matching accounts of users in scope",
                s.drift_adopt.to_string(),
            ),
        ]
    };
    let mut out: Vec<String> = scalars(old)
        .into_iter()
        .zip(scalars(new))
        .filter(|((_, a), (_, b))| a != b)
        .map(|((name, a), (_, b))| format!("{name}: {a:?} -> {b:?}"))
        .collect();
    for (om, nm) in old.mappings.iter().zip(&new.mappings) {
        let label = nm.object.plural();
        let mut field = |name: &str, a: bool, b: bool| {
            if a != b {
                out.push(format!("{label} mapping {name}: {a} -> {b}"));
            }
        };
        field("enabled", om.enabled, nm.enabled);
        field("Create", om.create, nm.create);
        field("Update", om.update, nm.update);
        field("Delete", om.delete, nm.delete);
        for n in &nm.attributes {
            match om.attributes.iter().find(|o| o.target == n.target) {
                None => out.push(format!("{label} mapping: added {}", n.target)),
                Some(o) if o != n => out.push(format!("{label} mapping: changed {}", n.target)),
                _ => {}
            }
        }
        for o in &om.attributes {
            if !nm.attributes.iter().any(|n| n.target == o.target) {
                out.push(format!("{label} mapping: removed {}", o.target));
            }
        }
        let order = |m: &ObjectMapping| m.attributes.iter().map(|a| a.target.clone()).collect::<Vec<_>>();
        let (mut a, mut b) = (order(om), order(nm));
        if a != b {
            a.sort();
            b.sort();
            if a == b {
                out.push(format!("{label} mapping: attributes reordered"));
            }
        }
        if om.scoping_filters != nm.scoping_filters {
            out.push(format!(
                "{label} scoping filters: {} -> {}",
                describe_filters(&om.scoping_filters),
                describe_filters(&nm.scoping_filters)
            ));
        }
    }
    if old.compatibility != new.compatibility {
        out.push(format!(
            "Compatibility: {} -> {}",
            describe_compatibility(&old.compatibility),
            describe_compatibility(&new.compatibility)
        ));
    }
    out
}

/// Filters as text: `(a EQUALS "x" AND b IS TRUE) OR (...)`, or "none".
pub fn describe_filters(filters: &[ScopingFilter]) -> String {
    if filters.is_empty() {
        return "none".into();
    }
    filters
        .iter()
        .map(|f| {
            let clauses: Vec<String> = f
                .clauses
                .iter()
                .map(|c| {
                    let clause = scoping::Clause {
                        attribute: c.attribute.clone(),
                        operator: Operator::parse(&c.operator).unwrap_or(Operator::Equals),
                        value: c.value.clone(),
                    };
                    clause.to_string()
                })
                .collect();
            format!("({})", clauses.join(" AND "))
        })
        .collect::<Vec<_>>()
        .join(" OR ")
}

async fn stored(pool: &Pool, app: &str) -> Result<store::Stored, DirError> {
    store::load_pool(pool, app)
        .await?
        .ok_or_else(|| DirError::NotFound("there is no such application".into()))
}

pub async fn view(pool: &Pool, app: &str) -> Result<ProvisioningView, DirError> {
    let s = stored(pool, app).await?;
    Ok(ProvisioningView {
        config: s.config,
        token_set: s.secret_token.is_some(),
        needs_initial_cycle: s.needs_initial_cycle,
        initial_cycle_ran: s.initial_cycle_ran,
        smtp_configured: crate::db::notifications::smtp(pool)
            .await?
            .is_some_and(|m| !m.host.trim().is_empty()),
        updated_at: s.updated_at,
        user_sources: source::user_sources(),
        group_sources: source::group_sources(),
    })
}

/// The configuration as `provisio app export` prints it.
pub async fn export(pool: &Pool, app: &str) -> Result<ProvisioningConfig, DirError> {
    Ok(stored(pool, app).await?.config)
}

/// The stored secret token, opened; `None` when none is stored.
pub async fn secret_token(pool: &Pool, sealer: &Sealer, app: &str) -> Result<Option<String>, DirError> {
    let s = stored(pool, app).await?;
    match s.secret_token {
        None => Ok(None),
        Some(sealed) => sealer
            .open(&sealed, &token_context(app))
            .map(Some)
            .map_err(|e| invalid("secret_token", format!("{e}; enter the Secret Token again"))),
    }
}

/// Validates and stores a whole configuration; `token` replaces the secret token. Returns what
/// changed (empty when nothing did, and then nothing is written).
/// Validates `new` as [`apply`] would (normalised in place) and says what it would change,
/// without storing anything: what a preview of a configuration change runs with.
pub async fn check(pool: &Pool, app: &str, new: &mut ProvisioningConfig) -> Result<Vec<String>, DirError> {
    let old = stored(pool, app).await?;
    checked(&old, new, false)
}

fn checked(old: &store::Stored, new: &mut ProvisioningConfig, token: bool) -> Result<Vec<String>, DirError> {
    normalize(new, old.secret_token.is_some() || token)?;
    // The saved token goes only to the endpoint it was saved with: a new Tenant URL needs the
    // token again, so a session that was taken over cannot send it elsewhere.
    if !token
        && old.secret_token.is_some()
        && !super::connection::same_endpoint(&old.config.tenant_url, &new.tenant_url)
    {
        return Err(invalid(
            "secret_token",
            "the Tenant URL changed: enter the Secret Token again (the saved token is only sent to the URL it was saved with)",
        ));
    }
    Ok(describe_changes(&old.config, new))
}

pub async fn apply(
    pool: &Pool,
    sealer: &Sealer,
    app: &str,
    mut new: ProvisioningConfig,
    token: Option<&str>,
    actor: &Actor,
) -> Result<Vec<String>, DirError> {
    let token = token.map(str::trim).filter(|t| !t.is_empty());
    if let Some(t) = token {
        if t.len() > 8192 || t.chars().any(char::is_control) {
            return Err(invalid(
                "secret_token",
                "the Secret Token must be one line of at most 8,192 characters",
            ));
        }
    }
    let old = stored(pool, app).await?;
    let mut changes = checked(&old, &mut new, token.is_some())?;
    if token.is_some() {
        changes.push("Secret Token replaced".into());
    }
    if changes.is_empty() {
        return Ok(changes);
    }
    let mappings_changed = old.config.mappings != new.mappings;
    let sealed = token.map(|t| sealer.seal(t, &token_context(app)));
    let now = crate::timefmt::now();
    let mut tx = crate::db::begin(pool, db::Exclusive::App(app)).await?;
    store::save(&mut tx, app, &new, sealed.as_deref(), mappings_changed, &now).await?;
    if token.is_some() || old.config.tenant_url != new.tenant_url {
        // New credentials deserve a try now, not after a day of quarantine.
        db::jobs::retry_credentials_now(&mut tx, app, &now).await?;
    }
    tx.commit().await?;
    let name = db::apps::get(pool, app)
        .await?
        .map(|a| a.name)
        .unwrap_or_default();
    audit::record(
        pool,
        actor,
        "app.provisioning",
        &name,
        Outcome::Success,
        &changes.join("; "),
    )
    .await;
    Ok(changes)
}

/// Applies a change to the stored configuration (a console form's part of it).
pub async fn update(
    pool: &Pool,
    sealer: &Sealer,
    app: &str,
    token: Option<&str>,
    actor: &Actor,
    change: impl FnOnce(&mut ProvisioningConfig) -> Result<(), DirError>,
) -> Result<Vec<String>, DirError> {
    let mut c = stored(pool, app).await?.config;
    change(&mut c)?;
    apply(pool, sealer, app, c, token, actor).await
}

/// What [`update`] would save, without saving it: the changed configuration (checked and
/// normalized as a save would) and the change as the audit log would describe it.
pub async fn changed(
    pool: &Pool,
    app: &str,
    change: impl FnOnce(&mut ProvisioningConfig) -> Result<(), DirError>,
) -> Result<(ProvisioningConfig, Vec<String>), DirError> {
    let mut c = stored(pool, app).await?.config;
    change(&mut c)?;
    let changes = check(pool, app, &mut c).await?;
    Ok((c, changes))
}

pub fn object_mut(c: &mut ProvisioningConfig, object: MappedObject) -> Result<&mut ObjectMapping, DirError> {
    c.mappings
        .iter_mut()
        .find(|m| m.object == object)
        .ok_or_else(|| invalid("object", MappedObject::EXPECTED))
}

/// The gallery template's attribute mappings for `object`, for *Restore default mappings*.
pub async fn template_defaults(
    pool: &Pool,
    app: &str,
    object: MappedObject,
) -> Result<Vec<AttributeMapping>, DirError> {
    let a = db::apps::get(pool, app)
        .await?
        .ok_or_else(|| DirError::NotFound("there is no such application".into()))?;
    let t = gallery::template(&a.template).ok_or_else(|| {
        DirError::Conflict(format!("the gallery no longer has the template {}", a.template))
    })?;
    let list = match object {
        MappedObject::Group => &t.mappings.group,
        MappedObject::User => &t.mappings.user,
    };
    Ok(list
        .iter()
        .map(|m| AttributeMapping {
            target: m.target.clone(),
            kind: m.kind,
            source: m.source.clone(),
            default_value: m.default_value.clone(),
            matching: m.matching,
            apply_on: m.apply_on,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(kind: &str, source: &str, matching: i64) -> AttributeMapping {
        AttributeMapping {
            target: "externalId".into(),
            source: source.into(),
            kind: kind.parse().unwrap(),
            default_value: String::new(),
            matching,
            apply_on: ApplyOn::Always,
        }
    }

    fn refused_field(kind: &str, source: &str, matching: i64) -> Option<(String, String)> {
        match normalize_attribute(MappedObject::User, &mut mapping(kind, source, matching)) {
            Ok(()) => None,
            Err(DirError::Invalid { field, message }) => Some((field, message)),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn matching_values_must_be_stable_and_tell_objects_apart() {
        for e in [
            r#"Join("-", [mailNickname], Guid())"#,
            "RandomString(12)",
            r#"FormatDateTime(Now(), , , "yyyy")"#,
        ] {
            let (field, message) = refused_field("expression", e, 1).expect(e);
            assert_eq!(field, "matching", "{e}");
            assert!(message.contains("new value each time"), "{message}");
            // The same expressions are fine for an attribute that is only written.
            assert_eq!(refused_field("expression", e, 0), None, "{e}");
        }
        let (field, message) = refused_field("constant", "admin", 1).unwrap();
        assert_eq!(field, "matching");
        assert!(
            message.contains("all of them would match one account"),
            "{message}"
        );
        assert_eq!(refused_field("direct", "objectId", 1), None);
        assert_eq!(
            refused_field("expression", r#"ToLower([userPrincipalName])"#, 1),
            None
        );
    }

    #[test]
    fn an_expression_over_the_budget_for_some_user_is_refused_when_saved() {
        let mut bomb = "[givenName]".to_string();
        for _ in 0..12 {
            bomb = format!("ConvertToBase64({bomb})");
        }
        let (field, message) = refused_field("expression", &bomb, 0).unwrap();
        assert_eq!(field, "source");
        assert!(
            message.contains("ConvertToBase64") && message.contains("1 MiB"),
            "{message}"
        );
        // What real mappings do passes.
        for ok in [
            r#"Join("@", NormalizeDiacritics(StripSpaces([givenName])), "contoso.com")"#,
            r#"Replace([userPrincipalName], "@contoso.com", , , "@fabrikam.com", , )"#,
            r#"AppRoleAssignmentsComplex([appRoleAssignments])"#,
            r#"Switch([IsSoftDeleted], , "False", "True", "True", "False")"#,
        ] {
            assert_eq!(refused_field("expression", ok, 0), None, "{ok}");
        }
    }
}
