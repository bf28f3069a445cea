/*
 * cmd_artifacts.c - `harvest artifacts list|get|put`: a run's files in the
 * content-addressed artifact store. Every read re-checks the SHA-256.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "store/db.h"
#include "track/artifacts.h"

static void list_help(void)
{
  printf("Usage: harvest artifacts list RUN_ID [--json]\n\n"
         "The run's artifacts: logical path, size and SHA-256.\n");
}

static void get_help(void)
{
  printf("Usage: harvest artifacts get RUN_ID PATH [--out FILE]\n\n"
         "Write artifact PATH of the run to FILE (atomically) or to stdout.\n"
         "The content is verified against its SHA-256 first; nothing is\n"
         "written when it does not match.\n");
}

static void put_help(void)
{
  printf("Usage: harvest artifacts put RUN_ID PATH FILE [--json]\n\n"
         "Store FILE as artifact PATH (e.g. report.json, model/model.hvm) "
         "of\nthe run. Artifacts are immutable: the same content again is a\n"
         "no-op, other content at a taken path is refused.\n");
}

/* Parse the options of `artifacts get`: the common ones plus --out.
 * Returns 1 after help, 0 to go on, HV_EUSAGE on a bad option. */
static int parse_get(struct cli_ctx *ctx, int argc, char **argv,
                     const char **out)
{
  const char *cmd = "artifacts get";
  static const struct option opts[] = {
      {"out", required_argument, NULL, 'o'}, CLI_COMMON_LONGOPTS, {0}};
  int c;
  while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
    if (cli_common_opt(ctx, c, optarg))
      continue;
    if (c == 'o') {
      *out = optarg;
      continue;
    }
    if (c == 'h') {
      get_help();
      return 1;
    }
    return cli_usage_error(cmd, "bad option");
  }
  return 0;
}

static int art_list(struct cli_ctx *ctx, int argc, char **argv)
{
  int rc = cli_parse_common(ctx, "artifacts list", argc, argv, list_help, 1,
                            "expected one RUN_ID");
  if (rc)
    return rc > 0 ? 0 : rc;
  struct hv_err err = {0};
  struct hv_db *db = NULL;
  struct tracking_artifact *a = NULL;
  size_t n = 0;
  if (cli_open_home(ctx, &db, &err) ||
      artifacts_list(db, argv[optind], &a, &n, &err)) {
    db_close(db);
    return cli_report(&err);
  }
  db_close(db);
  if (ctx->json) {
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++)
      json_array_append_new(arr, json_pack("{s:s, s:I, s:s, s:f}", "path",
                                           a[i].path, "size",
                                           (json_int_t)a[i].size, "sha256",
                                           a[i].sha256, "created_at",
                                           a[i].created_at));
    cli_print_json(arr);
  } else {
    if (n == 0)
      printf("no artifacts\n");
    for (size_t i = 0; i < n; i++)
      printf("%-40s %12lld  %s\n", a[i].path, (long long)a[i].size,
             a[i].sha256);
  }
  tracking_artifacts_free(a, n);
  return 0;
}

static int art_get(struct cli_ctx *ctx, int argc, char **argv)
{
  const char *out = NULL;
  int rc = parse_get(ctx, argc, argv, &out);
  if (rc)
    return rc > 0 ? 0 : rc;
  if (argc - optind != 2)
    return cli_usage_error("artifacts get", "expected RUN_ID and PATH");
  struct hv_err err = {0};
  struct hv_db *db = NULL;
  const char *id = argv[optind], *path = argv[optind + 1];
  if (cli_open_home(ctx, &db, &err) ||
      (out ? artifacts_save_as(ctx->home, db, id, path, out, &err)
           : artifacts_write_to(ctx->home, db, id, path, stdout, &err))) {
    db_close(db);
    return cli_report(&err);
  }
  db_close(db);
  return 0;
}

static int art_put(struct cli_ctx *ctx, int argc, char **argv)
{
  int rc = cli_parse_common(ctx, "artifacts put", argc, argv, put_help, 3,
                            "expected RUN_ID, PATH and FILE");
  if (rc)
    return rc > 0 ? 0 : rc;
  struct hv_err err = {0};
  struct hv_db *db = NULL;
  char sha[65];
  const char *id = argv[optind], *path = argv[optind + 1];
  if (cli_open_home(ctx, &db, &err) ||
      artifacts_put_file(ctx->home, db, id, path, argv[optind + 2], sha,
                         &err)) {
    db_close(db);
    return cli_report(&err);
  }
  db_close(db);
  if (ctx->json)
    cli_print_json(json_pack("{s:s, s:s, s:s}", "run_id", id, "path", path,
                             "sha256", sha));
  else
    printf("%s  %s\n", path, sha);
  return 0;
}

static const struct cli_command art_commands[] = {
    {"list", "a run's artifacts with size and SHA-256", art_list},
    {"get", "write a verified artifact to a file or stdout", art_get},
    {"put", "store a file as an artifact of a run", art_put},
};

int cmd_artifacts(struct cli_ctx *ctx, int argc, char **argv)
{
  return cli_dispatch_group(ctx, "artifacts", art_commands,
                            sizeof(art_commands) / sizeof(art_commands[0]),
                            argc, argv);
}
