//! `rct trial ...`: run a trial from the command line (register, screen,
//! consent, randomise, enter data, record sessions, queries, emergency
//! code-breaks, the kit list, lock).
//!
//! Every write is a [`rct_record::Command`] checked by
//! [`rct_record::TrialState::check`] inside [`rct_store::Ledger::execute`];
//! what is printed comes from [`rct_record::TrialState::view`] for the acting
//! user, so a blinded role never sees an arm here either.
//!
//! The protocol is read once, at `rct trial create --protocol FILE`, and its
//! text is kept in the registration event (inside the concealed design):
//! `screen` runs the eligibility rules, `enter`/`change` check values against
//! the forms, and `session` lays recordings over the session template of
//! exactly the protocol the trial was registered with. No later command
//! takes `--protocol`.
//!
//! The actor is the user logged in with `rct login` (the token file,
//! `--token-file`), acting in `--role R` (else `$RCT_ROLE`); see
//! [`super::identity`]. `--user U` (else `$RCT_USER`) must agree with the
//! login, and names the user alone only in a trial without accounts. The
//! user who runs `create` becomes the trial's administrator, with a new
//! account (password asked, or `--password-stdin`) unless they hold one in
//! the database already and are logged in as it; `grant` to a user without
//! an account creates it the same way. The trial is `--trial ID` (else
//! `$RCT_TRIAL`, else the only trial in the database).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context};
use chrono::{DateTime, Utc};
use rct_core::protocol::Protocol;
use rct_exercise::{compliance, read_csv, read_fit, Alignment, PhaseSpec, SessionTemplate};
use rct_record::registration::{register_command_with_text, site_commands};
use rct_record::{Actor, Command, QueryStatus, Role, Sites, TrialState, Verdict};
use rct_store::{ExecuteError, Ledger, Store};
use serde_json::Value;

use super::db::{self, DbArgs};
use super::identity::{self, PasswordArgs, TokenArgs};

/// Who acts, on which trial, in which database, and when.
#[derive(clap::Args, Debug, Clone)]
pub struct Ctx {
    #[command(flatten)]
    db: DbArgs,
    /// Trial identifier [default: $RCT_TRIAL, else the only trial in the database]
    #[arg(long)]
    trial: Option<String>,
    /// Acting user; in a trial with accounts it must be the user logged
    /// in with `rct login` [default: $RCT_USER, else the logged-in user]
    #[arg(long)]
    user: Option<String>,
    /// Role the user acts in, e.g. research_nurse, investigator,
    /// outcome_assessor, intervention_staff, pharmacist, monitor,
    /// data_manager, statistician, admin, sponsor, dmc, pharmacovigilance
    /// [default: $RCT_ROLE]
    #[arg(long)]
    role: Option<String>,
    /// Time of the action (RFC 3339), for entering records after the fact
    /// [default: now]
    #[arg(long, value_name = "RFC3339")]
    at: Option<String>,
    /// Writes sign a checkpoint of the new head when this key file exists
    /// (`create` makes it if missing).
    #[command(flatten)]
    key: super::signing::KeyArgs,
    #[command(flatten)]
    token: TokenArgs,
}

