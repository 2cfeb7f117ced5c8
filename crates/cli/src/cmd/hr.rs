//! `rct hr compliance|adherence`: heart-rate sessions against the protocol's template.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use rct_core::protocol::Protocol;
use rct_exercise::{
    adherence, compliance, plot::session_svg, read_csv, read_fit, Alignment, ComplianceReport,
    HeartRateStatus, PhaseSpec, Recording, SessionTemplate,
};

#[derive(clap::Subcommand, Debug)]
pub enum HrCmd {
    /// Lay the session template over one recording (FIT or CSV) and report,
    /// per phase, the planned window, seconds with data, seconds in the target
    /// zone, and for bouts whether they are compliant (> 50 % of the bout
    /// above 85 % HRmax in LUPEX). A recording holding no heart rate is
    /// "no heart-rate data" (no bout judged) and exits 1.
    Compliance {
        /// Recording: a .fit file, or a .csv with time and heart-rate columns.
        file: PathBuf,
        /// HRmax in bpm (from the baseline CPET, or a formula the protocol names).
        #[arg(long)]
        hrmax: f64,
        #[command(flatten)]
        common: Common,
        /// Session start in seconds into the recording.
        #[arg(long, conflicts_with = "align")]
        start: Option<f64>,
        /// Align at the FIT laps or automatically where the template fits best.
        #[arg(long, value_parser = ["auto", "laps"])]
        align: Option<String>,
        /// Write an SVG of the trace, the zones and the phases.
        #[arg(long)]
        plot: Option<PathBuf>,
    },
    /// Adherence over a folder of one participant's session recordings:
    /// sessions per week, share of planned sessions, share of compliant bouts,
    /// and the per-protocol rule.
    Adherence {
        /// Folder of .fit / .csv session recordings.
        dir: PathBuf,
        /// HRmax in bpm.
        #[arg(long)]
        hrmax: f64,
        #[command(flatten)]
        common: Common,
        /// A session is compliant with at least this many compliant bouts.
        #[arg(long, default_value_t = 3)]
        min_bouts: usize,
        /// Per protocol when compliant sessions are at least this share of those planned.
        #[arg(long, default_value_t = 0.7)]
        min_sessions: f64,
    },
}

#[derive(clap::Args, Debug)]
pub struct Common {
    /// Protocol whose session template to use (default: the LUPEX HIIT session).
    #[arg(long)]
    protocol: Option<PathBuf>,
    /// Intervals between samples longer than this many seconds count as missing.
    #[arg(long, default_value_t = 5.0)]
    gap_limit: f64,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// The template and its weekly plan from a protocol's first session, or LUPEX's.
fn template(protocol: Option<&Path>) -> anyhow::Result<(SessionTemplate, u32, u32)> {
    let Some(path) = protocol else {
        return Ok((SessionTemplate::lupex(), 3, 12));
    };
    let p: Protocol = super::protocol::load(path)?;
    let s = p
        .sessions
        .first()
        .with_context(|| format!("{} defines no [[sessions]]", path.display()))?;
    let specs: Vec<PhaseSpec> = s
        .phases
        .iter()
        .map(|ph| PhaseSpec {
            id: ph.id.get_ref().clone(),
            label: ph.label.clone(),
            minutes: *ph.minutes.get_ref(),
            zone: *ph.zone.get_ref(),
            repeat: ph.repeat,
            between: ph.between.as_ref().map(|b| b.get_ref().clone()),
            bout: ph.bout,
        })
        .collect();
    let (threshold, min_fraction) = s.compliance.as_ref().map_or((0.85, 0.5), |c| {
        (*c.threshold.get_ref(), *c.min_fraction.get_ref())
    });
    Ok((
        SessionTemplate::from_specs(&specs, threshold, min_fraction)?,
        *s.per_week.get_ref(),
        *s.weeks.get_ref(),
    ))
}

fn read_recording(path: &Path) -> anyhow::Result<Recording> {
    let name = path.display().to_string();
    let bytes = super::input::read_recording(path)?;
    let is_fit = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("fit"));
    Ok(if is_fit {
        read_fit(&bytes, &name)?
    } else {
        let text = String::from_utf8(bytes).with_context(|| format!("{name}: not UTF-8 text"))?;
        read_csv(&text, &name, None, None)?
    })
}

