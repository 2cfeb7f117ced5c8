//! The estimand table the report opens with (ICH E9(R1) addendum): one row
//! per `[[estimands]]` of the protocol, with the five attributes.

use rct_core::protocol::Protocol;

use crate::render::Block;

/// The heading, a note and the table; nothing when the protocol declares no
/// estimands.
pub fn blocks(protocol: &Protocol) -> Vec<Block> {
    if protocol.estimands.is_empty() {
        return Vec::new();
    }
    let population = |id: &str| {
        protocol
            .analysis
            .populations
            .iter()
            .find(|p| p.id.get_ref() == id)
            .map_or_else(|| id.to_string(), |p| format!("{} ({id})", p.label))
    };
    let arm = |id: &str| {
        protocol
            .arms
            .iter()
            .find(|a| a.id.get_ref() == id)
            .map_or_else(|| id.to_string(), |a| a.label.clone())
    };
    let rows = protocol
        .estimands
        .iter()
        .map(|e| {
            let mut treatment = e.treatment.get_ref().clone();
            if !e.compare.is_empty() {
                let arms: Vec<String> = e.compare.iter().map(|a| arm(a.get_ref())).collect();
                treatment.push_str(&format!(" [compared: {}]", arms.join(" vs ")));
            }
            let events: Vec<String> = e
                .intercurrent_events
                .iter()
                .map(|i| {
                    let mut s = format!("{}: {}", i.event.get_ref(), i.strategy.get_ref().as_str());
                    if let Some(h) = &i.handling {
                        s.push_str(&format!(" ({h})"));
                    }
                    s
                })
                .collect();
            let mut summary = e.summary.get_ref().clone();
            if let Some(m) = &e.model {
                summary.push_str(&format!(" [model `{}`]", m.get_ref()));
            }
            vec![
                format!("{} (`{}`)", e.label, e.id.get_ref()),
                treatment,
                population(e.population.get_ref()),
                e.variable.get_ref().clone(),
                events.join("; "),
                summary,
            ]
        })
        .collect();
    vec![
        Block::Heading(2, "Estimands".into()),
        Block::Para(
            "What the trial estimates (ICH E9(R1)), as the protocol declares it: the treatment conditions compared, the population, the variable, each intercurrent event with its strategy, and the population-level summary.".into(),
        ),
        Block::Table {
            header: [
                "estimand",
                "treatment",
                "population",
                "variable",
                "intercurrent events: strategy",
                "population-level summary",
            ]
            .map(String::from)
            .to_vec(),
            rows,
        },
    ]
}
