#!/usr/bin/env bash
# Run every benchmark in bench/ (bench_*.sh) one after the other and keep
# their output in bench/out/. Each script runs Harvest and its Python peer
# (../shared/peers) side by side and prints a ratio. Needs the peers'
# packages: see bench/README.md.
set -u
cd "$(dirname "$0")/.."
mkdir -p bench/out
status=0
for b in bench/bench_*.sh; do
  name=$(basename "$b" .sh)
  echo "== $name"
  if bash "$b" 2>&1 | tee "bench/out/$name.txt"; then :; else status=1; fi
done
exit $status
