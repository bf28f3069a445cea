/*
 * test_artifacts.c - track/artifacts: logical path validation (each
 * traversal case), content addressing, dedup, immutability, checksum on
 * read, planted symlinks refused, and `harvest artifacts` end to end.
 * On PostgreSQL (test_artifacts_pg) the same, plus the blobs kept in the
 * database: chunks of 1 MiB, a second home with only the database URL
 * reads them and loads the Production model, a damaged chunk refused, a
 * damaged local copy fetched again; and --artifacts DIR on both.
 */
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/blobs.h"
#include "store/db.h"
#include "testutil.h"
#include "track/artifacts.h"
#include "track/registry.h"
#include "track/runs.h"
#include "track/uri.h"
#include "util/fsutil.h"

struct fx {
  char home[256];
  char dbpath[512];
  char url[512];
  struct hv_db *db;
  char run[33];
};

static int setup(void **state)
{
  struct fx *f = calloc(1, sizeof(*f));
  struct hv_err e = {0};
  tu_tmpdir(f->home, sizeof(f->home));
  char file[512];
  snprintf(file, sizeof(file), "%s/harvest.db", f->home);
  snprintf(f->dbpath, sizeof(f->dbpath), "%s",
           tu_db(file, f->url, sizeof(f->url)));
  if (db_open(f->dbpath, &f->db, &e) ||
      runs_start(f->db, "a", NULL, NULL, f->run, &e))
    return -1;
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fx *f = *state;
  db_close(f->db);
  tu_rmtree(f->home);
  free(f);
  return 0;
}

static void sha_of(const void *d, size_t n, char hex[65])
{
  unsigned char dig[32];
  assert_true(sodium_init() >= 0);
  crypto_hash_sha256(dig, d, n);
  sodium_bin2hex(hex, 65, dig, 32);
}

