//! The provisioning service: the application gallery and the enterprise applications added from
//! it, with their assignments. (Mappings, scoping and the engine arrive in their own modules.)

pub mod apps;
pub mod gallery;
