/*
 * ui.h - the web UI under /ui/: experiments, runs, a run, run comparison,
 * the model registry (with promote / archive), monitoring, the data and a
 * user's page, all rendered by the server as HTML with inline SVG charts.
 *
 * Design: every page is built by one page function (ui_runs.c,
 * ui_models.c, ui_monitor.c, ui_data.c) that writes the page's main
 * content into an escaping html buffer (html.h); ui.c wraps it in the
 * layout (head, nav bar, footer), turns a failure into an HTML error page
 * with the status of rt_status_of (bad input 422 with the message inline,
 * unknown ids 404, never a JSON body or a 500 for bad input), and adds the
 * headers every UI answer carries: a Content-Security-Policy that allows
 * only this server's stylesheet and script (no inline script, no inline
 * style, no framing), X-Content-Type-Options, Referrer-Policy,
 * Cache-Control: no-store and Server-Timing with the render time. The
 * stylesheet and the optional sorting script are C strings in the binary
 * (ui_assets.c), served from /ui/static/; pages work with JavaScript off
 * (sorting then goes through ?order_by= links).
 *
 * Every page needs a signed-in account of role viewer or more
 * (ui_login.c: the hv_session cookie, or a credential header for
 * scripts); changes (POST /ui/models/NAME/transition) need an operator's
 * and a CSRF token: the
 * browser holds a random session id in the cookie hv_ui (HttpOnly,
 * SameSite=Strict, Path=/ui, Secure over TLS) and forms carry
 * HMAC-SHA256(server secret, session id) in the field "csrf"; a POST must
 * present both and they must match (constant-time compare), and an Origin
 * header, when sent, must be this server's. The secret is 32 random bytes
 * made at server start (libsodium), so tokens die with the process.
 *
 * Threads: page handlers run on the server's workers concurrently; the
 * ui state is read-only after ui_open.
 */
#ifndef HV_SERVE_UI_UI_H
#define HV_SERVE_UI_UI_H

#include <stddef.h>

#include "serve/http/router.h"
#include "util/err.h"

struct srv_req;
struct srv_resp;
struct ui;

#define UI_COOKIE "hv_ui"
#define UI_SESSION_COOKIE "hv_session" /* a signed-in account's session */

/* Make the UI state (a new CSRF secret); tls 1 marks cookies Secure. *out
 * is the caller's to ui_close. HV_ENOMEM or HV_EINTERNAL (libsodium). */
int ui_open(int tls, struct ui **out, struct hv_err *err) HV_WARN_UNUSED;

/* Free u; NULL does nothing. */
void ui_close(struct ui *u);

/* 1 when path is "/ui" or below it (an unknown page there gets an HTML
 * 404 from ui_not_found instead of the API's JSON one). */
int ui_path(const char *path);

/* Fill resp with what a browser gets when the policy refused a UI route
 * (status 401 or 403, msg why): a 401 on a GET is a 303 to
 * /ui/login?next=PATH, anything else an HTML error page with a link to
 * sign in. */
void ui_refused(struct srv_req *req, struct srv_resp *resp, int status,
                const char *msg);

/* Fill resp with the HTML "page not found" answer (status 404). */
void ui_not_found(struct srv_req *req, struct srv_resp *resp);

/* The CSRF token of a session id into out (65 bytes: 64 hex + NUL). */
void ui_csrf_token(const struct ui *u, const char *session, char out[65]);

/* Route handlers (registered in routes.c). Each answers HTML, also for
 * its errors, and returns 0 unless it could not build any answer. */
rt_fn ui_route_experiments, ui_route_runs, ui_route_run, ui_route_tune,
    ui_route_artifact,
    ui_route_compare,
    ui_route_models, ui_route_model, ui_route_transition, ui_route_alias,
    ui_route_monitoring,
    ui_route_data, ui_route_user, ui_route_static, ui_route_login,
    ui_route_logout;

#endif