static void test_check_path(void **state)
{
  static const struct {
    const char *p;
    size_t len; /* 0: strlen */
    const char *want; /* NULL: accepted */
  } cases[] = {
      {"model/model.hvm", 0, NULL},
      {"report.json", 0, NULL},
      {"a/b/c/d.txt", 0, NULL},
      {"..a/b..", 0, NULL},
      {".hidden", 0, NULL},
      {"", 0, "empty"},
      {"..", 0, "'..' component"},
      {"../x", 0, "'..' component"},
      {"a/../../etc/passwd", 0, "'..' component"},
      {"a/..", 0, "'..' component"},
      {"./a", 0, "'.' component"},
      {"a/./b", 0, "'.' component"},
      {"/etc/passwd", 0, "absolute"},
      {"//x", 0, "absolute"},
      {"a//b", 0, "empty component"},
      {"a/", 0, "empty component"},
      {"a\\..\\b", 0, "backslash"},
      {"..\\x", 0, "backslash"},
      {"a\0/../../x", 10, "NUL byte"},
      {"a\nb", 0, "control byte"},
      {"a\x7f", 0, "control byte"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct hv_err e = {0};
    size_t len = cases[i].len ? cases[i].len : strlen(cases[i].p);
    int rc = artifacts_check_path(cases[i].p, len, &e);
    if (!cases[i].want ? rc != 0
                       : rc != HV_EINVAL || !strstr(e.msg, cases[i].want))
      fail_msg("path case %zu '%s': rc %d '%s'", i, cases[i].p, rc, e.msg);
  }
  struct hv_err e = {0};
  assert_int_equal(artifacts_check_path(NULL, 0, &e), HV_EINVAL);
  char big[ARTIFACTS_MAX_PATH + 2];
  memset(big, 'a', sizeof(big));
  for (size_t i = 100; i < sizeof(big); i += 100)
    big[i] = '/';
  assert_int_equal(artifacts_check_path(big, ARTIFACTS_MAX_PATH + 1, &e),
                   HV_EINVAL);
  assert_non_null(strstr(e.msg, "limit"));
  assert_int_equal(artifacts_check_path(big, ARTIFACTS_MAX_PATH, &e), 0);
  char comp[ARTIFACTS_MAX_COMPONENT + 1];
  memset(comp, 'c', sizeof(comp));
  assert_int_equal(artifacts_check_path(comp, sizeof(comp), &e), HV_EINVAL);
  assert_non_null(strstr(e.msg, "component"));
  assert_int_equal(artifacts_check_path(comp, sizeof(comp) - 1, &e), 0);
}

static void test_put_get(void **state)
{
  struct fx *f = *state;
  struct hv_err e = {0};
  const char text[] = "model bytes \x01\x02\x00 end";
  char src[512], sha[65], want[65], blob[4096];
  tu_write(f->home, "src.bin", "", src, sizeof(src));
  FILE *fp = fopen(src, "wb");
  fwrite(text, 1, sizeof(text), fp);
  fclose(fp);
  sha_of(text, sizeof(text), want);
  assert_int_equal(
      artifacts_put_file(f->home, f->db, f->run, "model/model.hvm", src, sha,
                         &e),
      0);
  assert_string_equal(sha, want);
  /* stored under sha256/ab/abcd..., read-only */
  char expect[1024];
  snprintf(expect, sizeof(expect), "%s/artifacts/sha256/%.2s/%s", f->home,
           want, want);
  struct stat st;
  assert_int_equal(stat(expect, &st), 0);
  assert_int_equal(st.st_size, sizeof(text));
  assert_int_equal(st.st_mode & 0222, 0);
  /* same content again (same or other path): no-op / dedup */
  assert_int_equal(artifacts_put_file(f->home, f->db, f->run,
                                      "model/model.hvm", src, NULL, &e),
                   0);
  assert_int_equal(
      artifacts_put_bytes(f->home, f->db, f->run, "copy.bin", text,
                          sizeof(text), sha, &e),
      0);
  assert_string_equal(sha, want);
  /* other content at a taken path: refused */
  assert_int_equal(artifacts_put_bytes(f->home, f->db, f->run,
                                       "model/model.hvm", "x", 1, NULL, &e),
                   HV_ECONFLICT);
  assert_non_null(strstr(e.msg, "immutable"));
  assert_int_equal(artifacts_put_bytes(f->home, f->db, f->run, "empty", NULL,
                                       0, NULL, &e),
                   0);
  struct tracking_artifact *a = NULL;
  size_t n = 0;
  assert_int_equal(artifacts_list(f->db, f->run, &a, &n, &e), 0);
  assert_int_equal(n, 3);
  assert_string_equal(a[0].path, "copy.bin");
  assert_string_equal(a[2].path, "model/model.hvm");
  assert_int_equal(a[2].size, sizeof(text));
  tracking_artifacts_free(a, n);
  struct tracking_artifact meta;
  assert_int_equal(artifacts_resolve(f->home, f->db, f->run,
                                     "model/model.hvm", &meta, blob,
                                     sizeof(blob), &e),
                   0);
  assert_string_equal(blob, expect);
  assert_string_equal(meta.sha256, want);
  free(meta.path);
  char out[512];
  snprintf(out, sizeof(out), "%s/out.bin", f->home);
  assert_int_equal(artifacts_save_as(f->home, f->db, f->run,
                                     "model/model.hvm", out, &e),
                   0);
  char *back = NULL;
  size_t len = 0;
  assert_int_equal(hv_read_file(out, 1 << 20, &back, &len, &e), 0);
  assert_int_equal(len, sizeof(text));
  assert_memory_equal(back, text, len);
  free(back);

  /* bad input */
  static const char *const bad_paths[] = {"../x", "/abs", "a//b", "a\\b",
                                          ""};
  for (size_t i = 0; i < sizeof(bad_paths) / sizeof(bad_paths[0]); i++) {
    assert_int_equal(artifacts_put_file(f->home, f->db, f->run, bad_paths[i],
                                        src, NULL, &e),
                     HV_EINVAL);
    assert_int_equal(artifacts_resolve(f->home, f->db, f->run, bad_paths[i],
                                       NULL, NULL, 0, &e),
                     HV_EINVAL);
  }
  assert_int_equal(artifacts_put_file(f->home, f->db, f->run, "x", NULL, NULL,
                                      &e),
                   HV_EINVAL);
  assert_int_equal(artifacts_put_file(f->home, f->db, f->run, "x",
                                      "/nonexistent/file", NULL, &e),
                   HV_ENOTFOUND);
  assert_int_equal(artifacts_put_file(f->home, f->db, f->run, "x", f->home,
                                      NULL, &e),
                   HV_EINVAL); /* a directory */
  assert_int_equal(artifacts_put_file(f->home, f->db,
                                      "0123456789abcdef0123456789abcdef", "x",
                                      src, NULL, &e),
                   HV_ENOTFOUND);
  assert_int_equal(artifacts_put_file(f->home, f->db, "bad", "x", src, NULL,
                                      &e),
                   HV_EINVAL);
  assert_int_equal(artifacts_resolve(f->home, f->db, f->run, "missing", NULL,
                                     NULL, 0, &e),
                   HV_ENOTFOUND);
  assert_int_equal(artifacts_verify_blob(f->home, f->db, "../../etc/passwd",
                                         -1, NULL, 0, &e),
                   HV_ECORRUPT);
  assert_int_equal(artifacts_list(f->db, "0123456789abcdef0123456789abcdef",
                                  &a, &n, &e),
                   HV_ENOTFOUND);
}

/* Store content; return its blob path. */
static void put_text(struct fx *f, const char *path, const char *text,
                     char sha[65], char blob[4096])
{
  struct hv_err e = {0};
  assert_int_equal(artifacts_put_bytes(f->home, f->db, f->run, path, text,
                                       strlen(text), sha, &e),
                   0);
  snprintf(blob, 4096, "%s/artifacts/sha256/%.2s/%s", f->home, sha, sha);
}

/* artifacts_read: the verified bytes, the size limit, unknown paths. */
static void test_read(void **state)
{
  struct fx *f = *state;
  struct hv_err e = {0};
  char sha[65], blob[4096];
  put_text(f, "dir/r.txt", "some content", sha, blob);
  char *b = NULL;
  size_t n = 0;
  assert_int_equal(artifacts_read(f->home, f->db, f->run, "dir/r.txt", 100,
                                  &b, &n, &e),
                   0);
  assert_int_equal(n, strlen("some content"));
  assert_memory_equal(b, "some content", n);
  free(b);
  assert_int_equal(artifacts_read(f->home, f->db, f->run, "dir/r.txt", 5,
                                  &b, &n, &e),
                   HV_ETOOBIG);
  assert_non_null(strstr(e.msg, "12 bytes"));
  assert_null(b);
  assert_int_equal(artifacts_read(f->home, f->db, f->run, "no.txt", 100, &b,
                                  &n, &e),
                   HV_ENOTFOUND);
}

/* A damaged local blob (on PostgreSQL a damaged local copy is fetched
 * again: test_db_blobs). */
static void test_corruption_detected(void **state)
{
  struct fx *f = *state;
  if (tu_on_pg())
    skip();
  struct hv_err e = {0};
  char sha[65], blob[4096];
  put_text(f, "r.txt", "original content", sha, blob);
  assert_int_equal(chmod(blob, 0644), 0);
  FILE *fp = fopen(blob, "r+b");
  fputc('X', fp); /* same size, other bytes */
  fclose(fp);
  assert_int_equal(artifacts_resolve(f->home, f->db, f->run, "r.txt", NULL,
                                     NULL, 0, &e),
                   HV_ECORRUPT);
  assert_non_null(strstr(e.msg, "checksum"));
  char out[512];
  snprintf(out, sizeof(out), "%s/o.txt", f->home);
  assert_int_equal(
      artifacts_save_as(f->home, f->db, f->run, "r.txt", out, &e),
      HV_ECORRUPT);
  assert_int_equal(access(out, F_OK), -1); /* nothing written */
  FILE *devnull = fopen("/dev/null", "w");
  assert_int_equal(
      artifacts_write_to(f->home, f->db, f->run, "r.txt", devnull, &e),
      HV_ECORRUPT);
  fclose(devnull);
  char *bytes = (char *)1;
  size_t blen = 7;
  assert_int_equal(artifacts_read(f->home, f->db, f->run, "r.txt", 1 << 20,
                                  &bytes, &blen, &e),
                   HV_ECORRUPT);
  assert_null(bytes); /* nothing handed out */
  assert_int_equal(blen, 0);
  /* truncated */
  assert_int_equal(truncate(blob, 3), 0);
  assert_int_equal(artifacts_resolve(f->home, f->db, f->run, "r.txt", NULL,
                                     NULL, 0, &e),
                   HV_ECORRUPT);
  /* re-logging the same content repairs the blob */
  put_text(f, "r2.txt", "original content", sha, blob);
  assert_int_equal(artifacts_resolve(f->home, f->db, f->run, "r.txt", NULL,
                                     NULL, 0, &e),
                   0);
  /* missing */
  assert_int_equal(unlink(blob), 0);
  assert_int_equal(artifacts_resolve(f->home, f->db, f->run, "r.txt", NULL,
                                     NULL, 0, &e),
                   HV_ENOTFOUND);
}

static void test_symlinks_refused(void **state)
{
  struct fx *f = *state;
  if (tu_on_pg())
    skip(); /* a planted blob link is replaced by the database's copy */
  struct hv_err e = {0};
  char sha[65], blob[4096], outside[512], evil[512];
  const char *text = "secret outside the store";
  /* an outside file with exactly the content the record expects */
  tu_write(f->home, "outside.txt", text, outside, sizeof(outside));
  put_text(f, "s.txt", text, sha, blob);

  /* 1: the blob itself replaced by a symlink to the outside file */
  assert_int_equal(unlink(blob), 0);
  assert_int_equal(symlink(outside, blob), 0);
  assert_int_equal(artifacts_resolve(f->home, f->db, f->run, "s.txt", NULL,
                                     NULL, 0, &e),
                   HV_ECORRUPT);
  assert_non_null(strstr(e.msg, "symlink"));
  assert_int_equal(artifacts_write_to(f->home, f->db, f->run, "s.txt", stdout,
                                      &e),
                   HV_ECORRUPT);
  /* logging the content again replaces the link, not its target */
  put_text(f, "s2.txt", text, sha, blob);
  struct stat st;
  assert_int_equal(lstat(blob, &st), 0);
  assert_true(S_ISREG(st.st_mode));
  assert_int_equal(artifacts_resolve(f->home, f->db, f->run, "s.txt", NULL,
                                     NULL, 0, &e),
                   0);

  /* 2: the bucket folder sha256/XX replaced by a symlink outside */
  char evil_dir[512], bucket[1024], moved[1024];
  snprintf(evil_dir, sizeof(evil_dir), "%s/evil", f->home);
  assert_int_equal(mkdir(evil_dir, 0755), 0);
  snprintf(evil, sizeof(evil), "%s/%s", evil_dir, sha);
  FILE *fp = fopen(evil, "w");
  fputs(text, fp);
  fclose(fp);
  snprintf(bucket, sizeof(bucket), "%s/artifacts/sha256/%.2s", f->home, sha);
  snprintf(moved, sizeof(moved), "%s.moved", bucket);
  assert_int_equal(rename(bucket, moved), 0);
  assert_int_equal(symlink(evil_dir, bucket), 0);
  assert_int_equal(artifacts_resolve(f->home, f->db, f->run, "s.txt", NULL,
                                     NULL, 0, &e),
                   HV_ECORRUPT);
  assert_non_null(strstr(e.msg, "symlink"));
  /* and a write into that bucket is refused instead of landing outside */
  assert_int_equal(artifacts_put_bytes(f->home, f->db, f->run, "s3.txt", text,
                                       strlen(text), NULL, &e),
                   HV_ECORRUPT);
  /* 3: the sha256 folder itself a symlink outside */
  char top[1024], top_moved[1024];
  snprintf(top, sizeof(top), "%s/artifacts/sha256", f->home);
  snprintf(top_moved, sizeof(top_moved), "%s/artifacts/sha256.moved",
           f->home);
  assert_int_equal(rename(top, top_moved), 0);
  assert_int_equal(symlink(evil_dir, top), 0);
  assert_int_equal(artifacts_put_bytes(f->home, f->db, f->run, "s4.txt",
                                       "new", 3, NULL, &e),
                   HV_ECORRUPT);
  assert_int_equal(artifacts_verify_blob(f->home, f->db, sha, -1, NULL, 0,
                                         &e),
                   HV_ECORRUPT);
  /* nothing was created in the outside folder */
  char probe[1024];
  snprintf(probe, sizeof(probe), "%s/%.2s", evil_dir, sha);
  assert_int_equal(access(probe, F_OK), -1);
  /* 4: tmp/ as a symlink outside: refused too */
  assert_int_equal(unlink(top), 0);
  assert_int_equal(rename(top_moved, top), 0);
  char tmp[1024];
  snprintf(tmp, sizeof(tmp), "%s/artifacts/tmp", f->home);
  char cmd[1200];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
  assert_int_equal(system(cmd), 0);
  assert_int_equal(symlink(evil_dir, tmp), 0);
  assert_int_equal(artifacts_put_bytes(f->home, f->db, f->run, "s5.txt",
                                       "new", 3, NULL, &e),
                   HV_ECORRUPT);
}

static void test_cli(void **state)
{
  struct fx *f = *state;
  if (access(tu_bin(), X_OK) != 0)
    skip();
  char cmd[2048], out[8192], src[512], home[1024];
  tu_write(f->home, "in.txt", "hello artifacts\n", src, sizeof(src));
  /* "HOME" or "HOME --db URL": the commands below print it as one word */
  snprintf(home, sizeof(home), "%s%s%s%s", f->home, tu_on_pg() ? " --db '" : "",
           tu_on_pg() ? f->dbpath : "", tu_on_pg() ? "'" : "");
  snprintf(cmd, sizeof(cmd), "%s --home %s artifacts put %s notes/in.txt %s",
           tu_bin(), home, f->run, src);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  snprintf(cmd, sizeof(cmd), "%s --home %s artifacts list %s --json",
           tu_bin(), home, f->run);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  json_error_t je;
  json_t *j = json_loads(out, 0, &je);
  assert_int_equal(json_array_size(j), 1);
  assert_string_equal(
      json_string_value(json_object_get(json_array_get(j, 0), "path")),
      "notes/in.txt");
  json_decref(j);
  snprintf(cmd, sizeof(cmd), "%s --home %s artifacts get %s notes/in.txt",
           tu_bin(), home, f->run);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  assert_string_equal(out, "hello artifacts\n");
  snprintf(cmd, sizeof(cmd),
           "%s --home %s artifacts get %s notes/in.txt --out %s/got.txt && "
           "cat %s/got.txt",
           tu_bin(), home, f->run, f->home, f->home);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  assert_string_equal(out, "hello artifacts\n");
  static const char *const bad[] = {"../../etc/passwd", "/etc/passwd",
                                    "notes/../in.txt", "notes\\\\in.txt",
                                    "missing.txt"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    snprintf(cmd, sizeof(cmd), "%s --home %s artifacts get %s '%s' 2>&1",
             tu_bin(), home, f->run, bad[i]);
    assert_int_equal(tu_run(cmd, out, sizeof(out)), 1);
    assert_non_null(strstr(out, "error"));
  }
  snprintf(cmd, sizeof(cmd), "%s --home %s artifacts get %s 2>/dev/null",
           tu_bin(), home, f->run);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 2);
  /* a FILE as third argument (as put takes it) points at --out, writes
   * nothing (issue 16) */
  snprintf(cmd, sizeof(cmd),
           "%s --home %s artifacts get %s notes/in.txt %s/third.txt 2>&1",
           tu_bin(), home, f->run, f->home);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 2);
  assert_non_null(strstr(out, "write to a file with --out"));
  char third[1024];
  snprintf(third, sizeof(third), "%s/third.txt", f->home);
  assert_int_not_equal(access(third, F_OK), 0);
}

