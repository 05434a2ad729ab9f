//! An application's provisioning health, judged from its job, its last completed cycle and its
//! escrows: the one verdict Overview, the applications list and the application pages show.

use crate::db::health::HealthRow;
use crate::db::vocab::{CycleState, JobState};
use crate::model::{plural, AppHealth, HealthStatus};

/// The short form of a quarantine reason, for a badge's line (the provisioning page says more).
fn quarantine_short(reason: &str) -> &'static str {
    match reason {
        "TooManyDeletes" => "deletes held by accidental-deletion prevention",
        "EncounteredQuarantineException" => "the application refused the credentials",
        "EncounteredEscrowProportionThreshold" | "EncounteredTotalEscrowThreshold" => {
            "too many operations failed"
        }
        "EncounteredCycleFailureThreshold" => "the last cycle failed for most objects",
        _ => "paused after failures",
    }
}

/// The first line of a cycle's error, at most 120 characters.
fn short_error(e: &str) -> String {
    let line = e.lines().next().unwrap_or("").trim();
    match line.char_indices().nth(120) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line.to_string(),
    }
}

pub fn assess(r: &HealthRow) -> AppHealth {
    let (status, reason) = verdict(r);
    AppHealth {
        status,
        reason,
        last_cycle_at: r.last_ended_at.clone(),
        last_cycle_state: r.last_state.map(|s| s.as_str().to_string()),
        escrowed: r.escrowed,
    }
}

fn verdict(r: &HealthRow) -> (HealthStatus, String) {
    if !r.automatic {
        return (HealthStatus::Off, "Provisioning Mode is Manual".into());
    }
    if !r.status_on {
        return (HealthStatus::Off, "Provisioning Status is Off".into());
    }
    match r.job_state {
        Some(JobState::Quarantine) => {
            return (
                HealthStatus::Quarantine,
                format!("In quarantine: {}", quarantine_short(&r.quarantine_reason)),
            )
        }
        Some(JobState::Disabled) => {
            return (
                HealthStatus::Quarantine,
                "Stopped after four weeks in quarantine: restart provisioning".into(),
            )
        }
        _ => {}
    }
    let mut problems = Vec::new();
    match r.last_state {
        Some(CycleState::Failed) => {
            let error = short_error(&r.last_error);
            problems.push(match error.is_empty() {
                true => "The last cycle failed".to_string(),
                false => format!("The last cycle failed: {error}"),
            });
        }
        Some(s) if r.last_failed > 0 || s == CycleState::EntryLevelErrors => {
            problems.push(match r.last_failed {
                0 => "The last cycle had errors".to_string(),
                n => format!("The last cycle had {}", plural(n, "failure", "failures")),
            })
        }
        _ => {}
    }
    if r.escrowed > 0 {
        problems.push(format!(
            "{} waiting for a retry",
            plural(r.escrowed, "object", "objects")
        ));
    }
    if !problems.is_empty() {
        return (HealthStatus::Warning, problems.join("; "));
    }
    let reason = match (r.last_state, r.running) {
        (None, true) => "The first cycle is running",
        (None, false) => "Waiting for the first cycle",
        (Some(_), true) => "A cycle is running; the last one succeeded",
        (Some(_), false) => "The last cycle succeeded",
    };
    (HealthStatus::Healthy, reason.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on() -> HealthRow {
        HealthRow {
            app_id: "a".into(),
            app_name: "A".into(),
            status_on: true,
            automatic: true,
            job_state: Some(JobState::Active),
            quarantine_reason: String::new(),
            last_state: Some(CycleState::Succeeded),
            last_ended_at: Some("2026-12-06T05:00:00Z".into()),
            last_failed: 0,
            last_error: String::new(),
            running: false,
            escrowed: 0,
        }
    }

    #[test]
    fn off_and_manual_are_off_whatever_the_job_says() {
        let r = HealthRow {
            status_on: false,
            job_state: Some(JobState::Quarantine),
            ..on()
        };
        assert_eq!(assess(&r).status, HealthStatus::Off);
        let r = HealthRow {
            automatic: false,
            ..on()
        };
        let h = assess(&r);
        assert_eq!(
            (h.status, h.reason.as_str()),
            (HealthStatus::Off, "Provisioning Mode is Manual")
        );
    }

    #[test]
    fn quarantine_names_its_reason_and_beats_everything_else() {
        let r = HealthRow {
            job_state: Some(JobState::Quarantine),
            quarantine_reason: "TooManyDeletes".into(),
            escrowed: 3,
            ..on()
        };
        let h = assess(&r);
        assert_eq!(h.status, HealthStatus::Quarantine);
        assert!(h.reason.contains("accidental-deletion"), "{}", h.reason);
        let r = HealthRow {
            job_state: Some(JobState::Disabled),
            ..on()
        };
        assert_eq!(assess(&r).status, HealthStatus::Quarantine);
    }

    #[test]
    fn failures_and_escrows_are_warnings_with_counts() {
        let r = HealthRow {
            last_state: Some(CycleState::EntryLevelErrors),
            last_failed: 2,
            escrowed: 1,
            ..on()
        };
        let h = assess(&r);
        assert_eq!(h.status, HealthStatus::Warning);
        assert_eq!(
            h.reason,
            "The last cycle had 2 failures; 1 object waiting for a retry"
        );
        assert_eq!(h.escrowed, 1);
        let r = HealthRow {
            last_state: Some(CycleState::Failed),
            last_error: format!("{}\nsecond line", "x".repeat(200)),
            ..on()
        };
        let h = assess(&r);
        assert_eq!(h.status, HealthStatus::Warning);
        assert!(
            h.reason.ends_with('…') && !h.reason.contains("second"),
            "{}",
            h.reason
        );
    }

    #[test]
    fn a_clean_job_is_healthy_and_says_where_it_is() {
        assert_eq!(assess(&on()).status, HealthStatus::Healthy);
        assert_eq!(assess(&on()).reason, "The last cycle succeeded");
        let r = HealthRow {
            job_state: None,
            last_state: None,
            last_ended_at: None,
            running: true,
            ..on()
        };
        let h = assess(&r);
        assert_eq!(
            (h.status, h.reason.as_str()),
            (HealthStatus::Healthy, "The first cycle is running")
        );
        assert_eq!(h.last_cycle_at, None);
    }

    #[test]
    fn worst_sorts_first() {
        let mut v = vec![
            HealthStatus::Off,
            HealthStatus::Healthy,
            HealthStatus::Quarantine,
            HealthStatus::Warning,
        ];
        v.sort();
        assert_eq!(
            v,
            [
                HealthStatus::Quarantine,
                HealthStatus::Warning,
                HealthStatus::Healthy,
                HealthStatus::Off
            ]
        );
    }
}
