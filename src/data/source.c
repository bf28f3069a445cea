/*
 * source.c - dataset files from a folder or a zip archive: see source.h.
 */
#include "data/source.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zip.h>

#define SOURCE_NAME_MAX 4096

struct source {
  char path[SOURCE_NAME_MAX];
  zip_t *zip; /* NULL for a folder */
};

struct source_file {
  char name[SOURCE_NAME_MAX]; /* display name */
  int64_t size;
  FILE *fp;       /* folder file, or NULL */
  zip_file_t *zf; /* zip entry, or NULL */
};

/* Open path as a zip archive with consistency checks. */
static int open_zip(struct source *src, struct hv_err *err)
{
  int code = 0;
  src->zip = zip_open(src->path, ZIP_RDONLY | ZIP_CHECKCONS, &code);
  if (src->zip)
    return 0;
  zip_error_t ze;
  zip_error_init_with_code(&ze, code);
  int rc = code == ZIP_ER_OPEN || code == ZIP_ER_READ || code == ZIP_ER_MEMORY
               ? HV_EIO
               : HV_ECORRUPT;
  hv_err_set(err, rc,
             "%s: not a readable zip archive (%s); if it was downloaded, "
             "the download may be truncated: fetch it again",
             src->path, zip_error_strerror(&ze));
  zip_error_fini(&ze);
  return rc;
}

int source_open(const char *path, struct source **out, struct hv_err *err)
{
  *out = NULL;
  if (!path || !*path)
    return hv_err_set(err, HV_EINVAL, "dataset path is empty");
  if (strlen(path) >= SOURCE_NAME_MAX - 256)
    return hv_err_set(err, HV_EINVAL, "dataset path is too long");
  struct stat st;
  if (stat(path, &st) != 0)
    return hv_err_set(err, errno == ENOENT ? HV_ENOTFOUND : HV_EIO, "%s: %s",
                      path, strerror(errno));
  if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
    return hv_err_set(err, HV_EINVAL, "%s: not a folder or a .zip file", path);
  struct source *src = calloc(1, sizeof(*src));
  if (!src)
    return hv_err_set(err, HV_ENOMEM, "out of memory");
  snprintf(src->path, sizeof(src->path), "%s", path);
  if (S_ISREG(st.st_mode)) {
    int rc = open_zip(src, err);
    if (rc) {
      free(src);
      return rc;
    }
  }
  *out = src;
  return 0;
}

void source_close(struct source *src)
{
  if (!src)
    return;
  if (src->zip)
    zip_discard(src->zip); /* read-only: nothing to write back */
  free(src);
}

const char *source_path(const struct source *src)
{
  return src->path;
}

int source_is_zip(const struct source *src)
{
  return src->zip != NULL;
}

/* Depth of a zip entry matching base name `name`: 0 at the top, 1 inside one
 * folder, -1 when it does not match (other name, deeper, directory, or a
 * macOS resource entry). */
static int zip_match(const char *entry, const char *name)
{
  if (!strncmp(entry, "__MACOSX/", 9))
    return -1;
  if (!strcmp(entry, name))
    return 0;
  const char *slash = strchr(entry, '/');
  if (!slash || slash == entry || strchr(slash + 1, '/'))
    return -1;
  return strcmp(slash + 1, name) ? -1 : 1;
}

/* Index of the zip entry for `name` (shallowest first), or -1. */
static zip_int64_t zip_find(const struct source *src, const char *name)
{
  zip_int64_t n = zip_get_num_entries(src->zip, 0), best = -1;
  int best_depth = 2;
  for (zip_int64_t i = 0; i < n; i++) {
    const char *e = zip_get_name(src->zip, (zip_uint64_t)i, ZIP_FL_ENC_GUESS);
    int d = e ? zip_match(e, name) : -1;
    if (d >= 0 && d < best_depth) {
      best = i;
      best_depth = d;
    }
  }
  return best;
}

/* 1 when dir/name is a regular file; its path in out (cap bytes). */
static int dir_has(const char *dir, const char *name, char *out, size_t cap)
{
  size_t n = strlen(dir);
  int w = snprintf(out, cap, "%s%s%s", dir,
                   n && dir[n - 1] == '/' ? "" : "/", name);
  struct stat st;
  return w > 0 && (size_t)w < cap && stat(out, &st) == 0 &&
         S_ISREG(st.st_mode);
}

static int not_dot(const struct dirent *d)
{
  return d->d_name[0] != '.' && strcmp(d->d_name, "__MACOSX");
}

