/*
 * train_eval.c - the evaluations of a training run (train_eval.h): a split
 * of the trainer's ratings through eval_run, the popularity baseline on
 * the same rule, and the evaluation after the last epoch with its
 * progress (train_callbacks.on_eval).
 */
#include "model/train_eval.h"

#include <stdlib.h>

#include "util/fsutil.h"

#define NOMEM(what) hv_err_set(err, HV_ENOMEM, "train: out of memory (%s)", what)

static void fill_em(const struct trainer *t, const float *uv, const float *mv,
                    struct eval_model *em)
{
  em->dim = t->L.dim;
  em->n_users = t->n_users;
  em->n_movies = t->n_movies;
  em->user_vec = uv;
  em->movie_vec = mv;
  em->lo = (struct loss_opts){t->cfg.temperature, 0.0,
                              t->cfg.remove_accidental_hits};
  em->logq_by_row = t->cfg.logq ? t->logq_by_row : NULL;
}

static void on_eval_users(void *ud, size_t done, size_t total)
{
  struct eval_prog *e = ud;
  e->p.users_done = done;
  e->p.users_total = total;
  e->p.finished = done == total;
  e->p.seconds = hv_mono() - e->t0;
  e->cb->on_eval(e->cb->ud, &e->p);
}

int train_eval_split(struct trainer *t, const float *uv, const float *mv,
                     int test, struct eval_metrics *out, struct hv_err *err)
{
  struct eval_model em;
  fill_em(t, uv, mv, &em);
  if (t->popularity) {
    em.dim = 1;
    em.logq_by_row = NULL;
  }
  struct eval_input in = {0};
  size_t *off = NULL;
  int32_t *seen = NULL;
  in.n = test ? t->n_test : t->n_train;
  in.urow = test ? t->te_u : t->tr_u;
  in.mrow = test ? t->te_m : t->tr_m;
  in.gender_by_row = t->gender_by_row;
  in.age_by_row = t->age_by_row;
  in.absent = t->US->absent;
  if (test) {
    if (eval_build_seen(t->n_users + 1, t->tr_u, t->tr_m, t->n_train, &off,
                        &seen, err))
      return err->code;
    in.seen_off = off;
    in.seen = seen;
  }
  if (t->prog) {
    in.on_users = on_eval_users;
    in.ud = t->prog;
    t->prog->p.n_pairs = in.n;
    t->prog->p.users_done = t->prog->p.users_total = 0;
    t->prog->p.finished = 0;
    t->prog->t0 = hv_mono();
    t->prog->p.seconds = 0;
    t->prog->cb->on_eval(t->prog->cb->ud, &t->prog->p);
  }
  int rc = eval_run(&em, &in, out, err);
  free(off);
  free(seen);
  return rc;
}

/* The popularity baseline on the split the model's metrics lead with
 * (test, or train without one): every user scores each movie by its
 * train-split count, as a dim-1 tower pair (user rows 1, movie rows the
 * counts; exact in float below 2^24) ranked by eval_run, so the top-K
 * rule, ties and the seen-movie masking are the model's own. Its loss is
 * not meaningful. */
static int eval_baseline(struct trainer *t, struct eval_metrics *out,
                         struct hv_err *err)
{
  float *uv = malloc((t->n_users + 1) * sizeof(float));
  float *mv = malloc((t->n_movies + 1) * sizeof(float));
  int rc = uv && mv ? 0 : NOMEM("baseline");
  for (size_t r = 0; !rc && r <= t->n_users; r++)
    uv[r] = 1.0f;
  for (size_t r = 0; !rc && r <= t->n_movies; r++)
    mv[r] = (float)t->movie_count[r];
  t->popularity = 1;
  if (!rc)
    rc = train_eval_split(t, uv, mv, t->n_test > 0, out, err);
  t->popularity = 0;
  free(uv);
  free(mv);
  return rc;
}

int train_eval_final(struct trainer *t, const struct train_callbacks *cb,
                     const struct hv_model *m, struct train_result *res,
                     struct hv_err *err)
{
  struct eval_prog ep = {.cb = cb};
  ep.p.total = t->n_test ? 3 : 2;
  t->prog = cb && cb->on_eval ? &ep : NULL;
  ep.p.part = "train split";
  ep.p.index = 1;
  int rc = train_eval_split(t, m->user_vec, m->movie_vec, 0, &res->train, err);
  ep.p.part = "test split";
  ep.p.index = 2;
  if (!rc && t->n_test)
    rc = train_eval_split(t, m->user_vec, m->movie_vec, 1, &res->test, err);
  ep.p.part = "popularity baseline";
  ep.p.index = ep.p.total;
  if (!rc)
    rc = eval_baseline(t, &res->baseline, err);
  t->prog = NULL;
  return rc;
}

