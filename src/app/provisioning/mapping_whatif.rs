//! What-if over the whole users mapping, on the Attribute Mapping page: every attribute that
//! reads the directory evaluated over the users in scope (the first 1,000 or all), one row per
//! attribute: how many get a value, none, are left out or fail, distinct values, and the values
//! more than one user would get where the target must be unique. A GET form, so it works
//! without JavaScript and can be linked to; nothing is sent or saved.

use super::*;
use crate::api::provisioning_preview::survey_mapping;
use crate::model::AttributeSurvey;
use leptos_router::components::Form;

#[component]
pub(super) fn MappingWhatIf() -> impl IntoView {
    let ctx = expect_context::<AppCtx>();
    let (object, size) = (route_param("object"), query_param("whatif"));
    let users = move || object.get() == "user";
    let surveys = Resource::new(
        move || (ctx.id.get(), size.get(), users()),
        |(app, size, users)| async move {
            if size.is_empty() || !users {
                return None;
            }
            Some(survey_mapping(app, size).await)
        },
    );
    view! {
        <section class="card" aria-labelledby="whatif-heading" hidden=move || !users()>
            <h3 id="whatif-heading">"Try the mapping on users in scope"</h3>
            <p class="muted">"Evaluates every attribute that reads the directory, as the next cycle would, and shows what each gives. Nothing is sent or saved."</p>
            <Form method="GET" action="" attr:class="form form-row">
                <div class="field">
                    <label for="whatif">"Users"</label>
                    <select id="whatif" name="whatif">
                        <option value="1000" selected=move || size.get() != "all">"The first 1,000 in scope"</option>
                        <option value="all" selected=move || size.get() == "all">"All users in scope"</option>
                    </select>
                </div>
                <div class="field field-action">
                    <button type="submit" class="btn">"Try the mapping"</button>
                </div>
            </Form>
            <Suspense fallback=|| view! { <p role="status">"Evaluating…"</p> }>
                {move || Suspend::new(async move {
                    match surveys.await {
                        None => ().into_any(),
                        Some(Err(e)) => view! { <ErrorText error=e /> }.into_any(),
                        Some(Ok(list)) => view! { <WhatIfTable list /> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn WhatIfTable(list: Vec<AttributeSurvey>) -> impl IntoView {
    let evaluated = list.first().map(|a| a.survey.evaluated).unwrap_or_default();
    let cut = list.first().is_some_and(|a| a.survey.cut);
    let rows = list
        .into_iter()
        .map(|a| {
            let s = a.survey;
            let warn = s.errors > 0 || (s.unique && s.duplicated_values > 0);
            let example = s
                .common
                .first()
                .map(|v| if s.redacted { "[Redact]".to_string() } else { v.value.clone() })
                .unwrap_or_default();
            let duplicates = match s.unique {
                true => format!("{} values shared by {} users", s.duplicated_values, s.duplicated_users),
                false => "-".to_string(),
            };
            let failure = s.failures.first().map(|(u, e)| format!("{u}: {e}"));
            view! {
                <tr data-attribute=a.target.clone() class=if warn { "warn-row" } else { "" }>
                    <th scope="row" class="mono">{a.target.clone()}</th>
                    <td class="num">{s.with_value}</td>
                    <td class="num">{s.empty}</td>
                    <td class="num">{s.left_out}</td>
                    <td class="num" data-errors=s.errors.to_string()>{s.errors}</td>
                    <td class="num">{s.distinct}</td>
                    <td data-duplicates=s.duplicated_values.to_string()>{duplicates}</td>
                    <td><code class="mono">{example}</code>{failure.map(|f| view! { <br /><span class="muted">{f}</span> })}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <p role="status" data-whatif-summary>{format!(
            "Evaluated for {}{}.",
            crate::model::plural(evaluated as i64, "user in scope", "users in scope"),
            if cut { " (the first ones: more are in scope)" } else { "" }
        )}</p>
        <div class="table-wrap">
            <table data-whatif>
                <thead><tr>
                    <th scope="col">"Target attribute"</th>
                    <th scope="col" class="num">"With a value"</th>
                    <th scope="col" class="num">"Empty"</th>
                    <th scope="col" class="num">"Left out"</th>
                    <th scope="col" class="num">"Errors"</th>
                    <th scope="col" class="num">"Distinct"</th>
                    <th scope="col">"Duplicates (unique targets)"</th>
                    <th scope="col">"Most common value / first error"</th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
    .into_any()
}
