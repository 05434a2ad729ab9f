//! Enterprise applications: the list, the gallery ("New application"), and one application's
//! overview (rename, delete) and "Users and groups" (assignments with app roles).

use super::widgets::{
    invalid, query_param, reset_on_success, route_param, urlencode, ActionError, Confirm, CsrfField,
    ErrorText, FieldError, HealthBadge, PrincipalPicker, When,
};
use crate::api::apps::{
    gallery, get_app, list_apps, list_assignments, Assign, CreateApp, DeleteApp, RenameApp, Unassign,
    ASSIGNMENT_PAGE,
};
use crate::model::{AppDetail, AppRoleInfo};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{Outlet, A};

#[component]
pub fn AppsPage() -> impl IntoView {
    let me = super::use_session();
    let q = query_param("q");
    let apps = Resource::new(move || q.get(), list_apps);
    view! {
        <Title text="Enterprise applications" />
        <h1>"Enterprise applications"</h1>
        <div class="toolbar">
            <form method="get" action="/apps" class="form form-row filters">
                <div class="field">
                    <label for="app-search">"Search"</label>
                    <input id="app-search" name="q" type="search" value=move || q.get() placeholder="application name" />
                </div>
                <div class="field field-action"><button type="submit" class="btn">"Search"</button></div>
            </form>
            {me.is_admin().then(|| view! { <div class="actions"><a class="btn btn-primary" href="/apps/gallery">"New application"</a></div> })}
        </div>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match apps.await {
                    Err(e) => view! { <ErrorText error=e /> }.into_any(),
                    Ok(list) if list.is_empty() => view! {
                        <p class="muted">"No applications yet. Select New application to add one from the gallery."</p>
                    }.into_any(),
                    Ok(list) => {
                        let rows = list.into_iter().map(|a| view! {
                            <tr data-app=a.name.clone()>
                                <th scope="row">
                                    <img class="logo-sm" src=a.logo.clone() alt="" width="24" height="24" />
                                    <a href=format!("/apps/{}", a.id)>{a.name.clone()}</a>
                                </th>
                                <td>{a.template_name.clone()}</td>
                                <td><HealthBadge health=a.health.clone() reason=true /></td>
                                <td class="num">{a.users}</td>
                                <td class="num">{a.groups}</td>
                                <td><When at=a.created_at.clone() /></td>
                            </tr>
                        }).collect_view();
                        view! {
                            <div class="table-wrap">
                                <table>
                                    <thead><tr>
                                        <th scope="col">"Name"</th>
                                        <th scope="col">"Application type"</th>
                                        <th scope="col">"Provisioning"</th>
                                        <th scope="col" class="num">"Assigned users"</th>
                                        <th scope="col" class="num">"Assigned groups"</th>
                                        <th scope="col">"Created"</th>
                                    </tr></thead>
                                    <tbody>{rows}</tbody>
                                </table>
                            </div>
                        }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}

/// The gallery: search, select a template, name the application, Add.
#[component]
pub fn GalleryPage() -> impl IntoView {
    let q = query_param("q");
    let selected = query_param("template");
    // The selection is part of the key so that choosing a tile (a link) renders its card.
    let items = Resource::new(move || (q.get(), selected.get()), |(q, _)| gallery(q));
    let create = ServerAction::<CreateApp>::new();
    let created = Signal::derive(move || create.value().get());
    view! {
        <Title text="Application gallery" />
        <p><a href="/apps">"← Enterprise applications"</a></p>
        <h1>"Browse the application gallery"</h1>
        <form method="get" action="/apps/gallery" class="form form-row filters">
            <div class="field">
                <label for="gallery-search">"Search application"</label>
                <input id="gallery-search" name="q" type="search" value=move || q.get() placeholder="Harness, SCIM…" />
            </div>
            <div class="field field-action"><button type="submit" class="btn">"Search"</button></div>
        </form>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match items.await {
                    Err(e) => view! { <ErrorText error=e /> }.into_any(),
                    Ok(list) => {
                        let sel = selected.get_untracked();
                        let qv = q.get_untracked();
                        let chosen = list.iter().find(|i| i.id == sel).cloned();
                        let tiles = list.into_iter().map(|i| {
                            let mut href = format!("/apps/gallery?template={}", urlencode(&i.id));
                            if !qv.is_empty() {
                                href.push_str(&format!("&q={}", urlencode(&qv)));
                            }
                            view! {
                                <li class="tile" data-template=i.id.clone()>
                                    <a href=href aria-current=(i.id == sel).then_some("true")>
                                        <img src=i.logo.clone() alt="" width="48" height="48" />
                                        <strong>{i.name.clone()}</strong>
                                        <span class="muted">{i.publisher.clone()}" · "{i.category.clone()}</span>
                                    </a>
                                </li>
                            }
                        }).collect_view();
                        view! {
                            <ul class="gallery">{tiles}</ul>
                            {chosen.map(|i| view! {
                                <section class="card" aria-labelledby="add-title">
                                    <h2 id="add-title">{i.name.clone()}</h2>
                                    <p>{i.description.clone()}</p>
                                    <dl class="facts">
                                        <dt>"Tenant URL"</dt><dd class="mono">{i.tenant_url_hint.clone()}</dd>
                                        <dt>"App roles"</dt>
                                        <dd>{if i.roles.is_empty() { "None".to_string() } else { i.roles.iter().map(|r| r.display_name.clone()).collect::<Vec<_>>().join(", ") }}</dd>
                                        <dt>"Attribute mappings"</dt>
                                        <dd>{format!("{} user attributes, {} group attributes", i.user_mappings, i.group_mappings)}</dd>
                                    </dl>
                                    <ul>{i.notes.iter().map(|n| view! { <li>{n.clone()}</li> }).collect_view()}</ul>
                                    <ActionForm action=create attr:class="form form-row">
                                        <CsrfField />
                                        <input type="hidden" name="template" value=i.id.clone() />
                                        <ActionError value=created />
                                        <div class="field">
                                            <label for="app-name">"Name"</label>
                                            <input id="app-name" name="name" type="text" value=i.name.clone() required maxlength="120"
                                                aria-invalid=invalid(created, "name") />
                                            <FieldError value=created field="name" />
                                        </div>
                                        <div class="field field-action">
                                            <button type="submit" class="btn btn-primary">"Add"</button>
                                        </div>
                                    </ActionForm>
                                </section>
                            })}
                        }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}

/// Shared by an application's tabs, fetched once by [`AppLayout`].
#[derive(Clone, Copy)]
pub(crate) struct AppCtx {
    pub(crate) id: Memo<String>,
    pub(crate) detail: Resource<Result<AppDetail, crate::api::ApiError>>,
    rename: ServerAction<RenameApp>,
}

#[component]
pub fn AppLayout() -> impl IntoView {
    let id = route_param("app");
    let rename = ServerAction::<RenameApp>::new();
    let detail = Resource::new(move || (id.get(), rename.version().get()), |(id, _)| get_app(id));
    provide_context(AppCtx { id, detail, rename });
    view! {
        <p><a href="/apps">"← Enterprise applications"</a></p>
        <Suspense fallback=|| view! { <h1>"…"</h1> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Err(e) => view! { <ErrorText error=e /> }.into_any(),
                    Ok(d) => view! {
                        <Title text=d.summary.name.clone() />
                        <div class="app-title">
                            <img src=d.summary.logo.clone() alt="" width="40" height="40" />
                            <h1>{d.summary.name.clone()}</h1>
                            <HealthBadge health=d.summary.health.clone() reason=true />
                        </div>
                    }.into_any(),
                }
            })}
        </Suspense>
        <nav class="tabs" aria-label="Application">
            <A href=move || format!("/apps/{}", id.get()) exact=true>"Overview"</A>
            <A href=move || format!("/apps/{}/users-and-groups", id.get())>"Users and groups"</A>
            <A href=move || format!("/apps/{}/provisioning", id.get())>"Provisioning"</A>
            <A href=move || format!("/apps/{}/provision-on-demand", id.get())>"Provision on demand"</A>
            <A href=move || format!("/apps/{}/provisioning-logs", id.get())>"Provisioning logs"</A>
        </nav>
        <Outlet />
    }
}

#[component]
pub fn AppOverview() -> impl IntoView {
    let ctx = expect_context::<AppCtx>();
    let delete = ServerAction::<DeleteApp>::new();
    let deleted = Signal::derive(move || delete.value().get());
    let renamed = Signal::derive(move || ctx.rename.value().get());
    let admin = super::use_session().is_admin();
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match ctx.detail.await {
                    Err(_) => ().into_any(),
                    Ok(d) => {
                        let s = d.summary.clone();
                        let id = ctx.id.get_untracked();
                        view! {
                            <div class="cards">
                                <section class="card">
                                    <h2>"Properties"</h2>
                                    <dl class="facts">
                                        <dt>"Application type"</dt><dd>{s.template_name.clone()}</dd>
                                        <dt>"Object ID"</dt><dd class="mono">{s.id.clone()}</dd>
                                        <dt>"Provisioning"</dt><dd>{if s.provisioning_on { "On" } else { "Off" }}</dd>
                                        <dt>"Assigned users"</dt><dd>{s.users}</dd>
                                        <dt>"Assigned groups"</dt><dd>{s.groups}</dd>
                                        <dt>"Created"</dt><dd><When at=s.created_at.clone() /></dd>
                                        <dt>"Tenant URL"</dt><dd class="mono">{d.tenant_url_hint.clone()}</dd>
                                    </dl>
                                    <p>{d.description.clone()}</p>
                                </section>
                                <section class="card">
                                    <h2>"Getting started"</h2>
                                    <ol>
                                        <li><a href=format!("/apps/{id}/users-and-groups")>"Assign users and groups"</a>
                                            {(!d.roles.is_empty()).then_some(" with an app role")}"."</li>
                                        <li><a href=format!("/apps/{id}/provisioning")>"Provision user accounts"</a>": set the tenant URL and secret token, test the connection, turn provisioning on."</li>
                                    </ol>
                                    <ul>{d.notes.iter().map(|n| view! { <li>{n.clone()}</li> }).collect_view()}</ul>
                                </section>
                            </div>
                            <section class="card">
                                <h2>"Attribute mappings"</h2>
                                <p class="muted">"Copied from the gallery template when the application was added; edit them under "<a href=format!("/apps/{id}/provisioning")>"Provisioning"</a>" > Mappings."</p>
                                <div class="table-wrap">
                                    <table>
                                        <thead><tr>
                                            <th scope="col">"Object"</th>
                                            <th scope="col">"Source"</th>
                                            <th scope="col">"Target attribute"</th>
                                            <th scope="col">"Matching precedence"</th>
                                        </tr></thead>
                                        <tbody>
                                            {d.mappings.iter().map(|m| view! {
                                                <tr>
                                                    <td>{if m.object == "user" { "User" } else { "Group" }}</td>
                                                    <td class="mono">{m.source.clone()}</td>
                                                    <td class="mono">{m.target.clone()}</td>
                                                    <td>{(m.matching > 0).then(|| m.matching.to_string())}</td>
                                                </tr>
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                </div>
                            </section>
                            {admin.then(|| {
                                let (id_rename, id_delete) = (id.clone(), id.clone());
                                let (current, confirm_label) = (s.name.clone(), format!("Type {} to confirm", s.name));
                                view! {
                                <div class="cards">
                                    <section class="card">
                                        <h2>"Rename"</h2>
                                        <ActionForm action=ctx.rename attr:class="form">
                                            <CsrfField />
                                            <input type="hidden" name="id" value=id_rename />
                                            <ActionError value=renamed />
                                            <div class="field">
                                                <label for="rename">"Name"</label>
                                                <input id="rename" name="name" type="text" value=current required maxlength="120"
                                                    aria-invalid=invalid(renamed, "name") />
                                                <FieldError value=renamed field="name" />
                                            </div>
                                            <button type="submit" class="btn">"Save"</button>
                                        </ActionForm>
                                    </section>
                                    <section class="card">
                                        <h2>"Delete application"</h2>
                                        <p>"Deleting removes the application, its assignments and mappings, and stops its provisioning. Users and groups in the directory stay."</p>
                                        <ActionForm action=delete attr:class="form">
                                            <CsrfField />
                                            <input type="hidden" name="id" value=id_delete />
                                            <ActionError value=deleted />
                                            <div class="field">
                                                <label for="confirm">{confirm_label}</label>
                                                <input id="confirm" name="confirm" type="text" autocomplete="off"
                                                    aria-invalid=invalid(deleted, "confirm") />
                                                <FieldError value=deleted field="confirm" />
                                            </div>
                                            <button type="submit" class="btn btn-danger">"Delete"</button>
                                        </ActionForm>
                                    </section>
                                </div>
                                }
                            })}
                        }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn AppAssignments() -> impl IntoView {
    let ctx = expect_context::<AppCtx>();
    let q = query_param("q");
    let page_no = query_param("page");
    let assign = ServerAction::<Assign>::new();
    let unassign = ServerAction::<Unassign>::new();
    let assigned = Signal::derive(move || assign.value().get());
    let list = Resource::new(
        move || {
            (
                ctx.id.get(),
                q.get(),
                page_no.get().parse::<u32>().unwrap_or(0),
                assign.version().get(),
                unassign.version().get(),
            )
        },
        |(id, q, p, _, _)| list_assignments(id, q, p),
    );
    let admin = super::use_session().is_admin();
    let (role, set_role) = signal(String::new());
    let assign_form = NodeRef::new();
    reset_on_success(assign_form, assigned);
    Effect::new(move |_| {
        if let Some(Ok(_)) = assigned.get() {
            set_role.set(String::new());
        }
    });
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let Ok(d) = ctx.detail.await else { return ().into_any() };
                let roles = d.roles.clone();
                let skipped: Vec<String> = roles.iter().filter(|r| !r.provisioned).map(|r| r.value.clone()).collect();
                let skipped2 = skipped.clone();
                admin.then(|| view! {
                    <section class="card">
                        <h2>"Add assignment"</h2>
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
                            {(!roles.is_empty()).then(|| view! { <RoleSelect roles=roles.clone() set_role result=assigned /> })}
                            <div class="field field-action">
                                <button type="submit" class="btn btn-primary">"Assign"</button>
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
        <form method="get" action=move || format!("/apps/{}/users-and-groups", ctx.id.get()) class="form form-row filters">
            <div class="field">
                <label for="assign-search">"Search"</label>
                <input id="assign-search" name="q" type="search" value=move || q.get() placeholder="name (starts with)" />
            </div>
            <div class="field field-action"><button type="submit" class="btn">"Search"</button></div>
        </form>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Err(e) => view! { <ErrorText error=e /> }.into_any(),
                    Ok(p) => {
                        let app = ctx.id.get_untracked();
                        let qv = q.get_untracked();
                        let base = format!("/apps/{app}/users-and-groups");
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
                            let href = if r.principal.kind == "user" {
                                format!("/directory/users/{}", r.principal.id)
                            } else {
                                format!("/directory/groups/{}", r.principal.id)
                            };
                            let (a1, id1, name) = (app.clone(), r.id.clone(), r.principal.name.clone());
                            view! {
                                <tr data-assignment=r.principal.name.clone()>
                                    <th scope="row"><a href=href>{r.principal.name.clone()}</a></th>
                                    <td>{if r.principal.kind == "user" { "User" } else { "Group" }}</td>
                                    <td>{r.role_name.clone()}{(!r.role_provisioned).then(|| view! { <span class="badge badge-warn">"not provisioned"</span> })}</td>
                                    <td><When at=r.created_at.clone() /></td>
                                    {admin.then(|| view! {
                                        <td class="actions">
                                            <Confirm
                                                id=format!("unassign-{id1}")
                                                label="Remove"
                                                small=true
                                                title=format!("Remove the assignment of {name}")
                                                consequence="At the next cycle, the accounts this assignment gave in the application are disabled or deleted (as the provisioning settings say), unless another assignment still covers them."
                                            >
                                                <ActionForm action=unassign attr:class="inline">
                                                    <CsrfField />
                                                    <input type="hidden" name="app" value=a1 />
                                                    <input type="hidden" name="assignment" value=id1.clone() />
                                                    <button type="submit" class="btn btn-danger">"Remove assignment"</button>
                                                </ActionForm>
                                            </Confirm>
                                        </td>
                                    })}
                                </tr>
                            }
                        }).collect_view();
                        view! {
                            <p class="muted" role="status">{format!("{} assignments", p.total)}</p>
                            <div class="table-wrap">
                                <table>
                                    <thead><tr>
                                        <th scope="col">"Display name"</th>
                                        <th scope="col">"Object type"</th>
                                        <th scope="col">"Role assigned"</th>
                                        <th scope="col">"Assigned"</th>
                                        {admin.then(|| view! { <th scope="col">"Actions"</th> })}
                                    </tr></thead>
                                    <tbody>{rows}</tbody>
                                </table>
                            </div>
                            <nav class="pager" aria-label="Pages">
                                {prev.map(|href| view! { <a href=href rel="prev">"Previous page"</a> })}
                                {next.map(|href| view! { <a href=href rel="next">"Next page"</a> })}
                            </nav>
                        }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}

#[component]
fn RoleSelect(
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
