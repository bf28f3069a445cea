/*
 * fetch.c - download with libcurl (resume, size and SHA-256 checks, atomic
 * rename) and import: see fetch.h.
 */
#include "data/fetch.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/import.h"
#include "util/fsutil.h"

static const struct {
  const char *name, *url, *format;
} known[] = {
    {"ml-100k", "https://files.grouplens.org/datasets/movielens/ml-100k.zip",
     "ml-100k"},
    {"ml-1m", "https://files.grouplens.org/datasets/movielens/ml-1m.zip",
     "ml-1m"},
    {"ml-latest-small",
     "https://files.grouplens.org/datasets/movielens/ml-latest-small.zip",
     "ml-latest"},
};
#define N_KNOWN (sizeof(known) / sizeof(known[0]))

const char *fetch_default_url(const char *dataset)
{
  for (size_t i = 0; dataset && i < N_KNOWN; i++)
    if (!strcmp(dataset, known[i].name))
      return known[i].url;
  return NULL;
}

const char *fetch_dataset_format(const char *dataset)
{
  for (size_t i = 0; dataset && i < N_KNOWN; i++)
    if (!strcmp(dataset, known[i].name))
      return known[i].format;
  return NULL;
}

int fetch_file_name(const char *url, const char *fallback, char *out,
                    size_t cap, struct hv_err *err)
{
  const char *end = url ? url + strcspn(url, "?#") : NULL;
  const char *start = end;
  while (start && start > url && start[-1] != '/')
    start--;
  size_t n = end ? (size_t)(end - start) : 0;
  if (start && start > url + 1 && start[-2] == '/' && start[-1] == '/')
    n = 0; /* "http://host" has no path segment */
  if (n == 0 || *start == '.') {
    start = fallback;
    n = fallback ? strlen(fallback) : 0;
  }
  if (n == 0 || n >= cap)
    return hv_err_set(err, HV_EINVAL, "cannot name a file for '%.200s'",
                      url ? url : "");
  for (size_t i = 0; i < n; i++) {
    char c = start[i];
    out[i] = (isalnum((unsigned char)c) || c == '.' || c == '-' || c == '_')
                 ? c
                 : '_';
  }
  out[n] = '\0';
  return 0;
}

int fetch_sha256_file(const char *path, char hex[65], struct hv_err *err)
{
  if (sodium_init() < 0)
    return hv_err_set(err, HV_EINTERNAL, "libsodium failed to initialise");
  FILE *f = fopen(path, "rb");
  if (!f)
    return hv_err_set(err, errno == ENOENT ? HV_ENOTFOUND : HV_EIO,
                      "cannot open '%.200s': %s", path, strerror(errno));
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  unsigned char buf[1 << 16], out[crypto_hash_sha256_BYTES];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
    crypto_hash_sha256_update(&st, buf, n);
  int bad = ferror(f);
  fclose(f);
  if (bad)
    return hv_err_set(err, HV_EIO, "cannot read '%.200s'", path);
  crypto_hash_sha256_final(&st, out);
  sodium_bin2hex(hex, 65, out, sizeof(out));
  return 0;
}

static int valid_sha256(const char *s)
{
  if (!s || strlen(s) != 64)
    return 0;
  for (int i = 0; i < 64; i++)
    if (!isxdigit((unsigned char)s[i]))
      return 0;
  return 1;
}

static int64_t file_size(const char *path)
{
  struct stat st;
  return stat(path, &st) == 0 ? (int64_t)st.st_size : -1;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static int curl_init_rc;

static void curl_init_once(void)
{
  curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

/* One transfer's state, shared with the libcurl callbacks. */
struct xfer {
  CURL *h;
  FILE *f;
  int64_t offset;       /* bytes in the file before this transfer */
  int checked;          /* the response status was looked at */
  int restarted;        /* server ignored the range: file truncated */
  fetch_progress_fn progress;
  void *ctx;
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
  struct xfer *x = arg;
  if (!x->checked) {
    long code = 0;
    curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &code);
    x->checked = 1;
    if (x->offset > 0 && code == 200) {
      /* The server sent the whole file: start the .part over. */
      if (fflush(x->f) != 0 || ftruncate(fileno(x->f), 0) != 0 ||
          fseek(x->f, 0, SEEK_SET) != 0)
        return 0;
      x->offset = 0;
      x->restarted = 1;
    }
  }
  return fwrite(p, size, n, x->f) == n ? size * n : 0;
}

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
                       curl_off_t ultotal, curl_off_t ulnow)
{
  struct xfer *x = arg;
  if (x->progress)
    x->progress(x->ctx, x->offset + (int64_t)dlnow,
                dltotal > 0 ? x->offset + (int64_t)dltotal : -1);
  return 0;
}

