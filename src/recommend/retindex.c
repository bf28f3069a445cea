/*
 * retindex.c - the retrieval index policy (see retindex.h).
 */
#include "recommend/retindex.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "model/ivf.h"
#include "model/model.h"
#include "track/artifacts.h"
#include "track/runs.h"
#include "util/fsutil.h"
#include "track/uri.h"

int retindex_parse_mode(const char *s, int *mode, struct hv_err *err)
{
  static const char *const names[] = {"auto", "exact", "ivf"};
  for (int i = 0; s && i < 3; i++)
    if (!strcmp(s, names[i])) {
      *mode = i;
      return 0;
    }
  return hv_err_set(err, HV_EUSAGE, "--index: '%s' is not one of exact, "
                    "ivf, auto", s ? s : "");
}

const char *retindex_mode_name(int mode)
{
  return mode == RETINDEX_EXACT ? "exact"
         : mode == RETINDEX_IVF ? "ivf"
                                : "auto";
}

void retindex_locate(const char *home, struct hv_db *db,
                     const struct uri_target *t, struct retindex_src *src)
{
  memset(src, 0, sizeof(*src));
  if (!t)
    return;
  struct hv_err e = {0};
  if (t->run_id[0] && t->artifact_path[0] && db) {
    /* the artifact beside the model's: same folder, RETINDEX_ARTIFACT's
     * name */
    char lp[1100];
    const char *slash = strrchr(t->artifact_path, '/');
    int dir = slash ? (int)(slash - t->artifact_path + 1) : 0;
    const char *base = strrchr(RETINDEX_ARTIFACT, '/') + 1;
    snprintf(lp, sizeof(lp), "%.*s%s", dir, t->artifact_path, base);
    int rc = artifacts_resolve(home, db, t->run_id, lp, NULL, src->path,
                               sizeof(src->path), &e);
    if (rc) {
      src->path[0] = 0;
      if (rc != HV_ENOTFOUND) {
        src->code = rc;
        snprintf(src->msg, sizeof(src->msg), "%s", e.msg);
      }
    }
    return;
  }
  struct stat st;
  if (snprintf(src->path, sizeof(src->path), "%s%s", t->path,
               RETINDEX_FILE_SUFFIX) >= (int)sizeof(src->path) ||
      stat(src->path, &st) != 0)
    src->path[0] = 0;
}

/* Load the stored index, or build one (mode ivf, none stored); refusals go
 * to r->why with *ix NULL. */
static int obtain(struct hv_model *m, const struct retindex_src *src,
                  int mode, struct hv_ivf **ix, struct retindex_result *r,
                  struct hv_err *err)
{
  struct hv_err e = {0};
  *ix = NULL;
  if (src && src->code) {
    snprintf(r->why, sizeof(r->why), "index refused (%s): exact scoring",
             src->msg);
    return 0;
  }
  if (src && src->path[0]) {
    int rc = ivf_load(src->path, ix, &e);
    if (rc == HV_ENOMEM)
      return hv_err_set(err, rc, "%s", e.msg);
    if (!rc)
      return 0;
    snprintf(r->why, sizeof(r->why), "index refused (%s): exact scoring",
             e.msg);
    return 0;
  }
  if (mode != RETINDEX_IVF) {
    snprintf(r->why, sizeof(r->why), "exact scoring: no index is stored "
             "with the model (training builds one from %d movies; --index "
             "ivf builds one at load)", RETINDEX_AUTO_MIN_MOVIES);
    return 0;
  }
  struct ivf_params p;
  ivf_params_defaults(&p);
  int rc = model_index_build(m, &p, RETINDEX_QUERIES, ix, &e);
  if (rc == HV_ENOMEM)
    return hv_err_set(err, rc, "%s", e.msg);
  if (rc)
    snprintf(r->why, sizeof(r->why), "index not built (%s): exact scoring",
             e.msg);
  r->built = !rc;
  return 0;
}

