/*
 * fuzz_filter.c - libFuzzer target: the runs filter language and order-by
 * lists (track/filter.h), as `harvest runs list --filter/--order-by` and
 * the web UI's runs page read them.
 *
 * Input: the filter expression, then optionally a NUL and the order-by
 * list. A parsed filter is matched against a few runs (missing keys, NaN
 * metrics, quotes in values); a parsed order sorts them; the two texts are
 * also tried as a LIKE pattern and subject both ways.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "track/filter.h"
#include "fuzz_util.h"

static char k_dim[] = "dim", k_quote[] = "my param", k_loss[] = "loss",
            k_acc[] = "top_100_categorical_accuracy", k_tag[] = "x";
static char v16[] = "16", v32[] = "32", v_it[] = "it's", v_y[] = "y";
static char s_fin[] = "FINISHED", s_run[] = "RUNNING", exp_name[] = "exp",
            user[] = "alice", r_name[] = "a run", sha[] = "abc123";
static struct tracking_kv params0[] = {{k_dim, v16}, {k_quote, v_it}};
static struct tracking_kv params1[] = {{k_dim, v32}};
static struct tracking_kv tags0[] = {{k_tag, v_y}};
static struct tracking_metric metrics0[] = {{k_loss, 2.5, 0, 1},
                                            {k_acc, 0.31, 3, 2}};
static struct tracking_metric metrics1[] = {{k_loss, NAN, 0, 1}};

static void make_runs(struct tracking_run *r)
{
  memset(r, 0, 3 * sizeof(*r));
  for (int i = 0; i < 3; i++) {
    snprintf(r[i].run_id, sizeof(r[i].run_id), "%032x", i + 1);
    r[i].experiment = exp_name;
    r[i].status = i == 2 ? s_run : s_fin;
    r[i].start_time = 100.0 * (i + 1);
    r[i].data_first_rating_id = r[i].data_last_rating_id = -1;
    r[i].data_rows = -1;
  }
  r[0].name = r_name;
  r[0].user = user;
  r[0].data_rows = 100;
  r[0].data_first_rating_id = 1;
  r[0].data_last_rating_id = 100;
  r[0].data_sha256 = sha;
  r[0].params = params0;
  r[0].n_params = 2;
  r[0].tags = tags0;
  r[0].n_tags = 1;
  r[0].metrics = metrics0;
  r[0].n_metrics = 2;
  r[1].params = params1;
  r[1].n_params = 1;
  r[1].metrics = metrics1;
  r[1].n_metrics = 1;
  r[2].end_time = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const uint8_t *p;
  size_t n;
  struct tracking_run runs[3];
  struct hv_err err = {0};
  make_runs(runs);
  fz_part(data, size, 0, &p, &n);
  char *expr = fz_strdup(p, n);
  char *order = fz_part(data, size, 1, &p, &n) ? fz_strdup(p, n) : NULL;
  struct filter *f = NULL;
  if (filter_parse(expr, &f, &err) == 0) {
    for (int i = 0; i < 3; i++)
      if (filter_match(f, &runs[i]) > 1)
        abort();
    filter_free(f);
  } else if (!err.msg[0]) {
    abort();
  }
  struct filter_order *o = NULL;
  if (filter_order_parse(order, &o, &err) == 0) {
    filter_sort(runs, 3, o);
    filter_order_free(o);
  }
  if (order) {
    (void)filter_like(expr, order, 0);
    (void)filter_like(order, expr, 1);
  }
  free(order);
  free(expr);
  return 0;
}
