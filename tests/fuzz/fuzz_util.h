/*
 * fuzz_util.h - what the libFuzzer targets in tests/fuzz share: splitting
 * one input into several files, a scratch folder per process, and an
 * in-memory read callback for the line reader.
 *
 * Design: a multi-file input (a dataset: u.user, u.item, ...) is the files'
 * texts separated by NUL bytes, in the order the reader opens them; the
 * line reader refuses NUL bytes, so a separator never hides a file byte the
 * reader would have seen. Files the input does not reach keep a small
 * valid default, so a short input still gets past the first file.
 * Everything is static inline: each target is one translation unit.
 *
 * Threads: libFuzzer calls a target on one thread.
 */
#ifndef HV_TESTS_FUZZ_UTIL_H
#define HV_TESTS_FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/import.h"
#include "store/db.h"
#include "util/err.h"

/* Part i (0-based) of data split at NUL bytes into *p, *n; 0 when the
 * input has fewer parts. */
static inline int fz_part(const uint8_t *data, size_t size, int i,
                          const uint8_t **p, size_t *n)
{
  size_t start = 0;
  for (int k = 0;; k++) {
    const uint8_t *nul = memchr(data + start, 0, size - start);
    size_t end = nul ? (size_t)(nul - data) : size;
    if (k == i) {
      *p = data + start;
      *n = end - start;
      return 1;
    }
    if (!nul)
      return 0;
    start = end + 1;
  }
}

/* A scratch folder for this process, made on first use under $TMPDIR and
 * removed at exit (the files written into it are removed by the caller's
 * next write, or with it). */
static char fz_dir_path[4096];
static const char *fz_dir_names[16];

static inline void fz_dir_cleanup(void)
{
  char path[4200];
  for (int i = 0; i < 16 && fz_dir_names[i]; i++) {
    snprintf(path, sizeof(path), "%s/%s", fz_dir_path, fz_dir_names[i]);
    unlink(path);
  }
  rmdir(fz_dir_path);
}

static inline const char *fz_dir(void)
{
  if (fz_dir_path[0])
    return fz_dir_path;
  const char *tmp = getenv("TMPDIR");
  snprintf(fz_dir_path, sizeof(fz_dir_path), "%s/hv-fuzz-XXXXXX",
           tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(fz_dir_path)) {
    perror("mkdtemp");
    abort();
  }
  atexit(fz_dir_cleanup);
  return fz_dir_path;
}

/* Write n bytes to file `name` (a static string) in the scratch folder. */
static inline void fz_write(const char *name, const void *p, size_t n)
{
  char path[4200];
  int i = 0;
  while (i < 15 && fz_dir_names[i] && strcmp(fz_dir_names[i], name))
    i++;
  fz_dir_names[i] = name;
  snprintf(path, sizeof(path), "%s/%s", fz_dir(), name);
  FILE *f = fopen(path, "wb");
  if (!f || (n && fwrite(p, 1, n, f) != n) || fclose(f)) {
    perror(path);
    abort();
  }
}

/* Write the files of a dataset: file i gets part i of the input, or its
 * default text when the input has no part i. */
struct fz_file {
  const char *name;
  const char *dflt;
};

static inline void fz_write_parts(const struct fz_file *files,
                                  const uint8_t *data, size_t size)
{
  for (int i = 0; files[i].name; i++) {
    const uint8_t *p;
    size_t n;
    if (fz_part(data, size, i, &p, &n))
      fz_write(files[i].name, p, n);
    else
      fz_write(files[i].name, files[i].dflt, strlen(files[i].dflt));
  }
}

/* Import the dataset of `format` written from data (fz_write_parts) into
 * one in-memory database kept for the process (replacing the last one), as
 * `harvest data import` does. Errors are answers, not failures. */
static inline void fz_import(const char *format, const struct fz_file *files,
                             const uint8_t *data, size_t size)
{
  static struct hv_db *db;
  struct hv_err err = {0};
  if (!db && db_open(":memory:", &db, &err)) {
    fprintf(stderr, "db_open: %s\n", err.msg);
    abort();
  }
  fz_write_parts(files, data, size);
  struct import_result res;
  if (import_dataset(db, format, fz_dir(), 1, &res, &err) == 0 &&
      res.ratings < 0)
    abort();
}

/* Reading from memory in chunks of at most `chunk` bytes, so the reader's
 * buffer refills land at every offset. */
struct fz_mem {
  const uint8_t *p;
  size_t n, at, chunk;
};

static inline long fz_mem_read(void *ctx, char *buf, size_t cap,
                               struct hv_err *err)
{
  struct fz_mem *m = ctx;
  size_t k = m->n - m->at;
  if (k > cap)
    k = cap;
  if (m->chunk && k > m->chunk)
    k = m->chunk;
  memcpy(buf, m->p + m->at, k);
  m->at += k;
  return (long)k;
}

/* A NUL-terminated copy of data (caller frees). */
static inline char *fz_strdup(const uint8_t *data, size_t size)
{
  char *s = malloc(size + 1);
  if (!s)
    abort();
  memcpy(s, data, size);
  s[size] = '\0';
  return s;
}

#endif
