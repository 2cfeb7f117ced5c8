#!/usr/bin/env python3
"""Reference numbers for crates/stats/src/nonparam.rs.

p-values: scipy.stats.mannwhitneyu (method 'exact' for tie-free data with a
sample of at most 8 values, else 'asymptotic' with use_continuity=True).
Hodges-Lehmann: the closed definitions, computed independently here:
estimate = median of all x_i - y_j; interval [D(k), D(N+1-k)] where k is the
smallest u with P(U <= u) >= alpha/2, the null distribution of U enumerated by
brute force over all placements (itertools.combinations), or for the normal
approximation k = ceil(n1 n2/2 - z sigma - 1/2) with the tie-corrected sigma.

Writes crates/stats/tests/fixtures/np_reference.json.
Run: python3 tools/stats/nonparam_reference.py
"""
import itertools
import json
import math
import os

import numpy as np
from scipy import stats

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "crates", "stats",
                   "tests", "fixtures", "np_reference.json")


def exact_null(n1, n2):
    n = n1 + n2
    counts = {}
    total = 0
    for pos in itertools.combinations(range(n), n1):
        # positions of x in the pooled order; U = pairs x > y
        u = sum(p - i for i, p in enumerate(pos))
        counts[u] = counts.get(u, 0) + 1
        total += 1
    return [counts.get(u, 0) / total for u in range(n1 * n2 + 1)]


def hl(x, y, exact, conf=0.95):
    d = np.sort(np.subtract.outer(np.asarray(x), np.asarray(y)).ravel())
    nd = len(d)
    est = float(np.median(d))
    a2 = (1 - conf) / 2
    n1, n2 = len(x), len(y)
    if exact:
        cum = 0.0
        k = None
        for u, p in enumerate(exact_null(n1, n2)):
            cum += p
            if cum >= a2 * (1 - 1e-12):
                k = u
                break
        k = max(k, 1)
    else:
        pooled = np.concatenate([x, y])
        _, t = np.unique(pooled, return_counts=True)
        n = n1 + n2
        tie = float((t ** 3 - t).sum())
        sigma = math.sqrt(n1 * n2 / 12 * ((n + 1) - tie / (n * (n - 1))))
        z = stats.norm.ppf(1 - a2)
        k = max(1, math.ceil(n1 * n2 / 2 - z * sigma - 0.5))
    k = min(k, (nd + 1) // 2)
    return est, float(d[k - 1]), float(d[nd - k]), k


def case(name, x, y):
    x = [float(v) for v in x]
    y = [float(v) for v in y]
    pooled = np.concatenate([x, y])
    ties = len(np.unique(pooled)) < len(pooled)
    exact = (not ties) and (len(x) <= 8 or len(y) <= 8)
    method = "exact" if exact else "asymptotic"
    out = {"name": name, "x": x, "y": y, "method": method, "ties": bool(ties)}
    for alt in ["two-sided", "less", "greater"]:
        r = stats.mannwhitneyu(x, y, alternative=alt, method=method, use_continuity=True)
        out["p_" + alt.replace("-", "_")] = float(r.pvalue)
        out["u"] = float(r.statistic)
    est, lo, hi, k = hl(x, y, exact)
    out.update({"hl": est, "ci_low": lo, "ci_high": hi, "k": k})
    return out


def main():
    rng = np.random.default_rng(20260601)
    cases = []
    # small, no ties: exact
    cases.append(case("small_exact_5_6", np.round(rng.normal(10, 2, 5), 6), np.round(rng.normal(12, 2, 6), 6)))
    cases.append(case("small_exact_8_12", np.round(rng.normal(0, 1, 8), 6), np.round(rng.normal(0.8, 1, 12), 6)))
    cases.append(case("small_exact_3_4_separated", [1.0, 2.0, 3.0], [4.5, 5.5, 6.5, 7.5]))
    # ties: asymptotic
    cases.append(case("ties_likert_10_11", rng.integers(1, 8, 10), rng.integers(2, 8, 11)))
    # larger, continuous: asymptotic
    cases.append(case("large_30_27", np.round(rng.normal(40, 6, 30), 6), np.round(rng.normal(36, 6, 27), 6)))
    cases.append(case("large_ties_25_25", np.round(rng.normal(5, 1.5, 25), 0), np.round(rng.normal(4.4, 1.5, 25), 0)))
    with open(OUT, "w") as f:
        json.dump({"generator": "tools/stats/nonparam_reference.py",
                   "scipy": stats.__name__ and __import__("scipy").__version__,
                   "cases": cases}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
