//! Import: upload a CSV or JSON-lines file, review the preview (column mapping, first rows,
//! counts, every error with its line), then import it all or nothing, with progress.

use super::super::widgets::{query_param, route_param, ActionError, CsrfField, ErrorText};
use crate::api::directory::{get_import, DiscardImport, RunImport};
use crate::model::ImportPreview;
use leptos::prelude::*;
use leptos_meta::{Meta, Title};

#[component]
pub fn ImportPage() -> impl IntoView {
    let me = super::super::use_session();
    let error = query_param("error");
    view! {
        <Title text="Import" />
        <h1>"Import users and memberships"</h1>
        <super::DirectoryNav />
        {move || {
            let e = error.get();
            (!e.is_empty()).then(|| view! { <p class="alert alert-error" role="alert">{e}</p> })
        }}
        <section class="card">
            <h2>"Upload a file"</h2>
            <p>
                "CSV with a header row naming the attributes ("<code>"userPrincipalName"</code>", "
                <code>"displayName"</code>", "<code>"department"</code>", "<code>"manager"</code>" …), or JSON lines with those keys. "
                "Users are matched by userPrincipalName: new ones are created, existing ones updated. Columns the file leaves out keep their values; an empty cell clears the attribute. "
                "A "<code>"groups"</code>" column (names separated by ;) adds memberships, creating missing groups."
            </p>
            <p>
                "A membership file has the columns "<code>"group"</code>", "<code>"member"</code>" (a user principal name, or a group name) and optionally "
                <code>"memberType"</code>" (user or group)."
            </p>
            <p class="muted">
                "Nothing is imported until you confirm the preview. Every row is checked first; if any row has an error, nothing is imported."
            </p>
            {if me.is_admin() {
                view! {
                    <form method="post" action="/directory/import/upload" enctype="multipart/form-data" class="form">
                        <CsrfField />
                        <fieldset>
                            <legend>"The file holds"</legend>
                            <label class="radio"><input type="radio" name="kind" value="users" checked /> " Users"</label>
                            <label class="radio"><input type="radio" name="kind" value="memberships" /> " Group memberships"</label>
                        </fieldset>
                        <div class="field">
                            <label for="import-file">"File (CSV or JSON lines, UTF-8, up to 64 MB)"</label>
                            <input id="import-file" name="file" type="file" required accept=".csv,.jsonl,.ndjson,.json,text/csv" />
                        </div>
                        <button type="submit" class="btn btn-primary">"Upload and preview"</button>
                    </form>
                }.into_any()
            } else {
                view! { <p class="muted">"Only Administrators can import."</p> }.into_any()
            }}
        </section>
    }
}

