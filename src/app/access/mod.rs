//! Access Management: SCIM accounts (tenant URL), their user groups, API keys, and the users and
//! groups identity providers have provisioned into them.

mod keys;
mod resources;
mod user_groups;

pub use keys::ApiKeysTab;
pub use resources::{GroupDetail, UserDetail, UsersTab};
pub use user_groups::UserGroupsTab;

use super::widgets::{
    invalid, query_param, urlencode, ActionError, CopyField, CsrfField, ErrorText, FieldError, Pager, When,
};
use crate::api::access::{get_account, list_accounts, CreateAccount};
use crate::model::{page_status, AccountSummary, ACCOUNT_PAGE};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{Outlet, A};
use leptos_router::hooks::use_params_map;

/// The account id of the page, from the URL. While the router moves between two pages of the
/// same account the parameter can be missing for a moment; the last id is kept then, so the
/// account is not fetched again (and not reported missing).
pub fn account_id() -> Memo<String> {
    let params = use_params_map();
    Memo::new(move |prev: Option<&String>| {
        params
            .with(|p| p.get("account"))
            .filter(|id| !id.is_empty())
            .or_else(|| prev.cloned())
            .unwrap_or_default()
    })
}

#[component]
pub fn AccountsPage() -> impl IntoView {
    let me = super::use_session();
    let create = ServerAction::<CreateAccount>::new();
    let created = Signal::derive(move || create.value().get());
    let q = query_param("q");
    let page_no = query_param("page");
    let accounts = Resource::new(
        move || {
            (
                create.version().get(),
                q.get(),
                page_no.get().parse::<u32>().unwrap_or(0),
            )
        },
        |(_, q, p)| list_accounts(q, p),
    );
    view! {
        <Title text="Accounts" />
        <h1>"Accounts"</h1>
        <p class="lead">
            "Each account is a SCIM 2.0 endpoint that identity providers (Microsoft Entra ID, Okta, or Provisio's own provisioning) provision users and groups into. Give the provider the account's tenant URL and an API key."
        </p>
        {me
            .is_admin()
            .then(|| {
                view! {
                    <section class="card">
                        <h2>"Create an account"</h2>
                        <ActionForm action=create attr:class="form form-row">
                            <CsrfField />
                            <ActionError value=created />
                            <div class="field">
                                <label for="account-name">"Name"</label>
                                <input id="account-name" name="name" type="text" required maxlength="100"
                                    autocomplete="off" aria-invalid=invalid(created, "name") />
                                <FieldError value=created field="name" />
                            </div>
                            <div class="field field-action">
                                <button type="submit" class="btn btn-primary" disabled=move || create.pending().get()>
                                    "Create account"
                                </button>
                            </div>
                            {move || {
                                created.get().and_then(|r| r.ok()).map(|id| {
                                    view! {
                                        <p class="alert alert-ok" role="status">
                                            "Account created. "
                                            <a href=format!("/access/accounts/{id}")>"Open it"</a>
                                            " to copy its tenant URL and add an API key."
                                        </p>
                                    }
                                })
                            }}
                        </ActionForm>
                    </section>
                }
            })}
        <section class="card">
            <h2>"All accounts"</h2>
            <form method="get" action="/access/accounts" class="form form-row filters">
                <div class="field">
                    <label for="account-search">"Search"</label>
                    <input id="account-search" name="q" type="search" maxlength="200" value=move || q.get() placeholder="part of a name or id" />
                </div>
                <div class="field field-action">
                    <button type="submit" class="btn">"Search"</button>
                </div>
            </form>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match accounts.await {
                        Err(e) => view! { <ErrorText error=e /> }.into_any(),
                        Ok(p) if p.total == 0 && q.get_untracked().is_empty() => {
                            view! { <p class="empty">"No accounts yet. Create one above to give an identity provider a tenant URL."</p> }.into_any()
                        }
                        Ok(p) if p.total == 0 => view! {
                            <p class="empty">"No account matches. " <a href="/access/accounts">"Clear the search"</a> "."</p>
                        }.into_any(),
                        Ok(p) => {
                            let qv = q.get_untracked();
                            let href = move |n: i64| match qv.is_empty() {
                                true => format!("/access/accounts?page={n}"),
                                false => format!("/access/accounts?page={n}&q={}", urlencode(&qv)),
                            };
                            let n = p.offset / ACCOUNT_PAGE;
                            let shown = p.rows.len() as i64;
                            let prev = (n > 0).then(|| href(n - 1));
                            let next = (p.offset + shown < p.total).then(|| href(n + 1));
                            let status = page_status(p.total, p.offset, shown, "account", "accounts");
                            view! {
                                <p class="muted" role="status">{status}</p>
                                <AccountTable list=p.rows />
                                <Pager prev next />
                            }.into_any()
                        }
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn AccountTable(list: Vec<AccountSummary>) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table>
                <thead>
                    <tr>
                        <th scope="col">"Name"</th>
                        <th scope="col">"Account id"</th>
                        <th scope="col" class="num">"Users"</th>
                        <th scope="col" class="num">"User groups"</th>
                        <th scope="col" class="num">"Active API keys"</th>
                        <th scope="col">"Created"</th>
                    </tr>
                </thead>
                <tbody>
                    {list
                        .into_iter()
                        .map(|a| {
                            view! {
                                <tr data-account=a.id.clone()>
                                    <th scope="row">
                                        <a href=format!("/access/accounts/{}", a.id)>{a.name.clone()}</a>
                                    </th>
                                    <td class="mono">{a.id.clone()}</td>
                                    <td class="num">{a.users}</td>
                                    <td class="num">{a.groups}</td>
                                    <td class="num">{a.active_keys}</td>
                                    <td class="nowrap"><When at=a.created_at.clone() /></td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// What every tab of an account gets from [`AccountLayout`].
#[derive(Clone, Copy)]
pub struct AccountCtx {
    pub id: Memo<String>,
    pub summary: Resource<Result<AccountSummary, crate::api::ApiError>>,
}

/// The id of the account the page is about.
pub fn use_account_id() -> String {
    expect_context::<AccountCtx>().id.get_untracked()
}

/// The frame of one account: its name, tabs, and the tab's content. The tab (the `Outlet`) sits
/// outside the Suspense that waits for the account, so its own resources are created during
/// hydration exactly as they were on the server.
#[component]
pub fn AccountLayout() -> impl IntoView {
    let id = account_id();
    let summary = Resource::new(move || id.get(), get_account);
    provide_context(AccountCtx { id, summary });
    let base = move || format!("/access/accounts/{}", id.get());
    view! {
        <p class="crumbs"><a href="/access/accounts">"Accounts"</a> " / "</p>
        <Suspense fallback=|| view! { <h1>"Account"</h1> }>
            {move || Suspend::new(async move {
                match summary.await {
                    Err(e) => {
                        #[cfg(feature = "ssr")]
                        if matches!(e, crate::api::ApiError::NotFound(_)) {
                            if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
                                res.set_status(axum::http::StatusCode::NOT_FOUND);
                            }
                        }
                        view! {
                            <Title text="Account" />
                            <h1>"Account"</h1>
                            <ErrorText error=e />
                        }
                            .into_any()
                    }
                    Ok(a) => view! {
                        <Title text=a.name.clone() />
                        <h1>{a.name.clone()}</h1>
                    }
                        .into_any(),
                }
            })}
        </Suspense>
        <nav class="tabs" aria-label="Account">
            <A href=base exact=true>"Overview"</A>
            <A href=move || format!("{}/user-groups", base())>"User groups"</A>
            <A href=move || format!("{}/api-keys", base())>"API keys"</A>
            <A href=move || format!("{}/users", base())>"Users"</A>
        </nav>
        <Outlet />
    }
}

#[component]
pub fn AccountOverview() -> impl IntoView {
    let summary = expect_context::<AccountCtx>().summary;
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move { summary.await.ok().map(|a| view! { <OverviewCards a /> }) })}
        </Suspense>
    }
}

#[component]
fn OverviewCards(a: AccountSummary) -> impl IntoView {
    view! {
        <section class="card">
            <h2>"Connect an identity provider"</h2>
            <CopyField label="Tenant URL" id="tenant-url" value=a.tenant_url.clone() />
            <ol class="steps">
                <li>
                    "In " <a href=format!("/access/accounts/{}/api-keys", a.id)>"API keys"</a>
                    ", add a key that inherits permissions from "
                    <strong>"Account Administrators"</strong> " (writing users and groups needs Account Admin)."
                </li>
                <li>
                    "In the identity provider's provisioning settings, enter the tenant URL above and the key as the secret token, then test the connection."
                </li>
                <li>"Users and groups appear under " <a href=format!("/access/accounts/{}/users", a.id)>"Users"</a> " as they are provisioned."</li>
            </ol>
            <p class="hint">
                "The same endpoint also answers at "
                <span class="mono">{a.tenant_url.replace("/gateway/api/", "/gateway/ng/api/")}</span> "."
            </p>
        </section>
        <section class="card">
            <h2>"Summary"</h2>
            <dl class="facts">
                <dt>"Account id"</dt>
                <dd class="mono">{a.id.clone()}</dd>
                <dt>"Users"</dt>
                <dd>{a.users}</dd>
                <dt>"User groups"</dt>
                <dd>{a.groups}</dd>
                <dt>"Active API keys"</dt>
                <dd>{a.active_keys}</dd>
                <dt>"Created"</dt>
                <dd><When at=a.created_at.clone() /></dd>
            </dl>
        </section>
    }
}
