/*
 * dataset.h - the store -> arrays step: fill the model's struct hv_dataset
 * (model/dataset.h) from the database, for training (a rating range plus
 * an optional replay sample) and for evaluation (a slice plus the model's
 * training range), and the two shortcuts that load, run and free.
 *
 * Design: model/ is pure computation; choosing which ratings a run sees
 * happens here, once, with the store's column loaders (store/ratings.h),
 * whose arrays are handed over to the dataset without a copy. The ratings
 * of a training dataset are the range in rating_id order followed by the
 * replay ratings outside it (ascending), exactly the rows and order
 * train_run has always trained on, so results are bit-identical for a
 * seed. An evaluation dataset holds the slice in rating_id order followed
 * by the rows of the model's training range outside the slice (the seen
 * movies the ranking metrics exclude).
 *
 * Threads: the loaders use the caller's connection exclusively while they
 * run; a loaded dataset is plain memory (share it read-only freely).
 */
#ifndef HV_TRAIN_DATASET_H
#define HV_TRAIN_DATASET_H

#include <stdint.h>

#include "model/dataset.h"
#include "model/model.h"
#include "util/err.h"

struct hv_db;

/* The training dataset of c: the ratings with rating_id in
 * [c->first_rating_id, c->last_rating_id], then those of
 * c->extra_rating_ids (ascending) that lie outside it (ids not in the
 * database are skipped), and the users and movies tables. out's range is
 * the first and last rating_id actually loaded from the range (the model's
 * lineage). On success *out is the caller's (dataset_free); on failure it
 * is empty. HV_EINVAL for NULL arguments or an empty range (first > last),
 * HV_ENOTFOUND when the range holds no ratings, HV_EDB, HV_ENOMEM. */
int dataset_load_train(struct hv_db *db, const struct train_config *c,
                       struct hv_dataset *out,
                       struct hv_err *err) HV_WARN_UNUSED;

/* The dataset m was trained and tested on: dataset_load_train of m's own
 * settings (model_config) without its extra rating ids, so that m's
 * split rebuilds. Arguments, ownership and errors as dataset_load_train. */
int dataset_load_split(struct hv_db *db, const struct hv_model *m,
                       struct hv_dataset *out,
                       struct hv_err *err) HV_WARN_UNUSED;

/* The evaluation dataset of m on the slice [first, last]: the slice's
 * ratings, then the ratings of m's training range (model_config) outside
 * the slice, and the users table (no movies: evaluation does not need
 * them). out's range is [first, last]. HV_EINVAL for NULL arguments or
 * first > last, HV_ENOTFOUND when the slice holds no ratings. */
int dataset_load_eval(struct hv_db *db, const struct hv_model *m,
                      int64_t first, int64_t last, struct hv_dataset *out,
                      struct hv_err *err) HV_WARN_UNUSED;

/* Free the arrays of a dataset this file loaded and zero it (not ds
 * itself); NULL or a zeroed dataset does nothing. */
void dataset_free(struct hv_dataset *ds);

/* dataset_load_train + train_run_take (the ratings freed once the split
 * rows exist) + dataset_free: train c on db (arguments
 * and results as train_run's; the config is checked before anything is
 * loaded). */
int dataset_train(struct hv_db *db, const struct train_config *c,
                  const struct hv_model *init_from,
                  const struct train_callbacks *cb, struct train_result *res,
                  struct hv_model **out, struct hv_err *err) HV_WARN_UNUSED;

/* dataset_load_eval + model_evaluate + dataset_free: the metrics of m on
 * the ratings of db with rating_id in [first, last]. */
int dataset_evaluate(struct hv_db *db, const struct hv_model *m,
                     int64_t first, int64_t last, struct eval_metrics *out,
                     struct hv_err *err) HV_WARN_UNUSED;

/* The metrics of m on one split of its training range (MODEL_SPLIT_TEST,
 * _TRAIN or _ALL; model_evaluate_split says how the split is rebuilt):
 * loads the range m trained on, evaluates, frees. */
int dataset_evaluate_split(struct hv_db *db, const struct hv_model *m,
                           int which, struct eval_metrics *out,
                           struct hv_err *err) HV_WARN_UNUSED;

#endif
