#!/usr/bin/env python3
"""Reference numbers for rct-stats' GLMs and binary-outcome effects.

Generates data sets with a seeded numpy Generator, writes them as CSV into
crates/stats/tests/fixtures/ and writes every figure the Rust tests compare
against into crates/stats/tests/fixtures/glm_reference.json:

- logistic and Poisson GLMs: statsmodels `smf.glm` (estimates, SEs, z, p,
  CIs, llf, deviance, null deviance, AIC) and likelihood-ratio tests of whole
  terms (statsmodels fits of the reduced formulas);
- Firth's logistic regression: the firthlogist package (PyPI; estimates,
  Wald SEs, p-values and CIs with wald=True, penalised log-likelihood);
  penalised LR p-values by direct constrained maximisation with scipy (see
  `firth_case`: firthlogist's restricted fits differ from the definition);
- standardised (marginal) risks: computed here as a generic M-estimator,
  with the sandwich A^-1 B A^-T / n of the stacked estimating equations
  (logistic score and mu_i(a) - p_a) and the derivative matrix A taken by
  central finite differences, i.e. without the closed form used in Rust;
- unadjusted risk differences: statsmodels `confint_proportions_2indep`
  (method="newcomb"); Miettinen-Nurminen by brute force here (numerical
  restricted MLE and root finding; see `mn_interval`);
- CMH: statsmodels `StratifiedTable` (test_null_odds(correction=False),
  oddsratio_pooled, logodds_pooled_se, oddsratio_pooled_confint);
- Fisher: scipy.stats.fisher_exact;
- Dunnett (many-to-one) p-values of the standardised risk differences:
  scipy's multivariate normal over the sandwich correlation.

Run (CI does not run Python; the outputs are committed):

    python3 -m venv /tmp/stats-venv
    /tmp/stats-venv/bin/pip install statsmodels scipy "pandas<2.3"
    /tmp/stats-venv/bin/pip install --ignore-requires-python firthlogist
    /tmp/stats-venv/bin/python tools/stats/glm_reference.py
"""

import json
import pathlib
import warnings

import numpy as np
import pandas as pd
import patsy
import scipy
import scipy.stats as st
import statsmodels
import statsmodels.api as sm
import statsmodels.formula.api as smf
from statsmodels.stats.contingency_tables import StratifiedTable
from statsmodels.stats.proportion import confint_proportions_2indep

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIX = ROOT / "crates" / "stats" / "tests" / "fixtures"


def expit(x):
    return 1.0 / (1.0 + np.exp(-x))


