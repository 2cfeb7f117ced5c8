#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! GLMs and binary-outcome effects against `tools/stats/glm_reference.py`:
//! statsmodels (`sm.GLM` on patsy designs: binomial and Poisson, estimates,
//! SEs, z, p, CIs, llf, deviance, null deviance, AIC, LR tests of terms),
//! firthlogist (Firth's logistic regression: estimates, Wald SEs, p, CIs,
//! penalised llf; the penalised LR tests against a direct scipy constrained
//! maximisation, as firthlogist's restricted fits do not maximise the
//! full-penalty likelihood), a generic M-estimation sandwich
//! with a numerical derivative (standardised risks), statsmodels
//! `confint_proportions_2indep` (Newcombe), a brute-force Miettinen-Nurminen
//! (numerical restricted MLE; statsmodels 0.15's score interval has a wrong
//! cubic coefficient, statsmodels issue #10269), `StratifiedTable` (CMH) and
//! scipy `fisher_exact`, and the Dunnett (many-to-one, multivariate normal)
//! p-values of the standardised risk differences against scipy's
//! `multivariate_normal`. Agreement to 1e-6 (Dunnett: within the larger of
//! 1e-6 and three times rct's integration error bound).

mod fixtures_support;
use fixtures_support::{json, read_csv};

use std::collections::BTreeMap;

use rct_stats::binary::{
    cmh, counterfactual_designs, fisher_exact, miettinen_nurminen_interval, newcombe_interval,
    standardise, Table2,
};
use rct_stats::formula::{Formula, ModelSpec};
use rct_stats::glm::{fit_glm, lr_test, Family, GlmOptions};
use rct_stats::multiplicity::{adjusted_p, Alternative};
use rct_stats::Column;
use serde_json::Value;

const TOL: f64 = 1e-6;

fn num(v: &Value) -> f64 {
    v.as_f64()
        .unwrap_or_else(|| panic!("expected a number, found {v}"))
}

fn nums(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(num).collect()
}

#[track_caller]
fn close(what: &str, got: f64, want: f64) {
    let tol = TOL * want.abs().max(1.0);
    assert!(
        (got - want).abs() <= tol,
        "{what}: rct {got}, reference {want}"
    );
}

#[test]
fn glms_match_statsmodels() {
    let r = json("glm_reference.json");
    let cases = r["glm"].as_array().unwrap();
    let (mut logit, mut poisson) = (
        std::collections::BTreeSet::new(),
        std::collections::BTreeSet::new(),
    );
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let frame = read_csv(c["data"].as_str().unwrap());
        let formula = Formula::parse(c["formula"].as_str().unwrap()).unwrap();
        let spec = ModelSpec::new(&formula, &frame, &BTreeMap::new()).unwrap();
        let d = spec.design(&frame).unwrap();
        let family = Family::parse(c["family"].as_str().unwrap()).unwrap();
        let offset: Option<Vec<f64>> = c["offset"].as_str().map(|o| match frame.column(o) {
            Some(Column::Num(v)) => d.rows.iter().map(|&i| v[i]).collect(),
            _ => panic!("offset column"),
        });
        let opts = GlmOptions::default();
        let g = fit_glm(&d, family, offset.as_deref(), opts).unwrap();
        assert!(g.converged && g.separation.is_none(), "{name}");
        let names: Vec<&str> = c["names"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(
            g.terms.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
            names,
            "{name}"
        );
        for (k, key) in ["estimate", "std_error", "z", "p", "ci_low", "ci_high"]
            .iter()
            .enumerate()
        {
            let want = nums(&c[*key]);
            for (j, t) in g.terms.iter().enumerate() {
                let got = [t.estimate, t.std_error, t.z, t.p, t.ci_low, t.ci_high][k];
                close(&format!("{name} {key} {}", t.name), got, want[j]);
            }
        }
        close(&format!("{name} llf"), g.llf, num(&c["llf"]));
        close(&format!("{name} deviance"), g.deviance, num(&c["deviance"]));
        close(
            &format!("{name} null deviance"),
            g.null_deviance,
            num(&c["null_deviance"]),
        );
        close(&format!("{name} aic"), g.aic, num(&c["aic"]));
        for t in c["lr_tests"].as_array().unwrap() {
            let term = t["term"].as_str().unwrap();
            let cols = g.columns_of(term).unwrap();
            let lr = lr_test(&g, &d, offset.as_deref(), &cols, opts).unwrap();
            close(&format!("{name} LR {term}"), lr.chi2, num(&t["chi2"]));
            close(&format!("{name} LR p {term}"), lr.p, num(&t["p"]));
            assert_eq!(lr.df, num(&t["df"]));
        }
        let data = c["data"].as_str().unwrap().to_string();
        match family {
            Family::Binomial => logit.insert(data),
            Family::Poisson => poisson.insert(data),
        };
    }
    // At least three data sets each (the separated one is in the Firth test).
    assert!(
        logit.len() >= 3 && poisson.len() >= 3,
        "{logit:?} {poisson:?}"
    );
}

