#!/usr/bin/env python3
"""The statsmodels side of bench/stats/compare.sh: one fit from formula to
table (smf.ols(...).fit() and every statistic rct prints), averaged over
REPS fits, and REFITS refits of the same design with new responses
(sm.OLS(y, X).fit()); the same fixtures and noise scheme as
crates/stats/benches/ols_timing.rs; and the same for a logistic
regression (smf.logit / sm.Logit; the refits timed on REFITS/10 and scaled,
as statsmodels takes milliseconds per logistic fit), as
crates/stats/benches/glm_timing.rs. Times are CPU time of this process
(time.process_time), so a busy machine does not distort them. Prints JSON
lines. ONLY=logistic runs the logistic part only (bench/stats/logistic.sh)."""

import json
import os
import pathlib
import sys
import time

import numpy as np
import pandas as pd
import statsmodels.api as sm
import statsmodels.formula.api as smf

FIX = pathlib.Path(__file__).resolve().parents[2] / "crates" / "stats" / "tests" / "fixtures"
REFITS = int(os.environ.get("REFITS", "10000"))
REPS = int(os.environ.get("REPS", "200"))


def everything(res):
    # Force what rct computes: estimates, SEs, t, p, CIs, R^2, sigma, F.
    return (np.asarray(res.params), np.asarray(res.bse), np.asarray(res.tvalues),
            np.asarray(res.pvalues), np.asarray(res.conf_int()), res.rsquared,
            res.rsquared_adj, res.scale, res.fvalue, res.f_pvalue)


def main():
    only = os.environ.get("ONLY")
    for name, csv, formula in [] if only == "logistic" else [
        ("ancova", "ols_ancova.csv", "y ~ arm + baseline + sex"),
        ("interaction", "ols_interaction.csv",
         "vo2max_w12 ~ arm * ifn_score + vo2max_w0 + sex"),
    ]:
        df = pd.read_csv(FIX / csv)
        t0 = time.process_time()
        for _ in range(REPS):
            everything(smf.ols(formula, df).fit())
        per_fit = (time.process_time() - t0) / REPS
        model = smf.ols(formula, df)
        X, y0 = model.exog, model.endog
        rng = np.random.default_rng(1)
        ys = [y0 + rng.normal(0, 1, len(y0)) for _ in range(100)]
        t0 = time.process_time()
        for k in range(REFITS):
            everything(sm.OLS(ys[k % len(ys)], X).fit())
        refits = time.process_time() - t0
        print(json.dumps({"model": name, "nobs": int(len(y0)), "per_fit_s": per_fit,
                          "refits": REFITS, "refits_s": refits}))
    # Logistic regression of the 240-participant IL-2-like fixture.
    df = pd.read_csv(FIX / "glm_il2.csv")
    formula = "responder ~ arm + sledai_w0 + site"

    def logit_everything(res):
        return (np.asarray(res.params), np.asarray(res.bse), np.asarray(res.tvalues),
                np.asarray(res.pvalues), np.asarray(res.conf_int()), res.llf)
    t0 = time.process_time()
    for _ in range(REPS):
        logit_everything(smf.logit(formula, df).fit(disp=0))
    per_fit = (time.process_time() - t0) / REPS
    model = smf.logit(formula, df)
    X = model.exog
    mu = model.fit(disp=0).predict()
    rng = np.random.default_rng(1)
    ys = [(rng.random(len(mu)) < mu).astype(float) for _ in range(100)]
    n_ref = max(REFITS // 10, 100)
    t0 = time.process_time()
    for k in range(n_ref):
        logit_everything(sm.Logit(ys[k % len(ys)], X).fit(disp=0))
    refits = (time.process_time() - t0) * REFITS / n_ref
    print(json.dumps({"model": "logistic", "nobs": int(len(mu)), "per_fit_s": per_fit,
                      "refits": REFITS, "refits_s": refits, "refits_extrapolated_from": n_ref}))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
