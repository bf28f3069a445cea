/*
 * cmd_data_fetch.c - `harvest data fetch [NAME]`: download a MovieLens
 * archive into HOME/downloads (resumable, checked) and import it. A
 * failure leaves no empty database in a home it made.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cmd_data.h"
#include "data/fetch.h"
#include "util/fsutil.h"
#include "util/parse.h"

/* fetch_progress_fn */
static void on_progress(void *ctx, int64_t done, int64_t total)
{
  if (!cli_progress_due(ctx, 0))
    return;
  if (total > 0)
    fprintf(stderr, "\rfetch: %lld / %lld bytes (%3.0f%%)   ",
            (long long)done, (long long)total,
            100.0 * (double)done / (double)total);
  else
    fprintf(stderr, "\rfetch: %lld bytes   ", (long long)done);
  fflush(stderr);
}

struct fetch_job {
  struct fetch_request *q;
  struct fetch_import_result r;
};

/* cli_fill_fn: download and import job->q. */
static int fetch_fill(struct hv_db *db, void *ud, struct cli_progress *p,
                      struct hv_err *err)
{
  struct fetch_job *job = ud;
  return fetch_and_import(db, job->q, on_progress, p, &job->r, err);
}

static void print_result(const struct cli_ctx *ctx,
                         const struct fetch_request *q,
                         const struct fetch_import_result *r)
{
  const struct fetch_result *d = &r->download;
  if (ctx->json) {
    cli_print_json(json_pack(
        "{s:s?, s:s, s:s, s:s, s:I, s:I, s:b, s:s, s:f, s:{s:I, s:I, s:I, "
        "s:I, s:f}}",
        "dataset", q->dataset, "url", q->url, "path", r->path, "format",
        r->format, "bytes", (json_int_t)d->bytes, "resumed_from",
        (json_int_t)d->resumed_from, "reused", d->reused, "sha256", d->sha256,
        "download_seconds", d->seconds, "import", "users",
        (json_int_t)r->users, "movies", (json_int_t)r->movies, "ratings",
        (json_int_t)r->ratings, "genres", (json_int_t)r->genres, "seconds",
        r->import_seconds));
    return;
  }
  if (d->reused)
    printf("using %s (%lld bytes, sha256 %s)\n", r->path, (long long)d->bytes,
           d->sha256);
  else
    printf("downloaded %s (%lld bytes%s, sha256 %s) in %.2f s\n", r->path,
           (long long)d->bytes, d->resumed_from ? ", resumed" : "", d->sha256,
           d->seconds);
  printf("imported %s: %lld users, %lld movies, %lld ratings, %lld genres "
         "in %.2f s\n",
         r->format, (long long)r->users, (long long)r->movies,
         (long long)r->ratings, (long long)r->genres, r->import_seconds);
}

static const struct cli_spec fetch_spec = {
    .cmd = "data fetch",
    .usage = "[NAME | --url URL] [--sha256 HEX] [--size BYTES]\n"
             "         [--replace] [--home DIR] [--json]\n"
             "NAME: ml-100k (default), ml-1m or ml-latest-small (also "
             "--dataset NAME)",
    .about = "Download a MovieLens archive into HOME/downloads/ and import "
             "it.\nThe file is written as NAME.part, resumed with an HTTP "
             "Range request\nwhen a .part is already there, checked, and "
             "renamed when complete;\na download that got nothing leaves "
             "no .part, and a failed fetch or\nimport into a home that had "
             "no database leaves none.\n",
    .max_args = 1,
};

/* Parse argv into q; 0, CLI_HELP or HV_EUSAGE (reported). */
static int parse(struct cli_ctx *ctx, int argc, char **argv,
                 struct fetch_request *q)
{
  const struct cli_opt opts[] = {
      {CLI_OPT(CLI_STR, "dataset", 0, "NAME",
               "ml-100k (default), ml-1m or ml-latest-small; picks the "
               "GroupLens URL and the import format", &q->dataset)},
      {CLI_OPT(CLI_STR, "url", 0, "URL",
               "download from URL instead (http or https); without --dataset "
               "the format is guessed from the archive", &q->url)},
      {CLI_OPT(CLI_STR, "sha256", 0, "HEX",
               "expected SHA-256 of the file; on a mismatch the file is "
               "removed and nothing is imported. A file already downloaded "
               "with this checksum is used as is.", &q->sha256_hex)},
      {CLI_OPT(CLI_I64, "size", 0, "BYTES", "expected size of the file",
               &q->size), .hi = INT64_MAX},
      {CLI_OPT(CLI_TRUE, "replace", 0, NULL,
               "replace a dataset already in the database", &q->replace)},
      CLI_OPTS_END};
  int rc = cli_parse_opts(ctx, &fetch_spec, opts, argc, argv);
  if (rc || optind >= argc)
    return rc;
  if (q->dataset && strcmp(q->dataset, argv[optind]))
    return cli_usage_error("data fetch", "two datasets: '%s' and --dataset "
                           "'%s'", argv[optind], q->dataset);
  q->dataset = argv[optind];
  return 0;
}

int cmd_data_fetch(struct cli_ctx *ctx, int argc, char **argv)
{
  struct fetch_request q = {.size = -1};
  struct hv_err err = {0};
  int rc = parse(ctx, argc, argv, &q);
  if (rc)
    return cli_parse_rc(rc);
  if (!q.dataset && !q.url)
    q.dataset = "ml-100k";
  if (q.dataset && !fetch_dataset_format(q.dataset))
    return cli_usage_error("data fetch",
                           "unknown dataset '%s' (ml-100k, ml-1m, "
                           "ml-latest-small)",
                           q.dataset);
  if (!q.url)
    q.url = fetch_default_url(q.dataset);
  char dir[4096];
  if (hv_path_join(dir, sizeof(dir), ctx->home, "downloads", &err))
    return cli_report(&err);
  q.dir = dir;
  struct fetch_job job = {.q = &q};
  /* a failed fetch leaves no empty database */
  rc = cli_fill_home(ctx, fetch_fill, &job, &err);
  if (rc == HV_EUSAGE)
    return cli_usage_error("data fetch", "%s", err.msg);
  if (rc)
    return cli_report(&err);
  print_result(ctx, &q, &job.r);
  return 0;
}
