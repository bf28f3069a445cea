/*
 * routes_users.c - /users/...: the user list and rows, live ratings, login,
 * passwords and a user's own ratings.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "data/user_json.h"
#include "serve/http/auth.h"
#include "serve/http/policy.h"
#include "serve/http/routes.h"
#include "serve/http/server.h"
#include "store/catalog.h"
#include "store/loader.h"
#include "store/ratings.h"
#include "store/users.h"
#include "util/parse.h"

#define MAX_RATINGS_PER_CALL 10000

/* The rows of the user listings and what the dataset has. */
struct users_out {
  json_t *list;
  unsigned present; /* CATALOG_UF_* (catalog_user_features) */
};

static int append_user(void *ctx, const struct catalog_user_row *u)
{
  struct users_out *o = ctx;
  json_t *j = user_row_json(u, o->present);
  return j && json_array_append_new(o->list, j) == 0 ? 0 : HV_ENOMEM;
}

/* The list without operator rights: ids only (age, gender, occupation and
 * zip code are personal data; finding 7 of issue 17). */
static int append_user_id(void *ctx, const struct catalog_user_row *u)
{
  struct users_out *o = ctx;
  json_t *j = json_pack("{s:I}", "user_id", (json_int_t)u->id);
  return j && json_array_append_new(o->list, j) == 0 ? 0 : HV_ENOMEM;
}

int routes_users(struct srv_req *req, struct srv_resp *resp,
                 struct hv_err *err)
{
  struct hv_db *c = srv_db(req, err);
  if (!c)
    return err->code;
  /* public: the credential is checked only here, to show staff more */
  int full = srv_config(req)->seed_compat ||
             policy_caller(req)->role >= AUTH_OPERATOR;
  struct users_out o = {json_array(), 0};
  int rc = o.list ? 0 : HV_ENOMEM;
  if (!rc && full)
    rc = catalog_user_features(c, &o.present, err);
  if (!rc)
    rc = catalog_users_each(c, full ? append_user : append_user_id, &o, err);
  json_t *list = o.list;
  if (rc) {
    json_decref(list);
    return rc == HV_ENOMEM ? hv_err_set(err, HV_ENOMEM, "out of memory") : rc;
  }
  return routes_json(resp, json_pack("{s:o}", "message", list), err);
}

int routes_user(struct srv_req *req, struct srv_resp *resp, struct hv_err *err)
{
  int64_t id;
  if (routes_path_int(req, 0, 0, INT64_MAX, "user_id", &id, err) ||
      policy_self(req, id, err))
    return err->code;
  struct hv_db *c = srv_db(req, err);
  if (!c)
    return err->code;
  struct users_out o = {json_array(), 0};
  int rc = o.list ? catalog_user_features(c, &o.present, err) : HV_ENOMEM;
  if (!rc)
    rc = catalog_user_get(c, id, append_user, &o, err);
  json_t *list = o.list;
  if (rc) {
    json_decref(list);
    return rc == HV_ENOMEM ? hv_err_set(err, HV_ENOMEM, "out of memory") : rc;
  }
  return routes_json(resp, list, err);
}

/* An integer field of item i: a JSON integer or a string of digits (as
 * pydantic accepts). */
static int item_int(json_t *item, size_t i, const char *key, int64_t *out,
                    struct hv_err *err)
{
  json_t *v = json_object_get(item, key);
  char what[64];
  snprintf(what, sizeof(what), "ratings[%zu].%s", i, key);
  if (!v)
    return hv_err_set(err, HV_EINVAL, "%s: field required", what);
  if (json_is_integer(v)) {
    *out = json_integer_value(v);
    if (*out < 0)
      return hv_err_set(err, HV_EINVAL, "%s: must not be negative", what);
    return 0;
  }
  if (json_is_string(v))
    return hv_parse_i64(json_string_value(v), 0, INT64_MAX, out, what, err);
  return hv_err_set(err, HV_EINVAL, "%s: expected an integer", what);
}

