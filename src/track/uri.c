/*
 * uri.c - model URI resolution: see uri.h.
 */
#include "track/uri.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/registry_db.h"
#include "track/artifacts.h"
#include "track/registry.h"
#include "track/runs.h"
#include "util/parse.h"

static int set_str(char *dst, size_t cap, const char *src, size_t len,
                   const char *what, struct hv_err *err)
{
  if (len >= cap)
    return hv_err_set(err, HV_EINVAL, "model URI: %s is too long", what);
  memcpy(dst, src, len);
  dst[len] = '\0';
  return 0;
}

/* Fill t from a registry version and verify its blob. */
static int from_version(const char *home, struct hv_db *db,
                        const struct registry_version *v,
                        struct uri_target *t, struct hv_err *err)
{
  t->version = v->version;
  snprintf(t->stage, sizeof(t->stage), "%s", v->stage);
  snprintf(t->run_id, sizeof(t->run_id), "%s", v->run_id);
  snprintf(t->artifact_path, sizeof(t->artifact_path), "%s",
           v->artifact_path ? v->artifact_path : "");
  snprintf(t->sha256, sizeof(t->sha256), "%s", v->sha256);
  int rc = artifacts_verify_blob(home, db, v->sha256, v->size, t->path,
                                 sizeof(t->path), err);
  if (rc)
    hv_err_prefix(err, "model '%s' version %d", v->model, v->version);
  return rc;
}

static int resolve_models(const char *home, struct hv_db *db,
                          const char *rest, struct uri_target *t,
                          struct hv_err *err)
{
  size_t name_len = strcspn(rest, "/@");
  int rc = set_str(t->model, sizeof(t->model), rest, name_len, "model name",
                   err);
  if (rc || (rc = registry_check_name(t->model, err)))
    return HV_EINVAL;
  const char *sel = rest + name_len;
  if (!*sel || !sel[1] || strchr(sel + 1, '/') || strchr(sel + 1, '@'))
    return hv_err_set(err, HV_EINVAL,
                      "model URI 'models:/%.200s': expected "
                      "models:/NAME/VERSION, models:/NAME/STAGE, "
                      "models:/NAME/latest or models:/NAME@ALIAS",
                      rest);
  int version = 0;
  const char *alias = NULL, *stage = NULL;
  if (*sel == '@') {
    alias = sel + 1;
    if (registry_check_alias(alias, err))
      return HV_EINVAL;
  } else if (isdigit((unsigned char)sel[1])) {
    int64_t v = 0;
    if (hv_parse_i64(sel + 1, 1, 1000000000, &v, "model URI version", err))
      return HV_EINVAL;
    version = (int)v;
  } else if (strcmp(sel + 1, "latest") &&
             registry_parse_stage(sel + 1, &stage, err)) {
    hv_err_prefix(err, "model URI 'models:/%.200s'", rest);
    return HV_EINVAL;
  }
  struct registry_version v;
  if ((rc = registry_db_find(db, t->model, version, alias, stage, &v, err)))
    return rc;
  rc = from_version(home, db, &v, t, err);
  registry_db_version_free(&v);
  return rc;
}

