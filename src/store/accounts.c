/*
 * accounts.c - operator accounts and their tokens, written once for both
 * backends over store/sql.h: argument checks, then the SQL. The lookups
 * every authenticated request makes (an account by name, a token by
 * digest) are cached per connection. See accounts.h.
 */
#include "store/accounts.h"

#include <string.h>

#include "store/db.h"
#include "store/sql.h"

/* Run the INSERT ... RETURNING id sql: 0 with *id, HV_ECONFLICT (err not
 * filled: the caller says which constraint) or HV_EDB. */
static int insert_id(struct hv_db *db, const char *sql,
                     const struct sql_args *a, int64_t *id, const char *what,
                     struct hv_err *err)
{
  int64_t got = 0;
  int rc = sql_run_row(db, sql, a, &got, 1, what, err);
  if (rc && sql_is_constraint(db))
    return HV_ECONFLICT;
  if (!rc && id)
    *id = got;
  return rc;
}

static int add(struct hv_db *db, const char *name, const char *role,
               const char *pw_hash, double now, int64_t *id,
               struct hv_err *err)
{
  struct sql_args a = sql_argsf("tttf", name, role, pw_hash, now);
  int rc = insert_id(db,
                     "INSERT INTO accounts(name, role, password_hash, "
                     "created_at) VALUES ($1, $2, $3, $4) RETURNING id",
                     &a, id, "account add", err);
  if (rc == HV_ECONFLICT)
    hv_err_set(err, HV_ECONFLICT, "account '%.64s' exists already (or role "
               "'%s' is not viewer, operator or admin)", name, role);
  return rc;
}

static void read_account(const struct sql_row *r, void *el, int *oom)
{
  struct account *a = el;
  (void)oom;
  a->id = sql_i64(r, 0, 0);
  sql_copy(r, 1, a->name, sizeof(a->name));
  sql_copy(r, 2, a->role, sizeof(a->role));
  a->created_at = sql_f64(r, 3, 0);
}

struct account_out {
  struct account *a;
  char *pw_hash;
  size_t cap;
};

static int account_row(const struct sql_row *r, void *arg)
{
  struct account_out *o = arg;
  read_account(r, o->a, NULL);
  const char *h = sql_text(r, 4);
  if (o->pw_hash && h && strlen(h) >= o->cap)
    return HV_ECORRUPT;
  if (o->pw_hash)
    sql_copy(r, 4, o->pw_hash, o->cap);
  return 0;
}

