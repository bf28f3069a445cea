/*
 * runs.c - experiments, runs, params, metrics, tags, lineage, search and
 * run garbage collection: see runs.h.
 */
#include "track/runs.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "store/ratings.h"
#include "track/filter.h"
#include "track/registry.h"
#include "util/fsutil.h"
#include "util/json.h"
#include "util/parse.h"

int runs_check_id(const char *s, struct hv_err *err)
{
  if (!hv_is_hex(s, 32))
    return hv_err_set(err, HV_EINVAL,
                      "'%.64s' is not a run id (32 lowercase hex digits, "
                      "as printed by 'harvest runs list')",
                      s ? s : "(null)");
  return 0;
}

int runs_resolve_id(struct hv_db *db, const char *arg, char out[33],
                    struct hv_err *err)
{
  size_t len = arg ? strlen(arg) : 0;
  out[0] = 0;
  if (len == 32 && hv_is_hex(arg, len)) {
    memcpy(out, arg, 33);
    return 0;
  }
  if (len == 0 || len > 32 || !hv_is_hex(arg, len))
    return hv_err_set(err, HV_EINVAL,
                      "'%.64s' is not a run id (32 lowercase hex digits, "
                      "as printed by 'harvest runs list', or a unique "
                      "prefix of at least %d)",
                      arg ? arg : "(null)", RUNS_MIN_PREFIX);
  if (len < RUNS_MIN_PREFIX)
    return hv_err_set(err, HV_EINVAL,
                      "run id prefix '%s' is too short: give at least %d "
                      "of its 32 hex digits",
                      arg, RUNS_MIN_PREFIX);
  char ids[4][33];
  size_t n = 0;
  int rc = tracking_run_ids_with_prefix(db, arg, ids, 4, &n, err);
  if (rc)
    return rc;
  if (n == 0)
    return hv_err_set(err, HV_ENOTFOUND, "no run id starts with '%s'", arg);
  if (n == 1) {
    memcpy(out, ids[0], 33);
    return 0;
  }
  char list[4 * 33 + 8];
  size_t at = 0;
  for (size_t i = 0; i < n && i < 4; i++)
    at += (size_t)snprintf(list + at, sizeof(list) - at, "%s%s",
                           i ? " " : "", ids[i]);
  return hv_err_set(err, HV_EINVAL,
                    "run id prefix '%s' is ambiguous: %zu runs start with it "
                    "(%s%s); give more digits",
                    arg, n, list, n > 4 ? " ..." : "");
}

int runs_check_key(const char *key, const char *what, struct hv_err *err)
{
  size_t n;
  if (hv_check_len(key, RUNS_MAX_KEY, what, &n, err))
    return HV_EINVAL;
  for (size_t i = 0; i < n; i++) {
    char c = key[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' ||
          c == ' ' || c == '/'))
      return hv_err_set(err, HV_EINVAL,
                        "%s '%.64s': character %zu is not allowed (use "
                        "letters, digits, '_', '-', '.', ' ' and '/')",
                        what, key, i + 1);
  }
  return 0;
}

static int check_value(const char *v, size_t max, const char *what,
                       struct hv_err *err)
{
  if (!v)
    return hv_err_set(err, HV_EINVAL, "%s is missing", what);
  size_t n = strlen(v);
  if (n > max)
    return hv_err_set(err, HV_ETOOBIG, "%s is %zu bytes; the limit is %zu",
                      what, n, max);
  return 0;
}

/* ---- owner identity ---- */

static void read_line(const char *path, char *out, size_t cap)
{
  out[0] = '\0';
  FILE *f = fopen(path, "r");
  if (!f)
    return;
  if (fgets(out, (int)cap, f))
    out[strcspn(out, "\n")] = '\0';
  fclose(f);
}

/* State letter and start time (field 22) of /proc/PID/stat; returns 0 when
 * read, -1 when the process does not exist (or /proc is unreadable). */
