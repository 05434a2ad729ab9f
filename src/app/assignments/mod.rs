//! An application's "Users and groups": its assignments with their roles (changeable) and what
//! provisioning did with each, a quick form to assign one by name, and the Add assignment page.

mod add;

pub use add::AddAssignmentsPage;

use super::apps::AppCtx;
use super::provisioning::with_flashed;
use super::widgets::{
    invalid, query_param, reset_on_success, urlencode, ActionError, Confirm, CsrfField, ErrorText,
    FieldError, Pager, PrincipalPicker, When,
};
use crate::api::apps::{
    list_assignments, take_assignment_outcome, Assign, SetAssignmentRole, Unassign, ASSIGNMENT_PAGE,
};
use crate::model::{plural, AppRoleInfo, AssignmentRow, AssignmentState};
use leptos::prelude::*;

#[component]
pub fn AppAssignments() -> impl IntoView {
    let ctx = expect_context::<AppCtx>();
    let q = query_param("q");
    let page_no = query_param("page");
    let assign = ServerAction::<Assign>::new();
    let unassign = ServerAction::<Unassign>::new();
    let set_role = ServerAction::<SetAssignmentRole>::new();
    let assigned = Signal::derive(move || assign.value().get());
    let flashed = Resource::new(|| (), |_| take_assignment_outcome());
    let role_changed = with_flashed(Signal::derive(move || set_role.value().get()), flashed);
    let list = Resource::new(
        move || {
            (
                ctx.id.get(),
                q.get(),
                page_no.get().parse::<u32>().unwrap_or(0),
                assign.version().get(),
                unassign.version().get(),
                set_role.version().get(),
            )
        },
        |(id, q, p, _, _, _)| list_assignments(id, q, p),
    );
    let admin = super::use_session().is_admin();
    let (role, set_role_choice) = signal(String::new());
    let assign_form = NodeRef::new();
    reset_on_success(assign_form, assigned);
    Effect::new(move |_| {
        if let Some(Ok(_)) = assigned.get() {
            set_role_choice.set(String::new());
        }
    });
    provide_context((unassign, set_role));
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let Ok(d) = ctx.detail.await else { return ().into_any() };
                let roles = d.roles.clone();
                let skipped: Vec<String> = roles.iter().filter(|r| !r.provisioned).map(|r| r.value.clone()).collect();
                let skipped2 = skipped.clone();
                admin.then(|| view! {
                    <section class="card">
                        <div class="card-head">
                            <h2>"Add assignment"</h2>
                            <a class="btn btn-primary" href=format!("/apps/{}/users-and-groups/add", ctx.id.get_untracked())>
                                "Add users and groups"
                            </a>
                        </div>
                        <p class="muted">"Search the directory and assign several users and groups at once, or assign one you know by name here."</p>
                        {(!skipped.is_empty()).then(|| view! {
                            <p class="muted">"Users assigned with the "<strong>{roles.iter().filter(|r| !r.provisioned).map(|r| r.display_name.clone()).collect::<Vec<_>>().join(", ")}</strong>" role are not provisioned. Choose another role for users who need an account in the application."</p>
                        })}
                        <ActionForm action=assign node_ref=assign_form attr:class="form form-row">
                            <CsrfField />
                            <input type="hidden" name="app" value=ctx.id.get_untracked() />
                            <div class="field">
                                <label for="principal">"User or group"</label>
                                <PrincipalPicker id="principal" name="principal" groups=true placeholder="user principal name or group name"
                                    invalid=Signal::derive(invalid(assigned, "principal")) />
                                <FieldError value=assigned field="principal" />
                            </div>
                            {(!roles.is_empty()).then(|| view! { <RoleSelect roles=roles.clone() set_role=set_role_choice result=assigned /> })}
                            <div class="field field-action">
                                <button type="submit" class="btn">"Assign"</button>
                            </div>
                        </ActionForm>
                        {move || skipped2.contains(&role.get()).then(|| view! {
                            <p class="alert alert-warn" role="status">"Users with this role will be skipped by provisioning."</p>
                        })}
                        <ActionError value=assigned />
                        {move || assigned.get().and_then(|r| r.ok()).map(|m| view! { <p class="alert alert-ok" role="status">{m}</p> })}
                    </section>
                }).into_any()
            })}
        </Suspense>
        <ActionError value=Signal::derive(move || unassign.value().get()) />
        <ActionError value=role_changed />
        {move || role_changed.get().and_then(|r| r.ok()).map(|m| view! { <p class="alert alert-ok" role="status">{m}</p> })}
        <form method="get" action=move || format!("/apps/{}/users-and-groups", ctx.id.get()) class="form form-row filters">
            <div class="field">
                <label for="assign-search">"Search"</label>
                <input id="assign-search" name="q" type="search" value=move || q.get() placeholder="part of a name" />
            </div>
            <div class="field field-action">
                <button type="submit" class="btn">"Search"</button>
                <a class="btn btn-quiet" href=move || format!("/apps/{}/users-and-groups", ctx.id.get())>"Clear"</a>
            </div>
        </form>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let roles = ctx.detail.await.map(|d| d.roles).unwrap_or_default();
                match list.await {
                    Err(e) => view! { <ErrorText error=e /> }.into_any(),
                    Ok(p) => {
                        let app = ctx.id.get_untracked();
                        let qv = q.get_untracked();
                        let base = format!("/apps/{app}/users-and-groups");
                        if p.total == 0 {
                            return if qv.is_empty() {
                                view! { <p class="empty">"Nobody is assigned yet. With Scope set to assigned users and groups, provisioning creates accounts only for those assigned here."</p> }.into_any()
                            } else {
                                view! { <p class="empty">"No assignment matches. " <a href=base>"Clear the search"</a> "."</p> }.into_any()
                            };
                        }
                        let link = move |n: i64| {
                            let mut href = format!("{base}?page={n}");
                            if !qv.is_empty() {
                                href.push_str(&format!("&q={}", urlencode(&qv)));
                            }
                            href
                        };
                        let n = p.offset / ASSIGNMENT_PAGE;
                        let shown = p.rows.len() as i64;
                        let prev = (n > 0).then(|| link(n - 1));
                        let next = (p.offset + shown < p.total).then(|| link(n + 1));
                        let rows = p.rows.into_iter().map(|r| {
                            view! { <AssignmentLine app=app.clone() row=r roles=roles.clone() admin /> }
                        }).collect_view();
                        view! {
                            <p class="muted" role="status">{plural(p.total, "assignment", "assignments")}</p>
                            <div class="table-wrap">
                                <table>
                                    <thead><tr>
                                        <th scope="col">"Display name"</th>
                                        <th scope="col">"Object type"</th>
                                        <th scope="col">"Role assigned"</th>
                                        <th scope="col">"Provisioning"</th>
                                        <th scope="col">"Assigned"</th>
                                        {admin.then(|| view! { <th scope="col">"Actions"</th> })}
                                    </tr></thead>
                                    <tbody>{rows}</tbody>
                                </table>
                            </div>
                            <Pager prev next />
                        }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}

/// One assignment: who, the role (a form to change it, for an admin of an application with
/// roles), what provisioning did, and Remove.
#[component]
fn AssignmentLine(app: String, row: AssignmentRow, roles: Vec<AppRoleInfo>, admin: bool) -> impl IntoView {
    let (unassign, set_role) = expect_context::<(ServerAction<Unassign>, ServerAction<SetAssignmentRole>)>();
    let r = row;
    let href = if r.principal.kind == "user" {
        format!("/directory/users/{}", r.principal.id)
    } else {
        format!("/directory/groups/{}", r.principal.id)
    };
    let name = r.principal.name.clone();
    let role_cell = if admin && !roles.is_empty() {
        let current = r.role.clone();
        let label = format!("Role of {name}");
        let (app, id) = (app.clone(), r.id.clone());
        view! {
            <ActionForm action=set_role attr:class="inline role-change">
                <CsrfField />
                <input type="hidden" name="app" value=app />
                <input type="hidden" name="assignment" value=id />
                <select name="role" aria-label=label>
                    {roles.iter().map(|o| {
                        let text = if o.provisioned { o.display_name.clone() } else { format!("{} (not provisioned)", o.display_name) };
                        view! { <option value=o.value.clone() selected=o.value == current>{text}</option> }
                    }).collect_view()}
                </select>
                <button type="submit" class="btn btn-small">"Change role"</button>
            </ActionForm>
        }
        .into_any()
    } else {
        view! {
            {r.role_name.clone()}
            {(!r.role_provisioned).then(|| view! { <span class="badge badge-warn">"not provisioned"</span> })}
        }
        .into_any()
    };
    view! {
        <tr data-assignment=name.clone()>
            <th scope="row"><a href=href>{name.clone()}</a></th>
            <td>{if r.principal.kind == "user" { "User" } else { "Group" }}</td>
            <td>{role_cell}</td>
            <td><ProvisioningCell app=app.clone() state=r.provisioning.clone() /></td>
            <td><When at=r.created_at.clone() /></td>
            {admin.then(|| view! {
                <td class="actions">
                    <Confirm
                        id=format!("unassign-{}", r.id)
                        label="Remove"
                        small=true
                        title=format!("Remove the assignment of {name}")
                        consequence="At the next cycle, the accounts this assignment gave in the application are disabled or deleted (as the provisioning settings say), unless another assignment still covers them."
                    >
                        <ActionForm action=unassign attr:class="inline">
                            <CsrfField />
                            <input type="hidden" name="app" value=app.clone() />
                            <input type="hidden" name="assignment" value=r.id.clone() />
                            <button type="submit" class="btn btn-danger">"Remove assignment"</button>
                        </ActionForm>
                    </Confirm>
                </td>
            })}
        </tr>
    }
    .into_any()
}

/// Provisioning's view of an assignment: a badge, why it was skipped or failed, the newest log
/// entry, and for a group how many of its members the application holds.
#[component]
fn ProvisioningCell(app: String, state: AssignmentState) -> impl IntoView {
    let s = state;
    view! {
        <span class="provision-state" data-state=format!("{:?}", s.state)>
            <span class=s.state.badge()>{s.state.label()}</span>
            {(!s.reason.is_empty()).then(|| view! { <span class="health-reason">{s.reason.clone()}</span> })}
            {s.members.map(|(held, total)| view! {
                <span class="health-reason">{format!("{held} of {} provisioned", plural(total, "member", "members"))}</span>
            })}
            {s.entry.map(|(id, at)| view! {
                <a class="health-reason" href=format!("/apps/{app}/provisioning-logs?entry={}", urlencode(&id))>
                    "Log entry, " <When at=at />
                </a>
            })}
        </span>
    }
    .into_any()
}

#[component]
pub(super) fn RoleSelect(
    roles: Vec<AppRoleInfo>,
    set_role: WriteSignal<String>,
    result: Signal<Option<Result<String, crate::api::ApiError>>>,
) -> impl IntoView {
    view! {
        <div class="field">
            <label for="role">"Role"</label>
            <select id="role" name="role" required aria-invalid=invalid(result, "role")
                on:change=move |ev| set_role.set(event_target_value(&ev))>
                <option value="">"Select a role"</option>
                {roles.into_iter().map(|r| {
                    let label = if r.provisioned { r.display_name.clone() } else { format!("{} (not provisioned)", r.display_name) };
                    view! { <option value=r.value.clone() title=r.description.clone()>{label}</option> }
                }).collect_view()}
            </select>
            <FieldError value=result field="role" />
        </div>
    }
}
