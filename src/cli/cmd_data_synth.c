/*
 * cmd_data_synth.c - `harvest data synth`: generate a MovieLens-shaped
 * dataset with planted structure and drift into the home's database.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cmd_data.h"
#include "data/synth.h"
#include "util/parse.h"

static const char synth_more[] =
    "Planted structure: 8-dim latent user/movie factors tied to the 19\n"
    "ml-100k genres (users mostly watch and like their 3 favourite\n"
    "genres), power-law movie popularity, ml-100k demographics (age\n"
    "buckets, gender, 21 occupations, zip codes) that shape taste, release\n"
    "years, a rating histogram matching ml-100k, each user/movie pair rated\n"
    "at most once, ratings in time order (rating_id follows time).\n"
    "\n"
    "Drift: the drift point Td is the middle of the time span. sudden:\n"
    "everything below switches at Td; gradual: it blends in linearly from\n"
    "Td to the end.\n"
    "  1. new movies: the last 20% of movie ids appear only from Td on\n"
    "     (gradual: one by one over the second half);\n"
    "  2. popularity shift: movie weights move to new ones (log-normal\n"
    "     reshuffle; new movies among the most popular);\n"
    "  3. user mix: the last 25% of user ids are a younger cohort (mostly\n"
    "     under 25, more students, action/sci-fi/comedy/horror/animation\n"
    "     fans, 1.5x as active) arriving at Td (gradual: over the second\n"
    "     half);\n"
    "  4. rating scale: ratings get harsher, about -0.35 stars on average.\n"
    "Td, the first rating_id at or after it, and the first new movie and\n"
    "young user ids are printed (--json: drift_start, drift_end,\n"
    "drift_first_rating_id, new_movies_from_id, young_users_from_id) and\n"
    "stored as JSON in the dataset's source (datasets table).\n";

static const struct cli_spec synth_spec = {
    .cmd = "data synth",
    .usage = "[--users N] [--movies M] [--ratings R]\n"
             "         [--days D] [--seed S] [--drift none|gradual|sudden]\n"
             "         [--start YYYY-MM-DD] [--replace] [--home DIR] "
             "[--json]",
    .about =
        "Generate a MovieLens-shaped synthetic dataset (named \"synth\") into\n"
        "the home's database, as one transaction. Deterministic for a seed.\n",
    .more = synth_more,
};

/* synth_progress_fn */
static void on_progress(void *ctx, const char *phase, int64_t done,
                        int64_t total)
{
  if (!cli_progress_due(ctx, done >= total))
    return;
  fprintf(stderr, "\rsynth: %-8s %lld / %lld (%3.0f%%)   ", phase,
          (long long)done, (long long)total,
          total > 0 ? 100.0 * (double)done / (double)total : 100.0);
  fflush(stderr);
}

struct synth_job {
  const struct synth_config *cfg;
  struct synth_result r;
};

/* cli_fill_fn: generate job->cfg's dataset. */
static int synth_fill(struct hv_db *db, void *ud, struct cli_progress *p,
                      struct hv_err *err)
{
  struct synth_job *job = ud;
  return synth_run(db, job->cfg, on_progress, p, &job->r, err);
}

