use super::widgets::{
    invalid, reset_on_success, ActionError, Confirm, CsrfField, ErrorText, FieldError, When, WhenOr,
};
use crate::api::console_users::{
    list_console_users, AddConsoleUser, ResetConsolePassword, SetConsoleUserEnabled, SetConsoleUserRole,
};
use crate::model::{ConsoleUser, Role};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn ConsoleUsersPage() -> impl IntoView {
    let me = super::use_session();
    let add = ServerAction::<AddConsoleUser>::new();
    let reset = ServerAction::<ResetConsolePassword>::new();
    let enable = ServerAction::<SetConsoleUserEnabled>::new();
    let role = ServerAction::<SetConsoleUserRole>::new();
    let users = Resource::new(
        move || (add.version().get(), enable.version().get(), role.version().get()),
        |_| list_console_users(),
    );
    let added = Signal::derive(move || add.value().get());
    let reset_value = Signal::derive(move || reset.value().get());
    let me_id = me.user_id.clone();
    let add_form = NodeRef::new();
    reset_on_success(add_form, added);
    if !me.is_admin() {
        return view! {
            <Title text="Console users" />
            <h1>"Console users"</h1>
            <p class="alert alert-error" role="alert">"Only Administrators can see and manage console users."</p>
        }
            .into_any();
    }
    view! {
        <Title text="Console users" />
        <h1>"Console users"</h1>
        <p class="lead">
            "People who can sign in to this console. Administrators change configuration; Viewers can look at everything but change nothing."
        </p>
        <section class="card">
            <h2>"Add a console user"</h2>
            <ActionForm action=add node_ref=add_form attr:class="form form-row">
                <CsrfField />
                <ActionError value=added />
                <div class="field">
                    <label for="new-username">"User name"</label>
                    <input id="new-username" name="username" type="text" required autocomplete="off" autocapitalize="none"
                        spellcheck="false" aria-invalid=invalid(added, "username") />
                    <FieldError value=added field="username" />
                </div>
                <div class="field">
                    <label for="new-role">"Role"</label>
                    <select id="new-role" name="role">
                        {Role::ALL.iter().map(|r| view! { <option value=r.as_str()>{r.label()}</option> }).collect_view()}
                    </select>
                    <FieldError value=added field="role" />
                </div>
                <div class="field">
                    <label for="new-password">"Password"</label>
                    <input id="new-password" name="password" type="password" required autocomplete="new-password"
                        aria-describedby="new-password-hint" aria-invalid=invalid(added, "password") />
                    <p class="hint" id="new-password-hint">"At least 12 characters."</p>
                    <FieldError value=added field="password" />
                </div>
                <div class="field field-action">
                    <button type="submit" class="btn btn-primary" disabled=move || add.pending().get()>"Add user"</button>
                </div>
                {move || {
                    added.get().and_then(|r| r.ok()).map(|name| {
                        view! { <p class="alert alert-ok" role="status">{format!("Added {name}.")}</p> }
                    })
                }}
            </ActionForm>
        </section>
        <section class="card">
            <h2>"Users"</h2>
            <ActionError value=Signal::derive(move || enable.value().get()) />
            <ActionError value=Signal::derive(move || role.value().get()) />
            <ActionError value=reset_value />
            <FieldError value=reset_value field="password" />
            {move || {
                reset_value.get().and_then(|r| r.ok()).map(|_| {
                    view! { <p class="alert alert-ok" role="status">"Password changed; that user's sessions have ended."</p> }
                })
            }}
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {
                    let me_id = me_id.clone();
                    move || {
                        let me_id = me_id.clone();
                        Suspend::new(async move {
                            match users.await {
                                Err(e) => view! { <ErrorText error=e /> }.into_any(),
                                Ok(list) => view! { <UserTable list me_id reset enable role /> }.into_any(),
                            }
                        })
                    }
                }
            </Suspense>
        </section>
    }
    .into_any()
}

