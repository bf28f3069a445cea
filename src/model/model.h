/*
 * model.h - the two-tower retrieval model: public API for training,
 * evaluation, recommendation and the model file.
 *
 * The model (TensorFlow Recommenders "basic retrieval" style): a user tower
 * and a movie tower map ids to dim-sized vectors whose dot product scores a
 * (user, movie) pair. Each tower is an id embedding table with one extra row
 * (row 0) for ids it never saw; with `features` on, the user tower adds
 * embeddings of the age bucket, gender and occupation, and the movie tower
 * the mean of its genre embeddings and an embedding of its release year
 * (5-year buckets), so a new user or movie gets a useful vector from its
 * features alone (cold start). Training minimises the in-batch softmax
 * cross-entropy (each rating's movie against the other movies of its batch,
 * summed over the batch, as tfrs.tasks.Retrieval), with optional L2,
 * temperature, logQ correction and removal of accidental hits.
 *
 * Evaluation ties: the top-K accuracies follow tf.math.in_top_k as TFRS
 * FactorizedTopK uses it: a test pair is a hit at K when fewer than K movies
 * score STRICTLY higher than the true movie, so a tie with the true movie
 * counts in its favour. Unknown users score with the OOV row; a pair whose
 * movie the model never saw is a miss at every K.
 *
 * Data: model/ is pure computation. train_run and model_evaluate read a
 * struct hv_dataset (dataset.h: ratings, users and movies as column arrays)
 * that the caller prepared; loading it from the store, choosing the rating
 * range and replay sample, JSON and tracking all live above model/
 * (train/dataset.h, train/trainrun.h, train/eval_metrics.h).
 *
 * Threads: a struct hv_model is immutable once returned by train_run or
 * model_load; any number of threads may call the const functions on it at
 * once (model_recommend needs per-thread scratch). train_run and
 * model_evaluate only read the dataset (share it freely; train_run_take
 * frees its ratings). train_run sets
 * OpenBLAS's process-wide thread count when config.threads > 0 (else
 * OPENBLAS_NUM_THREADS rules).
 */
#ifndef HV_MODEL_MODEL_H
#define HV_MODEL_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "model/dataset.h"
#include "util/err.h"

struct hv_model;

enum { MODEL_OPT_ADAGRAD = 0, MODEL_OPT_ADAM = 1 };

/* What a model is for (train_config.task; stored in the model file):
 * the two-tower retrieval model above, or the ranking model of rank.h
 * (predicted rating of a (user, movie) pair, trained with MSE). */
enum { MODEL_TASK_RETRIEVAL = 0, MODEL_TASK_RANKING = 1 };

/* ---- evaluation ------------------------------------------------------- */

#define EVAL_NK 5        /* K = 1, 5, 10, 50, 100 */
#define EVAL_MAX_SEG 16  /* gender M/F/unknown + 7 age buckets + unknown */
extern const int eval_ks[EVAL_NK];

/* Metrics of one user segment ("gender=F", "age=25", ...). */
struct eval_segment {
  char name[24];
  size_t n_pairs, n_users;
  double top_10, top_100;          /* categorical accuracy as below */
  double recall_at_10, ndcg_at_10; /* seen movies excluded, as below */
};

/* Metrics of one slice of ratings (pairs). */
struct eval_metrics {
  size_t n_pairs, n_users;          /* pairs evaluated, distinct users */
  size_t n_unknown_users, n_unknown_movies; /* pairs with an OOV id */
  double top_k[EVAL_NK];  /* top_K_categorical_accuracy (FactorizedTopK) */
  double loss;            /* in-batch softmax loss: mean over batches of
                             EVAL_LOSS_BATCH pairs (slice order) of the
                             batch's summed loss, as Keras evaluate() */
  double loss_per_pair;   /* total loss / n_pairs */
  /* Per user, ranking all movies except those the user rated in the
   * "seen" set (train split for train_run's test metrics; the model's
   * training range minus the slice for model_evaluate), relevant = the
   * user's movies in the slice; averaged over users with >= 1 relevant
   * known movie. */
  double recall_at_10, recall_at_100, ndcg_at_10;
  double coverage_at_10;  /* distinct movies in any top-10 / all movies */
  int n_segments;
  struct eval_segment seg[EVAL_MAX_SEG];
  unsigned absent; /* DATASET_UF_* the dataset lacks (users.absent): its
                      gender / age segments are not in seg[] */
};
#define EVAL_LOSS_BATCH 4096

