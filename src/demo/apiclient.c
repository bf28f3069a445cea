/*
 * apiclient.c - the REST API client on libcurl: see apiclient.h.
 */
#include "demo/apiclient.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct apiclient {
  CURL *h;
  char base[512];
  double timeout_s;
  char *body;          /* response body (NUL-terminated) */
  size_t len, cap;
  int too_big;
  char version[192];   /* X-Model-Version of the last response */
  char auth[160];      /* "Authorization: Bearer ..." or "" */
  char curl_err[CURL_ERROR_SIZE];
};

int apiclient_global_init(struct hv_err *err)
{
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    return hv_err_set(err, HV_EINTERNAL, "libcurl failed to initialise");
  return 0;
}

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
  struct apiclient *c = ud;
  size_t k = sz * n;
  if (c->len + k + 1 > APICLIENT_MAX_BODY) {
    c->too_big = 1;
    return 0; /* abort the transfer */
  }
  if (c->len + k + 1 > c->cap) {
    size_t nc = c->cap ? c->cap : 4096;
    while (nc < c->len + k + 1)
      nc *= 2;
    char *b = realloc(c->body, nc);
    if (!b)
      return 0;
    c->body = b;
    c->cap = nc;
  }
  memcpy(c->body + c->len, p, k);
  c->len += k;
  c->body[c->len] = '\0';
  return k;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
  struct apiclient *c = ud;
  size_t k = sz * n;
  static const char name[] = "X-Model-Version:";
  size_t nl = sizeof(name) - 1;
  if (k > nl && !strncasecmp(p, name, nl)) {
    const char *v = p + nl;
    size_t vl = k - nl;
    while (vl && (*v == ' ' || *v == '\t')) {
      v++;
      vl--;
    }
    while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
      vl--;
    if (vl >= sizeof(c->version))
      vl = sizeof(c->version) - 1;
    memcpy(c->version, v, vl);
    c->version[vl] = '\0';
  }
  return k;
}

int apiclient_open(const char *base_url, double timeout_s,
                   struct apiclient **out, struct hv_err *err)
{
  if (!out)
    return hv_err_set(err, HV_EINVAL, "api client: no output pointer");
  *out = NULL;
  if (!base_url || !*base_url || strlen(base_url) >= 500)
    return hv_err_set(err, HV_EINVAL, "api client: bad base URL");
  if (!(timeout_s > 0 && timeout_s <= 3600))
    return hv_err_set(err, HV_EINVAL, "api client: timeout %g s is outside "
                      "(0, 3600]", timeout_s);
  struct apiclient *c = calloc(1, sizeof(*c));
  if (!c)
    return hv_err_set(err, HV_ENOMEM, "api client: out of memory");
  c->h = curl_easy_init();
  if (!c->h) {
    free(c);
    return hv_err_set(err, HV_ENOMEM, "api client: curl_easy_init failed");
  }
  snprintf(c->base, sizeof(c->base), "%s", base_url);
  size_t bl = strlen(c->base);
  if (bl && c->base[bl - 1] == '/')
    c->base[bl - 1] = '\0';
  c->timeout_s = timeout_s;
  *out = c;
  return 0;
}

int apiclient_set_bearer(struct apiclient *c, const char *token,
                         struct hv_err *err)
{
  if (!c)
    return hv_err_set(err, HV_EINVAL, "api client: none");
  if (token && (strlen(token) > 128 || strpbrk(token, "\r\n")))
    return hv_err_set(err, HV_EINVAL, "api client: bad bearer token");
  if (token && *token)
    snprintf(c->auth, sizeof(c->auth), "Authorization: Bearer %s", token);
  else
    c->auth[0] = '\0';
  return 0;
}

void apiclient_close(struct apiclient *c)
{
  if (!c)
    return;
  curl_easy_cleanup(c->h);
  free(c->body);
  free(c);
}

/* One request: method GET (body NULL) or POST with a JSON body. *status
 * gets the HTTP status; transport errors return HV_EIO. */
static int request(struct apiclient *c, const char *path, const char *body,
                   long *status, struct hv_err *err)
{
  char url[1024];
  snprintf(url, sizeof(url), "%s%s", c->base, path);
  c->len = 0;
  c->too_big = 0;
  c->version[0] = '\0';
  if (c->body)
    c->body[0] = '\0';
  c->curl_err[0] = '\0';
  CURL *h = c->h;
  curl_easy_reset(h);
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(c->timeout_s * 1000));
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, c);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->curl_err);
  struct curl_slist *hdr = NULL;
  if (c->auth[0])
    hdr = curl_slist_append(hdr, c->auth);
  if (body)
    hdr = curl_slist_append(hdr, "Content-Type: application/json");
  if (hdr)
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
  if (body) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
  }
  CURLcode rc = curl_easy_perform(h);
  curl_slist_free_all(hdr);
  *status = 0;
  if (rc != CURLE_OK)
    return hv_err_set(err, HV_EIO, "%s %s: %s", body ? "POST" : "GET", path,
                      c->too_big ? "response too large"
                      : c->curl_err[0] ? c->curl_err
                                       : curl_easy_strerror(rc));
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
  return 0;
}

