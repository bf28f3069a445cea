/*
 * ui_models.c - the registry pages of the web UI: registered models, one
 * model's versions (stage, aliases, source run) and audit log, and the
 * promote / archive action.
 *
 * Design: a model page holds one POST form (reason and the CSRF token)
 * and every version row has submit buttons bound to it with the form
 * attribute (name "action", value "VERSION:STAGE"), so each button works
 * without JavaScript. The action needs the CSRF token (ui.h) and operator
 * rights (the route's policy, checked by the server before the page runs:
 * the signed-in account's session, ui_login.c; scripts may still send a
 * credential field or header), then calls registry_transition with archive_existing, so promoting a
 * version archives the old Production one in the same audited
 * transaction, and answers 303 back to the model page. A server polling
 * the registry swaps the new Production model in by itself.
 *
 * Threads: page functions run on one worker with its own connection.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve/ui/html.h"
#include "serve/http/modelslot.h"
#include "serve/http/policy.h"
#include "serve/http/routes.h"
#include "serve/ui/ui_internal.h"
#include "store/registry_db.h"
#include "track/registry.h"
#include "util/parse.h"

static void model_href(struct html *h, const char *name)
{
  html_raw(h, "/ui/models/");
  html_url(h, name);
}

static void stage_badge(struct html *h, const char *stage)
{
  html_f(h, "<span class=\"stage %s\">%s</span>", stage, stage);
}

/* The aliases of version v of m as badges. */
static void aliases_of(struct html *h, const struct registry_model *m, int v)
{
  for (size_t i = 0; i < m->n_aliases; i++)
    if (m->aliases[i].version == v)
      html_f(h, "<span class=\"alias\">@%s</span>", m->aliases[i].alias);
}

int ui_page_models(struct ui_page *p, struct hv_err *err)
{
  struct hv_db *db = ui_db(p, err);
  struct registry_model *m = NULL;
  size_t n = 0;
  if (!db || registry_db_list(db, &m, &n, err))
    return err->code;
  snprintf(p->title, sizeof(p->title), "Models");
  html_raw(&p->h, "<h1>Registered models</h1>");
  if (n == 0)
    ui_empty(&p->h, "No model is registered yet.",
             "harvest tune --grid dim=16,32 --register harvest_recommender "
             "--stage Production");
  else
    html_raw(&p->h,
             "<table class=\"data sortable models\"><thead><tr><th>Model"
             "</th><th>Versions</th><th>Production</th><th>Staging</th>"
             "<th>Aliases</th><th>Updated (UTC)</th><th>Description</th>"
             "</tr></thead><tbody>");
  for (size_t i = 0; i < n; i++) {
    char t[32];
    html_raw(&p->h, "<tr><td><a href=\"");
    model_href(&p->h, m[i].name);
    html_f(&p->h, "\">%s</a></td><td class=\"num\">%zu</td><td>", m[i].name,
           m[i].n_versions);
    for (size_t k = 0; k < m[i].n_versions; k++)
      if (!strcmp(m[i].versions[k].stage, "Production"))
        html_f(&p->h, "v%d ", m[i].versions[k].version);
    html_raw(&p->h, "</td><td>");
    for (size_t k = 0; k < m[i].n_versions; k++)
      if (!strcmp(m[i].versions[k].stage, "Staging"))
        html_f(&p->h, "v%d ", m[i].versions[k].version);
    html_raw(&p->h, "</td><td>");
    for (size_t k = 0; k < m[i].n_aliases; k++)
      html_f(&p->h, "<span class=\"alias\">@%s</span> v%d ",
             m[i].aliases[k].alias, m[i].aliases[k].version);
    html_f(&p->h, "</td><td>%s</td><td>%s</td></tr>",
           ui_time(m[i].updated_at, t, sizeof(t)),
           m[i].description ? m[i].description : "");
  }
  if (n)
    html_raw(&p->h, "</tbody></table>");
  registry_db_models_free(m, n);
  return 0;
}

