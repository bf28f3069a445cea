/*
 * test_tokens.c - operator accounts and their tokens (issue 17, "roles"):
 * store/accounts on :memory: (taken names, bad roles, unknown names and
 * ids), serve/http/tokens (names, roles, passwords, token shape, scope,
 * revoked / expired / unknown / wrong-kind tokens, a lowered account role
 * lowering its tokens, logins with a wrong password or an unknown name, a
 * password change ending sessions, durations), and `harvest auth` through
 * the binary (password on stdin, bad role, a token printed once and
 * listed without its text, revoke, bad ids and durations).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "serve/http/tokens.h"
#include "store/accounts.h"
#include "store/db.h"
#include "testutil.h"

#define OPS 1
#define MEM 8192

static struct hv_db *mem_db(void)
{
  char url[512];
  return tu_open_db(tu_db(":memory:", url, sizeof(url)));
}

static void test_store(void **state)
{
  (void)state;
  struct hv_db *db = mem_db();
  struct hv_err e = {0};
  int64_t id = 0;
  assert_int_equal(accounts_add(db, "ann", "viewer", "h1", 1.0, &id, &e), 0);
  assert_true(id > 0);
  assert_int_equal(accounts_add(db, "ann", "admin", "h2", 2.0, NULL, &e),
                   HV_ECONFLICT);
  assert_int_equal(accounts_add(db, "bo", "root", "h", 2.0, NULL, &e),
                   HV_ECONFLICT); /* CHECK on the role */
  assert_int_equal(accounts_add(db, "", "viewer", "h", 2.0, NULL, &e),
                   HV_EINVAL);
  assert_int_equal(accounts_add(NULL, "x", "viewer", "h", 2.0, NULL, &e),
                   HV_EINVAL);
  struct account a;
  char hash[16];
  assert_int_equal(accounts_get(db, "ann", &a, hash, sizeof(hash), &e), 0);
  assert_string_equal(a.role, "viewer");
  assert_string_equal(hash, "h1");
  assert_int_equal(accounts_get(db, "nobody", &a, NULL, 0, &e), HV_ENOTFOUND);
  assert_int_equal(accounts_set_role(db, "ann", "operator", &e), 0);
  assert_int_equal(accounts_set_role(db, "ann", "boss", &e), HV_EINVAL);
  assert_int_equal(accounts_set_role(db, "nobody", "admin", &e),
                   HV_ENOTFOUND);
  char dg[65];
  memset(dg, 'a', 64);
  dg[64] = '\0';
  assert_int_equal(accounts_token_add(db, id, dg, "api", "viewer", "n", 1, 0,
                                      NULL, &e), 0);
  assert_int_equal(accounts_token_add(db, id, dg, "api", "viewer", "n", 1, 0,
                                      NULL, &e), HV_ECONFLICT);
  assert_int_equal(accounts_token_add(db, id, "abc", "api", "viewer", "n", 1,
                                      0, NULL, &e), HV_EINVAL);
  dg[0] = 'b';
  assert_int_equal(accounts_token_add(db, 999, dg, "api", "viewer", "n", 1, 0,
                                      NULL, &e), HV_ECONFLICT); /* FK */
  assert_int_equal(accounts_token_add(db, id, dg, "cookie", "viewer", "n", 1,
                                      0, NULL, &e), HV_ECONFLICT);
  assert_int_equal(accounts_token_revoke(db, 12345, 1, &e), HV_ENOTFOUND);
  struct account_token *t = NULL;
  size_t n = 0;
  assert_int_equal(accounts_token_list(db, "session", &t, &n, &e), 0);
  assert_int_equal(n, 0);
  free(t);
  assert_int_equal(accounts_token_list(db, NULL, &t, &n, &e), 0);
  assert_int_equal(n, 1);
  assert_string_equal(t[0].account, "ann");
  assert_string_equal(t[0].account_role, "operator");
  free(t);
  /* remove: tokens go with the account; the last admin stays */
  int64_t gone = -1, adm = 0;
  assert_int_equal(accounts_add(db, "root", "admin", "h3", 3.0, &adm, &e), 0);
  dg[0] = 'c';
  assert_int_equal(accounts_token_add(db, adm, dg, "session", "admin", "", 1,
                                      0, NULL, &e), 0);
  assert_int_equal(accounts_remove(db, "root", &gone, &e), HV_ECONFLICT);
  assert_non_null(strstr(e.msg, "last admin"));
  assert_int_equal(accounts_get(db, "root", &a, NULL, 0, &e), 0);
  assert_int_equal(accounts_remove(db, "ann", &gone, &e), 0);
  assert_int_equal(gone, 1);
  assert_int_equal(accounts_get(db, "ann", &a, NULL, 0, &e), HV_ENOTFOUND);
  assert_int_equal(accounts_token_list(db, NULL, &t, &n, &e), 0);
  assert_int_equal(n, 1); /* root's session only */
  assert_string_equal(t[0].account, "root");
  free(t);
  assert_int_equal(accounts_remove(db, "ann", NULL, &e), HV_ENOTFOUND);
  assert_int_equal(accounts_remove(db, "", NULL, &e), HV_EINVAL);
  assert_int_equal(accounts_remove(NULL, "root", NULL, &e), HV_EINVAL);
  assert_int_equal(accounts_set_role(db, "root", "operator", &e), 0);
  assert_int_equal(accounts_add(db, "root2", "admin", "h4", 4.0, NULL, &e), 0);
  assert_int_equal(accounts_set_role(db, "root", "admin", &e), 0);
  assert_int_equal(accounts_remove(db, "root", &gone, &e), 0); /* root2 */
  assert_int_equal(gone, 1);
  assert_int_equal(accounts_remove(db, "root2", &gone, &e), HV_ECONFLICT);
  /* the connection is usable after the refusal (rolled back) */
  assert_int_equal(accounts_add(db, "after", "viewer", "h5", 5.0, NULL, &e),
                   0);
  db_close(db);
}

