/*
 * auth.c - argon2id passwords, HS256 tokens, admin key, login limits: see
 * auth.h.
 */
#include "serve/http/auth.h"

#include <assert.h>
#include <errno.h>
#include <jwt.h>
#include <pthread.h>
#include <semaphore.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "util/fsutil.h"
#include "util/mutex.h"
#include "util/parse.h"

#define SECRET_MAX 256
#define TOKEN_MAX 4096
#define RL_SLOTS 4096 /* power of two */
#define RL_PROBES 16
_Static_assert((RL_SLOTS & (RL_SLOTS - 1)) == 0 && RL_PROBES >= 2,
               "rl_find masks the hash and always finds a slot");

struct rl_entry {
  char key[80];     /* "ip:ADDR" or "user:ID"; "" = free */
  double tokens;
  double last;      /* monotonic seconds of the last update */
};

/* A token bucket's size and refill rate (per second). */
struct rl_rule {
  double burst, per_sec;
};

struct auth {
  unsigned char secret[SECRET_MAX];
  size_t secret_len;
  unsigned char admin_hash[crypto_generichash_BYTES];
  char dummy_hash[crypto_pwhash_STRBYTES]; /* of random bytes */
  unsigned long long opslimit;
  size_t memlimit;
  long ttl;
  double burst, per_sec;
  struct rl_rule login;           /* burst, per_sec */
  struct rl_rule rq_user, rq_ip;  /* rating writes; burst 0 = off */
  int no_admin_key;
  pthread_mutex_t lock;
  struct rl_entry *rl; /* RL_SLOTS */
  sem_t *hash_sem;     /* hash_max argon2id runs at once (finding 5) */
  int hash_max;
};

/* Read a 0600 key file of hex text, or create it with 32 random bytes.
 * hex gets the file's text (NUL-terminated, cap bytes). */
