/*
 * trainrun.c - train as a tracked run, config fields by name, metric names
 * and the SIGINT guard: see trainrun.h.
 */
#include "train/trainrun.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "model/eval.h"
#include "store/db.h"
#include "track/artifacts.h"
#include "train/dataset.h"
#include "track/runs.h"
#include "track/uri.h"
#include "util/fsutil.h"
#include "util/parse.h"
#include "util/sigfwd.h"

/* ---- config fields by name ---------------------------------------------- */

enum field_type { F_INT, F_U64, F_I64, F_F64, F_BOOL, F_OPT, F_TASK, F_RANGE };

struct field {
  const char *name;
  enum field_type type;
  double min, max; /* F_INT / F_U64 / F_I64 / F_F64 */
  size_t off;      /* offset in struct train_config (not F_RANGE) */
};

#define OFF(f) offsetof(struct train_config, f)
/* Ranges are those of the `harvest train` flags (cmd_train.c before the
 * flags moved here), inside train_config_check's. */
static const struct field fields[] = {
    {"dim", F_INT, 1, 1024, OFF(dim)},
    {"lr", F_F64, 1e-9, 100, OFF(lr)},
    {"optimizer", F_OPT, 0, 0, OFF(optimizer)},
    {"epochs", F_INT, 0, 10000, OFF(epochs)},
    {"batch", F_INT, 1, 1 << 20, OFF(batch)},
    {"split", F_F64, 1e-9, 1, OFF(split)},
    {"seed", F_U64, 0, 0, OFF(seed)},
    {"features", F_BOOL, 0, 1, OFF(features)},
    {"l2", F_F64, 0, 1e6, OFF(l2)},
    {"temperature", F_F64, 1e-5, 1e6, OFF(temperature)},
    {"logq", F_BOOL, 0, 1, OFF(logq)},
    {"remove_accidental_hits", F_BOOL, 0, 1, OFF(remove_accidental_hits)},
    {"threads", F_INT, 1, 256, OFF(threads)},
    {"eval_every", F_INT, 0, 10000, OFF(eval_every)},
    {"init_scale", F_F64, 0, 1, OFF(init_scale)},
    {"first_rating_id", F_I64, 0, 0, OFF(first_rating_id)},
    {"last_rating_id", F_I64, 0, 0, OFF(last_rating_id)},
    {"task", F_TASK, 0, 0, OFF(task)},
    {"hidden", F_INT, 0, 1024, OFF(hidden)},
    {"ratings", F_RANGE, 0, 0, 0},
};
#define N_FIELDS (sizeof(fields) / sizeof(fields[0]))

static const struct field *field_find(const char *key)
{
  char norm[64];
  size_t n = key ? strlen(key) : 0;
  if (n == 0 || n >= sizeof(norm))
    return NULL;
  for (size_t i = 0; i <= n; i++)
    norm[i] = key[i] == '-' ? '_' : key[i];
  for (size_t i = 0; i < N_FIELDS; i++)
    if (!strcmp(fields[i].name, norm))
      return &fields[i];
  return NULL;
}

const char *trainrun_config_key(const char *key)
{
  const struct field *f = field_find(key);
  return f ? f->name : NULL;
}

const char *trainrun_config_field(size_t i)
{
  return i < N_FIELDS ? fields[i].name : NULL;
}

/* Append name to the ", "-separated list in buf (o bytes so far, cap in
 * all, cut as snprintf cuts); returns the new length, >= cap once full. */
static size_t list_add(char *buf, size_t cap, size_t o, const char *name)
{
  if (o >= cap)
    return o;
  return o + (size_t)snprintf(buf + o, cap - o, "%s%s", o ? ", " : "", name);
}

void trainrun_config_keys(char *buf, size_t cap)
{
  _Static_assert(N_FIELDS > 0, "the first name terminates buf");
  size_t o = 0;
  for (size_t i = 0; i < N_FIELDS; i++)
    o = list_add(buf, cap, o, fields[i].name);
}

static int parse_bool(const char *v, int *out)
{
  static const char *const yes[] = {"true", "1", "on", "yes"};
  static const char *const no[] = {"false", "0", "off", "no"};
  for (size_t i = 0; v && i < 4; i++) {
    if (!strcasecmp(v, yes[i]))
      return *out = 1, 0;
    if (!strcasecmp(v, no[i]))
      return *out = 0, 0;
  }
  return -1;
}

/* *out = va when value is a, vb when it is b; else HV_EINVAL naming
 * both. */
