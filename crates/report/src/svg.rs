//! Inline SVG figures: the CONSORT flow diagram, the treatment effect across
//! an effect modifier, and the subgroup forest plot. Plain SVG 1.1 with
//! system fonts, so the files open anywhere and embed in the HTML report.

use std::fmt::Write;

use crate::analysis::{EffectCurve, Subgroup};
use crate::flow::Flow;
use crate::render::num;

pub use rct_svg::esc;
use rct_svg::{tick_label, ticks};

const FONT: &str = "font-family=\"Helvetica, Arial, sans-serif\"";

fn header(w: f64, h: f64, title: &str) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"{t}\">\n<title>{t}</title>\n<rect width=\"{w}\" height=\"{h}\" fill=\"white\"/>\n",
        t = esc(title)
    )
}

/// A box with centred lines of text; returns its height.
fn text_box(s: &mut String, x: f64, y: f64, w: f64, lines: &[String], bold_first: bool) -> f64 {
    let h = 14.0 + 16.0 * lines.len() as f64;
    let _ = writeln!(
        s,
        "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" fill=\"#f7f9fc\" stroke=\"#34495e\" stroke-width=\"1.2\" rx=\"4\"/>"
    );
    for (i, l) in lines.iter().enumerate() {
        let weight = if bold_first && i == 0 {
            " font-weight=\"bold\""
        } else {
            ""
        };
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" {FONT} font-size=\"12\" text-anchor=\"middle\"{weight}>{}</text>",
            x + w / 2.0,
            y + 18.0 + 16.0 * i as f64,
            esc(l)
        );
    }
    h
}

fn arrow(s: &mut String, x1: f64, y1: f64, x2: f64, y2: f64) {
    let _ = writeln!(
        s,
        "<line x1=\"{x1:.1}\" y1=\"{y1:.1}\" x2=\"{x2:.1}\" y2=\"{y2:.1}\" stroke=\"#34495e\" stroke-width=\"1.2\" marker-end=\"url(#arrow)\"/>"
    );
}

