/*
 * dataset.h - what the model trains and evaluates on: the ratings and the
 * users and movies tables as column arrays (a struct of arrays), prepared
 * by the caller. model/ never reads the database: train/dataset.c fills a
 * struct hv_dataset from the store (the rating range, a replay sample, the
 * slice to evaluate), and train_run / model_evaluate (model.h) only read
 * it.
 *
 * Design: the columns are the ones the trainer and the feature towers use,
 * laid out as the store returns them, so loading is a hand-over of arrays,
 * not a copy. The ratings are in the loader's order, which matters: the
 * split permutation of train_run and the loss batches of model_evaluate
 * follow it. first_rating_id..last_rating_id names the range the dataset was
 * selected for (train_run records it as the model's lineage; model_evaluate
 * evaluates the ratings inside it); ratings outside it are extra context (a
 * replay sample to train on; the seen ratings evaluation excludes).
 *
 * Ownership: whoever fills the struct owns its arrays (train/dataset.c:
 * dataset_free); model/ borrows them for the duration of a call.
 * Threads: dataset_check reads only.
 */
#ifndef HV_MODEL_DATASET_H
#define HV_MODEL_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "util/ratings_cols.h"

/* Gender codes of the users table (also the evaluation segments' codes). */
enum {
  DATASET_GENDER_UNKNOWN = 0,
  DATASET_GENDER_M = 1,
  DATASET_GENDER_F = 2
};

/* User features a dataset may lack (bits; the store's CATALOG_UF_*). */
enum {
  DATASET_UF_AGE = 1,
  DATASET_UF_GENDER = 2,
  DATASET_UF_OCCUPATION = 4,
  DATASET_UF_ALL = 7
};

/* The users table, ordered by id. Unknown values: -1 (age bucket,
 * occupation), DATASET_GENDER_UNKNOWN.
 *
 * absent: the user features the dataset lacks (no user has a value; the
 * store decides, catalog_user_features, and train/dataset.c copies it).
 * Training leaves their feature towers out (no embedding row learning one
 * "unknown" shared by everyone) and evaluation reports no segments of
 * them. 0 (a hand-built dataset): every feature is taken as present, users
 * without a value fall in the "unknown" row and segment. */
struct dataset_users {
  size_t n;
  int64_t *id;     /* (n) strictly increasing */
  int *age_bucket; /* (n) MovieLens bucket 1/18/25/.../56, -1 unknown */
  int *gender;     /* (n) DATASET_GENDER_* */
  int *occupation; /* (n) occupation label, -1 unknown */
  unsigned absent; /* DATASET_UF_* bits */
};

/* The movies table, ordered by id; the genres of movie i are
 * genre_ids[genre_off[i] .. genre_off[i + 1]). */
struct dataset_movies {
  size_t n;
  int64_t *id;       /* (n) strictly increasing */
  int *year;         /* (n) release year, 0 unknown */
  size_t *genre_off; /* (n + 1), genre_off[0] = 0, non-decreasing */
  int *genre_ids;    /* (genre_off[n]) */
};

struct hv_dataset {
  struct ratings_cols ratings;  /* util/ratings_cols.h */
  struct dataset_users users;   /* n = 0 (no features) is allowed */
  struct dataset_movies movies; /* n = 0 (no features) is allowed */
  int64_t first_rating_id, last_rating_id; /* the range selected */
};

/* Check the shape model/ relies on: arrays present for every non-empty
 * column, user and movie ids strictly increasing, genre offsets
 * non-decreasing from 0, first_rating_id <= last_rating_id, no value of a
 * feature users.absent marks absent. Returns 0 or
 * HV_EINVAL naming what is wrong (prefixed with who, e.g. "train"). Empty
 * ratings pass (callers decide whether that is an error). */
int dataset_check(const struct hv_dataset *ds, const char *who,
                  struct hv_err *err) HV_WARN_UNUSED;

/* "age", "gender" or "occupation" for one DATASET_UF_* bit; "" otherwise. */
const char *dataset_user_feature_name(unsigned bit);

/* The features in mask as "age,gender,occupation" (DATASET_UF_* order,
 * comma-separated) or "none", into buf (cap bytes, truncated). */
void dataset_user_features_str(unsigned mask, char *buf, size_t cap);

#endif
