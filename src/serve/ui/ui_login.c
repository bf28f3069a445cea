/*
 * ui_login.c - signing in to the web UI: the login page, its form post,
 * sign out, and what a browser gets when a page's policy refuses it.
 *
 * Design: an operator account signs in with its name and password at
 * /ui/login (a form post carrying the page's CSRF token, like every UI
 * form: ui.h); the server checks the password (argon2id, login attempts
 * limited per address, failed ones per account name from any address),
 * makes a session token (serve/http/tokens.h:
 * "hvs_...", stored as a digest, UI_SESSION_HOURS long) and sets it as
 * the cookie hv_session: HttpOnly (no script reads it), SameSite=Strict
 * (no other site's page sends it), Path=/ui (no API route sees it),
 * Secure over TLS. Every /ui page then needs at least a viewer session;
 * registry actions an operator's. Signing out revokes the session in the
 * store and clears the cookie. A browser without a session that asks for
 * a page is sent (303) to /ui/login?next=PAGE, and comes back there after
 * signing in; next must be a /ui path of this server (no open redirect).
 *
 * Threads: page functions run on one worker with its own connection.
 */
#include <stdio.h>
#include <string.h>

#include "serve/http/auth.h"
#include "serve/http/routes.h"
#include "serve/http/tokens.h"
#include "serve/ui/html.h"
#include "serve/ui/ui.h"
#include "serve/ui/ui_internal.h"

/* 1 when next is a path of the UI to go back to: "/ui" or "/ui/...",
 * printable ASCII, no "//" or backslash (nothing a browser reads as
 * another host). */
int ui_next_ok(const char *next)
{
  if (!next || strncmp(next, "/ui", 3) || (next[3] && next[3] != '/' &&
                                           next[3] != '?'))
    return 0;
  if (strlen(next) > 512 || strstr(next, "//") || strchr(next, '\\'))
    return 0;
  for (const char *c = next; *c; c++)
    if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f)
      return 0;
  return 1;
}

static void login_form(struct ui_page *p, const char *next, const char *name,
                       const char *error)
{
  snprintf(p->title, sizeof(p->title), "Sign in");
  html_raw(&p->h, "<h1>Sign in</h1>");
  if (error)
    ui_error_box(&p->h, error);
  html_f(&p->h,
         "<form class=\"login\" method=\"post\" action=\"/ui/login\">"
         "<input type=\"hidden\" name=\"csrf\" value=\"%s\">"
         "<input type=\"hidden\" name=\"next\" value=\"%s\">"
         "<p><label>Account <input type=\"text\" name=\"name\" "
         "autocomplete=\"username\" maxlength=\"64\" required value=\"%s\">"
         "</label></p><p><label>Password <input type=\"password\" "
         "name=\"password\" autocomplete=\"current-password\" "
         "maxlength=\"1024\" required></label></p>"
         "<p><button type=\"submit\">Sign in</button></p></form>"
         "<p class=\"muted\">Operator accounts are made on the server with "
         "<code>harvest auth account add NAME --role viewer</code>.</p>",
         ui_csrf(p), ui_next_ok(next) ? next : "/ui/", name ? name : "");
}

int ui_page_login(struct ui_page *p, struct hv_err *err)
{
  struct srv_req *req = p->req;
  const char *next = srv_query(req, "next");
  if (req->method_bit != RT_POST) {
    login_form(p, next, NULL, NULL);
    return 0;
  }
  const char *csrf = srv_form(req, "csrf", err);
  if (err->code || ui_csrf_check(p, csrf, err))
    return err->code;
  const char *name = srv_form(req, "name", err);
  const char *pw = srv_form(req, "password", err);
  next = srv_form(req, "next", err);
  if (err->code)
    return err->code;
  struct hv_err lerr = {0};
  struct hv_db *db = ui_db(p, err);
  if (!db)
    return err->code;
  if (auth_rate_take(srv_auth(req), req->ip, -1, err)) {
    p->resp->retry_after = 60;
    return err->code;
  }
  /* and per account, whatever the address: guessing one account's
   * password from many addresses is limited too */
  if (auth_rate_peek_account(srv_auth(req), name ? name : "",
                             &p->resp->retry_after, err))
    return err->code;
  if (tokens_login(db, srv_auth(req), name ? name : "", pw ? pw : "",
                   UI_SESSION_HOURS * 3600.0, p->set_session, &lerr)) {
    if (lerr.code != HV_EAUTH) {
      *err = lerr;
      return err->code;
    }
    auth_rate_fail_account(srv_auth(req), name ? name : "");
    p->status = 401;
    login_form(p, next, name, lerr.msg);
    return 0;
  }
  snprintf(p->location, sizeof(p->location), "%s",
           ui_next_ok(next) ? next : "/ui/");
  return 0;
}

int ui_page_logout(struct ui_page *p, struct hv_err *err)
{
  const char *csrf = srv_form(p->req, "csrf", err);
  if (err->code || ui_csrf_check(p, csrf, err))
    return err->code;
  const char *s = srv_cookie(p->req, UI_SESSION_COOKIE);
  struct hv_db *db = ui_db(p, err);
  if (!db)
    return err->code;
  struct hv_err ignored = {0};
  if (s && tokens_revoke_text(db, s, &ignored) == HV_EDB)
    return hv_err_set(err, HV_EDB, "%s", ignored.msg);
  p->clear_session = 1;
  snprintf(p->location, sizeof(p->location), "/ui/login");
  return 0;
}
