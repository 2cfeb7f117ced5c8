//! `rct trial sap-final | unblind-request | unblind-approve | governance |
//! dmc | safety-unblind | code-break-list`: the unblinding governance of
//! [`rct_record::governance`] from the command line.
//!
//! The lock unblinds nobody: the statistician records the analysis plan's
//! final version, the data manager locks, and two people in two roles (the
//! sponsor's representative and the statistician) request and approve the
//! trial's unblinding. The data monitoring committee reads its safety
//! tables by arm (`dmc`, nothing recorded); pharmacovigilance breaks one
//! participant's code for an expedited report (`safety-unblind`, shown to
//! that user only); the pharmacist writes the sealed code-break list for
//! the 24-hour line (`code-break-list`, recorded before it is written).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context};
use rct_record::{sha256_hex, Command};

use super::trial::{participant_view, simple, Ctx};

/// Largest analysis plan file hashed (a plan is a document, not data).
pub const MAX_PLAN_BYTES: u64 = 64 * 1024 * 1024;

/// The governance subcommands of `rct trial`.
#[derive(clap::Subcommand, Debug)]
pub enum GovernanceCmd {
    /// Record a version of the statistical analysis plan as final
    /// (statistician): its SHA-256 is computed from --file or --text and
    /// kept in the record. A version recorded after the trial's unblinding
    /// is flagged in every output.
    #[command(disable_version_flag = true)]
    SapFinal {
        #[command(flatten)]
        ctx: Ctx,
        /// Version label, e.g. 2.0.
        #[arg(long = "version", value_name = "VERSION")]
        sap_version: String,
        /// The plan's file (hashed as it is).
        #[arg(long, conflicts_with = "text", required_unless_present = "text")]
        file: Option<PathBuf>,
        /// The plan's text (hashed as UTF-8).
        #[arg(long)]
        text: Option<String>,
    },
    /// Request the trial's unblinding (sponsor or statistician; needs the
    /// database locked and a final analysis plan).
    UnblindRequest {
        #[command(flatten)]
        ctx: Ctx,
        /// Why (optional).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Approve the trial's unblinding (another person in another role than
    /// the request's); the statistician then sees arms.
    UnblindApprove {
        #[command(flatten)]
        ctx: Ctx,
        /// Why (optional).
        #[arg(long)]
        reason: Option<String>,
    },
    /// The analysis plan versions, the unblinding's state and the flags.
    Governance {
        #[command(flatten)]
        ctx: Ctx,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// The data monitoring committee's safety tables by arm (dmc only;
    /// nothing is recorded).
    Dmc {
        #[command(flatten)]
        ctx: Ctx,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Pharmacovigilance code-break of one participant for an expedited
    /// report of a suspected unexpected serious adverse reaction: the arm is
    /// shown to the acting user only; the site is not told.
    SafetyUnblind {
        #[command(flatten)]
        ctx: Ctx,
        /// Participant.
        #[arg(long)]
        participant: String,
        /// Why (e.g. the report's reference).
        #[arg(long)]
        reason: Option<String>,
        /// Print JSON (the participant as the user now sees them).
        #[arg(long)]
        json: bool,
    },
    /// Write the sealed code-break list (participant, site, kit, arm; one a
    /// line, by participant) for the 24-hour line's envelopes (pharmacist).
    /// Producing it is recorded first (who, when, how many entries).
    CodeBreakList {
        #[command(flatten)]
        ctx: Ctx,
        /// File to write (must not exist).
        #[arg(long)]
        out: PathBuf,
    },
}

fn plan_digest(file: Option<&PathBuf>, text: Option<&str>) -> anyhow::Result<String> {
    match (file, text) {
        (Some(path), _) => {
            let name = path.display().to_string();
            let len = std::fs::metadata(path)
                .with_context(|| format!("cannot read {name}"))?
                .len();
            if len > MAX_PLAN_BYTES {
                bail!(
                    "{name}: {len} bytes; an analysis plan file is at most {} MiB (hash it with sha256sum and record it elsewhere)",
                    MAX_PLAN_BYTES / 1024 / 1024
                );
            }
            let bytes = std::fs::read(path).with_context(|| format!("cannot read {name}"))?;
            Ok(sha256_hex(&bytes))
        }
        (None, Some(t)) => Ok(sha256_hex(t.as_bytes())),
        (None, None) => bail!("give the plan as --file FILE or --text TEXT"),
    }
}

/// Runs one governance subcommand.
pub fn run(c: GovernanceCmd) -> anyhow::Result<ExitCode> {
    match c {
        GovernanceCmd::SapFinal {
            ctx,
            sap_version,
            file,
            text,
        } => {
            let digest = plan_digest(file.as_ref(), text.as_deref())?;
            let (state, _) = simple(
                &ctx,
                None,
                Command::FinaliseSap {
                    version: sap_version.clone(),
                    digest: digest.clone(),
                },
            )?;
            println!("analysis plan version {sap_version} recorded as final (SHA-256 {digest})");
            for f in state.governance_flags() {
                println!("flag: {f}");
            }
        }
        GovernanceCmd::UnblindRequest { ctx, reason } => {
            let (state, actor) = simple(&ctx, reason.as_deref(), Command::RequestUnblinding)?;
            println!(
                "trial {}: unblinding requested by {} ({}); another person in another role approves it with `rct trial unblind-approve`",
                state.trial, actor.user, actor.role
            );
        }
        GovernanceCmd::UnblindApprove { ctx, reason } => {
            let (state, actor) = simple(&ctx, reason.as_deref(), Command::ApproveUnblinding)?;
            println!(
                "trial {}: unblinding approved by {} ({}); the statistician now sees arms",
                state.trial, actor.user, actor.role
            );
        }
        GovernanceCmd::Governance { ctx, json } => {
            let ledger = ctx.ledger()?;
            let trial = ctx.trial(ledger.store().as_ref())?;
            let actor = ctx.actor(&ledger, &trial)?;
            let g = ledger
                .state(&trial)?
                .governance_view(&actor.user)
                .ok_or_else(|| anyhow!("`{}` holds no role in trial {trial}", actor.user))?;
            if json {
                super::print_json(&g)?;
            } else {
                print_governance(&g);
            }
        }
        GovernanceCmd::Dmc { ctx, json } => {
            let ledger = ctx.ledger()?;
            let trial = ctx.trial(ledger.store().as_ref())?;
            let actor = ctx.actor(&ledger, &trial)?;
            let v = ledger.state(&trial)?.safety_view(&actor.user).ok_or_else(|| {
                anyhow!(
                    "refused: the committee's safety tables are for the data monitoring committee only (`{}` holds no dmc role in trial {trial})",
                    actor.user
                )
            })?;
            if json {
                super::print_json(&v)?;
            } else {
                println!(
                    "{trial}: safety by arm (adverse-event forms: {})",
                    if v.forms.is_empty() {
                        "none recorded".to_string()
                    } else {
                        v.forms.join(", ")
                    }
                );
                println!(
                    "{:<16} {:>10} {:>9} {:>8} {:>8} {:>8} {:>8}",
                    "arm", "randomised", "withdrawn", "with AE", "AEs", "serious", "with SAE"
                );
                for a in &v.arms {
                    println!(
                        "{:<16} {:>10} {:>9} {:>8} {:>8} {:>8} {:>8}",
                        a.arm,
                        a.randomised,
                        a.withdrawn,
                        a.with_adverse_event,
                        a.adverse_event_entries,
                        a.serious_entries,
                        a.with_serious_event
                    );
                }
            }
        }
        GovernanceCmd::SafetyUnblind {
            ctx,
            participant,
            reason,
            json,
        } => {
            let (state, actor) = simple(
                &ctx,
                reason.as_deref(),
                Command::SafetyCodeBreak {
                    participant: participant.clone(),
                },
            )?;
            let pv = participant_view(&state, &actor.user, &participant)?;
            if json {
                super::print_json(&pv)?;
            } else {
                match &pv.allocation {
                    Some(a) => println!(
                        "{participant}: code broken for {} only (expedited safety report): arm {} ({}){}",
                        actor.user,
                        a.arm_name,
                        a.arm,
                        pv.kit
                            .as_ref()
                            .map(|k| format!(", kit {k}"))
                            .unwrap_or_default()
                    ),
                    None => println!("{participant}: code-break recorded"),
                }
            }
        }
        GovernanceCmd::CodeBreakList { ctx, out } => {
            let name = out.display().to_string();
            // Open (create, never overwrite) before recording, so that a
            // bad path records nothing; record before writing, so that no
            // list exists unrecorded.
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&out)
                .with_context(|| format!("cannot create {name} (it must not exist yet)"))?;
            let recorded = simple(&ctx, None, Command::ProduceCodeBreakList);
            let (state, actor) = match recorded {
                Ok(x) => x,
                Err(e) => {
                    drop(file);
                    let _ = std::fs::remove_file(&out);
                    return Err(e);
                }
            };
            let list = state
                .code_break_list(&actor.user)
                .ok_or_else(|| anyhow!("`{}` may not read the code-break list", actor.user))?;
            let (at, seq) = state
                .governance
                .code_break_lists
                .iter()
                .rev()
                .find(|r| r.by == actor.user)
                .map_or_else(
                    || (String::new(), state.seq),
                    |r| (r.at.to_rfc3339(), r.seq),
                );
            let mut text = format!(
                "# rct sealed code-break list: trial {}, {} entries, produced by {} ({}) at {at} (event {seq})\n# participant\tsite\tkit\tarm\tarm name\n",
                state.trial,
                list.len(),
                actor.user,
                actor.role,
            );
            for e in &list {
                text.push_str(&format!(
                    "{}\t{}\t{}\t{}\t{}\n",
                    e.participant,
                    e.site.as_deref().unwrap_or("-"),
                    e.kit.as_deref().unwrap_or("-"),
                    e.arm,
                    e.arm_name
                ));
            }
            file.write_all(text.as_bytes())
                .and_then(|()| file.sync_all())
                .with_context(|| {
                    format!("the list's production was recorded (event {seq}), but {name} could not be written")
                })?;
            println!(
                "{name}: sealed code-break list of {} entries written; its production is recorded as event {seq}",
                list.len(),
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_governance(g: &rct_record::governance::GovernanceView) {
    println!(
        "{}: {}{}",
        g.trial,
        if g.blinded { "blinded" } else { "open-label" },
        if g.locked { ", locked" } else { "" }
    );
    if g.saps.is_empty() {
        println!("analysis plan: no version recorded as final");
    }
    for s in &g.saps {
        println!(
            "analysis plan {} final (SHA-256 {}) by {} at {}{}",
            s.version,
            s.digest,
            s.by,
            s.at.to_rfc3339(),
            if s.after_unblinding {
                " (after unblinding)"
            } else {
                ""
            }
        );
    }
    if let Some(p) = &g.pending {
        println!(
            "unblinding requested by {} ({}) at {} under plan {}; waiting for a second person in another role",
            p.user,
            p.role,
            p.at.to_rfc3339(),
            p.sap_version
        );
    }
    match &g.unblinding {
        Some(u) => println!(
            "trial unblinded at {} under plan {}: requested by {} ({}), approved by {} ({})",
            u.approved.at.to_rfc3339(),
            u.approved.sap_version,
            u.requested.user,
            u.requested.role,
            u.approved.user,
            u.approved.role
        ),
        None if g.blinded => println!("trial not unblinded"),
        None => {}
    }
    for m in &g.missing {
        println!("still needed: {m}");
    }
    for l in &g.code_break_lists {
        println!(
            "sealed code-break list: {} entries, by {} at {}",
            l.entries,
            l.by,
            l.at.to_rfc3339()
        );
    }
    for f in &g.flags {
        println!("flag: {f}");
    }
}
