/*
 * ui.c - the web UI's frame: layout and nav bar, error pages, response
 * headers, static assets, CSRF sessions and shared helpers: see ui.h.
 */
#include "serve/ui/ui.h"

#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "serve/ui/html.h"
#include "serve/http/modelslot.h"
#include "serve/http/policy.h"
#include "serve/http/routes.h"
#include "serve/http/server.h"
#include "serve/ui/ui_internal.h"
#include "store/db.h"
#include "store/tracking.h"
#include "util/fsutil.h"
#include "util/parse.h"

struct ui {
  unsigned char secret[crypto_auth_hmacsha256_KEYBYTES];
  int tls;
};

static const char CSP[] =
    "default-src 'none'; style-src 'self'; script-src 'self'; "
    "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'";

int ui_open(int tls, struct ui **out, struct hv_err *err)
{
  *out = NULL;
  if (sodium_init() < 0)
    return hv_err_set(err, HV_EINTERNAL, "libsodium failed to initialise");
  struct ui *u = calloc(1, sizeof(*u));
  if (!u)
    return hv_err_set(err, HV_ENOMEM, "out of memory");
  randombytes_buf(u->secret, sizeof(u->secret));
  u->tls = tls;
  *out = u;
  return 0;
}

void ui_close(struct ui *u)
{
  if (!u)
    return;
  sodium_memzero(u->secret, sizeof(u->secret));
  free(u);
}

int ui_path(const char *path)
{
  return path && !strncmp(path, "/ui", 3) && (path[3] == '\0' ||
                                              path[3] == '/');
}

void ui_csrf_token(const struct ui *u, const char *session, char out[65])
{
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, u->secret, sizeof(u->secret));
  crypto_auth_hmacsha256_update(&st, (const unsigned char *)"hv-ui-csrf:",
                                11);
  crypto_auth_hmacsha256_update(&st, (const unsigned char *)session,
                                strlen(session));
  crypto_auth_hmacsha256_final(&st, mac);
  sodium_bin2hex(out, 65, mac, sizeof(mac));
}

/* 1 when s is a session id as made here: 32 lowercase hex digits. */
static int session_ok(const char *s)
{
  return hv_is_hex(s, 32);
}

const char *ui_csrf(struct ui_page *p)
{
  if (p->csrf[0])
    return p->csrf;
  const char *c = srv_cookie(p->req, UI_COOKIE);
  if (session_ok(c)) {
    snprintf(p->session, sizeof(p->session), "%s", c);
  } else {
    unsigned char raw[16];
    randombytes_buf(raw, sizeof(raw));
    sodium_bin2hex(p->session, sizeof(p->session), raw, sizeof(raw));
    p->new_session = 1;
  }
  ui_csrf_token(srv_ui(p->req), p->session, p->csrf);
  return p->csrf;
}

/* The Origin header, when sent, must name this server (its Host). */
static int origin_ok(struct ui_page *p)
{
  const char *origin = srv_header(p->req, "Origin");
  if (!origin)
    return 1;
  const char *host = srv_header(p->req, "Host");
  const char *rest = !strncmp(origin, "http://", 7)    ? origin + 7
                     : !strncmp(origin, "https://", 8) ? origin + 8
                                                       : NULL;
  return host && rest && !strcmp(rest, host);
}

int ui_csrf_check(struct ui_page *p, const char *token, struct hv_err *err)
{
  const char *c = srv_cookie(p->req, UI_COOKIE);
  if (!session_ok(c))
    return hv_err_set(err, HV_EFORBIDDEN,
                      "CSRF check failed: no UI session cookie; reload the "
                      "page (with cookies on) and submit the form again");
  if (!origin_ok(p))
    return hv_err_set(err, HV_EFORBIDDEN,
                      "CSRF check failed: the request comes from another "
                      "site (Origin does not match Host)");
  char want[65];
  ui_csrf_token(srv_ui(p->req), c, want);
  if (!token || strlen(token) != 64 || sodium_memcmp(token, want, 64) != 0)
    return hv_err_set(err, HV_EFORBIDDEN,
                      "CSRF check failed: the form's token does not match "
                      "this browser's session; reload the page and submit "
                      "the form again");
  return 0;
}

/* ---- helpers ------------------------------------------------------------- */

struct hv_db *ui_db(struct ui_page *p, struct hv_err *err)
{
  return srv_db(p->req, err);
}

const char *ui_home(struct ui_page *p)
{
  return srv_config(p->req)->home;
}

