#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Monitoring in the browser's pages (issue 20): the monitor verifies a
//! form against the source, the investigator signs the casebook with user
//! name and password (21 CFR 11.50, 11.200), a later change marks the
//! signature as needing renewal, and the status grid says so.

mod common;

use axum::http::StatusCode;
use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_monitor_verifies_the_pi_signs_and_a_later_change_asks_for_renewal() {
    let (router, _) = demo_app();
    // The investigator enters L001's baseline demographics.
    let page = "/t/lupex/p/L001/visit/baseline/demographics".to_string();
    let inv = demo_login(&router, "investigator").await;
    let r = inv
        .post(
            &page,
            &[("f.weight", "70"), ("f.height", "175"), ("reason", "")],
        )
        .await;
    assert!(r.body.contains("Saved 3 change"), "{}", r.body);

    // Only the monitor verifies.
    let r = inv.post(&format!("{page}/verify"), &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let mon = demo_login(&router, "monitor").await;
    let before = mon.get(&page).await.body;
    assert!(before.contains("Verify against the source"), "{before}");
    let r = mon.post(&format!("{page}/verify"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let after = mon.get(&page).await.body;
    assert!(
        after.contains(r#"<span class="status-verified">Verified</span> by monitor"#),
        "{after}"
    );
    let grid = mon.get("/t/lupex/status").await.body;
    let row = grid
        .split("<tr>")
        .find(|r| r.contains(">L001<"))
        .unwrap()
        .to_string();
    assert!(row.contains(r#"class="status-verified""#), "{row}");

    // The investigator signs: a wrong password is refused, then it signs.
    let meaning =
        "Approval: I have reviewed this casebook and confirm that it is complete and accurate";
    let wrong = inv
        .post(
            "/t/lupex/p/L001/sign",
            &[
                ("user", "investigator"),
                ("password", "nope"),
                ("meaning", meaning),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN, "{}", wrong.body);
    let r = mon
        .post(
            "/t/lupex/p/L001/sign",
            &[
                ("user", "monitor"),
                ("password", "monitor-demo-pw"),
                ("meaning", meaning),
            ],
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "only the investigator signs: {}",
        r.body
    );
    let r = inv
        .post(
            "/t/lupex/p/L001/sign",
            &[
                ("user", "investigator"),
                ("password", "investigator-demo-pw"),
                ("meaning", meaning),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let book = mon.get("/t/lupex/p/L001/casebook").await.body;
    // The manifestation: printed name, date and time, meaning.
    assert!(book.contains("Signed by Demo investigator"), "{book}");
    assert!(
        book.contains("Date and time: 2026-03-01 10:00:00 UTC"),
        "{book}"
    );
    assert!(book.contains(&format!("Meaning: {meaning}")), "{book}");
    assert!(book.contains("Current."), "{book}");
    assert!(book.contains("Source data verified by monitor"), "{book}");
    let grid = mon.get("/t/lupex/status").await.body;
    let row = grid
        .split("<tr>")
        .find(|r| r.contains(">L001<"))
        .unwrap()
        .to_string();
    assert!(row.contains(r#"class="status-signed""#), "{row}");

    // A later change: the signature needs renewal, the verification lapses.
    let r = inv
        .post(
            &page,
            &[
                ("f.weight", "71"),
                ("f.height", "175"),
                ("reason", "transcription error"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("Saved 2 change"), "{}", r.body);
    let book = mon.get("/t/lupex/p/L001/casebook").await.body;
    assert!(
        book.contains("Needs renewal: </strong>a value changed after this signature."),
        "{book}"
    );
    assert!(
        book.contains("transcription error"),
        "the history shows the change: {book}"
    );
    let form_page = mon.get(&page).await.body;
    assert!(
        form_page.contains("Changed since verification"),
        "{form_page}"
    );
    let part = inv.get("/t/lupex/p/L001").await.body;
    assert!(part.contains("signature needs renewal"), "{part}");
}
