//! The analysis data set: one row per randomised participant, with the arm
//! as allocated, the stratification factors from the allocation's stratum,
//! the protocol's analysis variables from the recorded values (derived
//! fields computed from their formula where not entered), the trial
//! variables population rules read, and membership of every population.

use std::collections::BTreeMap;

use rct_core::protocol::Protocol;
use rct_core::rules::{self, Fact, MapEnv, Truth, Value as RuleValue};
use rct_record::{Participant, TrialState};
use rct_stats::{Column, Frame};
use serde_json::Value;

use crate::ReportError;

/// Settings the protocol leaves to the analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct PopulationSettings {
    /// A session counts as compliant with at least this many compliant bouts
    /// (LUPEX assumption: 3 of 4).
    pub min_bouts: usize,
}

impl Default for PopulationSettings {
    fn default() -> Self {
        PopulationSettings { min_bouts: 3 }
    }
}

/// Adherence of one participant, from the recorded sessions.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Adherence {
    pub planned: u32,
    pub attended: usize,
    pub compliant_sessions: usize,
    pub compliant_bouts: usize,
    pub bouts_per_session: usize,
}

impl Adherence {
    fn frac(a: f64, planned: u32) -> Option<f64> {
        (planned > 0).then(|| a / planned as f64)
    }
    pub fn attended_fraction(&self) -> Option<f64> {
        Self::frac(self.attended as f64, self.planned)
    }
    pub fn compliant_sessions_fraction(&self) -> Option<f64> {
        Self::frac(self.compliant_sessions as f64, self.planned)
    }
    pub fn compliant_bouts_fraction(&self) -> Option<f64> {
        (self.planned > 0 && self.bouts_per_session > 0).then(|| {
            self.compliant_bouts as f64 / (self.bouts_per_session as f64 * self.planned as f64)
        })
    }
}

/// The analysis data set of a trial.
#[derive(Debug, Clone)]
pub struct AnalysisData {
    /// Columns `participant`, `arm`, the stratification factors and the analysis variables.
    pub frame: Frame,
    /// Participant ids in row order.
    pub participants: Vec<String>,
    /// Population id -> membership per row.
    pub populations: BTreeMap<String, Vec<bool>>,
    /// Population id -> participants whose membership could not be decided
    /// (a value the rule needs is missing); they are left out.
    pub undecided: BTreeMap<String, Vec<String>>,
    /// Adherence per row.
    pub adherence: Vec<Adherence>,
    /// Withdrawn per row.
    pub withdrawn: Vec<bool>,
}

impl AnalysisData {
    /// The rows of population `id`.
    pub fn population(&self, id: &str) -> Result<Frame, ReportError> {
        let mask = self
            .populations
            .get(id)
            .ok_or_else(|| ReportError::Plan(format!("no population `{id}` in the protocol")))?;
        subset(&self.frame, mask)
    }
}

/// Rows of `frame` where `mask` is true.
pub fn subset(frame: &Frame, mask: &[bool]) -> Result<Frame, ReportError> {
    let mut out = Frame::new();
    for name in frame.names() {
        let col = match frame.column(name) {
            Some(Column::Num(v)) => Column::Num(
                v.iter()
                    .zip(mask)
                    .filter(|(_, &k)| k)
                    .map(|(x, _)| *x)
                    .collect(),
            ),
            Some(Column::Text(v)) => Column::Text(
                v.iter()
                    .zip(mask)
                    .filter(|(_, &k)| k)
                    .map(|(x, _)| x.clone())
                    .collect(),
            ),
            None => continue,
        };
        out.push(name, col)?;
    }
    Ok(out)
}

/// A recorded value as a rule value.
fn rule_value(v: &Value) -> Option<RuleValue> {
    match v {
        Value::Bool(b) => Some(RuleValue::Bool(*b)),
        Value::Number(n) => n.as_f64().map(RuleValue::Number),
        Value::String(s) => Some(match s.parse::<f64>() {
            Ok(x) if x.is_finite() => RuleValue::Number(x),
            _ => RuleValue::Str(s.clone()),
        }),
        _ => None,
    }
}

