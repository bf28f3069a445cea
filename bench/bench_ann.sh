#!/bin/bash
# bench_ann.sh - retrieval at catalogue scale (issue 15): a 100,000-movie, dim-64 model (synthetic data, one
# training epoch; the IVF index is built by `harvest train` itself, as for every model of >= 20,000 movies), then
# in one run:
#   1. the index as the build measured it (run metrics index_recall_at_100, index_nprobe, index_nlist,
#      index_build_seconds) and a cross-check: the top 100 of -x users from an exact and an indexed server,
#      their overlap (recall@100 of what is served);
#   2. in-process microseconds per call, one thread, -n 100 (`harvest recommend --bench`), exact vs index;
#   3. `harvest serve --cache-n 0` (no per-user memo: every request retrieves), wrk on
#      /movies/recommend/{random user}/10, --index exact vs --index ivf, alternating REPS times: req/s and p99
#      at -tT -cC (throughput; p99 there is mostly queueing once the cores are busy) and at -t1 -c1 (latency of
#      one request at a time), with the server's CPU microseconds per request (from /proc: steadier than
#      req/s on a shared machine);
#   4. the FAISS peer (../shared/peers/ann_peer.py, Debian python3-faiss) on the same sizes (n, dim 64, k 100,
#      1000 queries, its own clustered vectors): exact and IVF-Flat us/query and recall, and the ratios.
# Must-show targets: uncached p99 < 2 ms through the index, recall@100 >= 0.95.
#
# Usage: bench/bench_ann.sh [-m MOVIES] [-u USERS] [-R RATINGS] [-d SECS] [-c CONNS] [-t WRK_THREADS] [-r REPS]
#                           [-x CHECK_USERS] [-H HOME]
#   -H HOME     reuse a home that already holds the trained model (its newest run); else a temporary one is made
#   env HARVEST = harvest binary (default build/harvest); HPORT = first port (default 18140; uses two)
# Every number is printed with the 1-minute load average beside it: this is a shared 2-core machine.
set -u
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
. "$ROOT/bench/lib.sh"
PEERS="${PEERS:-}"
for d in "$PEERS" "$ROOT/../shared/peers" "$ROOT/../../shared/peers"; do   # main checkout or a worktree
  [ -n "$d" ] && [ -f "$d/ann_peer.py" ] && { PEERS=$d; break; }; done
M=100000 U=20000 R=1000000 D=15 C=32 T=2 REPS=2 X=200 HOME_IN=""
while getopts "m:u:R:d:c:t:r:x:H:" o; do case $o in
  m) M=$OPTARG;; u) U=$OPTARG;; R) R=$OPTARG;; d) D=$OPTARG;; c) C=$OPTARG;; t) T=$OPTARG;; r) REPS=$OPTARG;;
  x) X=$OPTARG;; H) HOME_IN=$OPTARG;; *) sed -n 2,20p "$0"; exit 2;; esac; done
HARVEST="${HARVEST:-$ROOT/build/harvest}"
[ -x "$HARVEST" ] || { echo "no harvest binary; build it or set HARVEST" >&2; exit 1; }
command -v wrk >/dev/null || { echo "needs wrk" >&2; exit 1; }
HPORT="${HPORT:-18140}"
SP1="" SP2="" TMPH=""
cleanup() { for p in $SP1 $SP2; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; [ -n "$TMPH" ] && rm -rf "$TMPH"; }
trap cleanup EXIT

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) (shared)"
if [ -n "$HOME_IN" ]; then
  H=$HOME_IN
else
  TMPH="$(mktemp -d /tmp/hvann.XXXXXX)"; H=$TMPH
  echo "== synth: $U users, $M movies, $R ratings (load $(load1))"
  "$HARVEST" --home "$H" data synth --users "$U" --movies "$M" --ratings "$R" >/dev/null || exit 1
  echo "== train: defaults (dim 64, features), 1 epoch, batch 4096; builds the index (load $(load1))"
  /usr/bin/time -f "train wall %e s, peak RSS %M KB" "$HARVEST" --home "$H" train --epochs 1 --batch 4096 \
    2>&1 >/dev/null | grep -E "^train wall|^index" || exit 1
fi
RUN=$("$HARVEST" --home "$H" runs list 2>/dev/null | awk 'NR == 2 {print $1}')
[ -n "$RUN" ] || { echo "no run in $H" >&2; exit 1; }
"$HARVEST" --home "$H" models register --name ann_bench --run "$RUN" --stage Production --archive-existing \
  >/dev/null || exit 1
NU=$("$HARVEST" --home "$H" --json data stats 2>/dev/null | sed -n 's/^  "users": \([0-9]*\).*/\1/p' | head -1)
NU=${NU:-$U}
echo "== 1. the index of run $RUN, as its build measured it"
"$HARVEST" --home "$H" runs show "$RUN" | grep -E "index_|n_movies|model/index.ivf" | sed 's/^ */   /'

