/*
 * ui_data.c - the data pages of the web UI: the catalogue's counts,
 * rating histogram and top movies, and one user's page with their ratings
 * and their current recommendations from the model this server serves.
 *
 * Design: the data page is stats_summary (a handful of aggregate queries);
 * the user page reads the user's row and ratings through the API
 * connection and asks the served snapshot (srv_model) for the top 10
 * movies the user has not rated, with the same recommend_user call and
 * per-thread scratch as GET /movies/recommend. Titles come from data
 * files and users, so every one is escaped (html_f's %s).
 *
 * Threads: page functions run on one worker with its own connection.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "recommend/recommend.h"
#include "serve/ui/html.h"
#include "serve/http/modelslot.h"
#include "serve/http/routes.h"
#include "serve/http/server.h"
#include "serve/ui/svg.h"
#include "serve/ui/ui_internal.h"
#include "store/catalog.h"
#include "store/ratings.h"
#include "store/stats.h"
#include "util/parse.h"

#define USER_RATINGS_SHOWN 500
#define USER_RECS 10

static void card(struct html *h, const char *label, const char *value)
{
  html_f(h, "<div class=\"card\"><div class=\"v\">%s</div><div class=\"k\">"
            "%s</div></div>",
         value, label);
}

static void cards_counts(struct html *h, const struct stats_summary *st)
{
  char v[64], a[32], b[32];
  html_raw(h, "<div class=\"cards\">");
  snprintf(v, sizeof(v), "%lld", (long long)st->n.users);
  card(h, "users", v);
  snprintf(v, sizeof(v), "%lld", (long long)st->n.movies);
  card(h, "movies", v);
  snprintf(v, sizeof(v), "%lld", (long long)st->n.ratings);
  card(h, "ratings", v);
  snprintf(v, sizeof(v), "%lld", (long long)st->n.genres);
  card(h, "genres", v);
  snprintf(v, sizeof(v), "%.1f", st->days);
  card(h, "days of ratings", v);
  snprintf(v, sizeof(v), "%.4f", st->sparsity);
  card(h, "sparsity", v);
  snprintf(v, sizeof(v), "%s", html_num(st->per_user.median, a, sizeof(a)));
  card(h, "median ratings per user", v);
  snprintf(v, sizeof(v), "%s", html_num(st->per_movie.median, b, sizeof(b)));
  card(h, "median ratings per movie", v);
  html_raw(h, "</div>");
  char t0[32], t1[32];
  html_f(h, "<p class=\"muted\">Ratings from %s to %s UTC, rating_id %lld "
            "to %lld.</p>",
         ui_time((double)st->n.first_ts, t0, sizeof(t0)),
         ui_time((double)st->n.last_ts, t1, sizeof(t1)),
         (long long)st->n.first_rating_id, (long long)st->n.last_rating_id);
}

static void histogram(struct html *h, const struct stats_summary *st)
{
  char lab[STATS_HIST][8];
  const char *labels[STATS_HIST];
  double values[STATS_HIST];
  for (int i = 0; i < st->n_hist; i++) {
    snprintf(lab[i], sizeof(lab[i]), "%g", st->hist[i].rating);
    labels[i] = lab[i];
    values[i] = (double)st->hist[i].count;
  }
  struct svg_bar_opts o = {.width = 560, .height = 260,
                           .title = "Rating histogram", .x_label = "rating",
                           .y_label = "ratings"};
  html_raw(h, "<h2>Ratings</h2>");
  svg_bar_chart(h, &o, labels, values, (size_t)st->n_hist);
}

static void top_movies(struct html *h, const struct stats_summary *st)
{
  html_raw(h, "<h2>Most rated movies</h2><table class=\"data sortable top\">"
              "<thead><tr><th>Movie id</th><th>Title</th><th>Ratings</th>"
              "<th>Mean rating</th></tr></thead><tbody>");
  for (int i = 0; i < st->n_top; i++)
    html_f(h,
           "<tr><td class=\"num\">%lld</td><td>%s</td><td class=\"num\">%lld"
           "</td><td class=\"num\">%.2f</td></tr>",
           (long long)st->top[i].movie_id, st->top[i].title,
           (long long)st->top[i].count, st->top[i].mean_rating);
  html_raw(h, "</tbody></table>");
}

int ui_page_data(struct ui_page *p, struct hv_err *err)
{
  struct hv_db *db = ui_db(p, err);
  struct stats_summary *st = calloc(1, sizeof(*st));
  if (!st)
    return hv_err_set(err, HV_ENOMEM, "out of memory");
  if (!db || stats_summary(db, st, err)) {
    free(st);
    return err->code;
  }
  snprintf(p->title, sizeof(p->title), "Data");
  html_raw(&p->h, "<h1>Data</h1>");
  struct stats_dataset ds;
  struct hv_err derr = {0};
  if (stats_dataset_latest(db, &ds, &derr) == 0) {
    char t[32];
    html_f(&p->h, "<p class=\"dataset\">Dataset <b>%s</b> loaded %s UTC "
                  "from <span class=\"mono\">%.300s</span></p>",
           ds.name, ui_time(ds.imported_at, t, sizeof(t)), ds.source);
  }
  if (st->n.ratings == 0 && st->n.movies == 0)
    ui_empty(&p->h, "The database holds no data yet.",
             "harvest data synth   (or: harvest data fetch ml-100k)");
  cards_counts(&p->h, st);
  html_raw(&p->h, "<form method=\"get\" action=\"/ui/users\"><label>User id "
                  "<input type=\"number\" name=\"id\" min=\"0\" required>"
                  "</label> <button type=\"submit\">Show user</button>"
                  "</form>");
  if (st->n_hist)
    histogram(&p->h, st);
  if (st->n_top)
    top_movies(&p->h, st);
  free(st);
  return 0;
}

/* ---- a user ------------------------------------------------------------------- */

