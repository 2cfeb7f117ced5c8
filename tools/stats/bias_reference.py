#!/usr/bin/env python3
"""Exact expected type-I error of the t-test under chronological and
selection bias, by enumerating every allocation sequence, written from
randomizeR's definitions (Uschner et al. 2018, J Stat Softw 85(8); the
package's `chronBias`, `selBias`, `doublyT` documentation):

- linear trend (linT): f(i) = theta * (i - 1) / (N - 1)
- logarithmic trend (logT): f(i) = theta * log(i) / log(N)
- step trend (stepT, saltus c): f(i) = theta for c <= i <= N, else 0
- selection bias, convergence strategy (selBias "CS"): +eta when arm A is
  behind before patient i (N_A < N_B), -eta when B is behind, 0 when balanced

For each sequence, sigma = 1:
  delta  = sqrt(nA nB / N) * (mean_A f - mean_B f)
  lambda = within-group sum of squares of f
  P(reject) = doublyT(-c) + 1 - doublyT(c), c = t_{N-2, 1 - alpha/2},
  doublyT(x) = sum_j dpois(j, lambda / 2) * pt(x sqrt(1 + 2j/df), df + 2j, delta)
(randomizeR's doublyT). A sequence with an empty arm counts 0.
The expected type-I error is the sum over the 2^N sequences of the
sequence's probability under the design (each design's probability written
out below, independently of the Rust code) times its rejection probability.

Run (CI does not run Python; the output is committed):

    python3 -m venv /tmp/stats-venv
    /tmp/stats-venv/bin/pip install scipy numpy
    /tmp/stats-venv/bin/python tools/stats/bias_reference.py

Writes crates/random/tests/fixtures/bias_exact.json.
"""

import itertools
import json
import math
import pathlib

import numpy as np
import scipy
import scipy.stats as st

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "crates" / "random" / "tests" / "fixtures" / "bias_exact.json"


def prob_sequence(design, seq):
    """Probability of a 0/1 sequence (1 = arm A) under a 1:1 design."""
    n = len(seq)
    kind, _, arg = design.partition(":")
    if kind == "cr":
        return 0.5 ** n
    if kind == "rar":
        return 1.0 / math.comb(n, n // 2) if sum(seq) == n // 2 else 0.0
    if kind == "pbr":
        b = int(arg)
        p = 1.0
        for start in range(0, n, b):
            block = seq[start:start + b]
            m = len(block)
            # a random permutation of b/2 A and b/2 B, possibly cut short:
            # P(prefix) = (#permutations with this prefix) / C(b, b/2)
            a = sum(block)
            if a > b // 2 or m - a > b // 2:
                return 0.0
            p *= math.comb(b - m, b // 2 - a) / math.comb(b, b // 2)
        return p
    if kind in ("bsd", "ebc"):
        p = 1.0
        d = 0
        for x in seq:
            if kind == "bsd":
                mti = int(arg)
                pa = 0.0 if d >= mti else 1.0 if d <= -mti else 0.5
            else:
                q = float(arg)
                pa = 0.5 if d == 0 else (q if d < 0 else 1 - q)
            p *= pa if x == 1 else 1 - pa
            if p == 0.0:
                return 0.0
            d += 1 if x == 1 else -1
        return p
    raise ValueError(design)


def trend_shift(trend, i, n, theta):
    if trend == "linear":
        return theta * (i - 1) / (n - 1)
    if trend == "log":
        return theta * math.log(i) / math.log(n)
    if trend.startswith("step:"):
        c = int(trend.split(":")[1])
        return theta if c <= i <= n else 0.0
    raise ValueError(trend)


def selection_shift(seq, eta):
    out = []
    na = nb = 0
    for x in seq:
        out.append(eta if na < nb else (-eta if na > nb else 0.0))
        if x == 1:
            na += 1
        else:
            nb += 1
    return out


def doubly_t_cdf(x, df, delta, lam):
    mu = lam / 2.0
    if mu < 1e-300:
        j = np.array([0.0])
        w = np.array([1.0])
    else:
        hi = int(mu + 12 * math.sqrt(mu) + 40)
        j = np.arange(0, hi + 1, dtype=float)
        w = st.poisson.pmf(j, mu)
    xs = x * np.sqrt(1 + 2 * j / df)
    dfs = df + 2 * j
    if delta == 0.0:
        cdf = st.t.cdf(xs, dfs)
    else:
        cdf = st.nct.cdf(xs, dfs, delta)
    return float(np.sum(w * cdf))


def rejection(seq, f, alpha):
    n = len(seq)
    a = [fi for s, fi in zip(seq, f) if s == 1]
    b = [fi for s, fi in zip(seq, f) if s == 0]
    if not a or not b:
        return 0.0
    ma, mb = sum(a) / len(a), sum(b) / len(b)
    delta = math.sqrt(len(a) * len(b) / n) * (ma - mb)
    lam = sum((x - ma) ** 2 for x in a) + sum((x - mb) ** 2 for x in b)
    df = n - 2
    c = st.t.ppf(1 - alpha / 2, df)
    return doubly_t_cdf(-c, df, delta, lam) + 1.0 - doubly_t_cdf(c, df, delta, lam)


def expected(design, n, alpha, theta=None, trend="linear", eta=None):
    chron = [trend_shift(trend, i, n, theta) for i in range(1, n + 1)] if theta is not None else None
    tot_c = tot_s = mass = 0.0
    for seq in itertools.product((1, 0), repeat=n):
        p = prob_sequence(design, seq)
        if p == 0.0:
            continue
        mass += p
        if chron is not None:
            tot_c += p * rejection(seq, chron, alpha)
        if eta is not None:
            tot_s += p * rejection(seq, selection_shift(seq, eta), alpha)
    assert abs(mass - 1.0) < 1e-12, (design, mass)
    return (tot_c if chron is not None else None, tot_s if eta is not None else None)


def main():
    cases = []
    n = 12
    designs = ["pbr:2", "pbr:4", "pbr:6", "rar", "cr", "bsd:3", "ebc:0.667"]
    for design in designs:
        for trend, theta in [("linear", 1.0), ("log", 1.0), ("step:7", 1.0), ("linear", 2.5)]:
            chron, sel = expected(design, n, 0.05, theta=theta, trend=trend,
                                  eta=0.5 if (trend == "linear" and theta == 1.0) else None)
            cases.append({
                "design": design, "n": n, "alpha": 0.05, "trend": trend, "theta": theta,
                "eta": 0.5 if sel is not None else None,
                "chronological": chron, "selection": sel,
            })
            print(design, trend, theta, chron, sel)
    OUT.write_text(json.dumps({
        "generator": "tools/stats/bias_reference.py",
        "scipy": scipy.__version__,
        "numpy": np.__version__,
        "cases": cases,
    }, indent=1) + "\n")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
