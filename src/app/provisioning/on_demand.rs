//! Provision on demand: a user or a group now, with the steps the engine took.

use super::*;

/// Provision on demand: one user through the whole pipeline now, each step with its details.
#[component]
pub fn OnDemandPage() -> impl IntoView {
    let ctx = expect_context::<AppCtx>();
    let run = ServerAction::<ProvisionOnDemand>::new();
    let flashed = Resource::new(|| (), |_| take_on_demand_report());
    let result = with_flashed(Signal::derive(move || run.value().get()), flashed);
    let run_group = ServerAction::<ProvisionGroupOnDemand>::new();
    let flashed_group = Resource::new(|| (), |_| take_on_demand_group_reports());
    let group_result = with_flashed(Signal::derive(move || run_group.value().get()), flashed_group);
    let admin = crate::app::use_session().is_admin();
    view! {
        <h2>"Provision on demand"</h2>
        <p class="muted">"Runs one user through provisioning now, whatever the provisioning status: import, scope, matching, and the action on the application, each step with its details. The result is also in the provisioning log."</p>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let _ = flashed.await;
                let _ = flashed_group.await;
                let app = ctx.id.get_untracked();
                let group_app = app.clone();
                view! {
                    {admin.then(|| view! {
                        <section class="card">
                            <ActionForm action=run attr:class="form form-row">
                                <CsrfField />
                                <input type="hidden" name="app" value=app.clone() />
                                <ActionError value=result />
                                <div class="field">
                                    <label for="on-demand-user">"User (user principal name)"</label>
                                    <PrincipalPicker id="on-demand-user" name="user" placeholder="start typing a name"
                                        invalid=Signal::derive(invalid(result, "user")) />
                                    <FieldError value=result field="user" />
                                </div>
                                <div class="field field-action">
                                    <button type="submit" class="btn btn-primary" disabled=move || run.pending().get()>"Provision"</button>
                                </div>
                            </ActionForm>
                        </section>
                    })}
                    {move || result.get().and_then(|r| r.ok()).map(|r| view! { <Report report=r /> })}
                    {admin.then(|| view! {
                        <section class="card">
                            <h3>"A group and up to five of its members"</h3>
                            <ActionForm action=run_group attr:class="form">
                                <CsrfField />
                                <input type="hidden" name="app" value=group_app.clone() />
                                <ActionError value=group_result />
                                <div class="field">
                                    <label for="on-demand-group">"Group (name)"</label>
                                    <input id="on-demand-group" name="group" type="text" required autocomplete="off"
                                        aria-invalid=invalid(group_result, "group") />
                                    <FieldError value=group_result field="group" />
                                </div>
                                <div class="field">
                                    <label for="on-demand-members">"Members (user principal names, up to 5)"</label>
                                    <textarea id="on-demand-members" name="members" rows="3"
                                        aria-invalid=invalid(group_result, "members")></textarea>
                                    <FieldError value=group_result field="members" />
                                </div>
                                <button type="submit" class="btn btn-primary" disabled=move || run_group.pending().get()>"Provision group"</button>
                            </ActionForm>
                        </section>
                    })}
                    {move || group_result.get().and_then(|r| r.ok()).map(|list| {
                        list.into_iter().map(|r| view! { <Report report=r /> }).collect_view()
                    })}
                }
            })}
        </Suspense>
    }
}

#[component]
fn Report(report: ProvisionReport) -> impl IntoView {
    let class = match report.status.as_str() {
        "Success" => "alert alert-ok",
        "Failure" => "alert alert-error",
        _ => "alert alert-info",
    };
    let summary = format!(
        "{}: {} {}{}",
        report.display_name,
        report.action,
        report.status,
        if report.error_code.is_empty() {
            String::new()
        } else {
            format!(" ({})", report.error_code)
        }
    );
    view! {
        <section class="card" data-report=report.status.clone()>
            <p class=class role="status">{summary}</p>
            <ol class="steps">
                {report.steps.into_iter().map(|s| view! {
                    <li data-step=s.name.clone() data-status=s.status.clone()>
                        <h3>{s.name.clone()}" "<span class=format!("status status-{}", s.status.to_lowercase())>{s.status.clone()}</span></h3>
                        <p>{s.description.clone()}</p>
                        {(!s.details.is_empty()).then(|| view! {
                            <details>
                                <summary>"Details"</summary>
                                <dl class="facts">
                                    {s.details.into_iter().map(|(k, v)| view! { <dt>{k}</dt><dd class="mono">{v}</dd> }).collect_view()}
                                </dl>
                            </details>
                        })}
                    </li>
                }).collect_view()}
            </ol>
        </section>
    }
}
