//! `rct protocol check|show`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use rct_core::protocol::{self, Diagnostic, Protocol};

#[derive(clap::Subcommand, Debug)]
pub enum ProtocolCmd {
    /// Check protocol files; prints every mistake with file:line:column and
    /// exits 1 when any file has one.
    Check {
        /// Protocol files (TOML).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Print the mistakes as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show a protocol: arms, strata, criteria, schedule, forms, sessions,
    /// outcomes, analysis plan and the assumptions to confirm.
    Show {
        /// Protocol file (TOML).
        file: PathBuf,
        /// Print the protocol as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Turn a ClinicalTrials.gov API v2 study record (JSON) into a protocol skeleton.
    ImportCtgov(super::ctgov::ImportCtgovArgs),
}

/// Reads and checks a protocol file, as every command that takes `--protocol` does.
pub fn load(path: &Path) -> anyhow::Result<Protocol> {
    let (src, name) = read(path)?;
    protocol::parse(&src, &name)
        .map_err(|d| anyhow::anyhow!("{d}"))
        .with_context(|| {
            format!("{name} is not a valid protocol (run `rct protocol check {name}`)")
        })
}

fn read(path: &Path) -> anyhow::Result<(String, String)> {
    let name = path.display().to_string();
    let src = super::input::read_protocol(path)?;
    Ok((src, name))
}

pub fn run(c: ProtocolCmd) -> anyhow::Result<ExitCode> {
    match c {
        ProtocolCmd::Check { files, json } => {
            let mut all: Vec<Diagnostic> = Vec::new();
            for f in &files {
                let (src, name) = read(f)?;
                match protocol::parse(&src, &name) {
                    Ok(_) => {
                        if !json {
                            println!("{name}: ok");
                        }
                    }
                    Err(d) => all.extend(d.0),
                }
            }
            if json {
                super::print_json(&all)?;
            } else {
                for d in &all {
                    eprintln!("{d}");
                }
                if !all.is_empty() {
                    eprintln!("{} error(s)", all.len());
                }
            }
            Ok(if all.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        ProtocolCmd::ImportCtgov(a) => super::ctgov::run(a),
        ProtocolCmd::Show { file, json } => {
            let p = load(&file)?;
            if json {
                super::print_json(&p)?;
            } else {
                print!("{}", render(&p));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The human-readable summary `rct protocol show` prints.
pub fn render(p: &Protocol) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let t = &p.trial;
    let _ = writeln!(
        s,
        "{} — {}",
        t.short_title.as_deref().unwrap_or(t.id.get_ref()),
        t.title
    );
    let _ = writeln!(
        s,
        "  sponsor {}; registry {}; ethics {}",
        t.sponsor,
        t.registry_ids.join(", "),
        t.ethics.as_deref().unwrap_or("-")
    );
    let _ = writeln!(
        s,
        "  phase {:?}; status {:?}; target enrolment {}",
        t.phase,
        t.status,
        t.target_enrolment.get_ref()
    );
    let _ = writeln!(
        s,
        "\nArms (ratio {}):",
        p.ratio()
            .iter()
            .map(|w| w.to_string())
            .collect::<Vec<_>>()
            .join(":")
    );
    for a in &p.arms {
        let _ = writeln!(
            s,
            "  {:<12} {:<16} weight {}{}  {}",
            a.id.get_ref(),
            format!("{:?}", a.kind),
            a.weight.get_ref(),
            if a.control { " (control)" } else { "" },
            a.label
        );
    }
    let blinded: Vec<String> = p
        .masking
        .blinded
        .iter()
        .map(|b| format!("{:?}", b.get_ref()))
        .collect();
    let _ = writeln!(
        s,
        "\nMasking: blinded {}; kit codes {}",
        if blinded.is_empty() {
            "none (open label)".into()
        } else {
            blinded.join(", ")
        },
        if p.masking.kit_codes { "yes" } else { "no" }
    );
    for r in &p.roles {
        let _ = writeln!(
            s,
            "  role {:<20} sees arms: {:<3} sees kits: {}",
            r.id.get_ref(),
            yes(r.sees_arms),
            yes(r.sees_kits)
        );
    }
    let _ = writeln!(
        s,
        "\nRandomisation: {} stratified by [{}]{}",
        p.randomisation.design.get_ref(),
        p.randomisation
            .stratify_by
            .iter()
            .map(|x| x.get_ref().as_str())
            .collect::<Vec<_>>()
            .join(", "),
        if p.randomisation.minimise_on.is_empty() {
            String::new()
        } else {
            format!(
                ", minimising on [{}]",
                p.randomisation
                    .minimise_on
                    .iter()
                    .map(|x| x.get_ref().as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    );
    for f in &p.strata {
        let _ = writeln!(
            s,
            "  {}: {}",
            f.id.get_ref(),
            f.levels
                .iter()
                .map(|l| l.get_ref().as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if !p.sites.is_empty() {
        let _ = writeln!(
            s,
            "Sites: {}",
            p.sites
                .iter()
                .map(|x| format!("{} ({})", x.id.get_ref(), x.name))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let _ = writeln!(s, "\nEligibility ({} criteria):", p.criteria.len());
    for k in &p.criteria {
        let pop = k
            .population
            .as_ref()
            .map(|x| format!(" [{} only]", x.get_ref()))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "  {:<4} {:<9}{} {}",
            k.id.get_ref(),
            format!("{:?}", k.kind).to_lowercase(),
            pop,
            k.text
        );
        let _ = writeln!(s, "       rule: {}", k.rule.get_ref());
    }
    let _ = writeln!(s, "\nSchedule (days from randomisation):");
    for v in &p.visits {
        let [lo, hi] = *v.window.get_ref();
        let _ = writeln!(
            s,
            "  {:<12} day {:>4} [{:>4}, {:>4}]  forms: {}",
            v.id.get_ref(),
            v.day.get_ref(),
            lo,
            hi,
            v.forms
                .iter()
                .map(|f| f.get_ref().as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let _ = writeln!(s, "\nForms:");
    for f in &p.forms {
        let arm = f
            .arm
            .as_ref()
            .map(|a| format!(" (arm {} only)", a.get_ref()))
            .unwrap_or_default();
        let _ = writeln!(s, "  {}{}: {}", f.id.get_ref(), arm, f.label);
        for x in &f.fields {
            let mut extra = Vec::new();
            if let Some(u) = &x.unit {
                extra.push(u.get_ref().clone());
            }
            if x.required {
                extra.push("required".into());
            }
            if let Some(h) = &x.hard {
                extra.push(format!("hard {:?}", h.get_ref()));
            }
            if let Some(h) = &x.soft {
                extra.push(format!("soft {:?}", h.get_ref()));
            }
            if let Some(d) = &x.derived {
                extra.push(format!("= {}", d.get_ref()));
            }
            let _ = writeln!(
                s,
                "    {:<18} {:<8} {}{}",
                x.id.get_ref(),
                format!("{:?}", x.kind).to_lowercase(),
                x.label,
                if extra.is_empty() {
                    String::new()
                } else {
                    format!("  [{}]", extra.join("; "))
                }
            );
        }
    }
    for ses in &p.sessions {
        let _ = writeln!(
            s,
            "\nSession {} (arm {}): {} a week for {} weeks; HRmax: {}",
            ses.id.get_ref(),
            ses.arm.get_ref(),
            ses.per_week.get_ref(),
            ses.weeks.get_ref(),
            ses.hrmax_source.as_deref().unwrap_or("-")
        );
        for ph in &ses.phases {
            let [lo, hi] = *ph.zone.get_ref();
            let mins = match ph.max_minutes {
                Some(m) => format!("{}-{} min", ph.minutes.get_ref(), m),
                None => format!("{} min", ph.minutes.get_ref()),
            };
            let _ = writeln!(
                s,
                "  {:<10} {:>3} x {:<10} {:.0}-{:.0} % HRmax{}",
                ph.id.get_ref(),
                ph.repeat,
                mins,
                lo * 100.0,
                hi * 100.0,
                if ph.bout { "  (bout)" } else { "" }
            );
        }
        if let Some(k) = &ses.compliance {
            let _ = writeln!(
                s,
                "  a bout is compliant when HR > {:.0} % HRmax for more than {:.0} % of it",
                k.threshold.get_ref() * 100.0,
                k.min_fraction.get_ref() * 100.0
            );
        }
    }
    let _ = writeln!(s, "\nOutcomes:");
    for o in &p.outcomes {
        let _ = writeln!(
            s,
            "  {:<12} {:<12} {} ({} at {})",
            o.id.get_ref(),
            format!("{:?}", o.kind).to_lowercase(),
            o.label,
            o.measure.get_ref(),
            o.timepoints
                .iter()
                .map(|t| t.get_ref().as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if !p.estimands.is_empty() {
        let _ = writeln!(s, "\nEstimands (ICH E9(R1)):");
        for e in &p.estimands {
            let _ = writeln!(s, "  {:<12} {}", e.id.get_ref(), e.label);
            let _ = writeln!(s, "    treatment:  {}", e.treatment.get_ref());
            if !e.compare.is_empty() {
                let arms: Vec<&str> = e.compare.iter().map(|a| a.get_ref().as_str()).collect();
                let _ = writeln!(s, "    compare:    {}", arms.join(" vs "));
            }
            let _ = writeln!(s, "    population: {}", e.population.get_ref());
            let _ = writeln!(
                s,
                "    variable:   {} (outcome {})",
                e.variable.get_ref(),
                e.outcome.get_ref()
            );
            for i in &e.intercurrent_events {
                let _ = writeln!(
                    s,
                    "    event:      {}: {}{}",
                    i.event.get_ref(),
                    i.strategy.get_ref().as_str(),
                    i.handling
                        .as_ref()
                        .map(|h| format!(" ({h})"))
                        .unwrap_or_default()
                );
            }
            let _ = writeln!(s, "    summary:    {}", e.summary.get_ref());
            if let Some(m) = &e.model {
                let _ = writeln!(s, "    model:      {}", m.get_ref());
            }
        }
    }
    let _ = writeln!(s, "\nAnalysis plan:");
    for pop in &p.analysis.populations {
        let _ = writeln!(
            s,
            "  population {:<5} {}  [{}]",
            pop.id.get_ref(),
            pop.label,
            pop.rule.get_ref()
        );
    }
    for m in &p.analysis.models {
        let _ = writeln!(
            s,
            "  model {:<12} {}  in {}",
            m.id.get_ref(),
            m.formula.get_ref(),
            m.populations
                .iter()
                .map(|x| x.get_ref().as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if !p.assumptions.is_empty() {
        let _ = writeln!(s, "\nAssumptions to confirm ({}):", p.assumptions.len());
        for a in &p.assumptions {
            let _ = writeln!(s, "  * {}: {}", a.topic, a.text);
        }
    }
    s
}

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}
