//! An application's Provisioning tab, in the seed's words: Provisioning Mode, Admin Credentials
//! with Test Connection, Mappings (each with its attribute list, Edit attribute page, expression
//! tester and source object scope), Settings and Provisioning Status. Every form posts without
//! JavaScript; buttons named `intent` tell Save from Test.

use super::apps::AppCtx;
use super::widgets::{
    invalid, query_param, route_param, urlencode, ActionError, CsrfField, ErrorText, FieldError,
    PrincipalPicker,
};
use crate::api::provisioning::{
    get_provisioning, take_on_demand_group_reports, take_on_demand_report, take_provisioning_outcome,
    AddScopingClause, DeleteAttribute, DeleteScopingClause, ProvisionGroupOnDemand, ProvisionOnDemand,
    RestoreDefaultMappings, SaveAttribute, SaveObjectMapping, SaveOutcome, SaveProvisioning,
    INITIAL_CYCLE_NOTE,
};
use crate::api::ApiError;
use crate::model::{AttributeMapping, ConnectionResult, ExpressionTest, ProvisionReport, ProvisioningView};
use leptos::prelude::*;

const OPERATORS: [&str; 14] = [
    "EQUALS",
    "NOT EQUALS",
    "IS TRUE",
    "IS FALSE",
    "IS NULL",
    "IS NOT NULL",
    "REGEX MATCH",
    "NOT REGEX MATCH",
    "Includes",
    "ENDS_WITH",
    "Greater_Than",
    "Greater_Than_OR_EQUALS",
    "&",
    "!&",
];

/// SCIM targets offered in the Edit attribute page's list (any valid path can be typed).
const TARGET_SUGGESTIONS: [&str; 24] = [
    "userName",
    "active",
    "displayName",
    "title",
    "emails[type eq \"work\"].value",
    "preferredLanguage",
    "name.givenName",
    "name.familyName",
    "name.formatted",
    "addresses[type eq \"work\"].formatted",
    "addresses[type eq \"work\"].streetAddress",
    "addresses[type eq \"work\"].locality",
    "addresses[type eq \"work\"].region",
    "addresses[type eq \"work\"].postalCode",
    "addresses[type eq \"work\"].country",
    "phoneNumbers[type eq \"work\"].value",
    "phoneNumbers[type eq \"mobile\"].value",
    "phoneNumbers[type eq \"fax\"].value",
    "externalId",
    "roles",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
    "members",
];

fn object_label(object: &str) -> &'static str {
    if object == "group" {
        "groups"
    } else {
        "users"
    }
}

fn kind_label(kind: &str) -> &'static str {
    match kind {
        "direct" => "Direct",
        "constant" => "Constant",
        "expression" => "Expression",
        _ => "None",
    }
}

/// The app's name for headings ("Synchronize users to Harness").
fn app_name(ctx: AppCtx) -> Signal<String> {
    Signal::derive(move || {
        ctx.detail
            .get()
            .and_then(|d| d.ok())
            .map(|d| d.summary.name)
            .unwrap_or_default()
    })
}

/// A counter that moves each time an action succeeds with a value `counts` accepts: resources
/// keyed on it reload after a change, while a failed submission keeps the form as typed.
pub(super) fn successes<T: Clone + Send + Sync + 'static>(
    value: Signal<Option<Result<T, ApiError>>>,
    counts: impl Fn(&T) -> bool + 'static,
) -> ReadSignal<u32> {
    let (n, set_n) = signal(0u32);
    Effect::new(move |_| {
        if let Some(Ok(v)) = value.get() {
            if counts(&v) {
                set_n.update(|n| *n += 1);
            }
        }
    });
    n
}

/// The action's result, or before the first submission on this page what a plain form post
/// (without JavaScript) flashed for it.
pub(super) fn with_flashed<T>(
    value: Signal<Option<Result<T, ApiError>>>,
    flashed: Resource<Result<Option<T>, ApiError>>,
) -> Signal<Option<Result<T, ApiError>>>
where
    T: Clone + Send + Sync + serde::Serialize + serde::de::DeserializeOwned + 'static,
{
    Signal::derive(move || {
        value
            .get()
            .or_else(|| flashed.get().and_then(|r| r.ok()).flatten().map(Ok))
    })
}

fn outcome_message(v: Signal<Option<Result<SaveOutcome, ApiError>>>) -> impl IntoView {
    move || {
        v.get().and_then(|r| r.ok()).and_then(|o| {
            (o.connection.is_none() && o.expression.is_none())
                .then(|| view! { <p class="alert alert-ok" role="status">{o.message}</p> })
        })
    }
}

fn string_message(v: Signal<Option<Result<String, ApiError>>>) -> impl IntoView {
    move || {
        v.get()
            .and_then(|r| r.ok())
            .map(|m| view! { <p class="alert alert-ok" role="status">{m}</p> })
    }
}

