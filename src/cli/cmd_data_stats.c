/*
 * cmd_data_stats.c - `harvest data stats`: what the home's dataset holds:
 * counts, time span, rating histogram, sparsity, ratings per user and per
 * movie, top movies.
 */
#include <stdio.h>
#include <time.h>

#include "cli/cmd_data.h"
#include "store/db.h"
#include "store/stats.h"

static const struct cli_spec spec = {
    .cmd = "data stats",
    .usage = "[--home DIR] [--json]",
    .about =
        "Counts, time span (first/last rating, days), rating histogram,\n"
        "sparsity (1 - ratings / (users x movies)), ratings per user and per\n"
        "movie (min/median/max; users and movies without ratings count as\n"
        "0) and the 10 most rated movies of the dataset in the home folder.\n"
        "JSON keys: users, movies, ratings, genres, first_timestamp,\n"
        "last_timestamp, first_date, last_date, days, histogram {\"1\": n,\n"
        "...}, sparsity, ratings_per_user and ratings_per_movie {min,\n"
        "median, max}, top_movies [{movie_id, title, count, mean_rating}],\n"
        "dataset {name, source, imported_at} (null when none).\n",
    .reads = 1,
};

static void iso_date(int64_t ts, int have, char *out, size_t cap)
{
  if (!have)
    snprintf(out, cap, "-");
  else
    cli_utc((double)ts, CLI_UTC_DATE, out, cap);
}

/* "1", "4.5": the rating as a histogram key. */
static void rating_key(double r, char *out, size_t cap)
{
  snprintf(out, cap, "%g", r);
}

static json_t *spread_json(const struct stats_spread *s)
{
  return json_pack("{s:I, s:f, s:I}", "min", (json_int_t)s->min, "median",
                   s->median, "max", (json_int_t)s->max);
}

static json_t *stats_json(const struct stats_summary *s,
                          const struct stats_dataset *ds, int have_ds)
{
  char a[16], b[16], key[16];
  int have = s->n.ratings > 0;
  iso_date(s->n.first_ts, have, a, sizeof(a));
  iso_date(s->n.last_ts, have, b, sizeof(b));
  json_t *hist = json_object(), *top = json_array();
  for (int i = 0; hist && i < s->n_hist; i++) {
    rating_key(s->hist[i].rating, key, sizeof(key));
    json_object_set_new(hist, key, json_integer(s->hist[i].count));
  }
  for (int i = 0; top && i < s->n_top; i++)
    json_array_append_new(
        top, json_pack("{s:I, s:s, s:I, s:f}", "movie_id",
                       (json_int_t)s->top[i].movie_id, "title",
                       s->top[i].title, "count", (json_int_t)s->top[i].count,
                       "mean_rating", s->top[i].mean_rating));
  json_t *dataset =
      have_ds ? json_pack("{s:s, s:s, s:f}", "name", ds->name, "source",
                          ds->source, "imported_at", ds->imported_at)
              : json_null();
  return json_pack(
      "{s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:s, s:f, s:o, s:f, s:o, s:o, "
      "s:o, s:o}",
      "users", (json_int_t)s->n.users, "movies", (json_int_t)s->n.movies,
      "ratings", (json_int_t)s->n.ratings, "genres", (json_int_t)s->n.genres,
      "first_timestamp", (json_int_t)s->n.first_ts, "last_timestamp",
      (json_int_t)s->n.last_ts, "first_date", a, "last_date", b, "days",
      s->days, "histogram", hist, "sparsity", s->sparsity, "ratings_per_user",
      spread_json(&s->per_user), "ratings_per_movie",
      spread_json(&s->per_movie), "top_movies", top, "dataset", dataset);
}

static void stats_text(const struct stats_summary *s,
                       const struct stats_dataset *ds, int have_ds)
{
  char a[16], b[16], key[16];
  int have = s->n.ratings > 0;
  iso_date(s->n.first_ts, have, a, sizeof(a));
  iso_date(s->n.last_ts, have, b, sizeof(b));
  if (have_ds)
    printf("dataset  %s (%s)\n", CLI_SAFE(ds->name), CLI_SAFE(ds->source));
  printf("users    %lld\nmovies   %lld\nratings  %lld\ngenres   %lld\n",
         (long long)s->n.users, (long long)s->n.movies,
         (long long)s->n.ratings, (long long)s->n.genres);
  printf("span     %s .. %s (%.1f days)\n", a, b, s->days);
  printf("sparsity %.6f\n", s->sparsity);
  printf("per user  min %lld  median %g  max %lld\n",
         (long long)s->per_user.min, s->per_user.median,
         (long long)s->per_user.max);
  printf("per movie min %lld  median %g  max %lld\n",
         (long long)s->per_movie.min, s->per_movie.median,
         (long long)s->per_movie.max);
  printf("histogram\n");
  for (int i = 0; i < s->n_hist; i++) {
    rating_key(s->hist[i].rating, key, sizeof(key));
    double pct = s->n.ratings ? 100.0 * (double)s->hist[i].count /
                                    (double)s->n.ratings
                              : 0;
    printf("  %-4s %10lld  %5.1f%%\n", key, (long long)s->hist[i].count, pct);
  }
  if (s->n_top)
    printf("top movies (ratings, mean)\n");
  for (int i = 0; i < s->n_top; i++)
    printf("  %7lld  %8lld  %.2f  %s\n", (long long)s->top[i].movie_id,
           (long long)s->top[i].count, s->top[i].mean_rating,
           CLI_SAFE(s->top[i].title));
}

static int run(struct cli_ctx *ctx, struct hv_db *db, void *ud,
               int argc, char **args, struct hv_err *err)
{
  struct stats_summary s;
  struct stats_dataset ds;
  if (stats_summary(db, &s, err))
    return err->code;
  int rc = stats_dataset_latest(db, &ds, err);
  if (rc && rc != HV_ENOTFOUND)
    return rc;
  int have_ds = rc == 0;
  if (ctx->json)
    cli_print_json(stats_json(&s, &ds, have_ds));
  else
    stats_text(&s, &ds, have_ds);
  return 0;
}

int cmd_data_stats(struct cli_ctx *ctx, int argc, char **argv)
{
  return cli_run_db(ctx, &spec, NULL, argc, argv, run, NULL);
}