/* Rating-prediction metrics of a slice (ranking models): predictions
 * clipped to [1, 5] as the PyTorch peer, per segment slot of eval.h
 * (EVAL_NSEG slots: gender unknown/M/F, the age buckets, age unknown). */
struct rank_metrics {
  size_t n;                     /* pairs */
  double rmse, mae;
  size_t seg_n[EVAL_MAX_SEG];   /* pairs per segment slot */
  double seg_rmse[EVAL_MAX_SEG], seg_mae[EVAL_MAX_SEG]; /* NaN when empty */
  double seg_rmse_gap;          /* worst minus best segment RMSE over the
                                   slots with >= 100 pairs (0 if < 2) */
  unsigned absent;              /* DATASET_UF_* the dataset lacks: no pairs
                                   in its gender / age slots */
};

/* ---- training ----------------------------------------------------------- */

struct train_config {
  int dim;               /* embedding size (1..1024) */
  double lr;             /* learning rate (> 0) */
  int optimizer;         /* MODEL_OPT_ADAGRAD (init accum 0.1, eps 1e-7,
                            as Keras) or MODEL_OPT_ADAM (0.9, 0.999, 1e-7;
                            sparse rows are updated lazily) */
  int epochs;            /* passes over the train split (0..10000) */
  int batch;             /* ratings per step (1..1<<20) */
  double split;          /* train fraction of the shuffled ratings, (0,1];
                            1 = no test split */
  uint64_t seed;         /* split = numpy RandomState(seed).permutation,
                            also seeds init and the per-epoch shuffle */
  int features;          /* 1: add the feature towers */
  double l2;             /* >= 0: l2 * sum of squared tower outputs per
                            batch row (as the PyTorch peer) */
  double temperature;    /* > 0: logits / temperature */
  int logq;              /* 1: subtract log(train frequency) of each
                            in-batch movie from its logits */
  int remove_accidental_hits; /* 1: a row's label movie appearing again in
                                 the batch is not a negative */
  int threads;           /* > 0: openblas_set_num_threads; 0: leave it */
  int eval_every;        /* > 0: evaluate the test split every N epochs
                            and pass it to on_epoch (costs time) */
  double init_scale;     /* new id rows ~ uniform(-s, s); 0.05 as Keras */
  /* The range to train on and the extra ratings besides it: what the
   * loader above model/ (train/dataset.h, dataset_load_train) selects the
   * dataset by; train_run itself trains on the dataset it is given and
   * records the dataset's range as the model's lineage. */
  int64_t first_rating_id, last_rating_id; /* range trained on */
  /* Extra ratings trained on besides the range, e.g. a replay sample of
   * older ratings against forgetting (retrain/retrain.c): rating ids in
   * ascending order, borrowed for the call; NULL / 0 (the defaults) for
   * none. Ids inside the range or not in the database are skipped. The
   * range (first/last_rating_id, the model's lineage) still names only the
   * range. Not stored in the model file. */
  const int64_t *extra_rating_ids;
  size_t n_extra_rating_ids;
  int task;              /* MODEL_TASK_RETRIEVAL or MODEL_TASK_RANKING */
  int hidden;            /* ranking: width of the MLP's hidden layer
                            (0..1024; 0 = no MLP: biased MF over the
                            feature towers); retrieval: must be 0 */
};

/* The best configuration found on ml-100k (80/20 split, seed 42; a sweep
 * of dim, lr, epochs, L2, temperature, features): dim 64, Adagrad lr 0.05,
 * 8 epochs, batch 8192, logQ on, feature towers on, L2 0.05, temperature
 * 1, all ratings -> test top-100 0.414 (seeds 1/7/123: 0.415/0.414/0.422;
 * the PyTorch peer's best 0.395). Chosen on the test split, as the peer's
 * sweep was, so slightly optimistic. */
void train_config_defaults(struct train_config *c);

/* The TFRS tutorial's configuration: dim 32, Adagrad 0.1, 3 epochs, batch
 * 8192, split 0.8, no logQ, no features, no L2, temperature 1 (the rest as
 * the defaults). */
void train_config_tutorial(struct train_config *c);

/* The best ranking configuration found on ml-100k (80/20, seed 42; see
 * rank.h): task ranking, dim 32, hidden 64, Adam, features on, the
 * numbers of rank.h's header comment. */
