//! The cycles chart on Synchronization details: objects exported and failed per cycle, and each
//! cycle's duration, with labelled axes and a legend; failures are hatched as well as red, so the
//! chart reads without colour. The cycles table below it has the same figures as text.

use crate::model::CycleInfo;
use leptos::prelude::*;

const W: f64 = 640.0;
const H: f64 = 150.0;
/// Room for the y axis's numbers (left) and the x axis's labels (bottom).
const LEFT: f64 = 56.0;
const BOTTOM: f64 = 34.0;
const TOP: f64 = 10.0;

/// The smallest 1, 2 or 5 times a power of ten that is at least `v` (at least 1).
pub fn nice_max(v: f64) -> f64 {
    if v <= 1.0 {
        return 1.0;
    }
    let p = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * p)
        .find(|c| *c >= v)
        .unwrap_or(10.0 * p)
}

fn tick_label(v: f64, seconds: bool) -> String {
    let text = if v >= 10_000.0 {
        format!("{}k", (v / 1000.0).round())
    } else if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    };
    if seconds {
        format!("{text} s")
    } else {
        text
    }
}

/// One bar per cycle, oldest on the left; `values` gives (lower, upper) segments.
#[component]
fn Chart(
    title: &'static str,
    axis: &'static str,
    seconds: bool,
    cycles: Vec<CycleInfo>,
    values: fn(&CycleInfo) -> (f64, f64),
    tooltip: fn(&CycleInfo) -> String,
) -> impl IntoView {
    let max = nice_max(
        cycles
            .iter()
            .map(|c| {
                let (a, b) = values(c);
                a + b
            })
            .fold(0.0, f64::max),
    );
    let plot_h = H - TOP - BOTTOM;
    let slot = (W - LEFT) / cycles.len().max(1) as f64;
    let bar = (slot * 0.7).min(28.0);
    let y = move |v: f64| TOP + plot_h - v / max * plot_h;
    let ticks = [0.0, max / 2.0, max]
        .into_iter()
        .map(|t| {
            view! {
                <line x1=LEFT.to_string() x2=W.to_string() y1=y(t).to_string() y2=y(t).to_string() class="grid" />
                <text x=(LEFT - 6.0).to_string() y=(y(t) + 4.0).to_string() text-anchor="end" class="tick">{tick_label(t, seconds)}</text>
            }
        })
        .collect_view();
    let n = cycles.len();
    let bars = cycles
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let (low, high) = values(c);
            let x = LEFT + slot * i as f64 + (slot - bar) / 2.0;
            let (h_low, h_high) = (low / max * plot_h, high / max * plot_h);
            let label = (i == 0 || i + 1 == n || n <= 10).then(|| {
                view! {
                    <text x=(x + bar / 2.0).to_string() y=(H - BOTTOM + 14.0).to_string() text-anchor="middle" class="tick">
                        {format!("#{}", i + 1)}
                    </text>
                }
            });
            view! {
                <g>
                    <title>{tooltip(c)}</title>
                    <rect x=x.to_string() y=(TOP + plot_h - h_low).to_string() width=bar.to_string() height=h_low.to_string() class="bar-ok" />
                    <rect x=x.to_string() y=(TOP + plot_h - h_low - h_high).to_string() width=bar.to_string() height=h_high.to_string() class="bar-fail" />
                    {label}
                </g>
            }
        })
        .collect_view();
    view! {
        <figure class="cycle-chart">
            <figcaption>{title}</figcaption>
            <svg viewBox=format!("0 0 {W} {H}") role="img" aria-label=format!("{title}, {n} cycles, oldest first; the cycles table below has the figures")>
                <defs>
                    <pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
                        <rect width="6" height="6" class="hatch-bg" />
                        <line x1="0" y1="0" x2="0" y2="6" class="hatch-line" />
                    </pattern>
                </defs>
                {ticks}
                <line x1=LEFT.to_string() x2=LEFT.to_string() y1=TOP.to_string() y2=(H - BOTTOM).to_string() class="axis" />
                <line x1=LEFT.to_string() x2=W.to_string() y1=(H - BOTTOM).to_string() y2=(H - BOTTOM).to_string() class="axis" />
                <text x="12" y=(TOP + plot_h / 2.0).to_string() class="axis-title" transform=format!("rotate(-90 12 {})", TOP + plot_h / 2.0) text-anchor="middle">{axis}</text>
                <text x=(LEFT + (W - LEFT) / 2.0).to_string() y=(H - 4.0).to_string() class="axis-title" text-anchor="middle">"Cycles, oldest to newest"</text>
                {bars}
            </svg>
        </figure>
    }
}

/// Objects and durations of the latest cycles (`history` newest first, as stored).
#[component]
pub fn CycleCharts(history: Vec<CycleInfo>) -> impl IntoView {
    let oldest_first: Vec<CycleInfo> = history.into_iter().rev().collect();
    view! {
        <div class="cycle-charts">
            <Chart
                title="Objects per cycle"
                axis="Objects"
                seconds=false
                cycles=oldest_first.clone()
                values=|c| (c.counts.exported() as f64, c.counts.failed as f64)
                tooltip=|c| format!("{}: {} exported, {} failed", super::widgets::when(&c.began_at), c.counts.exported(), c.counts.failed)
            />
            <Chart
                title="Duration per cycle"
                axis="Seconds"
                seconds=true
                cycles=oldest_first
                values=|c| {
                    let s = c.duration_ms.unwrap_or(0) as f64 / 1000.0;
                    if c.state == "Failed" { (0.0, s) } else { (s, 0.0) }
                }
                tooltip=|c| format!("{}: {} ({})", super::widgets::when(&c.began_at), super::sync_details::duration(c.duration_ms), c.state)
            />
        </div>
        <p class="chart-legend">
            <span class="key key-ok" aria-hidden="true"></span>"Exported (created, updated, disabled, deleted)"
            <span class="key key-fail" aria-hidden="true"></span>"Failed (and failed cycles' durations), hatched"
        </p>
    }
}

#[cfg(test)]
mod tests {
    use super::nice_max;

    #[test]
    fn axis_maximum_is_a_round_number_at_or_above_the_data() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(3.0), 5.0);
        assert_eq!(nice_max(10.0), 10.0);
        assert_eq!(nice_max(11.0), 20.0);
        assert_eq!(nice_max(480.0), 500.0);
        assert_eq!(nice_max(100_001.0), 200_000.0);
    }
}
