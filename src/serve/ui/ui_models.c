/*
 * ui_models.c - the registry pages of the web UI: registered models, one
 * model's versions (stage, aliases, source run and its key metric beside
 * the baseline) and audit log, the promote / archive action and alias
 * editing.
 *
 * Design: a model page holds two POST forms (each with the CSRF token):
 * "transition" (a reason; every version row has submit buttons bound to it
 * with the form attribute, name "action", value "VERSION:STAGE") and
 * "alias" (an alias name and a version to point it at; every alias badge
 * has a remove button bound to it, name "delete", value the alias), so
 * each button works without JavaScript. Both need the CSRF token (ui.h)
 * and operator rights (the routes' policy, checked by the server before
 * the page runs: the signed-in account's session, ui_login.c; scripts may
 * still send a credential field or header). A transition calls
 * registry_transition with archive_existing, so promoting a version
 * archives the old Production one and moves @champion to it in the same
 * audited transaction (track/registry.h); the page says where @champion
 * stands against Production. Both answer 303 back to the model page with
 * a notice. A server polling the registry swaps the new Production model
 * in by itself.
 *
 * A version's key metric comes from its source run: test-split top-100
 * accuracy beside the popularity baseline (retrieval), RMSE beside the
 * mean-rating baseline (ranker), or the retraining hold-out's value for a
 * challenger; marked when it loses to its baseline.
 *
 * Threads: page functions run on one worker with its own connection.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve/ui/html.h"
#include "serve/http/modelslot.h"
#include "serve/http/policy.h"
#include "serve/http/routes.h"
#include "serve/ui/ui_internal.h"
#include "store/registry_db.h"
#include "store/tracking.h"
#include "track/registry.h"
#include "track/runs.h"
#include "util/parse.h"

static void model_href(struct html *h, const char *name)
{
  html_raw(h, "/ui/models/");
  html_url(h, name);
}

/* The versions of m in stage as "v3 v5 ". */
static void versions_in(struct html *h, const struct registry_model *m,
                        const char *stage)
{
  for (size_t k = 0; k < m->n_versions; k++)
    if (!strcmp(m->versions[k].stage, stage))
      html_f(h, "v%d ", m->versions[k].version);
}

static void models_row(struct html *h, const struct registry_model *m)
{
  char t[32];
  html_raw(h, "<tr><td><a href=\"");
  model_href(h, m->name);
  html_f(h, "\">%s</a></td><td class=\"num\">%zu</td><td>", m->name,
         m->n_versions);
  versions_in(h, m, "Production");
  html_raw(h, "</td><td>");
  versions_in(h, m, "Staging");
  html_raw(h, "</td><td>");
  for (size_t k = 0; k < m->n_aliases; k++)
    html_f(h, "<span class=\"alias\">@%s</span> v%d ", m->aliases[k].alias,
           m->aliases[k].version);
  html_f(h, "</td><td>%s</td><td>", ui_time(m->updated_at, t, sizeof(t)));
  ui_long_text(h, m->description);
  html_raw(h, "</td></tr>");
}

