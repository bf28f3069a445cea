/*
 * test_faults.c - fault injection: a full disk, a locked database and
 * kill -9 against the operations they hurt, checking what the user sees
 * (exit status and message, HTTP status and detail) and what is on disk
 * afterwards (integrity_check, row counts, no partial artifact, no temp
 * file). docs/durability.md holds the table these tests keep true: an
 * acknowledged write is never lost, a failed one leaves no trace, and the
 * server keeps answering reads while the disk is full.
 *
 * The full disk is a real one: a small tmpfs mounted for the test and
 * filled by a filler file, so the kernel's own ENOSPC reaches every write
 * path the way it does in production (SQLite's pwrite to the WAL, its
 * -shm growth, stdio, the artifact store's write and rename), which an
 * LD_PRELOAD shim on write() would miss for glibc's internal calls and
 * which works unchanged under ASan. Mounting needs root: CI runs as root;
 * elsewhere every test is skipped with a message. The commands are the
 * real harvest binary (HV_BIN) and the server a real `harvest serve`
 * process, so kill -9 kills what a user runs.
 */
#define _GNU_SOURCE /* nftw */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#define N_USERS 200
#define N_MOVIES 300
#define PER_USER 100
#define BASE_RATINGS (N_USERS * PER_USER)
#define MODEL "harvest_recommender"

static char g_dir[256], g_mnt[512], g_home[600], g_db[700], g_ds[512];
static char g_token[128], g_skip[256];
static char out[1 << 16];

/* ---- the tmpfs, its filler and the home on it ------------------------------ */

static void write_dataset(void)
{
  snprintf(g_ds, sizeof(g_ds), "%s/ds", g_dir);
  assert_int_equal(mkdir(g_ds, 0700), 0);
  char path[600], line[256];
  tu_write(g_ds, "u.genre", "unknown|0\nAction|1\nComedy|2\n\n", path,
           sizeof(path));
  tu_write(g_ds, "u.occupation", "administrator\nartist\nwriter\n", path,
           sizeof(path));
  FILE *u = fopen((snprintf(path, sizeof(path), "%s/u.user", g_ds), path), "w");
  for (int i = 1; i <= N_USERS; i++)
    fprintf(u, "%d|%d|%c|writer|55455\n", i, 20 + i % 40, "MF"[i % 2]);
  fclose(u);
  FILE *m = fopen((snprintf(path, sizeof(path), "%s/u.item", g_ds), path), "w");
  for (int i = 1; i <= N_MOVIES; i++)
    fprintf(m, "%d|Movie %d (1990)|01-Jan-1990||http://x|0|%d|%d\n", i, i,
            i % 2, 1 - i % 2);
  fclose(m);
  FILE *d = fopen((snprintf(path, sizeof(path), "%s/u.data", g_ds), path), "w");
  for (int i = 1; i <= N_USERS; i++)
    for (int k = 0; k < PER_USER; k++) {
      snprintf(line, sizeof(line), "%d\t%d\t%d\t%d\n", i,
               (i * 7 + k) % N_MOVIES + 1, 1 + (i + k) % 5,
               880000000 + i * 100 + k);
      fputs(line, d);
    }
  fclose(d);
}

static int group_setup(void **state)
{
  (void)state;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  unsetenv("HARVEST_DB");
  unsetenv("HARVEST_HOME");
  setenv("OPENBLAS_NUM_THREADS", "1", 1);
  tu_subreaper();
  tu_tmpdir(g_dir, sizeof(g_dir));
  snprintf(g_mnt, sizeof(g_mnt), "%s/disk", g_dir);
  snprintf(g_home, sizeof(g_home), "%s/home", g_mnt);
  snprintf(g_db, sizeof(g_db), "%s/harvest.db", g_home);
  assert_int_equal(mkdir(g_mnt, 0700), 0);
  if (geteuid() != 0)
    snprintf(g_skip, sizeof(g_skip), "not root: mounting the small tmpfs "
             "these tests fill needs root (CI runs as root)");
  else if (mount("tmpfs", g_mnt, "tmpfs", MS_NOSUID | MS_NODEV,
                 "size=6m,mode=0700") != 0)
    snprintf(g_skip, sizeof(g_skip), "cannot mount a tmpfs: %s",
             strerror(errno));
  write_dataset();
  return 0;
}

static int group_teardown(void **state)
{
  (void)state;
  if (!g_skip[0])
    umount2(g_mnt, MNT_DETACH);
  tu_rmtree(g_dir);
  curl_global_cleanup();
  return 0;
}

