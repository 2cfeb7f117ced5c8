#!/usr/bin/env python3
"""Reference numbers for rct-stats' OLS, multiplicity and power code.

Generates datasets with a seeded numpy Generator, writes them as CSV into
crates/stats/tests/fixtures/, fits each with statsmodels (smf.ols; classical
and HC0-HC3 covariance, t inference) and writes everything the Rust tests
compare against into crates/stats/tests/fixtures/ols_reference.json:
estimates, SEs, t, p, CIs, R^2, adjusted R^2, sigma, df, the model F test,
robust SEs, joint Wald F tests of whole terms, and the term names as patsy
writes them. Also: Holm adjustments (statsmodels multipletests), Dunnett's
many-to-one test (scipy.stats.dunnett, SciPy >= 1.11) and the closed-form
power of the two-sample t test (scipy.stats.nct).

Run (CI does not run Python; the outputs are committed):

    python3 -m venv /tmp/stats-venv
    /tmp/stats-venv/bin/pip install statsmodels pandas scipy
    /tmp/stats-venv/bin/python tools/stats/ols_reference.py
"""

import json
import pathlib

import numpy as np
import pandas as pd
import patsy
import scipy
import scipy.stats as st
import statsmodels
import statsmodels.formula.api as smf
from statsmodels.stats.multitest import multipletests

# Transforms used in formulas (patsy evaluates them in this module's namespace).
log = np.log
log2 = np.log2

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIX = ROOT / "crates" / "stats" / "tests" / "fixtures"
SEED = 20261123


def write_csv(df, name):
    path = FIX / name
    df.to_csv(path, index=False, float_format="%.17g", na_rep="NA")
    return name


def make_ancova(rng):
    n = 90
    arm = rng.choice(["control", "hiit"], n)
    baseline = rng.normal(28.0, 6.0, n)
    sex = rng.choice(["female", "male"], n, p=[0.75, 0.25])
    sd = 1.5 + 0.1 * (baseline - baseline.min())  # heteroskedastic
    y = 3.0 + 0.85 * baseline + 2.5 * (arm == "hiit") + 1.2 * (sex == "male")
    y = y + rng.normal(0.0, 1.0, n) * sd
    df = pd.DataFrame({"id": np.arange(1, n + 1), "arm": arm, "baseline": baseline,
                       "sex": sex, "y": y})
    df.loc[[3, 17, 40, 77], "y"] = np.nan
    df.loc[[8, 55, 61], "baseline"] = np.nan
    df.loc[[12, 70], "sex"] = np.nan
    return df


def make_interaction(rng):
    n = 120
    arm = rng.choice(["control", "hiit"], n)
    ifn = rng.normal(0.0, 1.5, n)
    w0 = rng.normal(27.0, 5.0, n)
    sex = rng.choice(["female", "male"], n, p=[0.8, 0.2])
    hiit = arm == "hiit"
    y = 2.0 + 0.9 * w0 + 3.0 * hiit - 0.4 * ifn - 0.8 * hiit * ifn + 1.0 * (sex == "male")
    y = y + rng.standard_t(5, n) * 2.0
    df = pd.DataFrame({"arm": arm, "ifn_score": ifn, "vo2max_w0": w0, "sex": sex,
                       "vo2max_w12": y})
    df.loc[[5, 66], "vo2max_w12"] = np.nan
    df.loc[[30], "ifn_score"] = np.nan
    return df


def make_four_arm(rng):
    sizes = {"placebo": 28, "il2_0_2": 22, "il2_0_5": 25, "il2_1_0": 30}
    effect = {"placebo": 0.0, "il2_0_2": 0.3, "il2_0_5": 0.9, "il2_1_0": 1.4}
    arm = np.concatenate([[a] * k for a, k in sizes.items()])
    rng.shuffle(arm)
    y = np.array([effect[a] for a in arm]) + 4.0 + rng.normal(0.0, 1.5, len(arm))
    df = pd.DataFrame({"arm": arm, "y": y})
    df.loc[[9], "y"] = np.nan
    return df


def make_transforms(rng):
    n = 60
    dose = rng.lognormal(0.0, 0.8, n)
    weight = rng.normal(70.0, 12.0, n)
    arm = rng.choice(["a", "b", "c"], n)
    ly = 0.5 + 0.3 * np.log2(dose) + 0.8 * np.log(weight) + 0.2 * (arm == "b") \
        + rng.normal(0.0, 0.25, n)
    df = pd.DataFrame({"dose": dose, "weight": weight, "arm": arm, "y": np.exp(ly)})
    df.loc[[2], "dose"] = np.nan
    return df


def term_columns(res, term):
    sl = res.model.data.model_spec.term_name_slices[term]
    return list(range(sl.start, sl.stop))