static int one_of(const char *value, const char *a, int va, const char *b,
                  int vb, int *out, const char *what, struct hv_err *err)
{
  if (value && !strcmp(value, a))
    *out = va;
  else if (value && !strcmp(value, b))
    *out = vb;
  else
    return hv_err_set(err, HV_EINVAL, "%s: '%.64s' is not %s or %s", what,
                      value ? value : "", a, b);
  return 0;
}

int trainrun_config_set(struct train_config *c, const char *key,
                        const char *value, const char *what,
                        struct hv_err *err)
{
  const struct field *f = field_find(key);
  char *base = (char *)c;
  int64_t i64 = 0;
  double d = 0;
  int b = 0;
  if (!what)
    what = key ? key : "(null)";
  if (!c)
    return hv_err_set(err, HV_EINVAL, "%s: no configuration", what);
  if (!f) {
    char names[512];
    trainrun_config_keys(names, sizeof(names));
    return hv_err_set(err, HV_ENOTFOUND,
                      "%s: unknown train setting '%.64s'; known: %s", what,
                      key ? key : "(null)", names);
  }
  switch (f->type) {
  case F_INT:
    if (hv_parse_i64(value, (int64_t)f->min, (int64_t)f->max, &i64, what,
                     err))
      return HV_EINVAL;
    *(int *)(base + f->off) = (int)i64;
    return 0;
  case F_U64:
    if (hv_parse_i64(value, 0, INT64_MAX, &i64, what, err))
      return HV_EINVAL;
    *(uint64_t *)(base + f->off) = (uint64_t)i64;
    return 0;
  case F_I64:
    if (hv_parse_i64(value, 0, INT64_MAX, &i64, what, err))
      return HV_EINVAL;
    *(int64_t *)(base + f->off) = i64;
    return 0;
  case F_F64:
    if (hv_parse_f64(value, f->min, f->max, &d, what, err))
      return HV_EINVAL;
    *(double *)(base + f->off) = d;
    return 0;
  case F_BOOL:
    if (parse_bool(value, &b))
      return hv_err_set(err, HV_EINVAL,
                        "%s: '%.64s' is not true/false (or 1/0, on/off, "
                        "yes/no)", what, value ? value : "");
    *(int *)(base + f->off) = b;
    return 0;
  case F_OPT:
    return one_of(value, "adagrad", MODEL_OPT_ADAGRAD, "adam", MODEL_OPT_ADAM,
                  &c->optimizer, what, err);
  case F_TASK:
    return one_of(value, "retrieval", MODEL_TASK_RETRIEVAL, "ranking",
                  MODEL_TASK_RANKING, &c->task, what, err);
  case F_RANGE:
    return hv_parse_range(value, &c->first_rating_id, &c->last_rating_id,
                          what, err) ? HV_EINVAL : 0;
  }
  return hv_err_set(err, HV_EINTERNAL, "%s: unhandled field type", what);
}

/* Shortest "%.Ng" that reads back as v (Python's repr for most values). */
static void fmt_double(double v, char *buf, size_t cap)
{
  for (int p = 1; p <= 17; p++) {
    snprintf(buf, cap, "%.*g", p, v);
    if (strtod(buf, NULL) == v)
      return;
  }
}

int trainrun_config_get(const struct train_config *c, const char *key,
                        char *buf, size_t cap)
{
  const struct field *f = field_find(key);
  const char *base = (const char *)c;
  if (!f || !c || !buf || !cap)
    return HV_ENOTFOUND;
  switch (f->type) {
  case F_INT:
    snprintf(buf, cap, "%d", *(const int *)(base + f->off));
    break;
  case F_U64:
    snprintf(buf, cap, "%llu",
             (unsigned long long)*(const uint64_t *)(base + f->off));
    break;
  case F_I64:
    snprintf(buf, cap, "%lld", (long long)*(const int64_t *)(base + f->off));
    break;
  case F_F64:
    fmt_double(*(const double *)(base + f->off), buf, cap);
    break;
  case F_BOOL:
    snprintf(buf, cap, "%s", *(const int *)(base + f->off) ? "true" : "false");
    break;
  case F_OPT:
    snprintf(buf, cap, "%s",
             c->optimizer == MODEL_OPT_ADAM ? "adam" : "adagrad");
    break;
  case F_TASK:
    snprintf(buf, cap, "%s",
             c->task == MODEL_TASK_RANKING ? "ranking" : "retrieval");
    break;
  case F_RANGE:
    snprintf(buf, cap, "%lld:%lld", (long long)c->first_rating_id,
             (long long)c->last_rating_id);
    break;
  }
  return 0;
}

