#!/bin/sh
# `rct export csv --db` of a generated trial of 1,000 participants x 40
# forms (the ODM benchmark's trial: ten fields a form, eight forms a visit,
# ~1 value in 12 corrected), restored into SQLite (and PostgreSQL when
# RCT_TEST_POSTGRES is set): wall time and peak RSS of the export with
# /usr/bin/time -v, unblinded (--as-role pharmacist). With BEFORE=PATH (an
# older rct binary) the same runs with it and the two folders are compared
# byte for byte.
#
#   BEFORE=/tmp/rct-old bench/interop/csv_export.sh [PARTICIPANTS] [FORMS]
set -eu
N=${1:-1000}
F=${2:-40}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
T=${CARGO_TARGET_DIR:-$ROOT/target}
W=$(mktemp -d)
cd "$ROOT"
cargo build --release -p rct --bin rct -p rct-interop --example odm_bench
"$T/release/examples/odm_bench" "$N" "$F" /dev/null "$W/events.jsonl" "$W/bench.toml" > /dev/null
DBS="sqlite:$W/trial.sqlite"
if [ -n "${RCT_TEST_POSTGRES:-}" ]; then
  PGDB=rct_csv_bench_$$
  psql "$RCT_TEST_POSTGRES" -qc "CREATE DATABASE $PGDB" > /dev/null
  DBS="$DBS ${RCT_TEST_POSTGRES%/*}/$PGDB"
fi
for DB in $DBS; do
  "$T/release/rct" restore --db "$DB" "$W/events.jsonl" > /dev/null 2>&1
  for WHICH in after ${BEFORE:+before}; do
    BIN="$T/release/rct"
    [ "$WHICH" = before ] && BIN="$BEFORE"
    rm -rf "$W/$WHICH"
    /usr/bin/time -v "$BIN" export csv --db "$DB" --protocol "$W/bench.toml" \
      --trial bench --as-role pharmacist --out "$W/$WHICH" > /dev/null 2> "$W/time.txt"
    echo "$WHICH ${DB%%:*}: $(grep -E 'Elapsed \(wall clock\)' "$W/time.txt" | sed 's/.*: //') s," \
      "$(grep 'Maximum resident set size' "$W/time.txt" | sed 's/.*: //') kB peak RSS," \
      "$(du -sk "$W/$WHICH" | cut -f1) kB written"
  done
  if [ -n "${BEFORE:-}" ]; then
    diff -r "$W/before" "$W/after" > /dev/null && echo "  byte-identical: $(ls "$W/after" | wc -l) files"
  fi
done
[ -n "${PGDB:-}" ] && psql "$RCT_TEST_POSTGRES" -qc "DROP DATABASE $PGDB WITH (FORCE)" > /dev/null
rm -rf "$W"
