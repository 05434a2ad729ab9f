//! A mapping's source object scope: scoping filters and their clauses.

use super::*;

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

/// What changing a scoping filter does, for its confirmations.
const SCOPE_CHANGE: &str = "Scoping decides who is provisioned. At the next cycle (an initial cycle), users who were in scope only through what you delete leave it and their accounts are disabled or deleted in the application; users it kept out may come into scope and be created.";

#[component]
pub fn ScopingPage() -> impl IntoView {
    let ctx = expect_context::<AppCtx>();
    let object = route_param("object");
    let add = ServerAction::<AddScopingClause>::new();
    let delete = ServerAction::<DeleteScopingClause>::new();
    let flashed = Resource::new(|| (), |_| take_provisioning_outcome());
    let added = with_flashed(Signal::derive(move || add.value().get()), flashed);
    let deleted = Signal::derive(move || delete.value().get());
    // A preview changes nothing, so the filters are not read again for it.
    let changes = [
        successes(added, |o: &SaveOutcome| o.change.is_none()),
        successes(deleted, |_| true),
    ];
    let data = Resource::new(
        move || (ctx.id.get(), changes.iter().map(|c| c.get()).sum::<u32>()),
        |(id, _)| get_provisioning(id),
    );
    let admin = crate::app::use_session().is_admin();
    view! {
        <p><a href=move || format!("/apps/{}/provisioning/{}", ctx.id.get(), object.get())>"← Attribute Mapping"</a></p>
        <h2>{move || format!("Source Object Scope: {}", object_label(&object.get()))}</h2>
        <p class="muted">"Clauses within a scoping filter must all be true (AND); an object is in scope when any filter matches (OR). Without filters every assigned object is in scope. Every clause except IS NULL is false when the attribute is empty. EQUALS, Includes and ENDS_WITH are case sensitive."</p>
        <p class="alert alert-info">{INITIAL_CYCLE_NOTE}</p>
        <ActionError value=deleted />
        {move || added.get().and_then(|r| r.ok()).filter(|o| o.change.is_none()).map(|o| view! { <p class="alert alert-ok" role="status">{o.message}</p> })}
        {string_message(deleted)}
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let v = match data.await {
                    Err(e) => return view! { <ErrorText error=e /> }.into_any(),
                    Ok(v) => v,
                };
                let obj = object.get_untracked();
                let id = ctx.id.get_untracked();
                let Some(m) = v.config.mappings.iter().find(|m| m.object.as_str() == obj).cloned() else {
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
                                    <Confirm
                                        id=format!("delete-clause-{fi}-{ci}")
                                        label="Delete clause"
                                        small=true
                                        title=format!("Delete the clause {} {}", c.attribute, c.operator)
                                        consequence=SCOPE_CHANGE
                                    >
                                        <ActionForm action=delete attr:class="inline">
                                            <CsrfField />
                                            <input type="hidden" name="app" value=app />
                                            <input type="hidden" name="object" value=o />
                                            <input type="hidden" name="filter" value=fi.to_string() />
                                            <input type="hidden" name="clause" value=ci.to_string() />
                                            <button type="submit" class="btn btn-small btn-danger">"Delete clause"</button>
                                        </ActionForm>
                                    </Confirm>
                                })}</td>
                            </tr>
                        }
                    }).collect_view();
                    let (app, o) = (id.clone(), obj.clone());
                    let title_for_confirm = title.clone();
                    view! {
                        <section class="card" data-filter=fi.to_string()>
                            <h3>{title}</h3>
                            <p class="mono filter-text">{text}</p>
                            <div class="table-wrap">
                                <table>
                                    <thead><tr><th scope="col">"Attribute"</th><th scope="col">"Operator"</th><th scope="col">"Value"</th><th scope="col"><span class="sr-only">"Actions"</span></th></tr></thead>
                                    <tbody>{clauses}</tbody>
                                </table>
                            </div>
                            {admin.then(|| view! {
                                <Confirm
                                    id=format!("delete-filter-{fi}")
                                    label="Delete scoping filter"
                                    title=format!("Delete {title_for_confirm}")
                                    consequence=SCOPE_CHANGE
                                >
                                    <ActionForm action=delete attr:class="inline">
                                        <CsrfField />
                                        <input type="hidden" name="app" value=app />
                                        <input type="hidden" name="object" value=o />
                                        <input type="hidden" name="filter" value=fi.to_string() />
                                        <input type="hidden" name="clause" value="all" />
                                        <button type="submit" class="btn btn-danger">"Delete scoping filter"</button>
                                    </ActionForm>
                                </Confirm>
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
                                <div class="form-actions">
                                    <button type="submit" name="intent" value="save" class="btn btn-primary" disabled=move || add.pending().get()>"Add clause"</button>
                                    <button type="submit" name="intent" value="preview" class="btn" disabled=move || add.pending().get()>"Preview"</button>
                                    <span class="muted">"Preview shows who would come into or leave scope and what that does in the application; nothing is saved or sent."</span>
                                </div>
                                {move || added.get().and_then(|r| r.ok()).and_then(|o| o.change.map(|c| (o.message, c))).map(|(message, change)| view! { <super::preview::ChangePreviewResult message change /> })}
                            </ActionForm>
                        </section>
                    })}
                }.into_any()
            })}
        </Suspense>
    }
}
