/*
 * sql.c - the backend-neutral half of store/sql.h: arguments, the composite
 * runs (one row, ids, collect) over a backend's run, transaction ends.
 *
 * Threads: as db.h.
 */
#include "store/sql.h"

#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- arguments -------------------------------------------------------- */

static struct sql_arg *next_arg(struct sql_args *a, enum sql_type t)
{
  assert(a->n < SQL_ARGS_MAX);
  struct sql_arg *v = &a->v[a->n++];
  memset(v, 0, sizeof(*v));
  v->type = t;
  return v;
}

void sql_arg_i64(struct sql_args *a, int64_t x)
{
  next_arg(a, SQL_INT)->i = x;
}

void sql_arg_f64(struct sql_args *a, double x)
{
  if (isnan(x))
    next_arg(a, SQL_NULL);
  else
    next_arg(a, SQL_REAL)->f = x;
}

void sql_arg_text(struct sql_args *a, const char *s)
{
  if (s)
    next_arg(a, SQL_TEXT)->s = s;
  else
    next_arg(a, SQL_NULL);
}

void sql_arg_null(struct sql_args *a)
{
  next_arg(a, SQL_NULL);
}

struct sql_args sql_argsf(const char *fmt, ...)
{
  struct sql_args a = {0};
  va_list ap;
  va_start(ap, fmt);
  for (const char *f = fmt; *f; f++) {
    if (*f == 't')
      sql_arg_text(&a, va_arg(ap, const char *));
    else if (*f == 'i')
      sql_arg_i64(&a, va_arg(ap, int64_t));
    else if (*f == 'd')
      sql_arg_i64(&a, va_arg(ap, int));
    else {
      assert(*f == 'f');
      sql_arg_f64(&a, va_arg(ap, double));
    }
  }
  va_end(ap);
  return a;
}

/* ---- columns ---------------------------------------------------------- */

char *sql_dup(const struct sql_row *r, int c, int *oom)
{
  const char *s = sql_text(r, c);
  if (!s)
    return NULL;
  char *d = strdup(s);
  if (!d)
    *oom = 1;
  return d;
}

void sql_copy(const struct sql_row *r, int c, char *buf, size_t cap)
{
  store_copy_text(buf, cap, sql_text(r, c));
}

/* ---- statements ------------------------------------------------------- */

int sql_run(struct hv_db *db, const char *sql, int flags,
            const struct sql_args *a, sql_row_fn row, void *arg,
            size_t *n_rows, const char *what, struct hv_err *err)
{
  return db->be->sql->run(db, sql, flags, a, row, arg, n_rows, NULL, what,
                          err);
}

int sql_cmd(struct hv_db *db, const char *sql, int flags,
            const struct sql_args *a, int64_t *changed, const char *what,
            struct hv_err *err)
{
  return db->be->sql->run(db, sql, flags, a, NULL, NULL, NULL, changed, what,
                          err);
}

struct row_out {
  int64_t *out;
  int k;
};

static int row_i64s(const struct sql_row *r, void *arg)
{
  const struct row_out *o = arg;
  for (int c = 0; c < o->k; c++)
    o->out[c] = sql_i64(r, c, 0);
  return 0;
}

int sql_run_row(struct hv_db *db, const char *sql, const struct sql_args *a,
                int64_t *out, int k, const char *what, struct hv_err *err)
{
  struct row_out o = {out, k};
  size_t rows = 0;
  int rc = sql_run(db, sql, 0, a, row_i64s, &o, &rows, what, err);
  if (!rc && rows != 1)
    rc = hv_err_set(err, HV_EDB, "%s: no row", what);
  return rc;
}

struct ids_out {
  int64_t *v;
  size_t n, cap;
};

static int row_id(const struct sql_row *r, void *arg)
{
  struct ids_out *o = arg;
  if (store_grow((void **)&o->v, sizeof(int64_t), &o->cap, o->n + 1))
    return HV_ENOMEM;
  o->v[o->n++] = sql_i64(r, 0, 0);
  return 0;
}

int sql_run_ids(struct hv_db *db, const char *sql, int flags,
                const struct sql_args *a, int64_t **out, size_t *n,
                const char *what, struct hv_err *err)
{
  struct ids_out o = {0};
  int rc = sql_run(db, sql, flags, a, row_id, &o, NULL, what, err);
  if (rc == HV_ENOMEM)
    hv_err_set(err, rc, "%s: out of memory", what);
  if (rc) {
    free(o.v);
    *out = NULL;
    *n = 0;
    return rc;
  }
  *out = o.v;
  *n = o.n;
  return 0;
}

struct collect {
  void *arr;
  size_t n, sz;
  sql_read_fn read;
};

static int row_collect(const struct sql_row *r, void *arg)
{
  struct collect *c = arg;
  void *el = store_append(&c->arr, &c->n, c->sz);
  int oom = !el;
  if (el)
    c->read(r, el, &oom);
  return oom ? HV_ENOMEM : 0;
}

int sql_collect(struct hv_db *db, const char *sql, const struct sql_args *a,
                size_t sz, sql_read_fn read, void (*free_arr)(void *, size_t),
                void **out, size_t *n, const char *what, struct hv_err *err)
{
  assert(sz > 0 && read);
  struct collect c = {NULL, 0, sz, read};
  *out = NULL;
  *n = 0;
  int rc = sql_run(db, sql, 0, a, row_collect, &c, NULL, what, err);
  if (rc == HV_ENOMEM)
    hv_err_set(err, rc, "%s: out of memory", what);
  if (rc) {
    if (free_arr)
      free_arr(c.arr, c.n);
    else
      free(c.arr);
    return rc;
  }
  *out = c.arr;
  *n = c.n;
  return 0;
}

int sql_is_constraint(struct hv_db *db)
{
  return db->be->sql->is_constraint(db);
}

int sql_end(struct hv_db *db, int rc, struct hv_err *err)
{
  if (!rc && !(rc = db_commit(db, err)))
    return 0;
  db_rollback(db);
  return rc;
}