/* n pseudo-random bytes (a model's weights do not compress). */
static char *noise(size_t n)
{
  char *b = malloc(n);
  assert_non_null(b);
  uint64_t x = 0x9e3779b97f4a7c15ULL;
  for (size_t i = 0; i < n; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    b[i] = (char)(x >> 24);
  }
  return b;
}

/* PostgreSQL keeps the blobs: in 1 MiB chunks, read by a second home that
 * has only the database, a damaged local copy fetched again, a damaged or
 * missing chunk refused. */
static void test_db_blobs(void **state)
{
  struct fx *f = *state;
  if (!tu_on_pg())
    skip();
  struct hv_err e = {0};
  assert_true(artifacts_in_db(f->db));
  size_t n = 2 * BLOBS_CHUNK + 12345; /* three chunks, the last short */
  char *data = noise(n), sha[65], want[65], q[512];
  sha_of(data, n, want);
  assert_int_equal(artifacts_put_bytes(f->home, f->db, f->run, "big.bin",
                                       data, n, sha, &e),
                   0);
  assert_string_equal(sha, want);
  snprintf(q, sizeof(q),
           "SELECT COUNT(*) FROM artifact_chunks WHERE sha256 = '%s'", sha);
  assert_int_equal(tu_q1(f->dbpath, q), 3);
  snprintf(q, sizeof(q),
           "SELECT size FROM artifact_blobs WHERE sha256 = '%s'", sha);
  assert_int_equal(tu_q1(f->dbpath, q), (int64_t)n);
  /* the same bytes again: nothing more stored */
  assert_int_equal(artifacts_put_bytes(f->home, f->db, f->run, "again.bin",
                                       data, n, NULL, &e),
                   0);
  assert_int_equal(tu_q1(f->dbpath, "SELECT COUNT(*) FROM artifact_chunks"),
                   3);
  int64_t size = 0;
  assert_int_equal(blobs_size(f->db, sha, &size, &e), 0);
  assert_int_equal(size, (int64_t)n);
  assert_int_equal(blobs_size(f->db, "nothex", &size, &e), HV_EINVAL);
  assert_int_equal(blobs_size(f->db, NULL, &size, &e), HV_EINVAL);

  /* another host: an empty home and the database URL */
  char other[256];
  tu_tmpdir(other, sizeof(other));
  char *back = NULL;
  size_t len = 0;
  assert_int_equal(artifacts_read(other, f->db, f->run, "big.bin", 1 << 24,
                                  &back, &len, &e),
                   0);
  assert_int_equal(len, n);
  assert_memory_equal(back, data, n);
  free(back);
  /* its local copy damaged: fetched again, the bytes are right */
  char blob[1024];
  snprintf(blob, sizeof(blob), "%s/artifacts/sha256/%.2s/%s", other, sha,
           sha);
  assert_int_equal(chmod(blob, 0644), 0);
  FILE *fp = fopen(blob, "r+b");
  fputc(data[0] ^ 1, fp);
  fclose(fp);
  assert_int_equal(artifacts_read(other, f->db, f->run, "big.bin", 1 << 24,
                                  &back, &len, &e),
                   0);
  assert_memory_equal(back, data, n);
  free(back);

  /* a damaged chunk in the database: refused, nothing handed out */
  tu_rmtree(other);
  tu_tmpdir(other, sizeof(other));
  snprintf(q, sizeof(q),
           "UPDATE artifact_chunks SET data = overlay(data placing '\\x00' "
           "from 7) WHERE sha256 = '%s' AND seq = 1",
           sha);
  assert_int_equal(tu_exec(f->dbpath, q), 0);
  back = (char *)1;
  assert_int_equal(artifacts_read(other, f->db, f->run, "big.bin", 1 << 24,
                                  &back, &len, &e),
                   HV_ECORRUPT);
  assert_non_null(strstr(e.msg, "checksum"));
  assert_null(back);
  /* a missing chunk */
  snprintf(q, sizeof(q),
           "DELETE FROM artifact_chunks WHERE sha256 = '%s' AND seq = 2",
           sha);
  assert_int_equal(tu_exec(f->dbpath, q), 0);
  assert_int_equal(artifacts_resolve(other, f->db, f->run, "big.bin", NULL,
                                     NULL, 0, &e),
                   HV_ECORRUPT);
  assert_non_null(strstr(e.msg, "chunk 2 is missing"));
  /* no temp file is left behind in the other home */
  char tmp[512];
  snprintf(tmp, sizeof(tmp), "ls -A %s/artifacts/tmp | wc -l", other);
  char out[64];
  assert_int_equal(tu_run(tmp, out, sizeof(out)), 0);
  assert_int_equal(atoi(out), 0);
  tu_rmtree(other);
  free(data);
}

