use super::super::widgets::{
    query_param, reset_on_success, ActionError, Confirm, CopyField, CsrfField, ErrorText, FieldError, When,
    WhenOr,
};
use super::use_account_id;
use crate::api::access::{
    list_api_keys, list_inheritable_groups, take_new_api_key, CreateApiKey, RevokeApiKey,
};
use crate::model::{ApiKeyInfo, NewApiKey};
use leptos::prelude::*;

#[component]
pub fn ApiKeysTab() -> impl IntoView {
    let me = super::super::use_session();
    let a_id = use_account_id();
    let create = ServerAction::<CreateApiKey>::new();
    let revoke = ServerAction::<RevokeApiKey>::new();
    let created = Signal::derive(move || create.value().get());
    let account = a_id.clone();
    let q = query_param("q");
    let status = query_param("status");
    let keys = Resource::new(
        move || {
            (
                create.version().get(),
                revoke.version().get(),
                q.get(),
                status.get(),
            )
        },
        move |(_, _, q, status)| list_api_keys(account.clone(), q, status),
    );
    let account = a_id.clone();
    let groups = Resource::new(|| (), move |_| list_inheritable_groups(account.clone()));
    // After a form post without JavaScript the new key waits in the session for this one view.
    let is_admin = me.is_admin();
    let flashed = Resource::new(
        || (),
        move |_| async move {
            if is_admin {
                take_new_api_key().await.ok().flatten()
            } else {
                None
            }
        },
    );
    let admin = super::super::use_session().is_admin();
    let account = a_id.clone();
    let form = NodeRef::new();
    reset_on_success(form, created);
    view! {
        {move || created.get().and_then(|r| r.ok()).map(|k| view! { <ShowOnce k /> })}
        <Suspense>
            {move || Suspend::new(async move { flashed.await.map(|k| view! { <ShowOnce k /> }) })}
        </Suspense>
        {admin
            .then(|| {
                view! {
                    <section class="card">
                        <h2>"Add API Key"</h2>
                        <ActionForm action=create node_ref=form attr:class="form">
                            <CsrfField />
                            <input type="hidden" name="account" value=a_id.clone() />
                            <ActionError value=created />
                            <div class="field">
                                <label for="key-name">"Name"</label>
                                <input id="key-name" name="name" type="text" required maxlength="100" autocomplete="off"
                                    placeholder="e.g. Microsoft Entra ID" />
                                <FieldError value=created field="name" />
                            </div>
                            <fieldset class="field">
                                <legend>"Permissions Inherited from"</legend>
                                <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                                    {move || Suspend::new(async move {
                                        let list = groups.await.unwrap_or_default();
                                        list.into_iter()
                                            .map(|g| {
                                                let id = format!("inherit-{}", g.id);
                                                let builtin = g.source == crate::model::GroupSource::BuiltIn;
                                                view! {
                                                    <div class="check">
                                                        <input type="checkbox" id=id.clone() name="groups[]" value=g.id.clone() checked=builtin />
                                                        <label for=id>
                                                            {g.name.clone()}
                                                            <span class="muted">{format!(" ({})", g.role.label())}</span>
                                                        </label>
                                                    </div>
                                                }
                                            })
                                            .collect_view()
                                    })}
                                </Suspense>
                                <p class="hint">"The key may do what any of these groups' roles allow. SCIM writes need Account Admin."</p>
                                <FieldError value=created field="groups" />
                            </fieldset>
                            <div class="field">
                                <label for="key-expiry">"Expires"</label>
                                <select id="key-expiry" name="expires_in_days">
                                    <option value="">"Never"</option>
                                    <option value="30">"In 30 days"</option>
                                    <option value="90">"In 90 days"</option>
                                    <option value="365">"In a year"</option>
                                </select>
                                <FieldError value=created field="expires" />
                            </div>
                            <div class="field field-action">
                                <button type="submit" class="btn btn-primary" disabled=move || create.pending().get()>
                                    "Add API Key"
                                </button>
                            </div>
                        </ActionForm>
                    </section>
                }
            })}
        <section class="card">
            <h2>"API keys"</h2>
            <form method="get" class="form form-row filters">
                <div class="field">
                    <label for="key-search">"Search"</label>
                    <input id="key-search" name="q" type="search" value=move || q.get()
                        placeholder="part of a name, prefix or group" />
                </div>
                <div class="field">
                    <label for="key-status">"Status"</label>
                    <select id="key-status" name="status">
                        <option value="" selected=move || status.get().is_empty()>"Any"</option>
                        <option value="active" selected=move || status.get() == "active">"Active"</option>
                        <option value="inactive" selected=move || status.get() == "inactive">"Revoked or expired"</option>
                    </select>
                </div>
                <div class="field field-action">
                    <button type="submit" class="btn">"Apply"</button>
                </div>
            </form>
            <ActionError value=Signal::derive(move || revoke.value().get()) />
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {
                    let account = account.clone();
                    move || {
                        let account = account.clone();
                        Suspend::new(async move {
                            match keys.await {
                                Err(e) => view! { <ErrorText error=e /> }.into_any(),
                                Ok(list) if list.is_empty() && q.get_untracked().is_empty() && status.get_untracked().is_empty() => {
                                    view! { <p class="empty">"No API keys yet. Add one above and give it to the identity provider with the tenant URL."</p> }.into_any()
                                }
                                Ok(list) if list.is_empty() => view! { <p class="empty">"No key matches. " <a href="?">"Clear the search"</a> "."</p> }.into_any(),
                                Ok(list) => view! { <KeyTable list account admin revoke /> }.into_any(),
                            }
                        })
                    }
                }
            </Suspense>
        </section>
    }
}

