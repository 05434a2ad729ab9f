//! A preview of the next cycle: the cycle's own phases (see [`super::cycle::phases`]) with a
//! target that sends its lookups and reads but only pretends to write (`Target::dry_run`), and a
//! context that keeps what a cycle would record (log entries, links) in memory instead of the
//! connector data store. Nothing is written to the application or the database, and the job is
//! not involved: a preview runs beside it, within the application's rate limit.
//!
//! Because it is the cycle's code, what it predicts is what the next cycle does, object by object,
//! as long as neither the directory nor the application changes in between.

use super::*;
use crate::model::{AttributeEffect, CyclePreview, ModifiedProperty, PreviewEntry};
use std::collections::BTreeMap;

/// What a preview keeps instead of recording it.
#[derive(Default)]
pub(super) struct Collected {
    logs: Vec<LogWrite>,
    /// Links the preview's cycle made or changed, for reading back what it "wrote".
    links: HashMap<(ObjectType, String), Managed>,
    /// Entries before `skip` and beyond `skip + limit` are counted only.
    skip: usize,
    limit: usize,
    /// Only entries of this action are kept ("Create", "Update", ...), when set.
    action: Option<String>,
    total: u64,
    /// Per (object type, attribute): objects an update changes it for, and how many get nothing.
    effects: BTreeMap<(&'static str, String), (u64, u64)>,
}

/// Which of a preview's entries to return.
#[derive(Debug, Clone, Default)]
pub struct PreviewOptions {
    /// Entries returned at most (the totals count them all), after skipping `skip` of them (a
    /// later page of a long preview).
    pub limit: usize,
    pub skip: usize,
    /// Only this action's entries ("Create", "Update", "Disable", "Delete", "StagedDelete",
    /// "Other").
    pub action: Option<String>,
    /// A configuration not saved yet (checked by `config::check`): what saving it would do. A
    /// change of mappings makes the next cycle an initial one, as saving it would.
    pub config: Option<ProvisioningConfig>,
}

impl Collected {
    /// Keeps a batch's log entries and links.
    pub(super) fn record(&mut self, mut logs: Vec<LogWrite>, objects: Vec<ObjectWrite>) {
        // A batch's objects finish in any order; pages of a preview (each its own run) need the
        // same order every time.
        logs.sort_by(|a, b| {
            (a.object_type.as_str(), &a.source_id).cmp(&(b.object_type.as_str(), &b.source_id))
        });
        for l in logs.iter().filter(|l| l.action == "Update") {
            for (name, _, new) in modified(&l.modified) {
                let n = self.effects.entry((l.object_type.as_str(), name)).or_default();
                n.0 += 1;
                if matches!(new.as_str(), "" | "null" | "\"\"" | "[]") {
                    n.1 += 1;
                }
            }
        }
        for l in logs
            .into_iter()
            .filter(|l| self.action.as_deref().is_none_or(|a| a == l.action))
        {
            self.total += 1;
            if self.total as usize > self.skip && self.logs.len() < self.limit {
                self.logs.push(l);
            }
        }
        for o in objects {
            let key = (o.object_type, o.source_id);
            match o.exported {
                Some(exported) => {
                    self.links.insert(
                        key,
                        Managed {
                            target_id: o.target_id,
                            exported,
                            state: o.state,
                            unconfirmed: false,
                        },
                    );
                }
                None => {
                    self.links.remove(&key);
                }
            }
        }
    }

