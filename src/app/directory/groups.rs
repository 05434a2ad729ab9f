//! Groups: the list with search and the new-group form; a group's page with its properties and
//! direct members (users and nested groups).

use super::super::widgets::{
    invalid, query_param, route_param, urlencode, when, ActionError, Confirm, CsrfField, ErrorText,
    FieldError, Pager, PrincipalPicker, SortHeading,
};
use crate::api::directory::{
    get_group, list_groups, AddMember, CreateGroup, DeleteGroup, RemoveMember, UpdateGroup, GROUP_PAGE,
    MEMBER_PAGE,
};
use crate::model::{aria_sort, plural, GroupSort};
use leptos::prelude::*;
use leptos_meta::Title;

/// "120 direct members · 51–100 shown", or what a search found.
fn member_summary(total: i64, shown: usize, page: u32, q: &str) -> String {
    let noun = if total == 1 {
        "direct member"
    } else {
        "direct members"
    };
    let head = match q.is_empty() {
        true => format!("{total} {noun}"),
        false => format!("{total} {noun} match \"{q}\""),
    };
    let first = i64::from(page) * MEMBER_PAGE + 1;
    match shown as i64 {
        0 => head,
        n if n < total => format!("{head} · {first}–{} shown", first + n - 1),
        _ => head,
    }
}

/// A page of a group's members, keeping the members search.
fn member_href(group: &str, q: &str, page: u32) -> String {
    let mut href = format!("/directory/groups/{group}?mpage={page}");
    if !q.is_empty() {
        href.push_str(&format!("&mq={}", urlencode(q)));
    }
    href
}

