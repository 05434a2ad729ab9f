//! Provisioning logs: every action on every object, filtered by identity, action, status, dates
//! and cycle, each entry opened with its Steps, Troubleshooting & Recommendations, Modified
//! Properties and Summary, and downloadable as CSV or JSON. The same view serves one
//! application's tab and the Identity > Provisioning logs page (all applications).

use super::widgets::{query_param, urlencode, ErrorText, When};
use crate::api::provisioning_logs::{provisioning_log_entry, provisioning_logs};
use crate::model::{ProvisionLogDetail, ProvisionLogFilter};
use leptos::prelude::*;
use leptos_meta::Title;

const ACTIONS: [&str; 6] = ["Create", "Update", "Delete", "Disable", "StagedDelete", "Other"];
const STATUSES: [&str; 4] = ["Success", "Failure", "Skipped", "Warning"];

#[component]
pub fn AllLogsPage() -> impl IntoView {
    view! {
        <Title text="Provisioning logs" />
        <h1>"Provisioning logs"</h1>
        <LogsView app=query_param("app").into() base=Signal::derive(|| "/provisioning-logs".to_string()) choose_app=true />
    }
}

#[component]
pub fn AppLogsPage() -> impl IntoView {
    let ctx = expect_context::<super::apps::AppCtx>();
    view! {
        <h2>"Provisioning logs"</h2>
        <LogsView app=Signal::derive(move || ctx.id.get()) base=Signal::derive(move || format!("/apps/{}/provisioning-logs", ctx.id.get())) choose_app=false />
    }
}

#[component]
fn LogsView(app: Signal<String>, base: Signal<String>, choose_app: bool) -> impl IntoView {
    let (identity, action, status) = (
        query_param("identity"),
        query_param("action"),
        query_param("status"),
    );
    let (from, to, cycle) = (query_param("from"), query_param("to"), query_param("cycle"));
    let before = query_param("before");
    let entry = query_param("entry");
    let filter = Memo::new(move |_| ProvisionLogFilter {
        app: app.get(),
        identity: identity.get(),
        action: action.get(),
        status: status.get(),
        from: from.get(),
        to: to.get(),
        cycle: cycle.get(),
    });
    let page = Resource::new(
        move || (filter.get(), before.get()),
        |(f, b)| provisioning_logs(f, b),
    );
    let detail = Resource::new(
        move || entry.get(),
        |id| async move {
            if id.is_empty() {
                Ok(None)
            } else {
                provisioning_log_entry(id).await.map(Some)
            }
        },
    );
    // The current filters as a query string, for links that keep them.
    let query = move || {
        let f = filter.get();
        let chosen_app = if choose_app { f.app } else { String::new() };
        [
            ("app", chosen_app),
            ("identity", f.identity),
            ("action", f.action),
            ("status", f.status),
            ("from", f.from),
            ("to", f.to),
            ("cycle", f.cycle),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", urlencode(&v)))
        .collect::<Vec<_>>()
        .join("&")
    };
    let select = |id: &'static str,
                  label: &'static str,
                  options: &'static [&'static str],
                  current: Memo<String>| {
        view! {
            <div class="field">
                <label for=id>{label}</label>
                <select id=id name=id>
                    <option value="" selected=move || current.get().is_empty()>"All"</option>
                    {options.iter().map(|o| view! { <option value=*o selected=move || current.get() == *o>{*o}</option> }).collect_view()}
                </select>
            </div>
        }
    };
    // The filters for a download: an application's tab always names its application.
    let download_query = move || {
        if choose_app {
            query()
        } else {
            format!("app={}&{}", urlencode(&app.get()), query())
        }
    };
    // Identity > Provisioning logs can narrow to one application.
    let apps = Resource::new(|| (), |_| crate::api::bulk::app_choices());
    let app_select = choose_app.then(|| {
        view! {
            <div class="field">
                <label for="app">"Application"</label>
                <select id="app" name="app">
                    <option value="" selected=move || app.get().is_empty()>"All"</option>
                    <Suspense fallback=|| ()>
                        {move || Suspend::new(async move {
                            apps.await
                                .unwrap_or_default()
                                .into_iter()
                                .map(|a| {
                                    let id = a.id.clone();
                                    view! { <option value=a.id.clone() selected=move || app.get() == id>{a.name}</option> }
                                })
                                .collect_view()
                        })}
                    </Suspense>
                </select>
            </div>
        }
    });
    view! {
        <form method="get" action=move || base.get() class="form form-row filters">
            {app_select}
            <div class="field">
                <label for="identity">"Identity"</label>
                <input id="identity" name="identity" type="search" value=move || identity.get() placeholder="name, source or target id" />
            </div>
            {select("action", "Action", &ACTIONS, action)}
            {select("status", "Status", &STATUSES, status)}
            <div class="field">
                <label for="from">"From"</label>
                <input id="from" name="from" type="date" value=move || from.get() />
            </div>
            <div class="field">
                <label for="to">"To"</label>
                <input id="to" name="to" type="date" value=move || to.get() />
            </div>
            <div class="field field-action">
                <button type="submit" class="btn">"Apply"</button>
            </div>
        </form>
        <p class="downloads">
            "Download: "
            <a href=move || format!("/provisioning-logs/download?format=csv&{}", download_query())>"CSV"</a>
            " · "
            <a href=move || format!("/provisioning-logs/download?format=json&{}", download_query())>"JSON"</a>
            // Read through Suspense, like the table: a resource read outside it renders differently
            // on the server and in the browser, and hydration fails.
            <span class="muted">
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        page.await.ok().map(|p| format!(" · Entries are kept {} days.", p.retention_days))
                    })}
                </Suspense>
            </span>
        </p>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Err(e) => view! { <ErrorText error=e /> }.into_any(),
                    Ok(None) => ().into_any(),
                    Ok(Some(d)) => view! { <Detail d /> }.into_any(),
                }
            })}
        </Suspense>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Err(e) => view! { <ErrorText error=e /> }.into_any(),
                    Ok(p) if p.rows.is_empty() && query().is_empty() => view! {
                        <p class="empty">"No provisioning log entries yet. Each cycle and each provision on demand adds one per user or group it looks at; they are kept "
                            {format!("{} days.", p.retention_days)}</p>
                    }.into_any(),
                    Ok(p) if p.rows.is_empty() => view! {
                        <p class="empty">"No provisioning log entries match. " <a href=base.get_untracked()>"Clear the filters"</a> "."</p>
                    }.into_any(),
                    Ok(p) => {
                        let all_apps = app.get_untracked().is_empty();
                        let q = query();
                        let b = base.get_untracked();
                        let rows = p.rows.into_iter().map(|r| {
                            let href = format!("{b}?{q}{}entry={}", if q.is_empty() { "" } else { "&" }, urlencode(&r.id));
                            view! {
                                <tr data-log=r.display_name.clone()>
                                    <td><When at=r.at.clone() /></td>
                                    {all_apps.then(|| view! { <td>{r.app_name.clone()}</td> })}
                                    <th scope="row"><a href=href>{r.display_name.clone()}</a></th>
                                    <td>{r.action.clone()}</td>
                                    <td><span class=format!("status status-{}", r.status.to_lowercase())>{r.status.clone()}</span></td>
                                    <td>{r.error_code.clone()}</td>
                                    <td>{if r.cycle_id.is_some() { "Cycle" } else { "On demand" }}</td>
                                </tr>
                            }
                        }).collect_view();
                        let older = p.older.map(|o| format!("{b}?{q}{}before={}", if q.is_empty() { "" } else { "&" }, urlencode(&o)));
                        view! {
                            <div class="table-wrap">
                                <table>
                                    <thead><tr>
                                        <th scope="col">"Date"</th>
                                        {all_apps.then(|| view! { <th scope="col">"Application"</th> })}
                                        <th scope="col">"Identity"</th>
                                        <th scope="col">"Action"</th>
                                        <th scope="col">"Status"</th>
                                        <th scope="col">"Error code"</th>
                                        <th scope="col">"Source"</th>
                                    </tr></thead>
                                    <tbody>{rows}</tbody>
                                </table>
                            </div>
                            {older.map(|href| view! { <nav class="pager" aria-label="Pages"><a href=href rel="next">"Older entries"</a></nav> })}
                        }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}