static int user_row(void *ctx, const struct catalog_user_row *u)
{
  struct html *h = ctx;
  char age[16] = "-";
  if (u->raw_age >= 0)
    snprintf(age, sizeof(age), "%d", u->raw_age);
  html_f(h,
         "<table class=\"data user\"><tbody><tr><th>User id</th><td>%lld"
         "</td></tr><tr><th>Age</th><td>%s</td></tr><tr><th>Gender</th>"
         "<td>%s</td></tr><tr><th>Occupation</th><td>%s</td></tr>"
         "<tr><th>Zip code</th><td>%s</td></tr></tbody></table>",
         (long long)u->id, age, u->gender ? u->gender : "-",
         u->occupation_text ? u->occupation_text : "-",
         u->zip_code ? u->zip_code : "-");
  return 0;
}

struct rating_list {
  struct ratings_row *rows; /* title and source strdup'd */
  size_t n, cap, total;
};

static int rating_add(void *ctx, const struct ratings_row *r)
{
  struct rating_list *l = ctx;
  l->total++;
  if (l->n == l->cap) {
    size_t nc = l->cap ? l->cap * 2 : 64;
    struct ratings_row *p = realloc(l->rows, nc * sizeof(*p));
    if (!p)
      return HV_ENOMEM;
    l->rows = p;
    l->cap = nc;
  }
  struct ratings_row *c = &l->rows[l->n];
  *c = *r;
  c->title = strdup(r->title ? r->title : "");
  c->source = strdup(r->source ? r->source : "");
  if (!c->title || !c->source) {
    free((char *)c->title);
    free((char *)c->source);
    return HV_ENOMEM;
  }
  l->n++;
  return 0;
}

static void rating_list_free(struct rating_list *l)
{
  for (size_t i = 0; i < l->n; i++) {
    free((char *)l->rows[i].title);
    free((char *)l->rows[i].source);
  }
  free(l->rows);
}

static void ratings_table(struct html *h, const struct rating_list *l)
{
  html_f(h, "<h2>Ratings (%zu)</h2>", l->total);
  if (l->total == 0) {
    html_raw(h, "<p class=\"muted\">This user has rated nothing.</p>");
    return;
  }
  size_t first = l->n > USER_RATINGS_SHOWN ? l->n - USER_RATINGS_SHOWN : 0;
  if (first)
    html_f(h, "<p class=\"muted\">The newest %d are shown.</p>",
           USER_RATINGS_SHOWN);
  html_raw(h, "<table class=\"data sortable ratings\"><thead><tr><th>When "
              "(UTC)</th><th>Movie id</th><th>Title</th><th>Rating</th>"
              "<th>Source</th></tr></thead><tbody>");
  for (size_t i = l->n; i-- > first;) { /* newest first */
    const struct ratings_row *r = &l->rows[i];
    char t[32];
    html_f(h,
           "<tr><td data-v=\"%lld\">%s</td><td class=\"num\">%lld</td>"
           "<td>%s</td><td class=\"num\">%g</td><td>%s</td></tr>",
           (long long)r->timestamp, ui_time((double)r->timestamp, t,
                                            sizeof(t)),
           (long long)r->movie_id, r->title, r->rating, r->source);
  }
  html_raw(h, "</tbody></table>");
}

/* The title of id from the snapshot's cache (the caller frees it). */
static json_t *snap_title(const struct modelslot_snap *snap, int64_t id)
{
  size_t len = 0;
  const char *lit = modelslot_title(snap, id, &len);
  return lit ? json_loadb(lit, len, JSON_DECODE_ANY, NULL) : NULL;
}

static const char *title_text(const json_t *t)
{
  return json_string_value(t) ? json_string_value(t) : "(unknown title)";
}

/* Why w's movie is listed: its nearest rated movies and, when ranked, the
 * ranker's contributions (recommend_explain, as ?explain=true). */
