#!/usr/bin/env python3
"""Independent reading of every file in $RCT_SHARED_DATA/wild (issue 23).

Prints, as JSON, the figures rct must read from each file: subjects and
values (ODM), forms and fields (REDCap dictionaries), arms, criteria and
outcomes (ClinicalTrials.gov), records and heart-rate samples (FIT), breaths
and VO2 peak (CPET), probes, lanes, binding density and positive-control R^2
(NanoString RCC), rows and observations (fev_data). crates/cli/tests/wild.rs
asserts these figures; its fixture tests/fixtures/wild_reference.json is this
script's output:

    python3 tools/wild/wild_reference.py > crates/cli/tests/fixtures/wild_reference.json

Requires Python 3.9+ with the PyPI packages fitparse (1.2) and openpyxl (3.1);
everything else is the standard library. Nothing here shares code with rct:
the FIT decoding is fitparse's, the xlsx reading openpyxl's, the XML
ElementTree's, the rules written from the formats' documentation.
"""

import csv
import glob
import io
import json
import math
import os
import re
import sys
import xml.etree.ElementTree as ET

ROOT = os.environ.get("RCT_SHARED_DATA", os.path.join(os.path.dirname(__file__), "../../../shared/data"))
WILD = os.path.join(ROOT, "wild")


def rel(p):
    return os.path.relpath(p, WILD)


# ---------------------------------------------------------------- REDCap
def redcap(path):
    raw = open(path, "rb").read().decode("utf-8-sig")
    if "\r" in raw and "\n" not in raw:
        raw = raw.replace("\r", "\n")
    rows = list(csv.reader(io.StringIO(raw)))
    head = [re.sub(r"[^a-z0-9]", "", h.lower()) for h in rows[0]]
    api = head[0] == "fieldname"
    col = {k: i for i, k in enumerate(head)}
    ftype = col["fieldtype"]
    form = col["formname"]
    choices = [i for i, h in enumerate(head) if h.startswith("choicescalc") or h.startswith("selectchoices")][0]
    names = [r[0] for r in rows[1:] if any(c.strip() for c in r)]
    data = [r for r in rows[1:] if any(c.strip() for c in r)]
    if len(set(names)) != len(names):
        dup = [n for n in names if names.count(n) > 1][0]
        return {"refused": "variable defined twice", "variable": dup}
    fields = 0
    for r in data:
        t = r[ftype].strip().lower()
        if t == "descriptive":
            continue
        if t == "checkbox":
            fields += len([c for c in r[choices].split("|") if c.strip()])
        else:
            fields += 1
    return {
        "rows": len(data),
        "forms": len({r[form].strip() for r in data}),
        "fields": fields,
        "api_format": api,
    }


# ---------------------------------------------------------------- ODM
def local(tag):
    return tag.rsplit("}", 1)[-1]


def odm(path):
    root = ET.parse(path).getroot()
    study = [c for c in root if local(c.tag) == "Study"]
    items = set()
    for e in root.iter():
        if local(e.tag) == "ItemDef":
            items.add(e.get("OID"))
    subjects = values = repeating = binary = unknown = 0
    forms = set()
    audit = False
    for sd in root.iter():
        if local(sd.tag) != "SubjectData":
            continue
        subjects += 1
        # (visit container, its forms)
        containers = [fd for fd in sd if local(fd.tag) == "FormData"]
        groups = [[se, [f for f in se if local(f.tag) == "FormData"]] for se in sd if local(se.tag) == "StudyEventData"]
        if containers:
            groups.append([sd, containers])
        for _, fds in groups:
            oids = [f.get("FormOID") for f in fds]
            for fd in fds:
                frep = oids.count(fd.get("FormOID")) > 1 or fd.get("FormRepeatKey", "1") != "1"
                igs = [g for g in fd if local(g.tag) == "ItemGroupData"]
                goids = [g.get("ItemGroupOID") for g in igs]
                for ig in igs:
                    grep_ = goids.count(ig.get("ItemGroupOID")) > 1 or ig.get("ItemGroupRepeatKey", "1") != "1"
                    for it in ig:
                        name = local(it.tag)
                        if name == "AuditRecord":
                            audit = True
                        if not name.startswith("ItemData"):
                            continue
                        if name != "ItemData":
                            binary += 1
                        elif frep or grep_:
                            repeating += 1
                        elif it.get("ItemOID") not in items:
                            unknown += 1
                        else:
                            values += 1
                            forms.add(fd.get("FormOID"))
    for e in root.iter():
        if local(e.tag) == "AuditRecord":
            audit = True
    out = {
        "has_study": bool(study),
        "subjects": subjects,
        "values": values,
        "forms_with_values": len(forms),
        "skipped_repeating": repeating,
        "skipped_binary": binary,
        "skipped_unknown_item": unknown,
        "audit_records": audit,
    }
    return out


