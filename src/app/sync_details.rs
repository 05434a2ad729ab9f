//! Synchronization details: what the provisioning job is doing (current cycle with a live progress
//! bar), what it has done (connector data store, statistics to date, cycle history with a chart),
//! whether it is in quarantine and why, and Restart provisioning / Allow deletes.

use super::apps::AppCtx;
use super::compatibility::{Adaptations, CompatibilityChoices};
use super::cycle_chart::CycleCharts;
use super::sync_progress::{progress, Tone};
use super::widgets::{ActionError, Confirm, CsrfField, ErrorText, When};
use crate::api::compatibility::SaveCompatibility;
use crate::api::provisioning::{sync_details, RestartProvisioning};
use crate::model::{CycleInfo, SyncDetails};
use leptos::prelude::*;

pub(super) fn duration(ms: Option<i64>) -> String {
    match ms {
        None => "-".into(),
        Some(ms) if ms < 1_000 => format!("{ms} ms"),
        Some(ms) if ms < 120_000 => format!("{:.1} s", ms as f64 / 1000.0),
        Some(ms) => format!("{} min {} s", ms / 60_000, (ms / 1000) % 60),
    }
}

fn kind_label(kind: &str) -> &'static str {
    if kind == "initial" {
        "Initial cycle"
    } else {
        "Incremental cycle"
    }
}

fn status_line(d: &SyncDetails) -> String {
    match (&d.current, d.state.as_str()) {
        (None, _) if !d.on => "Provisioning has not run: turn Provisioning Status On and save.".into(),
        (None, _) => "The first cycle starts in a moment.".into(),
        (Some(c), _) if c.state == "Running" => format!("{} running.", kind_label(&c.kind)),
        (Some(c), "Paused") => format!("{} {}; provisioning is Off.", kind_label(&c.kind), completion(c)),
        (Some(c), _) => format!("{} {}.", kind_label(&c.kind), completion(c)),
    }
}

fn completion(c: &CycleInfo) -> &'static str {
    match c.state.as_str() {
        "Succeeded" => "completed",
        "EntryLevelErrors" => "completed with errors on some objects",
        _ => "failed",
    }
}

/// `saved` counts the provisioning settings' saves on the same page: a save that turns
/// provisioning On (or changes the credentials) starts a cycle, so the details are read again
/// and the live refresh starts without a reload.
#[component]
pub fn SyncDetailsPanel(#[prop(into)] saved: Signal<u32>) -> impl IntoView {
    let ctx = expect_context::<AppCtx>();
    let restart = ServerAction::<RestartProvisioning>::new();
    let save = ServerAction::<SaveCompatibility>::new();
    let (tick, set_tick) = signal(0u32);
    let details = Resource::new(
        move || {
            (
                ctx.id.get(),
                tick.get(),
                saved.get(),
                restart.version().get(),
                save.version().get(),
            )
        },
        |(id, ..)| sync_details(id),
    );
    // Live: the hydrated page looks again every second while a cycle runs and every five seconds
    // while provisioning is On; without JavaScript a reload shows the latest state.
    Effect::new(move |_| {
        let wait = details.with(|d| match d {
            Some(Ok(d)) if d.current.as_ref().is_some_and(|c| c.state == "Running") => Some(1_000),
            Some(Ok(d)) if d.on => Some(5_000),
            _ => None,
        });
        if let Some(ms) = wait {
            set_timeout(
                move || set_tick.update(|t| *t += 1),
                std::time::Duration::from_millis(ms),
            );
        }
    });
    // The header's health badge follows the job as the live refresh sees its state or its
    // latest cycle change (quarantine starts, a cycle ends with errors).
    Effect::new(move |last: Option<Option<String>>| {
        let state = details.with(|d| match d {
            Some(Ok(d)) => Some(format!(
                "{} {:?}",
                d.state,
                d.current.as_ref().map(|c| (&c.id, &c.state))
            )),
            _ => None,
        });
        let last = last.flatten();
        if state.is_some() && last.is_some() && state != last {
            ctx.health_changed.update(|n| *n += 1);
        }
        state.or(last)
    });
    let admin = super::use_session().is_admin();
    view! {
        <section class="card sync-details" aria-labelledby="sync-heading">
            <h2 id="sync-heading">"Synchronization details"</h2>
            <ActionError value=Signal::derive(move || restart.value().get()) />
            {move || restart.value().get().and_then(|r| r.ok()).map(|m| view! { <p class="alert alert-ok" role="status">{m}</p> })}
            <ActionError value=Signal::derive(move || save.value().get()) />
            {move || save.value().get().and_then(|r| r.ok()).map(|m| view! { <p class="alert alert-ok" role="status">{m}</p> })}
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match details.await {
                        Err(e) => view! { <ErrorText error=e /> }.into_any(),
                        Ok(d) => view! { <Details d restart admin /> }.into_any(),
                    }
                })}
            </Transition>
            {admin.then(|| view! { <CompatibilityChoices save /> })}
        </section>
    }
}

