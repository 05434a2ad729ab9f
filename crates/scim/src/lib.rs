//! The SCIM 2.0 protocol (RFC 7643/7644), pure: no I/O, no async. The SCIM endpoint and the SCIM
//! client both build on it.

pub mod error;
pub mod eval;
pub mod filter;
pub mod patch;
pub mod path;
pub mod resource;
pub mod schema;
