/*
 * copy.c - every table of one database into another: see copy.h.
 */
#include "store/copy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/backend.h"
#include "store/sql.h"

#define PROGRESS_EVERY 100000

/* Tables the copy leaves to others: blob bytes (track/artifacts.h
 * re-hashes them on their way). */
static const char *const skipped[] = {"artifact_blobs", "artifact_chunks"};

static int is_ident(const char *s)
{
  if (!*s || strlen(s) >= 64 || (*s >= '0' && *s <= '9'))
    return 0;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
          *s == '_'))
      return 0;
  return 1;
}

/* Append the names that follow kw ("CREATE TABLE ", "INSERT INTO ") in
 * the migrations, in order and once each, to names (n, cap 64). */
static int schema_names(const char *kw, char names[][64], size_t *n,
                        struct hv_err *err)
{
  size_t k = strlen(kw);
  for (int m = 0; m < sq_schema_count; m++)
    for (const char *p = sq_schema_migrations[m]; (p = strstr(p, kw));) {
      p += k;
      size_t len = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789_");
      if (len == 0 || len >= 64)
        return hv_err_set(err, HV_EINTERNAL, "schema: bad name after %s",
                          kw);
      int seen = 0;
      for (size_t i = 0; i < *n && !seen; i++)
        seen = strlen(names[i]) == len && !strncmp(names[i], p, len);
      if (!seen && *n == 64)
        return hv_err_set(err, HV_EINTERNAL, "schema: over 64 tables");
      if (!seen) {
        memcpy(names[*n], p, len);
        names[(*n)++][len] = '\0';
      }
    }
  return 0;
}

/* Rows of table (a name of the schema, checked by schema_names). */
static int count_rows(struct hv_db *db, const char *table, int64_t *n,
                      struct hv_err *err)
{
  char sql[160];
  snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM \"%s\"", table);
  return sql_run_row(db, sql, NULL, n, 1, table, err);
}

static int clear_rows(struct hv_db *db, const char *table, struct hv_err *err)
{
  char sql[160];
  snprintf(sql, sizeof(sql), "DELETE FROM \"%s\"", table);
  return sql_cmd(db, sql, 0, NULL, NULL, table, err);
}

static int in_list(const char *s, char list[][64], size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (!strcmp(list[i], s))
      return 1;
  return 0;
}

/* The columns of table in both databases, in src's order. */
static int shared_columns(struct hv_db *src, struct hv_db *dst,
                          const char *table, struct rows_cols *out,
                          struct hv_err *err)
{
  struct rows_cols a, b;
  int rc = src->be->rows->columns(src, table, &a, err);
  if (!rc)
    rc = dst->be->rows->columns(dst, table, &b, err);
  if (rc)
    return rc;
  if (a.n == 0 || b.n == 0)
    return hv_err_set(err, HV_ECORRUPT, "table %s is missing in %s", table,
                      a.n ? dst->path : src->path);
  memset(out, 0, sizeof(*out));
  for (size_t i = 0; i < a.n; i++)
    if (in_list(a.name[i], b.name, b.n)) {
      if (!is_ident(a.name[i]))
        return hv_err_set(err, HV_ECORRUPT, "table %s: odd column name",
                          table);
      memcpy(out->name[out->n++], a.name[i], 64);
    }
  return 0;
}

struct pump {
  const struct rows_ops *dst;
  void *st;
  struct copy_progress p;
  copy_progress_fn fn;
  void *ctx;
  struct hv_err *err;
};

static int pump_row(void *ctx, const char *const *v)
{
  struct pump *q = ctx;
  int rc = q->dst->insert_row(q->st, v, q->err);
  if (!rc && ++q->p.rows % PROGRESS_EVERY == 0 && q->fn)
    q->fn(q->ctx, &q->p);
  return rc;
}

/* Copy one table (dst has none of its rows) and check its count. */
static int copy_table(struct hv_db *src, struct hv_db *dst, const char *table,
                      copy_progress_fn fn, void *ctx, int64_t *rows,
                      struct hv_err *err)
{
  struct rows_cols c;
  int64_t total = 0, got = 0;
  int rc = shared_columns(src, dst, table, &c, err);
  if (rc || (rc = count_rows(src, table, &total, err)))
    return rc;
  struct pump q = {.dst = dst->be->rows, .p = {table, 0, total, 0},
                   .fn = fn, .ctx = ctx, .err = err};
  if ((rc = q.dst->insert_begin(dst, table, &c, &q.st, err)))
    return rc;
  rc = src->be->rows->each(src, table, &c, pump_row, &q, err);
  struct hv_err e2 = {0};
  int rc2 = q.dst->insert_end(q.st, rc == 0, rc ? &e2 : err);
  if (!rc)
    rc = rc2;
  if (!rc && (rc = count_rows(dst, table, &got, err)) == 0 &&
      (got != total || q.p.rows != total))
    rc = hv_err_set(err, HV_ECORRUPT,
                    "table %s: %lld rows in the source, %lld read, %lld in "
                    "the target",
                    table, (long long)total, (long long)q.p.rows,
                    (long long)got);
  if (rc)
    return rc;
  q.p.done = 1;
  if (fn)
    fn(ctx, &q.p);
  *rows += total;
  return 0;
}

