/*
 * loader.c - the bulk import, backend-neutral: the checks every backend
 * shares (foreign keys against id sets of the rows loaded so far, the
 * rating range, assigned rating ids, the counts recorded with the
 * dataset), then one call into the backend per row. See loader.h; the
 * SQLite implementation and why it is fast are in sqlite/sq_loader.c.
 *
 * Design: the id sets (util/idset.h: a bitmap for dense ids, a hash for
 * the rest) start with the ids the database already holds after the
 * backend opened the transaction, so a load that keeps existing users or
 * genres refers to them; lookups are two per rating.
 *
 * Threads: a loader uses its connection exclusively until commit/abort.
 */
#include "store/loader.h"

#include <math.h>
#include <stdlib.h>

#include "store/backend.h"
#include "store/catalog.h"
#include "util/fsutil.h"
#include "util/idset.h"

struct loader {
  struct hv_db *db;
  void *impl; /* the backend's state */
  struct idset users, movies, genres;
  struct loader_counts n;
  int64_t max_rating_id; /* largest rating_id written or buffered */
  struct loader_times *times; /* the caller's, filled at commit */
  double t_begin;
};

#define LD(ld) ((ld)->db->be->loader)

/* Add the ids of table the database holds to s. */
static int known_ids(struct hv_db *db, enum catalog_table table,
                     struct idset *s, struct hv_err *err)
{
  int64_t *ids = NULL;
  size_t n = 0;
  int rc = catalog_ids(db, table, &ids, &n, err);
  for (size_t i = 0; i < n && !rc; i++)
    if (idset_add(s, ids[i], NULL) == HV_ENOMEM)
      rc = hv_err_set(err, HV_ENOMEM, "out of memory loading ids");
  free(ids);
  return rc;
}

static void loader_free(struct loader *ld)
{
  idset_free(&ld->users);
  idset_free(&ld->movies);
  idset_free(&ld->genres);
  free(ld);
}

int loader_begin_opts(struct hv_db *db, const struct loader_opts *opts,
                      struct loader **out, struct hv_err *err)
{
  static const struct loader_opts none;
  *out = NULL;
  if (!db)
    return store_no_db(err, "load");
  struct loader *ld = calloc(1, sizeof(*ld));
  if (!ld)
    return hv_err_set(err, HV_ENOMEM, "out of memory");
  ld->db = db;
  ld->times = opts ? opts->times : NULL;
  ld->t_begin = hv_mono();
  int rc = LD(ld)->begin(db, opts ? opts : &none, &ld->impl, err);
  if (rc) {
    loader_free(ld);
    return rc;
  }
  rc = known_ids(db, CATALOG_USERS, &ld->users, err);
  if (!rc)
    rc = known_ids(db, CATALOG_MOVIES, &ld->movies, err);
  if (!rc)
    rc = known_ids(db, CATALOG_GENRES, &ld->genres, err);
  if (rc) {
    loader_abort(ld);
    return rc;
  }
  *out = ld;
  return 0;
}

int loader_begin(struct hv_db *db, int replace, struct loader **out,
                 struct hv_err *err)
{
  struct loader_opts opts = {.replace = replace};
  return loader_begin_opts(db, &opts, out, err);
}

/* HV_ECONFLICT ("WHAT ID: duplicate id") when s already holds id: found
 * here, before the backend sees the row, so every backend refuses the row
 * itself (a COPY would only notice at its end). */
static int duplicate(const struct idset *s, int64_t id, const char *what,
                     struct hv_err *err)
{
  if (!idset_has(s, id))
    return 0;
  return hv_err_set(err, HV_ECONFLICT, "%s %lld: duplicate id", what,
                    (long long)id);
}

/* Remember id in s after its row went in, and count the row (count may
 * be NULL). */
static int remember(struct idset *s, int64_t id, int64_t *count,
                    struct hv_err *err)
{
  if (idset_add(s, id, NULL) == HV_ENOMEM)
    return hv_err_set(err, HV_ENOMEM, "out of memory");
  if (count)
    (*count)++;
  return 0;
}

static struct loader_value v_int(int64_t x)
{
  return (struct loader_value){.kind = LV_INT, .num = x};
}

/* An integer column that is NULL when unknown (x < 0). */
static struct loader_value v_opt(int64_t x)
{
  return (struct loader_value){.kind = x < 0 ? LV_NULL : LV_INT, .num = x};
}

static struct loader_value v_text(const char *s)
{
  return (struct loader_value){.kind = s ? LV_TEXT : LV_NULL, .text = s};
}

