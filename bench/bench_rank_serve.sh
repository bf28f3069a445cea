#!/bin/bash
# bench_rank_serve.sh - `harvest serve` with both stages (retrieval top 100 -> ranking model -> top 10) vs
# retrieval only (?stage=retrieval) in the same run: wrk -c64 -dD on /movies/recommend/{random user}/10,
# alternating REPS times; prints requests/s, p99 and server CPU per request (utime + stime of the server
# process over the requests it counted) of each, and the ratio (goal >= 0.8x, p99 < 2 ms).
# Usage: bench/bench_rank_serve.sh [-p] [-d SECS] [-r REPS]   env HARVEST (default build/harvest), HPORT
#   (18124), SERVE_ARGS (extra harvest serve flags, e.g. "--cache-n 20": the memo too shallow for the 100
#   candidates)
#   default: server and wrk -t2 share every core (bench_serve.sh's wrk -t2 -c64, so the figures compare)
#   -p: the server on CPU 0 (taskset; --threads follows it: 1 worker) and wrk -t1 on CPU 1, as a
#       deployment gives the server cores of its own; needs 2 cores
# Needs: wrk, curl, ml-100k in ../shared/data (or env DATA). Runs wrk and the server under nice -n 10.
# Figures: docs/serving.md (session 11, quiet, -d 15 -r 5: shared and -p; session 10, quiet: 1.01x, p99
#   2.97 vs 2.63 ms). Re-measure on a quiet machine:
#   bench/bench_rank_serve.sh -d 15 -r 5;  bench/bench_rank_serve.sh -p -d 15 -r 5;
#   SERVE_ARGS="--cache-n 0" bench/bench_rank_serve.sh -d 15 -r 3
set -u
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
. "$ROOT/bench/lib.sh"
DATA="${DATA:-$ROOT/../shared/data/ml-100k}"
LUA="$ROOT/bench/recommend_q.lua"
D=10 REPS=3 PIN=0
while getopts "pd:r:" o; do
  case $o in p) PIN=1;; d) D=$OPTARG;; r) REPS=$OPTARG;; *) sed -n 2,12p "$0"; exit 2;; esac
done
SPIN="" WPIN="" WT=2
if [ "$PIN" = 1 ]; then
  [ "$(nproc)" -ge 2 ] || { echo "-p needs 2 cores, this machine lets us use $(nproc)" >&2; exit 2; }
  SPIN="taskset -c 0" WPIN="taskset -c 1" WT=1
fi
HARVEST="${HARVEST:-$ROOT/build/harvest}"
HPORT="${HPORT:-18124}"
URL="http://127.0.0.1:$HPORT"
H="$(mktemp -d /tmp/hvrankserve.XXXXXX)"
SPID=""
cleanup() { [ -n "$SPID" ] && kill "$SPID" 2>/dev/null; wait 2>/dev/null; rm -rf "$H"; }
trap cleanup EXIT
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) (shared)"
"$HARVEST" --home "$H" data import "$DATA" >/dev/null || exit 1
R1=$("$HARVEST" --home "$H" --json train 2>/dev/null | run_id)
R2=$("$HARVEST" --home "$H" --json train --task ranking 2>/dev/null | run_id)
[ -n "$R1" ] && [ -n "$R2" ] || { echo "training failed" >&2; exit 1; }
"$HARVEST" --home "$H" models register --run "$R1" --stage Production >/dev/null || exit 1
"$HARVEST" --home "$H" models register --run "$R2" --name harvest_ranker --stage Production >/dev/null || exit 1
# shellcheck disable=SC2086
nice -n 10 $SPIN "$HARVEST" --home "$H" serve --port "$HPORT" ${SERVE_ARGS:-} >/dev/null 2>&1 &
SPID=$!
for _ in $(seq 100); do curl -sf "$URL/readyz" >/dev/null && break; sleep 0.1; done
echo "serve flags: ${SERVE_ARGS:-(defaults)}; default stage: blend; $(if [ "$PIN" = 1 ]; then
  echo "server on CPU 0, wrk -t1 on CPU 1"; else echo "server and wrk -t2 share the cores"; fi)"
echo "X-Model-Version: $(curl -s -D - -o /dev/null "$URL/movies/recommend/1/10" | tr -d '\r' | sed -n 's/^X-Model-Version: //Ip')"
HZ=$(getconf CLK_TCK)
# one wrk run; its SUMMARY line plus cpu_us (server CPU per request it counted)
wrk_run() {
  local c0 r0 s c1 r1
  c0=$(cpu_ticks "$SPID") r0=$(served "$URL")
  # shellcheck disable=SC2086
  s=$(WRK_QUERY="$1" nice -n 10 $WPIN wrk -t$WT -c64 -d"${D}s" --latency -s "$LUA" "$URL" | sed -n 's/^SUMMARY //p')
  c1=$(cpu_ticks "$SPID") r1=$(served "$URL")
  echo "$s cpu_us=$(awk -v c="$((c1 - c0))" -v n="$((${r1:-0} - ${r0:-0}))" -v hz="$HZ" \
    'BEGIN {printf "%.1f", (n > 0 ? c * 1e6 / hz / n : 0)}')"
}
wrk_run "" >/dev/null   # warm-up (memo, pages)
B_RPS="" B_P99="" B_CPU="" R_RPS="" R_P99="" R_CPU=""
for _ in $(seq "$REPS"); do
  s=$(wrk_run ""); echo "both stages    $s"; B_RPS="$B_RPS $(field "$s" rps)"; B_P99="$B_P99 $(field "$s" p99_ms)"
  B_CPU="$B_CPU $(field "$s" cpu_us)"
  s=$(wrk_run "?stage=retrieval"); echo "retrieval only $s"; R_RPS="$R_RPS $(field "$s" rps)"; R_P99="$R_P99 $(field "$s" p99_ms)"
  R_CPU="$R_CPU $(field "$s" cpu_us)"
done
b=$(echo "$B_RPS" | median) rr=$(echo "$R_RPS" | median)
echo "median: both stages $b req/s p99 $(echo "$B_P99" | median) ms cpu $(echo "$B_CPU" | median) us/req;" \
  "retrieval only $rr req/s p99 $(echo "$R_P99" | median) ms cpu $(echo "$R_CPU" | median) us/req"
echo "ratio both / retrieval-only: $(echo "$b $rr" | awk '{printf "%.2fx", $1 / $2}') (goal >= 0.8x, p99 < 2 ms)"
