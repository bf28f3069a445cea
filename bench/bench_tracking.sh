#!/usr/bin/env bash
# bench_tracking.sh - how fast runs log metrics, in one run on this machine:
#   - Harvest: runs_log_metrics_batch of 100,000 values (one transaction,
#     one prepared statement; the issue asks for < 1 s) and runs_log_metric
#     called once per value (each its own transaction) for PERCALL values;
#   - the peer, /usr/bin/python3 + sqlite3 writing MLflow's SQL-store shape
#     (a metrics row plus the latest_metrics upsert per value):
#     (a) like MLflow's log_batch: executemany in chunks of 1000 (MLflow's
#         per-request cap), one commit per chunk;
#     (b) like MLflow's log_metric: one INSERT+upsert+commit per value;
#   - Harvest: RUNS runs made one by one as a training run makes one
#     (runs_start, 2 params, a 3-metric batch, a tag, runs_end): ms a run
#     (on a loaded machine mostly waiting for a core: say the load).
#   There is no MLflow server here, so (a)/(b) are its database work only:
#   MLflow adds an HTTP round trip and SQLAlchemy per call on top, so they
#   are a lower bound for MLflow.
# The Harvest side is a small C driver compiled here against the built
# library (the public API in src/track/runs.h).
#
# Usage: bench/bench_tracking.sh [BUILD_DIR]   (default build; needs
#   libharvest_core.a there: `cmake --build BUILD_DIR`). N=100000 values,
#   PERCALL=2000 per-call values, RUNS=2000 runs made by default (env
#   overrides); the databases are in a temp folder in $TMPDIR (default
#   /tmp; TMPDIR=/dev/shm takes the disk out).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
N=${N:-100000}
PERCALL=${PERCALL:-2000}
RUNS=${RUNS:-2000}
PY=/usr/bin/python3
LIB="$BUILD/libharvest_core.a"
[ -f "$LIB" ] || { echo "no $LIB (cmake --build $BUILD)" >&2; exit 1; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/bench_tracking.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

cat > "$WORK/driver.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include "store/db.h"
#include "track/runs.h"
#include "util/fsutil.h"

int main(int argc, char **argv)
{
  int n = atoi(argv[2]), percall = atoi(argv[3]), runs = atoi(argv[4]);
  struct hv_db *db = NULL;
  struct hv_err e = {0};
  char id[33], id2[33];
  if (db_open(argv[1], &db, &e) || runs_start(db, "bench", NULL, NULL, id, &e) ||
      runs_start(db, "bench", NULL, NULL, id2, &e)) {
    fprintf(stderr, "%s\n", e.msg);
    return 1;
  }
  static const char *const keys[] = {"loss", "top_100_categorical_accuracy",
                                     "val_loss", "lr"};
  struct tracking_metric *m = malloc((size_t)n * sizeof(*m));
  for (int i = 0; i < n; i++)
    m[i] = (struct tracking_metric){keys[i % 4], i * 1e-3, i / 4, 0};
  double t0 = hv_mono();
  if (runs_log_metrics_batch(db, id, m, (size_t)n, &e)) {
    fprintf(stderr, "%s\n", e.msg);
    return 1;
  }
  double t1 = hv_mono();
  for (int i = 0; i < percall; i++)
    if (runs_log_metric(db, id2, keys[i % 4], i * 1e-3, i / 4, &e)) {
      fprintf(stderr, "%s\n", e.msg);
      return 1;
    }
  double t2 = hv_mono();
  /* runs made as a training run makes one: start, 2 params, a batch of 3
   * metrics, a tag, end (six calls, each its own transaction) */
  struct tracking_metric rm[3] = {{"loss", 0.5, 0, 0}, {"accuracy", 0.9, 0, 0},
                                  {"epoch", 3, 0, 0}};
  for (int i = 0; i < runs; i++) {
    char r[33];
    if (runs_start(db, "bench-runs", NULL, NULL, r, &e) ||
        runs_log_param(db, r, "dim", "32", &e) ||
        runs_log_param(db, r, "lr", "0.1", &e) ||
        runs_log_metrics_batch(db, r, rm, 3, &e) ||
        runs_set_tag(db, r, "grid", "a", &e) ||
        runs_end(db, r, "FINISHED", &e)) {
      fprintf(stderr, "%s\n", e.msg);
      return 1;
    }
  }
  double t3 = hv_mono();
  printf("%.4f %.4f %.4f\n", t1 - t0, t2 - t1, t3 - t2);
  free(m);
  db_close(db);
  return 0;
}
C
# shellcheck disable=SC2046
cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Isrc \
  "$WORK/driver.c" "$LIB" \
  $(pkg-config --libs sqlite3 jansson libsodium libmicrohttpd libjwt openblas \
    libcurl libzip gsl libpq) $(pkg-config --libs ompi-c 2>/dev/null) \
  -lpthread -lm -o "$WORK/driver"

read -r H_BATCH H_CALL H_RUNS < <("$WORK/driver" "$WORK/harvest.db" "$N" "$PERCALL" "$RUNS")

read -r P_BATCH P_CALL < <("$PY" - "$WORK/peer.db" "$N" "$PERCALL" <<'PY'
import sqlite3, sys, time
path, n, percall = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
db = sqlite3.connect(path, isolation_level=None)
db.executescript("""
PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;
CREATE TABLE metrics(run_uuid TEXT, key TEXT, value REAL, step INTEGER,
  timestamp INTEGER, is_nan INTEGER);
CREATE INDEX m_idx ON metrics(run_uuid, key, step);
CREATE TABLE latest_metrics(run_uuid TEXT, key TEXT, value REAL,
  step INTEGER, timestamp INTEGER, PRIMARY KEY(run_uuid, key));
""")
UPSERT = ("INSERT INTO latest_metrics VALUES (?,?,?,?,?) ON CONFLICT(run_uuid,"
          " key) DO UPDATE SET value=excluded.value, step=excluded.step,"
          " timestamp=excluded.timestamp WHERE excluded.step >= step")
keys = ["loss", "top_100_categorical_accuracy", "val_loss", "lr"]
rows = [("a" * 32, keys[i % 4], i * 1e-3, i // 4, int(time.time() * 1000), 0)
        for i in range(n)]
t0 = time.perf_counter()
for c in range(0, n, 1000):
    chunk = rows[c:c + 1000]
    db.execute("BEGIN")
    db.executemany("INSERT INTO metrics VALUES (?,?,?,?,?,?)", chunk)
    db.executemany(UPSERT, [r[:5] for r in chunk])
    db.execute("COMMIT")
t1 = time.perf_counter()
for r in rows[:percall]:
    r = ("b" * 32,) + r[1:]
    db.execute("BEGIN")
    db.execute("INSERT INTO metrics VALUES (?,?,?,?,?,?)", r)
    db.execute(UPSERT, r[:5])
    db.execute("COMMIT")
t2 = time.perf_counter()
print(f"{t1 - t0:.4f} {t2 - t1:.4f}")
PY
)

awk -v n="$N" -v pc="$PERCALL" -v hb="$H_BATCH" -v hc="$H_CALL" \
    -v runs="$RUNS" -v hr="$H_RUNS" \
    -v pb="$P_BATCH" -v pcall="$P_CALL" 'BEGIN {
  printf "metric logging, %d values (machine shared with other jobs)\n", n
  printf "  harvest runs_log_metrics_batch     %8.3f s  (%.0f values/s)%s\n",
         hb, n / hb, hb < 1 ? "  < 1 s: ok" : "  >= 1 s: TOO SLOW"
  printf "  peer python sqlite3, 1000/commit   %8.3f s  (MLflow log_batch DB work)\n", pb
  printf "  ratio peer/harvest (batch)         %8.2fx\n", pb / hb
  printf "per-call logging, %d values, one transaction each\n", pc
  printf "  harvest runs_log_metric            %8.3f s  (%.1f us/value; %.1f s per %d)\n",
         hc, 1e6 * hc / pc, hc * n / pc, n
  printf "  peer python sqlite3, commit/value  %8.3f s  (%.1f us/value; %.1f s per %d)\n",
         pcall, 1e6 * pcall / pc, pcall * n / pc, n
  printf "  ratio peer/harvest (per call)      %8.2fx\n", pcall / hc
  printf "runs made one by one (start, 2 params, 3 metrics, tag, end), %d runs\n", runs
  printf "  harvest                            %8.3f s  (%.3f ms a run)\n", hr, 1e3 * hr / runs
}'