/* A catalogue row whose id (v[0]) is new in s ("WHAT ID: duplicate id"
 * else): written by the backend, then remembered in s and counted. */
static int catalog_row(struct loader *ld, enum loader_table table,
                       const struct loader_value *v, int n, struct idset *s,
                       const char *what, int64_t *count, struct hv_err *err)
{
  int rc = duplicate(s, v[0].num, what, err);
  if (!rc)
    rc = LD(ld)->row(ld->impl, table, v, n, err);
  return rc ? rc : remember(s, v[0].num, count, err);
}

int loader_genre(struct loader *ld, int id, const char *name,
                 struct hv_err *err)
{
  if (!ld || !name)
    return hv_err_set(err, HV_EINVAL, "genre %d: missing name", id);
  const struct loader_value v[] = {v_int(id), v_text(name)};
  return catalog_row(ld, LOAD_GENRES, v, 2, &ld->genres, "genre", NULL, err);
}

int loader_movie(struct loader *ld, const struct hv_movie *m,
                 struct hv_err *err)
{
  if (!ld || !m || !m->title)
    return hv_err_set(err, HV_EINVAL, "movie %lld: missing title",
                      m ? (long long)m->id : 0LL);
  for (int i = 0; i < m->n_genres; i++)
    if (!idset_has(&ld->genres, m->genre_ids[i]))
      return hv_err_set(err, HV_EINVAL,
                        "movie %lld: unknown genre id %d (load genres first)",
                        (long long)m->id, m->genre_ids[i]);
  const struct loader_value v[] = {
      v_int(m->id), v_text(m->title), v_text(m->release_date),
      v_opt(m->release_year > 0 ? m->release_year : -1), v_text(m->imdb_url)};
  int rc = catalog_row(ld, LOAD_MOVIES, v, 5, &ld->movies, "movie",
                       &ld->n.movies, err);
  for (int i = 0; i < m->n_genres && !rc; i++) {
    const struct loader_value g[] = {v_int(m->id), v_int(m->genre_ids[i])};
    rc = LD(ld)->row(ld->impl, LOAD_MOVIE_GENRES, g, 2, err);
  }
  return rc;
}

int loader_user(struct loader *ld, const struct hv_user *u,
                struct hv_err *err)
{
  if (!ld || !u)
    return hv_err_set(err, HV_EINVAL, "missing user");
  const struct loader_value v[] = {
      v_int(u->id),          v_opt(u->raw_age),
      v_opt(u->bucketized_age), v_text(u->gender),
      v_text(u->occupation_text), v_opt(u->occupation_label),
      v_text(u->zip_code)};
  return catalog_row(ld, LOAD_USERS, v, 7, &ld->users, "user", &ld->n.users,
                     err);
}

int loader_rating(struct loader *ld, const struct hv_rating *r,
                  struct hv_err *err)
{
  if (!ld || !r)
    return hv_err_set(err, HV_EINVAL, "missing rating");
  struct hv_rating row = *r;
  if (row.rating_id <= 0)
    row.rating_id = ld->max_rating_id + 1;
  if (!idset_has(&ld->users, row.user_id))
    return hv_err_set(err, HV_EINVAL, "rating %lld: unknown user id %lld",
                      (long long)row.rating_id, (long long)row.user_id);
  if (!idset_has(&ld->movies, row.movie_id))
    return hv_err_set(err, HV_EINVAL, "rating %lld: unknown movie id %lld",
                      (long long)row.rating_id, (long long)row.movie_id);
  if (!isfinite(row.rating) || row.rating < 0.5 || row.rating > 5)
    return hv_err_set(err, HV_EINVAL,
                      "rating %lld: rating %g is outside 0.5..5",
                      (long long)row.rating_id, row.rating);
  int rc = LD(ld)->rating(ld->impl, &row, err);
  if (rc)
    return rc;
  if (row.rating_id > ld->max_rating_id)
    ld->max_rating_id = row.rating_id;
  ld->n.ratings++;
  return 0;
}

int loader_commit(struct loader *ld, const char *name, const char *source,
                  struct hv_err *err)
{
  if (!ld)
    return hv_err_set(err, HV_EINVAL, "no loader to commit");
  struct loader_times t = {.rows = hv_mono() - ld->t_begin};
  ratings_scale_of_name(name, &ld->n.scale);
  int rc = LD(ld)->commit(ld->impl, &ld->n, name, source, &t, err);
  if (ld->times)
    *ld->times = t;
  loader_free(ld);
  return rc;
}

void loader_abort(struct loader *ld)
{
  if (!ld)
    return;
  LD(ld)->abort(ld->impl);
  loader_free(ld);
}
