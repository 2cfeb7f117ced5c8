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
}

impl ScoreKind {
    fn name(self) -> &'static str {
        match self {
            ScoreKind::Sledai2k => "sledai2k",
            ScoreKind::EularAcr2019 => "eular-acr-2019",
            ScoreKind::Slicc2012 => "slicc-2012",
            ScoreKind::Acr1997 => "acr-1997",
            ScoreKind::Fss => "fss",
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
    /// JSON input file (format: see below or docs/scores.md).
    #[arg(long, short, value_name = "FILE.json")]
    pub input: PathBuf,
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

pub fn run(args: ScoreArgs) -> anyhow::Result<ExitCode> {
    let file = args.input.display().to_string();
    let text = std::fs::read_to_string(&args.input)
        .with_context(|| format!("cannot read input file {file}"))?;
    let input: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{file}: not valid JSON"))?;
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