static int item_rating(json_t *item, size_t i, double *out,
                       struct hv_err *err)
{
  json_t *v = json_object_get(item, "user_rating");
  char what[64];
  snprintf(what, sizeof(what), "ratings[%zu].user_rating", i);
  if (!v)
    return hv_err_set(err, HV_EINVAL, "%s: field required", what);
  if (json_is_number(v))
    *out = json_number_value(v);
  else if (json_is_string(v))
    return hv_parse_f64(json_string_value(v), 0.5, 5, out, what, err);
  else
    return hv_err_set(err, HV_EINVAL, "%s: expected a number", what);
  return 0;
}

int routes_parse_ratings(const char *body, size_t len_body,
                         struct ratings_new **out, size_t *n,
                         struct hv_err *err)
{
  json_error_t je;
  json_t *j = json_loadb(body, len_body, JSON_REJECT_DUPLICATES, &je);
  if (!j)
    return hv_err_set(err, HV_EINVAL,
                      "body: invalid JSON at line %d column %d: %s", je.line,
                      je.column, je.text);
  int rc = 0;
  size_t len = json_array_size(j);
  if (!json_is_array(j))
    rc = hv_err_set(err, HV_EINVAL,
                    "body: expected a list of {\"user_id\", \"movie_id\", "
                    "\"user_rating\"}");
  else if (len == 0)
    rc = hv_err_set(err, HV_EINVAL, "body: the list is empty");
  else if (len > MAX_RATINGS_PER_CALL)
    rc = hv_err_set(err, HV_ETOOBIG, "body: %zu ratings; at most %d per call",
                    len, MAX_RATINGS_PER_CALL);
  struct ratings_new *r = rc ? NULL : calloc(len, sizeof(*r));
  if (!rc && !r)
    rc = hv_err_set(err, HV_ENOMEM, "out of memory");
  for (size_t i = 0; !rc && i < len; i++) {
    json_t *item = json_array_get(j, i);
    if (!json_is_object(item))
      rc = hv_err_set(err, HV_EINVAL, "ratings[%zu]: expected an object", i);
    else if (item_int(item, i, "user_id", &r[i].user_id, err) ||
             item_int(item, i, "movie_id", &r[i].movie_id, err) ||
             item_rating(item, i, &r[i].rating, err))
      rc = err->code;
  }
  json_decref(j);
  if (rc) {
    free(r);
    return rc;
  }
  *out = r;
  *n = len;
  return 0;
}

int routes_add_ratings(struct srv_req *req, struct srv_resp *resp,
                       struct hv_err *err)
{
  struct ratings_new *r = NULL;
  size_t n = 0;
  int64_t first = 0;
  if (routes_parse_ratings(req->body, req->body_len, &r, &n, err))
    return err->code;
  /* every rating must be the caller's own (or the caller an operator) */
  for (size_t i = 0; i < n; i++)
    if (policy_self(req, r[i].user_id, err)) {
      free(r);
      return err->code;
    }
  /* end users (and anonymous writers under --seed-compat) draw from the
   * rating quotas; operators and admins are accountable and not limited */
  const struct auth_principal *who = policy_caller(req);
  if (who->role < AUTH_OPERATOR &&
      auth_quota_ratings(srv_auth(req), req->ip,
                         who->role == AUTH_USER ? who->uid : -1, n,
                         &resp->retry_after, err)) {
    free(r);
    return err->code;
  }
  struct hv_db *c = srv_db(req, err);
  int rc = c ? ratings_insert(c, r, n, (int64_t)time(NULL), &first, err)
             : err->code;
  free(r);
  if (rc)
    return rc;
  char msg[64];
  snprintf(msg, sizeof(msg), "added %zu rating%s", n, n == 1 ? "" : "s");
  return routes_json(resp,
                     json_pack("{s:s, s:I, s:I}", "message", msg, "inserted",
                               (json_int_t)n, "first_rating_id",
                               (json_int_t)first),
                     err);
}