/// The CONSORT 2010 flow diagram.
pub fn consort(flow: &Flow, populations: &[(String, String)]) -> String {
    let k = flow.arms.len().max(1);
    let col_w = 250.0;
    let gap = 30.0;
    let width = (k as f64 * col_w + (k as f64 - 1.0) * gap + 40.0).max(640.0);
    let mut body = String::new();
    let cx = width / 2.0;
    let top_w = 260.0;
    let mut y = 20.0;
    let h = text_box(
        &mut body,
        cx - top_w / 2.0 - 120.0,
        y,
        top_w,
        &[format!("Assessed for eligibility (n = {})", flow.assessed)],
        false,
    );
    let excl_lines = vec![
        format!(
            "Excluded (n = {})",
            flow.ineligible + flow.undetermined + flow.declined + flow.eligible_not_randomised
        ),
        format!("Not meeting criteria (n = {})", flow.ineligible),
        format!("Eligibility undetermined (n = {})", flow.undetermined),
        format!("Declined to participate (n = {})", flow.declined),
        format!(
            "Eligible, not randomised (n = {})",
            flow.eligible_not_randomised
        ),
    ];
    let ex_x = cx + 20.0;
    let ex_y = y + h + 10.0;
    let main_x = cx - 120.0;
    let ex_h = text_box(&mut body, ex_x, ex_y, top_w, &excl_lines, true);
    arrow(&mut body, main_x, y + h, main_x, ex_y + ex_h + 20.0);
    arrow(
        &mut body,
        main_x,
        ex_y + ex_h / 2.0,
        ex_x,
        ex_y + ex_h / 2.0,
    );
    y = ex_y + ex_h + 20.0;
    let rh = text_box(
        &mut body,
        main_x - top_w / 2.0,
        y,
        top_w,
        &[format!("Randomised (n = {})", flow.randomised)],
        true,
    );
    let branch_y = y + rh + 15.0;
    let _ = writeln!(
        body,
        "<line x1=\"{main_x:.1}\" y1=\"{:.1}\" x2=\"{main_x:.1}\" y2=\"{branch_y:.1}\" stroke=\"#34495e\" stroke-width=\"1.2\"/>",
        y + rh
    );
    let x0 = (width - (k as f64 * col_w + (k as f64 - 1.0) * gap)) / 2.0;
    let centres: Vec<f64> = (0..k)
        .map(|i| x0 + i as f64 * (col_w + gap) + col_w / 2.0)
        .collect();
    if let (Some(first), Some(last)) = (centres.first(), centres.last()) {
        let _ = writeln!(
            body,
            "<line x1=\"{:.1}\" y1=\"{branch_y:.1}\" x2=\"{:.1}\" y2=\"{branch_y:.1}\" stroke=\"#34495e\" stroke-width=\"1.2\"/>",
            first.min(main_x),
            last.max(main_x)
        );
    }
    let stage_labels = ["Allocation", "Follow-up", "Analysis"];
    let mut max_y: f64 = 0.0;
    let mut stage_y = [0.0f64; 3];
    // First pass: measure each stage's tallest box so rows line up.
    let arm_lines: Vec<[Vec<String>; 3]> = flow
        .arms
        .iter()
        .map(|a| {
            let mut alloc = wrap(&format!("Allocated to {}", a.label), 34);
            alloc.push(format!("(n = {})", a.allocated));
            let mut fu = vec![format!(
                "Discontinued intervention (n = {})",
                a.discontinued
            )];
            for (r, n) in &a.discontinued_reasons {
                fu.push(format!("· {} (n = {n})", truncate(r, 30)));
            }
            fu.push(format!("Withdrawn (n = {})", a.withdrawn));
            for (r, n) in &a.reasons {
                fu.push(format!("· {} (n = {n})", truncate(r, 30)));
            }
            fu.push(format!(
                "Primary outcome recorded (n = {})",
                a.outcome_recorded
            ));
            fu.push(format!(
                "Primary outcome missing (n = {})",
                a.outcome_missing
            ));
            let mut an = vec!["Analysed".to_string()];
            for (id, label) in populations {
                let n = a.populations.get(id).copied().unwrap_or(0);
                an.push(format!("{} (n = {n})", truncate(label, 30)));
            }
            [alloc, fu, an]
        })
        .collect();
    let mut heights = [0.0f64; 3];
    for lines in &arm_lines {
        for s in 0..3 {
            heights[s] = heights[s].max(14.0 + 16.0 * lines[s].len() as f64);
        }
    }
    let mut yy = branch_y + 22.0;
    for s in 0..3 {
        stage_y[s] = yy;
        yy += heights[s] + 34.0;
    }
    for (i, lines) in arm_lines.iter().enumerate() {
        let c = centres[i];
        arrow(&mut body, c, branch_y, c, stage_y[0]);
        for s in 0..3 {
            let h = text_box(
                &mut body,
                c - col_w / 2.0,
                stage_y[s],
                col_w,
                &lines[s],
                s != 1,
            );
            // Pad the box to the row height so arrows line up.
            if s < 2 {
                arrow(&mut body, c, stage_y[s] + h, c, stage_y[s + 1]);
            }
            max_y = max_y.max(stage_y[s] + heights[s]);
        }
    }
    for (s, label) in stage_labels.iter().enumerate() {
        let _ = writeln!(
            body,
            "<text x=\"18\" y=\"{:.1}\" {FONT} font-size=\"11\" fill=\"#7f8c8d\" transform=\"rotate(-90 18 {:.1})\" text-anchor=\"middle\">{label}</text>",
            stage_y[s] + heights[s] / 2.0,
            stage_y[s] + heights[s] / 2.0
        );
    }
    let height = max_y + 20.0;
    let mut s = header(width, height, "CONSORT flow diagram");
    s.push_str("<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#34495e\"/></marker></defs>\n");
    s.push_str(&body);
    s.push_str("</svg>\n");
    s
}

