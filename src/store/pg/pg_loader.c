/*
 * pg_loader.c - the bulk import for PostgreSQL: see store/loader.h for the
 * contract and backend.h for the split with loader.c.
 *
 * Design: one write transaction (db_begin: the write lock) in which every
 * table is filled by COPY ... FROM STDIN in text format, the way pg_restore
 * and psql's \copy do: the rows are formatted into a buffer and sent in
 * blocks of PG_COPY_BLOCK bytes, so a row costs no round trip and no
 * statement. Rows come parents first (genres, movies, users, ratings); a
 * row for another table ends the running COPY and starts the next.
 * Movie-genre pairs arrive with their movie and are kept aside until the
 * movies' COPY has ended (their foreign key needs the movies). The
 * ratings' foreign keys and secondary indexes are dropped at begin and made
 * again at commit, in the same transaction (pg_deferred_* in pg_rows.c:
 * one validating join and one sort each instead of a trigger lookup and a
 * b-tree insert per row: 2M ratings in 26 s instead of 60 s); the
 * rating_id identity is moved after the largest id, so the API's next
 * rating continues from there as it does on SQLite. A failure
 * anywhere rolls all of it back, dropped indexes included.
 *
 * Threads: a loader uses its connection exclusively until commit/abort.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/catalog.h"
#include "store/pg/pg.h"
#include "util/fsutil.h"

#define PG_COPY_BLOCK (256 * 1024)

/* The COPY in progress: a catalogue table (enum loader_table), the
 * ratings, or none. */
enum { T_NONE = -1, T_RATINGS = LOAD_TABLES };

static const char *const copy_sql[] = {
    [LOAD_GENRES] = "COPY genres(id, name) FROM STDIN",
    [LOAD_MOVIES] = "COPY movies(id, title, release_date, release_year, "
                    "imdb_url) FROM STDIN",
    [LOAD_MOVIE_GENRES] = "COPY movie_genres(movie_id, genre_id) FROM STDIN",
    [LOAD_USERS] = "COPY users(id, raw_age, bucketized_age, gender, "
                   "occupation_text, occupation_label, zip_code) FROM STDIN",
    [T_RATINGS] = "COPY ratings(rating_id, user_id, movie_id, rating, "
                  "timestamp) FROM STDIN",
};

/* A growing text buffer. */
struct buf {
  char *p;
  size_t n, cap;
};

struct pg_loader {
  struct hv_db *db;
  int table;         /* the COPY in progress (T_NONE: none) */
  struct buf out;    /* rows of that COPY not sent yet */
  struct buf mg;     /* movie_genres rows, sent after the movies */
  struct pg_deferred checks; /* the ratings' keys and indexes, set aside */
  int64_t max_rating_id; /* largest rating_id sent so far */
};

static int buf_reserve(struct buf *b, size_t more)
{
  if (b->n + more <= b->cap)
    return 0;
  size_t nc = b->cap ? b->cap : PG_COPY_BLOCK + 4096;
  while (nc < b->n + more)
    nc *= 2;
  char *p = realloc(b->p, nc);
  if (!p)
    return HV_ENOMEM;
  b->p = p;
  b->cap = nc;
  return 0;
}

/* Append s as one COPY text field (NULL: \N), escaped, then sep. The
 * caller reserved room: at most 2 * strlen(s) + 3 bytes. */
static void put_text(struct buf *b, const char *s, char sep)
{
  if (!s) {
    memcpy(b->p + b->n, "\\N", 2);
    b->n += 2;
  }
  for (; s && *s; s++) {
    char c = *s, e = c == '\\' ? '\\' : c == '\t' ? 't' : c == '\n' ? 'n'
                                      : c == '\r' ? 'r' : 0;
    if (e) {
      b->p[b->n++] = '\\';
      c = e;
    }
    b->p[b->n++] = c;
  }
  b->p[b->n++] = sep;
}

/* Append an integer field (below 0 with null_neg: \N), then sep. */
static void put_i64(struct buf *b, int64_t v, int null_neg, char sep)
{
  if (null_neg && v < 0) {
    put_text(b, NULL, sep);
    return;
  }
  char tmp[24];
  int k = 0;
  uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;
  do
    tmp[k++] = (char)('0' + u % 10);
  while ((u /= 10));
  if (v < 0)
    b->p[b->n++] = '-';
  while (k)
    b->p[b->n++] = tmp[--k];
  b->p[b->n++] = sep;
}

static size_t text_room(const char *s)
{
  return (s ? 2 * strlen(s) : 0) + 3;
}

/* ---- the COPY in progress ---------------------------------------------- */

