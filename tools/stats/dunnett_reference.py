#!/usr/bin/env python3
"""Reference numbers for Dunnett-type (single-step) adjusted p-values of
linear-model coefficients, as R's multcomp::glht(..., "single-step")
computes them (Hothorn, Bretz & Westfall 2008):

  p_i = 1 - P(max_j |T_j| < |t_i|)   (two-sided; one-sided analogues),

T multivariate t with the residual df and the correlation of the compared
estimates. Computed here independently of rct:

  (a) the IL-2-like model `responder_w24 ~ arm + sledai_w0 + site` (4 arms
      incl. placebo, unbalanced; continuous baseline covariate; 3-level site
      factor) fitted by statsmodels OLS (classical and HC3 covariance), a
      10-comparison model, and the adjusted p-values from
      scipy.stats.multivariate_t(shape=R, df=df).cdf on the box (and
      scipy.stats.multivariate_normal for df = inf), with a large maxpts;
      each probability is run with three seeds and the spread recorded
      (scipy's randomised QMC error, ~1e-5 here);
  (b) the one-factor case `responder_w24 ~ arm` against scipy.stats.dunnett.

Writes crates/stats/tests/fixtures/dunnett_il2.csv, dunnett_ten.csv and
dunnett_reference.json. Run: python3 tools/stats/dunnett_reference.py
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import scipy
import scipy.stats as st
import statsmodels
import statsmodels.formula.api as smf

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "crates" / "stats" / "tests" / "fixtures"
SEED = 20261123
SEEDS = (1, 2, 3)


def make_il2(rng):
    arms = ["placebo"] * 27 + ["il2_0_2"] * 21 + ["il2_0_5"] * 24 + ["il2_1_0"] * 18
    rng.shuffle(arms)
    n = len(arms)
    site = rng.choice(["pkuph", "site2", "site3"], size=n, p=[0.5, 0.3, 0.2])
    sledai_w0 = rng.integers(8, 25, size=n)
    effect = {"placebo": 0.0, "il2_0_2": 0.12, "il2_0_5": 0.25, "il2_1_0": 0.3}
    site_eff = {"pkuph": 0.0, "site2": -0.08, "site3": 0.1}
    lin = (0.25 + np.array([effect[a] for a in arms]) + np.array([site_eff[s] for s in site])
           + 0.015 * (sledai_w0 - 14))
    responder = (rng.uniform(size=n) < np.clip(lin, 0.02, 0.98)).astype(int)
    return pd.DataFrame({"id": np.arange(1, n + 1), "arm": arms, "site": site,
                         "sledai_w0": sledai_w0, "responder_w24": responder})


def make_ten(rng):
    levels = ["placebo"] + [f"d{j:02d}" for j in range(1, 11)]
    sizes = [16, 9, 11, 8, 12, 10, 7, 13, 9, 10, 11]
    arms = sum(([a] * s for a, s in zip(levels, sizes)), [])
    rng.shuffle(arms)
    n = len(arms)
    site = rng.choice(["a", "b", "c"], size=n)
    x = rng.normal(50, 10, size=n)
    eff = {a: 0.25 * j for j, a in enumerate(levels)}
    y = (10 + np.array([eff[a] for a in arms]) + 0.1 * x
         + np.where(site == "b", 0.5, 0.0) + rng.normal(0, 1.5, size=n))
    return pd.DataFrame({"arm": arms, "site": site, "x": np.round(x, 3),
                         "y": np.round(y, 4)})


def box(stat, alternative, k):
    t = np.asarray(stat)
    out = []
    for ti in t:
        if alternative == "two-sided":
            out.append((np.full(k, -abs(ti)), np.full(k, abs(ti))))
        elif alternative == "greater":
            out.append((np.full(k, -np.inf), np.full(k, ti)))
        else:
            out.append((np.full(k, ti), np.full(k, np.inf)))
    return out


def adjusted(stat, corr, dfree, alternative, maxpts):
    """Adjusted p-values by scipy's multivariate t (or normal) CDF, three
    seeds: (mean, spread)."""
    k = len(stat)
    runs = []
    for seed in SEEDS:
        ps = []
        for lo, hi in box(stat, alternative, k):
            if np.isinf(dfree):
                mvn = st.multivariate_normal(mean=np.zeros(k), cov=corr, seed=seed,
                                             maxpts=maxpts, abseps=1e-8, releps=0)
                prob = mvn.cdf(hi, lower_limit=lo)
            else:
                mvt = st.multivariate_t(shape=corr, df=dfree,
                                        seed=np.random.default_rng(seed))
                prob = mvt.cdf(hi, lower_limit=lo, maxpts=maxpts)
            ps.append(1.0 - prob)
        runs.append(ps)
    runs = np.array(runs)
    return ([float(v) for v in runs.mean(axis=0)],
            float((runs.max(axis=0) - runs.min(axis=0)).max()))


def fit_case(name, data_file, df, formula, rhs, cov_type, alternatives, maxpts,
             normal_too=False):
    fml = f"{formula.split('~')[0].strip()} ~ C(arm, Treatment('placebo')){rhs}"
    model = smf.ols(fml, data=df)
    res = model.fit() if cov_type == "nonrobust" else model.fit(cov_type=cov_type.upper(),
                                                                  use_t=True)
    names = [c for c in res.params.index if c.startswith("C(arm")]
    levels = [c.split("[T.")[1].rstrip("]") for c in names]
    cov = res.cov_params().loc[names, names].to_numpy()
    se = np.sqrt(np.diag(cov))
    corr = cov / np.outer(se, se)
    stat = (res.params[names] / se).to_numpy()
    dfree = float(res.df_resid)
    case = {
        "name": name, "data": data_file, "formula": formula, "cov_type": cov_type,
        "columns": [f"arm[T.{lv}]" for lv in levels],
        "estimate": [float(v) for v in res.params[names]],
        "std_error": [float(v) for v in se],
        "statistic": [float(v) for v in stat],
        "df_resid": dfree,
        "correlation": [[float(v) for v in row] for row in corr],
        "maxpts": maxpts,
        "adjusted": {},
    }
    for alt in alternatives:
        p, spread = adjusted(stat, corr, dfree, alt, maxpts)
        case["adjusted"][alt] = {"p": p, "spread": spread}
    if normal_too:
        p, spread = adjusted(stat, corr, np.inf, "two-sided", maxpts)
        case["normal_two_sided"] = {"p": p, "spread": spread}
    return case


def one_factor_case(df):
    d = df.copy()
    groups = {a: d.loc[d["arm"] == a, "responder_w24"].to_numpy(dtype=float)
              for a in ["placebo", "il2_0_2", "il2_0_5", "il2_1_0"]}
    control = groups.pop("placebo")
    names = list(groups)
    runs = [st.dunnett(*[groups[a] for a in names], control=control,
                       random_state=np.random.default_rng(s)) for s in SEEDS]
    pv = np.array([r.pvalue for r in runs])
    return {
        "data": "dunnett_il2.csv", "formula": "responder_w24 ~ arm",
        "columns": [f"arm[T.{a}]" for a in names],
        "statistic": [float(v) for v in runs[0].statistic],
        "p": [float(v) for v in pv.mean(axis=0)],
        "spread": float((pv.max(axis=0) - pv.min(axis=0)).max()),
    }


def main():
    FIX.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    il2 = make_il2(rng)
    ten = make_ten(rng)
    il2.to_csv(FIX / "dunnett_il2.csv", index=False)
    ten.to_csv(FIX / "dunnett_ten.csv", index=False)
    cases = [
        fit_case("il2_sri4", "dunnett_il2.csv", il2, "responder_w24 ~ arm + sledai_w0 + site",
                 " + sledai_w0 + site", "nonrobust", ["two-sided", "greater", "less"],
                 2_000_000, normal_too=True),
        fit_case("il2_sri4_hc3", "dunnett_il2.csv", il2,
                 "responder_w24 ~ arm + sledai_w0 + site", " + sledai_w0 + site", "hc3",
                 ["two-sided"], 2_000_000),
        fit_case("ten_doses", "dunnett_ten.csv", ten, "y ~ arm + x + site", " + x + site",
                 "nonrobust", ["two-sided"], 4_000_000),
    ]
    ref = {
        "generator": "tools/stats/dunnett_reference.py",
        "seed": SEED,
        "versions": {"scipy": scipy.__version__, "statsmodels": statsmodels.__version__,
                     "numpy": np.__version__, "pandas": pd.__version__},
        "cases": cases,
        "one_factor": one_factor_case(il2),
    }
    out = FIX / "dunnett_reference.json"
    out.write_text(json.dumps(ref, indent=1) + "\n")
    for c in cases:
        print(c["name"], {a: (v["p"], v["spread"]) for a, v in c["adjusted"].items()})
    print("one-factor", ref["one_factor"]["p"], ref["one_factor"]["spread"])
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
