//! `provisio app preview`: what the next cycle would do, as text or JSON.

use super::apps::fail;
use crate::model::CyclePreview;
use crate::server::StartError;

/// Previews the next cycle of `app` from the command line.
pub async fn run(
    common: &crate::config::CommonArgs,
    data_dir: &std::path::Path,
    pool: &crate::db::Pool,
    app: &str,
    options: crate::provisioning::engine::PreviewOptions,
) -> Result<CyclePreview, StartError> {
    let sealer = crate::secrets::Sealer::load(common.encryption_key.as_deref(), data_dir)?;
    let http = crate::provisioning::connection::client(std::time::Duration::from_secs(
        common.outbound_timeout_seconds,
    ));
    let tuning = crate::provisioning::engine::Tuning::default();
    crate::provisioning::engine::preview(pool, &sealer, &http, app, &tuning, options)
        .await
        .map_err(fail)
}

pub fn print(p: &CyclePreview, json: bool) -> Result<(), StartError> {
    if json {
        println!("{}", serde_json::to_string_pretty(p).map_err(fail)?);
        return Ok(());
    }
    if !p.error.is_empty() && p.total_entries == 0 {
        return Err(fail(format!("the preview could not run: {}", p.error)));
    }
    let c = &p.counters;
    println!(
        "The next cycle is {}: {} to create, {} to update, {} to disable, {} to delete, {} skipped, {} would fail{}.",
        if p.initial { "an initial cycle (every user and group)" } else { "incremental (the changes since the last cycle)" },
        c.created,
        c.updated,
        c.disabled,
        c.deleted,
        c.skipped,
        c.failed,
        if c.staged > 0 { format!(", {} deletions held", c.staged) } else { String::new() }
    );
    if p.held {
        println!(
            "Accidental-deletion prevention would stop it: more than {} deprovisions. Nothing would be deleted or disabled and the job would go into quarantine until deletes are allowed.",
            p.threshold.unwrap_or_default()
        );
    }
    if !p.error.is_empty() {
        println!("The cycle would stop: {}", p.error);
    }
    for e in &p.entries {
        println!(
            "\n{} {} {} [{}]{}",
            e.action,
            e.object_type,
            e.display_name,
            e.status,
            if e.reason.is_empty() {
                String::new()
            } else {
                format!(": {}", e.reason)
            }
        );
        for m in &e.modified {
            println!("    {}: {} -> {}", m.name, shown(&m.old), shown(&m.new));
        }
    }
    let listed = p.offset + p.entries.len() as u64;
    if p.total_entries > listed {
        println!(
            "\n... and {} more (--skip {listed} for the next ones).",
            p.total_entries - listed
        );
    }
    Ok(())
}

fn shown(v: &str) -> &str {
    if v.is_empty() {
        "(none)"
    } else {
        v
    }
}

/// `app apply --preview`: what the change is, then what it would do, attribute by attribute.
pub fn print_change(changes: &[String], p: &CyclePreview) -> Result<(), StartError> {
    if changes.is_empty() {
        println!("No changes: the configuration is the one saved.");
        return Ok(());
    }
    println!("Nothing is saved. The change:");
    for c in changes {
        println!("  {c}");
    }
    println!();
    if p.attributes.is_empty() {
        println!("No provisioned object would be updated.");
    }
    for a in &p.attributes {
        println!("{}", a.summary());
    }
    println!();
    let mut listed = p.clone();
    listed.entries.truncate(LISTED);
    print(&listed, false)
}

/// Objects `app apply --preview` lists.
pub const LISTED: usize = 100;