#[component]
fn Connection(result: ConnectionResult) -> impl IntoView {
    let class = if result.ok {
        "alert alert-ok connection"
    } else {
        "alert alert-error connection"
    };
    view! {
        <div class=class role="status" data-connection=if result.ok { "ok" } else { "failed" }>
            <p><strong>{if result.ok { "Testing connection: success. " } else { "Testing connection: failed. " }}</strong>{result.summary.clone()}</p>
            {result.status.map(|s| view! { <p>"HTTP status: "{s}</p> })}
            {(!result.detail.is_empty()).then(|| view! { <p>"Details from the application: "<span class="mono">{result.detail.clone()}</span></p> })}
            {(!result.hint.is_empty()).then(|| view! { <p>{result.hint.clone()}</p> })}
            <p class="muted">{format!("{} ms", result.elapsed_ms)}</p>
        </div>
    }
}

#[component]
pub fn ProvisioningPage() -> impl IntoView {
    let ctx = expect_context::<AppCtx>();
    let save = ServerAction::<SaveProvisioning>::new();
    let flashed = Resource::new(|| (), |_| take_provisioning_outcome());
    let result = with_flashed(Signal::derive(move || save.value().get()), flashed);
    // Test Connection must keep what the admin typed: only a save reloads the form. A reload
    // rebuilds the form in place, which keeps typed values, so the token field is cleared by hand.
    let reload = successes(result, |o: &SaveOutcome| o.connection.is_none());
    let view_data = Resource::new(
        move || (ctx.id.get(), reload.get()),
        |(id, _)| get_provisioning(id),
    );
    let admin = super::use_session().is_admin();
    let name = app_name(ctx);
    view! {
        <super::sync_details::SyncDetailsPanel />
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let _ = flashed.await;
                match view_data.await {
                    Err(e) => view! { <ErrorText error=e /> }.into_any(),
                    Ok(v) => provisioning_form(ctx, v, save, result, reload, admin, name).into_any(),
                }
            })}
        </Suspense>
    }
}

