//! Users: the list with search, the new-user form, a user's page (edit, enable/disable, delete),
//! and Deleted users (restore, delete permanently).

use super::super::provisioning::with_flashed;
use super::super::widgets::{
    invalid, query_param, route_param, when, ActionError, Confirm, CsrfField, ErrorText, FieldError,
    PrincipalPicker, When,
};
use super::user_list::{filter_query, ListView, UserTable};
use crate::api::bulk::{app_choices, take_bulk_outcome, BulkUsers};
use crate::api::directory::{
    get_user, list_users, user_departments, CreateUser, DeleteUser, PurgeUser, RestoreUser, SetUserEnabled,
    UpdateUser,
};
use crate::api::ApiError;
use crate::model::{plural, AppRelation, AttrDef, DirUser, UserSort, CORE_USER_ATTRS, USER_ATTRS};
use leptos::prelude::*;
use leptos_meta::Title;

/// What purging a deleted user does.
pub(super) const PURGE_CONSEQUENCE: &str = "The user, their group memberships and assignments are removed from the directory for good: this cannot be undone.";

#[component]
pub fn UsersPage() -> impl IntoView {
    let admin = super::super::use_session().is_admin();
    let q = query_param("q");
    let enabled = query_param("enabled");
    let department = query_param("department");
    let app = query_param("app");
    let sort = query_param("sort");
    let after = query_param("after");
    let bulk = ServerAction::<BulkUsers>::new();
    let flashed = Resource::new(|| (), |_| take_bulk_outcome());
    let outcome = with_flashed(Signal::derive(move || bulk.value().get()), flashed);
    let page = Resource::new(
        move || {
            (
                q.get(),
                after.get(),
                enabled.get(),
                department.get(),
                app.get(),
                sort.get(),
                bulk.version().get(),
            )
        },
        |(q, after, enabled, department, app, sort, _)| {
            list_users(q, after, false, enabled, department, app, sort)
        },
    );
    let apps = Resource::new(|| (), |_| app_choices());
    provide_context(bulk);
    // Suggestions for the department filter, fetched once the page runs in the browser: the
    // page (and a browser without JavaScript) never waits for them.
    let (departments, set_departments) = signal(Vec::<(String, i64)>::new());
    Effect::new(move |_| {
        leptos::task::spawn_local(async move {
            set_departments.set(user_departments().await.unwrap_or_default());
        });
    });
    view! {
        <Title text="Users" />
        <h1>"Users"</h1>
        <super::DirectoryNav />
        <div class="toolbar">
            <form method="get" action="/directory/users" class="form form-row filters">
                <div class="field">
                    <label for="user-search">"Search"</label>
                    <input id="user-search" name="q" type="search" value=move || q.get()
                        placeholder="part of a name, user principal name or email" />
                </div>
                <div class="field">
                    <label for="user-enabled">"Sign-in"</label>
                    <select id="user-enabled" name="enabled">
                        <option value="" selected=move || enabled.get().is_empty()>"Any"</option>
                        <option value="enabled" selected=move || enabled.get() == "enabled">"Enabled"</option>
                        <option value="disabled" selected=move || enabled.get() == "disabled">"Disabled"</option>
                    </select>
                </div>
                <div class="field">
                    <label for="user-department">"Department"</label>
                    // Any spelling finds it (case and accents aside); the suggestions come once the
                    // page runs, so the page itself never waits for them.
                    <input id="user-department" name="department" type="text" list="departments"
                        value=move || department.get() placeholder="any" autocomplete="off" />
                    <datalist id="departments">
                        {move || departments.get().into_iter().map(|(d, n)| view! {
                            <option value=d.clone()>{format!("{d} ({})", plural(n, "user", "users"))}</option>
                        }).collect_view()}
                    </datalist>
                </div>
                <div class="field">
                    <label for="user-app">"Application"</label>
                    <select id="user-app" name="app">
                        <option value="" selected=move || app.get().is_empty()>"Any"</option>
                        <Suspense fallback=|| ()>
                            {move || Suspend::new(async move {
                                let chosen = app.get_untracked();
                                apps.await.unwrap_or_default().into_iter().map(|a| {
                                    [AppRelation::Assigned, AppRelation::InScope, AppRelation::NotAssigned, AppRelation::Provisioned].map(|r| {
                                        let value = r.param(&a.id);
                                        let selected = value == chosen;
                                        view! { <option value=value selected=selected>{r.label(&a.name)}</option> }
                                    }).into_iter().collect_view()
                                }).collect_view()
                            })}
                        </Suspense>
                    </select>
                </div>
                {move || (!sort.get().is_empty()).then(|| view! { <input type="hidden" name="sort" value=sort.get() /> })}
                <div class="field field-action">
                    <button type="submit" class="btn">"Apply"</button>
                    <a class="btn btn-quiet" href="/directory/users">"Clear"</a>
                </div>
            </form>
            {admin.then(|| view! {
                <div class="actions">
                    <a class="btn btn-primary" href="/directory/users/new">"New user"</a>
                    <a class="btn" href="/directory/import">"Import"</a>
                </div>
            })}
        </div>
        <ActionError value=outcome />
        <FieldError value=outcome field="ids" />
        <FieldError value=outcome field="assign_to" />
        <FieldError value=outcome field="group" />
        <FieldError value=outcome field="role" />
        <FieldError value=outcome field="principals" />
        {move || outcome.get().and_then(|r| r.ok()).map(|m| view! { <p class="alert alert-ok" role="status">{m}</p> })}
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let query = filter_query(&[
                    ("q", q.get_untracked()),
                    ("enabled", enabled.get_untracked()),
                    ("department", department.get_untracked()),
                    ("app", app.get_untracked()),
                ]);
                let list = ListView {
                    base: "/directory/users",
                    query,
                    sort: UserSort::parse(&sort.get_untracked()).unwrap_or_default(),
                    paged: !after.get_untracked().is_empty(),
                    deleted: false,
                };
                let choices = if admin { Some(apps.await.unwrap_or_default()) } else { None };
                match page.await {
                    Err(e) => view! { <ErrorText error=e /> }.into_any(),
                    Ok(p) => match choices {
                        Some(apps) => view! { <UserTable page=p list bulk=apps /> }.into_any(),
                        None => view! { <UserTable page=p list /> }.into_any(),
                    },
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn DeletedUsersPage() -> impl IntoView {
    let q = query_param("q");
    let after = query_param("after");
    let restore = ServerAction::<RestoreUser>::new();
    let purge = ServerAction::<PurgeUser>::new();
    let page = Resource::new(
        move || {
            (
                q.get(),
                after.get(),
                restore.version().get(),
                purge.version().get(),
            )
        },
        |(q, after, _, _)| {
            list_users(
                q,
                after,
                true,
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            )
        },
    );
    provide_context((restore, purge));
    view! {
        <Title text="Deleted users" />
        <h1>"Deleted users"</h1>
        <super::DirectoryNav />
        <p class="lead">
            "Deleted users can be restored, with their group memberships and assignments, for "
            {crate::model::RESTORE_DAYS_LABEL}
            ". Then they are deleted permanently, and provisioning deletes them from applications too."
        </p>
        <ActionError value=Signal::derive(move || restore.value().get()) />
        <ActionError value=Signal::derive(move || purge.value().get()) />
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Err(e) => view! { <ErrorText error=e /> }.into_any(),
                    Ok(p) => {
                        let list = ListView {
                            base: "/directory/deleted-users",
                            query: filter_query(&[("q", q.get_untracked())]),
                            sort: UserSort::Name,
                            paged: !after.get_untracked().is_empty(),
                            deleted: true,
                        };
                        view! { <UserTable page=p list /> }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}

/// The attribute form for a new or an existing user. Every field is posted, so what the form
/// shows is what is stored; an emptied field clears the attribute.
#[component]
#[allow(
    clippy::expect_used,
    reason = "the attributes named here are in the static tables"
)]
fn UserFields<T>(user: Option<DirUser>, result: Signal<Option<Result<T, ApiError>>>) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
{
    let value = {
        let user = user.clone();
        move |name: &str| -> String {
            let Some(u) = &user else {
                return String::new();
            };
            match name {
                "userPrincipalName" => u.upn.clone(),
                "displayName" => u.display_name.clone(),
                "mail" => u.mail.clone(),
                "manager" => u.manager.as_ref().map(|m| m.detail.clone()).unwrap_or_default(),
                other => u.attrs.get(other).cloned().unwrap_or_default(),
            }
        }
    };
    let enabled = user.as_ref().is_none_or(|u| u.account_enabled);
    let field = {
        let value = value.clone();
        move |a: &'static AttrDef, required: bool| {
            let id = format!("attr-{}", a.name);
            let name = format!("attrs[{}]", a.name);
            let err = invalid(result, a.name);
            view! {
                <div class="field">
                    <label for=id.clone()>{a.label}{required.then_some(" (required)")}</label>
                    <input id=id name=name type="text" value=value(a.name) maxlength=a.max.to_string()
                        required=required aria-invalid=err />
                    <FieldError value=result field=a.name />
                </div>
            }
        }
    };
    let core = |n: &str| {
        CORE_USER_ATTRS
            .iter()
            .find(|a| a.name == n)
            .expect("core attribute")
    };
    let other = |n: &str| USER_ATTRS.iter().find(|a| a.name == n).expect("attribute");
    let group = |names: &[&'static str]| names.iter().map(|n| field(other(n), false)).collect_view();
    let manager_err = Signal::derive(invalid(result, "manager"));
    view! {
        <fieldset>
            <legend>"Identity"</legend>
            <div class="grid-2">
                {field(core("userPrincipalName"), true)}
                {field(core("displayName"), true)}
                {group(&["givenName", "surname"])}
                {field(core("mail"), false)}
                {group(&["mailNickname"])}
            </div>
        </fieldset>
        <fieldset>
            <legend>"Job information"</legend>
            <div class="grid-2">
                {group(&["jobTitle", "department", "companyName", "employeeId", "officeLocation"])}
                <div class="field">
                    <label for="attr-manager">"Manager (user principal name)"</label>
                    <PrincipalPicker id="attr-manager" name="attrs[manager]" value=value("manager")
                        placeholder="start typing a name" invalid=manager_err />
                    <FieldError value=result field="manager" />
                </div>
            </div>
        </fieldset>
        <fieldset>
            <legend>"Contact information"</legend>
            <div class="grid-2">
                {group(&["streetAddress", "city", "state", "postalCode", "country", "telephoneNumber", "mobile", "facsimileTelephoneNumber", "preferredLanguage"])}
            </div>
        </fieldset>
        <fieldset>
            <legend>"Settings"</legend>
            <div class="field">
                <label for="attr-accountEnabled">"Account enabled"</label>
                <select id="attr-accountEnabled" name="attrs[accountEnabled]">
                    <option value="true" selected=enabled>"Yes"</option>
                    <option value="false" selected=!enabled>"No"</option>
                </select>
            </div>
        </fieldset>
        <details class="card-details">
            <summary>"Extension attributes 1–15"</summary>
            <div class="grid-3">
                {USER_ATTRS
                    .iter()
                    .filter(|a| a.name.starts_with("extensionAttribute"))
                    .map(|a| field(a, false))
                    .collect_view()}
            </div>
        </details>
    }
}

#[component]
pub fn NewUserPage() -> impl IntoView {
    let create = ServerAction::<CreateUser>::new();
    let result = Signal::derive(move || create.value().get());
    view! {
        <Title text="New user" />
        <h1>"New user"</h1>
        <p><a href="/directory/users">"← Users"</a></p>
        <section class="card">
            <ActionForm action=create attr:class="form">
                <CsrfField />
                <ActionError value=result />
                <UserFields user=None result />
                <div class="form-actions">
                    <button type="submit" class="btn btn-primary" disabled=move || create.pending().get()>"Create user"</button>
                    <a class="btn btn-quiet" href="/directory/users">"Cancel"</a>
                </div>
            </ActionForm>
        </section>
    }
}

#[component]
pub fn UserPage() -> impl IntoView {
    let id = route_param("user");
    let update = ServerAction::<UpdateUser>::new();
    let enable = ServerAction::<SetUserEnabled>::new();
    let delete = ServerAction::<DeleteUser>::new();
    let restore = ServerAction::<RestoreUser>::new();
    let purge = ServerAction::<PurgeUser>::new();
    let user = Resource::new(
        move || {
            (
                id.get(),
                update.version().get(),
                enable.version().get(),
                restore.version().get(),
            )
        },
        |(id, _, _, _)| get_user(id),
    );
    let admin = super::super::use_session().is_admin();
    let saved = Signal::derive(move || update.value().get());
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match user.await {
                    Err(e) => view! { <p><a href="/directory/users">"← Users"</a></p><ErrorText error=e /> }.into_any(),
                    Ok(u) => {
                        let deleted = u.deleted_at.is_some();
                        let uid = u.id.clone();
                        view! {
                            <Title text=u.display_name.clone() />
                            <p><a href=if deleted { "/directory/deleted-users" } else { "/directory/users" }>
                                {if deleted { "← Deleted users" } else { "← Users" }}
                            </a></p>
                            <h1>{u.display_name.clone()}</h1>
                            <p class="muted mono">{u.upn.clone()}" · objectId "{u.id.clone()}</p>
                            {deleted.then(|| view! {
                                <p class="alert alert-warn" role="status">
                                    {format!("Deleted {}. It will be deleted permanently on {}.",
                                        u.deleted_at.as_deref().map(when).unwrap_or_default(),
                                        u.purge_at.as_deref().map(when).unwrap_or_default())}
                                </p>
                            })}
                            <ActionError value=Signal::derive(move || enable.value().get()) />
                            <ActionError value=Signal::derive(move || delete.value().get()) />
                            <ActionError value=Signal::derive(move || restore.value().get()) />
                            <ActionError value=Signal::derive(move || purge.value().get()) />
                            {(admin).then(|| {
                                let (a, b, c, d) = (uid.clone(), uid.clone(), uid.clone(), uid.clone());
                                let a2 = a.clone();
                                let enabled = u.account_enabled;
                                view! {
                                    <div class="actions">
                                        {(!deleted).then(|| view! {
                                            {(!enabled).then(|| view! {
                                                <ActionForm action=enable attr:class="inline">
                                                    <CsrfField />
                                                    <input type="hidden" name="id" value=a.clone() />
                                                    <input type="hidden" name="enabled" value="true" />
                                                    <button type="submit" class="btn">"Enable sign-in"</button>
                                                </ActionForm>
                                            })}
                                            {enabled.then(|| view! {
                                                <Confirm
                                                    id="disable-user".to_string()
                                                    label="Disable sign-in"
                                                    title=format!("Disable sign-in for {}", u.display_name)
                                                    consequence="Applications provisioned from this directory disable the account at their next cycle (a few seconds with provisioning On): the person can no longer sign in to them. Enabling sign-in again restores it."
                                                >
                                                    <ActionForm action=enable attr:class="inline">
                                                        <CsrfField />
                                                        <input type="hidden" name="id" value=a2.clone() />
                                                        <input type="hidden" name="enabled" value="false" />
                                                        <button type="submit" class="btn btn-danger">"Disable sign-in"</button>
                                                    </ActionForm>
                                                </Confirm>
                                            })}
                                            <Confirm
                                                id="delete-user".to_string()
                                                label="Delete"
                                                title=format!("Delete {}", u.display_name)
                                                consequence="The user moves to Deleted users for 30 days (restore brings everything back). Applications provisioned from this directory disable or delete the account at their next cycle, as their deprovisioning settings say."
                                            >
                                                <ActionForm action=delete attr:class="inline">
                                                    <CsrfField />
                                                    <input type="hidden" name="id" value=b />
                                                    <button type="submit" class="btn btn-danger">"Delete user"</button>
                                                </ActionForm>
                                            </Confirm>
                                        })}
                                        {deleted.then(|| view! {
                                            <ActionForm action=restore attr:class="inline">
                                                <CsrfField />
                                                <input type="hidden" name="id" value=c />
                                                <button type="submit" class="btn">"Restore"</button>
                                            </ActionForm>
                                            <Confirm
                                                id="purge-user".to_string()
                                                label="Delete permanently"
                                                title=format!("Delete {} permanently", u.display_name)
                                                consequence=PURGE_CONSEQUENCE
                                            >
                                                <ActionForm action=purge attr:class="inline">
                                                    <CsrfField />
                                                    <input type="hidden" name="id" value=d />
                                                    <button type="submit" class="btn btn-danger">"Delete permanently"</button>
                                                </ActionForm>
                                            </Confirm>
                                        })}
                                    </div>
                                }
                            })}
                            <UserFacts user=u.clone() />
                            {(admin && !deleted).then(|| view! {
                                <section class="card">
                                    <h2>"Edit properties"</h2>
                                    <ActionForm action=update attr:class="form">
                                        <CsrfField />
                                        <input type="hidden" name="id" value=uid.clone() />
                                        <ActionError value=saved />
                                        {move || saved.get().and_then(|r| r.ok()).map(|_| view! {
                                            <p class="alert alert-ok" role="status">"Saved."</p>
                                        })}
                                        <UserFields user=Some(u.clone()) result=saved />
                                        <div class="form-actions">
                                            <button type="submit" class="btn btn-primary">"Save"</button>
                                        </div>
                                    </ActionForm>
                                </section>
                            })}
                        }
                            .into_any()
                    }
                }
            })}
        </Suspense>
    }
}

