/*
 * model_fixture.h - synthetic catalogue and ratings for the model tests
 * (test_train.c, test_eval.c, test_modelfile.c, test_score.c): users and
 * movies fall into clusters; a user rates mostly movies of its own cluster,
 * popular ones more often, so a two-tower model can learn real structure.
 * Deterministic (own LCG); everything through loader_*.
 */
#ifndef HV_TESTS_MODEL_FIXTURE_H
#define HV_TESTS_MODEL_FIXTURE_H

#include <stdint.h>
#include <stdio.h>

#include <stdlib.h>
#include <string.h>

#include "model/model_internal.h"
#include "store/catalog.h"
#include "store/loader.h"
#include "store/db.h"
#include "testutil.h"

struct fx_spec {
  int users, movies, per_user, clusters;
  int64_t user_base, movie_base; /* ids = base + 1 .. base + n */
  int64_t first_rating_id;       /* ids of the ratings written */
  uint64_t seed;
  int catalogue;                 /* 1: also write genres/users/movies */
  int replace;
};

static inline uint64_t fx_next(uint64_t *s)
{
  *s = *s * 6364136223846793005ull + 1442695040888963407ull;
  return *s >> 33;
}

/* Write the spec's catalogue (when asked) and ratings into db; returns the
 * number of ratings written. The cluster of user/movie id x is x % k. */
static inline int64_t fx_load(struct hv_db *db, const struct fx_spec *s)
{
  struct loader *ld = NULL;
  struct hv_err e = {0};
  uint64_t r = s->seed * 2654435761u + 1;
  static const char *const gnames[] = {"Action", "Comedy", "Drama", "Horror"};
  if (loader_begin(db, s->replace, &ld, &e))
    return -1;
  if (s->catalogue)
    for (int g = 0; g < 4; g++)
      if (loader_genre(ld, g, gnames[g], &e))
        goto fail;
  for (int i = 1; s->catalogue && i <= s->movies; i++) {
    char title[64];
    int64_t id = s->movie_base + i;
    int gs[2] = {(int)(id % s->clusters) % 4, (int)(id % 3)};
    snprintf(title, sizeof(title), "Movie %lld (%d)", (long long)id,
             1950 + (int)(id % 50));
    struct hv_movie m = {id, title, NULL, 1950 + (int)(id % 50), NULL, gs,
                         gs[0] == gs[1] ? 1 : 2};
    if (loader_movie(ld, &m, &e))
      goto fail;
  }
  for (int i = 1; s->catalogue && i <= s->users; i++) {
    int64_t id = s->user_base + i;
    int age = 15 + (int)(id % s->clusters) * 9 + (int)(fx_next(&r) % 5);
    struct hv_user u = {id, age, catalog_age_bucket(age),
                        (id % s->clusters) % 2 ? "F" : "M", "other",
                        (int)(id % s->clusters), "00000"};
    if (loader_user(ld, &u, &e))
      goto fail;
  }
  int64_t rid = s->first_rating_id, n = 0;
  for (int i = 1; i <= s->users; i++) {
    int64_t uid = s->user_base + i;
    int c = (int)(uid % s->clusters);
    for (int k = 0; k < s->per_user; k++) {
      /* 85% own cluster; popular (low index) movies more often */
      int own = fx_next(&r) % 100 < 85;
      int per = s->movies / s->clusters;
      int pick = (int)((fx_next(&r) % per) * (fx_next(&r) % per) / per);
      int cl = own ? c : (int)(fx_next(&r) % s->clusters);
      int64_t mid = s->movie_base + 1 + (int64_t)pick * s->clusters + cl;
      if (mid > s->movie_base + s->movies)
        mid = s->movie_base + 1 + cl;
      struct hv_rating rt = {rid++, uid, mid, 1.0 + (double)(fx_next(&r) % 5),
                             1000000 + rid};
      if (loader_rating(ld, &rt, &e))
        goto fail;
      n++;
    }
  }
  if (loader_commit(ld, "synth", "fixture", &e))
    return -1;
  return n;
fail:
  fprintf(stderr, "fixture: %s\n", e.msg);
  loader_abort(ld);
  return -1;
}

/* A dataset without demographics, as ml-latest, into the empty db: users
 * 1..users with no age, gender or occupation; movies 1..movies with a year
 * and one genre; user u rates movies (u + 2k) % movies + 1 for k <
 * per_user (per_user <= movies / 2 keeps them distinct) in half stars,
 * rating ids 1.. in that order. Returns the number of ratings, or -1. */
