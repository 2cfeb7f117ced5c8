//! `rct score`: compute a clinical score from a JSON input file.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use rct_scores::{BandSet, ProteinuriaRule, ScoreOptions};

const LONG_ABOUT: &str = "\
Input formats. `rct score` prints the total with its breakdown (which
descriptors, criteria or domains scored what).

Every descriptor or criterion must be given, as true/false or (where noted) as
the measurement the threshold applies to; one left out is an error naming it,
never taken as absent. An unknown field is an error naming it. Full format
with an example per score: docs/scores.md.

sledai2k (SLEDAI-2K, Gladman 2002; total 0-105):
  {\"proteinuria_rule\": \"sledai2k\"|\"selena\", \"bands\": \"four-level\"|\"five-level\",
   \"previous_score\": N, \"descriptors\": {...24 descriptors...}}
  descriptors: seizure psychosis organic_brain_syndrome visual_disturbance
  cranial_nerve_disorder lupus_headache cva vasculitis (8); arthritis myositis
  urinary_casts haematuria proteinuria pyuria (4); rash alopecia mucosal_ulcers
  pleurisy pericarditis low_complement increased_dna_binding (2); fever
  thrombocytopenia leukopenia (1).
  measurements: haematuria {\"rbc_per_hpf\": n} (> 5), pyuria {\"wbc_per_hpf\": n}
  (> 5), fever {\"temperature_c\": t} (> 38), thrombocytopenia
  {\"platelets_10e9_per_l\": n} (< 100), leukopenia {\"wbc_10e9_per_l\": n} (< 3),
  proteinuria {\"g_per_24h\": g, \"previous_g_per_24h\": p} (> 0.5) or
  {\"present\": bool, \"new_or_increased\": bool}. The SELENA rule scores
  proteinuria only when new or increased by > 0.5 g/24h, so it needs the
  previous value or new_or_increased. A flare is an increase > 3 over
  previous_score.

eular-acr-2019 (Aringer 2019; classified at >= 10 with a clinical item):
  {\"ana\": \"1:160\" | 160 | true|false, \"items\": {...22 items...}}
  items: fever leukopenia thrombocytopenia autoimmune_haemolysis delirium
  psychosis seizure non_scarring_alopecia oral_ulcers
  subacute_cutaneous_or_discoid_lupus acute_cutaneous_lupus
  pleural_or_pericardial_effusion acute_pericarditis joint_involvement
  proteinuria lupus_nephritis_class_ii_or_v lupus_nephritis_class_iii_or_iv
  antiphospholipid_antibodies low_c3 low_c4 anti_dsdna anti_sm.
  measurements: fever (> 38.3 C), leukopenia (< 4), thrombocytopenia (< 100),
  proteinuria (> 0.5 g/24h), same keys as sledai2k. Items may be left out
  only when ANA is below 1:80 (then not classified).

slicc-2012 (Petri 2012; >= 4 with >= 1 clinical and >= 1 immunologic, or
biopsy-proven nephritis with ANA or anti-dsDNA):
  {\"criteria\": {acute_cutaneous_lupus chronic_cutaneous_lupus oral_ulcers
   non_scarring_alopecia synovitis serositis renal neurologic haemolytic_anaemia
   leukopenia_or_lymphopenia thrombocytopenia ana anti_dsdna anti_sm
   antiphospholipid low_complement direct_coombs: bool},
   \"biopsy_proven_lupus_nephritis\": bool}

acr-1997 (Hochberg 1997; >= 4 of 11):
  {\"criteria\": {malar_rash discoid_rash photosensitivity oral_ulcers arthritis
   serositis renal_disorder neurologic_disorder hematologic_disorder
   immunologic_disorder antinuclear_antibody: bool}}

fss (Fatigue Severity Scale, Krupp 1989; mean of 9 items, 1-7):
  {\"items\": [9 answers 1-7, null if missing], \"max_missing\": 0}
  All nine are required unless --allow-missing N (or max_missing) permits
  proration; a prorated result is flagged.

bilag2004 (BILAG-2004, Isenberg 2005; numerical score A=12 B=8 C=1 D=E=0,
Yee 2010; 0-108):
  {\"domains\": {constitutional mucocutaneous neuropsychiatric musculoskeletal
   cardiorespiratory gastrointestinal ophthalmic renal haematological:
   \"A\"-\"E\" or {\"grade\": \"A\"-\"E\", \"items\": {ITEM: VALUE}}}}
  Every domain needs its grade from the BILAG-2004 scoring sheet: rct checks
  it against the items given (an item at 1-4 rules out D and E; all items 0
  rule out A-C) but does not derive it. Items 1-77 take 0-4 or \"ND\"; renal
  and haematological items are values or true/false. Item names:
  docs/scores.md.

pga (physician's global assessment, 0-3 visual analogue scale):
  {\"pga\": 1.25}   (at most two decimals; kept in exact hundredths)

sri (SLE Responder Index, Furie 2009): `rct score sri --baseline FILE --visit
FILE [--level 4|5|6]`, each file
  {\"sledai2k\": TOTAL or {\"descriptors\": {...}}, \"bilag2004\": {bilag2004
   input}, \"pga\": N}
  Responder when SLEDAI-2K falls by >= 4 (5, 6), no new BILAG A (a domain A
  now that was not A), at most one new B (B now, C/D/E at baseline), and PGA
  worsens by < 0.30 (+0.29 passes, +0.30 fails).

Exit status: 0 when the score was computed (whatever its value), 2 for bad
input.";

/// Which score.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScoreKind {
    /// SLEDAI-2K disease activity (0-105).
    Sledai2k,
    /// 2019 EULAR/ACR SLE classification criteria.
    #[value(name = "eular-acr-2019")]
    EularAcr2019,
    /// SLICC 2012 SLE classification criteria.
    #[value(name = "slicc-2012")]
    Slicc2012,
    /// ACR 1997 SLE classification criteria.
    #[value(name = "acr-1997")]
    Acr1997,
    /// Fatigue Severity Scale (mean of 9 items).
    Fss,
    /// BILAG-2004 grades and numerical score (0-108).
    Bilag2004,
    /// Physician's global assessment (0-3).
    Pga,
    /// SLE Responder Index (SRI-4/5/6) of a visit against baseline.
    Sri,
}

impl ScoreKind {
    fn name(self) -> &'static str {
        match self {
            ScoreKind::Sledai2k => "sledai2k",
            ScoreKind::EularAcr2019 => "eular-acr-2019",
            ScoreKind::Slicc2012 => "slicc-2012",
            ScoreKind::Acr1997 => "acr-1997",
            ScoreKind::Fss => "fss",
            ScoreKind::Bilag2004 => "bilag2004",
            ScoreKind::Pga => "pga",
            ScoreKind::Sri => "sri",
        }
    }
}

/// SLEDAI proteinuria rule.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleArg {
    /// > 0.5 g/24h scores, new or persistent.
    Sledai2k,
    /// Scores only when new or increased by > 0.5 g/24h.
    Selena,
}

/// SLEDAI activity band set.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum BandsArg {
    /// 0 / 1-4 / 5-10 / > 10.
    FourLevel,
    /// 0 / 1-5 / 6-10 / 11-19 / >= 20.
    FiveLevel,
}

#[derive(clap::Args, Debug)]
#[command(
    long_about = LONG_ABOUT,
    after_help = "Input formats: see `rct score --help` or docs/scores.md.",
    after_long_help = LONG_ABOUT
)]
pub struct ScoreArgs {
    /// The score to compute.
    #[arg(value_enum)]
    pub score: ScoreKind,
    /// JSON input file (format: see below or docs/scores.md); every score but sri.
    #[arg(long, short, value_name = "FILE.json")]
    pub input: Option<PathBuf>,
    /// sri only: the baseline visit's JSON file.
    #[arg(long, value_name = "FILE.json")]
    pub baseline: Option<PathBuf>,
    /// sri only: the visit's JSON file.
    #[arg(long, value_name = "FILE.json")]
    pub visit: Option<PathBuf>,
    /// sri only: the SLEDAI-2K reduction required (SRI-4, SRI-5, SRI-6).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(4..=6))]
    pub level: Option<u32>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
    /// SLEDAI-2K only: proteinuria rule (overrides the input's).
    #[arg(long, value_enum, value_name = "RULE")]
    pub proteinuria_rule: Option<RuleArg>,
    /// SLEDAI-2K only: activity band set (overrides the input's).
    #[arg(long, value_enum, value_name = "SET")]
    pub bands: Option<BandsArg>,
    /// FSS only: allow up to N missing items, prorating the mean (flagged).
    #[arg(long, value_name = "N")]
    pub allow_missing: Option<usize>,
}

/// Input files larger than this are refused before reading (a score's input
/// is a few kilobytes).
const MAX_INPUT_BYTES: usize = 1 << 20;

fn read_json(path: &std::path::Path) -> anyhow::Result<(String, serde_json::Value)> {
    let file = path.display().to_string();
    let text = super::input::read_text_bounded(path, MAX_INPUT_BYTES, "a score input file")
        .with_context(|| format!("cannot read input file {file}"))?;
    let value = serde_json::from_str(&text).with_context(|| format!("{file}: not valid JSON"))?;
    Ok((file, value))
}

fn run_sri(args: &ScoreArgs) -> anyhow::Result<ExitCode> {
    if args.input.is_some() {
        anyhow::bail!(
            "sri compares two visits: give --baseline FILE and --visit FILE, not --input"
        );
    }
    if args.proteinuria_rule.is_some() || args.bands.is_some() || args.allow_missing.is_some() {
        anyhow::bail!("sri takes --baseline, --visit and --level only");
    }
    let (Some(b), Some(v)) = (&args.baseline, &args.visit) else {
        anyhow::bail!("sri needs --baseline FILE and --visit FILE");
    };
    let visit = |path: &std::path::Path| -> anyhow::Result<rct_scores::sri::SriVisit> {
        let (file, value) = read_json(path)?;
        rct_scores::parse_input("sri", &value).map_err(|e| anyhow::anyhow!("{file}: {e}"))
    };
    let (baseline, at) = (visit(b)?, visit(v)?);
    let level = rct_scores::sri::SriLevel::from_reduction(args.level.unwrap_or(4))?;
    let named = |path: &std::path::Path, r: Result<_, rct_scores::ScoreError>| {
        r.map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    };
    let bc = named(b, baseline.components())?;
    let vc = named(v, at.components())?;
    let result = rct_scores::sri::evaluate(&bc, &vc, level);
    if args.json {
        super::print_json(&result)?;
    } else {
        print!("{}", result.to_text());
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run(args: ScoreArgs) -> anyhow::Result<ExitCode> {
    if args.score == ScoreKind::Sri {
        return run_sri(&args);
    }
    if args.baseline.is_some() || args.visit.is_some() || args.level.is_some() {
        anyhow::bail!("--baseline, --visit and --level are for `rct score sri` only");
    }
    let Some(path) = &args.input else {
        anyhow::bail!("{} needs --input FILE.json", args.score.name());
    };
    let (file, input) = read_json(path)?;
    let options = ScoreOptions {
        proteinuria_rule: args.proteinuria_rule.map(|r| match r {
            RuleArg::Sledai2k => ProteinuriaRule::Sledai2k,
            RuleArg::Selena => ProteinuriaRule::Selena,
        }),
        bands: args.bands.map(|b| match b {
            BandsArg::FourLevel => BandSet::FourLevel,
            BandsArg::FiveLevel => BandSet::FiveLevel,
        }),
        max_missing: args.allow_missing,
    };
    let result = rct_scores::score_with_options(args.score.name(), &input, &options)
        .map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
    if args.json {
        super::print_json(&result)?;
    } else {
        print!("{}", result.to_text());
    }
    Ok(ExitCode::SUCCESS)
}
