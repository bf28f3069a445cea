/*
 * test_auth.c - serve/auth: argon2id passwords, HS256 tokens (expired,
 * tampered, alg none, wrong key, garbage), key files and their modes, the
 * admin key and login rate limits.
 */
#include <jwt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "serve/http/auth.h"
#include "util/fsutil.h"
#include "testutil.h"

/* Cheap argon2id parameters so the tests stay fast (the server's default is
 * INTERACTIVE). */
static struct auth_config test_config(const char *home)
{
  struct auth_config c = {.home = home,
                          .opslimit = crypto_pwhash_OPSLIMIT_MIN,
                          .memlimit = crypto_pwhash_MEMLIMIT_MIN,
                          .token_ttl = 60,
                          .login_burst = 3,
                          .login_per_sec = 0.001};
  return c;
}

struct fixture {
  char home[256];
  struct auth *a;
};

static int setup(void **state)
{
  static struct fixture f;
  unsetenv("HARVEST_JWT_SECRET");
  unsetenv("HARVEST_ADMIN_KEY");
  tu_tmpdir(f.home, sizeof(f.home));
  struct auth_config c = test_config(f.home);
  struct hv_err e = {0};
  if (auth_open(&c, &f.a, &e) != 0) {
    fprintf(stderr, "auth_open: %s\n", e.msg);
    return -1;
  }
  *state = &f;
  return 0;
}

static int teardown(void **state)
{
  struct fixture *f = *state;
  auth_close(f->a);
  tu_rmtree(f->home);
  return 0;
}

/* The key file's text (the HMAC secret) into out. */
static void read_key(const char *home, const char *name, char *out,
                     size_t cap)
{
  char path[512];
  snprintf(path, sizeof(path), "%s/%s", home, name);
  FILE *fp = fopen(path, "r");
  assert_non_null(fp);
  assert_non_null(fgets(out, (int)cap, fp));
  fclose(fp);
  out[strcspn(out, "\n")] = '\0';
}

/* A token made by hand with libjwt: alg, key, sub and exp chosen. */
static char *forge(jwt_alg_t alg, const char *key, const char *sub, long exp)
{
  jwt_t *jwt = NULL;
  assert_int_equal(jwt_new(&jwt), 0);
  if (sub)
    assert_int_equal(jwt_add_grant(jwt, "sub", sub), 0);
  if (exp)
    assert_int_equal(jwt_add_grant_int(jwt, "exp", exp), 0);
  assert_int_equal(jwt_set_alg(jwt, alg, (const unsigned char *)key,
                               key ? (int)strlen(key) : 0),
                   0);
  char *t = jwt_encode_str(jwt);
  jwt_free(jwt);
  assert_non_null(t);
  return t;
}

static void test_key_files_created_0600(void **state)
{
  struct fixture *f = *state;
  static const char *const names[] = {"jwt.key", "admin.key"};
  for (size_t i = 0; i < 2; i++) {
    char path[512], key[256];
    struct stat st;
    snprintf(path, sizeof(path), "%s/%s", f->home, names[i]);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    read_key(f->home, names[i], key, sizeof(key));
    assert_int_equal(strlen(key), 64);
  }
  /* a second open reuses the same secret: old tokens stay valid */
  char *tok = NULL;
  struct hv_err e = {0};
  assert_int_equal(auth_token_issue(f->a, 5, &tok, &e), 0);
  struct auth *b = NULL;
  struct auth_config c = test_config(f->home);
  assert_int_equal(auth_open(&c, &b, &e), 0);
  int64_t uid = 0;
  assert_int_equal(auth_token_verify(b, tok, &uid, &e), 0);
  assert_int_equal(uid, 5);
  auth_close(b);
  free(tok);
}