int ui_page_models(struct ui_page *p, struct hv_err *err)
{
  struct registry_model *models = NULL;
  size_t count = 0;
  snprintf(p->title, sizeof(p->title), "Models");
  struct hv_db *db = ui_db(p, err);
  if (!db || registry_db_list(db, &models, &count, err))
    return err->code;
  html_raw(&p->h, "<h1>Registered models</h1>");
  if (count == 0) {
    ui_empty(&p->h, "No model is registered yet.",
             "harvest tune --grid dim=16,32 --register harvest_recommender "
             "--stage Production");
    return 0;
  }
  html_raw(&p->h,
           "<div class=\"scroll\"><table class=\"data sortable models\">"
           "<thead><tr><th>Model</th><th>Versions</th><th>Production</th>"
           "<th>Staging</th><th>Aliases</th><th>Updated (UTC)</th>"
           "<th>Description</th></tr></thead><tbody>");
  for (size_t i = 0; i < count; i++)
    models_row(&p->h, &models[i]);
  html_raw(&p->h, "</tbody></table></div>");
  registry_db_models_free(models, count);
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

/* The notice after a redirect: "Version 3 moved to Production." or
 * "@champion now names version 3." / "@champion removed." (values
 * checked; anything else shows nothing). */
static void done_notice(struct ui_page *p)
{
  const char *v = srv_query(p->req, "moved"), *to = srv_query(p->req, "to");
  const char *alias = srv_query(p->req, "alias");
  int64_t version;
  const char *stage;
  if (alias && !registry_check_alias(alias, NULL)) {
    if (v && !hv_parse_i64(v, 1, INT_MAX, &version, "version", NULL))
      html_f(&p->h, "<div class=\"notice\" role=\"status\">@%s now names "
                    "version %lld.</div>",
             alias, (long long)version);
    else if (!v)
      html_f(&p->h, "<div class=\"notice\" role=\"status\">@%s removed."
                    "</div>",
             alias);
    return;
  }
  if (!v || !to || hv_parse_i64(v, 1, INT_MAX, &version, "moved", NULL) ||
      registry_parse_stage(to, &stage, NULL))
    return;
  html_f(&p->h, "<div class=\"notice\" role=\"status\">Version %lld moved "
                "to %s.</div>",
         (long long)version, stage);
}

/* The version in Production (0: none) and the one @champion names (0:
 * not set). */
static void production_and_champion(const struct registry_model *m,
                                    int *prod, int *champ)
{
  *prod = *champ = 0;
  for (size_t i = 0; i < m->n_versions; i++)
    if (!strcmp(m->versions[i].stage, "Production"))
      *prod = m->versions[i].version;
  for (size_t i = 0; i < m->n_aliases; i++)
    if (!strcmp(m->aliases[i].alias, REGISTRY_ALIAS_PRODUCTION))
      *champ = m->aliases[i].version;
}

/* Where @champion stands against Production, as the registry keeps it. */
static void champion_note(struct html *h, const struct registry_model *m)
{
  int prod, champ;
  production_and_champion(m, &prod, &champ);
  html_raw(h, "<p class=\"champion\">");
  if (prod && champ == prod)
    html_f(h, "<span class=\"alias\">@%s</span> names the Production "
              "version (v%d) and follows it: promoting another version "
              "moves it there in the same audited step.",
           REGISTRY_ALIAS_PRODUCTION, prod);
  else if (prod)
    html_f(h, "<b>@%s is not on Production:</b> Production is v%d, "
              "@%s %s (set by hand). The next promotion, or promoting v%d "
              "again, moves it to the Production version.",
           REGISTRY_ALIAS_PRODUCTION, prod, REGISTRY_ALIAS_PRODUCTION,
           champ ? "names another version" : "is not set", prod);
  else if (champ)
    html_f(h, "No version is in Production; <span class=\"alias\">@%s"
              "</span> names v%d (set by hand). Promoting a version moves "
              "it there.",
           REGISTRY_ALIAS_PRODUCTION, champ);
  else
    html_f(h, "No version is in Production and @%s is not set: promoting "
              "a version sets it.",
           REGISTRY_ALIAS_PRODUCTION);
  html_raw(h, "</p>");
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
         "promoting archives the current Production version and moves "
         "@%s to the new one</span></form>",
         ui_csrf(p), REGISTRY_ALIAS_PRODUCTION);
}

/* Set an alias on a version (a name and a version list); the remove
 * buttons beside each alias badge post this form too. */
static void alias_form(struct ui_page *p, const struct registry_model *m)
{
  struct html *h = &p->h;
  html_raw(h, "<form id=\"alias\" class=\"transition alias-form\" "
              "method=\"post\" action=\"");
  model_href(h, m->name);
  html_f(h,
         "/alias\"><input type=\"hidden\" name=\"csrf\" value=\"%s\">"
         "<label>Alias @<input type=\"text\" name=\"alias\" maxlength=\"%d\" "
         "pattern=\"[a-z0-9_\\-]+\" placeholder=\"challenger\"></label> "
         "<label>on version <select name=\"version\">",
         ui_csrf(p), REGISTRY_MAX_ALIAS);
  for (size_t i = m->n_versions; i-- > 0;)
    html_f(h, "<option value=\"%d\">v%d (%s)</option>",
           m->versions[i].version, m->versions[i].version,
           m->versions[i].stage);
  html_raw(h, "</select></label> <button type=\"submit\" name=\"set\" "
              "value=\"1\">Set alias</button> <span class=\"muted\">moves "
              "the alias when it is set; &times; beside an alias removes "
              "it</span></form>");
}

static void action_button(struct html *h, int version, const char *stage,
                          const char *cls, const char *label)
{
  html_f(h,
         "<button type=\"submit\" form=\"transition\" name=\"action\" "
         "value=\"%d:%s\" class=\"%s\">%s</button> ",
         version, stage, cls, label);
}

