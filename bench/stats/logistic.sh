#!/usr/bin/env bash
# A logistic regression of 240 participants (the IL-2-like fixture,
# `responder ~ arm + sledai_w0 + site`) in statsmodels and in rct, side by
# side in one run, with the ratio: one fit from formula to table (smf.logit
# vs design + fit_glm), and refits of the same design with new responses
# (sm.Logit(y, X).fit() vs GlmWorkspace::refit, the design prepared once
# and timed with the refits); then the MMRM of mmrm's fev_data in
# milliseconds. CPU time of each process (statsmodels: time.process_time;
# rct: the thread's schedstat), so other load distorts less.
#
#   python3 -m venv /tmp/stats-venv && /tmp/stats-venv/bin/pip install statsmodels pandas
#   PYTHON=/tmp/stats-venv/bin/python bench/stats/logistic.sh
# REFITS (default 10000) refits in rct; statsmodels times REFITS/10 and scales.
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-python3}
export REFITS=${REFITS:-10000}
# One thread for numpy's BLAS, as rct: process_time would add the idle spinning
# of BLAS threads on a busy machine.
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
export RCT_SHARED_DATA=${RCT_SHARED_DATA:-$(pwd)/../shared/data}

echo "== building (release)" >&2
RCT_OUT=$(cargo bench -q -p rct-stats --bench glm_timing 2>/dev/null)
PY_OUT=$(ONLY=logistic "$PYTHON" bench/stats/statsmodels_peer.py)

"$PYTHON" - "$RCT_OUT" "$PY_OUT" <<'PY'
import json, sys
rct = [json.loads(l) for l in sys.argv[1].splitlines() if l.startswith("{")]
sm = {r["model"]: r for r in (json.loads(l) for l in sys.argv[2].splitlines() if l.startswith("{"))}
for r in rct:
    if r.get("model") == "logistic":
        s = sm["logistic"]
        print(f"logistic regression, {r['nobs']} participants "
              f"({r['iterations_per_fit']} IRLS iterations per fit, {r['refit_iterations']:.2f} per refit)")
        print(f"{'':<16} {'statsmodels':>14} {'rct':>12} {'ratio':>8}")
        print(f"{'one fit':<16} {s['per_fit_s']*1e6:>11.1f} us {r['per_fit_s']*1e6:>9.1f} us "
              f"{s['per_fit_s']/r['per_fit_s']:>7.0f}x")
        print(f"{str(r['refits'])+' refits':<16} {s['refits_s']:>12.3f} s {r['refits_s']:>10.3f} s "
              f"{s['refits_s']/r['refits_s']:>7.0f}x")
    if "mmrm_fev" in r:
        print(f"MMRM of fev_data ({r['nobs']} observations; unstructured, REML, Satterthwaite, "
              f"type III and LS means): {r['per_fit_s']*1e3:.1f} ms per fit")
PY
