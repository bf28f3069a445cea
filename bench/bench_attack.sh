#!/bin/bash
# bench_attack.sh - issue 17's "must show": under two concurrent worst-case monitoring requests and the
# slow-client attack, /healthz and /movies/recommend keep p99 < 50 ms. Loopback only.
#
# On an ml-100k home with a tutorial model in Production, `harvest serve` with its defaults, then:
#   1. baseline: wrk -t1 -c8 -d${D}s --latency on /healthz, then on /movies/recommend/{1..943}/10;
#   2. the attacks, for the whole of step 3:
#      - two clients each sending worst-case monitoring requests back to back: /monitor/drift with
#        --monitor-max-windows windows of (--monitor-max-rows / windows) ratings each (the most a request
#        may cost; the window bounds shift every request so the cache never answers), and the report's
#        original request (100 windows of 300,000 ids), which must be refused at once with 413;
#      - bench/slow_clients.py: 1,100 connections from 127.0.0.2-6 (220 each), each sending a byte every 2 s
#        of a request that never ends, reconnecting whenever the server closes one;
#   3. the same two wrk runs under attack.
# Prints the p99s with the target, the monitoring requests' statuses (200 done, 413 capped, 503 queue full)
# and the slow clients' summary (how many connections the server accepted, refused and cut at the request
# deadline). Exits 1 when a p99 under attack is >= 50 ms.
#
# Usage: bench/bench_attack.sh [-d SECS]     (default 20)
#   env HARVEST = harvest binary (default build/harvest), HPORT = port (default 18124),
#   HV_SHARED_DIR = the shared folder (default ../shared)
# Needs: wrk, curl, python3, ../shared/data/ml-100k, ../shared/peers/recommend.lua.
set -u
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SHARED="${HV_SHARED_DIR:-$ROOT/../shared}"
PEERS="$SHARED/peers"
DATA="$SHARED/data/ml-100k"
D=20
while getopts "d:" o; do case $o in d) D=$OPTARG;; *) sed -n 2,24p "$0"; exit 2;; esac; done
HARVEST="${HARVEST:-$ROOT/build/harvest}"
[ -x "$HARVEST" ] || { echo "no harvest binary; build it or set HARVEST" >&2; exit 1; }
HPORT="${HPORT:-18124}"
URL="http://127.0.0.1:$HPORT"
H="$(mktemp -d /tmp/hvattack.XXXXXX)"
KEY="bench-attack-admin-key-0123456789abcdef"
PIDS=""
cleanup() { for p in $PIDS; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$H"; }
trap cleanup EXIT

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== preparing an ml-100k home and a tutorial model in Production"
"$HARVEST" --home "$H" data import "$DATA" >/dev/null || exit 1
RUN=$("$HARVEST" --home "$H" --json train --tutorial 2>/dev/null | sed -n 's/^ *"run_id": "\([0-9a-f]*\)".*/\1/p' | head -1)
[ -n "$RUN" ] || { echo "training failed" >&2; exit 1; }
"$HARVEST" --home "$H" models register --run "$RUN" --stage Production >/dev/null || exit 1

HARVEST_ADMIN_KEY="$KEY" "$HARVEST" --home "$H" serve --port "$HPORT" --no-access-log 2>"$H/serve.log" &
SPID=$!; PIDS="$SPID"
for _ in $(seq 1 100); do curl -sf -o /dev/null "$URL/readyz" && break; sleep 0.1; done
curl -sf -o /dev/null "$URL/readyz" || { echo "harvest serve did not become ready" >&2; exit 1; }
WIN=$("$HARVEST" serve --help | sed -n 's/.*--monitor-max-windows N.*(\([0-9]*\)).*/\1/p')
ROWS=$("$HARVEST" serve --help | tr '\n' ' ' | sed -n 's/.*else 413 (\([0-9]*\)).*/\1/p')
WIN=${WIN:-20} ROWS=${ROWS:-1000000}
echo "server: defaults (per-ip 64, max-connections 1024, request-timeout 10 s, heavy-threads 1," \
     "heavy-queue 4, monitor caps $WIN windows / $ROWS ratings)"

p99() { sed -n 's/^ *99% *//p' | head -1; }
to_ms() { awk '{v=$1; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; printf "%.2f", v}'; }
measure() {  # $1 label -> prints the p99 of /healthz and of recommend
  local hz rec
  hz=$(wrk -t1 -c8 -d"${D}s" --latency "$URL/healthz" 2>&1)
  echo "$hz" | grep -E "Requests/sec|Non-2xx|Socket errors" | sed "s/^/   $1 healthz: /"
  rec=$(WRK_N=10 wrk -t1 -c8 -d"${D}s" --latency -s "$PEERS/recommend.lua" "$URL" 2>&1)
  echo "$rec" | grep -E "Requests/sec|Non-2xx|Socket errors|SUMMARY" | sed "s/^/   $1 recommend: /"
  HZ99=$(echo "$hz" | p99 | to_ms); REC99=$(echo "$rec" | p99 | to_ms)
  echo "   $1: /healthz p99 ${HZ99} ms, /movies/recommend p99 ${REC99} ms"
}

echo "== baseline (no attack): wrk -t1 -c8 -d${D}s each"
measure baseline

# worst-case monitoring: WIN windows of ROWS/WIN ratings (ids 1..100000 hold one rating each)
PER=$((ROWS / WIN))
monitor_loop() {  # $1 client number: requests back to back, statuses to $H/mon.$1
  local i=0 batches w
  while :; do
    batches=""
    for w in $(seq 1 "$WIN"); do
      local f=$(( (i * 7 + w * 13 + $1 * 1000) % (100000 - PER) + 1 ))
      batches="$batches${batches:+,}$f:$((f + PER - 1))"
    done
    curl -s -o /dev/null -w "%{http_code} %{time_total}\n" -H "X-Admin-Key: $KEY" \
      "$URL/monitor/drift?batches=$batches" >>"$H/mon.$1"
    i=$((i + 1))
  done
}
ORIG=$(python3 -c 'print(",".join("%d:%d" % (1 + i, 300000 + i) for i in range(100)))')
echo "== the report's request (100 windows of 300,000 ids):" \
     "$(curl -s -w ' -> %{http_code} in %{time_total} s' -H "X-Admin-Key: $KEY" "$URL/monitor/drift?batches=$ORIG")"

echo "== attack: 2 monitoring clients ($WIN windows x $PER ratings a request) + 1,100 slow clients from 127.0.0.2-6"
monitor_loop 1 & PIDS="$PIDS $!"
monitor_loop 2 & PIDS="$PIDS $!"
ATTACK_S=$((D * 2 + 25))
python3 "$ROOT/bench/slow_clients.py" "$HPORT" "$ATTACK_S" 1100 2 127.0.0.2-6 >"$H/slow.out" 2>&1 & SLOW=$!
PIDS="$PIDS $SLOW"
sleep 15   # the slow clients connect and hold what they can; a deadline (10 s) passes
echo "   open connections after 15 s of attack: $(ss -tn state established "( sport = :$HPORT )" | tail -n +2 | wc -l)"
echo "== under attack: wrk -t1 -c8 -d${D}s each"
measure attack
wait "$SLOW"
for p in $PIDS; do [ "$p" = "$SPID" ] || kill "$p" 2>/dev/null; done
echo "== slow clients: $(cat "$H/slow.out")"
for c in 1 2; do
  echo "== monitoring client $c: $(awk '{n[$1]++; if ($1 == 200) {t += $2; k++}} END {for (s in n) printf "%s x%d  ", s, n[s]; if (k) printf "(200s took %.1f s on average)", t / k}' "$H/mon.$c")"
done
echo "== server log: $(grep -c 'event=request_deadline' "$H/serve.log") request_deadline sweeps closing $(sed -n 's/.*event=request_deadline closed=\([0-9]*\).*/\1/p' "$H/serve.log" | awk '{s += $1} END {print s + 0}') connections"
ok=1
for v in "$HZ99" "$REC99"; do awk -v v="$v" 'BEGIN {exit !(v < 50)}' || ok=0; done
echo "RESULT under attack: /healthz p99 ${HZ99} ms, /movies/recommend p99 ${REC99} ms (target < 50 ms): $([ $ok = 1 ] && echo PASS || echo FAIL)"
[ $ok = 1 ]
