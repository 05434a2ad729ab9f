//! Provisio: an identity provisioning service (the Entra side) and a SCIM 2.0 service provider
//! (the application side) in one binary.
//!
//! The library is compiled twice: with `ssr` for the server binary and with `hydrate` for the
//! browser's wasm. Modules below the `ssr` line never reach the browser.

pub mod api;
pub mod app;
pub mod model;
pub mod urlenc;
/// The mapping language (expressions, scoping filters, target paths), pure, in `crates/mapping`.
#[cfg(feature = "ssr")]
pub use provisio_mapping as mapping;
/// The SCIM protocol lives in its own crate (`crates/scim`), pure and fuzzable on its own.
#[cfg(feature = "ssr")]
pub use provisio_scim as scim;

#[cfg(feature = "ssr")]
pub mod accounts;
#[cfg(feature = "ssr")]
pub mod assets;
#[cfg(feature = "ssr")]
pub mod audit;
#[cfg(feature = "ssr")]
pub mod auth;
#[cfg(feature = "ssr")]
pub mod bench;
#[cfg(feature = "ssr")]
pub mod cli;
#[cfg(feature = "ssr")]
pub mod config;
#[cfg(feature = "ssr")]
pub mod datadir_lock;
#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod directory;
#[cfg(feature = "ssr")]
pub mod ids;
#[cfg(feature = "ssr")]
pub mod input;
#[cfg(feature = "ssr")]
pub mod instance;
#[cfg(feature = "ssr")]
pub mod maintenance;
#[cfg(feature = "ssr")]
pub mod metrics;
#[cfg(feature = "ssr")]
pub mod notify;
#[cfg(feature = "ssr")]
pub mod outbound;
#[cfg(feature = "ssr")]
pub mod provisioning;
#[cfg(feature = "ssr")]
pub mod render;
#[cfg(feature = "ssr")]
pub mod scim_client;
#[cfg(feature = "ssr")]
pub mod scim_server;
#[cfg(feature = "ssr")]
pub mod secrets;
#[cfg(feature = "ssr")]
pub mod server;
#[cfg(feature = "ssr")]
pub mod session_store;
#[cfg(feature = "ssr")]
pub mod state;
#[cfg(feature = "ssr")]
pub mod timefmt;

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