/* The path of `name` in a folder source, as zip_find: directly inside it,
 * else inside one of its subfolders (the first by name holding it). 1 and
 * the path in out when found, else 0 (out holds the top-level path). */
static int dir_find(const struct source *src, const char *name, char *out,
                    size_t cap)
{
  if (dir_has(src->path, name, out, cap))
    return 1;
  struct dirent **list = NULL;
  int n = scandir(src->path, &list, not_dot, alphasort), found = 0;
  char sub[SOURCE_NAME_MAX], tmp[SOURCE_NAME_MAX];
  for (int i = 0; i < n; i++) {
    if (!found) {
      snprintf(sub, sizeof(sub), "%s/%s", src->path, list[i]->d_name);
      found = dir_has(sub, name, tmp, sizeof(tmp));
    }
    free(list[i]);
  }
  free(list);
  if (found)
    snprintf(out, cap, "%s", tmp);
  else
    dir_has(src->path, name, out, cap);
  return found;
}

int source_has(const struct source *src, const char *name)
{
  if (src->zip)
    return zip_find(src, name) >= 0;
  char p[SOURCE_NAME_MAX];
  return dir_find(src, name, p, sizeof(p));
}

static int open_zip_file(struct source *src, const char *name,
                         struct source_file *f, struct hv_err *err)
{
  zip_int64_t i = zip_find(src, name);
  if (i < 0)
    return hv_err_set(err, HV_ENOTFOUND, "%s holds no file %s", src->path,
                      name);
  const char *e = zip_get_name(src->zip, (zip_uint64_t)i, ZIP_FL_ENC_GUESS);
  snprintf(f->name, sizeof(f->name), "%s/%s", src->path, e ? e : name);
  zip_stat_t zs;
  zip_stat_init(&zs);
  f->size = zip_stat_index(src->zip, (zip_uint64_t)i, 0, &zs) == 0 &&
                    (zs.valid & ZIP_STAT_SIZE)
                ? (int64_t)zs.size
                : -1;
  f->zf = zip_fopen_index(src->zip, (zip_uint64_t)i, 0);
  if (!f->zf)
    return hv_err_set(err, HV_ECORRUPT, "%s: cannot read from the archive: %s",
                      f->name, zip_strerror(src->zip));
  return 0;
}

static int open_dir_file(struct source *src, const char *name,
                         struct source_file *f, struct hv_err *err)
{
  dir_find(src, name, f->name, sizeof(f->name));
  f->fp = fopen(f->name, "rb");
  if (!f->fp)
    return hv_err_set(err, errno == ENOENT ? HV_ENOTFOUND : HV_EIO, "%s: %s",
                      f->name,
                      errno == ENOENT ? "no such file in the dataset folder"
                                      : strerror(errno));
  struct stat st;
  if (fstat(fileno(f->fp), &st) != 0 || !S_ISREG(st.st_mode))
    return hv_err_set(err, HV_EIO, "%s: not a regular file", f->name);
  f->size = (int64_t)st.st_size;
  return 0;
}

int source_open_file(struct source *src, const char *name,
                     struct source_file **out, struct hv_err *err)
{
  *out = NULL;
  struct source_file *f = calloc(1, sizeof(*f));
  if (!f)
    return hv_err_set(err, HV_ENOMEM, "out of memory");
  int rc = src->zip ? open_zip_file(src, name, f, err)
                    : open_dir_file(src, name, f, err);
  if (rc) {
    source_file_close(f);
    return rc;
  }
  *out = f;
  return 0;
}

long source_file_read(struct source_file *f, char *buf, size_t cap,
                      struct hv_err *err)
{
  if (f->zf) {
    zip_int64_t n = zip_fread(f->zf, buf, cap);
    if (n < 0)
      return hv_err_set(err, HV_ECORRUPT,
                        "%s: the archive is damaged (%s); fetch it again",
                        f->name, zip_file_strerror(f->zf));
    return (long)n;
  }
  size_t n = fread(buf, 1, cap, f->fp);
  if (n < cap && ferror(f->fp))
    return hv_err_set(err, HV_EIO, "%s: read error: %s", f->name,
                      strerror(errno));
  return (long)n;
}

const char *source_file_name(const struct source_file *f)
{
  return f->name;
}

int64_t source_file_size(const struct source_file *f)
{
  return f->size;
}

void source_file_close(struct source_file *f)
{
  if (!f)
    return;
  if (f->fp)
    fclose(f->fp);
  if (f->zf)
    zip_fclose(f->zf);
  free(f);
}