/* The model name of the page's first capture, checked. */
static int model_name_of(struct ui_page *p, char name[REGISTRY_MAX_NAME + 1],
                         struct hv_err *err)
{
  char buf[512];
  if (rt_capture(&p->req->match, 0, buf, sizeof(buf)) ||
      strlen(buf) > REGISTRY_MAX_NAME)
    return hv_err_set(err, HV_EINVAL, "model name: longer than %d bytes",
                      REGISTRY_MAX_NAME);
  if (registry_check_name(buf, err))
    return err->code;
  snprintf(name, REGISTRY_MAX_NAME + 1, "%s", buf);
  return 0;
}

/* "Version 3 moved to Production" after a redirect (values checked). */
static void done_notice(struct ui_page *p)
{
  const char *v = srv_query(p->req, "moved"), *to = srv_query(p->req, "to");
  int64_t version;
  const char *stage;
  if (!v || !to || hv_parse_i64(v, 1, INT_MAX, &version, "moved", NULL) ||
      registry_parse_stage(to, &stage, NULL))
    return;
  html_f(&p->h, "<div class=\"notice\" role=\"status\">Version %lld moved "
                "to %s.</div>",
         (long long)version, stage);
}

static void transition_form(struct ui_page *p, const char *name)
{
  html_raw(&p->h, "<form id=\"transition\" class=\"transition\" "
                  "method=\"post\" action=\"");
  model_href(&p->h, name);
  html_f(&p->h,
         "/transition\"><input type=\"hidden\" name=\"csrf\" value=\"%s\">"
         "<label>Reason <input type=\"text\" name=\"reason\" "
         "maxlength=\"500\" placeholder=\"why (audit log)\"></label>"
         "<span class=\"muted\">then press a version's button below; "
         "promoting archives the current Production version</span></form>",
         ui_csrf(p));
}

static void action_button(struct html *h, int version, const char *stage,
                          const char *cls, const char *label)
{
  html_f(h,
         "<button type=\"submit\" form=\"transition\" name=\"action\" "
         "value=\"%d:%s\" class=\"%s\">%s</button> ",
         version, stage, cls, label);
}

static void versions_table(struct ui_page *p, const struct registry_model *m)
{
  struct html *h = &p->h;
  html_raw(h, "<h2>Versions</h2><div class=\"scroll\"><table class=\"data "
              "sortable versions\"><thead><tr><th>Version</th><th>Stage</th>"
              "<th>Aliases</th><th>Source run</th><th>Artifact</th>"
              "<th>Size</th><th>SHA-256</th><th>Registered (UTC)</th>"
              "<th data-nosort>Actions</th></tr></thead><tbody>");
  for (size_t i = m->n_versions; i-- > 0;) { /* newest first */
    const struct registry_version *v = &m->versions[i];
    char t[32];
    html_f(h, "<tr data-version=\"%d\"><td class=\"num\">%d</td><td>",
           v->version, v->version);
    stage_badge(h, v->stage);
    html_raw(h, "</td><td>");
    aliases_of(h, m, v->version);
    html_raw(h, "</td><td>");
    if (v->run_id[0])
      ui_run_link(h, v->run_id, NULL);
    html_f(h,
           "</td><td class=\"mono\">%s</td><td class=\"num\">%lld</td>"
           "<td class=\"mono\" title=\"%s\">%.12s</td><td>%s</td><td>",
           v->artifact_path ? v->artifact_path : "", (long long)v->size,
           v->sha256, v->sha256, ui_time(v->created_at, t, sizeof(t)));
    if (strcmp(v->stage, "Production"))
      action_button(h, v->version, "Production", "promote",
                    "Promote to Production");
    if (strcmp(v->stage, "Staging") && strcmp(v->stage, "Production"))
      action_button(h, v->version, "Staging", "to-staging", "Stage");
    if (strcmp(v->stage, "Archived"))
      action_button(h, v->version, "Archived", "archive", "Archive");
    html_raw(h, "</td></tr>");
  }
  html_raw(h, "</tbody></table></div>");
}

