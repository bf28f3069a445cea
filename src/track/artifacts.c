/*
 * artifacts.c - content-addressed artifact store: see artifacts.h.
 */
#include "track/artifacts.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/blobs.h"
#include "store/db.h"
#include "track/runs.h"
#include "util/fsutil.h"
#include "util/parse.h"

#define COPY_BUF (1 << 16)

/* The artifact root of --artifacts / HARVEST_ARTIFACTS ("" : HOME/artifacts,
 * and a PostgreSQL database keeps the blobs). Configuration: set by main
 * before any thread starts, read-only afterwards. */
static char shared_dir[4096];

int artifacts_use_dir(const char *dir, struct hv_err *err)
{
  if (dir && strlen(dir) >= sizeof(shared_dir))
    return hv_err_set(err, HV_EINVAL, "artifact folder name too long: "
                      "%.64s...", dir);
  snprintf(shared_dir, sizeof(shared_dir), "%s", dir ? dir : "");
  return 0;
}

const char *artifacts_dir(void)
{
  return shared_dir[0] ? shared_dir : NULL;
}

int artifacts_in_db(const struct hv_db *db)
{
  return !shared_dir[0] && blobs_in_db(db);
}

int artifacts_check_path(const char *p, size_t len, struct hv_err *err)
{
  if (!p || len == 0)
    return hv_err_set(err, HV_EINVAL, "artifact path is empty");
  if (len > ARTIFACTS_MAX_PATH)
    return hv_err_set(err, HV_EINVAL,
                      "artifact path is %zu bytes; the limit is %d", len,
                      ARTIFACTS_MAX_PATH);
  if (p[0] == '/')
    return hv_err_set(err, HV_EINVAL,
                      "artifact path '%.100s' is absolute; use a path "
                      "relative to the run, e.g. model/model.hvm",
                      p);
  size_t start = 0;
  for (size_t i = 0; i <= len; i++) {
    unsigned char c = i < len ? (unsigned char)p[i] : '/';
    if (i < len && c == '\0')
      return hv_err_set(err, HV_EINVAL,
                        "artifact path contains a NUL byte at %zu", i + 1);
    if (c == '\\')
      return hv_err_set(err, HV_EINVAL,
                        "artifact path '%.100s' contains a backslash", p);
    if (c < 0x20 || c == 0x7f)
      return hv_err_set(err, HV_EINVAL,
                        "artifact path contains control byte 0x%02x at %zu",
                        c, i + 1);
    if (c != '/')
      continue;
    size_t clen = i - start;
    if (clen == 0)
      return hv_err_set(err, HV_EINVAL,
                        "artifact path '%.100s' has an empty component "
                        "(leading, trailing or double '/')",
                        p);
    if (clen > ARTIFACTS_MAX_COMPONENT)
      return hv_err_set(err, HV_EINVAL,
                        "artifact path has a component of %zu bytes; the "
                        "limit is %d",
                        clen, ARTIFACTS_MAX_COMPONENT);
    if ((clen == 1 && p[start] == '.') ||
        (clen == 2 && p[start] == '.' && p[start + 1] == '.'))
      return hv_err_set(err, HV_EINVAL,
                        "artifact path '%.100s' contains a '%.*s' component; "
                        "paths may not leave or alias their directory",
                        p, (int)clen, p + start);
    start = i + 1;
  }
  return 0;
}

static int check_sha(const char *s, struct hv_err *err)
{
  return hv_is_hex(s, 64)
             ? 0
             : hv_err_set(err, HV_ECORRUPT,
                          "artifact hash '%.70s' is not 64 lowercase hex",
                          s ? s : "(null)");
}

static int root_path(const char *home, char *out, size_t cap,
                     struct hv_err *err)
{
  if (shared_dir[0]) {
    if (strlen(shared_dir) >= cap)
      return hv_err_set(err, HV_EINVAL, "artifact folder name too long");
    memcpy(out, shared_dir, strlen(shared_dir) + 1);
    return 0;
  }
  if (!home || !*home)
    return hv_err_set(err, HV_EINVAL, "no home folder given");
  return hv_path_join(out, cap, home, "artifacts", err);
}

/* Open (creating when create is set) directory name beneath dirfd without
 * following a symlink. Returns the fd or a negative code. */
