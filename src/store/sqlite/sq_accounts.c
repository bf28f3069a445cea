/*
 * sq_accounts.c - operator accounts and their tokens in SQLite: see
 * store/accounts.h for the contract, backend.h for the table.
 */
#include <stdlib.h>
#include <string.h>

#include "store/sqlite/sq.h"

static int constraint(struct hv_db *db)
{
  return (sqlite3_errcode(sq_of(db)->h) & 0xff) == SQLITE_CONSTRAINT;
}

/* Step the prepared INSERT st (finalizing it): 0 with *id its row id,
 * HV_ECONFLICT (err not filled: the caller says which constraint) or
 * HV_EDB ("WHAT: ..."). */
static int step_insert(struct hv_db *db, sqlite3_stmt *st, int64_t *id,
                       const char *what, struct hv_err *err)
{
  int rc = sqlite3_step(st) == SQLITE_DONE ? 0
           : constraint(db)                ? HV_ECONFLICT
                                           : sq_fail(db, err, what);
  if (!rc)
    *id = sqlite3_last_insert_rowid(sq_of(db)->h);
  sqlite3_finalize(st);
  return rc;
}

/* Bind the n strings v[] to parameters first, first + 1, ... */
static void bind_texts(sqlite3_stmt *st, int first, const char *const *v,
                       int n)
{
  for (int i = 0; i < n; i++)
    sq_bind_text(st, first + i, v[i]);
}

static int add(struct hv_db *db, const char *name, const char *role,
               const char *pw_hash, double now, int64_t *id,
               struct hv_err *err)
{
  sqlite3_stmt *st = NULL;
  if (sq_prepare(db, "INSERT INTO accounts(name, role, password_hash, "
                     "created_at) VALUES (?, ?, ?, ?)", &st, err))
    return sq_code(err);
  bind_texts(st, 1, (const char *const[]){name, role, pw_hash}, 3);
  sqlite3_bind_double(st, 4, now);
  int rc = step_insert(db, st, id, "account add", err);
  if (rc == HV_ECONFLICT)
    hv_err_set(err, HV_ECONFLICT, "account '%.64s' exists already (or role "
               "'%s' is not viewer, operator or admin)", name, role);
  return rc;
}

static void account_row(sqlite3_stmt *st, int i, struct account *a)
{
  a->id = sqlite3_column_int64(st, i);
  sq_col_copy(st, i + 1, a->name, sizeof(a->name));
  sq_col_copy(st, i + 2, a->role, sizeof(a->role));
  a->created_at = sqlite3_column_double(st, i + 3);
}

static int get(struct hv_db *db, const char *name, struct account *out,
               char *pw_hash, size_t cap, struct hv_err *err)
{
  static const char sql[] = "SELECT id, name, role, created_at, "
                            "password_hash FROM accounts WHERE name = ?";
  sqlite3_stmt *st = NULL;
  if (sq_cached(db, sql, &st, err))
    return sq_code(err);
  sq_bind_text(st, 1, name);
  int s = sqlite3_step(st), rc = 0;
  if (s == SQLITE_ROW) {
    account_row(st, 0, out);
    const char *h = sq_col_text(st, 4);
    if (pw_hash && h && strlen(h) >= cap)
      rc = hv_err_set(err, HV_ECORRUPT, "password hash of account '%.64s' "
                      "is too long", name);
    else if (pw_hash)
      sq_col_copy(st, 4, pw_hash, cap);
  } else if (s == SQLITE_DONE) {
    rc = hv_err_set(err, HV_ENOTFOUND, "no account '%.64s'", name);
  } else {
    rc = sq_fail(db, err, "account lookup");
  }
  sq_release(db, st);
  return rc;
}

struct list_out {
  void **arr;
  size_t *n;
  size_t sz;
  void (*fill)(sqlite3_stmt *st, void *slot);
};

static int list_row(sqlite3_stmt *st, void *arg)
{
  struct list_out *o = arg;
  void *slot = sq_append(o->arr, o->n, o->sz);
  if (!slot)
    return HV_ENOMEM;
  o->fill(st, slot);
  return 0;
}

/* Run sql (one text parameter, or none when p is NULL) and append every
 * row through fill into *arr; frees it again on failure. */
static int list_of(struct hv_db *db, const char *sql, const char *p,
                   void **arr, size_t *n, size_t sz,
                   void (*fill)(sqlite3_stmt *, void *), const char *what,
                   struct hv_err *err)
{
  sqlite3_stmt *st = NULL;
  if (sq_prepare(db, sql, &st, err))
    return sq_code(err);
  if (p)
    sq_bind_text(st, 1, p);
  struct list_out o = {arr, n, sz, fill};
  int rc = sq_each_row(db, st, list_row, &o, NULL, what, err);
  sqlite3_finalize(st);
  if (rc == HV_ENOMEM)
    hv_err_set(err, HV_ENOMEM, "%s: out of memory", what);
  if (rc) {
    free(*arr);
    *arr = NULL;
    *n = 0;
  }
  return rc;
}

static void fill_account(sqlite3_stmt *st, void *slot)
{
  account_row(st, 0, slot);
}

static int list(struct hv_db *db, struct account **out, size_t *n,
                struct hv_err *err)
{
  return list_of(db, "SELECT id, name, role, created_at FROM accounts "
                     "ORDER BY name", NULL, (void **)out, n, sizeof(**out),
                 fill_account, "account list", err);
}