fn provisioning_form(
    ctx: AppCtx,
    v: ProvisioningView,
    save: ServerAction<SaveProvisioning>,
    result: Signal<Option<Result<SaveOutcome, ApiError>>>,
    reload: ReadSignal<u32>,
    admin: bool,
    name: Signal<String>,
) -> impl IntoView {
    let id = ctx.id.get_untracked();
    let c = v.config.clone();
    let s = c.settings.clone();
    let hint = ctx
        .detail
        .get_untracked()
        .and_then(|d| d.ok())
        .map(|d| d.tenant_url_hint)
        .unwrap_or_default();
    let token_placeholder = if v.token_set {
        "Saved. Type a new token to replace it."
    } else {
        ""
    };
    let automatic = c.mode == "automatic";
    let on = s.provisioning_status == "on";
    let link_id = id.clone();
    let mapping_link = move |object: &'static str| {
        let href = format!("/apps/{link_id}/provisioning/{object}");
        view! { <li><a href=href>{move || format!("Synchronize {} to {}", object_label(object), name.get())}</a></li> }
    };
    view! {
        <ActionForm action=save attr:class="form provisioning" attr:id="provisioning-form">
            <CsrfField />
            <input type="hidden" name="app" value=id.clone() />
            {admin.then(|| view! {
                <div class="form-actions top">
                    <button type="submit" name="intent" value="save" class="btn btn-primary" disabled=move || save.pending().get()>"Save"</button>
                </div>
            })}
            <ActionError value=result />
            {outcome_message(result)}
            {v.needs_initial_cycle.then(|| view! {
                <p class="alert alert-info">"Mappings or scoping filters changed since the last initial cycle: the next cycle is an initial cycle."</p>
            })}
            <fieldset disabled=!admin>
                <div class="field">
                    <label for="mode">"Provisioning Mode"</label>
                    <select id="mode" name="mode" aria-invalid=invalid(result, "mode")>
                        <option value="manual" selected=!automatic>"Manual"</option>
                        <option value="automatic" selected=automatic>"Automatic"</option>
                    </select>
                    <FieldError value=result field="mode" />
                </div>
            </fieldset>
            <fieldset disabled=!admin>
                <legend>"Admin Credentials"</legend>
                <p class="muted">{move || format!("Admin credentials are required for Provisio to connect to {}'s SCIM endpoint.", name.get())}</p>
                <div class="field">
                    <label for="tenant_url">"Tenant URL"</label>
                    <input id="tenant_url" name="tenant_url" type="text" inputmode="url" class="mono" value=c.tenant_url.clone()
                        placeholder=hint spellcheck="false" aria-invalid=invalid(result, "tenant_url") />
                    <FieldError value=result field="tenant_url" />
                </div>
                <div class="field">
                    <label for="secret_token">"Secret Token"</label>
                    <input id="secret_token" name="secret_token" type="password" autocomplete="new-password"
                        prop:value=move || { reload.track(); String::new() }
                        placeholder=token_placeholder aria-invalid=invalid(result, "secret_token") />
                    <FieldError value=result field="secret_token" />
                </div>
                {admin.then(|| view! {
                    <button type="submit" name="intent" value="test" class="btn" disabled=move || save.pending().get()>"Test Connection"</button>
                })}
                {move || result.get().and_then(|r| r.ok()).and_then(|o| o.connection).map(|c| view! { <Connection result=c /> })}
            </fieldset>
            <fieldset>
                <legend>"Mappings"</legend>
                <ul class="links">
                    {mapping_link("user")}
                    {mapping_link("group")}
                </ul>
            </fieldset>
            <fieldset disabled=!admin>
                <legend>"Settings"</legend>
                <div class="field">
                    <label for="notification_email">"Notification Email"</label>
                    <input id="notification_email" name="notification_email" type="email" value=c.notification_email.clone()
                        aria-invalid=invalid(result, "notification_email") />
                    <FieldError value=result field="notification_email" />
                </div>
                <div class="check">
                    <input type="checkbox" id="notify_on_failure" name="notify_on_failure" value="on" checked=c.notify_on_failure />
                    <label for="notify_on_failure">"Send an email notification when a failure occurs"</label>
                </div>
                <div class="check">
                    <input type="checkbox" id="prevent_deletions" name="prevent_deletions" value="on" checked=s.prevent_accidental_deletions />
                    <label for="prevent_deletions">"Prevent accidental deletions"</label>
                </div>
                <div class="field">
                    <label for="deletion_threshold">"Accidental deletion threshold"</label>
                    <input id="deletion_threshold" name="deletion_threshold" type="number" min="1" value=s.deletion_threshold.to_string()
                        aria-invalid=invalid(result, "deletion_threshold") />
                    <FieldError value=result field="deletion_threshold" />
                </div>
                <div class="check">
                    <input type="checkbox" id="skip_out_of_scope_deletions" name="skip_out_of_scope_deletions" value="on" checked=s.skip_out_of_scope_deletions />
                    <label for="skip_out_of_scope_deletions">"Skip out-of-scope deletions (objects that leave scope are not disabled)"</label>
                </div>
                <div class="field">
                    <label for="scope">"Scope"</label>
                    <select id="scope" name="scope">
                        <option value="assigned" selected=s.scope == "assigned">"Sync only assigned users and groups"</option>
                        <option value="all" selected=s.scope == "all">"Sync all users and groups"</option>
                    </select>
                </div>
                <div class="field">
                    <label for="reconciliation_interval_minutes">"Reconciliation interval (minutes)"</label>
                    <input id="reconciliation_interval_minutes" name="reconciliation_interval_minutes" type="number" min="1" max="1440"
                        value=s.reconciliation_interval_minutes.to_string() aria-invalid=invalid(result, "reconciliation_interval_minutes") />
                    <FieldError value=result field="reconciliation_interval_minutes" />
                    <p class="muted">"How often a reconciliation cycle re-evaluates every object in scope (Entra: about 40 minutes)."</p>
                </div>
                <div class="field">
                    <label for="max_requests_per_second">"Requests per second to the application"</label>
                    <input id="max_requests_per_second" name="max_requests_per_second" type="number" min="0"
                        value=s.max_requests_per_second.to_string() aria-invalid=invalid(result, "max_requests_per_second") />
                    <FieldError value=result field="max_requests_per_second" />
                    <p class="muted">"The most requests provisioning sends to the application each second, for applications that throttle; 0 sends as fast as the application answers (throttling answers are still honoured)."</p>
                </div>
                <fieldset class="provisioning-status">
                    <legend>"Provisioning Status"</legend>
                    <div class="check">
                        <input type="radio" id="status-on" name="provisioning_status" value="on" checked=on />
                        <label for="status-on">"On"</label>
                    </div>
                    <div class="check">
                        <input type="radio" id="status-off" name="provisioning_status" value="off" checked=!on />
                        <label for="status-off">"Off"</label>
                    </div>
                    <FieldError value=result field="provisioning_status" />
                </fieldset>
            </fieldset>
            {admin.then(|| view! {
                <div class="form-actions">
                    <button type="submit" name="intent" value="save" class="btn btn-primary" disabled=move || save.pending().get()>"Save"</button>
                </div>
            })}
        </ActionForm>
    }
}

/// The source column of the attribute list: the attribute, the quoted constant or the expression.
fn source_text(a: &AttributeMapping) -> String {
    match a.kind.as_str() {
        "constant" => format!("\"{}\"", a.source),
        "none" => "—".into(),
        _ => a.source.clone(),
    }
}