def make_data():
    rng = np.random.default_rng(20251203)
    sets = {}
    # IL-2-like: 4 arms, baseline SLEDAI, 3 sites, 240 participants.
    n = 240
    arm = np.array(["placebo", "low", "mid", "high"])[np.arange(n) % 4]
    site = np.array(["pkuph", "site2", "site3"])[rng.integers(0, 3, n)]
    sledai = rng.normal(10, 3, n).round(0)
    eff = {"placebo": 0.0, "low": 0.4, "mid": 0.8, "high": 1.1}
    eta = -1.0 + np.vectorize(eff.get)(arm) - 0.08 * (sledai - 10) + np.where(site == "site3", 0.3, 0.0)
    y = rng.binomial(1, expit(eta))
    sets["glm_il2"] = pd.DataFrame({"responder": y, "arm": arm, "sledai_w0": sledai, "site": site})
    # two arms with age and sex, 120 participants
    n = 120
    arm = np.array(["control", "hiit"])[np.arange(n) % 2]
    age = rng.normal(40, 10, n).round(1)
    sex = np.array(["female", "male"])[rng.integers(0, 2, n)]
    eta = -0.5 + 0.9 * (arm == "hiit") + 0.03 * (age - 40) - 0.4 * (sex == "male")
    sets["glm_two_arm"] = pd.DataFrame({"y": rng.binomial(1, expit(eta)), "arm": arm, "age": age, "sex": sex})
    # small: 40 rows
    n = 40
    x = rng.normal(0, 1, n).round(3)
    g = np.array(["a", "b"])[rng.integers(0, 2, n)]
    sets["glm_small"] = pd.DataFrame({"y": rng.binomial(1, expit(0.3 + 1.2 * x)), "x": x, "g": g})
    # quasi-separated: every participant of site c responds
    n = 36
    arm = np.array(["placebo", "active"])[np.arange(n) % 2]
    site = np.array(["a", "b", "c"])[np.arange(n) % 3]
    base = rng.normal(0, 1, n).round(2)
    y = rng.binomial(1, expit(-0.3 + 1.0 * (arm == "active") + 0.5 * base))
    y[site == "c"] = 1
    sets["glm_separated"] = pd.DataFrame({"y": y, "arm": arm, "site": site, "base": base})
    # counts with exposure
    n = 150
    arm = np.array(["control", "treated"])[np.arange(n) % 2]
    x = rng.normal(0, 1, n).round(3)
    expo = rng.uniform(0.5, 2.0, n).round(3)
    mu = expo * np.exp(0.2 - 0.5 * (arm == "treated") + 0.3 * x)
    sets["glm_counts"] = pd.DataFrame({"events": rng.poisson(mu), "arm": arm, "x": x, "exposure": expo,
                                       "log_exposure": np.log(expo)})
    n = 90
    grp = np.array(["g1", "g2", "g3"])[rng.integers(0, 3, n)]
    z = rng.normal(0, 1, n).round(3)
    mu = np.exp(1.0 + 0.4 * (grp == "g2") - 0.3 * (grp == "g3") + 0.2 * z)
    sets["glm_counts2"] = pd.DataFrame({"count": rng.poisson(mu), "grp": grp, "z": z})
    # Added later, from their own generator (the sets above stay as they were):
    rng2 = np.random.default_rng(20261203)
    # three arms with a baseline score and a two-level stratum, 150 participants
    n = 150
    arm = np.array(["control", "low", "high"])[np.arange(n) % 3]
    base = rng2.normal(50, 12, n).round(1)
    stratum = np.array(["s1", "s2"])[rng2.integers(0, 2, n)]
    eta = (-0.2 + 0.5 * (arm == "low") + 1.0 * (arm == "high") - 0.025 * (base - 50)
           + 0.35 * (stratum == "s2"))
    sets["glm_three_arm"] = pd.DataFrame({"y": rng2.binomial(1, expit(eta)), "arm": arm, "base": base,
                                          "stratum": stratum})
    # exposure-adjusted event counts (flares per person-year), three arms, 120 participants
    n = 120
    arm = np.array(["placebo", "dose1", "dose2"])[np.arange(n) % 3]
    age = rng2.normal(45, 12, n).round(0)
    years = rng2.uniform(0.25, 1.5, n).round(3)
    mu = years * np.exp(0.4 - 0.3 * (arm == "dose1") - 0.7 * (arm == "dose2") + 0.01 * (age - 45))
    sets["glm_counts3"] = pd.DataFrame({"flares": rng2.poisson(mu), "arm": arm, "age": age, "years": years,
                                        "log_years": np.log(years)})
    return sets


def glm_case(df, formula, family, name, offset=None):
    fam = sm.families.Binomial() if family == "binomial" else sm.families.Poisson()
    kw = {"offset": np.asarray(df[offset])} if offset else {}
    yv, X = patsy.dmatrices(formula, df, return_type="dataframe")
    res = sm.GLM(yv, X, family=fam, **kw).fit(tol=1e-14, maxiter=200)
    ci = res.conf_int()
    out = {
        "name": name, "data": name.split(":")[0] + ".csv", "formula": formula, "family": family,
        "offset": offset,
        "names": list(res.params.index), "estimate": list(res.params), "std_error": list(res.bse),
        "z": list(res.tvalues), "p": list(res.pvalues), "ci_low": list(ci[0]), "ci_high": list(ci[1]),
        "llf": res.llf, "deviance": res.deviance, "null_deviance": res.null_deviance, "aic": res.aic,
        "nobs": int(res.nobs), "lr_tests": [],
    }
    # LR tests of every term by refitting without it.
    terms = [t for t in X.design_info.term_names if t != "Intercept"]
    for t in terms:
        keep = [c for c, sl in X.design_info.term_name_slices.items() if c != t
                for _ in [0]]
        cols = [X.columns[i] for c in keep for i in range(*X.design_info.term_name_slices[c].indices(X.shape[1]))]
        red = sm.GLM(yv, X[cols], family=fam, **kw).fit(tol=1e-14, maxiter=200)
        lr = 2 * (res.llf - red.llf)
        dfd = res.df_model - red.df_model
        out["lr_tests"].append({"term": t, "chi2": lr, "df": dfd, "p": st.chi2.sf(lr, dfd)})
    return out, res