static int proc_stat(int64_t pid, char *state, int64_t *start)
{
  char path[64], buf[1024];
  snprintf(path, sizeof(path), "/proc/%lld/stat", (long long)pid);
  FILE *f = fopen(path, "r");
  if (!f)
    return -1;
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  buf[n] = '\0';
  char *rp = strrchr(buf, ')'); /* comm may hold spaces and parens */
  if (!rp || rp[1] != ' ')
    return -1;
  char *save = NULL, *tok = strtok_r(rp + 2, " ", &save);
  *state = tok ? tok[0] : '?';
  *start = 0;
  for (int field = 3; tok; field++, tok = strtok_r(NULL, " ", &save))
    if (field == 22) {
      char *end = NULL;
      errno = 0;
      long long v = strtoll(tok, &end, 10);
      if (!errno && end != tok)
        *start = v;
      break;
    }
  return 0;
}

/* The boot id and the process's start time do not change while it runs:
 * read once per process (and thread: no lock), again after a fork, not
 * for every run (two files and 30-odd us a run). */
void runs_owner_self(struct tracking_owner *o)
{
  static _Thread_local struct tracking_owner self;
  memset(o, 0, sizeof(*o));
  o->pid = (int64_t)getpid();
  if (gethostname(o->host, sizeof(o->host) - 1) != 0)
    snprintf(o->host, sizeof(o->host), "unknown");
  if (self.pid != o->pid) {
    read_line("/proc/sys/kernel/random/boot_id", self.boot_id,
              sizeof(self.boot_id));
    char state;
    if (proc_stat(o->pid, &state, &self.start) != 0)
      self.start = 0;
    self.pid = o->pid;
  }
  memcpy(o->boot_id, self.boot_id, sizeof(o->boot_id));
  o->start = self.start;
}

enum runs_owner_state runs_owner_state(const struct tracking_run *r)
{
  const struct tracking_owner *o = &r->owner;
  if (o->pid <= 0)
    return RUNS_OWNER_UNKNOWN;
  struct tracking_owner me;
  runs_owner_self(&me);
  if (strcmp(me.host, o->host))
    return RUNS_OWNER_UNKNOWN;
  if (me.boot_id[0] && o->boot_id[0] && strcmp(me.boot_id, o->boot_id))
    return RUNS_OWNER_DEAD; /* the machine rebooted since */
  char state = '?';
  int64_t start = 0;
  if (proc_stat(o->pid, &state, &start) != 0) {
    if (kill((pid_t)o->pid, 0) == 0 || errno == EPERM)
      return RUNS_OWNER_ALIVE; /* no /proc, but the pid exists */
    return RUNS_OWNER_DEAD;
  }
  if (state == 'Z' || state == 'X')
    return RUNS_OWNER_DEAD; /* exited, not yet reaped */
  if (o->start && start && start != o->start)
    return RUNS_OWNER_DEAD; /* pid reused by another process */
  return RUNS_OWNER_ALIVE;
}

/* ---- lifecycle ---- */

int runs_start(struct hv_db *db, const char *experiment, const char *name,
               const char *parent_run_id, char run_id[33], struct hv_err *err)
{
  if (!db || !run_id)
    return hv_err_set(err, HV_EINVAL, "runs_start: missing database or id");
  if (!experiment)
    experiment = RUNS_DEFAULT_EXPERIMENT;
  if (!*experiment || strlen(experiment) > RUNS_MAX_NAME)
    return hv_err_set(err, HV_EINVAL,
                      "experiment name must be 1-%d characters",
                      RUNS_MAX_NAME);
  if (name && (!*name || strlen(name) > RUNS_MAX_NAME))
    return hv_err_set(err, HV_EINVAL, "run name must be 1-%d characters",
                      RUNS_MAX_NAME);
  if (parent_run_id && runs_check_id(parent_run_id, err))
    return HV_EINVAL;
  if (sodium_init() < 0)
    return hv_err_set(err, HV_EINTERNAL, "libsodium failed to initialise");
  unsigned char raw[16];
  randombytes_buf(raw, sizeof(raw));
  char id[33], dflt[32];
  sodium_bin2hex(id, sizeof(id), raw, sizeof(raw));
  snprintf(dflt, sizeof(dflt), "run-%.8s", id);
  int64_t exp_id = 0;
  int rc = tracking_experiment_id(db, experiment, 1, &exp_id, err);
  if (rc)
    return rc;
  struct tracking_owner owner;
  runs_owner_self(&owner);
  struct tracking_run_new r = {
      .run_id = id,
      .experiment_id = exp_id,
      .name = name ? name : dflt,
      .parent_run_id = parent_run_id,
      .user = registry_who(),
      .start_time = hv_now(),
      .owner = &owner,
  };
  if ((rc = tracking_run_insert(db, &r, err)))
    return rc;
  memcpy(run_id, id, 33);
  return 0;
}

