/*
 * test_dist.c - train/dist: `harvest train --distributed` end to end under
 * `mpirun --oversubscribe -np 2` on a small generated dataset: the run is
 * logged once (params world_size 2 and dist_scheme, the bytes exchanged),
 * its model loads and recommends, test top-100 as the single-process run
 * (within 0.005; in fact within float summation order); without mpirun
 * the world size is 1; an error on one rank (an empty home, different
 * flags) ends both ranks with a message naming the rank and the run
 * FAILED, never a hang; bad flag combinations; --measure-allreduce; and
 * on ml-100k (../shared) np 2 against one process. Skipped (with a
 * message) when this build has no MPI or mpirun is missing.
 *
 * Under ASan Open MPI's own allocations at exit are suppressed for this
 * test only (tests/lsan_mpi.supp, cmd_start), and the singleton case
 * (slow to start there) and ml-100k (the same paths, 10x the work) are
 * skipped. Not in the TSan build's tests
 * (Makefile TSAN_TESTS): Open MPI's progress threads are not instrumented.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/synth.h"
#include "store/db.h"
#include "testutil.h"
#include "train/dist.h"
#include "util/fsutil.h"

static char home[256], dbpath[512], empty[512];
static char out[1 << 16];

/* The start of a shell command: the environment and mpirun -np np (np 0:
 * no mpirun). Under ASan, LeakSanitizer gets Open MPI's suppressions,
 * full stacks (Open MPI is built without frame pointers, so the fast
 * unwinder stops inside it and no suppression could match) and Open MPI
 * keeps its plugins loaded (a dlclose'd plugin's frames are "unknown
 * module"); root is allowed (CI runs as root). */
static void cmd_start(char *buf, size_t cap, int np)
{
  const char *src = getenv("HV_SOURCE_DIR");
  const char *asan = getenv("ASAN_OPTIONS");
  int n = snprintf(buf, cap,
                   "LSAN_OPTIONS=suppressions=%s/tests/lsan_mpi.supp:"
                   "print_suppressions=0 ASAN_OPTIONS=%s%sfast_unwind_on_"
                   "malloc=0 OMPI_MCA_mca_base_component_disable_dlclose=1 "
                   "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 "
                   "OMPI_MCA_rmaps_base_oversubscribe=1 ",
                   src ? src : ".", asan ? asan : "", asan ? ":" : "");
  if (np > 0)
    snprintf(buf + n, cap - (size_t)n,
             "timeout 120 %s --allow-run-as-root --oversubscribe "
             "-x LSAN_OPTIONS -x ASAN_OPTIONS "
             "-x OMPI_MCA_mca_base_component_disable_dlclose -np %d ",
             getenv("HV_MPIRUN"), np);
}

/* 1 in an AddressSanitizer build. */
static int under_asan(void)
{
#if defined(__SANITIZE_ADDRESS__)
  return 1;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  return 1;
#else
  return 0;
#endif
#else
  return 0;
#endif
}

static int have_mpi(void)
{
  const char *m = getenv("HV_MPIRUN");
  if (!dist_available() || !m || !*m) {
    fprintf(stderr, "skipped: %s\n", dist_available()
                                         ? "no mpirun (openmpi-bin)"
                                         : "built without MPI");
    return 0;
  }
  return 1;
}

static int setup(void **state)
{
  struct hv_db *db = NULL;
  struct hv_err e = {0};
  tu_tmpdir(home, sizeof(home));
  snprintf(dbpath, sizeof(dbpath), "%s/harvest.db", home);
  snprintf(empty, sizeof(empty), "%s/empty", home);
  if (db_open(dbpath, &db, &e))
    return -1;
  struct synth_config c;
  synth_defaults(&c);
  c.users = 300;
  c.movies = 400;
  c.ratings = 20000;
  c.days = 30;
  int rc = synth_run(db, &c, NULL, NULL, NULL, &e);
  db_close(db);
  return rc;
}

static int teardown(void **state)
{
  tu_rmtree(home);
  return 0;
}

static json_t *run_json(const char *cmd)
{
  int rc = tu_run(cmd, out, sizeof(out));
  if (rc)
    fprintf(stderr, "%s\n-> exit %d\n%s\n", cmd, rc, out);
  assert_int_equal(rc, 0);
  json_error_t je;
  json_t *j = json_loads(out, 0, &je);
  assert_non_null(j);
  return j;
}

static double top100(const json_t *j)
{
  json_t *t = json_object_get(j, "test");
  return json_number_value(json_object_get(t, "top_100_categorical_accuracy"));
}

static int64_t runs_in(const char *db)
{
  return tu_q1(db, "SELECT count(*) FROM runs");
}

