//! `rct simulate power`: power of a model's test by simulating trials.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, bail};
use rct_random::sequence::Sequencer;
use rct_random::stream::Stream;
use rct_random::DesignSpec;
use rct_stats::mmrm::{CovStructure, DfMethod};
use rct_stats::ols::CovType;
use rct_stats::power::{
    simulate_power, Allocator, BalancedAllocator, PowerResult, PowerSpec, SimOutcome, VarSpec,
};
use serde_json::json;

/// Simulations.
#[derive(clap::Subcommand, Debug)]
pub enum SimulateCmd {
    /// Power of a model's test, by simulating trials from the design.
    Power(PowerArgs),
}

/// Arguments of `rct simulate power`.
#[derive(clap::Args, Debug)]
#[command(after_help = "\
Each simulated trial draws its covariates, allocates the arm variable, builds the
design from --model exactly as `rct analyse` would, sets y = X beta + N(0, sd^2)
with beta from --effect (0 for columns not named), fits the model and tests the
allocated arm's term (or the term named by --test; the intercept only when named).
Power is the share of p < alpha, with its Monte Carlo standard error.

Variables: the arm variable (--arm, default `arm`) is allocated: with --protocol by
the protocol's randomisation design (e.g. rpbr:2,4) within its strata, reference
level the control arm; otherwise by balanced permuted blocks, levels from
--levels arm=... or `control` plus the levels named in --effect. Other categorical
variables need --levels VAR=L1[:W],L2[:W] (first level = reference, W = relative
frequency, default 1; protocol strata default to equal frequencies). Numeric
variables are standard normal unless --covariate VAR=MEAN,SD.

Binary outcomes: --family binomial draws y ~ Bernoulli(1 / (1 + exp(-X beta)))
(give the Intercept as the control's log odds; --sd is not used) and fits a
logistic regression (Wald test). Repeated measures: --repeated week6,week12 makes
one row per participant and visit; the formula names `visit`, whose reference
level is the LAST visit (so arm[T.x] is the effect there); errors are normal with
SD --sd at every visit and correlation --correlation between visits; each trial is
fitted by MMRM (--covariance, --df) and the term tested by t or F. Trials that
cannot be fitted (separation, non-convergence) are counted and left out.

Examples:
  rct simulate power --model 'y ~ arm' --n 128 --effect 'arm[T.treat]=0.5' --sd 1 \\
      --sims 10000 --seed 1
  rct simulate power --protocol protocols/lupex.toml \\
      --model 'vo2max_w12 ~ arm + vo2max_w0 + sex' --n 60 \\
      --effect 'arm[T.hiit]=3' --effect vo2max_w0=0.8 --covariate vo2max_w0=27,5 \\
      --sd 3.5 --sims 10000 --seed 7 --sweep 40:120:10
  rct simulate power --model 'y ~ arm' --family binomial --n 200 \\
      --effect Intercept=-0.847 --effect 'arm[T.treat]=0.847' --sims 4000
  rct simulate power --model 'fss ~ arm * visit + fss_w0' --repeated week6,week12 \\
      --correlation 0.6 --n 60 --effect 'arm[T.hiit]=-0.8' --effect fss_w0=0.7 \\
      --covariate fss_w0=4.5,1.2 --sd 1.1 --sims 1000")]
pub struct PowerArgs {
    /// Model formula, e.g. `y ~ arm + baseline + sex`.
    #[arg(long, value_name = "FORMULA")]
    model: String,
    /// Participants per simulated trial (or use --sweep).
    #[arg(long, required_unless_present = "sweep")]
    n: Option<usize>,
    /// True coefficient of a design column, e.g. `arm[T.hiit]=3` (repeatable).
    #[arg(long = "effect", value_name = "COLUMN=VALUE", required = true)]
    effect: Vec<String>,
    /// Residual standard deviation (not used with --family binomial).
    #[arg(long, value_name = "SIGMA", required_unless_present = "family")]
    sd: Option<f64>,
    /// Number of simulated trials per sample size.
    #[arg(long, default_value_t = 1000)]
    sims: usize,
    /// Seed of the simulation.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Significance level.
    #[arg(long, default_value_t = 0.05)]
    alpha: f64,
    /// Term (or column) tested; default: the allocated arm's term (`--arm`,
    /// default `arm`). The intercept is tested only when named here.
    #[arg(long, value_name = "TERM")]
    test: Option<String>,
    /// Sample sizes FROM:TO:STEP; prints the power curve.
    #[arg(long, value_name = "FROM:TO:STEP")]
    sweep: Option<String>,
    /// Protocol: arms, control arm, randomisation design and strata.
    #[arg(long, value_name = "FILE")]
    protocol: Option<PathBuf>,
    /// Levels of a categorical variable, reference first, optional weights.
    #[arg(long = "levels", value_name = "VAR=L1[:W],L2[:W]")]
    levels: Vec<String>,
    /// Mean and SD of a numeric covariate.
    #[arg(long = "covariate", value_name = "VAR=MEAN,SD")]
    covariate: Vec<String>,
    /// The allocated variable.
    #[arg(long, default_value = "arm")]
    arm: String,
    /// Robust covariance for the test (hc0..hc3).
    #[arg(long, value_name = "hc0|hc1|hc2|hc3")]
    robust: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// Outcome family: gaussian (default) or binomial (logistic regression).
    #[arg(long, value_name = "gaussian|binomial", conflicts_with = "repeated")]
    family: Option<String>,
    /// Repeated measures: the visits in time order (comma-separated); the
    /// model is an MMRM over them.
    #[arg(long, value_name = "V1,V2,...")]
    repeated: Option<String>,
    /// Correlation of the errors between any two visits (with --repeated).
    #[arg(long, value_name = "RHO", default_value_t = 0.5, requires = "repeated")]
    correlation: f64,
    /// Covariance of the MMRM fits: us, cs, ar1 or toep (with --repeated).
    #[arg(long, default_value = "us", requires = "repeated")]
    covariance: String,
    /// Degrees of freedom of the MMRM tests: satterthwaite or kenward-roger.
    #[arg(long, default_value = "satterthwaite", requires = "repeated")]
    df: String,
}

/// Runs a simulate command.
pub fn run(cmd: SimulateCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        SimulateCmd::Power(a) => power(a),
    }
}

