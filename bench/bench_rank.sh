#!/bin/bash
# bench_rank.sh - Harvest's ranking model (`harvest train --task ranking`) against a PyTorch peer of the same
# architecture (bench/rank_peer_same.py: feature towers, biases, dot, MLP over the feature parts and popularity,
# MSE + L2 on the tower outputs, dense Adam), same ml-100k 80/20 seed-42 split, same epochs, batch, lr, L2:
# test RMSE and MAE of both, seconds per epoch (median over epochs) and the ratio peer / harvest.
# Also the reference: ../shared/peers/rank_peer.py --model mf (the peer's best biased MF, RMSE 0.913).
#
# Usage: bench/bench_rank.sh [-e EPOCHS] [-r REPS] [-t THREADS]
#   -e N   epochs for both (default 20, Harvest's default)
#   -r N   runs of each, alternating; medians compared (default 3: the machine is shared)
#   -t N   threads for both (torch.set_num_threads, harvest --threads; default 1: torch on this shared machine spins its 2nd thread into 10x slower epochs)
#   env HARVEST = harvest binary (default build/harvest)
# The peer runs with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset; everything under nice -n 10.
# Needs: /usr/bin/python3 with numpy and torch (Debian python3-torch).
set -u
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
. "$ROOT/bench/lib.sh"
DATA="${DATA:-$ROOT/../shared/data/ml-100k}"
E=20 REPS=3 T=1
while getopts "e:r:t:" o; do case $o in
  e) E=$OPTARG;; r) REPS=$OPTARG;; t) T=$OPTARG;; *) sed -n 2,14p "$0"; exit 2;; esac; done
HARVEST="${HARVEST:-$ROOT/build/harvest}"
[ -x "$HARVEST" ] || { echo "no harvest binary at $HARVEST; build it or set HARVEST" >&2; exit 1; }
[ -d "$DATA" ] || { echo "no ml-100k at $DATA" >&2; exit 1; }
/usr/bin/python3 -c "import numpy, torch" 2>/dev/null || { echo "need /usr/bin/python3 with numpy and torch (apt-get install python3-torch)" >&2; exit 1; }
H="$(mktemp -d /tmp/hvrank.XXXXXX)"
trap 'rm -rf "$H"' EXIT
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) (shared)"
"$HARVEST" --home "$H" data import "$DATA" >/dev/null || exit 1
HV_S="" PY_S="" HV_R="" PY_R="" HV_M="" PY_M=""
for r in $(seq "$REPS"); do
  J=$(nice -n 10 "$HARVEST" --home "$H" --json train --task ranking --epochs "$E" --threads "$T" 2>/dev/null) || exit 1
  read -r s rm ma < <(echo "$J" | /usr/bin/python3 -c 'import json,sys,statistics as st; j=json.load(sys.stdin); print(st.median(j["epoch_seconds"]), j["test"]["rmse"], j["test"]["mae"])')
  HV_S="$HV_S $s"; HV_R="$HV_R $rm"; HV_M="$HV_M $ma"
  echo "harvest run $r: ${s} s/epoch (median), test RMSE $rm MAE $ma"
  J=$(ML100K="$DATA" env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE nice -n 10 /usr/bin/python3 "$ROOT/bench/rank_peer_same.py" \
      --epochs "$E" --threads "$T" 2>/dev/null | tail -1) || exit 1
  read -r s rm ma < <(echo "$J" | /usr/bin/python3 -c 'import json,sys,statistics as st; j=json.load(sys.stdin); print(st.median(j["epoch_time_s"]), j["test"]["rmse"], j["test"]["mae"])')
  PY_S="$PY_S $s"; PY_R="$PY_R $rm"; PY_M="$PY_M $ma"
  echo "peer    run $r: ${s} s/epoch (median), test RMSE $rm MAE $ma"
done
hs=$(echo "$HV_S" | median) ps=$(echo "$PY_S" | median)
printf "\n%-28s %-10s %-8s %-8s\n" "" "s/epoch" "RMSE" "MAE"
printf "%-28s %-10.4f %-8.4f %-8.4f\n" "harvest --task ranking" "$hs" "$(echo "$HV_R" | median)" "$(echo "$HV_M" | median)"
printf "%-28s %-10.4f %-8.4f %-8.4f\n" "PyTorch, same architecture" "$ps" "$(echo "$PY_R" | median)" "$(echo "$PY_M" | median)"
echo "epoch time ratio peer / harvest: $(echo "$ps $hs" | awk '{printf "%.1fx", $1 / $2}') (goal >= 10x)"