#[component]
fn UserFacts(user: DirUser) -> impl IntoView {
    let u = user;
    let attrs = u
        .attrs
        .iter()
        .map(|(k, v)| {
            let label = crate::model::user_attr(k).map(|a| a.label).unwrap_or("?");
            view! { <dt>{label}</dt><dd>{v.clone()}</dd> }
        })
        .collect_view();
    view! {
        <div class="cards">
            <section class="card">
                <h2>"Overview"</h2>
                <dl class="facts">
                    <dt>"Account"</dt><dd>{if u.account_enabled { "Enabled" } else { "Disabled" }}</dd>
                    <dt>"Email"</dt><dd>{u.mail.clone()}</dd>
                    <dt>"Manager"</dt>
                    <dd>{u.manager.clone().map(|m| view! { <a href=format!("/directory/users/{}", m.id)>{m.name}</a> })}</dd>
                    {attrs}
                    <dt>"Created"</dt><dd><When at=u.created_at.clone() /></dd>
                    <dt>"Changed"</dt><dd><When at=u.updated_at.clone() /></dd>
                </dl>
            </section>
            <section class="card">
                <h2>"Groups"</h2>
                {if u.groups.is_empty() { Some(view! { <p class="muted">"Not a member of any group."</p> }) } else { None }}
                <ul class="plain">
                    {u.groups.iter().map(|g| view! { <li><a href=format!("/directory/groups/{}", g.id)>{g.name.clone()}</a></li> }).collect_view()}
                </ul>
                <h2>"Applications"</h2>
                {if u.assignments.is_empty() { Some(view! { <p class="muted">"Not assigned to any application directly."</p> }) } else { None }}
                <ul class="plain">
                    {u.assignments.iter().map(|a| view! {
                        <li><a href=format!("/apps/{}/users-and-groups", a.app_id)>{a.app_name.clone()}</a>
                            {(!a.role.is_empty()).then(|| format!(" · {}", a.role))}</li>
                    }).collect_view()}
                </ul>
                <h2>"Direct reports"</h2>
                {if u.reports.is_empty() { Some(view! { <p class="muted">"None."</p> }) } else { None }}
                <ul class="plain">
                    {u.reports.iter().map(|r| view! { <li><a href=format!("/directory/users/{}", r.id)>{r.name.clone()}</a></li> }).collect_view()}
                </ul>
            </section>
        </div>
    }
}
