/*
 * cli_common.c - helpers every `harvest` command shares: see cli.h.
 */
#include <errno.h>
#include <libgen.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "data/synth.h"
#include "store/db.h"
#include "util/fsutil.h"

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
  va_list ap;
  fprintf(stderr, "harvest %s: ", cmd);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\nTry 'harvest %s --help'.\n", cmd);
  return HV_EUSAGE;
}

int cli_report(const struct hv_err *err)
{
  int code = err->code ? err->code : HV_EINTERNAL;
  /* messages quote bad input ("u.item:3: title ...") */
  fprintf(stderr, "harvest: error: %s\n",
          err->msg[0] ? CLI_SAFE(err->msg) : hv_strerror(code));
  return code;
}

int cli_set_synth_drift(const struct cli_opt *o, const char *flag,
                        const char *arg, struct hv_err *err)
{
  return synth_drift_parse(arg, o->dst, err);
}

int cli_set_synth_date(const struct cli_opt *o, const char *flag,
                       const char *arg, struct hv_err *err)
{
  return synth_parse_date(arg, o->dst, err);
}

int cli_close_report(struct hv_db *db, const struct hv_err *err)
{
  db_close(db);
  return cli_report(err);
}

const char *cli_utc(double t, int what, char *buf, size_t cap)
{
  time_t s = (time_t)t;
  struct tm tm;
  gmtime_r(&s, &tm);
  if (what == CLI_UTC_DATE)
    strftime(buf, cap, "%Y-%m-%d", &tm);
  else
    strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

int cli_open_home(const struct cli_ctx *ctx, struct hv_db **db,
                  struct hv_err *err)
{
  char path[4096];
  if (hv_mkdir_private(ctx->home, err))
    return err->code;
  if (hv_path_join(path, sizeof(path), ctx->home, "artifacts", err) ||
      hv_mkdir_p(path, err))
    return err->code;
  if (db_home_path(ctx->home, ctx->db, path, sizeof(path), err))
    return err->code;
  return db_open(path, db, err);
}

/* 1 when the home's database is a SQLite file that does not exist yet. */
static int home_is_new(const struct cli_ctx *ctx)
{
  char path[4096];
  struct hv_err e = {0};
  struct stat st;
  if (db_home_path(ctx->home, ctx->db, path, sizeof(path), &e) ||
      db_is_url(path))
    return 0;
  return stat(path, &st) != 0 && errno == ENOENT;
}

int cli_open_existing_home(const struct cli_ctx *ctx, struct hv_db **db,
                           struct hv_err *err)
{
  if (home_is_new(ctx))
    return hv_err_set(err, HV_ENOTFOUND,
                      "no Harvest home at '%.200s' (no database there): "
                      "make one with 'harvest data fetch ml-100k', 'harvest "
                      "data import PATH' or 'harvest data synth', or point "
                      "--home / HARVEST_HOME at an existing one",
                      ctx->home);
  return cli_open_home(ctx, db, err);
}

/* Remove the home's SQLite database file and its companions. */
static void drop_db(const struct cli_ctx *ctx)
{
  static const char *const ext[] = {"", "-wal", "-shm", "-journal"};
  char path[4096], f[4200];
  struct hv_err e = {0};
  if (db_home_path(ctx->home, ctx->db, path, sizeof(path), &e) ||
      db_is_url(path))
    return;
  for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
    snprintf(f, sizeof(f), "%s%s", path, ext[i]);
    unlink(f);
  }
}

/* The topmost folder of path that does not exist yet into top (cap
 * bytes), or "" when path exists (or is too long to tell). */
static void new_top(const char *path, char *top, size_t cap)
{
  char p[4096];
  struct stat st;
  top[0] = '\0';
  if (snprintf(p, sizeof(p), "%s", path) >= (int)sizeof(p))
    return;
  while (p[0] && strcmp(p, "/") && strcmp(p, ".") && stat(p, &st) != 0 &&
         errno == ENOENT) {
    snprintf(top, cap, "%s", p);
    char *d = dirname(p); /* points into p, or at a static "." / "/" */
    memmove(p, d, strlen(d) + 1);
  }
}

