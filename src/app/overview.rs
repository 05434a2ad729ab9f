use super::widgets::{ErrorText, HealthBadge, When};
use crate::api::overview::get_overview;
use crate::model::{AppHealthEntry, AuditEntry, HealthStatus};
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
                            <section class="card" aria-labelledby="health-heading">
                                <div class="card-head">
                                    <h2 id="health-heading">"Provisioning health"</h2>
                                    <a href="/apps">"All applications"</a>
                                </div>
                                <HealthTable entries=o.health />
                            </section>
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

/// Every application's provisioning health, problems first.
#[component]
fn HealthTable(entries: Vec<AppHealthEntry>) -> impl IntoView {
    if entries.is_empty() {
        return view! {
            <p class="muted">"No applications yet. " <a href="/apps/gallery">"Add one from the gallery"</a> "."</p>
        }
            .into_any();
    }
    let problems = entries
        .iter()
        .filter(|e| e.health.status < HealthStatus::Healthy)
        .count();
    let rows = entries
        .into_iter()
        .map(|e| {
            let last = match e.health.last_cycle_at.clone() {
                Some(at) => view! { <When at /> }.into_any(),
                None => "—".into_any(),
            };
            view! {
                <tr data-app=e.name.clone()>
                    <th scope="row"><a href=format!("/apps/{}/provisioning", e.id)>{e.name.clone()}</a></th>
                    <td><HealthBadge health=e.health.clone() reason=true /></td>
                    <td class="nowrap">{last}</td>
                    <td class="num">{e.health.escrowed}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <p class={if problems > 0 { "warn" } else { "muted" }}>
            {match problems {
                0 => "No application needs attention.".to_string(),
                1 => "1 application needs attention.".to_string(),
                n => format!("{n} applications need attention."),
            }}
        </p>
        <div class="table-wrap">
            <table class="health-table">
                <thead>
                    <tr>
                        <th scope="col">"Application"</th>
                        <th scope="col">"Health"</th>
                        <th scope="col">"Last cycle"</th>
                        <th scope="col" class="num">"Waiting for retry"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
    .into_any()
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
                                    <td class="nowrap"><When at=e.at.clone() /></td>
                                    <td>{e.actor}</td>
                                    <td>{format!("{} {}", crate::model::audit_action_label(&e.action), e.target)}</td>
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
