//! Estimands (ICH E9(R1) addendum, 2019): what a trial estimates, declared
//! as `[[estimands]]` in the protocol, and their checks.
//!
//! An estimand names the treatment condition(s) compared, the population,
//! the variable (endpoint), how each intercurrent event is handled (one of
//! the five strategies of E9(R1) section A.3.1) and the population-level
//! summary. The checker refers every id to the table it names (outcome,
//! analysis population, analysis model, arms) and asks for what a strategy
//! leaves open: how a composite event enters the variable, which
//! hypothetical scenario is envisaged.

use std::collections::BTreeSet;
use std::ops::Range;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::model::Protocol;

/// An intercurrent-event strategy (ICH E9(R1) A.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// The event is irrelevant: the variable is used whether or not it occurs.
    TreatmentPolicy,
    /// The event is part of the variable (e.g. counted as non-response).
    Composite,
    /// A scenario in which the event would not occur.
    Hypothetical,
    /// The response before the event.
    WhileOnTreatment,
    /// The stratum of participants in whom the event would (not) occur.
    PrincipalStratum,
}

impl Strategy {
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::TreatmentPolicy => "treatment policy",
            Strategy::Composite => "composite",
            Strategy::Hypothetical => "hypothetical",
            Strategy::WhileOnTreatment => "while on treatment",
            Strategy::PrincipalStratum => "principal stratum",
        }
    }

    /// Whether the strategy needs `handling` to say what it means here.
    pub fn needs_handling(self) -> bool {
        matches!(self, Strategy::Composite | Strategy::Hypothetical)
    }
}

/// An intercurrent event and its strategy.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IntercurrentEvent {
    /// The event, e.g. `rescue therapy`.
    pub event: Spanned<String>,
    /// `treatment-policy`, `composite`, `hypothetical`, `while-on-treatment`
    /// or `principal-stratum`.
    pub strategy: Spanned<Strategy>,
    /// What the strategy means for this event: for composite, how the event
    /// enters the variable (`non-responder`); for hypothetical, the scenario.
    #[serde(default)]
    pub handling: Option<String>,
}

/// An estimand.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Estimand {
    /// Machine id.
    pub id: Spanned<String>,
    /// Label.
    pub label: String,
    /// The outcome (an `[[outcomes]]` id) it concerns.
    pub outcome: Spanned<String>,
    /// The treatment condition(s) of interest, in words.
    pub treatment: Spanned<String>,
    /// The arms compared (ids), when not all arms.
    #[serde(default)]
    pub compare: Vec<Spanned<String>>,
    /// The population (an analysis population id).
    pub population: Spanned<String>,
    /// The variable (endpoint), in words.
    pub variable: Spanned<String>,
    /// Each intercurrent event and its strategy.
    pub intercurrent_events: Vec<IntercurrentEvent>,
    /// The population-level summary, e.g. `difference in response proportions`.
    pub summary: Spanned<String>,
    /// The analysis model that estimates it (an analysis model id).
    #[serde(default)]
    pub model: Option<Spanned<String>>,
}

/// A problem found: where, what, and what to do.
pub(super) type Problem = (Range<usize>, String, Option<String>);

fn ids<'a, I: Iterator<Item = &'a Spanned<String>>>(it: I) -> BTreeSet<String> {
    it.map(|s| s.get_ref().clone()).collect()
}

fn refer(
    out: &mut Vec<Problem>,
    r: &Spanned<String>,
    what: &str,
    known: &BTreeSet<String>,
    from: &str,
) {
    if !known.contains(r.get_ref()) {
        let list: Vec<&str> = known.iter().map(String::as_str).collect();
        out.push((
            r.span(),
            format!("{from} names undefined {what} `{}`", r.get_ref()),
            Some(if list.is_empty() {
                format!("define the {what} first (none are defined)")
            } else {
                format!("expected one of: {}", list.join(", "))
            }),
        ));
    }
}

fn non_empty(out: &mut Vec<Problem>, s: &Spanned<String>, what: &str, id: &str) {
    if s.get_ref().trim().is_empty() {
        out.push((
            s.span(),
            format!("estimand `{id}`: {what} is empty"),
            Some(format!("state the {what} in words (ICH E9(R1) A.3.2)")),
        ));
    }
}

