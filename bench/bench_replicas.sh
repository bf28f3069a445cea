#!/usr/bin/env bash
# bench_replicas.sh - issue 13's must-show for replicated serving, in one run
# on the topology of deploy/cluster.sh (PostgreSQL in a temp folder, two
# replicas, nginx, watch; ml-100k-shaped synth data: 943 users, 1682 movies,
# 100,000 ratings, a dim-32 model in Production):
#   1. throughput: wrk -t2 -cC -dD on /movies/recommend/{random user 1..943}/10
#      through nginx to 2 replicas vs to 1 replica direct (same run,
#      alternating, R times each; medians), with the server CPU per request
#      (user+system of the replicas and nginx from /proc over the run);
#   2. a replica SIGKILLed mid-run (at D/3) and started again (at D/2):
#      failed GETs (non-2xx + socket errors, from wrk) through nginx;
#   3. a rolling restart (replica 1 SIGTERM, start, ready; then replica 2)
#      under wrk: failed requests;
#   4. 20 promotions under wrk load: the time from the start of each
#      `harvest models register --stage Production` to the model_loaded line
#      of the new version in both replicas' logs (the CLI's start-up, its
#      connection and the artifact's SHA-256 check included), and from the
#      transition's audit time (written in its transaction) to the same
#      lines (the database and the servers only); p50 and p100.
# Exits 1 when 2 or 3 failed a request or 4's p100 is over 1 s.
#
# Usage: bench/bench_replicas.sh [-d SECS] [-c CONNS] [-r REPS]
#   env HARVEST = harvest binary (default build/harvest)
# Needs: wrk, curl, nginx, openssl, bc, postgresql-15. Run it with nice on a
# quiet machine: it has 2 cores and wrk, nginx and two replicas share them.
set -u
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
D=20 C=32 R=2
while getopts "d:c:r:" o; do case $o in
  d) D=$OPTARG;; c) C=$OPTARG;; r) R=$OPTARG;; *) sed -n 2,24p "$0"; exit 2;; esac; done
HARVEST=${HARVEST:-$ROOT/build/harvest}
[ -x "$HARVEST" ] || { echo "no harvest binary at $HARVEST" >&2; exit 1; }
for t in wrk curl nginx openssl bc; do
  command -v $t >/dev/null || { echo "bench_replicas: needs $t" >&2; exit 1; }
done
W=$(mktemp -d /tmp/hv-benchrep.XXXXXX)
chmod 755 "$W"
export HARVEST_BIN=$HARVEST HV_CLUSTER_DIR=$W/c HV_CLUSTER_WATCH=1h
export HV_CLUSTER_PORTS="18301 18302" HV_CLUSTER_HTTP=18303 HV_CLUSTER_HTTPS=18304 HV_CLUSTER_PG=18305
export HV_CLUSTER_SYNTH="--users 943 --movies 1682 --ratings 100000 --days 215"
export HV_CLUSTER_TUNE="--grid dim=32 --epochs 3"
CL="$ROOT/deploy/cluster.sh"
cleanup() { "$CL" down --purge >/dev/null 2>&1; rm -rf "$W"; }
trap cleanup EXIT INT TERM
URL="postgresql:///harvest?host=$W/c/pg-run&port=18305&user=postgres"
h() { "$HARVEST" --home "$W/c/home" --db "$URL" "$@"; }

cat > "$W/rec.lua" <<'EOF'
request = function()
  return wrk.format("GET", "/movies/recommend/" .. math.random(1, 943) .. "/10")
end
EOF

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
t0=$(date +%s)
"$CL" up > "$W/up.log" 2>&1 || { cat "$W/up.log"; exit 1; }
echo "cluster up in $(( $(date +%s) - t0 )) s (seeding included)"

# CPU seconds (user + system) of the pids in the pid files given
cpu_of() {
  local tot=0 pid f
  for f in "$@"; do
    for pid in $(cat "$f" 2>/dev/null) $(pgrep -P "$(cat "$f" 2>/dev/null)" 2>/dev/null); do
      [ -r /proc/$pid/stat ] || continue
      tot=$(( tot + $(awk '{print $14 + $15}' /proc/$pid/stat) ))
    done
  done
  echo "$tot"
}
TICK=$(getconf CLK_TCK)
# wrk for SECS on TARGET; prints "req/s requests failed"
wrk_run() {
  local out
  out=$(wrk -t2 -c"$C" -d"$2"s --timeout 5s -s "$W/rec.lua" "$1")
  echo "$out" > "$W/wrk.last"
  local rps n non sock
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  n=$(echo "$out" | awk '/requests in/ {print $1}')
  non=$(echo "$out" | awk '/Non-2xx/ {print $5}')
  sock=$(echo "$out" | awk -F'[ ,]+' '/Socket errors/ {print $5 + $7 + $9 + $11}')
  echo "$rps $n $(( ${non:-0} + ${sock:-0} ))"
}

echo "== 1. throughput: $R x ${D}s each, wrk -t2 -c$C"
direct=() viang=() cpud=() cpun=()
for i in $(seq 1 "$R"); do
  c0=$(cpu_of "$W/c/run/replica1.pid")
  read -r rps n f < <(wrk_run "http://127.0.0.1:18301" "$D")
  c1=$(cpu_of "$W/c/run/replica1.pid")
  us=$(echo "scale=1; ($c1 - $c0) * 1000000 / $TICK / $n" | bc)
  echo "  direct to replica 1: $rps req/s ($n requests, $f failed), server CPU $us us/request"
  direct+=("$rps"); cpud+=("$us")
  c0=$(cpu_of "$W/c/run/replica1.pid" "$W/c/run/replica2.pid" "$W/c/run/nginx.pid")
  read -r rps n f < <(wrk_run "http://127.0.0.1:18303" "$D")
  c1=$(cpu_of "$W/c/run/replica1.pid" "$W/c/run/replica2.pid" "$W/c/run/nginx.pid")
  us=$(echo "scale=1; ($c1 - $c0) * 1000000 / $TICK / $n" | bc)
  echo "  nginx -> 2 replicas: $rps req/s ($n requests, $f failed), server CPU (replicas + nginx) $us us/request"
  viang+=("$rps"); cpun+=("$us")
