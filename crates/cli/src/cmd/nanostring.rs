//! `rct nanostring qc|normalise`: NanoString nCounter RCC files.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use rct_omics::normalise::{normalise, Background, NormaliseOptions, Normalised};
use rct_omics::qc::{qc_lane, Instrument, LaneQc, QcThresholds};
use rct_omics::rcc::parse_rcc;
use rct_omics::sample::file_stem;
use rct_omics::svg::qc_overview;
use rct_omics::Rcc;

#[derive(clap::Subcommand, Debug)]
pub enum NanostringCmd {
    /// Quality control per lane with NanoString's default thresholds: imaging
    /// (FovCounted/FovCount >= 0.75), binding density (0.1-2.25 MAX/FLEX,
    /// 0.1-1.8 SPRINT), positive-control linearity (R^2 >= 0.95 over POS_A-E),
    /// limit of detection (POS_E >= mean(NEG) + 2 SD) and housekeeping signal.
    /// Prints a table and pass/flag per lane with the reason.
    Qc(QcArgs),
    /// Normalise a batch nSolver-style: background (threshold or subtraction
    /// of mean(NEG) + 2 SD), positive-control scaling (geometric mean of
    /// POS_A-E), housekeeping scaling (geometric mean); writes the matrix as CSV
    /// and prints the factors, flagging those out of range.
    Normalise(NormaliseArgs),
}