pub fn run(c: HrCmd) -> anyhow::Result<ExitCode> {
    match c {
        HrCmd::Compliance {
            file,
            hrmax,
            common,
            start,
            align,
            plot,
        } => {
            let (t, _, _) = template(common.protocol.as_deref())?;
            let rec = read_recording(&file)?;
            let alignment = match (start, align.as_deref()) {
                (Some(s), _) => Alignment::Start(s),
                (None, Some("laps")) => Alignment::Laps,
                (None, Some(_)) => Alignment::Auto,
                (None, None) => Alignment::Start(0.0),
            };
            let r = compliance(&rec, &t, hrmax, alignment, common.gap_limit)?;
            if let Some(out) = plot {
                std::fs::write(&out, session_svg(&rec, &t, &r))
                    .with_context(|| format!("cannot write {}", out.display()))?;
            }
            for n in &rec.notes {
                eprintln!("{}: note: {n}", file.display());
            }
            if common.json {
                super::print_json(&r)?;
            } else {
                print!("{}", render(&r));
            }
            if r.heart_rate == HeartRateStatus::NoData {
                // Unassessable, not "not compliant": its own exit status.
                eprintln!(
                    "{}: no heart-rate data: none of the recording's {} sample(s) holds a heart rate, so no bout can be judged; check that the chest strap or optical sensor was paired and recording, and export the session again",
                    file.display(),
                    rec.samples.len()
                );
                return Ok(ExitCode::from(1));
            }
        }
        HrCmd::Adherence {
            dir,
            hrmax,
            common,
            min_bouts,
            min_sessions,
        } => {
            let (t, per_week, weeks) = template(common.protocol.as_deref())?;
            let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
                .with_context(|| format!("cannot read folder {}", dir.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.extension().is_some_and(|e| {
                        e.eq_ignore_ascii_case("fit") || e.eq_ignore_ascii_case("csv")
                    })
                })
                .collect();
            files.sort();
            if files.is_empty() {
                bail!(
                    "{}: no .fit or .csv recordings in the folder",
                    dir.display()
                );
            }
            let mut sessions = Vec::with_capacity(files.len());
            for f in &files {
                let rec = read_recording(f)?;
                let r = compliance(&rec, &t, hrmax, Alignment::Auto, common.gap_limit)
                    .with_context(|| f.display().to_string())?;
                sessions.push((f.display().to_string(), rec.start_unix, r));
            }
            let a = adherence(&sessions, per_week, weeks, min_bouts, min_sessions);
            if common.json {
                super::print_json(&a)?;
            } else {
                println!(
                    "Sessions attended {} of {} planned ({:.0} %)",
                    a.attended,
                    a.planned,
                    a.attended_fraction * 100.0
                );
                println!("Per week: {:?}", a.per_week);
                println!(
                    "Compliant bouts {:.0} % of planned",
                    a.compliant_bouts_fraction * 100.0
                );
                println!(
                    "Compliant sessions {} ({:.0} % of planned)",
                    a.compliant_sessions,
                    a.compliant_sessions_fraction * 100.0
                );
                println!(
                    "Per protocol ({}): {}",
                    a.rule,
                    if a.per_protocol { "yes" } else { "no" }
                );
                for s in a
                    .sessions
                    .iter()
                    .filter(|s| s.heart_rate == HeartRateStatus::NoData)
                {
                    println!(
                        "No heart-rate data (attended, not assessed; no compliant bout counted): {}",
                        s.source
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn render(r: &ComplianceReport) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Session start {:.0} s ({}); HRmax {:.0} bpm",
        r.start, r.alignment, r.hrmax
    );
    let _ = writeln!(
        s,
        "{:<10} {:>14} {:>13} {:>8} {:>8} {:>6}  compliant",
        "phase", "window (s)", "zone (bpm)", "data s", "zone s", "frac"
    );
    for p in &r.phases {
        let _ = writeln!(
            s,
            "{:<10} {:>6.0}-{:<7.0} {:>5.0}-{:<7.0} {:>8.0} {:>8.0} {:>6.2}  {}",
            p.id,
            p.window[0],
            p.window[1],
            p.zone_bpm[0],
            p.zone_bpm[1],
            p.seconds_with_data,
            p.seconds_in_zone,
            p.fraction,
            match p.compliant {
                Some(true) => "yes",
                Some(false) => "no",
                None => "",
            }
        );
    }
    if r.heart_rate == HeartRateStatus::NoData {
        let _ = writeln!(s, "Compliant bouts: not assessed (no heart-rate data)");
    } else {
        let _ = writeln!(s, "Compliant bouts: {} of {}", r.compliant_bouts, r.bouts);
    }
    for g in &r.gaps {
        let _ = writeln!(s, "Gap (missing): {:.0}-{:.0} s", g[0], g[1]);
    }
    s
}
