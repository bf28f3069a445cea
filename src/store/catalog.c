/*
 * catalog.c - the catalogue, backend-neutral: argument checks, the column
 * loads built on the backend's row reads, names and the MovieLens rules
 * (age buckets, gender codes). See catalog.h; the SQL is in
 * sqlite/sq_catalog.c.
 */
#include "store/catalog.h"

#include <stdlib.h>
#include <string.h>

#include "store/backend.h"

#define CAT(db) ((db)->be->catalog)

int catalog_users_each(struct hv_db *db, catalog_user_fn fn, void *ctx,
                       struct hv_err *err)
{
  return db && fn ? CAT(db)->users(db, NULL, fn, ctx, NULL, err)
                  : hv_err_set(err, HV_EINVAL, "users: no database or "
                                               "callback");
}

int catalog_user_get(struct hv_db *db, int64_t id, catalog_user_fn fn,
                     void *ctx, struct hv_err *err)
{
  if (!db || !fn)
    return hv_err_set(err, HV_EINVAL, "users: no database or callback");
  size_t n = 0;
  int rc = CAT(db)->users(db, &id, fn, ctx, &n, err);
  if (!rc && n == 0)
    return hv_err_set(err, HV_ENOTFOUND, "unknown user %lld", (long long)id);
  return rc;
}

/* All movies (n < 0) or n random ones. */
static int movies(struct hv_db *db, int64_t n, catalog_movie_fn fn, void *ctx,
                  struct hv_err *err)
{
  return db && fn ? CAT(db)->movies(db, n, fn, ctx, err)
                  : hv_err_set(err, HV_EINVAL, "movies: no database or "
                                               "callback");
}

int catalog_movies_each(struct hv_db *db, catalog_movie_fn fn, void *ctx,
                        struct hv_err *err)
{
  return movies(db, -1, fn, ctx, err);
}

int catalog_movies_random(struct hv_db *db, int64_t n, catalog_movie_fn fn,
                          void *ctx, struct hv_err *err)
{
  if (n < 0)
    return hv_err_set(err, HV_EINVAL, "n: %lld is negative", (long long)n);
  return movies(db, n, fn, ctx, err);
}

int catalog_titles_each(struct hv_db *db, catalog_title_fn fn, void *ctx,
                        struct hv_err *err)
{
  return db && fn ? CAT(db)->titles(db, fn, ctx, err)
                  : hv_err_set(err, HV_EINVAL, "titles: no database or "
                                               "callback");
}

int catalog_movie_title(struct hv_db *db, int64_t id, char *buf, size_t cap,
                        struct hv_err *err)
{
  if (!db || !buf || cap == 0)
    return hv_err_set(err, HV_EINVAL, "movie title: bad arguments");
  buf[0] = '\0';
  return CAT(db)->title(db, id, buf, cap, err);
}

int catalog_user_exists(struct hv_db *db, int64_t id, struct hv_err *err)
{
  return db ? CAT(db)->exists(db, CATALOG_USERS, id, err)
            : store_no_db(err, "users");
}

int catalog_movie_exists(struct hv_db *db, int64_t id, struct hv_err *err)
{
  return db ? CAT(db)->exists(db, CATALOG_MOVIES, id, err)
            : store_no_db(err, "movies");
}

int catalog_ids(struct hv_db *db, enum catalog_table table, int64_t **ids,
                size_t *n, struct hv_err *err)
{
  *ids = NULL;
  *n = 0;
  if (!db || (table != CATALOG_USERS && table != CATALOG_MOVIES &&
              table != CATALOG_GENRES))
    return hv_err_set(err, HV_EINVAL, "ids: no database or not a table of "
                                      "ids");
  return CAT(db)->ids(db, table, ids, n, err);
}

/* ---- column loads ----------------------------------------------------- */

void catalog_users_free(struct catalog_users *u)
{
  if (!u)
    return;
  HV_FREE_ALL(u->id, u->raw_age, u->age_bucket, u->gender, u->occupation);
  memset(u, 0, sizeof(*u));
}

struct users_acc {
  struct catalog_users *u;
  size_t cap;
};