/// Splits text into lines of at most `n` characters at spaces.
fn wrap(s: &str, n: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut cur = String::new();
    for word in s.split_whitespace() {
        if !cur.is_empty() && cur.chars().count() + 1 + word.chars().count() > n {
            lines.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(word);
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let t: String = s.chars().take(n - 1).collect();
        format!("{t}…")
    }
}

/// The effect of `arm` across the modifier: line, 95 % band, zero line, rug.
pub fn effect_curve(
    c: &EffectCurve,
    arm_label: &str,
    control_label: &str,
    modifier_label: &str,
) -> String {
    let (w, h) = (640.0, 380.0);
    let (ml, mr, mt, mb) = (70.0, 20.0, 40.0, 60.0);
    let xs: Vec<f64> = c.points.iter().map(|p| p.0).collect();
    let (x_lo, x_hi) = (
        xs.first().copied().unwrap_or(0.0),
        xs.last().copied().unwrap_or(1.0),
    );
    let mut y_lo = c.points.iter().map(|p| p.2).fold(0.0, f64::min);
    let mut y_hi = c.points.iter().map(|p| p.3).fold(0.0, f64::max);
    let pad = (y_hi - y_lo).max(1e-9) * 0.05;
    y_lo -= pad;
    y_hi += pad;
    let sx = |x: f64| ml + (x - x_lo) / (x_hi - x_lo).max(1e-12) * (w - ml - mr);
    let sy = |y: f64| mt + (y_hi - y) / (y_hi - y_lo).max(1e-12) * (h - mt - mb);
    let title = format!("Effect of {arm_label} vs {control_label} across {modifier_label}");
    let mut s = header(w, h, &title);
    let _ = writeln!(
        s,
        "<text x=\"{:.1}\" y=\"22\" {FONT} font-size=\"14\" text-anchor=\"middle\" font-weight=\"bold\">{}</text>",
        w / 2.0,
        esc(&title)
    );
    // Axes and grid.
    for t in ticks(y_lo, y_hi, 6) {
        let y = sy(t);
        let _ = writeln!(
            s,
            "<line x1=\"{ml}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#ecf0f1\"/>",
            w - mr
        );
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" {FONT} font-size=\"11\" text-anchor=\"end\">{}</text>",
            ml - 6.0,
            y + 4.0,
            tick_label(t)
        );
    }
    for t in ticks(x_lo, x_hi, 8) {
        let x = sx(t);
        let _ = writeln!(
            s,
            "<line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#34495e\"/>",
            h - mb,
            h - mb + 5.0
        );
        let _ = writeln!(s, "<text x=\"{x:.1}\" y=\"{:.1}\" {FONT} font-size=\"11\" text-anchor=\"middle\">{}</text>", h - mb + 18.0, tick_label(t));
    }
    let _ = writeln!(s, "<rect x=\"{ml}\" y=\"{mt}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"none\" stroke=\"#34495e\"/>", w - ml - mr, h - mt - mb);
    // Band.
    let mut band = String::new();
    for p in &c.points {
        let _ = write!(band, "{:.2},{:.2} ", sx(p.0), sy(p.3));
    }
    for p in c.points.iter().rev() {
        let _ = write!(band, "{:.2},{:.2} ", sx(p.0), sy(p.2));
    }
    let _ = writeln!(
        s,
        "<polygon points=\"{}\" fill=\"#2e86c1\" fill-opacity=\"0.2\" stroke=\"none\"/>",
        band.trim_end()
    );
    // Zero line.
    let _ = writeln!(s, "<line x1=\"{ml}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#7f8c8d\" stroke-dasharray=\"5,4\"/>", sy(0.0), w - mr, sy(0.0));
    let line: Vec<String> = c
        .points
        .iter()
        .map(|p| format!("{:.2},{:.2}", sx(p.0), sy(p.1)))
        .collect();
    let _ = writeln!(
        s,
        "<polyline points=\"{}\" fill=\"none\" stroke=\"#1b4f72\" stroke-width=\"2\"/>",
        line.join(" ")
    );
    // Rug.
    for v in &c.observed {
        let x = sx(*v);
        let _ = writeln!(s, "<line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#1b4f72\" stroke-opacity=\"0.6\"/>", h - mb - 8.0, h - mb);
    }
    let _ = writeln!(
        s,
        "<text x=\"{:.1}\" y=\"{:.1}\" {FONT} font-size=\"12\" text-anchor=\"middle\">{}</text>",
        ml + (w - ml - mr) / 2.0,
        h - 18.0,
        esc(modifier_label)
    );
    let _ = writeln!(s, "<text x=\"16\" y=\"{:.1}\" {FONT} font-size=\"12\" text-anchor=\"middle\" transform=\"rotate(-90 16 {:.1})\">Treatment effect (95 % CI)</text>", mt + (h - mt - mb) / 2.0, mt + (h - mt - mb) / 2.0);
    s.push_str("</svg>\n");
    s
}

