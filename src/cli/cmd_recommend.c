/*
 * cmd_recommend.c - `harvest recommend`: the top movies for one user from a
 * model (a model URI or a file, resolved by track/uri.h), with titles from
 * the home's database.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "model/model.h"
#include "store/db.h"
#include "store/ratings.h"
#include "track/uri.h"
#include "util/fsutil.h"
#include "util/parse.h"

static void help(void)
{
  printf("Usage: harvest recommend --model URI --user ID [-n 10]\n"
         "                         [--exclude-rated] [--json]\n\n"
         "URI: models:/NAME/Production (or Staging, Archived, None),\n"
         "models:/NAME/3, models:/NAME/latest, models:/NAME@champion,\n"
         "runs:/RUN_ID, or a model file path (registry and run models are\n"
         "SHA-256 checked before loading).\n"
         "Score every movie for the user (dot product of the towers) and\n"
         "print the best n (ties: lower movie id first). --exclude-rated\n"
         "skips the movies the user has rated in the database.\n"
         "--bench N also times N recommendation calls (round-robin over\n"
         "all the model's users, no exclusions) and prints the mean\n"
         "microseconds per call (scoring every movie + top-n).\n");
}

enum { O_MODEL = 0x2200, O_USER, O_EXCL, O_BENCH };

static int print_recs(const struct cli_ctx *ctx, struct hv_db *db,
                      int64_t user, const int64_t *ids, const float *sc,
                      int got, struct hv_err *err)
{
  char title[512];
  json_t *arr = ctx->json ? json_array() : NULL;
  for (int i = 0; i < got; i++) {
    int rc = ratings_movie_title(db, ids[i], title, sizeof(title), err);
    if (rc == HV_ENOTFOUND)
      snprintf(title, sizeof(title), "(movie %lld not in the database)",
               (long long)ids[i]);
    else if (rc) {
      json_decref(arr);
      return rc;
    }
    if (arr)
      json_array_append_new(arr, json_pack("{s:i, s:I, s:s, s:f}", "rank",
                                           i + 1, "movie_id",
                                           (json_int_t)ids[i], "title", title,
                                           "score", (double)sc[i]));
    else
      printf("%3d  %6lld  %8.4f  %s\n", i + 1, (long long)ids[i],
             (double)sc[i], title);
  }
  if (arr)
    cli_print_json(json_pack("{s:I, s:o}", "user_id", (json_int_t)user,
                             "recommendations", arr));
  return 0;
}

/* Time `iters` model_recommend calls over all users; prints the mean. */
static int run_bench(const struct hv_model *m, int n, int64_t iters,
                     int64_t *ids, float *sc, float *scratch,
                     struct hv_err *err)
{
  size_t nu = model_n_users(m);
  double t0 = hv_mono();
  for (int64_t i = 0; i < iters; i++) {
    int rc = model_recommend(m, model_user_id(m, (size_t)i % nu), n, NULL, 0,
                             ids, sc, scratch, err);
    if (rc < 0)
      return rc;
  }
  double us = (hv_mono() - t0) * 1e6 / (double)iters;
  fprintf(stderr, "recommend: %.2f us per call (%lld calls, %zu movies, "
          "n %d)\n", us, (long long)iters, model_n_movies(m), n);
  return 0;
}

int cmd_recommend(struct cli_ctx *ctx, int argc, char **argv)
{
  static const struct option opts[] = {
      CLI_COMMON_LONGOPTS,
      {"model", required_argument, NULL, O_MODEL},
      {"user", required_argument, NULL, O_USER},
      {"exclude-rated", no_argument, NULL, O_EXCL},
      {"bench", required_argument, NULL, O_BENCH},
      {0}};
  const char *model_path = NULL;
  int64_t user = -1, n = 10, bench = 0;
  int excl = 0, c;
  struct hv_err err = {0};
  while ((c = getopt_long(argc, argv, "hn:", opts, NULL)) != -1) {
    if (cli_common_opt(ctx, c, optarg))
      continue;
    if (c == 'h') {
      help();
      return 0;
    }
    if (c == O_MODEL)
      model_path = optarg;
    else if (c == O_EXCL)
      excl = 1;
    else if (c == O_USER) {
      if (hv_parse_i64(optarg, INT64_MIN, INT64_MAX, &user, "--user", &err))
        return cli_usage_error("recommend", "%s", err.msg);
    } else if (c == O_BENCH) {
      if (hv_parse_i64(optarg, 1, 100000000, &bench, "--bench", &err))
        return cli_usage_error("recommend", "%s", err.msg);
    } else if (c == 'n') {
      if (hv_parse_i64(optarg, 1, 100000, &n, "-n", &err))
        return cli_usage_error("recommend", "%s", err.msg);
    } else {
      return cli_usage_error("recommend", "bad option");
    }
  }
  if (optind < argc)
    return cli_usage_error("recommend", "unexpected argument '%s'",
                           argv[optind]);
  if (!model_path || user < 0)
    return cli_usage_error("recommend", "--model URI and --user ID are "
                                        "required");
  struct hv_db *db = NULL;
  struct hv_model *m = NULL;
  int64_t *seen = NULL, *ids = NULL;
  size_t n_seen = 0;
  float *sc = NULL, *scratch = NULL;
  char path[4096];
  int rc = cli_open_home(ctx, &db, &err);
  if (!rc)
    rc = uri_resolve(ctx->home, db, model_path, path, sizeof(path), &err);
  if (!rc)
    rc = model_load(path, &m, &err);
  if (!rc && excl)
    rc = ratings_user_movies(db, user, &seen, &n_seen, &err);
  if (!rc) {
    ids = malloc((size_t)n * sizeof(int64_t));
    sc = malloc((size_t)n * sizeof(float));
    scratch = malloc(model_scratch_size(m) * sizeof(float));
    if (!ids || !sc || !scratch)
      rc = hv_err_set(&err, HV_ENOMEM, "recommend: out of memory");
  }
  int got = 0;
  if (!rc) {
    got = model_recommend(m, user, (int)n, seen, n_seen, ids, sc, scratch,
                          &err);
    rc = got < 0 ? got : 0;
  }
  if (!rc)
    rc = print_recs(ctx, db, user, ids, sc, got, &err);
  if (!rc && bench)
    rc = run_bench(m, (int)n, bench, ids, sc, scratch, &err);
  free(seen);
  free(ids);
  free(sc);
  free(scratch);
  model_free(m);
  db_close(db);
  return rc ? cli_report(&err) : 0;
}