static int get(struct hv_db *db, const char *name, struct account *out,
               char *pw_hash, size_t cap, struct hv_err *err)
{
  static const char sql[] = "SELECT id, name, role, created_at, "
                            "password_hash FROM accounts WHERE name = $1";
  struct sql_args a = sql_argsf("t", name);
  struct account_out o = {out, pw_hash, cap};
  size_t n = 0;
  int rc = sql_run(db, sql, 1, &a, account_row, &o, &n, "account lookup", err);
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
  return sql_collect(db, "SELECT id, name, role, created_at FROM accounts "
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
  struct sql_args a = sql_argsf("tt", value, name);
  int64_t changed = 0;
  int rc = sql_cmd(db, sql, 0, &a, &changed, "account update", err);
  if (rc && sql_is_constraint(db))
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
  struct sql_args a = sql_argsf("ittttff", account_id, digest, kind, role,
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

static void read_token(const struct sql_row *r, void *el, int *oom)
{
  struct account_token *t = el;
  (void)oom;
  t->id = sql_i64(r, 0, 0);
  t->account_id = sql_i64(r, 1, 0);
  sql_copy(r, 2, t->account, sizeof(t->account));
  sql_copy(r, 3, t->account_role, sizeof(t->account_role));
  sql_copy(r, 4, t->kind, sizeof(t->kind));
  sql_copy(r, 5, t->role, sizeof(t->role));
  sql_copy(r, 6, t->note, sizeof(t->note));
  t->created_at = sql_f64(r, 7, 0);
  t->expires_at = sql_f64(r, 8, 0);
  t->revoked_at = sql_f64(r, 9, 0);
}

static int token_row(const struct sql_row *r, void *arg)
{
  read_token(r, arg, NULL);
  return 0;
}

static int token_find(struct hv_db *db, const char *digest,
                      struct account_token *out, struct hv_err *err)
{
  static const char sql[] = TOKEN_COLS "WHERE t.digest = $1";
  struct sql_args a = sql_argsf("t", digest);
  size_t n = 0;
  int rc = sql_run(db, sql, 1, &a, token_row, out, &n, "token lookup", err);
  if (!rc && n == 0)
    rc = hv_err_set(err, HV_ENOTFOUND, "token: unknown");
  return rc;
}

static int token_list(struct hv_db *db, const char *kind,
                      struct account_token **out, size_t *n,
                      struct hv_err *err)
{
  struct sql_args a = sql_argsf("t", kind);
  return sql_collect(db,
                    kind ? TOKEN_COLS "WHERE t.kind = $1 ORDER BY t.id"
                         : TOKEN_COLS "ORDER BY t.id",
                    kind ? &a : NULL, sizeof(**out), read_token, NULL,
                    (void **)out, n, "token list", err);
}

static int token_revoke(struct hv_db *db, int64_t id, double now,
                        struct hv_err *err)
{
  struct sql_args a = sql_argsf("fi", now, id);
  int64_t changed = 0;
  int rc = sql_cmd(db,
                  "UPDATE account_tokens SET revoked_at = CASE WHEN "
                  "revoked_at > 0 THEN revoked_at ELSE $1 END WHERE id = $2",
                  0, &a, &changed, "token revoke", err);
  if (!rc && changed == 0)
    rc = hv_err_set(err, HV_ENOTFOUND, "no token %lld", (long long)id);
  return rc;
}

/* ---- the public functions -------------------------------------------- */

static int empty(const char *s)
{
  return !s || !*s;
}

int accounts_add(struct hv_db *db, const char *name, const char *role,
                 const char *pw_hash, double now, int64_t *id,
                 struct hv_err *err)
{
  if (!db)
    return store_no_db(err, "account add");
  if (empty(name) || empty(role) || !pw_hash)
    return hv_err_set(err, HV_EINVAL, "account add: name, role and password "
                      "hash are required");
  int64_t ignored;
  return add(db, name, role, pw_hash, now,
                               id ? id : &ignored, err);
}

int accounts_get(struct hv_db *db, const char *name, struct account *out,
                 char *pw_hash, size_t cap, struct hv_err *err)
{
  if (!db)
    return store_no_db(err, "account lookup");
  if (empty(name) || !out || (pw_hash && cap == 0))
    return hv_err_set(err, HV_EINVAL, "account lookup: bad arguments");
  memset(out, 0, sizeof(*out));
  if (pw_hash)
    pw_hash[0] = '\0';
  return get(db, name, out, pw_hash, pw_hash ? cap : 0,
                               err);
}

int accounts_list(struct hv_db *db, struct account **out, size_t *n,
                  struct hv_err *err)
{
  if (!db)
    return store_no_db(err, "account list");
  if (!out || !n)
    return hv_err_set(err, HV_EINVAL, "account list: bad arguments");
  *out = NULL;
  *n = 0;
  return list(db, out, n, err);
}

int accounts_set_password(struct hv_db *db, const char *name,
                          const char *pw_hash, struct hv_err *err)
{
  if (!db)
    return store_no_db(err, "account password");
  if (empty(name) || empty(pw_hash))
    return hv_err_set(err, HV_EINVAL, "account password: bad arguments");
  return set(db, name, "password_hash", pw_hash, err);
}

int accounts_set_role(struct hv_db *db, const char *name, const char *role,
                      struct hv_err *err)
{
  if (!db)
    return store_no_db(err, "account role");
  if (empty(name) || empty(role))
    return hv_err_set(err, HV_EINVAL, "account role: bad arguments");
  return set(db, name, "role", role, err);
}

/* Inside remove's transaction: refuse the last admin, then delete. */
static int remove_locked(struct hv_db *db, const struct account *a,
                         int64_t *tokens, struct hv_err *err)
{
  int64_t admins = 0;
  struct sql_args id = sql_argsf("i", a->id);
  if (!strcmp(a->role, "admin")) {
    if (sql_run_row(db, "SELECT COUNT(*) FROM accounts WHERE role = "
                        "'admin' AND id <> $1", &id, &admins, 1,
                    "account remove", err))
      return err->code;
    if (admins == 0)
      return hv_err_set(err, HV_ECONFLICT,
                        "account '%s' is the last admin: without it no "
                        "account could manage the others; add another admin "
                        "first (harvest auth account add NAME --role admin)",
                        a->name);
  }
  if (sql_cmd(db, "DELETE FROM account_tokens WHERE account_id = $1", 0,
              &id, tokens, "account remove (tokens)", err) ||
      sql_cmd(db, "DELETE FROM accounts WHERE id = $1", 0, &id, NULL,
              "account remove", err))
    return err->code;
  return 0;
}

int accounts_remove(struct hv_db *db, const char *name, int64_t *tokens,
                    struct hv_err *err)
{
  if (!db)
    return store_no_db(err, "account remove");
  if (empty(name))
    return hv_err_set(err, HV_EINVAL, "account remove: a name is required");
  int64_t ignored = 0;
  struct account a;
  if (db_begin(db, err))
    return err->code;
  /* read inside the write transaction: no admin appears or goes between
   * the count and the delete */
  int rc = accounts_get(db, name, &a, NULL, 0, err);
  if (!rc)
    rc = remove_locked(db, &a, tokens ? tokens : &ignored, err);
  return sql_end(db, rc, err);
}

int accounts_token_add(struct hv_db *db, int64_t account_id,
                       const char *digest, const char *kind,
                       const char *role, const char *note, double now,
                       double expires_at, int64_t *id, struct hv_err *err)
{
  if (!db)
    return store_no_db(err, "token add");
  if (!digest || strlen(digest) != ACCOUNTS_DIGEST_LEN || empty(kind) ||
      empty(role))
    return hv_err_set(err, HV_EINVAL, "token add: bad arguments");
  int64_t ignored;
  return token_add(db, account_id, digest, kind, role,
                                     note ? note : "", now, expires_at,
                                     id ? id : &ignored, err);
}

int accounts_token_find(struct hv_db *db, const char *digest,
                        struct account_token *out, struct hv_err *err)
{
  if (!db)
    return store_no_db(err, "token lookup");
  if (!digest || strlen(digest) != ACCOUNTS_DIGEST_LEN || !out)
    return hv_err_set(err, HV_EINVAL, "token lookup: bad arguments");
  memset(out, 0, sizeof(*out));
  return token_find(db, digest, out, err);
}

int accounts_token_list(struct hv_db *db, const char *kind,
                        struct account_token **out, size_t *n,
                        struct hv_err *err)
{
  if (!db)
    return store_no_db(err, "token list");
  if (!out || !n)
    return hv_err_set(err, HV_EINVAL, "token list: bad arguments");
  *out = NULL;
  *n = 0;
  return token_list(db, kind, out, n, err);
}

int accounts_token_revoke(struct hv_db *db, int64_t id, double now,
                          struct hv_err *err)
{
  if (!db)
    return store_no_db(err, "token revoke");
  return token_revoke(db, id, now, err);
}
