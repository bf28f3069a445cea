/*
 * cmd_models.c - `harvest models register|list|show|transition|alias|
 * resolve|check`: the model registry (versions, stages, aliases, audit).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "store/db.h"
#include "track/artifacts.h"
#include "track/registry.h"
#include "track/runs.h"
#include "track/uri.h"
#include "util/parse.h"

static int parse_version(const char *cmd, const char *s, int *out)
{
  struct hv_err err = {0};
  int64_t v = 0;
  if (hv_parse_i64(s, 1, 1000000000, &v, "VERSION", &err))
    return cli_usage_error(cmd, "%s", err.msg);
  *out = (int)v;
  return 0;
}

/* ---- register ---- */

struct reg_args {
  struct registry_register_opts o;
  const char *exp, *metric; /* --best */
  int best, desc;
  char best_id[33];         /* the run --best picked */
  double value;             /* ... and its metric */
};

static const char *const order_names[] = {"asc", "desc", NULL};

static const struct cli_spec register_spec = {
    .cmd = "models register",
    .usage = "(--run RUN_ID | --best --experiment NAME\n"
             "         --metric KEY [--order asc|desc]) [--name NAME]\n"
             "         [--stage STAGE [--archive-existing]] [--artifact "
             "PATH]\n"
             "         [--description TEXT] [--reason TEXT] [--json]",
    .about =
        "Register a run's model artifact (default model/model.hvm) as the "
        "next\nversion of NAME (default " REGISTRY_DEFAULT_MODEL "), after "
        "verifying its SHA-256.\n"
        "--best picks the FINISHED run of the experiment with the best "
        "value\nof KEY (--order desc, the default, means higher is "
        "better).\n"
        "--stage moves the new version to None, Staging, Production or\n"
        "Archived in the same transaction; if another version is in\n"
        "Production, --archive-existing archives it, otherwise nothing is\n"
        "registered and the command fails.\n",
};

/* Parse and check `models register`'s flags into a; 0, CLI_HELP or
 * HV_EUSAGE (reported). */
static int register_parse(struct cli_ctx *ctx, int argc, char **argv,
                          struct reg_args *a)
{
  struct registry_register_opts *o = &a->o;
  const struct cli_opt opts[] = {
      {CLI_OPT(CLI_STR, "run", 0, "RUN_ID", "the run whose model to register",
               &o->run_id)},
      {CLI_OPT(CLI_TRUE, "best", 0, NULL,
               "the best FINISHED run of --experiment by --metric", &a->best)},
      {CLI_OPT(CLI_STR, "experiment", 0, "NAME", "with --best", &a->exp)},
      {CLI_OPT(CLI_STR, "metric", 0, "KEY", "with --best", &a->metric)},
      {CLI_OPT(CLI_CHOICE, "order", 0, "asc|desc",
               "desc (default): higher is better", &a->desc),
       .choices = order_names},
      {CLI_OPT(CLI_STR, "name", 0, "NAME",
               "model name (default " REGISTRY_DEFAULT_MODEL ")", &o->name)},
      {CLI_OPT(CLI_STR, "stage", 0, "STAGE",
               "None, Staging, Production or Archived", &o->stage)},
      {CLI_OPT(CLI_TRUE, "archive-existing", 0, NULL,
               "archive the version in Production, if any",
               &o->archive_existing)},
      {CLI_OPT(CLI_STR, "artifact", 0, "PATH",
               "the run's artifact (default model/model.hvm)",
               &o->artifact_path)},
      {CLI_OPT(CLI_STR, "description", 0, "TEXT", "of the version",
               &o->description)},
      {CLI_OPT(CLI_STR, "reason", 0, "TEXT", "for the audit log", &o->reason)},
      CLI_OPTS_END};
  a->desc = 1;
  int rc = cli_parse_opts(ctx, &register_spec, opts, argc, argv);
  if (rc)
    return rc;
  if (a->best == (o->run_id != NULL))
    return cli_usage_error(register_spec.cmd,
                           "give exactly one of --run and --best");
  if (a->best && (!a->exp || !a->metric))
    return cli_usage_error(register_spec.cmd,
                           "--best needs --experiment and --metric");
  return 0;
}

/* Pick the run (--best), register its model and read the new version
 * back into v (the caller frees it). */
static int register_run(struct cli_ctx *ctx, struct reg_args *a,
                        const char *name, struct registry_version *v,
                        struct hv_err *err)
{
  struct hv_db *db = NULL;
  int version = 0;
  int rc = cli_open_existing_home(ctx, &db, err);
  if (!rc && a->best)
    rc = registry_best_run(db, a->exp, a->metric, a->desc,
                           a->o.artifact_path, a->best_id, &a->value, err);
  if (!rc && a->best)
    a->o.run_id = a->best_id;
  else if (!rc && !(rc = runs_resolve_id(db, a->o.run_id, a->best_id, err)))
    a->o.run_id = a->best_id; /* a unique prefix becomes the full id */
  if (!rc)
    rc = registry_register(ctx->home, db, &a->o, &version, err);
  if (!rc)
    rc = registry_db_find(db, name, version, NULL, NULL, v, err);
  db_close(db);
  return rc;
}