def marginal_case(df, formula, arm_var, levels, name):
    """Standardised risks by a generic M-estimator sandwich with a numerical A."""
    yv, Xd = patsy.dmatrices(formula, df, return_type="dataframe")
    res = sm.GLM(yv, Xd, family=sm.families.Binomial()).fit(tol=1e-14, maxiter=200)
    di = Xd.design_info
    X = np.asarray(Xd)
    y = np.asarray(yv).ravel()
    n, p = X.shape
    Xa = []
    for lv in levels:
        d2 = df.copy()
        d2[arm_var] = lv
        Xa.append(np.asarray(patsy.build_design_matrices([di], d2)[0]))
    k = len(levels)

    def psi(theta):
        beta, risks = theta[:p], theta[p:]
        mu = expit(X @ beta)
        cols = [X * (y - mu)[:, None]]
        for a in range(k):
            cols.append((expit(Xa[a] @ beta) - risks[a])[:, None])
        return np.hstack(cols)  # n x (p + k)

    bp = np.asarray(res.params)
    theta = np.concatenate([bp, [expit(Xa[a] @ bp).mean() for a in range(k)]])
    m = p + k
    A = np.zeros((m, m))
    h = 1e-6
    for j in range(m):
        e = np.zeros(m)
        e[j] = h
        A[:, j] = -(psi(theta + e).mean(0) - psi(theta - e).mean(0)) / (2 * h)
    P = psi(theta)
    B = P.T @ P / n
    Ainv = np.linalg.inv(A)
    V = Ainv @ B @ Ainv.T / n
    r = theta[p:]
    Vr = V[p:, p:]
    out = {"name": name, "data": name.split(":")[0] + ".csv", "formula": formula, "arm": arm_var,
           "levels": levels, "risk": list(r), "risk_se": list(np.sqrt(np.diag(Vr))), "contrasts": []}
    for a in range(1, k):
        g_rd = np.zeros(k); g_rd[a] = 1; g_rd[0] = -1
        g_rr = np.zeros(k); g_rr[a] = 1 / r[a]; g_rr[0] = -1 / r[0]
        g_or = np.zeros(k); g_or[a] = 1 / (r[a] * (1 - r[a])); g_or[0] = -1 / (r[0] * (1 - r[0]))
        out["contrasts"].append({
            "level": levels[a],
            "rd": r[a] - r[0], "rd_se": float(np.sqrt(g_rd @ Vr @ g_rd)),
            "rr": r[a] / r[0], "log_rr_se": float(np.sqrt(g_rr @ Vr @ g_rr)),
            "or": (r[a] / (1 - r[a])) / (r[0] / (1 - r[0])), "log_or_se": float(np.sqrt(g_or @ Vr @ g_or)),
        })
    # Many-to-one (Dunnett) p-values of the risk differences: the z
    # statistics are jointly normal with the correlation of the sandwich
    # covariance; p_j = 1 - P(max |Z| < |z_j|) by scipy's multivariate
    # normal (tight error settings).
    if k > 2:
        G = np.zeros((k - 1, k))
        G[:, 0] = -1
        G[np.arange(k - 1), np.arange(1, k)] = 1
        C = G @ Vr @ G.T
        z = (G @ r) / np.sqrt(np.diag(C))
        R = C / np.sqrt(np.outer(np.diag(C), np.diag(C)))
        mvn = st.multivariate_normal(mean=np.zeros(k - 1), cov=R, allow_singular=False,
                                     maxpts=2_000_000 * (k - 1), abseps=1e-10, releps=1e-10)
        pd_ = []
        for zj in np.abs(z):
            pd_.append(float(1 - mvn.cdf(np.full(k - 1, zj), lower_limit=np.full(k - 1, -zj))))
        out["rd_cov"] = C.ravel().tolist()
        out["dunnett_p"] = pd_
    return out


