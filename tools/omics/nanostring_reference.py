#!/usr/bin/env python3
"""Independent reference for rct-omics: QC figures and normalised counts of the
shared NanoString files, computed with numpy from the written spec
(../shared/DOMAIN.md, "NanoString nCounter RCC files"), not from the Rust code.

Spec as implemented here:
  * FOV ratio = FovCounted / FovCount; binding density as written.
  * R^2: least-squares line of log2(count) on log2(concentration) over POS_A-E
    (1 - SS_res / SS_tot via numpy.polyfit). PlexSet lanes: not assessed.
  * LOD limit = mean(NEG) + 2 SD(NEG), SD with ddof=1.
  * Normalisation per sample: background threshold T = mean(NEG) + 2 SD(NEG)
    (counts below T raised to T); positive factor = mean(lane geomeans of
    POS_A-E) / geomean (PlexSet row n: its POS_n); housekeeping factor =
    mean(geomeans of housekeeping after the previous steps) / geomean.
    Counts are floored at 1 inside geometric means and logs.
  * PlexSet: each lane is split into rows 1..8 (classes Endogenous<n>s); a row's
    sample id is <file stem>_<n>; the lane's NEG_1..8 together give T.
  * Housekeeping signal (QC): geometric mean of the raw housekeeping counts.
  * Background variants: "threshold" (above, full matrix), "subtract"
    (max(count - T, 0); factors for both folders, matrix for skmel) and "none"
    (no background step; factors only).
  * RLF files: read with configparser (keys kept as written); record count,
    columns, classes (ClassKeyN -> ClassNameN) and, per record, its index,
    class name and GeneName.

Usage: python3 tools/omics/nanostring_reference.py ../shared/data/nanostring \
          > crates/omics/tests/fixtures/nanostring_reference.json
"""
import configparser
import json
import os
import re
import sys

import numpy as np


def read_rcc(path):
    sections = {}
    current = None
    with open(path, newline="") as f:
        for raw in f.read().splitlines():
            line = raw.strip()
            m = re.fullmatch(r"<(/?)([A-Za-z_]+)>", line)
            if m:
                current = None if m.group(1) else m.group(2)
                if current:
                    sections[current] = []
                continue
            if current and line:
                sections[current].append(line)
    lane = dict(l.split(",", 1) for l in sections["Lane_Attributes"])
    rows = [l.split(",") for l in sections["Code_Summary"][1:]]
    probes = [(r[0], ",".join(r[1:-2]), int(r[-1])) for r in rows]
    return lane, probes


def geomean(values):
    v = np.maximum(np.asarray(values, dtype=float), 1.0)
    return float(np.exp(np.mean(np.log(v))))


def conc(name):
    m = re.search(r"\(([0-9.]+)\)$", name)
    return float(m.group(1)) if m else None