#[component]
fn Details(d: SyncDetails, restart: ServerAction<RestartProvisioning>, admin: bool) -> impl IntoView {
    let app = d.app_id.clone();
    let running = d.current.as_ref().is_some_and(|c| c.state == "Running");
    let quarantine = (d.state == "Quarantine").then(|| {
        let reason = d.quarantine_reason.clone();
        let allow = reason == "TooManyDeletes" && admin;
        let held = match d.current.as_ref().map(|c| c.counts.staged) {
            Some(n) if n > 0 => format!("{n} in the last cycle"),
            _ => "see the last cycle".to_string(),
        };
        let app = app.clone();
        view! {
            <div class="alert alert-error" role="alert" data-quarantine=reason.clone()>
                <p><strong>"Provisioning is in quarantine: "</strong><span class="mono">{reason.clone()}</span></p>
                <p>{crate::model::quarantine_text(&reason)}</p>
                {d.quarantine_since.clone().map(|s| view! { <p>"Since "<When at=s.clone() />"."</p> })}
                {d.next_attempt.clone().map(|s| view! { <p>"Next attempt: "<When at=s.clone() />"."</p> })}
                {allow.then(|| view! {
                    <Confirm
                        id="allow-deletes".to_string()
                        label="Allow deletes"
                        title="Allow the held deletes"
                        consequence=format!("The disables and deletes held by accidental-deletion prevention ({held}) are carried out at the next cycle, once. Check them in the provisioning logs (action StagedDelete) first.")
                    >
                        <ActionForm action=restart attr:class="inline">
                            <CsrfField />
                            <input type="hidden" name="app" value=app />
                            <input type="hidden" name="reset" value="ForceDeletes" />
                            <button type="submit" class="btn btn-danger">"Allow deletes"</button>
                        </ActionForm>
                    </Confirm>
                })}
            </div>
        }
        .into_any()
    });
    let history = d.history.clone();
    let rows = history
        .iter()
        .map(|c| {
            let logs = format!("/apps/{}/provisioning-logs?cycle={}", d.app_id, c.id);
            view! {
                <tr>
                    <td><When at=c.began_at.clone() /></td>
                    <td>{kind_label(&c.kind)}</td>
                    <td>{c.state.clone()}</td>
                    <td>{duration(c.duration_ms)}</td>
                    <td>{c.counts.created}</td>
                    <td>{c.counts.updated}</td>
                    <td>{c.counts.disabled}</td>
                    <td>{c.counts.deleted}</td>
                    <td>{c.counts.skipped}</td>
                    <td>{c.counts.failed}</td>
                    <td>{c.counts.staged}</td>
                    <td><a href=logs>"Logs"</a></td>
                </tr>
            }
            .into_any()
        })
        .collect_view();
    view! {
        {quarantine}
        <p class="sync-status" data-state=d.state.clone()>{status_line(&d)}</p>
        {d.current.as_ref().map(|c| {
            let p = progress(c, d.rate_limit);
            let percent = p.percent;
            view! {
                <div class="progress" role="progressbar" aria-label="Current cycle" aria-valuemin="0" aria-valuemax="100"
                    aria-valuenow=percent.to_string() aria-valuetext=p.text.clone() data-percent=percent.to_string()>
                    <div class=p.tone.css() style=format!("width: {percent}%")></div>
                </div>
                <p class=if p.tone == Tone::Failed { "progress-text progress-text-failed" } else { "progress-text muted" } data-progress=p.text.clone()>
                    {format!("{percent}% · {}", p.text)}
                    {running.then_some(" · updates live")}
                </p>
            }
            .into_any()
        })}
        <Facts d=d.clone() />
        <p><a href=format!("/apps/{}/provisioning-logs", d.app_id)>"View provisioning logs"</a></p>
        <Adaptations list=d.adaptations.clone() />
        {(!history.is_empty()).then(|| view! {
            <h3>"Cycles"</h3>
            <CycleCharts history=history.clone() />
            <div class="table-wrap">
                <table class="cycles">
                    <thead><tr>
                        <th scope="col">"Began"</th><th scope="col">"Type"</th><th scope="col">"State"</th><th scope="col">"Duration"</th>
                        <th scope="col">"Created"</th><th scope="col">"Updated"</th><th scope="col">"Disabled"</th><th scope="col">"Deleted"</th>
                        <th scope="col">"Skipped"</th><th scope="col">"Failed"</th><th scope="col">"Held"</th><th scope="col"><span class="sr-only">"Logs"</span></th>
                    </tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        }
        .into_any())}
        {admin.then(|| view! {
            <ActionForm action=restart attr:class="restart">
                <CsrfField />
                <input type="hidden" name="app" value=app.clone() />
                <label for="reset">"Restart provisioning"</label>
                <select id="reset" name="reset">
                    <option value="">"Clear the watermark, retries and quarantine"</option>
                    <option value="Full">"Also forget the links to target objects (full reset)"</option>
                </select>
                <Confirm
                    id="restart-provisioning".to_string()
                    label="Restart provisioning"
                    title="Restart provisioning"
                    consequence="The next cycle is an initial cycle: every user and group in scope is evaluated and compared with the application again, which takes as long as the first cycle did. With a full reset, Provisio also forgets which accounts in the application are its own: it matches them again by the matching attributes and creates any it cannot match."
                >
                    <button type="submit" class="btn btn-danger">"Restart now"</button>
                </Confirm>
                <p class="muted">"The next cycle is an initial cycle: every user and group is evaluated again."</p>
            </ActionForm>
        }
        .into_any())}
    }
}

