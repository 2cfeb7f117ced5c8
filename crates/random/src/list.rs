//! Reproducible randomisation lists and their SHA-256.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::RandomError;
use crate::kit::KitCodes;
use crate::sequence::Sequencer;
use crate::spec::DesignSpec;
use crate::stream::Stream;

/// An arm of the trial with its integer allocation weight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Arm {
    /// Arm identifier as in the protocol.
    pub id: String,
    /// Allocation weight (the arm's entry in the ratio).
    pub weight: u32,
}

impl Arm {
    /// An arm.
    pub fn new(id: impl Into<String>, weight: u32) -> Arm {
        Arm {
            id: id.into(),
            weight,
        }
    }
}

/// Parse arms written as `a:1,b:1` (id:weight; weight 1 if omitted).
pub fn parse_arms(text: &str) -> Result<Vec<Arm>, RandomError> {
    let mut arms = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (id, w) = match part.split_once(':') {
            Some((id, w)) => {
                let w = w.trim().parse::<u32>().map_err(|_| {
                    RandomError::Request(format!(
                        "arm `{part}`: expected `id:weight` with a whole-number weight, e.g. a:1"
                    ))
                })?;
                (id.trim(), w)
            }
            None => (part, 1),
        };
        arms.push(Arm::new(id, w));
    }
    check_arms(&arms)?;
    Ok(arms)
}

pub(crate) fn check_arms(arms: &[Arm]) -> Result<(), RandomError> {
    if arms.len() < 2 {
        return Err(RandomError::Request(format!(
            "a trial needs at least two arms, found {}",
            arms.len()
        )));
    }
    for (i, a) in arms.iter().enumerate() {
        if a.id.trim().is_empty() {
            return Err(RandomError::Request(format!(
                "arm {} has an empty id",
                i + 1
            )));
        }
        if arms[..i].iter().any(|b| b.id == a.id) {
            return Err(RandomError::Request(format!(
                "arm `{}` is listed twice",
                a.id
            )));
        }
    }
    Ok(())
}

/// The ratio of the arms, in order.
pub fn ratio_of(arms: &[Arm]) -> Vec<u32> {
    arms.iter().map(|a| a.weight).collect()
}

/// What to generate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListRequest {
    /// The design.
    pub design: DesignSpec,
    /// The arms with their weights.
    pub arms: Vec<Arm>,
    /// The trial seed.
    pub seed: crate::stream::TrialSeed,
    /// Stratum key (see [`crate::stratum_key`]); `all` when unstratified.
    pub stratum: String,
    /// Number of positions.
    pub n: u32,
    /// Generate kit codes (double-blind trials).
    pub kits: bool,
}

/// One position of a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListRow {
    /// 1-based position within the stratum.
    pub seq: u32,
    /// Stratum key.
    pub stratum: String,
    /// Block number for block designs.
    pub block: Option<u32>,
    /// Arm id.
    pub arm: String,
    /// Kit code when kits are on.
    pub kit: Option<String>,
}

/// A generated list with its digest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RandomList {
    /// Canonical design text.
    pub design: String,
    /// The trial seed.
    pub seed: crate::stream::TrialSeed,
    /// Stratum key.
    pub stratum: String,
    /// The positions.
    pub rows: Vec<ListRow>,
    /// SHA-256 (hex) of [`canonical_csv`] of the rows.
    pub sha256: String,
}

/// The canonical text of a list whose SHA-256 is reported: a header line
/// `seq,stratum,block,arm,kit` then one line per row, fields as printed with
/// empty fields for absent values, `\n` line ends, UTF-8.
pub fn canonical_csv(rows: &[ListRow]) -> String {
    let mut s = String::from("seq,stratum,block,arm,kit\n");
    for r in rows {
        s.push_str(&format!(
            "{},{},{},{},{}\n",
            r.seq,
            r.stratum,
            r.block.map(|b| b.to_string()).unwrap_or_default(),
            r.arm,
            r.kit.clone().unwrap_or_default()
        ));
    }
    s
}

/// SHA-256 (lower-case hex) of the canonical list text.
pub fn list_sha256(rows: &[ListRow]) -> String {
    hex::encode(Sha256::digest(canonical_csv(rows).as_bytes()))
}

/// Generate the list of one stratum: row k is the allocation of the k-th
/// participant of that stratum.
pub fn generate_list(req: &ListRequest) -> Result<RandomList, RandomError> {
    check_arms(&req.arms)?;
    let ratio = ratio_of(&req.arms);
    let mut seq = Sequencer::new(&req.design, &ratio, Some(req.n))?;
    let mut rng = Stream::derive(req.seed, "stratum", &req.stratum);
    let mut kits = req.kits.then(|| KitCodes::new(req.seed, &req.stratum));
    let mut rows = Vec::with_capacity(req.n as usize);
    for k in 1..=req.n {
        let step = seq.next_step(&mut rng);
        rows.push(ListRow {
            seq: k,
            stratum: req.stratum.clone(),
            block: step.block,
            arm: req.arms[step.arm].id.clone(),
            kit: kits.as_mut().map(KitCodes::next_code),
        });
    }
    let sha256 = list_sha256(&rows);
    Ok(RandomList {
        design: req.design.to_string(),
        seed: req.seed,
        stratum: req.stratum.clone(),
        rows,
        sha256,
    })
}
