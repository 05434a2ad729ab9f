//! The engine's documented rules as pure functions: when an escrowed object is retried, when a
//! job quarantines, and whether a cycle's deletions are held.

use time::{Duration, OffsetDateTime};

/// Quarantine reasons (Entra's names).
pub const QUARANTINE_EXCEPTION: &str = "EncounteredQuarantineException";
pub const ESCROW_PROPORTION: &str = "EncounteredEscrowProportionThreshold";
pub const ESCROW_TOTAL: &str = "EncounteredTotalEscrowThreshold";
pub const TOO_MANY_DELETES: &str = "TooManyDeletes";
/// Not Entra's: its escrow thresholds (5,000 failures at least) never trip for a small tenant.
pub const CYCLE_FAILURES: &str = "EncounteredCycleFailureThreshold";

/// When an object that failed `attempts` times (the first failure at `first`) is retried next:
/// Entra retries after 6 h, 12 h and 24 h, then every 24 h for 28 days, then drops it. With the
/// base period `base` (6 h in production) that is `first` + B, 2B, 4B, 8B, 12B, ... while within
/// 112B; `None` once the object is dropped.
pub fn escrow_next(first: OffsetDateTime, attempts: i64, base: Duration) -> Option<OffsetDateTime> {
    let multiple = match attempts {
        i64::MIN..=1 => 1,
        2 => 2,
        3 => 4,
        n => 4 * (n - 2),
    };
    (multiple <= 112).then(|| first + base * multiple as i32)
}

/// The quarantine a job enters after a cycle given the objects in escrow (`failed`, of which
/// `reference_failed` failed on a reference update: manager or group members) and the provisioning
/// events that succeeded. Below 5,000 failures never; then when more than 40% of the events failed
/// or more than 40,000 did (reference failures not counted in either), or in any case at 60,000.
pub fn quarantine_for(failed: i64, reference_failed: i64, succeeded: i64) -> Option<&'static str> {
    if failed >= 60_000 {
        return Some(ESCROW_TOTAL);
    }
    if failed < 5_000 {
        return None;
    }
    let counted = failed - reference_failed;
    if counted > 40_000 {
        return Some(ESCROW_TOTAL);
    }
    if counted * 10 > (counted + succeeded) * 4 {
        return Some(ESCROW_PROPORTION);
    }
    None
}

/// Whether a cycle failed too much to go on as if nothing happened, at any scale: at least 40% of
/// at least 10 objects it acted on, or all of at least 3 (`succeeded` counts the objects created,
/// updated, disabled, deleted or found in sync).
pub fn cycle_failed_too_much(failed: i64, succeeded: i64) -> bool {
    let acted = failed + succeeded;
    (acted >= 10 && failed * 10 >= acted * 4) || (acted >= 3 && failed == acted)
}

/// Whether a cycle's `deprovisions` (disables and deletes) are held: accidental-deletion
/// prevention is on, they exceed the threshold, and the admin has not allowed them.
pub fn hold_deletes(prevent: bool, threshold: i64, deprovisions: i64, forced: bool) -> bool {
    prevent && !forced && deprovisions > threshold
}

/// How long a quarantined job waits between attempts: Entra backs off to once a day, which is
/// four base periods.
pub fn quarantine_backoff(base: Duration) -> Duration {
    base * 4
}

/// After four weeks in quarantine the job is disabled.
pub fn quarantine_expired(since: OffsetDateTime, now: OffsetDateTime, base: Duration) -> bool {
    now - since > base * 112
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn escrow_follows_entras_schedule() {
        let first = datetime!(2026-01-01 0:00 UTC);
        let h = Duration::hours(6);
        assert_eq!(escrow_next(first, 1, h), Some(datetime!(2026-01-01 6:00 UTC)));
        assert_eq!(escrow_next(first, 2, h), Some(datetime!(2026-01-01 12:00 UTC)));
        assert_eq!(escrow_next(first, 3, h), Some(datetime!(2026-01-02 0:00 UTC)));
        assert_eq!(escrow_next(first, 4, h), Some(datetime!(2026-01-03 0:00 UTC)));
        assert_eq!(escrow_next(first, 5, h), Some(datetime!(2026-01-04 0:00 UTC)));
        // Daily until 28 days after the first failure, then dropped.
        assert_eq!(escrow_next(first, 30, h), Some(datetime!(2026-01-29 0:00 UTC)));
        assert_eq!(escrow_next(first, 31, h), None);
    }

    #[test]
    fn quarantine_thresholds_match_the_documented_examples() {
        assert_eq!(quarantine_for(4_000, 0, 0), None);
        assert_eq!(quarantine_for(45_000, 0, 0), Some(ESCROW_TOTAL));
        assert_eq!(quarantine_for(30_000, 0, 5_000), Some(ESCROW_PROPORTION));
        assert_eq!(quarantine_for(20_000, 0, 100_000), None);
        // Reference failures do not count toward the two thresholds...
        assert_eq!(quarantine_for(45_000, 10_000, 100_000), None);
        // ...but everything counts toward the ceiling.
        assert_eq!(quarantine_for(60_000, 60_000, 1_000_000), Some(ESCROW_TOTAL));
    }

    #[test]
    fn a_small_tenant_whose_cycle_mostly_failed_quarantines_too() {
        assert!(cycle_failed_too_much(133, 0));
        assert!(cycle_failed_too_much(3, 0));
        assert!(cycle_failed_too_much(4, 6));
        assert!(!cycle_failed_too_much(3, 7));
        // One or two objects failing alone (an incremental cycle's only change) is an escrow,
        // not a quarantine.
        assert!(!cycle_failed_too_much(1, 0));
        assert!(!cycle_failed_too_much(2, 0));
        assert!(!cycle_failed_too_much(0, 0));
        assert!(!cycle_failed_too_much(100, 1_000));
    }

    #[test]
    fn deletes_are_held_only_above_the_threshold_unless_allowed() {
        assert!(!hold_deletes(true, 500, 500, false));
        assert!(hold_deletes(true, 500, 501, false));
        assert!(!hold_deletes(true, 500, 501, true));
        assert!(!hold_deletes(false, 500, 10_000, false));
    }

    #[test]
    fn quarantine_backs_off_daily_and_expires_after_four_weeks() {
        let h = Duration::hours(6);
        assert_eq!(quarantine_backoff(h), Duration::days(1));
        let since = datetime!(2026-01-01 0:00 UTC);
        assert!(!quarantine_expired(since, datetime!(2026-01-28 0:00 UTC), h));
        assert!(quarantine_expired(since, datetime!(2026-01-29 0:01 UTC), h));
    }
}
