#!/usr/bin/env bash
# bench_tune.sh - the seed's whole 12-run hyperparameter search on ml-100k,
# `harvest tune` against the same grid in the PyTorch peer (train_peer.py),
# in one run: dim 16,32,64,128 x lr 0.001,0.01,0.1, the peer's tutorial
# protocol otherwise (Adagrad, 3 epochs, batch 8192, 80/20 split with numpy
# RandomState(42), no logQ, no features, no L2).
#
# Harvest runs the 12 trials as tracked child runs of one parent (params,
# per-epoch metrics, evaluation of both splits, lineage with the SHA-256 of
# the rows, the model file stored as an artifact), then registers the best
# into Production. The peer is 12 separate processes (python start, data
# load, training, evaluation of both splits), as the seed's loop ran them.
#
# The peer takes ~7-9 s per epoch here, so the full peer grid is ~5 minutes.
# To shorten it:
#   PEER_EPOCHS=1   train each peer config for 1 epoch instead of 3
#   PEER_SUBSET=N   run only the first N of the 12 peer configs
# The ratio is then reported per epoch-equivalent (seconds per trained epoch
# including each run's fixed costs, scaled), and the script says so.
#
# Usage: bench/bench_tune.sh   (HARVEST=path/to/harvest; default
#        build/harvest). THREADS (default nproc) sets both sides' threads.
#        The machine is shared: timings vary with the load.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
HARVEST=${HARVEST:-$ROOT/build/harvest}
PEERS=${PEERS:-$ROOT/../shared/peers}
DATA=${DATA:-$ROOT/../shared/data/ml-100k}
OBLAS=/usr/lib/x86_64-linux-gnu/openblas-pthread
PY=/usr/bin/python3
THREADS=${THREADS:-$(nproc)}
EPOCHS=3
PEER_EPOCHS=${PEER_EPOCHS:-$EPOCHS}
PEER_SUBSET=${PEER_SUBSET:-12}
DIMS="16 32 64 128"
LRS="0.001 0.01 0.1"
WORK=$(mktemp -d /tmp/bench_tune.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

[ -x "$HARVEST" ] || { echo "no harvest binary at $HARVEST (set HARVEST=)"; exit 1; }
[ -d "$DATA" ] || { echo "no ml-100k at $DATA (set DATA=)"; exit 1; }
echo "== machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); threads $THREADS"
echo "== import ml-100k into $WORK/home"
"$HARVEST" --home "$WORK/home" data import --format ml-100k "$DATA" >/dev/null

echo "== harvest tune: 12 configs x $EPOCHS epochs (tracked runs + register)"
t0=$(date +%s.%N)
"$HARVEST" --home "$WORK/home" tune --grid dim=16,32,64,128 --grid lr=0.001,0.01,0.1 \
  --tutorial --epochs $EPOCHS --batch 8192 --split 0.8 --threads "$THREADS" \
  --register harvest_recommender --stage Production --archive-existing --json > "$WORK/tune.json"
t1=$(date +%s.%N)
echo "$t0 $t1" > "$WORK/tune.time"
# per-epoch training seconds of every child, from the tracking store
"$HARVEST" --home "$WORK/home" runs list --experiment tune --json > "$WORK/runs.json"

echo "== PyTorch peer: $PEER_SUBSET of 12 configs x $PEER_EPOCHS epochs (one process each)"
: > "$WORK/peer.jsonl"
: > "$WORK/peer.times"
i=0
for d in $DIMS; do
  for lr in $LRS; do
    i=$((i + 1))
    [ "$i" -le "$PEER_SUBSET" ] || continue
    p0=$(date +%s.%N)
    ( cd "$PEERS" && LD_LIBRARY_PATH=$OBLAS $PY train_peer.py --dim "$d" --lr "$lr" \
        --epochs "$PEER_EPOCHS" --split 0.8 --threads "$THREADS" ) > "$WORK/peer.$i.log"
    p1=$(date +%s.%N)
    tail -1 "$WORK/peer.$i.log" >> "$WORK/peer.jsonl"
    echo "$d $lr $p0 $p1" >> "$WORK/peer.times"
    echo "   peer dim=$d lr=$lr: $(echo "$p1 - $p0" | bc) s"
  done
done

$PY - "$WORK" "$EPOCHS" "$PEER_EPOCHS" "$PEER_SUBSET" <<'PYEOF'
import json, sys
w, epochs, pe, subset = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
tune = json.load(open(f"{w}/tune.json"))
t0, t1 = map(float, open(f"{w}/tune.time").read().split())
h_total = t1 - t0
runs = json.load(open(f"{w}/runs.json"))
children = [r for r in runs if r.get("parent_run_id") == tune["parent_run_id"]]
peer = [json.loads(l) for l in open(f"{w}/peer.jsonl")]
ptimes = [l.split() for l in open(f"{w}/peer.times")]
p_total = sum(float(b) - float(a) for _, _, a, b in ptimes)
p_epoch_sum = sum(sum(p["epoch_time_s"]) for p in peer)

print("\n== test top_100_categorical_accuracy (20000 held-out ratings)")
print(f"{'config':18s} {'harvest':>9s} {'peer':>9s}")
by_label = {t["label"]: t for t in tune["trials"]}
for p in peer:
    label = f"dim={p['dim']} lr={p['lr']:g}"
    h = by_label.get(label)
    hv = h["top_100_categorical_accuracy"] if h else float("nan")
    print(f"{label:18s} {hv:9.4f} {p['test']['top_100']:9.4f}"
          + ("" if pe == epochs else f"  (peer {pe} epochs)"))
b = tune["best"]
print(f"harvest best: {b['label']} top_100 {b['value']:.4f} -> registered "
      f"{tune['registered']['name']} v{tune['registered']['version']} "
      f"{tune['registered']['stage']}")
if peer:
    pb = max(peer, key=lambda p: p["test"]["top_100"])
    print(f"peer best:    dim={pb['dim']} lr={pb['lr']:g} top_100 {pb['test']['top_100']:.4f}")

h_epochs = 12 * epochs
p_epochs = len(peer) * pe
print("\n== wall time")
print(f"harvest tune, 12 configs x {epochs} epochs, one process: {h_total:.2f} s total "
      f"({h_total / 12:.3f} s per trial; tune_seconds {tune['seconds']:.2f} s inside)")
print(f"peer, {len(peer)} configs x {pe} epochs, {len(peer)} processes:  {p_total:.2f} s total "
      f"({p_total / max(len(peer), 1):.2f} s per config; of which training epochs "
      f"{p_epoch_sum:.2f} s)")
full = len(peer) == 12 and pe == epochs
if full:
    print(f"\nRATIO whole 12-run search, peer/harvest: {p_total / h_total:.1f}")
else:
    # per epoch-equivalent: each side's total wall time / epochs it trained
    h_pe = h_total / h_epochs
    p_pe = p_total / p_epochs
    print(f"\npeer ran a subset ({len(peer)} configs x {pe} epochs = {p_epochs} epochs);"
          f" extrapolated full peer search: {p_pe * h_epochs:.1f} s (fixed per-process"
          f" costs counted per epoch, so this flatters the peer when pe < {epochs})")
    print(f"RATIO per epoch-equivalent (wall s / trained epoch), peer/harvest: "
          f"{p_pe:.3f} / {h_pe:.4f} = {p_pe / h_pe:.1f}")
h_train = sum(r["metrics"].get("train_seconds") or 0 for r in children)
h_eval = sum(r["metrics"].get("eval_seconds") or 0 for r in children)
p_mean = p_epoch_sum / max(p_epochs, 1)
print(f"training epochs only: harvest {h_train:.3f} s for {h_epochs} epochs "
      f"({h_train / h_epochs:.4f} s/epoch; evaluation {h_eval:.2f} s), "
      f"peer {p_mean:.3f} s/epoch -> {p_mean / (h_train / h_epochs):.0f}x")
PYEOF