done
med() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
md=$(med "${direct[@]}") mn=$(med "${viang[@]}")
echo "  median: nginx+2 $mn vs direct $md req/s, ratio $(echo "scale=2; $mn / $md" | bc);" \
     "CPU $(med "${cpun[@]}") vs $(med "${cpud[@]}") us/request"

fails=0
echo "== 2. replica 1 SIGKILLed at $((D / 3))s, started at $((D / 2))s, wrk ${D}s through nginx"
( sleep $((D / 3)); "$CL" replica 1 kill; sleep $((D / 2 - D / 3)); "$CL" replica 1 start ) > "$W/kill.log" 2>&1 &
read -r rps n f < <(wrk_run "http://127.0.0.1:18303" "$D")
wait
echo "  $f failed of $n GETs ($rps req/s); $(grep -c . "$W/kill.log") lines from the kill/start: $(tr '\n' ' ' < "$W/kill.log")"
[ "$f" = 0 ] || { fails=1; cat "$W/wrk.last"; }

RD=$((D * 2))
echo "== 3. rolling restart of both replicas (SIGTERM, start, ready; one at a time) under wrk ${RD}s"
# between two replicas, nginx's fail_timeout (5 s): the one just back may
# still be marked failed, and with both out nginx sends to the backup
( sleep 2; for r in 1 2; do "$CL" replica $r stop; "$CL" replica $r start; sleep 6; done ) > "$W/roll.log" 2>&1 &
read -r rps n f < <(wrk_run "http://127.0.0.1:18303" "$RD")
wait
echo "  $f failed of $n requests ($rps req/s); restarts: $(grep -c 'replica' "$W/roll.log") of 2"
[ "$f" = 0 ] || { fails=1; cat "$W/wrk.last"; }

echo "== 4. 20 promotions under wrk load (through nginx)"
run=$(h models show harvest_recommender --json | grep -A1 '"stage": "Production"' |
      grep -o '[0-9a-f]\{32\}' | head -n 1)
wrk -t1 -c8 -d120s -s "$W/rec.lua" "http://127.0.0.1:18303" > "$W/wrk.promo" 2>&1 &
WPID=$!
sleep 1
lat=() inlat=()
PSQL=$(ls /usr/lib/postgresql/*/bin/psql | sort -V | tail -n 1)
audit_t() { # when version $1's transition to Production was written
  $PSQL -qtA -h "$W/c/pg-run" -p 18305 -U postgres harvest -c \
    "SELECT time FROM registry_audit WHERE model = 'harvest_recommender' AND version = $1 AND to_stage = 'Production' ORDER BY time DESC LIMIT 1"
}
ts_of() { # epoch seconds of the model_loaded line of version $2 in log $1
  local ts
  ts=$(grep "event=model_loaded .*version=$2 " "$1" | tail -n 1 | sed 's/^ts=\([^ ]*\) .*/\1/')
  [ -n "$ts" ] && date -d "$ts" +%s.%N
}
for k in $(seq 1 20); do
  t0=$(date +%s.%N)
  v=$(h models register --run "$run" --stage Production --archive-existing --json |
      grep -o '"version": *[0-9]*' | grep -o '[0-9]*$')
  worst=0 inworst=0
  ta=$(audit_t "$v")
  for r in 1 2; do
    for i in $(seq 1 500); do
      t1=$(ts_of "$W/c/run/replica$r.log" "$v") && break
      sleep 0.01
    done
    [ -n "$t1" ] || { echo "  version $v never loaded on replica $r"; fails=1; continue; }
    d=$(echo "$t1 - $t0" | bc)
    [ "$(echo "$d > $worst" | bc)" = 1 ] && worst=$d
    d=$(echo "$t1 - $ta" | bc)
    [ "$(echo "$d > $inworst" | bc)" = 1 ] && inworst=$d
  done
  lat+=("$worst") inlat+=("$inworst")
  sleep 0.3
done
kill "$WPID" 2>/dev/null; wait "$WPID" 2>/dev/null
sorted=$(printf '%s\n' "${lat[@]}" | sort -g)
p50=$(echo "$sorted" | sed -n 10p) p100=$(echo "$sorted" | tail -n 1)
echo "  command start -> loaded on both replicas: p50 $(echo "$p50 * 1000" | bc | cut -d. -f1) ms," \
     "p100 $(echo "$p100 * 1000" | bc | cut -d. -f1) ms (20 promotions)"
insorted=$(printf '%s\n' "${inlat[@]}" | sort -g)
echo "  in the database and servers (the transition's audit time, in its transaction, -> loaded on both):" \
     "p50 $(echo "$(echo "$insorted" | sed -n 10p) * 1000" | bc | cut -d. -f1) ms," \
     "p100 $(echo "$(echo "$insorted" | tail -n 1) * 1000" | bc | cut -d. -f1) ms"
[ "$(echo "$p100 <= 1.0" | bc)" = 1 ] || fails=1
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
exit $fails
