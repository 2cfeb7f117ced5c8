//! The list of trials, a trial's dashboard and its participant list.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::response::IntoResponse;
use maud::html;

use crate::html::page;
use crate::{App, AppState, CurrentUser, PAGE_SIZE};

use super::*;

pub async fn home(State(s): State<AppState>, user: CurrentUser) -> PageResult {
    App::run(&s, move |app| {
        let mut rows = Vec::new();
        for t in app.trial_ids()? {
            if let Ok(a) = app.access(&user, &t) {
                let breaks = a.view.unblindings.as_ref().map_or(0, Vec::len);
                rows.push((t.clone(), a.view.title.clone(), roles_text(&a), breaks));
            }
        }
        Ok(page(
            "Trials",
            Some(&user),
            None,
            html! {
                h1 { "Your trials" }
                @if rows.is_empty() { p { "You hold no role in any trial yet; ask an administrator." } }
                ul { @for (id, title, roles, breaks) in &rows {
                    li { a href={"/t/" (id)} { (title) } " — " (roles)
                        @if *breaks > 0 { " — " strong { "Notice: " (breaks) " emergency unblinding" @if *breaks != 1 { "s" } } } }
                } }
            },
        )
        .into_response())
    })
    .await
}

pub async fn dashboard(t: TrialReq) -> PageResult {
    let (user, _trial) = (t.user.clone(), t.trial.clone());
    t.run(move |app, a| {
        let v = &a.view;
        let f = &v.flow;
        let now = app.now();
        let target = u64::from(*a.protocol.trial.target_enrolment.get_ref());
        let pct = percent(f.randomised, target);
        let site_name = |id: &str| {
            v.sites
                .iter()
                .find(|s| s.site == id)
                .map_or_else(|| id.to_string(), |s| s.name.clone())
        };
        Ok(trial_page(
            a,
            &v.title,
            html! {
                h1 { (v.title) }
                @if let Some(list) = v.unblindings.as_ref().filter(|l| !l.is_empty()) {
                    div.alert role="alert" {
                        p { strong { "Notice: " (list.len()) " emergency unblinding" @if list.len() != 1 { "s" } }
                            @if let Some(u) = list.last() { " — latest " (u.at.format("%Y-%m-%d %H:%M")) " UTC by " (u.user) " for " (u.participant) }
                            ". " a href="#unblindings" { "Details below" } "." }
                    }
                }
                @if v.locked { p.warning { strong { "Locked: " } "the database is locked; no data can be entered or changed." } }
                (crate::notices::unblinded_grants(v))
                (crate::unblinding::reminders(v, &user, now))
                h2 { "Enrolment against target" }
                p { (f.randomised) " of " (target) " randomised (" (pct) "% of the target) "
                    progress max=(target.max(1)) value=(f.randomised.min(target)) aria-label="Enrolment against target" { (pct) "%" } }
                table {
                    caption { "By site (share of the trial's target of " (target) ")" }
                    thead { tr { th scope="col" { "Site" } th scope="col" { "Screened" } th scope="col" { "Eligible" } th scope="col" { "Consented" } th scope="col" { "Randomised" } th scope="col" { "% of target" } } }
                    tbody { @for (site, sf) in &v.by_site { tr {
                        th scope="row" { (site_name(site)) " " span.hint { "(" (site) ")" } }
                        td { (sf.screened) } td { (sf.eligible) } td { (sf.consented) } td { (sf.randomised) }
                        td { (percent(sf.randomised, target)) "%" }
                    } } }
                }
                table {
                    caption { "Randomised by stratum" }
                    thead { tr { th scope="col" { "Stratum" } th scope="col" { "Randomised" } th scope="col" { "% of target" } } }
                    tbody {
                        @if v.by_stratum.is_empty() { tr { td colspan="3" { "Nobody randomised yet." } } }
                        @for (st, n) in &v.by_stratum { tr { th scope="row" { (st) } td { (n) } td { (percent(*n, target)) "%" } } }
                    }
                }
                @if let Some(by_arm) = &v.by_arm {
                    table {
                        caption { "Randomised by arm" }
                        thead { tr { th scope="col" { "Arm" } th scope="col" { "Randomised" } } }
                        tbody { @for (arm, n) in by_arm { tr { td { (arm) } td { (n) } } } }
                    }
                }
                h2 { "CONSORT flow so far" }
                table {
                    tbody {
                        tr { th scope="row" { "Assessed for eligibility" } td { (f.screened) } }
                        tr { th scope="row" { "Excluded: not meeting criteria" } td { (f.excluded_ineligible) } }
                        tr { th scope="row" { "Excluded: declined to participate" } td { (f.excluded_declined) } }
                        tr { th scope="row" { "Excluded: other reasons (withdrew before randomisation)" } td { (f.excluded_other) } }
                        tr { th scope="row" { "Still in screening or awaiting consent" } td { (f.in_screening) } }
                        tr { th scope="row" { "Randomised" } td { (f.randomised) } }
                        tr { th scope="row" { "Consent withdrawn (all, before or after randomisation)" } td { (f.withdrawn) } }
                    }
                }
                @if let Some(list) = &v.unblindings {
                    h2 id="unblindings" { "Emergency unblindings" }
                    @if list.is_empty() { p { "None." } }
                    ul { @for u in list { li.warning { (u.at.format("%Y-%m-%d %H:%M")) " UTC: " (u.user) " broke the code for " (u.participant)
                        @if let Some(c) = &u.category { " (" (c) ")" }
                        " — " (crate::unblinding::explanation_state(u, now)) } } }
                }
                p { (open_queries(a)) " open queries · " a href={"/t/" (v.trial) "/audit"} { "audit trail" } }
            },
        ))
    })
    .await
}

