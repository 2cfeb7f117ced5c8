//! `rct randomise`: reproducible lists, design assessment, design comparison
//! and CONSORT text. The designs live in `rct-random`; this module reads files
//! and prints.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context};
use rct_core::protocol::{self, Protocol};
use rct_random::{
    assess_exact, assess_simulated, generate_list, parse_arms, parse_ratio, Arm, Assessment,
    DesignSpec, ListRequest,
};

#[derive(clap::Subcommand, Debug)]
pub enum RandomiseCmd {
    /// Print a stratum's reproducible randomisation list with its SHA-256.
    List(ListArgs),
    /// Assess a design: imbalance, loss and predictability (exact or simulated).
    Assess(AssessArgs),
    /// Compare several designs at one sample size in one table.
    Compare(CompareArgs),
    /// CONSORT items 8a, 8b, 9 and 10 for a protocol's randomisation.
    Report(ReportArgs),
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListFormat {
    Text,
    Csv,
    Json,
}

#[derive(clap::Args, Debug)]
pub struct ListArgs {
    /// Protocol file (arms, design, strata and kit codes come from it).
    #[arg(long)]
    protocol: Option<PathBuf>,
    /// Design, when no protocol is given (e.g. pbr:4, rpbr:4,6).
    #[arg(long, conflicts_with = "protocol")]
    design: Option<String>,
    /// Arms with weights, when no protocol is given (e.g. a:1,b:1).
    #[arg(long, conflicts_with = "protocol")]
    arms: Option<String>,
    /// Give kit codes (without a protocol; a protocol says so in masking.kit_codes).
    #[arg(long, conflicts_with = "protocol")]
    kits: bool,
    /// The trial seed: a 64-bit unsigned integer, or a trial key of 64 hex
    /// digits (as the unblinded export of a trial carries it).
    #[arg(long)]
    seed: rct_random::TrialSeed,
    /// Stratum, one FACTOR=LEVEL per stratification factor.
    #[arg(long = "stratum", value_name = "FACTOR=LEVEL")]
    stratum: Vec<String>,
    /// Number of positions.
    #[arg(long, default_value_t = 100)]
    n: u32,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Text)]
    format: ListFormat,
    /// Same as --format json.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args, Debug)]
pub struct AssessArgs {
    /// Design: cr, rar, pbr:4, rpbr:4,6, bsd:3, mp:3, ebc:0.667, chen:3,0.667, urn:0,1.
    #[arg(long)]
    design: String,
    /// Sample size.
    #[arg(long)]
    n: u32,
    /// Number of arms (ratio 1:...:1 unless --ratio is given).
    #[arg(long, default_value_t = 2)]
    arms: usize,
    /// Allocation ratio, e.g. 1:1 or 2:1.
    #[arg(long)]
    ratio: Option<String>,
    /// Exact recursion (two arms); the default when possible.
    #[arg(long, conflicts_with = "sims")]
    exact: bool,
    /// Simulate M sequences.
    #[arg(long, value_name = "M")]
    sims: Option<u64>,
    /// Seed of the simulation.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Selection bias effect eta, convergence strategy (expected type-I error
    /// of the t-test, as randomizeR's selBias "CS").
    #[arg(long, value_name = "ETA")]
    selection_bias: Option<f64>,
    /// Chronological bias: strength theta of the time trend (expected type-I
    /// error of the t-test, as randomizeR's chronBias); see --trend.
    #[arg(long, value_name = "THETA")]
    chronological_bias: Option<f64>,
    /// Shape of the time trend, participant i of N: linear = theta (i-1)/(N-1)
    /// (randomizeR linT), log = theta ln(i)/ln(N) (logT), step:K = theta from
    /// participant K on (stepT with saltus K).
    #[arg(long, value_name = "linear|log|step:K", default_value = "linear")]
    trend: String,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args, Debug)]