static inline int64_t fx_load_no_demographics(struct hv_db *db, int users,
                                              int movies, int per_user)
{
  struct hv_err e = {0};
  struct loader *ld = NULL;
  static const int g[2] = {0, 1};
  if (loader_begin(db, 1, &ld, &e) || loader_genre(ld, 0, "Drama", &e) ||
      loader_genre(ld, 1, "Comedy", &e))
    goto fail;
  for (int id = 1; id <= movies; id++) {
    char title[32];
    snprintf(title, sizeof(title), "Movie %d (%d)", id, 1980 + id % 40);
    struct hv_movie m = {.id = id, .title = title,
                         .release_year = 1980 + id % 40,
                         .genre_ids = g + id % 2, .n_genres = 1};
    if (loader_movie(ld, &m, &e))
      goto fail;
  }
  int64_t rid = 1;
  for (int u = 1; u <= users; u++) {
    struct hv_user us = {.id = u, .raw_age = -1, .bucketized_age = -1,
                         .occupation_label = -1};
    if (loader_user(ld, &us, &e))
      goto fail;
    for (int k = 0; k < per_user; k++, rid++) {
      struct hv_rating r = {.rating_id = rid, .user_id = u,
                            .movie_id = (u + 2 * k) % movies + 1,
                            .rating = 0.5 * (double)(1 + (u + k) % 10),
                            .timestamp = 1000 + rid};
      if (loader_rating(ld, &r, &e))
        goto fail;
    }
  }
  if (loader_commit(ld, "test", "no demographics", &e))
    return -1;
  return rid - 1;
fail:
  fprintf(stderr, "fixture: %s\n", e.msg);
  if (ld)
    loader_abort(ld);
  return -1;
}

/* A hand-made model image: nu users (ids 10, 20, ...), nm movies (ids 1, 3,
 * 5, ...), dim d, params from the LCG (seed), features on or off, opt
 * MODEL_OPT_*. *img is malloc'd (free). Returns 0 or an HV_E* code. */
static inline int fx_image(int d, size_t nu, size_t nm, int feat, int opt,
                           uint64_t seed, unsigned char **img, size_t *len)
{
  struct model_parts p;
  memset(&p, 0, sizeof(p));
  train_config_defaults(&p.meta.cfg);
  p.meta.cfg.dim = d;
  p.meta.cfg.features = feat;
  p.meta.cfg.optimizer = opt;
  p.meta.epochs_total = 3;
  p.meta.n_train_ratings = 1000;
  p.meta.created_at = 1.7e9;
  p.n_users = nu;
  p.n_movies = nm;
  size_t nv[MODEL_NFEAT] = {2, 2, 3, 4, 2};
  int64_t vals[MODEL_NFEAT][4] = {{18, 25}, {1, 2}, {0, 1, 2}, {0, 1, 2, 3},
                                  {1990, 1995}};
  for (int f = 0; f < MODEL_NFEAT; f++) {
    p.n_vals[f] = nv[f];
    p.vals[f] = vals[f];
  }
  model_layout_init(&p.L, d, nu, nm, nv, feat);
  int64_t *uid = malloc(nu * 8 + 8), *mid = malloc(nm * 8 + 8);
  int32_t *uf = calloc(3 * (nu + 1), 4), *my = calloc(nm + 1, 4);
  int32_t *go = calloc(nm + 2, 4), *ge = calloc(nm + 1, 4);
  int64_t *cnt = calloc(nm + 1, 8);
  float *par = malloc(p.L.n_params * 4);
  int slots = opt == MODEL_OPT_ADAM ? 2 : 1;
  float *st = malloc(p.L.n_params * 4 * slots);
  uint64_t r = seed;
  for (size_t i = 0; i < nu; i++) {
    uid[i] = (int64_t)(i + 1) * 10;
    uf[3 * (i + 1)] = (int32_t)(i % 3);
    uf[3 * (i + 1) + 1] = (int32_t)(i % 2) + 1;
    uf[3 * (i + 1) + 2] = (int32_t)(i % 4);
  }
  for (size_t i = 0; i < nm; i++) {
    mid[i] = (int64_t)(2 * i + 1);
    my[i + 1] = (int32_t)(i % 3);
    ge[i] = (int32_t)(i % 5);
    go[i + 2] = (int32_t)(i + 1);
    cnt[i + 1] = (int64_t)(i * 7 % 11);
  }
  for (size_t i = 0; i < p.L.n_params; i++)
    par[i] = (float)((int)(fx_next(&r) % 2001) - 1000) / 1000.0f;
  for (size_t i = 0; i < p.L.n_params * slots; i++)
    st[i] = 0.1f + (float)(fx_next(&r) % 100) / 100.0f;
  p.user_ids = uid;
  p.movie_ids = mid;
  p.F = (struct model_feats){uf, my, go, ge};
  p.movie_count = cnt;
  p.params = par;
  p.opt_state = st;
  p.n_slots = slots;
  struct hv_err e = {0};
  int rc = modelfile_build(&p, img, len, &e);
  free(uid);
  free(mid);
  free(uf);
  free(my);
  free(go);
  free(ge);
  free(cnt);
  free(par);
  free(st);
  return rc;
}

/* fx_image loaded as a model (for tests that only score); fails the test
 * when it cannot be built or loaded. */
static inline struct hv_model *fx_model(int d, size_t nu, size_t nm, int feat,
                                        uint64_t seed)
{
  unsigned char *img;
  size_t len;
  struct hv_model *m = NULL;
  struct hv_err e = {0};
  assert_int_equal(fx_image(d, nu, nm, feat, 0, seed, &img, &len), 0);
  assert_int_equal(model_load_buffer(img, len, &m, &e), 0);
  free(img);
  return m;
}

#endif