static int set(struct hv_db *db, const char *name, const char *field,
               const char *value, struct hv_err *err)
{
  const char *sql = !strcmp(field, "role")
                        ? "UPDATE accounts SET role = ? WHERE name = ?"
                        : "UPDATE accounts SET password_hash = ? WHERE "
                          "name = ?";
  sqlite3_stmt *st = NULL;
  if (sq_prepare(db, sql, &st, err))
    return sq_code(err);
  sq_bind_text(st, 1, value);
  sq_bind_text(st, 2, name);
  int s = sqlite3_step(st), rc = 0;
  if (s != SQLITE_DONE)
    rc = constraint(db) ? hv_err_set(err, HV_EINVAL, "role: '%.40s' is not "
                                     "viewer, operator or admin", value)
                        : sq_fail(db, err, "account update");
  else if (sqlite3_changes(sq_of(db)->h) == 0)
    rc = hv_err_set(err, HV_ENOTFOUND, "no account '%.64s'", name);
  sqlite3_finalize(st);
  return rc;
}

static int token_add(struct hv_db *db, int64_t account_id,
                     const char *digest, const char *kind, const char *role,
                     const char *note, double now, double expires_at,
                     int64_t *id, struct hv_err *err)
{
  sqlite3_stmt *st = NULL;
  if (sq_prepare(db, "INSERT INTO account_tokens(account_id, digest, kind, "
                     "role, note, created_at, expires_at) VALUES "
                     "(?, ?, ?, ?, ?, ?, ?)", &st, err))
    return sq_code(err);
  sqlite3_bind_int64(st, 1, account_id);
  bind_texts(st, 2, (const char *const[]){digest, kind, role, note}, 4);
  sqlite3_bind_double(st, 6, now);
  sqlite3_bind_double(st, 7, expires_at);
  int rc = step_insert(db, st, id, "token add", err);
  if (rc == HV_ECONFLICT)
    hv_err_set(err, HV_ECONFLICT, "token: not stored (unknown account %lld, "
               "bad kind or role, or a digest stored already)",
               (long long)account_id);
  return rc;
}

#define TOKEN_COLS                                                         \
  "SELECT t.id, t.account_id, a.name, a.role, t.kind, t.role, t.note, "    \
  "t.created_at, t.expires_at, t.revoked_at FROM account_tokens t JOIN "   \
  "accounts a ON a.id = t.account_id "

static void fill_token(sqlite3_stmt *st, void *slot)
{
  struct account_token *t = slot;
  t->id = sqlite3_column_int64(st, 0);
  t->account_id = sqlite3_column_int64(st, 1);
  sq_col_copy(st, 2, t->account, sizeof(t->account));
  sq_col_copy(st, 3, t->account_role, sizeof(t->account_role));
  sq_col_copy(st, 4, t->kind, sizeof(t->kind));
  sq_col_copy(st, 5, t->role, sizeof(t->role));
  sq_col_copy(st, 6, t->note, sizeof(t->note));
  t->created_at = sqlite3_column_double(st, 7);
  t->expires_at = sqlite3_column_double(st, 8);
  t->revoked_at = sqlite3_column_double(st, 9);
}

static int token_find(struct hv_db *db, const char *digest,
                      struct account_token *out, struct hv_err *err)
{
  static const char sql[] = TOKEN_COLS "WHERE t.digest = ?";
  sqlite3_stmt *st = NULL;
  if (sq_cached(db, sql, &st, err))
    return sq_code(err);
  sq_bind_text(st, 1, digest);
  int s = sqlite3_step(st), rc = 0;
  if (s == SQLITE_ROW)
    fill_token(st, out);
  else if (s == SQLITE_DONE)
    rc = hv_err_set(err, HV_ENOTFOUND, "token: unknown");
  else
    rc = sq_fail(db, err, "token lookup");
  sq_release(db, st);
  return rc;
}

static int token_list(struct hv_db *db, const char *kind,
                      struct account_token **out, size_t *n,
                      struct hv_err *err)
{
  return list_of(db,
                 kind ? TOKEN_COLS "WHERE t.kind = ? ORDER BY t.id"
                      : TOKEN_COLS "ORDER BY t.id",
                 kind, (void **)out, n, sizeof(**out), fill_token,
                 "token list", err);
}

static int token_revoke(struct hv_db *db, int64_t id, double now,
                        struct hv_err *err)
{
  sqlite3_stmt *st = NULL;
  if (sq_prepare(db, "UPDATE account_tokens SET revoked_at = CASE WHEN "
                     "revoked_at > 0 THEN revoked_at ELSE ? END WHERE id = ?",
                 &st, err))
    return sq_code(err);
  sqlite3_bind_double(st, 1, now);
  sqlite3_bind_int64(st, 2, id);
  int rc = sq_step_done(db, st, "token revoke", err);
  if (!rc && sqlite3_changes(sq_of(db)->h) == 0)
    rc = hv_err_set(err, HV_ENOTFOUND, "no token %lld", (long long)id);
  return rc;
}

const struct accounts_ops sq_accounts_ops = {
    .add = add, .get = get, .list = list, .set = set,
    .token_add = token_add, .token_find = token_find,
    .token_list = token_list, .token_revoke = token_revoke};