static int models_register(struct cli_ctx *ctx, int argc, char **argv)
{
  struct reg_args a;
  memset(&a, 0, sizeof(a));
  int rc = register_parse(ctx, argc, argv, &a);
  if (rc)
    return cli_parse_rc(rc);
  struct hv_err err = {0};
  struct registry_version v;
  const char *name = a.o.name ? a.o.name : REGISTRY_DEFAULT_MODEL;
  if (register_run(ctx, &a, name, &v, &err))
    return cli_report(&err);
  if (ctx->json) {
    json_t *j = json_pack("{s:s, s:i, s:s, s:s, s:s, s:s}", "name", name,
                          "version", v.version, "stage", v.stage, "run_id",
                          v.run_id, "artifact_path", v.artifact_path,
                          "sha256", v.sha256);
    if (j && a.best)
      json_object_set_new(j, "metric_value", json_real(a.value));
    cli_print_json(j);
  } else {
    printf("registered %s version %d (run %s, %s) in stage %s\n",
           CLI_SAFE(name), v.version, v.run_id, CLI_SAFE(v.artifact_path),
           v.stage);
    if (a.best)
      printf("best run by %s (%s): %.6g\n", a.metric, order_names[a.desc],
             a.value);
  }
  registry_db_version_free(&v);
  return 0;
}

/* ---- list / show ---- */

static const struct cli_spec list_spec = {
    .cmd = "models list",
    .usage = "[--json]",
    .about =
        "Registered models with their versions, stages and aliases.\n",
    .reads = 1,
};

static int models_list_run(struct cli_ctx *ctx, struct hv_db *db, void *ud,
                           int argc, char **args, struct hv_err *err)
{
  struct registry_model *ms = NULL;
  size_t n = 0;
  if (registry_db_list(db, &ms, &n, err))
    return err->code;
  if (ctx->json) {
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
      json_array_append_new(a, registry_model_to_json(&ms[i], 0));
    cli_print_json(a);
  } else {
    if (n == 0)
      printf("no registered models\n");
    for (size_t i = 0; i < n; i++) {
      int prod = 0, staging = 0;
      for (size_t k = 0; k < ms[i].n_versions; k++) {
        if (!strcmp(ms[i].versions[k].stage, "Production"))
          prod = ms[i].versions[k].version;
        if (!strcmp(ms[i].versions[k].stage, "Staging"))
          staging = ms[i].versions[k].version;
      }
      char p[16] = "-", st[16] = "-";
      if (prod)
        snprintf(p, sizeof(p), "%d", prod);
      if (staging)
        snprintf(st, sizeof(st), "%d", staging);
      printf("%-28s %3zu versions  Production: %-4s Staging: %-4s",
             CLI_SAFE(ms[i].name), ms[i].n_versions, p, st);
      for (size_t k = 0; k < ms[i].n_aliases; k++)
        printf(" @%s=%d", CLI_SAFE(ms[i].aliases[k].alias),
               ms[i].aliases[k].version);
      printf("\n");
    }
  }
  registry_db_models_free(ms, n);
  return 0;
}

static const struct cli_spec show_spec = {
    .cmd = "models show",
    .usage = "NAME [--json]",
    .about =
        "A model's versions (version, stage, source run, artifact, hash),\n"
        "aliases and audit log of stage changes and alias moves.\n",
    .min_args = 1,
    .max_args = 1,
    .args_msg = "expected one NAME",
};

static void print_model(const struct registry_model *m)
{
  char t[32];
  printf("model %s (created %s)\n", CLI_SAFE(m->name),
         cli_utc(m->created_at, CLI_UTC_TIME, t, sizeof(t)));
  printf("%-8s %-11s %-33s %-20s %s\n", "version", "stage", "run",
         "created", "aliases");
  for (size_t i = 0; i < m->n_versions; i++) {
    const struct registry_version *v = &m->versions[i];
    printf("%-8d %-11s %-33s %-20s", v->version, v->stage,
           v->run_id[0] ? v->run_id : "-",
           cli_utc(v->created_at, CLI_UTC_TIME, t, sizeof(t)));
    for (size_t k = 0; k < m->n_aliases; k++)
      if (m->aliases[k].version == v->version)
        printf(" @%s", CLI_SAFE(m->aliases[k].alias));
    printf("\n");
  }
  printf("audit:\n");
  for (size_t i = 0; i < m->n_audit; i++) {
    const struct registry_audit *a = &m->audit[i];
    printf("  %s  %-12s v%-4d ", cli_utc(a->time, CLI_UTC_TIME, t, sizeof(t)),
           a->action, a->version);
    if (a->alias) {
      printf("@%s", CLI_SAFE(a->alias));
      if (a->from_version)
        printf(" (was v%d)", a->from_version);
    } else {
      printf("%s -> %s", a->from_stage ? a->from_stage : "(new)",
             a->to_stage ? a->to_stage : "?");
    }
    /* who and reason come from the web UI's transition form too */
    printf("  by %s%s%s\n", CLI_SAFE(a->who),
           a->reason && *a->reason ? ": " : "", CLI_SAFE(a->reason));
  }
}

