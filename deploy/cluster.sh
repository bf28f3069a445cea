#!/usr/bin/env bash
# cluster.sh up|down|status|replica N start|stop|kill - Harvest's
# production topology on one machine, from Debian packages (postgresql-15,
# nginx, openssl): a throwaway PostgreSQL cluster in a folder, two
# `harvest serve` replicas on it (127.0.0.1:8001 and :8002), nginx in
# front (deploy/nginx.conf: http 127.0.0.1:8080, https 127.0.0.1:8443 with
# a throwaway self-signed certificate) and `harvest watch` retraining.
# deploy/compose.yaml is the same topology in containers (docs/deploy.md).
#
#   deploy/cluster.sh up        start what is not running (seeds an empty
#                               database: synth ratings, a tuned model
#                               registered in Production)
#   deploy/cluster.sh status    each part: running or not, /readyz
#   deploy/cluster.sh replica 2 kill|stop|start   one replica (SIGKILL,
#                               graceful SIGTERM, start and wait ready)
#   deploy/cluster.sh down      stop everything (the folder stays; add
#                               --purge to delete it)
#
# Environment: HV_CLUSTER_DIR (default ./harvest-cluster), HARVEST_BIN
# (default: harvest next to this script's build/, else on PATH),
# HV_CLUSTER_PORTS ("8001 8002"), HV_CLUSTER_HTTP (8080), HV_CLUSTER_HTTPS
# (8443), HV_CLUSTER_PG (5433: the name of PostgreSQL's unix socket in the
# folder; it listens on no TCP port), HV_CLUSTER_WATCH (watch --interval,
# 5m), HV_CLUSTER_SEED (1: seed an empty database; 0: leave it empty),
# HV_CLUSTER_SYNTH / HV_CLUSTER_TUNE (the seed's `data synth` and `tune`
# arguments).
# As root, PostgreSQL runs as the user postgres (initdb refuses root) and
# nginx's workers as nobody.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=${HV_CLUSTER_DIR:-./harvest-cluster}
[ "${1:-}" = up ] && mkdir -p "$dir"
dir=$(cd "$dir" 2>/dev/null && pwd || echo "$dir")
bin=${HARVEST_BIN:-}
if [ -z "$bin" ]; then
  if [ -x "$here/../build/harvest" ]; then bin=$here/../build/harvest
  else bin=$(command -v harvest || true); fi
