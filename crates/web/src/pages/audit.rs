//! The audit trail.

use maud::html;
use serde_json::Value;

use crate::capture::*;
use crate::html::value_text;

use super::*;

pub async fn audit_page(t: TrialReq) -> PageResult {
    let (_user, trial) = (t.user.clone(), t.trial.clone());
    t.run(move |app, a| {
        let events = load_events(app, &trial)?;
        let entries = a.audit(&events);
        let shown: Vec<&Value> = entries.iter().rev().take(200).collect();
        // The last signed checkpoint: event number, time and key only (its
        // hash commits to concealed values, so it is not shown).
        let checkpoint = app.ledger.store().latest_checkpoint(&trial)?;
        Ok(trial_page(
            a,
            "Audit trail",
            html! {
                h1 { "Audit trail" }
                @match &checkpoint {
                    Some(cp) => p.checkpoint {
                        "Last signed checkpoint: event " (cp.seq) " at "
                        (cp.at.format("%Y-%m-%d %H:%M:%S UTC")) ", key " code { (cp.key_fingerprint()) }
                        @if cp.verify().is_err() { strong { " (its signature does not verify: run rct audit verify)" } }
                        "."
                    },
                    None => p.checkpoint { "No signed checkpoint yet." },
                }
                p { "The latest " (shown.len()) " of the " (entries.len()) " entries you may read (of " (a.seq()) " events). "
                    "Entries about sites or arms you may not see are left out or shortened." }
                table {
                    thead { tr { th scope="col" { "#" } th scope="col" { "When (UTC)" } th scope="col" { "Who" } th scope="col" { "What" } th scope="col" { "Reason" } th scope="col" { "Software" } } }
                    tbody { @for e in &shown { tr {
                        td { (e["seq"]) } td { (value_text(&e["at"])) }
                        td { (value_text(&e["actor"])) " (" (value_text(&e["role"])) ")" }
                        td { code { (e["payload"].to_string()) } }
                        td { (value_text(&e["reason"])) }
                        td { (value_text(&e["software"])) }
                    } } }
                }
            },
        ))
    })
    .await
}
