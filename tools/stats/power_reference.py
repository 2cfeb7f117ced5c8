#!/usr/bin/env python3
"""Exact references for `rct_stats::power` beyond the linear model
(crates/stats/tests/power.rs):

- logistic: `y ~ arm` with exactly n/2 per arm (balanced allocation) and
  true risks p0 (control) and p1. The logistic MLE is then the log of the
  sample odds ratio with Wald SE sqrt(1/a + 1/b + 1/c + 1/d), so the power
  of the Wald z test is a finite sum over the two binomial counts; tables
  with an empty cell (separation: the MLE does not exist) are the simulation's
  failed fits, so the reference is the power conditional on no empty cell,
  and the probability of an empty cell is given too. Checked against
  statsmodels' Logit on a few tables.
- MMRM: `y ~ arm * visit` with complete, balanced data and unstructured
  covariance: the REML estimate of the last visit's contrast is the
  difference of that visit's arm means with the pooled two-sample variance,
  and its Satterthwaite / Kenward-Roger df is n - 2, so the power is the
  two-sample t test's (noncentral t).

Writes crates/stats/tests/fixtures/power_reference.json.
"""

import json
import pathlib

import numpy as np
import scipy
import statsmodels
import statsmodels.api as sm
from scipy import stats

OUT = pathlib.Path(__file__).resolve().parents[2] / "crates/stats/tests/fixtures/power_reference.json"


def logistic_power(n_arm, p0, p1, alpha):
    k = np.arange(n_arm + 1)
    f0 = stats.binom.pmf(k, n_arm, p0)
    f1 = stats.binom.pmf(k, n_arm, p1)
    z = stats.norm.ppf(1 - alpha / 2)
    reject = 0.0
    ok = 0.0
    for c in k:  # control events
        for a in k:  # treated events
            pr = f0[c] * f1[a]
            b, d = n_arm - a, n_arm - c
            if min(a, b, c, d) == 0:
                continue
            ok += pr
            lor = np.log(a * d / (b * c))
            se = np.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
            if abs(lor / se) > z:
                reject += pr
    return reject / ok, 1 - ok


def check_against_statsmodels(n_arm):
    # The closed form is the logistic fit's estimate and Wald SE.
    for a, c in [(n_arm // 5, n_arm // 3), (n_arm // 2, n_arm // 4), (3, 5)]:
        y = np.r_[np.ones(a), np.zeros(n_arm - a), np.ones(c), np.zeros(n_arm - c)]
        x = np.c_[np.ones(2 * n_arm), np.r_[np.ones(n_arm), np.zeros(n_arm)]]
        r = sm.Logit(y, x).fit(disp=0, tol=1e-12)
        b, d = n_arm - a, n_arm - c
        assert abs(r.params[1] - np.log(a * d / (b * c))) < 1e-8
        assert abs(r.bse[1] - np.sqrt(1 / a + 1 / b + 1 / c + 1 / d)) < 1e-8


def t_power(n, delta, sd, alpha):
    df = n - 2
    nc = delta / (sd * np.sqrt(4 / n))
    q = stats.t.ppf(1 - alpha / 2, df)
    return stats.nct.sf(q, df, nc) + stats.nct.cdf(-q, df, nc)


def main():
    out = {
        "generator": "tools/stats/power_reference.py",
        "scipy": scipy.__version__,
        "statsmodels": statsmodels.__version__,
        "logistic": [],
        "mmrm": [],
    }
    for n, p0, p1 in [(200, 0.3, 0.5), (60, 0.3, 0.3), (40, 0.2, 0.6)]:
        check_against_statsmodels(n // 2)
        pw, p_sep = logistic_power(n // 2, p0, p1, 0.05)
        out["logistic"].append({"n": n, "p0": p0, "p1": p1, "alpha": 0.05,
                                "log_or": float(np.log(p1 / (1 - p1)) - np.log(p0 / (1 - p0))),
                                "intercept": float(np.log(p0 / (1 - p0))),
                                "power": pw, "p_empty_cell": p_sep})
    for n, delta, sd in [(128, 0.5, 1.0), (60, 3.0, 4.0)]:
        out["mmrm"].append({"n": n, "delta": delta, "sd": sd, "alpha": 0.05,
                            "power": t_power(n, delta, sd, 0.05)})
    OUT.write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
