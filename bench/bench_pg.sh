#!/usr/bin/env bash
# bench_pg.sh - issue 13's store figures, SQLite and PostgreSQL in one run:
#   1. import ml-100k (harvest data import) into a new home (SQLite) and
#      into a new PostgreSQL database: seconds and rows/s each;
#   2. harvest data synth of R ratings (default 25M: 1M users x 100k
#      movies) into each: the bulk loaders' rows/s;
#   3. N runs (default 100,000: 2 params, 3 metrics, a tag each, made
#      through the tracking API by a small driver, copied to both), then
#      `harvest runs list --filter ... --max 10` and a filter with an
#      order-by: median of 5 runs each;
#   4. harvest db copy of the synth home (its R ratings) into a new
#      PostgreSQL database and back into a new home.
# PostgreSQL is a throwaway cluster in a temp folder on a unix socket
# (tests/pg_cluster.sh) with its defaults (fsync on, synchronous_commit on)
# (step 3's fixture is made on /dev/shm and copied: see there).
#
# Usage: bench/bench_pg.sh [-r RATINGS] [-u USERS] [-m MOVIES] [-n RUNS] [BUILD]
#   BUILD: the build folder (default build: harvest and libharvest_core.a)
#   env HV_SHARED_DIR = the shared folder (default ../shared) for ml-100k
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
R=25000000 U=1000000 M=100000 N=100000
while getopts r:u:m:n:h o; do
  case $o in
    r) R=$OPTARG ;; u) U=$OPTARG ;; m) M=$OPTARG ;; n) N=$OPTARG ;;
    *) sed -n 2,21p "$0"; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
BUILD=$(cd "${1:-$here/build}" && pwd)
if [ -z "${HV_TEST_PG:-}" ]; then # under a throwaway cluster, fsync on
  export HV_PG_FSYNC=on
  exec "$here/tests/pg_cluster.sh" "$0" -r "$R" -u "$U" -m "$M" -n "$N" "$BUILD"