/// The job's facts: state, what it manages, the last cycle, statistics, ids.
#[component]
fn Facts(d: SyncDetails) -> impl IntoView {
    let last = d.last_completed.clone();
    let t = d.totals.clone();
    view! {
        <dl class="facts">
            <dt>"Job state"</dt><dd data-job-state=d.state.clone()>{d.state.clone()}</dd>
            <dt>"Users in the connector data store"</dt><dd data-users-managed=d.users_managed.to_string()>{d.users_managed}</dd>
            <dt>"Groups in the connector data store"</dt><dd>{d.groups_managed}</dd>
            <dt>"Waiting for a retry (escrow)"</dt><dd>{d.escrowed}</dd>
            <dt>"Last cycle completed"</dt>
            <dd>{match last.as_ref().and_then(|c| c.ended_at.clone()) {
                Some(at) => view! { <When at /> }.into_any(),
                None => "-".into_any(),
            }}</dd>
            <dt>"Last cycle's duration"</dt><dd>{duration(last.as_ref().and_then(|c| c.duration_ms))}</dd>
            <dt>"Drift"</dt>
            <dd data-drift-check>{match d.drift.clone() {
                Some(c) => view! {
                    <When at=c.checked_at.clone() />": "{c.summary()}" · "
                    <a href=format!("/apps/{}/drift", d.app_id)>"Compare now"</a>
                }.into_any(),
                None => view! { "never compared · "<a href=format!("/apps/{}/drift", d.app_id)>"Compare now"</a> }.into_any(),
            }}</dd>
            <dt>"Statistics to date"</dt>
            <dd>{format!("{} created, {} updated, {} disabled, {} deleted, {} skipped, {} failed", t.created, t.updated, t.disabled, t.deleted, t.skipped, t.failed)}</dd>
            <dt>"Activity id"</dt><dd class="mono">{d.current.as_ref().map(|c| c.id.clone()).unwrap_or_else(|| "-".into())}</dd>
            <dt>"Job id"</dt><dd class="mono">{if d.job_id.is_empty() { "-".to_string() } else { d.job_id.clone() }}</dd>
        </dl>
    }
}