void train_config_ranking(struct train_config *c);

/* Check every field; HV_EINVAL naming the field when one is out of range. */
int train_config_check(const struct train_config *c,
                       struct hv_err *err) HV_WARN_UNUSED;

/* The checks of a training run before it reads any data: out is not NULL
 * (*out is then set to NULL) and c passes train_config_check. train_run
 * makes them; a caller that loads the data first (dataset_train) makes
 * them too, so that a bad request fails before the load. */
int train_run_check(const struct train_config *c, struct hv_model **out,
                    struct hv_err *err) HV_WARN_UNUSED;

/* Called after every epoch (1-based) with the summed training loss, the
 * epoch's wall time, and the test metrics when config.eval_every says so
 * (else NULL; borrowed for the call). May be NULL. */
struct train_dist;

/* Where the evaluation after training is (train_callbacks.on_eval). */
struct train_eval_progress {
  const char *part;    /* "train split", "test split", "popularity
                          baseline" (static) */
  int index, total;    /* part index + 1 of total parts */
  size_t n_pairs;      /* ratings the part evaluates */
  size_t users_done, users_total; /* 0 of 0 when the part starts */
  int finished;        /* 1 in the part's last call */
  double seconds;      /* since the part started */
};

struct train_callbacks {
  void (*on_epoch)(void *ud, int epoch, double loss, double seconds,
                   const struct eval_metrics *test_or_null);
  void *ud;
  /* Data-parallel training (NULL: this process alone, the default); see
   * struct train_dist. */
  const struct train_dist *dist;
  /* The evaluation after the last epoch (retrieval models, the rank that
   * evaluates), or NULL: called when each part starts (users_total 0),
   * after about every tenth of its users, and when it ends (finished). ud as for on_epoch; p is borrowed for the call. */
  void (*on_eval)(void *ud, const struct train_eval_progress *p);
};

/* The scheme train_run uses with a train_dist, as runs record it (param
 * dist_scheme). Every rank holds the whole model and walks the same
 * global batches (same seed, same shuffle); each batch's distinct users
 * are split into size contiguous ranges, rank r computes the loss and
 * gradient of its range (its share of the sgemm work), and one sum over
 * the ranks of the batch's touched rows (dU: nu x dim, each row from its
 * owner, zeros elsewhere; dM: nm x dim partial sums) gives every rank the
 * single-process gradient (up to float summation order); every rank then
 * runs the same tower backward and optimiser step, so the replicas stay
 * equal without ever sending parameters. Bytes per batch: (nu + nm) x dim
 * x 4, independent of the vocabulary and of the number of ranks. */
#define TRAIN_DIST_SCHEME "batch-users/touched-rows-allreduce"

/* The collectives train_run needs from a process group (train/dist.h
 * implements them over MPI; model/ never includes mpi.h). Every rank calls
 * train_run with the same dataset and configuration. */
struct train_dist {
  int rank, size; /* this process, processes in all (0 <= rank < size) */
  void *ud;
  /* Element-wise sum of buf[0..n) over all ranks, in place, with the same
   * result on every rank. Collective; failures end every rank (MPI's
   * errors are fatal), so there is no return code. */
  void (*sum_f32)(void *ud, float *buf, size_t n);
  void (*sum_f64)(void *ud, double *buf, size_t n);
  /* Collective agreement point: 0 when every rank passes rc 0 and the same
   * fingerprint fp; else rc (local failure) or an HV_E code with err
   * naming the rank that failed or disagrees. train_run calls it after
   * set-up (fp: data and configuration) and after the last epoch (fp:
   * the trained parameters, so replicas that drifted apart are an error,
   * never a silent wrong model). */
  int (*agree)(void *ud, int rc, uint64_t fp, const char *what,
               struct hv_err *err);
};