json_t *trainrun_config_json(const struct train_config *c)
{
  if (!c)
    return NULL;
  json_t *j = json_pack(
      "{s:i, s:f, s:s, s:i, s:i, s:f, s:I, s:b, s:f, s:f, s:b, s:b, s:i, "
      "s:f, s:I, s:I}",
      "dim", c->dim, "lr", c->lr, "optimizer",
      c->optimizer == MODEL_OPT_ADAM ? "adam" : "adagrad", "epochs",
      c->epochs, "batch", c->batch, "split", c->split, "seed",
      (json_int_t)c->seed, "features", c->features, "l2", c->l2,
      "temperature", c->temperature, "logq", c->logq,
      "remove_accidental_hits", c->remove_accidental_hits, "threads",
      c->threads, "init_scale", c->init_scale, "first_rating_id",
      (json_int_t)c->first_rating_id, "last_rating_id",
      (json_int_t)c->last_rating_id);
  if (j && c->task == MODEL_TASK_RANKING &&
      json_object_update_new(j, json_pack("{s:s, s:i}", "task", "ranking",
                                          "hidden", c->hidden))) {
    json_decref(j);
    return NULL;
  }
  return j;
}

/* ---- metric names --------------------------------------------------------- */

enum mkind { M_TOPK, M_LOSS, M_R10, M_R100, M_NDCG10, M_COV10 };

struct mdef {
  const char *test, *train; /* test-split name, train-split name */
  enum mkind kind;
  int k;                    /* index into top_k for M_TOPK */
};

static const struct mdef split_metrics[] = {
    {"top_1_categorical_accuracy", "train_top_1_categorical_accuracy", M_TOPK,
     0},
    {"top_5_categorical_accuracy", "train_top_5_categorical_accuracy", M_TOPK,
     1},
    {"top_10_categorical_accuracy", "train_top_10_categorical_accuracy",
     M_TOPK, 2},
    {"top_50_categorical_accuracy", "train_top_50_categorical_accuracy",
     M_TOPK, 3},
    {"top_100_categorical_accuracy", "train_top_100_categorical_accuracy",
     M_TOPK, 4},
    {"test_loss", "train_loss", M_LOSS, 0},
    {"recall_at_10", "train_recall_at_10", M_R10, 0},
    {"recall_at_100", "train_recall_at_100", M_R100, 0},
    {"ndcg_at_10", "train_ndcg_at_10", M_NDCG10, 0},
    {"coverage_at_10", "train_coverage_at_10", M_COV10, 0},
};
#define N_SPLIT (sizeof(split_metrics) / sizeof(split_metrics[0]))

/* The popularity baseline (train_result.baseline), by the split_metrics
 * entry it mirrors; no loss (not meaningful for counts). */
static const struct {
  const char *name;
  size_t of; /* index into split_metrics */
} base_metrics[] = {
    {"baseline_popularity_top_1_categorical_accuracy", 0},
    {"baseline_popularity_top_5_categorical_accuracy", 1},
    {"baseline_popularity_top_10_categorical_accuracy", 2},
    {"baseline_popularity_top_50_categorical_accuracy", 3},
    {"baseline_popularity_top_100_categorical_accuracy", 4},
    {"baseline_popularity_recall_at_10", 6},
    {"baseline_popularity_recall_at_100", 7},
    {"baseline_popularity_ndcg_at_10", 8},
    {"baseline_popularity_coverage_at_10", 9},
};
#define N_BASE (sizeof(base_metrics) / sizeof(base_metrics[0]))

static const char *const fact_names[] = {
    "n_ratings", "n_train", "n_test", "n_users",
    "n_movies", "train_seconds", "eval_seconds"};
#define N_FACTS (sizeof(fact_names) / sizeof(fact_names[0]))

/* Ranking runs (task ranking) log these instead of the retrieval metrics:
 * the test split unprefixed, the train split prefixed train_, the
 * global-mean baseline prefixed baseline_mean_, and per user segment
 * rmse_<segment> / mae_<segment> ("rmse_gender_F", "rmse_age_25",
 * "rmse_age_unknown") with rmse_segment_gap (worst minus best segment,
 * over segments of >= 100 pairs). */