/* The folders opening the home made (top: the topmost of HOME/artifacts
 * and its parents that did not exist; "" for none) removed again, from
 * HOME/artifacts up to top; rmdir keeps a folder that is not empty. */
static void drop_dirs(const struct cli_ctx *ctx, const char *top)
{
  char p[4096];
  if (!top[0] ||
      snprintf(p, sizeof(p), "%s/artifacts", ctx->home) >= (int)sizeof(p))
    return;
  while (rmdir(p) == 0 && strcmp(p, top)) {
    char *d = dirname(p);
    memmove(p, d, strlen(d) + 1);
  }
}

int cli_progress_due(struct cli_progress *p, int last_step)
{
  double now = hv_mono();
  if (!p->on || (now - p->last < 0.25 && !last_step))
    return 0;
  p->last = now;
  p->shown = 1;
  return 1;
}

int cli_fill_home(const struct cli_ctx *ctx, cli_fill_fn fill, void *ud,
                  struct hv_err *err)
{
  struct hv_db *db = NULL;
  struct cli_progress p = {isatty(STDERR_FILENO), 0, 0};
  int fresh = home_is_new(ctx);
  char top[4096], arts[4096];
  snprintf(arts, sizeof(arts), "%s/artifacts", ctx->home);
  new_top(arts, top, sizeof(top));
  int rc = cli_open_home(ctx, &db, err);
  if (!rc)
    rc = fill(db, ud, &p, err);
  if (p.shown)
    fprintf(stderr, "\r%60s\r", "");
  db_close(db);
  if (rc && fresh)
    drop_db(ctx);
  if (rc) /* and the home folder, when this command made it */
    drop_dirs(ctx, top);
  return rc;
}

void cli_print_json(json_t *j)
{
  if (!j) {
    fprintf(stderr, "harvest: error: out of memory building JSON output\n");
    return;
  }
  json_dumpf(j, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
  fputc('\n', stdout);
  json_decref(j);
}

static void group_help(const char *group, const struct cli_command *t,
                       size_t n)
{
  printf("Usage: harvest %s <command> [options]\n\nCommands:\n", group);
  for (size_t i = 0; i < n; i++)
    printf("  %-10s %s\n", t[i].name, t[i].summary);
  printf("\nRun 'harvest %s <command> --help' for a command's options.\n",
         group);
}

int cli_dispatch_group(struct cli_ctx *ctx, const char *group,
                       const struct cli_command *table, size_t n, int argc,
                       char **argv)
{
  if (argc < 2) {
    group_help(group, table, n);
    return cli_usage_error(group, "missing command");
  }
  const char *sub = argv[1];
  if (!strcmp(sub, "help") || !strcmp(sub, "-h") || !strcmp(sub, "--help")) {
    group_help(group, table, n);
    return 0;
  }
  for (size_t i = 0; i < n; i++) {
    const struct cli_command *c = &table[i];
    if (strcmp(c->name, sub))
      continue;
    if (c->run)
      return cli_run_db(ctx, c->spec, NULL, argc - 1, argv + 1, c->run,
                        NULL);
    return c->fn(ctx, argc - 1, argv + 1);
  }
  return cli_usage_error(group, "unknown command '%s'", sub);
}

int cli_run_db(struct cli_ctx *ctx, const struct cli_spec *spec,
               const struct cli_opt *opts, int argc, char **argv,
               cli_db_fn run, void *ud)
{
  int rc = cli_parse_opts(ctx, spec, opts ? opts : spec->opts, argc, argv);
  if (rc)
    return cli_parse_rc(rc);
  struct hv_err err = {0};
  struct hv_db *db = NULL;
  if ((spec->reads ? cli_open_existing_home(ctx, &db, &err)
                   : cli_open_home(ctx, &db, &err)) ||
      run(ctx, db, ud, argc - optind, argv + optind, &err))
    return cli_close_report(db, &err);
  db_close(db);
  return 0;
}
