use super::super::widgets::{
    invalid, urlencode, ActionError, Confirm, CsrfField, ErrorText, FieldError, Pager,
};
use super::use_account_id;
use crate::api::access::{list_user_groups, CreateUserGroup, DeleteUserGroup, SetUserGroupRole};
use crate::model::{AccountRole, GroupSource, UserGroupInfo};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn UserGroupsTab() -> impl IntoView {
    let me = super::super::use_session();
    let a_id = use_account_id();
    let create = ServerAction::<CreateUserGroup>::new();
    let set_role = ServerAction::<SetUserGroupRole>::new();
    let delete = ServerAction::<DeleteUserGroup>::new();
    let created = Signal::derive(move || create.value().get());
    let account = a_id.clone();
    let query = use_query_map();
    let groups = Resource::new(
        move || {
            (
                create.version().get(),
                set_role.version().get(),
                delete.version().get(),
                query.with(|q| q.get("q").unwrap_or_default()),
                query.with(|q| q.get("page").and_then(|p| p.parse::<u32>().ok()).unwrap_or(0)),
            )
        },
        move |(_, _, _, q, page)| list_user_groups(account.clone(), q, page),
    );
    let q = move || query.with(|q| q.get("q")).unwrap_or_default();
    let admin = me.is_admin();
    let account = a_id.clone();
    view! {
        <section class="card">
            <h2>"User groups"</h2>
            <p class="lead">
                "A group's role decides what API keys that inherit from it may do: "
                <strong>"Account Admin"</strong> " manages users and user groups (SCIM writes), "
                <strong>"Account Viewer"</strong> " reads them. Groups provisioned through SCIM appear here too; their name and members come from the identity provider, their role from here."
            </p>
            <form method="get" action=format!("/access/accounts/{a_id}/user-groups") class="form form-row filters">
                <div class="field">
                    <label for="group-search">"Search"</label>
                    <input id="group-search" name="q" type="search" value=q placeholder="group name" />
                </div>
                <div class="field field-action">
                    <button type="submit" class="btn">"Search"</button>
                </div>
            </form>
            <ActionError value=Signal::derive(move || set_role.value().get()) />
            <ActionError value=Signal::derive(move || delete.value().get()) />
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {
                    let account = account.clone();
                    move || {
                        let account = account.clone();
                        Suspend::new(async move {
                            match groups.await {
                                Err(e) => view! { <ErrorText error=e /> }.into_any(),
                                Ok(page) => {
                                    let shown = page.rows.len() as i64;
                                    let (total, first) = (page.total, page.offset);
                                    let q = query.with_untracked(|q| q.get("q")).unwrap_or_default();
                                    let base = format!("/access/accounts/{account}/user-groups");
                                    let link = |n: i64| {
                                        let mut href = format!("{base}?page={n}");
                                        if !q.is_empty() {
                                            href.push_str(&format!("&q={}", urlencode(&q)));
                                        }
                                        href
                                    };
                                    let page_no = first / crate::api::access::GROUP_PAGE;
                                    let prev = (page_no > 0).then(|| link(page_no - 1));
                                    let next = (first + shown < total).then(|| link(page_no + 1));
                                    view! {
                                        <p class="muted" role="status">
                                            {if shown < total {
                                                format!("Groups {}-{} of {total}", first + 1, first + shown)
                                            } else {
                                                format!("{total} groups")
                                            }}
                                        </p>
                                        <GroupTable list=page.rows account admin set_role delete />
                                        <Pager prev next />
                                    }
                                        .into_any()
                                }
                            }
                        })
                    }
                }
            </Suspense>
        </section>
        {admin
            .then(|| {
                view! {
                    <section class="card">
                        <h2>"Add a user group"</h2>
                        <ActionForm action=create attr:class="form form-row">
                            <CsrfField />
                            <input type="hidden" name="account" value=a_id.clone() />
                            <ActionError value=created />
                            <div class="field">
                                <label for="group-name">"Name"</label>
                                <input id="group-name" name="name" type="text" required maxlength="100"
                                    aria-invalid=invalid(created, "name") />
                                <FieldError value=created field="name" />
                            </div>
                            <div class="field">
                                <label for="group-role">"Role"</label>
                                <select id="group-role" name="role">
                                    {AccountRole::ALL
                                        .iter()
                                        .map(|r| view! { <option value=r.as_str()>{r.label()}</option> })
                                        .collect_view()}
                                </select>
                            </div>
                            <div class="field field-action">
                                <button type="submit" class="btn btn-primary">"Add group"</button>
                            </div>
                        </ActionForm>
                    </section>
                }
            })}
    }
}

#[component]
fn GroupTable(
    list: Vec<UserGroupInfo>,
    account: String,
    admin: bool,
    set_role: ServerAction<SetUserGroupRole>,
    delete: ServerAction<DeleteUserGroup>,
) -> impl IntoView {
    let rows = list
        .into_iter()
        .map(|g| {
            let builtin = g.source == GroupSource::BuiltIn;
            let name_cell = if g.source == GroupSource::Scim {
                view! { <a href=format!("/access/accounts/{account}/groups/{}", g.id)>{g.name.clone()}</a> }.into_any()
            } else {
                view! { <span>{g.name.clone()}</span> }.into_any()
            };
            let select_id = format!("role-{}", g.id);
            let (acc, gid, gname, grole) = (account.clone(), g.id.clone(), g.name.clone(), g.role);
            let role_form = if admin && !builtin {
                Some(view! {
                    <ActionForm action=set_role attr:class="inline">
                        <CsrfField />
                        <input type="hidden" name="account" value=acc />
                        <input type="hidden" name="group" value=gid />
                        <label class="sr-only" for=select_id.clone()>{format!("Role of {gname}")}</label>
                        <select id=select_id.clone() name="role">
                            {AccountRole::ALL
                                .iter()
                                .map(|r| view! { <option value=r.as_str() selected=*r == grole>{r.label()}</option> })
                                .collect_view()}
                        </select>
                        <button type="submit" class="btn">"Set role"</button>
                    </ActionForm>
                })
            } else {
                None
            };
            let (acc, gid) = (account.clone(), g.id.clone());
            let delete_form = if admin && g.source == GroupSource::Local {
                Some(view! {
                    <Confirm
                        id=format!("delete-group-{gid}")
                        label="Delete"
                        small=true
                        title=format!("Delete the user group {}", g.name)
                        consequence="Its members lose the role it gave them, and API keys that inherit permissions from it lose them: a client using such a key may be refused from its next request."
                    >
                        <ActionForm action=delete attr:class="inline">
                            <CsrfField />
                            <input type="hidden" name="account" value=acc />
                            <input type="hidden" name="group" value=gid.clone() />
                            <button type="submit" class="btn btn-danger">"Delete group"</button>
                        </ActionForm>
                    </Confirm>
                })
            } else {
                None
            };
            let actions = admin.then(|| {
                view! {
                    <td class="actions">
                        {role_form}
                        {delete_form}
                        {builtin.then(|| view! { <span class="muted">"Built in"</span> })}
                    </td>
                }
            });
            view! {
                <tr data-group=g.name.clone()>
                    <th scope="row">{name_cell}</th>
                    <td>{g.source.label()}</td>
                    <td class="num">{g.members}</td>
                    <td>{g.role.label()}</td>
                    {actions}
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-wrap">
            <table>
                <thead>
                    <tr>
                        <th scope="col">"Name"</th>
                        <th scope="col">"Source"</th>
                        <th scope="col" class="num">"Members"</th>
                        <th scope="col">"Role"</th>
                        {admin.then(|| view! { <th scope="col">"Actions"</th> })}
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}
