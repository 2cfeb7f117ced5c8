#!/bin/sh
# ODM export of a generated trial of 1,000 participants x 40 forms (ten
# fields each, eight forms a visit, ~1 value in 12 corrected): time of
# rct_interop::odm::export alone (printed by the example) and peak memory of
# the whole process (generation + export) with /usr/bin/time -v; the
# unblinded file is then validated with xmllint --stream against the
# official schema plus rct's extension.
#
#   bench/interop/odm_export.sh [PARTICIPANTS] [FORMS]
set -eu
N=${1:-1000}
F=${2:-40}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
T=${CARGO_TARGET_DIR:-$ROOT/target}
W=$(mktemp -d)
cd "$ROOT"
cargo build --release -j 1 -p rct-interop --example odm_bench
/usr/bin/time -v "$T/release/examples/odm_bench" "$N" "$F" "$W/trial.xml" 2> "$W/time.txt"
grep -E "Elapsed \(wall clock\)|Maximum resident set size" "$W/time.txt"
S="${RCT_SHARED_DATA:-$ROOT/../shared/data}/odm-1.3.2-schema"
if command -v xmllint >/dev/null 2>&1 && [ -d "$S" ]; then
  sed "s#@RCT_EXT_XSD@#$ROOT/crates/interop/schema/rct-odm-ext.xsd#; s#@ODM_SCHEMA_DIR@#$S#g" \
    "$ROOT/crates/interop/schema/odm-1.3.2-rct.xsd.in" > "$W/odm-rct.xsd"
  xmllint --noout --stream --schema "$W/odm-rct.xsd" "$W/trial.xml" 2>&1 | tail -1
fi
rm -rf "$W"
