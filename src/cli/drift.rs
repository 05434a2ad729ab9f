//! `provisio app drift`: what the application holds that Provisio did not put there (orphans),
//! what was changed in it (drift) and what it no longer has (missing), as text or JSON.

use super::apps::fail;
use crate::model::DriftReport;
use crate::server::StartError;

/// Compares application `app` with what Provisio manages there.
pub async fn run(
    common: &crate::config::CommonArgs,
    data_dir: &std::path::Path,
    pool: &crate::db::Pool,
    app: &str,
) -> Result<DriftReport, StartError> {
    let sealer = crate::secrets::Sealer::load(common.encryption_key.as_deref(), data_dir)?;
    let http = crate::provisioning::connection::client(std::time::Duration::from_secs(
        common.outbound_timeout_seconds,
    ));
    let tuning = crate::provisioning::engine::Tuning::default();
    crate::provisioning::drift_checks::check(pool, &sealer, &http, app, &tuning, None)
        .await
        .map_err(fail)
}

/// Acts on one finding and says what it did.
pub async fn act(
    common: &crate::config::CommonArgs,
    data_dir: &std::path::Path,
    pool: &crate::db::Pool,
    app: &str,
    f: crate::provisioning::reconcile::Finding,
) -> Result<(), StartError> {
    let sealer = crate::secrets::Sealer::load(common.encryption_key.as_deref(), data_dir)?;
    let http = crate::provisioning::connection::client(std::time::Duration::from_secs(
        common.outbound_timeout_seconds,
    ));
    let message =
        crate::provisioning::reconcile::act(pool, &sealer, &http, app, &f, &crate::audit::Actor::cli())
            .await
            .map_err(fail)?;
    println!("{message}");
    Ok(())
}

/// Prints the report; exit code 1 when the application could not be read.
pub fn print(r: &DriftReport, json: bool) -> Result<(), StartError> {
    if json {
        println!("{}", serde_json::to_string_pretty(r).map_err(fail)?);
        return Ok(());
    }
    if !r.error.is_empty() {
        return Err(fail(format!(
            "the application could not be compared: {}",
            r.error
        )));
    }
    println!("{}", r.summary());
    if !r.orphans.is_empty() {
        println!("\nNot managed by Provisio:");
    }
    for o in &r.orphans {
        let state = match o.active {
            Some(false) => " (inactive)",
            _ => "",
        };
        let matched = match &o.matches {
            Some(m) if m.in_scope => format!(
                "matches {} by {} (in scope: the next cycle takes it over)",
                m.upn, m.by
            ),
            Some(m) => format!("matches {} by {} (not in scope)", m.upn, m.by),
            None => "matches no directory user".to_string(),
        };
        println!(
            "  {} {} [{}]{state}: {matched}",
            o.object_type, o.name, o.target_id
        );
    }
    if !r.drifted.is_empty() {
        println!("\nChanged in the application (sent -> found):");
    }
    for d in &r.drifted {
        println!("  {} {} [{}]", d.object_type, d.display_name, d.target_id);
        for a in &d.attributes {
            let found = if a.found.is_empty() { "(none)" } else { &a.found };
            println!("    {}: {} -> {found}", a.name, a.sent);
        }
    }
    if !r.missing.is_empty() {
        println!("\nMissing from the application:");
    }
    for m in &r.missing {
        println!("  {} {} [{}]", m.object_type, m.display_name, m.target_id);
    }
    let listed = (r.orphans.len() + r.drifted.len() + r.missing.len()) as u64;
    let total = r.orphans_total + r.drifted_total + r.missing_total;
    if total > listed {
        println!(
            "\n... and {} more (--json lists the same; at most 1,000 of each kind).",
            total - listed
        );
    }
    Ok(())
}