static void test_key_file_refused_when_readable(void **state)
{
  char home[256], path[512];
  tu_tmpdir(home, sizeof(home));
  snprintf(path, sizeof(path), "%s/jwt.key", home);
  struct hv_err e = {0};
  assert_int_equal(hv_write_atomic(path, "0123456789abcdef0123456789abcdef",
                                   32, 0644, &e),
                   0);
  struct auth *a = NULL;
  struct auth_config c = test_config(home);
  assert_int_equal(auth_open(&c, &a, &e), HV_EINVAL);
  assert_non_null(strstr(e.msg, "chmod 600"));
  assert_null(a);
  /* too short, even with the right mode */
  assert_int_equal(hv_write_atomic(path, "short", 5, 0600, &e), 0);
  assert_int_equal(auth_open(&c, &a, &e), HV_EINVAL);
  assert_null(a);
  tu_rmtree(home);
}

static void test_env_secrets(void **state)
{
  char home[256];
  tu_tmpdir(home, sizeof(home));
  struct auth *a = NULL;
  struct auth_config c = test_config(home);
  struct hv_err e = {0};
  setenv("HARVEST_JWT_SECRET", "too-short", 1);
  assert_int_equal(auth_open(&c, &a, &e), HV_EINVAL);
  assert_non_null(strstr(e.msg, "HARVEST_JWT_SECRET"));
  const char *secret = "an-environment-secret-of-enough-bytes-0123456789";
  setenv("HARVEST_JWT_SECRET", secret, 1);
  setenv("HARVEST_ADMIN_KEY", "an-admin-key-from-env", 1);
  assert_int_equal(auth_open(&c, &a, &e), 0);
  char path[512];
  struct stat st;
  snprintf(path, sizeof(path), "%s/jwt.key", home);
  assert_int_not_equal(stat(path, &st), 0); /* no file when env is set */
  char *t = forge(JWT_ALG_HS256, secret, "9", (long)time(NULL) + 60);
  int64_t uid = 0;
  assert_int_equal(auth_token_verify(a, t, &uid, &e), 0);
  assert_int_equal(uid, 9);
  free(t);
  assert_int_equal(auth_admin_check(a, "an-admin-key-from-env", &e), 0);
  assert_int_equal(auth_admin_check(a, "an-admin-key-from-en", &e), HV_EAUTH);
  auth_close(a);
  unsetenv("HARVEST_JWT_SECRET");
  unsetenv("HARVEST_ADMIN_KEY");
  tu_rmtree(home);
}

static void test_passwords(void **state)
{
  struct fixture *f = *state;
  char hash[AUTH_HASH_MAX];
  struct hv_err e = {0};
  assert_int_equal(auth_hash_password(f->a, "correct horse", hash, &e), 0);
  assert_non_null(strstr(hash, "$argon2id$"));
  assert_int_equal(auth_check_password(f->a, hash, "correct horse", &e), 0);
  static const char *const wrong[] = {"correct hors", "Correct horse", "",
                                      "correct horse "};
  for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++)
    assert_int_equal(auth_check_password(f->a, hash, wrong[i], &e), HV_EAUTH);
  assert_int_equal(auth_check_password(f->a, hash, NULL, &e), HV_EAUTH);
  /* no password set / unknown user: always refused */
  assert_int_equal(auth_check_password(f->a, "", "anything1", &e), HV_EAUTH);
  assert_int_equal(auth_check_password(f->a, NULL, "anything1", &e),
                   HV_EAUTH);
  assert_int_equal(auth_check_password(f->a, "$argon2id$garbage", "x", &e),
                   HV_EAUTH);
  /* length limits */
  assert_int_equal(auth_hash_password(f->a, "short", hash, &e), HV_EINVAL);
  assert_int_equal(auth_hash_password(f->a, NULL, hash, &e), HV_EINVAL);
  char *big = malloc(AUTH_PASSWORD_MAX + 2);
  memset(big, 'x', AUTH_PASSWORD_MAX + 1);
  big[AUTH_PASSWORD_MAX + 1] = '\0';
  assert_int_equal(auth_hash_password(f->a, big, hash, &e), HV_EINVAL);
  assert_int_equal(auth_check_password(f->a, hash, big, &e), HV_EAUTH);
  free(big);
  /* salted: the same password hashes differently */
  char h2[AUTH_HASH_MAX];
  assert_int_equal(auth_hash_password(f->a, "correct horse", hash, &e), 0);
  assert_int_equal(auth_hash_password(f->a, "correct horse", h2, &e), 0);
  assert_string_not_equal(hash, h2);
}