static void audit_table(struct html *h, const struct registry_model *m)
{
  html_raw(h, "<h2>Audit log</h2>");
  if (m->n_audit == 0) {
    html_raw(h, "<p class=\"muted\">No stage changes yet.</p>");
    return;
  }
  html_raw(h, "<table class=\"data sortable audit\"><thead><tr><th>Time "
              "(UTC)</th><th>Version</th><th>Action</th><th>From</th>"
              "<th>To</th><th>Alias</th><th>Reason</th><th>Who</th></tr>"
              "</thead><tbody>");
  for (size_t i = m->n_audit; i-- > 0;) { /* newest first */
    const struct registry_audit *a = &m->audit[i];
    char t[32];
    html_f(h,
           "<tr><td data-v=\"%.3f\">%s</td><td class=\"num\">%d</td>"
           "<td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td>"
           "<td>%s</td></tr>",
           a->time, ui_time(a->time, t, sizeof(t)), a->version,
           a->action ? a->action : "", a->from_stage ? a->from_stage : "",
           a->to_stage ? a->to_stage : "", a->alias ? a->alias : "",
           a->reason ? a->reason : "", a->who ? a->who : "");
  }
  html_raw(h, "</tbody></table>");
}

int ui_page_model(struct ui_page *p, struct hv_err *err)
{
  char name[REGISTRY_MAX_NAME + 1];
  struct registry_model m;
  memset(&m, 0, sizeof(m));
  struct hv_db *db = NULL;
  if (model_name_of(p, name, err) || !(db = ui_db(p, err)) ||
      registry_db_get(db, name, &m, err))
    return err->code;
  snprintf(p->title, sizeof(p->title), "Model %s", name);
  char t0[32], t1[32];
  html_f(&p->h,
         "<h1>Model %s</h1><p>%s</p><p class=\"muted\">created %s UTC, "
         "updated %s UTC</p>",
         m.name, m.description ? m.description : "",
         ui_time(m.created_at, t0, sizeof(t0)),
         ui_time(m.updated_at, t1, sizeof(t1)));
  done_notice(p);
  transition_form(p, name);
  versions_table(p, &m);
  audit_table(&p->h, &m);
  registry_db_model_free(&m);
  return 0;
}

/* "VERSION:STAGE" from the pressed button. */
static int parse_action(const char *action, int *version, const char **stage,
                        struct hv_err *err)
{
  char buf[64];
  if (!action || !*action)
    return hv_err_set(err, HV_EINVAL,
                      "action: missing (expected VERSION:STAGE, e.g. "
                      "3:Production)");
  snprintf(buf, sizeof(buf), "%s", action);
  char *colon = strchr(buf, ':');
  if (!colon)
    return hv_err_set(err, HV_EINVAL,
                      "action: '%.40s' is not VERSION:STAGE", action);
  *colon = '\0';
  int64_t v;
  if (hv_parse_i64(buf, 1, INT_MAX, &v, "action version", err) ||
      registry_parse_stage(colon + 1, stage, err))
    return err->code;
  *version = (int)v;
  return 0;
}

int ui_page_transition(struct ui_page *p, struct hv_err *err)
{
  char name[REGISTRY_MAX_NAME + 1], who[64];
  if (model_name_of(p, name, err))
    return err->code;
  const char *csrf = srv_form(p->req, "csrf", err);
  if (!csrf && err->code)
    return err->code;
  /* who may: the route's policy (operator), enforced before this runs */
  if (ui_csrf_check(p, csrf, err))
    return err->code;
  snprintf(who, sizeof(who), "ui:%s", policy_caller(p->req)->who);
  int version = 0;
  const char *stage = NULL;
  if (parse_action(srv_form(p->req, "action", err), &version, &stage, err))
    return err->code;
  const char *reason = srv_form(p->req, "reason", err);
  struct hv_db *db = ui_db(p, err);
  if (!db || registry_transition(db, name, version, stage, 1,
                                 reason && *reason ? reason : "web UI", who,
                                 err))
    return err->code;
  snprintf(p->location, sizeof(p->location),
           "/ui/models/%s?moved=%d&to=%s", name, version, stage);
  return 0;
}
