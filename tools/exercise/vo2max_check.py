#!/usr/bin/env python3
"""Independent check of `rct cpet vo2max` on the real CPET files.

Reads the xlsx files with openpyxl (pip install openpyxl) and computes, from
the definitions in crates/exercise/src/cpet.rs's module docs (written from
DOMAIN.md, not from the Rust code):
  rolling: for each breath i with t_i - w >= t_first, the plain mean of VO2 of
           breaths with t in (t_i - w, t_i]; the highest (first on ties), at t_i;
  block:   bins [k w, (k+1) w) from time 0, bins ending <= last breath time and
           non-empty; the highest mean, at the bin end;
  peak RER: the same window average applied to RER (column R, or VCO2/VO2);
  HRmax: highest HR (0 = missing).
VO2 in l/min is converted to ml/min. Output: JSON on stdout, committed as
crates/exercise/tests/fixtures/vo2max_check.json.

usage: python3 tools/exercise/vo2max_check.py ../shared/data/cpet > crates/exercise/tests/fixtures/vo2max_check.json
"""
import json
import sys
from pathlib import Path

import openpyxl

W = 30.0


def clock(s):
    if isinstance(s, (int, float)):
        return float(s)
    total = 0.0
    for part in str(s).replace(",", ".").split(":"):
        total = total * 60 + float(part)
    return total


def number(v):
    if v is None or v in ("", "-"):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    return float(str(v).replace(",", "."))


def load(path):
    rows = list(openpyxl.load_workbook(path, read_only=True, data_only=True).active.iter_rows(values_only=True))
    for h, row in enumerate(rows):
        names = [str(c).strip() if c is not None else "" for c in row]
        if "t" in names and ("VO2" in names or "V'O2 (STPD)" in names):
            break
    else:
        raise SystemExit(f"{path}: no header")
    units = rows[h + 1]
    col = {n: i for i, n in enumerate(names) if n}
    vo2c = col.get("VO2", col.get("V'O2 (STPD)"))
    vco2c = col.get("VCO2", col.get("V'CO2"))
    hrc = col.get("HR", col.get("HF"))
    rc = col.get("R")
    scale = 1000.0 if str(units[vo2c]).lower().startswith("l/") else 1.0
    out = []
    for row in rows[h + 2:]:
        if row[col["t"]] in (None, ""):
            if out:
                break
            continue
        vo2 = number(row[vo2c]) * scale
        vco2 = number(row[vco2c])
        rer = number(row[rc]) if rc is not None else (vco2 * scale / vo2 if vco2 is not None and vo2 > 0 else None)
        hr = number(row[hrc]) if hrc is not None else None
        if hr is not None and not (0 < hr < 255):
            hr = None
        out.append((clock(row[col["t"]]), vo2, rer, hr))
    return out


def rolling(pts):
    first = pts[0][0]
    best = None
    for i, (t, _) in enumerate(pts):
        if t - W < first:
            continue
        win = [v for (s, v) in pts[: i + 1] if s > t - W]
        m = sum(win) / len(win)
        if best is None or m > best[0]:
            best = (m, t)
    return best


def block(pts):
    last = pts[-1][0]
    bins = {}
    for t, v in pts:
        k = int(t // W)
        if (k + 1) * W <= last:
            bins.setdefault(k, []).append(v)
    best = None
    for k in sorted(bins):
        m = sum(bins[k]) / len(bins[k])
        if best is None or m > best[0]:
            best = (m, (k + 1) * W)
    return best


def main():
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/cpet")
    result = {}
    for name in ["example_cosmed.xlsx", "step_cortex.xlsx"]:
        b = load(root / name)
        vo2 = [(t, v) for (t, v, _, _) in b]
        rer = [(t, r) for (t, _, r, _) in b if r is not None]
        hrs = [h for (_, _, _, h) in b if h is not None]
        entry = {"breaths": len(b), "hrmax": max(hrs) if hrs else None}
        for method, f in [("rolling", rolling), ("block", block)]:
            v, at = f(vo2)
            entry[method] = {"vo2max_ml_min": v, "at_seconds": at, "peak_rer": f(rer)[0] if rer else None}
        result[name] = entry
    json.dump(result, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
