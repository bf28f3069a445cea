/*
 * eval_metrics.c - struct eval_metrics as JSON: see eval_metrics.h.
 */
#include "train/eval_metrics.h"

#include <math.h>

#include "model/eval.h"

#include <stdio.h>

void eval_absent_segments(unsigned absent, char *buf, size_t cap)
{
  static const unsigned kinds[2] = {DATASET_UF_GENDER, DATASET_UF_AGE};
  size_t o = 0;
  if (!buf || !cap)
    return;
  buf[0] = '\0';
  for (int i = 0; i < 2; i++)
    if ((absent & kinds[i]) && o < cap)
      o += (size_t)snprintf(buf + o, cap - o, "%s%s", o ? ", " : "",
                            dataset_user_feature_name(kinds[i]));
}

/* segments_not_in_dataset into j when the dataset lacks a segment kind. */
static json_t *with_absent(json_t *j, unsigned absent)
{
  static const unsigned kinds[2] = {DATASET_UF_GENDER, DATASET_UF_AGE};
  if (!j || !(absent & (DATASET_UF_GENDER | DATASET_UF_AGE)))
    return j;
  json_t *a = json_array();
  for (int i = 0; a && i < 2; i++)
    if (absent & kinds[i])
      json_array_append_new(a, json_string(dataset_user_feature_name(kinds[i])));
  if (!a || json_object_set_new(j, "segments_not_in_dataset", a)) {
    json_decref(j);
    return NULL;
  }
  return j;
}

json_t *eval_metrics_to_json(const struct eval_metrics *m)
{
  if (!m)
    return NULL;
  json_t *j = json_object(), *segs = json_array();
  if (!j || !segs) {
    json_decref(j);
    json_decref(segs);
    return NULL;
  }
  char key[48];
  for (int k = 0; k < EVAL_NK; k++) {
    snprintf(key, sizeof(key), "top_%d_categorical_accuracy", eval_ks[k]);
    json_object_set_new(j, key, json_real(m->top_k[k]));
  }
  json_object_set_new(j, "loss", json_real(m->loss));
  json_object_set_new(j, "loss_per_pair", json_real(m->loss_per_pair));
  json_object_set_new(j, "recall_at_10", json_real(m->recall_at_10));
  json_object_set_new(j, "recall_at_100", json_real(m->recall_at_100));
  json_object_set_new(j, "ndcg_at_10", json_real(m->ndcg_at_10));
  json_object_set_new(j, "coverage_at_10", json_real(m->coverage_at_10));
  json_object_set_new(j, "n_pairs", json_integer((json_int_t)m->n_pairs));
  json_object_set_new(j, "n_users", json_integer((json_int_t)m->n_users));
  json_object_set_new(j, "n_unknown_users",
                      json_integer((json_int_t)m->n_unknown_users));
  json_object_set_new(j, "n_unknown_movies",
                      json_integer((json_int_t)m->n_unknown_movies));
  for (int s = 0; s < m->n_segments && s < EVAL_MAX_SEG; s++) {
    const struct eval_segment *g = &m->seg[s];
    json_array_append_new(
        segs, json_pack("{s:s, s:I, s:I, s:f, s:f, s:f, s:f}", "segment",
                        g->name, "n_pairs", (json_int_t)g->n_pairs,
                        "n_users", (json_int_t)g->n_users,
                        "top_10_categorical_accuracy", g->top_10,
                        "top_100_categorical_accuracy", g->top_100,
                        "recall_at_10", g->recall_at_10, "ndcg_at_10",
                        g->ndcg_at_10));
  }
  json_object_set_new(j, "segments", segs);
  return with_absent(j, m->absent);
}

json_t *rank_metrics_to_json(const struct rank_metrics *m)
{
  if (!m)
    return NULL;
  json_t *segs = json_array();
  for (int s = 0; segs && s < EVAL_NSEG; s++) {
    if (!m->seg_n[s])
      continue;
    char name[24];
    eval_segment_name(s, name, sizeof(name));
    json_array_append_new(
        segs, json_pack("{s:s, s:I, s:f, s:f}", "segment", name, "n_pairs",
                        (json_int_t)m->seg_n[s], "rmse", m->seg_rmse[s],
                        "mae", m->seg_mae[s]));
  }
  return with_absent(
      json_pack("{s:f, s:f, s:I, s:f, s:o}", "rmse",
                isfinite(m->rmse) ? m->rmse : 0.0, "mae",
                isfinite(m->mae) ? m->mae : 0.0, "n_pairs", (json_int_t)m->n,
                "rmse_segment_gap", m->seg_rmse_gap, "segments", segs),
      m->absent);
}