int runs_end(struct hv_db *db, const char *run_id, const char *status,
             struct hv_err *err)
{
  if (runs_check_id(run_id, err))
    return HV_EINVAL;
  if (!status || (strcmp(status, "FINISHED") && strcmp(status, "FAILED") &&
                  strcmp(status, "KILLED")))
    return hv_err_set(err, HV_EINVAL,
                      "run status '%.32s' is not FINISHED, FAILED or KILLED",
                      status ? status : "(null)");
  return tracking_run_finish(db, run_id, status, hv_now(), 1, err);
}

void runs_fail(struct hv_db *db, const char *run_id,
               const struct hv_err *why)
{
  struct hv_err e = {0};
  const char *msg = why->msg[0] ? why->msg : hv_strerror(why->code);
  (void)!runs_set_tag(db, run_id, "harvest.error", msg, &e);
  (void)!runs_end(db, run_id, "FAILED", &e);
}

/* The checks of a param or tag (kind "param" or "tag"): the run id, the
 * key, and a value of at most max bytes. */
static int check_kv(const char *run_id, const char *kind, const char *key,
                    const char *value, size_t max, struct hv_err *err)
{
  char what[16];
  snprintf(what, sizeof(what), "%s key", kind);
  if (runs_check_id(run_id, err) || runs_check_key(key, what, err))
    return err ? err->code : HV_EINVAL;
  snprintf(what, sizeof(what), "%s value", kind);
  return check_value(value, max, what, err);
}

int runs_log_param(struct hv_db *db, const char *run_id, const char *key,
                   const char *value, struct hv_err *err)
{
  int rc = check_kv(run_id, "param", key, value, RUNS_MAX_PARAM_VALUE, err);
  return rc ? rc : tracking_param_put(db, run_id, key, value, err);
}

int runs_set_tag(struct hv_db *db, const char *run_id, const char *key,
                 const char *value, struct hv_err *err)
{
  int rc = check_kv(run_id, "tag", key, value, RUNS_MAX_TAG_VALUE, err);
  return rc ? rc : tracking_tag_set(db, run_id, key, value, err);
}

int runs_log_metric(struct hv_db *db, const char *run_id, const char *key,
                    double value, int64_t step, struct hv_err *err)
{
  struct tracking_metric m = {key, value, step, 0};
  return runs_log_metrics_batch(db, run_id, &m, 1, err);
}

int runs_log_metrics_batch(struct hv_db *db, const char *run_id,
                           const struct tracking_metric *m, size_t n,
                           struct hv_err *err)
{
  if (runs_check_id(run_id, err))
    return HV_EINVAL;
  if (n && !m)
    return hv_err_set(err, HV_EINVAL, "metrics batch: NULL array");
  const char *prev = NULL;
  int need_ts = 0;
  for (size_t i = 0; i < n; i++) {
    /* keys repeat in long batches: check each distinct neighbour once */
    if (!prev || !m[i].key || strcmp(prev, m[i].key)) {
      if (runs_check_key(m[i].key, "metric key", err)) {
        hv_err_prefix(err, "metrics batch entry %zu", i);
        return HV_EINVAL;
      }
      prev = m[i].key;
    }
    need_ts |= m[i].timestamp == 0;
  }
  if (!need_ts)
    return tracking_metrics_put(db, run_id, m, n, err);
  struct tracking_metric *c = malloc(n * sizeof(*c));
  if (!c)
    return hv_err_set(err, HV_ENOMEM, "out of memory logging %zu metrics",
                      n);
  double now = hv_now();
  for (size_t i = 0; i < n; i++) {
    c[i] = m[i];
    if (c[i].timestamp == 0)
      c[i].timestamp = now;
  }
  int rc = tracking_metrics_put(db, run_id, c, n, err);
  free(c);
  return rc;
}

static int check_sha(const char *s, struct hv_err *err)
{
  return hv_is_hex(s, 64)
             ? 0
             : hv_err_set(err, HV_EINVAL,
                          "data fingerprint must be 64 lowercase hex digits");
}

