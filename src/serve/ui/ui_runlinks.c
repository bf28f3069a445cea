/*
 * ui_runlinks.c - what a run page shows beyond the run itself: the
 * popularity baseline beside the model's metrics, the links from a run to
 * the model versions registered from it, to its retraining decision and
 * challenger, and to its monitoring report; and the artifact download
 * (GET /ui/runs/ID/artifact?path=P).
 *
 * Design: the baseline table pairs every metric baseline_popularity_X
 * (logged by train on the same split, issue 16) with the model's X and
 * marks a model below its baseline. Model versions are found by their
 * source run id in the registry (a few models, a few dozen versions: one
 * registry_db_list). The download re-verifies the blob's SHA-256
 * (artifacts_write_to) and answers it as an attachment of at most
 * UI_ARTIFACT_MAX bytes, with the same security headers as a page.
 *
 * Threads: page functions run on one worker with its own connection.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/monitor.h"
#include "serve/http/routes.h"
#include "serve/ui/html.h"
#include "serve/ui/ui_internal.h"
#include "store/registry_db.h"
#include "store/tracking.h"
#include "track/artifacts.h"
#include "track/runs.h"

#define BASELINE_PREFIX "baseline_popularity_"
#define UI_ARTIFACT_MAX (256LL << 20) /* bytes a download may have */

void ui_run_baseline(struct html *h, const struct tracking_run *r)
{
  size_t plen = strlen(BASELINE_PREFIX), shown = 0;
  for (size_t i = 0; i < r->n_metrics; i++) {
    const char *k = r->metrics[i].key;
    if (strncmp(k, BASELINE_PREFIX, plen))
      continue;
    double model = runs_metric(r, k + plen), base = r->metrics[i].value;
    char a[32], b[32], d[32];
    if (shown++ == 0)
      html_raw(h, "<h2>Model vs popularity baseline</h2><p class=\"muted\">"
                  "The baseline ranks every movie by its count in the "
                  "training split, evaluated on the same split with the "
                  "same rule.</p><table class=\"data baseline\"><thead><tr>"
                  "<th>Metric</th><th>Model</th><th>Popularity baseline</th>"
                  "<th>Model - baseline</th></tr></thead><tbody>");
    int worse = isfinite(model) && model < base;
    html_f(h,
           "<tr%s><td>%s</td><td class=\"num\">%s</td><td class=\"num\">%s"
           "</td><td class=\"num%s\">%s%s</td></tr>",
           worse ? " class=\"below\"" : "", k + plen,
           html_num(model, a, sizeof(a)), html_num(base, b, sizeof(b)),
           worse ? " worse" : "",
           isfinite(model) ? html_num(model - base, d, sizeof(d)) : "-",
           worse ? " (below the baseline)" : "");
  }
  if (shown)
    html_raw(h, "</tbody></table>");
}

/* "NAME vN (Stage)" links to every version registered from run_id. */
static void versions_from(struct html *h, const struct registry_model *m,
                          size_t n, const char *run_id, size_t *shown)
{
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < m[i].n_versions; k++) {
      const struct registry_version *v = &m[i].versions[k];
      if (strcmp(v->run_id, run_id))
        continue;
      html_raw(h, *shown ? ", " : "");
      html_raw(h, "<a class=\"version\" href=\"/ui/models/");
      html_url(h, m[i].name);
      html_f(h, "#v%d\">%s v%d</a> <span class=\"stage %s\">%s</span>",
             v->version, m[i].name, v->version, v->stage, v->stage);
      (*shown)++;
    }
}

/* The monitoring page of r when it is a monitoring run. */
static void monitoring_link(struct html *h, const struct tracking_run *r)
{
  if (strcmp(r->experiment, MONITOR_EXPERIMENT))
    return;
  html_f(h, "<tr><th>Monitoring report</th><td><a href=\"/ui/monitoring?"
            "run=%s\">drift and performance of this run</a></td></tr>",
         r->run_id);
}

/* A decision run's challenger (run and version). */
static void challenger_links(struct html *h, const struct tracking_run *r)
{
  const char *crun = runs_tag(r, "retrain.challenger_run_id");
  const char *act = runs_tag(r, "retrain.action");
  if (act)
    html_f(h, "<tr><th>Retraining action</th><td>%s%s<a href=\"/ui/"
              "monitoring#decisions\">all decisions</a></td></tr>",
           act, " &middot; ");
  if (crun && strlen(crun) == 32) {
    html_raw(h, "<tr><th>Challenger run</th><td>");
    ui_run_link(h, crun, NULL);
    html_raw(h, "</td></tr>");
  }
}

int ui_run_links(struct html *h, struct hv_db *db,
                 const struct tracking_run *r, struct hv_err *err)
{
  struct registry_model *m = NULL;
  size_t n = 0, shown = 0;
  if (registry_db_list(db, &m, &n, err))
    return err->code;
  html_raw(h, "<h2>Links</h2><table class=\"data links\"><tbody>"
              "<tr><th>Model versions</th><td>");
  versions_from(h, m, n, r->run_id, &shown);
  if (!shown)
    html_raw(h, "<span class=\"muted\">none registered from this run"
                "</span>");
  html_raw(h, "</td></tr>");
  registry_db_models_free(m, n);
  monitoring_link(h, r);
  challenger_links(h, r);
  html_raw(h, "</tbody></table>");
  return 0;
}

void ui_artifact_href(struct html *h, const char *run_id, const char *path)
{
  html_f(h, "/ui/runs/%s/artifact?path=", run_id);
  html_url(h, path);
}

/* The file name part of an artifact path for Content-Disposition: only
 * [A-Za-z0-9._-], the rest becomes '_'. */
static void download_name(const char *path, char *out, size_t cap)
{
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  size_t i = 0;
  for (; base[i] && i + 1 < cap; i++) {
    char c = base[i];
    int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
             (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
    out[i] = ok ? c : '_';
  }
  out[i] = '\0';
  if (!i)
    snprintf(out, cap, "artifact");
}

/* The checked run id and artifact path of a download request. */
static int artifact_args(struct ui_page *p, char id[33], const char **path,
                         struct hv_err *err)
{
  if (ui_run_id_of(p, id, err))
    return err->code;
  *path = srv_query(p->req, "path");
  if (!*path || !**path)
    return hv_err_set(err, HV_EINVAL, "path: query parameter is required "
                      "(the artifact's path, e.g. model/model.hvm)");
  return artifacts_check_path(*path, strlen(*path), err);
}

int ui_page_artifact(struct ui_page *p, struct hv_err *err)
{
  char id[33];
  const char *path = NULL;
  struct hv_db *db = NULL;
  char *bytes = NULL;
  size_t len = 0;
  if (artifact_args(p, id, &path, err) || !(db = ui_db(p, err)) ||
      artifacts_read(ui_home(p), db, id, path, UI_ARTIFACT_MAX, &bytes, &len,
                     err)) {
    if (err->code == HV_ETOOBIG)
      snprintf(err->msg + strlen(err->msg), sizeof(err->msg) -
               strlen(err->msg), "; use 'harvest artifacts get RUN PATH "
               "--out FILE'");
    return err->code;
  }
  html_rawn(&p->h, bytes, len);
  free(bytes);
  p->raw_type = "application/octet-stream";
  download_name(path, p->raw_name, sizeof(p->raw_name));
  return 0;
}
