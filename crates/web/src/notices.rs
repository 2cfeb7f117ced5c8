//! Notices shown to the people who oversee a trial.

use maud::{html, Markup};
use rct_record::TrialView;

/// Every grant of an unblinded role (pharmacist, intervention staff): who
/// received it, on which date, from whom, and whether it was revoked. The
/// view carries the list for administrators and monitors only; for anyone
/// else this is empty.
pub fn unblinded_grants(v: &TrialView) -> Markup {
    let Some(list) = v.unblinded_grants.as_ref().filter(|l| !l.is_empty()) else {
        return html! {};
    };
    html! {
        div.warning role="status" id="unblinded-grants" {
            p { strong { "Unblinded roles granted: " } (list.len())
                " grant" @if list.len() != 1 { "s" }
                " of a role that sees arms. Check that each is expected." }
            ul { @for g in list { li {
                "user " strong { (g.user) } " " (g.role)
                " on " (g.at.format("%Y-%m-%d %H:%M")) " UTC by " (g.by)
                @if let Some(r) = g.revoked { " (revoked " (r.format("%Y-%m-%d")) ")" }
            } } }
        }
    }
}