static void test_tokens_good_and_bad(void **state)
{
  struct fixture *f = *state;
  struct hv_err e = {0};
  char key[256];
  read_key(f->home, "jwt.key", key, sizeof(key));
  char *good = NULL;
  int64_t uid = -1;
  assert_int_equal(auth_token_issue(f->a, 42, &good, &e), 0);
  assert_int_equal(auth_token_verify(f->a, good, &uid, &e), 0);
  assert_int_equal(uid, 42);
  long now = (long)time(NULL);
  /* a hand-made token with the right key and claims is accepted, so the
   * refusals below are for the reason each case names */
  char *ok = forge(JWT_ALG_HS256, key, "43", now + 60);
  assert_int_equal(auth_token_verify(f->a, ok, &uid, &e), 0);
  assert_int_equal(uid, 43);
  free(ok);
  struct {
    char *token;
    const char *why;
  } bad[] = {
      {forge(JWT_ALG_HS256, key, "42", now - 5), "expired"},
      {forge(JWT_ALG_HS256, key, "42", 0), "no expiry"},
      {forge(JWT_ALG_HS256, key, NULL, now + 60), "no subject"},
      {forge(JWT_ALG_HS256, key, "-3", now + 60), "negative subject"},
      {forge(JWT_ALG_HS256, key, "abc", now + 60), "non-numeric subject"},
      {forge(JWT_ALG_HS256, "another-secret-of-the-same-length-0123456789abcdef"
                            "0123456789ab",
             "42", now + 60),
       "wrong key"},
      {forge(JWT_ALG_HS512, key, "42", now + 60), "HS512"},
      {forge(JWT_ALG_NONE, NULL, "42", now + 60), "alg none"},
      {strdup(""), "empty"},
      {strdup("a.b"), "two parts"},
      {strdup("a.b.c.d"), "four parts"},
      {strdup("...."), "dots"},
      {strdup("'; DROP TABLE users; --"), "injection"},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    uid = -1;
    if (auth_token_verify(f->a, bad[i].token, &uid, &e) != HV_EAUTH)
      fail_msg("token %zu (%s) was accepted", i, bad[i].why);
    assert_int_equal(uid, -1);
    free(bad[i].token);
  }
  /* alg none made by hand: header {"alg":"none"} with no signature */
  char hand[256];
  snprintf(hand, sizeof(hand),
           "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.%s.",
           "eyJzdWIiOiI0MiIsImV4cCI6NDEwMjQ0NDgwMH0");
  assert_int_equal(auth_token_verify(f->a, hand, &uid, &e), HV_EAUTH);
  /* tampered: change one character of the payload, then of the signature */
  char *t = strdup(good);
  char *dot = strchr(t, '.');
  dot[3] = dot[3] == 'A' ? 'B' : 'A';
  assert_int_equal(auth_token_verify(f->a, t, &uid, &e), HV_EAUTH);
  free(t);
  t = strdup(good);
  size_t n = strlen(t);
  t[n - 2] = t[n - 2] == 'A' ? 'B' : 'A';
  assert_int_equal(auth_token_verify(f->a, t, &uid, &e), HV_EAUTH);
  free(t);
  /* too long */
  char *huge = malloc(10000);
  memset(huge, 'a', 9999);
  huge[9999] = '\0';
  assert_int_equal(auth_token_verify(f->a, huge, &uid, &e), HV_EAUTH);
  free(huge);
  assert_int_equal(auth_token_verify(f->a, NULL, &uid, &e), HV_EAUTH);
  /* bearer header forms */
  char hdr[2048];
  snprintf(hdr, sizeof(hdr), "Bearer %s", good);
  assert_int_equal(auth_bearer(f->a, hdr, &uid, &e), 0);
  snprintf(hdr, sizeof(hdr), "bearer   %s", good);
  assert_int_equal(auth_bearer(f->a, hdr, &uid, &e), 0);
  snprintf(hdr, sizeof(hdr), "Basic %s", good);
  assert_int_equal(auth_bearer(f->a, hdr, &uid, &e), HV_EAUTH);
  assert_int_equal(auth_bearer(f->a, NULL, &uid, &e), HV_EAUTH);
  assert_non_null(strstr(e.msg, "/users/token"));
  assert_int_equal(auth_bearer(f->a, "Bearer", &uid, &e), HV_EAUTH);
  /* the scheme alone (what the policy's credential check uses) */
  static const struct {
    const char *hdr, *token;
  } schemes[] = {{"Bearer abc", "abc"}, {"BEARER   abc", "abc"},
                 {"bearer ", ""},       {"Basic abc", NULL},
                 {"Bearer", NULL},      {"Bearerabc", NULL},
                 {"", NULL}};
  for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
    const char *tok = "unset";
    struct hv_err se = {0};
    int rc = auth_bearer_token(schemes[i].hdr, &tok, &se);
    if (schemes[i].token) {
      assert_int_equal(rc, 0);
      assert_string_equal(tok, schemes[i].token);
    } else {
      assert_int_equal(rc, HV_EAUTH);
      assert_string_equal(se.msg, "Authorization: expected the Bearer scheme");
      assert_string_equal(tok, "unset");
    }
  }
  free(good);
}

