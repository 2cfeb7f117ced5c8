#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Noncentral t CDF against scipy.stats.nct (fixture made by
//! tools/randomise/nct_reference.py).

#[test]
fn noncentral_t_matches_scipy() {
    let v: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/nct_scipy.json")).unwrap();
    for c in v["cases"].as_array().unwrap() {
        let t = c["t"].as_f64().unwrap();
        let df = c["df"].as_f64().unwrap();
        let d = c["delta"].as_f64().unwrap();
        let want = c["cdf"].as_f64().unwrap();
        let got = rct_random::bias::nct_cdf(t, df, d);
        assert!(
            (got - want).abs() < 1e-9,
            "t={t} df={df} delta={d}: {got} vs {want}"
        );
    }
}