enum rkind { R_RMSE, R_MAE, R_GAP };
static const struct {
  const char *test, *train, *base;
  enum rkind kind;
} rank_metric_defs[] = {
    {"rmse", "train_rmse", "baseline_mean_rmse", R_RMSE},
    {"mae", "train_mae", "baseline_mean_mae", R_MAE},
    {"rmse_segment_gap", "train_rmse_segment_gap", NULL, R_GAP},
};
#define N_RANK (sizeof(rank_metric_defs) / sizeof(rank_metric_defs[0]))

static double rank_value(const struct rank_metrics *m, enum rkind k)
{
  return k == R_RMSE ? m->rmse : k == R_MAE ? m->mae : m->seg_rmse_gap;
}

/* "rmse_gender_F" etc.: the segment slot's name with '=' as '_'. */
static void seg_metric_name(const char *what, int slot, char *buf,
                            size_t cap)
{
  char seg[24];
  eval_segment_name(slot, seg, sizeof(seg));
  for (char *p = seg; *p; p++)
    if (*p == '=')
      *p = '_';
  snprintf(buf, cap, "%s_%s", what, seg);
}

/* The ranking metric key of a ranking result: 0 and *out, or
 * HV_ENOTFOUND. Test keys need res->has_test. */
static int rank_metric_value(const struct train_result *res,
                             const char *key, double *out)
{
  for (size_t i = 0; i < N_RANK; i++) {
    if (!strcmp(key, rank_metric_defs[i].train))
      return *out = rank_value(&res->rank_train, rank_metric_defs[i].kind), 0;
    if (rank_metric_defs[i].base && !strcmp(key, rank_metric_defs[i].base))
      return *out = rank_value(&res->rank_baseline,
                               rank_metric_defs[i].kind),
             0;
    if (!strcmp(key, rank_metric_defs[i].test)) {
      if (!res->has_test)
        return HV_ENOTFOUND;
      return *out = rank_value(&res->rank_test, rank_metric_defs[i].kind), 0;
    }
  }
  char name[48];
  for (int s = 0; s < EVAL_NSEG; s++) {
    for (int w = 0; w < 2; w++) {
      seg_metric_name(w ? "mae" : "rmse", s, name, sizeof(name));
      if (strcmp(key, name))
        continue;
      if (!res->has_test)
        return HV_ENOTFOUND;
      *out = w ? res->rank_test.seg_mae[s] : res->rank_test.seg_rmse[s];
      return 0;
    }
  }
  return HV_ENOTFOUND;
}

static double split_value(const struct eval_metrics *m, const struct mdef *d)
{
  switch (d->kind) {
  case M_TOPK: return m->top_k[d->k];
  case M_LOSS: return m->loss;
  case M_R10: return m->recall_at_10;
  case M_R100: return m->recall_at_100;
  case M_NDCG10: return m->ndcg_at_10;
  case M_COV10: return m->coverage_at_10;
  }
  return NAN;
}

static double fact_value(const struct train_result *r, size_t i)
{
  switch (i) {
  case 0: return (double)r->n_ratings;
  case 1: return (double)r->n_train;
  case 2: return (double)r->n_test;
  case 3: return (double)r->n_users;
  case 4: return (double)r->n_movies;
  case 5: return r->train_seconds;
  default: return r->eval_seconds;
  }
}

int trainrun_metric_value(const struct train_result *res, const char *key,
                          double *out)
{
  if (!res || !key || !out)
    return HV_ENOTFOUND;
  if (res->task == MODEL_TASK_RANKING) {
    for (size_t i = 0; i < N_FACTS; i++)
      if (!strcmp(key, fact_names[i]))
        return *out = fact_value(res, i), 0;
    return rank_metric_value(res, key, out);
  }
  for (size_t i = 0; i < N_SPLIT; i++) {
    if (!strcmp(key, split_metrics[i].train))
      return *out = split_value(&res->train, &split_metrics[i]), 0;
    if (!strcmp(key, split_metrics[i].test)) {
      if (!res->has_test)
        return HV_ENOTFOUND;
      return *out = split_value(&res->test, &split_metrics[i]), 0;
    }
  }
  for (size_t i = 0; i < N_BASE; i++)
    if (!strcmp(key, base_metrics[i].name))
      return *out = split_value(&res->baseline,
                                &split_metrics[base_metrics[i].of]),
             0;
  for (size_t i = 0; i < N_FACTS; i++)
    if (!strcmp(key, fact_names[i]))
      return *out = fact_value(res, i), 0;
  return HV_ENOTFOUND;
}

