#!/bin/sh
# pg_cluster.sh CMD [ARG...] - run CMD against a throwaway PostgreSQL
# cluster: initdb in a new temp folder (as the postgres user when run as
# root: initdb refuses root), a server listening only on a unix socket in
# that folder, HV_TEST_PG set to its connection URI (tests/testutil.c's
# tu_db makes a fresh database per fixture from it), then the cluster is
# stopped and the folder removed. Exits with CMD's status, or 77 (CTest's
# skip code) with a message when the PostgreSQL server binaries are absent.
# fsync is off (throwaway data) unless HV_PG_FSYNC=on (bench/bench_pg.sh).
set -u
bindir=${HV_PG_BINDIR:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ] || [ ! -x "$bindir/pg_ctl" ]; then
  echo "SKIP: no PostgreSQL server binaries (initdb, pg_ctl) found; install postgresql-15 to run the store tests on PostgreSQL"
  exit 77
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/hv-pg.XXXXXX") || exit 1
as=""
if [ "$(id -u)" -eq 0 ]; then
  chown postgres "$dir" || exit 1
  as="runuser -u postgres --"
fi
# the socket's name carries the port; the folder is private, so any port
# is free, but a random one keeps two clusters' names apart in logs
port=$(( 20000 + $$ % 40000 ))
cleanup() {
  $as "$bindir/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM
if ! $as "$bindir/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 \
     --locale=C --no-sync >"$dir/initdb.log" 2>&1; then
  cat "$dir/initdb.log"; exit 1
fi
if ! $as "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
     -o "-k $dir -p $port -c listen_addresses= -c fsync=${HV_PG_FSYNC:-off} -c max_connections=200" \
     start >/dev/null; then
  cat "$dir/server.log"; exit 1
fi
export HV_TEST_PG="postgresql:///postgres?host=$dir&port=$port&user=postgres"
"$@"
rc=$?
exit $rc