static void test_admin_key(void **state)
{
  struct fixture *f = *state;
  struct hv_err e = {0};
  char key[256];
  read_key(f->home, "admin.key", key, sizeof(key));
  assert_int_equal(auth_admin_check(f->a, key, &e), 0);
  key[0] = key[0] == 'a' ? 'b' : 'a';
  assert_int_equal(auth_admin_check(f->a, key, &e), HV_EAUTH);
  assert_int_equal(auth_admin_check(f->a, "", &e), HV_EAUTH);
  assert_int_equal(auth_admin_check(f->a, NULL, &e), HV_EAUTH);
}

static void test_rate_limit(void **state)
{
  struct fixture *f = *state;
  struct hv_err e = {0};
  /* burst 3 per user: the 4th attempt for user 1 is limited */
  for (int i = 0; i < 3; i++)
    assert_int_equal(auth_rate_take(f->a, "10.0.0.1", 1, &e), 0);
  assert_int_equal(auth_rate_take(f->a, "10.0.0.1", 1, &e), HV_ELIMIT);
  assert_non_null(strstr(e.msg, "retry in"));
  /* the address is also spent: another user from it is limited */
  assert_int_equal(auth_rate_take(f->a, "10.0.0.1", 2, &e), HV_ELIMIT);
  /* another address for another user is fine; user 1 stays limited
   * whatever the address */
  assert_int_equal(auth_rate_take(f->a, "10.0.0.2", 3, &e), 0);
  assert_int_equal(auth_rate_take(f->a, "10.0.0.3", 1, &e), HV_ELIMIT);
  /* admin-key attempts have their own bucket per address */
  for (int i = 0; i < 3; i++)
    assert_int_equal(auth_rate_take_admin(f->a, "10.0.0.9", &e), 0);
  assert_int_equal(auth_rate_take_admin(f->a, "10.0.0.9", &e), HV_ELIMIT);
  assert_non_null(strstr(e.msg, "admin key"));
  assert_int_equal(auth_rate_take(f->a, "10.0.0.9", 4, &e), 0);
  assert_int_equal(auth_rate_take_admin(f->a, "10.0.0.8", &e), 0);
  /* many distinct addresses do not crash the table or lose the limit */
  char ip[32];
  int limited = 0;
  for (int i = 0; i < 20000; i++) {
    snprintf(ip, sizeof(ip), "192.168.%d.%d", i / 256, i % 256);
    limited += auth_rate_take(f->a, ip, -1, &e) != 0;
  }
  assert_int_equal(limited, 0);
  assert_int_equal(auth_rate_take(f->a, NULL, -1, &e), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_key_files_created_0600, setup,
                                      teardown),
      cmocka_unit_test(test_key_file_refused_when_readable),
      cmocka_unit_test(test_env_secrets),
      cmocka_unit_test_setup_teardown(test_passwords, setup, teardown),
      cmocka_unit_test_setup_teardown(test_tokens_good_and_bad, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_admin_key, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rate_limit, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
