#!/usr/bin/env python3
"""Reference numbers for rct-report's safety analysis (crates/report/src/safety/).

Generates an IL-2-like trial with a seeded numpy Generator (four arms:
placebo and three doses, 100 participants randomised in blocks of four,
three never dosed, two given a kit of another arm, adverse events coded
with the invented terms of crates/core/tests/data/test_dictionary.csv) and
writes it as two CSV files into crates/report/tests/fixtures/:

- safety_il2_participants.csv: id, arm_randomised, arm_treated (empty when
  never dosed), doses, exposure_days;
- safety_il2_events.csv: id, soc, pt, grade, serious, discontinued,
  onset_day (study day, day 1 = first day of exposure).

Then computes every figure of the safety tables here, independently of the
Rust code, for both safety-set rules ("dosed": at least one dose, by the arm
given; "randomised": everyone randomised, by the arm randomised), into
crates/report/tests/fixtures/safety_il2_reference.json:

- counts: participants and events per arm for any AE, serious, grade >= 3,
  leading to discontinuation, each system organ class and each (SOC, PT)
  (pandas group-bys);
- exposure-adjusted incidence: participants with the event per 100
  person-years at risk (time to the first such event, capped at the
  exposure, for those with one; the whole exposure for the others; 365.25
  days a year), Garwood's exact interval from scipy.stats.chi2.ppf
  (lower chi2(0.025; 2x)/2, upper chi2(0.975; 2x+2)/2);
- risk differences of each dose against placebo with
  statsmodels.stats.proportion.confint_proportions_2indep(method="newcomb",
  compare="diff"). statsmodels' "newcomb" is Newcombe's method 10 (the
  hybrid score interval: Wilson intervals of each proportion combined as
  d - sqrt((p1-l1)^2 + (u2-p2)^2), d + sqrt((u1-p1)^2 + (p2-l2)^2)); this
  script checks that by computing the closed form from
  statsmodels.stats.proportion.proportion_confint(method="wilson") for every
  comparison (agreement to 1e-12 is asserted) and against Newcombe's
  published example (Stat Med 1998;17:873, Table II: 56/70 vs 48/80 gives
  0.0524 to 0.3339);
- Fisher's exact test (two-sided) of the pre-specified outcome (infections:
  SOC "Infections and infestations"), each dose against placebo:
  scipy.stats.fisher_exact;
- edge cases of the three formulas (no events, all events).

Run (CI does not run Python; the outputs are committed):

    python3 -m venv /tmp/stats-venv
    /tmp/stats-venv/bin/pip install statsmodels scipy "pandas<2.3"
    /tmp/stats-venv/bin/python tools/stats/safety_reference.py
"""

import csv
import json
import pathlib

import numpy as np
import pandas as pd
import scipy
import scipy.stats as st
import statsmodels
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIX = ROOT / "crates" / "report" / "tests" / "fixtures"
DICTIONARY = ROOT / "crates" / "core" / "tests" / "data" / "test_dictionary.csv"
ARMS = ["placebo", "il2_0_2", "il2_0_5", "il2_1_0"]
CONTROL = "placebo"
DAYS_PER_YEAR = 365.25
INFECTIONS = "Infections and infestations"
SEED = 20261203


def read_terms():
    """(pt, soc) pairs of the test dictionary, in file order, unique."""
    with open(DICTIONARY, newline="") as f:
        rows = list(csv.reader(f))
    out = []
    for r in rows[2:]:
        pair = (r[3], r[5])
        if pair not in out:
            out.append(pair)
    return out


