use super::widgets::{invalid, ActionError, FieldError};
use crate::api::session::{get_login_context, Login};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn LoginPage() -> impl IntoView {
    let ctx = Resource::new(|| (), |_| get_login_context());
    let login = ServerAction::<Login>::new();
    let query = use_query_map();
    let next = move || query.with(|q| q.get("next")).unwrap_or_default();
    let value = Signal::derive(move || login.value().get());
    view! {
        <Title text="Sign in" />
        <main class="login">
            <div class="login-card card">
                <p class="brand brand-large">
                    <span class="brand-mark" aria-hidden="true">"P"</span>
                    "Provisio"
                </p>
                <h1>"Sign in to the console"</h1>
                <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        let csrf = ctx.await.map(|c| c.csrf).unwrap_or_default();
                        view! {
                            <ActionForm action=login attr:class="form">
                                <input type="hidden" name="csrf" value=csrf />
                                <input type="hidden" name="next" value=next />
                                <ActionError value />
                                <div class="field">
                                    <label for="username">"User name"</label>
                                    <input
                                        id="username"
                                        name="username"
                                        type="text"
                                        autocomplete="username"
                                        autocapitalize="none"
                                        spellcheck="false"
                                        required
                                        autofocus
                                        aria-invalid=invalid(value, "username")
                                    />
                                    <FieldError value field="username" />
                                </div>
                                <div class="field">
                                    <label for="password">"Password"</label>
                                    <input
                                        id="password"
                                        name="password"
                                        type="password"
                                        autocomplete="current-password"
                                        required
                                        aria-invalid=invalid(value, "password")
                                    />
                                    <FieldError value field="password" />
                                </div>
                                <button type="submit" class="btn btn-primary btn-block" disabled=move || login.pending().get()>
                                    {move || if login.pending().get() { "Signing in…" } else { "Sign in" }}
                                </button>
                            </ActionForm>
                        }
                    })}
                </Suspense>
                <p class="hint">
                    "Lost access? On the server, run " <code>"provisio admin reset-password NAME"</code> "."
                </p>
            </div>
        </main>
    }
}
