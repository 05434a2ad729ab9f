//! The users table of Users and Deleted users: sortable by name or user principal name, paged,
//! with an admin's bulk actions on the ticked users (assign to an application with a role, add to
//! a group, turn sign-in off or on). The table and the actions are one plain form: the button
//! pressed names the action, so it works the same without JavaScript.

use super::super::widgets::{urlencode, Confirm, CsrfField, PrincipalPicker, SortHeading, WhenOr};
use super::users::PURGE_CONSEQUENCE;
use crate::api::bulk::BulkUsers;
use crate::api::directory::{PurgeUser, RestoreUser};
use crate::model::{aria_sort, plural, AppChoice, DirUserPage, DirUserRow, UserSort};
use leptos::prelude::*;

/// The list's filters as a query string ("q=...&enabled=..."), for links that keep them.
pub(super) fn filter_query(pairs: &[(&str, String)]) -> String {
    pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// `base?a&b` from the query-string parts that are not empty (`base` alone when none is).
fn href(base: &str, parts: &[&str]) -> String {
    let q = parts
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join("&");
    if q.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{q}")
    }
}

/// What a list shows and how: where it lives, its filters (as a query string without the sort),
/// its order, and whether it is a later page.
#[derive(Clone)]
pub(super) struct ListView {
    pub base: &'static str,
    pub query: String,
    pub sort: UserSort,
    pub paged: bool,
    pub deleted: bool,
}

#[component]
pub(super) fn UserTable(
    page: DirUserPage,
    list: ListView,
    /// The applications (with roles) for Assign to: given for an admin's live users list.
    #[prop(optional)]
    bulk: Option<Vec<AppChoice>>,
) -> impl IntoView {
    let admin = super::super::use_session().is_admin();
    let shown = page.rows.len();
    let total = page.total;
    let ListView {
        base,
        query,
        sort,
        paged,
        deleted,
    } = list;
    if total == 0 {
        return match (query.is_empty(), deleted) {
            (false, _) => view! {
                <p class="empty">"No users match. " <a href=base>"Clear the search and filters"</a> "."</p>
            }
            .into_any(),
            (true, true) => view! { <p class="empty">"No deleted users: nothing to restore."</p> }.into_any(),
            (true, false) => view! {
                <p class="empty">"No users yet. Add one with New user, import a CSV file, or let an identity provider create them."</p>
            }
            .into_any(),
        };
    }
    let sort_param = if sort == UserSort::Name {
        String::new()
    } else {
        format!("sort={}", sort.param())
    };
    let next = page.next.clone().map(|c| {
        let after = format!("after={}", urlencode(&c));
        href(base, &[&query, &sort_param, &after])
    });
    let first = paged.then(|| href(base, &[&query, &sort_param]));
    let selectable = bulk.is_some();
    let rows = page
        .rows
        .into_iter()
        .map(|u| view! { <UserLine u deleted admin selectable /> })
        .collect_view();
    let heading = move |label: &'static str, by_upn: bool| {
        let aria = aria_sort(sort.by_upn() == by_upn, sort.descending());
        let link = href(base, &[&query, &format!("sort={}", sort.toggled(by_upn).param())]);
        view! { <SortHeading label href=link aria /> }
    };
    let table = view! {
        <p class="muted" role="status">
            {if shown as i64 == total { plural(total, "user", "users") } else { format!("{shown} of {}", plural(total, "user", "users")) }}
        </p>
        <div class="table-wrap">
            <table>
                <thead>
                    <tr>
                        {selectable.then(|| view! { <th scope="col"><span class="sr-only">"Select"</span></th> })}
                        {heading("Display name", false)}
                        {heading("User principal name", true)}
                        <th scope="col">"Job title"</th>
                        <th scope="col">"Department"</th>
                        <th scope="col">{if deleted { "Deleted" } else { "Account" }}</th>
                        {(deleted && admin).then(|| view! { <th scope="col">"Actions"</th> })}
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
        <nav class="pager" aria-label="Pages">
            {first.map(|href| view! { <a href=href>"First page"</a> })}
            {next.map(|href| view! { <a href=href rel="next">"Next page"</a> })}
        </nav>
    };
    match bulk {
        None => table.into_any(),
        Some(apps) => view! { <BulkForm apps>{table}</BulkForm> }.into_any(),
    }
}

