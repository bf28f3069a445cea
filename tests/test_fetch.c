/*
 * test_fetch.c - data/fetch.c against a local HTTP server (libmicrohttpd on
 * 127.0.0.1, port 0) started inside the test, serving an ml-100k-shaped zip
 * built with libzip: success and import, checksum mismatch, 404, truncated
 * body and resume with Range, a server that ignores Range, size mismatch,
 * reuse of a verified file, bad arguments, and the CLI.
 */
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include "data/fetch.h"
#include "store/db.h"
#include "store/stats.h"
#include "testutil.h"

static const char *const files[][2] = {
    {"ml-100k/u.genre", "unknown|0\nAction|1\n"},
    {"ml-100k/u.occupation", "student\nwriter\n"},
    {"ml-100k/u.user",
     "1|24|M|student|85711\n2|53|F|writer|94043\n3|23|M|student|32067\n"},
    {"ml-100k/u.item", "1|Toy Story (1995)|01-Jan-1995||http://a|0|1\n"
                       "2|GoldenEye (1995)|01-Jan-1995||http://b|0|1\n"
                       "3|Four Rooms (1995)|01-Jan-1995||http://c|1|0\n"
                       "4|Get Shorty (1995)|01-Jan-1995||http://d|0|1\n"},
    {"ml-100k/u.data", "1\t1\t5\t874724710\n1\t2\t3\t874724711\n"
                       "2\t1\t4\t874724712\n2\t3\t2\t874724713\n"
                       "3\t4\t1\t874724714\n3\t1\t4\t874724715\n"},
};

struct server {
  struct MHD_Daemon *d;
  int port;
  unsigned char *zip;
  size_t zip_len;
  char sha[65];
  pthread_mutex_t mu;
  int requests, flaky_served;
  char last_range[64];
  char dir[256];
};

static struct server srv;

/* Build the zip in dir and load it into memory. */
static void make_zip(struct server *s)
{
  char path[512];
  snprintf(path, sizeof(path), "%s/src.zip", s->dir);
  int ze = 0;
  zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &ze);
  assert_non_null(z);
  for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
    zip_source_t *src =
        zip_source_buffer(z, files[i][1], strlen(files[i][1]), 0);
    assert_non_null(src);
    assert_true(zip_file_add(z, files[i][0], src, ZIP_FL_OVERWRITE) >= 0);
  }
  assert_int_equal(zip_close(z), 0);
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  s->zip_len = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  s->zip = malloc(s->zip_len);
  assert_int_equal(fread(s->zip, 1, s->zip_len, f), s->zip_len);
  fclose(f);
  struct hv_err e = {0};
  assert_int_equal(fetch_sha256_file(path, s->sha, &e), 0);
}

/* Body reader that fails half way (the declared length is never sent). */
static ssize_t half_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
  struct server *s = cls;
  size_t half = s->zip_len / 2;
  if (pos >= half)
    return MHD_CONTENT_READER_END_WITH_ERROR;
  size_t n = half - (size_t)pos < max ? half - (size_t)pos : max;
  memcpy(buf, s->zip + pos, n);
  return (ssize_t)n;
}

static enum MHD_Result send_bytes(struct MHD_Connection *c, unsigned code,
                                  const void *p, size_t n,
                                  const char *content_range)
{
  struct MHD_Response *r =
      MHD_create_response_from_buffer(n, (void *)p, MHD_RESPMEM_MUST_COPY);
  if (content_range)
    MHD_add_response_header(r, "Content-Range", content_range);
  enum MHD_Result ok = MHD_queue_response(c, code, r);
  MHD_destroy_response(r);
  return ok;
}