static void test_names_and_durations(void **state)
{
  (void)state;
  struct hv_err e = {0};
  static const char *const bad[] = {"", "a b", "ann;drop", "x/y", "\x1b[31m",
                                    "\xc3\xa9t\xc3\xa9"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    assert_int_equal(tokens_check_name(bad[i], &e), HV_EINVAL);
  assert_int_equal(tokens_check_name(NULL, &e), HV_EINVAL);
  char longname[80];
  memset(longname, 'a', 65);
  longname[65] = '\0';
  assert_int_equal(tokens_check_name(longname, &e), HV_EINVAL);
  longname[64] = '\0';
  assert_int_equal(tokens_check_name(longname, &e), 0);
  assert_int_equal(tokens_check_name("ci-bot@ops.example_1", &e), 0);
  static const struct {
    const char *s;
    int rc;
    double secs;
  } d[] = {{"30d", 0, 30 * 86400.0}, {"12h", 0, 43200}, {"90m", 0, 5400},
           {"3600s", 0, 3600},       {"3600", 0, 3600}, {"2w", 0, 1209600},
           {"never", 0, 0},          {"0", 0, 0},       {"", HV_EINVAL, 0},
           {"d", HV_EINVAL, 0},      {"-1d", HV_EINVAL, 0},
           {"1.5h", HV_EINVAL, 0},   {"3x", HV_EINVAL, 0},
           {"99999999d", HV_EINVAL, 0}};
  for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
    double v = -1;
    assert_int_equal(tokens_parse_ttl(d[i].s, "--expires", &v, &e), d[i].rc);
    if (!d[i].rc)
      assert_true(v == d[i].secs);
    else
      assert_non_null(strstr(e.msg, "--expires"));
  }
}