def wald(res, term):
    cols = term_columns(res, term)
    r = np.zeros((len(cols), len(res.params)))
    for i, c in enumerate(cols):
        r[i, c] = 1.0
    ft = res.f_test(r)
    return {"term": term, "columns": [res.model.exog_names[c] for c in cols],
            "f": float(np.squeeze(ft.fvalue)), "df_num": float(ft.df_num),
            "df_den": float(ft.df_denom), "p": float(ft.pvalue)}


def fnum(x):
    x = float(x)
    return None if not np.isfinite(x) else x


def fit_case(name, csv, formula, df, reference=None, tests=()):
    """Fits one model; `reference` maps a variable to its reference level
    (applied as pandas categories with that level first, which patsy honours)."""
    data = pd.read_csv(FIX / csv)
    for var, level in (reference or {}).items():
        levels = sorted(data[var].dropna().unique())
        levels.remove(level)
        data[var] = pd.Categorical(data[var], categories=[level] + levels)
    res = smf.ols(formula, data).fit()
    ci = res.conf_int(0.05)
    out = {
        "name": name,
        "data": csv,
        "formula": formula,
        "reference": reference or {},
        "rows": int(len(data)),
        "nobs": int(res.nobs),
        "dropped": int(len(data) - res.nobs),
        "df_resid": float(res.df_resid),
        "df_model": float(res.df_model),
        "r_squared": float(res.rsquared),
        "adj_r_squared": float(res.rsquared_adj),
        "sigma": float(np.sqrt(res.scale)),
        "f_stat": fnum(res.fvalue),
        "f_p": fnum(res.f_pvalue),
        "terms": [
            {"name": nm, "estimate": float(res.params.iloc[i]),
             "std_error": float(res.bse.iloc[i]), "t": float(res.tvalues.iloc[i]),
             "p": float(res.pvalues.iloc[i]), "ci_low": float(ci.iloc[i, 0]),
             "ci_high": float(ci.iloc[i, 1])}
            for i, nm in enumerate(res.model.exog_names)
        ],
        "wald": [wald(res, t) for t in tests],
        "robust": {},
    }
    for cov in ["HC0", "HC1", "HC2", "HC3"]:
        rr = smf.ols(formula, data).fit(cov_type=cov, use_t=True)
        rci = rr.conf_int(0.05)
        out["robust"][cov.lower()] = {
            "std_error": [float(v) for v in rr.bse],
            "t": [float(v) for v in rr.tvalues],
            "p": [float(v) for v in rr.pvalues],
            "ci_low": [float(v) for v in rci.iloc[:, 0]],
            "ci_high": [float(v) for v in rci.iloc[:, 1]],
            "f_stat": fnum(rr.fvalue),
            "f_p": fnum(rr.f_pvalue),
            "wald": [wald(rr, t) for t in tests],
        }
    return out


def holm_cases(four_arm_fit):
    cases = []
    p4 = [t["p"] for t in four_arm_fit["terms"][1:]]
    cases.append(p4)
    cases.append([0.01, 0.04, 0.03, 0.005, 0.2, 0.04])  # ties
    cases.append([0.5, 0.9, 0.8])  # capped at 1
    cases.append([1e-12, 0.049, 0.051])
    out = []
    for p in cases:
        rej, adj, _, _ = multipletests(p, alpha=0.05, method="holm")
        out.append({"p": p, "adjusted": [float(v) for v in adj],
                    "reject": [bool(v) for v in rej]})
    return out


def precise_dunnett(control, samples, statistic, alternative):
    """The same p-values from scipy's multivariate t CDF with 200x the
    default number of lattice points (scipy.stats.dunnett's own estimate is
    good to about 1e-5); the correlation is that of the many-to-one contrasts,
    rho_ij = sqrt(n_i n_j / ((n_i + n_0) (n_j + n_0)))."""
    n0 = len(control)
    ns = np.array([len(s) for s in samples], dtype=float)
    lam = np.sqrt(ns / (ns + n0))
    rho = np.outer(lam, lam)
    np.fill_diagonal(rho, 1.0)
    dfree = n0 + int(ns.sum()) - (len(samples) + 1)
    stat = np.asarray(statistic)
    runs = []
    for seed in (11, 12, 13):
        mvt = st.multivariate_t(shape=rho, df=dfree, seed=np.random.default_rng(seed))
        ps = []
        for t in stat:
            if alternative == "two-sided":
                b = np.full(len(stat), abs(t))
                ps.append(1 - mvt.cdf(b, lower_limit=-b, maxpts=200_000 * len(stat)))
            else:
                b = np.full(len(stat), t)
                ps.append(1 - mvt.cdf(b, lower_limit=np.full(len(stat), -np.inf),
                                      maxpts=200_000 * len(stat)))
        runs.append(ps)
    runs = np.array(runs)
    return ([float(v) for v in runs.mean(axis=0)],
            float((runs.max(axis=0) - runs.min(axis=0)).max()))