/* The zip, honouring "Range: bytes=N-". */
static enum MHD_Result send_ranged(struct server *s, struct MHD_Connection *c,
                                   const char *range)
{
  unsigned long long from = 0;
  if (!range || sscanf(range, "bytes=%llu-", &from) != 1)
    return send_bytes(c, 200, s->zip, s->zip_len, NULL);
  if (from >= s->zip_len)
    return send_bytes(c, 416, "", 0, NULL);
  char cr[96];
  snprintf(cr, sizeof(cr), "bytes %llu-%zu/%zu", from, s->zip_len - 1,
           s->zip_len);
  return send_bytes(c, 206, s->zip + from, s->zip_len - from, cr);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c,
                               const char *url, const char *method,
                               const char *version, const char *upload,
                               size_t *upload_size, void **con_cls)
{
  struct server *s = cls;
  const char *range =
      MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Range");
  pthread_mutex_lock(&s->mu);
  s->requests++;
  snprintf(s->last_range, sizeof(s->last_range), "%s", range ? range : "");
  int flaky_first = !strcmp(url, "/flaky.zip") && s->flaky_served++ == 0;
  pthread_mutex_unlock(&s->mu);
  if (!strcmp(url, "/ml-100k.zip") || !strcmp(url, "/flaky.zip")) {
    if (!flaky_first)
      return send_ranged(s, c, range);
    struct MHD_Response *r = MHD_create_response_from_callback(
        s->zip_len, 1024, half_reader, s, NULL);
    enum MHD_Result ok = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ok;
  }
  if (!strcmp(url, "/norange.zip"))
    return send_bytes(c, 200, s->zip, s->zip_len, NULL);
  return send_bytes(c, 404, "not here", 8, NULL);
}

static int server_start(void **state)
{
  memset(&srv, 0, sizeof(srv));
  pthread_mutex_init(&srv.mu, NULL);
  tu_tmpdir(srv.dir, sizeof(srv.dir));
  make_zip(&srv);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  srv.d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL,
                           handler, &srv, MHD_OPTION_SOCK_ADDR, &a,
                           MHD_OPTION_END);
  if (!srv.d)
    return -1;
  const union MHD_DaemonInfo *info =
      MHD_get_daemon_info(srv.d, MHD_DAEMON_INFO_BIND_PORT);
  srv.port = info ? info->port : 0;
  return srv.port > 0 ? 0 : -1;
}

static int server_stop(void **state)
{
  MHD_stop_daemon(srv.d);
  free(srv.zip);
  tu_rmtree(srv.dir);
  pthread_mutex_destroy(&srv.mu);
  return 0;
}

static void url_of(const char *path, char *out, size_t cap)
{
  snprintf(out, cap, "http://127.0.0.1:%d%s", srv.port, path);
}

static int exists(const char *path)
{
  struct stat st;
  return stat(path, &st) == 0;
}

static int64_t size_of(const char *path)
{
  struct stat st;
  return stat(path, &st) == 0 ? (int64_t)st.st_size : -1;
}

/* A fresh download folder with dest = DIR/x.zip and part = dest.part. */
struct dl {
  char dir[256], dest[512], part[600];
};

static void dl_init(struct dl *d)
{
  tu_tmpdir(d->dir, sizeof(d->dir));
  snprintf(d->dest, sizeof(d->dest), "%s/x.zip", d->dir);
  snprintf(d->part, sizeof(d->part), "%s.part", d->dest);
}

static void test_success_and_import(void **state)
{
  struct dl d;
  dl_init(&d);
  char url[128];
  url_of("/ml-100k.zip", url, sizeof(url));
  struct fetch_result r;
  struct hv_err e = {0};
  assert_int_equal(fetch_url(url, d.dest, srv.sha, (int64_t)srv.zip_len, NULL,
                             NULL, &r, &e),
                   0);
  assert_int_equal(r.bytes, (int64_t)srv.zip_len);
  assert_string_equal(r.sha256, srv.sha);
  assert_int_equal(r.resumed_from, 0);
  assert_true(exists(d.dest));
  assert_false(exists(d.part));
  /* download + import through the service */
  char dbpath[600];
  snprintf(dbpath, sizeof(dbpath), "%s/h.db", d.dir);
  struct hv_db *db = NULL;
  assert_int_equal(db_open(dbpath, &db, &e), 0);
  struct fetch_request q = {.dataset = "ml-100k", .url = url, .size = -1,
                            .dir = d.dir};
  struct fetch_import_result ir;
  assert_int_equal(fetch_and_import(db, &q, NULL, NULL, &ir, &e), 0);
  assert_int_equal(ir.users, 3);
  assert_int_equal(ir.movies, 4);
  assert_int_equal(ir.ratings, 6);
  assert_string_equal(ir.format, "ml-100k");
  struct stats_counts n;
  assert_int_equal(stats_counts(db, &n, &e), 0);
  assert_int_equal(n.ratings, 6);
  /* a second import is refused without replace; the guess works with only
   * a URL */
  q.dataset = NULL;
  assert_int_equal(fetch_and_import(db, &q, NULL, NULL, &ir, &e),
                   HV_ECONFLICT);
  q.replace = 1;
  assert_int_equal(fetch_and_import(db, &q, NULL, NULL, &ir, &e), 0);
  assert_string_equal(ir.format, "ml-100k");
  db_close(db);
  tu_rmtree(d.dir);
}

