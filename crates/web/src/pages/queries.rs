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

pub async fn queries_page(t: TrialReq) -> PageResult {
    let (user, trial) = (t.user.clone(), t.trial.clone());
    t.run(move |_app, a| {
        let v = &a.view;
        let mut by_site: BTreeMap<String, Vec<&rct_record::view::QueryView>> = BTreeMap::new();
        for q in v.queries.iter().filter(|q| q.status != rct_record::QueryStatus::Closed) {
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
                h1 { "Open queries" }
                @if by_site.is_empty() { p { "No open queries." } }
                @if mine > 0 { p.notice role="status" { (mine) " of them for you to answer." } }
                @for (site, qs) in &by_site {
                    h2 { "Site " (site) }
                    table {
                        thead { tr { th scope="col" { "Query" } th scope="col" { "Participant" } th scope="col" { "Item" } th scope="col" { "Question" } th scope="col" { "Answers" } th scope="col" { "To" } th scope="col" { "Status" } th scope="col" { "Action" } } }
                        tbody { @for q in qs { tr {
                            td { (q.id) } td { a href={"/t/" (trial) "/p/" (q.participant)} { (q.participant) } }
                            td { @match q.item.as_deref().and_then(|i| i.rsplit_once('/')) {
                                Some((vf, _)) => a href={"/t/" (trial) "/p/" (q.participant) "/visit/" (vf)} { (q.item.clone().unwrap_or_default()) },
                                None => "the participant",
                            } }
                            td { (q.text) }
                            td { ul { @for ans in &q.answers { li { (ans) } } } }
                            td { (q.to.iter().map(|r| r.as_str().replace('_', " ")).collect::<Vec<_>>().join(", ")) }
                            td { (format!("{:?}", q.status).to_lowercase()) }
                            td {
                                @if answer(q) {
                                    form method="post" action={"/t/" (trial) "/queries/" (q.id) "/answer"} {
                                        (csrf(&user))
                                        label for={"ans-" (q.id)} { "Answer" }
                                        input id={"ans-" (q.id)} name="text" required;
                                        button type="submit" { "Answer" }
                                    }
                                }
                                @if close {
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