int trainrun_metric_is_test(const char *key)
{
  for (size_t i = 0; key && i < N_SPLIT; i++)
    if (!strcmp(key, split_metrics[i].test))
      return 1;
  struct train_result probe;
  memset(&probe, 0, sizeof(probe));
  probe.task = MODEL_TASK_RANKING;
  double v;
  if (key && strncmp(key, "train_", 6) && strncmp(key, "baseline_", 9) &&
      rank_metric_value(&probe, key, &v) == HV_ENOTFOUND) {
    probe.has_test = 1;
    return rank_metric_value(&probe, key, &v) == 0;
  }
  return 0;
}

int trainrun_metric_known(const char *key)
{
  struct train_result probe;
  memset(&probe, 0, sizeof(probe));
  probe.has_test = 1;
  double v;
  if (trainrun_metric_value(&probe, key, &v) == 0)
    return 1;
  probe.task = MODEL_TASK_RANKING;
  return trainrun_metric_value(&probe, key, &v) == 0;
}

int trainrun_loses_to_baseline(const struct train_result *r, char *why,
                               size_t cap)
{
  if (cap)
    why[0] = '\0';
  if (!r)
    return 0;
  if (r->task == MODEL_TASK_RANKING) {
    const struct rank_metrics *m = r->has_test ? &r->rank_test
                                               : &r->rank_train;
    if (!(m->rmse > r->rank_baseline.rmse))
      return 0;
    snprintf(why, cap, "the ranking model loses to the global-mean baseline "
             "on the %s split: RMSE %.4f vs %.4f",
             r->has_test ? "test" : "train", m->rmse, r->rank_baseline.rmse);
    return 1;
  }
  const struct eval_metrics *m = r->has_test ? &r->test : &r->train;
  const struct eval_metrics *b = &r->baseline;
  int lose100 = m->top_k[4] < b->top_k[4];
  int lose_r10 = m->recall_at_10 < b->recall_at_10;
  if (!lose100 && !lose_r10)
    return 0;
  snprintf(why, cap,
           "the model loses to the popularity baseline on the %s split: "
           "top_100 %.4f vs %.4f, recall@10 %.4f vs %.4f",
           r->has_test ? "test" : "train", m->top_k[4], b->top_k[4],
           m->recall_at_10, b->recall_at_10);
  return 1;
}

void trainrun_metric_names(char *buf, size_t cap)
{
  _Static_assert(N_SPLIT > 0, "the first name terminates buf");
  size_t o = 0;
  for (size_t i = 0; i < N_SPLIT; i++)
    o = list_add(buf, cap, o, split_metrics[i].test);
  for (size_t i = 0; i < N_SPLIT; i++)
    o = list_add(buf, cap, o, split_metrics[i].train);
  for (size_t i = 0; i < N_FACTS; i++)
    o = list_add(buf, cap, o, fact_names[i]);
  for (size_t i = 0; i < N_RANK; i++)
    o = list_add(buf, cap, o, rank_metric_defs[i].test);
  o = list_add(buf, cap, o, "rmse_gender_F (... per segment, ranking)");
}

/* ---- the tracked run ------------------------------------------------------ */

struct epoch_ctx {
  struct hv_db *db;
  const char *run_id;
  int epochs;
  const struct train_callbacks *user;
  int failed;       /* a write failed; err says why */
  struct hv_err err;
};

/* The evaluation's progress goes to the caller's callback as it is. */
static void on_eval(void *ud, const struct train_eval_progress *p)
{
  const struct epoch_ctx *x = ud;
  x->user->on_eval(x->user->ud, p);
}

/* train_run's epoch callback: one metrics batch per epoch, then the
 * caller's callback. */
static void on_epoch(void *ud, int epoch, double loss, double seconds,
                     const struct eval_metrics *test)
{
  struct epoch_ctx *x = ud;
  struct tracking_metric m[2 + N_SPLIT];
  size_t n = 0;
  m[n++] = (struct tracking_metric){"loss", loss, epoch, 0};
  m[n++] = (struct tracking_metric){"epoch_seconds", seconds, epoch, 0};
  /* the last epoch's test metrics are logged with the final ones */
  for (size_t i = 0; test && epoch < x->epochs && i < N_SPLIT; i++)
    m[n++] = (struct tracking_metric){
        split_metrics[i].test, split_value(test, &split_metrics[i]), epoch,
        0};
  if (!x->failed && runs_log_metrics_batch(x->db, x->run_id, m, n, &x->err))
    x->failed = 1;
  if (x->user && x->user->on_epoch)
    x->user->on_epoch(x->user->ud, epoch, loss, seconds, test);
}