static void print_result(const struct cli_ctx *ctx,
                         const struct synth_config *c,
                         const struct synth_result *r)
{
  double rows = (double)(r->users + r->movies + r->ratings);
  double rate = r->seconds > 0 ? rows / r->seconds : 0;
  char a[32], b[32], d[32];
  cli_utc((double)r->first_ts, CLI_UTC_TIME, a, sizeof(a));
  cli_utc((double)r->last_ts, CLI_UTC_TIME, b, sizeof(b));
  cli_utc((double)r->drift_start_ts, CLI_UTC_TIME, d, sizeof(d));
  if (ctx->json) {
    json_t *j = json_pack(
        "{s:s, s:I, s:I, s:I, s:I, s:I, s:s, s:I, s:I, s:s, s:s}", "dataset",
        "synth", "users", (json_int_t)r->users, "movies",
        (json_int_t)r->movies, "ratings", (json_int_t)r->ratings, "genres",
        (json_int_t)r->genres, "seed", (json_int_t)c->seed, "drift",
        synth_drift_name(c->drift), "first_timestamp",
        (json_int_t)r->first_ts, "last_timestamp", (json_int_t)r->last_ts,
        "first_date", a, "last_date", b);
    json_t *tail = json_pack(
        "{s:f, s:f, s:o}", "seconds", r->seconds, "rows_per_second", rate,
        "phases",
        json_pack("{s:f, s:f, s:f, s:f, s:f, s:f, s:f}", "model", r->t_model,
                  "rows", r->t_rows, "indexes", r->t_indexes, "commit",
                  r->t_commit, "checkpoint", r->t_checkpoint,
                  "generator_cpu", r->t_generate, "waiting_for_generator",
                  r->t_wait));
    if (synth_drift_facts_json(j, r) || !tail || json_object_update(j, tail)) {
      json_decref(j);
      j = NULL; /* cli_print_json reports it */
    }
    json_decref(tail);
    cli_print_json(j);
    return;
  }
  printf("synth: %lld users, %lld movies, %lld ratings, %lld genres "
         "(seed %llu) in %.2f s (%.0f rows/s)\n",
         (long long)r->users, (long long)r->movies, (long long)r->ratings,
         (long long)r->genres, (unsigned long long)c->seed, r->seconds, rate);
  printf("ratings from %s to %s\n", a, b);
  if (c->drift == SYNTH_DRIFT_NONE) {
    printf("drift: none\n");
    return;
  }
  printf("drift: %s from %s (timestamp %lld, first rating_id %lld)",
         synth_drift_name(c->drift), d, (long long)r->drift_start_ts,
         (long long)r->drift_first_rating_id);
  if (c->drift == SYNTH_DRIFT_GRADUAL)
    printf(" to the end (timestamp %lld)", (long long)r->drift_end_ts);
  printf("; new movies from id %lld, young users from id %lld\n",
         (long long)r->new_movies_from_id, (long long)r->young_users_from_id);
}

/* Parse argv into c; 0, CLI_HELP or HV_EUSAGE (reported). */
static int parse(struct cli_ctx *ctx, int argc, char **argv,
                 struct synth_config *c)
{
  const struct cli_opt opts[] = {
      {CLI_OPT(CLI_I64, "users", 0, "N", "users (default 943)", &c->users),
       .lo = 1, .hi = INT64_MAX},
      {CLI_OPT(CLI_I64, "movies", 0, "M", "movies (default 1682)",
               &c->movies), .lo = 1, .hi = INT64_MAX},
      {CLI_OPT(CLI_I64, "ratings", 0, "R",
               "ratings, at most half of users x movies (default 100000)",
               &c->ratings), .hi = INT64_MAX},
      {CLI_OPT(CLI_I64, "days", 0, "D", "days the ratings span (default 215)",
               &c->days), .lo = 1, .hi = 36500},
      {CLI_OPT(CLI_U64, "seed", 0, "S", "random seed (default 42)", &c->seed),
       .hi = INT64_MAX},
      {CLI_OPT(CLI_FN, "start", 0, "DATE", "first day, UTC (default "
               "1997-09-20)", &c->start), .fn = cli_set_synth_date},
      {CLI_OPT(CLI_FN, "drift", 0, "KIND", "none (default), gradual or sudden",
               &c->drift), .fn = cli_set_synth_drift},
      {CLI_OPT(CLI_TRUE, "replace", 0, NULL,
               "replace a dataset already in the database", &c->replace)},
      CLI_OPTS_END};
  return cli_parse_opts(ctx, &synth_spec, opts, argc, argv);
}

int cmd_data_synth(struct cli_ctx *ctx, int argc, char **argv)
{
  struct synth_config cfg;
  synth_defaults(&cfg);
  struct hv_err err = {0};
  int rc = parse(ctx, argc, argv, &cfg);
  if (rc)
    return cli_parse_rc(rc);
  if (synth_check(&cfg, &err))
    return cli_usage_error("data synth", "%s", err.msg);
  struct synth_job job = {.cfg = &cfg};
  if (cli_fill_home(ctx, synth_fill, &job, &err))
    return cli_report(&err);
  print_result(ctx, &cfg, &job.r);
  return 0;
}
