#!/bin/bash
# bench_serve.sh - `harvest serve` against the FastAPI peer (2 workers) and nginx serving a static 1 KB file,
# same wrk settings (wrk -t2 -c64 -d15s, random users 1..943 on /movies/recommend/{user}/10 via
# ../shared/peers/recommend.lua), in one run on this machine; then 10 hot swaps of the Production model under load
# (each a new registry version moved to Production with `harvest models register --stage Production`),
# and the server's RSS with ml-100k loaded, after warm-up and after >= 1,000,000 requests.
#
# Usage: bench/bench_serve.sh [-d SECS] [-c CONNS] [-t WRK_THREADS] [-s SWAPS] [-r REPS] [-T SERVER_THREADS]
#                            [-X "MORE SERVE ARGS"]
#   -r REPS     measure harvest and nginx REPS times, alternating (default 3), and compare the medians: on a
#               shared 2-core machine one 15 s run of either swings by 2x with the neighbours' load
#   -T N        harvest serve --threads N (default: the server's own default)
#   -X ARGS     more `harvest serve` arguments, e.g. -X "--cache-n 0" (no per-user memo: every request scores
#               all movies) or -X "--slice-us 0" (kernel scheduler defaults, no yielding)
#   env HARVEST = harvest binary (default: build-srv/harvest, else build/harvest)
#   env HPORT   = port for harvest (default 18123)
# Harvest runs with its access log on, written to /dev/null (the formatting and write(2) per request are paid).
# Prints one line per run with the 1-minute load average before it (the targets are for a quiet machine), the
# harvest server's CPU time per request (user+system, from /proc: steadier than requests/s under load), the
# ratios against the targets (>= 6x peer, p99 < 2 ms, >= 0.8x nginx), the swap results and the RSS numbers.
# Needs: wrk, curl, nginx, bc, /usr/bin/python3 with fastapi/uvicorn (the peer).
set -u
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
. "$ROOT/bench/lib.sh"
PEERS="$ROOT/../shared/peers"
DATA="$ROOT/../shared/data/ml-100k"
D=15 C=64 T=2 SWAPS=10 REPS=3 STHREADS="" XARGS=""
while getopts "d:c:t:s:r:T:X:" o; do case $o in
  d) D=$OPTARG;; c) C=$OPTARG;; t) T=$OPTARG;; s) SWAPS=$OPTARG;; r) REPS=$OPTARG;; T) STHREADS=$OPTARG;;
  X) XARGS=$OPTARG;; *) sed -n 2,22p "$0"; exit 2;; esac; done
HARVEST="${HARVEST:-}"
for b in "$HARVEST" "$ROOT/build-srv/harvest" "$ROOT/build/harvest"; do
  [ -n "$b" ] && [ -x "$b" ] && { HARVEST="$b"; break; }; done
