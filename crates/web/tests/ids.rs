//! Participant identifiers on the web: the screening form keeps no rule of
//! its own; the record refuses an identifier outside its rule and the form
//! shows the record's message (the same words `rct trial screen` prints).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use axum::http::StatusCode;
use common::*;

/// The identifiers the command line accepted and the web refused (issue 15).
const HOSTILE: [&str; 7] = [
    "<script>",
    "A/../../x",
    "A?x=1#y",
    "A\r\nB",
    ".",
    "..",
    "P0000000000000000000000000000001x",
];

/// Text as maud writes it into a page.
fn html_escaped(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_screening_form_shows_the_records_refusal_of_each_hostile_id() {
    let (router, app) = demo_app();
    let c = demo_login(&router, "investigator").await;
    let before = app.ledger.state("il2-sle").unwrap().seq;
    for id in HOSTILE {
        let a = c
            .post(
                "/t/il2-sle/screen",
                &[
                    ("participant", id),
                    ("site", "pkuph"),
                    ("screening_date", "2026-02-27"),
                ],
            )
            .await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{id:?}");
        let expected = rct_record::check_participant_id(id)
            .unwrap_err()
            .to_string();
        assert!(
            a.body.contains(&html_escaped(&expected)),
            "{id:?}: expected {expected:?} in\n{}",
            a.body
        );
        // The form comes back to be corrected, the identifier in its field.
        assert!(a.body.contains("Screen a person"), "{}", a.body);
    }
    assert_eq!(
        app.ledger.state("il2-sle").unwrap().seq,
        before,
        "nothing was written"
    );
    // An identifier within the rule (a dot, 32 characters) is accepted.
    let id = "pkuph.0000000000000000000000017";
    let a = c
        .post(
            "/t/il2-sle/screen",
            &[
                ("participant", id),
                ("site", "pkuph"),
                ("screening_date", "2026-02-27"),
            ],
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    assert_eq!(a.location.as_deref(), Some(&*format!("/t/il2-sle/p/{id}")));
}
