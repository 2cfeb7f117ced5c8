//! An SVG of a session: the heart-rate trace, each phase's target band, the
//! phase boundaries and labels, with axes a person can read.

use std::fmt::Write;

use rct_svg::esc;

use crate::compliance::{ComplianceReport, PlannedPhase, SessionTemplate};
use crate::recording::Recording;

const W: f64 = 960.0;
const H: f64 = 420.0;
const L: f64 = 60.0;
const R: f64 = 20.0;
const T: f64 = 30.0;
const B: f64 = 50.0;

/// Renders the session as a standalone SVG document.
pub fn session_svg(
    rec: &Recording,
    template: &SessionTemplate,
    report: &ComplianceReport,
) -> String {
    let t0 = (report.start - 60.0).max(0.0);
    let t1 = report.start + template.length() + 60.0;
    let (y0, y1) = (40.0, (report.hrmax * 1.05).max(120.0));
    let x = |t: f64| L + (t - t0) / (t1 - t0) * (W - L - R);
    let y = |hr: f64| T + (1.0 - (hr - y0) / (y1 - y0)) * (H - T - B);
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{L}" y="18" font-size="14">Heart rate against the session template (HRmax {:.0} bpm; {}/{} bouts compliant)</text>"#,
        report.hrmax, report.compliant_bouts, report.bouts
    );
    for (p, r) in template.phases.iter().zip(&report.phases) {
        let (a, b) = (x(r.window[0]), x(r.window[1]));
        let color = phase_color(p, r.compliant);
        let _ = writeln!(
            s,
            r#"<rect x="{a:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{color}" fill-opacity="0.25"><title>{}: {:.0}-{:.0} bpm, {:.0} s in zone</title></rect>"#,
            y(r.zone_bpm[1]),
            (b - a).max(0.0),
            (y(r.zone_bpm[0]) - y(r.zone_bpm[1])).max(0.0),
            esc(&r.label),
            r.zone_bpm[0],
            r.zone_bpm[1],
            r.seconds_in_zone
        );
        let _ = writeln!(
            s,
            r##"<line x1="{a:.1}" y1="{T}" x2="{a:.1}" y2="{:.1}" stroke="#999" stroke-dasharray="3,3"/>"##,
            H - B
        );
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#333">{}</text>"##,
            (a + b) / 2.0,
            T + 14.0,
            esc(&r.id)
        );
    }
    // Axes and ticks.
    let _ = writeln!(
        s,
        r#"<line x1="{L}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="black"/>"#,
        H - B,
        W - R,
        H - B
    );
    let _ = writeln!(
        s,
        r#"<line x1="{L}" y1="{T}" x2="{L}" y2="{:.1}" stroke="black"/>"#,
        H - B
    );
    let mut hr = (y0 / 20.0).ceil() * 20.0;
    while hr <= y1 {
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{hr:.0}</text>"#,
            L - 6.0,
            y(hr) + 4.0
        );
        hr += 20.0;
    }
    let mut m = (t0 / 300.0).ceil() * 300.0;
    while m <= t1 {
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{:.0}</text>"#,
            x(m),
            H - B + 16.0,
            m / 60.0
        );
        m += 300.0;
    }
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">minutes into the recording</text>"#,
        (L + W - R) / 2.0,
        H - 12.0
    );
    let _ = writeln!(
        s,
        r#"<text x="16" y="{:.1}" transform="rotate(-90 16 {:.1})" text-anchor="middle">heart rate (bpm)</text>"#,
        (T + H - B) / 2.0,
        (T + H - B) / 2.0
    );
    // The trace, broken at missing values and at the gaps the compliance
    // report counted as missing (no line is drawn through a hole in the data).
    let mut path = String::new();
    let mut pen_up = true;
    let mut prev_t = f64::NEG_INFINITY;
    for smp in &rec.samples {
        if smp.t < t0 || smp.t > t1 {
            continue;
        }
        let across_gap = report
            .gaps
            .iter()
            .any(|g| g[0] >= prev_t - 1e-9 && g[1] <= smp.t + 1e-9);
        if across_gap {
            pen_up = true;
        }
        prev_t = smp.t;
        match smp.hr {
            Some(h) => {
                let _ = write!(
                    path,
                    "{}{:.1},{:.1} ",
                    if pen_up { "M" } else { "L" },
                    x(smp.t),
                    y(h.clamp(y0, y1))
                );
                pen_up = false;
            }
            None => pen_up = true,
        }
    }
    let _ = writeln!(
        s,
        r##"<path d="{path}" fill="none" stroke="#c00" stroke-width="1.5"/>"##
    );
    s.push_str("</svg>\n");
    s
}

fn phase_color(p: &PlannedPhase, compliant: Option<bool>) -> &'static str {
    match (p.bout, compliant) {
        (true, Some(true)) => "#2a9d3a",
        (true, _) => "#e08a00",
        _ => "#3a6ea5",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compliance::{compliance, Alignment};
    use crate::recording::Sample;

    #[test]
    fn the_trace_is_broken_at_gaps_and_missing_values() {
        // 1 Hz for 45 min at 150 bpm, with a 60 s hole at 600 s and one
        // invalid value at 1200 s.
        let samples = (0..2700)
            .filter(|t| !(600..660).contains(t))
            .map(|t| Sample {
                t: f64::from(t),
                hr: (t != 1200).then_some(150.0),
            })
            .collect();
        let rec = Recording {
            start_unix: None,
            samples,
            laps: Vec::new(),
            notes: Vec::new(),
        };
        let template = SessionTemplate::lupex();
        let report = compliance(&rec, &template, 190.0, Alignment::Start(0.0), 5.0).unwrap();
        assert_eq!(report.gaps.len(), 1, "{:?}", report.gaps);
        let svg = session_svg(&rec, &template, &report);
        let path = svg.lines().find(|l| l.contains("stroke=\"#c00\"")).unwrap();
        // One pen-down at the start, one after the gap, one after the invalid value.
        assert_eq!(path.matches('M').count(), 3, "{path}");
    }
}
