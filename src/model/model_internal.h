/*
 * model_internal.h - what the files of src/model/ share: the layout of the
 * parameter block, the vocabularies and features, and struct hv_model.
 * Nothing outside src/model/ includes this header.
 *
 * Layout: all embedding tables live in ONE float block (params), one table
 * after another, each (rows, dim) row-major; the optimiser state is one
 * block of the same shape per slot (Adagrad: accumulator; Adam: m, v).
 * Row 0 of every table is the "unknown" row.
 */
#ifndef HV_MODEL_MODEL_INTERNAL_H
#define HV_MODEL_MODEL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "model/model.h"

enum {
  TAB_USER,   /* (n_users + 1, dim) user id embeddings */
  TAB_MOVIE,  /* (n_movies + 1, dim) movie id embeddings */
  TAB_AGE,    /* (n_age + 1, dim) age bucket (features only) */
  TAB_GENDER, /* (n_gender + 1, dim) */
  TAB_OCC,    /* (n_occ + 1, dim) occupation label */
  TAB_GENRE,  /* (n_genre + 1, dim) genre id */
  TAB_YEAR,   /* (n_year + 1, dim) release year / 5 */
  TAB_COUNT
};

/* Feature vocabularies (the values seen, ascending; index = 1 + position,
 * 0 = unknown), indexed by TAB_AGE.. TAB_YEAR. */
#define MODEL_NFEAT 5

struct model_layout {
  int dim;
  size_t rows[TAB_COUNT]; /* rows of each table (0 when absent) */
  size_t off[TAB_COUNT];  /* float offset of each table in params */
  size_t n_params;        /* total floats */
  unsigned user_off;      /* DATASET_UF_* user feature tables left out
                             (rows 0): features the dataset lacks
                             (model_layout_drop_user) */
  /* Ranking models only (model_layout_rank), after the tables: */
  int hidden;             /* H, MLP hidden width (0: no MLP) */
  size_t n_in;            /* MLP input: user vec, movie vec, popularity */
  size_t off_ubias;       /* (n_users + 1) user biases */
  size_t off_mbias;       /* (n_movies + 1) movie biases */
  size_t off_w1;          /* (n_in, H) row-major */
  size_t off_b1;          /* (H) */
  size_t off_w2;          /* (H) */
  size_t off_b2;          /* (1) */
};

/* Per-row features of the towers (all int32 indices into the tables). */
struct model_feats {
  const int32_t *user_feat;  /* (n_users + 1, 3): age, gender, occ index */
  const int32_t *movie_year; /* (n_movies + 1) year index */
  const int32_t *genre_off;  /* (n_movies + 2) CSR offsets into genre */
  const int32_t *genre;      /* (genre_off[n_movies + 1]) genre indices */
};

/* Hyperparameters and lineage stored in the file header. */
struct model_meta {
  struct train_config cfg; /* as last trained */
  uint64_t adam_step;      /* Adam's t */
  int epochs_total;
  uint64_t n_train_ratings;
  double created_at;
  double rank_mean;        /* ranking: the train split's mean rating */
};

struct hv_model {
  struct model_meta meta;
  struct model_layout L;
  size_t n_users, n_movies;
  const int64_t *user_ids;  /* (n_users) ascending; row = index + 1 */
  const int64_t *movie_ids; /* (n_movies) ascending */
  size_t n_vals[MODEL_NFEAT];
  const int64_t *vals[MODEL_NFEAT]; /* feature vocabularies */
  struct model_feats F;
  const int64_t *movie_count; /* (n_movies + 1) ratings per movie in the
                                 last training split (for logQ) */
  const float *params;      /* (L.n_params) */
  const float *opt_state;   /* (n_slots * L.n_params) */
  int n_slots;              /* 1 Adagrad, 2 Adam */
  float *user_vec;          /* (n_users + 1, dim) tower outputs, owned */
  float *movie_vec;         /* (n_movies + 1, dim) */
  float *movie_pack;        /* rows 1..n_movies of movie_vec packed for
                               score_dots (score.h), owned; NULL when
                               n_movies is 0 */
  struct hv_ivf *ivf;        /* approximate index, owned, or NULL
                               (model_attach_index) */
  /* Ranking models (rank.c), computed at load: */
  float *pop;               /* (n_movies + 1) popularity feature */
  float *movie_hid;         /* (n_movies + 1, H) movie part of the MLP's
                               first layer, b1 included */
  const unsigned char *image; /* the file image */
  size_t image_len;
  int image_mapped;         /* 1: munmap(image), 0: free(image) */
};