static void set_options(struct xfer *x, const char *url, char *ebuf)
{
  CURL *h = x->h;
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "harvest/" HV_VERSION);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, x);
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)x->offset);
}

/* One attempt to fill part from url, appending from its current size.
 * Returns 0, 1 when the server refused the range (the caller starts over
 * from zero), or a negative HV_E* code. */
static int transfer(const char *url, const char *part,
                    fetch_progress_fn progress, void *ctx,
                    int64_t *resumed_from, struct hv_err *err)
{
  struct xfer x = {.progress = progress, .ctx = ctx};
  int64_t have = file_size(part);
  x.offset = have > 0 ? have : 0;
  x.f = fopen(part, "ab");
  if (!x.f)
    return hv_err_set(err, HV_EIO, "cannot write '%.200s': %s", part,
                      strerror(errno));
  x.h = curl_easy_init();
  if (!x.h) {
    fclose(x.f);
    return hv_err_set(err, HV_ENOMEM, "cannot start a download");
  }
  char ebuf[CURL_ERROR_SIZE] = "";
  set_options(&x, url, ebuf);
  *resumed_from = x.offset;
  CURLcode cc = curl_easy_perform(x.h);
  long code = 0;
  curl_easy_getinfo(x.h, CURLINFO_RESPONSE_CODE, &code);
  curl_easy_cleanup(x.h);
  int synced = fflush(x.f) == 0 && fsync(fileno(x.f)) == 0;
  synced = (fclose(x.f) == 0) && synced;
  if (x.restarted)
    *resumed_from = 0;
  /* libcurl takes 416 (range not satisfiable) on a resume as "already
   * complete"; the .part is then at least as long as the file, and wrong or
   * unverifiable: start over. */
  if (x.offset > 0 && code == 416)
    return 1;
  if (cc == CURLE_OK && !synced)
    return hv_err_set(err, HV_EIO, "cannot write '%.200s': %s", part,
                      strerror(errno));
  if (cc == CURLE_OK)
    return 0;
  if (x.offset > 0 && cc == CURLE_RANGE_ERROR)
    return 1;
  if (cc == CURLE_HTTP_RETURNED_ERROR)
    return hv_err_set(err, code == 404 || code == 410 ? HV_ENOTFOUND : HV_EIO,
                      "%.200s: HTTP %ld", url, code);
  int64_t got = file_size(part);
  if (got <= 0) /* the caller removes an empty part: say nothing of it */
    return hv_err_set(err, HV_EIO, "%.200s: %s (nothing downloaded)", url,
                      ebuf[0] ? ebuf : curl_easy_strerror(cc));
  return hv_err_set(err, HV_EIO,
                    "%.200s: %s after %lld bytes (partial file kept in "
                    "%.200s; run again to resume)",
                    url, ebuf[0] ? ebuf : curl_easy_strerror(cc),
                    (long long)got, part);
}

/* Size and checksum of the finished part; removes it on a mismatch. */
static int verify(const char *part, const char *sha256_hex, int64_t size,
                  struct fetch_result *res, struct hv_err *err)
{
  res->bytes = file_size(part);
  if (size >= 0 && res->bytes != size) {
    unlink(part);
    return hv_err_set(err, HV_ECORRUPT,
                      "downloaded %lld bytes but expected %lld; file removed",
                      (long long)res->bytes, (long long)size);
  }
  int rc = fetch_sha256_file(part, res->sha256, err);
  if (rc)
    return rc;
  if (sha256_hex && strcasecmp(sha256_hex, res->sha256) != 0) {
    unlink(part);
    return hv_err_set(err, HV_ECORRUPT,
                      "SHA-256 of the download is %s but expected %.64s; "
                      "file removed",
                      res->sha256, sha256_hex);
  }
  return 0;
}

