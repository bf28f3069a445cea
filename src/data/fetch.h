/*
 * fetch.h - `harvest data fetch`: download a MovieLens archive over HTTP(S)
 * with libcurl, check it, and import it.
 *
 * Design: the download goes to DIR/NAME.part, is resumed with an HTTP Range
 * request when a .part is already there (a server that ignores the range
 * gets a fresh download), is checked against the expected size and SHA-256
 * (libsodium) when given, and is then fsynced and renamed to DIR/NAME, so
 * DIR/NAME is only ever a complete, verified file. A failed check removes
 * the .part (it is wrong, resuming it cannot help); an interrupted transfer
 * keeps it for the next run to resume. Only http and https are followed,
 * redirects included. Importing calls import_dataset (data/import.h).
 *
 * Threads: libcurl's global init is done once (pthread_once); each call
 * uses its own easy handle, so calls on different threads are fine.
 */
#ifndef HV_DATA_FETCH_H
#define HV_DATA_FETCH_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct hv_db;

struct fetch_result {
  int64_t bytes;        /* size of the complete file */
  int64_t resumed_from; /* bytes already there from a .part, 0 if none */
  char sha256[65];      /* hex digest of the complete file */
  double seconds;       /* wall time of the transfer */
  int reused;           /* 1: an existing verified file was used as is */
};

/* done / total bytes of the file (total -1 when unknown). */
typedef void (*fetch_progress_fn)(void *ctx, int64_t done, int64_t total);

/* The GroupLens URL of a known dataset ("ml-100k", "ml-1m",
 * "ml-latest-small"), or NULL. */
const char *fetch_default_url(const char *dataset);

/* The import format of a known dataset ("ml-100k", "ml-1m", "ml-latest"),
 * or NULL. */
const char *fetch_dataset_format(const char *dataset);

/* The file name to store url under: the last path segment with anything
 * but [A-Za-z0-9._-] replaced by '_' (query and fragment dropped), or
 * fallback when that is empty or starts with '.'. Returns 0 or HV_EINVAL
 * when it does not fit in cap. */
int fetch_file_name(const char *url, const char *fallback, char *out,
                    size_t cap, struct hv_err *err) HV_WARN_UNUSED;

/* SHA-256 of the file at path as 64 lowercase hex digits in hex. */
int fetch_sha256_file(const char *path, char hex[65],
                      struct hv_err *err) HV_WARN_UNUSED;

/* Download url to path (via path.part, resumed if present). sha256_hex
 * (64 hex digits, any case) and size (-1: unknown) are checked when given.
 * When path already exists and sha256_hex is given and matches, nothing is
 * downloaded (res->reused = 1). progress may be NULL. Returns 0 or:
 * HV_EUSAGE (bad url/sha256 argument), HV_ENOTFOUND (HTTP 404/410),
 * HV_EIO (network or file failure, other HTTP errors, interrupted transfer:
 * the .part is kept), HV_ECORRUPT (size or checksum mismatch: the .part is
 * removed). */
int fetch_url(const char *url, const char *path, const char *sha256_hex,
              int64_t size, fetch_progress_fn progress, void *ctx,
              struct fetch_result *res, struct hv_err *err) HV_WARN_UNUSED;

struct fetch_request {
  const char *dataset;    /* known dataset name, or NULL */
  const char *url;        /* NULL: the dataset's default URL */
  const char *sha256_hex; /* NULL: not checked */
  int64_t size;           /* -1: not checked */
  const char *dir;        /* download folder (created), e.g. HOME/downloads */
  int replace;            /* import over an existing dataset */
};

struct fetch_import_result {
  struct fetch_result download;
  char path[4096];        /* the downloaded file */
  const char *format;     /* import format used (static string) */
  int64_t users, movies, ratings, genres;
  double import_seconds;
};

/* Download req's dataset into req->dir and import it into db (format from
 * req->dataset, or guessed from the archive's files when only a URL is
 * given). Errors as fetch_url and import_dataset. */
int fetch_and_import(struct hv_db *db, const struct fetch_request *req,
                     fetch_progress_fn progress, void *ctx,
                     struct fetch_import_result *res,
                     struct hv_err *err) HV_WARN_UNUSED;

#endif