#[component]
pub fn MappingPage() -> impl IntoView {
    let ctx = expect_context::<AppCtx>();
    let object = route_param("object");
    let save = ServerAction::<SaveObjectMapping>::new();
    let delete = ServerAction::<DeleteAttribute>::new();
    let restore = ServerAction::<RestoreDefaultMappings>::new();
    let saved = Signal::derive(move || save.value().get());
    let deleted = Signal::derive(move || delete.value().get());
    let restored = Signal::derive(move || restore.value().get());
    let changes = [saved, deleted, restored].map(|v| successes(v, |_| true));
    let data = Resource::new(
        move || (ctx.id.get(), changes.iter().map(|c| c.get()).sum::<u32>()),
        |(id, _)| get_provisioning(id),
    );
    let admin = super::use_session().is_admin();
    let name = app_name(ctx);
    view! {
        <p><a href=move || format!("/apps/{}/provisioning", ctx.id.get())>"← Provisioning"</a></p>
        <h2>{move || format!("Attribute Mapping: Synchronize {} to {}", object_label(&object.get()), name.get())}</h2>
        <p class="alert alert-info">{INITIAL_CYCLE_NOTE}</p>
        <ActionError value=saved />
        <ActionError value=deleted />
        <ActionError value=restored />
        {string_message(saved)}
        {string_message(deleted)}
        {string_message(restored)}
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let v = match data.await {
                    Err(e) => return view! { <ErrorText error=e /> }.into_any(),
                    Ok(v) => v,
                };
                let obj = object.get_untracked();
                let id = ctx.id.get_untracked();
                let Some(m) = v.config.mappings.iter().find(|m| m.object == obj).cloned() else {
                    return view! { <p class="alert alert-error">"There is no such mapping."</p> }.into_any();
                };
                let is_user = obj == "user";
                let scope_text = if m.scoping_filters.is_empty() {
                    "All records".to_string()
                } else {
                    format!("{} scoping filter{}", m.scoping_filters.len(), if m.scoping_filters.len() == 1 { "" } else { "s" })
                };
                let rows = m.attributes.iter().map(|a| {
                    let edit = format!("/apps/{id}/provisioning/{obj}/attribute?target={}", urlencode(&a.target));
                    let (app_id, o, t) = (id.clone(), obj.clone(), a.target.clone());
                    view! {
                        <tr data-target=a.target.clone()>
                            <th scope="row" class="mono">{a.target.clone()}</th>
                            <td>{kind_label(&a.kind)}</td>
                            <td class="mono">{source_text(a)}</td>
                            <td class="mono">{a.default_value.clone()}</td>
                            <td>{(a.matching > 0).then(|| a.matching.to_string())}</td>
                            <td>{if a.apply_on == "create" { "Only during object creation" } else { "Always" }}</td>
                            <td class="row-actions">
                                <a href=edit>{if admin { "Edit" } else { "View" }}</a>
                                {admin.then(|| view! {
                                    <ActionForm action=delete attr:class="inline">
                                        <CsrfField />
                                        <input type="hidden" name="app" value=app_id />
                                        <input type="hidden" name="object" value=o />
                                        <input type="hidden" name="target" value=t.clone() />
                                        <button type="submit" class="btn btn-small btn-danger" aria-label=format!("Delete the mapping of {t}")>"Delete"</button>
                                    </ActionForm>
                                })}
                            </td>
                        </tr>
                    }
                }).collect_view();
                let (id_obj, obj_obj) = (id.clone(), obj.clone());
                let (id_restore, obj_restore) = (id.clone(), obj.clone());
                view! {
                    <section class="card">
                        <h3>"Mapping settings"</h3>
                        <ActionForm action=save attr:class="form">
                            <CsrfField />
                            <input type="hidden" name="app" value=id_obj />
                            <input type="hidden" name="object" value=obj_obj />
                            <fieldset disabled=!admin>
                                <div class="field">
                                    <label for="enabled">"Enabled"</label>
                                    <select id="enabled" name="enabled" disabled=is_user>
                                        <option value="on" selected=m.enabled>"Yes"</option>
                                        <option value="off" selected=!m.enabled>"No"</option>
                                    </select>
                                    {is_user.then(|| view! { <p class="muted">"The users mapping cannot be disabled."</p> })}
                                </div>
                                <p>"Target Object Actions"</p>
                                <div class="check"><input type="checkbox" id="action_create" name="action_create" value="on" checked=m.create /><label for="action_create">"Create"</label></div>
                                <div class="check"><input type="checkbox" id="action_update" name="action_update" value="on" checked=m.update /><label for="action_update">"Update"</label></div>
                                <div class="check"><input type="checkbox" id="action_delete" name="action_delete" value="on" checked=m.delete /><label for="action_delete">"Delete"</label></div>
                            </fieldset>
                            {admin.then(|| view! { <button type="submit" class="btn btn-primary">"Save"</button> })}
                        </ActionForm>
                        <p>"Source Object Scope: "<strong data-scope>{scope_text}</strong>" · "
                            <a href=format!("/apps/{id}/provisioning/{obj}/scoping")>{if admin { "Edit scoping filters" } else { "View scoping filters" }}</a></p>
                    </section>
                    <section class="card">
                        <h3>"Attribute Mappings"</h3>
                        <div class="table-wrap">
                            <table class="mappings">
                                <thead><tr>
                                    <th scope="col">"Target attribute"</th>
                                    <th scope="col">"Mapping type"</th>
                                    <th scope="col">"Source"</th>
                                    <th scope="col">"Default value"</th>
                                    <th scope="col">"Matching precedence"</th>
                                    <th scope="col">"Apply this mapping"</th>
                                    <th scope="col"><span class="sr-only">"Actions"</span></th>
                                </tr></thead>
                                <tbody>{rows}</tbody>
                            </table>
                        </div>
                        {admin.then(|| view! {
                            <div class="form-actions">
                                <a class="btn btn-primary" href=format!("/apps/{id}/provisioning/{obj}/attribute")>"Add New Mapping"</a>
                                <ActionForm action=restore attr:class="inline">
                                    <CsrfField />
                                    <input type="hidden" name="app" value=id_restore />
                                    <input type="hidden" name="object" value=obj_restore />
                                    <button type="submit" class="btn">"Restore default mappings"</button>
                                </ActionForm>
                            </div>
                        })}
                    </section>
                }.into_any()
            })}
        </Suspense>
    }
}