#[test]
fn firth_matches_firthlogist_and_separation_is_reported() {
    let r = json("glm_reference.json");
    for c in r["firth"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        let frame = read_csv(c["data"].as_str().unwrap());
        let formula = Formula::parse(c["formula"].as_str().unwrap()).unwrap();
        let spec = ModelSpec::new(&formula, &frame, &BTreeMap::new()).unwrap();
        let d = spec.design(&frame).unwrap();
        if name.starts_with("glm_separated") {
            // Site c: every participant responds. ML does not exist.
            let ml = fit_glm(&d, Family::Binomial, None, GlmOptions::default());
            match ml {
                Ok(g) => {
                    let s = g.separation.expect("separation must be reported");
                    assert!(s.contains("site[T.c]") && s.contains("--firth"), "{s}");
                }
                Err(e) => assert!(e.to_string().contains("--firth"), "{e}"),
            }
        }
        let opts = GlmOptions {
            firth: true,
            ..GlmOptions::default()
        };
        let g = fit_glm(&d, Family::Binomial, None, opts).unwrap();
        assert!(g.converged, "{name}");
        let est = nums(&c["estimate"]);
        let se = nums(&c["std_error"]);
        let pw = nums(&c["p_wald"]);
        let lo = nums(&c["ci_low"]);
        let hi = nums(&c["ci_high"]);
        let plr = nums(&c["p_lr"]);
        for (j, t) in g.terms.iter().enumerate() {
            close(
                &format!("{name} firth estimate {}", t.name),
                t.estimate,
                est[j],
            );
            close(&format!("{name} firth se {}", t.name), t.std_error, se[j]);
            close(&format!("{name} firth wald p {}", t.name), t.p, pw[j]);
            close(&format!("{name} firth ci low {}", t.name), t.ci_low, lo[j]);
            close(
                &format!("{name} firth ci high {}", t.name),
                t.ci_high,
                hi[j],
            );
            let lr = lr_test(&g, &d, None, &[j], opts).unwrap();
            close(
                &format!("{name} firth penalised LR p {}", t.name),
                lr.p,
                plr[j],
            );
        }
        close(
            &format!("{name} penalised llf"),
            g.penalized_llf.unwrap(),
            num(&c["penalized_llf"]),
        );
    }
}

#[test]
fn standardised_risks_match_the_m_estimation_sandwich() {
    let r = json("glm_reference.json");
    let cases = r["marginal"].as_array().unwrap();
    let sets: std::collections::BTreeSet<&str> =
        cases.iter().map(|c| c["data"].as_str().unwrap()).collect();
    assert!(sets.len() >= 3, "{sets:?}");
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let frame = read_csv(c["data"].as_str().unwrap());
        let formula = Formula::parse(c["formula"].as_str().unwrap()).unwrap();
        let spec = ModelSpec::new(&formula, &frame, &BTreeMap::new()).unwrap();
        let d = spec.design(&frame).unwrap();
        let g = fit_glm(&d, Family::Binomial, None, GlmOptions::default()).unwrap();
        let levels: Vec<String> = c["levels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        let cf =
            counterfactual_designs(&spec, &frame, &d, c["arm"].as_str().unwrap(), &levels).unwrap();
        let m = standardise(&g, &d.x, &d.y, None, &cf).unwrap();
        let (risk, rse) = (nums(&c["risk"]), nums(&c["risk_se"]));
        for (k, rk) in m.risks.iter().enumerate() {
            close(&format!("{name} risk {}", rk.level), rk.risk, risk[k]);
            close(
                &format!("{name} risk se {}", rk.level),
                rk.std_error,
                rse[k],
            );
        }
        for (k, want) in c["contrasts"].as_array().unwrap().iter().enumerate() {
            let got = &m.contrasts[k];
            assert_eq!(got.level, want["level"].as_str().unwrap());
            close(&format!("{name} rd"), got.risk_difference, num(&want["rd"]));
            close(
                &format!("{name} rd se"),
                got.rd_std_error,
                num(&want["rd_se"]),
            );
            close(&format!("{name} rr"), got.risk_ratio, num(&want["rr"]));
            close(
                &format!("{name} log rr se"),
                got.log_rr_std_error,
                num(&want["log_rr_se"]),
            );
            close(&format!("{name} or"), got.odds_ratio, num(&want["or"]));
            close(
                &format!("{name} log or se"),
                got.log_or_std_error,
                num(&want["log_or_se"]),
            );
        }
        // Many-to-one comparisons of the risk differences use the
        // multivariate normal (Dunnett), as scipy's multivariate_normal.
        if let Some(want) = c.get("dunnett_p") {
            let k = m.contrasts.len();
            for (g, w) in m.rd_cov.iter().zip(nums(&c["rd_cov"])) {
                close(&format!("{name} rd cov"), *g, w);
            }
            let z: Vec<f64> = m.contrasts.iter().map(|c| c.rd_z).collect();
            let corr: Vec<f64> = (0..k * k)
                .map(|ab| {
                    let (a, b) = (ab / k, ab % k);
                    m.rd_cov[ab] / (m.rd_cov[a * k + a] * m.rd_cov[b * k + b]).sqrt()
                })
                .collect();
            let (p, _, err) = adjusted_p(&z, &corr, f64::INFINITY, Alternative::TwoSided).unwrap();
            for (j, w) in nums(want).iter().enumerate() {
                assert!(
                    (p[j] - w).abs() <= TOL.max(3.0 * err),
                    "{name} Dunnett p {j}: rct {} (error bound {err}), scipy {w}",
                    p[j]
                );
            }
        }
    }
}