/* The flags both runs of a comparison use (small, 1 BLAS thread). */
#define SMALL "--epochs 3 --batch 2048 --threads 1 --json"

static void test_np2_matches_one_process(void **state)
{
  if (!have_mpi())
    return;
  char cmd[2048], pre[1024];
  cmd_start(pre, sizeof(pre), 0);
  snprintf(cmd, sizeof(cmd), "%s%s --home %s train " SMALL " 2>/dev/null",
           pre, tu_bin(), home);
  json_t *one = run_json(cmd);
  int64_t before = runs_in(dbpath);
  cmd_start(pre, sizeof(pre), 2);
  snprintf(cmd, sizeof(cmd),
           "%s%s --home %s train --distributed " SMALL " 2>/dev/null", pre,
           tu_bin(), home);
  json_t *two = run_json(cmd);
  /* logged once, by rank 0, with the world size and the scheme */
  assert_int_equal(runs_in(dbpath), before + 1);
  const char *id = json_string_value(json_object_get(two, "run_id"));
  assert_non_null(id);
  char sql[512];
  snprintf(sql, sizeof(sql), "SELECT value FROM params WHERE run_id = '%s' "
           "AND key = 'world_size'", id);
  assert_int_equal(tu_q1(dbpath, sql), 2);
  snprintf(sql, sizeof(sql), "SELECT count(*) FROM params WHERE run_id = "
           "'%s' AND key = 'dist_scheme' AND value = '%s'", id,
           TRAIN_DIST_SCHEME);
  assert_int_equal(tu_q1(dbpath, sql), 1);
  snprintf(sql, sizeof(sql), "SELECT count(*) FROM runs WHERE run_id = "
           "'%s' AND status = 'FINISHED'", id);
  assert_int_equal(tu_q1(dbpath, sql), 1);
  snprintf(sql, sizeof(sql), "SELECT value > 0 FROM latest_metrics WHERE "
           "run_id = '%s' AND key = 'dist_bytes_per_epoch'", id);
  assert_int_equal(tu_q1(dbpath, sql), 1);
  assert_int_equal(json_integer_value(json_object_get(two, "world_size")), 2);
  /* the same model up to float summation order: the same test top-100 */
  double a = top100(one), b = top100(two);
  fprintf(stderr, "top_100: one process %.4f, 2 ranks %.4f\n", a, b);
  assert_true(a > 0.1);
  assert_true(fabs(a - b) <= 0.005);
  /* the model loads and recommends */
  snprintf(cmd, sizeof(cmd), "%s --home %s recommend --model runs:/%s "
           "--user 1 -n 5 --json", tu_bin(), home, id);
  json_t *rec = run_json(cmd);
  json_decref(rec);
  assert_non_null(strstr(out, "movie_id"));
  json_decref(one);
  json_decref(two);
}

/* Without mpirun (Open MPI's singleton) --distributed trains as world
 * size 1. */
static void test_without_mpirun(void **state)
{
  if (!have_mpi())
    return;
  if (under_asan()) {
    /* the singleton forks Open MPI's orted from the instrumented process:
     * 30-60 s here instead of 1 s; the plain build covers it */
    fprintf(stderr, "skipped under ASan: the singleton start is slow\n");
    return;
  }
  char cmd[2048], pre[1024];
  cmd_start(pre, sizeof(pre), 0);
  snprintf(cmd, sizeof(cmd),
           "%s%s --home %s train --distributed " SMALL " 2>/dev/null", pre,
           tu_bin(), home);
  json_t *j = run_json(cmd);
  assert_int_equal(json_integer_value(json_object_get(j, "world_size")), 1);
  assert_true(top100(j) > 0.1);
  json_decref(j);
}

/* Rank 1 fails (an empty home; different flags): both ranks end, with a
 * message naming the rank, and rank 0's run is FAILED saying why. */