[ -x "$HARVEST" ] || { echo "no harvest binary; build it or set HARVEST" >&2; exit 1; }
HPORT="${HPORT:-18123}"
URL="http://127.0.0.1:$HPORT"
H="$(mktemp -d /tmp/hvbench.XXXXXX)"
LOGDIR="$H/logs"; mkdir -p "$LOGDIR"
SPID=""
cleanup() { [ -n "$SPID" ] && kill "$SPID" 2>/dev/null; wait 2>/dev/null; rm -rf "$H"; }
trap cleanup EXIT

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
version_of() { curl -s -D - -o /dev/null "$URL/movies/recommend/1/10" | tr -d '\r' | sed -n 's/^X-Model-Version: //Ip'; }

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) (shared with other engineers' builds)"
echo "== preparing ml-100k home and two models (tutorial config, seeds 42 and 43)"
"$HARVEST" --home "$H" data import "$DATA" >/dev/null || exit 1
RUN1=$("$HARVEST" --home "$H" --json train --tutorial 2>/dev/null | run_id)
RUN2=$("$HARVEST" --home "$H" --json train --tutorial --seed 43 2>/dev/null | run_id)
[ -n "$RUN1" ] && [ -n "$RUN2" ] || { echo "training the two models failed" >&2; exit 1; }
promote() { "$HARVEST" --home "$H" models register --run "$1" --stage Production --archive-existing >/dev/null; }
promote "$RUN1" || exit 1   # harvest_recommender version 1

# shellcheck disable=SC2086  # XARGS is a list of arguments
"$HARVEST" --home "$H" serve --port "$HPORT" ${STHREADS:+--threads "$STHREADS"} \
  $XARGS 2>/dev/null & SPID=$!
for i in $(seq 1 100); do curl -sf -o /dev/null "$URL/readyz" && break; sleep 0.1; done
curl -sf -o /dev/null "$URL/readyz" || { echo "harvest serve did not become ready" >&2; exit 1; }
kill -0 "$SPID" 2>/dev/null || { echo "harvest serve exited (is port $HPORT taken? set HPORT)" >&2; exit 1; }
RSS0=$(rss_kb $SPID)

HZ=$(getconf CLK_TCK)
HRPS="" HP99="" NRPS="" NP99="" TOTAL=0
for rep in $(seq 1 "$REPS"); do
  echo "== run $rep/$REPS: harvest serve${STHREADS:+ --threads $STHREADS}${XARGS:+ $XARGS}, wrk -t$T -c$C -d${D}s on /movies/recommend/{1..943}/10 (load $(load1))"
  c0=$(cpu_ticks $SPID) r0=$(served "$URL")
  HLINE=$(LOGDIR=$LOGDIR "$PEERS/run_serve_bench.sh" -t "$T" -c "$C" -d "$D" -l harvest "$URL")
  c1=$(cpu_ticks $SPID) r1=$(served "$URL")
  n=$(field "$HLINE" requests)
  # CPU over the warm-up and the run, per request served in both (from /metrics)
  echo "$HLINE server_cpu_us_per_req=$(echo "scale=2; ($c1 - $c0) * 1000000 / $HZ / (${r1:-0} - ${r0:-0} + 1)" | bc)"
  HRPS="$HRPS $(field "$HLINE" rps)" HP99="$HP99 $(field "$HLINE" p99_ms)"
  TOTAL=$((TOTAL + n))
  echo "== run $rep/$REPS: nginx static 1 KB JSON, same wrk settings (load $(load1))"
  NLINE=$(LOGDIR=$LOGDIR bash "$PEERS/bench_nginx_static.sh" -t "$T" -c "$C" -d "$D" 2>/dev/null)
  echo "$NLINE"
  NRPS="$NRPS $(field "$NLINE" rps)" NP99="$NP99 $(field "$NLINE" p99_ms)"
done
RSS1=$(rss_kb $SPID)

echo "== $SWAPS hot swaps of the Production model under the same load"
SW="$LOGDIR/swap_wrk.log"
WRK_N=10 wrk -t"$T" -c"$C" -d"$((SWAPS * 2 + 4))s" --latency -s "$PEERS/recommend.lua" "$URL" >"$SW" 2>&1 &
WPID=$!
sleep 2
OKSWAPS=0 STALE=0 MAXVIS=0
for k in $(seq 1 "$SWAPS"); do
  run=$([ $((k % 2)) -eq 1 ] && echo "$RUN2" || echo "$RUN1")   # alternate the two models
  want="harvest_recommender/$((k + 1))"
  t0=$(date +%s.%N)
  promote "$run" || echo "registering version $((k + 1)) failed" >&2
  seen=""
  for i in $(seq 1 300); do v=$(version_of); [ "$v" = "$want" ] && { seen=1; break; }; sleep 0.01; done
  t1=$(date +%s.%N)
  vis=$(echo "$t1 - $t0" | bc)
  MAXVIS=$(echo "if ($vis > $MAXVIS) $vis else $MAXVIS" | bc)
  if [ -n "$seen" ]; then
    OKSWAPS=$((OKSWAPS + 1))
    for i in $(seq 1 20); do [ "$(version_of)" = "$want" ] || STALE=$((STALE + 1)); done
  fi
  sleep 1
done
wait $WPID
SSUM=$(sed -n 's/^SUMMARY //p' "$SW")
echo "swaps visible: $OKSWAPS/$SWAPS (slowest ${MAXVIS}s after the new version went to Production);" \
     "responses after a swap from the old version: $STALE of $((OKSWAPS * 20));" \
     "wrk during swaps: $SSUM"
TOTAL=$((TOTAL + $(field "$SSUM" requests)))
# leak check: RSS after each further 5 s of load (at least 4 of them, and >= 1,000,000 requests in all)
SERIES="" k=0
while [ "$k" -lt 4 ] || [ "$TOTAL" -lt 1000000 ]; do
  EX=$(WRK_N=10 wrk -t"$T" -c"$C" -d5s -s "$PEERS/recommend.lua" "$URL" 2>&1 | sed -n 's/^SUMMARY //p')
  TOTAL=$((TOTAL + $(field "$EX" requests))) k=$((k + 1))
  SERIES="$SERIES $(rss_kb $SPID)@$TOTAL"
done
echo "RSS kB after each further 5 s of load (kB@requests so far):$SERIES"
RSS2=$(rss_kb $SPID)
kill -TERM $SPID; wait $SPID; SRC=$?; SPID=""
echo "RSS of harvest serve with ml-100k: ${RSS0} kB after start, ${RSS1} kB after the measured runs," \
     "${RSS2} kB after $TOTAL requests; exit status on SIGTERM: $SRC"

echo "== FastAPI peer, 2 workers (same wrk settings; load $(load1))"
PLINE=$(LOGDIR=$LOGDIR "$PEERS/run_serve_bench.sh" -w 2 -t "$T" -c "$C" -d "$D")
echo "$PLINE"

HR=$(echo "$HRPS" | median) HP=$(echo "$HP99" | median) NR=$(echo "$NRPS" | median) NP=$(echo "$NP99" | median)
PR=$(field "$PLINE" rps)
echo "== summary (medians of $REPS runs; load average now $(cut -d' ' -f1-3 /proc/loadavg))"
printf "harvest %s req/s p99 %s ms | nginx %s req/s p99 %s ms | peer %s req/s\n" "$HR" "$HP" "$NR" "$NP" "$PR"
printf "ratio harvest/peer = %.2fx (target >= 6)   harvest/nginx = %.2fx (target >= 0.8)   p99 %s ms (target < 2)\n" \
  "$(echo "$HR / $PR" | bc -l)" "$(echo "$HR / $NR" | bc -l)" "$HP"
