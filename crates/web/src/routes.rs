//! The route table: one list that builds the router, writes the OpenAPI
//! document and drives the blinding test, so a new route cannot escape
//! either.

use axum::routing::{get, post, MethodRouter};

use crate::{api, governance, leaving, ops, pages, unblinding, AppState};

/// One route.
pub struct Route {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// Path pattern with `{param}` segments.
    pub path: &'static str,
    /// Reachable without logging in.
    pub public: bool,
    /// One line on what it does.
    pub summary: &'static str,
    /// Builds the handler.
    pub handler: fn() -> MethodRouter<AppState>,
}

macro_rules! r {
    ($m:literal, $path:literal, $public:literal, $summary:literal, $f:expr) => {
        Route {
            method: $m,
            path: $path,
            public: $public,
            summary: $summary,
            handler: || {
                if $m == "GET" {
                    get($f)
                } else {
                    post($f)
                }
            },
        }
    };
}

/// Every route the server has.
pub static ROUTES: &[Route] = &[
    r!("GET", "/", false, "Trials of the user", pages::home),
    r!("GET", "/login", true, "Login form", pages::login_page),
    r!("POST", "/login", true, "Log in", pages::login),
    r!("POST", "/logout", false, "Log out", pages::logout),
    r!("GET", "/static/app.css", true, "Stylesheet", pages::css),
    r!("GET", "/static/app.js", true, "Script", pages::js),
    r!(
        "GET",
        "/t/{trial}",
        false,
        "Dashboard: enrolment and CONSORT flow",
        pages::dashboard
    ),
    r!(
        "GET",
        "/t/{trial}/participants",
        false,
        "Participants of the granted sites",
        pages::participants
    ),
    r!(
        "GET",
        "/t/{trial}/screen",
        false,
        "Screening form",
        pages::screen_page
    ),
    r!(
        "POST",
        "/t/{trial}/screen",
        false,
        "Record a screening",
        pages::screen_post
    ),
    r!(
        "GET",
        "/t/{trial}/p/{pid}",
        false,
        "Participant with visit schedule",
        pages::participant
    ),
    r!(
        "POST",
        "/t/{trial}/p/{pid}/consent",
        false,
        "Record consent",
        pages::consent
    ),
    r!(
        "POST",
        "/t/{trial}/p/{pid}/decline-consent",
        false,
        "Record that the person declined to consent",
        leaving::decline_consent
    ),
    r!(
        "GET",
        "/t/{trial}/p/{pid}/withdraw",
        false,
        "Withdrawal form: stop the intervention or withdraw consent",
        leaving::withdraw_page
    ),
    r!(
        "POST",
        "/t/{trial}/p/{pid}/withdraw",
        false,
        "Stop the intervention (follow-up continues) or withdraw consent (no more data)",
        leaving::withdraw_post
    ),
    r!(
        "GET",
        "/t/{trial}/p/{pid}/randomise",
        false,
        "Randomisation form",
        pages::randomise_page
    ),
    r!(
        "POST",
        "/t/{trial}/p/{pid}/randomise",
        false,
        "Randomise",
        pages::randomise_post
    ),
    r!(
        "GET",
        "/t/{trial}/p/{pid}/visit/{visit}/{form}",
        false,
        "Data entry form",
        pages::entry_page
    ),
    r!(
        "POST",
        "/t/{trial}/p/{pid}/visit/{visit}/{form}",
        false,
        "Save a data entry form",
        pages::entry_post
    ),
    r!(
        "GET",
        "/t/{trial}/p/{pid}/visit/{visit}/{form}/{field}/history",
        false,
        "A field's history",
        pages::field_history_page
    ),
    r!(
        "GET",
        "/t/{trial}/p/{pid}/unblind",
        false,
        "Emergency unblinding form",
        unblinding::unblind_page
    ),
    r!(
        "POST",
        "/t/{trial}/p/{pid}/unblind",
        false,
        "Emergency unblinding",
        unblinding::unblind_post
    ),
    r!(
        "POST",
        "/t/{trial}/p/{pid}/unblind/explain",
        false,
        "The written explanation of your own emergency code-break",
        unblinding::explain_post
    ),
    r!(
        "GET",
        "/t/{trial}/queries",
        false,
        "Open queries by site",
        pages::queries_page
    ),
    r!(
        "POST",
        "/t/{trial}/queries",
        false,
        "Raise a query",
        pages::raise_query
    ),
    r!(
        "POST",
        "/t/{trial}/queries/{query}/answer",
        false,
        "Answer a query",
        pages::answer_query
    ),
    r!(
        "POST",
        "/t/{trial}/queries/{query}/close",
        false,
        "Close a query",
        pages::close_query
    ),
    r!(
        "GET",
        "/t/{trial}/lock",
        false,
        "Database lock page",
        pages::lock_page
    ),
    r!(
        "POST",
        "/t/{trial}/lock",
        false,
        "Lock the database",
        pages::lock_post
    ),
    r!(
        "POST",
        "/t/{trial}/unlock",
        false,
        "Unlock the database (with a reason)",
        pages::unlock_post
    ),
    r!(
        "GET",
        "/t/{trial}/audit",
        false,
        "Audit trail entries the user may read",
        pages::audit_page
    ),
    r!(
        "GET",
        "/t/{trial}/admin",
        false,
        "Users, roles and sites of a trial",
        pages::admin_page
    ),
    r!(
        "POST",
        "/t/{trial}/admin/users",
        false,
        "Create an account",
        pages::create_user
    ),
    r!(
        "POST",
        "/t/{trial}/admin/users/{user}/unlock",
        false,
        "Unlock an account",
        pages::unlock_user
    ),
    r!(
        "POST",
        "/t/{trial}/admin/users/{user}/password",
        false,
        "Set a password",
        pages::set_password
    ),
    r!(
        "POST",
        "/t/{trial}/admin/roles",
        false,
        "Grant a role",
        pages::grant_post
    ),
    r!(
        "POST",
        "/t/{trial}/admin/roles/revoke",
        false,
        "Revoke a role",
        pages::revoke_post
    ),
    r!(
        "POST",
        "/t/{trial}/admin/sites",
        false,
        "Add a site",
        pages::add_site
    ),
    r!(
        "GET",
        "/t/{trial}/status",
        false,
        "Record status grid: participants by visit and form",
        pages::status_page
    ),
    r!(
        "POST",
        "/t/{trial}/p/{pid}/visit/{visit}/{form}/verify",
        false,
        "Source data verification of a form (monitor)",
        pages::verify_post
    ),
    r!(
        "GET",
        "/t/{trial}/p/{pid}/casebook",
        false,
        "A participant's printable casebook: values, history, verifications, signatures",
        pages::casebook_page
    ),
    r!(
        "POST",
        "/t/{trial}/p/{pid}/sign",
        false,
        "Sign a participant's casebook (investigator; user name and password)",
        pages::sign_post
    ),
    r!(
        "GET",
        "/api/openapi.json",
        true,
        "This OpenAPI document",
        api::openapi
    ),
    r!("GET", "/api/me", false, "The user and its roles", api::me),
    r!(
        "GET",
        "/api/trials",
        false,
        "Trials of the user",
        api::trials
    ),
    r!(
        "GET",
        "/api/trials/{trial}",
        false,
        "A trial: role view, enrolment and CONSORT flow",
        api::trial
    ),
    r!(
        "GET",
        "/api/trials/{trial}/participants",
        false,
        "Participants of the granted sites (role view); ?page=N&per_page=M for one page, X-Total-Count header",
        api::participants
    ),
    r!(
        "GET",
        "/api/trials/{trial}/participants/{pid}",
        false,
        "A participant with its visit schedule (role view)",
        api::participant
    ),
    r!(
        "GET",
        "/api/trials/{trial}/queries",
        false,
        "Queries of the granted sites",
        api::queries
    ),
    r!(
        "GET",
        "/api/trials/{trial}/audit",
        false,
        "Audit trail entries the user may read",
        api::audit
    ),
    r!(
        "POST",
        "/api/trials/{trial}/screening/evaluate",
        false,
        "Screen facts without recording (live screening)",
        api::evaluate
    ),
    r!(
        "POST",
        "/api/trials/{trial}/participants/{pid}/visits/{visit}/{form}/derive",
        false,
        "Derived fields and range messages for typed values",
        api::derive
    ),
    r!(
        "POST",
        "/api/trials/{trial}/participants/{pid}/visits/{visit}/{form}",
        false,
        "Save a form's values",
        api::save_values
    ),
    r!(
        "POST",
        "/api/trials/{trial}/commands",
        false,
        "Run one command of the record (screen, consent, randomise, enter, change, ...)",
        api::command
    ),
    r!(
        "GET",
        "/t/{trial}/governance",
        false,
        "Analysis plan versions and the trial's unblinding",
        governance::governance_page
    ),
    r!(
        "POST",
        "/t/{trial}/governance/sap",
        false,
        "Record an analysis plan version as final (statistician)",
        governance::sap_post
    ),
    r!(
        "POST",
        "/t/{trial}/governance/unblind",
        false,
        "Request or approve the trial's unblinding (sponsor, statistician; two people)",
        governance::unblind_trial_post
    ),
    r!(
        "GET",
        "/t/{trial}/dmc",
        false,
        "The committee's safety tables (data monitoring committee only)",
        governance::dmc_page
    ),
    r!(
        "GET",
        "/api/trials/{trial}/dmc",
        false,
        "The committee's safety counts as JSON (data monitoring committee only)",
        governance::dmc_api
    ),
    r!(
        "GET",
        "/t/{trial}/p/{pid}/safety-unblind",
        false,
        "Pharmacovigilance code-break form",
        governance::safety_unblind_page
    ),
    r!(
        "POST",
        "/t/{trial}/p/{pid}/safety-unblind",
        false,
        "Pharmacovigilance code-break of one participant (arm shown to that user only)",
        governance::safety_unblind_post
    ),
    r!(
        "GET",
        "/healthz",
        true,
        "Liveness: the process answers",
        ops::healthz
    ),
    r!(
        "GET",
        "/readyz",
        true,
        "Readiness: the database answers and its schema is this binary's",
        ops::readyz
    ),
];
