/*
 * ml100k.c - MovieLens 100K reader: see ml100k.h.
 */
#include "data/ml100k.h"

#include <stdlib.h>
#include <string.h>

#include "store/catalog.h"

#define OCC_MAX 1000

struct occupations {
  char *name[OCC_MAX];
  int n;
};

static void occupations_free(struct occupations *o)
{
  for (int i = 0; i < o->n; i++) free(o->name[i]);
  o->n = 0;
}

/* Index of occupation name, or -1. */
static int occupation_label(const struct occupations *o, const char *name)
{
  for (int i = 0; i < o->n; i++)
    if (!strcmp(o->name[i], name))
      return i;
  return -1;
}

/* One u.genre line: "name|id" with ids 0, 1, 2, ... in order. */
static int genre_line(struct ml_load *ml, const struct ml_file *f, char *line,
                      void *ctx, struct hv_err *err)
{
  char *fld[2];
  int64_t id;
  if (ml_split(f, line, "|", "'|'", fld, 2, err) ||
      ml_int(f, fld[1], "genre id", 0, ML_MAX_GENRES - 1, &id, err))
    return err->code;
  if (id != f->rows - 1)
    return ml_fail(f, err, HV_EINVAL,
                   "genre id %lld, expected %lld (u.item's genre flags are "
                   "positional, so ids must be 0, 1, 2, ... in order)",
                   (long long)id, (long long)(f->rows - 1));
  if (text_latin1_to_utf8(fld[0], strlen(fld[0]), &ml->text, err))
    return err->code;
  return ml_add_genre(ml, f, (int)id, ml->text.p, err);
}

/* One u.occupation line: a name; its label is its 0-based index. */
static int occupation_line(struct ml_load *ml, const struct ml_file *f,
                           char *line, void *ctx, struct hv_err *err)
{
  struct occupations *o = ctx;
  if (text_latin1_to_utf8(line, strlen(line), &ml->text, err))
    return err->code;
  if (occupation_label(o, ml->text.p) >= 0)
    return ml_fail(f, err, HV_EINVAL, "occupation '%.64s' appears twice",
                   ml->text.p);
  if (o->n >= OCC_MAX)
    return ml_fail(f, err, HV_EINVAL, "more than %d occupations", OCC_MAX);
  if (!(o->name[o->n] = strdup(ml->text.p)))
    return hv_err_set(err, HV_ENOMEM, "out of memory");
  o->n++;
  return 0;
}

/* One u.user line: id|age|gender|occupation|zip. */
static int user_line(struct ml_load *ml, const struct ml_file *f, char *line,
                     void *ctx, struct hv_err *err)
{
  const struct occupations *o = ctx;
  char *fld[5];
  int64_t id, age;
  if (ml_split(f, line, "|", "'|'", fld, 5, err) ||
      ml_id(f, fld[0], "user id", &id, err) ||
      ml_int(f, fld[1], "age", 0, 150, &age, err))
    return err->code;
  if (strcmp(fld[2], "M") && strcmp(fld[2], "F"))
    return ml_fail(f, err, HV_EINVAL, "gender '%.16s' is not M or F", fld[2]);
  int label = occupation_label(o, fld[3]);
  if (label < 0)
    return ml_fail(f, err, HV_EINVAL,
                   "occupation '%.64s' is not in u.occupation", fld[3]);
  if (ml_utf8(f, fld[4], "zip code", err))
    return err->code;
  struct hv_user u = {.id = id,
                      .raw_age = (int)age,
                      .bucketized_age = catalog_age_bucket((int)age),
                      .gender = fld[2],
                      .occupation_text = o->name[label],
                      .occupation_label = label,
                      .zip_code = *fld[4] ? fld[4] : NULL};
  return ml_add_user(ml, f, &u, err);
}

/* Genre flags fld[0, n) ("0"/"1") into ids; returns the count or < 0. */
static int item_genres(const struct ml_file *f, char **fld, int n, int *ids,
                       struct hv_err *err)
{
  int k = 0;
  for (int g = 0; g < n; g++) {
    if (!strcmp(fld[g], "1"))
      ids[k++] = g;
    else if (strcmp(fld[g], "0"))
      return ml_fail(f, err, HV_EINVAL,
                     "genre flag %d is '%.16s', expected 0 or 1", g + 1,
                     fld[g]);
  }
  return k;
}

/* One u.item line: id|title|release date|video date|URL|flags... */
static int item_line(struct ml_load *ml, const struct ml_file *f, char *line,
                     void *ctx, struct hv_err *err)
{
  char *fld[ML_MAX_FIELDS];
  int ids[ML_MAX_FIELDS];
  int64_t id;
  int year = 0;
  if (5 + ml->n_genres > ML_MAX_FIELDS)
    return ml_fail(f, err, HV_EINVAL, "u.genre has more than %d genres",
                   ML_MAX_FIELDS - 5);
  if (ml_split(f, line, "|", "'|'", fld, 5 + ml->n_genres, err) ||
      ml_id(f, fld[0], "movie id", &id, err))
    return err->code;
  if (*fld[2] && text_date_year(fld[2], &year))
    return ml_fail(f, err, HV_EINVAL,
                   "release date '%.32s' is not dd-Mon-yyyy (e.g. "
                   "01-Jan-1995)",
                   fld[2]);
  int n = item_genres(f, fld + 5, ml->n_genres, ids, err);
  if (n < 0)
    return n;
  if (!*fld[1])
    return ml_fail(f, err, HV_EINVAL, "movie %lld has an empty title",
                   (long long)id);
  if (ml_utf8(f, fld[4], "IMDb URL", err) ||
      text_latin1_to_utf8(fld[1], strlen(fld[1]), &ml->text, err))
    return err->code;
  struct hv_movie m = {
      .id = id,
      .title = ml->text.p,
      .release_date = *fld[2] ? fld[2] : NULL,
      .release_year = year ? year : text_title_year(ml->text.p),
      .imdb_url = *fld[4] ? fld[4] : NULL,
      .genre_ids = ids,
      .n_genres = n};
  return ml_add_movie(ml, f, &m, err);
}

/* One u.data line: user TAB movie TAB rating TAB timestamp. */
static int data_line(struct ml_load *ml, const struct ml_file *f, char *line,
                     void *ctx, struct hv_err *err)
{
  return ml_rating_line(ml, f, line, "\t", "TAB", "u.user", "u.item", err);
}

int ml100k_read(struct ml_load *ml, struct hv_err *err)
{
  struct occupations o = {.n = 0};
  const struct ml_part parts[] = {
      {"u.genre", genre_line, NULL, "lines 'name|id'"},
      {"u.occupation", occupation_line, &o, "one occupation per line"},
      {"u.user", user_line, &o, "lines 'id|age|gender|occupation|zip'"},
      {"u.item", item_line, NULL,
       "lines 'id|title|date|video date|URL|genre flags'"},
      {"u.data", data_line, NULL,
       "lines 'user TAB movie TAB rating TAB timestamp'"},
  };
  int rc = ml_read_files(ml, parts, sizeof(parts) / sizeof(parts[0]), err);
  occupations_free(&o);
  return rc;
}