static void test_checksum_and_size_mismatch(void **state)
{
  struct dl d;
  dl_init(&d);
  char url[128];
  url_of("/ml-100k.zip", url, sizeof(url));
  struct hv_err e = {0};
  char zeros[65];
  memset(zeros, '0', 64);
  zeros[64] = '\0';
  assert_int_equal(fetch_url(url, d.dest, zeros, -1, NULL, NULL, NULL, &e),
                   HV_ECORRUPT);
  assert_non_null(strstr(e.msg, srv.sha));
  assert_false(exists(d.dest));
  assert_false(exists(d.part));
  assert_int_equal(fetch_url(url, d.dest, NULL, (int64_t)srv.zip_len + 1, NULL,
                             NULL, NULL, &e),
                   HV_ECORRUPT);
  assert_non_null(strstr(e.msg, "expected"));
  assert_false(exists(d.dest));
  assert_false(exists(d.part));
  tu_rmtree(d.dir);
}

static void test_not_found(void **state)
{
  struct dl d;
  dl_init(&d);
  char url[128];
  url_of("/missing.zip", url, sizeof(url));
  struct hv_err e = {0};
  assert_int_equal(fetch_url(url, d.dest, NULL, -1, NULL, NULL, NULL, &e),
                   HV_ENOTFOUND);
  assert_non_null(strstr(e.msg, "404"));
  assert_false(exists(d.dest));
  char part[700];
  snprintf(part, sizeof(part), "%s.part", d.dest);
  assert_false(exists(part)); /* nothing came: no empty .part either */
  /* nothing listening: a network error */
  assert_int_equal(fetch_url("http://127.0.0.1:1/x.zip", d.dest, NULL, -1,
                             NULL, NULL, NULL, &e),
                   HV_EIO);
  assert_false(exists(d.dest));
  assert_false(exists(part));
  /* and the message does not promise a partial file to resume from */
  assert_non_null(strstr(e.msg, "nothing downloaded"));
  assert_null(strstr(e.msg, "partial file kept"));
  tu_rmtree(d.dir);
}

static void count_progress(void *ctx, int64_t done, int64_t total)
{
  (*(int *)ctx)++;
}

/* The first transfer breaks half way: the .part stays; the next run asks
 * for the rest with Range and ends with the right file. */
static void test_truncated_then_resume(void **state)
{
  struct dl d;
  dl_init(&d);
  char url[128];
  url_of("/flaky.zip", url, sizeof(url));
  struct hv_err e = {0};
  struct fetch_result r;
  int calls = 0;
  assert_int_equal(fetch_url(url, d.dest, srv.sha, -1, count_progress, &calls,
                             &r, &e),
                   HV_EIO);
  assert_non_null(strstr(e.msg, "resume"));
  assert_false(exists(d.dest));
  int64_t have = size_of(d.part);
  assert_true(have > 0 && have < (int64_t)srv.zip_len);
  assert_int_equal(fetch_url(url, d.dest, srv.sha, -1, count_progress, &calls,
                             &r, &e),
                   0);
  assert_int_equal(r.resumed_from, have);
  assert_string_equal(r.sha256, srv.sha);
  char want[64];
  snprintf(want, sizeof(want), "bytes=%lld-", (long long)have);
  pthread_mutex_lock(&srv.mu);
  assert_string_equal(srv.last_range, want);
  pthread_mutex_unlock(&srv.mu);
  assert_false(exists(d.part));
  assert_true(calls > 0);
  tu_rmtree(d.dir);
}

/* A stale .part and a server that ignores Range: start over. A .part as
 * long as the file gets 416 and a fresh download too. */
static void test_range_ignored_or_refused(void **state)
{
  struct dl d;
  dl_init(&d);
  char url[128], tmp[700];
  url_of("/norange.zip", url, sizeof(url));
  tu_write(d.dir, "x.zip.part", "garbage that is not the zip", tmp,
           sizeof(tmp));
  struct hv_err e = {0};
  struct fetch_result r;
  int rc = fetch_url(url, d.dest, srv.sha, -1, NULL, NULL, &r, &e);
  if (rc)
    fail_msg("%s", e.msg);
  assert_int_equal(r.resumed_from, 0);
  assert_int_equal(size_of(d.dest), (int64_t)srv.zip_len);
  unlink(d.dest);
  FILE *f = fopen(d.part, "wb");
  assert_non_null(f);
  for (size_t i = 0; i < srv.zip_len + 10; i++)
    fputc('x', f);
  fclose(f);
  url_of("/ml-100k.zip", url, sizeof(url));
  assert_int_equal(fetch_url(url, d.dest, srv.sha, -1, NULL, NULL, &r, &e), 0);
  assert_int_equal(r.resumed_from, 0);
  assert_string_equal(r.sha256, srv.sha);
  tu_rmtree(d.dir);
}

