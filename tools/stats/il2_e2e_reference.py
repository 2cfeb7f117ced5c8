#!/usr/bin/env python3
"""Reference numbers for the IL-2 end-to-end test (crates/cli/tests/trial_il2.rs).

Reads the data that test enters into the trial record,
crates/cli/tests/fixtures/il2_e2e.csv (one row per randomised participant:
participant, site, arm, sledai_w0, sledai_w24, responder_w24, withdrawn; an
empty cell is a missed visit), and fits the protocol's models with
statsmodels (smf.ols, complete cases, t inference, control arm `placebo` as
the reference level, `pkuph` as the reference site):

- sri4: responder_w24 ~ arm + sledai_w0 + site, classical covariance, in the
  full analysis set (everyone randomised) and per protocol (not withdrawn),
  each with the Dunnett many-to-one p-values of the three arm contrasts, from the
  multivariate t of the fitted contrasts (scipy.stats.multivariate_t.cdf,
  quasi-Monte Carlo; about four correct digits);
- sledai: sledai_w24 ~ arm + sledai_w0 + site with HC3 covariance, FAS.

Term names are written as patsy writes them with the default reference
(`arm[T.il2_0_2]`), which is how rct names them. Output:
crates/cli/tests/fixtures/il2_e2e_reference.json.

Run (CI does not run Python; the output is committed):

    python3 tools/stats/il2_e2e_reference.py
"""

import json
import pathlib

import numpy as np
import pandas as pd
import scipy
import statsmodels
import statsmodels.formula.api as smf
from scipy.stats import multivariate_t

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIX = ROOT / "crates" / "cli" / "tests" / "fixtures"
ARMS = ["placebo", "il2_0_2", "il2_0_5", "il2_1_0"]


def fit(df, formula, cov_type):
    # Treatment coding with placebo first: patsy's default takes the first
    # level, so order the categories.
    d = df.copy()
    d["arm"] = pd.Categorical(d["arm"], categories=ARMS)
    m = smf.ols(formula, data=d, missing="drop").fit(cov_type=cov_type)
    ci = m.conf_int()
    terms = {}
    for name in m.params.index:
        terms[name] = {
            "estimate": float(m.params[name]),
            "std_error": float(m.bse[name]),
            "t": float(m.tvalues[name]),
            "p": float(m.pvalues[name]),
            "ci_low": float(ci.loc[name, 0]),
            "ci_high": float(ci.loc[name, 1]),
        }
    return m, {
        "formula": formula,
        "cov_type": cov_type,
        "nobs": int(m.nobs),
        "df_resid": float(m.df_resid),
        "terms": terms,
    }


def dunnett(m):
    cols = [f"arm[T.{a}]" for a in ARMS[1:]]
    cov = m.cov_params().loc[cols, cols].to_numpy()
    se = np.sqrt(np.diag(cov))
    corr = cov / np.outer(se, se)
    t = m.tvalues[cols].to_numpy()
    dist = multivariate_t(loc=np.zeros(len(cols)), shape=corr, df=m.df_resid)
    out = []
    for ti in t:
        c = abs(ti)
        inside = dist.cdf(
            np.full(len(cols), c),
            lower_limit=np.full(len(cols), -c),
            maxpts=2_000_000,
            random_state=np.random.default_rng(20240611),
        )
        out.append(float(1.0 - inside))
    return out


def main():
    df = pd.read_csv(FIX / "il2_e2e.csv")
    sri4_f = "responder_w24 ~ arm + sledai_w0 + site"
    m_fas, fas = fit(df, sri4_f, "nonrobust")
    fas["dunnett_p"] = dunnett(m_fas)
    m_pp, pp = fit(df[df["withdrawn"] == 0], sri4_f, "nonrobust")
    pp["dunnett_p"] = dunnett(m_pp)
    _, sledai = fit(df, "sledai_w24 ~ arm + sledai_w0 + site", "HC3")
    out = {
        "source": "tools/stats/il2_e2e_reference.py",
        "statsmodels": statsmodels.__version__,
        "scipy": scipy.__version__,
        "sri4": {"fas": fas, "pp": pp},
        "sledai": {"fas": sledai},
    }
    path = FIX / "il2_e2e_reference.json"
    path.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