#[derive(clap::Args, Debug)]
pub struct QcArgs {
    /// RCC files, or folders whose *.RCC files are read (not recursively).
    #[arg(required = true, value_name = "FILES_OR_DIR")]
    pub inputs: Vec<PathBuf>,
    #[command(flatten)]
    pub thresholds: ThresholdArgs,
    /// Write the QC overview (binding density, R^2, scaling factors) as SVG.
    #[arg(long, value_name = "OUT.svg")]
    pub plot: Option<PathBuf>,
    /// Exit with status 1 when any lane is flagged.
    #[arg(long)]
    pub strict: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub struct ThresholdArgs {
    /// Flag imaging when FovCounted / FovCount is below this.
    #[arg(long, default_value_t = 0.75, value_name = "RATIO")]
    pub min_fov_ratio: f64,
    /// Lowest acceptable binding density (spots per square micron).
    #[arg(long, default_value_t = 0.1, value_name = "D")]
    pub min_binding_density: f64,
    /// Highest acceptable binding density on MAX/FLEX instruments.
    #[arg(long, default_value_t = 2.25, value_name = "D")]
    pub max_binding_density: f64,
    /// Highest acceptable binding density on SPRINT instruments.
    #[arg(long, default_value_t = 1.8, value_name = "D")]
    pub max_binding_density_sprint: f64,
    /// Scanner IDs (Lane_Attributes/ScannerID) that are SPRINT instruments;
    /// repeat or separate with commas.
    #[arg(long, value_delimiter = ',', value_name = "ID")]
    pub sprint_scanner: Vec<String>,
    /// Treat every lane as this instrument, whatever its scanner.
    #[arg(long, value_enum)]
    pub instrument: Option<InstrumentArg>,
    /// Flag positive-control linearity when R^2 is below this.
    #[arg(long, default_value_t = 0.95, value_name = "R2")]
    pub min_pos_r2: f64,
    /// k in the limit of detection mean(NEG) + k SD(NEG).
    #[arg(long, default_value_t = 2.0, value_name = "K")]
    pub lod_sd: f64,
    /// Flag housekeeping signal when the geometric mean of the raw
    /// housekeeping counts is below this.
    #[arg(long, default_value_t = 100.0, value_name = "COUNT")]
    pub min_housekeeping: f64,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum InstrumentArg {
    /// nCounter MAX or FLEX (binding density up to 2.25).
    MaxFlex,
    /// nCounter SPRINT (binding density up to 1.8).
    Sprint,
}

impl ThresholdArgs {
    pub fn to_thresholds(&self) -> QcThresholds {
        QcThresholds {
            min_fov_ratio: self.min_fov_ratio,
            min_binding_density: self.min_binding_density,
            max_binding_density_max_flex: self.max_binding_density,
            max_binding_density_sprint: self.max_binding_density_sprint,
            min_pos_r2: self.min_pos_r2,
            lod_sd: self.lod_sd,
            min_housekeeping_geomean: self.min_housekeeping,
            sprint_scanners: self.sprint_scanner.clone(),
            instrument: self.instrument.map(|i| match i {
                InstrumentArg::MaxFlex => Instrument::MaxFlex,
                InstrumentArg::Sprint => Instrument::Sprint,
            }),
        }
    }
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum BackgroundArg {
    /// Raise counts below mean(NEG) + k SD(NEG) to that value.
    Threshold,
    /// Subtract mean(NEG) + k SD(NEG), flooring at 0.
    Subtract,
    /// No background correction.
    None,
}

/// Normalisation choices shared by `nanostring normalise` and `ifn score`.
#[derive(clap::Args, Debug)]
pub struct NormArgs {
    /// Background correction from the lane's negative controls.
    #[arg(long, value_enum, default_value = "threshold")]
    pub background: BackgroundArg,
    /// k in the background mean(NEG) + k SD(NEG).
    #[arg(long, default_value_t = 2.0, value_name = "K")]
    pub background_sd: f64,
    /// Housekeeping genes: `auto` (the panel's Housekeeping class), `none`
    /// (skip the step), or a comma-separated list of genes to use instead
    /// (e.g. for PlexSet panels without a housekeeping class).
    #[arg(long, default_value = "auto", value_name = "auto|none|GENE,...")]
    pub housekeeping: String,
}

impl NormArgs {
    pub fn to_options(&self) -> anyhow::Result<NormaliseOptions> {
        let (housekeeping, housekeeping_genes) = match self.housekeeping.trim() {
            h if h.eq_ignore_ascii_case("auto") => (true, None),
            h if h.eq_ignore_ascii_case("none") => (false, None),
            list => {
                let genes: Vec<String> = list
                    .split(',')
                    .map(|g| g.trim().to_string())
                    .filter(|g| !g.is_empty())
                    .collect();
                if genes.is_empty() {
                    bail!("--housekeeping: expected auto, none or a list of genes");
                }
                (true, Some(genes))
            }
        };
        if !(self.background_sd.is_finite() && self.background_sd >= 0.0) {
            bail!("--background-sd must be a number >= 0");
        }
        Ok(NormaliseOptions {
            background: match self.background {
                BackgroundArg::Threshold => Background::Threshold,
                BackgroundArg::Subtract => Background::Subtract,
                BackgroundArg::None => Background::None,
            },
            background_sd: self.background_sd,
            housekeeping,
            housekeeping_genes,
            ..NormaliseOptions::default()
        })
    }
}

#[derive(clap::Args, Debug)]
pub struct NormaliseArgs {
    /// RCC files, or folders whose *.RCC files are read (not recursively).
    #[arg(required = true, value_name = "FILES_OR_DIR")]
    pub inputs: Vec<PathBuf>,
    /// Where to write the normalised matrix (CSV: Class,Name,<sample>...).
    #[arg(long, value_name = "matrix.csv")]
    pub out: PathBuf,
    #[command(flatten)]
    pub norm: NormArgs,
    /// Print JSON (factors, flags, notes) instead of text.
    #[arg(long)]
    pub json: bool,
}

/// The RCC files named by `inputs`: files as given, folders expanded to their
/// `*.RCC` files (any case), sorted by name.
pub fn rcc_paths(inputs: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in inputs {
        if p.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("reading folder {}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| {
                    f.is_file()
                        && f.extension()
                            .is_some_and(|e| e.to_string_lossy().eq_ignore_ascii_case("rcc"))
                })
                .collect();
            if found.is_empty() {
                bail!("{}: no .RCC files in this folder", p.display());
            }
            found.sort();
            out.extend(found);
        } else if p.is_file() {
            out.push(p.clone());
        } else {
            bail!("{}: no such file or folder", p.display());
        }
    }
    Ok(out)
}

/// Read and parse one RCC file (LF or CRLF; UTF-8 or Latin-1 text).
pub fn read_rcc(path: &Path) -> anyhow::Result<Rcc> {
    let bytes = super::input::read_bounded(path, rct_omics::rcc::MAX_RCC_BYTES, "an RCC file")?;
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        // Instrument exports are ASCII; tolerate a Latin-1 comment field.
        Err(e) => e.into_bytes().iter().map(|&b| b as char).collect(),
    };
    Ok(parse_rcc(&text, &path.display().to_string())?)
}

/// Read every RCC file named by `inputs`.
pub fn read_inputs(inputs: &[PathBuf]) -> anyhow::Result<Vec<Rcc>> {
    rcc_paths(inputs)?.iter().map(|p| read_rcc(p)).collect()
}

pub fn run(cmd: NanostringCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        NanostringCmd::Qc(a) => run_qc(a),
        NanostringCmd::Normalise(a) => run_normalise(a),
    }
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or("n/a".to_string(), |x| format!("{x:.digits$}"))
}