/// `n` as a whole percentage of `of` (0 when `of` is 0).
fn percent(n: u64, of: u64) -> u64 {
    (n * 100).checked_div(of).unwrap_or(0)
}

pub async fn participants(t: TrialReq, Query(q): Query<BTreeMap<String, String>>) -> PageResult {
    let (_user, _trial) = (t.user.clone(), t.trial.clone());
    t.run(move |_app, a| {
        let v = &a.view;
        let total = v.participants.len();
        let pages = total.div_ceil(PAGE_SIZE).max(1);
        let page = q
            .get("page")
            .and_then(|p| p.parse::<usize>().ok())
            .unwrap_or(1)
            .clamp(1, pages);
        let shown = &v.participants[((page - 1) * PAGE_SIZE).min(total)..(page * PAGE_SIZE).min(total)];
        let any_arm = shown.iter().any(|p| p.allocation.is_some());
        Ok(trial_page(
            a,
            "Participants",
            html! {
                h1 { "Participants" }
                p { (total) " participants at your sites; page " (page) " of " (pages) "." }
                @if pages > 1 {
                    nav aria-label="Pages" { p {
                        @if page > 1 { a href={"/t/" (v.trial) "/participants?page=" (page - 1)} { "Previous page" } " " }
                        @if page < pages { a href={"/t/" (v.trial) "/participants?page=" (page + 1)} { "Next page" } }
                    } }
                }
                table {
                    thead { tr {
                        th scope="col" { "Participant" } th scope="col" { "Site" } th scope="col" { "Screening" }
                        th scope="col" { "Consent" } th scope="col" { "Randomised" } th scope="col" { "Kit" }
                        @if any_arm { th scope="col" { "Arm" } }
                    } }
                    tbody { @for p in shown { tr {
                        td { a href={"/t/" (v.trial) "/p/" (p.id)} { (p.id) } }
                        td { (p.site.clone().unwrap_or_default()) }
                        td { @if let Some(s) = &p.screening { (s.verdict) } }
                        td { @if let Some(c) = p.consented { (c.format("%Y-%m-%d")) } }
                        td { @if let Some(r) = p.randomised_at { (r.format("%Y-%m-%d")) } }
                        td { (p.kit.clone().unwrap_or_default()) }
                        @if any_arm { td { @if let Some(arm) = &p.allocation { (arm.arm_name) } } }
                    } } }
                }
            },
        ))
    })
    .await
}
