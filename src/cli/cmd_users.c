/*
 * cmd_users.c - `harvest users add`: a new end user in the catalogue, so
 * that someone who is not in the imported dataset can rate movies (as POST
 * /users/ does on a server). Every demographic field is optional: what is
 * not given is unknown, as in datasets without demographics. `harvest
 * users show ID`: one user, as GET /users/{id} shows it, each unknown
 * field said to be unknown (and, for a feature no user of the dataset
 * has, that it is not in this dataset).
 */
#include <stdio.h>

#include "cli/cli.h"
#include "data/user_json.h"
#include "store/catalog.h"
#include "store/loader.h"
#include "util/parse.h"

struct users_args {
  int64_t id;
  int age;
  const char *gender, *occupation, *zip;
};

static const char add_about[] =
    "Add an end user to the catalogue so they can rate movies (and, once a\n"
    "password is set with POST /users/update_password, log in). The id is\n"
    "the next free one unless --id is given. Fields left out are unknown.\n"
    "The same as POST /users/ on a server (operator policy).\n";

static const struct cli_spec add_spec = {
    .cmd = "users add",
    .usage = "[--id N] [--age YEARS] [--gender M|F] [--occupation TEXT]\n"
             "                 [--zip CODE] [--home DIR] [--json]",
    .about = add_about,
    .json_help = "prints {\"user_id\": N}",
};

static int add_act(struct cli_ctx *ctx, struct hv_db *db, void *ud,
                   int argc, char **args, struct hv_err *err)
{
  const struct users_args *a = ud;
  struct hv_user u = {.id = a->id, .raw_age = a->age,
                      .bucketized_age = -1, .gender = a->gender,
                      .occupation_text = a->occupation,
                      .occupation_label = -1, .zip_code = a->zip};
  int64_t id = 0;
  if (catalog_user_add(db, &u, &id, err))
    return err->code;
  if (ctx->json)
    printf("{\"user_id\": %lld}\n", (long long)id);
  else
    printf("user %lld added\n", (long long)id);
  return 0;
}

static int users_add(struct cli_ctx *ctx, int argc, char **argv)
{
  struct users_args a = {.age = -1};
  const struct cli_opt opts[] = {
      {CLI_OPT(CLI_I64, "id", 0, "N", "the user id (default: one more than "
               "the largest)", &a.id), .lo = 1, .hi = INT32_MAX},
      {CLI_OPT(CLI_INT, "age", 0, "YEARS", "age in years (bucketed as "
               "MovieLens does)", &a.age), .lo = 1, .hi = 120},
      {CLI_OPT(CLI_STR, "gender", 0, "M|F", "gender as in MovieLens",
               &a.gender)},
      {CLI_OPT(CLI_STR, "occupation", 0, "TEXT", "one of the dataset's "
               "occupations (e.g. writer)", &a.occupation)},
      {CLI_OPT(CLI_STR, "zip", 0, "CODE", "zip code", &a.zip)},
      CLI_OPTS_END};
  return cli_run_db(ctx, &add_spec, opts, argc, argv, add_act, &a);
}

/* ---- show ---- */

static const struct cli_spec show_spec = {
    .cmd = "users show",
    .usage = "USER_ID [--home DIR] [--json]",
    .about =
        "One user of the catalogue: age (years and MovieLens bucket), gender,\n"
        "occupation and zip code. A field without a value prints \"unknown\";\n"
        "\"unknown (not in this dataset)\" when no user of the dataset has\n"
        "that feature (ml-latest has no age, gender or occupation).\n",
    .json_help = "prints the user as GET /users/{user_id} does: the columns "
                 "(null when unknown), \"unknown\" and \"not_in_dataset\" "
                 "lists when not empty",
    .min_args = 1,
    .max_args = 1,
    .args_msg = "expected one USER_ID",
    .reads = 1,
};

struct show_out {
  unsigned present; /* CATALOG_UF_* */
  int json;
};

/* The value of a field, or why it has none, into buf. */
static const char *field_text(int known, const char *value, unsigned bit,
                              unsigned present, char *buf, size_t cap)
{
  if (known)
    snprintf(buf, cap, "%s", value);
  else
    snprintf(buf, cap, "unknown%s",
             bit && !(present & bit) ? " (not in this dataset)" : "");
  return buf;
}

static int show_row(void *ctx, const struct catalog_user_row *u)
{
  const struct show_out *o = ctx;
  if (o->json) {
    json_t *j = user_row_json(u, o->present); /* as GET /users/{id} */
    if (!j)
      return HV_ENOMEM;
    cli_print_json(j);
    return 0;
  }
  char age[48], b[128];
  snprintf(age, sizeof(age), "%d (bucket %d)", u->raw_age,
           u->bucketized_age);
  if (u->raw_age < 0 && u->bucketized_age >= 0)
    snprintf(age, sizeof(age), "bucket %d", u->bucketized_age);
  printf("user_id     %lld\n", (long long)u->id);
  printf("age         %s\n",
         field_text(u->raw_age >= 0 || u->bucketized_age >= 0, age,
                    CATALOG_UF_AGE, o->present, b, sizeof(b)));
  printf("gender      %s\n", field_text(u->gender != NULL, u->gender,
                                        CATALOG_UF_GENDER, o->present, b,
                                        sizeof(b)));
  printf("occupation  %s\n",
         field_text(u->occupation_text != NULL, u->occupation_text,
                    CATALOG_UF_OCCUPATION, o->present, b, sizeof(b)));
  printf("zip_code    %s\n", field_text(u->zip_code != NULL, u->zip_code, 0,
                                        o->present, b, sizeof(b)));
  return 0;
}

static int show_act(struct cli_ctx *ctx, struct hv_db *db, void *ud,
                    int argc, char **args, struct hv_err *err)
{
  (void)ud;
  (void)argc;
  int64_t id = 0;
  struct show_out o = {0, ctx->json};
  if (hv_parse_i64(args[0], 0, INT64_MAX, &id, "USER_ID", err) ||
      catalog_user_features(db, &o.present, err))
    return err->code;
  int rc = catalog_user_get(db, id, show_row, &o, err);
  if (rc == HV_ENOMEM)
    return hv_err_set(err, HV_ENOMEM, "users show: out of memory");
  return rc;
}

static int users_show(struct cli_ctx *ctx, int argc, char **argv)
{
  return cli_run_db(ctx, &show_spec, NULL, argc, argv, show_act, NULL);
}

static const struct cli_command users_commands[] = {
    {"add", "add an end user so they can rate", .fn = users_add},
    {"show", "one user; unknown fields said so", .fn = users_show},
};

int cmd_users(struct cli_ctx *ctx, int argc, char **argv)
{
  return cli_dispatch_group(ctx, "users", CLI_TABLE(users_commands), argc,
                            argv);
}
