//! Drift and orphans: reads every user (and group, when groups are provisioned) the application
//! holds, page by page within its rate limit, and compares them with the connector data store
//! and the directory:
//! - *orphans*: accounts no link points to, each with the directory user it would match by the
//!   users mapping's matching attributes (compared the way the engine's own matching compares);
//! - *drift*: linked accounts whose values differ from what Provisio last sent, attribute by
//!   attribute (attributes the application does not declare are left out: it cannot hold them);
//! - *missing*: links to accounts the application no longer has.
//!
//! Read-only: the target only pretends to write (`Target::dry_run`), nothing is recorded.

use super::lookup::read_all;
use super::plan::{found, held};
use super::*;
use crate::model::{DirectoryMatch, DriftReport, Drifted, DriftedAttribute, Missing, Orphan, DRIFT_LISTED};
use crate::scim::resource::get_ci;

/// Directory users evaluated per step when looking for orphans' matches.
const CHUNK: usize = 500;

/// Compares application `app` with what Provisio manages there.
pub async fn drift(
    pool: &Pool,
    sealer: &Sealer,
    http: &reqwest::Client,
    app: &str,
    tuning: &Tuning,
) -> Result<DriftReport, EngineError> {
    let started = Instant::now();
    let cfg = crate::db::provisioning::load_pool(pool, app)
        .await?
        .ok_or(EngineError::NoApplication)?
        .config;
    let mut out = DriftReport::default();
    let (target, caps) = match super::preview::connect(pool, sealer, http, app, &cfg, tuning, true).await? {
        Ok(t) => t,
        Err(error) => {
            out.error = error;
            return Ok(out);
        }
    };
    let (ctx, _) = cycle::context(pool, app, &cfg, target, caps, None, tuning).await?;
    let users = match read_all(&ctx, Kind::User).await {
        Ok(u) => u,
        Err(e) => {
            out.error = format!("{}: {e}", e.code());
            return Ok(out);
        }
    };
    out.users_read = users.len() as u64;
    let user_orphans = compare(&ctx, Kind::User, &users, &mut out).await?;
    if ctx.policy.groups.is_some() {
        out.groups_compared = true;
        match read_all(&ctx, Kind::Group).await {
            Ok(groups) => {
                out.groups_read = groups.len() as u64;
                compare(&ctx, Kind::Group, &groups, &mut out).await?;
            }
            Err(e) => out.error = format!("{}: {e}", e.code()),
        }
    }
    if !user_orphans.is_empty() {
        match_orphans(&ctx, &cfg, &users, &user_orphans, &mut out).await?;
    }
    out.elapsed_ms = started.elapsed().as_millis() as u64;
    tracing::info!(
        app = %app,
        orphans = out.orphans_total,
        drifted = out.drifted_total,
        missing = out.missing_total,
        elapsed_ms = out.elapsed_ms,
        "compared the application with what Provisio manages"
    );
    Ok(out)
}

/// Compares the accounts of `kind` with their links; returns the positions (in `accounts`) of
/// the orphans listed, for matching.
async fn compare(
    ctx: &Ctx,
    kind: Kind,
    accounts: &[Json],
    out: &mut DriftReport,
) -> Result<Vec<usize>, EngineError> {
    let object_type = match kind {
        Kind::User => ObjectType::User,
        Kind::Group => ObjectType::Group,
    };
    let links = links::managed_all(&ctx.pool, &ctx.app, object_type, true).await?;
    match kind {
        Kind::User => out.managed_users = links.len() as u64,
        Kind::Group => out.managed_groups = links.len() as u64,
    }
    let by_target: HashMap<&str, (&String, &Managed)> = links
        .iter()
        .map(|(s, m)| (m.target_id.as_str(), (s, m)))
        .collect();
    let mut present: HashSet<&str> = HashSet::new();
    let mut orphans = Vec::new();
    let mut drifted: Vec<(String, String, Vec<DriftedAttribute>)> = Vec::new();
    for (i, account) in accounts.iter().enumerate() {
        let id = account.get("id").and_then(Json::as_str).unwrap_or_default();
        let Some((source, managed)) = by_target.get(id) else {
            out.orphans_total += 1;
            if out.orphans.len() < DRIFT_LISTED {
                orphans.push(i);
                out.orphans.push(orphan(kind, object_type, account));
            }
            continue;
        };
        present.insert(id);
        let changed = changed_attributes(ctx, kind, account, &managed.exported);
        if !changed.is_empty() {
            out.drifted_total += 1;
            if drifted.len() < DRIFT_LISTED {
                drifted.push(((*source).clone(), id.to_string(), changed));
            }
        }
    }
    let missing: Vec<(&String, &Managed)> = links
        .iter()
        .filter(|(_, m)| !present.contains(m.target_id.as_str()))
        .collect();
    out.missing_total += missing.len() as u64;
    let listed: Vec<(String, String)> = missing
        .iter()
        .take(DRIFT_LISTED)
        .map(|(s, m)| ((*s).clone(), m.target_id.clone()))
        .collect();
    let ids: Vec<String> = drifted
        .iter()
        .map(|d| d.0.clone())
        .chain(listed.iter().map(|m| m.0.clone()))
        .collect();
    let names = display_names(&ctx.pool, object_type, &ids).await?;
    let name = |id: &str| names.get(id).cloned().unwrap_or_else(|| id.to_string());
    out.drifted.extend(
        drifted
            .into_iter()
            .map(|(source_id, target_id, attributes)| Drifted {
                object_type: object_type.as_str().into(),
                display_name: name(&source_id),
                source_id,
                target_id,
                attributes,
            }),
    );
    out.missing
        .extend(listed.into_iter().map(|(source_id, target_id)| Missing {
            object_type: object_type.as_str().into(),
            display_name: name(&source_id),
            source_id,
            target_id,
        }));
    Ok(orphans)
}

