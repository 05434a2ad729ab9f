//! The console UI, rendered on the server and hydrated in the browser. One module per screen;
//! shared widgets in `widgets`.

mod access;
mod apps;
mod assignments;
mod audit_log;
mod compatibility;
mod console_users;
mod cycle_chart;
mod directory;
mod login;
mod notifications;
mod overview;
mod provisioning;
mod provisioning_logs;
mod sync_details;
mod sync_progress;
pub(crate) mod widgets;

use crate::api::session::{get_session, Logout};
use crate::model::SessionInfo;
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::components::{Outlet, ParentRoute, Redirect, Route, Router, Routes, A};
use leptos_router::{path, SsrMode};
use widgets::ErrorText;

pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                // The bundle's directory is versioned when it is embedded (see assets.rs).
                <link rel="stylesheet" id="leptos" href=format!("/{}/provisio.css", options.site_pkg_dir) />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Effects run only in the browser: this marks the page once hydration has finished, which
    // browser tests wait for (and which tells a human in dev tools that the wasm loaded).
    Effect::new(|_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
    view! {
        <Title formatter=|page: String| {
            if page.is_empty() { "Provisio".to_string() } else { format!("{page} · Provisio") }
        } />
        <Router>
            // Async: every page's data is in the first HTML, so the console works without JavaScript
            // and session cookies are set before the response starts.
            <Routes fallback=|| view! { <NotFound /> }>
                <Route path=path!("/login") view=login::LoginPage ssr=SsrMode::Async />
                <ParentRoute path=path!("") view=Console ssr=SsrMode::Async>
                    <Route path=path!("") view=overview::OverviewPage ssr=SsrMode::Async />
                    <Route path=path!("directory/users") view=directory::UsersPage ssr=SsrMode::Async />
                    <Route path=path!("directory/users/new") view=directory::NewUserPage ssr=SsrMode::Async />
                    <Route path=path!("directory/users/:user") view=directory::UserPage ssr=SsrMode::Async />
                    <Route path=path!("directory/deleted-users") view=directory::DeletedUsersPage ssr=SsrMode::Async />
                    <Route path=path!("directory/groups") view=directory::GroupsPage ssr=SsrMode::Async />
                    <Route path=path!("directory/groups/:group") view=directory::GroupPage ssr=SsrMode::Async />
                    <Route path=path!("directory/import") view=directory::ImportPage ssr=SsrMode::Async />
                    <Route path=path!("directory/import/:import") view=directory::ImportPreviewPage ssr=SsrMode::Async />
                    <Route path=path!("apps") view=apps::AppsPage ssr=SsrMode::Async />
                    <Route path=path!("provisioning-logs") view=provisioning_logs::AllLogsPage ssr=SsrMode::Async />
                    <Route path=path!("apps/gallery") view=apps::GalleryPage ssr=SsrMode::Async />
                    <ParentRoute path=path!("apps/:app") view=apps::AppLayout ssr=SsrMode::Async>
                        <Route path=path!("") view=apps::AppOverview ssr=SsrMode::Async />
                        <Route path=path!("users-and-groups") view=assignments::AppAssignments ssr=SsrMode::Async />
                        <Route path=path!("users-and-groups/add") view=assignments::AddAssignmentsPage ssr=SsrMode::Async />
                        <Route path=path!("provisioning") view=provisioning::ProvisioningPage ssr=SsrMode::Async />
                        <Route path=path!("provision-on-demand") view=provisioning::OnDemandPage ssr=SsrMode::Async />
                        <Route path=path!("preview") view=provisioning::PreviewPage ssr=SsrMode::Async />
                        <Route path=path!("drift") view=provisioning::DriftPage ssr=SsrMode::Async />
                        <Route path=path!("provisioning-logs") view=provisioning_logs::AppLogsPage ssr=SsrMode::Async />
                        <Route path=path!("provisioning/:object") view=provisioning::MappingPage ssr=SsrMode::Async />
                        <Route path=path!("provisioning/:object/attribute") view=provisioning::AttributePage ssr=SsrMode::Async />
                        <Route path=path!("provisioning/:object/scoping") view=provisioning::ScopingPage ssr=SsrMode::Async />
                    </ParentRoute>
                    <Route path=path!("access/accounts") view=access::AccountsPage ssr=SsrMode::Async />
                    <ParentRoute path=path!("access/accounts/:account") view=access::AccountLayout ssr=SsrMode::Async>
                        <Route path=path!("") view=access::AccountOverview ssr=SsrMode::Async />
                        <Route path=path!("user-groups") view=access::UserGroupsTab ssr=SsrMode::Async />
                        <Route path=path!("api-keys") view=access::ApiKeysTab ssr=SsrMode::Async />
                        <Route path=path!("users") view=access::UsersTab ssr=SsrMode::Async />
                        <Route path=path!("users/:user") view=access::UserDetail ssr=SsrMode::Async />
                        <Route path=path!("groups/:group") view=access::GroupDetail ssr=SsrMode::Async />
                    </ParentRoute>
                    <Route path=path!("settings/notifications") view=notifications::NotificationsPage ssr=SsrMode::Async />
                    <Route
                        path=path!("settings/console-users")
                        view=console_users::ConsoleUsersPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("settings/audit-log")
                        view=audit_log::AuditLogPage
                        ssr=SsrMode::Async
                    />
                </ParentRoute>
            </Routes>
        </Router>
    }
}

/// The signed-in user of the page being rendered; provided by [`Console`] to every screen in it.
pub fn use_session() -> SessionInfo {
    expect_context::<SessionInfo>()
}