/// The new key, shown this once next to the tenant URL.
#[component]
fn ShowOnce(k: NewApiKey) -> impl IntoView {
    view! {
        <section class="card card-highlight" aria-labelledby="new-key-title">
            <h2 id="new-key-title">{format!("API key {} created", k.name)}</h2>
            <p class="alert alert-warn" role="alert">
                "Copy the key now. It is not stored and will not be shown again; if it is lost, add a new key and revoke this one."
            </p>
            <CopyField label="API key (secret token)" id="new-api-key" value=k.key />
            <CopyField label="Tenant URL" id="new-key-tenant-url" value=k.tenant_url />
        </section>
    }
}

#[component]
fn KeyTable(
    list: Vec<ApiKeyInfo>,
    account: String,
    admin: bool,
    revoke: ServerAction<RevokeApiKey>,
) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table>
                <thead>
                    <tr>
                        <th scope="col">"Name"</th>
                        <th scope="col">"Prefix"</th>
                        <th scope="col">"Permissions inherited from"</th>
                        <th scope="col">"Created"</th>
                        <th scope="col">"Last used"</th>
                        <th scope="col">"Expires"</th>
                        <th scope="col">"Status"</th>
                        {admin.then(|| view! { <th scope="col">"Actions"</th> })}
                    </tr>
                </thead>
                <tbody>
                    {list
                        .into_iter()
                        .map(|k| {
                            let status = k.status.clone();
                            let (acc, kid) = (account.clone(), k.id.clone());
                            let form = if admin && status == "Active" {
                                Some(view! {
                                    <Confirm
                                        id=format!("revoke-{kid}")
                                        label="Revoke"
                                        title=format!("Revoke the key {}", k.name)
                                        consequence="Every client that uses this key (the identity provider provisioning into this account) is refused from the next request on. This cannot be undone: to reconnect it, add a new key and give it to the client."
                                    >
                                        <ActionForm action=revoke attr:class="inline">
                                            <CsrfField />
                                            <input type="hidden" name="account" value=acc />
                                            <input type="hidden" name="key" value=kid.clone() />
                                            <button type="submit" class="btn btn-danger">"Revoke key"</button>
                                        </ActionForm>
                                    </Confirm>
                                })
                            } else {
                                None
                            };
                            let actions = admin.then(|| view! { <td class="actions">{form}</td> });
                            let class = match status.as_str() {
                                "Active" => "status status-success",
                                _ => "status status-failure",
                            };
                            view! {
                                <tr data-key=k.name.clone()>
                                    <th scope="row">{k.name.clone()}</th>
                                    <td class="mono">{format!("{}…", k.prefix)}</td>
                                    <td>{k.groups.join(", ")}</td>
                                    <td class="nowrap"><When at=k.created_at.clone() /> <span class="muted">{format!(" by {}", k.created_by)}</span></td>
                                    <td class="nowrap"><WhenOr at=k.last_used_at.clone() none="Never" /></td>
                                    <td class="nowrap"><WhenOr at=k.expires_at.clone() none="Never" /></td>
                                    <td><span class=class>{status.clone()}</span></td>
                                    {actions}
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
}
