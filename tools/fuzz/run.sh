#!/bin/sh
# Full mutation fuzzing of every reader (docs/limits.md): N mutants per format
# (default 10,000) of the real files in $RCT_SHARED_DATA, each read by the
# release `rct` in a child process with a 10 s wall limit and a 1 GiB
# address-space cap. Prints one row per format (mutants, ok, clean errors,
# panics, aborts/signals, timeouts, other exits, wall time) and keeps every
# failing mutant in target/fuzz-failures. Exit status 1 when any mutant
# panicked, aborted, hung or exited oddly.
#
#   tools/fuzz/run.sh [MUTANTS] [FORMAT,...]
#   formats: fit hr-csv cpet-xlsx cpet-csv rcc rlf protocol-toml odm
#            redcap-csv ctgov-json events-jsonl
# Environment: RCT_FUZZ_JOBS (default 2), RCT_FUZZ_SEED (decimal; default the
# CI seed), RCT_SHARED_DATA (default ../shared/data).
set -eu
cd "$(dirname "$0")/../.."
export RCT_FUZZ_MUTANTS="${1:-10000}"
if [ -n "${2:-}" ]; then export RCT_FUZZ_FORMATS="$2"; fi
export RCT_SHARED_DATA="${RCT_SHARED_DATA:-$(pwd)/../shared/data}"
export RCT_FUZZ_KEEP="${RCT_FUZZ_KEEP:-$(pwd)/target/fuzz-failures}"
nice -n 10 cargo build --release -p rct
export RCT_FUZZ_BIN="$(pwd)/target/release/rct"
nice -n 10 cargo test -p rct --test fuzz child_processes_full -- --ignored --nocapture