/// The value of `form.field` at `visit`, computing a derived field from its
/// formula over the form's other fields when it was not entered.
fn field_value(
    protocol: &Protocol,
    p: &Participant,
    visit: &str,
    form: &str,
    field: &str,
) -> Result<Option<RuleValue>, ReportError> {
    let key = format!("{visit}/{form}/{field}");
    if let Some(v) = p.values.get(&key) {
        return Ok(rule_value(v));
    }
    let Some(f) = protocol.form(form) else {
        return Ok(None);
    };
    let Some(def) = f.fields.iter().find(|x| x.id.get_ref() == field) else {
        return Ok(None);
    };
    let Some(expr_src) = &def.derived else {
        return Ok(None);
    };
    let src = expr_src.get_ref();
    let expr = rules::parse(src)
        .map_err(|e| ReportError::Plan(format!("derived field {form}.{field}: `{src}`: {e}")))?;
    let mut env = MapEnv::default();
    for other in &f.fields {
        let id = other.id.get_ref();
        if let Some(v) = p.values.get(&format!("{visit}/{form}/{id}")) {
            if let Some(rv) = rule_value(v) {
                env.facts.insert(id.clone(), Fact::of(rv));
            }
        }
    }
    let ev = rules::eval(&expr, src, &env).map_err(|e| {
        ReportError::Plan(format!(
            "derived field {form}.{field} for participant {}: {e}",
            p.id
        ))
    })?;
    Ok(ev.value)
}

fn adherence(protocol: &Protocol, p: &Participant, arm: &str, min_bouts: usize) -> Adherence {
    let planned = protocol
        .sessions
        .iter()
        .filter(|s| s.arm.get_ref() == arm)
        .map(|s| s.per_week.get_ref() * s.weeks.get_ref())
        .sum();
    let mut a = Adherence {
        planned,
        attended: 0,
        compliant_sessions: 0,
        compliant_bouts: 0,
        bouts_per_session: 0,
    };
    for s in &p.sessions {
        let attended = s
            .summary
            .get("attended")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        if !attended {
            continue;
        }
        a.attended += 1;
        let ok = s
            .summary
            .get("compliant_bouts")
            .and_then(Value::as_u64)
            .unwrap_or(0) as usize;
        let bouts = s.summary.get("bouts").and_then(Value::as_u64).unwrap_or(0) as usize;
        a.compliant_bouts += ok;
        a.bouts_per_session = a.bouts_per_session.max(bouts);
        if ok >= min_bouts {
            a.compliant_sessions += 1;
        }
    }
    if a.bouts_per_session == 0 {
        a.bouts_per_session = protocol
            .sessions
            .iter()
            .filter(|s| s.arm.get_ref() == arm)
            .flat_map(|s| s.phases.iter())
            .filter(|ph| ph.bout)
            .map(|ph| ph.repeat as usize)
            .sum();
    }
    a
}

