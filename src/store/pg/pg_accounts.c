/*
 * pg_accounts.c - operator accounts and their tokens in PostgreSQL: see
 * store/accounts.h for the contract, backend.h for the table. The lookups
 * every authenticated request makes (an account by name, a token by
 * digest) are prepared once per connection.
 */
#include <stdlib.h>
#include <string.h>

#include "store/pg/pg.h"

/* Run the INSERT ... RETURNING id sql: 0 with *id, HV_ECONFLICT (err not
 * filled: the caller says which constraint) or HV_EDB. */
static int insert_id(struct hv_db *db, const char *sql,
                     const struct pg_args *a, int64_t *id, const char *what,
                     struct hv_err *err)
{
  int64_t got = 0;
  int rc = pg_run_row(db, sql, a, &got, 1, what, err);
  if (rc && pg_is_constraint(db))
    return HV_ECONFLICT;
  if (!rc && id)
    *id = got;
  return rc;
}

static int add(struct hv_db *db, const char *name, const char *role,
               const char *pw_hash, double now, int64_t *id,
               struct hv_err *err)
{
  struct pg_args a = pg_argsf("tttf", name, role, pw_hash, now);
  int rc = insert_id(db,
                     "INSERT INTO accounts(name, role, password_hash, "
                     "created_at) VALUES ($1, $2, $3, $4) RETURNING id",
                     &a, id, "account add", err);
  if (rc == HV_ECONFLICT)
    hv_err_set(err, HV_ECONFLICT, "account '%.64s' exists already (or role "
               "'%s' is not viewer, operator or admin)", name, role);
  return rc;
}

static void read_account(const PGresult *r, int i, void *el, int *oom)
{
  struct account *a = el;
  (void)oom;
  a->id = pg_i64(r, i, 0, 0);
  pg_copy(r, i, 1, a->name, sizeof(a->name));
  pg_copy(r, i, 2, a->role, sizeof(a->role));
  a->created_at = pg_f64(r, i, 3, 0);
}

struct account_out {
  struct account *a;
  char *pw_hash;
  size_t cap;
};

static int account_row(const PGresult *r, int i, void *arg)
{
  struct account_out *o = arg;
  read_account(r, i, o->a, NULL);
  const char *h = pg_text(r, i, 4);
  if (o->pw_hash && h && strlen(h) >= o->cap)
    return HV_ECORRUPT;
  if (o->pw_hash)
    pg_copy(r, i, 4, o->pw_hash, o->cap);
  return 0;
}

static int get(struct hv_db *db, const char *name, struct account *out,
               char *pw_hash, size_t cap, struct hv_err *err)
{
  static const char sql[] = "SELECT id, name, role, created_at, "
                            "password_hash FROM accounts WHERE name = $1";
  struct pg_args a = pg_argsf("t", name);
  struct account_out o = {out, pw_hash, cap};
  size_t n = 0;
  int rc = pg_run(db, sql, 1, &a, account_row, &o, &n, "account lookup", err);
  if (rc == HV_ECORRUPT)
    return hv_err_set(err, rc, "password hash of account '%.64s' is too "
                      "long", name);
  if (!rc && n == 0)
    rc = hv_err_set(err, HV_ENOTFOUND, "no account '%.64s'", name);
  return rc;
}

static int list(struct hv_db *db, struct account **out, size_t *n,
                struct hv_err *err)
{
  return pg_collect(db, "SELECT id, name, role, created_at FROM accounts "
                        "ORDER BY name", NULL, sizeof(**out), read_account,
                    NULL, (void **)out, n, "account list", err);
}