static int log_params(struct hv_db *db, const char *run_id,
                      const struct train_config *used, const char *init_from,
                      struct hv_err *err)
{
  char v[64];
  for (size_t i = 0; i < N_FIELDS; i++) {
    if (fields[i].type == F_RANGE)
      continue; /* logged as first_rating_id / last_rating_id */
    if (trainrun_config_get(used, fields[i].name, v, sizeof(v)) ||
        runs_log_param(db, run_id, fields[i].name, v, err))
      return err->code ? err->code : HV_EINTERNAL;
  }
  if (init_from && runs_log_param(db, run_id, "init_from", init_from, err))
    return err->code;
  return 0;
}

/* A data-parallel run's params: world_size and dist_scheme. */
static int log_dist_params(struct hv_db *db, const char *run_id,
                           const struct train_dist *d, struct hv_err *err)
{
  char v[16];
  snprintf(v, sizeof(v), "%d", d->size);
  if (runs_log_param(db, run_id, "world_size", v, err) ||
      runs_log_param(db, run_id, "dist_scheme", TRAIN_DIST_SCHEME, err))
    return err->code;
  return 0;
}

static int log_final_rank(struct hv_db *db, const char *run_id,
                          const struct train_result *r, int64_t step,
                          struct hv_err *err)
{
  struct tracking_metric m[3 * N_RANK + 2 * EVAL_NSEG + N_FACTS];
  char names[2 * EVAL_NSEG][48];
  size_t n = 0, nn = 0;
  for (size_t i = 0; i < N_RANK; i++) {
    enum rkind k = rank_metric_defs[i].kind;
    if (r->has_test)
      m[n++] = (struct tracking_metric){rank_metric_defs[i].test,
                                        rank_value(&r->rank_test, k), step, 0};
    m[n++] = (struct tracking_metric){rank_metric_defs[i].train,
                                      rank_value(&r->rank_train, k), step, 0};
    if (rank_metric_defs[i].base)
      m[n++] = (struct tracking_metric){rank_metric_defs[i].base,
                                        rank_value(&r->rank_baseline, k),
                                        step, 0};
  }
  for (int s = 0; r->has_test && s < EVAL_NSEG; s++) {
    if (!r->rank_test.seg_n[s])
      continue;
    seg_metric_name("rmse", s, names[nn], sizeof(names[nn]));
    m[n++] = (struct tracking_metric){names[nn++], r->rank_test.seg_rmse[s],
                                      step, 0};
    seg_metric_name("mae", s, names[nn], sizeof(names[nn]));
    m[n++] = (struct tracking_metric){names[nn++], r->rank_test.seg_mae[s],
                                      step, 0};
  }
  for (size_t i = 0; i < N_FACTS; i++)
    m[n++] = (struct tracking_metric){fact_names[i], fact_value(r, i), step,
                                      0};
  return runs_log_metrics_batch(db, run_id, m, n, err);
}

static int log_final(struct hv_db *db, const char *run_id,
                     const struct train_result *r, int64_t step,
                     struct hv_err *err)
{
  if (r->task == MODEL_TASK_RANKING)
    return log_final_rank(db, run_id, r, step, err);
  struct tracking_metric m[2 * N_SPLIT + N_BASE + N_FACTS];
  size_t n = 0;
  for (size_t i = 0; i < N_SPLIT; i++) {
    if (r->has_test)
      m[n++] = (struct tracking_metric){
          split_metrics[i].test, split_value(&r->test, &split_metrics[i]),
          step, 0};
    m[n++] = (struct tracking_metric){
        split_metrics[i].train, split_value(&r->train, &split_metrics[i]),
        step, 0};
  }
  for (size_t i = 0; i < N_BASE; i++)
    m[n++] = (struct tracking_metric){
        base_metrics[i].name,
        split_value(&r->baseline, &split_metrics[base_metrics[i].of]), step,
        0};
  for (size_t i = 0; i < N_FACTS; i++)
    m[n++] = (struct tracking_metric){fact_names[i], fact_value(r, i), step,
                                      0};
  int rc = runs_log_metrics_batch(db, run_id, m, n, err);
  if (rc || !r->world_size)
    return rc;
  /* data-parallel runs: what the ranks exchanged (docs/distributed.md) */
  struct tracking_metric dm[2] = {
      {"dist_bytes_per_epoch", r->comm_bytes_per_epoch, step, 0},
      {"dist_comm_seconds", r->comm_seconds, step, 0}};
  return runs_log_metrics_batch(db, run_id, dm, 2, err);
}