/// One user: a tick box for bulk actions, the user, and on Deleted users its own actions.
#[component]
fn UserLine(u: DirUserRow, deleted: bool, admin: bool, selectable: bool) -> impl IntoView {
    let actions = use_context::<(ServerAction<RestoreUser>, ServerAction<PurgeUser>)>();
    let status = if u.account_enabled { "Enabled" } else { "Disabled" };
    let row_actions = (deleted && admin).then(|| {
        actions.map(|(restore, purge)| {
            let (id1, id2) = (u.id.clone(), u.id.clone());
            view! {
                <td class="actions">
                    <ActionForm action=restore attr:class="inline">
                        <CsrfField />
                        <input type="hidden" name="id" value=id1 />
                        <button type="submit" class="btn">"Restore"</button>
                    </ActionForm>
                    <Confirm
                        id=format!("purge-{}", u.id)
                        label="Delete permanently"
                        small=true
                        title=format!("Delete {} permanently", u.display_name)
                        consequence=PURGE_CONSEQUENCE
                    >
                        <ActionForm action=purge attr:class="inline">
                            <CsrfField />
                            <input type="hidden" name="id" value=id2 />
                            <button type="submit" class="btn btn-danger">"Delete permanently"</button>
                        </ActionForm>
                    </Confirm>
                </td>
            }
        })
    });
    let pick = format!("pick-{}", u.id);
    view! {
        <tr data-upn=u.upn.clone()>
            {selectable.then(|| view! {
                <td class="pick">
                    <input type="checkbox" id=pick name="ids[]" value=u.id.clone()
                        aria-label=format!("Select {}", u.display_name) />
                </td>
            })}
            <th scope="row"><a href=format!("/directory/users/{}", u.id)>{u.display_name.clone()}</a></th>
            <td class="mono">{u.upn.clone()}</td>
            <td>{u.job_title.clone()}</td>
            <td>{u.department.clone()}</td>
            <td>{if deleted { view! { <WhenOr at=u.deleted_at.clone() none="" /> }.into_any() } else { status.into_any() }}</td>
            {row_actions}
        </tr>
    }
    .into_any()
}

/// The table inside one form with the bulk actions above it.
#[component]
fn BulkForm(apps: Vec<AppChoice>, children: Children) -> impl IntoView {
    let bulk = expect_context::<ServerAction<BulkUsers>>();
    let form = NodeRef::new();
    super::super::widgets::reset_on_success(form, Signal::derive(move || bulk.value().get()));
    let options = apps
        .into_iter()
        .map(|a| {
            if a.roles.is_empty() {
                view! { <option value=format!("{}|", a.id)>{a.name.clone()}</option> }.into_any()
            } else {
                let app_id = a.id.clone();
                view! {
                    <optgroup label=a.name.clone()>
                        {a.roles.into_iter().map(|r| {
                            let label = if r.provisioned { r.display_name.clone() } else { format!("{} (not provisioned)", r.display_name) };
                            view! { <option value=format!("{app_id}|{}", r.value)>{format!("{} · {label}", a.name)}</option> }
                        }).collect_view()}
                    </optgroup>
                }
                .into_any()
            }
        })
        .collect_view();
    view! {
        <ActionForm action=bulk node_ref=form attr:class="bulk-form">
            <CsrfField />
            <fieldset class="bulk-bar">
                <legend>"With the selected users"</legend>
                <div class="bulk-action">
                    <label for="bulk-assign">"Assign to"</label>
                    <select id="bulk-assign" name="assign_to">
                        <option value="">"Choose an application and role"</option>
                        {options}
                    </select>
                    <button type="submit" class="btn" name="action" value="assign">"Assign"</button>
                </div>
                <div class="bulk-action">
                    <label for="bulk-group">"Add to group"</label>
                    <PrincipalPicker id="bulk-group" name="group" groups=true placeholder="group name" />
                    <button type="submit" class="btn" name="action" value="add_to_group">"Add to group"</button>
                </div>
                <div class="bulk-action">
                    <button type="submit" class="btn" name="action" value="enable">"Enable sign-in"</button>
                    <Confirm
                        id="bulk-disable".to_string()
                        label="Disable sign-in"
                        title="Disable sign-in for the selected users"
                        consequence="Applications provisioned from this directory disable their accounts at the next cycle: they can no longer sign in to them. Enabling sign-in again restores it."
                    >
                        <button type="submit" class="btn btn-danger" name="action" value="disable">"Disable sign-in"</button>
                    </Confirm>
                </div>
            </fieldset>
            {children()}
        </ActionForm>
    }
    .into_any()
}