const char *ui_time(double t, char *out, size_t cap)
{
  if (!(t > 0) || t > 3e11) {
    snprintf(out, cap, "-");
    return out;
  }
  time_t s = (time_t)t;
  struct tm tm;
  gmtime_r(&s, &tm);
  strftime(out, cap, "%Y-%m-%d %H:%M:%S", &tm);
  return out;
}

const char *ui_duration(double secs, char *out, size_t cap)
{
  if (!(secs >= 0))
    snprintf(out, cap, "-");
  else if (secs < 60)
    snprintf(out, cap, "%.*f s", secs < 10 ? 2 : 1, secs);
  else if (secs < 3600)
    snprintf(out, cap, "%d min %d s", (int)(secs / 60),
             (int)fmod(secs, 60));
  else
    snprintf(out, cap, "%.0f h %d min", floor(secs / 3600),
             (int)fmod(secs / 60, 60));
  return out;
}

void ui_run_link(struct html *h, const char *run_id, const char *text)
{
  html_raw(h, "<a href=\"/ui/runs/");
  html_url(h, run_id);
  if (text)
    html_f(h, "\">%s</a>", text);
  else
    html_f(h, "\" class=\"mono\">%.8s</a>", run_id);
}

void ui_long_text(struct html *h, const char *s)
{
  size_t n = s ? strlen(s) : 0;
  if (n <= 80) {
    html_text(h, s);
    return;
  }
  size_t cut = 60;
  while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
    cut--; /* not inside a UTF-8 sequence */
  html_raw(h, "<details class=\"long\"><summary>");
  html_textn(h, s, cut);
  html_f(h, "&hellip; (%zu bytes)</summary><div class=\"full\">%s</div>"
            "</details>", n, s);
}

void ui_error_box(struct html *h, const char *msg)
{
  html_f(h, "<div class=\"error\" role=\"alert\">%s</div>", msg);
}

void ui_empty(struct html *h, const char *what, const char *hint_cmd)
{
  html_f(h, "<div class=\"empty\"><p>%s</p>", what);
  if (hint_cmd)
    html_f(h, "<p>To fill it: <code>%s</code></p>", hint_cmd);
  html_raw(h, "</div>");
}

/* ---- layout and answers ------------------------------------------------ */

static void nav(struct html *h, const struct ui_page *p)
{
  static const struct {
    const char *section, *href, *label;
  } items[] = {{"experiments", "/ui/", "Experiments"},
               {"models", "/ui/models", "Models"},
               {"monitoring", "/ui/monitoring", "Monitoring"},
               {"data", "/ui/data", "Data"}};
  html_raw(h, "<header class=\"top\"><a class=\"brand\" href=\"/ui/\">"
              "Harvest</a><nav aria-label=\"main\">");
  for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++) {
    int on = p->section && !strcmp(p->section, items[i].section);
    html_f(h, "<a href=\"%s\"", items[i].href);
    if (on)
      html_raw(h, " class=\"active\" aria-current=\"page\"");
    html_f(h, ">%s</a>", items[i].label);
  }
  html_raw(h, "<a href=\"/docs\">API</a></nav>");
  const struct auth_principal *who = policy_caller(p->req);
  if (who->role >= AUTH_VIEWER && !strncmp(who->who, "account:", 8))
    html_f(h, "<form class=\"whoami\" method=\"post\" action=\"/ui/logout\">"
              "<input type=\"hidden\" name=\"csrf\" value=\"%s\">%s (%s) "
              "<button type=\"submit\">Sign out</button></form>",
           p->csrf, who->who + 8, auth_role_name(who->role));
  struct modelslot_snap *snap = srv_model(p->req, NULL, 0);
  if (snap)
    html_f(h, "<span class=\"serving\" title=\"the model this server "
              "serves\">serving <b>%s</b> v%lld (%s)</span>",
           snap->name, (long long)snap->version, snap->stage);
  else
    html_raw(h, "<span class=\"serving none\">no model loaded</span>");
  html_raw(h, "</header>");
}

/* The whole document: layout around p->h. Returns the text (caller frees)
 * or NULL when out of memory. */
static char *compose(struct ui_page *p, double ms, size_t *len)
{
  struct html d;
  html_init(&d);
  html_f(&d,
         "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width, "
         "initial-scale=1\"><title>%s - Harvest</title>"
         "<link rel=\"stylesheet\" href=\"/ui/static/ui.css\">"
         "<script src=\"/ui/static/ui.js\" defer></script></head><body>",
         p->title[0] ? p->title : "Harvest");
  nav(&d, p);
  html_raw(&d, "<main>");
  if (p->h.buf)
    html_rawn(&d, p->h.buf, p->h.len);
  html_f(&d,
         "</main><footer>Harvest %s (code %s) &middot; page built in "
         "%.1f ms</footer></body></html>\n",
         HV_VERSION, HV_GIT_VERSION, ms);
  return html_take(&d, len);
}