/// Forest plot of subgroup arm effects.
pub fn forest(rows: &[Subgroup], title: &str) -> String {
    let row_h = 26.0;
    let (w, top) = (760.0, 60.0);
    let h = top + row_h * rows.len() as f64 + 50.0;
    let (px0, px1) = (300.0, 560.0);
    let ests: Vec<&crate::analysis::Estimate> =
        rows.iter().filter_map(|r| r.estimate.as_ref()).collect();
    let mut lo = ests.iter().map(|e| e.ci_low).fold(0.0, f64::min);
    let mut hi = ests.iter().map(|e| e.ci_high).fold(0.0, f64::max);
    let pad = (hi - lo).max(1e-9) * 0.05;
    lo -= pad;
    hi += pad;
    let sx = |x: f64| px0 + (x - lo) / (hi - lo).max(1e-12) * (px1 - px0);
    let mut s = header(w, h, title);
    let _ = writeln!(s, "<text x=\"{:.1}\" y=\"22\" {FONT} font-size=\"14\" text-anchor=\"middle\" font-weight=\"bold\">{}</text>", w / 2.0, esc(title));
    let _ = writeln!(
        s,
        "<text x=\"12\" y=\"48\" {FONT} font-size=\"12\" font-weight=\"bold\">Subgroup</text>"
    );
    let _ = writeln!(s, "<text x=\"270\" y=\"48\" {FONT} font-size=\"12\" font-weight=\"bold\" text-anchor=\"end\">n</text>");
    let _ = writeln!(s, "<text x=\"{:.1}\" y=\"48\" {FONT} font-size=\"12\" font-weight=\"bold\">Estimate (95 % CI)</text>", px1 + 14.0);
    let bottom = top + row_h * rows.len() as f64;
    // Row shading first, so the zero line and intervals sit on top.
    for i in (0..rows.len()).step_by(2) {
        let y = top + row_h * i as f64;
        let _ = writeln!(
            s,
            "<rect x=\"4\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{row_h}\" fill=\"#f4f6f7\"/>",
            w - 8.0
        );
    }
    let _ = writeln!(s, "<line x1=\"{0:.1}\" y1=\"{top}\" x2=\"{0:.1}\" y2=\"{bottom:.1}\" stroke=\"#7f8c8d\" stroke-dasharray=\"4,3\"/>", sx(0.0));
    for (i, r) in rows.iter().enumerate() {
        let y = top + row_h * (i as f64 + 0.5);
        let label = if r.factor == "All" {
            "All participants".to_string()
        } else {
            format!("{}: {}", r.factor, r.level)
        };
        let _ = writeln!(
            s,
            "<text x=\"12\" y=\"{:.1}\" {FONT} font-size=\"12\">{}</text>",
            y + 4.0,
            esc(&truncate(&label, 40))
        );
        let _ = writeln!(
            s,
            "<text x=\"270\" y=\"{:.1}\" {FONT} font-size=\"12\" text-anchor=\"end\">{}</text>",
            y + 4.0,
            r.n
        );
        match &r.estimate {
            Some(e) => {
                let _ = writeln!(s, "<line x1=\"{:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#1b4f72\" stroke-width=\"1.5\"/>", sx(e.ci_low), sx(e.ci_high));
                let size = if r.factor == "All" { 6.0 } else { 4.5 };
                let shape = if r.factor == "All" {
                    format!("<polygon points=\"{:.1},{y:.1} {:.1},{:.1} {:.1},{y:.1} {:.1},{:.1}\" fill=\"#1b4f72\"/>", sx(e.estimate) - size * 1.4, sx(e.estimate), y - size, sx(e.estimate) + size * 1.4, sx(e.estimate), y + size)
                } else {
                    format!("<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#1b4f72\"/>", sx(e.estimate) - size, y - size, 2.0 * size, 2.0 * size)
                };
                s.push_str(&shape);
                s.push('\n');
                let _ = writeln!(
                    s,
                    "<text x=\"{:.1}\" y=\"{:.1}\" {FONT} font-size=\"12\">{} ({}, {})</text>",
                    px1 + 14.0,
                    y + 4.0,
                    num(e.estimate, 2),
                    num(e.ci_low, 2),
                    num(e.ci_high, 2)
                );
            }
            None => {
                let _ = writeln!(s, "<text x=\"{:.1}\" y=\"{:.1}\" {FONT} font-size=\"12\" fill=\"#7f8c8d\">not estimable</text>", px1 + 14.0, y + 4.0);
            }
        }
    }
    let _ = writeln!(s, "<line x1=\"{px0}\" y1=\"{bottom:.1}\" x2=\"{px1}\" y2=\"{bottom:.1}\" stroke=\"#34495e\"/>");
    for t in ticks(lo, hi, 6) {
        let x = sx(t);
        let _ = writeln!(s, "<line x1=\"{x:.1}\" y1=\"{bottom:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#34495e\"/>", bottom + 5.0);
        let _ = writeln!(s, "<text x=\"{x:.1}\" y=\"{:.1}\" {FONT} font-size=\"11\" text-anchor=\"middle\">{}</text>", bottom + 18.0, tick_label(t));
    }
    let _ = writeln!(s, "<text x=\"{:.1}\" y=\"{:.1}\" {FONT} font-size=\"11\" text-anchor=\"middle\" fill=\"#555\">difference vs control</text>", (px0 + px1) / 2.0, bottom + 36.0);
    s.push_str("</svg>\n");
    s
}