static int set(struct hv_db *db, const char *name, const char *field,
               const char *value, struct hv_err *err)
{
  const char *sql = !strcmp(field, "role")
                        ? "UPDATE accounts SET role = $1 WHERE name = $2"
                        : "UPDATE accounts SET password_hash = $1 WHERE "
                          "name = $2";
  struct pg_args a = pg_argsf("tt", value, name);
  int64_t changed = 0;
  int rc = pg_cmd(db, sql, 0, &a, &changed, "account update", err);
  if (rc && pg_is_constraint(db))
    return hv_err_set(err, HV_EINVAL, "role: '%.40s' is not viewer, "
                      "operator or admin", value);
  if (!rc && changed == 0)
    rc = hv_err_set(err, HV_ENOTFOUND, "no account '%.64s'", name);
  return rc;
}

static int token_add(struct hv_db *db, int64_t account_id,
                     const char *digest, const char *kind, const char *role,
                     const char *note, double now, double expires_at,
                     int64_t *id, struct hv_err *err)
{
  struct pg_args a = pg_argsf("ittttff", account_id, digest, kind, role,
                              note, now, expires_at);
  int rc = insert_id(db,
                     "INSERT INTO account_tokens(account_id, digest, kind, "
                     "role, note, created_at, expires_at) VALUES ($1, $2, $3,"
                     " $4, $5, $6, $7) RETURNING id",
                     &a, id, "token add", err);
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

static void read_token(const PGresult *r, int i, void *el, int *oom)
{
  struct account_token *t = el;
  (void)oom;
  t->id = pg_i64(r, i, 0, 0);
  t->account_id = pg_i64(r, i, 1, 0);
  pg_copy(r, i, 2, t->account, sizeof(t->account));
  pg_copy(r, i, 3, t->account_role, sizeof(t->account_role));
  pg_copy(r, i, 4, t->kind, sizeof(t->kind));
  pg_copy(r, i, 5, t->role, sizeof(t->role));
  pg_copy(r, i, 6, t->note, sizeof(t->note));
  t->created_at = pg_f64(r, i, 7, 0);
  t->expires_at = pg_f64(r, i, 8, 0);
  t->revoked_at = pg_f64(r, i, 9, 0);
}

static int token_row(const PGresult *r, int i, void *arg)
{
  read_token(r, i, arg, NULL);
  return 0;
}

static int token_find(struct hv_db *db, const char *digest,
                      struct account_token *out, struct hv_err *err)
{
  static const char sql[] = TOKEN_COLS "WHERE t.digest = $1";
  struct pg_args a = pg_argsf("t", digest);
  size_t n = 0;
  int rc = pg_run(db, sql, 1, &a, token_row, out, &n, "token lookup", err);
  if (!rc && n == 0)
    rc = hv_err_set(err, HV_ENOTFOUND, "token: unknown");
  return rc;
}

static int token_list(struct hv_db *db, const char *kind,
                      struct account_token **out, size_t *n,
                      struct hv_err *err)
{
  struct pg_args a = pg_argsf("t", kind);
  return pg_collect(db,
                    kind ? TOKEN_COLS "WHERE t.kind = $1 ORDER BY t.id"
                         : TOKEN_COLS "ORDER BY t.id",
                    kind ? &a : NULL, sizeof(**out), read_token, NULL,
                    (void **)out, n, "token list", err);
}

static int token_revoke(struct hv_db *db, int64_t id, double now,
                        struct hv_err *err)
{
  struct pg_args a = pg_argsf("fi", now, id);
  int64_t changed = 0;
  int rc = pg_cmd(db,
                  "UPDATE account_tokens SET revoked_at = CASE WHEN "
                  "revoked_at > 0 THEN revoked_at ELSE $1 END WHERE id = $2",
                  0, &a, &changed, "token revoke", err);
  if (!rc && changed == 0)
    rc = hv_err_set(err, HV_ENOTFOUND, "no token %lld", (long long)id);
  return rc;
}

const struct accounts_ops pg_accounts_ops = {
    .add = add, .get = get, .list = list, .set = set,
    .token_add = token_add, .token_find = token_find,
    .token_list = token_list, .token_revoke = token_revoke};
