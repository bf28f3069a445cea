/*
 * uri.h - model URIs, resolved to a readable, checksum-verified file.
 *
 *   models:/NAME/Production   newest version of NAME in that stage (also
 *                             Staging, Archived, None; case-insensitive)
 *   models:/NAME/3            version 3
 *   models:/NAME/latest       newest version
 *   models:/NAME@champion     the version alias champion points at
 *   runs:/RUN_ID              that run's model artifact (model/model.hvm)
 *   runs:/RUN_ID/PATH         that run's artifact PATH
 *   file:///abs/path, PATH    a plain file (not hashed: it is the user's)
 *
 * Design: registry and run URIs end at a blob in the artifact store, whose
 * bytes are re-hashed before the path is handed out, so the model loader
 * never reads a damaged or substituted file through a URI. Unknown schemes
 * (s3:, http:, ...) are refused rather than read as file names.
 * Threads: stateless; one connection per thread.
 */
#ifndef HV_TRACK_URI_H
#define HV_TRACK_URI_H

#include <stddef.h>

#include "util/err.h"

struct hv_db;

#define URI_MAX 2048

/* What a URI resolved to. Fields that do not apply are empty / 0. */
struct uri_target {
  char path[4096];         /* readable file for the loader */
  char sha256[65];         /* verified content hash ("" for plain files) */
  char model[129];         /* models:/ URIs */
  int version;             /* models:/ URIs */
  char stage[16];          /* the version's stage (models:/ URIs) */
  char run_id[33];         /* source run (models:/ and runs:/ URIs) */
  char artifact_path[1025];/* logical path within the run */
};

/* Resolve uri to a readable file whose hash was just verified; out_path
 * (cap bytes) receives its path. HV_EINVAL for a malformed URI, HV_ENOTFOUND
 * for an unknown model, version, alias, stage, run or artifact, HV_ECORRUPT
 * for a damaged artifact. home is the Harvest home folder (holds
 * artifacts/). */
int uri_resolve(const char *home, struct hv_db *db, const char *uri,
                char *out_path, size_t cap, struct hv_err *err) HV_WARN_UNUSED;

/* As uri_resolve, filling *t with everything known about the target. */
int uri_resolve_ex(const char *home, struct hv_db *db, const char *uri,
                   struct uri_target *t, struct hv_err *err) HV_WARN_UNUSED;

#endif
