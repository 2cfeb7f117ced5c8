#!/usr/bin/env python3
"""An independent REML reference for rct-stats' MMRM, on mmrm's fev_data.

Written from the textbook definitions, not from the Rust code: the design
matrix by patsy (treatment coding, SAS's reference levels), V =
blockdiag(Sigma_i) with Sigma_i the rows/columns of the visits subject i
has, and

    -2 log L_R(theta) = log|V| + r' V^-1 r + log|X' V^-1 X| + (n - p) log(2 pi)

maximised over theta with scipy (BFGS on an unconstrained parametrisation:
log-Cholesky for UN, log variance and atanh-type correlation for CS and
AR(1), then Nelder-Mead, then Newton steps with numerical derivatives). The reported covariance parameters
are converted back to SAS's (UN(i,j); CS and Residual; AR(1) and Residual).
Satterthwaite df: the gradient of -2 log L_R as the textbook
tr(P V_k) - y'P V_k P y with dense n x n matrices, its Jacobian (the Hessian)
by Richardson-extrapolated central differences, and dC/dtheta_k = C X'V^-1
V_k V^-1 X C dense (the Rust code works subject by subject and has an
analytic Hessian). Type III tests and LS means use the same grid
convention as SAS (equal weights over the levels of other factors).

Writes crates/stats/tests/fixtures/mmrm_reference.json. Run:

    /tmp/stats-venv/bin/python tools/stats/mmrm_reference.py [path/to/fev_data.csv]
"""

import itertools
import json
import math
import pathlib
import sys

import numpy as np
import pandas as pd
import patsy
import scipy
from scipy import optimize, stats

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "crates" / "stats" / "tests" / "fixtures" / "mmrm_reference.json"
VISITS = ["VIS1", "VIS2", "VIS3", "VIS4"]


def load(path):
    df = pd.read_csv(path)
    return df