/* The aliases of version v of m as badges, each with a remove button. */
static void aliases_of(struct html *h, const struct registry_model *m, int v)
{
  for (size_t i = 0; i < m->n_aliases; i++)
    if (m->aliases[i].version == v)
      html_f(h,
             "<span class=\"alias\">@%s<button type=\"submit\" form=\"alias\" "
             "name=\"delete\" value=\"%s\" class=\"unalias\" "
             "formnovalidate title=\"remove @%s\" aria-label=\"remove "
             "@%s\">&times;</button></span>",
             m->aliases[i].alias, m->aliases[i].alias, m->aliases[i].alias,
             m->aliases[i].alias);
}

/* A version's key metric: the run's metric key (and its baseline's), the
 * label shown, and whether lower is better. */
struct key_metric {
  const char *key, *baseline, *label;
  int lower_better;
};

static const struct key_metric key_metrics[] = {
    {"top_100_categorical_accuracy",
     "baseline_popularity_top_100_categorical_accuracy", "top-100 (test)", 0},
    {"holdout_top_100_categorical_accuracy", NULL, "top-100 (hold-out)", 0},
    {"rmse", "baseline_mean_rmse", "RMSE (test)", 1},
    {"holdout_rmse", NULL, "RMSE (hold-out)", 1},
};

/* Two cells: the version's key metric and its baseline. */
static void metric_cells(struct html *h, const struct tracking_run *r)
{
  const struct key_metric *k = NULL;
  double v = NAN, b = NAN;
  for (size_t i = 0; r && !k && i < sizeof(key_metrics) /
                                        sizeof(key_metrics[0]); i++)
    if (!isnan(v = runs_metric(r, key_metrics[i].key)))
      k = &key_metrics[i];
  if (!k) {
    html_raw(h, "<td class=\"muted\">-</td><td class=\"muted\">-</td>");
    return;
  }
  if (k->baseline)
    b = runs_metric(r, k->baseline);
  int worse = !isnan(b) && (k->lower_better ? v > b : v < b);
  char a[32], c[32];
  html_f(h,
         "<td class=\"num%s\" data-v=\"%.17g\" title=\"%s\">%s "
         "<span class=\"muted\">%s</span></td>",
         worse ? " worse" : "", v, k->key, html_num(v, a, sizeof(a)),
         k->label);
  if (isnan(b))
    html_raw(h, "<td class=\"muted\">-</td>");
  else {
    html_f(h, "<td class=\"num\" title=\"%s\">%s", k->baseline,
           html_num(b, c, sizeof(c)));
    html_raw(h, worse ? " <span class=\"worse\">(model below it)</span></td>"
                      : "</td>");
  }
}