#[test]
fn risk_difference_intervals_match_statsmodels() {
    let r = json("glm_reference.json");
    for c in r["risk_difference"].as_array().unwrap() {
        let (x1, n1, x2, n2) = (
            c["x1"].as_u64().unwrap(),
            c["n1"].as_u64().unwrap(),
            c["x2"].as_u64().unwrap(),
            c["n2"].as_u64().unwrap(),
        );
        let nw = newcombe_interval(x1, n1, x2, n2).unwrap();
        let want = nums(&c["newcombe"]);
        close(
            &format!("newcombe {x1}/{n1} {x2}/{n2} low"),
            nw.low,
            want[0],
        );
        close(
            &format!("newcombe {x1}/{n1} {x2}/{n2} high"),
            nw.high,
            want[1],
        );
        let mn = miettinen_nurminen_interval(x1, n1, x2, n2).unwrap();
        let want = nums(&c["mn"]);
        close(&format!("MN {x1}/{n1} {x2}/{n2} low"), mn.low, want[0]);
        close(&format!("MN {x1}/{n1} {x2}/{n2} high"), mn.high, want[1]);
    }
    assert!(newcombe_interval(3, 0, 1, 4).is_err());
}

#[test]
fn cmh_and_fisher_match_statsmodels_and_scipy() {
    let r = json("glm_reference.json");
    for c in r["cmh"].as_array().unwrap() {
        let tables: Vec<Table2> = c["tables"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                let v: Vec<Vec<f64>> = t.as_array().unwrap().iter().map(nums).collect();
                Table2 {
                    treated_events: v[0][0],
                    treated_non_events: v[0][1],
                    control_events: v[1][0],
                    control_non_events: v[1][1],
                }
            })
            .collect();
        let name = c["name"].as_str().unwrap();
        let m = cmh(&tables).unwrap();
        close(&format!("{name} CMH"), m.statistic, num(&c["statistic"]));
        close(&format!("{name} CMH p"), m.p, num(&c["p"]));
        close(
            &format!("{name} MH OR"),
            m.odds_ratio,
            num(&c["odds_ratio"]),
        );
        close(
            &format!("{name} RGB se"),
            m.log_or_std_error,
            num(&c["log_or_se"]),
        );
        let ci = nums(&c["ci"]);
        close(&format!("{name} ci low"), m.ci_low, ci[0]);
        close(&format!("{name} ci high"), m.ci_high, ci[1]);
    }
    for c in r["fisher"].as_array().unwrap() {
        let t: Vec<Vec<u64>> = c["table"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                r.as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_u64().unwrap())
                    .collect()
            })
            .collect();
        let f = fisher_exact(t[0][0], t[0][1], t[1][0], t[1][1]).unwrap();
        close(&format!("fisher p {t:?}"), f.p, num(&c["p"]));
        let want = num(&c["odds_ratio"]);
        if want.is_finite() {
            close(&format!("fisher OR {t:?}"), f.odds_ratio, want);
        }
    }
}
