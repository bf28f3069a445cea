/*
 * ui_internal.h - what the web UI's files share: the page being built,
 * the page functions of ui_runs.c, ui_run.c, ui_compare.c, ui_models.c,
 * ui_monitor.c and ui_data.c, small formatting helpers of ui.c, and the
 * run helpers the tracking pages share. Only src/serve/ui*.c
 * include it.
 *
 * Design: a page function fills p->h with the page's main content (all
 * data through the escaping html_f / html_text / html_url) and sets
 * p->title; it returns 0, or a negative HV_E* code with err filled, which
 * ui.c turns into an HTML error page with the matching status. It may set
 * p->status (e.g. 422 for a bad filter shown inline) or p->location (a
 * 303 redirect after a POST).
 *
 * Threads: a page lives on one worker thread.
 */
#ifndef HV_SERVE_UI_UI_INTERNAL_H
#define HV_SERVE_UI_UI_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "serve/ui/html.h"
#include "util/err.h"

struct srv_req;
struct srv_resp;
struct hv_db;
struct tracking_run;

struct ui_page {
  struct srv_req *req;
  struct srv_resp *resp;
  struct html h;            /* the main content */
  char title[256];          /* <title> and nothing else (escaped there) */
  const char *section;      /* active nav item: "experiments", "models",
                               "monitoring", "data" */
  int status;               /* 200 unless set */
  char location[1024];      /* non-empty: answer 303 See Other to it */
  char session[33];         /* CSRF session id (ui_csrf) */
  int new_session;          /* 1: send it as a cookie */
  char csrf[65];            /* the session's token */
  char set_session[64];     /* non-empty: a new login's session token,
                               sent as the hv_session cookie */
  int clear_session;        /* 1: clear hv_session (signed out) */
  const char *raw_type;     /* non-NULL: h holds a download of this type,
                               answered as is (no layout) */
  char raw_name[128];       /* its file name (Content-Disposition) */
};

typedef int (*ui_page_fn)(struct ui_page *p, struct hv_err *err);

/* ---- ui.c helpers ------------------------------------------------------ */

/* The worker's database (borrowed), or NULL with err filled. */
struct hv_db *ui_db(struct ui_page *p, struct hv_err *err);

/* The server's home folder (borrowed). */
const char *ui_home(struct ui_page *p);

/* The CSRF token for this browser's session (made and sent as a cookie
 * when the request has none); borrowed from p. */
const char *ui_csrf(struct ui_page *p);

/* Check a POST's CSRF token against its session cookie and its Origin;
 * 0, or HV_EFORBIDDEN saying what is missing. */
int ui_csrf_check(struct ui_page *p, const char *token,
                  struct hv_err *err) HV_WARN_UNUSED;

/* UTC time "YYYY-MM-DD HH:MM:SS" of t (seconds since the epoch), or "-"
 * for t <= 0. Returns out. */
const char *ui_time(double t, char *out, size_t cap);

/* A duration for people: "0.42 s", "3 min 4 s", "2 h 5 min", "-" for a
 * negative or NaN one. Returns out. */
const char *ui_duration(double secs, char *out, size_t cap);

/* <a href="/ui/runs/ID">text</a> (text NULL: the first 8 hex). */
void ui_run_link(struct html *h, const char *run_id, const char *text);

/* s as text; longer than 80 bytes, folded into a <details> whose summary
 * is its first 60 bytes (a long JSON value does not widen its table). */
void ui_long_text(struct html *h, const char *s);

/* An error box with msg (escaped). */
void ui_error_box(struct html *h, const char *msg);

/* An empty-state box: what is missing and the command that fills it. */
void ui_empty(struct html *h, const char *what, const char *hint_cmd);

/* ---- the pages --------------------------------------------------------- */

/* Charts drawn on a page at most (one run, a comparison). */
#define UI_MAX_CHARTS 24

/* ui_runs.c: a link to the runs page of experiment name (path form unless
 * the name holds a '/'). */
void ui_runs_experiment_href(struct html *h, const char *name);

/* ui_runs.c: r's status as a badge, "owner gone" when its process is. */
void ui_runs_status_badge(struct html *h, const struct tracking_run *r);

/* ui_runs.c: how long r ran (until now while it runs). */
double ui_runs_seconds(const struct tracking_run *r, double now);

/* ui_run.c: one metric's history as chart arrays (x = step, at most 20000
 * points); *n 0 when it has none. Caller frees *x and *y. */
int ui_run_metric_series(struct hv_db *db, const char *run_id,
                         const char *key, double **x, double **y, size_t *n,
                         struct hv_err *err);

/* ui_run.c: the run id of the page's first capture, checked (HV_EINVAL). */
int ui_run_id_of(struct ui_page *p, char id[33], struct hv_err *err);

/* ui_runlinks.c: the run's metrics beside their baseline_popularity_*
 * twins (nothing when it has none). */
void ui_run_baseline(struct html *h, const struct tracking_run *r);

/* ui_runlinks.c: links from r to the model versions registered from it,
 * its monitoring report and its retraining challenger. */
int ui_run_links(struct html *h, struct hv_db *db,
                 const struct tracking_run *r, struct hv_err *err);

/* ui_runlinks.c: the download URL of artifact path of run_id. */
void ui_artifact_href(struct html *h, const char *run_id, const char *path);

int ui_page_experiments(struct ui_page *p, struct hv_err *err);
int ui_page_runs(struct ui_page *p, struct hv_err *err);
int ui_page_run(struct ui_page *p, struct hv_err *err);
int ui_page_tune(struct ui_page *p, struct hv_err *err);
int ui_page_artifact(struct ui_page *p, struct hv_err *err);
int ui_page_compare(struct ui_page *p, struct hv_err *err);
int ui_page_models(struct ui_page *p, struct hv_err *err);
int ui_page_model(struct ui_page *p, struct hv_err *err);
int ui_page_transition(struct ui_page *p, struct hv_err *err);
int ui_page_alias(struct ui_page *p, struct hv_err *err);
int ui_page_monitoring(struct ui_page *p, struct hv_err *err);
int ui_page_data(struct ui_page *p, struct hv_err *err);
int ui_page_user(struct ui_page *p, struct hv_err *err);

/* ---- ui_assets.c --------------------------------------------------------- */

extern const char ui_assets_css[];
extern const char ui_assets_js[];

/* ---- ui_login.c ---------------------------------------------------------- */

/* Hours a web UI session lasts. */
#define UI_SESSION_HOURS 8

/* The login page (GET) and its form post (POST); sign out. */
int ui_page_login(struct ui_page *p, struct hv_err *err);
int ui_page_logout(struct ui_page *p, struct hv_err *err);

/* 1 when next is a /ui path of this server to go back to after signing
 * in (no other host, no control characters). */
int ui_next_ok(const char *next);

#endif
