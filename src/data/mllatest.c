/*
 * mllatest.c - MovieLens latest / latest-small reader: see mllatest.h.
 */
#include "data/mllatest.h"

#include <stdlib.h>
#include <string.h>

#include "data/csv.h"

#define NO_GENRES "(no genres listed)"

typedef int (*record_fn)(struct ml_load *ml, struct ml_file *f,
                         const struct csv *c, struct hv_err *err);

/* Check the first record is the header cols[0, n). */
static int check_header(const struct ml_file *f, const struct csv *c,
                        const char *const *cols, int n, const char *header,
                        struct hv_err *err)
{
  int ok = csv_nfields(c) == n;
  for (int i = 0; ok && i < n; i++) ok = !strcmp(csv_field(c, i), cols[i]);
  if (!ok)
    return ml_fail(f, err, HV_EINVAL, "expected the header line '%s'", header);
  return 0;
}

/* Read the CSV file name: header cols, then each record with fn. */
static int read_csv(struct ml_load *ml, const char *name,
                    const char *const *cols, int n, const char *header,
                    record_fn fn, struct hv_err *err)
{
  struct ml_file f;
  struct csv c = {0};
  int rc = ml_file_open(ml, name, &f, err);
  if (!rc)
    rc = csv_init(&c, &f.lines, ',', err);
  int64_t records = 0;
  while (!rc && (rc = csv_next(&c, err)) == 1) {
    f.at = csv_line(&c);
    if (records++ == 0) {
      rc = check_header(&f, &c, cols, n, header, err);
      continue;
    }
    f.rows++;
    ml_file_progress(&f, 0);
    if (csv_nfields(&c) != n)
      rc = ml_fail(&f, err, HV_EINVAL, "expected %d fields (%s), found %d", n,
                   header, csv_nfields(&c));
    else
      rc = fn(ml, &f, &c, err);
  }
  if (!rc && records == 0)
    rc = hv_err_set(err, HV_EINVAL,
                    "%s:1: the file is empty; expected the header line '%s'",
                    ml_file_name(&f), header);
  else if (!rc && f.rows == 0)
    rc = hv_err_set(err, HV_EINVAL, "%s:2: the file has a header but no rows",
                    ml_file_name(&f));
  if (!rc)
    ml_file_progress(&f, 1);
  csv_free(&c);
  ml_file_close(&f);
  return rc;
}

/* Split a genre list in place into ids (duplicates dropped); returns the
 * count or < 0. */
static int genre_ids(struct ml_load *ml, const struct ml_file *f, char *list,
                     int *ids, struct hv_err *err)
{
  if (!*list || !strcmp(list, NO_GENRES))
    return 0;
  if (ml_utf8(f, list, "genres", err))
    return err->code;
  int n = 0;
  char *p = list;
  for (;;) {
    char *bar = strchr(p, '|');
    if (bar)
      *bar = '\0';
    int id, seen = 0;
    if (ml_genre_id(ml, f, p, &id, err))
      return err->code;
    for (int k = 0; k < n; k++) seen |= ids[k] == id;
    if (!seen)
      ids[n++] = id;
    if (!bar)
      return n;
    p = bar + 1;
  }
}

/* movies.csv record: movieId,title,genres. */
static int movie_record(struct ml_load *ml, struct ml_file *f,
                        const struct csv *c, struct hv_err *err)
{
  int64_t id;
  int ids[ML_MAX_GENRES];
  const char *title = csv_field(c, 1);
  if (ml_id(f, csv_field(c, 0), "movieId", &id, err) ||
      ml_utf8(f, title, "title", err))
    return err->code;
  if (!*title)
    return ml_fail(f, err, HV_EINVAL, "movie %lld has an empty title",
                   (long long)id);
  /* The record buffer is the reader's; genre_ids splits a copy in place. */
  size_t glen = csv_field_len(c, 2);
  char *genres = malloc(glen + 1);
  if (!genres)
    return hv_err_set(err, HV_ENOMEM, "out of memory");
  memcpy(genres, csv_field(c, 2), glen + 1);
  int n = genre_ids(ml, f, genres, ids, err);
  free(genres);
  if (n < 0)
    return n;
  struct hv_movie m = {.id = id,
                       .title = title,
                       .release_year = text_title_year(title),
                       .genre_ids = ids,
                       .n_genres = n};
  return ml_add_movie(ml, f, &m, err);
}

/* ratings.csv record: userId,movieId,rating,timestamp. */
static int rating_record(struct ml_load *ml, struct ml_file *f,
                         const struct csv *c, struct hv_err *err)
{
  int64_t user, movie, ts;
  double r;
  if (ml_id(f, csv_field(c, 0), "userId", &user, err) ||
      ml_id(f, csv_field(c, 1), "movieId", &movie, err) ||
      ml_rating_half(f, csv_field(c, 2), &r, err) ||
      ml_timestamp(f, csv_field(c, 3), &ts, err))
    return err->code;
  if (!idset_has(&ml->users, user)) {
    struct hv_user u = {.id = user,
                        .raw_age = -1,
                        .bucketized_age = -1,
                        .occupation_label = -1};
    if (ml_add_user(ml, f, &u, err))
      return err->code;
  }
  return ml_add_rating(ml, f, user, movie, r, ts, "ratings.csv", "movies.csv",
                       err);
}

int mllatest_read(struct ml_load *ml, struct hv_err *err)
{
  static const char *const movie_cols[] = {"movieId", "title", "genres"};
  static const char *const rating_cols[] = {"userId", "movieId", "rating",
                                            "timestamp"};
  int rc = read_csv(ml, "movies.csv", movie_cols, 3, "movieId,title,genres",
                    movie_record, err);
  if (!rc)
    rc = read_csv(ml, "ratings.csv", rating_cols, 4,
                  "userId,movieId,rating,timestamp", rating_record, err);
  return rc;
}