/* The user id in a form field (required). */
static int form_user(struct srv_req *req, const char *field, int64_t *uid,
                     struct hv_err *err)
{
  const char *v = srv_form(req, field, err);
  if (!v)
    return err->code ? err->code
                     : hv_err_set(err, HV_EINVAL, "%s: field required",
                                  field);
  return hv_parse_i64(v, 0, INT64_MAX, uid, field, err);
}

int routes_token(struct srv_req *req, struct srv_resp *resp,
                 struct hv_err *err)
{
  const char *user = srv_form(req, "username", err);
  if (err->code)
    return err->code;
  /* The user's bucket is keyed by the id the username parses to ("6",
   * "06", "+6" are one user); a username that is no id still draws from
   * the address's bucket, and is refused below. */
  int64_t uid = -1;
  struct hv_err ignored = {0};
  if (user && hv_parse_i64(user, 0, INT64_MAX, &uid, "username", &ignored))
    uid = -1;
  if (auth_rate_take(srv_auth(req), req->ip, uid, err)) {
    resp->retry_after = 60;
    return err->code;
  }
  const char *pw = srv_form(req, "password", err);
  if (form_user(req, "username", &uid, err))
    return err->code;
  if (!pw)
    return hv_err_set(err, HV_EINVAL, "password: field required");
  struct hv_db *c = srv_db(req, err);
  if (!c)
    return err->code;
  char hash[AUTH_HASH_MAX] = "";
  int rc = users_password_get(c, uid, hash, sizeof(hash), err);
  if (rc && rc != HV_ENOTFOUND)
    return rc;
  if (auth_check_password(srv_auth(req), hash, pw, err))
    return err->code;
  char *token = NULL;
  if (auth_token_issue_pw(srv_auth(req), uid, hash, &token, err))
    return err->code;
  rc = routes_json(resp,
                   json_pack("{s:s, s:s}", "access_token", token, "token_type",
                             "bearer"),
                   err);
  free(token);
  return rc;
}

/* Whose password: the form's username, or the token's own user; the
 * route's policy (self, admin for others) decides whether it may. */
static int password_target(struct srv_req *req, int64_t *uid,
                           struct hv_err *err)
{
  const char *named = srv_form(req, "username", err);
  if (err->code)
    return err->code;
  if (named) {
    if (hv_parse_i64(named, 0, INT64_MAX, uid, "username", err))
      return err->code;
  } else if (policy_user(req, uid, err)) {
    return err->code == HV_EFORBIDDEN
               ? hv_err_set(err, HV_EINVAL, "username: field required")
               : err->code;
  }
  return policy_self(req, *uid, err);
}

int routes_update_password(struct srv_req *req, struct srv_resp *resp,
                           struct hv_err *err)
{
  int64_t uid;
  if (password_target(req, &uid, err))
    return err->code;
  const char *pw = srv_form(req, "new_password", err);
  if (!pw && !err->code)
    pw = srv_form(req, "password", err);
  if (!pw)
    return err->code ? err->code
                     : hv_err_set(err, HV_EINVAL,
                                  "new_password: field required");
  if (auth_rate_take_pwchange(srv_auth(req), uid, err)) {
    resp->retry_after = 60;
    return err->code;
  }
  char hash[AUTH_HASH_MAX];
  struct hv_db *c = srv_db(req, err);
  if (!c || auth_hash_password(srv_auth(req), pw, hash, err) ||
      users_password_set(c, uid, hash, err))
    return err->code;
  return routes_message(resp, "password updated", err);
}

static int append_rating(void *ctx, const struct ratings_row *r)
{
  json_t *j = json_pack("{s:I, s:I, s:s, s:f, s:I, s:s}", "user_id",
                        (json_int_t)r->user_id, "movie_id",
                        (json_int_t)r->movie_id, "movie_title", r->title,
                        "user_rating", r->rating, "timestamp",
                        (json_int_t)r->timestamp, "source", r->source);
  return j && json_array_append_new(ctx, j) == 0 ? 0 : HV_ENOMEM;
}

