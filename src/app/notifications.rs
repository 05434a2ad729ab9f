//! Settings > Notifications: the SMTP server that failure emails go through, a test email, and
//! the outbox (what was sent, what waits and why).

use super::provisioning::{successes, with_flashed};
use super::widgets::{invalid, when, ActionError, CsrfField, ErrorText, FieldError, When};
use crate::api::notifications::{get_notifications, take_notifications_outcome, SaveNotifications};
use crate::model::NotificationSettings;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn NotificationsPage() -> impl IntoView {
    let save = ServerAction::<SaveNotifications>::new();
    let flashed = Resource::new(|| (), |_| take_notifications_outcome());
    let result = with_flashed(Signal::derive(move || save.value().get()), flashed);
    // Only a save reloads (a test email keeps what was typed).
    let reload = successes(result, |m: &String| m.starts_with("Saved"));
    let data = Resource::new(move || reload.get(), |_| get_notifications());
    let admin = super::use_session().is_admin();
    view! {
        <Title text="Notifications" />
        <h1>"Notifications"</h1>
        <p class="lead">
            "Provisioning jobs email an application's notification address when they go into quarantine (tick \"Send an email notification when a failure occurs\" on the application's Provisioning page). The emails go through this SMTP server; while it fails they wait in the outbox and nothing is lost."
        </p>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let _ = flashed.await;
                match data.await {
                    Err(e) => view! { <ErrorText error=e /> }.into_any(),
                    Ok(n) => view! { <Settings n save result reload admin /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Settings(
    n: NotificationSettings,
    save: ServerAction<SaveNotifications>,
    result: Signal<Option<Result<String, crate::api::ApiError>>>,
    reload: ReadSignal<u32>,
    admin: bool,
) -> impl IntoView {
    let outbox = n
        .outbox
        .iter()
        .map(|e| {
            let state = match (&e.sent_at, e.last_error.is_empty()) {
                (Some(s), _) => format!("Sent {}", when(s)),
                (None, true) => "Waiting".to_string(),
                (None, false) => format!("Waiting after {} attempt(s): {}", e.attempts, e.last_error),
            };
            view! {
                <tr data-email=e.subject.clone()>
                    <td><When at=e.created_at.clone() /></td>
                    <td>{e.to_address.clone()}</td>
                    <td>{e.subject.clone()}</td>
                    <td>{state}</td>
                </tr>
            }
        })
        .collect_view();
    let tls = n.tls.clone();
    let option = move |value: &'static str, label: &'static str| {
        view! { <option value=value selected=tls == value>{label}</option> }
    };
    view! {
        <section class="card">
            <h2>"SMTP server"</h2>
            {move || result.get().and_then(|r| r.ok()).map(|m| view! { <p class="alert alert-ok" role="status">{m}</p> })}
            <ActionForm action=save attr:class="form">
                <CsrfField />
                <ActionError value=result />
                <fieldset disabled=!admin>
                    <div class="field">
                        <label for="host">"SMTP host"</label>
                        <input id="host" name="host" type="text" value=n.host.clone() autocomplete="off" spellcheck="false"
                            aria-invalid=invalid(result, "host") />
                        <FieldError value=result field="host" />
                    </div>
                    <div class="field">
                        <label for="port">"Port"</label>
                        <input id="port" name="port" type="number" min="1" max="65535" value=n.port.to_string()
                            aria-invalid=invalid(result, "port") />
                        <FieldError value=result field="port" />
                    </div>
                    <div class="field">
                        <label for="tls">"TLS"</label>
                        <select id="tls" name="tls">
                            {option("starttls", "STARTTLS (usually port 587)")}
                            {option("tls", "TLS (usually port 465)")}
                            {option("none", "None (a relay on this machine or network)")}
                        </select>
                        <FieldError value=result field="tls" />
                    </div>
                    <div class="field">
                        <label for="username">"User name"</label>
                        <input id="username" name="username" type="text" value=n.username.clone() autocomplete="off"
                            aria-invalid=invalid(result, "username") />
                        <FieldError value=result field="username" />
                    </div>
                    <div class="field">
                        <label for="password">"Password"</label>
                        // The view is rebuilt in place after a save, which keeps typed values.
                        <input id="password" name="password" type="password" autocomplete="new-password"
                            prop:value=move || { reload.track(); String::new() }
                            placeholder=if n.password_set { "Saved (leave empty to keep it)" } else { "" }
                            aria-invalid=invalid(result, "password") />
                        <FieldError value=result field="password" />
                        {n.password_set.then(|| view! {
                            <label class="checkbox"><input type="checkbox" name="clear_password" value="on" />" Remove the saved password"</label>
                        })}
                    </div>
                    <div class="field">
                        <label for="from_address">"From address"</label>
                        <input id="from_address" name="from_address" type="email" value=n.from_address.clone()
                            aria-invalid=invalid(result, "from_address") />
                        <FieldError value=result field="from_address" />
                    </div>
                    <div class="field">
                        <label for="test_to">"Send a test email to"</label>
                        <input id="test_to" name="test_to" type="email" aria-invalid=invalid(result, "test_to") />
                        <FieldError value=result field="test_to" />
                    </div>
                    <div class="actions">
                        <button type="submit" name="intent" value="save" class="btn btn-primary">"Save"</button>
                        <button type="submit" name="intent" value="test" class="btn">"Send test email"</button>
                    </div>
                </fieldset>
            </ActionForm>
        </section>
        <section class="card">
            <h2>"Outbox"</h2>
            <p class="muted" data-pending=n.pending.to_string()>{format!("{} waiting to be sent.", n.pending)}</p>
            {if n.outbox.is_empty() {
                view! { <p class="muted">"No emails yet."</p> }.into_any()
            } else {
                view! {
                    <div class="table-wrap">
                        <table>
                            <thead><tr><th scope="col">"Queued"</th><th scope="col">"To"</th><th scope="col">"Subject"</th><th scope="col">"State"</th></tr></thead>
                            <tbody>{outbox}</tbody>
                        </table>
                    </div>
                }.into_any()
            }}
        </section>
    }
}
