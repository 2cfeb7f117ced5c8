#!/usr/bin/env python3
"""Reference numbers for Rubin's rules in crates/stats/src/mi.rs.

An independent numpy implementation of Rubin's rules (Rubin 1987) with the
Barnard-Rubin (1999) degrees of freedom, as in van Buuren, Flexible
Imputation of Missing Data (2nd ed.), section 2.3 and R mice::pool:
  Qbar = mean(q); Ubar = mean(u); B = var(q, ddof=1); T = Ubar + (1+1/m) B
  r = (1+1/m) B / Ubar; lambda = (1+1/m) B / T; nu_old = (m-1)/lambda^2
  nu_obs = (nu_com+1)/(nu_com+3) nu_com (1-lambda); nu = nu_old nu_obs/(nu_old+nu_obs)
  fmi = (r + 2/(nu+3)) / (1+r); t = Qbar/sqrt(T); p and 95 % CI from t(nu) (scipy).
Writes crates/stats/tests/fixtures/mi_rubin.json.
Run: python3 tools/stats/mi_reference.py
"""
import json
import os

import numpy as np
from scipy import stats

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "crates", "stats",
                   "tests", "fixtures", "mi_rubin.json")


def rubin(q, u, nu_com):
    q = np.asarray(q, float)
    u = np.asarray(u, float)
    m = len(q)
    qbar = q.mean()
    ubar = u.mean()
    b = q.var(ddof=1)
    t = ubar + (1 + 1 / m) * b
    r = (1 + 1 / m) * b / ubar
    lam = (1 + 1 / m) * b / t
    nu_obs = (nu_com + 1) / (nu_com + 3) * nu_com * (1 - lam)
    nu_old = (m - 1) / lam ** 2
    nu = nu_old * nu_obs / (nu_old + nu_obs)
    se = np.sqrt(t)
    tt = qbar / se
    crit = stats.t.ppf(0.975, nu)
    return dict(estimate=qbar, within=ubar, between=b, total=t, std_error=se,
                riv=r, lambda_=lam, fmi=(r + 2 / (nu + 3)) / (1 + r), df=nu,
                t=tt, p=2 * stats.t.sf(abs(tt), nu), ci_low=qbar - crit * se,
                ci_high=qbar + crit * se)


def main():
    rng = np.random.default_rng(99)
    cases = []
    for m, nu_com in [(2, 5.0), (3, 20.0), (5, 54.0), (20, 120.0), (50, 8.0)]:
        q = rng.normal(1.5, 0.3, m)
        u = rng.uniform(0.02, 0.2, m)
        out = {k: float(v) for k, v in rubin(q, u, nu_com).items()}
        out.update(q=q.tolist(), u=u.tolist(), nu_com=nu_com)
        cases.append(out)
    with open(OUT, "w") as f:
        json.dump({"generator": "tools/stats/mi_reference.py", "cases": cases}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()


def d1(qs, us):
    """D1 (Li, Raghunathan & Rubin 1991; van Buuren FIMD 2nd ed. 5.3.1)."""
    qs = np.asarray(qs, float)
    us = np.asarray(us, float)
    m, k = qs.shape
    qbar = qs.mean(0)
    ubar = us.mean(0)
    b = np.cov(qs.T, ddof=1).reshape(k, k)
    uinv = np.linalg.inv(ubar)
    r = (1 + 1 / m) * np.trace(b @ uinv) / k
    stat = qbar @ uinv @ qbar / (k * (1 + r))
    t = k * (m - 1)
    if t > 4:
        v = 4 + (t - 4) * (1 + (1 - 2 / t) / r) ** 2
    else:
        v = t * (1 + 1 / k) * (1 + 1 / r) ** 2 / 2
    return dict(d1=float(stat), riv=float(r), df_den=float(v), p=float(stats.f.sf(stat, k, v)))


def main_d1():
    rng = np.random.default_rng(7)
    cases = []
    for m, k in [(5, 3), (2, 2), (20, 3), (3, 1)]:
        qs = rng.normal(0.4, 0.15, (m, k))
        a = rng.normal(0, 0.2, (k, k))
        base = a @ a.T + np.eye(k) * 0.05
        us = np.array([base * rng.uniform(0.9, 1.1) for _ in range(m)])
        out = d1(qs, us)
        out.update(q=qs.tolist(), u=[u.ravel().tolist() for u in us], m=m, k=k)
        cases.append(out)
    path = os.path.join(os.path.dirname(__file__), "..", "..", "crates", "stats",
                        "tests", "fixtures", "mi_d1.json")
    with open(path, "w") as f:
        json.dump({"generator": "tools/stats/mi_reference.py", "cases": cases}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main_d1()
