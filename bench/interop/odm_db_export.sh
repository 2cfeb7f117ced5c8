#!/bin/sh
# `rct export odm --db` of the ODM benchmark's generated trial (1,000
# participants x 40 forms, 391,688 events) restored into SQLite (and
# PostgreSQL when RCT_TEST_POSTGRES is set): wall time and peak RSS of the
# export with /usr/bin/time -v, unblinded (--as-role pharmacist) and
# blinded. With BEFORE=PATH (an older rct binary) the same runs with it.
#
#   BEFORE=/tmp/rct-old bench/interop/odm_db_export.sh [PARTICIPANTS] [FORMS]
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
  PGDB=rct_odm_bench_$$
  psql "$RCT_TEST_POSTGRES" -qc "CREATE DATABASE $PGDB" > /dev/null
  DBS="$DBS ${RCT_TEST_POSTGRES%/*}/$PGDB"
fi
for DB in $DBS; do
  "$T/release/rct" restore --db "$DB" "$W/events.jsonl" > /dev/null 2>&1
  for MODE in "--as-role pharmacist" "--blinded"; do
    for WHICH in after ${BEFORE:+before}; do
      BIN="$T/release/rct"
      [ "$WHICH" = before ] && BIN="$BEFORE"
      # shellcheck disable=SC2086
      /usr/bin/time -v "$BIN" export odm --db "$DB" --protocol "$W/bench.toml" \
        --trial bench $MODE --out "$W/$WHICH.xml" > /dev/null 2> "$W/time.txt"
      echo "$WHICH ${DB%%:*} $MODE: $(grep -E 'Elapsed \(wall clock\)' "$W/time.txt" | sed 's/.*: //') wall," \
        "$(grep 'User time' "$W/time.txt" | sed 's/.*: //') s user," \
        "$(grep 'Maximum resident set size' "$W/time.txt" | sed 's/.*: //') kB peak RSS," \
        "$(du -k "$W/$WHICH.xml" | cut -f1) kB written"
    done
    rm -f "$W"/*.xml
  done
done
[ -n "${PGDB:-}" ] && psql "$RCT_TEST_POSTGRES" -qc "DROP DATABASE $PGDB WITH (FORCE)" > /dev/null
rm -rf "$W"
