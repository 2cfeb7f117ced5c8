//! The audit trail as a table: who, when (to the second), what in words,
//! why; filters by participant, user, kind and dates; pages of 50, newest
//! first; the raw entry one click away.
//!
//! Blinding: every filter, count, option list and page is computed from the
//! entries the user may read ([`Access::audit`], already shortened or left
//! out by the record for the user), never from the events themselves, so
//! nothing here tells more than the unfiltered trail already does.

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::Query;
use maud::html;
use rct_core::protocol::Protocol;
use serde_json::Value;

use crate::capture::*;
use crate::html::value_text;

use super::*;

/// Entries per page of the audit table.
pub const AUDIT_PAGE: usize = 50;

/// The filters of the audit table, as typed in the query string.
#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    /// Participant id (exact).
    pub participant: String,
    /// Acting user (exact).
    pub user: String,
    /// Kind of entry (the payload's `type`, e.g. `value_changed`).
    pub kind: String,
    /// First day, `YYYY-MM-DD` (UTC), inclusive.
    pub from: String,
    /// Last day, `YYYY-MM-DD` (UTC), inclusive.
    pub to: String,
}

impl AuditFilter {
    fn from_query(q: &BTreeMap<String, String>) -> Self {
        let get = |k: &str| q.get(k).map(|s| s.trim().to_string()).unwrap_or_default();
        AuditFilter {
            participant: get("participant"),
            user: get("user"),
            kind: get("kind"),
            from: get("from"),
            to: get("to"),
        }
    }

    /// Whether a readable entry passes the filters (read only from the
    /// entry as the user may read it).
    pub fn passes(&self, e: &Value) -> bool {
        let day = e["at"].as_str().map_or("", |s| s.get(..10).unwrap_or(""));
        (self.participant.is_empty() || participant_of(e) == Some(self.participant.as_str()))
            && (self.user.is_empty() || e["actor"].as_str() == Some(self.user.as_str()))
            && (self.kind.is_empty() || kind_of(e) == self.kind)
            && (self.from.is_empty() || day >= self.from.as_str())
            && (self.to.is_empty() || day <= self.to.as_str())
    }

