#!/usr/bin/env bash
# Store benchmark (release build): randomisations per second and latency
# with 16 clients on SQLite and PostgreSQL, and the time to load a trial of
# 1,000,000 events into state. PostgreSQL is the loopback server of
# .ci/postgres.sh (started if needed). `--quick` runs a small version;
# `--writers` only the allocation runs; `--million` only the trial load
# (`--events=N` for another size), which also times saving a state snapshot
# and a start from it (`RCT_BENCH_KEEP=DIR` keeps a copy of the SQLite
# trial there, for timing `rct audit verify --db sqlite:FILE`).
# `RCT_THREADS=N` sets the worker threads of the per-event checks (default:
# cores - 1, beside the reading thread; 0: all on the reading thread).
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -z "${RCT_TEST_POSTGRES:-}" ] && [ -f .ci/postgres.sh ] && command -v pg_ctlcluster >/dev/null 2>&1; then
  . .ci/postgres.sh
fi
echo "machine: $(nproc) cores, $(uname -sr); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
cargo bench -p rct-store --bench load -- "$@"