static int log_lineage(struct hv_db *db, const struct train_config *c,
                       const struct trainrun_opts *o,
                       struct trainrun_result *res, struct hv_err *err)
{
  if (o->data_sha256) {
    snprintf(res->data_sha256, sizeof(res->data_sha256), "%s",
             o->data_sha256);
    res->data_rows = o->data_rows;
  } else if (runs_fingerprint_data(db, c->first_rating_id, c->last_rating_id,
                                   &res->data_rows, res->data_sha256, err)) {
    return err->code;
  }
  return runs_set_lineage(db, res->run_id, c->first_rating_id,
                          c->last_rating_id, res->data_rows, res->data_sha256,
                          err);
}

/* Save m to out_path (or a temporary file under HOME/tmp) and store it as
 * the run's model artifact. */
static int save_artifact(const struct trainrun_opts *o, struct hv_db *db,
                         struct trainrun_result *res,
                         const struct hv_model *m, struct hv_err *err)
{
  char dir[4096], tmp[4096], name[64];
  const char *path = o->out_path;
  if (!path) {
    snprintf(name, sizeof(name), "trainrun-%s.hvm", res->run_id);
    if (hv_path_join(dir, sizeof(dir), o->home, "tmp", err) ||
        hv_mkdir_p(dir, err) || hv_path_join(tmp, sizeof(tmp), dir, name, err))
      return err->code;
    path = tmp;
  }
  int rc = model_save(m, path, err);
  if (!rc)
    rc = artifacts_put_file(o->home, db, res->run_id, ARTIFACTS_MODEL_PATH,
                            path, res->model_sha256, err);
  if (!o->out_path)
    unlink(tmp);
  return rc;
}

/* Everything between runs_start and runs_end. */
static int run_body(struct hv_db *db, const struct train_config *c,
                    const struct hv_model *init,
                    const struct trainrun_opts *o,
                    struct trainrun_result *res, struct hv_err *err)
{
  struct hv_model *m = NULL;
  int rc = log_params(db, res->run_id, &res->used, o->init_from, err);
  if (!rc && o->cb && o->cb->dist)
    rc = log_dist_params(db, res->run_id, o->cb->dist, err);
  if (!rc && init) {
    char sha[65];
    model_sha256_hex(init, sha);
    rc = runs_set_tag(db, res->run_id, "init_from_sha256", sha, err);
  }
  if (!rc)
    rc = log_lineage(db, c, o, res, err);
  struct epoch_ctx x = {db, res->run_id, c->epochs, o->cb, 0, {0}};
  const struct train_dist *dist = o->cb ? o->cb->dist : NULL;
  struct train_callbacks cb = {on_epoch, &x, dist,
                               o->cb && o->cb->on_eval ? on_eval : NULL};
  if (!rc)
    rc = o->data ? train_run(o->data, c, init, &cb, &res->train, &m, err)
                 : dataset_train(db, c, init, &cb, &res->train, &m, err);
  if (!rc && x.failed) {
    *err = x.err;
    rc = err->code ? err->code : HV_EDB;
  }
  if (!rc) { /* the user towers it has: "none" without demographics */
    char uf[40];
    dataset_user_features_str(model_user_features(m), uf, sizeof(uf));
    rc = runs_log_param(db, res->run_id, "user_features", uf, err);
  }
  if (!rc)
    rc = log_final(db, res->run_id, &res->train, c->epochs, err);
  if (!rc)
    rc = save_artifact(o, db, res, m, err);
  /* the retrieval index belongs to this model version: built from it,
   * stored beside it, its recall logged with the run */
  if (!rc)
    rc = retindex_build_for_run(o->home, db, res->run_id, m, o->index_mode,
                                o->out_path, &res->index, err);
  if (!rc && o->keep_model) {
    res->model = m;
    m = NULL;
  }
  model_free(m);
  return rc;
}

static int load_init(const struct trainrun_opts *o, struct hv_db *db,
                     struct hv_model **out, struct hv_err *err)
{
  char path[4096];
  if (uri_resolve(o->home, db, o->init_from, path, sizeof(path), err))
    return err->code;
  if (model_load(path, out, err)) {
    hv_err_prefix(err, "init_from %s", o->init_from);
    return err->code;
  }
  return 0;
}

