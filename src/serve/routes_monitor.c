/*
 * routes_monitor.c - /monitor/evaluate (the served model's metrics on a
 * slice of ratings) and /monitor/reload_models (hot swap on demand).
 */
#include <stdio.h>

#include "model/model.h"
#include "serve/modelslot.h"
#include "serve/routes.h"
#include "store/api.h"

static json_t *segments_json(const struct eval_metrics *m)
{
  json_t *a = json_array();
  for (int i = 0; a && i < m->n_segments && i < EVAL_MAX_SEG; i++) {
    const struct eval_segment *s = &m->seg[i];
    json_array_append_new(
        a, json_pack("{s:s, s:I, s:I, s:f, s:f, s:f, s:f}", "segment",
                     s->name, "n_pairs", (json_int_t)s->n_pairs, "n_users",
                     (json_int_t)s->n_users, "top_10_categorical_accuracy",
                     s->top_10, "top_100_categorical_accuracy", s->top_100,
                     "recall_at_10", s->recall_at_10, "ndcg_at_10",
                     s->ndcg_at_10));
  }
  return a;
}

static json_t *metrics_json(const struct eval_metrics *m)
{
  json_t *j = json_pack(
      "{s:I, s:I, s:I, s:I, s:f, s:f, s:f, s:f, s:f, s:f, s:o}", "n_pairs",
      (json_int_t)m->n_pairs, "n_users", (json_int_t)m->n_users,
      "n_unknown_users", (json_int_t)m->n_unknown_users, "n_unknown_movies",
      (json_int_t)m->n_unknown_movies, "loss", m->loss, "loss_per_pair",
      m->loss_per_pair, "recall_at_10", m->recall_at_10, "recall_at_100",
      m->recall_at_100, "ndcg_at_10", m->ndcg_at_10, "coverage_at_10",
      m->coverage_at_10, "segments", segments_json(m));
  for (int k = 0; j && k < EVAL_NK; k++) {
    char key[48];
    snprintf(key, sizeof(key), "top_%d_categorical_accuracy", eval_ks[k]);
    json_object_set_new(j, key, json_real(m->top_k[k]));
  }
  return j;
}

int routes_evaluate(struct srv_req *req, struct srv_resp *resp,
                    struct hv_err *err)
{
  int64_t first, last;
  if (routes_query_int(req, "first_rating_id", 1, 0, 0, INT64_MAX, &first,
                       err) ||
      routes_query_int(req, "last_rating_id", 1, 0, 0, INT64_MAX, &last, err))
    return err->code;
  if (first > last)
    return hv_err_set(err, HV_EINVAL,
                      "first_rating_id: %lld is after last_rating_id %lld",
                      (long long)first, (long long)last);
  char why[320];
  struct modelslot_snap *snap = srv_model(req, why, sizeof(why));
  if (!snap) {
    resp->status = 503;
    return routes_json(resp, json_pack("{s:s}", "detail", why), err);
  }
  struct api_conn *c = srv_api(req, err);
  if (!c)
    return err->code;
  struct eval_metrics m;
  if (model_evaluate(api_db(c), snap->model, first, last, &m, err))
    return err->code;
  return routes_json(resp,
                     json_pack("{s:s, s:I, s:s, s:I, s:I, s:o}", "model",
                               snap->name, "version",
                               (json_int_t)snap->version, "stage",
                               snap->stage, "first_rating_id",
                               (json_int_t)first, "last_rating_id",
                               (json_int_t)last, "metrics", metrics_json(&m)),
                     err);
}

int routes_reload(struct srv_req *req, struct srv_resp *resp,
                  struct hv_err *err)
{
  json_t *summary = NULL;
  if (srv_reload(req, &summary, err))
    return err->code;
  return routes_json(resp, summary, err);
}
