#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Snapshots of the plain-text and JSON reports for the example inputs.

use rct_scores::score_by_name;
use serde_json::Value;

fn example(name: &str) -> Value {
    let path = format!("{}/testdata/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

#[test]
fn text_reports() {
    for name in [
        "sledai2k",
        "eular-acr-2019",
        "slicc-2012",
        "acr-1997",
        "fss",
    ] {
        let r = score_by_name(name, &example(name)).unwrap();
        insta::assert_snapshot!(format!("text_{name}"), r.to_text());
    }
}

#[test]
fn json_reports() {
    for name in ["sledai2k", "eular-acr-2019"] {
        let r = score_by_name(name, &example(name)).unwrap();
        insta::assert_json_snapshot!(format!("json_{name}"), r);
    }
}
