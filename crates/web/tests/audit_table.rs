#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The audit trail as a table (issue 20): who, when to the second, what in
//! words, why; filters by participant, user, kind and dates; pages; the raw
//! entry one click away. Counted against the record itself: the entries the
//! user may read (`Access::audit` through the JSON API) filtered by hand.

mod common;

use axum::http::StatusCode;
use common::*;
use serde_json::Value;

/// Rows of the audit table in a page.
fn rows(body: &str) -> Vec<String> {
    let tbody = body
        .split("<table class=\"audit\">")
        .nth(1)
        .and_then(|t| t.split("<tbody>").nth(1))
        .and_then(|t| t.split("</tbody>").next())
        .unwrap_or_else(|| panic!("no audit table: {body}"));
    tbody.split("<tr>").skip(1).map(str::to_string).collect()
}

/// The readable entries as the JSON API gives them (the same record call).
async fn entries(c: &Client) -> Vec<Value> {
    let a = c.get("/api/trials/lupex/audit").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let v: Value = serde_json::from_str(&a.body).unwrap();
    v.as_array()
        .cloned()
        .or_else(|| v["entries"].as_array().cloned())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_table_filters_by_participant_and_by_user() {
    let (router, _) = demo_app();
    // More than a page of entries: each login is one (the monitor reads its
    // own logins).
    for _ in 0..15 {
        demo_login(&router, "monitor").await;
    }
    let c = demo_login(&router, "monitor").await;
    let all = entries(&c).await;
    assert!(
        all.len() > 50,
        "the demo has more than a page: {}",
        all.len()
    );

    // By participant: exactly the readable entries naming L001.
    let expected = all
        .iter()
        .filter(|e| e["payload"]["participant"] == "L001")
        .count();
    assert!(expected > 0);
    let body = c.get("/t/lupex/audit?participant=L001").await.body;
    let r = rows(&body);
    assert_eq!(r.len(), expected.min(50), "{body}");
    assert!(r.iter().all(|row| row.contains("L001")), "{body}");
    assert!(
        body.contains(&format!(
            "{expected} of the {} entries you may read match",
            all.len()
        )),
        "{body}"
    );

    // By user: exactly the readable entries the investigator wrote.
    let expected = all.iter().filter(|e| e["actor"] == "investigator").count();
    assert!(expected > 0);
    let body = c.get("/t/lupex/audit?user=investigator").await.body;
    let r = rows(&body);
    assert_eq!(r.len(), expected.min(50), "{body}");
    assert!(
        r.iter().all(|row| row.contains("<td>investigator (")),
        "{body}"
    );

    // Unfiltered: pages of 50, newest first, time to the second, the entry
    // in words and the raw entry behind one click.
    let body = c.get("/t/lupex/audit").await.body;
    let r = rows(&body);
    assert_eq!(r.len(), 50);
    let pages = all.len().div_ceil(50);
    assert!(body.contains(&format!("page 1 of {pages}")), "{body}");
    let newest = all
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .max()
        .unwrap();
    assert!(r[0].starts_with(&format!("<td>{newest}</td>")), "{}", r[0]);
    assert!(r[0].contains("<details><summary>Raw entry"), "{}", r[0]);
    let when = r[0].split("<time").nth(1).unwrap();
    let shown = when.split('>').nth(1).unwrap().split('<').next().unwrap();
    // "YYYY-MM-DD HH:MM:SS UTC": to the second, no fraction.
    assert_eq!(shown.len(), 23, "{shown}");
    assert!(shown.ends_with(" UTC"), "{shown}");
    let older = c.get(&format!("/t/lupex/audit?page={pages}")).await.body;
    assert_eq!(rows(&older).len(), all.len() - 50 * (pages - 1));

    // By kind: value changes are described in words with the protocol's
    // labels, never as JSON alone.
    let body = c.get("/t/lupex/audit?kind=screened").await.body;
    let r = rows(&body);
    assert!(!r.is_empty());
    assert!(r.iter().all(|row| row.contains(" screened: ")), "{body}");
}
