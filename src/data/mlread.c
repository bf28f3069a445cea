/*
 * mlread.c - shared MovieLens reading helpers: see mlread.h.
 */
#include "data/mlread.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/source.h"
#include "util/parse.h"

#define ML_ID_MAX (INT64_C(1) << 53)

void ml_load_free(struct ml_load *ml)
{
  idset_free(&ml->users);
  idset_free(&ml->movies);
  for (int i = 0; i < ml->n_genres; i++) free(ml->genre[i]);
  ml->n_genres = 0;
  text_buf_free(&ml->text);
  for (int i = 0; i < 3; i++)
    text_buf_free(&ml->clean[i]);
}

/* s cleaned of controls into ml->clean[slot] (NULL stays NULL); *out
 * borrows it until the next row. */
static int clean(struct ml_load *ml, int slot, const char *s, const char **out,
                 struct hv_err *err)
{
  *out = NULL;
  if (!s)
    return 0;
  if (text_clean(s, &ml->clean[slot], err))
    return err->code;
  *out = ml->clean[slot].p;
  return 0;
}

/* lines_read_fn over a dataset file; counts the bytes read for progress. */
static long file_read(void *ctx, char *buf, size_t cap, struct hv_err *err)
{
  struct ml_file *f = ctx;
  long n = source_file_read(f->sf, buf, cap, err);
  if (n > 0)
    f->done += n;
  return n;
}

void ml_file_progress(const struct ml_file *f, int force)
{
  if (!f->ml->progress || (!force && f->rows % ML_PROGRESS_ROWS))
    return;
  /* bytes handed out as lines, not bytes read ahead into the buffer */
  int64_t used = f->done - (int64_t)(f->lines.end - f->lines.start);
  f->ml->progress(f->ml->progress_ctx, ml_file_name(f), used, f->total);
}

int ml_file_open(struct ml_load *ml, const char *name, struct ml_file *f,
                 struct hv_err *err)
{
  memset(f, 0, sizeof(*f));
  f->ml = ml;
  int rc = source_open_file(ml->src, name, &f->sf, err);
  if (rc)
    return rc;
  f->total = source_file_size(f->sf);
  return lines_init(&f->lines, file_read, f, source_file_name(f->sf), 0, err);
}

int ml_file_next(struct ml_file *f, char **line, size_t *len,
                 struct hv_err *err)
{
  int rc;
  do {
    rc = lines_next(&f->lines, line, len, err);
  } while (rc == 1 && *len == 0);
  if (rc == 1) {
    f->rows++;
    ml_file_progress(f, 0);
  }
  return rc;
}

void ml_file_close(struct ml_file *f)
{
  lines_free(&f->lines);
  source_file_close(f->sf);
  f->sf = NULL;
}

int ml_read_lines(struct ml_load *ml, const char *name, ml_line_fn fn,
                  void *ctx, const char *expect, struct hv_err *err)
{
  struct ml_file f;
  int rc = ml_file_open(ml, name, &f, err);
  char *line;
  size_t len;
  while (!rc && (rc = ml_file_next(&f, &line, &len, err)) == 1)
    rc = fn(ml, &f, line, ctx, err);
  if (!rc)
    rc = ml_require_rows(&f, expect, err);
  if (!rc)
    ml_file_progress(&f, 1);
  ml_file_close(&f);
  return rc;
}

const char *ml_file_name(const struct ml_file *f)
{
  return f->sf ? source_file_name(f->sf) : "?";
}

int64_t ml_file_line(const struct ml_file *f)
{
  return f->at ? f->at : f->lines.lineno;
}

int ml_fail(const struct ml_file *f, struct hv_err *err, int code,
            const char *fmt, ...)
{
  if (!err)
    return code;
  char msg[sizeof(err->msg)];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  return hv_err_set(err, code, "%s:%lld: %s", ml_file_name(f),
                    (long long)ml_file_line(f), msg);
}

int ml_prefix(const struct ml_file *f, struct hv_err *err)
{
  if (!err)
    return HV_EINVAL;
  hv_err_prefix(err, "%s:%lld", ml_file_name(f), (long long)ml_file_line(f));
  return err->code ? err->code : HV_EINTERNAL;
}

int ml_require_rows(const struct ml_file *f, const char *what,
                    struct hv_err *err)
{
  if (f->rows > 0)
    return 0;
  return hv_err_set(err, HV_EINVAL, "%s:1: the file is empty; expected %s",
                    ml_file_name(f), what);
}

int ml_split(const struct ml_file *f, char *line, const char *sep,
             const char *sepname, char **fields, int want, struct hv_err *err)
{
  size_t seplen = strlen(sep);
  int n = 0;
  char *p = line;
  for (;;) {
    if (n < want)
      fields[n] = p;
    n++;
    char *q = seplen == 1 ? strchr(p, sep[0]) : strstr(p, sep);
    if (!q)
      break;
    if (n <= want)
      memset(q, 0, seplen);
    p = q + seplen;
  }
  if (n != want)
    return ml_fail(f, err, HV_EINVAL,
                   "expected %d fields separated by %s, found %d", want,
                   sepname, n);
  return 0;
}

