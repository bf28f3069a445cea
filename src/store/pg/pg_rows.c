/*
 * pg_rows.c - whole tables of a PostgreSQL database, for store/copy.c:
 * column lists from the catalogue, rows as text (PostgreSQL prints doubles
 * exactly since version 12) through a cursor in identity-column order,
 * and COPY ... FROM STDIN as the bulk path; identity sequences moved past
 * the copied ids at the end.
 *
 * A table's foreign keys and non-unique indexes are dropped before its
 * COPY and made again after it, in the copy's transaction (pg_deferred_*,
 * shared with the bulk loader): checked per row they cost a trigger lookup
 * and a b-tree insert a row (2M ratings copied at 14k rows/s); made again
 * they cost a sort per index and one validating join per key, and a row
 * that breaks one still fails the copy, all of it rolled back.
 *
 * Threads: as pg.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/pg/pg.h"

#define SQL_CAP (ROWS_MAX_COLS * 70 + 256)

static int col_row(const PGresult *r, int i, void *arg)
{
  struct rows_cols *c = arg;
  if (c->n == ROWS_MAX_COLS)
    return HV_EINVAL;
  snprintf(c->name[c->n++], sizeof(c->name[0]), "%s", pg_text(r, i, 0));
  return 0;
}

static int pg_rows_columns(struct hv_db *db, const char *table,
                           struct rows_cols *out, struct hv_err *err)
{
  memset(out, 0, sizeof(*out));
  struct sql_args a = sql_argsf("t", table);
  int rc = pg_run(db,
                  "SELECT column_name FROM information_schema.columns "
                  "WHERE table_schema = current_schema() AND table_name = "
                  "$1 ORDER BY ordinal_position",
                  0, &a, col_row, out, NULL, table, err);
  if (rc == HV_EINVAL)
    return hv_err_set(err, rc, "table %s has over %d columns", table,
                      ROWS_MAX_COLS);
  return rc;
}

static int name_row(const PGresult *r, int i, void *arg)
{
  (void)i;
  snprintf(arg, 64, "%s", pg_text(r, 0, 0));
  return 0;
}

/* The table's identity column (its insertion order) into col, "" when it
 * has none. */
static int identity_col(struct hv_db *db, const char *table, char col[64],
                        struct hv_err *err)
{
  col[0] = '\0';
  struct sql_args a = sql_argsf("t", table);
  return pg_run(db,
                "SELECT column_name FROM information_schema.columns WHERE "
                "table_schema = current_schema() AND table_name = $1 AND "
                "is_identity = 'YES' ORDER BY identity_generation = "
                "'ALWAYS' DESC, ordinal_position LIMIT 1",
                0, &a, name_row, col, NULL, table, err);
}

static void col_list(const struct rows_cols *c, char *buf, size_t cap,
                     size_t *len)
{
  for (size_t i = 0; i < c->n; i++)
    *len += (size_t)snprintf(buf + *len, cap - *len, "%s\"%s\"",
                             i ? ", " : "", c->name[i]);
}

struct each_ctx {
  size_t n;
  rows_fn fn;
  void *ctx;
};

static int each_row(const PGresult *r, int i, void *arg)
{
  struct each_ctx *e = arg;
  const char *v[ROWS_MAX_COLS];
  for (size_t k = 0; k < e->n; k++)
    v[k] = pg_text(r, i, (int)k);
  return e->fn(e->ctx, v);
}

static int pg_rows_each(struct hv_db *db, const char *table,
                        const struct rows_cols *c, rows_fn fn, void *ctx,
                        struct hv_err *err)
{
  char id[64], sql[SQL_CAP];
  if (identity_col(db, table, id, err))
    return HV_EDB;
  size_t len = (size_t)snprintf(sql, sizeof(sql), "SELECT ");
  col_list(c, sql, sizeof(sql), &len);
  len += (size_t)snprintf(sql + len, sizeof(sql) - len, " FROM \"%s\"",
                          table);
  if (id[0])
    snprintf(sql + len, sizeof(sql) - len, " ORDER BY \"%s\"", id);
  struct each_ctx e = {c->n, fn, ctx};
  return pg_run_cursor(db, sql, NULL, each_row, &e, table, err);
}

/* ---- secondary checks set aside (pg.h) ---------------------------------- */

