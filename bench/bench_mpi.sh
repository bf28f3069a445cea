#!/usr/bin/env bash
# bench_mpi.sh - data-parallel training (issue 15, docs/distributed.md):
# `mpirun -np 2 harvest train --distributed` against one process, on
# ml-100k (../shared/data/ml-100k; skipped without it) and on the 1M-rating
# synthetic rung (100,000 users, 20,000 movies). For each: test top-100
# (2 ranks must be within 0.005 of one process), mean epoch seconds of
# np=1 (1 BLAS thread), np=2 (1 thread each) and one process with 2
# threads, bytes each rank exchanged per epoch and its seconds in the
# allreduce; first the loopback MPI_Allreduce bandwidth
# (--measure-allreduce) the 4/16-host estimate in docs/distributed.md
# starts from. The load average is printed beside every row (this machine
# is shared; epoch times move with it).
#
# usage: bench/bench_mpi.sh [BUILD_DIR]      (default: build)
# env:   DATA        the ml-100k folder (default ../shared/data/ml-100k)
#        EPOCHS_1M   epochs on the 1M rung (default 2; ml-100k uses the
#                    defaults: 8)
#        SKIP_1M=1   ml-100k only
#        WORK=DIR    keep the homes there (default: a temp folder, removed)
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-build}/harvest
EPOCHS_1M=${EPOCHS_1M:-2}
[ -x "$BIN" ] || { echo "no $BIN: build first (make build)"; exit 2; }
command -v mpirun >/dev/null || { echo "no mpirun: apt-get install openmpi-bin libopenmpi-dev"; exit 2; }
command -v python3 >/dev/null || { echo "needs python3 (reads the JSON)"; exit 2; }
KEEP=${WORK:+1}
WORK=${WORK:-$(mktemp -d)}
mkdir -p "$WORK"
[ -z "$KEEP" ] && trap 'rm -rf "$WORK"' EXIT
# Open MPI refuses root unless told; oversubscribe: 2 ranks may share cores
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
MPIRUN="mpirun --oversubscribe -np 2"
load() { cut -d' ' -f1 /proc/loadavg; }

echo "== loopback MPI_Allreduce, 2 ranks (load $(load))"
nice -n 19 $MPIRUN "$BIN" train --distributed --measure-allreduce || exit 1
nice -n 19 $MPIRUN "$BIN" train --distributed --measure-allreduce --json \
  > "$WORK/allreduce.json" 2>/dev/null

# one row: label, JSON file, reference top-100 (np=1's) or ""
row() {
  python3 - "$1" "$2" "$3" "$4" <<'EOF'
import json, sys
label, path, ref, ld = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
j = json.load(open(path))
t = j["test"]["top_100_categorical_accuracy"]
d = "" if not ref else "%+.4f" % (t - float(ref))
es = j["epoch_seconds"]
mean = sum(es) / len(es)
b = j.get("dist_bytes_per_epoch")
cs = j.get("dist_comm_seconds")
print("%-22s %8.4f %8s %10.3f %12s %9s %6s" % (
    label, t, d, mean, "%.1f MB" % (b / 1e6) if b else "-",
    "%.2f" % cs if cs is not None else "-", ld))
EOF
}

top100() {
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["test"]["top_100_categorical_accuracy"])' "$1"
}

# three runs on home $1 with extra flags $2; label prefix $3
compare() {
  local h=$1 flags=$2 name=$3 l1 l2 l3
  l1=$(load)
  nice -n 19 "$BIN" --home "$h" train --threads 1 $flags --json \
    > "$WORK/$name-np1.json" 2>/dev/null || { echo "np=1 failed"; return 1; }
  l2=$(load)
  nice -n 19 $MPIRUN "$BIN" --home "$h" train --distributed --threads 1 \
    $flags --json > "$WORK/$name-np2.json" 2>/dev/null \
    || { echo "np=2 failed"; return 1; }
  l3=$(load)
  nice -n 19 "$BIN" --home "$h" train --threads 2 $flags --json \
    > "$WORK/$name-t2.json" 2>/dev/null || { echo "2 threads failed"; return 1; }
  local ref
  ref=$(top100 "$WORK/$name-np1.json")
  printf "%-22s %8s %8s %10s %12s %9s %6s\n" "$name" "top_100" "vs np=1" \
    "epoch s" "bytes/epoch" "comm s" "load"
  row "np=1, 1 thread" "$WORK/$name-np1.json" "" "$l1"
  row "np=2, 1 thread each" "$WORK/$name-np2.json" "$ref" "$l2"
  row "np=1, 2 threads" "$WORK/$name-t2.json" "$ref" "$l3"
  python3 - "$WORK/$name-np2.json" "$ref" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
d = abs(j["test"]["top_100_categorical_accuracy"] - float(sys.argv[2]))
print("2 ranks vs 1 process: |delta top_100| = %.4f (%s 0.005)"
      % (d, "within" if d <= 0.005 else "NOT within"))
EOF
}

DATA=${DATA:-../shared/data/ml-100k}
if [ -d "$DATA" ]; then
  echo; echo "== ml-100k (defaults: 8 epochs, batch 8192, dim 64)"
  "$BIN" --home "$WORK/ml" data import "$DATA" >/dev/null 2>&1 || exit 1
  compare "$WORK/ml" "" ml-100k || exit 1
else
  echo "skipped ml-100k: $DATA not found"
fi

if [ -z "${SKIP_1M:-}" ]; then
  echo; echo "== synth 1M ratings, 100k users, 20k movies ($EPOCHS_1M epochs)"
  if [ ! -f "$WORK/r1m/harvest.db" ]; then
    nice -n 19 "$BIN" --home "$WORK/r1m" data synth --users 100000 \
      --movies 20000 --ratings 1000000 >/dev/null 2>&1 || exit 1
  fi
  compare "$WORK/r1m" "--epochs $EPOCHS_1M" synth-1m || exit 1
fi