def firth_case(df, formula, name):
    from firthlogist import FirthLogisticRegression
    yv, X = patsy.dmatrices(formula, df, return_type="dataframe")
    names = list(X.columns)
    Xn = X.drop(columns=["Intercept"]).to_numpy()
    y = yv.to_numpy().ravel()
    common = dict(max_iter=500, max_halfstep=50, tol=1e-12, pl_max_iter=500, pl_max_halfstep=50)
    w = FirthLogisticRegression(wald=True, **common).fit(Xn, y)
    lr = FirthLogisticRegression(wald=False, skip_ci=True, **common).fit(Xn, y)
    # Penalised LR test by Heinze and Schemper's definition: maximise the
    # penalised log-likelihood (full-model penalty) with the coefficient held
    # at 0, here by scipy's BFGS from the full fit. (firthlogist's own
    # restricted fit zeroes the column in the penalty's hat matrix, so its
    # restricted point is not the constrained maximum; its p-values differ.)
    from scipy import optimize
    Xf = X.to_numpy()

    def pll(b):
        eta = Xf @ b
        mu = expit(eta)
        w = mu * (1 - mu)
        sign, logdet = np.linalg.slogdet(Xf.T @ (w[:, None] * Xf))
        return float(np.sum(y * eta - np.logaddexp(0, eta)) + 0.5 * logdet)

    full = np.concatenate([[w.intercept_], w.coef_])
    pl_full = pll(full)
    p_lr = []
    for j in range(len(names)):
        free = [k for k in range(len(names)) if k != j]

        def neg(bf):
            b = np.zeros(len(names))
            b[free] = bf
            return -pll(b)
        r = optimize.minimize(neg, full[free], method="BFGS", options={"gtol": 1e-10, "maxiter": 10000})
        r = optimize.minimize(neg, r.x, method="Nelder-Mead",
                              options={"xatol": 1e-12, "fatol": 1e-14, "maxiter": 200000})
        p_lr.append(float(st.chi2.sf(2 * (pl_full + r.fun), 1)))
    # firthlogist orders the intercept last; rct orders it first.
    order = [len(names) - 1] + list(range(len(names) - 1))
    est = np.concatenate([w.coef_, [w.intercept_]])
    return {
        "name": name, "data": name.split(":")[0] + ".csv", "formula": formula, "names": names,
        "estimate": list(est[order]), "std_error": list(np.asarray(w.bse_)[order]),
        "p_wald": list(np.asarray(w.pvals_)[order]),
        "ci_low": list(np.asarray(w.ci_)[order, 0]), "ci_high": list(np.asarray(w.ci_)[order, 1]),
        "p_lr": p_lr,
        "p_lr_firthlogist": list(np.asarray(lr.pvals_)[order]),
        "penalized_llf": float(w.loglik_),
    }


def mn_interval(x1, n1, x2, n2, z=st.norm.ppf(0.975)):
    """Miettinen-Nurminen by brute force: the constrained MLE by numerical
    maximisation of the restricted likelihood (no cubic), the score
    statistic with the N/(N-1) factor, and brentq for each limit.
    (statsmodels 0.15's method="score" has a wrong coefficient in its cubic,
    statsmodels issue #10269, and misses Newcombe's published 0.0528, 0.3382
    for 56/70 vs 48/80.)"""
    from scipy import optimize

    def restricted(d):
        lo, hi = max(0.0, -d) + 1e-13, min(1.0, 1.0 - d) - 1e-13

        def nll(p2):
            p1 = p2 + d
            return -(st.binom.logpmf(x1, n1, p1) + st.binom.logpmf(x2, n2, p2))
        r = optimize.minimize_scalar(nll, bounds=(lo, hi), method="bounded", options={"xatol": 1e-15})
        return r.x + d, r.x

    def score(d):
        q1, q2 = restricted(d)
        v = (q1 * (1 - q1) / n1 + q2 * (1 - q2) / n2) * (n1 + n2) / (n1 + n2 - 1)
        return (x1 / n1 - x2 / n2 - d) / np.sqrt(v)
    est = x1 / n1 - x2 / n2
    lo = optimize.brentq(lambda d: score(d) - z, -1 + 1e-9, est, xtol=1e-14)
    hi = optimize.brentq(lambda d: score(d) + z, est, 1 - 1e-9, xtol=1e-14)
    return lo, hi


def rd_case(x1, n1, x2, n2):
    nl, nh = confint_proportions_2indep(x1, n1, x2, n2, method="newcomb", compare="diff")
    ml, mh = mn_interval(x1, n1, x2, n2)
    return {"x1": x1, "n1": n1, "x2": x2, "n2": n2, "newcombe": [nl, nh], "mn": [ml, mh]}