# ---------------------------------------------------------------- CT.gov
HEAD = re.compile(
    r"^(?:\d+[.)]\s*)?(?:(?:key|main)\s+)?(inclusion|exclusion|eligibility)(?:\s+criteria)?(?:\s+for\s+.*)?$",
    re.I,
)


def ctgov(path):
    d = json.load(open(path, encoding="utf-8"))
    if "FullStudiesResponse" in d:
        return {"refused": "API v1"}
    if "studies" in d:
        d = d["studies"][0]
    p = d["protocolSection"]
    arms = len(p.get("armsInterventionsModule", {}).get("armGroups", []))
    om = p.get("outcomesModule", {})
    outcomes = sum(len([o for o in om.get(k, []) if o.get("measure")]) for k in ("primaryOutcomes", "secondaryOutcomes", "otherOutcomes"))
    el = p.get("eligibilityModule", {})
    inc = exc = 0
    # Age and sex become inclusion criteria of their own.
    inc += sum(1 for k in ("minimumAge", "maximumAge") if el.get(k))
    if el.get("sex") in ("FEMALE", "MALE"):
        inc += 1
    side = "inclusion"
    for line in (el.get("eligibilityCriteria") or "").splitlines():
        s = line.strip()
        if not s:
            continue
        bare = s.replace("**", "").strip().rstrip(":").strip().lstrip("#").strip()
        m = HEAD.match(bare)
        if m:
            side = "exclusion" if m.group(1).lower() == "exclusion" else "inclusion"
            continue
        if s.lower().startswith("the information listed above is not intended"):
            continue
        bullet = re.match(r"^([*\-•]|\d+[.)]\s)", s)
        if bullet and not s[bullet.end():].strip():
            continue  # an empty bullet ("-") is no criterion
        if not bullet and s.endswith(":"):
            continue  # a sub-heading ("For parent participants:")
        if side == "inclusion":
            inc += 1
        else:
            exc += 1
    return {"arms": max(arms, 2), "inclusion": inc, "exclusion": exc, "outcomes": outcomes}


# ---------------------------------------------------------------- FIT
def fit(path):
    import fitparse

    records = hr = 0
    ts = []
    error = None
    try:
        for m in fitparse.FitFile(path, check_crc=True).get_messages("record"):
            t = m.get_value("timestamp")
            if t is None:
                continue
            records += 1
            ts.append(t)
            h = m.get_value("heart_rate")
            if h is not None and 0 < h < 255:
                hr += 1
    except Exception as e:  # a damaged part: what came before it is kept
        error = type(e).__name__
    out = {"records": records, "hr_samples": hr}
    if ts:
        out["span_s"] = int((max(ts) - min(ts)).total_seconds())
    if error:
        out["error"] = error
    return out


# ---------------------------------------------------------------- CPET
def rolling_peak(pts, w=30.0):
    """Highest mean over (t - w, t] with t - w >= first time."""
    first = pts[0][0]
    best = None
    for i, (t, _) in enumerate(pts):
        if t - w < first:
            continue
        win = [v for (u, v) in pts[: i + 1] if u > t - w]
        m = sum(win) / len(win)
        if best is None or m > best[0]:
            best = (m, t, len(win))
    return best


def secs(v):
    if hasattr(v, "hour"):
        return round((v.hour * 3600 + v.minute * 60 + v.second + v.microsecond / 1e6) * 1000) / 1000
    if isinstance(v, (int, float)):
        return float(v)
    parts = [float(x) for x in str(v).replace(",", ".").split(":")]
    s = 0.0
    for x in parts:
        s = s * 60 + x
    return s