#[component]
pub fn GroupsPage() -> impl IntoView {
    let me = super::super::use_session();
    let q = query_param("q");
    let page_no = query_param("page");
    let sort = query_param("sort");
    let create = ServerAction::<CreateGroup>::new();
    let created = Signal::derive(move || create.value().get());
    let page = Resource::new(
        move || (q.get(), page_no.get().parse::<u32>().unwrap_or(0), sort.get()),
        |(q, p, sort)| list_groups(q, p, sort),
    );
    view! {
        <Title text="Groups" />
        <h1>"Groups"</h1>
        <super::DirectoryNav />
        <form method="get" action="/directory/groups" class="form form-row filters">
            <div class="field">
                <label for="group-search">"Search"</label>
                <input id="group-search" name="q" type="search" value=move || q.get() placeholder="part of a name or description" />
            </div>
            {move || (!sort.get().is_empty()).then(|| view! { <input type="hidden" name="sort" value=sort.get() /> })}
            <div class="field field-action">
                <button type="submit" class="btn">"Search"</button>
            </div>
        </form>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Err(e) => view! { <ErrorText error=e /> }.into_any(),
                    Ok(p) if p.total == 0 && q.get_untracked().is_empty() => view! {
                        <p class="empty">"No groups yet. Create one below, import memberships from a CSV file, or let an identity provider create them."</p>
                    }.into_any(),
                    Ok(p) if p.total == 0 => view! {
                        <p class="empty">"No group matches. " <a href="/directory/groups">"Clear the search"</a> "."</p>
                    }.into_any(),
                    Ok(p) => {
                        let qv = q.get_untracked();
                        let order = GroupSort::parse(&sort.get_untracked()).unwrap_or_default();
                        // The list's address with its search, order and page.
                        let href = move |order: GroupSort, n: i64| {
                            let mut parts = Vec::new();
                            if n > 0 {
                                parts.push(format!("page={n}"));
                            }
                            if !qv.is_empty() {
                                parts.push(format!("q={}", urlencode(&qv)));
                            }
                            if order != GroupSort::Name {
                                parts.push(format!("sort={}", order.param()));
                            }
                            match parts.is_empty() {
                                true => "/directory/groups".to_string(),
                                false => format!("/directory/groups?{}", parts.join("&")),
                            }
                        };
                        let link = {
                            let href = href.clone();
                            move |n: i64| href(order, n)
                        };
                        let heading = move |label: &'static str, members: bool| {
                            let aria = aria_sort(order.by_members() == members, order.descending());
                            let class = if members { "num" } else { "" };
                            view! { <SortHeading label href=href(order.toggled(members), 0) aria class /> }
                        };
                        let n = p.offset / GROUP_PAGE;
                        let shown = p.rows.len() as i64;
                        let prev = (n > 0).then(|| link(n - 1));
                        let next = (p.offset + shown < p.total).then(|| link(n + 1));
                        let rows = p.rows.into_iter().map(|g| view! {
                            <tr data-group=g.display_name.clone()>
                                <th scope="row"><a href=format!("/directory/groups/{}", g.id)>{g.display_name.clone()}</a></th>
                                <td>{g.description.clone()}</td>
                                <td class="num">{g.members}</td>
                            </tr>
                        }).collect_view();
                        view! {
                            <p class="muted" role="status">{plural(p.total, "group", "groups")}</p>
                            <div class="table-wrap">
                                <table>
                                    <thead><tr>
                                        {heading("Name", false)}
                                        <th scope="col">"Description"</th>
                                        {heading("Direct members", true)}
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
        {me.is_admin().then(|| view! {
            <section class="card">
                <h2>"New group"</h2>
                <ActionForm action=create attr:class="form form-row">
                    <CsrfField />
                    <ActionError value=created />
                    <div class="field">
                        <label for="group-name">"Name"</label>
                        <input id="group-name" name="name" type="text" required maxlength="256"
                            aria-invalid=invalid(created, "displayName") />
                        <FieldError value=created field="displayName" />
                    </div>
                    <div class="field">
                        <label for="group-description">"Description"</label>
                        <input id="group-description" name="description" type="text" maxlength="1024" />
                    </div>
                    <div class="field field-action">
                        <button type="submit" class="btn btn-primary">"Create group"</button>
                    </div>
                </ActionForm>
            </section>
        })}
    }
}

#[component]
pub fn GroupPage() -> impl IntoView {
    let id = route_param("group");
    let update = ServerAction::<UpdateGroup>::new();
    let delete = ServerAction::<DeleteGroup>::new();
    let add = ServerAction::<AddMember>::new();
    let remove = ServerAction::<RemoveMember>::new();
    let members_q = query_param("mq");
    let members_page = query_param("mpage");
    let group = Resource::new(
        move || {
            (
                id.get(),
                members_q.get(),
                members_page.get().parse::<u32>().unwrap_or(0),
                (
                    update.version().get(),
                    add.version().get(),
                    remove.version().get(),
                ),
            )
        },
        |(id, q, page, _)| get_group(id, q, page),
    );
    let admin = super::super::use_session().is_admin();
    let saved = Signal::derive(move || update.value().get());
    let added = Signal::derive(move || add.value().get());
    view! {
        <p><a href="/directory/groups">"← Groups"</a></p>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match group.await {
                    Err(e) => view! { <ErrorText error=e /> }.into_any(),
                    Ok(g) => {
                        let gid = g.id.clone();
                        let mq = members_q.get_untracked();
                        let page_no = members_page.get_untracked().parse::<u32>().unwrap_or(0);
                        let more = (i64::from(page_no) + 1) * MEMBER_PAGE < g.member_total;
                        let members = g.members.iter().map(|m| {
                            let href = if m.member.kind == "user" {
                                format!("/directory/users/{}", m.member.id)
                            } else {
                                format!("/directory/groups/{}", m.member.id)
                            };
                            let (g1, m1) = (gid.clone(), m.member.id.clone());
                            let (name, group_name) = (m.member.name.clone(), g.display_name.clone());
                            view! {
                                <tr data-member=m.member.name.clone()>
                                    <th scope="row"><a href=href>{m.member.name.clone()}</a></th>
                                    <td>{if m.member.kind == "user" { "User" } else { "Group (nested)" }}</td>
                                    <td class="mono">{m.member.detail.clone()}</td>
                                    <td>{if m.deleted { "Deleted" } else if m.member.kind == "user" && !m.enabled { "Disabled" } else { "" }}</td>
                                    {admin.then(|| view! {
                                        <td class="actions">
                                            <Confirm
                                                id=format!("remove-{m1}")
                                                label="Remove"
                                                small=true
                                                title=format!("Remove {name} from {group_name}")
                                                consequence="Applications that provision this group remove it from the group there too at their next cycle; where the group is how someone is assigned, their account is disabled or deleted as the application's deprovisioning settings say."
                                            >
                                                <ActionForm action=remove attr:class="inline">
                                                    <CsrfField />
                                                    <input type="hidden" name="group" value=g1 />
                                                    <input type="hidden" name="member" value=m1.clone() />
                                                    <button type="submit" class="btn btn-danger">"Remove member"</button>
                                                </ActionForm>
                                            </Confirm>
                                        </td>
                                    })}
                                </tr>
                            }
                        }).collect_view();
                        view! {
                            <Title text=g.display_name.clone() />
                            <h1>{g.display_name.clone()}</h1>
                            <p class="muted mono">"objectId "{g.id.clone()}" · mail nickname "{g.mail_nickname.clone()}</p>
                            {(!g.description.is_empty()).then(|| view! { <p>{g.description.clone()}</p> })}
                            <ActionError value=Signal::derive(move || delete.value().get()) />
                            <ActionError value=Signal::derive(move || remove.value().get()) />
                            <section class="card">
                                <h2>"Members"</h2>
                                <p class="muted" role="status">{member_summary(g.member_total, g.members.len(), page_no, &mq)}</p>
                                <p class="muted">"Nested groups are shown here but not expanded when provisioning, as in Entra ID."</p>
                                <form method="get" action=format!("/directory/groups/{gid}") class="form form-row filters">
                                    <div class="field">
                                        <label for="member-search">"Search members"</label>
                                        <input id="member-search" name="mq" type="search" value=mq.clone()
                                            placeholder="part of a name, user principal name or email" />
                                    </div>
                                    <div class="field field-action"><button type="submit" class="btn">"Search"</button></div>
                                </form>
                                {admin.then(|| {
                                    let gid = gid.clone();
                                    view! {
                                    <ActionForm action=add attr:class="form form-row">
                                        <CsrfField />
                                        <input type="hidden" name="group" value=gid />
                                        <div class="field">
                                            <label for="member">"Add a member (user principal name or group name)"</label>
                                            <PrincipalPicker id="member" name="member" groups=true placeholder="start typing a name"
                                                invalid=Signal::derive(invalid(added, "member")) />
                                            <FieldError value=added field="member" />
                                        </div>
                                        <div class="field field-action">
                                            <button type="submit" class="btn btn-primary">"Add member"</button>
                                        </div>
                                        <ActionError value=added />
                                    </ActionForm>
                                    }
                                })}
                                <div class="table-wrap">
                                    <table>
                                        <thead><tr>
                                            <th scope="col">"Name"</th>
                                            <th scope="col">"Type"</th>
                                            <th scope="col">"User principal name / description"</th>
                                            <th scope="col">"Status"</th>
                                            {admin.then(|| view! { <th scope="col">"Actions"</th> })}
                                        </tr></thead>
                                        <tbody>{members}</tbody>
                                    </table>
                                </div>
                                <nav class="pager" aria-label="Member pages">
                                    {(page_no > 0).then(|| view! { <a class="btn" rel="prev" href=member_href(&gid, &mq, page_no - 1)>"Previous"</a> })}
                                    {more.then(|| view! { <a class="btn" rel="next" href=member_href(&gid, &mq, page_no + 1)>"Next"</a> })}
                                </nav>
                            </section>
                            <div class="cards">
                                <section class="card">
                                    <h2>"Member of"</h2>
                                    {g.member_of.is_empty().then(|| view! { <p class="muted">"No groups."</p> })}
                                    <ul class="plain">
                                        {g.member_of.iter().map(|p| view! { <li><a href=format!("/directory/groups/{}", p.id)>{p.name.clone()}</a></li> }).collect_view()}
                                    </ul>
                                    <h2>"Applications"</h2>
                                    {g.assignments.is_empty().then(|| view! { <p class="muted">"Not assigned to any application."</p> })}
                                    <ul class="plain">
                                        {g.assignments.iter().map(|a| view! {
                                            <li><a href=format!("/apps/{}/users-and-groups", a.app_id)>{a.app_name.clone()}</a>
                                                {(!a.role.is_empty()).then(|| format!(" · {}", a.role))}</li>
                                        }).collect_view()}
                                    </ul>
                                    <p class="muted">{format!("Created {} · changed {}", when(&g.created_at), when(&g.updated_at))}</p>
                                </section>
                                {admin.then(|| {
                                    let (gid_save, gid_delete) = (gid.clone(), gid.clone());
                                    let (name, description, nick) = (g.display_name.clone(), g.description.clone(), g.mail_nickname.clone());
                                    let group_title = g.display_name.clone();
                                    view! {
                                    <section class="card">
                                        <h2>"Properties"</h2>
                                        <ActionForm action=update attr:class="form">
                                            <CsrfField />
                                            <input type="hidden" name="id" value=gid_save />
                                            <ActionError value=saved />
                                            {move || saved.get().and_then(|r| r.ok()).map(|_| view! { <p class="alert alert-ok" role="status">"Saved."</p> })}
                                            <div class="field">
                                                <label for="g-name">"Name"</label>
                                                <input id="g-name" name="name" type="text" value=name required maxlength="256"
                                                    aria-invalid=invalid(saved, "displayName") />
                                                <FieldError value=saved field="displayName" />
                                            </div>
                                            <div class="field">
                                                <label for="g-description">"Description"</label>
                                                <input id="g-description" name="description" type="text" value=description maxlength="1024" />
                                                <FieldError value=saved field="description" />
                                            </div>
                                            <div class="field">
                                                <label for="g-nick">"Mail nickname"</label>
                                                <input id="g-nick" name="mail_nickname" type="text" value=nick maxlength="64" />
                                                <FieldError value=saved field="mailNickname" />
                                            </div>
                                            <button type="submit" class="btn btn-primary">"Save"</button>
                                        </ActionForm>
                                        <ActionForm action=delete attr:class="form">
                                            <CsrfField />
                                            <input type="hidden" name="id" value=gid_delete />
                                            <p class="muted">"Deleting a group removes its memberships and assignments. Users stay."</p>
                                            <div>
                                                <Confirm
                                                    id="delete-group".to_string()
                                                    label="Delete group"
                                                    title=format!("Delete the group {group_title}")
                                                    consequence="Its memberships and assignments are removed: this cannot be undone. Applications that provision the group delete it there, and members who were assigned only through it lose their accounts at the next cycle, as the deprovisioning settings say."
                                                >
                                                    <button type="submit" class="btn btn-danger">"Delete group"</button>
                                                </Confirm>
                                            </div>
                                        </ActionForm>
                                    </section>
                                    }
                                })}
                            </div>
                        }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}
