/*
 * cmd_auth.c - `harvest auth account add|list|passwd|role` and `harvest
 * auth token create|list|revoke`: the operator accounts and API tokens the
 * server's policy accepts (serve/http/tokens.h), kept in the home's
 * database. Passwords are read from standard input (prompted twice, not
 * echoed, on a terminal); a token is printed once, when it is made.
 */
#include <getopt.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli.h"
#include "serve/http/tokens.h"
#include "store/accounts.h"
#include "store/db.h"
#include "util/fsutil.h"
#include "util/parse.h"

static const char *const roles_help =
    "viewer (read: the web UI, monitoring), operator (also registry actions, "
    "reloads, ratings for any user) or admin (also passwords of end users)";

/* One line of stdin into buf without its line end, echo off on a tty. */
static int read_line(const char *prompt, char *buf, size_t cap,
                     struct hv_err *err)
{
  int tty = isatty(0);
  struct termios old, quiet;
  if (tty) {
    fprintf(stderr, "%s", prompt);
    tcgetattr(0, &old);
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    tcsetattr(0, TCSAFLUSH, &quiet);
  }
  char *got = fgets(buf, (int)cap, stdin);
  if (tty) {
    tcsetattr(0, TCSAFLUSH, &old);
    fprintf(stderr, "\n");
  }
  if (!got)
    return hv_err_set(err, HV_EINVAL, "password: nothing on standard input");
  buf[strcspn(buf, "\r\n")] = '\0';
  return 0;
}

/* The new password from stdin (twice and equal on a terminal). */
static int read_password(char *pw, size_t cap, struct hv_err *err)
{
  char again[AUTH_PASSWORD_MAX + 2];
  if (read_line("Password: ", pw, cap, err))
    return err->code;
  if (!isatty(0))
    return 0;
  int rc = read_line("Again: ", again, sizeof(again), err);
  if (!rc && strcmp(pw, again))
    rc = hv_err_set(err, HV_EINVAL, "password: the two differ");
  memset(again, 0, sizeof(again));
  return rc;
}

/* What a subcommand's flags set; positional arguments stay in argv. */
struct auth_args {
  const char *role, *account, *expires, *note;
  int kind;
};

static const char add_about[] =
    "Add an operator account (apart from the catalogue's end users). The\n"
    "password (8 to 1024 bytes) is read from standard input: the first\n"
    "line, or typed twice at a prompt.\n";
static const char create_about[] =
    "Make an API token for an account and print it once (only its digest "
    "is\nstored). Send it as 'Authorization: Bearer hvt_...'.\n";

static const struct cli_spec add_spec = {
    .cmd = "auth account add",
    .usage = "NAME --role viewer|operator|admin < password",
    .about = add_about,
    .min_args = 1,
    .max_args = 1,
    .args_msg = "expected one account NAME",
    .json_help = "",
};

static const struct cli_spec create_spec = {
    .cmd = "auth token create",
    .usage = "--account NAME [--role ROLE] [--expires 30d] [--note TEXT]",
    .about = create_about,
};

static const struct cli_spec tlist_spec = {
    .cmd = "auth token list",
    .usage = "[--kind api|session|all] [--json]",
    .about = "Tokens with their account, scope, state and times (never the "
             "token).\n",
};

static int add_act(struct cli_ctx *ctx, struct hv_db *db, void *ud,
                   int argc, char **args, struct hv_err *err)
{
  struct auth_args *a = ud;
  char pw[AUTH_PASSWORD_MAX + 2];
  enum auth_role r;
  int rc = tokens_check_name(args[0], err) ||
                   auth_role_parse(a->role, &r, err) ||
                   read_password(pw, sizeof(pw), err) ||
                   tokens_account_add(db, args[0], a->role, pw, 0, 0, err)
               ? err->code
               : 0;
  memset(pw, 0, sizeof(pw));
  if (!rc)
    printf("account %s added (%s)\n", args[0], a->role);
  return rc;
}

static int account_add(struct cli_ctx *ctx, int argc, char **argv)
{
  struct auth_args a = {0};
  const struct cli_opt opts[] = {
      {CLI_OPT(CLI_STR, "role", 0, "ROLE", roles_help, &a.role),
       .flags = CLI_REQUIRED},
      CLI_OPTS_END};
  return cli_run_db(ctx, &add_spec, opts, argc, argv, add_act, &a);
}

static int list_act(struct cli_ctx *ctx, struct hv_db *db, void *ud,
                    int argc, char **args, struct hv_err *err)
{
  struct account *a = NULL;
  size_t n = 0;
  if (accounts_list(db, &a, &n, err))
    return err->code;
  json_t *arr = ctx->json ? json_array() : NULL;
  char t[32];
  if (!ctx->json)
    printf(n ? "%-24s %-9s %s\n" : "no accounts\n", "NAME", "ROLE",
           "CREATED (UTC)");
  for (size_t i = 0; i < n; i++) {
    cli_utc(a[i].created_at, CLI_UTC_TIME, t, sizeof(t));
    if (arr)
      json_array_append_new(arr, json_pack("{s:s, s:s, s:s}", "name",
                                           a[i].name, "role", a[i].role,
                                           "created", t));
    else
      printf("%-24s %-9s %s\n", CLI_SAFE(a[i].name), a[i].role, t);
  }
  if (arr)
    cli_print_json(arr);
  free(a);
  return 0;
}