echo "== 2. in-process, one thread, 2000 calls over all users: -n 100 (FAISS's k) and -n 10 (the route's)"
HUS_EXACT="" HUS_IVF=""
for n in 100 10; do
  for mode in exact ivf; do
    L=$("$HARVEST" --home "$H" recommend --model "runs:/$RUN" --user 1 -n "$n" --index "$mode" --bench 2000 \
      2>&1 >/dev/null | grep '^recommend:')
    echo "   (load $(load1)) $L"
    wall=$(echo "$L" | sed -n 's/^recommend: \([0-9.]*\) us per call.*/\1/p')
    [ "$n" = 100 ] && [ "$mode" = exact ] && HUS_EXACT=$wall
    [ "$n" = 100 ] && [ "$mode" = ivf ] && HUS_IVF=$wall
  done
done

start_server() { # PORT MODE -> pid
  "$HARVEST" --home "$H" serve --model ann_bench --port "$1" --cache-n 0 --index "$2" --no-access-log \
    >"$H/serve-$2.log" 2>&1 &
  echo $!
}
wait_ready() {
  for _ in $(seq 1 300); do curl -sf -o /dev/null "http://127.0.0.1:$1/readyz" && return 0; sleep 0.2; done
  echo "server on $1 not ready" >&2; return 1
}
SP1=$(start_server "$HPORT" exact); SP2=$(start_server $((HPORT + 1)) ivf)
wait_ready "$HPORT" && wait_ready $((HPORT + 1)) || exit 1
for p in $HPORT $((HPORT + 1)); do
  curl -s "http://127.0.0.1:$p/metrics" | grep -E '^harvest_retrieval_index' | sed "s/^/   port $p: /"
done

echo "== 1b. cross-check: top 100 of $X users from both servers (?stage=retrieval)"
hits=0 tot=0
for i in $(seq 1 "$X"); do
  u=$(( (i * 7919) % NU + 1 ))
  a=$(curl -s "http://127.0.0.1:$HPORT/movies/recommend/$u/100?stage=retrieval")
  b=$(curl -s "http://127.0.0.1:$((HPORT + 1))/movies/recommend/$u/100?stage=retrieval")
  n=$(/usr/bin/python3 -c 'import json,sys; a=json.loads(sys.argv[1])["message"]; b=json.loads(sys.argv[2])["message"]
print(len(set(a) & set(b)), len(a))' "$a" "$b")
  hits=$((hits + ${n% *})); tot=$((tot + ${n#* }))
done
echo "   served recall@100 (titles in common / exact's): $(echo "scale=4; $hits / $tot" | bc) over $X users"

echo "== 3. uncached serving: wrk -t$T -c$C -d${D}s, /movies/recommend/{1..$NU}/10, memo off"
HZ=$(getconf CLK_TCK)
for rep in $(seq 1 "$REPS"); do
  for conc in "$T $C" "1 1"; do
    for mode in exact ivf; do
      p=$HPORT pid=$SP1; [ "$mode" = ivf ] && p=$((HPORT + 1)) pid=$SP2
      l=$(load1)
      WRK_N=10 WRK_USERS=$NU wrk -t1 -c4 -d1s -s "$ROOT/bench/recommend_q.lua" "http://127.0.0.1:$p" >/dev/null 2>&1
      c0=$(cpu_ticks "$pid")
      S=$(WRK_N=10 WRK_USERS=$NU wrk -t"${conc% *}" -c"${conc#* }" -d"${D}s" --latency \
        -s "$ROOT/bench/recommend_q.lua" "http://127.0.0.1:$p" 2>&1 | sed -n 's/^SUMMARY //p')
      c1=$(cpu_ticks "$pid")
      nreq=$(echo "$S" | sed -n 's/.*requests=\([0-9]*\).*/\1/p')
      cpr=$(echo "scale=1; ($c1 - $c0) * 1000000 / $HZ / (${nreq:-0} + 1)" | bc)
      echo "   run $rep $mode -t${conc% *} -c${conc#* } (load $l): $S server_cpu_us_per_req=$cpr"
    done
  done
done

echo "== 4. FAISS peer on the same sizes: ann_peer.py --n $M --dim 64 --k 100 --queries 1000 (load $(load1))"
if /usr/bin/python3 -c "import faiss" 2>/dev/null; then
  PJ=$(/usr/bin/python3 "$PEERS/ann_peer.py" --n "$M" --dim 64 --k 100 --queries 1000 | tail -1)
  echo "   $PJ"
  /usr/bin/python3 - "$PJ" "$HUS_EXACT" "$HUS_IVF" <<'EOF'
import json, sys
p = json.loads(sys.argv[1]); he, hi = float(sys.argv[2]), float(sys.argv[3])
pe, pi = p["exact"]["us_per_query"], p["ivf_flat"]["us_per_query"]
print(f"   exact, k 100: harvest {he:.1f} us/query (wall) vs FAISS IndexFlatIP {pe:.1f} -> FAISS/harvest {pe / he:.2f}")
print(f"   index, k 100: harvest {hi:.1f} us/query (wall) vs FAISS IVF-Flat nprobe {p['ivf_flat']['nprobe']} {pi:.1f} "
      f"(recall {p['ivf_flat']['recall']}) -> FAISS/harvest {pi / hi:.2f}")
EOF
else
  echo "   skipped: /usr/bin/python3 has no faiss (apt-get install python3-faiss)"
fi
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