    fn query(&self) -> String {
        let pairs = [
            ("participant", &self.participant),
            ("user", &self.user),
            ("kind", &self.kind),
            ("from", &self.from),
            ("to", &self.to),
        ];
        pairs
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect::<Vec<_>>()
            .join("&")
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The kind of a readable entry (`sealed` for one concealed whole).
fn kind_of(e: &Value) -> &str {
    e["payload"]["type"].as_str().unwrap_or("")
}

/// The participant a readable entry names, if it names one.
fn participant_of(e: &Value) -> Option<&str> {
    e["payload"]["participant"].as_str()
}

/// A time as stored (RFC 3339, nanoseconds) to the second, UTC.
fn to_second(at: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(at).map_or_else(
        |_| at.to_string(),
        |t| {
            t.with_timezone(&chrono::Utc)
                .format("%Y-%m-%d %H:%M:%S UTC")
                .to_string()
        },
    )
}

/// What a readable entry records, in words (labels from the protocol).
pub fn in_words(protocol: &Protocol, e: &Value) -> String {
    let p = &e["payload"];
    let s = |k: &str| value_text(&p[k]);
    let who = || s("participant");
    let item = || {
        item_label(
            protocol,
            Some(&format!("{}/{}/{}", s("visit"), s("form"), s("field"))),
        )
    };
    let role = || {
        s("role")
            .parse::<rct_record::Role>()
            .map_or_else(|_| s("role"), |r| role_label(protocol, r))
    };
    match kind_of(e) {
        "sealed" => "An entry concealed from you (sealed)".into(),
        "trial_registered" => "Trial registered".into(),
        "site_added" => format!("Site {} added ({})", s("site"), s("name")),
        "screened" => format!("{} screened: {}", who(), s("verdict")),
        "consented" => format!("{} consented", who()),
        "randomised" => format!("{} randomised", who()),
        "value_entered" => format!("{}: {} entered: {}", who(), item(), s("value")),
        "value_changed" => format!(
            "{}: {} changed from {} to {}",
            who(),
            item(),
            s("old"),
            s("new")
        ),
        "query_raised" => format!(
            "Query {} raised on {} ({}): {}",
            s("query"),
            who(),
            item_label(protocol, p["item"].as_str()),
            s("text")
        ),
        "query_answered" => format!("Query {} answered: {}", s("query"), s("text")),
        "query_closed" => format!("Query {} closed", s("query")),
        "session_recorded" => format!("{}: session {} recorded", who(), s("session")),
        "withdrawn" => format!("{} withdrawn", who()),
        "emergency_unblinded" => format!("{}: emergency unblinding", who()),
        "unblinding_explained" => format!("{}: unblinding explained", who()),
        "database_locked" => "Database locked".into(),
        "database_unlocked" => "Database unlocked".into(),
        "role_granted" => format!("{} granted to {}", role(), s("user")),
        "role_revoked" => format!("{} revoked from {}", role(), s("user")),
        "logged_in" => format!("{} logged in", s("user")),
        "logged_out" => format!("{} logged out", s("user")),
        "login_failed" => format!("Failed login as {}", s("user")),
        "user_created" => format!("Account {} created ({})", s("user"), s("display_name")),
        "password_changed" => format!("Password of {} changed", s("user")),
        "user_locked" => format!("Account {} locked", s("user")),
        "user_unlocked" => format!("Account {} unlocked", s("user")),
        "form_verified" => format!(
            "{}: {} · {} verified against the source",
            who(),
            visit_label(protocol, &s("visit")),
            protocol
                .form(&s("form"))
                .map_or_else(|| s("form"), |f| f.label.clone())
        ),
        "casebook_signed" => format!(
            "{}: casebook signed by {} ({})",
            who(),
            s("name"),
            s("meaning")
        ),
        other => {
            let mut w = other.replace('_', " ");
            if let Some(first) = w.get(..1) {
                w = first.to_uppercase() + &w[1..];
            }
            match participant_of(e) {
                Some(pid) => format!("{w}: {pid}"),
                None => w,
            }
        }
    }
}

pub async fn audit_page(t: TrialReq, Query(q): Query<BTreeMap<String, String>>) -> PageResult {
    let trial = t.trial.clone();
    t.run(move |app, a| {
        let events = load_events(app, &trial)?;
        let entries = a.audit(&events);
        let filter = AuditFilter::from_query(&q);
        // Choices offered: only what the readable entries show.
        let users: BTreeSet<&str> = entries.iter().filter_map(|e| e["actor"].as_str()).collect();
        let kinds: BTreeSet<&str> = entries.iter().map(kind_of).filter(|k| !k.is_empty()).collect();
        let matching: Vec<&Value> = entries.iter().rev().filter(|e| filter.passes(e)).collect();
        let pages = matching.len().div_ceil(AUDIT_PAGE).max(1);
        let page = q
            .get("page")
            .and_then(|p| p.parse::<usize>().ok())
            .unwrap_or(1)
            .clamp(1, pages);
        let shown = &matching[((page - 1) * AUDIT_PAGE).min(matching.len())
            ..(page * AUDIT_PAGE).min(matching.len())];
        let base = {
            let q = filter.query();
            if q.is_empty() {
                format!("/t/{trial}/audit?")
            } else {
                format!("/t/{trial}/audit?{q}&")
            }
        };
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
                form method="get" action={"/t/" (trial) "/audit"} .filters {
                    fieldset {
                        legend { "Filter" }
                        label for="a-participant" { "Participant" }
                        input #a-participant name="participant" value=(filter.participant);
                        label for="a-user" { "User" }
                        select #a-user name="user" {
                            option value="" { "anyone" }
                            @for u in &users { option value=(u) selected[filter.user == *u] { (u) } }
                        }
                        label for="a-kind" { "Kind" }
                        select #a-kind name="kind" {
                            option value="" { "any" }
                            @for k in &kinds { option value=(k) selected[filter.kind == *k] { (k.replace('_', " ")) } }
                        }
                        label for="a-from" { "From (UTC day)" }
                        input #a-from name="from" type="date" value=(filter.from);
                        label for="a-to" { "To (UTC day)" }
                        input #a-to name="to" type="date" value=(filter.to);
                        p { button type="submit" { "Show" } " " a href={"/t/" (trial) "/audit"} { "Clear" } }
                    }
                }
                p #audit-count { (matching.len()) " of the " (entries.len()) " entries you may read"
                    @if matching.len() != entries.len() { " match" }
                    " (of " (a.seq()) " events); page " (page) " of " (pages) ", newest first. "
                    "Entries about sites or arms you may not see are left out or shortened." }
                @if pages > 1 {
                    nav aria-label="Pages" { p {
                        @if page > 1 { a href={(base) "page=" (page - 1)} { "Newer" } " " }
                        @if page < pages { a href={(base) "page=" (page + 1)} { "Older" } }
                    } }
                }
                table.audit {
                    thead { tr { th scope="col" { "#" } th scope="col" { "When" } th scope="col" { "Who" } th scope="col" { "What" } th scope="col" { "Why" } } }
                    tbody { @for e in shown {
                        @let at = value_text(&e["at"]);
                        tr {
                            td { (e["seq"]) }
                            td { time.date datetime=(at) { (to_second(&at)) } }
                            td { (value_text(&e["actor"]))
                                @if let Some(r) = e["role"].as_str().and_then(|r| r.parse::<rct_record::Role>().ok()) { " (" (role_label(&a.protocol, r)) ")" } }
                            td { (in_words(&a.protocol, e))
                                details { summary { "Raw entry" span.sr { " " (e["seq"]) } }
                                    @if let Some(sw) = e["software"].as_str() { p { "Software: " (sw) } }
                                    pre { (raw_entry(e)) } } }
                            td { (value_text(&e["reason"])) }
                        }
                    } }
                }
            },
        ))
    })
    .await
}

/// The entry as the reader may read it, without its chain links: the
/// hashes stay in the JSON API and `rct audit verify` (the head hash is
/// not put on a page; see docs/security.md).
fn raw_entry(e: &Value) -> String {
    let mut e = e.clone();
    if let Some(o) = e.as_object_mut() {
        o.remove("hash");
        o.remove("prev_hash");
    }
    serde_json::to_string_pretty(&e).unwrap_or_default()
}