/* A replica on another host: only the database URL and an empty home, it
 * resolves models:/NAME/Production to a verified local file. */
static void test_replica_loads_production(void **state)
{
  struct fx *f = *state;
  if (!tu_on_pg())
    skip();
  struct hv_err e = {0};
  size_t n = BLOBS_CHUNK + 7;
  char *data = noise(n), sha[65];
  assert_int_equal(artifacts_put_bytes(f->home, f->db, f->run,
                                       ARTIFACTS_MODEL_PATH, data, n, sha,
                                       &e),
                   0);
  struct registry_register_opts o = {.name = "movies", .run_id = f->run,
                                     .stage = "Production"};
  int version = 0;
  assert_int_equal(registry_register(f->home, f->db, &o, &version, &e), 0);
  char other[256];
  tu_tmpdir(other, sizeof(other));
  struct hv_db *db2 = tu_open_db(f->dbpath); /* the replica's connection */
  struct uri_target t;
  assert_int_equal(uri_resolve_ex(other, db2, "models:/movies/Production", &t,
                               &e),
                   0);
  assert_int_equal(t.version, version);
  assert_non_null(strstr(t.path, other)); /* a file of the replica's home */
  char *back = NULL;
  size_t len = 0;
  assert_int_equal(hv_read_file(t.path, 1 << 24, &back, &len, &e), 0);
  assert_int_equal(len, n);
  assert_memory_equal(back, data, n);
  free(back);
  assert_int_equal(registry_check(other, db2, &e), 0);
  db_close(db2);
  tu_rmtree(other);
  free(data);
}