def dunnett_cases(df):
    out = []
    d = df.dropna()
    groups = {a: d.loc[d["arm"] == a, "y"].to_numpy() for a in sorted(d["arm"].unique())}
    control = groups.pop("placebo")
    names = list(groups)
    samples = [groups[a] for a in names]
    for alt in ["two-sided", "greater"]:
        runs = [st.dunnett(*samples, control=control, alternative=alt,
                           random_state=np.random.default_rng(s)) for s in (1, 2, 3)]
        pv = np.array([r.pvalue for r in runs])
        out.append({
            "data": "ols_four_arm.csv", "control": "placebo", "arms": names,
            "alternative": alt,
            "statistic": [float(v) for v in runs[0].statistic],
            "pvalue": [float(v) for v in pv.mean(axis=0)],
            # spread of scipy's randomised quasi-Monte Carlo over three seeds
            "pvalue_spread": float((pv.max(axis=0) - pv.min(axis=0)).max()),
        })
        out[-1]["pvalue_precise"], out[-1]["pvalue_precise_spread"] = precise_dunnett(
            control, samples, runs[0].statistic, alt)
    # a small balanced case given directly (equal correlation 0.5)
    rng = np.random.default_rng(SEED + 7)
    ctl = rng.normal(0, 1, 10)
    trt = [rng.normal(m, 1, 10) for m in (0.2, 0.8, 1.3)]
    runs = [st.dunnett(*trt, control=ctl, random_state=np.random.default_rng(s))
            for s in (1, 2, 3)]
    pv = np.array([r.pvalue for r in runs])
    out.append({
        "control_sample": [float(v) for v in ctl],
        "samples": [[float(v) for v in s] for s in trt],
        "alternative": "two-sided",
        "statistic": [float(v) for v in runs[0].statistic],
        "pvalue": [float(v) for v in pv.mean(axis=0)],
        "pvalue_spread": float((pv.max(axis=0) - pv.min(axis=0)).max()),
    })
    out[-1]["pvalue_precise"], out[-1]["pvalue_precise_spread"] = precise_dunnett(
        ctl, trt, runs[0].statistic, "two-sided")
    return out


def power_reference():
    n, d, alpha = 64, 0.5, 0.05
    df = 2 * n - 2
    nc = d * np.sqrt(n / 2)
    tc = st.t.ppf(1 - alpha / 2, df)
    power = st.nct.sf(tc, df, nc) + st.nct.cdf(-tc, df, nc)
    return {"n_per_arm": n, "d": d, "alpha": alpha, "power": float(power)}


def main():
    FIX.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    anc = make_ancova(rng)
    inter = make_interaction(rng)
    four = make_four_arm(rng)
    trans = make_transforms(rng)
    files = {
        "ancova": write_csv(anc, "ols_ancova.csv"),
        "interaction": write_csv(inter, "ols_interaction.csv"),
        "four_arm": write_csv(four, "ols_four_arm.csv"),
        "transforms": write_csv(trans, "ols_transforms.csv"),
    }
    models = [
        fit_case("ancova", files["ancova"], "y ~ arm + baseline + sex", anc, tests=["arm"]),
        fit_case("interaction", files["interaction"],
                 "vo2max_w12 ~ arm * ifn_score + vo2max_w0 + sex", inter,
                 tests=["arm:ifn_score", "arm"]),
        fit_case("four_arm", files["four_arm"], "y ~ C(arm)", four, tests=["C(arm)"]),
        fit_case("four_arm_placebo", files["four_arm"], "y ~ arm", four,
                 reference={"arm": "placebo"}, tests=["arm"]),
        fit_case("transforms", files["transforms"],
                 "log(y) ~ log2(dose) + np.log(weight) + arm", trans, tests=["arm"]),
        fit_case("no_intercept_dummies", files["ancova"], "y ~ arm + baseline - 1", anc,
                 tests=["arm"]),
        fit_case("no_intercept_numeric", files["ancova"], "y ~ baseline - 1", anc),
        fit_case("interaction_star_sex", files["interaction"],
                 "vo2max_w12 ~ arm:sex + ifn_score", inter, tests=["arm:sex"]),
    ]
    four_placebo = models[3]
    ref = {
        "generator": "tools/stats/ols_reference.py",
        "seed": SEED,
        "versions": {"statsmodels": statsmodels.__version__, "scipy": scipy.__version__,
                     "pandas": pd.__version__, "patsy": patsy.__version__,
                     "numpy": np.__version__},
        "models": models,
        "holm": holm_cases(four_placebo),
        "dunnett": dunnett_cases(four),
        "power_two_sample": power_reference(),
    }
    out = FIX / "ols_reference.json"
    out.write_text(json.dumps(ref, indent=1) + "\n")
    print(f"wrote {out} ({len(models)} models)")


if __name__ == "__main__":
    main()