class Model:
    def __init__(self, df, formula, structure):
        d = df.dropna(subset=["FEV1"]).reset_index(drop=True)
        y, X = patsy.dmatrices(formula, d, return_type="dataframe")
        self.names = list(X.columns)
        self.design_info = X.design_info
        self.X = X.to_numpy()
        self.y = y.to_numpy().ravel()
        self.n, self.p = self.X.shape
        self.vis = d["AVISIT"].map({v: i for i, v in enumerate(VISITS)}).to_numpy()
        self.groups = [np.where(d["USUBJID"].to_numpy() == s)[0] for s in pd.unique(d["USUBJID"])]
        self.structure = structure
        self.m = 4
        self.data = d

    # --- SAS parameters -> Sigma
    def sigma(self, th):
        m = self.m
        if self.structure == "us":
            S = np.zeros((m, m))
            k = 0
            for i in range(m):
                for j in range(i + 1):
                    S[i, j] = S[j, i] = th[k]
                    k += 1
            return S
        if self.structure == "cs":
            return th[1] * np.eye(m) + th[0] * np.ones((m, m))
        if self.structure == "ar1":
            idx = np.arange(m)
            return th[1] * th[0] ** np.abs(idx[:, None] - idx[None, :])
        raise ValueError

    def n_theta(self):
        return {"us": 10, "cs": 2, "ar1": 2}[self.structure]

    def from_free(self, z):
        """unconstrained -> SAS parameters"""
        if self.structure == "us":
            L = np.zeros((self.m, self.m))
            k = 0
            for i in range(self.m):
                for j in range(i + 1):
                    L[i, j] = math.exp(z[k]) if i == j else z[k]
                    k += 1
            S = L @ L.T
            return np.array([S[i, j] for i in range(self.m) for j in range(i + 1)])
        if self.structure == "cs":
            s2 = math.exp(z[1])
            # correlation in (-1/(m-1), 1)
            lo = -1.0 / (self.m - 1)
            rho = lo + (1 - lo) / (1 + math.exp(-z[0]))
            return np.array([rho * s2, (1 - rho) * s2])
        rho = math.tanh(z[0])
        return np.array([rho, math.exp(z[1])])

    def parts(self, th):
        S = self.sigma(th)
        XtVX = np.zeros((self.p, self.p))
        XtVy = np.zeros(self.p)
        logdet = 0.0
        invs = []
        for g in self.groups:
            Si = S[np.ix_(self.vis[g], self.vis[g])]
            sign, ld = np.linalg.slogdet(Si)
            if sign <= 0:
                return None
            Vi = np.linalg.inv(Si)
            invs.append(Vi)
            logdet += ld
            XtVX += self.X[g].T @ Vi @ self.X[g]
            XtVy += self.X[g].T @ Vi @ self.y[g]
        C = np.linalg.inv(XtVX)
        beta = C @ XtVy
        quad = 0.0
        for g, Vi in zip(self.groups, invs):
            r = self.y[g] - self.X[g] @ beta
            quad += r @ Vi @ r
        sign, ldx = np.linalg.slogdet(XtVX)
        f = logdet + quad + ldx + (self.n - self.p) * math.log(2 * math.pi)
        return f, beta, C

    def f(self, th):
        r = self.parts(th)
        return np.inf if r is None else r[0]

    def fit(self):
        z0 = np.zeros(self.n_theta())
        if self.structure == "us":
            res = optimize.minimize(lambda z: self.f(self.from_free(z)), np.log(np.full(10, 1.0)) * 0 +
                                    np.array([math.log(6) if i == j else 0.0 for i in range(4) for j in range(i + 1)]),
                                    method="BFGS", options={"gtol": 1e-9, "maxiter": 5000})
        else:
            z0[1] = math.log(80.0)
            res = optimize.minimize(lambda z: self.f(self.from_free(z)), z0, method="BFGS",
                                    options={"gtol": 1e-9, "maxiter": 5000})
        th = self.from_free(res.x)
        # polish directly in SAS's parameters
        res2 = optimize.minimize(self.f, th, method="Nelder-Mead",
                                 options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 200000, "maxfev": 400000})
        if res2.fun <= res.fun:
            th = res2.x
        # Newton polish with the gradient and its numerical Jacobian.
        for _ in range(5):
            g = self.grad(th)
            H = jacobian(self.grad, th)
            step = np.linalg.solve(H, g)
            cand = th - step
            if self.f(cand) <= self.f(th):
                th = cand
            if np.max(np.abs(step)) < 1e-12:
                break
        self.theta = th
        self.fmin, self.beta, self.C = self.parts(th)
        self.A = 2 * np.linalg.inv(jacobian(self.grad, th))
        return self

    # --- dense n x n forms, for the gradient
    def dense_v(self, S):
        V = np.zeros((self.n, self.n))
        for g in self.groups:
            V[np.ix_(g, g)] = S[np.ix_(self.vis[g], self.vis[g])]
        return V

    def dsigma(self, th, k):
        """d Sigma / d theta_k by a central difference (exact for the linear
        structures; Richardson for AR(1))."""
        h = 1e-3

        def d(t):
            e = np.zeros(len(th)); e[k] = t * h
            return (self.sigma(th + e) - self.sigma(th - e)) / (2 * t * h)
        return richardson_m(d, 1.0)

    def grad(self, th):
        """g_k = tr(P V_k) - y' P V_k P y with dense P."""
        V = self.dense_v(self.sigma(th))
        Vi = np.linalg.inv(V)
        X = self.X
        C = np.linalg.inv(X.T @ Vi @ X)
        P = Vi - Vi @ X @ C @ X.T @ Vi
        Py = P @ self.y
        g = np.zeros(len(th))
        for k in range(len(th)):
            Vk = self.dense_v(self.dsigma(th, k))
            g[k] = np.trace(P @ Vk) - Py @ Vk @ Py
        return g

    def dC(self, th, k):
        """dC/dtheta_k = C X' V^-1 V_k V^-1 X C (dense)."""
        V = self.dense_v(self.sigma(th))
        Vi = np.linalg.inv(V)
        X = self.X
        C = np.linalg.inv(X.T @ Vi @ X)
        Vk = self.dense_v(self.dsigma(th, k))
        return C @ X.T @ Vi @ Vk @ Vi @ X @ C


def richardson(fun, h0):
    """Richardson extrapolation of a central difference D(h) (order h^2)."""
    hs = [h0 / 2 ** k for k in range(4)]
    T = [[fun(h)] for h in hs]
    for k in range(1, 4):
        for i in range(k, 4):
            T[i].append(T[i][k - 1] + (T[i][k - 1] - T[i - 1][k - 1]) / (4 ** k - 1))
    return T[3][3]


def richardson_m(fun, h0):
    hs = [h0 / 2 ** k for k in range(3)]
    T = [[fun(h)] for h in hs]
    for k in range(1, 3):
        for i in range(k, 3):
            T[i].append(T[i][k - 1] + (T[i][k - 1] - T[i - 1][k - 1]) / (4 ** k - 1))
    return T[2][2]


