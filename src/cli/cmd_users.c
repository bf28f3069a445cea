/*
 * cmd_users.c - `harvest users add`: a new end user in the catalogue, so
 * that someone who is not in the imported dataset can rate movies (as POST
 * /users/ does on a server). Every demographic field is optional: what is
 * not given is unknown, as in datasets without demographics.
 */
#include <stdio.h>

#include "cli/cli.h"
#include "store/catalog.h"
#include "store/loader.h"

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

static const struct cli_command users_commands[] = {
    {"add", "add an end user so they can rate", .fn = users_add},
};

int cmd_users(struct cli_ctx *ctx, int argc, char **argv)
{
  return cli_dispatch_group(ctx, "users", CLI_TABLE(users_commands), argc,
                            argv);
}