/* Fill L for dim, the vocabulary sizes and whether features are on. */
void model_layout_init(struct model_layout *L, int dim, size_t n_users,
                       size_t n_movies, const size_t n_vals[MODEL_NFEAT],
                       int features);

/* Leave out the user feature tables of off (DATASET_UF_* bits: age,
 * gender, occupation; a feature the dataset lacks): rows 0, the tables
 * after them move up, L->user_off records it. Call right after
 * model_layout_init (features on), before model_layout_rank. The towers
 * then read no row of those tables: no "unknown" row shared by every user
 * learns a bias. Files before this have user_off 0 and load unchanged. */
void model_layout_drop_user(struct model_layout *L, unsigned off);

/* Append the ranking blocks (biases, MLP of width hidden) to L, which
 * model_layout_init filled. */
void model_layout_rank(struct model_layout *L, int hidden);

/* The vocabularies and feature arrays train_run builds from a dataset
 * (no init model), for the ranking trainer (rank.c): all owned, freed by
 * model_vocab_free. */
struct model_vocab {
  size_t n_users, n_movies;
  int64_t *user_ids, *movie_ids;
  size_t n_vals[MODEL_NFEAT];
  int64_t *vals[MODEL_NFEAT];
  int32_t *user_feat, *movie_year, *genre_off, *genre;
  int *gender_by_row, *age_by_row; /* (n_users + 1) segments */
  unsigned absent;   /* the dataset's users.absent (segments) */
  unsigned user_off; /* user feature tables to leave out */
};
int model_vocab_build(const struct hv_dataset *ds, struct model_vocab *v,
                      struct hv_err *err) HV_WARN_UNUSED;
void model_vocab_free(struct model_vocab *v);

/* Ranking: compute m->pop and m->movie_hid (rank.c). */
int rank_prepare(struct hv_model *m, struct hv_err *err) HV_WARN_UNUSED;

/* Ranking: train (rank.c); the train_run contract for task ranking. */
int rank_train(const struct hv_dataset *ds, const struct train_config *c,
               const struct train_callbacks *cb, struct train_result *res,
               struct hv_model **out, struct hv_err *err) HV_WARN_UNUSED;

/* The end of a training run (train.c), both tasks: on rc != 0 free *out
 * (NULL after) and res, return rc; else hand res to *res_out (or free it
 * when res_out is NULL) and return 0. */
int train_hand_over(int rc, struct train_result *res,
                    struct train_result *res_out, struct hv_model **out);

/* Row of id in the ascending ids[0..n): index + 1, or 0 when absent. */
size_t model_lookup(const int64_t *ids, size_t n, int64_t id);

/* The feature value stored for a year (5-year buckets). */
int64_t model_year_bucket(int year);

/* Everything a model file image is made from (borrowed pointers). */
struct model_parts {
  struct model_meta meta;
  struct model_layout L;
  size_t n_users, n_movies;
  const int64_t *user_ids, *movie_ids;
  size_t n_vals[MODEL_NFEAT];
  const int64_t *vals[MODEL_NFEAT];
  struct model_feats F;
  const int64_t *movie_count;
  const float *params, *opt_state;
  int n_slots;
};

/* Zero p and fill what every trainer writes the same way: its settings,
 * Adam's step, epochs so far, training rows, now, and the layout. */
void model_parts_start(struct model_parts *p, const struct train_config *cfg,
                       uint64_t adam_step, int epochs_total, uint64_t n_train,
                       const struct model_layout *L);

/* Serialise p and load the image as a model (*out, model_free()). */
int model_from_parts(const struct model_parts *p, struct hv_model **out,
                     struct hv_err *err) HV_WARN_UNUSED;

/* Serialise parts into a new image (*out, free()) of *len bytes. */
int modelfile_build(const struct model_parts *p, unsigned char **out,
                    size_t *len, struct hv_err *err) HV_WARN_UNUSED;

/* Validate image[0..len) and point m's fields into it (no copy). On
 * failure m is untouched except for fields the caller must ignore. */
int modelfile_parse(const unsigned char *image, size_t len,
                    struct hv_model *m, struct hv_err *err) HV_WARN_UNUSED;

/* Make a model that owns image (malloc'd, or mmap'd when mapped): parse,
 * compute the tower outputs. On failure image is released too. */
int model_from_image(unsigned char *image, size_t len, int mapped,
                     struct hv_model **out, struct hv_err *err) HV_WARN_UNUSED;

#endif