static int models_show(struct cli_ctx *ctx, int argc, char **argv)
{
  int rc = cli_parse(ctx, &show_spec, argc, argv);
  if (rc)
    return cli_parse_rc(rc);
  struct hv_err err = {0};
  struct hv_db *db = NULL;
  struct registry_model m;
  if (registry_check_name(argv[optind], &err) ||
      cli_open_existing_home(ctx, &db, &err) ||
      registry_db_get(db, argv[optind], &m, &err))
    return cli_close_report(db, &err);
  db_close(db);
  if (ctx->json)
    cli_print_json(registry_model_to_json(&m, 1));
  else
    print_model(&m);
  registry_db_model_free(&m);
  return 0;
}

/* ---- transition / alias ---- */

static const struct cli_spec transition_spec = {
    .cmd = "models transition",
    .usage = "NAME VERSION --stage STAGE\n"
             "         [--archive-existing] [--reason TEXT] [--json]",
    .about =
        "Move a version to None, Staging, Production or Archived. A model\n"
        "has at most one Production version: if another is there, pass\n"
        "--archive-existing to archive it in the same transaction (unlike\n"
        "MLflow, Harvest refuses rather than keeping two). For Staging,\n"
        "--archive-existing archives the other Staging versions. The same\n"
        "rule and flag hold for models register --stage and tune --stage.\n"
        "The alias @champion follows Production: it moves to the version\n"
        "that enters Production and is deleted when its version leaves.\n"
        "Every change is written to the audit log with --reason and $USER.\n",
    .min_args = 2,
    .max_args = 2,
    .args_msg = "expected NAME and VERSION",
};

static int models_transition(struct cli_ctx *ctx, int argc, char **argv)
{
  const char *stage = NULL, *reason = NULL, *cmd = "models transition";
  int archive = 0, version = 0;
  const struct cli_opt opts[] = {
      {CLI_OPT(CLI_STR, "stage", 0, "STAGE",
               "None, Staging, Production or Archived", &stage),
       .flags = CLI_REQUIRED},
      {CLI_OPT(CLI_TRUE, "archive-existing", 0, NULL,
               "archive the version(s) now in that stage", &archive)},
      {CLI_OPT(CLI_STR, "reason", 0, "TEXT", "for the audit log", &reason)},
      CLI_OPTS_END};
  int rc = cli_parse_opts(ctx, &transition_spec, opts, argc, argv);
  if (rc)
    return cli_parse_rc(rc);
  if (parse_version(cmd, argv[optind + 1], &version))
    return HV_EUSAGE;
  struct hv_err err = {0};
  struct hv_db *db = NULL;
  const char *name = argv[optind];
  if (cli_open_existing_home(ctx, &db, &err) ||
      registry_transition(db, name, version, stage, archive, reason, NULL,
                          &err))
    return cli_close_report(db, &err);
  struct registry_version v;
  rc = registry_db_find(db, name, version, NULL, NULL, &v, &err);
  db_close(db);
  if (rc)
    return cli_report(&err);
  if (ctx->json)
    cli_print_json(json_pack("{s:s, s:i, s:s}", "name", name, "version",
                             version, "stage", v.stage));
  else
    printf("%s version %d is now in %s\n", name, version, v.stage);
  registry_db_version_free(&v);
  return 0;
}

static const struct cli_spec alias_spec = {
    .cmd = "models alias",
    .usage = "NAME ALIAS VERSION [--json]\n"
             "       harvest models alias NAME ALIAS --delete",
    .about =
        "Point ALIAS ([a-z0-9_-], e.g. champion, challenger) at VERSION,\n"
        "moving it if it is set, or delete it. Use it as models:/NAME@ALIAS.\n"
        "Every move is written to the audit log.\n",
    .max_args = 3,
};