pub struct CompareArgs {
    /// Sample size.
    #[arg(long)]
    n: u32,
    /// Designs separated by commas, e.g. pbr:4,rpbr:4,6,bsd:3,mp:3.
    #[arg(long)]
    designs: String,
    /// Allocation ratio (default 1:1).
    #[arg(long)]
    ratio: Option<String>,
    /// Simulate M sequences instead of exact recursion.
    #[arg(long, value_name = "M")]
    sims: Option<u64>,
    /// Seed of the simulation.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    /// Protocol file.
    #[arg(long)]
    protocol: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(c: RandomiseCmd) -> anyhow::Result<ExitCode> {
    match c {
        RandomiseCmd::List(a) => list(a),
        RandomiseCmd::Assess(a) => assess(a),
        RandomiseCmd::Compare(a) => compare(a),
        RandomiseCmd::Report(a) => report(a),
    }
}

fn read_protocol(path: &Path) -> anyhow::Result<Protocol> {
    let src = super::input::read_protocol(path)?;
    protocol::parse(&src, &path.display().to_string()).map_err(|d| {
        let lines: Vec<String> = d.0.iter().map(|x| x.to_string()).collect();
        anyhow!("{}", lines.join("\n"))
    })
}

fn protocol_arms(p: &Protocol) -> Vec<Arm> {
    p.arms
        .iter()
        .map(|a| Arm::new(a.id.get_ref().clone(), *a.weight.get_ref()))
        .collect()
}

fn parse_design(s: &str) -> anyhow::Result<DesignSpec> {
    s.parse::<DesignSpec>().map_err(|e| anyhow!("{e}"))
}

fn list(a: ListArgs) -> anyhow::Result<ExitCode> {
    let pairs: Vec<(String, String)> = a
        .stratum
        .iter()
        .map(|s| {
            s.split_once('=')
                .map(|(f, l)| (f.trim().to_string(), l.trim().to_string()))
                .ok_or_else(|| anyhow!("--stratum `{s}`: expected FACTOR=LEVEL, e.g. sex=female"))
        })
        .collect::<anyhow::Result<_>>()?;
    let (design, arms, kits, stratum) = if let Some(path) = &a.protocol {
        let p = read_protocol(path)?;
        let design = parse_design(p.randomisation.design.get_ref())
            .with_context(|| format!("{}: randomisation.design", path.display()))?;
        let order: Vec<String> = p
            .randomisation
            .stratify_by
            .iter()
            .map(|s| s.get_ref().clone())
            .collect();
        for (f, l) in &pairs {
            if !order.contains(f) {
                bail!(
                    "--stratum {f}={l}: `{f}` is not a stratification factor of {} (stratify_by: {})",
                    path.display(),
                    if order.is_empty() { "none".into() } else { order.join(", ") }
                );
            }
            if let Some(fac) = p.strata.iter().find(|x| x.id.get_ref() == f) {
                let levels: Vec<&String> = fac.levels.iter().map(|l| l.get_ref()).collect();
                if !levels.is_empty() && !levels.contains(&l) {
                    bail!(
                        "--stratum {f}={l}: `{l}` is not a level of `{f}`; expected one of {}",
                        levels
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                }
            }
        }
        let mut parts = Vec::new();
        for f in &order {
            let l = pairs
                .iter()
                .find(|(g, _)| g == f)
                .map(|(_, l)| l)
                .ok_or_else(|| {
                    anyhow!("the protocol stratifies by `{f}`: give --stratum {f}=LEVEL")
                })?;
            parts.push(format!("{f}={l}"));
        }
        let key = if parts.is_empty() {
            "all".to_string()
        } else {
            parts.join(";")
        };
        (design, protocol_arms(&p), p.masking.kit_codes, key)
    } else {
        let design = parse_design(a.design.as_deref().ok_or_else(|| {
            anyhow!("give --protocol FILE, or --design SPEC and --arms a:1,b:1")
        })?)?;
        let arms = parse_arms(
            a.arms
                .as_deref()
                .ok_or_else(|| anyhow!("--design needs --arms, e.g. --arms a:1,b:1"))?,
        )
        .map_err(|e| anyhow!("--arms: {e}"))?;
        let key = if pairs.is_empty() {
            "all".to_string()
        } else {
            pairs
                .iter()
                .map(|(f, l)| format!("{f}={l}"))
                .collect::<Vec<_>>()
                .join(";")
        };
        (design, arms, a.kits, key)
    };
    let l = generate_list(&ListRequest {
        design,
        arms,
        seed: a.seed,
        stratum,
        n: a.n,
        kits,
    })
    .map_err(|e| anyhow!("{e}"))?;
    let format = if a.json { ListFormat::Json } else { a.format };
    match format {
        ListFormat::Json => println!("{}", serde_json::to_string_pretty(&l)?),
        ListFormat::Csv => {
            print!("{}", rct_random::canonical_csv(&l.rows));
            eprintln!("sha256 {}", l.sha256);
        }
        ListFormat::Text => {
            println!(
                "design {}  seed {}  stratum {}",
                l.design, l.seed, l.stratum
            );
            let kit = kits;
            println!(
                "{:>5}  {:<20} {:>5}  {:<16}{}",
                "seq",
                "stratum",
                "block",
                "arm",
                if kit { "kit" } else { "" }
            );
            for r in &l.rows {
                println!(
                    "{:>5}  {:<20} {:>5}  {:<16}{}",
                    r.seq,
                    r.stratum,
                    r.block.map(|b| b.to_string()).unwrap_or_else(|| "-".into()),
                    r.arm,
                    r.kit.clone().unwrap_or_default()
                );
            }
            println!("sha256 {}", l.sha256);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn ratio_for(ratio: Option<&str>, arms: usize) -> anyhow::Result<Vec<u32>> {
    match ratio {
        Some(r) => {
            let v = parse_ratio(r).map_err(|e| anyhow!("--ratio: {e}"))?;
            if arms != 2 && v.len() != arms {
                bail!("--ratio {r} has {} entries but --arms is {arms}", v.len());
            }
            Ok(v)
        }
        None => Ok(vec![1; arms.max(1)]),
    }
}

#[allow(clippy::disallowed_methods)]
fn run_assessment(
    design: &DesignSpec,
    ratio: &[u32],
    n: u32,
    sims: Option<u64>,
    seed: u64,
) -> anyhow::Result<Assessment> {
    match sims {
        None => assess_exact(design, ratio, n).map_err(|e| anyhow!("{e}")),
        Some(m) => {
            let bar = if std::io::stderr().is_terminal() {
                let b = indicatif::ProgressBar::new(m);
                b.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{spinner} {bar:40} {pos}/{len} sequences ({eta})",
                    )
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                );
                Some(b)
            } else {
                None
            };
            let threads = std::thread::available_parallelism().map_or(2, |x| x.get());
            let progress = |d: u64| {
                if let Some(b) = &bar {
                    b.set_position(d);
                }
            };
            let r = assess_simulated(design, ratio, n, m, seed, threads, &progress)
                .map_err(|e| anyhow!("{e}"));
            if let Some(b) = &bar {
                b.finish_and_clear();
            }
            r
        }
    }
}

/// Bias figures: exact (every sequence with its probability, grouped by
/// sufficient statistics) unless `sims` is given or the enumeration is too
/// large; then simulated. The second value says why simulation was used.
#[allow(clippy::disallowed_methods)]
fn run_bias(
    design: &DesignSpec,
    ratio: &[u32],
    n: u32,
    sims: Option<u64>,
    force_exact: bool,
    seed: u64,
    req: &rct_random::bias::BiasRequest,
) -> anyhow::Result<(rct_random::bias::BiasAssessment, Option<String>)> {
    let threads = std::thread::available_parallelism().map_or(2, |x| x.get());
    let mut note = None;
    if sims.is_none() && ratio.len() == 2 {
        let limits = rct_random::bias_exact::ExactLimits::default();
        match rct_random::bias_exact::assess_bias_exact(design, ratio, n, req, limits, threads)
            .map_err(|e| anyhow!("{e}"))?
        {
            Some(r) => return Ok((r, None)),
            None if force_exact => bail!(
                "exact bias figures for {design} at n = {n} need more than {} classes; \
                 drop --exact to simulate, or give --sims M",
                limits.max_classes
            ),
            None => {
                note = Some(format!(
                    "exact enumeration would exceed {} classes at n = {n}; simulated instead",
                    limits.max_classes
                ))
            }
        }
    }
    let sims = sims.unwrap_or(10_000);
    let bar = std::io::stderr()
        .is_terminal()
        .then(|| indicatif::ProgressBar::new(sims));
    let progress = |d: u64| {
        if let Some(b) = &bar {
            b.set_position(d);
        }
    };
    let r = rct_random::bias::assess_bias_simulated(
        design, ratio, n, sims, seed, req, threads, &progress,
    )
    .map_err(|e| anyhow!("{e}"));
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    Ok((r?, note))
}

fn assess(a: AssessArgs) -> anyhow::Result<ExitCode> {
    let design = parse_design(&a.design)?;
    let ratio = ratio_for(a.ratio.as_deref(), a.arms)?;
    if a.exact && ratio.len() != 2 {
        bail!(
            "--exact is available for two arms only; use --sims M --seed S for {} arms",
            ratio.len()
        );
    }
    let sims = match (a.sims, ratio.len()) {
        (Some(m), _) => Some(m),
        (None, 2) => None,
        (None, _) => Some(100_000),
    };
    let r = run_assessment(&design, &ratio, a.n, sims, a.seed)?;
    let trend = rct_random::bias::Trend::parse(&a.trend).map_err(|e| anyhow!("--trend: {e}"))?;
    let bias = if a.selection_bias.is_some() || a.chronological_bias.is_some() {
        let req = rct_random::bias::BiasRequest {
            eta: a.selection_bias,
            theta: a.chronological_bias,
            trend,
            alpha: 0.05,
        };
        Some(run_bias(
            &design, &ratio, a.n, a.sims, a.exact, a.seed, &req,
        )?)
    } else {
        None
    };
    if a.json {
        let mut v = serde_json::to_value(&r)?;
        if let (Some((b, note)), Some(obj)) = (&bias, v.as_object_mut()) {
            if let serde_json::Value::Object(mut bm) = serde_json::to_value(b)? {
                if let Some(n) = note {
                    bm.insert("note".into(), serde_json::Value::String(n.clone()));
                }
                obj.insert("bias".into(), serde_json::Value::Object(bm));
            }
        }
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!("design   {} ({})", r.design, design.describe());
        println!(
            "n        {}   ratio {}",
            r.n,
            rct_random::spec::ratio_text(&r.ratio)
        );
        match r.sims {
            Some(m) => println!("method   simulation, {m} sequences, seed {}", a.seed),
            None => println!("method   exact recursion"),
        }
        let se = r.standard_errors;
        let rows = [
            ("expected |imbalance| at n", r.expected_abs_imbalance),
            ("expected loss E[D^2]/n", r.expected_loss),
            ("expected max |imbalance|", r.expected_max_imbalance),
            ("correct guesses, convergence", r.correct_guess_convergence),
            ("correct guesses, divergence", r.correct_guess_divergence),
        ];
        for (i, (name, v)) in rows.iter().enumerate() {
            match se {
                Some(s) => println!("{name:<30} {v:>10.5}  (MC s.e. {:.5})", s[i]),
                None => println!("{name:<30} {v:>10.5}"),
            }
        }
        if let Some((b, note)) = &bias {
            match (b.sims, b.classes) {
                (Some(m), _) => println!(
                    "type-I error of the t-test at alpha {} (simulation, {m} sequences, seed {}):",
                    b.alpha, a.seed
                ),
                (None, Some(k)) => println!(
                    "type-I error of the t-test at alpha {} (exact: every sequence with its \
                     probability, {k} classes):",
                    b.alpha
                ),
                (None, None) => println!("type-I error of the t-test at alpha {}:", b.alpha),
            }
            if let Some(n) = note {
                println!("  ({n})");
            }
            let se = |s: Option<f64>| s.map_or(String::new(), |s| format!("  (MC s.e. {s:.5})"));
            if let (Some(v), Some(eta)) = (b.type1_error_selection_bias, a.selection_bias) {
                println!(
                    "  selection bias eta = {eta:<10} {v:>10.5}{}",
                    se(b.type1_error_selection_bias_se)
                );
            }
            if let (Some(v), Some(th)) = (b.type1_error_chronological_bias, a.chronological_bias) {
                println!(
                    "  {} trend theta = {th:<8} {v:>10.5}{}",
                    b.trend,
                    se(b.type1_error_chronological_bias_se)
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Split a designs list on commas that are followed by a letter, so
/// `pbr:4,rpbr:4,6,bsd:3` gives `pbr:4`, `rpbr:4,6`, `bsd:3`.
pub fn split_designs(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let chars: Vec<char> = s.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        if *c == ',' && chars.get(i + 1).is_some_and(|n| n.is_ascii_alphabetic()) {
            out.push(cur.trim().to_string());
            cur.clear();
        } else {
            cur.push(*c);
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

fn compare(a: CompareArgs) -> anyhow::Result<ExitCode> {
    let ratio = ratio_for(a.ratio.as_deref(), 2)?;
    let mut results = Vec::new();
    for s in split_designs(&a.designs) {
        let d = parse_design(&s)?;
        results.push(run_assessment(&d, &ratio, a.n, a.sims, a.seed)?);
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&results)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "n = {}, ratio {}, {}",
        a.n,
        rct_random::spec::ratio_text(&ratio),
        match a.sims {
            Some(m) => format!("simulation of {m} sequences (seed {})", a.seed),
            None => "exact".to_string(),
        }
    );
    println!(
        "{:<18} {:>10} {:>10} {:>10} {:>12} {:>12}",
        "design", "E|D_n|", "E[D^2]/n", "E max|D|", "convergence", "divergence"
    );
    for r in &results {
        println!(
            "{:<18} {:>10.4} {:>10.4} {:>10.4} {:>12.4} {:>12.4}",
            r.design,
            r.expected_abs_imbalance,
            r.expected_loss,
            r.expected_max_imbalance,
            r.correct_guess_convergence,
            r.correct_guess_divergence
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn report(a: ReportArgs) -> anyhow::Result<ExitCode> {
    let p = read_protocol(&a.protocol)?;
    let design = parse_design(p.randomisation.design.get_ref())?;
    let arms = protocol_arms(&p);
    let ratio: Vec<String> = arms.iter().map(|x| x.weight.to_string()).collect();
    let arm_names: Vec<String> = arms.iter().map(|x| x.id.clone()).collect();
    let strata: Vec<String> = p
        .randomisation
        .stratify_by
        .iter()
        .map(|s| {
            let id = s.get_ref();
            match p.strata.iter().find(|f| f.id.get_ref() == id) {
                Some(f) if !f.levels.is_empty() => format!(
                    "{id} ({})",
                    f.levels
                        .iter()
                        .map(|l| l.get_ref().as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                _ => id.clone(),
            }
        })
        .collect();
    let minimise: Vec<String> = p
        .randomisation
        .minimise_on
        .iter()
        .map(|s| s.get_ref().clone())
        .collect();
    let sees_arms: Vec<String> = p
        .roles
        .iter()
        .filter(|r| r.sees_arms)
        .map(|r| r.id.get_ref().clone())
        .collect();
    let sees_kits: Vec<String> = p
        .roles
        .iter()
        .filter(|r| r.sees_kits)
        .map(|r| r.id.get_ref().clone())
        .collect();
    let blinded: Vec<String> = p
        .masking
        .blinded
        .iter()
        .map(|b| format!("{:?}", b.get_ref()))
        .collect();
    let mut items = Vec::new();
    items.push((
        "8a",
        format!(
            "Sequence generation: the allocation sequence is generated by the rct software \
             (rct-random) with the ChaCha20 generator. Each stratum has its own stream whose key \
             is the SHA-256 of the trial seed and the stratum name, so every list can be \
             regenerated and checked against its published SHA-256. Seed handling: {}",
            p.randomisation.seed_policy.clone().unwrap_or_else(|| {
                "a 64-bit seed chosen once and kept by the randomisation service.".into()
            })
        ),
    ));
    let mut restriction = format!(
        "Type of randomisation: {} ({}), allocation ratio {} to arms {}.",
        design.describe(),
        design,
        ratio.join(":"),
        arm_names.join(", ")
    );
    if !strata.is_empty() {
        restriction.push_str(&format!(
            " Stratified by {}, with an independent sequence in each stratum.",
            strata.join("; ")
        ));
    }
    if !minimise.is_empty() {
        restriction.push_str(&format!(" Minimisation factors: {}.", minimise.join(", ")));
    }
    if let DesignSpec::RandomBlock { .. } = design {
        restriction
            .push_str(" Block sizes vary at random so that the end of a block cannot be foreseen.");
    }
    items.push(("8b", restriction));
    items.push((
        "9",
        format!(
            "Allocation concealment: participants are allocated by the rct system only after \
             enrolment is recorded; the list is never shown to recruiting staff.{}",
            if p.masking.kit_codes {
                format!(
                    " Allocation is concealed behind kit codes drawn from a separate random stream; \
                     only the role(s) {} can map a kit code to an arm.",
                    if sees_kits.is_empty() { "(none)".into() } else { sees_kits.join(", ") }
                )
            } else {
                String::new()
            }
        ),
    ));
    items.push((
        "10",
        format!(
            "Implementation: the trial statistician specifies the design and seed; site staff \
             enrol participants and the system assigns the next allocation of their stratum. \
             Roles that see the allocated arm: {}. Blinded: {}.",
            if sees_arms.is_empty() {
                "none".into()
            } else {
                sees_arms.join(", ")
            },
            if blinded.is_empty() {
                "nobody (open label)".into()
            } else {
                blinded.join(", ")
            }
        ),
    ));
    if a.json {
        let m: serde_json::Map<String, serde_json::Value> = items
            .iter()
            .map(|(k, v)| (format!("item_{k}"), serde_json::Value::String(v.clone())))
            .collect();
        println!("{}", serde_json::to_string_pretty(&m)?);
    } else {
        for (k, v) in items {
            println!("CONSORT {k}. {v}\n");
        }
    }
    Ok(ExitCode::SUCCESS)
}