static int version_row(struct ui_page *p, struct hv_db *db,
                       const struct registry_model *m,
                       const struct registry_version *v, struct hv_err *err)
{
  struct html *h = &p->h;
  struct tracking_run *r = NULL;
  char t[32];
  struct hv_err rerr = {0};
  int rc = v->run_id[0] ? runs_get(db, v->run_id, &r, &rerr) : 0;
  if (rc && rc != HV_ENOTFOUND) /* a deleted run: the row shows its id */
    return hv_err_set(err, rc, "%s", rerr.msg);
  html_f(h, "<tr data-version=\"%d\"><td class=\"num\">%d</td><td>"
            "<span class=\"stage %s\">%s</span></td><td>",
         v->version, v->version, v->stage, v->stage);
  aliases_of(h, m, v->version);
  html_raw(h, "</td><td>");
  if (v->run_id[0])
    ui_run_link(h, v->run_id, r ? r->name : NULL);
  html_raw(h, "</td>");
  metric_cells(h, r);
  runs_free(r, r ? 1 : 0);
  html_f(h,
         "<td class=\"mono\">%s</td><td class=\"num\">%lld</td>"
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
  return 0;
}

static int versions_table(struct ui_page *p, struct hv_db *db,
                          const struct registry_model *m, struct hv_err *err)
{
  html_raw(&p->h,
           "<h2>Versions</h2><div class=\"scroll\"><table class=\"data "
           "sortable versions\"><thead><tr><th>Version</th><th>Stage</th>"
           "<th>Aliases</th><th>Source run</th><th>Key metric</th>"
           "<th>Baseline</th><th>Artifact</th><th>Size</th><th>SHA-256</th>"
           "<th>Registered (UTC)</th><th data-nosort>Actions</th></tr>"
           "</thead><tbody>");
  for (size_t i = m->n_versions; i-- > 0;) /* newest first */
    if (version_row(p, db, m, &m->versions[i], err))
      return err->code;
  html_raw(&p->h, "</tbody></table></div>");
  return 0;
}

static void audit_row(struct html *h, const struct registry_audit *a)
{
  char t[32];
  html_f(h,
         "<tr><td data-v=\"%.3f\">%s</td><td class=\"num\">%d</td>"
         "<td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>",
         a->time, ui_time(a->time, t, sizeof(t)), a->version,
         a->action ? a->action : "", a->from_stage ? a->from_stage : "",
         a->to_stage ? a->to_stage : "", a->alias ? a->alias : "");
  ui_long_text(h, a->reason);
  html_f(h, "</td><td>%s</td></tr>", a->who ? a->who : "");
}

static void audit_table(struct html *h, const struct registry_model *m)
{
  html_raw(h, "<h2>Audit log</h2>");
  if (m->n_audit == 0) {
    html_raw(h, "<p class=\"muted\">No stage changes yet.</p>");
    return;
  }
  html_raw(h, "<div class=\"scroll\"><table class=\"data sortable audit\">"
              "<thead><tr><th>Time (UTC)</th><th>Version</th><th>Action"
              "</th><th>From</th><th>To</th><th>Alias</th><th>Reason</th>"
              "<th>Who</th></tr></thead><tbody>");
  for (size_t i = m->n_audit; i-- > 0;) /* newest first */
    audit_row(h, &m->audit[i]);
  html_raw(h, "</tbody></table></div>");
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
  html_f(&p->h, "<h1>Model %s</h1><p>", m.name);
  ui_long_text(&p->h, m.description);
  html_f(&p->h, "</p><p class=\"muted\">created %s UTC, updated %s UTC</p>",
         ui_time(m.created_at, t0, sizeof(t0)),
         ui_time(m.updated_at, t1, sizeof(t1)));
  done_notice(p);
  champion_note(&p->h, &m);
  transition_form(p, name);
  if (m.n_versions)
    alias_form(p, &m);
  int rc = versions_table(p, db, &m, err);
  if (!rc)
    audit_table(&p->h, &m);
  registry_db_model_free(&m);
  return rc;
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

/* The checks every registry form post passes first: the model name, the
 * CSRF token (who may: the route's policy, operator, enforced before this
 * runs), and the audit log's who ("ui:account:alice"). */
static int form_start(struct ui_page *p, char name[REGISTRY_MAX_NAME + 1],
                      char who[64], struct hv_err *err)
{
  if (model_name_of(p, name, err))
    return err->code;
  const char *csrf = srv_form(p->req, "csrf", err);
  if (!csrf && err->code)
    return err->code;
  if (ui_csrf_check(p, csrf, err))
    return err->code;
  snprintf(who, 64, "ui:%s", policy_caller(p->req)->who);
  return 0;
}

int ui_page_transition(struct ui_page *p, struct hv_err *err)
{
  char name[REGISTRY_MAX_NAME + 1], who[64];
  int version = 0;
  const char *stage = NULL;
  if (form_start(p, name, who, err) ||
      parse_action(srv_form(p->req, "action", err), &version, &stage, err))
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

int ui_page_alias(struct ui_page *p, struct hv_err *err)
{
  char name[REGISTRY_MAX_NAME + 1], who[64];
  if (form_start(p, name, who, err))
    return err->code;
  const char *del = srv_form(p->req, "delete", err);
  const char *alias = del && *del ? del : srv_form(p->req, "alias", err);
  if (alias && *alias == '@') /* "@champion" as the page writes it */
    alias++;
  if (!alias || !*alias)
    return hv_err_set(err, HV_EINVAL,
                      "alias: missing (a name of a-z, 0-9, '_' and '-', "
                      "e.g. challenger)");
  if (registry_check_alias(alias, err))
    return err->code;
  struct hv_db *db = ui_db(p, err);
  if (!db)
    return err->code;
  if (del && *del) {
    if (registry_delete_alias(db, name, alias, who, err))
      return err->code;
    snprintf(p->location, sizeof(p->location), "/ui/models/%s?alias=%s",
             name, alias);
    return 0;
  }
  const char *vs = srv_form(p->req, "version", err);
  int64_t version = 0;
  if (!vs || !*vs)
    return hv_err_set(err, HV_EINVAL, "version: missing (the version to "
                                      "point @%s at)", alias);
  if (hv_parse_i64(vs, 1, INT_MAX, &version, "version", err) ||
      registry_set_alias(db, name, alias, (int)version, who, err))
    return err->code;
  snprintf(p->location, sizeof(p->location),
           "/ui/models/%s?alias=%s&moved=%lld", name, alias,
           (long long)version);
  return 0;
}
