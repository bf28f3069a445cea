/*
 * cmd_data_import.c - `harvest data import`: load a MovieLens dataset from
 * its folder or .zip into the home's database (one transaction).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cmd_data.h"
#include "data/import.h"

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

struct import_job {
  const char *format, *path;
  int replace;
  struct progress prog;
  struct import_result res;
};

/* cli_fill_fn: import job->path (a progress line when stderr is a tty). */
static int import_fill(struct hv_db *db, void *ud, struct cli_progress *p,
                       struct hv_err *err)
{
  struct import_job *job = ud;
  int tty = isatty(STDERR_FILENO);
  int rc = import_dataset_progress(db, job->format, job->path, job->replace,
                                   tty ? show_progress : NULL, &job->prog,
                                   &job->res, err);
  if (job->prog.shown)
    fprintf(stderr, "\r\033[K");
  return rc;
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
  const char *format = NULL;
  int replace = 0;
  const struct cli_opt opts[] = {
      {CLI_OPT(CLI_STR, "format", 'f', "FORMAT",
               "ml-100k, ml-1m, ml-latest or ml-latest-small. When omitted, "
               "the format is guessed from the files present: u.data -> "
               "ml-100k, ratings.dat -> ml-1m, ratings.csv -> ml-latest.",
               &format)},
      {CLI_OPT(CLI_TRUE, "replace", 'r', NULL,
               "replace the dataset already in the database (otherwise the "
               "import is refused)", &replace)},
      CLI_OPTS_END};
  const struct cli_spec spec = {
      .cmd = "data import",
      .usage = "[--format FORMAT] [--replace] [--json]\n"
               "                           [--home DIR] PATH",
      .about = "Import a MovieLens dataset into the home folder's database. "
               "PATH is\nthe dataset folder or its .zip (as downloaded; in "
               "both, files may sit\ninside one top folder such as "
               "ml-100k/).\n",
      .more = "The import is all or nothing: the first bad line is reported "
              "as\nFILE:LINE: what is wrong, and the database is left "
              "unchanged (a home\nfolder or database the failed import "
              "created is removed again).\nA progress line is shown on stderr when it is a "
              "terminal.\nExit status: 0 imported, 1 failed (bad data, "
              "already imported, I/O),\n2 usage error.\n",
      .opts = opts,
      .min_args = 1,
      .max_args = 1,
      .args_msg = "missing the dataset PATH",
      .json_help = "print {\"users\", \"movies\", \"ratings\", "
                   "\"genres\", \"seconds\", \"format\"}",
  };
  int rc = cli_parse(ctx, &spec, argc, argv);
  if (rc)
    return cli_parse_rc(rc);
  const char *path = argv[optind];
  struct hv_err err = {0};
  if (format && !import_format_name(format))
    return cli_usage_error("data import",
                           "unknown format '%s' (ml-100k, ml-1m, ml-latest, "
                           "ml-latest-small)",
                           format);
  if (!format && import_guess_format(path, &format, &err))
    return cli_report(&err);
  struct import_job job = {format, path, replace, .prog = {.percent = -1}};
  /* nothing imported: no empty database, no new home folder */
  if (cli_fill_home(ctx, import_fill, &job, &err))
    return cli_report(&err);
  print_result(ctx, format, path, &job.res);
  return 0;
}