/* The headers every UI answer carries. */
static int common_headers(struct srv_resp *resp, struct hv_err *err)
{
  if (routes_header(resp, "Content-Security-Policy", CSP, err) ||
      routes_header(resp, "X-Content-Type-Options", "nosniff", err) ||
      routes_header(resp, "X-Frame-Options", "DENY", err) ||
      routes_header(resp, "Referrer-Policy", "same-origin", err))
    return err->code;
  return 0;
}

static void error_content(struct ui_page *p, int status, const char *msg)
{
  html_free(&p->h);
  html_init(&p->h);
  snprintf(p->title, sizeof(p->title), "%d %s", status, rt_reason(status));
  html_f(&p->h, "<h1>%d %s</h1>", status, rt_reason(status));
  ui_error_box(&p->h, msg);
  html_raw(&p->h, "<p><a href=\"/ui/\">Experiments</a> &middot; "
                  "<a href=\"/ui/models\">Models</a> &middot; "
                  "<a href=\"/ui/monitoring\">Monitoring</a></p>");
}

/* Set (after a login) or clear (after signing out) the session cookie:
 * HttpOnly, SameSite=Strict, Path=/ui, Secure over TLS. */
static int session_cookie(struct ui_page *p, struct hv_err *err)
{
  if (!p->set_session[0] && !p->clear_session)
    return 0;
  char cookie[256];
  snprintf(cookie, sizeof(cookie),
           UI_SESSION_COOKIE "=%s; Path=/ui; HttpOnly; SameSite=Strict; "
           "Max-Age=%d%s",
           p->set_session, p->clear_session ? 0 : UI_SESSION_HOURS * 3600,
           srv_ui(p->req)->tls ? "; Secure" : "");
  return routes_header(p->resp, "Set-Cookie", cookie, err);
}

/* A download: the bytes in p->h as an attachment named p->raw_name. */
static int raw_answer(struct ui_page *p, struct hv_err *err)
{
  char disp[200];
  snprintf(disp, sizeof(disp), "attachment; filename=\"%s\"", p->raw_name);
  if (routes_header(p->resp, "Content-Disposition", disp, err))
    return err->code;
  p->resp->status = 200;
  p->resp->content_type = p->raw_type;
  p->resp->body = html_take(&p->h, &p->resp->len);
  return p->resp->body ? 0 : hv_err_set(err, HV_ENOMEM, "out of memory");
}

/* Turn the built page p into resp. */
static int finish(struct ui_page *p, double t0, struct hv_err *err)
{
  struct srv_resp *resp = p->resp;
  double ms = (hv_mono() - t0) * 1000;
  char timing[64];
  snprintf(timing, sizeof(timing), "render;dur=%.2f", ms);
  if (common_headers(resp, err) ||
      routes_header(resp, "Cache-Control", "no-store", err) ||
      routes_header(resp, "Server-Timing", timing, err))
    return err->code;
  if (p->new_session) {
    char cookie[160];
    snprintf(cookie, sizeof(cookie),
             UI_COOKIE "=%s; Path=/ui; HttpOnly; SameSite=Strict%s",
             p->session, srv_ui(p->req)->tls ? "; Secure" : "");
    if (routes_header(resp, "Set-Cookie", cookie, err))
      return err->code;
  }
  if (session_cookie(p, err))
    return err->code;
  if (p->location[0]) {
    resp->status = 303;
    return routes_header(resp, "Location", p->location, err);
  }
  if (p->raw_type)
    return raw_answer(p, err);
  resp->status = p->status;
  resp->content_type = "text/html; charset=utf-8";
  resp->body = compose(p, ms, &resp->len);
  return resp->body ? 0 : hv_err_set(err, HV_ENOMEM, "out of memory");
}

/* Build one page with fn inside the layout; a failure becomes an HTML
 * error page with its status. */
static int run_page(struct srv_req *req, struct srv_resp *resp,
                    struct hv_err *err, ui_page_fn fn, const char *section)
{
  double t0 = hv_mono();
  struct ui_page p = {.req = req, .resp = resp, .section = section,
                      .status = 200};
  html_init(&p.h);
  struct hv_err perr = {0};
  int rc = fn(&p, &perr);
  if (!rc && p.h.oom)
    rc = hv_err_set(&perr, HV_ENOMEM, "out of memory building the page");
  if (!strncmp(policy_caller(req)->who, "account:", 8))
    ui_csrf(&p); /* the nav bar's sign-out form */
  if (rc) {
    p.status = rt_status_of(rc);
    p.location[0] = '\0';
    p.raw_type = NULL;
    p.set_session[0] = '\0';
    error_content(&p, p.status,
                  perr.msg[0] ? perr.msg : hv_strerror(rc));
  }
  rc = finish(&p, t0, err);
  html_free(&p.h);
  return rc;
}