static int passwd_act(struct cli_ctx *ctx, struct hv_db *db, void *ud,
                      int argc, char **args, struct hv_err *err)
{
  char pw[AUTH_PASSWORD_MAX + 2];
  int rc = read_password(pw, sizeof(pw), err) ||
                   tokens_account_password(db, args[0], pw, 0, 0, err)
               ? err->code
               : 0;
  memset(pw, 0, sizeof(pw));
  if (!rc)
    printf("password of %s set\n", args[0]);
  return rc;
}

static int role_act(struct cli_ctx *ctx, struct hv_db *db, void *ud,
                    int argc, char **args, struct hv_err *err)
{
  enum auth_role r;
  if (auth_role_parse(args[1], &r, err) ||
      accounts_set_role(db, args[0], auth_role_name(r), err))
    return err->code;
  printf("%s is now %s\n", args[0], auth_role_name(r));
  return 0;
}

static int remove_act(struct cli_ctx *ctx, struct hv_db *db, void *ud,
                      int argc, char **args, struct hv_err *err)
{
  int64_t n = 0;
  if (tokens_check_name(args[0], err) ||
      accounts_remove(db, args[0], &n, err))
    return err->code;
  printf("account %s removed with its %lld token%s\n", args[0],
         (long long)n, n == 1 ? "" : "s");
  return 0;
}

static int create_act(struct cli_ctx *ctx, struct hv_db *db, void *ud,
                      int argc, char **args, struct hv_err *err)
{
  struct auth_args *a = ud;
  double ttl = 0;
  char tok[TOKENS_TEXT_MAX], t[32] = "never";
  int64_t id = 0;
  if (tokens_parse_ttl(a->expires, "--expires", &ttl, err))
    return hv_err_set(err, HV_EUSAGE, "%s", err->msg);
  if (tokens_create(db, a->account, a->role, TOKENS_API, ttl, a->note, tok,
                    &id, err))
    return err->code;
  if (ttl > 0)
    cli_utc(hv_now() + ttl, CLI_UTC_TIME, t, sizeof(t));
  if (ctx->json)
    cli_print_json(json_pack("{s:I, s:s, s:s, s:s}", "id", (json_int_t)id,
                             "account", a->account, "expires", t, "token",
                             tok));
  else
    printf("token %lld for %s, expires %s (shown once; keep it safe):\n%s\n",
           (long long)id, a->account, t, tok);
  memset(tok, 0, sizeof(tok));
  return 0;
}

static int token_create(struct cli_ctx *ctx, int argc, char **argv)
{
  struct auth_args a = {.expires = "30d", .note = ""};
  const struct cli_opt opts[] = {
      {CLI_OPT(CLI_STR, "account", 0, "NAME", "the account the token acts "
               "for", &a.account), .flags = CLI_REQUIRED},
      {CLI_OPT(CLI_STR, "role", 0, "ROLE", "scope it to a lower role than "
               "the account's (default: the account's)", &a.role)},
      {CLI_OPT(CLI_STR, "expires", 0, "TTL", "lifetime: 30d (default), 12h, "
               "90m, 3600s or never", &a.expires)},
      {CLI_OPT(CLI_STR, "note", 0, "TEXT", "what it is for (shown by 'auth "
               "token list')", &a.note), .hi = 120},
      CLI_OPTS_END};
  return cli_run_db(ctx, &create_spec, opts, argc, argv, create_act, &a);
}

/* "-" for 0, else the UTC time of t. */
static const char *when(double t, char *buf, size_t cap)
{
  if (!(t > 0)) {
    snprintf(buf, cap, "-");
    return buf;
  }
  return cli_utc(t, CLI_UTC_TIME, buf, cap);
}

/* "active", "revoked" or "expired" at now. */
static const char *state_of(const struct account_token *t, double now)
{
  return t->revoked_at > 0                         ? "revoked"
         : t->expires_at > 0 && now >= t->expires_at ? "expired"
                                                   : "active";
}

static const char *const kinds[] = {"api", "session", "all", NULL};

static int tlist_act(struct cli_ctx *ctx, struct hv_db *db, void *ud,
                     int argc, char **args, struct hv_err *err)
{
  struct auth_args *a = ud;
  struct account_token *t = NULL;
  size_t n = 0;
  if (accounts_token_list(db, a->kind == 2 ? NULL : kinds[a->kind], &t, &n,
                          err))
    return err->code;
  double now = hv_now();
  json_t *arr = ctx->json ? json_array() : NULL;
  if (!arr)
    printf(n ? "%-5s %-16s %-8s %-9s %-8s %-20s %-20s %s\n" : "no tokens\n",
           "ID", "ACCOUNT", "KIND", "ROLE", "STATE", "CREATED", "EXPIRES",
           "NOTE");
  for (size_t i = 0; i < n; i++) {
    char c[32], e[32];
    when(t[i].created_at, c, sizeof(c));
    when(t[i].expires_at, e, sizeof(e));
    if (arr)
      json_array_append_new(
          arr, json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id",
                         (json_int_t)t[i].id, "account", t[i].account, "kind",
                         t[i].kind, "role", t[i].role, "state",
                         state_of(&t[i], now), "created", c, "expires", e,
                         "note", t[i].note));
    else
      printf("%-5lld %-16s %-8s %-9s %-8s %-20s %-20s %s\n",
             (long long)t[i].id, CLI_SAFE(t[i].account), t[i].kind,
             t[i].role, state_of(&t[i], now), c, e, CLI_SAFE(t[i].note));
  }
  if (arr)
    cli_print_json(arr);
  free(t);
  return 0;
}