def jacobian(g, x):
    """Symmetrised Jacobian of the gradient by Richardson central differences."""
    n = len(x)
    J = np.zeros((n, n))
    for i in range(n):
        h = 1e-2 * max(1.0, abs(x[i]))
        if abs(x[i]) < 1:
            h = 1e-3

        def d(t):
            e = np.zeros(n); e[i] = t * h
            return (g(x + e) - g(x - e)) / (2 * t * h)
        J[:, i] = richardson_m(d, 1.0)
    return (J + J.T) / 2


def gradient(f, x):
    n = len(x)
    g = np.zeros(n)
    for i in range(n):
        h = 1e-2 * max(1.0, abs(x[i])) if abs(x[i]) >= 1 else 1e-2

        def d(t):
            e = np.zeros(n); e[i] = t * h
            return (f(x + e) - f(x - e)) / (2 * t * h)
        g[i] = richardson(d, 1.0)
    return g


def hessian(f, x):
    n = len(x)
    H = np.zeros((n, n))
    for i in range(n):
        for j in range(i, n):
            hi = 1e-2 * max(1.0, abs(x[i]))
            if abs(x[i]) < 1:
                hi = 1e-2
            hj = 1e-2 * max(1.0, abs(x[j])) if abs(x[j]) >= 1 else 1e-2

            def d(t):
                e_i = np.zeros(n); e_i[i] = t * hi
                e_j = np.zeros(n); e_j[j] = t * hj
                return (f(x + e_i + e_j) - f(x + e_i - e_j) - f(x - e_i + e_j) + f(x - e_i - e_j)) / (4 * t * t * hi * hj)
            H[i, j] = H[j, i] = richardson(d, 1.0)
    return H


def contrast(model, l):
    l = np.asarray(l, dtype=float)
    est = l @ model.beta
    var = l @ model.C @ l
    th = model.theta
    if not hasattr(model, "_dC"):
        model._dC = [model.dC(th, k) for k in range(len(th))]
    g = np.array([l @ dc @ l for dc in model._dC])
    df = 2 * var ** 2 / (g @ model.A @ g)
    return {"estimate": float(est), "std_error": float(math.sqrt(var)), "df": float(df)}


def grid_rows(model, factors, fixed):
    """Design rows of every combination of `factors` levels, other columns fixed."""
    names = [f for f, _ in factors]
    rows = []
    for combo in itertools.product(*[lv for _, lv in factors]):
        row = dict(fixed)
        row.update(dict(zip(names, combo)))
        row["FEV1"] = 0.0
        rows.append(row)
    g = pd.DataFrame(rows)
    X = np.asarray(patsy.build_design_matrices([model.design_info], g)[0])
    return g, X


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else str(ROOT.parent / "shared" / "data" / "wild" / "analysis" / "fev_data.csv")
    df = load(path)
    out = {"generator": "tools/stats/mmrm_reference.py", "numpy": np.__version__, "scipy": scipy.__version__,
           "patsy": patsy.__version__, "models": []}
    specs = [
        ("us_full", "FEV1 ~ C(RACE, Treatment('Asian')) + C(SEX, Treatment('Male')) + C(ARMCD, Treatment('PBO')) * C(AVISIT, Treatment('VIS1'))", "us"),
        ("cs_intercept", "FEV1 ~ 1", "cs"),
        ("ar1_intercept", "FEV1 ~ 1", "ar1"),
        ("ar1_arm_sex", "FEV1 ~ C(ARMCD, Treatment('PBO')) + C(SEX, Treatment('Male'))", "ar1"),
    ]
    for name, formula, structure in specs:
        m = Model(df, formula, structure).fit()
        res = {"name": name, "structure": structure, "neg2_reml": m.fmin, "theta": list(m.theta),
               "coefficients": []}
        for j in range(m.p):
            l = np.zeros(m.p); l[j] = 1
            c = contrast(m, l)
            res["coefficients"].append(c)
        if name == "us_full":
            # LS means by visit and arm: equal weights over RACE and SEX levels.
            factors = [("RACE", ["Asian", "Black or African American", "White"]), ("SEX", ["Female", "Male"])]
            ls = {}
            for arm in ["PBO", "TRT"]:
                for vis in VISITS:
                    g, X = grid_rows(m, factors, {"ARMCD": arm, "AVISIT": vis})
                    ls[f"{vis} {arm}"] = X.mean(axis=0)
            res["lsmeans"] = {k: contrast(m, v) for k, v in ls.items()}
            res["differences"] = {v: contrast(m, ls[f"{v} TRT"] - ls[f"{v} PBO"]) for v in VISITS}
        out["models"].append(res)
        print(name, m.fmin, m.theta)
    OUT.write_text(json.dumps(out, indent=1) + "\n")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
