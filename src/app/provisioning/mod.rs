//! An application's Provisioning tab, in the seed's words: Provisioning Mode, Admin Credentials
//! with Test Connection, Mappings (each with its attribute list, Edit attribute page, expression
//! tester and source object scope), Settings and Provisioning Status. Every form posts without
//! JavaScript; buttons named `intent` tell Save from Test.

use super::apps::AppCtx;
use super::widgets::{
    dom_id, invalid, query_param, route_param, urlencode, ActionError, Confirm, CsrfField, ErrorText,
    FieldError, PrincipalPicker,
};
use crate::api::provisioning::{
    get_provisioning, take_on_demand_group_reports, take_on_demand_report, take_provisioning_outcome,
    AddScopingClause, DeleteAttribute, DeleteScopingClause, ProvisionGroupOnDemand, ProvisionOnDemand,
    RestoreDefaultMappings, SaveAttribute, SaveObjectMapping, SaveOutcome, SaveProvisioning,
    INITIAL_CYCLE_NOTE,
};
use crate::api::ApiError;
use crate::model::{
    ApplyOn, AttributeMapping, ConnectionResult, ExpressionTest, MappingKind, ProvisionReport,
    ProvisioningMode, ProvisioningStatus, ProvisioningView, SyncScope,
};
use leptos::prelude::*;

mod drift;
mod mapping;
mod mapping_whatif;
mod on_demand;
mod preview;
mod scoping;
mod tester;

pub use drift::DriftPage;
pub use mapping::{AttributePage, MappingPage};
pub use on_demand::OnDemandPage;
pub use preview::PreviewPage;
pub use scoping::ScopingPage;

fn object_label(object: &str) -> &'static str {
    if object == "group" {
        "groups"
    } else {
        "users"
    }
}

/// The application's name, awaited inside the page's Suspense. (Read with `.get()` outside one, it
/// was missing from about half of the renders and, rendered on one thread, could stall the page:
/// a resource must be awaited where it is used.)
async fn app_name(ctx: AppCtx) -> String {
    ctx.detail.await.ok().map(|d| d.summary.name).unwrap_or_default()
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
            {(!result.capabilities.is_empty()).then(|| view! {
                <ul class="capabilities" aria-label="What the application supports">
                    {result.capabilities.iter().map(|c| view! { <li>{c.clone()}</li> }).collect_view()}
                </ul>
            })}
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
    view! {
        <super::sync_details::SyncDetailsPanel saved=reload />
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let _ = flashed.await;
                let name = app_name(ctx).await;
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
    name: String,
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
    let automatic = c.mode == ProvisioningMode::Automatic;
    let on = s.provisioning_status == ProvisioningStatus::On;
    let (link_id, link_name) = (id.clone(), name.clone());
    let mapping_link = move |object: &'static str| {
        let href = format!("/apps/{link_id}/provisioning/{object}");
        view! { <li><a href=href>{format!("Synchronize {} to {}", object_label(object), link_name)}</a></li> }
    };
    // Unsaved changes: anything typed since the form was drawn (or last saved, which redraws
    // it). Discard is the form's own reset, so it works without JavaScript too.
    let (dirty, set_dirty) = signal(false);
    Effect::new(move |_| {
        reload.track();
        set_dirty.set(false);
    });
    view! {
        <ActionForm
            action=save
            attr:class="form provisioning"
            attr:id="provisioning-form"
            on:input=move |_| set_dirty.set(true)
            on:change=move |_| set_dirty.set(true)
            on:reset=move |_| set_dirty.set(false)
        >
            <CsrfField />
            <input type="hidden" name="app" value=id.clone() />
            <ActionError value=result />
            {outcome_message(result)}
            {(v.needs_initial_cycle && v.initial_cycle_ran).then(|| view! {
                <p class="alert alert-info">"Mappings or scoping filters changed since the last initial cycle: the next cycle is an initial cycle."</p>
            })}
            <details class="section" open>
            <summary>"Provisioning Mode"</summary>
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
            </details>
            <details class="section" open>
            <summary>"Admin Credentials"</summary>
            <fieldset disabled=!admin>
                <legend class="sr-only">"Admin Credentials"</legend>
                <p class="muted">{format!("Admin credentials are required for Provisio to connect to {name}'s SCIM endpoint.")}</p>
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
            </details>
            <details class="section" open>
            <summary>"Mappings"</summary>
            <fieldset>
                <legend class="sr-only">"Mappings"</legend>
                <ul class="links">
                    {mapping_link("user")}
                    {mapping_link("group")}
                </ul>
            </fieldset>
            </details>
            <details class="section" open>
            <summary>"Settings"</summary>
            <fieldset disabled=!admin>
                <legend class="sr-only">"Settings"</legend>
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
                {(!v.smtp_configured).then(|| view! {
                    // Shown while the box is ticked (CSS), with or without JavaScript.
                    <p class="alert alert-warn smtp-missing" data-smtp-missing="true">
                        "No SMTP server is set: failure emails wait in the outbox until one is. Set it in "
                        <a href="/settings/notifications">"Settings > Notifications"</a>"."
                    </p>
                })}
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
                        <option value="assigned" selected=s.scope == SyncScope::Assigned>"Sync only assigned users and groups"</option>
                        <option value="all" selected=s.scope == SyncScope::All>"Sync all users and groups"</option>
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
                <div class="field">
                    <label for="drift_check_hours">"Check for drift every (hours)"</label>
                    <input id="drift_check_hours" name="drift_check_hours" type="number" min="0" max="720"
                        value=s.drift_check_hours.to_string() aria-invalid=invalid(result, "drift_check_hours") />
                    <FieldError value=result field="drift_check_hours" />
                    <p class="muted">"Compares the application with what Provisio manages (accounts it does not manage, values changed there, accounts gone) this often, e.g. 24 for daily; the result shows under Synchronization details and, when something new is found, in the failure email. 0 compares only when you ask (the Drift tab)."</p>
                </div>
                <div class="check">
                    <input type="checkbox" id="drift_revert" name="drift_revert" value="on" checked=s.drift_revert />
                    <label for="drift_revert">"Scheduled checks revert values changed in the application (the directory's values are sent again)"</label>
                </div>
                <div class="check">
                    <input type="checkbox" id="drift_adopt" name="drift_adopt" value="on" checked=s.drift_adopt />
                    <label for="drift_adopt">"Scheduled checks adopt accounts that match a directory user in scope (others are only reported)"</label>
                </div>
                <fieldset class="provisioning-status">
                    <legend>"Provisioning Status"</legend>
                    // Two radio buttons drawn as one On/Off switch: the choice is a real form value
                    // with or without JavaScript.
                    <div class="switch">
                        <label class="switch-on">
                            <input type="radio" id="status-on" name="provisioning_status" value="on" checked=on />
                            <span>"On"</span>
                        </label>
                        <label class="switch-off">
                            <input type="radio" id="status-off" name="provisioning_status" value="off" checked=!on />
                            <span>"Off"</span>
                        </label>
                    </div>
                    <FieldError value=result field="provisioning_status" />
                </fieldset>
            </fieldset>
            </details>
            {admin.then(|| view! {
                <div class="save-bar" role="group" aria-label="Save the provisioning configuration">
                    <span class="save-state" role="status">
                        {move || if dirty.get() { "Unsaved changes" } else { "" }}
                    </span>
                    <button type="reset" class="btn">"Discard"</button>
                    <button type="submit" name="intent" value="save" class="btn btn-primary" disabled=move || save.pending().get()>"Save"</button>
                </div>
            })}
        </ActionForm>
    }
}