#[component]
pub fn AttributePage() -> impl IntoView {
    let ctx = expect_context::<AppCtx>();
    let object = route_param("object");
    let target = query_param("target");
    let save = ServerAction::<SaveAttribute>::new();
    let flashed = Resource::new(|| (), |_| take_provisioning_outcome());
    let result = with_flashed(Signal::derive(move || save.value().get()), flashed);
    let data = Resource::new(move || ctx.id.get(), get_provisioning);
    let admin = super::use_session().is_admin();
    view! {
        <p><a href=move || format!("/apps/{}/provisioning/{}", ctx.id.get(), object.get())>"← Attribute Mapping"</a></p>
        <h2>{move || if target.get().is_empty() { "Add attribute" } else { "Edit attribute" }}</h2>
        <p class="alert alert-info">{INITIAL_CYCLE_NOTE}</p>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let _ = flashed.await;
                let v = match data.await {
                    Err(e) => return view! { <ErrorText error=e /> }.into_any(),
                    Ok(v) => v,
                };
                let obj = object.get_untracked();
                let original = target.get_untracked();
                let existing = v
                    .config
                    .mappings
                    .iter()
                    .find(|m| m.object == obj)
                    .and_then(|m| m.attributes.iter().find(|a| a.target == original))
                    .cloned();
                if !original.is_empty() && existing.is_none() {
                    return view! { <p class="alert alert-error">{format!("{original} is not mapped.")}</p> }.into_any();
                }
                let a = existing.unwrap_or(AttributeMapping {
                    target: String::new(),
                    kind: "direct".into(),
                    source: String::new(),
                    default_value: String::new(),
                    matching: 0,
                    apply_on: "always".into(),
                });
                let sources = if obj == "group" { v.group_sources.clone() } else { v.user_sources.clone() };
                attribute_form(ctx.id.get_untracked(), obj, original, a, sources, save, result, admin).into_any()
            })}
        </Suspense>
    }
}