def generate():
    rng = np.random.default_rng(SEED)
    terms = read_terms()
    n = 100
    arms = []
    for _ in range(n // 4):
        block = list(ARMS)
        rng.shuffle(block)
        arms.extend(block)
    ids = [f"P{k + 1:03d}" for k in range(n)]
    undosed = {"P017", "P058", "P093"}
    wrong_kit = {"P024": "il2_1_0", "P071": "placebo"}
    # Event rate per 24 weeks by arm; infections and injection-site terms
    # more frequent with dose, injection-site terms never on placebo.
    lam = {"placebo": 1.0, "il2_0_2": 1.4, "il2_0_5": 1.8, "il2_1_0": 2.4}
    people, events = [], []
    for pid, arm in zip(ids, arms):
        if pid in undosed:
            treated, doses = "", 0
            exposure = int(rng.integers(0, 29))
        else:
            treated = wrong_kit.get(pid, arm)
            dropout = rng.random() < 0.12
            exposure = int(rng.integers(14, 168)) if dropout else 168
            doses = int(min(4, 1 + exposure // 28))
        people.append((pid, arm, treated, doses, exposure))
        given = treated or arm
        k = int(rng.poisson(lam[given] * max(exposure, 14) / 168))
        if given == "il2_1_0" and doses > 0:
            k = max(k, 1)  # every dosed participant of the top dose has one
        level = ARMS.index(given)
        weights = []
        for pt, soc in terms:
            w = 1.0
            if soc == INFECTIONS:
                w = 1.0 + 0.5 * level
            if pt.startswith("Injection site"):
                w = 0.0 if given == "placebo" else 1.5 * level
            weights.append(w)
        weights = np.array(weights) / np.sum(weights)
        for _ in range(k):
            pt, soc = terms[int(rng.choice(len(terms), p=weights))]
            u = rng.random()
            grade = 1 if u < 0.55 else 2 if u < 0.85 else 3 if u < 0.97 else 4
            serious = grade == 4 or (grade == 3 and rng.random() < 0.5)
            discontinued = grade >= 3 and rng.random() < 0.3
            onset = int(rng.integers(1, max(exposure, 1) + 29))
            events.append((pid, soc, pt, grade, serious, discontinued, onset))
    # One fatal event (CTCAE grade 5) on the top dose.
    events.append(("P003", "Infections and infestations", "Pneumonia", 5, True, True, 97))
    return people, events


def write_fixtures(people, events):
    with open(FIX / "safety_il2_participants.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["id", "arm_randomised", "arm_treated", "doses", "exposure_days"])
        w.writerows(people)
    with open(FIX / "safety_il2_events.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["id", "soc", "pt", "grade", "serious", "discontinued", "onset_day"])
        for e in events:
            w.writerow([e[0], e[1], e[2], e[3], str(e[4]).lower(), str(e[5]).lower(), e[6]])


def garwood(x):
    low = 0.0 if x == 0 else st.chi2.ppf(0.025, 2 * x) / 2
    high = st.chi2.ppf(0.975, 2 * x + 2) / 2
    return float(low), float(high)


def newcombe(x1, n1, x2, n2):
    sm = confint_proportions_2indep(x1, n1, x2, n2, method="newcomb", compare="diff")
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = proportion_confint(x1, n1, alpha=0.05, method="wilson")
    l2, u2 = proportion_confint(x2, n2, alpha=0.05, method="wilson")
    d = p1 - p2
    closed = (d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2))
    assert abs(sm[0] - closed[0]) < 1e-12 and abs(sm[1] - closed[1]) < 1e-12, (sm, closed)
    return float(d), float(sm[0]), float(sm[1])


def fisher(a, b, c, d):
    res = st.fisher_exact([[a, b], [c, d]], alternative="two-sided")
    odds = float(res[0])
    return float(res[1]), (odds if np.isfinite(odds) else None)


def analyse(people, events, rule):
    p = pd.DataFrame(people, columns=["id", "arm_randomised", "arm_treated", "doses", "exposure_days"])
    if rule == "dosed":
        p = p[p["doses"] >= 1].copy()
        p["arm"] = p["arm_treated"]
    else:
        p["arm"] = p["arm_randomised"]
    e = pd.DataFrame(events, columns=["id", "soc", "pt", "grade", "serious", "discontinued", "onset_day"])
    e = e[e["id"].isin(p["id"])].merge(p[["id", "arm", "exposure_days"]], on="id")
    arms = {}
    for a in ARMS:
        pa = p[p["arm"] == a]
        arms[a] = {
            "n": int(len(pa)),
            "person_years": float(pa["exposure_days"].sum() / DAYS_PER_YEAR),
            "treated_other_than_randomised": int((pa["arm_randomised"] != a).sum()) if rule == "dosed" else 0,
        }

    def row(mask):
        sel = e[mask]
        first = sel.groupby("id")["onset_day"].min()
        out = {"arms": {}, "differences": {}}
        for a in ARMS:
            pa = p[p["arm"] == a]
            sa = sel[sel["arm"] == a]
            with_event = first[first.index.isin(pa["id"])]
            x = int(len(with_event))
            at_risk = 0.0
            for pid, exp in zip(pa["id"], pa["exposure_days"]):
                at_risk += min(float(with_event[pid]), exp) if pid in with_event.index else exp
            py = at_risk / DAYS_PER_YEAR
            cell = {"participants": x, "events": int(len(sa)), "percent": None, "rate": None}
            if len(pa) > 0:
                cell["percent"] = x / len(pa) * 100
            if py > 0:
                lo, hi = garwood(x)
                cell["rate"] = {
                    "per_100_py": x / py * 100,
                    "ci_low": lo / py * 100,
                    "ci_high": hi / py * 100,
                    "person_years_at_risk": py,
                }
            out["arms"][a] = cell
        xc, nc = out["arms"][CONTROL]["participants"], arms[CONTROL]["n"]
        for a in ARMS[1:]:
            d, lo, hi = newcombe(out["arms"][a]["participants"], arms[a]["n"], xc, nc)
            out["differences"][a] = {"difference": d, "ci_low": lo, "ci_high": hi}
        return out

    rows = {
        "any": row(e["id"].notna()),
        "serious": row(e["serious"]),
        "grade_3_or_more": row(e["grade"] >= 3),
        "discontinuation": row(e["discontinued"]),
    }
    for soc in sorted(e["soc"].unique()):
        rows[soc] = row(e["soc"] == soc)
        for pt in sorted(e.loc[e["soc"] == soc, "pt"].unique()):
            rows[f"{soc} / {pt}"] = row((e["soc"] == soc) & (e["pt"] == pt))
    infections = row(e["soc"] == INFECTIONS)
    tests = {}
    xc, nc = infections["arms"][CONTROL]["participants"], arms[CONTROL]["n"]
    for a in ARMS[1:]:
        xa, na = infections["arms"][a]["participants"], arms[a]["n"]
        pval, odds = fisher(xa, na - xa, xc, nc - xc)
        tests[a] = {"p": pval, "odds_ratio": odds}
    return {"arms": arms, "rows": rows, "prespecified": {"infections": {"row": infections, "tests": tests}}}


def edge_cases():
    out = []
    for x1, n1, x2, n2 in [(0, 25, 0, 25), (25, 25, 0, 25), (25, 25, 25, 25), (0, 1, 1, 1), (3, 7, 0, 12)]:
        d, lo, hi = newcombe(x1, n1, x2, n2)
        pval, odds = fisher(x1, n1 - x1, x2, n2 - x2)
        out.append({"x1": x1, "n1": n1, "x2": x2, "n2": n2, "difference": d, "ci_low": lo, "ci_high": hi, "fisher_p": pval, "odds_ratio": odds})
    garwoods = [{"events": x, "low": garwood(x)[0], "high": garwood(x)[1]} for x in [0, 1, 2, 5, 25, 100]]
    return {"newcombe_fisher": out, "garwood": garwoods}


def main():
    # Newcombe's published example, method 10 (Table II, example (a)).
    d, lo, hi = newcombe(56, 70, 48, 80)
    assert round(lo, 4) == 0.0524 and round(hi, 4) == 0.3339, (lo, hi)
    people, events = generate()
    write_fixtures(people, events)
    ref = {
        "generated_by": "tools/stats/safety_reference.py",
        "seed": SEED,
        "versions": {"numpy": np.__version__, "pandas": pd.__version__, "scipy": scipy.__version__, "statsmodels": statsmodels.__version__},
        "days_per_year": DAYS_PER_YEAR,
        "control": CONTROL,
        "analyses": {rule: analyse(people, events, rule) for rule in ["dosed", "randomised"]},
        "edge_cases": edge_cases(),
    }
    with open(FIX / "safety_il2_reference.json", "w") as f:
        json.dump(ref, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"{len(people)} participants, {len(events)} adverse events")


if __name__ == "__main__":
    main()
