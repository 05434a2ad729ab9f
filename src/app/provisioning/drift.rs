//! The Drift tab: what the application holds that Provisio did not put there (accounts it does
//! not manage, with the directory user each would match), managed accounts changed in the
//! application (attribute by attribute) and managed accounts it no longer has; with the actions
//! on each (revert, adopt, disable or delete an orphan) for administrators. A plain GET form runs
//! the comparison (`?run=1`), so it works without JavaScript.

use super::*;
use crate::api::provisioning_drift::{run_drift_report, take_drift_outcome, ActOnDrift};
use crate::model::{DriftReport, Drifted, Missing, Orphan};
use leptos_router::components::Form;

#[component]
pub fn DriftPage() -> impl IntoView {
    let ctx = expect_context::<AppCtx>();
    let run = query_param("run");
    let act = ServerAction::<ActOnDrift>::new();
    let flashed = Resource::new(|| (), |_| take_drift_outcome());
    let acted = with_flashed(Signal::derive(move || act.value().get()), flashed);
    let report = Resource::new(
        move || (ctx.id.get(), run.get(), act.version().get()),
        |(app, run, _)| async move {
            if run != "1" {
                return None;
            }
            Some(run_drift_report(app).await)
        },
    );
    let admin = crate::app::use_session().is_admin();
    view! {
        <h2>"Drift"</h2>
        <p class="muted">"Compares the application with what Provisio manages there: every user (and group, when groups are provisioned) is read from it, within its rate limit. Nothing is changed unless you choose an action."</p>
        <section class="card">
            <Form method="GET" action="" attr:class="form form-row">
                <input type="hidden" name="run" value="1" />
                <div class="field field-action">
                    <button type="submit" class="btn btn-primary">"Compare with the application"</button>
                </div>
            </Form>
        </section>
        <ActionError value=acted />
        {move || acted.get().and_then(|r| r.ok()).map(|m| view! { <p class="alert alert-ok" role="status" data-drift-outcome>{m}</p> })}
        <Suspense fallback=|| view! { <p role="status">"Reading the application…"</p> }>
            {move || Suspend::new(async move {
                match report.await {
                    None => view! { <p class="muted">"Press Compare to see what the application holds that Provisio did not put there."</p> }.into_any(),
                    Some(Err(e)) => view! { <ErrorText error=e /> }.into_any(),
                    Some(Ok(r)) => view! { <DriftResult report=r act admin app=ctx.id.get_untracked() /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn DriftResult(
    report: DriftReport,
    act: ServerAction<ActOnDrift>,
    admin: bool,
    app: String,
) -> impl IntoView {
    if !report.error.is_empty() {
        return view! { <p class="alert alert-error" role="alert">{report.summary()}</p> }.into_any();
    }
    let cut = |shown: usize, total: u64| {
        (total > shown as u64)
            .then(|| view! { <p class="muted">{format!("The first {shown} of {total} are listed.")}</p> })
    };
    let (orphans_cut, drifted_cut, missing_cut) = (
        cut(report.orphans.len(), report.orphans_total),
        cut(report.drifted.len(), report.drifted_total),
        cut(report.missing.len(), report.missing_total),
    );
    let clean = report.clean().then(|| view! { <p class="alert alert-ok">"The application holds exactly what Provisio manages there."</p> });
    let orphans = (!report.orphans.is_empty()).then(|| {
        let rows = report.orphans.iter().cloned().map(|o| view! { <OrphanRow o act admin app=app.clone() /> }).collect_view();
        view! {
            <h3>"Not managed by Provisio"</h3>
            <div class="table-wrap"><table data-drift="orphans">
                <thead><tr><th scope="col">"Account"</th><th scope="col">"Directory user it matches"</th><th scope="col"><span class="sr-only">"Actions"</span></th></tr></thead>
                <tbody>{rows}</tbody>
            </table></div>
        }
    });
    let drifted = (!report.drifted.is_empty()).then(|| {
        let rows = report.drifted.iter().cloned().map(|d| view! { <DriftedRow d act admin app=app.clone() /> }).collect_view();
        view! {
            <h3>"Changed in the application"</h3>
            <div class="table-wrap"><table data-drift="drifted">
                <thead><tr><th scope="col">"Managed account"</th><th scope="col">"Attribute: sent → found"</th><th scope="col"><span class="sr-only">"Actions"</span></th></tr></thead>
                <tbody>{rows}</tbody>
            </table></div>
        }
    });
    let missing = (!report.missing.is_empty()).then(|| {
        let rows = report.missing.iter().cloned().map(|m| view! { <MissingRow m /> }).collect_view();
        view! {
            <h3>"Missing from the application"</h3>
            <p class="muted">"Managed accounts the application no longer has. The next cycle that evaluates them finds them gone."</p>
            <div class="table-wrap"><table data-drift="missing">
                <thead><tr><th scope="col">"Directory object"</th><th scope="col">"Account id it had"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table></div>
        }
    });
    view! {
        <section class="card" data-drift-report>
            <p role="status" data-drift-summary>{report.summary()}" "<span class="muted">{format!("Read in {:.1} s.", report.elapsed_ms as f64 / 1000.0)}</span></p>
            {clean}
            {orphans}
            {orphans_cut}
            {drifted}
            {drifted_cut}
            {missing}
            {missing_cut}
        </section>
    }
    .into_any()
}

/// A finding's action: a small form posting the action with the account (and user) id.
#[component]
fn ActButton(
    act: ServerAction<ActOnDrift>,
    app: String,
    action: &'static str,
    target_id: String,
    #[prop(optional)] user_id: String,
    label: &'static str,
) -> impl IntoView {
    view! {
        <ActionForm action=act attr:class="inline">
            <CsrfField />
            <input type="hidden" name="app" value=app />
            <input type="hidden" name="action" value=action />
            <input type="hidden" name="target_id" value=target_id />
            <input type="hidden" name="user_id" value=user_id />
            <button type="submit" class="btn btn-small" data-act=action>{label}</button>
        </ActionForm>
    }
}

#[component]
fn OrphanRow(o: Orphan, act: ServerAction<ActOnDrift>, admin: bool, app: String) -> impl IntoView {
    let matched = match &o.matches {
        Some(m) => view! {
            <span>{m.display_name.clone()}" "<span class="mono">{m.upn.clone()}</span></span><br />
            <span class="muted">{format!("by {}; {}", m.by, if m.in_scope { "in scope: the next cycle takes the account over" } else { "not in scope" })}</span>
        }.into_any(),
        None => view! { <span class="muted">"none"</span> }.into_any(),
    };
    let id = dom_id(&o.target_id);
    let actions = admin.then(|| {
        let adopt = o.matches.clone().map(|m| view! {
            <ActButton act app=app.clone() action="adopt" target_id=o.target_id.clone() user_id=m.user_id label="Adopt" />
        });
        let (disable, delete) = (format!("disable-{id}"), format!("delete-{id}"));
        let (app1, app2, t1, t2) = (app.clone(), app.clone(), o.target_id.clone(), o.target_id.clone());
        view! {
            {adopt}
            {(o.active != Some(false)).then(|| view! {
                <Confirm id=disable label="Disable" small=true title=format!("Disable {} in the application", o.name)
                    consequence="The account is set inactive in the application: whoever uses it cannot sign in there. Provisio does not manage it, so nothing turns it back on.">
                    <ActButton act app=app1 action="disable" target_id=t1 label="Disable account" />
                </Confirm>
            })}
            <Confirm id=delete label="Delete" small=true title=format!("Delete {} from the application", o.name)
                consequence="The account and whatever the application keeps with it are deleted there. This cannot be undone from Provisio.">
                <ActButton act app=app2 action="delete" target_id=t2 label="Delete account" />
            </Confirm>
        }
    });
    view! {
        <tr data-orphan=o.name.clone()>
            <td>{o.name.clone()}" "{(o.active == Some(false)).then_some("(inactive)")}<br /><span class="muted mono">{o.object_type.clone()}" "{o.target_id.clone()}</span></td>
            <td>{matched}</td>
            <td class="actions">{actions}</td>
        </tr>
    }
    .into_any()
}

#[component]
fn DriftedRow(d: Drifted, act: ServerAction<ActOnDrift>, admin: bool, app: String) -> impl IntoView {
    let changes = d
        .attributes
        .iter()
        .map(|a| {
            let found = if a.found.is_empty() { "(none)".to_string() } else { a.found.clone() };
            view! { <li><span class="mono">{a.name.clone()}</span>": "<code class="mono">{a.sent.clone()}</code>" → "<code class="mono">{found}</code></li> }
        })
        .collect_view();
    let revert = (admin && d.object_type == "user").then(|| {
        view! { <ActButton act app action="revert" target_id=d.target_id.clone() label="Revert" /> }
    });
    view! {
        <tr data-drifted=d.display_name.clone()>
            <td>{d.display_name.clone()}<br /><span class="muted mono">{d.object_type.clone()}" "{d.target_id.clone()}</span></td>
            <td><ul class="changes">{changes}</ul></td>
            <td class="actions">{revert}</td>
        </tr>
    }
    .into_any()
}

#[component]
fn MissingRow(m: Missing) -> impl IntoView {
    view! {
        <tr data-missing=m.display_name.clone()>
            <td>{m.display_name.clone()}<br /><span class="muted">{m.object_type.clone()}</span></td>
            <td class="mono">{m.target_id.clone()}</td>
        </tr>
    }
}
