/*
 * retindex.h - which retrieval index a served or queried model answers
 * through: the policy of `--index exact|ivf|auto` and `--index-min-recall`,
 * where a model's index is stored, and attaching it (model/ivf.h does the
 * computing; this is the service the CLI and the server share).
 *
 * Where: an index is built with its model version (trainrun, at the end
 * of training: the movie vectors and the users' vectors are at hand, and
 * the recall it measured is logged as a metric of that run, so the version
 * in the registry carries it) and stored beside the model: the run's
 * artifact RETINDEX_ARTIFACT next to model/model.hvm (content-addressed and
 * re-hashed on resolve, like the model), or PATH.ivf beside a model file
 * (--out, --model-file). The index names the checksum of its model file,
 * so a stale one beside a newer model is refused.
 *
 * Policy (retindex_apply):
 *   exact  never an index.
 *   auto   (default) the stored index when the catalogue has at least
 *          RETINDEX_AUTO_MIN_MOVIES movies (below, scoring every movie is
 *          fast and exact: 20,000 x 64 floats is 5 MB, well under a
 *          millisecond); none stored: exact.
 *   ivf    an index whatever the catalogue; none stored: one is built at
 *          load (the same deterministic build, seed 42, so it equals what
 *          training would have stored).
 * An index is refused, with the reason in the result, when it is damaged,
 * belongs to another model file, or its measured recall@100 is below the
 * floor: the model then serves exactly. A refused index never makes a
 * model unavailable: it is an accelerator, and exact scoring gives the
 * answers it approximates (slower). Only out of memory is an error.
 *
 * Threads: call before the model is shared (model_attach_index's rule).
 */
#ifndef HV_RECOMMEND_RETINDEX_H
#define HV_RECOMMEND_RETINDEX_H

#include <stddef.h>

#include "util/err.h"

struct hv_db;
struct hv_model;
struct uri_target;

enum { RETINDEX_AUTO = 0, RETINDEX_EXACT = 1, RETINDEX_IVF = 2 };

#define RETINDEX_AUTO_MIN_MOVIES 20000
#define RETINDEX_ARTIFACT "model/index.ivf" /* beside model/model.hvm */
#define RETINDEX_FILE_SUFFIX ".ivf"          /* beside a model file */
#define RETINDEX_QUERIES 1000 /* users' vectors the recall is measured on */

/* "exact", "ivf" or "auto" into *mode; HV_EUSAGE naming the choices. */
int retindex_parse_mode(const char *s, int *mode,
                        struct hv_err *err) HV_WARN_UNUSED;

/* The name of a mode. */
const char *retindex_mode_name(int mode);

/* Where a model's stored index is, as found by retindex_locate. */
struct retindex_src {
  char path[4096]; /* a readable, verified file; "" when none */
  int code;        /* 0, or why locating failed (not HV_ENOTFOUND) */
  char msg[256];
};

/* The index stored beside the model t resolved to (uri_resolve_ex): the
 * run artifact beside a run's model artifact (re-hashed), else for a
 * plain file PATH.ivf when it exists. Never fails: a damaged artifact is
 * reported in src->code and msg. db may be NULL for plain files. */
void retindex_locate(const char *home, struct hv_db *db,
                     const struct uri_target *t, struct retindex_src *src);

/* What retindex_apply decided. */
struct retindex_result {
  int used;         /* 1: the model answers through an index */
  int built;        /* 1: it was built at load */
  int nlist, nprobe;
  double recall;    /* measured recall@100 (-1: no index considered) */
  char why[320];    /* one sentence: what serves and why */
};

/* Apply mode (RETINDEX_*) with floor min_recall in (0, 1] to m, a
 * retrieval model not yet shared, its stored index at src (NULL or an
 * empty path: none); see the header comment. Returns 0 (r filled), or
 * HV_EINVAL for bad arguments, HV_ENOMEM. */
int retindex_apply(struct hv_model *m, const struct retindex_src *src,
                   int mode, double min_recall, struct retindex_result *r,
                   struct hv_err *err) HV_WARN_UNUSED;

/* At the end of a training run: build m's index when mode says so (auto:
 * from RETINDEX_AUTO_MIN_MOVIES movies; ivf: always; exact: never;
 * ranking models: never), store it as run_id's artifact RETINDEX_ARTIFACT
 * and, when out_path is given, at out_path.ivf beside that copy, and log
 * what the build measured as metrics of the run: index_recall_at_100,
 * index_nprobe, index_nlist, index_build_seconds. r->used is 1 when an
 * index was built. Store and artifact codes; HV_ENOMEM. */
int retindex_build_for_run(const char *home, struct hv_db *db,
                           const char *run_id, const struct hv_model *m,
                           int mode, const char *out_path,
                           struct retindex_result *r,
                           struct hv_err *err) HV_WARN_UNUSED;

#endif
