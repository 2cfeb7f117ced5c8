//! Hand-written SVG figures: the QC overview and the score distribution.

use std::fmt::Write;

use rct_svg::{esc, tick_label as tick};

use crate::ifn::ScoreReport;
use crate::normalise::Normalised;
use crate::qc::LaneQc;
use crate::sample::file_stem;

const W: f64 = 960.0;
const LEFT: f64 = 140.0;
const RIGHT: f64 = 20.0;
/// Height of one panel: title, plot and room for lane labels rotated below.
const PANEL_H: f64 = 300.0;
const PLOT_H: f64 = 150.0;

/// Round tick values covering `lo..=hi` (about six steps).
fn nice_ticks(lo: f64, hi: f64) -> Vec<f64> {
    rct_svg::ticks(lo, hi, 6)
}

#[derive(Clone, Copy)]
enum Scale {
    Linear(f64, f64),
    Log10(f64, f64),
}

impl Scale {
    fn frac(self, v: f64) -> f64 {
        let f = match self {
            Scale::Linear(a, b) => (v - a) / (b - a),
            Scale::Log10(a, b) => (v.max(1e-300).log10() - a.log10()) / (b.log10() - a.log10()),
        };
        f.clamp(-0.02, 1.02)
    }
}

struct Panel<'a> {
    out: &'a mut String,
    top: f64,
    n: usize,
    scale: Scale,
}

impl Panel<'_> {
    fn x(&self, i: usize) -> f64 {
        let w = W - LEFT - RIGHT;
        LEFT + w * (i as f64 + 0.5) / self.n.max(1) as f64
    }
    fn y(&self, v: f64) -> f64 {
        self.top + 30.0 + PLOT_H * (1.0 - self.scale.frac(v))
    }
    fn frame(&mut self, title: &str, ticks: &[f64], labels: &[String]) {
        let (t, b) = (self.top + 30.0, self.top + 30.0 + PLOT_H);
        let _ = writeln!(
            self.out,
            r##"<text x="{LEFT}" y="{}" font-size="14" font-weight="bold">{}</text>"##,
            self.top + 20.0,
            esc(title)
        );
        let _ = writeln!(
            self.out,
            r##"<rect x="{LEFT}" y="{t}" width="{}" height="{PLOT_H}" fill="none" stroke="#444"/>"##,
            W - LEFT - RIGHT
        );
        for &v in ticks {
            let y = self.y(v);
            let _ = writeln!(
                self.out,
                r##"<line x1="{}" y1="{y:.1}" x2="{LEFT}" y2="{y:.1}" stroke="#444"/><text x="{}" y="{:.1}" font-size="11" text-anchor="end">{}</text>"##,
                LEFT - 4.0,
                LEFT - 6.0,
                y + 4.0,
                tick(v)
            );
        }
        if labels.len() <= 48 {
            for (i, l) in labels.iter().enumerate() {
                let x = self.x(i);
                let _ = writeln!(
                    self.out,
                    r##"<text x="{x:.1}" y="{}" font-size="9" text-anchor="end" transform="rotate(-35 {x:.1} {})">{}</text>"##,
                    b + 12.0,
                    b + 12.0,
                    esc(l)
                );
            }
        } else {
            let _ = writeln!(
                self.out,
                r##"<text x="{}" y="{}" font-size="11" text-anchor="middle">{} samples</text>"##,
                (LEFT + W - RIGHT) / 2.0,
                b + 16.0,
                labels.len()
            );
        }
    }
    fn hline(&mut self, v: f64, colour: &str, label: &str) {
        let y = self.y(v);
        let _ = writeln!(
            self.out,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="{colour}" stroke-dasharray="6 4"/><text x="{}" y="{:.1}" font-size="10" fill="{colour}" text-anchor="end">{}</text>"##,
            W - RIGHT,
            W - RIGHT - 4.0,
            y - 3.0,
            esc(label)
        );
    }
    fn dot(&mut self, i: usize, v: f64, colour: &str, square: bool, title: &str) {
        let (x, y) = (self.x(i), self.y(v));
        if square {
            let _ = writeln!(
                self.out,
                r##"<rect x="{:.1}" y="{:.1}" width="8" height="8" fill="{colour}"><title>{}</title></rect>"##,
                x - 4.0,
                y - 4.0,
                esc(title)
            );
        } else {
            let _ = writeln!(
                self.out,
                r##"<circle cx="{x:.1}" cy="{y:.1}" r="4.5" fill="{colour}"><title>{}</title></circle>"##,
                esc(title)
            );
        }
    }
    fn na(&mut self, i: usize) {
        let x = self.x(i);
        let _ = writeln!(
            self.out,
            r##"<text x="{x:.1}" y="{:.1}" font-size="9" fill="#888" text-anchor="middle">n/a</text>"##,
            self.top + 30.0 + PLOT_H / 2.0
        );
    }
}

