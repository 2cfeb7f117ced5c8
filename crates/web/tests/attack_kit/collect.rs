//! Fetching everything one reader can get: every route of the route table
//! with its path parameters filled from the trial (every participant, every
//! form with a visit, every query, every account), GET and POST (a POST with
//! only the CSRF token: the refusals are answers too).

use std::collections::BTreeSet;

use rct_web::routes::ROUTES;

use super::{Answer, Public};
use crate::common::Client;

/// What the path parameters of a trial's routes are filled with.
pub struct Fill {
    /// Trial id.
    pub trial: String,
    /// Every participant id of the trial.
    pub participants: Vec<String>,
    /// (visit, form, first field): every form once, at the first visit
    /// listing it; arm-specific forms at `intervention` (as the pages link
    /// them).
    pub forms: Vec<(String, String, String)>,
    /// Query ids.
    pub queries: Vec<String>,
    /// Account names.
    pub users: Vec<String>,
}

impl Fill {
    /// The parameters of `trial` (participants and queries read from what
    /// the trial holds: an insider can enumerate ids).
    pub fn new(public: &Public, participants: Vec<String>, queries: Vec<String>) -> Fill {
        let p = &public.protocol;
        let mut forms = Vec::new();
        for f in &p.forms {
            let id = f.id.get_ref();
            let visit = match &f.arm {
                Some(_) => Some("intervention".to_string()),
                None => p
                    .visits
                    .iter()
                    .find(|v| v.forms.iter().any(|x| x.get_ref() == id))
                    .map(|v| v.id.get_ref().clone()),
            };
            let field = f
                .fields
                .first()
                .map(|x| x.id.get_ref().clone())
                .unwrap_or_default();
            if let Some(visit) = visit {
                forms.push((visit, id.clone(), field));
            }
        }
        Fill {
            trial: p.trial.id.get_ref().clone(),
            participants,
            forms,
            queries,
            users: rct_web::demo::demo_users()
                .iter()
                .map(|u| u.user.to_string())
                .collect(),
        }
    }

    /// Every concrete path of `pattern` with the participant it names.
    /// POSTs about a form and a field's history take only the first form
    /// (every form is read through its entry page).
    fn expand(&self, pattern: &str, post: bool) -> Vec<(String, Option<String>)> {
        let mut out = vec![(pattern.replace("{trial}", &self.trial), None)];
        if pattern.contains("{pid}") {
            out = out
                .into_iter()
                .flat_map(|(p, _)| {
                    self.participants
                        .iter()
                        .map(move |pid| (p.replace("{pid}", pid), Some(pid.clone())))
                })
                .collect();
        }
        if pattern.contains("{form}") {
            let forms: Vec<&(String, String, String)> = if post || pattern.contains("{field}") {
                self.forms.iter().take(1).collect()
            } else {
                self.forms.iter().collect()
            };
            out = out
                .into_iter()
                .flat_map(|(p, pid)| {
                    forms.iter().map(move |(v, f, x)| {
                        (
                            p.replace("{visit}", v)
                                .replace("{form}", f)
                                .replace("{field}", x),
                            pid.clone(),
                        )
                    })
                })
                .collect();
        }
        for (key, values) in [("{query}", &self.queries), ("{user}", &self.users)] {
            if pattern.contains(key) {
                out = out
                    .into_iter()
                    .flat_map(|(p, pid)| {
                        values.iter().map(move |v| (p.replace(key, v), pid.clone()))
                    })
                    .collect();
            }
        }
        // The audit table's filters and pages, and the query list's
        // statuses: the kinds that could tell about an arm (`sealed`
        // included), every participant, the accounts that write
        // arm-specific entries, a page beyond the first and a date range.
        if !post && pattern == "/t/{trial}/audit" {
            let base = out[0].0.clone();
            for kind in AUDIT_KINDS {
                out.push((format!("{base}?kind={kind}"), None));
            }
            for pid in &self.participants {
                out.push((format!("{base}?participant={pid}"), Some(pid.clone())));
            }
            // The unblinded staff write the arm-specific entries.
            for user in ["physio", "pharmacist", "investigator"] {
                out.push((format!("{base}?user={user}"), None));
            }
            out.push((format!("{base}?page=2"), None));
            out.push((format!("{base}?from=2025-01-01&to=2026-12-31&page=3"), None));
        }
        if !post && pattern == "/t/{trial}/queries" {
            let base = out[0].0.clone();
            out.push((format!("{base}?status=closed"), None));
            out.push((format!("{base}?status=all"), None));
        }
        out
    }
}

/// The kinds of audit entry a filter could tell about an arm by: the
/// sealed ones, the arm-specific ones and the rest about participants.
const AUDIT_KINDS: &[&str] = &[
    "sealed",
    "randomised",
    "session_recorded",
    "kit_deviation",
    "value_entered",
    "value_changed",
    "query_raised",
    "query_answered",
    "query_closed",
    "emergency_unblinded",
    "safety_code_broken",
    "form_verified",
    "casebook_signed",
];

/// The source label of a request: method and path with the participant
/// as `{pid}`.
fn source(method: &str, path: &str, pid: Option<&str>) -> String {
    let path: Vec<&str> = path
        .split('/')
        .map(|seg| if Some(seg) == pid { "{pid}" } else { seg })
        .collect();
    format!("{method} {}", path.join("/"))
}

/// Every answer `c` gets in the trial of `fill`: the trial's routes, and
/// (when `global`) the routes outside any trial. Returns the answers and the
/// number of route patterns requested.
pub async fn sweep(c: &Client, fill: &Fill, global: bool) -> (Vec<Answer>, BTreeSet<&'static str>) {
    let mut answers = Vec::new();
    let mut patterns = BTreeSet::new();
    for route in ROUTES.iter() {
        let in_trial = route.path.contains("{trial}");
        if !in_trial && !global {
            continue;
        }
        // Logging in and out changes who asks; the login form's refusal is
        // swept by the web tests.
        if route.method == "POST" && (route.path == "/logout" || route.path == "/login") {
            patterns.insert(route.path);
            continue;
        }
        let post = route.method == "POST";
        for (path, pid) in fill.expand(route.path, post) {
            let ans = if !post {
                c.get(&path).await
            } else if path.starts_with("/api/") {
                c.post_json(&path, &serde_json::json!({}), Some(&c.csrf))
                    .await
            } else {
                c.post(&path, &[]).await
            };
            assert!(
                !ans.status.is_server_error(),
                "{} {} {path}: {} {}",
                c.user,
                route.method,
                ans.status,
                ans.body
            );
            answers.push(Answer {
                source: source(route.method, &path, pid.as_deref()),
                pid,
                status: ans.status.as_u16(),
                body: ans.body,
            });
        }
        patterns.insert(route.path);
    }
    (answers, patterns)
}
