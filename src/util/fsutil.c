/*
 * fsutil.c - file-system helpers: see fsutil.h.
 */
#include "util/fsutil.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* mkdir -p dir: missing parents get 0755, dir itself leaf_mode; existing
 * directories keep their modes. */
static int mkdir_tree(const char *dir, mode_t leaf_mode, struct hv_err *err)
{
  char buf[4096];
  size_t n = strlen(dir);
  if (n == 0 || n >= sizeof(buf))
    return hv_err_set(err, HV_EINVAL, "bad directory name '%.200s'", dir);
  memcpy(buf, dir, n + 1);
  while (n > 1 && buf[n - 1] == '/')
    buf[--n] = '\0'; /* "home/" is created as "home", with leaf_mode */
  for (size_t i = 1; i <= n; i++) {
    if (buf[i] != '/' && buf[i] != '\0')
      continue;
    char c = buf[i];
    buf[i] = '\0';
    if (mkdir(buf, i == n ? leaf_mode : 0755) != 0 && errno != EEXIST)
      return hv_err_set(err, HV_EIO, "cannot create directory '%.200s': %s",
                        buf, strerror(errno));
    buf[i] = c;
  }
  struct stat st;
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
    return hv_err_set(err, HV_EIO, "'%.200s' is not a directory", dir);
  return 0;
}

int hv_mkdir_p(const char *dir, struct hv_err *err)
{
  return mkdir_tree(dir, 0755, err);
}

int hv_mkdir_private(const char *dir, struct hv_err *err)
{
  return mkdir_tree(dir, 0700, err);
}

static int fsync_dir_of(const char *path)
{
  char buf[4096];
  snprintf(buf, sizeof(buf), "%s", path);
  int fd = open(dirname(buf), O_RDONLY | O_DIRECTORY);
  if (fd < 0)
    return -1;
  int rc = fsync(fd);
  close(fd);
  return rc;
}

int hv_write_all(int fd, const void *data, size_t len)
{
  const char *p = data;
  while (len > 0) {
    ssize_t w = write(fd, p, len);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return -1;
    p += w;
    len -= (size_t)w;
  }
  return 0;
}

ssize_t hv_read_some(int fd, void *buf, size_t cap)
{
  for (;;) {
    ssize_t r = read(fd, buf, cap);
    if (r < 0 && errno == EINTR)
      continue;
    return r;
  }
}

int hv_io_code(int errnum)
{
  return errnum == ENOSPC || errnum == EDQUOT ? HV_ENOSPC : HV_EIO;
}

int hv_write_atomic_with(const char *path, mode_t mode, hv_fill_fn fill,
                         void *arg, struct hv_err *err)
{
  char tmp[4096];
  if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= (int)sizeof(tmp))
    return hv_err_set(err, HV_EINVAL, "path too long: '%.200s'", path);
  int fd = mkstemp(tmp);
  if (fd < 0)
    return hv_err_set(err, HV_EIO, "cannot create '%.200s': %s", tmp,
                      strerror(errno));
  int rc = fill(fd, tmp, arg, err);
  if (!rc && (fchmod(fd, mode) != 0 || fsync(fd) != 0))
    rc = hv_err_set(err, hv_io_code(errno), "cannot write '%.200s': %s", tmp,
                    strerror(errno));
  close(fd);
  if (rc) {
    unlink(tmp);
    return rc;
  }
  if (rename(tmp, path) != 0) {
    rc = hv_err_set(err, HV_EIO, "cannot rename to '%.200s': %s", path,
                    strerror(errno));
    unlink(tmp);
    return rc;
  }
  fsync_dir_of(path);
  return 0;
}

struct buf_arg {
  const void *data;
  size_t len;
};

static int fill_buf(int fd, const char *tmp, void *arg, struct hv_err *err)
{
  const struct buf_arg *b = arg;
  if (hv_write_all(fd, b->data, b->len) != 0)
    return hv_err_set(err, hv_io_code(errno), "cannot write '%.200s': %s",
                      tmp, strerror(errno));
  return 0;
}

int hv_write_atomic(const char *path, const void *data, size_t len,
                    mode_t mode, struct hv_err *err)
{
  struct buf_arg b = {data, len};
  return hv_write_atomic_with(path, mode, fill_buf, &b, err);
}

int hv_read_file(const char *path, size_t max, char **out, size_t *len,
                 struct hv_err *err)
{
  FILE *f = fopen(path, "rb");
  if (!f)
    return hv_err_set(err, errno == ENOENT ? HV_ENOTFOUND : HV_EIO,
                      "cannot open '%.200s': %s", path, strerror(errno));
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap);
  int rc = 0;
  while (buf) {
    if (n + 1 >= cap) {
      char *nb = realloc(buf, cap * 2);
      if (!nb) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = nb;
      cap *= 2;
    }
    size_t r = fread(buf + n, 1, cap - n - 1, f);
    n += r;
    if (n > max) {
      rc = hv_err_set(err, HV_ETOOBIG, "'%.200s' is larger than %zu bytes",
                      path, max);
      break;
    }
    if (r == 0)
      break;
  }
  if (!buf)
    rc = hv_err_set(err, HV_ENOMEM, "out of memory reading '%.200s'", path);
  else if (!rc && ferror(f))
    rc = hv_err_set(err, HV_EIO, "cannot read '%.200s'", path);
  fclose(f);
  if (rc) {
    free(buf);
    return rc;
  }
  buf[n] = '\0';
  *out = buf;
  if (len)
    *len = n;
  return 0;
}

int hv_path_join(char *out, size_t cap, const char *a, const char *b,
                 struct hv_err *err)
{
  size_t la = strlen(a);
  const char *sep = (la && a[la - 1] == '/') ? "" : "/";
  int n = snprintf(out, cap, "%s%s%s", a, sep, b);
  if (n < 0 || (size_t)n >= cap)
    return hv_err_set(err, HV_EINVAL, "path too long: '%.100s/%.100s'", a, b);
  return 0;
}

double hv_now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

double hv_mono(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Empty the folder open as fd (taken: closed here), depth levels deep at
 * most; then remove name beneath parent unless parent < 0. */
static int remove_below(int fd, int parent, const char *name, int depth)
{
  DIR *d = fdopendir(fd);
  if (!d) {
    close(fd);
    return -1;
  }
  int rc = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
      continue;
    int sub = depth > 0 ? openat(dirfd(d), e->d_name,
                                 O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
                                     O_CLOEXEC)
                        : -1;
    if (sub >= 0)
      rc |= remove_below(sub, dirfd(d), e->d_name, depth - 1);
    else if (unlinkat(dirfd(d), e->d_name, 0) != 0)
      rc = -1;
  }
  closedir(d);
  if (parent >= 0 && unlinkat(parent, name, AT_REMOVEDIR) != 0)
    rc = -1;
  return rc;
}

int hv_remove_tree(const char *dir, int keep_root)
{
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return -1;
  int rc = remove_below(fd, -1, NULL, 64);
  if (!keep_root && rmdir(dir) != 0)
    rc = -1;
  return rc;
}
