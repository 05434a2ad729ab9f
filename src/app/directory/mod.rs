//! The directory: users, deleted users, groups, import.

mod groups;
mod import;
mod user_list;
mod users;

pub use groups::{GroupPage, GroupsPage};
pub use import::{ImportPage, ImportPreviewPage};
pub use users::{DeletedUsersPage, NewUserPage, UserPage, UsersPage};

use leptos::prelude::*;
use leptos_router::components::A;

/// The directory's tabs.
#[component]
fn DirectoryNav() -> impl IntoView {
    view! {
        <nav class="tabs" aria-label="Directory">
            <A href="/directory/users" exact=true>"Users"</A>
            <A href="/directory/deleted-users">"Deleted users"</A>
            <A href="/directory/groups" exact=true>"Groups"</A>
            <A href="/directory/import" exact=true>"Import"</A>
        </nav>
    }
}
