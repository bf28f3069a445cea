#!/usr/bin/env bash
# bench_train.sh - `harvest train` vs the PyTorch peer (train_peer.py) on
# ml-100k, side by side in one run: epoch time at the tutorial configuration
# (dim 32, Adagrad 0.1, 3 epochs, batch 8192, 80/20 split with numpy
# RandomState(42)), the top-1..100 tables of the tutorial configuration and
# of harvest's defaults, GEMM GFLOP/s against OpenBLAS sgemm's peak here,
# peak memory, and recommend latency (all 1682 movies + top-10).
#
# Usage: bench/bench_train.sh            (HARVEST=path/to/harvest to pick a
#        build; default build/harvest). The machine is shared: timings vary.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
HARVEST=${HARVEST:-$ROOT/build/harvest}
PEERS=${PEERS:-$ROOT/../shared/peers}
DATA=${DATA:-$ROOT/../shared/data/ml-100k}
OBLAS=/usr/lib/x86_64-linux-gnu/openblas-pthread
PY=/usr/bin/python3
WORK=$(mktemp -d /tmp/bench_train.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

[ -x "$HARVEST" ] || { echo "no harvest binary at $HARVEST (set HARVEST=)"; exit 1; }
echo "== import ml-100k into $WORK/home"
"$HARVEST" --home "$WORK/home" data import --format ml-100k "$DATA" >/dev/null

echo "== PyTorch peer, tutorial configuration (OpenBLAS, torch threads = nproc)"
( cd "$PEERS" && LD_LIBRARY_PATH=$OBLAS /usr/bin/time -v -o "$WORK/peer.time" \
    $PY train_peer.py --dim 32 --lr 0.1 --epochs 3 --split 0.8 ) | tee "$WORK/peer.log"
tail -1 "$WORK/peer.log" > "$WORK/peer.json"

echo "== harvest, tutorial configuration (OpenBLAS threads = nproc)"
/usr/bin/time -v -o "$WORK/tut.time" "$HARVEST" --home "$WORK/home" train --tutorial \
  --out "$WORK/tut.hvm" --json > "$WORK/tut.json"
echo "== harvest, tutorial configuration, 1 thread"
"$HARVEST" --home "$WORK/home" train --tutorial --threads 1 --out "$WORK/tut1.hvm" \
  --json > "$WORK/tut1.json"
echo "== harvest, defaults"
/usr/bin/time -v -o "$WORK/def.time" "$HARVEST" --home "$WORK/home" train \
  --out "$WORK/def.hvm" --json > "$WORK/def.json"

echo "== recommend latency (1682 movies, top-10, 200000 calls)"
"$HARVEST" --home "$WORK/home" recommend --model "$WORK/def.hvm" --user 1 -n 10 \
  --bench 200000 2> "$WORK/rec.txt" >/dev/null
cat "$WORK/rec.txt"

echo "== OpenBLAS sgemm peak (numpy float32 matmul on the same OpenBLAS)"
LD_LIBRARY_PATH=$OBLAS $PY - > "$WORK/sgemm.json" <<'PYEOF'
import json, time, numpy as np
out = {}
for name, (m, k, n) in {"square_2048": (2048, 2048, 2048),
                        "loss_shape_943x32x1682": (943, 32, 1682)}.items():
    a = np.random.rand(m, k).astype(np.float32); b = np.random.rand(k, n).astype(np.float32)
    a @ b
    best = 1e9
    for _ in range(5):
        reps = max(1, int(2e9 / (2 * m * n * k)))
        t = time.perf_counter()
        for _ in range(reps):
            a @ b
        best = min(best, (time.perf_counter() - t) / reps)
    out[name] = 2 * m * n * k / best / 1e9
print(json.dumps(out))
PYEOF

$PY - "$WORK" <<'PYEOF'
import json, re, sys
w = sys.argv[1]
peer = json.load(open(f"{w}/peer.json"))
tut, tut1, dft = (json.load(open(f"{w}/{n}.json")) for n in ("tut", "tut1", "def"))
sg = json.load(open(f"{w}/sgemm.json"))
def rss(n):
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(f"{w}/{n}.time").read())
    return int(m.group(1)) / 1024
ks = (1, 5, 10, 50, 100)
print("\n== test top-K categorical accuracy (20000 held-out ratings)")
print(f"{'':28s}" + "".join(f"top_{k:<7d}" for k in ks))
print(f"{'peer tutorial':28s}" + "".join(f"{peer['test'][f'top_{k}']:<11.4f}" for k in ks))
for name, d in (("harvest tutorial", tut), ("harvest tutorial 1 thread", tut1), ("harvest defaults", dft)):
    print(f"{name:28s}" + "".join(f"{d['test'][f'top_{k}_categorical_accuracy']:<11.4f}" for k in ks))
pe = peer["epoch_time_s"]; he = tut["epoch_seconds"]; h1 = tut1["epoch_seconds"]
pm = sum(pe) / len(pe); hm = sum(he) / len(he); h1m = sum(h1) / len(h1)
print("\n== epoch seconds, tutorial configuration")
print(f"peer    {['%.3f' % x for x in pe]} mean {pm:.3f}")
print(f"harvest {['%.4f' % x for x in he]} mean {hm:.4f}  -> {pm / hm:.1f}x faster")
print(f"harvest 1 thread {['%.4f' % x for x in h1]} mean {h1m:.4f}  -> {pm / h1m:.1f}x faster")
print(f"harvest defaults (dim 64, 8 epochs, features): mean {dft['epoch_seconds_mean']:.4f} s/epoch")
print("\n== GEMM throughput")
print(f"harvest loss GEMMs: {tut['gemm_gflop_per_epoch']:.2f} GFLOP/epoch, "
      f"{tut['gemm_gflops']:.1f} GFLOP/s over the whole epoch (incl. softmax, towers, optimiser)")
print(f"OpenBLAS sgemm peak here: {sg['square_2048']:.1f} GFLOP/s (2048^3), "
      f"{sg['loss_shape_943x32x1682']:.1f} GFLOP/s at the loss's shape 943x32x1682")
print(f"-> {100 * tut['gemm_gflops'] / sg['square_2048']:.0f}% of square peak, "
      f"{100 * tut['gemm_gflops'] / sg['loss_shape_943x32x1682']:.0f}% of the shape-matched sgemm")
print("\n== peak memory (max RSS)")
print(f"peer {rss('peer'):.0f} MiB, harvest tutorial {rss('tut'):.0f} MiB, harvest defaults {rss('def'):.0f} MiB")
print(f"\nRATIO epoch time peer/harvest (tutorial config): {pm / hm:.1f}")
PYEOF
