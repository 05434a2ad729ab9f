//! Small pieces every screen uses: error text, field errors, timestamps, the CSRF field.

use crate::api::ApiError;
use leptos::prelude::*;

/// "2026-11-28T10:55:46.123Z" -> "2026-11-28 10:55:46 UTC".
pub fn when(stored: &str) -> String {
    match (stored.get(..10), stored.get(11..19)) {
        (Some(d), Some(t)) => format!("{d} {t} UTC"),
        _ => stored.to_string(),
    }
}

#[component]
pub fn ErrorText(error: ApiError) -> impl IntoView {
    view! {
        <p class="alert alert-error" role="alert">
            {error.to_string()}
        </p>
    }
}

/// The error of an action's last run, when it did not belong to a particular field.
#[component]
pub fn ActionError<T>(value: Signal<Option<Result<T, ApiError>>>) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
{
    move || {
        value
            .get()
            .and_then(|r| r.err())
            .filter(|e| e.field().is_none())
            .map(|e| view! { <ErrorText error=e /> })
    }
}

/// The message for one field, shown under its input and linked to it for screen readers.
#[component]
pub fn FieldError<T>(value: Signal<Option<Result<T, ApiError>>>, field: &'static str) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
{
    move || {
        value
            .get()
            .and_then(|r| r.err())
            .filter(|e| e.field() == Some(field))
            .map(|e| {
                view! {
                    <p class="field-error" id=format!("{field}-error") role="alert">
                        {e.to_string()}
                    </p>
                }
            })
    }
}

/// `aria-invalid` for an input whose field has an error.
pub fn invalid<T: Clone + Send + Sync + 'static>(
    value: Signal<Option<Result<T, ApiError>>>,
    field: &'static str,
) -> impl Fn() -> Option<&'static str> + Send + Sync + Clone + 'static {
    move || {
        value
            .with(|v| matches!(v, Some(Err(e)) if e.field() == Some(field)))
            .then_some("true")
    }
}

/// The session's CSRF token, which every state-changing form must send.
#[component]
pub fn CsrfField() -> impl IntoView {
    let token = super::use_session().csrf;
    view! { <input type="hidden" name="csrf" value=token /> }
}

/// A parameter of the current route. While the router moves between two pages that share it the
/// parameter can be missing for a moment; the last value is kept then, so nothing refetches.
pub fn route_param(name: &'static str) -> Memo<String> {
    let params = leptos_router::hooks::use_params_map();
    Memo::new(move |prev: Option<&String>| {
        params
            .with(|p| p.get(name))
            .filter(|id| !id.is_empty())
            .or_else(|| prev.cloned())
            .unwrap_or_default()
    })
}

/// A query parameter of the current URL ("" when absent).
pub fn query_param(name: &'static str) -> Memo<String> {
    let q = leptos_router::hooks::use_query_map();
    Memo::new(move |_| q.with(|q| q.get(name)).unwrap_or_default())
}

/// A text input that suggests directory users (and groups) as the admin types. Without
/// JavaScript it is a plain text field: the server resolves what was typed.
#[component]
pub fn PrincipalPicker(
    id: &'static str,
    name: &'static str,
    #[prop(optional, into)] value: String,
    #[prop(optional)] groups: bool,
    #[prop(optional)] placeholder: &'static str,
    #[prop(optional, into)] invalid: Option<Signal<Option<&'static str>>>,
) -> impl IntoView {
    let (typed, set_typed) = signal(String::new());
    let options = Resource::new(
        move || typed.get(),
        move |q| async move {
            if q.trim().len() < 2 {
                return Vec::new();
            }
            crate::api::directory::suggest(q, groups)
                .await
                .unwrap_or_default()
        },
    );
    let list = format!("{id}-options");
    view! {
        <input
            id=id
            name=name
            type="text"
            value=value
            list=list.clone()
            autocomplete="off"
            placeholder=placeholder
            aria-invalid=move || invalid.and_then(|s| s.get())
            on:input=move |ev| set_typed.set(event_target_value(&ev))
        />
        <datalist id=list>
            <Transition>
                {move || {
                    options
                        .get()
                        .unwrap_or_default()
                        .into_iter()
                        .map(|p| {
                            let value = if p.kind == "user" { p.detail.clone() } else { p.name.clone() };
                            let label = if p.kind == "user" {
                                p.name.clone()
                            } else {
                                format!("{} (group)", p.name)
                            };
                            view! { <option value=value>{label}</option> }
                        })
                        .collect_view()
                }}
            </Transition>
        </datalist>
    }
}

/// Percent-encodes a query parameter value.
pub use crate::urlenc::query_value as urlencode;

/// A read-only value with a Copy button (tenant URLs, new API keys). Without JavaScript the
/// value is still there to select and copy by hand.
#[component]
pub fn CopyField(label: &'static str, id: &'static str, value: String) -> impl IntoView {
    let (copied, set_copied) = signal(false);
    let text = value.clone();
    view! {
        <div class="field copy-field">
            <label for=id>{label}</label>
            <div class="copy-row">
                <input id=id type="text" class="mono" readonly value=value spellcheck="false" />
                <button
                    type="button"
                    class="btn"
                    data-copy-for=id
                    on:click=move |_| {
                        copy_to_clipboard(&text);
                        set_copied.set(true);
                    }
                >
                    {move || if copied.get() { "Copied" } else { "Copy" }}
                </button>
            </div>
        </div>
    }
}

#[cfg(feature = "hydrate")]
fn copy_to_clipboard(text: &str) {
    if let Some(w) = web_sys::window() {
        let _ = w.navigator().clipboard().write_text(text);
    }
}

#[cfg(not(feature = "hydrate"))]
fn copy_to_clipboard(_text: &str) {}

#[cfg(test)]
mod tests {
    #[test]
    fn when_formats_stored_timestamps() {
        assert_eq!(super::when("2026-11-28T10:55:46.123Z"), "2026-11-28 10:55:46 UTC");
        assert_eq!(super::when("garbage"), "garbage");
    }
}