/* dst holds no rows but the ones its migrations seed (then cleared). */
static int check_empty(struct hv_db *dst, char tables[][64], size_t n,
                       char seeded[][64], size_t n_seeded,
                       struct hv_err *err)
{
  for (size_t i = 0; i < n; i++) {
    int64_t k = 0;
    int seed = in_list(tables[i], seeded, n_seeded);
    int rc = count_rows(dst, tables[i], &k, err);
    if (rc)
      return rc;
    if (k > (seed ? 1 : 0))
      return hv_err_set(err, HV_ECONFLICT,
                        "%s is not empty (table %s has %lld rows); copy "
                        "into a new database or home",
                        dst->path, tables[i], (long long)k);
    if (seed && k && (rc = clear_rows(dst, tables[i], err)))
      return rc;
  }
  return 0;
}

int copy_tables(struct hv_db *src, struct hv_db *dst,
                copy_progress_fn progress, void *ctx, struct copy_counts *out,
                struct hv_err *err)
{
  if (!src || !dst)
    return store_no_db(err, "copy");
  if (db_schema_version(src) != db_schema_version(dst))
    return hv_err_set(err, HV_EVERSION,
                      "%s is schema version %d, %s %d; open the older with "
                      "this harvest first to upgrade it",
                      src->path, db_schema_version(src), dst->path,
                      db_schema_version(dst));
  char tables[64][64], seeded[64][64];
  size_t n = 0, n_seeded = 0;
  int rc = schema_names("CREATE TABLE ", tables, &n, err);
  if (!rc)
    rc = schema_names("INSERT INTO ", seeded, &n_seeded, err);
  if (!rc)
    rc = check_empty(dst, tables, n, seeded, n_seeded, err);
  struct copy_counts c = {0, 0};
  for (size_t i = 0; !rc && i < n; i++) {
    int skip = 0;
    for (size_t k = 0; k < sizeof(skipped) / sizeof(skipped[0]); k++)
      skip |= !strcmp(tables[i], skipped[k]);
    if (skip)
      continue;
    rc = copy_table(src, dst, tables[i], progress, ctx, &c.rows, err);
    c.tables++;
  }
  if (!rc)
    rc = dst->be->rows->finish(dst, err);
  if (!rc && out)
    *out = c;
  return rc;
}

/* ---- blobs the rows name ----------------------------------------------- */

struct blob_list {
  struct copy_blob *v;
  size_t n, cap;
};

static int blob_row(void *ctx, const char *const *v)
{
  struct blob_list *l = ctx;
  if (!v[0] || !v[1])
    return 0;
  if (store_grow((void **)&l->v, sizeof(*l->v), &l->cap, l->n + 1))
    return HV_ENOMEM;
  snprintf(l->v[l->n].sha256, sizeof(l->v[0].sha256), "%s", v[0]);
  l->v[l->n++].size = strtoll(v[1], NULL, 10);
  return 0;
}

static int cmp_blob(const void *a, const void *b)
{
  return strcmp(((const struct copy_blob *)a)->sha256,
                ((const struct copy_blob *)b)->sha256);
}

int copy_blobs(struct hv_db *db, struct copy_blob **out, size_t *n,
               struct hv_err *err)
{
  *out = NULL;
  *n = 0;
  if (!db)
    return store_no_db(err, "copy");
  static const char *const tables[] = {"artifacts", "model_versions"};
  struct rows_cols c = {.n = 2, .name = {"sha256", "size"}};
  struct blob_list l = {0};
  int rc = 0;
  for (size_t t = 0; !rc && t < 2; t++)
    rc = db->be->rows->each(db, tables[t], &c, blob_row, &l, err);
  if (rc == HV_ENOMEM)
    hv_err_set(err, rc, "out of memory listing artifacts");
  if (l.n)
    qsort(l.v, l.n, sizeof(*l.v), cmp_blob);
  size_t k = 0;
  for (size_t i = 0; !rc && i < l.n; i++) {
    if (k && !strcmp(l.v[k - 1].sha256, l.v[i].sha256)) {
      if (l.v[k - 1].size != l.v[i].size)
        rc = hv_err_set(err, HV_ECORRUPT,
                        "artifact %.64s is recorded with sizes %lld and "
                        "%lld",
                        l.v[i].sha256, (long long)l.v[k - 1].size,
                        (long long)l.v[i].size);
      continue;
    }
    l.v[k++] = l.v[i];
  }
  if (rc) {
    free(l.v);
    return rc;
  }
  *out = l.v;
  *n = k;
  return 0;
}