struct train_result {
  int epochs;               /* epochs run */
  double *epoch_seconds;    /* (epochs) wall time of each epoch */
  double *epoch_loss;       /* (epochs) summed loss of each epoch */
  struct eval_metrics train, test; /* test valid when has_test */
  int has_test;
  /* The popularity baseline on the test split (the train split when
   * there is none): each movie scored by its train-split count, ranked
   * and masked as the model's metrics; its loss is not meaningful. */
  struct eval_metrics baseline;
  size_t n_ratings, n_train, n_test; /* ratings in range, split sizes */
  size_t n_users, n_movies;          /* vocabulary sizes (without OOV) */
  size_t new_users, new_movies;      /* rows added to init_from's vocab */
  double gemm_flop_per_epoch;        /* sgemm FLOPs of one epoch */
  double train_seconds, eval_seconds;
  /* Ranking models (task MODEL_TASK_RANKING) fill these instead of the
   * retrieval metrics above (train, test, baseline stay zero): the
   * train and test splits, and the global-mean baseline (every pair
   * predicted as the train split's mean rating) on the test split (the
   * train split without one). */
  int task;
  struct rank_metrics rank_train, rank_test, rank_baseline;
  /* Data-parallel runs (train_callbacks.dist): the number of ranks, the
   * bytes each rank handed to the sums per epoch (mean over epochs) and
   * its seconds inside them (waiting for slower ranks included); world_size
   * 0 for a single-process run. */
  int world_size;
  double comm_bytes_per_epoch, comm_seconds;
};

/* Free the arrays inside res (not res itself); NULL is allowed. */
void train_result_free(struct train_result *res);

/* Train on all the ratings of ds, in its order (the split permutation
 * follows it), with its users and movies tables as features and
 * vocabulary. The model's lineage is ds's range: its first/last_rating_id
 * replace c's in the stored configuration (c's extra_rating_ids are not
 * read: the loader selected them). init_from == NULL trains from scratch;
 * else training continues from its weights and optimiser state (its dim
 * and features win over c's), users and movies it never saw get new rows.
 * On success *out is a new model (model_free) and *res is filled
 * (train_result_free); on failure nothing is returned. res may be NULL.
 * HV_EINVAL for a bad config or dataset (dataset_check), HV_ENOTFOUND when
 * ds has no ratings. */
int train_run(const struct hv_dataset *ds, const struct train_config *c,
              const struct hv_model *init_from,
              const struct train_callbacks *cb, struct train_result *res,
              struct hv_model **out, struct hv_err *err) HV_WARN_UNUSED;

/* train_run, freeing ds->ratings (ratings_cols_free) as soon as the
 * trainer has the split's rows, before the epochs, so the peak memory of a
 * run grows with (users + movies) x dim plus 12 B a rating (split rows and
 * epoch order) instead of also holding the 36 B a rating of the columns.
 * ds's users and movies tables stay; a dataset or config refused
 * before the split keeps its ratings. The caller still dataset_frees ds,
 * on every path. Retrieval models only release; a ranking model's trainer
 * reads ds as train_run does. */
int train_run_take(struct hv_dataset *ds, const struct train_config *c,
                   const struct hv_model *init_from,
                   const struct train_callbacks *cb, struct train_result *res,
                   struct hv_model **out, struct hv_err *err) HV_WARN_UNUSED;

/* ---- model file ---------------------------------------------------------- */

/* Write m to path atomically (hv_write_atomic, mode 0644). The file holds
 * magic, format version, hyperparameters, vocabularies, embeddings,
 * optimiser state and a SHA-256 of all of it. */
int model_save(const struct hv_model *m, const char *path,
               struct hv_err *err) HV_WARN_UNUSED;

/* Map path read-only and validate every field (checksum, sizes, offsets,
 * sorted vocabularies, index ranges, finite floats). Truncated, corrupt or
 * foreign files give HV_ECORRUPT, files of another format version
 * HV_EVERSION, a missing file HV_ENOTFOUND; messages name the file and
 * field. *out is the caller's (model_free). */
int model_load(const char *path, struct hv_model **out,
               struct hv_err *err) HV_WARN_UNUSED;

/* Validate and load a model from a memory image (copied; buf is only
 * read during the call). Same checks and codes as model_load. */
int model_load_buffer(const void *buf, size_t len, struct hv_model **out,
                      struct hv_err *err) HV_WARN_UNUSED;

/* Release a model; NULL does nothing. */
void model_free(struct hv_model *m);

/* ---- evaluation and scoring ---------------------------------------------- */

/* Metrics of m (see struct eval_metrics) on the slice: the ratings of ds
 * with rating_id in [ds->first_rating_id, ds->last_rating_id], in ds's
 * order (the loss batches follow it). ds's other ratings that lie in m's
 * training range (model_config) are the seen movies the ranking metrics
 * exclude; the rest are ignored. Segments come from ds's users table.
 * Allocates internally; frees before returning. HV_EINVAL for a bad
 * dataset, HV_ENOTFOUND when the slice is empty. */
