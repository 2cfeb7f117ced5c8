//! `rct cpet vo2max`: VO2max from a breath-by-breath CPET export.

use std::path::PathBuf;
use std::process::ExitCode;

use rct_exercise::cpet::{read_cpet, vo2max, Method};

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum MethodArg {
    /// Highest time-based moving average ending at each breath.
    Rolling,
    /// Highest average over consecutive fixed bins from the test start.
    Block,
}

#[derive(clap::Subcommand, Debug)]
pub enum CpetCmd {
    /// VO2max (absolute and per kg), when it occurred, HRmax, peak RER, and the
    /// criteria met (plateau < 150 mL/min rise, RER >= 1.10, HR within 10 bpm
    /// of 220 - age) from a COSMED or CORTEX breath-by-breath export (xlsx or CSV).
    Vo2max {
        /// Breath-by-breath export (.xlsx or .csv).
        file: PathBuf,
        /// Body weight, kg.
        #[arg(long)]
        weight: f64,
        /// Age, years (predicted HRmax = 220 - age).
        #[arg(long)]
        age: f64,
        /// Averaging window, seconds.
        #[arg(long, default_value_t = 30.0)]
        window: f64,
        /// Averaging method.
        #[arg(long, value_enum, default_value = "rolling")]
        method: MethodArg,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

fn yes(b: bool) -> &'static str {
    if b {
        "met"
    } else {
        "not met"
    }
}

pub fn run(c: CpetCmd) -> anyhow::Result<ExitCode> {
    match c {
        CpetCmd::Vo2max {
            file,
            weight,
            age,
            window,
            method,
            json,
        } => {
            let bytes = super::input::read_bounded(
                &file,
                rct_exercise::cpet::MAX_CPET_BYTES,
                "a CPET export",
            )?;
            let name = file.display().to_string();
            let b = read_cpet(&bytes, &name)?;
            let m = match method {
                MethodArg::Rolling => Method::Rolling,
                MethodArg::Block => Method::Block,
            };
            let r = vo2max(&b, weight, age, window, m)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
                return Ok(ExitCode::SUCCESS);
            }
            println!("{} ({} layout, {} breaths)", r.file, r.layout, r.breaths);
            for n in &r.notes {
                println!("note: {n}");
            }
            println!(
                "{}: {:.0} mL/min, {:.1} mL/kg/min ({:?} {} s average ending at {:.1} s)",
                r.label, r.vo2max_ml_min, r.vo2max_ml_kg_min, r.method, r.window_s, r.at_seconds
            );
            match r.hrmax {
                Some(h) => println!("HRmax: {h:.0} bpm (predicted {:.0})", r.hr_predicted),
                None => println!("HRmax: not recorded (predicted {:.0})", r.hr_predicted),
            }
            match r.peak_rer {
                Some(x) => println!("peak RER: {x:.3}"),
                None => println!("peak RER: not recorded"),
            }
            let rise = r
                .criteria
                .plateau_rise_ml_min
                .map_or("no previous window".to_string(), |x| {
                    format!("rise {x:.0} mL/min over the previous window")
                });
            let work = match r.criteria.workload_rose {
                Some(true) => ", workload rose",
                Some(false) => ", workload did not rise",
                None => ", workload not recorded: judged on VO2 alone",
            };
            println!(
                "plateau (< 150 mL/min): {} ({rise}{work})",
                yes(r.criteria.plateau)
            );
            println!("RER >= 1.10: {}", yes(r.criteria.rer_ge_1_10));
            println!(
                "HR within 10 bpm of predicted: {}",
                yes(r.criteria.hr_within_10_of_predicted)
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