static int fsync_parent(const char *path)
{
  char dir[4096];
  snprintf(dir, sizeof(dir), "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash == dir)
    slash[1] = '\0';
  else if (slash)
    *slash = '\0';
  else
    snprintf(dir, sizeof(dir), ".");
  int fd = open(dir, O_RDONLY | O_DIRECTORY);
  if (fd < 0)
    return -1;
  int rc = fsync(fd);
  close(fd);
  return rc;
}

/* An existing path whose checksum matches: use it as is. */
static int try_reuse(const char *path, const char *sha256_hex, int64_t size,
                     struct fetch_result *res)
{
  if (!sha256_hex || file_size(path) < 0)
    return 0;
  struct hv_err ignore;
  if (fetch_sha256_file(path, res->sha256, &ignore) ||
      strcasecmp(res->sha256, sha256_hex) != 0)
    return 0;
  res->bytes = file_size(path);
  if (size >= 0 && res->bytes != size)
    return 0;
  res->reused = 1;
  return 1;
}

int fetch_url(const char *url, const char *path, const char *sha256_hex,
              int64_t size, fetch_progress_fn progress, void *ctx,
              struct fetch_result *res, struct hv_err *err)
{
  struct fetch_result local;
  res = res ? res : &local;
  memset(res, 0, sizeof(*res));
  if (!url || !*url || !path || !*path)
    return hv_err_set(err, HV_EUSAGE, "a URL and a file path are needed");
  if (sha256_hex && !valid_sha256(sha256_hex))
    return hv_err_set(err, HV_EUSAGE,
                      "--sha256 '%.80s' is not 64 hexadecimal digits",
                      sha256_hex);
  if (try_reuse(path, sha256_hex, size, res))
    return 0;
  char part[4096];
  if (snprintf(part, sizeof(part), "%s.part", path) >= (int)sizeof(part))
    return hv_err_set(err, HV_EINVAL, "path too long: '%.200s'", path);
  pthread_once(&curl_once, curl_init_once);
  if (curl_init_rc)
    return hv_err_set(err, HV_EINTERNAL, "libcurl failed to initialise");
  double t0 = hv_mono();
  int rc = transfer(url, part, progress, ctx, &res->resumed_from, err);
  if (rc == 1) { /* range refused: the .part is stale, start over */
    unlink(part);
    rc = transfer(url, part, progress, ctx, &res->resumed_from, err);
    if (rc == 1)
      rc = hv_err_set(err, HV_EIO, "%.200s: the server refused the download",
                      url);
  }
  res->seconds = hv_mono() - t0;
  if (rc && file_size(part) <= 0)
    unlink(part); /* nothing came: no empty .part to resume from */
  if (rc)
    return rc;
  if ((rc = verify(part, sha256_hex, size, res, err)))
    return rc;
  if (rename(part, path) != 0 || fsync_parent(path) != 0)
    return hv_err_set(err, HV_EIO, "cannot move '%.200s' into place: %s",
                      part, strerror(errno));
  return 0;
}

int fetch_and_import(struct hv_db *db, const struct fetch_request *req,
                     fetch_progress_fn progress, void *ctx,
                     struct fetch_import_result *res, struct hv_err *err)
{
  memset(res, 0, sizeof(*res));
  const char *dataset = req->dataset;
  const char *url = req->url ? req->url : fetch_default_url(dataset);
  if (!url)
    return hv_err_set(err, HV_EUSAGE,
                      "unknown dataset '%.60s'; use ml-100k, ml-1m, "
                      "ml-latest-small or --url",
                      dataset ? dataset : "");
  const char *format = dataset ? fetch_dataset_format(dataset) : NULL;
  if (dataset && !format)
    return hv_err_set(err, HV_EUSAGE,
                      "unknown dataset '%.60s'; use ml-100k, ml-1m or "
                      "ml-latest-small",
                      dataset);
  char name[256], fallback[64];
  snprintf(fallback, sizeof(fallback), "%s.zip", dataset ? dataset : "dataset");
  int rc = hv_mkdir_p(req->dir, err);
  if (!rc)
    rc = fetch_file_name(url, fallback, name, sizeof(name), err);
  if (!rc)
    rc = hv_path_join(res->path, sizeof(res->path), req->dir, name, err);
  if (!rc)
    rc = fetch_url(url, res->path, req->sha256_hex, req->size, progress, ctx,
                   &res->download, err);
  if (rc)
    return rc;
  if (!format && (rc = import_guess_format(res->path, &format, err)))
    return rc;
  res->format = format;
  struct import_result ir;
  if ((rc = import_dataset(db, format, res->path, req->replace, &ir, err)))
    return rc;
  res->users = ir.users;
  res->movies = ir.movies;
  res->ratings = ir.ratings;
  res->genres = ir.genres;
  res->import_seconds = ir.seconds;
  return 0;
}