/* Answer the page p built outside run_page (no body when that fails). */
static void answer(struct ui_page *p)
{
  struct hv_err err = {0};
  if (finish(p, hv_mono(), &err)) {
    free(p->resp->body);
    p->resp->body = NULL;
    p->resp->len = 0;
  }
  html_free(&p->h);
}

void ui_not_found(struct srv_req *req, struct srv_resp *resp)
{
  struct ui_page p = {.req = req, .resp = resp, .status = 404};
  html_init(&p.h);
  char msg[400];
  snprintf(msg, sizeof(msg), "There is no page at %.300s.", req->path);
  error_content(&p, 404, msg);
  answer(&p);
}

void ui_refused(struct srv_req *req, struct srv_resp *resp, int status,
                const char *msg)
{
  struct ui_page p = {.req = req, .resp = resp, .status = status};
  html_init(&p.h);
  if (status == 401 && req->method_bit != RT_POST) {
    snprintf(p.location, sizeof(p.location), "/ui/login?next=%s",
             ui_next_ok(req->path) ? req->path : "/ui/");
  } else {
    error_content(&p, status, msg);
    html_raw(&p.h, "<p><a href=\"/ui/login\">Sign in</a> with an account "
                   "that has the rights.</p>");
  }
  answer(&p);
}

/* ---- routes ----------------------------------------------------------------- */

int ui_route_experiments(struct srv_req *req, struct srv_resp *resp,
                         struct hv_err *err)
{
  /* /ui/experiments?name=X is the runs page for names a path cannot carry */
  const char *name = srv_query(req, "name");
  return run_page(req, resp, err,
                  name && *name ? ui_page_runs : ui_page_experiments,
                  "experiments");
}

/* A route that is one page in one section of the navigation. */
#define UI_PAGE_ROUTE(route, page, section)                                 \
  int route(struct srv_req *req, struct srv_resp *resp, struct hv_err *err) \
  {                                                                         \
    return run_page(req, resp, err, page, section);                         \
  }

UI_PAGE_ROUTE(ui_route_runs, ui_page_runs, "experiments")
UI_PAGE_ROUTE(ui_route_run, ui_page_run, "experiments")
UI_PAGE_ROUTE(ui_route_tune, ui_page_tune, "experiments")
UI_PAGE_ROUTE(ui_route_artifact, ui_page_artifact, "experiments")
UI_PAGE_ROUTE(ui_route_compare, ui_page_compare, "experiments")
UI_PAGE_ROUTE(ui_route_models, ui_page_models, "models")
UI_PAGE_ROUTE(ui_route_model, ui_page_model, "models")
UI_PAGE_ROUTE(ui_route_transition, ui_page_transition, "models")
UI_PAGE_ROUTE(ui_route_alias, ui_page_alias, "models")
UI_PAGE_ROUTE(ui_route_monitoring, ui_page_monitoring, "monitoring")
UI_PAGE_ROUTE(ui_route_data, ui_page_data, "data")
UI_PAGE_ROUTE(ui_route_user, ui_page_user, "data")
UI_PAGE_ROUTE(ui_route_login, ui_page_login, NULL)
UI_PAGE_ROUTE(ui_route_logout, ui_page_logout, NULL)

int ui_route_static(struct srv_req *req, struct srv_resp *resp,
                    struct hv_err *err)
{
  char file[32];
  const char *text = NULL, *type = NULL;
  if (!rt_capture(&req->match, 0, file, sizeof(file))) {
    if (!strcmp(file, "ui.css")) {
      text = ui_assets_css;
      type = "text/css; charset=utf-8";
    } else if (!strcmp(file, "ui.js")) {
      text = ui_assets_js;
      type = "text/javascript; charset=utf-8";
    }
  }
  if (!text) {
    ui_not_found(req, resp);
    return 0;
  }
  resp->body = strdup(text);
  if (!resp->body)
    return hv_err_set(err, HV_ENOMEM, "out of memory");
  resp->len = strlen(text);
  resp->content_type = type;
  if (common_headers(resp, err) ||
      routes_header(resp, "Cache-Control", "no-cache", err))
    return err->code;
  return 0;
}