int runs_set_lineage(struct hv_db *db, const char *run_id, int64_t first,
                     int64_t last, int64_t rows, const char *sha256,
                     struct hv_err *err)
{
  if (runs_check_id(run_id, err) || check_sha(sha256, err))
    return HV_EINVAL;
  if (first < 0 || last < first || rows < 0)
    return hv_err_set(err, HV_EINVAL,
                      "data lineage: bad range %lld..%lld or row count %lld",
                      (long long)first, (long long)last, (long long)rows);
  struct tracking_lineage l = {HV_GIT_VERSION, first, last, rows, sha256};
  return tracking_lineage_set(db, run_id, &l, err);
}

int runs_fingerprint_data(struct hv_db *db, int64_t first, int64_t last,
                          int64_t *rows, char sha256[65], struct hv_err *err)
{
  return ratings_fingerprint(db, first, last, rows, sha256, err);
}

int runs_log_data_lineage(struct hv_db *db, const char *run_id,
                          int64_t first, int64_t last, struct hv_err *err)
{
  char sha[65];
  int64_t rows = 0;
  int rc = runs_fingerprint_data(db, first, last, &rows, sha, err);
  if (rc)
    return rc;
  return runs_set_lineage(db, run_id, first, last, rows, sha, err);
}

/* ---- reading ---- */

void runs_free(struct tracking_run *runs, size_t n)
{
  tracking_runs_free(runs, n);
}

int runs_get(struct hv_db *db, const char *run_id, struct tracking_run **out,
             struct hv_err *err)
{
  size_t n = 0;
  *out = NULL;
  if (runs_check_id(run_id, err))
    return HV_EINVAL;
  return tracking_runs_load(db, -1, run_id, NULL, out, &n, err);
}

int runs_search(struct hv_db *db, const struct runs_query *q,
                struct tracking_run **out, size_t *n, struct hv_err *err)
{
  *out = NULL;
  *n = 0;
  struct filter *f = NULL;
  struct filter_order *o = NULL;
  struct tracking_run *runs = NULL;
  size_t cnt = 0;
  int64_t exp = -1;
  int rc;
  if ((rc = filter_parse(q->filter, &f, err)) ||
      (rc = filter_order_parse(q->order_by, &o, err)))
    goto done;
  if (q->experiment &&
      (rc = tracking_experiment_id(db, q->experiment, 0, &exp, err)))
    goto done;
  if ((rc = tracking_runs_load(db, exp, NULL, NULL, &runs, &cnt, err)))
    goto done;
  size_t keep = 0;
  for (size_t i = 0; i < cnt; i++) {
    if (filter_match(f, &runs[i]))
      runs[keep++] = runs[i];
    else
      tracking_run_clear(&runs[i]);
  }
  filter_sort(runs, keep, o);
  if (q->max && keep > q->max) {
    for (size_t i = q->max; i < keep; i++)
      tracking_run_clear(&runs[i]);
    keep = q->max;
  }
  *out = runs;
  *n = keep;
done:
  filter_free(f);
  filter_order_free(o);
  return rc;
}

/* ---- garbage collection ---- */

int runs_gc(struct hv_db *db, double older_than, size_t *marked,
            char (**ids)[33], struct hv_err *err)
{
  struct tracking_run *runs = NULL;
  size_t n = 0, cnt = 0;
  if (marked)
    *marked = 0;
  if (ids)
    *ids = NULL;
  if (!(older_than >= 0))
    return hv_err_set(err, HV_EINVAL, "gc: older-than must be >= 0 seconds");
  int rc = tracking_runs_load(db, -1, NULL, "RUNNING", &runs, &n, err);
  if (rc)
    return rc;
  char(*out)[33] = calloc(n ? n : 1, sizeof(*out));
  if (!out) {
    runs_free(runs, n);
    return hv_err_set(err, HV_ENOMEM, "out of memory in gc");
  }
  double now = hv_now();
  for (size_t i = 0; i < n && !rc; i++) {
    const struct tracking_run *r = &runs[i];
    if (now - r->start_time < older_than ||
        runs_owner_state(r) != RUNS_OWNER_DEAD)
      continue;
    char why[400];
    snprintf(why, sizeof(why),
             "owner process %lld on %s (boot %s) is gone; marked FAILED by "
             "'harvest runs gc'",
             (long long)r->owner.pid, r->owner.host, r->owner.boot_id);
    rc = tracking_run_finish(db, r->run_id, "FAILED", now, 1, err);
    if (rc == HV_ECONFLICT) { /* ended meanwhile by someone else */
      rc = 0;
      continue;
    }
    if (!rc)
      rc = tracking_tag_set(db, r->run_id, "harvest.gc_reason", why, err);
    if (!rc)
      memcpy(out[cnt++], r->run_id, 33);
  }
  runs_free(runs, n);
  if (marked)
    *marked = cnt;
  if (ids && !rc)
    *ids = out;
  else
    free(out);
  return rc;
}