static int resolve_runs(const char *home, struct hv_db *db, const char *rest,
                        struct uri_target *t, struct hv_err *err)
{
  size_t id_len = strcspn(rest, "/");
  char arg[33];
  int rc = set_str(arg, sizeof(arg), rest, id_len, "run id", err);
  if (rc)
    return HV_EINVAL;
  if ((rc = runs_resolve_id(db, arg, t->run_id, err)))
    return rc; /* a unique prefix of the id is taken, as by git */
  const char *path = rest[id_len] ? rest + id_len + 1 : ARTIFACTS_MODEL_PATH;
  if (artifacts_check_path(path, strlen(path), err) ||
      set_str(t->artifact_path, sizeof(t->artifact_path), path, strlen(path),
              "artifact path", err))
    return HV_EINVAL;
  struct tracking_artifact meta = {0};
  rc = artifacts_resolve(home, db, t->run_id, path, &meta, t->path,
                         sizeof(t->path), err);
  if (rc == HV_ENOTFOUND && rest[id_len]) {
    /* MLflow habit: runs:/ID/model names the model folder */
    char alt[ARTIFACTS_MAX_PATH + 16];
    snprintf(alt, sizeof(alt), "%s/model.hvm", path);
    struct hv_err e2 = {0};
    if (artifacts_resolve(home, db, t->run_id, alt, &meta, t->path,
                          sizeof(t->path), &e2) == 0) {
      snprintf(t->artifact_path, sizeof(t->artifact_path), "%s", alt);
      rc = 0;
    }
  }
  if (rc)
    return rc;
  snprintf(t->sha256, sizeof(t->sha256), "%s", meta.sha256);
  free(meta.path);
  return 0;
}

static int resolve_file(const char *path, struct uri_target *t,
                        struct hv_err *err)
{
  struct stat st;
  if (stat(path, &st) != 0)
    return hv_err_set(err, errno == ENOENT ? HV_ENOTFOUND : HV_EIO,
                      "model file '%.200s': %s", path, strerror(errno));
  if (!S_ISREG(st.st_mode))
    return hv_err_set(err, HV_EINVAL, "model file '%.200s' is not a file",
                      path);
  if (access(path, R_OK) != 0)
    return hv_err_set(err, HV_EIO, "model file '%.200s' is not readable",
                      path);
  return set_str(t->path, sizeof(t->path), path, strlen(path), "file path",
                 err);
}

/* Length of a URI scheme ("s3" in "s3://x") or 0 when uri has none. */
static size_t scheme_len(const char *uri)
{
  size_t i = 0;
  if (!isalpha((unsigned char)uri[0]))
    return 0;
  while (isalnum((unsigned char)uri[i]) || uri[i] == '+' || uri[i] == '.' ||
         uri[i] == '-')
    i++;
  return uri[i] == ':' && uri[i + 1] == '/' ? i : 0;
}

int uri_resolve_ex(const char *home, struct hv_db *db, const char *uri,
                   struct uri_target *t, struct hv_err *err)
{
  memset(t, 0, sizeof(*t));
  if (!uri || !*uri)
    return hv_err_set(err, HV_EINVAL, "model URI is empty");
  size_t n = strlen(uri);
  if (n > URI_MAX)
    return hv_err_set(err, HV_EINVAL, "model URI is %zu bytes; limit %d", n,
                      URI_MAX);
  if (!strncmp(uri, "models:/", 8))
    return resolve_models(home, db, uri + 8, t, err);
  if (!strncmp(uri, "runs:/", 6))
    return resolve_runs(home, db, uri + 6, t, err);
  if (!strncmp(uri, "file://", 7)) {
    if (uri[7] != '/')
      return hv_err_set(err, HV_EINVAL,
                        "file URI '%.200s' must be file:///ABSOLUTE/PATH",
                        uri);
    return resolve_file(uri + 7, t, err);
  }
  size_t sl = scheme_len(uri);
  if (sl)
    return hv_err_set(err, HV_EINVAL,
                      "model URI scheme '%.*s:' is not supported (use "
                      "models:/, runs:/, file:// or a path)",
                      (int)(sl > 32 ? 32 : sl), uri);
  return resolve_file(uri, t, err);
}

int uri_resolve(const char *home, struct hv_db *db, const char *uri,
                char *out_path, size_t cap, struct hv_err *err)
{
  struct uri_target *t = malloc(sizeof(*t));
  if (!t)
    return hv_err_set(err, HV_ENOMEM, "out of memory resolving URI");
  int rc = uri_resolve_ex(home, db, uri, t, err);
  if (!rc && snprintf(out_path, cap, "%s", t->path) >= (int)cap)
    rc = hv_err_set(err, HV_EINVAL, "resolved path does not fit the buffer");
  free(t);
  return rc;
}
