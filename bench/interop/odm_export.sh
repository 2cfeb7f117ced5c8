#!/bin/sh
# ODM export of a generated trial of 1,000 participants x 40 forms (ten
# fields each, eight forms a visit): wall time and peak memory of
# `rct export odm` (reading the events file, re-hashing every event, folding
# the state and writing the XML), measured with /usr/bin/time -v.
#
#   bench/interop/odm_export.sh [PARTICIPANTS] [FORMS]
set -eu
N=${1:-1000}
F=${2:-40}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
T=${CARGO_TARGET_DIR:-$ROOT/target}
W=$(mktemp -d)
cd "$ROOT"
cargo build --release -j 1 -p rct -p rct-interop --example gen_trial --bin rct >/dev/null 2>&1 || cargo build --release -j 1 -p rct -p rct-interop --example gen_trial --bin rct
"$T/release/examples/gen_trial" "$N" "$F" "$W"
ls -l "$W/events.jsonl" | awk '{printf "events file: %.1f MB\n", $5/1e6}'
for mode in "--as-role pharmacist" "--blinded"; do
  /usr/bin/time -v "$T/release/rct" export odm --protocol "$W/protocol.toml" --events "$W/events.jsonl" $mode --out "$W/trial.xml" 2> "$W/time.txt"
  ls -l "$W/trial.xml" | awk '{printf "ODM file: %.1f MB\n", $5/1e6}'
  grep -E "Elapsed \(wall clock\)|Maximum resident set size" "$W/time.txt"
done
if command -v xmllint >/dev/null 2>&1 && [ -d "${RCT_SHARED_DATA:-$ROOT/../shared/data}/odm-1.3.2-schema" ]; then
  xmllint --noout --stream --schema "${RCT_SHARED_DATA:-$ROOT/../shared/data}/odm-1.3.2-schema/ODM1-3-2.xsd" "$W/trial.xml" && echo "blinded file validates"
fi
rm -rf "$W"