static int key_file(const char *home, const char *name, char *hex, size_t cap,
                    struct hv_err *err)
{
  char path[4096];
  if (hv_path_join(path, sizeof(path), home, name, err))
    return err->code;
  struct stat st;
  if (stat(path, &st) != 0) {
    unsigned char raw[32];
    randombytes_buf(raw, sizeof(raw));
    sodium_bin2hex(hex, cap, raw, sizeof(raw));
    sodium_memzero(raw, sizeof(raw));
    if (hv_mkdir_private(home, err) ||
        hv_write_atomic(path, hex, strlen(hex), 0600, err))
      return err->code;
    return 0;
  }
  if (st.st_mode & 077)
    return hv_err_set(err, HV_EINVAL,
                      "%s can be read by other users (mode %03o); run "
                      "'chmod 600 %s'",
                      path, (unsigned)(st.st_mode & 0777), path);
  char *text = NULL;
  size_t len = 0;
  if (hv_read_file(path, cap - 1, &text, &len, err))
    return err->code;
  while (len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
    text[--len] = '\0';
  if (len < 32) {
    free(text);
    return hv_err_set(err, HV_EINVAL,
                      "%s holds %zu characters; a key needs at least 32 "
                      "(delete it to make a new one)",
                      path, len);
  }
  memcpy(hex, text, len + 1);
  sodium_memzero(text, len);
  free(text);
  return 0;
}

static int load_secret(struct auth *a, const char *home, struct hv_err *err)
{
  const char *env = getenv("HARVEST_JWT_SECRET");
  if (env && *env) {
    size_t n = strlen(env);
    if (n < 32 || n > SECRET_MAX)
      return hv_err_set(err, HV_EINVAL,
                        "HARVEST_JWT_SECRET is %zu bytes; use 32 to %d "
                        "(e.g. 'openssl rand -hex 32')",
                        n, SECRET_MAX);
    memcpy(a->secret, env, n);
    a->secret_len = n;
    return 0;
  }
  char hex[SECRET_MAX + 1];
  if (key_file(home, "jwt.key", hex, sizeof(hex), err))
    return err->code;
  a->secret_len = strlen(hex);
  memcpy(a->secret, hex, a->secret_len);
  sodium_memzero(hex, sizeof(hex));
  return 0;
}

static int load_admin(struct auth *a, const char *home, struct hv_err *err)
{
  const char *env = getenv("HARVEST_ADMIN_KEY");
  char hex[SECRET_MAX + 1];
  if (env && *env) {
    if (strlen(env) < 16)
      return hv_err_set(err, HV_EINVAL,
                        "HARVEST_ADMIN_KEY is shorter than 16 characters");
    crypto_generichash(a->admin_hash, sizeof(a->admin_hash),
                       (const unsigned char *)env, strlen(env), NULL, 0);
    return 0;
  }
  if (key_file(home, "admin.key", hex, sizeof(hex), err))
    return err->code;
  crypto_generichash(a->admin_hash, sizeof(a->admin_hash),
                     (const unsigned char *)hex, strlen(hex), NULL, 0);
  sodium_memzero(hex, sizeof(hex));
  return 0;
}

int auth_open(const struct auth_config *cfg, struct auth **out,
              struct hv_err *err)
{
  *out = NULL;
  if (sodium_init() < 0)
    return hv_err_set(err, HV_EINTERNAL, "libsodium failed to initialise");
  struct auth *a = calloc(1, sizeof(*a));
  if (!a || !(a->rl = calloc(RL_SLOTS, sizeof(*a->rl)))) {
    free(a);
    return hv_err_set(err, HV_ENOMEM, "out of memory");
  }
  pthread_mutex_init(&a->lock, NULL);
  if (!(a->hash_sem = malloc(sizeof(*a->hash_sem))) ||
      sem_init(a->hash_sem, 0, cfg->hash_max > 0 ? (unsigned)cfg->hash_max
                                                 : 1) != 0) {
    free(a->hash_sem);
    a->hash_sem = NULL;
    auth_close(a);
    return hv_err_set(err, HV_ENOMEM, "out of memory");
  }
  a->hash_max = cfg->hash_max > 0 ? cfg->hash_max : 1;
  a->opslimit = cfg->opslimit ? cfg->opslimit
                              : crypto_pwhash_OPSLIMIT_INTERACTIVE;
  a->memlimit = cfg->memlimit ? cfg->memlimit
                              : crypto_pwhash_MEMLIMIT_INTERACTIVE;
  a->ttl = cfg->token_ttl > 0 ? cfg->token_ttl : 1800;
  a->burst = cfg->login_burst > 0 ? cfg->login_burst : 10;
  a->per_sec = cfg->login_per_sec > 0 ? cfg->login_per_sec : 10.0 / 60;
  a->login = (struct rl_rule){a->burst, a->per_sec};
  double q = cfg->rating_quota > 0    ? cfg->rating_quota
             : cfg->rating_quota == 0 ? AUTH_RATING_QUOTA
                                      : 0;
  a->rq_user = (struct rl_rule){q, q / 60};
  a->rq_ip = (struct rl_rule){5 * q, 5 * q / 60};
  unsigned char rnd[16];
  randombytes_buf(rnd, sizeof(rnd));
  if (crypto_pwhash_str(a->dummy_hash, (const char *)rnd, sizeof(rnd),
                        a->opslimit, a->memlimit) != 0) {
    auth_close(a);
    return hv_err_set(err, HV_ENOMEM, "not enough memory for argon2id");
  }
  a->no_admin_key = cfg->no_admin_key;
  if (load_secret(a, cfg->home, err) ||
      (!a->no_admin_key && load_admin(a, cfg->home, err))) {
    auth_close(a);
    return err ? err->code : HV_EINVAL;
  }
  *out = a;
  return 0;
}

void auth_close(struct auth *a)
{
  if (!a)
    return;
  sodium_memzero(a->secret, sizeof(a->secret));
  pthread_mutex_destroy(&a->lock);
  if (a->hash_sem) {
    sem_destroy(a->hash_sem);
    free(a->hash_sem);
  }
  free(a->rl);
  free(a);
}

static int password_ok(const char *pw, struct hv_err *err)
{
  size_t n = pw ? strlen(pw) : 0;
  if (n < AUTH_PASSWORD_MIN)
    return hv_err_set(err, HV_EINVAL,
                      "password: must be at least %d characters",
                      AUTH_PASSWORD_MIN);
  if (n > AUTH_PASSWORD_MAX)
    return hv_err_set(err, HV_EINVAL,
                      "password: must be at most %d bytes", AUTH_PASSWORD_MAX);
  return 0;
}

int auth_password_hash(unsigned long long opslimit, size_t memlimit,
                       const char *password, char out[AUTH_HASH_MAX],
                       struct hv_err *err)
{
  if (password_ok(password, err))
    return HV_EINVAL;
  if (sodium_init() < 0)
    return hv_err_set(err, HV_EINTERNAL, "libsodium failed to initialise");
  char buf[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(buf, password, strlen(password),
                        opslimit ? opslimit
                                 : crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        memlimit ? memlimit
                                 : crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
    return hv_err_set(err, HV_ENOMEM,
                      "not enough memory to hash the password");
  snprintf(out, AUTH_HASH_MAX, "%s", buf);
  return 0;
}

/* Wait up to AUTH_HASH_WAIT_MS for one of the hash_max turns: 0, or
 * HV_EBUSY. Each argon2id run takes memlimit bytes (64 MiB by default) and
 * a core for ~0.1 s: unbounded, a flood of them starves every request. */
static int hash_turn(const struct auth *a, struct hv_err *err)
{
  if (sem_trywait(a->hash_sem) == 0)
    return 0;
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_nsec += AUTH_HASH_WAIT_MS * 1000000L;
  until.tv_sec += until.tv_nsec / 1000000000L;
  until.tv_nsec %= 1000000000L;
  while (sem_timedwait(a->hash_sem, &until) != 0)
    if (errno != EINTR)
      return hv_err_set(err, HV_EBUSY,
                        "password hashing is busy (at most %d at once); "
                        "retry in a second", a->hash_max);
  return 0;
}

int auth_hash_password(const struct auth *a, const char *password,
                       char out[AUTH_HASH_MAX], struct hv_err *err)
{
  if (password_ok(password, err))
    return HV_EINVAL;
  if (hash_turn(a, err))
    return err->code;
  int rc = auth_password_hash(a->opslimit, a->memlimit, password, out, err);
  sem_post(a->hash_sem);
  return rc;
}

int auth_check_password(const struct auth *a, const char *hash,
                        const char *password, struct hv_err *err)
{
  int real = hash && *hash;
  if (!password || strlen(password) > AUTH_PASSWORD_MAX)
    return hv_err_set(err, HV_EAUTH, "incorrect username or password");
  if (hash_turn(a, err))
    return err->code;
  int bad = crypto_pwhash_str_verify(real ? hash : a->dummy_hash, password,
                                     strlen(password)) != 0;
  sem_post(a->hash_sem);
  if (bad || !real)
    return hv_err_set(err, HV_EAUTH, "incorrect username or password");
  return 0;
}

void auth_token_pwv(const struct auth *a, const char *pw_hash,
                    char out[AUTH_PWV_LEN + 1])
{
  unsigned char h[8];
  const char *p = pw_hash ? pw_hash : "";
  /* keyed: the token says nothing about the hash to whoever reads it */
  crypto_generichash(h, sizeof(h), (const unsigned char *)p, strlen(p),
                     a->secret, a->secret_len > crypto_generichash_KEYBYTES_MAX
                                    ? crypto_generichash_KEYBYTES_MAX
                                    : a->secret_len);
  sodium_bin2hex(out, AUTH_PWV_LEN + 1, h, sizeof(h));
}

int auth_token_issue_pw(const struct auth *a, int64_t uid,
                        const char *pw_hash, char **token, struct hv_err *err)
{
  jwt_t *jwt = NULL;
  char sub[32], pwv[AUTH_PWV_LEN + 1];
  time_t now = time(NULL);
  snprintf(sub, sizeof(sub), "%lld", (long long)uid);
  auth_token_pwv(a, pw_hash, pwv);
  *token = NULL;
  if (jwt_new(&jwt) || jwt_add_grant(jwt, "sub", sub) ||
      jwt_add_grant(jwt, "iss", "harvest") ||
      jwt_add_grant(jwt, "pwv", pwv) ||
      jwt_add_grant_int(jwt, "iat", (long)now) ||
      jwt_add_grant_int(jwt, "exp", (long)now + a->ttl) ||
      jwt_set_alg(jwt, JWT_ALG_HS256, a->secret, (int)a->secret_len) ||
      !(*token = jwt_encode_str(jwt))) {
    jwt_free(jwt);
    return hv_err_set(err, HV_ENOMEM, "cannot make a token: %s",
                      strerror(errno));
  }
  jwt_free(jwt);
  return 0;
}

int auth_token_issue(const struct auth *a, int64_t uid, char **token,
                     struct hv_err *err)
{
  return auth_token_issue_pw(a, uid, NULL, token, err);
}

/* Recompute HMAC-SHA256 over "header.payload" and compare it with the
 * token's signature in constant time. 0 when it matches. */
static int hmac_ok(const struct auth *a, const char *token, size_t signed_len,
                   const char *sig)
{
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  char b64[sodium_base64_ENCODED_LEN(crypto_auth_hmacsha256_BYTES,
                                     sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, a->secret, a->secret_len);
  crypto_auth_hmacsha256_update(&st, (const unsigned char *)token, signed_len);
  crypto_auth_hmacsha256_final(&st, mac);
  sodium_bin2base64(b64, sizeof(b64), mac, sizeof(mac),
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  size_t n = strlen(b64);
  if (strlen(sig) != n)
    return -1;
  return sodium_memcmp(b64, sig, n);
}

static int claims_ok(jwt_t *jwt, int64_t *uid, char *pwv,
                     struct hv_err *err)
{
  if (jwt_get_alg(jwt) != JWT_ALG_HS256)
    return hv_err_set(err, HV_EAUTH, "token: algorithm must be HS256");
  errno = 0;
  long exp = jwt_get_grant_int(jwt, "exp");
  if (errno || exp <= 0)
    return hv_err_set(err, HV_EAUTH, "token: no expiry (exp)");
  if ((long)time(NULL) >= exp)
    return hv_err_set(err, HV_EAUTH, "token: expired; log in again");
  const char *sub = jwt_get_grant(jwt, "sub");
  if (!sub || hv_parse_i64(sub, 0, INT64_MAX, uid, "token sub", NULL))
    return hv_err_set(err, HV_EAUTH, "token: no valid subject (sub)");
  const char *v = jwt_get_grant(jwt, "pwv");
  if (pwv)
    snprintf(pwv, AUTH_PWV_LEN + 1, "%s", v ? v : "");
  return 0;
}

int auth_token_verify(const struct auth *a, const char *token, int64_t *uid,
                      struct hv_err *err)
{
  return auth_token_verify_pw(a, token, uid, NULL, err);
}

int auth_token_verify_pw(const struct auth *a, const char *token,
                         int64_t *uid, char pwv[AUTH_PWV_LEN + 1],
                         struct hv_err *err)
{
  size_t n = token ? strnlen(token, TOKEN_MAX + 1) : 0;
  if (n == 0 || n > TOKEN_MAX)
    return hv_err_set(err, HV_EAUTH, "token: missing or too long");
  const char *d1 = strchr(token, '.');
  const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
  if (!d1 || !d2 || strchr(d2 + 1, '.'))
    return hv_err_set(err, HV_EAUTH, "token: malformed (want 3 parts)");
  if (hmac_ok(a, token, (size_t)(d2 - token), d2 + 1) != 0)
    return hv_err_set(err, HV_EAUTH, "token: bad signature");
  jwt_t *jwt = NULL;
  if (jwt_decode(&jwt, token, a->secret, (int)a->secret_len) != 0 || !jwt)
    return hv_err_set(err, HV_EAUTH, "token: cannot be decoded");
  int rc = claims_ok(jwt, uid, pwv, err);
  jwt_free(jwt);
  return rc;
}

int auth_bearer_token(const char *header, const char **token,
                      struct hv_err *err)
{
  if (strncasecmp(header, "Bearer ", 7) != 0)
    return hv_err_set(err, HV_EAUTH,
                      "Authorization: expected the Bearer scheme");
  const char *t = header + 7;
  while (*t == ' ')
    t++;
  *token = t;
  return 0;
}

int auth_bearer(const struct auth *a, const char *header, int64_t *uid,
                struct hv_err *err)
{
  if (!header || !*header)
    return hv_err_set(err, HV_EAUTH,
                      "not authenticated: send 'Authorization: Bearer TOKEN' "
                      "(get one from POST /users/token)");
  const char *t = NULL;
  int rc = auth_bearer_token(header, &t, err);
  return rc ? rc : auth_token_verify(a, t, uid, err);
}

int auth_admin_check(const struct auth *a, const char *key,
                     struct hv_err *err)
{
  unsigned char h[crypto_generichash_BYTES];
  if (a->no_admin_key)
    return hv_err_set(err, HV_EAUTH,
                      "the admin key is turned off on this server (serve "
                      "--no-admin-key): send an account's API token");
  if (!key || !*key)
    return hv_err_set(err, HV_EAUTH, "admin key missing");
  crypto_generichash(h, sizeof(h), (const unsigned char *)key, strlen(key),
                     NULL, 0);
  if (sodium_memcmp(h, a->admin_hash, sizeof(h)) != 0)
    return hv_err_set(err, HV_EAUTH, "admin key is wrong");
  return 0;
}

static double mono(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The entry for key, inserted (full: burst tokens) in a free probed slot
 * or else over the least recently used probed slot other than keep.
 * Caller holds a->lock. */
static struct rl_entry *rl_find(struct auth *a, const char *key, double now,
                                const struct rl_entry *keep, double burst)
{
  assert(mutex_held(&a->lock));
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (const char *p = key; *p; p++)
    h = (h ^ (unsigned char)*p) * 1099511628211ull;
  struct rl_entry *free_slot = NULL, *lru = NULL;
  for (int i = 0; i < RL_PROBES; i++) {
    struct rl_entry *e = &a->rl[(h + (uint64_t)i) & (RL_SLOTS - 1)];
    if (!strcmp(e->key, key))
      return e;
    if (!e->key[0] && !free_slot)
      free_slot = e;
    else if (e->key[0] && e != keep && (!lru || e->last < lru->last))
      lru = e;
  }
  struct rl_entry *v = free_slot ? free_slot : lru;
  assert(v); /* RL_PROBES >= 2 slots and only keep is skipped */
  snprintf(v->key, sizeof(v->key), "%s", key);
  v->tokens = burst;
  v->last = now;
  return v;
}

static double rl_refill(struct rl_entry *e, double now,
                        const struct rl_rule *r)
{
  e->tokens += (now - e->last) * r->per_sec;
  if (e->tokens > r->burst)
    e->tokens = r->burst;
  e->last = now;
  return e->tokens;
}

/* Take n tokens from bucket k1 (rule r1) and, when k2 is not NULL, from
 * k2 (rule r2): both or neither. 0 when taken; else 1 or 2 (the bucket
 * short of tokens) with *wait the seconds until it has n. */
static int take_pair(struct auth *a, const char *k1, const struct rl_rule *r1,
                     const char *k2, const struct rl_rule *r2, double n,
                     double *wait)
{
  double now = mono();
  pthread_mutex_lock(&a->lock);
  struct rl_entry *e1 = rl_find(a, k1, now, NULL, r1->burst);
  double t1 = rl_refill(e1, now, r1);
  struct rl_entry *e2 = k2 ? rl_find(a, k2, now, e1, r2->burst) : NULL;
  double t2 = e2 ? rl_refill(e2, now, r2) : n;
  int short_of = t1 < n ? 1 : t2 < n ? 2 : 0;
  if (!short_of) {
    e1->tokens -= n;
    if (e2)
      e2->tokens -= n;
  }
  pthread_mutex_unlock(&a->lock);
  if (short_of)
    *wait = short_of == 1 ? (n - t1) / r1->per_sec : (n - t2) / r2->per_sec;
  return short_of;
}

/* Take a login attempt from the bucket k1 and (when k2 is not NULL) k2,
 * both or neither. */
static int rate_take(struct auth *a, const char *k1, const char *k2,
                     const char *what1, struct hv_err *err)
{
  double wait = 0;
  int short_of = take_pair(a, k1, &a->login, k2, &a->login, 1, &wait);
  if (!short_of)
    return 0;
  return hv_err_set(err, HV_ELIMIT,
                    "too many login attempts for this %s; retry in %.0f s",
                    short_of == 1 ? what1 : "user", wait + 0.5);
}

int auth_quota_ratings(struct auth *a, const char *ip, int64_t uid,
                       size_t n, int *retry_after, struct hv_err *err)
{
  *retry_after = 0;
  if (a->rq_user.burst <= 0 || n == 0)
    return 0;
  double cap = uid >= 0 ? a->rq_user.burst : a->rq_ip.burst;
  if ((double)n > cap)
    return hv_err_set(err, HV_ETOOBIG,
                      "body: %zu ratings; at most %.0f fit in this %s's "
                      "quota (per minute)",
                      n, cap, uid >= 0 ? "user" : "address");
  char k1[80], k2[80];
  snprintf(k1, sizeof(k1), "rq-ip:%.64s", ip ? ip : "?");
  snprintf(k2, sizeof(k2), "rq-user:%lld", (long long)uid);
  double wait = 0;
  int short_of = take_pair(a, k1, &a->rq_ip, uid >= 0 ? k2 : NULL,
                           &a->rq_user, (double)n, &wait);
  if (!short_of)
    return 0;
  *retry_after = (int)(wait + 1);
  return hv_err_set(err, HV_ELIMIT,
                    "rating quota: this %s may add %.0f ratings a minute; "
                    "%zu more fit in %d s",
                    short_of == 1 ? "address" : "user",
                    short_of == 1 ? a->rq_ip.burst : a->rq_user.burst, n,
                    *retry_after);
}

int auth_rate_take(struct auth *a, const char *ip, int64_t uid,
                   struct hv_err *err)
{
  char k1[80], k2[80];
  snprintf(k1, sizeof(k1), "ip:%.64s", ip ? ip : "?");
  snprintf(k2, sizeof(k2), "user:%lld", (long long)uid);
  return rate_take(a, k1, uid >= 0 ? k2 : NULL, "address", err);
}

int auth_rate_take_pwchange(struct auth *a, int64_t uid, struct hv_err *err)
{
  char k[80];
  snprintf(k, sizeof(k), "pw:%lld", (long long)uid);
  double now = mono();
  pthread_mutex_lock(&a->lock);
  struct rl_entry *e = rl_find(a, k, now, NULL, AUTH_PWCHANGE_BURST);
  e->tokens += (now - e->last) * AUTH_PWCHANGE_PER_S;
  if (e->tokens > AUTH_PWCHANGE_BURST)
    e->tokens = AUTH_PWCHANGE_BURST;
  e->last = now;
  double t = e->tokens;
  if (t >= 1)
    e->tokens -= 1;
  pthread_mutex_unlock(&a->lock);
  if (t >= 1)
    return 0;
  return hv_err_set(err, HV_ELIMIT,
                    "too many password changes for user %lld (%d, then one "
                    "per %.0f minutes); retry in %.0f s",
                    (long long)uid, AUTH_PWCHANGE_BURST,
                    1 / AUTH_PWCHANGE_PER_S / 60,
                    (1 - t) / AUTH_PWCHANGE_PER_S + 0.5);
}

/* The login rule's buckets, written into k (80 bytes): wrong admin keys
 * by address, failed logins by account name. Peeks and takes name a
 * bucket through these, so they always meet on the same key. */
static const char *admin_key(char k[80], const char *ip)
{
  snprintf(k, 80, "admin:%.64s", ip ? ip : "?");
  return k;
}

static const char *account_key(char k[80], const char *name)
{
  snprintf(k, 80, "acct:%.64s", name ? name : "");
  return k;
}

/* The seconds until bucket k (the login rule) has a token: 0 when it has
 * one now. Nothing is taken. */
static double peek_wait(struct auth *a, const char *k)
{
  double now = mono();
  pthread_mutex_lock(&a->lock);
  double t = rl_refill(rl_find(a, k, now, NULL, a->burst), now, &a->login);
  pthread_mutex_unlock(&a->lock);
  return t >= 1 ? 0 : (1 - t) / a->per_sec;
}

int auth_rate_peek_admin(struct auth *a, const char *ip, struct hv_err *err)
{
  char k[80];
  double wait = peek_wait(a, admin_key(k, ip));
  if (wait <= 0)
    return 0;
  return hv_err_set(err, HV_ELIMIT,
                    "too many wrong admin keys from this address; retry in "
                    "%.0f s",
                    wait + 0.5);
}

int auth_rate_peek_account(struct auth *a, const char *name,
                           int *retry_after, struct hv_err *err)
{
  char k[80];
  *retry_after = 0;
  double wait = peek_wait(a, account_key(k, name));
  if (wait <= 0)
    return 0;
  *retry_after = (int)(wait + 1);
  return hv_err_set(err, HV_ELIMIT,
                    "too many failed logins for account '%.64s' (from any "
                    "address); retry in %d s",
                    name ? name : "", *retry_after);
}

void auth_rate_fail_account(struct auth *a, const char *name)
{
  char k[80];
  double now = mono();
  pthread_mutex_lock(&a->lock);
  struct rl_entry *e = rl_find(a, account_key(k, name), now, NULL, a->burst);
  if (rl_refill(e, now, &a->login) >= 1)
    e->tokens -= 1;
  else
    e->tokens = 0;
  pthread_mutex_unlock(&a->lock);
}

int auth_rate_take_admin(struct auth *a, const char *ip, struct hv_err *err)
{
  char k[80];
  return rate_take(a, admin_key(k, ip), NULL, "address (admin key)", err);
}

const char *auth_role_name(enum auth_role r)
{
  static const char *const names[] = {"anonymous", "user", "viewer",
                                      "operator", "admin"};
  return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : "?";
}

int auth_role_parse(const char *s, enum auth_role *out, struct hv_err *err)
{
  for (enum auth_role r = AUTH_VIEWER; r <= AUTH_ADMIN; r++)
    if (s && !strcmp(s, auth_role_name(r))) {
      *out = r;
      return 0;
    }
  return hv_err_set(err, HV_EINVAL,
                    "role: '%.40s' is not one of viewer, operator, admin",
                    s ? s : "");
}