#[component]
pub fn ImportPreviewPage() -> impl IntoView {
    let id = route_param("import");
    let run = ServerAction::<RunImport>::new();
    let discard = ServerAction::<DiscardImport>::new();
    let (tick, set_tick) = signal(0u32);
    let preview = Resource::new(
        move || (id.get(), run.version().get(), tick.get()),
        |(id, _, _)| get_import(id),
    );
    // While the import runs, the hydrated page polls; without JavaScript a refresh header does it.
    Effect::new(move |_| {
        let running = preview.with(|p| matches!(p, Some(Ok(p)) if p.status == "running"));
        if running {
            set_timeout(
                move || set_tick.update(|t| *t += 1),
                std::time::Duration::from_millis(500),
            );
        }
    });
    let admin = super::super::use_session().is_admin();
    view! {
        <Title text="Import preview" />
        <p><a href="/directory/import">"← Import"</a></p>
        <ActionError value=Signal::derive(move || run.value().get()) />
        <ActionError value=Signal::derive(move || discard.value().get()) />
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match preview.await {
                    Err(e) => view! { <ErrorText error=e /> }.into_any(),
                    Ok(p) => view! { <Preview p run discard admin /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn Preview(
    p: ImportPreview,
    run: ServerAction<RunImport>,
    discard: ServerAction<DiscardImport>,
    admin: bool,
) -> impl IntoView {
    let ok = p.error_total == 0;
    let header = p
        .columns
        .iter()
        .map(|c| {
            view! {
                <th scope="col">
                    {c.header.clone()}
                    <br />
                    <span class=if c.attribute.is_some() { "muted" } else { "field-error" }>
                        {c.attribute.clone().map(|a| format!("→ {a}")).unwrap_or_else(|| "not recognised".into())}
                    </span>
                </th>
            }
        })
        .collect_view();
    let sample = p
        .sample
        .iter()
        .map(|r| view! { <tr>{r.iter().map(|c| view! { <td>{c.clone()}</td> }).collect_view()}</tr> })
        .collect_view();
    let counts = if p.kind == "users" {
        format!(
            "{} rows: {} users to create, {} to update; {} new groups; {} group memberships.",
            p.rows, p.creates, p.updates, p.new_groups, p.memberships
        )
    } else {
        format!(
            "{} rows: {} memberships; {} new groups.",
            p.rows, p.memberships, p.new_groups
        )
    };
    let status = p.status.clone();
    let (done, total) = p.progress.unwrap_or((0, p.rows as u64));
    let pct = (done * 100).checked_div(total).unwrap_or(0);
    let (id_run, id_discard) = (p.id.clone(), p.id.clone());
    view! {
        {(status == "running").then(|| view! { <Meta http_equiv="refresh" content="2" /> })}
        <h1>{format!("Import of {}", p.file_name)}</h1>
        <p class="muted">{format!("{} · {}", if p.kind == "users" { "Users" } else { "Group memberships" }, p.format.to_uppercase())}</p>
        <section class="card">
            <h2>"Summary"</h2>
            <p role="status" data-import-status=status.clone()>{counts}</p>
            {match status.as_str() {
                "running" => view! {
                    <div class="progress" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow=pct.to_string()>
                        <div class="progress-bar" style=format!("width: {pct}%")></div>
                    </div>
                    <p>{format!("Importing… {done} of {total} rows written.")}</p>
                }.into_any(),
                "done" => view! {
                    <p class="alert alert-ok" role="status">{p.result.clone()}</p>
                    <p><a href="/directory/users">"Go to Users"</a></p>
                }.into_any(),
                "failed" => view! { <p class="alert alert-error" role="alert">{p.result.clone()}</p> }.into_any(),
                _ if !ok => view! {
                    <p class="alert alert-error" role="alert">
                        {format!("{} errors: fix the file and upload it again. Nothing will be imported while any row has an error.", p.error_total)}
                    </p>
                }.into_any(),
                _ if admin => view! {
                    <div class="actions">
                        <ActionForm action=run attr:class="inline">
                            <CsrfField />
                            <input type="hidden" name="id" value=id_run />
                            <button type="submit" class="btn btn-primary">{format!("Import {} {}", p.rows, if p.rows == 1 { "row" } else { "rows" })}</button>
                        </ActionForm>
                        <ActionForm action=discard attr:class="inline">
                            <CsrfField />
                            <input type="hidden" name="id" value=id_discard />
                            <button type="submit" class="btn">"Discard"</button>
                        </ActionForm>
                    </div>
                }.into_any(),
                _ => view! { <p class="muted">"Waiting for an Administrator to confirm."</p> }.into_any(),
            }}
        </section>
        {(!p.errors.is_empty()).then(|| view! {
            <section class="card">
                <h2>"Errors"</h2>
                {(p.error_total > p.errors.len()).then(|| view! { <p class="muted">{format!("The first {} of {} errors:", p.errors.len(), p.error_total)}</p> })}
                <ul class="errors">
                    {p.errors.iter().map(|e| view! { <li><strong>{format!("Line {}: ", e.line)}</strong>{e.message.clone()}</li> }).collect_view()}
                </ul>
            </section>
        })}
        <section class="card">
            <h2>"Columns and first rows"</h2>
            <div class="table-wrap">
                <table>
                    <thead><tr>{header}</tr></thead>
                    <tbody>{sample}</tbody>
                </table>
            </div>
        </section>
    }
}
