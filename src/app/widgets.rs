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

/// Percent-encodes a query parameter value.
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

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