static int send_block(struct pg_loader *ld, struct hv_err *err)
{
  PGconn *c = pg_of(ld->db)->c;
  if (ld->out.n && PQputCopyData(c, ld->out.p, (int)ld->out.n) != 1)
    return pg_fail(ld->db, NULL, err, "sending rows");
  ld->out.n = 0;
  return 0;
}

/* End the running COPY (if any) and collect its result. */
static int copy_end(struct pg_loader *ld, struct hv_err *err)
{
  if (ld->table == T_NONE)
    return 0;
  PGconn *c = pg_of(ld->db)->c;
  int rc = send_block(ld, err);
  if (PQputCopyEnd(c, rc ? "aborted" : NULL) != 1 && !rc)
    rc = pg_fail(ld->db, NULL, err, "ending COPY");
  PGresult *r;
  while ((r = PQgetResult(c))) {
    if (!rc && PQresultStatus(r) != PGRES_COMMAND_OK)
      rc = pg_fail(ld->db, r, err, copy_sql[ld->table]);
    PQclear(r);
  }
  ld->table = T_NONE;
  if (rc && pg_is_constraint(ld->db))
    err->code = rc = HV_ECONFLICT;
  return rc;
}

/* Make table's COPY the running one. */
static int copy_to(struct pg_loader *ld, int table, struct hv_err *err)
{
  if (ld->table == table)
    return 0;
  if (copy_end(ld, err))
    return err->code;
  if (table != LOAD_MOVIES && ld->mg.n) { /* the movies are in: genres */
    struct buf keep = ld->out;
    ld->out = ld->mg;
    ld->mg = keep;
    ld->mg.n = 0;
    if (copy_to(ld, LOAD_MOVIE_GENRES, err) || copy_end(ld, err))
      return err->code;
  }
  if (table == T_NONE)
    return 0;
  PGresult *r = PQexec(pg_of(ld->db)->c, copy_sql[table]);
  int rc = PQresultStatus(r) == PGRES_COPY_IN
               ? 0
               : pg_fail(ld->db, r, err, copy_sql[table]);
  PQclear(r);
  if (!rc)
    ld->table = table;
  return rc;
}

/* Room for a row of at most need bytes in table's COPY. */
static int row_room(struct pg_loader *ld, int table, size_t need,
                    struct hv_err *err)
{
  if (copy_to(ld, table, err))
    return err->code;
  if (ld->out.n + need > PG_COPY_BLOCK && send_block(ld, err))
    return err->code;
  if (buf_reserve(&ld->out, need))
    return hv_err_set(err, HV_ENOMEM, "out of memory loading rows");
  return 0;
}

/* ---- begin ------------------------------------------------------------ */

static void loader_free(struct pg_loader *ld)
{
  pg_deferred_free(&ld->checks);
  free(ld->out.p);
  free(ld->mg.p);
  free(ld);
}

static void load_abort(void *impl)
{
  struct pg_loader *ld = impl;
  if (!ld)
    return;
  PGconn *c = pg_of(ld->db)->c;
  if (ld->table != T_NONE && PQputCopyEnd(c, "aborted") == 1) {
    PGresult *r;
    while ((r = PQgetResult(c)))
      PQclear(r);
  }
  db_rollback(ld->db);
  loader_free(ld);
}

static int load_begin(struct hv_db *db, const struct loader_opts *opts,
                      void **impl, struct hv_err *err)
{
  *impl = NULL;
  struct pg_loader *ld = calloc(1, sizeof(*ld));
  if (!ld)
    return hv_err_set(err, HV_ENOMEM, "out of memory");
  ld->db = db;
  ld->table = T_NONE;
  int rc = db_begin(db, err);
  if (!rc)
    rc = catalog_clear(db, opts->replace, err);
  if (!rc)
    rc = pg_deferred_drop(db, "ratings", &ld->checks, err);
  if (rc) {
    load_abort(ld);
    return rc;
  }
  *impl = ld;
  return 0;
}

/* ---- rows ------------------------------------------------------------- */

/* Append the values of a catalogue row to b as one COPY text line. The
 * caller reserved row_need(v, n) bytes. */
static void put_row(struct buf *b, const struct loader_value *v, int n)
{
  for (int i = 0; i < n; i++) {
    char sep = i + 1 < n ? '\t' : '\n';
    if (v[i].kind == LV_INT)
      put_i64(b, v[i].num, 0, sep);
    else
      put_text(b, v[i].kind == LV_TEXT ? v[i].text : NULL, sep);
  }
}

static size_t row_need(const struct loader_value *v, int n)
{
  size_t need = 0;
  for (int i = 0; i < n; i++)
    need += v[i].kind == LV_TEXT ? text_room(v[i].text) : 24;
  return need;
}

