//! How a directory object becomes a SCIM resource, as Entra's provisioning service defines it:
//!
//! - [`expr`]: the expression language of attribute mappings (`Join(" ", [givenName], [surname])`),
//!   parsed with positions for error messages, printed back canonically, evaluated against a
//!   [`expr::Context`] that supplies attributes, the clock and randomness;
//! - [`scoping`]: scoping filters (clauses ANDed within a filter, filters ORed) with Entra's 14
//!   operators and their null and case rules;
//! - [`target`]: validation of the SCIM path an attribute mapping writes to;
//! - [`export`]: attribute mappings applied to one object, placed in a SCIM resource document;
//! - [`netdate`]: the .NET date and time format strings that `FormatDateTime` speaks;
//! - [`text`]: folding text for comparison (diacritics, case).
//!
//! Everything here is pure so that it can be unit-, property- and fuzz-tested in isolation.

pub mod export;
pub mod expr;
pub mod netdate;
pub mod scoping;
pub mod target;
pub mod text;
pub mod value;

pub use value::Value;
