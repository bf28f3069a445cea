/*
 * import.c - dataset import as one transaction: see import.h.
 */
#include "data/import.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "data/ml100k.h"
#include "data/ml1m.h"
#include "data/mllatest.h"
#include "data/mlread.h"
#include "data/source.h"
#include "store/loader.h"
#include "util/fsutil.h"

typedef int (*reader_fn)(struct ml_load *ml, struct hv_err *err);

static const struct {
  const char *name;      /* as users type it */
  const char *canonical; /* the reader it uses */
  const char *marker;    /* a file only this format has, for guessing */
  reader_fn read;
} formats[] = {
    {"ml-100k", "ml-100k", "u.data", ml100k_read},
    {"ml-1m", "ml-1m", "ratings.dat", ml1m_read},
    {"ml-latest", "ml-latest", "ratings.csv", mllatest_read},
    {"ml-latest-small", "ml-latest", "ratings.csv", mllatest_read},
};
#define N_FORMATS (sizeof(formats) / sizeof(formats[0]))

const char *import_format_name(const char *format)
{
  for (size_t i = 0; format && i < N_FORMATS; i++)
    if (!strcmp(formats[i].name, format))
      return formats[i].canonical;
  return NULL;
}

static reader_fn format_reader(const char *format)
{
  for (size_t i = 0; i < N_FORMATS; i++)
    if (!strcmp(formats[i].name, format))
      return formats[i].read;
  return NULL;
}

/* The format whose marker file src holds, or NULL. */
static const char *guess(const struct source *src)
{
  for (size_t i = 0; i < N_FORMATS; i++)
    if (source_has(src, formats[i].marker))
      return formats[i].canonical;
  return NULL;
}

static int no_format(const char *path, struct hv_err *err)
{
  return hv_err_set(err, HV_EINVAL,
                    "%s: cannot tell the dataset format (no u.data, "
                    "ratings.dat or ratings.csv in it or in a folder inside "
                    "it); pass --format",
                    path);
}

int import_guess_format(const char *path, const char **format,
                        struct hv_err *err)
{
  struct source *src = NULL;
  int rc = source_open(path, &src, err);
  if (rc)
    return rc;
  *format = guess(src);
  source_close(src);
  if (!*format)
    return no_format(path, err);
  return 0;
}

/* Resolve the format (guessing for NULL/"auto"); *name is what gets
 * recorded, *read the reader. */
static int pick_format(const struct source *src, const char *format,
                       const char **name, reader_fn *read, struct hv_err *err)
{
  if (!format || !*format || !strcmp(format, "auto")) {
    format = guess(src);
    if (!format)
      return no_format(source_path(src), err);
  }
  *read = format_reader(format);
  if (!*read)
    return hv_err_set(err, HV_EUSAGE,
                      "unknown dataset format '%.64s'; expected ml-100k, "
                      "ml-1m, ml-latest or ml-latest-small",
                      format);
  *name = format;
  return 0;
}

/* Read the whole dataset into a fresh loader and commit it. */
static int load(struct hv_db *db, struct source *src, const char *name,
                reader_fn read, int replace, struct ml_load *ml,
                struct hv_err *err)
{
  struct loader *ld = NULL;
  int rc = loader_begin(db, replace, &ld, err);
  if (rc)
    return rc;
  ml->src = src;
  ml->ld = ld;
  rc = read(ml, err);
  if (rc) {
    loader_abort(ld);
    return rc;
  }
  char full[PATH_MAX];
  const char *where =
      realpath(source_path(src), full) ? full : source_path(src);
  return loader_commit(ld, name, where, err);
}

int import_dataset_progress(struct hv_db *db, const char *format,
                            const char *path, int replace,
                            import_progress_fn progress, void *progress_ctx,
                            struct import_result *res, struct hv_err *err)
{
  struct hv_err local;
  if (!err)
    err = &local;
  hv_err_clear(err);
  if (!db || !path || !*path)
    return hv_err_set(err, HV_EINVAL, "import needs a database and a path");
  if (format && *format && strcmp(format, "auto") && !format_reader(format))
    return hv_err_set(err, HV_EUSAGE,
                      "unknown dataset format '%.64s'; expected ml-100k, "
                      "ml-1m, ml-latest or ml-latest-small",
                      format);
  double t0 = hv_mono();
  struct source *src = NULL;
  int rc = source_open(path, &src, err);
  if (rc)
    return rc;
  const char *name = NULL;
  reader_fn read = NULL;
  struct ml_load ml;
  memset(&ml, 0, sizeof(ml));
  ml.progress = progress;
  ml.progress_ctx = progress_ctx;
  rc = pick_format(src, format, &name, &read, err);
  if (!rc)
    rc = load(db, src, name, read, replace, &ml, err);
  if (!rc && res) {
    *res = ml.res;
    res->seconds = hv_mono() - t0;
  }
  ml_load_free(&ml);
  source_close(src);
  return rc;
}

int import_dataset(struct hv_db *db, const char *format, const char *path,
                   int replace, struct import_result *res, struct hv_err *err)
{
  return import_dataset_progress(db, format, path, replace, NULL, NULL, res,
                                 err);
}