int retindex_apply(struct hv_model *m, const struct retindex_src *src,
                   int mode, double min_recall, struct retindex_result *r,
                   struct hv_err *err)
{
  if (!m || !r || mode < RETINDEX_AUTO || mode > RETINDEX_IVF ||
      !(min_recall > 0 && min_recall <= 1))
    return hv_err_set(err, HV_EINVAL, "index: need a model, a mode and a "
                      "floor in (0, 1]");
  *r = (struct retindex_result){.recall = -1};
  size_t nm = model_n_movies(m);
  if (mode == RETINDEX_EXACT || model_task(m) != MODEL_TASK_RETRIEVAL) {
    snprintf(r->why, sizeof(r->why), "exact scoring (%s)",
             mode == RETINDEX_EXACT ? "--index exact" : "a ranking model");
    return 0;
  }
  if (mode == RETINDEX_AUTO && nm < RETINDEX_AUTO_MIN_MOVIES) {
    snprintf(r->why, sizeof(r->why), "exact scoring: %zu movies is below "
             "the %d where the index starts (--index ivf to use one)", nm,
             RETINDEX_AUTO_MIN_MOVIES);
    return 0;
  }
  struct hv_ivf *ix = NULL;
  int rc = obtain(m, src, mode, &ix, r, err);
  if (rc || !ix)
    return rc;
  const struct ivf_info *in = ivf_info(ix);
  r->nlist = in->nlist;
  r->nprobe = in->nprobe;
  r->recall = in->recall;
  struct hv_err e = {0};
  if (in->recall < min_recall) {
    snprintf(r->why, sizeof(r->why), "index refused: its measured "
             "recall@%d %.4f is below the floor %.4f (--index-min-recall); "
             "exact scoring", in->recall_k, in->recall, min_recall);
  } else if (model_attach_index(m, ix, &e)) {
    snprintf(r->why, sizeof(r->why), "index refused (%s): exact scoring",
             e.msg);
  } else {
    r->used = 1;
    snprintf(r->why, sizeof(r->why), "ivf index%s: %d lists, %d probed, "
             "recall@%d %.4f (floor %.4f)", r->built ? " built at load" : "",
             in->nlist, in->nprobe, in->recall_k, in->recall, min_recall);
    return 0;
  }
  ivf_free(ix);
  return 0;
}

int retindex_build_for_run(const char *home, struct hv_db *db,
                           const char *run_id, const struct hv_model *m,
                           int mode, const char *out_path,
                           struct retindex_result *r, struct hv_err *err)
{
  if (!m || !r || !run_id)
    return hv_err_set(err, HV_EINVAL, "index: need a model and a run");
  *r = (struct retindex_result){.recall = -1};
  if (mode == RETINDEX_EXACT || model_task(m) != MODEL_TASK_RETRIEVAL ||
      model_n_movies(m) == 0 ||
      (mode == RETINDEX_AUTO &&
       model_n_movies(m) < RETINDEX_AUTO_MIN_MOVIES))
    return 0;
  struct ivf_params p;
  ivf_params_defaults(&p);
  struct hv_ivf *ix = NULL;
  double t0 = hv_mono();
  int rc = model_index_build(m, &p, RETINDEX_QUERIES, &ix, err);
  if (rc)
    return rc;
  double secs = hv_mono() - t0;
  const struct ivf_info *in = ivf_info(ix);
  size_t len;
  const unsigned char *img = ivf_image(ix, &len);
  rc = artifacts_put_bytes(home, db, run_id, RETINDEX_ARTIFACT, img, len,
                           NULL, err);
  char path[4200];
  if (!rc && out_path) {
    snprintf(path, sizeof(path), "%s%s", out_path, RETINDEX_FILE_SUFFIX);
    rc = ivf_save(ix, path, err);
  }
  struct tracking_metric mt[] = {
      {"index_recall_at_100", in->recall, 0, 0},
      {"index_nprobe", in->nprobe, 0, 0},
      {"index_nlist", in->nlist, 0, 0},
      {"index_build_seconds", secs, 0, 0},
  };
  if (!rc)
    rc = runs_log_metrics_batch(db, run_id, mt, sizeof(mt) / sizeof(mt[0]),
                                err);
  if (!rc) {
    *r = (struct retindex_result){1, 1, in->nlist, in->nprobe, in->recall,
                                  ""};
    snprintf(r->why, sizeof(r->why), "ivf index: %d lists, %d probed, "
             "recall@%d %.4f, built in %.2f s", in->nlist, in->nprobe,
             in->recall_k, in->recall, secs);
  }
  ivf_free(ix);
  return rc;
}
