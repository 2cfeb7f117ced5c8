#!/usr/bin/env bash
# Assessment speed of `rct randomise assess`, and randomizeR's where R and the
# package are installed (prints the ratio). Usage: bash bench/randomise/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release -q -p rct
RCT=${CARGO_TARGET_DIR:-target}/release/rct
t() { local s e; s=$(date +%s.%N); "$@" > /dev/null; e=$(date +%s.%N); echo "$e - $s" | bc; }
for d in pbr:4 ebc:0.667; do
  echo "rct sims 1000000 n 60 $d: $(t "$RCT" randomise assess --design "$d" --n 60 --sims 1000000 --seed 1 --json) s"
done
for d in pbr:4 ebc:0.667 rpbr:2,4,6 mp:3 bsd:3; do
  echo "rct exact n 200 $d: $(t "$RCT" randomise assess --design "$d" --n 200 --exact --json) s"
done
if command -v Rscript > /dev/null && Rscript -e 'library(randomizeR)' > /dev/null 2>&1; then
  for d in "pbrPar(rep(4,15))" "ebcPar(60, 0.667)"; do
    r=$(t Rscript -e "library(randomizeR); s <- genSeq($d, 10000); assess(s, corGuess('CS'))")
    echo "randomizeR 10000 sequences $d: $r s (x100 for 10^6)"
  done
else
  echo "randomizeR not installed: peer timing skipped"
fi