struct deferred_list {
  struct pg_deferred *d;
  char *drop; /* the DROP statements, ';'-separated */
  size_t len, cap;
};

static int deferred_row(const PGresult *r, int i, void *arg)
{
  struct deferred_list *l = arg;
  const char *drop = pg_text(r, i, 0), *make = pg_text(r, i, 1);
  char **p = realloc(l->d->sql, (size_t)(l->d->n + 1) * sizeof(*p));
  if (!p)
    return HV_ENOMEM;
  l->d->sql = p;
  if (!(p[l->d->n] = strdup(make)))
    return HV_ENOMEM;
  l->d->n++;
  size_t k = strlen(drop);
  if (store_grow((void **)&l->drop, 1, &l->cap, l->len + k + 2))
    return HV_ENOMEM;
  memcpy(l->drop + l->len, drop, k);
  l->len += k;
  l->drop[l->len++] = ';';
  l->drop[l->len] = '\0';
  return 0;
}

int pg_deferred_drop(struct hv_db *db, const char *table,
                     struct pg_deferred *d, struct hv_err *err)
{
  memset(d, 0, sizeof(*d));
  struct deferred_list l = {d, NULL, 0, 0};
  struct sql_args a = sql_argsf("t", table);
  /* indexes (kind 0) before foreign keys (1): the order they are made in */
  int rc = pg_run(db,
                  "SELECT format('ALTER TABLE %I DROP CONSTRAINT %I', "
                  "$1::text, conname), format('ALTER TABLE %I ADD "
                  "CONSTRAINT %I %s', $1::text, conname, "
                  "pg_get_constraintdef(oid)), 1 AS kind FROM pg_constraint "
                  "WHERE conrelid = $1::text::regclass AND contype = 'f' "
                  "UNION ALL SELECT format('DROP INDEX %I', i.relname), "
                  "pg_get_indexdef(i.oid), 0 FROM pg_index x JOIN pg_class i "
                  "ON i.oid = x.indexrelid WHERE x.indrelid = "
                  "$1::text::regclass AND NOT x.indisunique ORDER BY 3, 2",
                  0, &a, deferred_row, &l, NULL, table, err);
  if (rc == HV_ENOMEM)
    hv_err_set(err, rc, "out of memory listing the indexes of %s", table);
  if (!rc && l.len)
    rc = pg_exec(db, l.drop, err);
  free(l.drop);
  return rc;
}

int pg_deferred_restore(struct hv_db *db, const char *table,
                        struct pg_deferred *d, struct hv_err *err)
{
  for (int i = 0; i < d->n; i++)
    if (pg_exec(db, d->sql[i], err)) {
      if (!pg_is_constraint(db))
        return HV_EDB;
      hv_err_prefix(err, "table %s: its rows break a constraint checked "
                         "after the bulk insert",
                    table);
      if (err)
        err->code = HV_ECORRUPT;
      return HV_ECORRUPT;
    }
  return 0;
}

void pg_deferred_free(struct pg_deferred *d)
{
  for (int i = 0; d && i < d->n; i++)
    free(d->sql[i]);
  if (d)
    free(d->sql);
}

/* A COPY in progress: the line being built and the table's foreign keys
 * and secondary indexes set aside until it ends. */
struct pg_insert {
  struct hv_db *db;
  size_t n;
  char *line;
  size_t cap;
  char table[64];
  struct pg_deferred d;
};

static int pg_rows_insert_begin(struct hv_db *db, const char *table,
                                const struct rows_cols *c, void **out,
                                struct hv_err *err)
{
  char sql[SQL_CAP];
  size_t len = (size_t)snprintf(sql, sizeof(sql), "COPY \"%s\"(", table);
  col_list(c, sql, sizeof(sql), &len);
  snprintf(sql + len, sizeof(sql) - len, ") FROM STDIN");
  struct pg_insert *s = calloc(1, sizeof(*s));
  if (!s)
    return hv_err_set(err, HV_ENOMEM, "out of memory copying %s", table);
  if (pg_deferred_drop(db, table, &s->d, err)) {
    pg_deferred_free(&s->d);
    free(s);
    return err ? err->code : HV_EDB;
  }
  PGresult *r = PQexec(pg_of(db)->c, sql);
  if (PQresultStatus(r) != PGRES_COPY_IN) {
    int rc = pg_fail(db, r, err, table);
    PQclear(r);
    pg_deferred_free(&s->d);
    free(s);
    return rc;
  }
  PQclear(r);
  s->db = db;
  s->n = c->n;
  snprintf(s->table, sizeof(s->table), "%s", table);
  *out = s;
  return 0;
}

