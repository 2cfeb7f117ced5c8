#!/usr/bin/env bash
# statsmodels vs rct on the same OLS and logistic fits, side by side, with the
# ratio; the MMRM of fev_data; and a 10,000-trial LUPEX power simulation
# (library and CLI; the CLI tests the arm's term, named with --test, as it
# does by default).
#
# Needs a Python with statsmodels and pandas:
#   python3 -m venv /tmp/stats-venv && /tmp/stats-venv/bin/pip install statsmodels pandas
#   PYTHON=/tmp/stats-venv/bin/python bench/stats/compare.sh
# REFITS (default 10000) sets the number of refits and of simulated trials.
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-python3}
export REFITS=${REFITS:-10000}

echo "== building (release)" >&2
RCT_OUT=$(cargo bench -q -p rct-stats --bench ols_timing 2>/dev/null; cargo bench -q -p rct-stats --bench glm_timing 2>/dev/null)
PY_OUT=$("$PYTHON" bench/stats/statsmodels_peer.py)

"$PYTHON" - "$RCT_OUT" "$PY_OUT" <<'PY'
import json, sys
rct = [json.loads(l) for l in sys.argv[1].splitlines() if l.startswith("{")]
sm = [json.loads(l) for l in sys.argv[2].splitlines() if l.startswith("{")]
by = {r["model"]: r for r in sm}
print(f"{'model':<12} {'what':<16} {'statsmodels':>14} {'rct':>14} {'ratio':>9}")
for r in rct:
    if "model" not in r:
        continue
    s = by[r["model"]]
    print(f"{r['model']:<12} {'one fit':<16} {s['per_fit_s']*1e6:>11.1f} us {r['per_fit_s']*1e6:>11.2f} us "
          f"{s['per_fit_s']/r['per_fit_s']:>8.0f}x")
    print(f"{r['model']:<12} {str(r['refits'])+' refits':<16} {s['refits_s']:>12.3f} s {r['refits_s']:>12.4f} s "
          f"{s['refits_s']/r['refits_s']:>8.0f}x")
for r in rct:
    if "mmrm_fev" in r:
        print(f"MMRM of mmrm's fev_data ({r['nobs']} observations, unstructured, REML, Satterthwaite, "
              f"type III and LS means): {r['per_fit_s']*1e3:.1f} ms per fit (statsmodels has no MMRM "
              f"with unstructured covariance)")
for r in rct:
    if "power_run" in r:
        print(f"power (library): {r['sims']} simulated LUPEX trials of {r['n']} "
              f"(ANCOVA, 1:1 by sex) in {r['seconds']:.3f} s; power {r['power']:.4f} "
              f"(MC SE {r['mc_se']:.4f})")
PY

BIN=${CARGO_TARGET_DIR:-target}/release/rct
if [ -x "$BIN" ] || cargo build --release -q -j 1 -p rct 2>/dev/null; then
  echo "power (CLI, protocol's rpbr:2,4 stratified by sex):"
  CMD=("$BIN" simulate power --protocol protocols/lupex.toml
       --model 'vo2max_w12 ~ arm + vo2max_w0 + sex' --n 60 --test arm
       --effect Intercept=3 --effect 'arm[T.hiit]=3' --effect vo2max_w0=0.9
       --effect 'sex[T.male]=2' --covariate vo2max_w0=27,5
       --levels sex=female:4,male:1 --sd 3.5 --sims "$REFITS" --seed 7)
  echo "  ${CMD[*]}"
  /usr/bin/time -f "  %e s elapsed, %M KB max RSS" "${CMD[@]}"
fi
