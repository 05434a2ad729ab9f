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

/// A stored time, shown in the browser's time zone once the page runs (the server renders UTC,
/// which is what shows without JavaScript); UTC on hover either way.
#[component]
pub fn When(#[prop(into)] at: String) -> impl IntoView {
    let utc = when(&at);
    let (local, set_local) = signal(None::<String>);
    let stored = at.clone();
    // Effects run only in the browser, after hydration: the first render matches the server's.
    Effect::new(move |_| set_local.set(local_time(&stored)));
    let title = utc.clone();
    view! { <time datetime=at title=title>{move || local.get().unwrap_or_else(|| utc.clone())}</time> }
}

/// An optional stored time as [`When`], or `none` ("Never", "-") when there is none.
#[component]
pub fn WhenOr(at: Option<String>, none: &'static str) -> impl IntoView {
    match at {
        Some(at) => view! { <When at /> }.into_any(),
        None => none.into_any(),
    }
}

/// "2026-11-28T10:55:46.123Z" in the browser's zone: "2026-11-28 11:55:46 UTC+01:00" (None
/// when it does not parse, or outside the browser).
#[cfg(feature = "hydrate")]
fn local_time(stored: &str) -> Option<String> {
    use web_sys::js_sys::Date;
    let d = Date::new(&wasm_bindgen::JsValue::from_str(stored));
    if d.get_time().is_nan() {
        return None;
    }
    // getTimezoneOffset is minutes *behind* UTC.
    let offset = -(d.get_timezone_offset() as i64);
    let zone = match offset {
        0 => "UTC".to_string(),
        m => format!(
            "UTC{}{:02}:{:02}",
            if m < 0 { '-' } else { '+' },
            m.abs() / 60,
            m.abs() % 60
        ),
    };
    Some(format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} {zone}",
        d.get_full_year(),
        d.get_month() + 1,
        d.get_date(),
        d.get_hours(),
        d.get_minutes(),
        d.get_seconds()
    ))
}

#[cfg(not(feature = "hydrate"))]
fn local_time(_stored: &str) -> Option<String> {
    None
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

/// Clears a form once its action succeeded, so what was typed for the last key, member or
/// assignment is not offered for the next. (Without JavaScript the page reloads anyway.)
pub fn reset_on_success<T: Clone + Send + Sync + 'static>(
    form: NodeRef<leptos::html::Form>,
    value: Signal<Option<Result<T, ApiError>>>,
) {
    Effect::new(move |_| {
        if let Some(Ok(_)) = value.get() {
            if let Some(f) = form.get_untracked() {
                f.reset();
            }
        }
    });
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

/// A string made safe for an HTML id (popover targets): letters and digits kept, anything else
/// as its code point, so two different strings never meet.
pub fn dom_id(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' => c.to_string(),
            c => format!("_{:x}", c as u32),
        })
        .collect()
}

/// Percent-encodes a query parameter value.
pub use crate::urlenc::query_value as urlencode;

/// Where a Copy button stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))] // set only in the browser
enum Copy {
    Ready,
    Copied,
    /// The browser would not copy (an `http://` address other than localhost has no Clipboard
    /// API): the value is selected for the admin to copy.
    Selected,
}

/// A read-only value with a Copy button (tenant URLs, new API keys), in a monospace font. Where
/// the browser refuses to copy, the value is selected and the button says to press Ctrl+C; without
/// JavaScript the value is there to select and copy by hand.
#[component]
pub fn CopyField(label: &'static str, id: &'static str, value: String) -> impl IntoView {
    let (state, set_state) = signal(Copy::Ready);
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
                    on:click=move |_| copy_to_clipboard(id, text.clone(), set_state)
                >
                    {move || match state.get() {
                        Copy::Ready => "Copy",
                        Copy::Copied => "Copied",
                        Copy::Selected => "Press Ctrl+C",
                    }}
                </button>
            </div>
            <p class="hint" role="status">
                {move || match state.get() {
                    Copy::Ready => "",
                    Copy::Copied => "Copied to the clipboard.",
                    Copy::Selected => "This browser does not let pages copy here: the value is selected, press Ctrl+C (⌘C on a Mac) to copy it.",
                }}
            </p>
        </div>
    }
}