int routes_secure_ratings(struct srv_req *req, struct srv_resp *resp,
                          struct hv_err *err)
{
  int64_t uid;
  if (policy_user(req, &uid, err))
    return err->code;
  struct hv_db *c = srv_db(req, err);
  if (!c)
    return err->code;
  json_t *list = json_array();
  int rc = list ? ratings_user_each(c, uid, append_rating, list, err)
                : HV_ENOMEM;
  if (rc) {
    json_decref(list);
    return rc == HV_ENOMEM ? hv_err_set(err, HV_ENOMEM, "out of memory") : rc;
  }
  return routes_json(resp, list, err);
}

/* One optional field of a new user's body: a string or NULL (absent or
 * null); HV_EINVAL for another type. */
static int opt_string(json_t *body, const char *key, const char **out,
                      struct hv_err *err)
{
  json_t *v = json_object_get(body, key);
  *out = NULL;
  if (!v || json_is_null(v))
    return 0;
  if (!json_is_string(v))
    return hv_err_set(err, HV_EINVAL, "%s: expected a string", key);
  *out = json_string_value(v);
  return 0;
}

/* An optional integer field into *out (dflt when absent or null). */
static int opt_integer(json_t *body, const char *key, int64_t lo, int64_t hi,
                       int64_t dflt, int64_t *out, struct hv_err *err)
{
  json_t *v = json_object_get(body, key);
  *out = dflt;
  if (!v || json_is_null(v))
    return 0;
  if (!json_is_integer(v) || json_integer_value(v) < lo ||
      json_integer_value(v) > hi)
    return hv_err_set(err, HV_EINVAL, "%s: expected an integer in %lld..%lld",
                      key, (long long)lo, (long long)hi);
  *out = json_integer_value(v);
  return 0;
}

/* The new user in body (every field optional; unknown fields refused). */
static int parse_new_user(json_t *body, struct hv_user *u, struct hv_err *err)
{
  static const char *const keys[] = {"user_id", "age", "gender",
                                     "occupation", "zip_code"};
  if (!json_is_object(body))
    return hv_err_set(err, HV_EINVAL,
                      "body: expected a JSON object {\"user_id\", \"age\", "
                      "\"gender\", \"occupation\", \"zip_code\"} (all "
                      "optional)");
  const char *k;
  json_t *v;
  json_object_foreach(body, k, v)
  {
    size_t i = 0;
    while (i < 5 && strcmp(k, keys[i]))
      i++;
    if (i == 5)
      return hv_err_set(err, HV_EINVAL, "body: unknown field '%.64s'", k);
  }
  int64_t id, age;
  *u = (struct hv_user){0};
  if (opt_integer(body, "user_id", 1, INT32_MAX, 0, &id, err) ||
      opt_integer(body, "age", 1, 120, -1, &age, err) ||
      opt_string(body, "gender", &u->gender, err) ||
      opt_string(body, "occupation", &u->occupation_text, err) ||
      opt_string(body, "zip_code", &u->zip_code, err))
    return err->code;
  u->id = id;
  u->raw_age = (int)age;
  u->bucketized_age = u->occupation_label = -1;
  return 0;
}

int routes_user_add(struct srv_req *req, struct srv_resp *resp,
                    struct hv_err *err)
{
  json_error_t je;
  json_t *body = json_loadb(req->body ? req->body : "", req->body_len,
                            JSON_REJECT_DUPLICATES, &je);
  if (!body)
    return hv_err_set(err, HV_EINVAL, "body: %s (line %d, column %d)",
                      je.text, je.line, je.column);
  struct hv_user u;
  int64_t id = 0;
  struct hv_db *c = NULL;
  int rc = parse_new_user(body, &u, err);
  if (!rc)
    rc = (c = srv_db(req, err)) ? catalog_user_add(c, &u, &id, err)
                                : err->code;
  json_decref(body);
  if (rc)
    return rc;
  char msg[64];
  snprintf(msg, sizeof(msg), "user %lld added", (long long)id);
  resp->status = 201;
  return routes_json(resp,
                     json_pack("{s:s, s:I}", "message", msg, "user_id",
                               (json_int_t)id),
                     err);
}
