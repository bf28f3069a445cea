/*
 * cmd_db.c - `harvest db init`: make an empty home (or bring one's schema
 * up to date), as read commands no longer create one; `harvest db copy`:
 * move a home (SQLite + artifacts) to PostgreSQL and back, every table and
 * artifact checked, all or nothing (track/dbcopy.h).
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "track/dbcopy.h"

static void on_table(void *ctx, const struct copy_progress *p)
{
  if (*(const int *)ctx)
    return;
  if (p->done)
    fprintf(stderr, "harvest db copy: %-20s %12lld rows\n", p->table,
            (long long)p->rows);
  else
    fprintf(stderr, "harvest db copy: %-20s %12lld / %lld\n", p->table,
            (long long)p->rows, (long long)p->total);
}

static void on_blob(void *ctx, size_t done, size_t total, int64_t bytes)
{
  if (!*(const int *)ctx && (done == total || done % 100 == 0))
    fprintf(stderr, "harvest db copy: artifacts %zu / %zu (%lld bytes)\n",
            done, total, (long long)bytes);
}

static void print_report(const struct cli_ctx *ctx, const char *from,
                         const char *to, const struct dbcopy_report *r)
{
  if (ctx->json)
    cli_print_json(json_pack("{s:s, s:s, s:i, s:I, s:I, s:I, s:f}", "from",
                             from, "to", to, "tables", r->rows.tables,
                             "rows", (json_int_t)r->rows.rows, "artifacts",
                             (json_int_t)r->blobs, "bytes",
                             (json_int_t)r->bytes, "seconds", r->seconds));
  else
    printf("copied %d tables, %lld rows and %zu artifacts (%lld bytes) in "
           "%.1f s\n",
           r->rows.tables, (long long)r->rows.rows, r->blobs,
           (long long)r->bytes, r->seconds);
}

static const struct cli_spec copy_spec = {
    .cmd = "db copy",
    .usage = "--from HOME_OR_URL --to URL_OR_HOME [options]",
    .about =
        "Copy a Harvest home to PostgreSQL, or a PostgreSQL database to a\n"
        "new home: every table (catalogue, ratings, runs, params, metrics,\n"
        "tags, registry and its audit log, users, accounts and tokens) and\n"
        "every artifact blob the runs and model versions name. The source\n"
        "is read in one transaction that holds off its writers; the target\n"
        "is written in one transaction, each table's row count and each\n"
        "blob's SHA-256 checked, and committed only when all of it passed:\n"
        "on failure nothing is left (a home folder this copy made is\n"
        "removed; a database keeps its empty schema). In PostgreSQL the\n"
        "blobs go into the database unless --artifacts names a folder.\n",
    .more = "Examples:\n"
            "  harvest db copy --from ./harvest-data "
            "--to postgresql://harvest@db/harvest\n"
            "  harvest db copy --from postgresql:///harvest --to ./home2\n",
    .max_args = 0,
    .home_help = "not used: --from and --to name the two ends",
};

static int db_copy(struct cli_ctx *ctx, int argc, char **argv)
{
  const char *from = NULL, *to = NULL;
  int quiet = 0;
  const struct cli_opt opts[] = {
      {CLI_OPT(CLI_STR, "from", 0, "HOME_OR_URL",
               "the home folder (its harvest.db and artifacts/) or the "
               "postgresql:// database to copy",
               &from),
       .flags = CLI_REQUIRED},
      {CLI_OPT(CLI_STR, "to", 0, "URL_OR_HOME",
               "where to: a postgresql:// database with no rows, or a home "
               "folder that does not exist or is empty",
               &to),
       .flags = CLI_REQUIRED},
      {CLI_OPT(CLI_TRUE, "quiet", 'q', NULL, "no progress lines on stderr",
               &quiet)},
      CLI_OPTS_END};
  int rc = cli_parse_opts(ctx, &copy_spec, opts, argc, argv);
  if (rc)
    return rc == CLI_HELP ? 0 : rc;
  struct dbcopy_opts o = {.from = from, .to = to, .progress = on_table,
                          .blob_progress = on_blob, .ctx = &quiet};
  struct dbcopy_report r;
  struct hv_err err = {0};
  if (dbcopy_run(&o, &r, &err)) {
    hv_err_prefix(&err, "db copy (nothing was written)");
    return cli_report(&err);
  }
  print_report(ctx, from, to, &r);
  return 0;
}

static int db_init_run(struct cli_ctx *ctx, struct hv_db *db, void *ud,
                       int argc, char **args, struct hv_err *err)
{
  (void)db, (void)ud, (void)argc, (void)args, (void)err;
  if (ctx->json)
    cli_print_json(json_pack("{s:s, s:b}", "home", ctx->home, "ready", 1));
  else
    printf("Harvest home ready at '%s' (database at the current schema, "
           "artifacts/)\n",
           ctx->home);
  return 0;
}

static const struct cli_spec init_spec = {
    .cmd = "db init",
    .usage = "[--json]",
    .about =
        "Make an empty Harvest home: the folder, its artifacts/ folder and\n"
        "its database at the current schema (with --db/HARVEST_DB, the\n"
        "schema in that database). On an existing home it upgrades the\n"
        "schema if needed and changes nothing else. Commands that only read\n"
        "(models, runs, recommend, evaluate, monitor, data stats) refuse a\n"
        "home that does not exist rather than making one; data fetch,\n"
        "import and synth make it as they fill it.\n",
    .max_args = 0,
};

static const struct cli_command db_commands[] = {
    {"init", "make an empty home (or bring its schema up to date)",
     .spec = &init_spec, .run = db_init_run},
    {"copy", "copy a home or database into a new one (SQLite <-> "
             "PostgreSQL), checked, all or nothing",
     .fn = db_copy},
};

int cmd_db(struct cli_ctx *ctx, int argc, char **argv)
{
  return cli_dispatch_group(ctx, "db", CLI_TABLE(db_commands), argc, argv);
}
