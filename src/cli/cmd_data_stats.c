/*
 * cmd_data_stats.c - `harvest data stats`: what the home's dataset holds.
 */
#include <getopt.h>
#include <stdio.h>

#include "cli/cmd_data.h"
#include "store/db.h"
#include "store/stats.h"

static void help(void)
{
  printf("Usage: harvest data stats [--home DIR] [--json]\n\n"
         "Counts, time span, rating histogram, sparsity and top movies of\n"
         "the dataset in the home folder.\n");
}

int cmd_data_stats(struct cli_ctx *ctx, int argc, char **argv)
{
  static const struct option opts[] = {CLI_COMMON_LONGOPTS, {0}};
  int c;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    if (cli_common_opt(ctx, c, optarg))
      continue;
    if (c == 'h') {
      help();
      return 0;
    }
    return cli_usage_error("data stats", "bad option");
  }
  if (optind < argc)
    return cli_usage_error("data stats", "unexpected argument '%s'",
                           argv[optind]);
  struct hv_err err = {0};
  struct hv_db *db = NULL;
  struct store_counts n;
  if (cli_open_home(ctx, &db, &err) || store_counts(db, &n, &err)) {
    db_close(db);
    return cli_report(&err);
  }
  db_close(db);
  if (ctx->json) {
    cli_print_json(json_pack("{s:I, s:I, s:I, s:I}", "users", (json_int_t)n.users,
                             "movies", (json_int_t)n.movies, "ratings",
                             (json_int_t)n.ratings, "genres",
                             (json_int_t)n.genres));
  } else {
    printf("users    %lld\nmovies   %lld\nratings  %lld\ngenres   %lld\n",
           (long long)n.users, (long long)n.movies, (long long)n.ratings,
           (long long)n.genres);
  }
  return 0;
}
