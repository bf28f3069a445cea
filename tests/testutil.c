/*
 * testutil.c - helpers shared by the cmocka tests: see testutil.h.
 */
#define _GNU_SOURCE
#include "testutil.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store/db.h"
#include "util/fsutil.h"

const char *tu_shared(const char *rel, char *out, size_t cap)
{
  const char *base = getenv("HV_SHARED_DIR");
  if (!base || !*base)
    return NULL;
  snprintf(out, cap, "%s/%s", base, rel);
  struct stat st;
  return stat(out, &st) == 0 ? out : NULL;
}

void tu_tmpdir(char *out, size_t cap)
{
  const char *t = getenv("TMPDIR");
  snprintf(out, cap, "%s/hvtest.XXXXXX", t && *t ? t : "/tmp");
  if (!mkdtemp(out)) {
    perror("mkdtemp");
    abort();
  }
}

void tu_rmtree(const char *dir)
{
  char cmd[4200];
  if (!dir || strlen(dir) < 5 || strstr(dir, "hvtest.") == NULL)
    return;
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  if (system(cmd) != 0)
    fprintf(stderr, "could not remove %s\n", dir);
}

void tu_write(const char *dir, const char *name, const char *text, char *out,
              size_t cap)
{
  snprintf(out, cap, "%s/%s", dir, name);
  FILE *f = fopen(out, "wb");
  if (!f) {
    perror(out);
    abort();
  }
  fputs(text, f);
  fclose(f);
}

const char *tu_bin(void)
{
  const char *b = getenv("HV_BIN");
  return b && *b ? b : "./harvest";
}