fn orphan(kind: Kind, object_type: ObjectType, account: &Json) -> Orphan {
    let text = |k: &str| {
        account
            .as_object()
            .and_then(|o| get_ci(o, k))
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_string()
    };
    Orphan {
        object_type: object_type.as_str().into(),
        target_id: text("id"),
        name: match kind {
            Kind::User => text("userName"),
            Kind::Group => text("displayName"),
        },
        active: account
            .as_object()
            .and_then(|o| get_ci(o, "active"))
            .and_then(crate::scim::resource::coerce_bool),
        matches: None,
    }
}

/// What Provisio last sent (`exported`) that the account does not hold, with what it holds.
/// Group members are compared by the cycles themselves, not here; attributes the application
/// does not declare are left out (it cannot hold them).
fn changed_attributes(ctx: &Ctx, kind: Kind, account: &Json, exported: &str) -> Vec<DriftedAttribute> {
    let sent: Vec<Exported> = exported_from(exported)
        .into_iter()
        .filter(|e| !e.target.eq_ignore_ascii_case("members") && ctx.caps.declared.allows(kind, &e.target))
        .collect();
    let holds = held(kind, account, &sent);
    sent.iter()
        .filter(|e| !holds.iter().any(|h| h.target == e.target))
        .map(|e| DriftedAttribute {
            name: e.target.clone(),
            sent: shown(e),
            found: match e.redacted {
                true => "[Redact]".into(),
                false => found(kind, account, &e.target)
                    .map(|v| v.to_string())
                    .unwrap_or_default(),
            },
        })
        .collect()
}

/// Display names of directory users or groups by id.
async fn display_names(
    pool: &Pool,
    object_type: ObjectType,
    ids: &[String],
) -> Result<HashMap<String, String>, EngineError> {
    Ok(match object_type {
        ObjectType::User => sources::users_by_ids(pool, ids)
            .await?
            .into_iter()
            .map(|r| (r.user.id, r.user.display_name))
            .collect(),
        ObjectType::Group => sources::groups(pool, Some(ids))
            .await?
            .into_iter()
            .map(|g| (g.id, g.display_name))
            .collect(),
    })
}

/// Finds, for each listed user orphan, the directory user the engine would match it with: every
/// directory user's matching values are worked out as a cycle would (an initial cycle's work),
/// and an orphan holding one of them (as the engine's own matching decides) is that user's.
async fn match_orphans(
    ctx: &Ctx,
    cfg: &ProvisioningConfig,
    users: &[Json],
    orphans: &[usize],
    out: &mut DriftReport,
) -> Result<(), EngineError> {
    // The matching attributes in precedence order, and each orphan's value of each, folded.
    let mut paths: Vec<(i64, String)> = cfg
        .mappings
        .iter()
        .filter(|m| m.object == crate::model::MappedObject::User)
        .flat_map(|m| m.attributes.iter())
        .filter(|a| a.matching > 0)
        .map(|a| (a.matching, a.target.clone()))
        .collect();
    paths.sort();
    let mut wanted: HashMap<(String, String), Vec<usize>> = HashMap::new();
    for (n, &i) in orphans.iter().enumerate() {
        for (_, path) in &paths {
            if let Some(v) = found(Kind::User, &users[i], path).and_then(|v| key(&v)) {
                wanted.entry((path.to_ascii_lowercase(), v)).or_default().push(n);
            }
        }
    }
    if wanted.is_empty() {
        return Ok(());
    }
    let mut after = String::new();
    loop {
        let rows = sources::users_after(&ctx.pool, &after, CHUNK as i64).await?;
        let Some(last) = rows.last() else { break };
        after = last.user.id.clone();
        let done = rows.len() < CHUNK;
        for u in scope::scoped(&ctx.pool, &ctx.app, &ctx.policy, rows).await? {
            let Ok(exported) = ctx.policy.users.export(&u.context, false) else {
                continue;
            };
            for (path, value) in ctx.policy.users.matching(&exported) {
                let Some(k) = key(&value.to_json()) else { continue };
                let Some(candidates) = wanted.get(&(path.to_ascii_lowercase(), k)) else {
                    continue;
                };
                let mine: Vec<Exported> = exported.iter().filter(|e| e.target == path).cloned().collect();
                for &n in candidates {
                    let o = &mut out.orphans[n];
                    // Precedence: an earlier matching attribute's match stands.
                    if o.matches.is_some() || held(Kind::User, &users[orphans[n]], &mine).is_empty() {
                        continue;
                    }
                    o.matches = Some(DirectoryMatch {
                        user_id: u.id.clone(),
                        upn: u.upn.clone(),
                        display_name: u.display_name.clone(),
                        in_scope: u.in_scope,
                        by: path.to_string(),
                    });
                }
            }
        }
        if done {
            break;
        }
    }
    Ok(())
}

/// A value as an index key: text folded to lower case (candidates only: the match itself is
/// decided by SCIM's comparison of the attribute).
fn key(v: &Json) -> Option<String> {
    match v {
        Json::String(s) if !s.is_empty() => Some(s.to_lowercase()),
        Json::Number(n) => Some(n.to_string()),
        Json::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}
