use super::super::widgets::{urlencode, ErrorText, When};
use super::use_account_id;
use crate::api::access::{get_scim_resource, list_scim_users};
use crate::model::{ScimResourceDetail, ScimUserPage};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
pub fn UsersTab() -> impl IntoView {
    let a_id = use_account_id();
    let query = use_query_map();
    let account = a_id.clone();
    let page = Resource::new(
        move || query.get(),
        move |q| {
            list_scim_users(
                account.clone(),
                q.get("q").unwrap_or_default(),
                q.get("after").unwrap_or_default(),
            )
        },
    );
    let q = move || query.with(|q| q.get("q")).unwrap_or_default();
    let base = format!("/access/accounts/{}", a_id);
    view! {
        <section class="card">
            <h2>"Users"</h2>
            // A plain form: the router's <Form> lower-cases the action path, and account ids are
            // case-sensitive. Searching loads the page, with or without JavaScript.
            <form method="get" action=format!("{base}/users") class="form form-row filters">
                <div class="field">
                    <label for="user-search">"Search"</label>
                    <input id="user-search" name="q" type="search" value=q placeholder="user name, display name or email"
                        aria-describedby="user-search-hint" />
                    <p class="hint" id="user-search-hint">"Finds names and emails that start with the text."</p>
                </div>
                <div class="field field-action">
                    <button type="submit" class="btn">"Search"</button>
                </div>
            </form>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {
                    let base = base.clone();
                    move || {
                        let base = base.clone();
                        Suspend::new(async move {
                            match page.await {
                                Err(e) => view! { <ErrorText error=e /> }.into_any(),
                                Ok(p) => view! { <UserTable p base q=q() /> }.into_any(),
                            }
                        })
                    }
                }
            </Suspense>
        </section>
    }
}

#[component]
fn UserTable(p: ScimUserPage, base: String, q: String) -> impl IntoView {
    let next = p.next.clone().map(|after| {
        let mut href = format!("{base}/users?after={}", urlencode(&after));
        if !q.is_empty() {
            href.push_str(&format!("&q={}", urlencode(&q)));
        }
        href
    });
    let first = if q.is_empty() {
        format!("{base}/users")
    } else {
        format!("{base}/users?q={}", urlencode(&q))
    };
    let shown = p.rows.len();
    view! {
        <p class="muted" role="status">{format!("{} users{}", p.total, if q.is_empty() { "" } else { " match" })}</p>
        {(shown > 0)
            .then(|| {
                view! {
                    <div class="table-wrap">
                        <table>
                            <thead>
                                <tr>
                                    <th scope="col">"User name"</th>
                                    <th scope="col">"Display name"</th>
                                    <th scope="col">"Email"</th>
                                    <th scope="col">"Status"</th>
                                    <th scope="col">"Provisioned by"</th>
                                    <th scope="col">"Last modified"</th>
                                </tr>
                            </thead>
                            <tbody>
                                {p.rows
                                    .into_iter()
                                    .map(|u| {
                                        let (label, class) = match u.active {
                                            Some(false) => ("Inactive", "status status-failure"),
                                            _ => ("Active", "status status-success"),
                                        };
                                        view! {
                                            <tr data-user=u.user_name.clone()>
                                                <th scope="row">
                                                    <a href=format!("{base}/users/{}", u.id)>{u.user_name.clone()}</a>
                                                </th>
                                                <td>{u.display_name.clone().unwrap_or_default()}</td>
                                                <td>{u.email.clone().unwrap_or_default()}</td>
                                                <td><span class=class>{label}</span></td>
                                                <td>{u.source.clone().map(|s| format!("SCIM · {s}")).unwrap_or_else(|| "SCIM".into())}</td>
                                                <td class="nowrap"><When at=u.last_modified.clone() /></td>
                                            </tr>
                                        }
                                    })
                                    .collect_view()}
                            </tbody>
                        </table>
                    </div>
                }
            })}
        <nav class="pager" aria-label="Pages">
            <a href=first>"First page"</a>
            {next.map(|href| view! { <a href=href rel="next">"Next page"</a> })}
        </nav>
    }
}

fn detail_view(kind: &'static str, base: String, d: ScimResourceDetail) -> impl IntoView {
    let (related_title, related_kind) = if kind == "user" {
        ("Group memberships", "groups")
    } else {
        ("Members", "users")
    };
    let related_total = d.related_total;
    let shown = d.related.len() as i64;
    view! {
        <Title text=d.name.clone() />
        <section class="card">
            <h2>{d.name.clone()}</h2>
            <p class="muted">
                {format!("{} id ", if kind == "user" { "User" } else { "Group" })} <span class="mono">{d.id.clone()}</span>
                {d.source.clone().map(|s| format!(" · provisioned by API key {s}"))}
            </p>
            <h3>"As SCIM clients see it"</h3>
            <pre class="json" tabindex="0">{d.json.clone()}</pre>
        </section>
        <section class="card">
            <h2>{related_title}</h2>
            {if d.related.is_empty() {
                view! { <p class="muted">"None."</p> }.into_any()
            } else {
                view! {
                    <ul class="plain">
                        {d.related
                            .into_iter()
                            .map(|(id, name)| {
                                let href = format!("{base}/{related_kind}/{id}");
                                view! { <li><a href=href>{name}</a></li> }
                            })
                            .collect_view()}
                    </ul>
                    {(related_total > shown).then(|| view! { <p class="muted">{format!("Showing {shown} of {related_total}.")}</p> })}
                }
                    .into_any()
            }}
        </section>
    }
}

#[component]
fn Detail(kind: &'static str, param: &'static str) -> impl IntoView {
    let a_id = use_account_id();
    let params = use_params_map();
    let account = a_id.clone();
    let detail = Resource::new(
        move || params.with(|p| p.get(param).unwrap_or_default()),
        move |id| get_scim_resource(account.clone(), kind.to_string(), id),
    );
    let base = format!("/access/accounts/{}", a_id);
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {
                let base = base.clone();
                move || {
                    let base = base.clone();
                    Suspend::new(async move {
                        match detail.await {
                            Err(e) => view! { <ErrorText error=e /> }.into_any(),
                            Ok(d) => detail_view(kind, base, d).into_any(),
                        }
                    })
                }
            }
        </Suspense>
    }
}

#[component]
pub fn UserDetail() -> impl IntoView {
    view! { <Detail kind="user" param="user" /> }
}

#[component]
pub fn GroupDetail() -> impl IntoView {
    view! { <Detail kind="group" param="group" /> }
}