static int open_dir_beneath(int dirfd, const char *name, int create,
                            struct hv_err *err)
{
  if (create && mkdirat(dirfd, name, 0755) != 0 && errno != EEXIST)
    return hv_err_set(err, HV_EIO, "cannot create artifact folder '%s': %s",
                      name, strerror(errno));
  int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
                                   O_CLOEXEC);
  if (fd >= 0)
    return fd;
  if (errno == ENOENT)
    return hv_err_set(err, HV_ENOTFOUND, "artifact folder '%s' is missing",
                      name);
  if (errno == ELOOP || errno == ENOTDIR)
    return hv_err_set(err, HV_ECORRUPT,
                      "artifact store: '%s' is a symlink or not a folder; "
                      "refusing to follow it out of the artifact root",
                      name);
  return hv_err_set(err, HV_EIO, "cannot open artifact folder '%s': %s",
                    name, strerror(errno));
}

/* Open root and root/sha256/XX (created when create); *root_fd and *leaf_fd
 * are the caller's to close. */
static int open_bucket(const char *home, const char *sha, int create,
                       int *root_fd, int *leaf_fd, struct hv_err *err)
{
  char root[4096];
  *root_fd = *leaf_fd = -1;
  int rc = root_path(home, root, sizeof(root), err);
  if (rc)
    return rc;
  if (create && (rc = hv_mkdir_p(root, err)))
    return rc;
  int r = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (r < 0)
    return hv_err_set(err, errno == ENOENT ? HV_ENOTFOUND : HV_EIO,
                      "cannot open artifact root '%.200s': %s", root,
                      strerror(errno));
  int d1 = open_dir_beneath(r, "sha256", create, err);
  if (d1 < 0) {
    close(r);
    return d1;
  }
  char two[3] = {sha[0], sha[1], '\0'};
  int d2 = open_dir_beneath(d1, two, create, err);
  if (create && d2 >= 0)
    fsync(d1); /* persist a new bucket entry */
  close(d1);
  if (d2 < 0) {
    close(r);
    return d2;
  }
  *root_fd = r;
  *leaf_fd = d2;
  return 0;
}