static void why_line(struct html *h, const struct modelslot_snap *snap,
                     const struct recommend_why *w)
{
  if (w->n_neighbours)
    html_raw(h, "<div class=\"why muted\">near movies they rated: ");
  for (int j = 0; j < w->n_neighbours; j++) {
    json_t *t = snap_title(snap, w->neighbour_id[j]);
    html_f(h, "%s%s (rated %g, similarity %.2f)", j ? "; " : "",
           title_text(t), (double)w->neighbour_rating[j],
           (double)w->neighbour_sim[j]);
    json_decref(t);
  }
  if (w->n_neighbours)
    html_raw(h, "</div>");
  if (!w->ranked)
    return;
  html_f(h, "<div class=\"why muted\">predicted rating %.2f; ranker, by "
            "ablation:", (double)w->predicted);
  for (int g = 0; g < RANK_NGROUPS; g++)
    html_f(h, " %s %+.2f", model_rank_group_names[g], (double)w->contrib[g]);
  html_raw(h, "</div>");
}

/* The list of q's answer l with its explanations. */
static void recs_list(struct ui_page *p, struct hv_db *c,
                      const struct modelslot_snap *snap,
                      const struct recommend_query *q,
                      const struct recommend_list *l)
{
  struct html *h = &p->h;
  struct recommend_why why[USER_RECS];
  struct hv_err e = {0};
  int explained = recommend_explain(c, q, l, why, &e) == 0;
  html_f(h, "<p class=\"muted\">Top %d movies the user has not rated, from "
            "%s (%s).</p><ol class=\"recs\">",
         l->k, snap->version_text,
         l->ranked ? recommend_stage_names[q->order] : "retrieval");
  for (int i = 0; i < l->k; i++) {
    json_t *t = snap_title(snap, l->movie_ids[i]);
    html_f(h, "<li>%s <span class=\"muted\">(movie %lld, score %.3f)</span>",
           title_text(t), (long long)l->movie_ids[i], (double)l->scores[i]);
    json_decref(t);
    if (explained)
      why_line(h, snap, &why[i]);
    html_raw(h, "</li>");
  }
  html_raw(h, "</ol>");
}

static void recommendations(struct ui_page *p, struct hv_db *c,
                            int64_t uid)
{
  struct html *h = &p->h;
  char why[320];
  struct modelslot_snap *snap = srv_model(p->req, why, sizeof(why));
  html_raw(h, "<h2>Current recommendations</h2>");
  if (!snap) {
    ui_empty(h, why, "harvest models register ... --stage Production");
    return;
  }
  struct recommend_list l;
  struct hv_err e = {0};
  if (srv_scratch(p->req, snap, USER_RECS, &l)) {
    ui_error_box(h, "out of memory");
    return;
  }
  /* the server's own pipeline, as GET /movies/recommend answers */
  const struct serve_config *cfg = srv_config(p->req);
  struct modelslot_snap *ranker =
      cfg->stage == RECOMMEND_STAGE_RETRIEVAL ? NULL : srv_ranker(p->req);
  struct recommend_query q = {.model = snap->model, .user = uid,
                              .n = USER_RECS, .exclude_rated = 1,
                              .ranker = ranker ? ranker->model : NULL,
                              .order = cfg->stage, .blend = cfg->blend,
                              .candidates = cfg->candidates};
  int rc = recommend_user(c, &q, &l, &e);
  if (rc == HV_ENOTFOUND)
    html_f(h, "<p class=\"muted\">The served model (%s) was trained before "
              "this user existed; a retrained model will know them.</p>",
           snap->version_text);
  else if (rc)
    ui_error_box(h, e.msg);
  else
    recs_list(p, c, snap, &q, &l);
  modelslot_release(ranker);
}

int ui_page_user(struct ui_page *p, struct hv_err *err)
{
  int64_t uid;
  const char *q = srv_query(p->req, "id");
  if (p->req->match.n_captures > 0) {
    if (routes_path_int(p->req, 0, 0, INT64_MAX, "user id", &uid, err))
      return err->code;
  } else if (!q) {
    return hv_err_set(err, HV_EINVAL, "id: the user id is required "
                                      "(/ui/users/ID)");
  } else if (hv_parse_i64(q, 0, INT64_MAX, &uid, "user id", err)) {
    return err->code;
  }
  struct hv_db *c = srv_db(p->req, err);
  if (!c)
    return err->code;
  snprintf(p->title, sizeof(p->title), "User %lld", (long long)uid);
  html_f(&p->h, "<h1>User %lld</h1>", (long long)uid);
  if (catalog_user_get(c, uid, user_row, &p->h, err))
    return err->code;
  struct rating_list l = {0};
  int rc = ratings_user_each(c, uid, rating_add, &l, err);
  if (rc) {
    rating_list_free(&l);
    return err->msg[0] ? rc : hv_err_set(err, rc, "out of memory");
  }
  recommendations(p, c, uid);
  ratings_table(&p->h, &l);
  rating_list_free(&l);
  return 0;
}
