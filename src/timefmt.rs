//! Timestamps are stored as fixed-width UTC text (`2026-11-28T10:55:46.123Z`): readable in the
//! database, portable across SQLite and PostgreSQL, and ordered correctly by plain string comparison.

use time::format_description::FormatItem;
use time::macros::format_description;
use time::OffsetDateTime;

const STORED: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

#[allow(
    clippy::expect_used,
    reason = "a UTC timestamp within the years the time crate holds always formats"
)]
pub fn format(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(STORED)
        .expect("a UTC timestamp always formats")
}

/// Reads back what [`format`] stored.
pub fn parse(s: &str) -> Option<OffsetDateTime> {
    time::PrimitiveDateTime::parse(s, STORED)
        .ok()
        .map(|t| t.assume_utc())
}

pub fn now() -> String {
    format(OffsetDateTime::now_utc())
}

/// The stored form of `now - d`, for "in the last 24 hours" queries.
pub fn ago(d: time::Duration) -> String {
    format(OffsetDateTime::now_utc() - d)
}

/// Validates a `YYYY-MM-DD` filter value; `None` when it is not a real date.
pub fn parse_day(s: &str) -> Option<time::Date> {
    time::Date::parse(s.trim(), format_description!("[year]-[month]-[day]")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_form_sorts_like_time() {
        let a = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let b = a + time::Duration::milliseconds(1);
        assert_eq!(format(a), "2023-11-14T22:13:20.000Z");
        assert!(format(a) < format(b));
    }

    #[test]
    fn day_filters() {
        assert!(parse_day("2026-02-28").is_some());
        assert!(parse_day("2026-02-30").is_none());
        assert!(parse_day("yesterday").is_none());
    }
}