static int user_append(void *ctx, const struct catalog_user_row *r)
{
  static const size_t size[] = {sizeof(int64_t), sizeof(int), sizeof(int),
                                sizeof(int), sizeof(int)};
  struct users_acc *a = ctx;
  struct catalog_users *u = a->u;
  void **const cols[] = {(void **)&u->id, (void **)&u->raw_age,
                         (void **)&u->age_bucket, (void **)&u->gender,
                         (void **)&u->occupation};
  if (mem_cols_room(cols, size, 5, u->n, &a->cap, 1024))
    return HV_ENOMEM;
  size_t i = u->n++;
  u->id[i] = r->id;
  u->raw_age[i] = r->raw_age;
  u->age_bucket[i] = r->bucketized_age;
  u->gender[i] = catalog_gender_code(r->gender);
  u->occupation[i] = r->occupation_label;
  return 0;
}

int catalog_load_users(struct hv_db *db, struct catalog_users *out,
                       struct hv_err *err)
{
  memset(out, 0, sizeof(*out));
  if (!db)
    return store_no_db(err, "users");
  struct users_acc a = {out, 0};
  int rc = CAT(db)->users(db, NULL, user_append, &a, NULL, err);
  if (rc == HV_ENOMEM)
    return hv_err_set(err, HV_ENOMEM, "users: out of memory");
  return rc;
}

void catalog_movies_free(struct catalog_movies *m)
{
  if (!m)
    return;
  HV_FREE_ALL(m->id, m->year, m->genre_off, m->genre_ids);
  memset(m, 0, sizeof(*m));
}

int catalog_load_movies(struct hv_db *db, struct catalog_movies *out,
                        struct hv_err *err)
{
  memset(out, 0, sizeof(*out));
  return db ? CAT(db)->load_movies(db, out, err) : store_no_db(err, "movies");
}

/* ---- names ------------------------------------------------------------ */

void catalog_names_free(struct catalog_names *nm)
{
  if (!nm)
    return;
  for (size_t i = 0; i < nm->n; i++)
    free(nm->name[i]);
  free(nm->code);
  free(nm->name);
  memset(nm, 0, sizeof(*nm));
}

struct names_acc {
  struct catalog_names *nm;
  size_t cap;
};

static int name_append(void *ctx, int code, const char *name)
{
  struct names_acc *a = ctx;
  struct catalog_names *nm = a->nm;
  static const size_t size[] = {sizeof(int), sizeof(char *)};
  void **const cols[] = {(void **)&nm->code, (void **)&nm->name};
  if (mem_cols_room(cols, size, 2, nm->n, &a->cap, 32))
    return HV_ENOMEM;
  char *s = strdup(name);
  if (!s)
    return HV_ENOMEM;
  nm->code[nm->n] = code;
  nm->name[nm->n++] = s;
  return 0;
}

int catalog_names(struct hv_db *db, enum catalog_table table,
                  struct catalog_names *out, struct hv_err *err)
{
  memset(out, 0, sizeof(*out));
  if (!db || (table != CATALOG_GENRES && table != CATALOG_OCCUPATIONS))
    return hv_err_set(err, HV_EINVAL, "names: no database or unknown kind");
  struct names_acc a = {out, 0};
  int rc = CAT(db)->names(db, table, name_append, &a, err);
  if (rc == HV_ENOMEM)
    return hv_err_set(err, HV_ENOMEM, "names: out of memory");
  return rc;
}

const char *catalog_name_of(const struct catalog_names *nm, int code)
{
  if (!nm)
    return NULL;
  size_t lo = 0, hi = nm->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (nm->code[mid] < code)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < nm->n && nm->code[lo] == code ? nm->name[lo] : NULL;
}

/* ---- MovieLens rules -------------------------------------------------- */

int catalog_age_bucket(int raw_age)
{
  static const int edges[] = {18, 25, 35, 45, 50, 56};
  int bucket = 1;
  for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++)
    if (raw_age >= edges[i])
      bucket = edges[i];
  return bucket;
}

int catalog_gender_code(const char *g)
{
  if (!g)
    return CATALOG_GENDER_UNKNOWN;
  if (g[0] == 'M' || g[0] == 'm')
    return CATALOG_GENDER_M;
  if (g[0] == 'F' || g[0] == 'f')
    return CATALOG_GENDER_F;
  return CATALOG_GENDER_UNKNOWN;
}
