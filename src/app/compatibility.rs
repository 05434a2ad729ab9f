//! The compatibility profile on the synchronization details: what Provisio does differently for
//! this application (learned by trying or chosen by an admin), why and since when. Admins can
//! force or forbid each adaptation.

use super::widgets::{when, CsrfField};
use crate::api::compatibility::SaveCompatibility;
use crate::model::{Adaptation, AdaptationChoice, AdaptationInfo};
use leptos::prelude::*;

fn label(c: AdaptationChoice) -> &'static str {
    match c {
        AdaptationChoice::Auto => "Learn by trying",
        AdaptationChoice::Always => "Always",
        AdaptationChoice::Never => "Never",
    }
}

#[component]
pub fn Compatibility(
    app: String,
    list: Vec<AdaptationInfo>,
    admin: bool,
    save: ServerAction<SaveCompatibility>,
) -> impl IntoView {
    let rows = list
        .iter()
        .map(|a| {
            let since = if a.since.is_empty() {
                "-".to_string()
            } else {
                when(&a.since)
            };
            view! {
                <tr data-adaptation=a.adaptation.clone() data-choice=a.choice.as_str()>
                    <td>{a.effect.clone()}</td>
                    <td>{a.reason.clone()}</td>
                    <td>{since}</td>
                </tr>
            }
        })
        .collect_view();
    let table = (!list.is_empty()).then(|| {
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
    });
    let choices = admin.then(|| {
        let forms = Adaptation::ALL
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
            .collect_view();
        view! {
            <details class="compatibility">
                <summary>"Change what Provisio adapts to"</summary>
                <p class="muted">"Learn by trying is the default. Always uses the other form from the first request, for an application known to need it; Never keeps to the standard SCIM form, and a refusal fails the object instead. Saving does not start a new cycle."</p>
                {forms}
            </details>
        }
    });
    view! { {table} {choices} }
}
