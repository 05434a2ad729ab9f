//! Enterprise applications: the list, the gallery ("New application"), and one application's
//! layout and overview (rename, delete). Its "Users and groups" are in `assignments`.

use super::widgets::{
    invalid, query_param, route_param, urlencode, ActionError, CsrfField, ErrorText, FieldError, HealthBadge,
    Pager, When,
};
use crate::api::apps::{gallery, get_app, list_apps, CreateApp, DeleteApp, RenameApp};
use crate::model::{page_status, AppDetail, APP_PAGE};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{Outlet, A};

#[component]
pub fn AppsPage() -> impl IntoView {
    let me = super::use_session();
    let q = query_param("q");
    let page_no = query_param("page");
    let apps = Resource::new(
        move || (q.get(), page_no.get().parse::<u32>().unwrap_or(0)),
        |(q, p)| list_apps(q, p),
    );
    view! {
        <Title text="Enterprise applications" />
        <h1>"Enterprise applications"</h1>
        <div class="toolbar">
            <form method="get" action="/apps" class="form form-row filters">
                <div class="field">
                    <label for="app-search">"Search"</label>
                    <input id="app-search" name="q" type="search" maxlength="200" value=move || q.get() placeholder="application name" />
                </div>
                <div class="field field-action"><button type="submit" class="btn">"Search"</button></div>
            </form>
            {me.is_admin().then(|| view! { <div class="actions"><a class="btn btn-primary" href="/apps/gallery">"New application"</a></div> })}
        </div>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match apps.await {
                    Err(e) => view! { <ErrorText error=e /> }.into_any(),
                    Ok(p) if p.total == 0 && q.get_untracked().is_empty() => view! {
                        <p class="empty">"No applications yet. Select New application to add one from the gallery."</p>
                    }.into_any(),
                    Ok(p) if p.total == 0 => view! {
                        <p class="empty">"No application matches. " <a href="/apps">"Clear the search"</a> "."</p>
                    }.into_any(),
                    Ok(p) => {
                        let qv = q.get_untracked();
                        let href = move |n: i64| match qv.is_empty() {
                            true => format!("/apps?page={n}"),
                            false => format!("/apps?page={n}&q={}", urlencode(&qv)),
                        };
                        let n = p.offset / APP_PAGE;
                        let shown = p.rows.len() as i64;
                        let prev = (n > 0).then(|| href(n - 1));
                        let next = (p.offset + shown < p.total).then(|| href(n + 1));
                        let status = page_status(p.total, p.offset, shown, "application", "applications");
                        let rows = p.rows.into_iter().map(|a| view! {
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
                            <p class="muted" role="status">{status}</p>
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
                            <Pager prev next />
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
    /// Bumped by a tab that sees the job's state change (a cycle ends, quarantine starts), so the
    /// header's health badge follows without a reload.
    pub(crate) health_changed: RwSignal<u32>,
}

#[component]
pub fn AppLayout() -> impl IntoView {
    let id = route_param("app");
    let rename = ServerAction::<RenameApp>::new();
    let health_changed = RwSignal::new(0u32);
    let detail = Resource::new(
        move || (id.get(), rename.version().get(), health_changed.get()),
        |(id, ..)| get_app(id),
    );
    provide_context(AppCtx {
        id,
        detail,
        rename,
        health_changed,
    });
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
            <A href=move || format!("/apps/{}/preview", id.get())>"Preview"</A>
            <A href=move || format!("/apps/{}/drift", id.get())>"Drift"</A>
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