#[allow(clippy::too_many_arguments)]
fn attribute_form(
    app: String,
    object: String,
    original: String,
    a: AttributeMapping,
    sources: Vec<String>,
    save: ServerAction<SaveAttribute>,
    result: Signal<Option<Result<SaveOutcome, ApiError>>>,
    admin: bool,
) -> impl IntoView {
    let kinds = ["direct", "constant", "expression", "none"];
    let source_value = if a.kind == "direct" {
        a.source.clone()
    } else {
        String::new()
    };
    let constant = if a.kind == "constant" {
        a.source.clone()
    } else {
        String::new()
    };
    let expression = if a.kind == "expression" {
        a.source.clone()
    } else {
        String::new()
    };
    let is_user = object == "user";
    let precedence_value = if a.matching > 0 {
        a.matching.to_string()
    } else {
        String::new()
    };
    view! {
        <section class="card">
            <ActionForm action=save attr:class="form attribute-form">
                <CsrfField />
                <input type="hidden" name="app" value=app />
                <input type="hidden" name="object" value=object />
                <input type="hidden" name="original" value=original />
                <ActionError value=result />
                {move || result.get().and_then(|r| r.ok()).filter(|o| o.expression.is_none()).map(|o| view! { <p class="alert alert-ok" role="status">{o.message}</p> })}
                <fieldset disabled=!admin>
                    <div class="field">
                        <label for="kind">"Mapping type"</label>
                        <select id="kind" name="kind">
                            {kinds.iter().map(|k| view! { <option value=*k selected=a.kind == *k>{kind_label(k)}</option> }).collect_view()}
                        </select>
                    </div>
                    <div class="field only-direct">
                        <label for="source_attribute">"Source attribute"</label>
                        <select id="source_attribute" name="source_attribute" aria-invalid=invalid(result, "source_attribute")>
                            <option value="" selected=source_value.is_empty()>"Choose an attribute"</option>
                            {sources.iter().map(|s| view! { <option value=s.clone() selected=*s == source_value>{s.clone()}</option> }).collect_view()}
                        </select>
                        <FieldError value=result field="source_attribute" />
                    </div>
                    <div class="field only-constant">
                        <label for="constant">"Constant Value"</label>
                        <input id="constant" name="constant" type="text" value=constant aria-invalid=invalid(result, "constant") />
                        <FieldError value=result field="constant" />
                    </div>
                    <div class="field only-expression">
                        <label for="expression">"Expression"</label>
                        <textarea id="expression" name="expression" class="mono" rows="4" maxlength="10000" spellcheck="false"
                            aria-invalid=invalid(result, "expression")>{expression}</textarea>
                        <FieldError value=result field="expression" />
                        <p class="muted">"For example "<code>"Join(\" \", [givenName], [surname])"</code>". Functions are case sensitive; attributes are written in [brackets]."</p>
                    </div>
                    <div class="field not-none not-constant">
                        <label for="default_value">"Default value if null (optional)"</label>
                        <input id="default_value" name="default_value" type="text" value=a.default_value.clone() />
                        <p class="muted">"Used only when an object is created."</p>
                    </div>
                    <div class="field">
                        <label for="target">"Target attribute"</label>
                        <input id="target" name="target" type="text" class="mono" list="target-options" required value=a.target.clone()
                            spellcheck="false" aria-invalid=invalid(result, "target") />
                        <datalist id="target-options">
                            {TARGET_SUGGESTIONS.iter().map(|t| view! { <option value=*t /> }).collect_view()}
                        </datalist>
                        <FieldError value=result field="target" />
                    </div>
                    <div class="field">
                        <label for="matching">"Match objects using this attribute"</label>
                        <select id="matching" name="matching">
                            <option value="off" selected=a.matching == 0>"No"</option>
                            <option value="on" selected={a.matching > 0}>"Yes"</option>
                        </select>
                    </div>
                    <div class="field">
                        <label for="precedence">"Matching precedence"</label>
                        <input id="precedence" name="precedence" type="number" min="1" max="100"
                            value=precedence_value
                            aria-invalid=invalid(result, "precedence") />
                        <FieldError value=result field="precedence" />
                    </div>
                    <div class="field">
                        <label for="apply_on">"Apply this mapping"</label>
                        <select id="apply_on" name="apply_on" aria-invalid=invalid(result, "apply_on")>
                            <option value="always" selected=a.apply_on != "create">"Always"</option>
                            <option value="create" selected=a.apply_on == "create">"Only during object creation"</option>
                        </select>
                        <FieldError value=result field="apply_on" />
                    </div>
                </fieldset>
                {admin.then(|| view! {
                    <div class="form-actions">
                        <button type="submit" name="intent" value="save" class="btn btn-primary" disabled=move || save.pending().get()>"Save"</button>
                    </div>
                })}
                {is_user.then(|| view! {
                    <fieldset class="tester only-expression">
                        <legend>"Expression tester"</legend>
                        <div class="field">
                            <label for="test_user">"User (user principal name)"</label>
                            <PrincipalPicker id="test_user" name="test_user" placeholder="start typing a name"
                                invalid=Signal::derive(invalid(result, "test_user")) />
                            <FieldError value=result field="test_user" />
                        </div>
                        <button type="submit" name="intent" value="test" class="btn" formnovalidate=true>"Test expression"</button>
                        {move || result.get().and_then(|r| r.ok()).and_then(|o| o.expression).map(|t| view! { <TestResult test=t /> })}
                    </fieldset>
                })}
            </ActionForm>
        </section>
    }
}

#[component]
fn TestResult(test: ExpressionTest) -> impl IntoView {
    let class = if test.error.is_some() {
        "alert alert-error"
    } else {
        "alert alert-ok"
    };
    view! {
        <div class=class role="status" data-expression-result>
            <p>"Result for "<strong>{test.user.clone()}</strong>": "
                {match &test.error {
                    Some(e) => view! { <span>{e.clone()}</span> }.into_any(),
                    None if test.value.is_empty() => view! { <span>"(no value)"</span> }.into_any(),
                    None => view! { <code class="mono" data-value>{test.value.clone()}</code> }.into_any(),
                }}
            </p>
            {(!test.note.is_empty()).then(|| view! { <p class="muted">{test.note.clone()}</p> })}
        </div>
    }
}