#[component]
fn UserTable(
    list: Vec<ConsoleUser>,
    me_id: String,
    reset: ServerAction<ResetConsolePassword>,
    enable: ServerAction<SetConsoleUserEnabled>,
    role: ServerAction<SetConsoleUserRole>,
) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table>
                <thead>
                    <tr>
                        <th scope="col">"User name"</th>
                        <th scope="col">"Role"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col">"Created"</th>
                        <th scope="col">"Last sign-in"</th>
                        <th scope="col">"Actions"</th>
                    </tr>
                </thead>
                <tbody>
                    {list
                        .into_iter()
                        .map(|u| {
                            let is_me = u.id == me_id;
                            let other_role = match u.role {
                                Role::Administrator => Role::Viewer,
                                Role::Viewer => Role::Administrator,
                            };
                            let pw_id = format!("pw-{}", u.id);
                            let (id1, id2, id3) = (u.id.clone(), u.id.clone(), u.id.clone());
                            let (name1, name2, name3) = (u.username.clone(), u.username.clone(), u.username.clone());
                            view! {
                                <tr data-user=name1>
                                    <th scope="row">
                                        {name2}
                                        {is_me.then(|| view! { <span class="muted">" (you)"</span> })}
                                    </th>
                                    <td>{u.role.label()}</td>
                                    <td>
                                        {if u.disabled {
                                            view! { <span class="status status-failure">"Disabled"</span> }.into_any()
                                        } else {
                                            view! { <span class="status status-success">"Enabled"</span> }.into_any()
                                        }}
                                    </td>
                                    <td class="nowrap"><When at=u.created_at.clone() /></td>
                                    <td class="nowrap">
                                        <WhenOr at=u.last_sign_in_at.clone() none="Never" />
                                    </td>
                                    <td class="actions">
                                        <ActionForm action=reset attr:class="inline">
                                            <CsrfField />
                                            <input type="hidden" name="id" value=id1 />
                                            <label class="sr-only" for=pw_id.clone()>
                                                {format!("New password for {name3}")}
                                            </label>
                                            <input id=pw_id type="password" name="password" placeholder="New password"
                                                autocomplete="new-password" required minlength="12" />
                                            <button type="submit" class="btn">"Reset password"</button>
                                        </ActionForm>
                                        <ActionForm action=role attr:class="inline">
                                            <CsrfField />
                                            <input type="hidden" name="id" value=id2 />
                                            <input type="hidden" name="role" value=other_role.as_str() />
                                            <button type="submit" class="btn" disabled=is_me>
                                                {format!("Make {}", other_role.label())}
                                            </button>
                                        </ActionForm>
                                        {if u.disabled || is_me {
                                            view! {
                                                <ActionForm action=enable attr:class="inline">
                                                    <CsrfField />
                                                    <input type="hidden" name="id" value=id3 />
                                                    <input type="hidden" name="enabled" value=if u.disabled { "true" } else { "false" } />
                                                    <button type="submit" class="btn" disabled=is_me>
                                                        {if u.disabled { "Enable" } else { "Disable" }}
                                                    </button>
                                                </ActionForm>
                                            }.into_any()
                                        } else {
                                            view! {
                                                <Confirm
                                                    id=format!("disable-{id3}")
                                                    label="Disable"
                                                    small=true
                                                    title=format!("Disable {}", u.username)
                                                    consequence="They are signed out everywhere at once and cannot sign in to the console until an Administrator enables them again."
                                                >
                                                    <ActionForm action=enable attr:class="inline">
                                                        <CsrfField />
                                                        <input type="hidden" name="id" value=id3.clone() />
                                                        <input type="hidden" name="enabled" value="false" />
                                                        <button type="submit" class="btn btn-danger">"Disable user"</button>
                                                    </ActionForm>
                                                </Confirm>
                                            }.into_any()
                                        }}
                                    </td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
}