/* Skip the test (with the reason) when no tmpfs could be mounted. */
static void need_disk(void)
{
  if (g_skip[0]) {
    print_message("test_faults: skipped: %s\n", g_skip);
    skip();
  }
}

static void filler_path(char *p, size_t cap, const char *dir)
{
  snprintf(p, cap, "%s/filler", dir);
}

/* Fill the file system of dir until ENOSPC, then give back `leave` bytes. */
static void fill_at(const char *dir, long leave)
{
  char p[700];
  filler_path(p, sizeof(p), dir);
  int fd = open(p, O_WRONLY | O_CREAT | O_APPEND, 0600);
  assert_true(fd >= 0);
  static char block[1 << 16];
  for (size_t chunk = sizeof(block); chunk >= 512; chunk /= 8)
    while (write(fd, block, chunk) == (ssize_t)chunk) {
    }
  assert_int_equal(errno, ENOSPC);
  struct stat st;
  assert_int_equal(fstat(fd, &st), 0);
  assert_int_equal(ftruncate(fd, st.st_size > leave ? st.st_size - leave : 0),
                   0);
  close(fd);
}

static void fill(long leave)
{
  fill_at(g_mnt, leave);
}

static void unfill_at(const char *dir)
{
  char p[700];
  filler_path(p, sizeof(p), dir);
  unlink(p);
}

static void unfill(void)
{
  unfill_at(g_mnt);
}