#[component]
pub fn ScopingPage() -> impl IntoView {
    let ctx = expect_context::<AppCtx>();
    let object = route_param("object");
    let add = ServerAction::<AddScopingClause>::new();
    let delete = ServerAction::<DeleteScopingClause>::new();
    let added = Signal::derive(move || add.value().get());
    let deleted = Signal::derive(move || delete.value().get());
    let changes = [added, deleted].map(|v| successes(v, |_| true));
    let data = Resource::new(
        move || (ctx.id.get(), changes.iter().map(|c| c.get()).sum::<u32>()),
        |(id, _)| get_provisioning(id),
    );
    let admin = super::use_session().is_admin();
    view! {
        <p><a href=move || format!("/apps/{}/provisioning/{}", ctx.id.get(), object.get())>"← Attribute Mapping"</a></p>
        <h2>{move || format!("Source Object Scope: {}", object_label(&object.get()))}</h2>
        <p class="muted">"Clauses within a scoping filter must all be true (AND); an object is in scope when any filter matches (OR). Without filters every assigned object is in scope. Every clause except IS NULL is false when the attribute is empty. EQUALS, Includes and ENDS_WITH are case sensitive."</p>
        <p class="alert alert-info">{INITIAL_CYCLE_NOTE}</p>
        <ActionError value=deleted />
        {string_message(added)}
        {string_message(deleted)}
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let v = match data.await {
                    Err(e) => return view! { <ErrorText error=e /> }.into_any(),
                    Ok(v) => v,
                };
                let obj = object.get_untracked();
                let id = ctx.id.get_untracked();
                let Some(m) = v.config.mappings.iter().find(|m| m.object == obj).cloned() else {
                    return view! { <p class="alert alert-error">"There is no such mapping."</p> }.into_any();
                };
                let sources: Vec<String> = if obj == "group" { v.group_sources.clone() } else { v.user_sources.clone() }
                    .into_iter()
                    .filter(|s| !["manager", "members", "appRoleAssignments"].contains(&s.as_str()))
                    .collect();
                let filters = m.scoping_filters.iter().enumerate().map(|(fi, f)| {
                    let text = f.clauses.iter().map(|c| if c.value.is_empty() { format!("{} {}", c.attribute, c.operator) } else { format!("{} {} \"{}\"", c.attribute, c.operator, c.value) }).collect::<Vec<_>>().join(" AND ");
                    let title = if f.title.is_empty() { format!("Scoping filter {}", fi + 1) } else { f.title.clone() };
                    let clauses = f.clauses.iter().enumerate().map(|(ci, c)| {
                        let (app, o) = (id.clone(), obj.clone());
                        view! {
                            <tr>
                                <td>{c.attribute.clone()}</td>
                                <td>{c.operator.clone()}</td>
                                <td class="mono">{c.value.clone()}</td>
                                <td>{admin.then(|| view! {
                                    <ActionForm action=delete attr:class="inline">
                                        <CsrfField />
                                        <input type="hidden" name="app" value=app />
                                        <input type="hidden" name="object" value=o />
                                        <input type="hidden" name="filter" value=fi.to_string() />
                                        <input type="hidden" name="clause" value=ci.to_string() />
                                        <button type="submit" class="btn btn-small btn-danger">"Delete clause"</button>
                                    </ActionForm>
                                })}</td>
                            </tr>
                        }
                    }).collect_view();
                    let (app, o) = (id.clone(), obj.clone());
                    view! {
                        <section class="card" data-filter=fi.to_string()>
                            <h3>{title}</h3>
                            <p class="mono filter-text">{text}</p>
                            <table>
                                <thead><tr><th scope="col">"Attribute"</th><th scope="col">"Operator"</th><th scope="col">"Value"</th><th scope="col"><span class="sr-only">"Actions"</span></th></tr></thead>
                                <tbody>{clauses}</tbody>
                            </table>
                            {admin.then(|| view! {
                                <ActionForm action=delete attr:class="inline">
                                    <CsrfField />
                                    <input type="hidden" name="app" value=app />
                                    <input type="hidden" name="object" value=o />
                                    <input type="hidden" name="filter" value=fi.to_string() />
                                    <input type="hidden" name="clause" value="all" />
                                    <button type="submit" class="btn btn-danger">"Delete scoping filter"</button>
                                </ActionForm>
                            })}
                        </section>
                    }
                }).collect_view();
                let filter_options = m.scoping_filters.iter().enumerate().map(|(fi, f)| {
                    let title = if f.title.is_empty() { format!("Scoping filter {}", fi + 1) } else { f.title.clone() };
                    view! { <option value=fi.to_string()>{format!("Add to: {title}")}</option> }
                }).collect_view();
                let none = m.scoping_filters.is_empty();
                view! {
                    {none.then(|| view! { <p data-scope>"All records: no scoping filter."</p> })}
                    {filters}
                    {admin.then(|| view! {
                        <section class="card">
                            <h3>"Add scoping clause"</h3>
                            <ActionForm action=add attr:class="form">
                                <CsrfField />
                                <input type="hidden" name="app" value=id.clone() />
                                <input type="hidden" name="object" value=obj.clone() />
                                <ActionError value=added />
                                <div class="grid-2">
                                    <div class="field">
                                        <label for="filter">"Scoping filter"</label>
                                        <select id="filter" name="filter">
                                            <option value="new">"A new scoping filter"</option>
                                            {filter_options}
                                        </select>
                                    </div>
                                    <div class="field">
                                        <label for="title">"New filter's title (optional)"</label>
                                        <input id="title" name="title" type="text" maxlength="120" />
                                    </div>
                                    <div class="field">
                                        <label for="attribute">"Attribute Name"</label>
                                        <select id="attribute" name="attribute" aria-invalid=invalid(added, "attribute")>
                                            {sources.iter().map(|s| view! { <option value=s.clone()>{s.clone()}</option> }).collect_view()}
                                        </select>
                                        <FieldError value=added field="attribute" />
                                    </div>
                                    <div class="field">
                                        <label for="operator">"Operator"</label>
                                        <select id="operator" name="operator" aria-invalid=invalid(added, "operator")>
                                            {OPERATORS.iter().map(|o| view! { <option value=*o>{*o}</option> }).collect_view()}
                                        </select>
                                        <FieldError value=added field="operator" />
                                    </div>
                                    <div class="field">
                                        <label for="value">"Value"</label>
                                        <input id="value" name="value" type="text" aria-invalid=invalid(added, "value") />
                                        <FieldError value=added field="value" />
                                    </div>
                                </div>
                                <button type="submit" class="btn btn-primary" disabled=move || add.pending().get()>"Add clause"</button>
                            </ActionForm>
                        </section>
                    })}
                }.into_any()
            })}
        </Suspense>
    }
}