int model_evaluate(const struct hv_dataset *ds, const struct hv_model *m,
                   struct eval_metrics *out,
                   struct hv_err *err) HV_WARN_UNUSED;

/* The splits of a model's training range (model_evaluate_split). */
enum { MODEL_SPLIT_TEST = 0, MODEL_SPLIT_TRAIN = 1, MODEL_SPLIT_ALL = 2 };

/* How many of n shuffled ratings a split fraction trains on: round(split
 * x n) (halves to even, as Python's round), at least 1, at most n. */
size_t model_split_n_train(double split, size_t n);

/* Metrics of m on one split of its own training data, rebuilt as train_run
 * made it: ds holds the ratings of m's training range (model_config's
 * first/last_rating_id) in rating_id order, without replay ratings (the
 * dataset dataset_load_train gives for that range); the permutation of
 * those rows by numpy RandomState(seed) puts the first
 * model_split_n_train(split, n) in the train split and the rest in the test
 * split. MODEL_SPLIT_TEST ranks excluding each user's train-split movies,
 * as train_run's test metrics (the same numbers); MODEL_SPLIT_TRAIN and
 * MODEL_SPLIT_ALL exclude nothing (in-sample). HV_EINVAL when the rebuilt
 * split's size differs from the model's recorded train count (ratings
 * changed, or a retrain added replay ratings) or for a bad which;
 * HV_ENOTFOUND for the test split of a model trained with split 1. */
int model_evaluate_split(const struct hv_dataset *ds,
                         const struct hv_model *m, int which,
                         struct eval_metrics *out,
                         struct hv_err *err) HV_WARN_UNUSED;

/* 1 when user_id has a row of its own in m, else 0. */
int model_knows_user(const struct hv_model *m, int64_t user_id);
int model_knows_movie(const struct hv_model *m, int64_t movie_id);

/* Floats of scratch model_recommend needs (one score per movie; more
 * with an index attached). */
size_t model_scratch_size(const struct hv_model *m);

/* The top n movies for user_id by score, best first (ties: lower movie id
 * first), skipping the ascending ids in exclude_sorted[0..n_exclude).
 * With an index attached (model_attach_index) and n <= MODEL_INDEX_MAX_K
 * the top n of the index's search: exact scores of the movies it finds,
 * ordered as here (model_score_users and evaluation stay exact).
 * Writes up to n ids and scores (out_scores may be NULL) and returns how
 * many (< n when the catalogue runs out), or a negative code: HV_ENOTFOUND
 * for an unknown user, HV_EINVAL for n < 1 or NULL buffers. scratch holds
 * model_scratch_size(m) floats; nothing is allocated. Thread-safe. */
int model_recommend(const struct hv_model *m, int64_t user_id, int n,
                    const int64_t *exclude_sorted, size_t n_exclude,
                    int64_t *out_movie_ids, float *out_scores, float *scratch,
                    struct hv_err *err) HV_WARN_UNUSED;

/* A memo of each user's top-k movies for one loaded model, for serving:
 * the same user asks again and again, and the model never changes under
 * it. Entry for a user is filled on its first request (computing the top k
 * once) and read without a lock after; threads racing on one user each
 * compute, one of them stores. Memory: (users + 1) x k x 8 bytes plus
 * three bytes a user, from calloc, so only the pages of users asked about
 * are ever touched. k in 1..MODEL_TOPCACHE_MAX_K: deep enough for the
 * candidates of retrieve-then-rank (recommend.h, at most 1000), which
 * would otherwise score every movie on every request. NULL on bad k or out
 * of memory. The cache must not outlive m. */
#define MODEL_TOPCACHE_MAX_K 1024
struct hv_topcache;
struct hv_topcache *model_topcache_new(const struct hv_model *m, int k);
void model_topcache_free(struct hv_topcache *c);
/* Users whose entry is filled so far. */
size_t model_topcache_users(const struct hv_topcache *c);

/* model_recommend through the memo c: without exclusions and with n <= k
 * the answer is the first n of the user's memoised top k (ranks are a total
 * order, score then lower id, so the top n is a prefix of the top k),
 * filled on a miss; otherwise (c NULL, n > k, exclusions) it is
 * model_recommend. Results are identical to model_recommend's either way.
 * Thread-safe. */