def cmh_case(tables, name):
    t = StratifiedTable([np.array(tb, dtype=float) for tb in tables])
    r = t.test_null_odds(correction=False)
    lo, hi = t.oddsratio_pooled_confint()
    return {"name": name, "tables": tables, "statistic": r.statistic, "p": r.pvalue,
            "odds_ratio": t.oddsratio_pooled, "log_or_se": t.logodds_pooled_se, "ci": [lo, hi]}


def main():
    warnings.simplefilter("ignore")
    sets = make_data()
    for k, df in sets.items():
        df.to_csv(FIX / f"{k}.csv", index=False)
    glms = []
    for name, formula, fam, off in [
        ("glm_il2:main", "responder ~ arm + sledai_w0 + site", "binomial", None),
        ("glm_two_arm:main", "y ~ arm + age + sex", "binomial", None),
        ("glm_two_arm:interaction", "y ~ arm * age", "binomial", None),
        ("glm_small:main", "y ~ x + g", "binomial", None),
        ("glm_counts:offset", "events ~ arm + x", "poisson", "log_exposure"),
        ("glm_counts2:main", "count ~ grp + z", "poisson", None),
        ("glm_counts:nooffset", "events ~ arm * x", "poisson", None),
        ("glm_three_arm:main", "y ~ arm + base + stratum", "binomial", None),
        ("glm_counts3:offset", "flares ~ arm + age", "poisson", "log_years"),
    ]:
        glms.append(glm_case(sets[name.split(":")[0]], formula, fam, name, off)[0])
    il2 = sets["glm_il2"]
    marg = [
        marginal_case(il2, "responder ~ arm + sledai_w0 + site", "arm", ["placebo", "low", "mid", "high"],
                      "glm_il2:main"),
        marginal_case(sets["glm_two_arm"], "y ~ arm + age + sex", "arm", ["control", "hiit"], "glm_two_arm:main"),
        marginal_case(sets["glm_two_arm"], "y ~ arm * age", "arm", ["control", "hiit"],
                      "glm_two_arm:interaction"),
        marginal_case(sets["glm_three_arm"], "y ~ arm + base + stratum", "arm", ["control", "low", "high"],
                      "glm_three_arm:main"),
    ]
    firth = [
        firth_case(sets["glm_separated"], "y ~ arm + site + base", "glm_separated:main"),
        firth_case(sets["glm_small"], "y ~ x + g", "glm_small:main"),
        firth_case(sets["glm_two_arm"], "y ~ arm + age + sex", "glm_two_arm:main"),
    ]
    rds = [rd_case(56, 70, 48, 80), rd_case(5, 20, 0, 20), rd_case(30, 120, 22, 118), rd_case(18, 25, 7, 24)]
    # CMH: the IL-2 data set, high dose against placebo by site; and two hand-made sets.
    tabs = []
    for s in sorted(il2.site.unique()):
        d = il2[il2.site == s]
        hi = d[d.arm == "high"].responder
        pl = d[d.arm == "placebo"].responder
        tabs.append([[int(hi.sum()), int((1 - hi).sum())], [int(pl.sum()), int((1 - pl).sum())]])
    cmhs = [
        cmh_case(tabs, "il2_high_vs_placebo_by_site"),
        cmh_case([[[12, 8], [6, 14]], [[5, 5], [3, 7]], [[20, 10], [15, 15]]], "three_strata"),
        cmh_case([[[4, 0], [1, 3]], [[2, 2], [0, 4]], [[7, 3], [5, 5]], [[1, 0], [0, 1]]], "sparse"),
    ]
    fishers = []
    for tb in [[[3, 1], [1, 3]], [[8, 2], [1, 5]], [[0, 10], [6, 4]], [[12, 30], [25, 20]]]:
        r = st.fisher_exact(tb)
        fishers.append({"table": tb, "odds_ratio": float(r.statistic), "p": float(r.pvalue)})
    out = {
        "generator": "tools/stats/glm_reference.py",
        "statsmodels": statsmodels.__version__, "scipy": scipy.__version__, "numpy": np.__version__,
        "glm": glms, "marginal": marg, "firth": firth, "risk_difference": rds, "cmh": cmhs, "fisher": fishers,
    }
    def plain(o):
        if isinstance(o, np.integer):
            return int(o)
        if isinstance(o, np.floating):
            return float(o)
        raise TypeError(type(o))
    (FIX / "glm_reference.json").write_text(json.dumps(out, indent=1, default=plain) + "\n")
    print("wrote", FIX / "glm_reference.json")


if __name__ == "__main__":
    main()