/// Provision on demand: one user through the whole pipeline now, each step with its details.
#[component]
pub fn OnDemandPage() -> impl IntoView {
    let ctx = expect_context::<AppCtx>();
    let run = ServerAction::<ProvisionOnDemand>::new();
    let flashed = Resource::new(|| (), |_| take_on_demand_report());
    let result = with_flashed(Signal::derive(move || run.value().get()), flashed);
    let run_group = ServerAction::<ProvisionGroupOnDemand>::new();
    let flashed_group = Resource::new(|| (), |_| take_on_demand_group_reports());
    let group_result = with_flashed(Signal::derive(move || run_group.value().get()), flashed_group);
    let admin = super::use_session().is_admin();
    view! {
        <h2>"Provision on demand"</h2>
        <p class="muted">"Runs one user through provisioning now, whatever the provisioning status: import, scope, matching, and the action on the application, each step with its details. The result is also in the provisioning log."</p>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let _ = flashed.await;
                let _ = flashed_group.await;
                let app = ctx.id.get_untracked();
                let group_app = app.clone();
                view! {
                    {admin.then(|| view! {
                        <section class="card">
                            <ActionForm action=run attr:class="form form-row">
                                <CsrfField />
                                <input type="hidden" name="app" value=app.clone() />
                                <ActionError value=result />
                                <div class="field">
                                    <label for="on-demand-user">"User (user principal name)"</label>
                                    <PrincipalPicker id="on-demand-user" name="user" placeholder="start typing a name"
                                        invalid=Signal::derive(invalid(result, "user")) />
                                    <FieldError value=result field="user" />
                                </div>
                                <div class="field field-action">
                                    <button type="submit" class="btn btn-primary" disabled=move || run.pending().get()>"Provision"</button>
                                </div>
                            </ActionForm>
                        </section>
                    })}
                    {move || result.get().and_then(|r| r.ok()).map(|r| view! { <Report report=r /> })}
                    {admin.then(|| view! {
                        <section class="card">
                            <h3>"A group and up to five of its members"</h3>
                            <ActionForm action=run_group attr:class="form">
                                <CsrfField />
                                <input type="hidden" name="app" value=group_app.clone() />
                                <ActionError value=group_result />
                                <div class="field">
                                    <label for="on-demand-group">"Group (name)"</label>
                                    <input id="on-demand-group" name="group" type="text" required autocomplete="off"
                                        aria-invalid=invalid(group_result, "group") />
                                    <FieldError value=group_result field="group" />
                                </div>
                                <div class="field">
                                    <label for="on-demand-members">"Members (user principal names, up to 5)"</label>
                                    <textarea id="on-demand-members" name="members" rows="3"
                                        aria-invalid=invalid(group_result, "members")></textarea>
                                    <FieldError value=group_result field="members" />
                                </div>
                                <button type="submit" class="btn btn-primary" disabled=move || run_group.pending().get()>"Provision group"</button>
                            </ActionForm>
                        </section>
                    })}
                    {move || group_result.get().and_then(|r| r.ok()).map(|list| {
                        list.into_iter().map(|r| view! { <Report report=r /> }).collect_view()
                    })}
                }
            })}
        </Suspense>
    }
}

#[component]
fn Report(report: ProvisionReport) -> impl IntoView {
    let class = match report.status.as_str() {
        "Success" => "alert alert-ok",
        "Failure" => "alert alert-error",
        _ => "alert alert-info",
    };
    let summary = format!(
        "{}: {} {}{}",
        report.display_name,
        report.action,
        report.status,
        if report.error_code.is_empty() {
            String::new()
        } else {
            format!(" ({})", report.error_code)
        }
    );
    view! {
        <section class="card" data-report=report.status.clone()>
            <p class=class role="status">{summary}</p>
            <ol class="steps">
                {report.steps.into_iter().map(|s| view! {
                    <li data-step=s.name.clone() data-status=s.status.clone()>
                        <h3>{s.name.clone()}" "<span class=format!("status status-{}", s.status.to_lowercase())>{s.status.clone()}</span></h3>
                        <p>{s.description.clone()}</p>
                        {(!s.details.is_empty()).then(|| view! {
                            <details>
                                <summary>"Details"</summary>
                                <dl class="facts">
                                    {s.details.into_iter().map(|(k, v)| view! { <dt>{k}</dt><dd class="mono">{v}</dd> }).collect_view()}
                                </dl>
                            </details>
                        })}
                    </li>
                }).collect_view()}
            </ol>
        </section>
    }
}