int model_recommend_cached(const struct hv_model *m, struct hv_topcache *c,
                           int64_t user_id, int n,
                           const int64_t *exclude_sorted, size_t n_exclude,
                           int64_t *out_movie_ids, float *out_scores,
                           float *scratch, struct hv_err *err) HV_WARN_UNUSED;

/* The movies among cand_ids[0..n) nearest to movie_id in m's movie tower
 * space (cosine similarity of the tower outputs; a zero vector has
 * similarity 0), best first, ties lower id first: up to k of them into
 * out_ids and their similarities into out_sims (both k long). Candidates
 * (distinct ids) m does not know, and movie_id itself, are skipped; an
 * unknown movie_id uses the OOV row. Returns how many, or HV_EINVAL for a NULL model or
 * buffers or k < 0. No allocation; thread-safe. */
int model_movie_neighbours(const struct hv_model *m, int64_t movie_id,
                           const int64_t *cand_ids, size_t n, int k,
                           int64_t *out_ids, float *out_sims);

/* A memo of one fixed-size record per user of model m, for answers that
 * are a function of the user alone under models that never change (the
 * server's retrieve-then-rank answers, recommend.h's recommend_memo). Same
 * rules as the top-k memo above: a record is stored once, by the first of
 * racing threads, and read without a lock after; memory (users + 1) x
 * (rec_size + 1) bytes from calloc (only pages of users asked about are
 * touched). NULL for a NULL model, rec_size 0 or above 1 MiB, or out of
 * memory. Must not outlive m. */
struct hv_usermemo;
struct hv_usermemo *model_usermemo_new(const struct hv_model *m,
                                       size_t rec_size);
void model_usermemo_free(struct hv_usermemo *c);
/* user_id's stored record (borrowed; rec_size bytes, valid as long as the
 * memo), or NULL when none is stored or m does not know the user. */
const void *model_usermemo_get(const struct hv_usermemo *c, int64_t user_id);
/* Store rec (rec_size bytes, copied) as user_id's record unless one is
 * stored or being stored; 1 when stored, 0 otherwise (also for an
 * unknown user or NULL arguments). */
int model_usermemo_put(struct hv_usermemo *c, int64_t user_id,
                       const void *rec);
/* Users with a stored record. */
size_t model_usermemo_users(const struct hv_usermemo *c);

/* Scores of every movie for n_users users (score_dots each, no
 * allocation): out is (n_users, model_n_movies(m)) row-major, columns in
 * model_movie_id() order. Unknown users score with the OOV row.
 * Thread-safe. */
int model_score_users(const struct hv_model *m, const int64_t *user_ids,
                      size_t n_users, float *out,
                      struct hv_err *err) HV_WARN_UNUSED;

/* ---- approximate retrieval index (ivf.h) ---------------------------------- */

struct hv_ivf;
struct ivf_params;

/* Requests for more movies than this score exactly even with an index:
 * the index's scratch is sized for it, and the gain is in short lists. */
#define MODEL_INDEX_MAX_K 1024

/* The checksum stored in m's file (its last 32 bytes): what an index
 * names as the model it belongs to. */
void model_checksum(const struct hv_model *m, unsigned char out[32]);

/* Build the IVF index of m's movie tower (ivf_build), its recall measured
 * on the vectors of up to n_queries of m's users (a sample drawn with
 * p->seed; all of them when fewer). *out is the caller's (ivf_free).
 * HV_EINVAL for a ranking model, a model without movies or bad params;
 * ivf_build's codes. Does not attach it. */
int model_index_build(const struct hv_model *m, const struct ivf_params *p,
                      size_t n_queries, struct hv_ivf **out,
                      struct hv_err *err) HV_WARN_UNUSED;

/* Make model_recommend (and the memo) answer through ix: m takes ix over
 * (freed with m). Only before m is shared with other threads, and before
 * model_scratch_size is read for it (the index needs more). HV_EINVAL,
 * and ix stays the caller's, when ix does not belong to m (ivf_matches)
 * or m already has one. ix NULL does nothing. */
int model_attach_index(struct hv_model *m, struct hv_ivf *ix,
                       struct hv_err *err) HV_WARN_UNUSED;

/* The index model_recommend answers through, or NULL (borrowed). */
const struct hv_ivf *model_index(const struct hv_model *m);