static int token_list(struct cli_ctx *ctx, int argc, char **argv)
{
  struct auth_args a = {0};
  const struct cli_opt opts[] = {
      {CLI_OPT(CLI_CHOICE, "kind", 0, "KIND", "api (default), session (web "
               "UI logins) or all", &a.kind), .choices = kinds},
      CLI_OPTS_END};
  return cli_run_db(ctx, &tlist_spec, opts, argc, argv, tlist_act, &a);
}

static int revoke_act(struct cli_ctx *ctx, struct hv_db *db, void *ud,
                      int argc, char **args, struct hv_err *err)
{
  int64_t id;
  if (hv_parse_i64(args[0], 1, INT64_MAX, &id, "token ID", err))
    return hv_err_set(err, HV_EUSAGE, "%s", err->msg);
  if (tokens_revoke(db, id, err))
    return err->code;
  printf("token %lld revoked\n", (long long)id);
  return 0;
}

static const char list_about[] = "Every operator account with its role.\n";
static const char passwd_about[] =
    "Set an account's password (read as for 'auth account add'). Its web "
    "UI\nsessions end; its API tokens stay (revoke them with 'auth token "
    "revoke').\n";
static const char role_about[] =
    "Change an account's role. Its tokens act with the lower of their "
    "scope\nand the account's role, so lowering the role lowers them at "
    "once.\n";
static const char remove_about[] =
    "Remove an account with every token of it (API tokens and web UI\n"
    "sessions), in one transaction: the server refuses them from the next\n"
    "request on. The last admin account is not removed (exit 1): add\n"
    "another admin first.\n";
static const char revoke_about[] =
    "Revoke token ID (see 'auth token list'): the server refuses it from "
    "the\nnext request on (401).\n";

#define SPEC(cmd_, usage_, about_, lo, hi, msg)                          \
  {.cmd = cmd_, .usage = usage_, .about = about_, .min_args = lo,         \
   .max_args = hi, .args_msg = msg, .json_help = ""}

/* The subcommands without flags of their own. */
static const struct cli_spec list_spec =
    SPEC("auth account list", "[--json]", list_about, 0, 0, NULL);
static const struct cli_spec passwd_spec =
    SPEC("auth account passwd", "NAME < password", passwd_about, 1, 1,
         "expected one account NAME");
static const struct cli_spec role_spec =
    SPEC("auth account role", "NAME viewer|operator|admin", role_about, 2, 2,
         "expected NAME and ROLE");
static const struct cli_spec remove_spec =
    SPEC("auth account remove", "NAME", remove_about, 1, 1,
         "expected one account NAME");
static const struct cli_spec revoke_spec =
    SPEC("auth token revoke", "ID", revoke_about, 1, 1,
         "expected one token ID");

static const struct cli_command account_commands[] = {
    {"add", "add an account with a role (password on stdin)",
     .fn = account_add},
    {"list", "accounts and their roles", .spec = &list_spec,
     .run = list_act},
    {"passwd", "set an account's password (ends its UI sessions)",
     .spec = &passwd_spec, .run = passwd_act},
    {"role", "change an account's role", .spec = &role_spec,
     .run = role_act},
    {"remove", "remove an account and its tokens (not the last admin)",
     .spec = &remove_spec, .run = remove_act},
};

static const struct cli_command token_commands[] = {
    {"create", "make an API token (printed once)", .fn = token_create},
    {"list", "tokens: account, scope, state, expiry", .fn = token_list},
    {"revoke", "revoke a token by id", .spec = &revoke_spec,
     .run = revoke_act},
};

static int cmd_account(struct cli_ctx *ctx, int argc, char **argv)
{
  return cli_dispatch_group(ctx, "auth account", CLI_TABLE(account_commands),
                            argc, argv);
}

static int cmd_token(struct cli_ctx *ctx, int argc, char **argv)
{
  return cli_dispatch_group(ctx, "auth token", CLI_TABLE(token_commands), argc,
                            argv);
}

static const struct cli_command auth_commands[] = {
    {"account", "operator accounts: add, list, passwd, role, remove",
     .fn = cmd_account},
    {"token", "API tokens: create, list, revoke", .fn = cmd_token},
};

int cmd_auth(struct cli_ctx *ctx, int argc, char **argv)
{
  return cli_dispatch_group(ctx, "auth", CLI_TABLE(auth_commands), argc, argv);
}