/* Append v to the line, escaped for COPY's text format. */
static int put_value(struct pg_insert *s, size_t *len, const char *v)
{
  size_t need = *len + (v ? 2 * strlen(v) : 2) + 2;
  if (store_grow((void **)&s->line, 1, &s->cap, need))
    return HV_ENOMEM;
  if (!v) {
    memcpy(s->line + *len, "\\N", 2);
    *len += 2;
    return 0;
  }
  for (const char *p = v; *p; p++) {
    char e = *p == '\\' ? '\\' : *p == '\t' ? 't' : *p == '\n' ? 'n'
             : *p == '\r' ? 'r' : 0;
    if (e) {
      s->line[(*len)++] = '\\';
      s->line[(*len)++] = e;
    } else {
      s->line[(*len)++] = *p;
    }
  }
  return 0;
}

static int pg_rows_insert_row(void *st, const char *const *v,
                              struct hv_err *err)
{
  struct pg_insert *s = st;
  size_t len = 0;
  for (size_t i = 0; i < s->n; i++) {
    if (put_value(s, &len, v[i]))
      return hv_err_set(err, HV_ENOMEM, "out of memory copying %s",
                        s->table);
    s->line[len++] = i + 1 < s->n ? '\t' : '\n';
  }
  if (PQputCopyData(pg_of(s->db)->c, s->line, (int)len) != 1)
    return pg_fail(s->db, NULL, err, s->table);
  return 0;
}

static int pg_rows_insert_end(void *st, int ok, struct hv_err *err)
{
  struct pg_insert *s = st;
  PGconn *c = pg_of(s->db)->c;
  int rc = 0;
  if (PQputCopyEnd(c, ok ? NULL : "abandoned") != 1)
    rc = pg_fail(s->db, NULL, err, s->table);
  PGresult *r;
  while ((r = PQgetResult(c)) != NULL) {
    if (!rc && ok && PQresultStatus(r) != PGRES_COMMAND_OK)
      rc = pg_fail(s->db, r, err, s->table);
    PQclear(r);
  }
  if (!rc && ok)
    rc = pg_deferred_restore(s->db, s->table, &s->d, err);
  pg_deferred_free(&s->d);
  free(s->line);
  free(s);
  return rc;
}

struct ident {
  char table[64], col[64];
};

static int ident_row(const PGresult *r, int i, void *arg)
{
  struct {
    struct ident v[64];
    size_t n;
  } *o = arg;
  if (o->n == 64)
    return HV_EINVAL;
  snprintf(o->v[o->n].table, 64, "%s", pg_text(r, i, 0));
  snprintf(o->v[o->n].col, 64, "%s", pg_text(r, i, 1));
  o->n++;
  return 0;
}

/* Every identity sequence continues after the largest copied id. */
static int pg_rows_finish(struct hv_db *db, struct hv_err *err)
{
  struct {
    struct ident v[64];
    size_t n;
  } o = {.n = 0};
  int rc = pg_run(db,
                  "SELECT table_name, column_name FROM "
                  "information_schema.columns WHERE table_schema = "
                  "current_schema() AND is_identity = 'YES'",
                  0, NULL, ident_row, &o, NULL, "identity columns", err);
  if (rc == HV_EINVAL)
    rc = hv_err_set(err, HV_EINVAL, "over 64 identity columns");
  for (size_t i = 0; !rc && i < o.n; i++) {
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT setval(pg_get_serial_sequence('\"%s\"', '%s'), "
             "COALESCE((SELECT MAX(\"%s\") FROM \"%s\"), 0) + 1, false)",
             o.v[i].table, o.v[i].col, o.v[i].col, o.v[i].table);
    rc = pg_exec(db, sql, err);
  }
  return rc;
}

const struct rows_ops pg_rows_ops = {
    .columns = pg_rows_columns, .each = pg_rows_each,
    .insert_begin = pg_rows_insert_begin, .insert_row = pg_rows_insert_row,
    .insert_end = pg_rows_insert_end, .finish = pg_rows_finish};
