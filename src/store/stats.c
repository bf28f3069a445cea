/*
 * stats.c - dataset summaries, backend-neutral: medians, spreads and the
 * top movies computed here over the backend's aggregate queries. See
 * stats.h; the SQL is in sqlite/sq_stats.c.
 */
#include "store/stats.h"

#include <stdlib.h>
#include <string.h>

#include "store/backend.h"
#include "util/sort.h"

#define ST(db) ((db)->be->stats)

int stats_counts(struct hv_db *db, struct stats_counts *out,
                 struct hv_err *err)
{
  return db ? ST(db)->counts(db, out, err) : store_no_db(err, "stats");
}

static int histogram(struct hv_db *db, struct stats_summary *out,
                     struct hv_err *err)
{
  int64_t n[STATS_HIST] = {0};
  int rc = ST(db)->histogram(db, n, err);
  for (int i = 0; !rc && i < STATS_HIST; i++) {
    if (n[i] <= 0)
      continue;
    out->hist[out->n_hist].rating = 0.5 * (i + 1);
    out->hist[out->n_hist].count = n[i];
    out->n_hist++;
  }
  return rc;
}

/* Spread of counts[0..n) plus `zeros` members with a count of 0. */
static struct stats_spread spread_of(int64_t *counts, size_t n, int64_t zeros)
{
  struct stats_spread s = {0, 0, 0};
  size_t total = n + (size_t)(zeros > 0 ? zeros : 0);
  if (total == 0)
    return s;
  if (n > 0)
    qsort(counts, n, sizeof(*counts), sort_cmp_i64);
  size_t z = total - n;
  s.min = z > 0 ? 0 : counts[0];
  s.max = n > 0 ? counts[n - 1] : 0;
  size_t lo = (total - 1) / 2, hi = total / 2;
  double a = lo < z ? 0 : (double)counts[lo - z];
  double b = hi < z ? 0 : (double)counts[hi - z];
  s.median = (a + b) / 2;
  return s;
}

/* Keep top sorted by count desc, id asc; insert (id, c) when it belongs. */
static void top_offer(struct stats_summary *out, int64_t id, int64_t c)
{
  int n = out->n_top;
  if (n == STATS_TOP && c <= out->top[n - 1].count)
    return;
  int i = n < STATS_TOP ? n : n - 1;
  while (i > 0 && out->top[i - 1].count < c) {
    out->top[i] = out->top[i - 1];
    i--;
  }
  memset(&out->top[i], 0, sizeof(out->top[i]));
  out->top[i].movie_id = id;
  out->top[i].count = c;
  if (n < STATS_TOP)
    out->n_top++;
}

struct group_acc {
  int64_t *counts;
  size_t n, cap;
  struct stats_summary *top; /* NULL: users, no top list */
};

static int group_add(void *ctx, int64_t id, int64_t count)
{
  struct group_acc *g = ctx;
  static const size_t size[] = {sizeof(int64_t)};
  void **const cols[] = {(void **)&g->counts};
  if (mem_cols_room(cols, size, 1, g->n, &g->cap, 1024))
    return HV_ENOMEM;
  g->counts[g->n++] = count;
  if (g->top)
    top_offer(g->top, id, count);
  return 0;
}

/* Per-user (top NULL) or per-movie rating counts over a population. */
static int group_counts(struct hv_db *db, int64_t population,
                        struct stats_spread *spread, struct stats_summary *top,
                        struct hv_err *err)
{
  struct group_acc g = {.top = top};
  int rc = ST(db)->per_group(db, top != NULL, group_add, &g, err);
  if (rc == HV_ENOMEM)
    rc = hv_err_set(err, HV_ENOMEM, "out of memory");
  if (!rc)
    *spread = spread_of(g.counts, g.n, population - (int64_t)g.n);
  free(g.counts);
  return rc;
}

int stats_summary(struct hv_db *db, struct stats_summary *out,
                  struct hv_err *err)
{
  memset(out, 0, sizeof(*out));
  int rc = stats_counts(db, &out->n, err);
  if (rc)
    return rc;
  const struct stats_counts *n = &out->n;
  if (n->ratings > 0)
    out->days = (double)(n->last_ts - n->first_ts) / 86400.0;
  double cells = (double)n->users * (double)n->movies;
  out->sparsity = cells > 0 ? 1.0 - (double)n->ratings / cells : 1.0;
  if ((rc = histogram(db, out, err)) ||
      (rc = group_counts(db, n->users, &out->per_user, NULL, err)) ||
      (rc = group_counts(db, n->movies, &out->per_movie, out, err)))
    return rc;
  for (int i = 0; i < out->n_top && !rc; i++)
    rc = ST(db)->movie_summary(db, out->top[i].movie_id, out->top[i].title,
                               sizeof(out->top[i].title),
                               &out->top[i].mean_rating, err);
  return rc;
}

int stats_dataset_latest(struct hv_db *db, struct stats_dataset *out,
                         struct hv_err *err)
{
  memset(out, 0, sizeof(*out));
  return db ? ST(db)->dataset_latest(db, out, err)
            : store_no_db(err, "datasets");
}