static void test_tokens(void **state)
{
  (void)state;
  struct hv_db *db = mem_db();
  struct hv_err e = {0};
  assert_int_equal(tokens_account_add(db, "ops", "operator", "op-password",
                                      OPS, MEM, &e), 0);
  assert_int_equal(tokens_account_add(db, "ops2", "root", "op-password", OPS,
                                      MEM, &e), HV_EINVAL);
  assert_non_null(strstr(e.msg, "role"));
  assert_int_equal(tokens_account_add(db, "ops3", "viewer", "short", OPS, MEM,
                                      &e), HV_EINVAL);
  assert_int_equal(tokens_account_add(db, "bad name", "viewer", "long-enough",
                                      OPS, MEM, &e), HV_EINVAL);
  char tok[TOKENS_TEXT_MAX], low[TOKENS_TEXT_MAX];
  int64_t id = 0, got = 0;
  assert_int_equal(tokens_create(db, "ops", NULL, TOKENS_API, 3600, "ci", tok,
                                 &id, &e), 0);
  assert_int_equal(strlen(tok), 47);
  assert_memory_equal(tok, "hvt_", 4);
  struct auth_principal who;
  assert_int_equal(tokens_verify(db, tok, TOKENS_API, &who, &got, &e), 0);
  assert_int_equal(who.role, AUTH_OPERATOR);
  assert_int_equal(got, id);
  assert_string_equal(who.who, "account:ops");
  /* scoped below the account; not above it */
  assert_int_equal(tokens_create(db, "ops", "viewer", TOKENS_API, 0, NULL,
                                 low, NULL, &e), 0);
  assert_int_equal(tokens_verify(db, low, TOKENS_API, &who, NULL, &e), 0);
  assert_int_equal(who.role, AUTH_VIEWER);
  assert_int_equal(tokens_create(db, "ops", "admin", TOKENS_API, 0, NULL, low,
                                 NULL, &e), HV_EINVAL);
  assert_int_equal(tokens_create(db, "ops", "boss", TOKENS_API, 0, NULL, low,
                                 NULL, &e), HV_EINVAL);
  assert_int_equal(tokens_create(db, "nobody", NULL, TOKENS_API, 0, NULL, low,
                                 NULL, &e), HV_ENOTFOUND);
  /* the account's role lowered: its tokens act with the lower one */
  assert_int_equal(accounts_set_role(db, "ops", "viewer", &e), 0);
  assert_int_equal(tokens_verify(db, tok, TOKENS_API, &who, NULL, &e), 0);
  assert_int_equal(who.role, AUTH_VIEWER);
  assert_int_equal(accounts_set_role(db, "ops", "operator", &e), 0);
  /* bad shapes, unknown, wrong kind, revoked, expired */
  char bad[TOKENS_TEXT_MAX];
  static const char *const shapes[] = {"", "hvt_", "hvt_short", "Bearer x",
                                       "a.b.c"};
  for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
    assert_int_equal(tokens_verify(db, shapes[i], TOKENS_API, &who, NULL, &e),
                     HV_EAUTH);
    assert_non_null(strstr(e.msg, "malformed"));
  }
  snprintf(bad, sizeof(bad), "%s", tok);
  bad[10] = bad[10] == 'A' ? 'B' : 'A';
  assert_int_equal(tokens_verify(db, bad, TOKENS_API, &who, NULL, &e),
                   HV_EAUTH);
  assert_non_null(strstr(e.msg, "unknown"));
  bad[10] = '!';
  assert_int_equal(tokens_verify(db, bad, TOKENS_API, &who, NULL, &e),
                   HV_EAUTH);
  assert_int_equal(tokens_verify(db, tok, TOKENS_SESSION, &who, NULL, &e),
                   HV_EAUTH);
  assert_int_equal(tokens_revoke(db, id, &e), 0);
  assert_int_equal(tokens_verify(db, tok, TOKENS_API, &who, NULL, &e),
                   HV_EAUTH);
  assert_non_null(strstr(e.msg, "revoked"));
  assert_int_equal(tokens_revoke(db, 999, &e), HV_ENOTFOUND);
  assert_int_equal(tokens_create(db, "ops", NULL, TOKENS_API, 0.001, NULL,
                                 tok, NULL, &e), 0);
  usleep(20 * 1000);
  assert_int_equal(tokens_verify(db, tok, TOKENS_API, &who, NULL, &e),
                   HV_EAUTH);
  assert_non_null(strstr(e.msg, "expired"));
  assert_int_equal(tokens_create(db, "ops", NULL, TOKENS_SESSION, 0, NULL,
                                 tok, NULL, &e), HV_EINVAL); /* must expire */
  /* a removed account's token and session are refused */
  assert_int_equal(tokens_create(db, "ops", NULL, TOKENS_API, 0, NULL, tok,
                                 NULL, &e), 0);
  assert_int_equal(tokens_create(db, "ops", NULL, TOKENS_SESSION, 60, NULL,
                                 low, NULL, &e), 0);
  assert_int_equal(accounts_remove(db, "ops", NULL, &e), 0);
  assert_int_equal(tokens_verify(db, tok, TOKENS_API, &who, NULL, &e),
                   HV_EAUTH);
  assert_non_null(strstr(e.msg, "unknown"));
  assert_int_equal(tokens_verify(db, low, TOKENS_SESSION, &who, NULL, &e),
                   HV_EAUTH);
  db_close(db);
}