/// Checks the protocol's estimands (ids are checked for uniqueness by the
/// caller).
pub(super) fn check(p: &Protocol) -> Vec<Problem> {
    let mut out = Vec::new();
    let outcomes = ids(p.outcomes.iter().map(|o| &o.id));
    let pops = ids(p.analysis.populations.iter().map(|x| &x.id));
    let models = ids(p.analysis.models.iter().map(|m| &m.id));
    let arms = ids(p.arms.iter().map(|a| &a.id));
    for e in &p.estimands {
        let id = e.id.get_ref().as_str();
        let from = format!("estimand `{id}`");
        refer(&mut out, &e.outcome, "outcome", &outcomes, &from);
        refer(&mut out, &e.population, "population", &pops, &from);
        non_empty(&mut out, &e.treatment, "treatment", id);
        non_empty(&mut out, &e.variable, "variable", id);
        non_empty(&mut out, &e.summary, "population-level summary", id);
        let mut seen = BTreeSet::new();
        for a in &e.compare {
            refer(&mut out, a, "arm", &arms, &from);
            if !seen.insert(a.get_ref().clone()) {
                out.push((
                    a.span(),
                    format!("{from}: arm `{}` is compared twice", a.get_ref()),
                    Some("list each arm once".into()),
                ));
            }
        }
        if e.compare.len() == 1 {
            out.push((
                e.compare[0].span(),
                format!("{from}: compare names one arm; a comparison needs at least two"),
                Some("list the arms compared, e.g. compare = [\"treatment\", \"placebo\"], or leave compare out to compare all arms".into()),
            ));
        }
        if let Some(m) = &e.model {
            refer(&mut out, m, "analysis model", &models, &from);
            if let Some(model) = p
                .analysis
                .models
                .iter()
                .find(|x| x.id.get_ref() == m.get_ref())
            {
                if model.outcome.get_ref() != e.outcome.get_ref() {
                    out.push((
                        m.span(),
                        format!(
                            "{from}: model `{}` analyses outcome `{}`, not the estimand's outcome `{}`",
                            m.get_ref(),
                            model.outcome.get_ref(),
                            e.outcome.get_ref()
                        ),
                        Some("name the model that analyses this outcome".into()),
                    ));
                }
                if !model
                    .populations
                    .iter()
                    .any(|x| x.get_ref() == e.population.get_ref())
                {
                    out.push((
                        m.span(),
                        format!(
                            "{from}: model `{}` is not run in population `{}`",
                            m.get_ref(),
                            e.population.get_ref()
                        ),
                        Some(
                            "add the population to the model's populations, or name another".into(),
                        ),
                    ));
                }
            }
        }
        if e.intercurrent_events.is_empty() {
            out.push((
                e.id.span(),
                format!("{from} lists no intercurrent events"),
                Some("add [[estimands.intercurrent_events]] with event and strategy for each event that affects the variable (rescue therapy, treatment stopped, ...); ICH E9(R1) A.3.1".into()),
            ));
        }
        let mut events = BTreeSet::new();
        for ice in &e.intercurrent_events {
            let name = ice.event.get_ref().trim().to_lowercase();
            if name.is_empty() {
                out.push((
                    ice.event.span(),
                    format!("{from}: an intercurrent event is empty"),
                    Some("name the event, e.g. \"rescue therapy\"".into()),
                ));
            } else if !events.insert(name) {
                out.push((
                    ice.event.span(),
                    format!(
                        "{from}: intercurrent event `{}` is listed twice",
                        ice.event.get_ref()
                    ),
                    Some("give each event one strategy".into()),
                ));
            }
            let s = *ice.strategy.get_ref();
            if s.needs_handling() && ice.handling.as_deref().is_none_or(|h| h.trim().is_empty()) {
                out.push((
                    ice.strategy.span(),
                    format!(
                        "{from}: the {} strategy for `{}` needs `handling`",
                        s.as_str(),
                        ice.event.get_ref()
                    ),
                    Some(if s == Strategy::Composite {
                        "say how the event enters the variable, e.g. handling = \"non-responder\"".into()
                    } else {
                        "describe the hypothetical scenario, e.g. handling = \"had rescue therapy not been available\"".into()
                    }),
                ));
            }
        }
    }
    out
}
