#!/usr/bin/env bash
# Side by side: rct's FIT reading + compliance against Python fitdecode
# reading the same files and summing the same seconds; then a generated whole
# trial (60 x 36 sessions x 45 min at 1 Hz) through rct. Prints the ratio.
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA=${RCT_SHARED_DATA:-../shared/data}
REPS=${REPS:-50}
FILES=("$DATA/fit/garmin-fenix-5-run.fit" "$DATA/fit/2013-02-06-12-11-14.fit" "$DATA/fit/sample-activity-indoor-trainer.fit")
VENV=/tmp/rct-bench-venv
[ -x $VENV/bin/python ] || { python3 -m venv $VENV && $VENV/bin/pip -q install fitdecode; }
cargo build -q --release -p rct-exercise --example hr_bench
ours=$(target/release/examples/hr_bench "$REPS" 185 "${FILES[@]}")
peer=$($VENV/bin/python bench/exercise/fitdecode_peer.py "$REPS" 185 "${FILES[@]}")
echo "rct:       $ours"
echo "fitdecode: $peer"
a=$(echo "$ours" | head -1 | awk '{print $2}'); b=$(echo "$peer" | awk '{print $2}')
python3 -c "print(f'ratio fitdecode/rct = {float($b)/float($a):.1f}x (same files, {int($REPS)} repetitions)')"
