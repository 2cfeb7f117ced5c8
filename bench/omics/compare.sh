#!/usr/bin/env bash
# Read + QC + normalise 1,000 RCC files: rct (release) against two Python
# peers, side by side in the same run, on the same files:
#   * ncountr (PyPI, "Python pipeline for Nanostring nCounter data analysis"):
#     read_rcc + qc + normalize(method="pos_hk_bg");
#   * tools/omics/nanostring_reference.py (numpy), the independent reference
#     the Rust tests are checked against, doing QC figures and the threshold
#     normalisation; its matrix is compared with rct's (1e-9 relative).
# The 1,000 files are copies of the shared skmel RCC files made in a temp dir
# at run time (never committed). Wall-clock times of whole processes, best of
# $REPEAT runs; the Python figures are also given without interpreter start-up
# and imports.
#
# Usage: bench/omics/compare.sh [N_FILES]   (env: RCT_SHARED_DATA, PYTHON, REPEAT)
set -euo pipefail

N=${1:-1000}
REPEAT=${REPEAT:-3}
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
DATA=${RCT_SHARED_DATA:-$REPO/../shared/data}
SRC=$DATA/nanostring/skmel
[ -d "$SRC" ] || { echo "no $SRC (set RCT_SHARED_DATA)" >&2; exit 1; }

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

echo "== building rct (release)"
(cd "$REPO" && cargo build --release -j 1 -q -p rct)
TARGET=${CARGO_TARGET_DIR:-$REPO/target}
RCT=$TARGET/release/rct
"$RCT" --version

echo "== copying $N RCC files into $TMP/rcc"
mkdir -p "$TMP/rcc"
mapfile -t ORIG < <(ls "$SRC"/*.RCC | sort)
for ((i = 0; i < N; i++)); do
  f=${ORIG[$((i % ${#ORIG[@]}))]}
  cp "$f" "$TMP/rcc/$(printf 'c%04d' "$i")_$(basename "$f")"
done
du -sh "$TMP/rcc" | cut -f1 | sed 's/^/   size: /'

# Python with ncountr: this interpreter if it has it, else a venv in $TMP.
PY=${PYTHON:-python3}
if ! "$PY" -c 'import ncountr' 2>/dev/null; then
  echo "== installing ncountr from PyPI into a temporary venv"
  python3 -m venv --system-site-packages "$TMP/venv"
  "$TMP/venv/bin/pip" install -q ncountr
  PY=$TMP/venv/bin/python
fi
"$PY" -c 'import ncountr, numpy; print("   ncountr", ncountr.__version__, "numpy", numpy.__version__)'

now() { date +%s.%N; }
best() { # best wall time of REPEAT runs of "$@"
  local b=""
  for ((r = 0; r < REPEAT; r++)); do
    local t0 t1
    t0=$(now); "$@" >/dev/null; t1=$(now)
    b=$(echo "$t0 $t1 ${b:-1e9}" | awk '{d=$2-$1; print (d<$3)?d:$3}')
  done
  echo "$b"
}

rct_run() {
  "$RCT" nanostring qc "$TMP/rcc" --json >"$TMP/rct_qc.json"
  "$RCT" nanostring normalise "$TMP/rcc" --out "$TMP/rct_matrix.csv" >/dev/null
}

cat >"$TMP/ncountr_run.py" <<'PY'
import sys, time
t0 = time.perf_counter()
from ncountr.io.rcc import read_rcc
from ncountr.core.qc import qc
from ncountr.core.normalize import normalize
t1 = time.perf_counter()
exp = read_rcc(sys.argv[1], sample_id_from="filename", sample_id_pattern=r"(.+)")
q = qc(exp)
m = normalize(exp, method="pos_hk_bg")
m.to_csv(sys.argv[2])
t2 = time.perf_counter()
print(f"{t2 - t1:.4f} {t1 - t0:.4f} {len(exp.samples)}")
PY

cat >"$TMP/reference_run.py" <<PY
import sys, time
t0 = time.perf_counter()
sys.path.insert(0, "$REPO/tools/omics")
import nanostring_reference as ref
t1 = time.perf_counter()
out = ref.folder(sys.argv[1])
t2 = time.perf_counter()
print(f"{t2 - t1:.4f} {t1 - t0:.4f} {len(out['samples'])}")
if len(sys.argv) > 2:  # compare with rct's matrix
    import csv
    with open(sys.argv[2]) as f:
        rows = list(csv.reader(f))
    ids = rows[0][2:]
    worst = 0.0
    for r in rows[1:]:
        key = r[0] + "/" + r[1]
        for sid, v in zip(ids, r[2:]):
            want = out["samples"][sid]["normalised"][key]
            worst = max(worst, abs(float(v) - want) / max(abs(want), 1e-300))
    print(f"max relative difference rct vs numpy over {len(ids)} samples: {worst:.2e}")
    sys.exit(0 if worst <= 1e-9 else 1)
PY

echo "== timing (best of $REPEAT)"
T_RCT=$(best rct_run)
T_NC=$(best "$PY" "$TMP/ncountr_run.py" "$TMP/rcc" "$TMP/ncountr_matrix.csv")
T_REF=$(best "$PY" "$TMP/reference_run.py" "$TMP/rcc")
read -r NC_WORK NC_IMPORT NC_N < <("$PY" "$TMP/ncountr_run.py" "$TMP/rcc" "$TMP/ncountr_matrix.csv")
read -r REF_WORK REF_IMPORT REF_N < <("$PY" "$TMP/reference_run.py" "$TMP/rcc" | head -1)

echo "== checking rct's matrix against the numpy reference"
"$PY" "$TMP/reference_run.py" "$TMP/rcc" "$TMP/rct_matrix.csv" | tail -1

awk -v n="$N" -v r="$T_RCT" -v nc="$T_NC" -v ncw="$NC_WORK" -v ncn="$NC_N" \
    -v rf="$T_REF" -v rfw="$REF_WORK" 'BEGIN {
  printf "\n%-44s %9s %9s\n", "read + QC + normalise " n " RCC files", "seconds", "vs rct"
  printf "%-44s %9.3f %9s\n", "rct (qc --json, then normalise --out)", r, "1.0x"
  printf "%-44s %9.3f %8.1fx\n", "ncountr 0.2 (process)", nc, nc / r
  printf "%-44s %9.3f %8.1fx\n", "ncountr 0.2 (work only, no imports)", ncw, ncw / r
  printf "%-44s %9.3f %8.1fx\n", "numpy reference (process)", rf, rf / r
  printf "%-44s %9.3f %8.1fx\n", "numpy reference (work only, no imports)", rfw, rfw / r
  printf "(ncountr read %d samples)\n", ncn
}'