    /// The link the preview's cycle gave `source_id`, if it made or changed one.
    pub(super) fn link(&self, object_type: ObjectType, source_id: &str) -> Option<Managed> {
        self.links.get(&(object_type, source_id.to_string())).cloned()
    }
}

impl Ctx {
    /// Overlays the links a preview "wrote" on links read from the connector data store.
    pub(super) fn overlay(
        &self,
        object_type: ObjectType,
        links: &mut HashMap<String, Managed>,
        ids: &[String],
    ) {
        let Some(preview) = &self.preview else { return };
        let kept = preview.lock().unwrap_or_else(|p| p.into_inner());
        for id in ids {
            if let Some(m) = kept.link(object_type, id) {
                links.insert(id.clone(), m);
            }
        }
    }
}

/// The application as a target (within its rate limit) with what it declares, or why it cannot
/// be reached. With `dry_run` it sends its reads and lookups but only pretends to write.
pub(super) async fn connect(
    pool: &Pool,
    sealer: &Sealer,
    http: &reqwest::Client,
    app: &str,
    cfg: &ProvisioningConfig,
    tuning: &Tuning,
    dry_run: bool,
) -> Result<Result<(Target, Capabilities), String>, EngineError> {
    if cfg.tenant_url.trim().is_empty() {
        return Ok(Err(
            "No Tenant URL is saved: there is no application to compare with.".into(),
        ));
    }
    let target = cycle::target(pool, sealer, http, app, cfg, tuning).await?;
    let target = if dry_run { target.dry_run() } else { target };
    Ok(match target.discover().await {
        Ok(caps) => Ok((target, caps)),
        Err(e) => Err(format!("{}: {e}", e.code())),
    })
}

/// Evaluates the next cycle of `app` as the engine would, without doing it; returns the entries
/// `options` asks for (the counters count everything).
pub async fn preview(
    pool: &Pool,
    sealer: &Sealer,
    http: &reqwest::Client,
    app: &str,
    tuning: &Tuning,
    mut options: PreviewOptions,
) -> Result<CyclePreview, EngineError> {
    let started = Instant::now();
    let stored = crate::db::provisioning::load_pool(pool, app)
        .await?
        .ok_or(EngineError::NoApplication)?;
    let job = jobs::job(pool, app).await?;
    let initial = job
        .as_ref()
        .is_none_or(|j| j.watermark.is_none() || j.initial_requested)
        || stored.needs_initial_cycle;
    let upto = dir::last_change(pool).await?;
    let (cfg, initial) = match options.config.take() {
        Some(new) => {
            let remapped = new.mappings != stored.config.mappings;
            (new, initial || remapped)
        }
        None => (stored.config, initial),
    };
    let mut out = CyclePreview {
        initial,
        offset: options.skip as u64,
        threshold: cfg
            .settings
            .prevent_accidental_deletions
            .then_some(cfg.settings.deletion_threshold),
        ..CyclePreview::default()
    };
    let (target, caps) = match connect(pool, sealer, http, app, &cfg, tuning, true).await? {
        Ok(t) => t,
        Err(error) => {
            out.error = error;
            return Ok(out);
        }
    };
    let (mut ctx, group_roles) = cycle::context(pool, app, &cfg, target, caps, None, tuning).await?;
    let collected = Arc::new(std::sync::Mutex::new(Collected {
        skip: options.skip,
        limit: options.limit,
        action: options.action,
        ..Collected::default()
    }));
    ctx.preview = Some(collected.clone());
    let scan = cycle::Scan {
        initial,
        watermark: job.as_ref().and_then(|j| j.watermark),
        upto,
        force_deletes: job.as_ref().is_some_and(|j| j.force_deletes),
    };
    let cycle::Phased { run, held } =
        cycle::phases(pool, app, &cfg, scan, Arc::new(ctx), group_roles).await?;
    out.counters = run.counters.clone();
    out.held = held;
    out.error = run.fatal.clone().unwrap_or_default();
    drop(run);
    let kept = std::mem::take(&mut *collected.lock().unwrap_or_else(|p| p.into_inner()));
    out.total_entries = kept.total;
    out.entries = kept.logs.into_iter().map(entry).collect();
    out.attributes = kept
        .effects
        .into_iter()
        .map(|((object_type, attribute), (updated, emptied))| AttributeEffect {
            object_type: object_type.to_string(),
            attribute,
            updated,
            emptied,
        })
        .collect();
    out.elapsed_ms = started.elapsed().as_millis() as u64;
    tracing::info!(
        app = %app,
        initial,
        objects = out.total_entries,
        elapsed_ms = out.elapsed_ms,
        "previewed the next cycle"
    );
    Ok(out)
}

/// A log entry's modified properties: (attribute, old value, new value).
fn modified(json: &str) -> Vec<(String, String, String)> {
    serde_json::from_str(json).unwrap_or_default()
}

fn entry(l: LogWrite) -> PreviewEntry {
    let modified = modified(&l.modified);
    PreviewEntry {
        object_type: l.object_type.as_str().to_string(),
        source_id: l.source_id,
        display_name: l.display_name,
        target_id: l.target_id,
        action: l.action.to_string(),
        status: l.status.to_string(),
        modified: modified
            .into_iter()
            .map(|(name, old, new)| ModifiedProperty { name, old, new })
            .collect(),
        reason: l.error_reason,
    }
}