/// `rct trial` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum TrialCmd {
    /// Register a trial from its protocol and add the protocol's sites. The
    /// acting user (default `admin`) becomes its administrator: a new
    /// account whose password is asked (or read with --password-stdin), or,
    /// for a user with an account in the database, the logged-in user.
    Create {
        #[command(flatten)]
        ctx: Ctx,
        /// Protocol file (TOML); its text is kept in the registration.
        #[arg(long)]
        protocol: PathBuf,
        /// The allocation lists' seed. By default a 256-bit key is drawn
        /// from the operating system. A number (for testing a set-up) is
        /// mixed with a sealed random secret, so it alone predicts
        /// nothing; 64 hex digits are a 256-bit key used as given (keep it
        /// secret). Either way the seed is sealed in the record.
        #[arg(long, value_name = "N|64HEX")]
        seed: Option<rct_random::TrialSeed>,
        #[command(flatten)]
        password: PasswordArgs,
    },
    /// Screen a person against the protocol's eligibility criteria and record
    /// the verdict (creates the participant at the site).
    Screen {
        #[command(flatten)]
        ctx: Ctx,
        /// Participant (screening) identifier.
        #[arg(long)]
        participant: String,
        /// Site.
        #[arg(long)]
        site: String,
        /// Facts file as `rct screen --facts` reads it:
        /// {"screening_date": "2025-03-01", "facts": {...}}.
        #[arg(long)]
        facts: PathBuf,
        /// Print JSON (verdict, every criterion with its result and the
        /// facts it read or missed).
        #[arg(long)]
        json: bool,
        /// Why a participant screened before is screened again (required
        /// then; the earlier screening stays in the record).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Record informed consent.
    #[command(disable_version_flag = true)]
    Consent {
        #[command(flatten)]
        ctx: Ctx,
        /// Participant.
        #[arg(long)]
        participant: String,
        /// When consent was given (RFC 3339, e.g. 2025-03-01T09:30:00Z)
        /// [default: now].
        #[arg(long)]
        date: Option<String>,
        /// The consent form version, one of the protocol's `[consent]
        /// versions` [default: the current one].
        #[arg(long = "version", id = "form_version", value_name = "VERSION")]
        form_version: Option<String>,
        /// Who obtained consent [default: the acting user].
        #[arg(long)]
        obtained_by: Option<String>,
    },
    /// Randomise a consented, eligible participant.
    Randomise {
        #[command(flatten)]
        ctx: Ctx,
        /// Participant.
        #[arg(long)]
        participant: String,
        /// Optional check: factor levels such as sex=female. The record
        /// reads the strata from the screening facts; a level given here
        /// that differs is refused, naming the difference.
        #[arg(long, default_value = "")]
        strata: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Enter a value for the first time (the record checks it against the
    /// registered protocol's form and schedule).
    Enter {
        #[command(flatten)]
        ctx: Ctx,
        #[command(flatten)]
        item: Item,
        /// A kit other than the assigned one was dispensed: record it as
        /// given and flag the deviation for the pharmacy (needs --reason).
        #[arg(long)]
        confirm_other_kit: bool,
        /// Why (with --confirm-other-kit).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Change an entered value (a reason is required).
    Change {
        #[command(flatten)]
        ctx: Ctx,
        #[command(flatten)]
        item: Item,
        /// Why the value changes.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Record that a screened person declined to consent (CONSORT:
    /// excluded, declined to participate).
    DeclineConsent {
        #[command(flatten)]
        ctx: Ctx,
        /// Participant.
        #[arg(long)]
        participant: String,
    },
    /// Withdraw a participant's consent: no more data are taken (a reason
    /// is required; what was recorded is kept).
    Withdraw {
        #[command(flatten)]
        ctx: Ctx,
        /// Participant.
        #[arg(long)]
        participant: String,
        /// Why.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Stop a randomised participant's intervention early: follow-up
    /// continues and intention to treat keeps the data; no more kits or
    /// intervention sessions are taken (a reason is required).
    StopIntervention {
        #[command(flatten)]
        ctx: Ctx,
        /// Participant.
        #[arg(long)]
        participant: String,
        /// Why.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Record an intervention session from a heart-rate recording (FIT or
    /// CSV): compliance with the protocol's session template is computed and
    /// its summary recorded.
    Session {
        #[command(flatten)]
        ctx: Ctx,
        /// Participant.
        #[arg(long)]
        participant: String,
        /// Recording: .fit, or .csv with time and heart-rate columns.
        #[arg(long)]
        file: PathBuf,
        /// HRmax in bpm.
        #[arg(long)]
        hrmax: f64,
        /// Session identifier [default: the file name without extension].
        #[arg(long)]
        session: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Emergency code-break: reveal one participant's arm to the acting
    /// investigator only, with a reason category from the protocol's
    /// `[unblinding] categories` and the user's password again. The written
    /// explanation may come now (`--reason`) or follow with
    /// `explain-unblinding` within the protocol's `explain_within_hours`.
    /// Administrators, monitors and data managers see who broke the code,
    /// when and why, never the arm.
    Unblind {
        #[command(flatten)]
        ctx: Ctx,
        /// Participant.
        #[arg(long)]
        participant: String,
        /// The reason category, one of the protocol's (e.g. `serious
        /// adverse event`).
        #[arg(long)]
        category: String,
        /// The written explanation (at least 10 characters and two words);
        /// may follow with `explain-unblinding`.
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        password: PasswordArgs,
        /// Print JSON (the participant as the user now sees them).
        #[arg(long)]
        json: bool,
    },
    /// The written explanation of your own earlier emergency code-break (at
    /// least 10 characters and two words).
    ExplainUnblinding {
        #[command(flatten)]
        ctx: Ctx,
        /// Participant.
        #[arg(long)]
        participant: String,
        /// Why the treatment had to be known.
        #[arg(long)]
        explanation: String,
    },
    /// The kit list: each dispensed kit code with its participant and site,
    /// and the arm for users who may map kits to arms (the pharmacist in a
    /// double-blind trial); blinded users see the codes only.
    Kits {
        #[command(flatten)]
        ctx: Ctx,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Data queries: raise, answer, close.
    #[command(subcommand)]
    Query(QueryCmd),
    /// Lock the database (every query must be closed; a reason is required).
    Lock {
        #[command(flatten)]
        ctx: Ctx,
        /// Why, e.g. "last participant's final visit entered and cleaned".
        #[arg(long)]
        reason: Option<String>,
    },
    /// Unlock the database (a reason is required).
    Unlock {
        #[command(flatten)]
        ctx: Ctx,
        /// Why.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Grant a role to a user at some sites (or all). A user without an
    /// account in the trial gets one: with the password of their account
    /// elsewhere in the database, else a new password (asked, or read with
    /// --password-stdin).
    Grant {
        #[command(flatten)]
        ctx: Ctx,
        /// User to grant to.
        #[arg(long = "to", value_name = "USER")]
        to: String,
        /// Role to grant.
        #[arg(long = "as", value_name = "ROLE")]
        grant_role: String,
        /// Sites: S1,S2 or all.
        #[arg(long, default_value = "all")]
        sites: String,
        /// Name shown to people, for a new account [default: the user name].
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        password: PasswordArgs,
    },
    /// The trial as the acting user may see it.
    Status {
        #[command(flatten)]
        ctx: Ctx,
        /// Print JSON (the user's view).
        #[arg(long)]
        json: bool,
    },
    /// Operator recovery: unlock an account (e.g. the only administrator's)
    /// in every trial where it is locked.
    UnlockUser(super::unlock_user::UnlockUserArgs),
    #[command(flatten)]
    Governance(super::governance::GovernanceCmd),
}

/// An item: participant, visit, form, field, value.
#[derive(clap::Args, Debug, Clone)]
pub struct Item {
    /// Participant.
    #[arg(long)]
    participant: String,
    /// Visit.
    #[arg(long)]
    visit: String,
    /// Form.
    #[arg(long)]
    form: String,
    /// Field.
    #[arg(long)]
    field: String,
    /// Value (JSON number, true/false, or text).
    #[arg(long)]
    value: String,
}

/// `rct trial query` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum QueryCmd {
    /// Raise a query about a participant (optionally an item visit/form/field).
    Raise {
        #[command(flatten)]
        ctx: Ctx,
        /// Participant.
        #[arg(long)]
        participant: String,
        /// Item visit/form/field.
        #[arg(long)]
        item: Option<String>,
        /// Question.
        #[arg(long)]
        text: String,
    },
    /// Answer a query.
    Answer {
        #[command(flatten)]
        ctx: Ctx,
        /// Query identifier (Q1, Q2, ...).
        #[arg(long)]
        query: String,
        /// Answer.
        #[arg(long)]
        text: String,
    },
    /// Close a query.
    Close {
        #[command(flatten)]
        ctx: Ctx,
        /// Query identifier.
        #[arg(long)]
        query: String,
    },
}

/// The clock, read only here.
#[allow(clippy::disallowed_methods)]
fn now() -> DateTime<Utc> {
    Utc::now()
}

fn env_or(v: &Option<String>, var: &str) -> Option<String> {
    v.clone()
        .or_else(|| std::env::var(var).ok())
        .filter(|s| !s.is_empty())
}

impl Ctx {
    pub(crate) fn at(&self) -> anyhow::Result<DateTime<Utc>> {
        match &self.at {
            None => Ok(now()),
            Some(s) => DateTime::parse_from_rfc3339(s)
                .map(|d| d.with_timezone(&Utc))
                .with_context(|| {
                    format!("--at `{s}`: expected an RFC 3339 time such as 2025-03-01T09:00:00Z")
                }),
        }
    }

    fn role(&self, default_role: Option<Role>) -> anyhow::Result<Role> {
        match env_or(&self.role, "RCT_ROLE") {
            Some(r) => parse_role(&r),
            None => default_role
                .ok_or_else(|| anyhow!("in which role? give --role R (or set RCT_ROLE)")),
        }
    }

    /// The acting user (authenticated where the trial has accounts, see
    /// [`identity::acting_user`]) in the role asked for; the record checks
    /// that the user holds it.
    pub(crate) fn actor(
        &self,
        ledger: &Ledger<Box<dyn Store>>,
        trial: &str,
    ) -> anyhow::Result<Actor> {
        let state = ledger.state(trial)?;
        let user = identity::acting_user(
            ledger.store().as_ref(),
            &state,
            env_or(&self.user, "RCT_USER"),
            &self.token,
            identity::now(),
        )?;
        Ok(Actor::new(&user, self.role(None)?, None).running(rct_web::SOFTWARE))
    }

    pub(crate) fn ledger(&self) -> anyhow::Result<Ledger<Box<dyn Store>>> {
        db::open_writer(&self.db.url(), &self.key)
    }

    pub(crate) fn trial(&self, store: &dyn Store) -> anyhow::Result<String> {
        if let Some(t) = env_or(&self.trial, "RCT_TRIAL") {
            db::trials(store, Some(&t))?;
            return Ok(t);
        }
        let all = store.trials()?;
        match all.as_slice() {
            [one] => Ok(one.clone()),
            [] => bail!("the database holds no trial; register one with `rct trial create`"),
            _ => bail!(
                "the database holds several trials ({}); give --trial ID",
                all.join(", ")
            ),
        }
    }
}

fn parse_role(s: &str) -> anyhow::Result<Role> {
    s.replace('-', "_").parse::<Role>().map_err(|e| anyhow!(e))
}

/// Runs `commands` as one checked write by `actor`; returns the state after.
fn write(
    ledger: &Ledger<Box<dyn Store>>,
    trial: &str,
    actor: &Actor,
    at: DateTime<Utc>,
    reason: Option<&str>,
    commands: &[Command],
) -> anyhow::Result<std::sync::Arc<TrialState>> {
    match ledger.execute(trial, |s| s.check_all(actor, at, reason, commands)) {
        Ok(_) => Ok(ledger.state(trial)?),
        Err(ExecuteError::Rejected(e @ rct_record::CommandError::ReasonRequired { .. })) => {
            bail!("refused: {e}: give --reason \"...\"")
        }
        Err(ExecuteError::Rejected(e)) => bail!("refused: {e}"),
        Err(ExecuteError::Store(e)) => Err(e.into()),
    }
}

/// The protocol kept in the registration, as the record parsed it.
fn protocol_of(state: &TrialState) -> anyhow::Result<std::sync::Arc<Protocol>> {
    let config = state
        .config
        .as_ref()
        .ok_or_else(|| anyhow!("trial `{}` is not registered", state.trial))?;
    config
        .protocol
        .as_ref()
        .map(|p| p.0.clone())
        .ok_or_else(|| {
            anyhow!(
                "trial `{}` was not registered from a protocol file (`rct trial create`); \
             its protocol is not in the record",
                state.trial
            )
        })
}

fn parse_value(s: &str) -> Value {
    serde_json::from_str::<Value>(s)
        .ok()
        .filter(|v| !v.is_object() && !v.is_array())
        .unwrap_or_else(|| Value::String(s.to_string()))
}

fn strata_map(s: &str) -> anyhow::Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| anyhow!("--strata `{part}`: expected FACTOR=LEVEL, e.g. sex=female"))?;
        out.insert(k.trim().to_string(), v.trim().to_string());
    }
    Ok(out)
}

/// The screening date and facts of a facts file (`rct screen --facts`'s
/// format): the edge reads them; the record screens.
fn read_facts(facts: &Path) -> anyhow::Result<(chrono::NaiveDate, BTreeMap<String, Value>)> {
    let name = facts.display().to_string();
    let text = std::fs::read_to_string(facts).with_context(|| format!("cannot read {name}"))?;
    let json: Value =
        serde_json::from_str(&text).with_context(|| format!("{name}: not valid JSON"))?;
    let date = json
        .get("screening_date")
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow!("{name}: screening_date (YYYY-MM-DD) is missing"))?;
    let date = chrono::NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d")
        .map_err(|_| anyhow!("{name}: screening_date `{date}` is not a date (YYYY-MM-DD)"))?;
    let facts = match json.get("facts") {
        Some(Value::Object(m)) => m.clone().into_iter().collect(),
        None | Some(Value::Null) => BTreeMap::new(),
        Some(other) => bail!("{name}: facts must be an object, found {other}"),
    };
    Ok((date, facts))
}

/// One line a site can act on: the verdict, the criteria that exclude, and
/// for an undetermined verdict the criteria left unknown and the facts
/// missing.
fn screen_line(
    participant: &str,
    verdict: Verdict,
    s: &rct_core::eligibility::Screening,
) -> String {
    let word = verdict.word();
    let excluded: Vec<&str> = s
        .criteria
        .iter()
        .filter(|c| c.excludes())
        .map(|c| c.id.as_str())
        .collect();
    let unknown: Vec<&str> = s
        .criteria
        .iter()
        .filter(|c| c.result == rct_core::eligibility::CriterionResult::Unknown)
        .map(|c| c.id.as_str())
        .collect();
    let mut notes = Vec::new();
    if !excluded.is_empty() {
        notes.push(excluded.join(", "));
    }
    if verdict == Verdict::Undetermined && !unknown.is_empty() {
        notes.push(format!("unknown: {}", unknown.join(", ")));
    }
    if verdict == Verdict::Undetermined && !s.missing.is_empty() {
        notes.push(format!(
            "give the facts {} and screen again",
            s.missing.join(", ")
        ));
    }
    if notes.is_empty() {
        format!("{participant}: {word}")
    } else {
        format!("{participant}: {word} ({})", notes.join("; "))
    }
}

/// The protocol's first session template for `arm` (or the first at all).
fn session_template(p: &Protocol, arm: Option<&str>) -> anyhow::Result<SessionTemplate> {
    let s = p
        .sessions
        .iter()
        .find(|s| arm.is_none_or(|a| s.arm.get_ref() == a))
        .or_else(|| p.sessions.first())
        .ok_or_else(|| anyhow!("the protocol defines no [[sessions]]"))?;
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
    Ok(SessionTemplate::from_specs(
        &specs,
        threshold,
        min_fraction,
    )?)
}

fn read_recording(path: &Path) -> anyhow::Result<rct_exercise::Recording> {
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

/// One participant as the user sees them.
pub(crate) fn participant_view(
    state: &TrialState,
    user: &str,
    id: &str,
) -> anyhow::Result<rct_record::ParticipantView> {
    state
        .view(user)
        .participants
        .into_iter()
        .find(|p| p.id == id)
        .ok_or_else(|| anyhow!("participant `{id}` is not visible to `{user}`"))
}

/// Runs `rct trial ...`.
pub fn run(c: TrialCmd) -> anyhow::Result<ExitCode> {
    match c {
        TrialCmd::Create {
            ctx,
            protocol,
            seed,
            password,
        } => {
            let name = protocol.display().to_string();
            let text = super::input::read_protocol(&protocol)?;
            let p = rct_core::protocol::parse(&text, &name)
                .map_err(|d| anyhow!("{d}"))
                .with_context(|| format!("{name} is not a valid protocol"))?;
            let trial =
                env_or(&ctx.trial, "RCT_TRIAL").unwrap_or_else(|| p.trial.id.get_ref().clone());
            let url = ctx.db.url();
            let mut ledger = Ledger::new(db::open_store(&url)?);
            super::signing::attach(&mut ledger, ctx.key.path(&url).as_deref(), true)?;
            if ledger.store().head(&trial)? > 0 {
                bail!("refused: trial `{trial}` is already registered in this database");
            }
            let (actor, account) = creator(&ctx, &ledger, &password)?;
            let secrets = rct_store::secrets::draw(seed)?;
            let mut commands = vec![register_command_with_text(&p, &text, secrets), account];
            commands.extend(site_commands(&p));
            let state = write(&ledger, &trial, &actor, ctx.at()?, None, &commands)?;
            let v = state.view(&actor.user);
            println!(
                "registered trial {trial} ({}) with {} sites; administrator: {}",
                v.title,
                v.sites.len(),
                actor.user
            );
            match seed {
                Some(n) => println!(
                    "the typed seed {n} was mixed with a sealed random secret: the lists follow from the trial key, sealed in the record (the unblinded statistician's export carries it after unblinding)"
                ),
                None => println!(
                    "the allocation seed (256 bits) was drawn from the operating system and sealed in the record"
                ),
            }
        }
        TrialCmd::Screen {
            ctx,
            participant,
            site,
            facts,
            json,
            reason,
        } => {
            let ledger = ctx.ledger()?;
            let trial = ctx.trial(ledger.store().as_ref())?;
            let actor = ctx.actor(&ledger, &trial)?;
            let (date, facts) = read_facts(&facts)?;
            let cmd = Command::Screen {
                participant: participant.clone(),
                site: Some(site),
                date,
                facts: facts.clone(),
            };
            // The record computes the verdict; the engine's account of it
            // (criteria left unknown, facts missing) is the record's own.
            let state = write(
                &ledger,
                &trial,
                &actor,
                ctx.at()?,
                reason.as_deref(),
                &[cmd],
            )?;
            let config = state
                .config
                .as_ref()
                .ok_or_else(|| anyhow!("trial {trial} is not registered"))?;
            let (verdict, _, screening) =
                rct_record::evaluate_screening(config, &participant, date, &facts)?;
            let screening = screening.ok_or_else(|| {
                anyhow!("trial {trial} has no protocol in the record to screen against")
            })?;
            if json {
                super::print_json(&serde_json::json!({
                    "participant": participant,
                    "verdict": verdict.word(),
                    "criteria": screening.criteria,
                    "missing": screening.missing,
                }))?;
            } else {
                println!("{}", screen_line(&participant, verdict, &screening));
            }
        }
        TrialCmd::Consent {
            ctx,
            participant,
            date,
            form_version,
            obtained_by,
        } => {
            let given_at = date
                .map(|s| {
                    DateTime::parse_from_rfc3339(&s)
                        .map(|d| d.with_timezone(&Utc))
                        .with_context(|| {
                            format!("--date `{s}`: expected an RFC 3339 time such as 2025-03-01T09:30:00Z")
                        })
                })
                .transpose()?;
            simple(
                &ctx,
                None,
                Command::Consent {
                    participant: participant.clone(),
                    version: form_version,
                    given_at,
                    obtained_by,
                },
            )?;
            println!("{participant}: consent recorded");
        }
        TrialCmd::Randomise {
            ctx,
            participant,
            strata,
            json,
        } => {
            let strata = strata_map(&strata)?;
            check_strata(&ctx, &participant, &strata)?;
            let (state, actor) = simple(
                &ctx,
                None,
                Command::Randomise {
                    participant: participant.clone(),
                },
            )?;
            let pv = participant_view(&state, &actor.user, &participant)?;
            if json {
                super::print_json(&pv)?;
            } else {
                let stratum = pv.stratum.clone().unwrap_or_default();
                match &pv.allocation {
                    Some(a) => println!(
                        "{participant}: randomised to {} (stratum {stratum})",
                        a.arm
                    ),
                    None => println!(
                        "{participant}: randomised (stratum {stratum}; the arm is concealed from {} as {})",
                        actor.user,
                        actor.role.as_str()
                    ),
                }
                if let Some(k) = &pv.kit {
                    println!("kit: {k}");
                }
            }
        }
        TrialCmd::Enter {
            ctx,
            item,
            confirm_other_kit,
            reason,
        } => {
            enter(&ctx, &item, reason.as_deref(), false, confirm_other_kit)?;
        }
        TrialCmd::Change { ctx, item, reason } => {
            enter(&ctx, &item, reason.as_deref(), true, false)?;
        }
        TrialCmd::Withdraw {
            ctx,
            participant,
            reason,
        } => {
            simple(
                &ctx,
                reason.as_deref(),
                Command::Withdraw {
                    participant: participant.clone(),
                },
            )?;
            println!("{participant}: withdrawn");
        }
        TrialCmd::DeclineConsent { ctx, participant } => {
            simple(
                &ctx,
                None,
                Command::DeclineConsent {
                    participant: participant.clone(),
                },
            )?;
            println!("{participant}: declined consent");
        }
        TrialCmd::StopIntervention {
            ctx,
            participant,
            reason,
        } => {
            simple(
                &ctx,
                reason.as_deref(),
                Command::StopIntervention {
                    participant: participant.clone(),
                },
            )?;
            println!("{participant}: intervention stopped; follow-up continues");
        }
        TrialCmd::Session {
            ctx,
            participant,
            file,
            hrmax,
            session,
            json,
        } => {
            let ledger = ctx.ledger()?;
            let trial = ctx.trial(ledger.store().as_ref())?;
            let actor = ctx.actor(&ledger, &trial)?;
            let state = ledger.state(&trial)?;
            let p = protocol_of(&state)?;
            // Intervention staff see their participants' arms; use that arm's template.
            let pv = participant_view(&state, &actor.user, &participant).ok();
            let arm = pv
                .as_ref()
                .and_then(|v| v.allocation.as_ref())
                .map(|a| a.arm.clone());
            let template = session_template(&p, arm.as_deref())?;
            let rec = read_recording(&file)?;
            let r = compliance(&rec, &template, hrmax, Alignment::Auto, 5.0)
                .with_context(|| file.display().to_string())?;
            let id = session.unwrap_or_else(|| {
                file.file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "session".into())
            });
            let summary = serde_json::json!({
                "file": file.file_name().map(|s| s.to_string_lossy().into_owned()),
                "start_unix": rec.start_unix,
                "attended": true,
                "hrmax": hrmax,
                "alignment": r.alignment,
                "compliant_bouts": r.compliant_bouts,
                "bouts": r.bouts,
                "gaps": r.gaps.len(),
            });
            write(
                &ledger,
                &trial,
                &actor,
                ctx.at()?,
                None,
                &[Command::RecordSession {
                    participant: participant.clone(),
                    session: id.clone(),
                    summary: summary.clone(),
                }],
            )?;
            if json {
                super::print_json(&summary)?;
            } else {
                println!(
                    "{participant}: session {id} recorded: {} of {} bouts compliant (HRmax {hrmax})",
                    r.compliant_bouts, r.bouts
                );
            }
        }
        TrialCmd::Unblind {
            ctx,
            participant,
            category,
            reason,
            password,
            json,
        } => {
            password_again(&ctx, &password)?;
            let (state, actor) = simple(
                &ctx,
                reason.as_deref(),
                Command::EmergencyUnblind {
                    participant: participant.clone(),
                    category,
                },
            )?;
            let pv = participant_view(&state, &actor.user, &participant)?;
            if json {
                super::print_json(&pv)?;
            } else {
                match &pv.allocation {
                    Some(a) => println!(
                        "{participant}: code broken for {} only: arm {} ({}){}",
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
        TrialCmd::ExplainUnblinding {
            ctx,
            participant,
            explanation,
        } => {
            simple(
                &ctx,
                None,
                Command::ExplainUnblinding {
                    participant: participant.clone(),
                    explanation,
                },
            )?;
            println!("{participant}: explanation of the code-break recorded");
        }
        TrialCmd::Kits { ctx, json } => {
            let ledger = ctx.ledger()?;
            let trial = ctx.trial(ledger.store().as_ref())?;
            let actor = ctx.actor(&ledger, &trial)?;
            let v = ledger.state(&trial)?.view(&actor.user);
            if v.roles.is_empty() {
                bail!("`{}` holds no role in trial {trial}", actor.user);
            }
            if !v.randomisation.kits {
                bail!("trial {trial} does not dispense kit codes (its protocol's [masking] kit_codes is off)");
            }
            let mut rows: Vec<&rct_record::ParticipantView> =
                v.participants.iter().filter(|p| p.kit.is_some()).collect();
            // Allocation order to those who see arms (the pharmacy dispenses
            // in that order); to everyone else by kit code, which follows
            // neither the arms nor the list.
            if v.arms.is_some() {
                rows.sort_by_key(|p| p.randomised_at);
            } else {
                rows.sort_by(|a, b| a.kit.cmp(&b.kit));
            }
            if json {
                let list: Vec<Value> = rows
                    .iter()
                    .map(|p| {
                        serde_json::json!({
                            "kit": p.kit,
                            "participant": p.id,
                            "site": p.site,
                            "stratum": p.stratum,
                            "randomised_at": p.randomised_at,
                            "arm": p.allocation.as_ref().map(|a| a.arm.clone()),
                            "arm_name": p.allocation.as_ref().map(|a| a.arm_name.clone()),
                            "position": p.allocation.as_ref().map(|a| a.position),
                        })
                    })
                    .collect();
                super::print_json(&serde_json::json!({"trial": trial, "kits": list}))?;
            } else {
                println!("{:<10} {:<12} {:<10} arm", "kit", "participant", "site");
                for p in rows {
                    println!(
                        "{:<10} {:<12} {:<10} {}",
                        p.kit.as_deref().unwrap_or("-"),
                        p.id,
                        p.site.as_deref().unwrap_or("-"),
                        p.allocation.as_ref().map_or_else(
                            || "(concealed)".to_string(),
                            |a| format!("{} ({})", a.arm_name, a.arm)
                        )
                    );
                }
            }
        }
        TrialCmd::Query(q) => match q {
            QueryCmd::Raise {
                ctx,
                participant,
                item,
                text,
            } => {
                let (state, _) = simple(
                    &ctx,
                    None,
                    Command::RaiseQuery {
                        participant,
                        item,
                        text,
                    },
                )?;
                let id = format!("Q{}", state.queries.len());
                println!("query {id} raised");
            }
            QueryCmd::Answer { ctx, query, text } => {
                simple(
                    &ctx,
                    None,
                    Command::AnswerQuery {
                        query: query.clone(),
                        text,
                    },
                )?;
                println!("query {query} answered");
            }
            QueryCmd::Close { ctx, query } => {
                simple(
                    &ctx,
                    None,
                    Command::CloseQuery {
                        query: query.clone(),
                    },
                )?;
                println!("query {query} closed");
            }
        },
        TrialCmd::Lock { ctx, reason } => {
            let (state, _) = simple(&ctx, reason.as_deref(), Command::Lock)?;
            println!("trial {} locked", state.trial);
        }
        TrialCmd::Unlock { ctx, reason } => {
            let (state, _) = simple(&ctx, reason.as_deref(), Command::Unlock)?;
            println!("trial {} unlocked", state.trial);
        }
        TrialCmd::Grant {
            ctx,
            to,
            grant_role,
            sites,
            name,
            password,
        } => {
            let role = parse_role(&grant_role)?;
            let site_list = if sites.trim() == "all" {
                Sites::All
            } else {
                Sites::Only(
                    sites
                        .split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect(),
                )
            };
            let ledger = ctx.ledger()?;
            let trial = ctx.trial(ledger.store().as_ref())?;
            let actor = ctx.actor(&ledger, &trial)?;
            let mut commands = Vec::new();
            let mut created = None;
            let state = ledger.state(&trial)?;
            if !state.users.contains_key(&to) {
                // May the actor create accounts here? Asked of the record
                // before anyone is asked for a password.
                let probe = Command::CreateUser {
                    user: to.clone(),
                    display_name: to.clone(),
                    password_hash: "$argon2id$v=19$m=8,t=1,p=1$probe$probe".into(),
                };
                state
                    .check(&actor, ctx.at()?, None, &probe)
                    .map_err(|e| anyhow!("refused: {e}"))?;
                let (cmd, kept) = new_account(&ledger, &to, name.as_deref(), &password)?;
                commands.push(cmd);
                created = Some(kept);
            }
            commands.push(Command::GrantRole {
                user: to.clone(),
                role,
                sites: site_list,
            });
            write(&ledger, &trial, &actor, ctx.at()?, None, &commands)?;
            match created {
                Some(true) => println!("account {to} created (with the password of {to}'s account elsewhere in this database)"),
                Some(false) => println!("account {to} created"),
                None => {}
            }
            println!("{to} granted {} ({sites})", role.as_str());
        }
        TrialCmd::UnlockUser(args) => return super::unlock_user::run(args),
        TrialCmd::Status { ctx, json } => {
            let ledger = ctx.ledger()?;
            let trial = ctx.trial(ledger.store().as_ref())?;
            let actor = ctx.actor(&ledger, &trial)?;
            let v = ledger.state(&trial)?.view(&actor.user);
            if v.roles.is_empty() {
                bail!("`{}` holds no role in trial {trial}", actor.user);
            }
            if json {
                super::print_json(&v)?;
            } else {
                println!(
                    "{} — {}{}",
                    v.trial,
                    v.title,
                    if v.locked { " (locked)" } else { "" }
                );
                println!("viewer: {} ({} events)", v.viewer, v.events);
                println!("{}", serde_json::to_string(&v.flow)?);
                for p in &v.participants {
                    let arm = p.allocation.as_ref().map(|a| a.arm.clone());
                    println!(
                        "{}\t{}\t{}\t{}\t{}",
                        p.id,
                        p.site.as_deref().unwrap_or("-"),
                        if p.randomised {
                            "randomised"
                        } else if p.consented.is_some() {
                            "consented"
                        } else {
                            "screened"
                        },
                        p.kit
                            .as_deref()
                            .map_or_else(|| "-".into(), |k| format!("kit {k}")),
                        arm.unwrap_or_else(|| if p.randomised {
                            "(concealed)".into()
                        } else {
                            "-".into()
                        })
                    );
                }
                let open = v
                    .queries
                    .iter()
                    .filter(|q| q.status != QueryStatus::Closed)
                    .count();
                println!("queries: {} ({} not closed)", v.queries.len(), open);
            }
        }
        TrialCmd::Governance(g) => return super::governance::run(g),
    }
    Ok(ExitCode::SUCCESS)
}

/// `--strata`, where given, is only compared with the strata the record
/// reads from the screening facts: a level that differs is refused, naming
/// the difference (never used instead).
fn check_strata(
    ctx: &Ctx,
    participant: &str,
    strata: &BTreeMap<String, String>,
) -> anyhow::Result<()> {
    if strata.is_empty() {
        return Ok(());
    }
    let ledger = ctx.ledger()?;
    let trial = ctx.trial(ledger.store().as_ref())?;
    let state = ledger.state(&trial)?;
    let (Some(config), Some(p)) = (state.config.as_ref(), state.participants.get(participant))
    else {
        return Ok(());
    };
    let mut recorded = rct_record::strata_of(config, p).map_err(|e| anyhow!("refused: {e}"))?;
    let uses_site = config.trial_design().is_ok_and(|d| {
        d.stratify_by.iter().any(|f| f == "site") || d.minimise_on.contains_key("site")
    });
    if let (Some(site), true) = (&p.site, uses_site) {
        recorded.insert("site".into(), site.clone());
    }
    for (factor, level) in strata {
        match recorded.get(factor) {
            Some(r) if r == level => {}
            Some(r) if factor == "site" => bail!(
                "refused: participant {participant} belongs to site `{r}`, not `{level}`; the record reads the strata, so leave out --strata"
            ),
            Some(r) => bail!(
                "refused: --strata {factor}={level} disagrees with the record: {participant}'s {factor} is `{r}` (from the screening facts); the record reads the strata, so leave out --strata"
            ),
            None => bail!(
                "refused: --strata {factor}=...: `{factor}` is not a stratification or minimisation factor of trial {trial} (it uses: {}); the record reads the strata from the screening facts",
                if recorded.is_empty() {
                    "none".to_string()
                } else {
                    recorded.keys().cloned().collect::<Vec<_>>().join(", ")
                }
            ),
        }
    }
    Ok(())
}

/// The administrator of a new trial and the command creating their
/// account: the logged-in user (`--user` must agree), whose account in
/// another trial of the database is copied; else a new account for
/// `--user` (default `admin`) with the password asked. A user with an
/// account in the database who is not logged in as it is refused.
fn creator(
    ctx: &Ctx,
    ledger: &Ledger<Box<dyn Store>>,
    password: &PasswordArgs,
) -> anyhow::Result<(Actor, Command)> {
    let role = ctx.role(Some(Role::Admin))?;
    let claimed = env_or(&ctx.user, "RCT_USER");
    // A stale token does not stop a new administrator from registering.
    let logged = identity::logged_in(ledger.store().as_ref(), &ctx.token, identity::now())
        .ok()
        .flatten()
        .map(|t| t.user);
    let user = claimed
        .clone()
        .or_else(|| logged.clone())
        .unwrap_or_else(|| "admin".to_string());
    let found = identity::account(ledger, &user)?;
    if found.is_some() && logged.as_deref() != Some(user.as_str()) {
        bail!(
            "{user} has an account in this database already: log in as {user} (`rct login --user {user}`) to register a trial as its administrator"
        );
    }
    let (cmd, _) = new_account(ledger, &user, None, password)?;
    Ok((
        Actor::new(&user, role, None).running(rct_web::SOFTWARE),
        cmd,
    ))
}

/// The command creating `user`'s account in a trial: with the hash of
/// their account elsewhere in the database (`true`: kept), else with a new
/// password read from the terminal or standard input.
fn new_account(
    ledger: &Ledger<Box<dyn Store>>,
    user: &str,
    name: Option<&str>,
    password: &PasswordArgs,
) -> anyhow::Result<(Command, bool)> {
    rct_web::auth::check_user_name(user).map_err(|e| anyhow!("refused: {e}"))?;
    let found = identity::account(ledger, user)?;
    if found.as_ref().is_some_and(|f| f.locked) {
        bail!("refused: the account {user} is locked in another trial; an administrator of that trial can unlock it");
    }
    let (hash, kept) = match found.and_then(|f| f.hashes.into_iter().next()) {
        Some(h) => (h, true),
        None => {
            let pw = password.new_password(user)?;
            (
                identity::passwords()
                    .hash(&pw)
                    .map_err(|e| anyhow!("{e}"))?,
                false,
            )
        }
    };
    let display_name = name
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or(user)
        .to_string();
    Ok((
        Command::CreateUser {
            user: user.to_string(),
            display_name,
            password_hash: hash,
        },
        kept,
    ))
}

/// One command by the acting user; the state after and the actor.
/// The acting user's password asked again (a code-break): refused when
/// wrong, before anything is written. A trial without accounts has none.
fn password_again(ctx: &Ctx, password: &PasswordArgs) -> anyhow::Result<()> {
    let ledger = ctx.ledger()?;
    let trial = ctx.trial(ledger.store().as_ref())?;
    let actor = ctx.actor(&ledger, &trial)?;
    let Some(found) = identity::account(&ledger, &actor.user)? else {
        if ledger.state(&trial)?.users.is_empty() {
            return Ok(());
        }
        bail!("`{}` has no account; nothing was revealed", actor.user);
    };
    let pw = password.read(&format!("Password for {}, again: ", actor.user), false)?;
    if found.locked || !found.verify(&identity::passwords(), &pw) {
        bail!("the password is wrong; nothing was revealed");
    }
    Ok(())
}

pub(crate) fn simple(
    ctx: &Ctx,
    reason: Option<&str>,
    cmd: Command,
) -> anyhow::Result<(std::sync::Arc<TrialState>, Actor)> {
    let ledger = ctx.ledger()?;
    let trial = ctx.trial(ledger.store().as_ref())?;
    let actor = ctx.actor(&ledger, &trial)?;
    let state = write(&ledger, &trial, &actor, ctx.at()?, reason, &[cmd])?;
    Ok((state, actor))
}

fn enter(
    ctx: &Ctx,
    item: &Item,
    reason: Option<&str>,
    change: bool,
    other_kit: bool,
) -> anyhow::Result<()> {
    let ledger = ctx.ledger()?;
    let trial = ctx.trial(ledger.store().as_ref())?;
    let actor = ctx.actor(&ledger, &trial)?;
    // The record checks the value against the registered protocol (visit,
    // schedule, type, code list, ranges, required, who enters the form, the
    // kit assigned); the command line only reads it.
    let value = parse_value(&item.value);
    let (participant, visit, form, field) = (
        item.participant.clone(),
        item.visit.clone(),
        item.form.clone(),
        item.field.clone(),
    );
    let cmd = if other_kit {
        Command::DispenseOtherKit {
            participant,
            visit,
            form,
            field,
            value: value.clone(),
        }
    } else if change {
        Command::ChangeValue {
            participant,
            visit,
            form,
            field,
            value: value.clone(),
        }
    } else {
        Command::EnterValue {
            participant,
            visit,
            form,
            field,
            value: value.clone(),
        }
    };
    let warnings = ledger.state(&trial)?.warnings(std::slice::from_ref(&cmd));
    let state = write(&ledger, &trial, &actor, ctx.at()?, reason, &[cmd])?;
    for w in warnings {
        eprintln!("warning: {w}");
    }
    let value = state
        .participants
        .get(&item.participant)
        .and_then(|p| {
            p.values.get(&rct_record::state::item_key(
                &item.visit,
                &item.form,
                &item.field,
            ))
        })
        .cloned()
        .unwrap_or(value);
    println!(
        "{}: {}/{}/{} = {value}{}",
        item.participant,
        item.visit,
        item.form,
        item.field,
        if change { " (changed)" } else { "" }
    );
    Ok(())
}