fn open(h: f64) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{h}\" viewBox=\"0 0 {W} {h}\" font-family=\"sans-serif\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    )
}

const OK: &str = "#1f6fb4";
const BAD: &str = "#d62728";
const LINE: &str = "#d62728";

/// Binding density and positive-control R^2 per lane, and the scaling factors
/// per sample (log scale), with the threshold lines.
pub fn qc_overview(lanes: &[LaneQc], norm: Option<&Normalised>) -> String {
    let panels = if norm.is_some() { 3.0 } else { 2.0 };
    let mut out = open(PANEL_H * panels + 10.0);
    let labels: Vec<String> = lanes
        .iter()
        .map(|l| file_stem(&l.file).to_string())
        .collect();

    // Binding density.
    let bd_hi = lanes
        .iter()
        .map(|l| l.binding_density.max(l.binding_density_range.1))
        .fold(0.0, f64::max)
        * 1.1;
    let bd_hi = if bd_hi > 0.0 { bd_hi } else { 2.5 };
    let bd_hi = (bd_hi * 2.0).ceil() / 2.0;
    let mut p = Panel {
        out: &mut out,
        top: 0.0,
        n: lanes.len(),
        scale: Scale::Linear(0.0, bd_hi),
    };
    let ticks = nice_ticks(0.0, bd_hi);
    p.frame("Binding density (spots per square micron)", &ticks, &labels);
    let mut limits: Vec<(f64, &str)> = Vec::new();
    for l in lanes {
        for (v, what) in [
            (l.binding_density_range.0, "min"),
            (l.binding_density_range.1, l.instrument.label()),
        ] {
            if !limits.iter().any(|(u, _)| *u == v) {
                limits.push((v, what));
            }
        }
    }
    for (v, what) in limits {
        p.hline(v, LINE, &format!("{what} {}", tick(v)));
    }
    for (i, l) in lanes.iter().enumerate() {
        let bad = l
            .flags
            .iter()
            .any(|f| f.check == crate::qc::Check::BindingDensity);
        p.dot(
            i,
            l.binding_density,
            if bad { BAD } else { OK },
            false,
            &format!("{}: {}", labels[i], l.binding_density),
        );
    }

    // R^2.
    let r2_lo = lanes
        .iter()
        .filter_map(|l| l.pos_r2)
        .fold(0.9, f64::min)
        .max(0.0);
    let r2_lo = (r2_lo * 20.0).floor() / 20.0;
    let mut p = Panel {
        out: &mut out,
        top: PANEL_H,
        n: lanes.len(),
        scale: Scale::Linear(r2_lo, 1.0),
    };
    let ticks: Vec<f64> = (0..=4)
        .map(|k| r2_lo + (1.0 - r2_lo) * k as f64 / 4.0)
        .collect();
    p.frame(
        "Positive-control linearity R\u{b2} (log2 count vs log2 concentration, POS_A-E)",
        &ticks,
        &labels,
    );
    p.hline(0.95, LINE, "0.95");
    for (i, l) in lanes.iter().enumerate() {
        match l.pos_r2 {
            Some(r2) => p.dot(
                i,
                r2,
                if r2 < 0.95 { BAD } else { OK },
                false,
                &format!("{}: {r2:.5}", labels[i]),
            ),
            None => p.na(i),
        }
    }

    // Scaling factors.
    if let Some(n) = norm {
        let slabels: Vec<String> = n.samples.iter().map(|s| s.id.clone()).collect();
        let mut p = Panel {
            out: &mut out,
            top: 2.0 * PANEL_H,
            n: n.samples.len(),
            scale: Scale::Log10(0.05, 20.0),
        };
        p.frame(
            "Scaling factors (log scale): \u{25cf} positive control, \u{25a0} housekeeping",
            &[0.1, 0.3, 1.0, 3.0, 10.0],
            &slabels,
        );
        let (plo, phi) = n.options.pos_factor_range;
        let (hlo, hhi) = n.options.hk_factor_range;
        p.hline(plo, LINE, &format!("positive {}", tick(plo)));
        p.hline(phi, LINE, &format!("positive {}", tick(phi)));
        p.hline(hlo, "#9467bd", &format!("housekeeping {}", tick(hlo)));
        p.hline(hhi, "#9467bd", &format!("housekeeping {}", tick(hhi)));
        for (i, s) in n.samples.iter().enumerate() {
            let bad = s.pos_factor < plo || s.pos_factor > phi;
            p.dot(
                i,
                s.pos_factor,
                if bad { BAD } else { OK },
                false,
                &format!("{}: positive {:.4}", s.id, s.pos_factor),
            );
            if let Some(h) = s.hk_factor {
                let bad = h < hlo || h > hhi;
                p.dot(
                    i,
                    h,
                    if bad { BAD } else { "#2ca02c" },
                    true,
                    &format!("{}: housekeeping {h:.4}", s.id),
                );
            }
        }
    }
    out.push_str("</svg>\n");
    out
}