/* Finish h into 64 lowercase hex digits (and a NUL) in hex. */
static void final_hex(crypto_hash_sha256_state *h, char hex[65])
{
  unsigned char dig[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(h, dig);
  sodium_bin2hex(hex, 65, dig, sizeof(dig));
}

/* Hash all of fd from its current offset: hex and *size. */
static int hash_fd(int fd, char hex[65], int64_t *size, struct hv_err *err)
{
  unsigned char *buf = malloc(COPY_BUF);
  if (!buf)
    return hv_err_set(err, HV_ENOMEM, "out of memory hashing artifact");
  crypto_hash_sha256_state h;
  crypto_hash_sha256_init(&h);
  int64_t n = 0;
  ssize_t r;
  while ((r = hv_read_some(fd, buf, COPY_BUF)) > 0) {
    crypto_hash_sha256_update(&h, buf, (size_t)r);
    n += r;
  }
  free(buf);
  if (r < 0)
    return hv_err_set(err, HV_EIO, "cannot read artifact: %s",
                      strerror(errno));
  final_hex(&h, hex);
  *size = n;
  return 0;
}

/* Open blob sha beneath the root (no symlinks) and verify it; *fd is
 * positioned at 0 and the caller's to close. */
static int open_local(const char *home, const char *sha, int64_t size,
                      int *fd, struct hv_err *err)
{
  int root = -1, leaf = -1;
  *fd = -1;
  int rc = check_sha(sha, err);
  if (rc || (rc = open_bucket(home, sha, 0, &root, &leaf, err))) {
    if (rc == HV_ENOTFOUND)
      hv_err_set(err, HV_ENOTFOUND, "artifact blob %.64s is missing", sha);
    return rc;
  }
  int f = openat(leaf, sha, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  int saved = errno;
  close(leaf);
  close(root);
  if (f < 0) {
    if (saved == ENOENT)
      return hv_err_set(err, HV_ENOTFOUND, "artifact blob %.64s is missing",
                        sha);
    if (saved == ELOOP)
      return hv_err_set(err, HV_ECORRUPT,
                        "artifact blob %.64s is a symlink; refusing to "
                        "follow it out of the artifact root",
                        sha);
    return hv_err_set(err, HV_EIO, "cannot open artifact blob %.64s: %s",
                      sha, strerror(saved));
  }
  struct stat st;
  char hex[65];
  int64_t n = 0;
  if (fstat(f, &st) != 0 || !S_ISREG(st.st_mode))
    rc = hv_err_set(err, HV_ECORRUPT, "artifact blob %.64s is not a file",
                    sha);
  else if (size >= 0 && st.st_size != size)
    rc = hv_err_set(err, HV_ECORRUPT,
                    "artifact blob %.64s is %lld bytes, expected %lld", sha,
                    (long long)st.st_size, (long long)size);
  else if (!(rc = hash_fd(f, hex, &n, err)) && strcmp(hex, sha))
    rc = hv_err_set(err, HV_ECORRUPT,
                    "artifact blob %.16s... fails its checksum (content "
                    "hashes to %.16s...); it was modified or damaged",
                    sha, hex);
  if (!rc && lseek(f, 0, SEEK_SET) != 0)
    rc = hv_err_set(err, HV_EIO, "cannot rewind artifact blob");
  if (rc) {
    close(f);
    return rc;
  }
  *fd = f;
  return 0;
}

static int open_verified(const char *home, struct hv_db *db, const char *sha,
                         int64_t size, int *fd, struct hv_err *err);

int artifacts_verify_blob(const char *home, struct hv_db *db,
                          const char *sha256, int64_t size, char *path,
                          size_t cap, struct hv_err *err)
{
  int fd = -1;
  int rc = open_verified(home, db, sha256, size, &fd, err);
  if (rc)
    return rc;
  close(fd);
  if (!path)
    return 0;
  char root[4096];
  if ((rc = root_path(home, root, sizeof(root), err)))
    return rc;
  int n = snprintf(path, cap, "%s/sha256/%.2s/%s", root, sha256, sha256);
  if (n < 0 || (size_t)n >= cap)
    return hv_err_set(err, HV_EINVAL, "artifact path too long for buffer");
  return 0;
}

/* Where spooled bytes come from: a file (fd >= 0), memory (data, len) or
 * a blob of the database (db, sha). */
struct source {
  int fd;
  const void *data;
  size_t len;
  struct hv_db *db;
  const char *sha;
};

/* The temp file being written, and the hash of what went in. */
struct sink {
  int out;
  crypto_hash_sha256_state h;
  int64_t n;
  int werr; /* errno of a failed write, 0 */
};

static int sink_take(void *ctx, const void *data, size_t n,
                     struct hv_err *err)
{
  struct sink *k = ctx;
  crypto_hash_sha256_update(&k->h, data, n);
  k->n += (int64_t)n;
  if (hv_write_all(k->out, data, n) == 0)
    return 0;
  k->werr = errno ? errno : EIO;
  return hv_err_set(err, hv_io_code(k->werr), "write: %s",
                    strerror(k->werr));
}

/* Hand every byte of s to k. */
static int feed(const struct source *s, struct sink *k, struct hv_err *err)
{
  if (s->db)
    return blobs_get(s->db, s->sha, sink_take, k, NULL, err);
  if (s->fd < 0)
    return sink_take(k, s->data, s->len, err);
  unsigned char *buf = malloc(COPY_BUF);
  if (!buf)
    return hv_err_set(err, HV_ENOMEM, "out of memory copying artifact");
  ssize_t r;
  int rc = 0;
  while (!rc && (r = hv_read_some(s->fd, buf, COPY_BUF)) > 0)
    rc = sink_take(k, buf, (size_t)r, err);
  if (!rc && r < 0)
    rc = hv_err_set(err, HV_EIO, "cannot read artifact source: %s",
                    strerror(errno));
  free(buf);
  return rc;
}

/* Stream src into a temp file beneath root/tmp while hashing; on success
 * *tmp_dir (dir) and tmp_name name the fsynced, read-only file. */
static int spool(int root, const struct source *src, int *tmp_dir,
                 char tmp_name[40], char hex[65], int64_t *size,
                 struct hv_err *err)
{
  int td = open_dir_beneath(root, "tmp", 1, err);
  if (td < 0)
    return td;
  unsigned char rnd[8];
  randombytes_buf(rnd, sizeof(rnd));
  char r16[17];
  sodium_bin2hex(r16, sizeof(r16), rnd, sizeof(rnd));
  snprintf(tmp_name, 40, "put-%s", r16);
  struct sink k = {.out = openat(td, tmp_name,
                                 O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
                                     O_CLOEXEC,
                                 0644)};
  if (k.out < 0) {
    int rc = hv_err_set(err, HV_EIO, "cannot create artifact temp file: %s",
                        strerror(errno));
    close(td);
    return rc;
  }
  crypto_hash_sha256_init(&k.h);
  int rc = feed(src, &k, err);
  if (!rc && (fchmod(k.out, 0444) != 0 || fsync(k.out) != 0))
    k.werr = errno;
  close(k.out);
  if (k.werr)
    rc = hv_err_set(err, hv_io_code(k.werr),
                    "cannot write artifact temp file tmp/%s: %s", tmp_name,
                    strerror(k.werr));
  if (rc) {
    unlinkat(td, tmp_name, 0);
    close(td);
    return rc;
  }
  final_hex(&k.h, hex);
  *size = k.n;
  *tmp_dir = td;
  return 0;
}

/* Move the spooled file into sha256/XX/HEX unless an intact copy is there. */
static int publish(const char *home, int tmp_dir, const char *tmp_name,
                   const char *hex, int64_t size, struct hv_err *err)
{
  int root = -1, leaf = -1, fd = -1;
  int rc = open_bucket(home, hex, 1, &root, &leaf, err);
  if (rc) {
    unlinkat(tmp_dir, tmp_name, 0);
    return rc;
  }
  struct hv_err ignored = {0};
  if (open_local(home, hex, size, &fd, &ignored) == 0) {
    close(fd); /* same content already stored: deduplicate */
    unlinkat(tmp_dir, tmp_name, 0);
  } else if (renameat(tmp_dir, tmp_name, leaf, hex) != 0) {
    /* rename replaces a damaged file or planted symlink entry itself */
    rc = hv_err_set(err, hv_io_code(errno),
                    "cannot move artifact into the store: %s",
                    strerror(errno));
    unlinkat(tmp_dir, tmp_name, 0);
  } else if (fsync(leaf) != 0) {
    rc = hv_err_set(err, HV_EIO, "cannot fsync artifact folder: %s",
                    strerror(errno));
  }
  close(leaf);
  close(root);
  return rc;
}

/* blobs_fill_fn: the next n bytes of the open file *ctx. */
static int fill_from_fd(void *ctx, void *buf, size_t n, struct hv_err *err)
{
  size_t got = 0;
  ssize_t r = 1;
  while (got < n && (r = hv_read_some(*(int *)ctx, (char *)buf + got,
                                      n - got)) > 0)
    got += (size_t)r;
  if (got == n)
    return 0;
  return hv_err_set(err, HV_EIO, "artifact blob: %s",
                    r < 0 ? strerror(errno) : "shorter than its size");
}

/* Store the verified local blob hex (size bytes) in the database too. */
static int upload(const char *home, struct hv_db *db, const char *hex,
                  int64_t size, struct hv_err *err)
{
  int fd = -1;
  int rc = open_local(home, hex, size, &fd, err);
  if (!rc) {
    rc = blobs_put(db, hex, size, fill_from_fd, &fd, NULL, err);
    close(fd);
  }
  return rc;
}

/* What spool_publish stored: the artifact root, the content's hash and
 * its length. */
struct published {
  char root[4096], hex[65];
  int64_t n;
};

/* Spool src into home's artifact root and publish it under the hash of its
 * content (filling *p). With sha, the content must hash to sha (and be
 * size bytes, unless size < 0), or nothing is published. */
static int spool_publish(const char *home, const struct source *src,
                         const char *sha, int64_t size, struct published *p,
                         struct hv_err *err)
{
  char tmp_name[40], *root = p->root, *hex = p->hex;
  int64_t *n = &p->n;
  int rc = root_path(home, root, sizeof(p->root), err);
  if (rc || (rc = hv_mkdir_p(root, err)))
    return rc;
  int rfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (rfd < 0)
    return hv_err_set(err, HV_EIO, "cannot open artifact root '%.200s': %s",
                      root, strerror(errno));
  int tmp_dir = -1;
  *n = 0;
  rc = spool(rfd, src, &tmp_dir, tmp_name, hex, n, err);
  close(rfd);
  if (rc)
    return rc;
  if (sha && (strcmp(hex, sha) || (size >= 0 && *n != size))) {
    unlinkat(tmp_dir, tmp_name, 0);
    close(tmp_dir);
    if (src->db)
      return hv_err_set(err, HV_ECORRUPT,
                        "artifact blob %.16s... in the database fails its "
                        "checksum (content hashes to %.16s...); it was "
                        "modified or damaged",
                        sha, hex);
    return hv_err_set(err, HV_ECORRUPT,
                      "artifact blob %.16s... changed while it was copied",
                      sha);
  }
  rc = publish(home, tmp_dir, tmp_name, hex, *n, err);
  close(tmp_dir);
  return rc;
}

/* Copy blob sha from the database into the local store (a cache of it:
 * content-addressed, so any host may keep one), checking its hash. */
static int download(const char *home, struct hv_db *db, const char *sha,
                    struct hv_err *err)
{
  struct source src = {.fd = -1, .db = db, .sha = sha};
  struct published p;
  return spool_publish(home, &src, sha, -1, &p, err);
}

/* Open the verified blob sha (see open_local). When the database keeps
 * the blobs, a local copy that is missing or damaged is fetched from it
 * first. */
static int open_verified(const char *home, struct hv_db *db, const char *sha,
                         int64_t size, int *fd, struct hv_err *err)
{
  int rc = open_local(home, sha, size, fd, err);
  if ((rc != HV_ENOTFOUND && rc != HV_ECORRUPT) || !artifacts_in_db(db) ||
      check_sha(sha, err))
    return rc;
  if (sodium_init() < 0)
    return hv_err_set(err, HV_EINTERNAL, "libsodium failed to initialise");
  if ((rc = download(home, db, sha, err)))
    return rc;
  return open_local(home, sha, size, fd, err);
}

static int put_common(const char *home, struct hv_db *db, const char *run_id,
                      const char *logical, const struct source *src,
                      char sha_out[65], struct hv_err *err)
{
  if (runs_check_id(run_id, err) ||
      artifacts_check_path(logical, logical ? strlen(logical) : 0, err))
    return err ? err->code : HV_EINVAL;
  if (sodium_init() < 0)
    return hv_err_set(err, HV_EINTERNAL, "libsodium failed to initialise");
  int rc = tracking_run_exists(db, run_id, err);
  if (rc)
    return rc;
  struct published p = {.root = ""};
  rc = spool_publish(home, src, NULL, -1, &p, err);
  if (!rc && artifacts_in_db(db))
    rc = upload(home, db, p.hex, p.n, err);
  if (rc) { /* nothing was recorded; the temp file is gone */
    hv_err_prefix(err, "artifact '%s' of run %s in %s", logical, run_id,
                  p.root);
    return rc;
  }
  rc = tracking_artifact_put(db, run_id, logical, p.hex, p.n, err);
  if (!rc && sha_out)
    memcpy(sha_out, p.hex, 65);
  return rc;
}

int artifacts_put_file(const char *home, struct hv_db *db, const char *run_id,
                       const char *logical_path, const char *src_path,
                       char sha256[65], struct hv_err *err)
{
  if (!src_path || !*src_path)
    return hv_err_set(err, HV_EINVAL, "no source file given");
  int fd = open(src_path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return hv_err_set(err, errno == ENOENT ? HV_ENOTFOUND : HV_EIO,
                      "cannot open '%.200s': %s", src_path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return hv_err_set(err, HV_EINVAL, "'%.200s' is not a regular file",
                      src_path);
  }
  struct source src = {.fd = fd};
  int rc = put_common(home, db, run_id, logical_path, &src, sha256, err);
  close(fd);
  return rc;
}

int artifacts_put_bytes(const char *home, struct hv_db *db,
                        const char *run_id, const char *logical_path,
                        const void *data, size_t len, char sha256[65],
                        struct hv_err *err)
{
  if (len && !data)
    return hv_err_set(err, HV_EINVAL, "artifact data is NULL");
  struct source src = {.fd = -1, .data = len ? data : "", .len = len};
  return put_common(home, db, run_id, logical_path, &src, sha256, err);
}

int artifacts_list(struct hv_db *db, const char *run_id,
                   struct tracking_artifact **out, size_t *n,
                   struct hv_err *err)
{
  *out = NULL;
  *n = 0;
  if (runs_check_id(run_id, err))
    return HV_EINVAL;
  return tracking_artifact_list(db, run_id, out, n, err);
}

/* Look up the record and open the verified blob. */
static int open_artifact(const char *home, struct hv_db *db,
                         const char *run_id, const char *logical,
                         struct tracking_artifact *meta, int *fd,
                         struct hv_err *err)
{
  if (runs_check_id(run_id, err) ||
      artifacts_check_path(logical, logical ? strlen(logical) : 0, err))
    return err ? err->code : HV_EINVAL;
  int rc = tracking_artifact_get(db, run_id, logical, meta, err);
  if (rc)
    return rc;
  rc = open_verified(home, db, meta->sha256, meta->size, fd, err);
  if (rc) {
    hv_err_prefix(err, "run %s artifact '%.200s'", run_id, logical);
    free(meta->path);
    meta->path = NULL;
  }
  return rc;
}

/* Open the verified blob of an artifact when its record is not needed. */
static int open_blob(const char *home, struct hv_db *db, const char *run_id,
                     const char *logical, int *fd, struct hv_err *err)
{
  struct tracking_artifact m = {0};
  int rc = open_artifact(home, db, run_id, logical, &m, fd, err);
  if (!rc)
    free(m.path);
  return rc;
}

int artifacts_resolve(const char *home, struct hv_db *db, const char *run_id,
                      const char *logical_path,
                      struct tracking_artifact *meta, char *path, size_t cap,
                      struct hv_err *err)
{
  struct tracking_artifact m = {0};
  int fd = -1;
  int rc = open_artifact(home, db, run_id, logical_path, &m, &fd, err);
  if (rc)
    return rc;
  close(fd);
  if (path && (rc = artifacts_verify_blob(home, db, m.sha256, m.size, path,
                                          cap, err))) {
    free(m.path);
    return rc;
  }
  if (meta)
    *meta = m;
  else
    free(m.path);
  return 0;
}

static int copy_fd(int in, int out, struct hv_err *err)
{
  char *buf = malloc(COPY_BUF);
  if (!buf)
    return hv_err_set(err, HV_ENOMEM, "out of memory copying artifact");
  ssize_t r;
  int rc = 0;
  while ((r = hv_read_some(in, buf, COPY_BUF)) > 0)
    if (hv_write_all(out, buf, (size_t)r) != 0) {
      rc = hv_err_set(err, HV_EIO, "cannot write artifact: %s",
                      strerror(errno));
      break;
    }
  if (!rc && r < 0)
    rc = hv_err_set(err, HV_EIO, "cannot read artifact: %s",
                    strerror(errno));
  free(buf);
  return rc;
}

int artifacts_write_to(const char *home, struct hv_db *db, const char *run_id,
                       const char *logical_path, FILE *out,
                       struct hv_err *err)
{
  int fd = -1;
  int rc = open_blob(home, db, run_id, logical_path, &fd, err);
  if (rc)
    return rc;
  fflush(out);
  rc = copy_fd(fd, fileno(out), err);
  close(fd);
  return rc;
}

int artifacts_read(const char *home, struct hv_db *db, const char *run_id,
                   const char *logical_path, int64_t max, char **out,
                   size_t *len, struct hv_err *err)
{
  struct tracking_artifact m = {0};
  int fd = -1;
  *out = NULL;
  *len = 0;
  int rc = open_artifact(home, db, run_id, logical_path, &m, &fd, err);
  if (rc)
    return rc;
  free(m.path);
  char *buf = NULL;
  if (m.size > max)
    rc = hv_err_set(err, HV_ETOOBIG, "artifact %s is %lld bytes, over the "
                    "limit of %lld", logical_path, (long long)m.size,
                    (long long)max);
  else if (!(buf = malloc((size_t)m.size + 1)))
    rc = hv_err_set(err, HV_ENOMEM, "out of memory reading artifact");
  size_t got = 0;
  ssize_t r = 1;
  while (!rc && got < (size_t)m.size &&
         (r = hv_read_some(fd, buf + got, (size_t)m.size - got)) > 0)
    got += (size_t)r;
  if (!rc && (r < 0 || got != (size_t)m.size))
    rc = hv_err_set(err, HV_EIO, "cannot read artifact %s: %s", logical_path,
                    r < 0 ? strerror(errno) : "shorter than recorded");
  close(fd);
  if (rc) {
    free(buf);
    return rc;
  }
  *out = buf;
  *len = got;
  return 0;
}

/* hv_fill_fn: copy the verified blob (fd *arg) into the temp file. */
static int fill_from_blob(int fd, const char *tmp, void *arg,
                          struct hv_err *err)
{
  (void)tmp;
  return copy_fd(*(const int *)arg, fd, err);
}

int artifacts_save_as(const char *home, struct hv_db *db, const char *run_id,
                      const char *logical_path, const char *out_path,
                      struct hv_err *err)
{
  if (!out_path || !*out_path)
    return hv_err_set(err, HV_EINVAL, "no output file given");
  if (strlen(out_path) + sizeof(".tmp.XXXXXX") > 4096)
    return hv_err_set(err, HV_EINVAL, "output path too long");
  int fd = -1;
  int rc = open_blob(home, db, run_id, logical_path, &fd, err);
  if (rc)
    return rc;
  rc = hv_write_atomic_with(out_path, 0644, fill_from_blob, &fd, err);
  close(fd);
  return rc;
}

/* ---- copying between stores (harvest db copy) -------------------------- */

struct hasher {
  crypto_hash_sha256_state h;
  int64_t n;
};

static int hash_take(void *ctx, const void *data, size_t n,
                     struct hv_err *err)
{
  (void)err;
  struct hasher *k = ctx;
  crypto_hash_sha256_update(&k->h, data, n);
  k->n += (int64_t)n;
  return 0;
}

/* Read blob sha back from db and hash it: HV_ECORRUPT unless it is sha,
 * size bytes. */
static int check_db_blob(struct hv_db *db, const char *sha, int64_t size,
                         struct hv_err *err)
{
  struct hasher k = {.n = 0};
  crypto_hash_sha256_init(&k.h);
  int rc = blobs_get(db, sha, hash_take, &k, NULL, err);
  if (rc)
    return rc;
  char hex[65];
  final_hex(&k.h, hex);
  if (strcmp(hex, sha) || k.n != size)
    return hv_err_set(err, HV_ECORRUPT,
                      "artifact blob %.16s... reads back from %s as %lld "
                      "bytes hashing to %.16s...",
                      sha, db_path(db), (long long)k.n, hex);
  return 0;
}

/* Write the open, verified blob fd into to_home's artifact folder and
 * verify the copy. */
static int copy_to_files(int fd, const char *to_home, const char *sha,
                         int64_t size, struct hv_err *err)
{
  struct source src = {.fd = fd};
  struct published p;
  int rc = spool_publish(to_home, &src, sha, size, &p, err);
  int back = -1;
  if (!rc && !(rc = open_local(to_home, sha, size, &back, err)))
    close(back);
  return rc;
}

int artifacts_copy_blob(const char *from_home, struct hv_db *from_db,
                        const char *to_home, struct hv_db *to_db,
                        const char *sha256, int64_t size, struct hv_err *err)
{
  if (check_sha(sha256, err))
    return HV_ECORRUPT;
  if (sodium_init() < 0)
    return hv_err_set(err, HV_EINTERNAL, "libsodium failed to initialise");
  int fd = -1;
  int rc = open_verified(from_home, from_db, sha256, size, &fd, err);
  if (!rc && artifacts_in_db(to_db)) {
    rc = blobs_put_in(to_db, sha256, size, fill_from_fd, &fd, NULL, err);
    if (!rc)
      rc = check_db_blob(to_db, sha256, size, err);
  } else if (!rc) {
    rc = copy_to_files(fd, to_home, sha256, size, err);
  }
  if (fd >= 0)
    close(fd);
  if (rc)
    hv_err_prefix(err, "copying artifact blob %.16s...", sha256);
  return rc;
}
