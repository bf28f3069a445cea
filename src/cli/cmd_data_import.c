/*
 * cmd_data_import.c - `harvest data import`: load a MovieLens dataset from
 * its folder or .zip into the home's database (one transaction).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cmd_data.h"
#include "data/import.h"
#include "store/db.h"

static void help(void)
{
  printf(
      "Usage: harvest data import [--format FORMAT] [--replace] [--json]\n"
      "                           [--home DIR] PATH\n\n"
      "Import a MovieLens dataset into the home folder's database. PATH is\n"
      "the dataset folder or its .zip (as downloaded; in both, files may sit\n"
      "inside one top folder such as ml-100k/).\n\n"
      "Options:\n"
      "  -f, --format FORMAT  ml-100k, ml-1m, ml-latest or ml-latest-small.\n"
      "                       When omitted, the format is guessed from the\n"
      "                       files present: u.data -> ml-100k, ratings.dat\n"
      "                       -> ml-1m, ratings.csv -> ml-latest.\n"
      "  -r, --replace        replace the dataset already in the database\n"
      "                       (otherwise the import is refused)\n"
      "      --json           print {\"users\", \"movies\", \"ratings\",\n"
      "                       \"genres\", \"seconds\", \"format\"}\n"
      "      --home DIR       data folder (default $HARVEST_HOME or\n"
      "                       ./harvest-data)\n"
      "  -h, --help           this help\n\n"
      "The import is all or nothing: the first bad line is reported as\n"
      "FILE:LINE: what is wrong, and the database is left unchanged.\n"
      "A progress line is shown on stderr when it is a terminal.\n"
      "Exit status: 0 imported, 1 failed (bad data, already imported, I/O),\n"
      "2 usage error.\n");
}

struct progress {
  char file[256];
  int percent; /* last shown, -1 none */
  int shown;
};

/* import_progress_fn: one rewritten line on stderr per percent. */
static void show_progress(void *ctx, const char *file, int64_t done,
                          int64_t total)
{
  struct progress *p = ctx;
  int pct = total > 0 ? (int)(done * 100 / total) : -1;
  if (pct > 100)
    pct = 100;
  if (pct == p->percent && !strncmp(p->file, file, sizeof(p->file) - 1))
    return;
  snprintf(p->file, sizeof(p->file), "%s", file);
  p->percent = pct;
  p->shown = 1;
  if (pct >= 0)
    fprintf(stderr, "\r\033[Kimporting %s %3d%%", file, pct);
  else
    fprintf(stderr, "\r\033[Kimporting %s %lld bytes", file, (long long)done);
  fflush(stderr);
}

static void print_result(const struct cli_ctx *ctx, const char *format,
                         const char *path, const struct import_result *r)
{
  if (ctx->json) {
    cli_print_json(json_pack(
        "{s:I, s:I, s:I, s:I, s:f, s:s}", "users", (json_int_t)r->users,
        "movies", (json_int_t)r->movies, "ratings", (json_int_t)r->ratings,
        "genres", (json_int_t)r->genres, "seconds", r->seconds, "format",
        format));
    return;
  }
  printf(
      "imported %s from %s\n"
      "users    %lld\nmovies   %lld\nratings  %lld\ngenres   %lld\n"
      "time     %.3f s (%.0f ratings/s)\n",
      format, path, (long long)r->users, (long long)r->movies,
      (long long)r->ratings, (long long)r->genres, r->seconds,
      r->seconds > 0 ? (double)r->ratings / r->seconds : 0.0);
}

int cmd_data_import(struct cli_ctx *ctx, int argc, char **argv)
{
  static const struct option opts[] = {{"format", required_argument, NULL, 'f'},
                                       {"replace", no_argument, NULL, 'r'},
                                       CLI_COMMON_LONGOPTS,
                                       {0}};
  const char *format = NULL;
  int replace = 0, c;
  while ((c = getopt_long(argc, argv, "f:rh", opts, NULL)) != -1) {
    if (cli_common_opt(ctx, c, optarg))
      continue;
    if (c == 'f') {
      format = optarg;
    } else if (c == 'r') {
      replace = 1;
    } else if (c == 'h') {
      help();
      return 0;
    } else {
      return cli_usage_error("data import", "bad option");
    }
  }
  if (optind >= argc)
    return cli_usage_error("data import", "missing the dataset PATH");
  if (optind + 1 < argc)
    return cli_usage_error("data import", "unexpected argument '%s'",
                           argv[optind + 1]);
  const char *path = argv[optind];
  struct hv_err err = {0};
  if (format && !import_format_name(format))
    return cli_usage_error("data import",
                           "unknown format '%s' (ml-100k, ml-1m, ml-latest, "
                           "ml-latest-small)",
                           format);
  if (!format && import_guess_format(path, &format, &err))
    return cli_report(&err);
  struct hv_db *db = NULL;
  if (cli_open_home(ctx, &db, &err)) {
    db_close(db);
    return cli_report(&err);
  }
  struct progress prog = {.percent = -1};
  int tty = isatty(STDERR_FILENO);
  struct import_result res;
  int rc = import_dataset_progress(
      db, format, path, replace, tty ? show_progress : NULL, &prog, &res, &err);
  if (prog.shown)
    fprintf(stderr, "\r\033[K");
  db_close(db);
  if (rc)
    return cli_report(&err);
  print_result(ctx, format, path, &res);
  return 0;
}
