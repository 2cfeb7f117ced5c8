#!/usr/bin/env python3
"""An independent REML reference for the LUPEX plan's MMRM (`fss_mmrm`):
`fss ~ fss_w0 + sex + arm * visit + fss_w0 * visit`, unstructured
covariance over week6 and followup, on the long data the report builds
from the generated trial (crates/report/tests/fixtures/lupex_fss_long.csv,
written by crates/report/tests/repeated.rs with RCT_WRITE_FIXTURES=1).

Uses tools/stats/mmrm_reference.py's textbook REML (dense, scipy
optimisation, Satterthwaite df from the numerical Hessian of -2 log L_R),
with this data's columns and two visits. LS means as SAS: sex levels
weighted equally, fss_w0 at its mean over the rows used; the differences
hiit - control at each visit. Writes
crates/report/tests/fixtures/lupex_fss_mmrm.json.

    /tmp/stats-venv/bin/python tools/stats/lupex_mmrm_reference.py
"""

import json
import math
import pathlib
import sys

import numpy as np
import pandas as pd
import patsy
import scipy
from scipy import optimize

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import mmrm_reference as mr  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIX = ROOT / "crates" / "report" / "tests" / "fixtures"
VISITS = ["week6", "followup"]
FORMULA = ("fss ~ fss_w0 + C(sex, Treatment('female')) + C(arm, Treatment('control')) * "
           "C(visit, Treatment('week6')) + fss_w0 * C(visit, Treatment('week6'))")


class Lupex(mr.Model):
    def __init__(self, df):
        d = df.dropna(subset=["fss", "fss_w0"]).reset_index(drop=True)
        y, X = patsy.dmatrices(FORMULA, d, return_type="dataframe")
        self.names = list(X.columns)
        self.design_info = X.design_info
        self.X = X.to_numpy()
        self.y = y.to_numpy().ravel()
        self.n, self.p = self.X.shape
        self.vis = d["visit"].map({v: i for i, v in enumerate(VISITS)}).to_numpy()
        self.groups = [np.where(d["participant"].to_numpy() == s)[0] for s in pd.unique(d["participant"])]
        self.structure = "us"
        self.m = 2
        self.data = d

    def n_theta(self):
        return 3

    def fit(self):
        z0 = np.array([math.log(0.7), 0.0, math.log(0.7)])
        res = optimize.minimize(lambda z: self.f(self.from_free(z)), z0, method="BFGS",
                                options={"gtol": 1e-10, "maxiter": 5000})
        th = self.from_free(res.x)
        res2 = optimize.minimize(self.f, th, method="Nelder-Mead",
                                 options={"xatol": 1e-12, "fatol": 1e-13, "maxiter": 200000, "maxfev": 400000})
        if res2.fun <= res.fun:
            th = res2.x
        for _ in range(8):
            g = self.grad(th)
            H = mr.jacobian(self.grad, th)
            step = np.linalg.solve(H, g)
            cand = th - step
            if self.f(cand) <= self.f(th):
                th = cand
            if np.max(np.abs(step)) < 1e-13:
                break
        self.theta = th
        self.fmin, self.beta, self.C = self.parts(th)
        self.A = 2 * np.linalg.inv(mr.jacobian(self.grad, th))
        return self


def main():
    df = pd.read_csv(FIX / "lupex_fss_long.csv")
    m = Lupex(df).fit()
    mean_w0 = m.data["fss_w0"].mean()
    diffs = {}
    for vis in VISITS:
        rows = {}
        for arm in ["control", "hiit"]:
            g = pd.DataFrame([{"fss": 0.0, "fss_w0": mean_w0, "sex": s, "arm": arm, "visit": vis}
                              for s in ["female", "male"]])
            X = np.asarray(patsy.build_design_matrices([m.design_info], g)[0])
            rows[arm] = X.mean(axis=0)
        diffs[vis] = mr.contrast(m, rows["hiit"] - rows["control"])
    out = {"generator": "tools/stats/lupex_mmrm_reference.py", "numpy": np.__version__,
           "scipy": scipy.__version__, "patsy": patsy.__version__, "nobs": int(m.n),
           "subjects": len(m.groups), "neg2_reml": float(m.fmin), "theta": [float(t) for t in m.theta],
           "differences": diffs}
    (FIX / "lupex_fss_mmrm.json").write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
