//! Add assignment (Entra's "Add user/group"): search the directory for users and groups, tick
//! several, pick one role, assign them in one go. A plain form with checkboxes, so it works the
//! same without JavaScript; with it, the count of the ticked ones follows along.

use super::super::apps::AppCtx;
use super::super::provisioning::with_flashed;
use super::super::widgets::{query_param, reset_on_success, ActionError, CsrfField, ErrorText, FieldError};
use super::RoleSelect;
use crate::api::apps::{assign_candidates, take_assignment_outcome, AssignMany};
use crate::model::{plural, AssignCandidate};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn AddAssignmentsPage() -> impl IntoView {
    let ctx = expect_context::<AppCtx>();
    let q = query_param("q");
    let kind = query_param("kind");
    let assign = ServerAction::<AssignMany>::new();
    let flashed = Resource::new(|| (), |_| take_assignment_outcome());
    let result = with_flashed(Signal::derive(move || assign.value().get()), flashed);
    let found = Resource::new(
        move || (ctx.id.get(), q.get(), kind.get(), assign.version().get()),
        |(app, q, kind, _)| assign_candidates(app, q, kind),
    );
    let admin = super::super::use_session().is_admin();
    let (ticked, set_ticked) = signal(0usize);
    let (role, set_role) = signal(String::new());
    let form = NodeRef::new();
    reset_on_success(form, Signal::derive(move || assign.value().get()));
    Effect::new(move |_| {
        if let Some(Ok(_)) = assign.value().get() {
            set_ticked.set(0);
        }
    });
    let back = move || format!("/apps/{}/users-and-groups", ctx.id.get());
    view! {
        <Title text="Add assignment" />
        <p><a href=back>"← Users and groups"</a></p>
        <h2>"Add users and groups"</h2>
        <form method="get" action=move || format!("/apps/{}/users-and-groups/add", ctx.id.get()) class="form form-row filters">
            <div class="field">
                <label for="candidate-search">"Search"</label>
                <input id="candidate-search" name="q" type="search" value=move || q.get()
                    placeholder="part of a name, user principal name or email" />
            </div>
            <div class="field">
                <label for="candidate-kind">"Show"</label>
                <select id="candidate-kind" name="kind">
                    <option value="" selected=move || kind.get().is_empty()>"Users and groups"</option>
                    <option value="user" selected=move || kind.get() == "user">"Users"</option>
                    <option value="group" selected=move || kind.get() == "group">"Groups"</option>
                </select>
            </div>
            <div class="field field-action">
                <button type="submit" class="btn">"Search"</button>
            </div>
        </form>
        <ActionError value=result />
        <FieldError value=result field="principals" />
        {move || result.get().and_then(|r| r.ok()).map(|m| view! {
            <p class="alert alert-ok" role="status">{m} " " <a href=back()>"See the assignments"</a></p>
        })}
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let roles = ctx.detail.await.map(|d| d.roles).unwrap_or_default();
                let found = match found.await {
                    Err(e) => return view! { <ErrorText error=e /> }.into_any(),
                    Ok(f) => f,
                };
                if found.rows.is_empty() {
                    return view! { <p class="empty">"No user or group matches. Try part of a name, or another spelling."</p> }.into_any();
                }
                let shown = found.rows.len() as i64;
                let skipped: Vec<String> = roles.iter().filter(|r| !r.provisioned).map(|r| r.value.clone()).collect();
                let rows = found.rows.into_iter().map(|c| view! { <CandidateLine c admin set_ticked /> }).collect_view();
                view! {
                    <p class="muted" role="status">
                        {if found.more {
                            format!("The first {shown} that match: narrow the search to see the others.")
                        } else {
                            plural(shown, "match", "matches")
                        }}
                    </p>
                    <ActionForm action=assign node_ref=form attr:class="form pick-form">
                        <CsrfField />
                        <input type="hidden" name="app" value=ctx.id.get_untracked() />
                        <div class="table-wrap">
                            <table class="pick-table">
                                <thead><tr>
                                    {admin.then(|| view! { <th scope="col"><span class="sr-only">"Select"</span></th> })}
                                    <th scope="col">"Name"</th>
                                    <th scope="col">"Type"</th>
                                    <th scope="col">"User principal name or description"</th>
                                    <th scope="col">"Assigned with"</th>
                                </tr></thead>
                                <tbody>{rows}</tbody>
                            </table>
                        </div>
                        {admin.then(|| view! {
                            <div class="form form-row">
                                {(!roles.is_empty()).then(|| view! { <RoleSelect roles=roles.clone() set_role result /> })}
                                <div class="field field-action">
                                    <button type="submit" class="btn btn-primary">"Assign selected"</button>
                                </div>
                            </div>
                            <p class="muted" aria-live="polite">
                                {move || match ticked.get() { 0 => String::new(), n => format!("{n} selected") }}
                            </p>
                            {move || skipped.contains(&role.get()).then(|| view! {
                                <p class="alert alert-warn" role="status">"Users with this role will be skipped by provisioning."</p>
                            })}
                        })}
                    </ActionForm>
                }.into_any()
            })}
        </Suspense>
    }
}

/// A user or group that can be ticked, with the roles it already has in the application.
#[component]
fn CandidateLine(c: AssignCandidate, admin: bool, set_ticked: WriteSignal<usize>) -> impl IntoView {
    let p = c.principal;
    let id = format!("pick-{}", p.id);
    let is_user = p.kind == "user";
    view! {
        <tr data-candidate=p.name.clone()>
            {admin.then(|| view! {
                <td class="pick">
                    <input type="checkbox" id=id.clone() name="principals[]" value=p.id.clone()
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            set_ticked.update(|n| if on { *n += 1 } else { *n = n.saturating_sub(1) });
                        } />
                </td>
            })}
            <th scope="row"><label for=id>{p.name.clone()}</label></th>
            <td>{if is_user { "User" } else { "Group" }}{(!c.enabled).then(|| view! { <span class="badge badge-warn">"sign-in disabled"</span> })}</td>
            <td class="mono">{p.detail.clone()}</td>
            <td>{if c.roles.is_empty() { "—".to_string() } else { c.roles.join(", ") }}</td>
        </tr>
    }
    .into_any()
}