static int models_alias(struct cli_ctx *ctx, int argc, char **argv)
{
  const char *cmd = "models alias";
  int del = 0, version = 0;
  const struct cli_opt opts[] = {
      {CLI_OPT(CLI_TRUE, "delete", 0, NULL, "delete the alias", &del)},
      CLI_OPTS_END};
  int rc = cli_parse_opts(ctx, &alias_spec, opts, argc, argv);
  if (rc)
    return cli_parse_rc(rc);
  if (argc - optind != (del ? 2 : 3))
    return cli_usage_error(cmd, del ? "expected NAME and ALIAS with --delete"
                                    : "expected NAME, ALIAS and VERSION");
  if (!del && parse_version(cmd, argv[optind + 2], &version))
    return HV_EUSAGE;
  struct hv_err err = {0};
  struct hv_db *db = NULL;
  const char *name = argv[optind], *alias = argv[optind + 1];
  if (cli_open_existing_home(ctx, &db, &err) ||
      (del ? registry_delete_alias(db, name, alias, NULL, &err)
           : registry_set_alias(db, name, alias, version, NULL, &err)))
    return cli_close_report(db, &err);
  db_close(db);
  if (ctx->json)
    cli_print_json(json_pack("{s:s, s:s, s:o}", "name", name, "alias", alias,
                             "version",
                             del ? json_null() : json_integer(version)));
  else if (del)
    printf("deleted alias %s@%s\n", name, alias);
  else
    printf("%s@%s -> version %d\n", name, alias, version);
  return 0;
}

/* ---- resolve / check ---- */

static const struct cli_spec resolve_spec = {
    .cmd = "models resolve",
    .usage = "URI [--json]",
    .about =
        "Resolve a model URI to a checksum-verified file:\n"
        "  models:/NAME/Production  models:/NAME/3  models:/NAME/latest\n"
        "  models:/NAME@champion    runs:/RUN_ID[/PATH]   file path\n",
    .min_args = 1,
    .max_args = 1,
    .args_msg = "expected one URI",
    .reads = 1,
};

static int models_resolve_run(struct cli_ctx *ctx, struct hv_db *db, void *ud,
                              int argc, char **args, struct hv_err *err)
{
  static struct uri_target t; /* large; one per process */
  if (uri_resolve_ex(ctx->home, db, args[0], &t, err))
    return err->code;
  if (ctx->json) {
    json_t *j = json_pack("{s:s, s:s}", "uri", args[0], "path", t.path);
    if (j && t.sha256[0])
      json_object_set_new(j, "sha256", json_string(t.sha256));
    if (j && t.model[0]) {
      json_object_set_new(j, "model", json_string(t.model));
      json_object_set_new(j, "version", json_integer(t.version));
      json_object_set_new(j, "stage", json_string(t.stage));
    }
    if (j && t.run_id[0]) {
      json_object_set_new(j, "run_id", json_string(t.run_id));
      json_object_set_new(j, "artifact_path", json_string(t.artifact_path));
    }
    cli_print_json(j);
  } else {
    printf("%s\n", t.path);
  }
  return 0;
}

static const struct cli_spec check_spec = {
    .cmd = "models check",
    .usage = "[--json]",
    .about =
        "Verify the store: database integrity, at most one Production\n"
        "version per model, every version's artifact present with a valid\n"
        "SHA-256, stages and aliases matching the audit log. Exit 1 with\n"
        "the first problem otherwise.\n",
    .max_args = -1,
};

static int models_check(struct cli_ctx *ctx, int argc, char **argv)
{
  int rc = cli_parse(ctx, &check_spec, argc, argv);
  if (rc)
    return cli_parse_rc(rc);
  struct hv_err err = {0};
  struct hv_db *db = NULL;
  if (cli_open_existing_home(ctx, &db, &err))
    return cli_report(&err);
  rc = registry_check(ctx->home, db, &err);
  db_close(db);
  if (ctx->json)
    cli_print_json(json_pack("{s:b, s:s}", "ok", rc == 0, "problem",
                             rc ? err.msg : ""));
  else if (!rc)
    printf("ok\n");
  return rc ? cli_report(&err) : 0;
}

static const struct cli_command models_commands[] = {
    {"register", "register a run's model as a new version",
     .fn = models_register},
    {"list", "registered models, stages and aliases", .spec = &list_spec,
     .run = models_list_run},
    {"show", "versions, aliases and audit log of a model", .fn = models_show},
    {"transition", "move a version to another stage", .fn = models_transition},
    {"alias", "set, move or delete an alias (@champion)", .fn = models_alias},
    {"resolve", "resolve a model URI to a verified file",
     .spec = &resolve_spec, .run = models_resolve_run},
    {"check", "verify registry invariants and checksums", .fn = models_check},
};

int cmd_models(struct cli_ctx *ctx, int argc, char **argv)
{
  return cli_dispatch_group(ctx, "models", CLI_TABLE(models_commands), argc,
                            argv);
}
