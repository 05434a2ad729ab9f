//! Identifiers. Every object Provisio creates (users, groups, applications, accounts, keys, jobs,
//! cycles, log entries, imports ...) is named by a UUIDv7: unique without coordination between
//! instances, and time-ordered, so inserts append to the primary-key index instead of scattering.

/// A new identifier, in the hyphenated form stored and shown everywhere.
pub fn new() -> String {
    uuid::Uuid::now_v7().to_string()
}