static void test_reuse_verified(void **state)
{
  struct dl d;
  dl_init(&d);
  char url[128];
  url_of("/ml-100k.zip", url, sizeof(url));
  struct hv_err e = {0};
  struct fetch_result r;
  assert_int_equal(fetch_url(url, d.dest, srv.sha, -1, NULL, NULL, &r, &e), 0);
  pthread_mutex_lock(&srv.mu);
  int before = srv.requests;
  pthread_mutex_unlock(&srv.mu);
  assert_int_equal(fetch_url(url, d.dest, srv.sha, -1, NULL, NULL, &r, &e), 0);
  assert_int_equal(r.reused, 1);
  pthread_mutex_lock(&srv.mu);
  assert_int_equal(srv.requests, before);
  pthread_mutex_unlock(&srv.mu);
  /* without a checksum it downloads again */
  assert_int_equal(fetch_url(url, d.dest, NULL, -1, NULL, NULL, &r, &e), 0);
  assert_int_equal(r.reused, 0);
  tu_rmtree(d.dir);
}

static void test_bad_arguments(void **state)
{
  struct hv_err e = {0};
  char url[128];
  url_of("/ml-100k.zip", url, sizeof(url));
  assert_int_equal(fetch_url(NULL, "/tmp/x", NULL, -1, NULL, NULL, NULL, &e),
                   HV_EUSAGE);
  assert_int_equal(fetch_url(url, "", NULL, -1, NULL, NULL, NULL, &e),
                   HV_EUSAGE);
  static const char *const bad_sha[] = {"xyz", "", "0123",
                                        "g000000000000000000000000000000000"
                                        "000000000000000000000000000000"};
  for (size_t i = 0; i < sizeof(bad_sha) / sizeof(bad_sha[0]); i++)
    assert_int_equal(
        fetch_url(url, "/tmp/x", bad_sha[i], -1, NULL, NULL, NULL, &e),
        HV_EUSAGE);
  struct dl d;
  dl_init(&d);
  assert_int_equal(fetch_url("ftp://127.0.0.1/x.zip", d.dest, NULL, -1, NULL,
                             NULL, NULL, &e),
                   HV_EIO);
  assert_int_equal(fetch_url(url, "/nonexistent-dir/sub/x.zip", NULL, -1,
                             NULL, NULL, NULL, &e),
                   HV_EIO);
  struct fetch_request q = {.dataset = "ml-10m", .size = -1, .dir = d.dir};
  struct fetch_import_result ir;
  assert_int_equal(fetch_and_import(NULL, &q, NULL, NULL, &ir, &e), HV_EUSAGE);
  tu_rmtree(d.dir);
  char hex[65];
  assert_int_equal(fetch_sha256_file("/nonexistent/file", hex, &e),
                   HV_ENOTFOUND);
}

static void test_names_and_known(void **state)
{
  static const char *const cases[][3] = {
      {"http://h/a/b.zip?x=1#f", "fb.zip", "b.zip"},
      {"http://h/", "fb.zip", "fb.zip"},
      {"http://h", "fb.zip", "fb.zip"},
      {"http://h/a/..", "fb.zip", "fb.zip"},
      {"https://h/a%20b.zip", "fb.zip", "a_20b.zip"},
      {"https://h/x/ml-1m.zip", "fb.zip", "ml-1m.zip"},
  };
  char out[64];
  struct hv_err e = {0};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    assert_int_equal(fetch_file_name(cases[i][0], cases[i][1], out,
                                     sizeof(out), &e),
                     0);
    assert_string_equal(out, cases[i][2]);
  }
  assert_int_equal(fetch_file_name(NULL, "f.zip", out, sizeof(out), &e), 0);
  assert_string_equal(out, "f.zip");
  assert_int_equal(fetch_file_name("http://h/", NULL, out, sizeof(out), &e),
                   HV_EINVAL);
  assert_int_equal(fetch_file_name("http://h/abcdef", "f", out, 4, &e),
                   HV_EINVAL);
  assert_string_equal(fetch_dataset_format("ml-latest-small"), "ml-latest");
  assert_string_equal(fetch_dataset_format("ml-1m"), "ml-1m");
  assert_null(fetch_dataset_format("ml-25m"));
  assert_null(fetch_default_url(NULL));
  assert_non_null(strstr(fetch_default_url("ml-100k"), "ml-100k.zip"));
  /* SHA-256("abc") */
  char dir[256], path[512], hex[65];
  tu_tmpdir(dir, sizeof(dir));
  tu_write(dir, "abc", "abc", path, sizeof(path));
  assert_int_equal(fetch_sha256_file(path, hex, &e), 0);
  assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb"
                           "410ff61f20015ad");
  tu_rmtree(dir);
}