fi
read -r -a ports <<< "${HV_CLUSTER_PORTS:-8001 8002}"
http=${HV_CLUSTER_HTTP:-8080} https=${HV_CLUSTER_HTTPS:-8443}
pgport=${HV_CLUSTER_PG:-5433}
pgbin=${HV_PG_BINDIR:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
home=$dir/home run=$dir/run ng=$dir/nginx
url="postgresql:///harvest?host=$dir/pg-run&port=$pgport&user=postgres"
as=()
[ "$(id -u)" -eq 0 ] && as=(runuser -u postgres --)

die() { echo "cluster.sh: $*" >&2; exit 1; }
need() {
  [ -n "$bin" ] && [ -x "$bin" ] || die "no harvest binary (build it, or set HARVEST_BIN)"
  [ -n "$pgbin" ] && [ -x "$pgbin/pg_ctl" ] || die "no PostgreSQL server binaries (apt-get install postgresql-15)"
  command -v nginx >/dev/null || die "no nginx (apt-get install nginx)"
  command -v openssl >/dev/null || die "no openssl (apt-get install openssl)"
}
alive() { [ -f "$run/$1.pid" ] && kill -0 "$(cat "$run/$1.pid")" 2>/dev/null; }
h() { "$bin" --home "$home" --db "$url" "$@"; }
# wait until curl ARGS... succeeds (60 s)
wait_for() {
  local i
  for i in $(seq 1 600); do
    curl -fsS -o /dev/null --max-time 2 "$@" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

pg_up() {
  if [ ! -f "$dir/pg/PG_VERSION" ]; then
    mkdir -p "$dir/pg" "$dir/pg-run"
    [ ${#as[@]} -gt 0 ] && chown postgres "$dir/pg" "$dir/pg-run"
    chmod 700 "$dir/pg"
    "${as[@]}" "$pgbin/initdb" -D "$dir/pg" -A trust -U postgres -E UTF8 \
      --locale=C > "$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log"; die "initdb failed"; }
  fi
  if ! "${as[@]}" "$pgbin/pg_ctl" -D "$dir/pg" status >/dev/null 2>&1; then
    "${as[@]}" "$pgbin/pg_ctl" -D "$dir/pg" -l "$dir/pg-run/postgresql.log" -w \
      -o "-k $dir/pg-run -p $pgport -c listen_addresses= -c max_connections=200" \
      start >/dev/null || { tail -n 20 "$dir/pg-run/postgresql.log"; die "PostgreSQL did not start"; }
  fi
  "${as[@]}" "$pgbin/psql" -h "$dir/pg-run" -p "$pgport" -U postgres -qtAc \
    "SELECT 1 FROM pg_database WHERE datname = 'harvest'" | grep -q 1 ||
    "${as[@]}" "$pgbin/psql" -h "$dir/pg-run" -p "$pgport" -U postgres -qc \
      "CREATE DATABASE harvest" >/dev/null
  echo "postgresql: $url"
}

seed() {
  [ "${HV_CLUSTER_SEED:-1}" = 1 ] || return 0
  if h models list 2>/dev/null | grep -q Production; then return 0; fi
  echo "seeding: synth ratings and a tuned model in Production"
  # shellcheck disable=SC2086 # the variables are lists of arguments
  h data synth ${HV_CLUSTER_SYNTH:---users 600 --movies 400 --ratings 30000 --days 60} \
      > "$dir/seed.log" 2>&1 &&
    h tune ${HV_CLUSTER_TUNE:---grid dim=16 --epochs 2} --register harvest_recommender \
      --stage Production >> "$dir/seed.log" 2>&1 || { cat "$dir/seed.log"; die "seeding failed"; }
}

replica_start() {
  local n=$1 port=${ports[$(($1 - 1))]}
  alive "replica$n" && return 0
  setsid "$bin" --home "$home" --db "$url" serve --host 127.0.0.1 \
    --port "$port" --forwarded-allow-ips 127.0.0.1 >> "$run/replica$n.log" 2>&1 < /dev/null &
  echo $! > "$run/replica$n.pid"
  wait_for "http://127.0.0.1:$port/readyz" ||
    { tail -n 5 "$run/replica$n.log"; die "replica $n not ready on $port"; }
  echo "replica $n: http://127.0.0.1:$port (pid $(cat "$run/replica$n.pid"))"
}

# stop_pid NAME SIGNAL: signal it and wait until it is gone (30 s)
stop_pid() {
  alive "$1" || { rm -f "$run/$1.pid"; return 0; }
  local pid i
  pid=$(cat "$run/$1.pid")
  kill -"$2" "$pid" 2>/dev/null || true
  for i in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  rm -f "$run/$1.pid"
}

nginx_up() {
  alive nginx && return 0
  mkdir -p "$ng/tls" "$ng/logs" "$ng/tmp"
  if [ ! -f "$ng/tls/harvest.crt" ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=localhost \
      -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
      -keyout "$ng/tls/harvest.key" -out "$ng/tls/harvest.crt" 2>/dev/null
    chmod 600 "$ng/tls/harvest.key"
  fi
  sed -e "s/127\.0\.0\.1:8001/127.0.0.1:${ports[0]}/" \
      -e "s/127\.0\.0\.1:8002/127.0.0.1:${ports[1]}/" \
      -e "s/127\.0\.0\.1:8080/127.0.0.1:$http/" \
      -e "s/127\.0\.0\.1:8443/127.0.0.1:$https/" \
      "$here/nginx.conf" > "$ng/nginx.conf"
  [ "$(id -u)" -eq 0 ] && chown -R nobody "$ng/tmp"
  nginx -t -q -p "$ng/" -c nginx.conf || die "nginx -t refused $ng/nginx.conf"
  setsid nginx -p "$ng/" -c nginx.conf >> "$run/nginx.log" 2>&1 < /dev/null &
  echo $! > "$run/nginx.pid"
  wait_for --cacert "$ng/tls/harvest.crt" "https://127.0.0.1:$https/readyz" ||
    die "nginx not answering on $https"
  echo "nginx: http://127.0.0.1:$http https://127.0.0.1:$https (CA: $ng/tls/harvest.crt)"
}

watch_up() {
  alive watch && return 0
  setsid "$bin" --home "$home" --db "$url" watch \
    --interval "${HV_CLUSTER_WATCH:-5m}" >> "$run/watch.log" 2>&1 < /dev/null &
  echo $! > "$run/watch.pid"
  echo "watch: every ${HV_CLUSTER_WATCH:-5m} (pid $!)"
}

up() {
  need
  mkdir -p "$home" "$run"
  pg_up
  seed
  replica_start 1
  replica_start 2
  nginx_up
  watch_up
}

down() {
  stop_pid watch TERM
  stop_pid nginx QUIT
  stop_pid replica1 TERM
  stop_pid replica2 TERM
  if [ -n "$pgbin" ] && [ -f "$dir/pg/PG_VERSION" ]; then
    "${as[@]}" "$pgbin/pg_ctl" -D "$dir/pg" -m fast stop >/dev/null 2>&1 || true
  fi
  if [ "${1:-}" = --purge ]; then rm -rf "$dir"; echo "removed $dir"; fi
  echo "cluster down"
}

status() {
  local rc=0 name port code
  if [ -n "$pgbin" ] && "${as[@]}" "$pgbin/pg_ctl" -D "$dir/pg" status >/dev/null 2>&1; then
    echo "postgresql: running ($url)"
  else echo "postgresql: stopped"; rc=1; fi
  for name in 1 2; do
    port=${ports[$((name - 1))]}
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port/readyz" || true)
    if alive "replica$name"; then echo "replica $name: running, /readyz $code"
    else echo "replica $name: stopped"; rc=1; fi
  done
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 --cacert "$ng/tls/harvest.crt" \
           "https://127.0.0.1:$https/readyz" || true)
  if alive nginx; then echo "nginx: running, https /readyz $code"; else echo "nginx: stopped"; rc=1; fi
  if alive watch; then echo "watch: running"; else echo "watch: stopped"; rc=1; fi
  return $rc
}

case "${1:-}" in
  up) up ;;
  down) down "${2:-}" ;;
  status) status ;;
  replica)
    n=${2:-}; [ "$n" = 1 ] || [ "$n" = 2 ] || die "replica 1|2 start|stop|kill"
    case "${3:-}" in
      start) need; replica_start "$n" ;;
      stop) stop_pid "replica$n" TERM ;;
      kill) stop_pid "replica$n" KILL ;;
      *) die "replica N start|stop|kill" ;;
    esac ;;
  *) echo "usage: $0 up|down [--purge]|status|replica N start|stop|kill" >&2; exit 2 ;;
esac