int ml_int(const struct ml_file *f, const char *s, const char *what,
           int64_t min, int64_t max, int64_t *out, struct hv_err *err)
{
  if (hv_parse_i64(s, min, max, out, what, err))
    return ml_prefix(f, err);
  return 0;
}

int ml_id(const struct ml_file *f, const char *s, const char *what,
          int64_t *out, struct hv_err *err)
{
  return ml_int(f, s, what, 1, ML_ID_MAX, out, err);
}

int ml_rating_whole(const struct ml_file *f, const char *s, double *out,
                    struct hv_err *err)
{
  int64_t v;
  if (hv_parse_i64(s, INT64_MIN, INT64_MAX, &v, "rating", err))
    return ml_prefix(f, err);
  if (v < 1 || v > 5)
    return ml_fail(f, err, HV_EINVAL,
                   "rating %lld is out of range 1..5 (whole stars)",
                   (long long)v);
  *out = (double)v;
  return 0;
}

int ml_rating_half(const struct ml_file *f, const char *s, double *out,
                   struct hv_err *err)
{
  double v;
  if (hv_parse_f64(s, -HUGE_VAL, HUGE_VAL, &v, "rating", err))
    return ml_prefix(f, err);
  if (v < 0.5 || v > 5 || v * 2 != floor(v * 2))
    return ml_fail(f, err, HV_EINVAL,
                   "rating %.32s is out of range 0.5..5 in half stars", s);
  *out = v;
  return 0;
}

int ml_timestamp(const struct ml_file *f, const char *s, int64_t *out,
                 struct hv_err *err)
{
  return ml_int(f, s, "timestamp", 0, INT64_MAX, out, err);
}

int ml_utf8(const struct ml_file *f, const char *s, const char *what,
            struct hv_err *err)
{
  size_t bad = 0;
  if (text_utf8_valid(s, strlen(s), &bad))
    return 0;
  return ml_fail(f, err, HV_EINVAL,
                 "%s is not valid UTF-8 (byte 0x%02X at offset %zu); save "
                 "the file as UTF-8",
                 what, (unsigned)(unsigned char)s[bad], bad);
}

static int store_genre(struct ml_load *ml, const struct ml_file *f, int id,
                       const char *name, struct hv_err *err)
{
  char *copy = strdup(name);
  if (!copy)
    return hv_err_set(err, HV_ENOMEM, "out of memory");
  if (loader_genre(ml->ld, id, name, err)) {
    free(copy);
    return ml_prefix(f, err);
  }
  ml->genre[id] = copy;
  if (id >= ml->n_genres)
    ml->n_genres = id + 1;
  ml->res.genres++;
  return 0;
}

static int find_genre(const struct ml_load *ml, const char *name)
{
  for (int i = 0; i < ml->n_genres; i++)
    if (ml->genre[i] && !strcmp(ml->genre[i], name))
      return i;
  return -1;
}

int ml_genre_id(struct ml_load *ml, const struct ml_file *f, const char *name,
                int *id, struct hv_err *err)
{
  if (clean(ml, 0, name, &name, err))
    return ml_prefix(f, err);
  if (!*name)
    return ml_fail(f, err, HV_EINVAL, "empty genre name");
  int g = find_genre(ml, name);
  if (g < 0) {
    if (ml->n_genres >= ML_MAX_GENRES)
      return ml_fail(f, err, HV_EINVAL, "more than %d genres", ML_MAX_GENRES);
    g = ml->n_genres;
    int rc = store_genre(ml, f, g, name, err);
    if (rc)
      return rc;
  }
  *id = g;
  return 0;
}

int ml_add_genre(struct ml_load *ml, const struct ml_file *f, int id,
                 const char *name, struct hv_err *err)
{
  if (clean(ml, 0, name, &name, err))
    return ml_prefix(f, err);
  if (!*name)
    return ml_fail(f, err, HV_EINVAL, "empty genre name");
  if (id < 0 || id >= ML_MAX_GENRES)
    return ml_fail(f, err, HV_EINVAL, "genre id %d is out of range 0..%d", id,
                   ML_MAX_GENRES - 1);
  if (id < ml->n_genres && ml->genre[id])
    return ml_fail(f, err, HV_EINVAL, "genre id %d appears twice", id);
  if (find_genre(ml, name) >= 0)
    return ml_fail(f, err, HV_EINVAL, "genre '%.64s' appears twice", name);
  return store_genre(ml, f, id, name, err);
}

/* Add id, a new user or movie (what), to set: 0, or an error naming the
 * file and line (not positive, seen before, out of memory). */
static int add_new_id(const struct ml_file *f, struct idset *set, int64_t id,
                      const char *what, struct hv_err *err)
{
  if (id < 1)
    return ml_fail(f, err, HV_EINVAL, "id %lld is not positive",
                   (long long)id);
  int rc = idset_add(set, id, err);
  if (rc < 0)
    return ml_prefix(f, err);
  if (rc == 0)
    return ml_fail(f, err, HV_EINVAL, "%s id %lld appears twice", what,
                   (long long)id);
  return 0;
}