static void test_login_and_sessions(void **state)
{
  (void)state;
  struct hv_db *db = mem_db();
  struct hv_err e = {0};
  char home[256];
  tu_tmpdir(home, sizeof(home));
  struct auth_config ac = {.home = home, .opslimit = OPS, .memlimit = MEM};
  struct auth *a = NULL;
  assert_int_equal(auth_open(&ac, &a, &e), 0);
  assert_int_equal(tokens_account_add(db, "vi", "viewer", "view-password",
                                      OPS, MEM, &e), 0);
  char s[TOKENS_TEXT_MAX];
  assert_int_equal(tokens_login(db, a, "vi", "wrong-password", 60, s, &e),
                   HV_EAUTH);
  assert_int_equal(tokens_login(db, a, "nobody", "view-password", 60, s, &e),
                   HV_EAUTH);
  assert_string_equal(e.msg, "incorrect username or password");
  assert_int_equal(tokens_login(db, a, "bad name", "x", 60, s, &e), HV_EAUTH);
  assert_int_equal(tokens_login(db, a, "vi", "view-password", 60, s, &e), 0);
  assert_memory_equal(s, "hvs_", 4);
  struct auth_principal who;
  assert_int_equal(tokens_verify(db, s, TOKENS_SESSION, &who, NULL, &e), 0);
  assert_int_equal(who.role, AUTH_VIEWER);
  assert_int_equal(tokens_verify(db, s, TOKENS_API, &who, NULL, &e),
                   HV_EAUTH); /* a session is no API token */
  /* a new password ends the sessions */
  assert_int_equal(tokens_account_password(db, "vi", "new-password", OPS,
                                           MEM, &e), 0);
  assert_int_equal(tokens_verify(db, s, TOKENS_SESSION, &who, NULL, &e),
                   HV_EAUTH);
  assert_int_equal(tokens_account_password(db, "nobody", "new-password", OPS,
                                           MEM, &e), HV_ENOTFOUND);
  assert_int_equal(tokens_login(db, a, "vi", "new-password", 60, s, &e), 0);
  assert_int_equal(tokens_revoke_text(db, s, &e), 0); /* logout */
  assert_int_equal(tokens_verify(db, s, TOKENS_SESSION, &who, NULL, &e),
                   HV_EAUTH);
  assert_int_equal(tokens_revoke_text(db, "hvs_nope", &e), HV_EAUTH);
  auth_close(a);
  tu_rmtree(home);
  db_close(db);
}

