#!/usr/bin/env bash
# Web application load test on loopback: pages/s and latency percentiles for
# the participant list, the participants API, a participant page and a
# data-entry save, with the demo data plus N randomised IL-2 participants on
# a SQLite file (synchronous=FULL, so each save waits for the disk).
#
#   bash bench/web/run.sh [PARTICIPANTS] [CONNECTIONS] [REQUESTS]
#
# Defaults: 5000 participants, 8 keep-alive connections, 400 requests per
# measurement. The load generator is crates/web/examples/loadgen.rs (our own:
# no external tool needed); it talks to 127.0.0.1 only and stops by itself.
set -euo pipefail
cd "$(dirname "$0")/../.."
N="${1:-5000}"
C="${2:-8}"
R="${3:-400}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
cargo build --release -q -p rct-web --example loadgen
DIR="$(mktemp -d)"
trap 'rm -rf "$DIR"' EXIT
"$CARGO_TARGET_DIR/release/examples/loadgen" --participants "$N" --connections "$C" --requests "$R" --db "sqlite:$DIR/bench.sqlite"