static void test_one_rank_fails(void **state)
{
  if (!have_mpi())
    return;
  static const struct {
    int own_home;      /* rank 1 on rank 0's home, else an empty one */
    const char *flags; /* rank 1's train flags */
    const char *says;  /* in rank 0's harvest.error */
  } cases[] = {
      {0, "--threads 1", "rank 1 of 2 failed"},
      {1, "--threads 1 --epochs 2", "rank 1 of 2 does not agree"},
  };
  for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
    char cmd[4096], pre[1024], r1[1024];
    snprintf(r1, sizeof(r1), "--home %s train --distributed %s",
             cases[c].own_home ? home : empty, cases[c].flags);
    cmd_start(pre, sizeof(pre), 1);
    int64_t before = tu_q1(dbpath, "SELECT count(*) FROM runs WHERE status "
                                   "= 'FAILED'");
    snprintf(cmd, sizeof(cmd),
             "%s%s --home %s train --distributed --threads 1 --epochs 3 : "
             "-x LSAN_OPTIONS -x ASAN_OPTIONS -x "
             "OMPI_MCA_mca_base_component_disable_dlclose -np 1 %s %s 2>&1",
             pre, tu_bin(), home, tu_bin(), r1);
    double t0 = hv_mono();
    int rc = tu_run(cmd, out, sizeof(out));
    fprintf(stderr, "case %zu: exit %d in %.1fs\n", c, rc, hv_mono() - t0);
    assert_true(rc != 0 && rc != 124); /* failed, not timed out */
    assert_non_null(strstr(out, "rank 1 of 2"));
    assert_int_equal(tu_q1(dbpath, "SELECT count(*) FROM runs WHERE status "
                                   "= 'FAILED'"), before + 1);
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM tags WHERE key = "
             "'harvest.error' AND value LIKE '%%%s%%'", cases[c].says);
    assert_true(tu_q1(dbpath, sql) >= 1);
  }
}

static void test_bad_flags(void **state)
{
  char cmd[1024];
  static const char *const bad[] = {
      "train --measure-allreduce",
      "train --distributed --task ranking",
      "train --distributed --init-from runs:/0123456789abcdef0123456789abcdef",
      "train --distributed --epochs -1",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    snprintf(cmd, sizeof(cmd), "%s --home %s %s 2>&1", tu_bin(), home,
             bad[i]);
    assert_int_equal(tu_run(cmd, out, sizeof(out)), 2);
    assert_non_null(strstr(out, "harvest train"));
  }
  if (!dist_available()) {
    /* a build without MPI says how to get it */
    snprintf(cmd, sizeof(cmd), "%s --home %s train --distributed 2>&1",
             tu_bin(), home);
    assert_int_equal(tu_run(cmd, out, sizeof(out)), 1);
    assert_non_null(strstr(out, "built without MPI"));
  }
}

static void test_measure_allreduce(void **state)
{
  if (!have_mpi())
    return;
  char cmd[2048], pre[1024];
  cmd_start(pre, sizeof(pre), 2);
  snprintf(cmd, sizeof(cmd), "%s%s train --distributed --measure-allreduce "
           "--json 2>/dev/null", pre, tu_bin());
  json_t *j = run_json(cmd);
  assert_int_equal(json_integer_value(json_object_get(j, "world_size")), 2);
  json_t *rows = json_object_get(j, "allreduce");
  assert_true(json_array_size(rows) >= 5);
  json_t *r0 = json_array_get(rows, 0);
  assert_int_equal(json_integer_value(json_object_get(r0, "bytes")), 4096);
  assert_true(json_number_value(
                  json_object_get(r0, "algbw_bytes_per_s")) > 0);
  json_decref(j);
}

/* ml-100k: 2 ranks within 0.005 of one process (3 epochs, defaults). */
static void test_ml100k(void **state)
{
  char data[512], h[512], cmd[2048], pre[1024];
  if (!have_mpi())
    return;
  if (!tu_shared("data/ml-100k", data, sizeof(data))) {
    fprintf(stderr, "skipped: ../shared/data/ml-100k not found\n");
    return;
  }
  if (under_asan()) {
    /* the same code paths as the generated data above, 10x the work */
    fprintf(stderr, "skipped under ASan: ml-100k (plain build only)\n");
    return;
  }
  snprintf(h, sizeof(h), "%s/ml", home);
  snprintf(cmd, sizeof(cmd), "%s --home %s data import %s >/dev/null 2>&1",
           tu_bin(), h, data);
  assert_int_equal(tu_run(cmd, NULL, 0), 0);
  cmd_start(pre, sizeof(pre), 0);
  snprintf(cmd, sizeof(cmd), "%s%s --home %s train --epochs 3 --threads 1 "
           "--json 2>/dev/null", pre, tu_bin(), h);
  json_t *one = run_json(cmd);
  cmd_start(pre, sizeof(pre), 2);
  snprintf(cmd, sizeof(cmd), "%s%s --home %s train --distributed --epochs 3 "
           "--threads 1 --json 2>/dev/null", pre, tu_bin(), h);
  json_t *two = run_json(cmd);
  double a = top100(one), b = top100(two);
  fprintf(stderr, "ml-100k top_100: one process %.4f, 2 ranks %.4f\n", a, b);
  assert_true(a > 0.3);
  assert_true(fabs(a - b) <= 0.005);
  json_decref(one);
  json_decref(two);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bad_flags),
      cmocka_unit_test(test_np2_matches_one_process),
      cmocka_unit_test(test_without_mpirun),
      cmocka_unit_test(test_one_rank_fails),
      cmocka_unit_test(test_measure_allreduce),
      cmocka_unit_test(test_ml100k),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