/* --artifacts DIR: blobs are files in DIR (not in the home, and not in a
 * PostgreSQL database), read from there by any home. */
static void test_shared_dir(void **state)
{
  struct fx *f = *state;
  struct hv_err e = {0};
  char shared[256], other[256], sha[65], blob[1024];
  tu_tmpdir(shared, sizeof(shared));
  tu_tmpdir(other, sizeof(other));
  assert_int_equal(artifacts_use_dir(shared, &e), 0);
  assert_string_equal(artifacts_dir(), shared);
  assert_false(artifacts_in_db(f->db));
  assert_int_equal(artifacts_put_bytes(f->home, f->db, f->run, "s.txt",
                                       "shared bytes", 12, sha, &e),
                   0);
  snprintf(blob, sizeof(blob), "%s/sha256/%.2s/%s", shared, sha, sha);
  assert_int_equal(access(blob, F_OK), 0);
  snprintf(blob, sizeof(blob), "%s/artifacts/sha256/%.2s/%s", f->home, sha,
           sha);
  assert_int_equal(access(blob, F_OK), -1);
  if (tu_on_pg())
    assert_int_equal(tu_q1(f->dbpath, "SELECT COUNT(*) FROM artifact_blobs"),
                     0);
  char *back = NULL;
  size_t len = 0;
  assert_int_equal(artifacts_read(other, f->db, f->run, "s.txt", 100, &back,
                                  &len, &e),
                   0);
  assert_memory_equal(back, "shared bytes", 12);
  free(back);
  char big[5000];
  memset(big, 'a', sizeof(big) - 1);
  big[sizeof(big) - 1] = '\0';
  assert_int_equal(artifacts_use_dir(big, &e), HV_EINVAL);
  assert_int_equal(artifacts_use_dir(NULL, &e), 0);
  assert_null(artifacts_dir());
  assert_int_equal(artifacts_in_db(f->db), tu_on_pg());
  tu_rmtree(shared);
  tu_rmtree(other);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_check_path),
      cmocka_unit_test_setup_teardown(test_put_get, setup, teardown),
      cmocka_unit_test_setup_teardown(test_read, setup, teardown),
      cmocka_unit_test_setup_teardown(test_corruption_detected, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_symlinks_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cli, setup, teardown),
      cmocka_unit_test_setup_teardown(test_db_blobs, setup, teardown),
      cmocka_unit_test_setup_teardown(test_replica_loads_production, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_shared_dir, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
