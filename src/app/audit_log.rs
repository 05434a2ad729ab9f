use super::widgets::{urlencode, ErrorText, When};
use crate::api::audit::get_audit_page;
use crate::model::{AuditEntry, AuditFilter};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;
use leptos_router::params::ParamsMap;

fn filter_of(q: &ParamsMap) -> AuditFilter {
    AuditFilter {
        actor: q.get("actor"),
        action: q.get("action"),
        outcome: q.get("outcome"),
        from: q.get("from"),
        to: q.get("to"),
    }
}

/// A link to a page of the log with the same filters: the newest entries, or those before an id.
fn page_href(q: &ParamsMap, before: Option<i64>) -> String {
    let mut parts: Vec<String> = ["actor", "action", "outcome", "from", "to"]
        .iter()
        .filter_map(|k| {
            q.get(k)
                .filter(|v| !v.is_empty())
                .map(|v| format!("{k}={}", urlencode(&v)))
        })
        .collect();
    parts.extend(before.map(|b| format!("before={b}")));
    if parts.is_empty() {
        "/settings/audit-log".into()
    } else {
        format!("/settings/audit-log?{}", parts.join("&"))
    }
}

#[component]
pub fn AuditLogPage() -> impl IntoView {
    let query = use_query_map();
    let page = Resource::new(
        move || query.get(),
        |q| {
            let before = q.get("before").and_then(|b| b.parse::<i64>().ok());
            let f = filter_of(&q);
            get_audit_page(f.actor, f.action, f.outcome, f.from, f.to, before)
        },
    );
    let q = move |k: &'static str| query.with(|q| q.get(k)).unwrap_or_default();
    view! {
        <Title text="Audit log" />
        <h1>"Audit log"</h1>
        <p class="lead">"Every sign-in and configuration change: who, what, when and from where. Times show in your time zone (hover over one for UTC); the From and To dates are UTC days."</p>
        <section class="card">
            <Form method="GET" action="" attr:class="form form-row filters">
                <div class="field">
                    <label for="f-actor">"Who"</label>
                    <input id="f-actor" name="actor" type="search" value=move || q("actor") placeholder="user name" />
                </div>
                <div class="field">
                    <label for="f-action">"Action"</label>
                    <Suspense fallback=|| view! { <select id="f-action" name="action"><option value="">"Any"</option></select> }>
                        {move || Suspend::new(async move {
                            let actions = page.await.map(|p| p.actions).unwrap_or_default();
                            let current = q("action");
                            view! {
                                <select id="f-action" name="action">
                                    <option value="">"Any"</option>
                                    {actions
                                        .into_iter()
                                        .map(|a| {
                                            let selected = a == current;
                                            view! { <option value=a.clone() selected=selected>{crate::model::audit_action_label(&a)}</option> }
                                        })
                                        .collect_view()}
                                </select>
                            }
                        })}
                    </Suspense>
                </div>
                <div class="field">
                    <label for="f-outcome">"Outcome"</label>
                    <select id="f-outcome" name="outcome">
                        <option value="">"Any"</option>
                        <option value="success" selected=move || q("outcome") == "success">"Success"</option>
                        <option value="failure" selected=move || q("outcome") == "failure">"Failure"</option>
                    </select>
                </div>
                <div class="field">
                    <label for="f-from">"From"</label>
                    <input id="f-from" name="from" type="date" value=move || q("from") />
                </div>
                <div class="field">
                    <label for="f-to">"To"</label>
                    <input id="f-to" name="to" type="date" value=move || q("to") />
                </div>
                <div class="field field-action">
                    <button type="submit" class="btn btn-primary">"Apply"</button>
                    <a class="btn" href="/settings/audit-log">"Clear"</a>
                </div>
            </Form>
        </section>
        <section class="card">
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match page.await {
                        Err(e) => view! { <ErrorText error=e /> }.into_any(),
                        Ok(p) => {
                            let params = query.get_untracked();
                            let first_page = params.get("before").is_none();
                            view! {
                                <AuditTable entries=p.entries />
                                <nav class="pager" aria-label="Audit log pages">
                                    {(!first_page).then(|| view! { <a class="btn" href=page_href(&params, None)>"Newest"</a> })}
                                    {p.older.map(|id| view! { <a class="btn" rel="next" href=page_href(&params, Some(id))>"Older"</a> })}
                                </nav>
                            }
                                .into_any()
                        }
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn AuditTable(entries: Vec<AuditEntry>) -> impl IntoView {
    if entries.is_empty() {
        return view! { <p class="muted">"No entries match."</p> }.into_any();
    }
    view! {
        <div class="table-wrap">
            <table class="audit">
                <thead>
                    <tr>
                        <th scope="col">"Time"</th>
                        <th scope="col">"Who"</th>
                        <th scope="col">"Action"</th>
                        <th scope="col">"Target"</th>
                        <th scope="col">"Outcome"</th>
                        <th scope="col">"Detail"</th>
                        <th scope="col">"From"</th>
                    </tr>
                </thead>
                <tbody>
                    {entries
                        .into_iter()
                        .map(|e| {
                            view! {
                                <tr>
                                    <td class="nowrap"><When at=e.at.clone() /></td>
                                    <td>{e.actor}</td>
                                    <td title=e.action.clone() data-action=e.action.clone()>{crate::model::audit_action_label(&e.action)}</td>
                                    <td>{e.target}</td>
                                    <td><span class=format!("status status-{}", e.outcome)>{e.outcome.clone()}</span></td>
                                    <td>{e.detail}</td>
                                    <td class="nowrap">{e.source_ip}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
        .into_any()
}