fi
bin=$BUILD/harvest lib=$BUILD/libharvest_core.a
shared=${HV_SHARED_DIR:-$here/../shared}
ml=$shared/data/ml-100k
[ -x "$bin" ] && [ -f "$lib" ] || { echo "bench_pg: build first ($bin, $lib)" >&2; exit 1; }
command -v psql >/dev/null || { echo "bench_pg: psql missing (apt-get install postgresql-client-15)" >&2; exit 1; }
work=$(mktemp -d /tmp/bench_pg.XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
base=${HV_TEST_PG%%\?*} query=${HV_TEST_PG#*\?}
url() { echo "${base%/*}/$1?$query"; }
newdb() { psql -qX "$HV_TEST_PG" -c "CREATE DATABASE $1" >/dev/null; url "$1"; }
now() { date +%s.%N; }
# seconds of "$@" (stdout to /dev/null, stderr kept in $work/last.err)
timed() { local t0; t0=$(now); "$@" > /dev/null 2> "$work/last.err" ||
  { cat "$work/last.err" >&2; return 1; }; echo "$(now) - $t0" | bc -l; }
rate() { echo "$1 / $2" | bc -l; }
row() { printf '  %-44s %10.2f s %14.0f rows/s\n' "$1" "$2" "$(rate "$3" "$2")"; }

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "PostgreSQL $(psql -XAtc 'SHOW server_version' "$HV_TEST_PG"), fsync $(psql -XAtc 'SHOW fsync' "$HV_TEST_PG"); SQLite $(sqlite3 --version 2>/dev/null | cut -d' ' -f1)"

echo "== 1. import ml-100k (100,000 ratings)"
if [ -d "$ml" ]; then
  s=$(timed "$bin" --home "$work/imp-sq" data import --format ml-100k "$ml")
  p=$(timed "$bin" --home "$work/imp-pg" --db "$(newdb imp)" data import --format ml-100k "$ml")
  row "SQLite" "$s" 100000
  row "PostgreSQL" "$p" 100000
  printf '  %-44s %10.2fx\n' "SQLite / PostgreSQL rows/s" "$(echo "$p / $s" | bc -l)"
else
  echo "  skipped: no $ml"
fi

echo "== 2. data synth: $R ratings, $U users x $M movies"
synth=(data synth --users "$U" --movies "$M" --ratings "$R" --seed 7)
s=$(timed "$bin" --home "$work/syn-sq" "${synth[@]}")
p=$(timed "$bin" --home "$work/syn-pg" --db "$(newdb syn)" "${synth[@]}")
row "SQLite" "$s" "$R"
row "PostgreSQL" "$p" "$R"
printf '  %-44s %10.2fx\n' "SQLite / PostgreSQL rows/s" "$(echo "$p / $s" | bc -l)"

echo "== 3. $N runs, then runs list --filter (median of 5)"
cat > "$work/runs.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include "store/db.h"
#include "track/runs.h"
#include "util/fsutil.h"
/* runs DB N: N FINISHED runs of experiment "bench" with params dim and lr,
 * metrics loss, accuracy and epoch, a tag; prints the seconds taken. */
int main(int argc, char **argv)
{
  int n = argc > 2 ? atoi(argv[2]) : 0;
  struct hv_db *db = NULL;
  struct hv_err e = {0};
  if (n <= 0 || db_open(argv[1], &db, &e))
    return fprintf(stderr, "runs: %s\n", n <= 0 ? "bad N" : e.msg), 1;
  static const char *dims[] = {"16", "32", "64", "128"};
  double t0 = hv_mono();
  for (int i = 0; i < n; i++) {
    char id[33], lr[32];
    snprintf(lr, sizeof(lr), "%g", 0.001 * (1 + i % 10));
    struct tracking_metric m[3] = {{"loss", 1.0 / (1 + i % 997), 0, 0},
                                   {"accuracy", (i % 1000) / 1000.0, 0, 0},
                                   {"epoch", i % 20, 0, 0}};
    if (runs_start(db, "bench", NULL, NULL, id, &e) ||
        runs_log_param(db, id, "dim", dims[i % 4], &e) ||
        runs_log_param(db, id, "lr", lr, &e) ||
        runs_log_metrics_batch(db, id, m, 3, &e) ||
        runs_set_tag(db, id, "grid", i % 2 ? "a" : "b", &e) ||
        runs_end(db, id, "FINISHED", &e))
      return fprintf(stderr, "runs: run %d: %s\n", i, e.msg), 1;
  }
  printf("%.3f\n", hv_mono() - t0);
  db_close(db);
  return 0;
}
C
# shellcheck disable=SC2046
cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -I"$here/src" \
  "$work/runs.c" "$lib" $(pkg-config --libs sqlite3 jansson libsodium \
  libmicrohttpd libjwt openblas libcurl libzip gsl libpq) $(pkg-config --libs ompi-c 2>/dev/null) -lpthread -lm \
  -o "$work/runs"
# the fixture: made in a home on /dev/shm (SQLite's commits cost no
# fsync there; the figure is the search, not the N x 6 transactions), then
# that home copied to a PostgreSQL database (harvest db copy) and to a home
# on disk, so both backends search the same runs
shm=$(mktemp -d /dev/shm/bench_pg.XXXXXX)
trap 'rm -rf "$work" "$shm"' EXIT
"$bin" --home "$shm/runs" db init > /dev/null # the schema
mk=$("$work/runs" "$shm/runs/harvest.db" "$N")
pgdb=$(newdb runs)
t1=$(timed "$bin" db copy -q --from "$shm/runs" --to "$pgdb")
t2=$(timed "$bin" db copy -q --from "$shm/runs" --to "$work/runs-sq")
rm -rf "$shm"
printf '  made in %.2f s (%.0f runs/s, SQLite on /dev/shm); db copy to PostgreSQL %.2f s, to a home %.2f s\n' \
  "$mk" "$(rate "$N" "$mk")" "$t1" "$t2"
median5() { for _ in 1 2 3 4 5; do timed "$@"; done | sort -g | sed -n 3p; }
for f in "params.dim = '32' and metrics.accuracy > 0.9" \
         "attributes.status = 'FINISHED' and tags.grid = 'a' and metrics.loss < 0.002"; do
  for ord in "" "metrics.accuracy DESC"; do
    args=(runs list --filter "$f" --max 10)
    [ -n "$ord" ] && args+=(--order-by "$ord")
    s=$(median5 "$bin" --home "$work/runs-sq" "${args[@]}")
    p=$(median5 "$bin" --home "$work/runs-pg" --db "$pgdb" "${args[@]}")
    printf '  %-70s SQLite %7.3f s  PostgreSQL %7.3f s\n' "--filter \"$f\"${ord:+ --order-by \"$ord\"}" "$s" "$p"
  done
done

echo "== 4. harvest db copy of the $R-rating synth home"
c1=$(newdb copy)
t=$(timed "$bin" db copy -q --from "$work/syn-sq" --to "$c1")
row "home (SQLite) -> PostgreSQL" "$t" "$R"
t=$(timed "$bin" db copy -q --from "$c1" --to "$work/copy-back")
row "PostgreSQL -> new home (SQLite)" "$t" "$R"
echo "  homes: $(du -sh "$work/syn-sq" | cut -f1) SQLite; PostgreSQL database $(psql -XAtc "SELECT pg_size_pretty(pg_database_size('copy'))" "$HV_TEST_PG")"