static void test_cli(void **state)
{
  char dir[256], cmd[1024], out[8192], url[128];
  tu_tmpdir(dir, sizeof(dir));
  url_of("/ml-100k.zip", url, sizeof(url));
  snprintf(cmd, sizeof(cmd),
           "%s --home %s/h data fetch --dataset ml-100k --url %s --sha256 %s "
           "--json",
           tu_bin(), dir, url, srv.sha);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  json_error_t je;
  json_t *j = json_loads(out, 0, &je);
  assert_non_null(j);
  assert_string_equal(json_string_value(json_object_get(j, "sha256")),
                      srv.sha);
  json_t *imp = json_object_get(j, "import");
  assert_int_equal(json_integer_value(json_object_get(imp, "ratings")), 6);
  json_decref(j);
  char f[600];
  snprintf(f, sizeof(f), "%s/h/downloads/ml-100k.zip", dir);
  assert_true(exists(f));
  snprintf(cmd, sizeof(cmd),
           "%s --home %s/h data fetch --url %s --sha256 %064d 2>&1", tu_bin(),
           dir, url, 0);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 1);
  assert_non_null(strstr(out, "SHA-256"));
  snprintf(cmd, sizeof(cmd), "%s --home %s/h data fetch --dataset ml-10m "
                             "2>/dev/null",
           tu_bin(), dir);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 2);
  snprintf(cmd, sizeof(cmd), "%s --home %s/h data fetch --sha256 nothex "
                             "--url %s 2>/dev/null",
           tu_bin(), dir, url);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 2);
  /* the dataset NAME positional, as data import PATH is */
  snprintf(cmd, sizeof(cmd),
           "%s --home %s/p data fetch ml-100k --url %s --sha256 %s --json",
           tu_bin(), dir, url, srv.sha);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  assert_non_null(strstr(out, "\"dataset\": \"ml-100k\""));
  static const struct {
    const char *args, *msg;
  } usage[] = {{"ml-1m --dataset ml-100k", "two datasets"},
               {"ml-10m", "unknown dataset 'ml-10m'"},
               {"ml-100k ml-1m", "unexpected argument"}};
  for (size_t i = 0; i < sizeof(usage) / sizeof(usage[0]); i++) {
    snprintf(cmd, sizeof(cmd), "%s --home %s/u data fetch %s 2>&1",
             tu_bin(), dir, usage[i].args);
    if (tu_run(cmd, out, sizeof(out)) != 2 || !strstr(out, usage[i].msg))
      fail_msg("'%s': %s", usage[i].args, out);
  }
  /* a failed fetch into a new home: no empty database, no empty .part */
  url_of("/missing.zip", url, sizeof(url));
  snprintf(cmd, sizeof(cmd), "%s --home %s/n data fetch --url %s 2>&1",
           tu_bin(), dir, url);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 1);
  assert_non_null(strstr(out, "404"));
  snprintf(f, sizeof(f), "%s/n/harvest.db", dir);
  assert_false(exists(f));
  snprintf(f, sizeof(f), "%s/n/downloads/missing.zip.part", dir);
  assert_false(exists(f));
  tu_rmtree(dir);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_success_and_import),
      cmocka_unit_test(test_checksum_and_size_mismatch),
      cmocka_unit_test(test_not_found),
      cmocka_unit_test(test_truncated_then_resume),
      cmocka_unit_test(test_range_ignored_or_refused),
      cmocka_unit_test(test_reuse_verified),
      cmocka_unit_test(test_bad_arguments),
      cmocka_unit_test(test_names_and_known),
      cmocka_unit_test(test_cli),
  };
  return cmocka_run_group_tests(tests, server_start, server_stop);
}