int trainrun_run(struct hv_db *db, const struct train_config *c,
                 const struct trainrun_opts *o, struct trainrun_result *res,
                 struct hv_err *err)
{
  if (!res)
    return hv_err_set(err, HV_EINVAL, "trainrun: no result record");
  memset(res, 0, sizeof(*res));
  if (!db || !c || !o || !o->home)
    return hv_err_set(err, HV_EINVAL,
                      "trainrun: missing database, config or home");
  if (o->data_sha256 && (strlen(o->data_sha256) != 64 || o->data_rows < 0))
    return hv_err_set(err, HV_EINVAL,
                      "trainrun: data fingerprint must be 64 hex digits");
  if (train_config_check(c, err))
    return err->code;
  struct hv_model *init = NULL;
  if (o->init_from && load_init(o, db, &init, err))
    return err->code;
  res->used = *c;
  /* extra_rating_ids is borrowed for the call only; the result outlives it
   * (callers free their replay sample), so keep the count, not the
   * pointer. */
  res->used.extra_rating_ids = NULL;
  if (init) {
    struct train_config ic;
    model_config(init, &ic);
    res->used.dim = ic.dim;
    res->used.features = ic.features;
  }
  int rc = runs_start(db, o->experiment, o->run_name, o->parent_run_id,
                      res->run_id, err);
  if (rc) {
    model_free(init);
    res->run_id[0] = '\0';
    return rc;
  }
  snprintf(res->model_uri, sizeof(res->model_uri), "runs:/%s", res->run_id);
  if (o->on_start)
    o->on_start(o->ud, res->run_id);
  rc = run_body(db, c, init, o, res, err);
  model_free(init);
  if (!rc)
    rc = runs_end(db, res->run_id, "FINISHED", err);
  if (rc) {
    runs_fail(db, res->run_id, err);
    char id[33];
    memcpy(id, res->run_id, sizeof(id));
    trainrun_result_free(res);
    memcpy(res->run_id, id, sizeof(id));
  }
  return rc;
}

void trainrun_result_free(struct trainrun_result *res)
{
  if (!res)
    return;
  train_result_free(&res->train);
  model_free(res->model);
  memset(res, 0, sizeof(*res));
}

/* ---- SIGINT / SIGTERM guard (util/sigfwd: sigfwd_watch) ------------------
 * Process-wide on purpose: signal dispositions are per process. Written
 * once by trainrun_guard_install (main thread, before the watcher starts),
 * then only read. */
static char guard_db[4096];
static int guard_on;

/* Mark every RUNNING run this process owns KILLED; returns how many. */
static int guard_mark_killed(int sig)
{
  struct hv_db *db = NULL;
  struct hv_err e = {0};
  struct tracking_run *rs = NULL;
  size_t n = 0;
  struct runs_query q = {.filter = "attributes.status = 'RUNNING'"};
  if (db_open(guard_db, &db, &e) || runs_search(db, &q, &rs, &n, &e)) {
    fprintf(stderr, "harvest: interrupted; could not mark runs KILLED: %s\n",
            e.msg);
    db_close(db);
    return 0;
  }
  struct tracking_owner me;
  runs_owner_self(&me);
  int marked = 0;
  for (size_t i = 0; i < n; i++) {
    const struct tracking_owner *ow = &rs[i].owner;
    if (ow->pid != me.pid || strcmp(ow->host, me.host) ||
        (ow->start && me.start && ow->start != me.start))
      continue;
    (void)!runs_set_tag(db, rs[i].run_id, "harvest.killed_by",
                        sig == SIGINT ? "SIGINT" : "SIGTERM", &e);
    if (runs_end(db, rs[i].run_id, "KILLED", &e) == 0) {
      fprintf(stderr, "harvest: interrupted; run %s marked KILLED\n",
              rs[i].run_id);
      marked++;
    }
  }
  runs_free(rs, n);
  db_close(db);
  return marked;
}

static void guard_on_signal(int sig, void *arg)
{
  (void)arg;
  guard_mark_killed(sig);
}

int trainrun_guard_install(const char *db_path, struct hv_err *err)
{
  if (guard_on)
    return 0;
  if (!db_path || strlen(db_path) >= sizeof(guard_db))
    return hv_err_set(err, HV_EINVAL, "guard: bad database path");
  snprintf(guard_db, sizeof(guard_db), "%s", db_path);
  int rc = sigfwd_watch(guard_on_signal, NULL, err);
  guard_on = rc == 0;
  return rc;
}