/* `harvest auth` through the binary. */
static void test_cli(void **state)
{
  (void)state;
  char home[256], cmd[1024], out[8192], tok[TOKENS_TEXT_MAX] = "";
  tu_tmpdir(home, sizeof(home));
  const char *b = tu_bin();
  snprintf(cmd, sizeof(cmd), "echo 'cli-password' | '%s' --home %s auth "
           "account add ci --role operator 2>&1", b, home);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  snprintf(cmd, sizeof(cmd), "echo 'cli-password' | '%s' --home %s auth "
           "account add ci2 --role boss 2>&1", b, home);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 1);
  assert_non_null(strstr(out, "role: 'boss' is not one of"));
  snprintf(cmd, sizeof(cmd), "'%s' --home %s auth account add ci3 --role "
           "viewer </dev/null 2>&1", b, home);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 1);
  snprintf(cmd, sizeof(cmd), "'%s' --home %s auth account add ci3 2>&1", b,
           home);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 2); /* --role required */
  snprintf(cmd, sizeof(cmd), "'%s' --home %s auth token create --account ci "
           "--expires 2h --note 'for ci' 2>&1", b, home);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  const char *t = strstr(out, "hvt_");
  assert_non_null(t);
  snprintf(tok, sizeof(tok), "%.47s", t);
  snprintf(cmd, sizeof(cmd), "'%s' --home %s auth token list 2>&1", b, home);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  assert_non_null(strstr(out, "for ci"));
  assert_non_null(strstr(out, "active"));
  assert_null(strstr(out, tok)); /* shown once only */
  snprintf(cmd, sizeof(cmd), "'%s' --home %s auth token revoke 1 2>&1", b,
           home);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  snprintf(cmd, sizeof(cmd), "'%s' --home %s --json auth token list 2>&1", b,
           home);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  assert_non_null(strstr(out, "\"revoked\""));
  static const char *const bad[][2] = {
      {"auth token revoke 77", "1"},     {"auth token revoke x", "2"},
      {"auth token create --account ci --expires 3x", "2"},
      {"auth token create --account nobody", "1"},
      {"auth token create --account ci --role admin", "1"},
      {"auth account role ci boss", "1"}, {"auth account role nobody viewer",
                                          "1"},
      {"auth frob", "2"}};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    snprintf(cmd, sizeof(cmd), "'%s' --home %s %s 2>&1", b, home, bad[i][0]);
    int rc = tu_run(cmd, out, sizeof(out));
    if (rc != atoi(bad[i][1]))
      fail_msg("%s: exit %d: %s", bad[i][0], rc, out);
  }
  snprintf(cmd, sizeof(cmd), "'%s' --home %s auth account list 2>&1", b,
           home);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  assert_non_null(strstr(out, "ci "));
  assert_non_null(strstr(out, "operator"));
  /* remove: the account and its tokens; never the last admin */
  snprintf(cmd, sizeof(cmd), "'%s' --home %s auth token create --account ci "
           "2>&1", b, home);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  snprintf(cmd, sizeof(cmd), "echo 'cli-password' | '%s' --home %s auth "
           "account add boss --role admin 2>&1", b, home);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  static const char *const rm_bad[][3] = {
      {"auth account remove boss", "1", "last admin"},
      {"auth account remove nobody", "1", "no account 'nobody'"},
      {"auth account remove 'a b'", "1", "account name"},
      {"auth account remove", "2", "expected one account NAME"},
      {"auth account remove ci boss", "2", "unexpected argument 'boss'"},
      {"auth account remove --help", "0", "last admin account is not"}};
  for (size_t i = 0; i < sizeof(rm_bad) / sizeof(rm_bad[0]); i++) {
    snprintf(cmd, sizeof(cmd), "'%s' --home %s %s 2>&1", b, home,
             rm_bad[i][0]);
    int rc = tu_run(cmd, out, sizeof(out));
    if (rc != atoi(rm_bad[i][1]) || !strstr(out, rm_bad[i][2]))
      fail_msg("%s: exit %d: %s", rm_bad[i][0], rc, out);
  }
  snprintf(cmd, sizeof(cmd), "'%s' --home %s auth account remove ci 2>&1", b,
           home);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  assert_non_null(strstr(out, "account ci removed with its 2 tokens"));
  snprintf(cmd, sizeof(cmd), "'%s' --home %s auth token list --kind all "
           "2>&1; '%s' --home %s auth account list 2>&1", b, home, b, home);
  assert_int_equal(tu_run(cmd, out, sizeof(out)), 0);
  assert_null(strstr(out, "ci "));
  assert_non_null(strstr(out, "boss"));
  tu_rmtree(home);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_store),
      cmocka_unit_test(test_names_and_durations),
      cmocka_unit_test(test_tokens),
      cmocka_unit_test(test_login_and_sessions),
      cmocka_unit_test(test_cli),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
