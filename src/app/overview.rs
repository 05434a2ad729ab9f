use super::widgets::{when, ErrorText};
use crate::api::overview::get_overview;
use crate::model::AuditEntry;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn OverviewPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| get_overview());
    let me = super::use_session();
    view! {
        <Title text="Overview" />
        <h1>"Overview"</h1>
        <p class="lead">"Welcome, " {me.username.clone()} ". This is the state of this Provisio server."</p>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <ErrorText error=e /> }.into_any(),
                    Ok(o) => {
                        view! {
                            <div class="cards">
                                <section class="card stat">
                                    <h2><a href="/directory/users">"Directory"</a></h2>
                                    <p class="stat-value" data-stat="users">{o.users}</p>
                                    <p class="muted">{format!("users · {} groups · {} deleted users", o.groups, o.deleted_users)}</p>
                                </section>
                                <section class="card stat">
                                    <h2><a href="/apps">"Enterprise applications"</a></h2>
                                    <p class="stat-value" data-stat="apps">{o.apps}</p>
                                    <p class="muted">{format!("{} with provisioning On", o.apps_provisioning)}</p>
                                </section>
                                <section class="card stat">
                                    <h2>"Console users"</h2>
                                    <p class="stat-value">{o.console_users}</p>
                                    <p class="muted">{format!("{} enabled Administrator(s)", o.administrators)}</p>
                                </section>
                                <section class="card stat">
                                    <h2>"Sign-ins, last 24 hours"</h2>
                                    <p class="stat-value">{o.sign_ins_24h}</p>
                                    <p class={if o.failed_sign_ins_24h > 0 { "warn" } else { "muted" }}>
                                        {format!("{} failed", o.failed_sign_ins_24h)}
                                    </p>
                                </section>
                                <section class="card stat">
                                    <h2>"Server"</h2>
                                    <p class="stat-value small">{format!("Provisio {}", o.version)}</p>
                                    <p class="muted">{o.database.clone()}</p>
                                </section>
                            </div>
                            <section class="card">
                                <div class="card-head">
                                    <h2>"Recent activity"</h2>
                                    <a href="/settings/audit-log">"Open the audit log"</a>
                                </div>
                                <RecentTable entries=o.recent />
                            </section>
                        }
                            .into_any()
                    }
                }
            })}
        </Suspense>
    }
}

#[component]
fn RecentTable(entries: Vec<AuditEntry>) -> impl IntoView {
    if entries.is_empty() {
        return view! { <p class="muted">"Nothing has happened yet."</p> }.into_any();
    }
    view! {
        <div class="table-wrap">
            <table>
                <thead>
                    <tr>
                        <th scope="col">"Time"</th>
                        <th scope="col">"Who"</th>
                        <th scope="col">"What"</th>
                        <th scope="col">"Outcome"</th>
                    </tr>
                </thead>
                <tbody>
                    {entries
                        .into_iter()
                        .map(|e| {
                            view! {
                                <tr>
                                    <td class="nowrap">{when(&e.at)}</td>
                                    <td>{e.actor}</td>
                                    <td>{format!("{} {}", e.action, e.target)}</td>
                                    <td>
                                        <span class=format!("status status-{}", e.outcome)>{e.outcome.clone()}</span>
                                    </td>
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