int tu_run(const char *cmd, char *out, size_t cap)
{
  FILE *p = popen(cmd, "r");
  if (!p)
    return -1;
  size_t n = 0;
  if (out && cap) {
    n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
  } else {
    char buf[4096];
    while (fread(buf, 1, sizeof(buf), p) > 0) {
    }
  }
  int st = pclose(p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

const char *tu_db(const char *sqlite_path, char *out, size_t cap)
{
  static int seq;
  const char *base = getenv("HV_TEST_PG");
  if (!base || !*base)
    return sqlite_path;
  /* base is postgresql:///DBNAME?PARAMS: the new one replaces DBNAME */
  const char *q = strchr(base, '?');
  char name[64];
  snprintf(name, sizeof(name), "hv_t%ld_%d", (long)getpid(), ++seq);
  PGconn *c = PQconnectdb(base);
  char sql[128];
  snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
  PGresult *r = PQexec(c, sql);
  int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  if (!ok)
    fprintf(stderr, "tu_db: %s: %s", base, PQerrorMessage(c));
  PQclear(r);
  PQfinish(c);
  assert_true(ok);
  snprintf(out, cap, "postgresql:///%s%s", name, q ? q : "");
  return out;
}

int tu_on_pg(void)
{
  const char *base = getenv("HV_TEST_PG");
  return base && *base;
}

static int64_t q1_pg(const char *url, const char *sql)
{
  PGconn *c = PQconnectdb(url);
  PGresult *r = PQexec(c, sql);
  int ok = PQresultStatus(r) == PGRES_TUPLES_OK;
  if (!ok)
    fprintf(stderr, "tu_q1: %s: %s", sql, PQerrorMessage(c));
  int64_t v = ok && PQntuples(r) && !PQgetisnull(r, 0, 0)
                  ? strtoll(PQgetvalue(r, 0, 0), NULL, 10)
                  : -1;
  if (ok && PQntuples(r) && !strcmp(PQgetvalue(r, 0, 0), "t"))
    v = 1; /* booleans */
  PQclear(r);
  PQfinish(c);
  assert_true(ok);
  return v;
}

int64_t tu_q1(const char *db, const char *sql)
{
  if (db_is_url(db))
    return q1_pg(db, sql);
  sqlite3 *h = NULL;
  sqlite3_stmt *st = NULL;
  assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
  int64_t v = -1;
  if (sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(h);
  return v;
}

int tu_exec(const char *db, const char *sql)
{
  if (!db_is_url(db)) {
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    int rc = sqlite3_exec(h, sql, NULL, NULL, NULL);
    sqlite3_close(h);
    return rc;
  }
  PGconn *c = PQconnectdb(db);
  PGresult *r = PQexec(c, sql);
  int rc = PQresultStatus(r) != PGRES_COMMAND_OK;
  PQclear(r);
  PQfinish(c);
  return rc;
}

struct hv_db *tu_open_db(const char *path)
{
  struct hv_db *db = NULL;
  struct hv_err e = {0};
  if (db_open(path, &db, &e))
    fail_msg("open: %s", e.msg);
  return db;
}

pid_t tu_spawn_sh(const char *script)
{
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    setpgid(0, 0);
    execl("/bin/sh", "sh", "-c", script, (char *)NULL);
    _exit(127);
  }
  setpgid(pid, pid);
  return pid;
}

pid_t tu_spawn_quiet(char *const argv[])
{
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int fd = open("/dev/null", O_WRONLY);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    execv(argv[0], argv);
    _exit(127);
  }
  return pid;
}

int tu_kill_wait(pid_t pid, int sig)
{
  kill(pid, sig);
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

double tu_wait_s(void)
{
  const char *v = getenv("HV_TEST_WAIT_S");
  double s = v && *v ? atof(v) : 0;
  return s > 0 ? s : 60.0;
}

int tu_wait_until(int (*cond)(void *ud), void *ud)
{
  double until = hv_mono() + tu_wait_s();
  useconds_t pause_us = 1000;
  for (;;) {
    if (cond(ud))
      return 1;
    if (hv_mono() > until)
      return 0;
    usleep(pause_us); /* a poll interval, not a guess at readiness */
    if (pause_us < 50000)
      pause_us *= 2;
  }
}

struct file_wait {
  const char *path, *needle;
  char *text;
};

static int file_has(void *ud)
{
  struct file_wait *w = ud;
  size_t len;
  struct hv_err e = {0};
  free(w->text);
  w->text = NULL;
  return hv_read_file(w->path, 1 << 24, &w->text, &len, &e) == 0 &&
         strstr(w->text, w->needle) != NULL;
}

char *tu_wait_file(const char *path, const char *needle)
{
  struct file_wait w = {path, needle, NULL};
  if (tu_wait_until(file_has, &w))
    return w.text;
  free(w.text);
  return NULL;
}

int tu_wait_byte(int fd)
{
  struct pollfd p = {.fd = fd, .events = POLLIN};
  int ms = (int)(tu_wait_s() * 1000);
  int rc;
  while ((rc = poll(&p, 1, ms)) < 0 && errno == EINTR) {
  }
  unsigned char b;
  if (rc != 1 || read(fd, &b, 1) != 1)
    return -1;
  return b;
}

uint64_t tu_seed(const char *env)
{
  const char *v = getenv(env);
  uint64_t seed;
  if (v && *v) {
    seed = strtoull(v, NULL, 10);
  } else {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    seed = ((uint64_t)ts.tv_sec * 1000000007u) ^ (uint64_t)ts.tv_nsec ^
           ((uint64_t)getpid() << 32);
  }
  print_message("seed %" PRIu64 " (replay: %s=%" PRIu64 ")\n", seed, env,
                seed);
  return seed;
}

void tu_subreaper(void)
{
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0)
    fail_msg("prctl(PR_SET_CHILD_SUBREAPER): %s", strerror(errno));
}

int tu_kill_group(pid_t pgid)
{
  kill(-pgid, SIGKILL);
  int st = 0, other;
  if (waitpid(pgid, &st, 0) != pgid)
    fail_msg("waitpid(%d): %s", (int)pgid, strerror(errno));
  /* the leader's orphans are ours now (tu_subreaper): reap the group */
  while (waitpid(-pgid, &other, 0) > 0 || errno == EINTR) {
  }
  return st;
}

static int curl_src(const char *src, const char *method, const char *url,
                    const char *body, const char *const *hdrs,
                    const char *cainfo, long timeout_s, tu_curl_cb on_body,
                    tu_curl_cb on_header, void *ud, long *status);

int tu_curl(const char *method, const char *url, const char *body,
            const char *const *hdrs, const char *cainfo, long timeout_s,
            tu_curl_cb on_body, tu_curl_cb on_header, void *ud, long *status)
{
  return curl_src(NULL, method, url, body, hdrs, cainfo, timeout_s, on_body,
                  on_header, ud, status);
}

int tu_curl_from(const char *src, const char *method, const char *url,
                 const char *body, const char *const *hdrs,
                 tu_curl_cb on_body, tu_curl_cb on_header, void *ud,
                 long *status)
{
  return curl_src(src, method, url, body, hdrs, NULL, 30, on_body, on_header,
                  ud, status);
}

static int curl_src(const char *src, const char *method, const char *url,
                    const char *body, const char *const *hdrs,
                    const char *cainfo, long timeout_s, tu_curl_cb on_body,
                    tu_curl_cb on_header, void *ud, long *status)
{
  *status = 0;
  CURL *c = curl_easy_init();
  if (!c)
    return CURLE_FAILED_INIT;
  struct curl_slist *h = NULL;
  for (const char *const *p = hdrs; p && *p; p++)
    h = curl_slist_append(h, *p);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  if (!strcmp(method, "HEAD"))
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  if (body) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, ud);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, ud);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  if (cainfo)
    curl_easy_setopt(c, CURLOPT_CAINFO, cainfo);
  if (src) {
    char iface[64];
    snprintf(iface, sizeof(iface), "host!%s", src);
    curl_easy_setopt(c, CURLOPT_INTERFACE, iface);
  }
  CURLcode rc = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  return (int)rc;
}

/* Append p[0..sz*n) to buf (capacity cap, *len used), cut to fit and
 * NUL-terminated; the whole count is reported consumed. */
static size_t res_append(char *buf, size_t cap, size_t *len, const char *p,
                         size_t sz, size_t n)
{
  size_t k = sz * n;
  if (*len + k >= cap)
    k = cap - 1 - *len;
  memcpy(buf + *len, p, k);
  *len += k;
  buf[*len] = '\0';
  return sz * n;
}

size_t tu_res_body(char *p, size_t sz, size_t n, void *ud)
{
  struct tu_res *r = ud;
  return res_append(r->body, sizeof(r->body), &r->len, p, sz, n);
}

size_t tu_res_header(char *p, size_t sz, size_t n, void *ud)
{
  struct tu_res *r = ud;
  return res_append(r->headers, sizeof(r->headers), &r->hlen, p, sz, n);
}