/* The three text fields of a user or movie row: *field[i] cleaned into
 * ml->clean[i] (NULL stays NULL), borrowed until the next row. */
static int clean_fields(struct ml_load *ml, const char **const field[3],
                        struct hv_err *err)
{
  for (int i = 0; i < 3; i++)
    if (clean(ml, i, *field[i], field[i], err))
      return err->code;
  return 0;
}

/* The checks of a new user or movie row: its id new to set (what names
 * it), then its three text fields cleaned (clean_fields). */
static int new_row(struct ml_load *ml, const struct ml_file *f,
                   struct idset *set, int64_t id, const char *what,
                   const char **const field[3], struct hv_err *err)
{
  int rc = add_new_id(f, set, id, what, err);
  if (!rc && clean_fields(ml, field, err))
    rc = ml_prefix(f, err);
  return rc;
}

int ml_add_user(struct ml_load *ml, const struct ml_file *f,
                const struct hv_user *u, struct hv_err *err)
{
  struct hv_user c = *u;
  const char **const field[3] = {&c.gender, &c.occupation_text, &c.zip_code};
  int rc = new_row(ml, f, &ml->users, u->id, "user", field, err);
  if (!rc && loader_user(ml->ld, &c, err))
    rc = ml_prefix(f, err);
  ml->res.users += !rc;
  return rc;
}

int ml_add_movie(struct ml_load *ml, const struct ml_file *f,
                 const struct hv_movie *m, struct hv_err *err)
{
  struct hv_movie c = *m;
  const char **const field[3] = {&c.title, &c.release_date, &c.imdb_url};
  int rc = new_row(ml, f, &ml->movies, m->id, "movie", field, err);
  if (!rc && loader_movie(ml->ld, &c, err))
    rc = ml_prefix(f, err);
  ml->res.movies += !rc;
  return rc;
}

int ml_add_rating(struct ml_load *ml, const struct ml_file *f, int64_t user,
                  int64_t movie, double rating, int64_t ts,
                  const char *users_file, const char *movies_file,
                  struct hv_err *err)
{
  if (!idset_has(&ml->users, user))
    return ml_fail(f, err, HV_EINVAL, "user %lld is not in %s", (long long)user,
                   users_file);
  if (!idset_has(&ml->movies, movie))
    return ml_fail(f, err, HV_EINVAL, "movie %lld is not in %s",
                   (long long)movie, movies_file);
  struct hv_rating r = {.rating_id = ml->res.ratings + 1,
                        .user_id = user,
                        .movie_id = movie,
                        .rating = rating,
                        .timestamp = ts};
  if (loader_rating(ml->ld, &r, err))
    return ml_prefix(f, err);
  ml->res.ratings++;
  return 0;
}

/* The common ratings line: four fields of 1-18 decimal digits separated by
 * the one byte sep, into v[0..3] without strtoll (a 25M-line file spent
 * more in strtoll and strchr than in anything else of its parsing).
 * Returns 1, or 0 for a line with anything else: the strict path then
 * parses it, with the same result for what it accepts, and names what is
 * wrong. */
static int quick_fields(const char *line, char sep, int64_t v[4])
{
  const char *p = line;
  for (int i = 0; i < 4; i++) {
    const char *s = p;
    int64_t x = 0;
    while (*p >= '0' && *p <= '9' && p - s < 18)
      x = x * 10 + (*p++ - '0');
    if (p == s || *p != (i < 3 ? sep : '\0'))
      return 0;
    v[i] = x;
    p++;
  }
  return 1;
}

int ml_rating_line(struct ml_load *ml, const struct ml_file *f, char *line,
                   const char *sep, const char *sep_name,
                   const char *users_file, const char *movies_file,
                   struct hv_err *err)
{
  int64_t v[4];
  if (sep[0] && !sep[1] && quick_fields(line, sep[0], v) && v[0] >= 1 &&
      v[0] <= ML_ID_MAX && v[1] >= 1 && v[1] <= ML_ID_MAX && v[2] >= 1 &&
      v[2] <= 5)
    return ml_add_rating(ml, f, v[0], v[1], (double)v[2], v[3], users_file,
                         movies_file, err);
  char *fld[4];
  int64_t user, movie, ts;
  double r = 0; /* set by ml_rating_whole; gcc -O3 cannot tell */
  if (ml_split(f, line, sep, sep_name, fld, 4, err) ||
      ml_id(f, fld[0], "user id", &user, err) ||
      ml_id(f, fld[1], "movie id", &movie, err) ||
      ml_rating_whole(f, fld[2], &r, err) || ml_timestamp(f, fld[3], &ts, err))
    return err->code;
  return ml_add_rating(ml, f, user, movie, r, ts, users_file, movies_file,
                       err);
}

int ml_read_files(struct ml_load *ml, const struct ml_part *parts, size_t n,
                  struct hv_err *err)
{
  int rc = 0;
  for (size_t i = 0; i < n && !rc; i++)
    rc = ml_read_lines(ml, parts[i].name, parts[i].fn, parts[i].ctx,
                       parts[i].expect, err);
  return rc;
}