#[component]
fn Detail(d: ProvisionLogDetail) -> impl IntoView {
    let r = d.row.clone();
    view! {
        <section class="card log-detail" aria-labelledby="log-detail-title">
            <h3 id="log-detail-title">{format!("{}: {} {}", r.display_name, r.action, r.status)}</h3>
            <h4>"Steps"</h4>
            <ol class="steps">
                {d.steps.into_iter().map(|s| view! {
                    <li data-step=s.name.clone()>
                        <strong>{s.name.clone()}</strong>" "<span class=format!("status status-{}", s.status.to_lowercase())>{s.status.clone()}</span>
                        <p>{s.description.clone()}</p>
                        {(!s.details.is_empty()).then(|| view! {
                            <dl class="facts">{s.details.into_iter().map(|(k, v)| view! { <dt>{k}</dt><dd class="mono">{v}</dd> }).collect_view()}</dl>
                        })}
                    </li>
                }).collect_view()}
            </ol>
            {(!r.error_code.is_empty()).then(|| view! {
                <h4>"Troubleshooting & Recommendations"</h4>
                <dl class="facts">
                    <dt>"Error code"</dt><dd>{r.error_code.clone()}</dd>
                    <dt>"Reason"</dt><dd>{d.error_reason.clone()}</dd>
                    <dt>"Recommended action"</dt><dd>{d.error_action.clone()}</dd>
                </dl>
            })}
            {(!d.modified.is_empty()).then(|| view! {
                <h4>"Modified Properties"</h4>
                <table>
                    <thead><tr><th scope="col">"Name"</th><th scope="col">"Old value"</th><th scope="col">"New value"</th></tr></thead>
                    <tbody>{d.modified.iter().map(|(n, o, v)| view! { <tr><td>{n.clone()}</td><td class="mono">{o.clone()}</td><td class="mono">{v.clone()}</td></tr> }).collect_view()}</tbody>
                </table>
            })}
            <h4>"Summary"</h4>
            <dl class="facts">
                <dt>"Date"</dt><dd><When at=r.at.clone() /></dd>
                <dt>"Application"</dt><dd>{r.app_name.clone()}</dd>
                <dt>"Change ID"</dt><dd class="mono">{r.id.clone()}</dd>
                <dt>"Cycle ID"</dt><dd class="mono">{r.cycle_id.clone().unwrap_or_else(|| "on demand".into())}</dd>
                <dt>"Object type"</dt><dd>{r.object_type.clone()}</dd>
                <dt>"Source ID"</dt><dd class="mono">{r.source_id.clone()}</dd>
                <dt>"Target ID"</dt><dd class="mono">{r.target_id.clone()}</dd>
                <dt>"Duration"</dt><dd>{format!("{} ms", r.duration_ms)}</dd>
            </dl>
        </section>
    }
}