/// Allocation by the protocol's list design, one sequencer per stratum.
struct ProtocolAllocator {
    design: DesignSpec,
    ratio: Vec<u32>,
    n: u32,
    seed: u64,
    sim: u64,
    lists: BTreeMap<usize, (Sequencer, Stream)>,
}

impl Allocator for ProtocolAllocator {
    fn reset(&mut self, sim: u64) {
        self.sim = sim;
        self.lists.clear();
    }
    fn next(&mut self, stratum: usize) -> usize {
        if !self.lists.contains_key(&stratum) {
            let Ok(seq) = Sequencer::new(&self.design, &self.ratio, Some(self.n)) else {
                return 0;
            };
            let label = format!("sim{}/stratum{stratum}", self.sim);
            self.lists.insert(
                stratum,
                (seq, Stream::derive(self.seed, "simulation", &label)),
            );
        }
        match self.lists.get_mut(&stratum) {
            Some((seq, rng)) => seq.next_step(rng).arm,
            None => 0,
        }
    }
}

fn parse_levels(s: &str) -> anyhow::Result<(String, Vec<(String, f64)>)> {
    let (v, ls) = s
        .split_once('=')
        .ok_or_else(|| anyhow!("--levels `{s}`: expected VAR=L1,L2 (e.g. sex=female:3,male:1)"))?;
    let mut levels = Vec::new();
    for part in ls.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (l, w) = match part.rsplit_once(':') {
            Some((l, w)) => (
                l,
                w.parse::<f64>()
                    .ok()
                    .filter(|w| *w >= 0.0)
                    .ok_or_else(|| anyhow!("--levels `{s}`: weight `{w}` is not a number >= 0"))?,
            ),
            None => (part, 1.0),
        };
        levels.push((l.to_string(), w));
    }
    if levels.len() < 2 {
        bail!("--levels `{s}`: give two or more levels");
    }
    Ok((v.trim().to_string(), levels))
}

