//! The compatibility profile on the synchronization details: what Provisio does differently for
//! this application (learned by trying or chosen by an admin), why and since when. Admins can
//! force or forbid each adaptation.

use super::apps::AppCtx;
use super::widgets::{when, CsrfField};
use crate::api::compatibility::SaveCompatibility;
use crate::api::provisioning::sync_details;
use crate::model::{Adaptation, AdaptationChoice, AdaptationInfo};
use leptos::prelude::*;

fn label(c: AdaptationChoice) -> &'static str {
    match c {
        AdaptationChoice::Auto => "Learn by trying",
        AdaptationChoice::Always => "Always",
        AdaptationChoice::Never => "Never",
    }
}

/// What is in effect: learned or chosen, why and since when (part of the live details).
#[component]
pub fn Adaptations(list: Vec<AdaptationInfo>) -> impl IntoView {
    (!list.is_empty()).then(|| {
        let rows = list
            .into_iter()
            .map(|a| {
                let since = if a.since.is_empty() { "-".to_string() } else { when(&a.since) };
                view! {
                    <tr data-adaptation=a.adaptation data-choice=a.choice.as_str()>
                        <td>{a.effect}</td>
                        <td>{a.reason}</td>
                        <td>{since}</td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <h3>"Adapted to this application"</h3>
            <p class="muted">"The application refused these standard SCIM forms (or an admin chose so); Provisio uses another until the provisioning configuration changes or a full restart."</p>
            <div class="table-wrap">
                <table class="adaptations">
                    <thead><tr><th scope="col">"What Provisio does"</th><th scope="col">"Why"</th><th scope="col">"Since"</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        }
    })
}

/// The admin's choices, one form per adaptation. Read once and again after each save (not with
/// the live details, which would close the section and reset the selects every few seconds).
#[component]
pub fn CompatibilityChoices(save: ServerAction<SaveCompatibility>) -> impl IntoView {
    let ctx = expect_context::<AppCtx>();
    let current = Resource::new(
        move || (ctx.id.get(), save.version().get()),
        |(id, _)| sync_details(id),
    );
    view! {
        <details class="compatibility">
            <summary>"Change what Provisio adapts to"</summary>
            <p class="muted">"Learn by trying is the default. Always uses the other form from the first request, for an application known to need it; Never keeps to the standard SCIM form, and a refusal fails the object instead. Saving does not start a new cycle."</p>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    current.await.ok().map(|d| forms(d.app_id, &d.adaptations, save))
                })}
            </Transition>
        </details>
    }
}

fn forms(app: String, list: &[AdaptationInfo], save: ServerAction<SaveCompatibility>) -> impl IntoView {
    Adaptation::ALL
        .iter()
        .map(|a| {
            let current = list
                .iter()
                .find(|i| i.adaptation == a.as_str())
                .map(|i| i.choice)
                .unwrap_or_default();
            let id = format!("choice-{}", a.as_str());
            let app = app.clone();
            let options = AdaptationChoice::ALL
                .iter()
                .map(|c| view! { <option value=c.as_str() selected=*c == current>{label(*c)}</option> })
                .collect_view();
            view! {
                <ActionForm action=save attr:class="compat-choice">
                    <CsrfField />
                    <input type="hidden" name="app" value=app />
                    <input type="hidden" name="adaptation" value=a.as_str() />
                    <label for=id.clone()>{a.effect()}</label>
                    <select id=id name="choice">{options}</select>
                    <button type="submit" class="btn">"Save"</button>
                </ActionForm>
            }
        })
        .collect_view()
}
