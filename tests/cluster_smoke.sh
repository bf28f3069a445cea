#!/usr/bin/env bash
# cluster_smoke.sh SRC_DIR HARVEST_BIN - CTest cluster_smoke: the topology
# of deploy/cluster.sh (PostgreSQL in a temp folder, two replicas, nginx
# with TLS, harvest watch) brought up on free ports and checked:
#   1. a promotion reaches both replicas within 1 s (the transition's audit
#      time to each replica's model_loaded log line), /readyz says so;
#   2. a request through nginx over TLS (its throwaway certificate as the
#      CA) answers 200 with the promoted X-Model-Version, and nginx passes
#      X-Forwarded-Proto https;
#   3. replica 1 killed with SIGKILL: 40 GETs through nginx all 200 (nginx
#      retries on replica 2); started again, ready;
#   4. status reports every part running; down --purge leaves nothing.
# Skips (77) with a message when nginx, openssl, curl or the PostgreSQL
# server binaries are absent.
set -u
src=$1 bin=$2
for t in nginx openssl curl; do
  command -v $t >/dev/null || { echo "SKIP: $t absent (apt-get install nginx openssl curl)"; exit 77; }
done
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 ||
  { echo "SKIP: no PostgreSQL server binaries (apt-get install postgresql-15)"; exit 77; }

dir=$(mktemp -d "${TMPDIR:-/tmp}/hv-cluster.XXXXXX") || exit 1
chmod 755 "$dir" # postgres and nginx's workers reach into it
# five ports below Linux's ephemeral range (32768-60999: a client's
# connection may take one of those between the choice and the bind), none
# of them listened on
in_use() { ss -Htan "( sport >= :$1 and sport <= :$(($1 + 4)) )" 2>/dev/null | grep -q .; }
base=$(( 20000 + ($$ % 1200) * 10 ))
for _ in $(seq 1 50); do
  in_use $base || break
  base=$(( 20000 + (RANDOM % 1200) * 10 ))
done
export HARVEST_BIN=$bin HV_CLUSTER_DIR=$dir/c HV_CLUSTER_WATCH=1h
export HV_CLUSTER_PORTS="$base $((base + 1))" HV_CLUSTER_HTTP=$((base + 2))
export HV_CLUSTER_HTTPS=$((base + 3)) HV_CLUSTER_PG=$((base + 4))
cl="$src/deploy/cluster.sh"
cleanup() { "$cl" down --purge >/dev/null 2>&1; rm -rf "$dir"; }
trap cleanup EXIT INT TERM
fail() { echo "FAIL: $*"; for f in "$dir"/c/run/*.log; do echo "== $f"; tail -n 5 "$f"; done; exit 1; }

"$cl" up || fail "cluster.sh up"
url="postgresql:///harvest?host=$dir/c/pg-run&port=$((base + 4))&user=postgres"
h() { "$bin" --home "$dir/c/home" --db "$url" "$@"; }
ca=$dir/c/nginx/tls/harvest.crt

# 1. a promotion: the Production run registered again as a new version
run=$(h models show harvest_recommender --json | grep -A1 '"stage": "Production"' |
  grep -o '[0-9a-f]\{32\}' | head -n 1)
[ -n "$run" ] || fail "no Production run to promote"
out=$(h models register --run "$run" --stage Production --archive-existing --json) ||
  fail "models register: $out"
v=$(echo "$out" | grep -o '"version": *[0-9]*' | grep -o '[0-9]*$')
# from the transition's audit time (written in its transaction) to the
# model_loaded line of the new version in each replica's log: the database
# and the servers, not the command's start-up on a loaded machine
psql=$(ls /usr/lib/postgresql/*/bin/psql | sort -V | tail -n 1)
ta=$("$psql" -qtA -h "$dir/c/pg-run" -p $((base + 4)) -U postgres harvest -c \
  "SELECT time FROM registry_audit WHERE model = 'harvest_recommender' AND version = $v AND to_stage = 'Production'")
[ -n "$ta" ] || fail "no audit row of version $v"
worst=0
for r in 1 2; do
  line=""
  for i in $(seq 1 100); do
    line=$(grep "event=model_loaded .*version=$v " "$dir/c/run/replica$r.log") && break
    sleep 0.05
  done
  [ -n "$line" ] || fail "replica $r never loaded version $v"
  t1=$(date -d "$(echo "$line" | tail -n 1 | sed 's/^ts=\([^ ]*\) .*/\1/')" +%s.%N)
  d=$(echo "$t1 - $ta" | bc)
  [ "$(echo "$d > $worst" | bc)" = 1 ] && worst=$d
done
echo "promotion to version $v loaded on both replicas ${worst} s after its transition was written"
[ "$(echo "$worst < 1.0" | bc)" = 1 ] || fail "promotion took ${worst} s"
for port in $base $((base + 1)); do
  curl -s "http://127.0.0.1:$port/readyz" | grep -q "\"version\": *$v[,}]" ||
    fail "replica on $port does not answer version $v"
done

# 2. TLS through nginx
hdr=$(curl -sS -D - -o /dev/null --cacert "$ca" "https://127.0.0.1:$((base + 3))/movies/recommend/3/5") ||
  fail "TLS request"
echo "$hdr" | grep -q "^HTTP/1.1 200" || fail "TLS request: $hdr"
echo "$hdr" | grep -qi "X-Model-Version: harvest_recommender/$v" || fail "TLS answer not version $v: $hdr"
grep -q 'proto=https' "$dir/c/nginx/logs/access.log" || sleep 1.5
grep -q 'proto=https' "$dir/c/nginx/logs/access.log" || fail "nginx access log has no https line"
echo "TLS: 200 from version $v through nginx"

# 3. a replica killed: nginx answers from the other
"$cl" replica 1 kill
bad=0
for i in $(seq 1 40); do
  code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$ca" "https://127.0.0.1:$((base + 3))/movies/recommend/$((i % 20 + 1))/5")
  [ "$code" = 200 ] || bad=$((bad + 1))
done
[ "$bad" = 0 ] || fail "$bad of 40 GETs failed with replica 1 killed"
echo "replica 1 killed (SIGKILL): 40 of 40 GETs through nginx answered 200"
"$cl" replica 1 start >/dev/null || fail "replica 1 restart"

# 4. status, down
"$cl" status || fail "status after the restart"
"$cl" down --purge || fail "down"
[ ! -e "$dir/c" ] || fail "down --purge left $dir/c"
echo "cluster down, folder removed"
exit 0