/* Run `harvest --home HOME ARGS 2>&1` into out; its exit status. */
static int hv(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int hv(const char *fmt, ...)
{
  char args[2048], cmd[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(args, sizeof(args), fmt, ap);
  va_end(ap);
  snprintf(cmd, sizeof(cmd), "'%s' --home '%s' %s 2>&1", tu_bin(), g_home,
           args);
  return tu_run(cmd, out, sizeof(out));
}

static int64_t q(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int64_t q(const char *fmt, ...)
{
  char sql[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(sql, sizeof(sql), fmt, ap);
  va_end(ap);
  return tu_q1(g_db, sql);
}

static void expect_out(const char *what)
{
  if (!strstr(out, what))
    fail_msg("output lacks '%s':\n%s", what, out);
}

/* A fresh home with the dataset imported (and nothing else). */
static void fresh_home(void)
{
  unfill();
  tu_rmtree(g_home);
  if (hv("data import '%s'", g_ds))
    fail_msg("import: %s", out);
}

/* The database passes integrity_check and foreign_key_check. */
static void expect_intact(void)
{
  assert_int_equal(
      q("SELECT COUNT(*) FROM pragma_integrity_check WHERE "
        "integrity_check <> 'ok'"),
      0);
  assert_int_equal(q("SELECT COUNT(*) FROM pragma_foreign_key_check"), 0);
}

static int temp_hits;
static int temp_walk(const char *p, const struct stat *st, int kind,
                     struct FTW *f)
{
  (void)st;
  (void)kind;
  const char *b = p + f->base;
  if (strstr(b, ".tmp.") || !strncmp(b, "put-", 4) ||
      !strncmp(b, "trainrun-", 9) || strstr(b, "-journal")) {
    print_message("left behind: %s\n", p);
    temp_hits++;
  }
  return 0;
}

/* No temporary file anywhere in the home (SQLite's -wal and -shm are the
 * database's own, not temporary). */
static void expect_no_temp_files(void)
{
  temp_hits = 0;
  assert_int_equal(nftw(g_home, temp_walk, 16, FTW_PHYS), 0);
  assert_int_equal(temp_hits, 0);
}

/* Train a small model and return its run id in run (33 bytes). */
static int train(char run[33])
{
  int rc = hv("train --tutorial --dim 8 --epochs 1 --threads 1 --json");
  const char *p = strstr(out, "\"run_id\": \"");
  if (!rc && p)
    snprintf(run, 33, "%s", p + 11);
  return rc;
}

/* ---- the CLI against a full disk ----------------------------------------------- */

static void test_import_disk_full(void **state)
{
  (void)state;
  need_disk();
  unfill();
  tu_rmtree(g_home);
  /* an empty home, database made (read commands such as runs list no
   * longer make a home that is not there) */
  assert_int_equal(hv("db init"), 0);
  fill(128 << 10);
  assert_int_equal(hv("data import '%s'", g_ds), 1);
  expect_out("disk full");
  expect_out(g_db);
  unfill();
  expect_intact();
  assert_int_equal(q("SELECT COUNT(*) FROM ratings"), 0);
  assert_int_equal(q("SELECT COUNT(*) FROM movies"), 0);
  assert_int_equal(q("SELECT COUNT(*) FROM datasets"), 0);
  expect_no_temp_files();
  /* nothing of it is in the way: the same import then works */
  assert_int_equal(hv("data import '%s'", g_ds), 0);
  assert_int_equal(q("SELECT COUNT(*) FROM ratings"), BASE_RATINGS);
}

static int files_under(const char *dir)
{
  char cmd[1024];
  snprintf(cmd, sizeof(cmd), "find '%s' -type f ! -name filler | wc -l", dir);
  char n[32];
  assert_int_equal(tu_run(cmd, n, sizeof(n)), 0);
  return atoi(n);
}

static void test_artifact_write_disk_full(void **state)
{
  (void)state;
  need_disk();
  fresh_home();
  /* the artifact store on a volume of its own that is full, the database
   * on one with room: the run gets as far as its model file */
  char art[700];
  snprintf(art, sizeof(art), "%s/artifacts", g_home);
  mkdir(art, 0755);
  assert_int_equal(mount("tmpfs", art, "tmpfs", MS_NOSUID | MS_NODEV,
                         "size=256k,mode=0755"), 0);
  fill_at(art, 0);
  char run[33] = "";
  assert_int_equal(hv("train --tutorial --dim 8 --epochs 1 --threads 1"), 1);
  expect_out("artifact 'model/model.hvm'");
  expect_out("No space left on device");
  expect_out(art);
  unfill_at(art);
  expect_intact();
  assert_int_equal(q("SELECT COUNT(*) FROM artifacts"), 0);
  assert_int_equal(q("SELECT COUNT(*) FROM runs WHERE status = 'FAILED'"), 1);
  assert_int_equal(q("SELECT COUNT(*) FROM runs WHERE status <> 'FAILED'"), 0);
  assert_int_equal(q("SELECT COUNT(*) FROM tags WHERE key = 'harvest.error'"
                     " AND value LIKE '%%No space left%%'"),
                   1);
  assert_int_equal(files_under(art), 0); /* no partial blob */
  expect_no_temp_files();
  assert_int_equal(umount2(art, MNT_DETACH), 0);
  /* with room, training and registering work */
  assert_int_equal(train(run), 0);
  assert_int_equal(hv("models register --run %s --stage Production", run), 0);
  assert_int_equal(q("SELECT COUNT(*) FROM model_versions"), 1);
}

static void test_home_disk_full_train_and_promotion(void **state)
{
  (void)state;
  need_disk();
  fresh_home();
  char run[33] = "";
  assert_int_equal(train(run), 0);
  assert_int_equal(hv("models register --run %s --stage Staging", run), 0);
  int64_t runs = q("SELECT COUNT(*) FROM runs");
  int64_t audit = q("SELECT COUNT(*) FROM registry_audit");
  /* a connection kept open, as a running server keeps its own: the
   * commands' writes get as far as the WAL's commit */
  sqlite3 *held = NULL;
  assert_int_equal(sqlite3_open(g_db, &held), SQLITE_OK);
  assert_int_equal(sqlite3_exec(held, "SELECT COUNT(*) FROM runs", NULL, NULL,
                                NULL),
                   SQLITE_OK);
  fill(0);
  assert_int_equal(hv("models transition %s 1 --stage Production", MODEL), 1);
  expect_out("disk full");
  expect_out(g_db);
  assert_int_equal(hv("train --tutorial --dim 8 --epochs 1 --threads 1"), 1);
  expect_out("disk full");
  /* reads still work on the full disk */
  assert_int_equal(hv("models list"), 0);
  expect_out("Staging");
  unfill();
  sqlite3_close(held);
  expect_intact();
  assert_int_equal(q("SELECT COUNT(*) FROM model_versions WHERE stage = "
                     "'Staging'"),
                   1);
  assert_int_equal(q("SELECT COUNT(*) FROM registry_audit"), audit);
  assert_int_equal(q("SELECT COUNT(*) FROM runs"), runs);
  expect_no_temp_files();
  assert_int_equal(hv("models check"), 0);
  assert_int_equal(hv("models transition %s 1 --stage Production", MODEL), 0);
  assert_int_equal(q("SELECT COUNT(*) FROM model_versions WHERE stage = "
                     "'Production'"),
                   1);
}

/* ---- a running server ---------------------------------------------------------- */

struct server {
  pid_t pid;
  int port;
  char log[700];
};

static void server_start(struct server *s, const char *name)
{
  snprintf(s->log, sizeof(s->log), "%s/%s.log", g_dir, name);
  unlink(s->log);
  char sh[2048];
  snprintf(sh, sizeof(sh),
           "exec '%s' --home '%s' serve --port 0 --threads 2 "
           "--no-access-log > '%s' 2>&1",
           tu_bin(), g_home, s->log);
  s->pid = tu_spawn_sh(sh);
  char *text = tu_wait_file(s->log, "event=listening");
  if (!text)
    fail_msg("server %s did not start", name);
  const char *u = strstr(text, "url=http://127.0.0.1:");
  assert_non_null(u);
  s->port = atoi(u + strlen("url=http://127.0.0.1:"));
  free(text);
}

static long http(const struct server *s, const char *method,
                 const char *path, const char *body, struct tu_res *r)
{
  char url[256], auth[256];
  snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", s->port, path);
  snprintf(auth, sizeof(auth), "Authorization: Bearer %s", g_token);
  const char *hdrs[] = {auth, "Content-Type: application/json", NULL};
  memset(r, 0, sizeof(*r));
  int rc = tu_curl(method, url, body, hdrs, NULL, 20, tu_res_body,
                   tu_res_header, r, &r->status);
  return rc == CURLE_OK ? r->status : -1;
}

/* A home with a Production model and an operator's API token (g_token). */
static void serving_home(void)
{
  fresh_home();
  char run[33] = "";
  assert_int_equal(train(run), 0);
  assert_int_equal(hv("models register --run %s --stage Production", run), 0);
  char cmd[2048];
  snprintf(cmd, sizeof(cmd),
           "echo faults-password | '%s' --home '%s' auth account add ops "
           "--role operator >/dev/null 2>&1 && '%s' --home '%s' auth token "
           "create --account ops 2>/dev/null",
           tu_bin(), g_home, tu_bin(), g_home);
  char tok[4096];
  assert_int_equal(tu_run(cmd, tok, sizeof(tok)), 0);
  const char *t = strstr(tok, "hvt_");
  assert_non_null(t);
  size_t n = strcspn(t, " \n\t");
  snprintf(g_token, sizeof(g_token), "%.*s", (int)n, t);
}

/* A movie user u has not rated: slot k of its unrated ones. */
static int unrated(int u, int k)
{
  return (u * 7 + PER_USER + k) % N_MOVIES + 1;
}

static void rating_body(char *b, size_t cap, int u, int first, int n)
{
  size_t o = (size_t)snprintf(b, cap, "[");
  for (int j = 0; j < n; j++)
    o += (size_t)snprintf(b + o, cap - o,
                          "%s{\"user_id\": %d, \"movie_id\": %d, "
                          "\"user_rating\": 4}",
                          j ? ", " : "", u, unrated(u, first + j));
  snprintf(b + o, cap - o, "]");
}

static int64_t rated(int u, int movie)
{
  return q("SELECT COUNT(*) FROM ratings WHERE user_id = %d AND movie_id = "
           "%d AND rating_id > %d",
           u, movie, BASE_RATINGS);
}

static void test_rating_writes_disk_full(void **state)
{
  (void)state;
  need_disk();
  serving_home();
  struct server s;
  server_start(&s, "full");
  struct tu_res *r = malloc(sizeof(*r));
  char body[512];
  rating_body(body, sizeof(body), 1, 0, 1);
  assert_int_equal(http(&s, "POST", "/users/add_user_rating/", body, r), 200);
  fill(0);
  int acked[20] = {0}, refused = 0;
  for (int k = 1; k < 20; k++) {
    rating_body(body, sizeof(body), 1, k, 1);
    long st = http(&s, "POST", "/users/add_user_rating/", body, r);
    if (st == 200) {
      acked[k] = 1;
      continue;
    }
    if (st != 507)
      fail_msg("rating write on a full disk: %ld %s", st, r->body);
    if (!strstr(r->body, "disk full") || !strstr(r->body, "harvest.db"))
      fail_msg("507 without the file: %s", r->body);
    refused++;
  }
  assert_true(refused > 0);
  /* reads are answered while the disk is full */
  assert_int_equal(http(&s, "GET", "/healthz", NULL, r), 200);
  assert_int_equal(http(&s, "GET", "/movies/recommend/1/5", NULL, r), 200);
  assert_int_equal(http(&s, "GET", "/users/1", NULL, r), 200);
  assert_int_equal(http(&s, "GET", "/movies/", NULL, r), 200);
  unfill();
  rating_body(body, sizeof(body), 1, 20, 1);
  assert_int_equal(http(&s, "POST", "/users/add_user_rating/", body, r), 200);
  assert_int_equal(tu_kill_wait(s.pid, SIGTERM), 0);
  expect_intact();
  assert_int_equal(rated(1, unrated(1, 0)), 1);
  assert_int_equal(rated(1, unrated(1, 20)), 1);
  for (int k = 1; k < 20; k++)
    assert_int_equal(rated(1, unrated(1, k)), acked[k]);
  expect_no_temp_files();
  free(r);
}

/* ---- writers at once, and a writer holding the lock ---------------------------- */

struct writer {
  const struct server *s;
  int user, n, ok;
};

static void *writer_main(void *arg)
{
  struct writer *w = arg;
  struct tu_res *r = malloc(sizeof(*r));
  char body[512];
  for (int k = 0; k < w->n; k++) {
    rating_body(body, sizeof(body), w->user, k, 1);
    if (http(w->s, "POST", "/users/add_user_rating/", body, r) == 200)
      w->ok++;
  }
  free(r);
  return NULL;
}

static void test_concurrent_writers_and_busy(void **state)
{
  (void)state;
  need_disk();
  serving_home();
  struct server a, b;
  server_start(&a, "a");
  server_start(&b, "b");
  int64_t runs = q("SELECT COUNT(*) FROM runs");
  /* two server processes take ratings while a third trains (runs, metrics,
   * an artifact): every write is acknowledged, none is lost */
  char trainlog[700], sh[2048];
  snprintf(trainlog, sizeof(trainlog), "%s/train.log", g_dir);
  snprintf(sh, sizeof(sh),
           "exec '%s' --home '%s' train --tutorial --dim 8 --epochs 2 "
           "--threads 1 > '%s' 2>&1",
           tu_bin(), g_home, trainlog);
  pid_t trainer = tu_spawn_sh(sh);
  struct writer w[2] = {{&a, 2, 60, 0}, {&b, 3, 60, 0}};
  pthread_t t[2];
  for (int i = 0; i < 2; i++)
    assert_int_equal(pthread_create(&t[i], NULL, writer_main, &w[i]), 0);
  for (int i = 0; i < 2; i++)
    pthread_join(t[i], NULL);
  assert_int_equal(tu_kill_wait(trainer, 0), 0);
  assert_int_equal(w[0].ok, 60);
  assert_int_equal(w[1].ok, 60);
  assert_int_equal(q("SELECT COUNT(*) FROM ratings"), BASE_RATINGS + 120);
  assert_int_equal(q("SELECT COUNT(*) FROM runs WHERE status = 'FINISHED'"),
                   runs + 1);
  /* a writer holding the lock past the busy timeout: 503 + Retry-After
   * for the API, exit 1 for the CLI, both naming the file; nothing of
   * either is written */
  sqlite3 *h = NULL;
  assert_int_equal(sqlite3_open(g_db, &h), SQLITE_OK);
  assert_int_equal(sqlite3_exec(h, "BEGIN IMMEDIATE; INSERT INTO genres(name)"
                                   " VALUES ('held')",
                                NULL, NULL, NULL),
                   SQLITE_OK);
  char cli[700];
  snprintf(cli, sizeof(cli), "%s/cli.log", g_dir);
  snprintf(sh, sizeof(sh),
           "'%s' --home '%s' models transition %s 1 --stage Archived > '%s' "
           "2>&1; echo \"exit=$?\" >> '%s'",
           tu_bin(), g_home, MODEL, cli, cli);
  pid_t cmd = tu_spawn_sh(sh);
  struct tu_res *r = malloc(sizeof(*r));
  char body[512];
  rating_body(body, sizeof(body), 4, 0, 1);
  assert_int_equal(http(&a, "POST", "/users/add_user_rating/", body, r), 503);
  if (!strstr(r->body, "locked by another writer") ||
      !strstr(r->body, "harvest.db"))
    fail_msg("503 detail: %s", r->body);
  assert_non_null(strstr(r->headers, "Retry-After"));
  char *text = tu_wait_file(cli, "exit=");
  assert_non_null(text);
  if (!strstr(text, "exit=1") || !strstr(text, "locked by another writer"))
    fail_msg("CLI under a held lock: %s", text);
  free(text);
  tu_kill_wait(cmd, 0);
  assert_int_equal(sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(h);
  assert_int_equal(rated(4, unrated(4, 0)), 0);
  assert_int_equal(q("SELECT COUNT(*) FROM model_versions WHERE stage = "
                     "'Production'"),
                   1);
  assert_int_equal(http(&a, "POST", "/users/add_user_rating/", body, r), 200);
  free(r);
  assert_int_equal(tu_kill_wait(a.pid, SIGTERM), 0);
  assert_int_equal(tu_kill_wait(b.pid, SIGTERM), 0);
  expect_intact();
}

/* ---- kill -9 of the server during rating writes ----------------------------------- */

#define KILL_WRITERS 2
#define BATCH 3

/* One writer thread: sent is read by the main thread while it writes
 * (atomics: ThreadSanitizer found the plain int racing); acked[k] is
 * written before sent passes k, and read after the join. */
struct batcher {
  const struct server *s;
  int user, acked[64];
  atomic_int sent;
  atomic_int *stop;
};

static void *batcher_main(void *arg)
{
  struct batcher *w = arg;
  struct tu_res *r = malloc(sizeof(*r));
  char body[1024];
  for (int k = 0; k < 64 && !atomic_load(w->stop); k++) {
    rating_body(body, sizeof(body), w->user, k * BATCH, BATCH);
    w->acked[k] = http(w->s, "POST", "/users/add_user_rating/", body, r) ==
                  200;
    atomic_store(&w->sent, k + 1);
  }
  free(r);
  return NULL;
}

static int enough_acked(void *ud)
{
  struct batcher *w = ud;
  int n = 0;
  for (int i = 0; i < KILL_WRITERS; i++)
    n += atomic_load(&w[i].sent);
  return n >= 40;
}

static void test_kill_during_rating_writes(void **state)
{
  (void)state;
  need_disk();
  serving_home();
  struct server s;
  server_start(&s, "killed");
  atomic_int stop = 0;
  struct batcher w[KILL_WRITERS];
  pthread_t t[KILL_WRITERS];
  for (int i = 0; i < KILL_WRITERS; i++) {
    memset(w[i].acked, 0, sizeof(w[i].acked));
    w[i].s = &s;
    w[i].user = 10 + i;
    atomic_init(&w[i].sent, 0);
    w[i].stop = &stop;
    assert_int_equal(pthread_create(&t[i], NULL, batcher_main, &w[i]), 0);
  }
  assert_true(tu_wait_until(enough_acked, w));
  tu_kill_group(s.pid); /* SIGKILL in the middle of the writes */
  atomic_store(&stop, 1);
  for (int i = 0; i < KILL_WRITERS; i++)
    pthread_join(t[i], NULL);
  expect_intact();
  int acked = 0;
  for (int i = 0; i < KILL_WRITERS; i++)
    for (int b = 0; b < atomic_load(&w[i].sent); b++) {
      int64_t n = 0;
      for (int j = 0; j < BATCH; j++)
        n += rated(w[i].user, unrated(w[i].user, b * BATCH + j));
      if (n != 0 && n != BATCH)
        fail_msg("user %d batch %d half-written: %lld of %d", w[i].user, b,
                 (long long)n, BATCH);
      if (w[i].acked[b] && n != BATCH)
        fail_msg("user %d batch %d acknowledged but lost", w[i].user, b);
      acked += w[i].acked[b];
    }
  assert_true(acked >= 30);
  /* the server starts again on the same home and takes writes */
  server_start(&s, "restarted");
  struct tu_res *r = malloc(sizeof(*r));
  char body[512];
  rating_body(body, sizeof(body), 20, 0, 1);
  assert_int_equal(http(&s, "POST", "/users/add_user_rating/", body, r), 200);
  assert_int_equal(http(&s, "GET", "/movies/recommend/20/5", NULL, r), 200);
  free(r);
  assert_int_equal(tu_kill_wait(s.pid, SIGTERM), 0);
  expect_no_temp_files();
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_import_disk_full),
      cmocka_unit_test(test_artifact_write_disk_full),
      cmocka_unit_test(test_home_disk_full_train_and_promotion),
      cmocka_unit_test(test_rating_writes_disk_full),
      cmocka_unit_test(test_concurrent_writers_and_busy),
      cmocka_unit_test(test_kill_during_rating_writes),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
