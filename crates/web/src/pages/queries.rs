//! Data queries: the list, raising, answering, closing.

use std::collections::BTreeMap;

use axum::extract::Path;
use axum::Form;
use maud::html;
use rct_record::{Action, Command};

use crate::commands::execute;
use crate::html::csrf;
use crate::{Access, WebError};

use super::*;

/// The queries of the user's sites: open ones (`?status=open`, the
/// default), closed ones (`?status=closed`) or all (`?status=all`).
pub async fn queries_page(
    t: TrialReq,
    axum::extract::Query(q): axum::extract::Query<BTreeMap<String, String>>,
) -> PageResult {
    let (user, trial) = (t.user.clone(), t.trial.clone());
    let status = match q.get("status").map(String::as_str) {
        Some("closed") => "closed",
        Some("all") => "all",
        _ => "open",
    };
    t.run(move |_app, a| {
        let v = &a.view;
        let shown = |q: &&rct_record::view::QueryView| {
            let closed = q.status == rct_record::QueryStatus::Closed;
            match status {
                "closed" => closed,
                "all" => true,
                _ => !closed,
            }
        };
        let mut by_site: BTreeMap<String, Vec<&rct_record::view::QueryView>> = BTreeMap::new();
        for q in v.queries.iter().filter(shown) {
            by_site.entry(q.site.clone().unwrap_or_default()).or_default().push(q);
        }
        // A query goes to the roles that enter its form: only they answer it.
        let answer = |q: &rct_record::view::QueryView| q.to.iter().any(|r| a.holds(&[*r])) && !v.locked;
        let mine = v
            .queries
            .iter()
            .filter(|q| q.status != rct_record::QueryStatus::Closed && answer(q))
            .count();
        let close = a.may(Action::CloseQuery) && !v.locked;
        Ok(trial_page(
            a,
            "Queries",
            html! {
                h1 { @match status { "closed" => "Closed queries", "all" => "All queries", _ => "Open queries" } }
                nav aria-label="Which queries" { p {
                    @for (s, label) in [("open", "Open"), ("closed", "Closed"), ("all", "All")] {
                        @if s == status { strong aria-current="page" { (label) } } @else { a href={"/t/" (trial) "/queries?status=" (s)} { (label) } } " "
                    }
                } }
                @if by_site.is_empty() { p { @match status { "closed" => "No closed queries.", "all" => "No queries.", _ => "No open queries." } } }
                @if mine > 0 { p.notice role="status" { (mine) " open " (if mine == 1 { "query is" } else { "queries are" }) " for you to answer." } }
                @for (site, qs) in &by_site {
                    h2 { "Site " (site) }
                    table {
                        thead { tr { th scope="col" { "Query" } th scope="col" { "Participant" } th scope="col" { "Item" } th scope="col" { "Question" } th scope="col" { "Answers" } th scope="col" { "To" } th scope="col" { "Status" } th scope="col" { "Action" } } }
                        tbody { @for q in qs { tr {
                            td { (q.id) } td { a href={"/t/" (trial) "/p/" (q.participant)} { (q.participant) } }
                            td { @match q.item.as_deref().and_then(|i| i.rsplit_once('/')) {
                                Some((vf, _)) => a href={"/t/" (trial) "/p/" (q.participant) "/visit/" (vf)} { (item_label(&a.protocol, q.item.as_deref())) },
                                None => "the participant",
                            } }
                            td { (q.text) }
                            td { ul { @for ans in &q.answers { li { (ans) } } } }
                            td { (q.to.iter().map(|r| role_label(&a.protocol, *r)).collect::<Vec<_>>().join(", ")) }
                            td { (format!("{:?}", q.status).to_lowercase()) }
                            td {
                                @if answer(q) && q.status != rct_record::QueryStatus::Closed {
                                    form method="post" action={"/t/" (trial) "/queries/" (q.id) "/answer"} {
                                        (csrf(&user))
                                        label for={"ans-" (q.id)} { "Answer" }
                                        input id={"ans-" (q.id)} name="text" required;
                                        button type="submit" { "Answer" }
                                    }
                                }
                                @if close && q.status != rct_record::QueryStatus::Closed {
                                    form method="post" action={"/t/" (trial) "/queries/" (q.id) "/close"} {
                                        (csrf(&user))
                                        button.secondary type="submit" { "Close " (q.id) }
                                    }
                                }
                            }
                        } } }
                    }
                }
            },
        ))
    })
    .await
}

pub async fn raise_query(t: TrialReq, Form(input): Input) -> PageResult {
    let t = t.keep(&input);
    let trial = t.trial.clone();
    let pid = field(&input, "participant").to_string();
    t.run_for(&pid.clone(), move |app, a| {
        let who = a.who(app, Action::RaiseQuery, None)?;
        let item = Some(field(&input, "item").to_string()).filter(|s| !s.is_empty());
        // The record checks the item (a field of the protocol at that visit).
        let cmd = Command::RaiseQuery {
            participant: pid,
            item,
            text: field(&input, "text").to_string(),
        };
        execute(app, &trial, &who, &cmd)?;
        Ok(redirect(&format!("/t/{trial}/queries")))
    })
    .await
}

fn query_visible(a: &Access<'_>, query: &str) -> Result<(), WebError> {
    if a.view.queries.iter().any(|q| q.id == query) {
        Ok(())
    } else {
        Err(WebError::NotFound(format!("no query `{query}`")))
    }
}

pub async fn answer_query(
    t: TrialReq,
    Path((_, query)): Path<(String, String)>,
    Form(input): Input,
) -> PageResult {
    let t = t.keep(&input);
    let (_user, trial) = (t.user.clone(), t.trial.clone());
    t.run(move |app, a| {
        query_visible(a, &query)?;
        // In the role the query goes to, where the user holds it.
        let mut who = a.who(app, Action::AnswerQuery, None)?;
        if let Some(role) = a
            .view
            .queries
            .iter()
            .find(|q| q.id == query)
            .and_then(|q| q.to.iter().find(|r| a.holds(&[**r])))
        {
            who.actor.role = *role;
        }
        let cmd = Command::AnswerQuery {
            query,
            text: field(&input, "text").to_string(),
        };
        execute(app, &trial, &who, &cmd)?;
        Ok(redirect(&format!("/t/{trial}/queries")))
    })
    .await
}

pub async fn close_query(t: TrialReq, Path((_, query)): Path<(String, String)>) -> PageResult {
    let (_user, trial) = (t.user.clone(), t.trial.clone());
    t.run(move |app, a| {
        query_visible(a, &query)?;
        let who = a.who(app, Action::CloseQuery, None)?;
        execute(app, &trial, &who, &Command::CloseQuery { query })?;
        Ok(redirect(&format!("/t/{trial}/queries")))
    })
    .await
}