/// The signed-in layout: header, navigation, and the current screen.
///
/// On the server the signed-in user is known before rendering starts (the gate puts it in the
/// request) and is handed to the browser for hydration ([`SharedValue`]): the layout and the
/// current screen render once. Inside a Suspense they did not: Leptos runs a Suspense's children
/// again until they settle (three times here), so every screen's component, and each resource it
/// created, ran three times per page request. A screen the browser reaches without a server
/// render (after signing in without a page load) asks for the session as before.
#[component]
fn Console() -> impl IntoView {
    let known = leptos::server::SharedValue::new(rendered_session);
    match known.into_inner() {
        Some(info) => {
            provide_context(info.clone());
            layout(info).into_any()
        }
        None => AskedConsole().into_any(),
    }
}

#[cfg(feature = "ssr")]
fn rendered_session() -> Option<SessionInfo> {
    crate::api::guard::rendered_session()
}

#[cfg(not(feature = "ssr"))]
fn rendered_session() -> Option<SessionInfo> {
    None
}

fn layout(info: SessionInfo) -> impl IntoView {
    view! {
        <div class="layout">
            <Header info=info.clone() />
            <Nav info />
            <main id="main" class="content">
                <Outlet />
            </main>
        </div>
    }
}

/// [`Console`] when the session is not known yet: asked for, then the layout.
#[component]
fn AskedConsole() -> impl IntoView {
    let session = Resource::new(|| (), |_| get_session());
    view! {
        <Suspense fallback=|| view! { <div class="loading">"Loading…"</div> }>
            {move || Suspend::new(async move {
                match session.await {
                    Ok(Some(info)) => {
                        provide_context(info.clone());
                        layout(info).into_any()
                    }
                    Ok(None) => view! { <Redirect path="/login" /> }.into_any(),
                    Err(e) => {
                        view! {
                            <main class="content">
                                <ErrorText error=e />
                            </main>
                        }
                            .into_any()
                    }
                }
            })}
        </Suspense>
    }
}

#[component]
fn Header(info: SessionInfo) -> impl IntoView {
    let logout = ServerAction::<Logout>::new();
    // On a phone the navigation folds behind "Menu": a checkbox, so it opens without JavaScript
    // (the CSS shows the navigation while it is ticked); choosing a page folds it again (see Nav).
    view! {
        <header class="topbar">
            <a class="skip" href="#main">"Skip to content"</a>
            <label class="nav-toggle btn btn-quiet">
                <input
                    type="checkbox"
                    id="nav-toggle"
                    class="nav-toggle-input"
                    aria-controls="main-nav"
                />
                <span aria-hidden="true" class="nav-toggle-icon">"☰"</span>
                "Menu"
            </label>
            <a class="brand" href="/">
                <span class="brand-mark" aria-hidden="true">"P"</span>
                "Provisio"
            </a>
            <div class="who">
                <span class="who-name">{info.username.clone()}</span>
                <span class="badge">{info.role.label()}</span>
                <ActionForm action=logout attr:class="inline">
                    <input type="hidden" name="csrf" value=info.csrf.clone() />
                    <button type="submit" class="btn btn-quiet">"Sign out"</button>
                </ActionForm>
            </div>
        </header>
    }
}

/// A navigation entry; `A` marks the current page with `aria-current`, which the CSS highlights.
#[component]
fn NavLink(href: &'static str, label: &'static str) -> impl IntoView {
    view! {
        <li>
            <A href=href exact=href == "/">
                {label}
            </A>
        </li>
    }
}

/// A click on a link of the navigation folds the phone's menu (the page changes in place, so
/// nothing else would untick it).
fn fold_menu(ev: leptos::ev::MouseEvent) {
    use leptos::wasm_bindgen::JsCast;
    let on_link = ev
        .target()
        .and_then(|t| t.dyn_into::<leptos::web_sys::Element>().ok())
        .and_then(|e| e.closest("a").ok().flatten())
        .is_some();
    let toggle = document()
        .get_element_by_id("nav-toggle")
        .and_then(|e| e.dyn_into::<leptos::web_sys::HtmlInputElement>().ok());
    if let (true, Some(toggle)) = (on_link, toggle) {
        toggle.set_checked(false);
    }
}

/// The navigation of the final product, showing only the screens that exist.
#[component]
fn Nav(info: SessionInfo) -> impl IntoView {
    view! {
        <nav class="sidenav" id="main-nav" aria-label="Main" on:click=fold_menu>
            <ul>
                <NavLink href="/" label="Overview" />
            </ul>
            <h2 class="nav-section">"Identity"</h2>
            <ul>
                <NavLink href="/directory/users" label="Users" />
                <NavLink href="/directory/groups" label="Groups" />
                <NavLink href="/apps" label="Enterprise applications" />
                <NavLink href="/provisioning-logs" label="Provisioning logs" />
            </ul>
            <h2 class="nav-section">"Access Management"</h2>
            <ul>
                <NavLink href="/access/accounts" label="Accounts" />
            </ul>
            <h2 class="nav-section">"Settings"</h2>
            <ul>
                {info
                    .is_admin()
                    .then(|| view! { <NavLink href="/settings/console-users" label="Console users" /> })}
                <NavLink href="/settings/notifications" label="Notifications" />
                <NavLink href="/settings/audit-log" label="Audit log" />
            </ul>
        </nav>
    }
}

#[component]
fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
        res.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Not found" />
        <main class="narrow">
            <h1>"Page not found"</h1>
            <p>"There is nothing at this address. " <a href="/">"Go to the overview"</a> "."</p>
        </main>
    }
}