/// Left-aligned text table with two spaces between columns.
pub fn table(head: &[&str], rows: &[Vec<String>]) -> String {
    let mut w: Vec<usize> = head.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if i < w.len() {
                w[i] = w[i].max(c.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<width$}  ", width = w[i]));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(head.to_vec());
    for r in rows {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    out
}

fn qc_table(lanes: &[LaneQc]) -> String {
    let rows: Vec<Vec<String>> = lanes
        .iter()
        .map(|q| {
            vec![
                file_stem(&q.file).to_string(),
                q.sample_id.clone(),
                q.lane_id.clone(),
                opt(q.fov_ratio, 3),
                format!("{:.2}", q.binding_density),
                q.instrument.label().to_string(),
                opt(q.pos_r2, 4),
                opt(q.pos_e, 0),
                format!("{:.1}", q.lod_limit),
                opt(q.housekeeping_geomean, 1),
                if q.pass { "pass" } else { "FLAG" }.to_string(),
            ]
        })
        .collect();
    table(
        &[
            "file", "sample", "lane", "FOV", "BD", "scanner", "POS R2", "POS_E", "LOD", "HK gm",
            "QC",
        ],
        &rows,
    )
}

fn run_qc(a: QcArgs) -> anyhow::Result<ExitCode> {
    let t = a.thresholds.to_thresholds();
    let rccs = read_inputs(&a.inputs)?;
    let lanes: Vec<LaneQc> = rccs.iter().map(|r| qc_lane(r, &t)).collect();
    let flagged = lanes.iter().filter(|l| !l.pass).count();
    if let Some(out) = &a.plot {
        // Scaling factors need one code set; without it, plot the lane checks.
        let norm = match normalise(&rccs, &NormaliseOptions::default()) {
            Ok(n) => Some(n),
            Err(e) => {
                eprintln!("note: plot without scaling factors: {e}");
                None
            }
        };
        std::fs::write(out, qc_overview(&lanes, norm.as_ref()))
            .with_context(|| format!("writing {}", out.display()))?;
    }
    if a.json {
        super::print_json(&serde_json::json!({
            "thresholds": t,
            "lanes": lanes,
            "flagged": flagged,
        }))?;
    } else {
        print!("{}", qc_table(&lanes));
        println!(
            "{} lanes: {} pass, {} flagged",
            lanes.len(),
            lanes.len() - flagged,
            flagged
        );
        for q in lanes.iter().filter(|q| !q.pass) {
            for f in &q.flags {
                println!("FLAG {}: {}", file_stem(&q.file), f.reason);
            }
        }
        let mut notes: Vec<&String> = Vec::new();
        for n in lanes.iter().flat_map(|q| &q.notes) {
            if !notes.contains(&n) {
                notes.push(n);
            }
        }
        for n in notes {
            println!("note: {n}");
        }
        if let Some(p) = &a.plot {
            println!("plot: {}", p.display());
        }
    }
    Ok(if a.strict && flagged > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Normalise the batch named by `inputs`, with a clear error naming the files.
pub fn normalise_inputs(rccs: &[Rcc], norm: &NormArgs) -> anyhow::Result<Normalised> {
    let opts = norm.to_options()?;
    Ok(normalise(rccs, &opts)?)
}

fn run_normalise(a: NormaliseArgs) -> anyhow::Result<ExitCode> {
    let rccs = read_inputs(&a.inputs)?;
    let n = normalise_inputs(&rccs, &a.norm)?;
    std::fs::write(&a.out, n.to_csv()).with_context(|| format!("writing {}", a.out.display()))?;
    if a.json {
        super::print_json(&serde_json::json!({
            "out": a.out.display().to_string(),
            "options": n.options,
            "genes": n.genes.len(),
            "samples": n.samples,
            "notes": n.notes,
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = n
        .samples
        .iter()
        .map(|s| {
            vec![
                s.id.clone(),
                format!("{:.2}", s.background),
                format!("{:.1}", s.pos_geomean),
                format!("{:.4}", s.pos_factor),
                opt(s.hk_geomean, 1),
                opt(s.hk_factor, 4),
                if s.flags.is_empty() {
                    "ok".to_string()
                } else {
                    s.flags.join("; ")
                },
            ]
        })
        .collect();
    print!(
        "{}",
        table(
            &[
                "sample",
                "background",
                "POS gm",
                "POS factor",
                "HK gm",
                "HK factor",
                "flags"
            ],
            &rows
        )
    );
    let flagged = n.samples.iter().filter(|s| !s.flags.is_empty()).count();
    println!(
        "{} genes x {} samples written to {} ({} samples flagged)",
        n.genes.len(),
        n.samples.len(),
        a.out.display(),
        flagged
    );
    for note in &n.notes {
        println!("note: {note}");
    }
    Ok(ExitCode::SUCCESS)
}
