/*
 * fuzz_http_body.c - libFuzzer target: the JSON bodies of the HTTP routes,
 * without a server: the add_user_rating list (routes_parse_ratings) and the
 * JSON form of the login and password routes (srv_form_json, then the
 * username parsed as routes_token parses it).
 *
 * Input: the request body, given to both parsers. A ratings list that
 * parses has 1..10000 items with ids >= 0 and ratings the route accepts;
 * form fields are NUL-terminated strings of at most 4096 bytes.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "serve/http/routes.h"
#include "store/ratings.h"
#include "util/parse.h"
#include "fuzz_util.h"

static void ratings(const char *body, size_t len)
{
  struct ratings_new *r = NULL;
  size_t n = 0;
  struct hv_err err = {0};
  if (routes_parse_ratings(body, len, &r, &n, &err)) {
    if (r || !err.msg[0])
      abort();
    return;
  }
  if (n < 1 || n > 10000)
    abort();
  for (size_t i = 0; i < n; i++)
    if (r[i].user_id < 0 || r[i].movie_id < 0 || !isfinite(r[i].rating))
      abort();
  free(r);
}

static void form(const char *body, size_t len)
{
  struct srv_req req;
  struct hv_err err = {0};
  memset(&req, 0, sizeof(req));
  req.body = body;
  req.body_len = len;
  int rc = srv_form_json(&req, &err);
  if (req.n_form < 0 || req.n_form > SRV_FORM_MAX)
    abort();
  for (int i = 0; i < req.n_form; i++) {
    if (!req.form_key[i] || !req.form_val[i] ||
        strlen(req.form_val[i]) > 4096)
      abort();
    int64_t uid;
    if (!rc && !strcmp(req.form_key[i], "username") &&
        hv_parse_i64(req.form_val[i], 0, INT64_MAX, &uid, "username",
                     &err) == 0 &&
        uid < 0)
      abort();
    free(req.form_key[i]);
    free(req.form_val[i]);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  /* the server hands handlers a NUL-terminated body */
  char *body = fz_strdup(data, size);
  ratings(body, size);
  form(body, size);
  free(body);
  return 0;
}