fn parse_sweep(s: &str) -> anyhow::Result<Vec<usize>> {
    let parts: Vec<&str> = s.split(':').collect();
    let bad = || anyhow!("--sweep `{s}`: expected FROM:TO:STEP with whole numbers, e.g. 40:120:10");
    if parts.len() != 3 {
        return Err(bad());
    }
    let v: Vec<usize> = parts
        .iter()
        .map(|p| p.trim().parse::<usize>().map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    if v[2] == 0 || v[0] > v[1] {
        return Err(bad());
    }
    Ok((v[0]..=v[1]).step_by(v[2]).collect())
}

fn power(a: PowerArgs) -> anyhow::Result<ExitCode> {
    let mut effects = Vec::new();
    for e in &a.effect {
        let (c, v) = e
            .rsplit_once('=')
            .ok_or_else(|| anyhow!("--effect `{e}`: expected COLUMN=VALUE, e.g. arm[T.hiit]=3"))?;
        let v: f64 = v
            .trim()
            .parse()
            .map_err(|_| anyhow!("--effect `{e}`: `{v}` is not a number"))?;
        effects.push((c.trim().to_string(), v));
    }
    let mut declared: BTreeMap<String, Vec<(String, f64)>> = BTreeMap::new();
    for l in &a.levels {
        let (v, ls) = parse_levels(l)?;
        declared.insert(v, ls);
    }
    let mut vars: BTreeMap<String, VarSpec> = BTreeMap::new();
    for c in &a.covariate {
        let (v, ms) = c
            .split_once('=')
            .ok_or_else(|| anyhow!("--covariate `{c}`: expected VAR=MEAN,SD"))?;
        let nums: Vec<f64> = ms
            .split(',')
            .map(|x| x.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .map_err(|_| anyhow!("--covariate `{c}`: expected VAR=MEAN,SD with numbers"))?;
        if nums.len() != 2 || nums[1] < 0.0 {
            bail!("--covariate `{c}`: expected VAR=MEAN,SD with SD >= 0");
        }
        vars.insert(
            v.trim().to_string(),
            VarSpec::Normal {
                mean: nums[0],
                sd: nums[1],
            },
        );
    }
    let sizes = match &a.sweep {
        Some(s) => parse_sweep(s)?,
        None => vec![a.n.unwrap_or(0)],
    };
    let max_n = sizes.iter().copied().max().unwrap_or(0);
    let mut strata = Vec::new();
    let arm_levels: Vec<String>;
    if let Some(p) = &a.protocol {
        let proto = super::analyse::read_protocol(p)?;
        let control = proto
            .control_arm()
            .map(|c| c.id.get_ref().clone())
            .unwrap_or_default();
        // The allocator draws arms in the protocol's order (so the ratio
        // matches); the levels put the control first as the reference.
        let proto_order: Vec<String> = proto.arms.iter().map(|x| x.id.get_ref().clone()).collect();
        let mut levels = proto_order.clone();
        if let Some(pos) = levels.iter().position(|l| *l == control) {
            let c = levels.remove(pos);
            levels.insert(0, c);
        }
        arm_levels = levels;
        let ratio = proto.ratio();
        let design: DesignSpec = proto
            .randomisation
            .design
            .get_ref()
            .parse()
            .map_err(|e| anyhow!("protocol design: {e}"))?;
        let strata_levels = proto.strata_levels();
        for s in &proto.randomisation.stratify_by {
            let id = s.get_ref().clone();
            if let Some(lv) = strata_levels.get(&id) {
                declared
                    .entry(id.clone())
                    .or_insert_with(|| lv.iter().map(|l| (l.clone(), 1.0)).collect());
                strata.push(id);
            }
        }
        let inner = ProtocolAllocator {
            design,
            ratio,
            n: u32::try_from(max_n).unwrap_or(u32::MAX),
            seed: a.seed,
            sim: 0,
            lists: BTreeMap::new(),
        };
        let mapping: Vec<usize> = proto_order
            .iter()
            .map(|id| arm_levels.iter().position(|l| l == id).unwrap_or(0))
            .collect();
        return run_power(
            &a,
            effects,
            declared,
            vars,
            strata,
            arm_levels,
            sizes,
            &mut MappedAllocator { inner, mapping },
        );
    }
    if let Some(l) = declared.remove(&a.arm) {
        arm_levels = l.into_iter().map(|x| x.0).collect();
    } else {
        let mut l = vec!["control".to_string()];
        for (c, _) in &effects {
            let prefix = format!("{}[T.", a.arm);
            for part in c.split(':') {
                if let Some(rest) = part.strip_prefix(&prefix) {
                    let lvl = rest.trim_end_matches(']').to_string();
                    if !l.contains(&lvl) {
                        l.push(lvl);
                    }
                }
            }
        }
        if l.len() < 2 {
            bail!(
                "the levels of `{}` are unknown: give --levels {}=control,treatment or --protocol",
                a.arm,
                a.arm
            );
        }
        arm_levels = l;
    }
    let k = arm_levels.len();
    run_power(
        &a,
        effects,
        declared,
        vars,
        strata,
        arm_levels,
        sizes,
        &mut BalancedAllocator::new(k, a.seed),
    )
}

/// The protocol's allocation, with arm indices mapped to the model's levels.
struct MappedAllocator {
    inner: ProtocolAllocator,
    mapping: Vec<usize>,
}

impl Allocator for MappedAllocator {
    fn reset(&mut self, sim: u64) {
        self.inner.reset(sim);
    }
    fn next(&mut self, stratum: usize) -> usize {
        let a = self.inner.next(stratum);
        self.mapping.get(a).copied().unwrap_or(0)
    }
}

#[allow(clippy::too_many_arguments)]
fn run_power(
    a: &PowerArgs,
    effects: Vec<(String, f64)>,
    declared: BTreeMap<String, Vec<(String, f64)>>,
    mut vars: BTreeMap<String, VarSpec>,
    strata: Vec<String>,
    arm_levels: Vec<String>,
    sizes: Vec<usize>,
    alloc: &mut dyn Allocator,
) -> anyhow::Result<ExitCode> {
    for (v, levels) in declared {
        if v != a.arm {
            vars.insert(v, VarSpec::Categorical { levels });
        }
    }
    // Variables named as categorical in --effect must have declared levels.
    for (c, _) in &effects {
        for part in c.split(':') {
            if let Some((v, _)) = part.split_once('[') {
                if v != a.arm && !matches!(vars.get(v), Some(VarSpec::Categorical { .. })) {
                    bail!(
                        "--effect `{c}`: `{v}` is categorical; declare its levels, reference \
                         first, e.g. --levels {v}=female,male"
                    );
                }
            }
        }
    }
    // The allocated arm's term by default; the intercept only when named.
    let test = match &a.test {
        Some(t) => t.clone(),
        None => {
            let f = rct_stats::Formula::parse(&a.model)?;
            if !f.variables().contains(&a.arm) {
                bail!(
                    "the model has no `{}` term to test; name the tested term with --test \
                     (the default is the allocated arm's term)",
                    a.arm
                );
            }
            a.arm.clone()
        }
    };
    if test == "Intercept" && a.test.is_none() {
        bail!("refusing to test the intercept by default; give --test Intercept to ask for it");
    }
    let cov_type = match &a.robust {
        Some(s) => CovType::parse(s)?,
        None => CovType::NonRobust,
    };
    let outcome = match (&a.family, &a.repeated) {
        (Some(f), _) if f == "binomial" || f == "logistic" => SimOutcome::Logistic,
        (Some(f), _) if f != "gaussian" => {
            bail!("--family `{f}`: expected gaussian or binomial")
        }
        (_, Some(v)) => SimOutcome::Repeated {
            visits: v
                .split(',')
                .map(|x| x.trim().to_string())
                .filter(|x| !x.is_empty())
                .collect(),
            correlation: a.correlation,
            structure: CovStructure::parse(&a.covariance)
                .map_err(|e| anyhow!("--covariance: {e}"))?,
            df: DfMethod::parse(&a.df).map_err(|e| anyhow!("--df: {e}"))?,
        },
        _ => SimOutcome::Gaussian,
    };
    let sd = match (&outcome, a.sd) {
        (SimOutcome::Logistic, _) => f64::NAN,
        (_, Some(sd)) => sd,
        (_, None) => bail!("--sd is needed (the residual standard deviation)"),
    };
    let spec = PowerSpec {
        formula: a.model.clone(),
        effects,
        sd,
        outcome,
        test: test.clone(),
        alpha: a.alpha,
        cov_type,
        arm: (a.arm.clone(), arm_levels),
        strata,
        vars,
    };
    let bar = progress_bar((a.sims * sizes.len()) as u64);
    let mut results: Vec<PowerResult> = Vec::new();
    for (k, &n) in sizes.iter().enumerate() {
        let done_before = (k * a.sims) as u64;
        let r = simulate_power(&spec, n, a.sims, a.seed, alloc, &mut |d| {
            if let Some(b) = &bar {
                b.set_position(done_before + d as u64);
            }
        })?;
        results.push(r);
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    if a.json {
        let v = json!({
            "model": a.model,
            "test": test,
            "alpha": a.alpha,
            "sd": a.sd,
            "family": a.family.as_deref().unwrap_or("gaussian"),
            "repeated": a.repeated,
            "sims": a.sims,
            "seed": a.seed,
            "cov_type": format!("{cov_type:?}").to_lowercase(),
            "results": results,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("Model: {}", a.model);
    println!(
        "Test of `{test}` at alpha {}; {} simulated trials per sample size, seed {}",
        a.alpha, a.sims, a.seed
    );
    if results.len() == 1 {
        let r = &results[0];
        println!(
            "n = {}: power {:.4} (Monte Carlo SE {:.4}){}",
            r.n,
            r.power,
            r.mc_se,
            failed_note(r)
        );
    } else {
        println!();
        println!("{:>6}  {:>7}  {:>7}  curve", "n", "power", "MC SE");
        for r in &results {
            let bar_len = (r.power * 40.0).round() as usize;
            println!(
                "{:>6}  {:>7.4}  {:>7.4}  {}{}",
                r.n,
                r.power,
                r.mc_se,
                "#".repeat(bar_len),
                failed_note(r)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn failed_note(r: &PowerResult) -> String {
    if r.failed > 0 {
        format!(
            "  [{} trials could not be fitted and are left out]",
            r.failed
        )
    } else {
        String::new()
    }
}

/// A progress bar on stderr, only when stderr is a terminal.
fn progress_bar(total: u64) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let b = indicatif::ProgressBar::new(total);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} simulated trials ({eta})")
    {
        b.set_style(style);
    }
    Some(b)
}