/// Scores sorted, controls in grey, high in red, with the cut-off line.
pub fn score_distribution(report: &ScoreReport) -> String {
    let mut rows: Vec<&crate::ifn::ScoreRow> = report.rows.iter().collect();
    rows.sort_by(|a, b| a.score.total_cmp(&b.score));
    let lo = rows
        .iter()
        .map(|r| r.score)
        .fold(report.cutoff, f64::min)
        .min(0.0);
    let hi = rows.iter().map(|r| r.score).fold(report.cutoff, f64::max);
    let pad = (hi - lo).abs().max(1e-9) * 0.08;
    let (lo, hi) = (if lo < 0.0 { lo - pad } else { 0.0 }, hi + pad);
    let mut out = open(PANEL_H);
    let labels: Vec<String> = rows.iter().map(|r| r.sample_id.clone()).collect();
    let mut p = Panel {
        out: &mut out,
        top: 0.0,
        n: rows.len(),
        scale: Scale::Linear(lo, hi),
    };
    let ticks = nice_ticks(lo, hi);
    p.frame(
        &format!(
            "IFN score ({}; genes {}): grey controls, red high, blue low",
            report.aggregator.name(),
            report.genes.join(", ")
        ),
        &ticks,
        &labels,
    );
    p.hline(
        report.cutoff,
        LINE,
        &format!("cut-off {:.3}", report.cutoff),
    );
    for (i, r) in rows.iter().enumerate() {
        let colour = if report.controls.contains(&r.sample_id) {
            "#888"
        } else if r.high {
            BAD
        } else {
            OK
        };
        p.dot(
            i,
            r.score,
            colour,
            false,
            &format!("{}: {:.4}", r.sample_id, r.score),
        );
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_compact() {
        assert_eq!(tick(0.5), "0.5");
        assert_eq!(tick(2.0), "2");
        assert_eq!(tick(0.0), "0");
        assert_eq!(esc("a<b&\""), "a&lt;b&amp;&quot;");
        assert_eq!(nice_ticks(0.0, 2.5), [0.0, 0.5, 1.0, 1.5, 2.0, 2.5]);
        assert_eq!(nice_ticks(0.0, 1.493), [0.0, 0.25, 0.5, 0.75, 1.0, 1.25]);
        assert_eq!(nice_ticks(-3.2, 7.0), [-2.0, 0.0, 2.0, 4.0, 6.0]);
    }
}
