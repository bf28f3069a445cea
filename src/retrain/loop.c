/*
 * loop.c - the continual-learning scheduler: see loop.h.
 */
#include "retrain/loop.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/db.h"
#include "store/registry_db.h"
#include "store/ratings.h"
#include "track/registry.h"

struct loop {
  struct loop_config cfg;
  char db_path[4096];
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int stop;       /* under mu */
  int done;       /* under mu */
  size_t ticks;   /* under mu */
  struct hv_err fatal; /* why the loop ended early (under mu) */
};

/* Production version of the model (0 when none) and the newest rating. */
static void state_of(struct hv_db *db, const struct loop_config *c,
                     int *version, int64_t *newest)
{
  struct hv_err e = {0};
  struct registry_version v;
  memset(&v, 0, sizeof(v));
  const char *name =
      c->opts.model_name ? c->opts.model_name : REGISTRY_DEFAULT_MODEL;
  *version = registry_db_find(db, name, 0, NULL, "Production", &v, &e)
                 ? 0
                 : v.version;
  registry_db_version_free(&v);
  if (ratings_last_id(db, newest, &e))
    *newest = -1;
}

/* Sleep until the next tick is due or stop is set; 1 when stopping. */
static int wait_next(struct loop *l, double due)
{
  struct timespec ts;
  double whole = floor(due);
  ts.tv_sec = (time_t)whole;
  ts.tv_nsec = (long)((due - whole) * 1e9);
  pthread_mutex_lock(&l->mu);
  while (!l->stop) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    if (now.tv_sec > ts.tv_sec ||
        (now.tv_sec == ts.tv_sec && now.tv_nsec >= ts.tv_nsec))
      break;
    pthread_cond_timedwait(&l->cv, &l->mu, &ts);
  }
  int stop = l->stop;
  pthread_mutex_unlock(&l->mu);
  return stop;
}

static void run_tick(struct loop *l, struct hv_db *db, size_t index,
                     int *last_version, int64_t *last_newest)
{
  const struct loop_config *c = &l->cfg;
  int version;
  int64_t newest;
  state_of(db, c, &version, &newest);
  struct loop_tick t = {index, 0, 0, NULL, NULL};
  int timed = c->policy.max_age_days > 0 || c->opts.force;
  if (index > 0 && !timed && version == *last_version &&
      newest == *last_newest) {
    t.idle = 1;
    if (c->on_tick)
      c->on_tick(c->ud, &t);
    return;
  }
  struct hv_err err = {0};
  struct retrain_result res;
  t.rc = retrain_run(db, &c->opts, &res, &err);
  t.err = &err;
  t.res = t.rc ? NULL : &res;
  if (c->on_tick)
    c->on_tick(c->ud, &t);
  retrain_result_free(&res);
  /* what the next tick compares with: the state after this one */
  state_of(db, c, last_version, last_newest);
}

static void *loop_main(void *arg)
{
  struct loop *l = arg;
  struct hv_db *db = NULL;
  struct hv_err err = {0};
  if (db_open(l->db_path, &db, &err)) {
    pthread_mutex_lock(&l->mu);
    l->fatal = err;
    l->done = 1;
    pthread_mutex_unlock(&l->mu);
    return NULL;
  }
  int last_version = -1;
  int64_t last_newest = -1;
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  double due = (double)now.tv_sec + (double)now.tv_nsec * 1e-9;
  for (size_t i = 0; !l->cfg.max_ticks || i < l->cfg.max_ticks; i++) {
    if (wait_next(l, due))
      break;
    run_tick(l, db, i, &last_version, &last_newest);
    pthread_mutex_lock(&l->mu);
    l->ticks = i + 1;
    pthread_mutex_unlock(&l->mu);
    due += l->cfg.interval_s;
  }
  db_close(db);
  pthread_mutex_lock(&l->mu);
  l->done = 1;
  pthread_mutex_unlock(&l->mu);
  return NULL;
}

int loop_start(const struct loop_config *c, struct loop **out,
               struct hv_err *err)
{
  if (!out)
    return hv_err_set(err, HV_EINVAL, "loop: no output pointer");
  *out = NULL;
  if (!c || !c->db_path || !*c->db_path)
    return hv_err_set(err, HV_EINVAL, "loop: no database path");
  if (!(isfinite(c->interval_s) && c->interval_s > 0 &&
        c->interval_s <= 86400 * 365))
    return hv_err_set(err, HV_EINVAL, "loop: interval %g s is outside "
                      "(0, 1 year]", c->interval_s);
  if (strlen(c->db_path) >= sizeof(((struct loop *)0)->db_path))
    return hv_err_set(err, HV_EINVAL, "loop: database path too long");
  if (policy_check(&c->policy, err))
    return err->code;
  if (!c->opts.home)
    return hv_err_set(err, HV_EINVAL, "loop: no home folder");
  struct loop *l = calloc(1, sizeof(*l));
  if (!l)
    return hv_err_set(err, HV_ENOMEM, "loop: out of memory");
  l->cfg = *c;
  l->cfg.opts.policy = &l->cfg.policy;
  snprintf(l->db_path, sizeof(l->db_path), "%s", c->db_path);
  pthread_mutex_init(&l->mu, NULL);
  pthread_cond_init(&l->cv, NULL);
  int rc = pthread_create(&l->thread, NULL, loop_main, l);
  if (rc) {
    pthread_cond_destroy(&l->cv);
    pthread_mutex_destroy(&l->mu);
    free(l);
    return hv_err_set(err, HV_ENOMEM, "loop: cannot start a thread (%s)",
                      strerror(rc));
  }
  *out = l;
  return 0;
}

int loop_done(struct loop *l)
{
  pthread_mutex_lock(&l->mu);
  int d = l->done;
  pthread_mutex_unlock(&l->mu);
  return d;
}

size_t loop_ticks(struct loop *l)
{
  pthread_mutex_lock(&l->mu);
  size_t n = l->ticks;
  pthread_mutex_unlock(&l->mu);
  return n;
}

int loop_stop(struct loop *l, struct hv_err *err)
{
  if (!l)
    return 0;
  pthread_mutex_lock(&l->mu);
  l->stop = 1;
  pthread_cond_broadcast(&l->cv);
  pthread_mutex_unlock(&l->mu);
  pthread_join(l->thread, NULL);
  int rc = l->fatal.code;
  if (rc && err)
    *err = l->fatal;
  pthread_cond_destroy(&l->cv);
  pthread_mutex_destroy(&l->mu);
  free(l);
  return rc;
}