/* ---- ranking models (rank.c) ---------------------------------------------- */

/* MODEL_TASK_RETRIEVAL or MODEL_TASK_RANKING. */
int model_task(const struct hv_model *m);

/* Predicted ratings (not clipped) of user_id for movie_ids[0..n) into
 * out[0..n) by ranking model m; unknown users and movies use their OOV
 * rows (features of an unknown id are unknown too). HV_EINVAL for a
 * retrieval model or NULL buffers with n > 0. No allocation; thread-safe. */
int model_rank_predict(const struct hv_model *m, int64_t user_id,
                       const int64_t *movie_ids, size_t n, float *out,
                       struct hv_err *err) HV_WARN_UNUSED;

/* Feature groups of a ranking model's prediction, for explanations by
 * ablation (model_rank_explain): the id embeddings with the user and movie
 * biases; the user features (age, gender, occupation embeddings); the
 * movie features (release year, genres); the movie's popularity input. */
enum {
  RANK_GROUP_IDS = 0,
  RANK_GROUP_USER_FEATURES,
  RANK_GROUP_MOVIE_FEATURES,
  RANK_GROUP_POPULARITY,
  RANK_NGROUPS
};
extern const char *const model_rank_group_names[RANK_NGROUPS];

/* Why ranking model m predicts what it does for (user_id, movie_id): *pred
 * the prediction (as model_rank_predict) and contrib[g] = *pred minus the
 * prediction with group g removed (its embeddings zero in both towers and
 * the MLP's input, or the biases and pop zero): an ablation, not a
 * decomposition (the dot product and the MLP mix the groups, so the
 * contributions need not add up to the prediction). Unknown ids use their
 * OOV rows. HV_EINVAL for a retrieval model or NULL outputs. No
 * allocation; thread-safe. */
int model_rank_explain(const struct hv_model *m, int64_t user_id,
                       int64_t movie_id, float *pred,
                       float contrib[RANK_NGROUPS],
                       struct hv_err *err) HV_WARN_UNUSED;

/* Rating metrics of ranking model m on the ratings of ds with rating_id in
 * [ds->first_rating_id, ds->last_rating_id]; segments from ds's users
 * table. HV_EINVAL for a retrieval model or a bad dataset, HV_ENOTFOUND
 * for an empty slice. */
int model_rank_evaluate(const struct hv_dataset *ds, const struct hv_model *m,
                        struct rank_metrics *out,
                        struct hv_err *err) HV_WARN_UNUSED;

/* Rating metrics of ranking model m on one split of its own training
 * range, rebuilt as model_evaluate_split rebuilds it (ds: the range's
 * ratings in rating_id order, as dataset_load_train gives them); the test
 * split's numbers equal the run's test metrics. HV_EINVAL for a retrieval
 * model, a bad which or a split that cannot be rebuilt (the range's size
 * changed), HV_ENOTFOUND for the test split of a split-1 model. */
int model_rank_evaluate_split(const struct hv_dataset *ds,
                              const struct hv_model *m, int which,
                              struct rank_metrics *out,
                              struct hv_err *err) HV_WARN_UNUSED;

/* ---- accessors (lineage, monitoring) ------------------------------------- */

int model_dim(const struct hv_model *m);
/* The user feature towers the model has (DATASET_UF_* bits): 0 without
 * features; a feature the training dataset lacked is left out
 * (model_layout_drop_user). */
unsigned model_user_features(const struct hv_model *m);
size_t model_n_users(const struct hv_model *m);   /* known ids, no OOV */
size_t model_n_movies(const struct hv_model *m);
int64_t model_movie_id(const struct hv_model *m, size_t i); /* i < n_movies */
int64_t model_user_id(const struct hv_model *m, size_t i);  /* i < n_users */
/* The configuration the model was (last) trained with; the rating range
 * and row count it was trained on. */
void model_config(const struct hv_model *m, struct train_config *out);
size_t model_n_train_ratings(const struct hv_model *m);
int model_epochs_total(const struct hv_model *m); /* over all continuations */
double model_created_at(const struct hv_model *m); /* epoch seconds */
/* SHA-256 of the model file (all its bytes: what sha256sum prints and what
 * its artifact record holds) as 64 hex chars + NUL into out[65]; computed
 * on each call. */
void model_sha256_hex(const struct hv_model *m, char out[65]);

#endif
