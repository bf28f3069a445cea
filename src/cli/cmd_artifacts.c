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
#include "track/runs.h"

static const struct cli_spec list_spec = {
    .cmd = "artifacts list",
    .usage = "RUN_ID [--json]",
    .about = "The run's artifacts: logical path, size and SHA-256.\n",
    .min_args = 1,
    .max_args = 1,
    .args_msg = "expected one RUN_ID",
    .reads = 1,
};

static const struct cli_spec put_spec = {
    .cmd = "artifacts put",
    .usage = "RUN_ID PATH FILE [--json]",
    .about = "Store FILE as artifact PATH (e.g. report.json, model/model.hvm) "
             "of\nthe run. Artifacts are immutable: the same content again "
             "is a\nno-op, other content at a taken path is refused.\n",
    .min_args = 3,
    .max_args = 3,
    .args_msg = "expected RUN_ID, PATH and FILE",
};

static int art_list_run(struct cli_ctx *ctx, struct hv_db *db, void *ud,
                        int argc, char **args, struct hv_err *err)
{
  struct tracking_artifact *a = NULL;
  size_t n = 0;
  char id[33];
  if (runs_resolve_id(db, args[0], id, err) ||
      artifacts_list(db, id, &a, &n, err))
    return err->code;
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
      printf("%-40s %12lld  %s\n", CLI_SAFE(a[i].path), (long long)a[i].size,
             a[i].sha256);
  }
  tracking_artifacts_free(a, n);
  return 0;
}

static const struct cli_spec get_spec = {
    .cmd = "artifacts get",
    .usage = "RUN_ID PATH [--out FILE]",
    .about = "Write artifact PATH of the run to FILE (atomically) or to "
             "stdout.\nThe content is verified against its SHA-256 first; "
             "nothing is\nwritten when it does not match.\n",
    .min_args = 2,
    .max_args = 3,
    .args_msg = "expected RUN_ID and PATH",
    .json_help = "",
};

static int art_get(struct cli_ctx *ctx, int argc, char **argv)
{
  const char *out = NULL;
  const struct cli_opt opts[] = {
      {CLI_OPT(CLI_STR, "out", 'o', "FILE",
               "write to FILE (atomically) instead of stdout", &out)},
      CLI_OPTS_END};
  int rc = cli_parse_opts(ctx, &get_spec, opts, argc, argv);
  if (rc)
    return cli_parse_rc(rc);
  if (argc - optind == 3) /* as `artifacts put RUN_ID PATH FILE` reads */
    return cli_usage_error(get_spec.cmd, "a third argument '%s': write to a "
                           "file with --out %s", argv[optind + 2],
                           argv[optind + 2]);
  struct hv_err err = {0};
  struct hv_db *db = NULL;
  const char *path = argv[optind + 1];
  char id[33];
  if (cli_open_existing_home(ctx, &db, &err) ||
      runs_resolve_id(db, argv[optind], id, &err) ||
      (out ? artifacts_save_as(ctx->home, db, id, path, out, &err)
           : artifacts_write_to(ctx->home, db, id, path, stdout, &err)))
    return cli_close_report(db, &err);
  db_close(db);
  return 0;
}

static int art_put_run(struct cli_ctx *ctx, struct hv_db *db, void *ud,
                       int argc, char **args, struct hv_err *err)
{
  char sha[65], id[33];
  const char *path = args[1];
  if (runs_resolve_id(db, args[0], id, err) ||
      artifacts_put_file(ctx->home, db, id, path, args[2], sha, err))
    return err->code;
  if (ctx->json)
    cli_print_json(json_pack("{s:s, s:s, s:s}", "run_id", id, "path", path,
                             "sha256", sha));
  else
    printf("%s  %s\n", path, sha);
  return 0;
}

static const struct cli_command art_commands[] = {
    {"list", "a run's artifacts with size and SHA-256", .spec = &list_spec,
     .run = art_list_run},
    {"get", "write a verified artifact to a file or stdout", .fn = art_get},
    {"put", "store a file as an artifact of a run", .spec = &put_spec,
     .run = art_put_run},
};

int cmd_artifacts(struct cli_ctx *ctx, int argc, char **argv)
{
  return cli_dispatch_group(ctx, "artifacts", CLI_TABLE(art_commands), argc,
                            argv);
}