/* ---- JSON ---- */

static json_t *kv_object(const struct tracking_kv *kv, size_t n)
{
  json_t *o = json_object();
  for (size_t i = 0; o && i < n; i++)
    json_object_set_new(o, kv[i].key, json_string(kv[i].value));
  return o;
}

static json_t *str_or_null(const char *s)
{
  return s ? json_string(s) : json_null();
}

static json_t *lineage_json(const struct tracking_run *r)
{
  json_t *l = json_object();
  if (!l)
    return NULL;
  json_object_set_new(l, "code_version", str_or_null(r->code_version));
  if (r->data_rows >= 0) {
    json_object_set_new(l, "data_first_rating_id",
                        json_integer(r->data_first_rating_id));
    json_object_set_new(l, "data_last_rating_id",
                        json_integer(r->data_last_rating_id));
    json_object_set_new(l, "data_rows", json_integer(r->data_rows));
    json_object_set_new(l, "data_sha256", str_or_null(r->data_sha256));
  }
  return l;
}

json_t *runs_to_json(const struct tracking_run *r)
{
  json_t *j = json_object();
  json_t *metrics = json_object();
  if (!j || !metrics) {
    json_decref(j);
    json_decref(metrics);
    return NULL;
  }
  for (size_t i = 0; i < r->n_metrics; i++)
    json_object_set_new(metrics, r->metrics[i].key,
                        hv_json_num(r->metrics[i].value));
  json_object_set_new(j, "run_id", json_string(r->run_id));
  json_object_set_new(j, "run_name", str_or_null(r->name));
  json_object_set_new(j, "experiment", str_or_null(r->experiment));
  json_object_set_new(j, "status", str_or_null(r->status));
  if (r->status && !strcmp(r->status, "RUNNING")) {
    enum runs_owner_state s = runs_owner_state(r);
    json_object_set_new(j, "owner_alive",
                        s == RUNS_OWNER_UNKNOWN ? json_null()
                                                : json_boolean(s));
  }
  json_object_set_new(j, "start_time", json_real(r->start_time));
  json_object_set_new(j, "end_time", r->end_time > 0
                                         ? json_real(r->end_time)
                                         : json_null());
  json_object_set_new(j, "parent_run_id", str_or_null(r->parent_run_id));
  json_object_set_new(j, "user", str_or_null(r->user));
  json_object_set_new(j, "owner",
                      json_pack("{s:I, s:s, s:s}", "pid",
                                (json_int_t)r->owner.pid, "host",
                                r->owner.host, "boot_id", r->owner.boot_id));
  json_object_set_new(j, "lineage", lineage_json(r));
  json_object_set_new(j, "params", kv_object(r->params, r->n_params));
  json_object_set_new(j, "metrics", metrics);
  json_object_set_new(j, "tags", kv_object(r->tags, r->n_tags));
  return j;
}

static const char *kv_find(const struct tracking_kv *kv, size_t n,
                           const char *key)
{
  for (size_t i = 0; i < n; i++)
    if (!strcmp(kv[i].key, key))
      return kv[i].value;
  return NULL;
}

const char *runs_param(const struct tracking_run *r, const char *key)
{
  return kv_find(r->params, r->n_params, key);
}

const char *runs_tag(const struct tracking_run *r, const char *key)
{
  return kv_find(r->tags, r->n_tags, key);
}

double runs_metric(const struct tracking_run *r, const char *key)
{
  for (size_t i = 0; i < r->n_metrics; i++)
    if (!strcmp(r->metrics[i].key, key))
      return r->metrics[i].value;
  return NAN;
}
