//! The Preview tab: what the next cycle would do, without doing it: its totals, whether the
//! accidental-deletion threshold would stop it, and each object's action with the attributes it
//! would change (value before -> value to send). A plain GET form runs it (`?run=1`, narrowed with
//! `action`), so it works without JavaScript and a preview can be linked to.

use super::*;
use crate::api::provisioning_preview::{preview_cycle, PREVIEW_ACTIONS, PREVIEW_ENTRIES};
use crate::model::{ChangePreview, CyclePreview, PreviewEntry};
use leptos_router::components::Form;

#[component]
pub fn PreviewPage() -> impl IntoView {
    let ctx = expect_context::<AppCtx>();
    let (run, action, page) = (query_param("run"), query_param("action"), query_param("page"));
    let preview = Resource::new(
        move || {
            (
                ctx.id.get(),
                run.get(),
                action.get(),
                page.get().parse::<u32>().unwrap_or(0),
            )
        },
        |(app, run, action, page)| async move {
            if run != "1" {
                return None;
            }
            Some(preview_cycle(app, action, None, page).await)
        },
    );
    view! {
        <h2>"Preview"</h2>
        <p class="muted">"What the next cycle would do, worked out by the provisioning engine itself: scope, scoping filters, mappings, matching against the application (lookups are sent to it), deprovisioning and the accidental-deletion threshold. Nothing is sent to the application's users or groups and nothing is saved; the job is not interrupted."</p>
        <section class="card">
            <Form method="GET" action="" attr:class="form form-row filters">
                <input type="hidden" name="run" value="1" />
                <div class="field">
                    <label for="preview-action">"Show"</label>
                    <select id="preview-action" name="action">
                        <option value="" selected=move || action.get().is_empty()>"Every action"</option>
                        {PREVIEW_ACTIONS.iter().map(|a| view! {
                            <option value=*a selected=move || action.get() == *a>{action_label(a)}</option>
                        }).collect_view()}
                    </select>
                </div>
                <div class="field field-action">
                    <button type="submit" class="btn btn-primary">"Preview the next cycle"</button>
                </div>
            </Form>
        </section>
        <Suspense fallback=|| view! { <p role="status">"Working out the next cycle…"</p> }>
            {move || Suspend::new(async move {
                match preview.await {
                    None => view! { <p class="muted">"Press Preview to see what the next cycle would do."</p> }.into_any(),
                    Some(Err(e)) => view! { <ErrorText error=e /> }.into_any(),
                    Some(Ok(p)) => {
                        let pages = pages(&p, &action.get_untracked());
                        view! { <PreviewResult preview=p />{pages} }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}

/// Links to the previous and next pages of a long preview, keeping its action filter.
fn pages(p: &CyclePreview, action: &str) -> impl IntoView {
    let href = |n: u64| {
        let mut h = format!("?run=1&page={n}");
        if !action.is_empty() {
            h.push_str(&format!("&action={}", urlencode(action)));
        }
        h
    };
    let n = p.offset / u64::from(PREVIEW_ENTRIES);
    let shown = p.entries.len() as u64;
    let prev = (n > 0).then(|| href(n - 1));
    let next = (p.offset + shown < p.total_entries).then(|| href(n + 1));
    view! { <super::super::widgets::Pager prev next /> }
}

fn action_label(a: &str) -> &'static str {
    match a {
        "Create" => "Create",
        "Update" => "Update",
        "Disable" => "Disable",
        "Delete" => "Delete",
        "StagedDelete" => "Held deletions",
        _ => "Skipped and other",
    }
}

#[component]
fn PreviewResult(preview: CyclePreview) -> impl IntoView {
    let c = preview.counters.clone();
    let kind = if preview.initial {
        "The next cycle is an initial cycle: every user and group is evaluated."
    } else {
        "The next cycle is incremental: only what changed since the last cycle is evaluated."
    };
    let held = preview.held.then(|| {
        view! {
            <p class="alert alert-error" role="alert" data-held>
                {format!(
                    "Accidental-deletion prevention would stop this cycle: it would deprovision more than {} objects. Nothing would be disabled or deleted and the job would go into quarantine until deletes are allowed.",
                    preview.threshold.unwrap_or_default()
                )}
            </p>
        }
    });
    let error = (!preview.error.is_empty()).then(|| {
        view! { <p class="alert alert-error" role="alert">{format!("The cycle would stop: {}", preview.error)}</p> }
    });
    let shown = preview.entries.len() as u64;
    let more = (preview.total_entries > shown).then(|| {
        let first = preview.offset + 1;
        view! {
            <p class="muted" data-preview-shown>{format!(
                "Objects {first}–{} of {} are listed ({PREVIEW_ENTRIES} a page); narrow the list by action, or page through it.",
                preview.offset + shown,
                preview.total_entries
            )}</p>
        }
    });
    let empty = preview.entries.is_empty().then(|| view! { <p class="muted">"Nothing to do: the application is in sync for everything the cycle would look at."</p> });
    view! {
        <section class="card" data-preview>
            <p>{kind}" "<span class="muted">{format!("Worked out in {:.1} s.", preview.elapsed_ms as f64 / 1000.0)}</span></p>
            {error}
            {held}
            <dl class="preview-counts" data-preview-counts>
                <div><dt>"Create"</dt><dd data-count="created">{c.created}</dd></div>
                <div><dt>"Update"</dt><dd data-count="updated">{c.updated}</dd></div>
                <div><dt>"Disable"</dt><dd data-count="disabled">{c.disabled}</dd></div>
                <div><dt>"Delete"</dt><dd data-count="deleted">{c.deleted}</dd></div>
                <div><dt>"Skipped"</dt><dd data-count="skipped">{c.skipped}</dd></div>
                <div><dt>"Would fail"</dt><dd data-count="failed">{c.failed}</dd></div>
                <div><dt>"Held"</dt><dd data-count="staged">{c.staged}</dd></div>
            </dl>
            {(!preview.attributes.is_empty()).then(|| view! {
                <h3>"Attributes the updates change"</h3>
                <ul data-attribute-effects>
                    {preview.attributes.iter().map(|a| view! {
                        <li data-attribute=a.attribute.clone() data-updated=a.updated.to_string() data-emptied=a.emptied.to_string()>{a.summary()}</li>
                    }).collect_view()}
                </ul>
            })}
            {empty}
            {(!preview.entries.is_empty()).then(|| view! {
                <div class="table-wrap">
                    <table class="table" data-preview-entries>
                        <thead><tr>
                            <th scope="col">"Object"</th>
                            <th scope="col">"Action"</th>
                            <th scope="col">"Changes (before → to send)"</th>
                        </tr></thead>
                        <tbody>
                            {preview.entries.into_iter().map(|e| view! { <EntryRow entry=e /> }).collect_view()}
                        </tbody>
                    </table>
                </div>
            })}
            {more}
        </section>
    }
    .into_any()
}

#[component]
fn EntryRow(entry: PreviewEntry) -> impl IntoView {
    let changes = entry
        .modified
        .iter()
        .map(|m| {
            let old = if m.old.is_empty() { "(none)".to_string() } else { m.old.clone() };
            view! {
                <li><span class="mono">{m.name.clone()}</span>": "<code class="mono">{old}</code>" → "<code class="mono">{m.new.clone()}</code></li>
            }
        })
        .collect_view();
    view! {
        <tr data-source=entry.source_id.clone() data-action=entry.action.clone()>
            <td>{entry.display_name.clone()}<br /><span class="muted">{entry.object_type.clone()}</span></td>
            <td>{entry.action.clone()}<br /><span class="muted">{entry.status.clone()}</span></td>
            <td>
                {(!entry.reason.is_empty()).then(|| view! { <p class="muted">{entry.reason.clone()}</p> })}
                <ul class="changes">{changes}</ul>
            </td>
        </tr>
    }
    .into_any()
}

/// The preview of an unsaved change (the Preview button beside Save): the change, what it would
/// do attribute by attribute, then the next cycle's preview with it.
#[component]
pub(super) fn ChangePreviewResult(message: String, change: ChangePreview) -> impl IntoView {
    view! {
        <div class="change-preview" data-change-preview>
            <p class="alert alert-info" role="status">{message}</p>
            {(!change.changes.is_empty()).then(|| view! {
                <p>"The change: "{change.changes.join("; ")}</p>
            })}
            {(!change.changes.is_empty()).then(|| view! { <PreviewResult preview=change.preview /> })}
        </div>
    }
    .into_any()
}