def folder(path, background="threshold", matrix=True):
    files = sorted(f for f in os.listdir(path) if f.upper().endswith(".RCC"))
    lanes = {}
    samples = []  # (id, genes{(kind,name): count}, positive list, negative list)
    for fname in files:
        lane, probes = read_rcc(os.path.join(path, fname))
        stem = fname.rsplit(".", 1)[0]
        neg = np.array([c for k, n, c in probes if k == "Negative"], dtype=float)
        pos_ae = [(n, c) for k, n, c in probes
                  if k == "Positive" and re.match(r"POS_[A-E]", n) and conc(n)]
        plexrows = sorted({int(m.group(1)) for k, _, _ in probes
                           for m in [re.fullmatch(r"Endogenous(\d+)s", k)] if m})
        fov = int(lane["FovCounted"]) / int(lane["FovCount"])
        hk_raw = [c for k, n, c in probes
                  if k == "Housekeeping" or re.fullmatch(r"Housekeeping\d+s", k)]
        pos_e = [c for k, n, c in probes if k == "Positive" and n.startswith("POS_E")]
        entry = {
            "fov_count": int(lane["FovCount"]),
            "fov_counted": int(lane["FovCounted"]),
            "fov_ratio": fov,
            "binding_density": float(lane["BindingDensity"]),
            "neg_mean": float(neg.mean()),
            "neg_sd": float(neg.std(ddof=1)),
            "lod_limit": float(neg.mean() + 2 * neg.std(ddof=1)),
            "pos_e": float(pos_e[0]) if pos_e else None,
            "hk_geomean": geomean(hk_raw) if hk_raw else None,
            "pos_r2": None,
        }
        if len(pos_ae) >= 3:
            x = np.log2([conc(n) for n, _ in pos_ae])
            y = np.log2(np.maximum([c for _, c in pos_ae], 1.0))
            slope, icept = np.polyfit(x, y, 1)
            resid = y - (slope * x + icept)
            entry["pos_r2"] = float(1 - np.sum(resid ** 2) / np.sum((y - y.mean()) ** 2))
        lanes[fname] = entry
        if not plexrows:
            genes = {(k, n): c for k, n, c in probes if k in ("Endogenous", "Housekeeping")}
            samples.append((stem, genes, [c for _, c in pos_ae], neg))
        else:
            for r in plexrows:
                genes = {("Endogenous", n): c for k, n, c in probes if k == f"Endogenous{r}s"}
                genes.update({("Housekeeping", n): c for k, n, c in probes if k == f"Housekeeping{r}s"})
                pos = [c for k, n, c in probes if k == "Positive" and n == f"POS_{r}"]
                samples.append((f"{stem}_{r}", genes, pos, neg))

    keys = list(samples[0][1].keys())
    raw = np.array([[s[1][k] for k in keys] for s in samples], dtype=float)  # sample x gene
    bg = np.array([s[3].mean() + 2 * s[3].std(ddof=1) for s in samples])
    if background == "threshold":
        x = np.maximum(raw, bg[:, None])
    elif background == "subtract":
        x = np.maximum(raw - bg[:, None], 0.0)
    else:
        bg = np.zeros(len(samples))
        x = raw.copy()
    pg = np.array([geomean(s[2]) for s in samples])
    pf = pg.mean() / pg
    x = x * pf[:, None]
    hk_cols = [i for i, k in enumerate(keys) if k[0] == "Housekeeping"]
    hf = [None] * len(samples)
    hgl = [None] * len(samples)
    if hk_cols:
        hg = np.array([geomean(row[hk_cols]) for row in x])
        hf = hg.mean() / hg
        x = x * hf[:, None]
        hf = [float(v) for v in hf]
        hgl = [float(v) for v in hg]
    out_samples = {}
    for i, s in enumerate(samples):
        out_samples[s[0]] = {
            "background": float(bg[i]),
            "pos_factor": float(pf[i]),
            "pos_geomean": float(pg[i]),
            "hk_factor": hf[i],
            "hk_geomean": hgl[i],
        }
        if matrix:
            out_samples[s[0]]["normalised"] = {
                f"{k[0]}/{k[1]}": float(x[i, j]) for j, k in enumerate(keys)}
    return {"lanes": lanes, "samples": out_samples}


def read_rlf(path):
    cp = configparser.ConfigParser(interpolation=None, comment_prefixes=(";", "#"),
                                   strict=True)
    cp.optionxform = str  # keep key case
    with open(path, newline="") as f:
        cp.read_string(f.read())
    head, content = cp["Header"], cp["Content"]
    classes = {int(head[f"ClassKey{i}"]): head[f"ClassName{i}"]
               for i in range(int(head["ClassCount"]))}
    columns = content["Columns"].split(",")
    records = []
    for key, value in content.items():
        m = re.fullmatch(r"Record(\d+)", key)
        if not m:
            continue
        fields = dict(zip(columns, value.split(",")))
        records.append([int(m.group(1)), classes[int(fields["Classification"])],
                        fields["GeneName"]])
    assert len(records) == int(content["RecordCount"])
    return {
        "record_count": len(records),
        "columns": columns,
        "classes": [[k, v] for k, v in classes.items()],
        "records": records,
    }


def main():
    root = sys.argv[1]
    folders = {}
    for d in sorted(os.listdir(root)):
        path = os.path.join(root, d)
        if not os.path.isdir(path) or not any(f.upper().endswith(".RCC") for f in os.listdir(path)):
            continue
        entry = folder(path)
        entry["variants"] = {
            "subtract": folder(path, "subtract", matrix=(d == "skmel"))["samples"],
            "none": folder(path, "none", matrix=False)["samples"],
        }
        folders[d] = entry
    rlf = {}
    for dirpath, _, files in sorted(os.walk(root)):
        for f in sorted(files):
            if f.lower().endswith(".rlf"):
                rel = os.path.relpath(os.path.join(dirpath, f), root)
                rlf[rel] = read_rlf(os.path.join(dirpath, f))
    out = {
        "generator": "tools/omics/nanostring_reference.py (numpy %s)" % np.__version__,
        "folders": folders,
        "rlf": rlf,
    }
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