/// Selects the field's text (what is copied is visible), then copies it with the Clipboard API
/// where the page may use it (HTTPS, localhost), else with the older copy command; when neither
/// works the selection stays for Ctrl+C.
#[cfg(feature = "hydrate")]
fn copy_to_clipboard(id: &'static str, text: String, set: WriteSignal<Copy>) {
    use wasm_bindgen::JsCast;
    let Some(w) = web_sys::window() else { return };
    let Some(doc) = w.document() else { return };
    let input = doc
        .get_element_by_id(id)
        .and_then(|e| e.dyn_into::<web_sys::HtmlInputElement>().ok());
    if let Some(i) = &input {
        let _ = i.focus();
        i.select();
    }
    let legacy = move || {
        let copied = doc
            .dyn_ref::<web_sys::HtmlDocument>()
            .and_then(|d| d.exec_command("copy").ok())
            .unwrap_or(false);
        set.set(if copied { Copy::Copied } else { Copy::Selected });
    };
    let clipboard_api = w.is_secure_context() && js_has(w.navigator().as_ref(), "clipboard");
    if !clipboard_api {
        legacy();
        return;
    }
    let promise = w.navigator().clipboard().write_text(&text);
    leptos::task::spawn_local(async move {
        match wasm_bindgen_futures::JsFuture::from(promise).await {
            Ok(_) => set.set(Copy::Copied),
            Err(_) => legacy(),
        }
    });
}

/// Whether a JavaScript object has a property that is set (the Clipboard API is absent on
/// insecure pages).
#[cfg(feature = "hydrate")]
fn js_has(object: &wasm_bindgen::JsValue, key: &str) -> bool {
    web_sys::js_sys::Reflect::get(object, &wasm_bindgen::JsValue::from_str(key))
        .is_ok_and(|v| !v.is_undefined() && !v.is_null())
}

#[cfg(not(feature = "hydrate"))]
fn copy_to_clipboard(_id: &'static str, _text: String, _set: WriteSignal<Copy>) {}

#[cfg(test)]
mod tests {
    #[test]
    fn when_formats_stored_timestamps() {
        assert_eq!(super::when("2026-11-28T10:55:46.123Z"), "2026-11-28 10:55:46 UTC");
        assert_eq!(super::when("garbage"), "garbage");
    }
}

/// An application's provisioning health: a badge with an icon and a word (never colour alone);
/// the reason as its tooltip, and beside it where `reason` is set.
#[component]
pub fn HealthBadge(health: crate::model::AppHealth, #[prop(optional)] reason: bool) -> impl IntoView {
    let status = health.status;
    view! {
        <span class="health-line">
            <span class=status.css() title=health.reason.clone() data-health=status.label()>
                <span aria-hidden="true">{status.icon()}</span>
                {status.label()}
            </span>
            {reason.then(|| view! { <span class="health-reason">{health.reason.clone()}</span> })}
        </span>
    }
}

/// A destructive action behind a confirmation that names its consequence. `children` is the form
/// that acts, with its own submit button. A popover opened by its button (`popovertarget`), so it
/// works without JavaScript; Escape, a click outside or Cancel closes it unchanged.
#[component]
pub fn Confirm(
    /// Unique on the page (e.g. "revoke-<key id>").
    id: String,
    /// The text of the button that opens it ("Revoke").
    label: &'static str,
    /// What the button does to what, for screen readers ("Revoke the key Entra").
    #[prop(into)]
    title: String,
    /// What happens, in the admin's words ("Every client using this key stops working.").
    #[prop(into)]
    consequence: String,
    #[prop(optional)] small: bool,
    children: Children,
) -> impl IntoView {
    let class = if small {
        "btn btn-small btn-danger"
    } else {
        "btn btn-danger"
    };
    let heading = format!("{id}-title");
    let (opener, cancel, label_of) = (id.clone(), id.clone(), heading.clone());
    let name = title.clone();
    view! {
        <button type="button" class=class popovertarget=opener aria-label=name>{label}</button>
        <div popover="auto" id=id class="confirm-pop" role="dialog" aria-labelledby=label_of>
            <h2 id=heading>{title}"?"</h2>
            <p>{consequence}</p>
            <div class="confirm-actions">
                {children()}
                <button type="button" class="btn" popovertarget=cancel popovertargetaction="hide">"Cancel"</button>
            </div>
        </div>
    }
}

/// A column heading that sorts its list: a link to the order it switches to, and `aria-sort`
/// (with an arrow for sighted readers) saying the list's current order.
#[component]
pub fn SortHeading(
    label: &'static str,
    href: String,
    /// "none", "ascending" or "descending" (see `model::aria_sort`).
    aria: &'static str,
    #[prop(optional)] class: &'static str,
) -> impl IntoView {
    let arrow = match aria {
        "ascending" => " ▲",
        "descending" => " ▼",
        _ => "",
    };
    view! {
        <th scope="col" class=class aria-sort=aria>
            <a class="sort" href=href>{label}<span aria-hidden="true">{arrow}</span></a>
        </th>
    }
}

/// Previous and next page links of a paged list (either may be missing).
#[component]
pub fn Pager(prev: Option<String>, next: Option<String>) -> impl IntoView {
    view! {
        <nav class="pager" aria-label="Pages">
            {prev.map(|href| view! { <a href=href rel="prev">"Previous page"</a> })}
            {next.map(|href| view! { <a href=href rel="next">"Next page"</a> })}
        </nav>
    }
}
