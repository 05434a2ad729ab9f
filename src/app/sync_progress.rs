//! What the progress of a cycle says: its phase, how many objects, how fast, how long is left and
//! whether the application's rate limit holds it back; and what colour its bar is.

use crate::model::{plural, CycleInfo};

/// The bar's colour: running or done (brand), failed (red), a cycle with nothing to do (grey).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Running,
    Done,
    Failed,
    Empty,
}

impl Tone {
    pub fn css(self) -> &'static str {
        match self {
            Tone::Running => "progress-bar",
            Tone::Done => "progress-bar progress-done",
            Tone::Failed => "progress-bar progress-failed",
            Tone::Empty => "progress-bar progress-empty",
        }
    }
}

pub struct Progress {
    pub percent: u8,
    pub tone: Tone,
    /// One line under the bar.
    pub text: String,
}

fn phase_label(phase: &str) -> &'static str {
    match phase {
        "users" => "users",
        "references" => "manager references",
        "deprovisions" => "disables and deletes",
        "groups" => "groups and members",
        _ => "starting",
    }
}

/// "about 6 min", "about 40 s", "about 2 h 5 min".
pub fn rough(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as i64;
    match s {
        0..=59 => format!("about {s} s"),
        60..=3599 => format!("about {} min", (s + 30) / 60),
        _ => format!("about {} h {} min", s / 3600, (s % 3600) / 60),
    }
}

pub fn progress(c: &CycleInfo, rate_limit: i64) -> Progress {
    let (done, total) = (c.counts.processed, c.counts.total);
    let of = format!("{done} of {}", plural(total, "object", "objects"));
    match c.state.as_str() {
        "Running" => {
            let mut parts = vec![format!("Phase: {}", phase_label(&c.phase)), of];
            let seconds = c.duration_ms.unwrap_or(0) as f64 / 1000.0;
            if done > 0 && seconds >= 2.0 {
                let rate = done as f64 / seconds;
                parts.push(match rate {
                    r if r >= 10.0 => format!("{r:.0} objects/s"),
                    r => format!("{r:.1} objects/s"),
                });
                if total > done {
                    parts.push(format!("{} left", rough((total - done) as f64 / rate)));
                }
            }
            if rate_limit > 0 {
                parts.push(format!(
                    "throttled to {}/s",
                    plural(rate_limit, "request", "requests")
                ));
            }
            Progress {
                percent: c.percent,
                tone: Tone::Running,
                text: parts.join(" · "),
            }
        }
        "Failed" => Progress {
            percent: c.percent.max(1),
            tone: Tone::Failed,
            text: match c.error.lines().next().filter(|e| !e.is_empty()) {
                Some(e) => format!("Failed after {of}: {e}"),
                None => format!("Failed after {of}"),
            },
        },
        _ if total == 0 => Progress {
            percent: 100,
            tone: Tone::Empty,
            text: "Nothing had changed: no objects to look at.".into(),
        },
        state => Progress {
            percent: 100,
            tone: Tone::Done,
            text: match state {
                "EntryLevelErrors" => format!("{of}, {} failed", c.counts.failed),
                _ => of,
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::CycleCounts;

    fn cycle(state: &str, processed: i64, total: i64, ms: i64) -> CycleInfo {
        CycleInfo {
            id: "c".into(),
            kind: "initial".into(),
            began_at: String::new(),
            ended_at: None,
            state: state.into(),
            duration_ms: Some(ms),
            percent: match total {
                0 => 0,
                t => (processed * 100 / t) as u8,
            },
            phase: "users".into(),
            counts: CycleCounts {
                processed,
                total,
                ..Default::default()
            },
            error: String::new(),
        }
    }

    #[test]
    fn a_rate_limited_cycle_says_how_fast_how_long_and_why() {
        // 290 of 500 objects in 5 minutes at 1 request/s.
        let p = progress(&cycle("Running", 290, 500, 300_000), 1);
        assert_eq!(p.tone, Tone::Running);
        assert_eq!(p.percent, 58);
        assert_eq!(
            p.text,
            "Phase: users · 290 of 500 objects · 1.0 objects/s · about 4 min left · throttled to 1 request/s"
        );
    }

    #[test]
    fn no_rate_before_there_is_one() {
        let p = progress(&cycle("Running", 0, 500, 900), 0);
        assert_eq!(p.text, "Phase: users · 0 of 500 objects");
    }

    #[test]
    fn failed_is_red_and_says_where_it_stopped() {
        let mut c = cycle("Failed", 0, 0, 40);
        c.error = "The application refused the credentials (401)\nmore".into();
        let p = progress(&c, 0);
        assert_eq!(p.tone, Tone::Failed);
        assert_eq!(
            p.text,
            "Failed after 0 of 0 objects: The application refused the credentials (401)"
        );
    }

    #[test]
    fn an_empty_cycle_is_not_a_full_bar() {
        let p = progress(&cycle("Succeeded", 0, 0, 12), 0);
        assert_eq!((p.tone, p.percent), (Tone::Empty, 100));
        assert!(p.text.starts_with("Nothing had changed"));
    }

    #[test]
    fn rough_times() {
        assert_eq!(rough(40.2), "about 40 s");
        assert_eq!(rough(210.0), "about 4 min");
        assert_eq!(rough(7_500.0), "about 2 h 5 min");
    }
}