def cpet(path):
    name = os.path.basename(path)
    if name.endswith(".xlsx"):
        import openpyxl

        ws = openpyxl.load_workbook(path, read_only=True, data_only=True).worksheets[0]
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
    elif name.endswith(".xml"):
        ns = "{urn:schemas-microsoft-com:office:spreadsheet}"
        rows = []
        for r in ET.parse(path).getroot().iter(ns + "Row"):
            row = []
            for c in r.findall(ns + "Cell"):
                if c.get(ns + "Index"):
                    while len(row) < int(c.get(ns + "Index")) - 1:
                        row.append(None)
                d = c.find(ns + "Data")
                row.append(d.text if d is not None else None)
            rows.append(row)
    elif open(path, "rb").read(64).lstrip().startswith(b"[person]"):
        return {"refused": "ZAN .dat"}
    else:
        rows = [r for r in csv.reader(open(path, encoding="latin-1"), delimiter="\t")]
    norm = lambda s: re.sub(r"[\s'._]", "", str(s or "").split("(")[0]).lower()
    for hi, r in enumerate(rows):
        n = [norm(c) for c in r]
        tcol = next((i for i, x in enumerate(n) if x in ("t", "time", "tid", "zeit")), None)
        if tcol is not None and "vo2" in n:
            vcol = n.index("vo2")
            break
    units = rows[hi + 1]
    scale = 1000.0 if str(units[vcol] or "").lower().startswith("l/") else 1.0
    pts = []
    for r in rows[hi + 2 :]:
        if tcol >= len(r) or r[tcol] in (None, ""):
            if pts:
                break
            continue
        v = r[vcol]
        v = float(str(v).replace(",", ".")) if not isinstance(v, (int, float)) else float(v)
        pts.append((secs(r[tcol]), v * scale))
    peak, at, rows_in = rolling_peak(pts)
    return {"breaths": len(pts), "vo2peak_rolling30": peak, "at_s": at, "rows_in_peak_window": rows_in}


# ---------------------------------------------------------------- RCC
STANDARD = {"POS_A": 128, "POS_B": 32, "POS_C": 8, "POS_D": 2, "POS_E": 0.5, "POS_F": 0.125}


def rcc(path):
    text = open(path, encoding="utf-8-sig", errors="replace").read()
    sec = lambda n: re.search(r"<%s>(.*?)</%s>" % (n, n), text, re.S).group(1)
    lane = dict(l.split(",", 1) for l in sec("Lane_Attributes").strip().splitlines() if "," in l)
    code = list(csv.reader(io.StringIO(sec("Code_Summary").strip())))
    probes = [r for r in code[1:] if len(r) >= 4]
    x, y = [], []
    for cls, name, _acc, count in (r[:4] for r in probes):
        if cls != "Positive" or not re.match(r"POS_[A-E]", name):
            continue
        m = re.search(r"\(([\d.]+)\)", name)
        c = float(m.group(1)) if m else STANDARD.get(name.strip())
        if c:
            x.append(math.log2(c))
            y.append(math.log2(max(float(count), 1.0)))
    r2 = None
    if len(x) >= 3:
        mx, my = sum(x) / len(x), sum(y) / len(y)
        sxy = sum((a - mx) * (b - my) for a, b in zip(x, y))
        sxx = sum((a - mx) ** 2 for a in x)
        syy = sum((b - my) ** 2 for b in y)
        r2 = sxy * sxy / (sxx * syy)
    return {"probes": len(probes), "binding_density": float(lane.get("BindingDensity", "nan")), "pos_r2": r2}


def rlf(path):
    n = sum(1 for l in open(path, encoding="latin-1") if re.match(r"Record\d+=", l))
    return {"records": n}


# ---------------------------------------------------------------- analysis
def fev(path):
    rows = list(csv.DictReader(open(path)))
    obs = [r for r in rows if r["FEV1"] not in ("", "NA")]
    return {
        "rows": len(rows),
        "observations": len(obs),
        "subjects": len({r["USUBJID"] for r in rows}),
        "subjects_with_observations": len({r["USUBJID"] for r in obs}),
    }


def main():
    out = {}
    for p in sorted(glob.glob(os.path.join(WILD, "**", "*"), recursive=True)):
        if os.path.isdir(p) or p.endswith("SOURCES.md"):
            continue
        r = rel(p)
        kind = r.split(os.sep)[0]
        fn = {
            "redcap": redcap,
            "odm": odm,
            "ctgov": ctgov,
            "fit": fit,
            "cpet": cpet,
            "analysis": fev,
        }.get(kind)
        if kind == "nanostring":
            fn = rlf if p.lower().endswith(".rlf") else rcc
        out[r] = fn(p)
    # The chained FIT file whose second part is damaged (shared/data/fit).
    extra = os.path.join(ROOT, "fit", "activity-settings-corruptheader.fit")
    if os.path.exists(extra):
        out["../fit/activity-settings-corruptheader.fit"] = fit(extra)
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    print()


if __name__ == "__main__":
    main()