/* Map a non-2xx answer to an error naming the status and the detail. */
static int http_error(struct apiclient *c, const char *what, long status,
                      struct hv_err *err)
{
  const char *detail = c->body ? c->body : "";
  json_t *j = c->body ? json_loads(c->body, 0, NULL) : NULL;
  const char *d = json_string_value(json_object_get(j, "detail"));
  if (d)
    detail = d;
  int code = status == 404   ? HV_ENOTFOUND
             : status == 401 ? HV_EAUTH
             : status == 403 ? HV_EFORBIDDEN
             : status == 413 ? HV_ETOOBIG
             : status == 429 ? HV_ELIMIT
             : status >= 500 ? HV_EIO
                             : HV_EINVAL;
  hv_err_set(err, code, "%s: HTTP %ld: %.160s", what, status, detail);
  json_decref(j);
  return code;
}

int apiclient_add_ratings(struct apiclient *c, const int64_t *user,
                          const int64_t *movie, const float *rating, size_t n,
                          int64_t *first_id, struct hv_err *err)
{
  if (!c || (n && (!user || !movie || !rating)))
    return hv_err_set(err, HV_EINVAL, "add ratings: missing arguments");
  json_t *arr = json_array();
  for (size_t i = 0; arr && i < n; i++)
    if (json_array_append_new(
            arr, json_pack("{s:I, s:I, s:f}", "user_id", (json_int_t)user[i],
                           "movie_id", (json_int_t)movie[i], "user_rating",
                           (double)rating[i])))
      break;
  char *body = arr ? json_dumps(arr, JSON_COMPACT) : NULL;
  json_decref(arr);
  if (!body)
    return hv_err_set(err, HV_ENOMEM, "add ratings: out of memory");
  long status;
  int rc = request(c, "/users/add_user_rating/", body, &status, err);
  free(body);
  if (rc)
    return rc;
  if (status < 200 || status > 299)
    return http_error(c, "POST /users/add_user_rating/", status, err);
  json_t *j = json_loads(c->body ? c->body : "", 0, NULL);
  json_t *f = json_object_get(j, "first_rating_id");
  json_t *ins = json_object_get(j, "inserted");
  if (!json_is_integer(f) || !json_is_integer(ins) ||
      json_integer_value(ins) != (json_int_t)n) {
    json_decref(j);
    return hv_err_set(err, HV_EIO, "POST /users/add_user_rating/: answer "
                      "without first_rating_id / inserted = %zu", n);
  }
  if (first_id)
    *first_id = (int64_t)json_integer_value(f);
  json_decref(j);
  return 0;
}

int apiclient_recommend(struct apiclient *c, int64_t user, int n,
                        char *version, size_t cap, int *n_titles,
                        struct hv_err *err)
{
  if (!c || n < 1)
    return hv_err_set(err, HV_EINVAL, "recommend: missing arguments");
  char path[96];
  snprintf(path, sizeof(path), "/movies/recommend/%lld/%d", (long long)user,
           n);
  long status;
  if (request(c, path, NULL, &status, err))
    return err->code;
  if (version && cap)
    snprintf(version, cap, "%s", c->version);
  if (status < 200 || status > 299) {
    char what[128];
    snprintf(what, sizeof(what), "GET %s", path);
    return http_error(c, what, status, err);
  }
  json_t *j = json_loads(c->body ? c->body : "", 0, NULL);
  json_t *msg = json_object_get(j, "message");
  int ok = json_is_array(msg);
  if (n_titles)
    *n_titles = ok ? (int)json_array_size(msg) : 0;
  json_decref(j);
  if (!ok)
    return hv_err_set(err, HV_EIO, "GET %s: answer without a \"message\" "
                      "list", path);
  return 0;
}

int apiclient_status(struct apiclient *c, const char *path, long *status,
                     struct hv_err *err)
{
  if (!c || !path || path[0] != '/' || !status)
    return hv_err_set(err, HV_EINVAL, "status: bad arguments");
  return request(c, path, NULL, status, err);
}