/* A catalogue row into its table's COPY; a movie's genres wait in mg
 * until the movies' COPY has ended. */
static int load_row(void *impl, enum loader_table table,
                    const struct loader_value *v, int n, struct hv_err *err)
{
  struct pg_loader *ld = impl;
  size_t need = row_need(v, n);
  if (table == LOAD_MOVIE_GENRES) {
    if (buf_reserve(&ld->mg, need))
      return hv_err_set(err, HV_ENOMEM, "out of memory loading movies");
    put_row(&ld->mg, v, n);
    return 0;
  }
  if (row_room(ld, (int)table, need, err))
    return err->code;
  put_row(&ld->out, v, n);
  return 0;
}

/* An out-of-order rating on its own, after what was sent, so that a
 * duplicate id is reported for this row (as SQLite's loader does). */
static int write_one(struct pg_loader *ld, const struct hv_rating *r,
                     struct hv_err *err)
{
  if (copy_to(ld, T_NONE, err))
    return err->code;
  struct sql_args a = sql_argsf("iiifi", r->rating_id, r->user_id,
                              r->movie_id, r->rating, r->timestamp);
  int rc = pg_cmd(ld->db,
                  "INSERT INTO ratings(rating_id, user_id, movie_id, rating,"
                  " timestamp) VALUES ($1, $2, $3, $4, $5)",
                  0, &a, NULL, "rating", err);
  if (rc && pg_is_constraint(ld->db))
    rc = hv_err_set(err, HV_ECONFLICT, "rating %lld: duplicate id",
                    (long long)r->rating_id);
  return rc;
}

static int load_rating(void *impl, const struct hv_rating *r,
                       struct hv_err *err)
{
  struct pg_loader *ld = impl;
  if (r->rating_id <= ld->max_rating_id)
    return write_one(ld, r, err);
  ld->max_rating_id = r->rating_id;
  if (row_room(ld, T_RATINGS, 128, err))
    return err->code;
  struct buf *b = &ld->out;
  put_i64(b, r->rating_id, 0, '\t');
  put_i64(b, r->user_id, 0, '\t');
  put_i64(b, r->movie_id, 0, '\t');
  double twice = r->rating * 2;
  if (twice == (double)(int64_t)twice) { /* 0.5 steps: exact in text */
    put_i64(b, (int64_t)twice / 2, 0, (int64_t)twice % 2 ? '.' : '\t');
    if ((int64_t)twice % 2)
      memcpy(b->p + b->n, "5\t", 2), b->n += 2;
  } else {
    b->n += (size_t)snprintf(b->p + b->n, 32, "%.17g\t", r->rating);
  }
  put_i64(b, r->timestamp, 0, '\n');
  return 0;
}

/* ---- commit ----------------------------------------------------------- */

static int finish_tables(struct pg_loader *ld, const struct loader_counts *n,
                         const char *name, const char *source,
                         struct hv_err *err)
{
  if (pg_deferred_restore(ld->db, "ratings", &ld->checks, err))
    return err->code;
  if (pg_exec(ld->db,
              "SELECT setval(pg_get_serial_sequence('ratings', 'rating_id'),"
              " COALESCE(MAX(rating_id), 0) + 1, false) FROM ratings",
              err))
    return err->code;
  struct sql_args a = sql_argsf("ttiiifff", name ? name : "unnamed",
                              source ? source : "", n->users, n->movies,
                              n->ratings, n->scale.min, n->scale.max,
                              n->scale.step);
  return pg_cmd(ld->db,
                "INSERT INTO datasets(name, source, imported_at, n_users, "
                "n_movies, n_ratings, rating_min, rating_max, rating_step) "
                "VALUES ($1, $2, extract(epoch from clock_timestamp()), $3, "
                "$4, $5, $6, $7, $8)",
                0, &a, NULL, "datasets", err);
}

static int load_commit(void *impl, const struct loader_counts *n,
                       const char *name, const char *source,
                       struct loader_times *t, struct hv_err *err)
{
  struct pg_loader *ld = impl;
  double t0 = hv_mono();
  int rc = copy_to(ld, T_NONE, err);
  if (!rc)
    rc = finish_tables(ld, n, name, source, err);
  double t1 = hv_mono();
  if (!rc)
    rc = db_commit(ld->db, err);
  if (rc)
    db_rollback(ld->db);
  t->indexes = t1 - t0;
  t->commit = hv_mono() - t1;
  t->rebuilt = ld->checks.n > 0;
  loader_free(ld);
  return rc;
}

const struct loader_ops pg_loader_ops = {
    .begin = load_begin, .row = load_row, .rating = load_rating,
    .commit = load_commit, .abort = load_abort};
