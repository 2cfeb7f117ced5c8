#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! An ODM import is an edge too: a SubjectKey outside the record's rule for
//! participant ids (`rct_record::check_participant_id`) is refused with the
//! record's message, naming where it is.

use std::path::Path;

use rct_interop::odm::{self, ExportOptions};
use rct_interop::synth;

#[test]
fn a_hostile_subject_key_is_refused() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../protocols/lupex.toml");
    let src = std::fs::read_to_string(&path).unwrap();
    let p = rct_core::protocol::parse(&src, "lupex.toml").unwrap_or_else(|d| panic!("{d}"));
    let events = synth::generate(&p, 2, 7, "2024-03-01T08:00:00Z".parse().unwrap());
    let opts = ExportOptions {
        unblinded: true,
        source_version: "test".into(),
    };
    let (xml, _) = odm::export(&p, &events, &opts).unwrap();
    assert!(odm::import(
        &xml,
        "ok.xml",
        rct_record::TrialSecrets::insecure_for_tests(1)
    )
    .is_ok());
    let key = "SubjectKey=\"P0001\"";
    assert!(xml.contains(key));
    for (id, attr) in [
        ("&lt;script&gt;", "<script>"),
        ("A/../../x", "A/../../x"),
        ("A?x=1#y", "A?x=1#y"),
        ("A&#13;&#10;B", "A\r\nB"),
        ("..", ".."),
    ] {
        let bad = xml.replace(key, &format!("SubjectKey=\"{id}\""));
        let err = odm::import(
            &bad,
            "bad.xml",
            rct_record::TrialSecrets::insecure_for_tests(1),
        )
        .unwrap_err()
        .to_string();
        let expected = rct_record::check_participant_id(attr)
            .unwrap_err()
            .to_string();
        assert!(err.contains(&expected), "{attr:?}: {err}");
        assert!(
            err.contains("bad.xml") && err.contains("SubjectKey"),
            "{err}"
        );
    }
}