/// Builds the analysis data set of `state` under `protocol`'s analysis plan.
pub fn analysis_data(
    state: &TrialState,
    protocol: &Protocol,
    settings: &PopulationSettings,
) -> Result<AnalysisData, ReportError> {
    let randomised: Vec<&Participant> = state
        .participants
        .values()
        .filter(|p| p.allocation.is_some())
        .map(|p| &**p)
        .collect();
    let strata: Vec<String> = protocol
        .strata
        .iter()
        .map(|f| f.id.get_ref().clone())
        .collect();
    let vars = &protocol.analysis.variables;
    let mut ids = Vec::new();
    let mut arms = Vec::new();
    let mut strata_cols: Vec<Vec<String>> = vec![Vec::new(); strata.len()];
    let mut var_vals: Vec<Vec<Option<RuleValue>>> = vec![Vec::new(); vars.len()];
    let mut adh = Vec::new();
    let mut withdrawn = Vec::new();
    let mut envs = Vec::new();
    for p in &randomised {
        let Some(alloc) = &p.allocation else {
            continue;
        };
        ids.push(p.id.clone());
        arms.push(alloc.arm.clone());
        // Factor levels given at randomisation; else parsed from the stratum key.
        let mut levels: BTreeMap<&str, &str> = alloc
            .stratum
            .split(';')
            .filter_map(|kv| kv.split_once('='))
            .collect();
        for (k, v) in &alloc.factors {
            levels.insert(k.as_str(), v.as_str());
        }
        let mut env = MapEnv::default();
        for (k, s) in strata.iter().enumerate() {
            let level = levels.get(s.as_str()).copied().unwrap_or("").to_string();
            if !level.is_empty() {
                env.facts
                    .insert(s.clone(), Fact::of(RuleValue::Str(level.clone())));
            }
            strata_cols[k].push(level);
        }
        for (k, v) in vars.iter().enumerate() {
            let from = v.from.get_ref();
            let val = match (from.split_once('.'), &v.visit) {
                (Some((form, field)), Some(visit)) => {
                    field_value(protocol, p, visit.get_ref(), form, field)?
                }
                _ => None,
            };
            if let Some(x) = &val {
                env.facts
                    .insert(v.id.get_ref().clone(), Fact::of(x.clone()));
            }
            var_vals[k].push(val);
        }
        let a = adherence(protocol, p, &alloc.arm, settings.min_bouts);
        let w = p.withdrawn.is_some();
        let num = |x: f64| Fact::of(RuleValue::Number(x));
        let trial_vars: Vec<(&str, Option<Fact>)> = vec![
            ("randomised", Some(Fact::of(RuleValue::Bool(true)))),
            (
                "consented",
                Some(Fact::of(RuleValue::Bool(p.consented.is_some()))),
            ),
            ("withdrawn", Some(Fact::of(RuleValue::Bool(w)))),
            ("arm", Some(Fact::of(RuleValue::Str(alloc.arm.clone())))),
            ("sessions_planned", Some(num(a.planned as f64))),
            ("sessions_attended", Some(num(a.attended as f64))),
            ("sessions_attended_fraction", a.attended_fraction().map(num)),
            ("compliant_sessions", Some(num(a.compliant_sessions as f64))),
            (
                "compliant_sessions_fraction",
                a.compliant_sessions_fraction().map(num),
            ),
            (
                "compliant_bouts_fraction",
                a.compliant_bouts_fraction().map(num),
            ),
            (
                "site",
                p.site.as_ref().map(|s| Fact::of(RuleValue::Str(s.clone()))),
            ),
        ];
        for (k, f) in trial_vars {
            if let Some(f) = f {
                env.facts.insert(k.to_string(), f);
            }
        }
        envs.push(env);
        adh.push(a);
        withdrawn.push(w);
    }
    let mut frame = Frame::new();
    frame.push("participant", Column::Text(ids.clone()))?;
    frame.push("arm", Column::Text(arms))?;
    for (s, col) in strata.iter().zip(strata_cols) {
        frame.push(s, Column::Text(col))?;
    }
    for (v, vals) in vars.iter().zip(var_vals) {
        let all_num = vals
            .iter()
            .all(|x| matches!(x, None | Some(RuleValue::Number(_) | RuleValue::Bool(_))));
        let col = if all_num {
            Column::Num(
                vals.iter()
                    .map(|x| match x {
                        Some(RuleValue::Number(n)) => *n,
                        Some(RuleValue::Bool(b)) => f64::from(u8::from(*b)),
                        _ => f64::NAN,
                    })
                    .collect(),
            )
        } else {
            Column::Text(
                vals.iter()
                    .map(|x| match x {
                        Some(RuleValue::Str(s)) => s.clone(),
                        Some(other) => other.to_string(),
                        None => String::new(),
                    })
                    .collect(),
            )
        };
        frame.push(v.id.get_ref(), col)?;
    }
    let mut populations = BTreeMap::new();
    let mut undecided = BTreeMap::new();
    for pop in &protocol.analysis.populations {
        let src = pop.rule.get_ref();
        let id = pop.id.get_ref().clone();
        let expr = rules::parse(src)
            .map_err(|e| ReportError::Plan(format!("population `{id}` rule `{src}`: {e}")))?;
        let mut mask = Vec::with_capacity(envs.len());
        let mut und = Vec::new();
        for (env, pid) in envs.iter().zip(&ids) {
            let ev = rules::eval(&expr, src, env).map_err(|e| {
                ReportError::Plan(format!("population `{id}` rule `{src}` for {pid}: {e}"))
            })?;
            let t = ev
                .truth()
                .map_err(|e| ReportError::Plan(format!("population `{id}` rule `{src}`: {e}")))?;
            if t == Truth::Unknown {
                und.push(pid.clone());
            }
            mask.push(t == Truth::True);
        }
        populations.insert(id.clone(), mask);
        undecided.insert(id, und);
    }
    Ok(AnalysisData {
        frame,
        participants: ids,
        populations,
        undecided,
        adherence: adh,
        withdrawn,
    })
}
