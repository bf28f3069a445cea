/*
 * source.h - a dataset's files, read from a folder or straight out of its
 * .zip archive (libzip), without unpacking anything to disk.
 *
 * Design: a dataset is addressed by the base names of its files ("u.data",
 * "ratings.csv"). In a folder or a zip they sit at the top or inside one
 * top folder (ml-100k.zip holds ml-100k/u.data; a folder the zip was
 * unpacked into holds ml-100k/u.data too); the top level wins, then the
 * first subfolder by name; macOS "__MACOSX" and hidden folders are
 * ignored. Each opened file has a display name
 * a user recognises: "DIR/u.data" for folders, "ZIP/ml-100k/u.data" for
 * archives, used as the FILE in "FILE:LINE: what is wrong". Zips are opened
 * with consistency checks, and entries are CRC-checked as they are read, so
 * a truncated or corrupt download fails instead of importing half a file.
 *
 * Threads: a source and its files belong to one thread; libzip archives are
 * not shared. Only one file of a zip source should be open at a time.
 */
#ifndef HV_DATA_SOURCE_H
#define HV_DATA_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct source;
struct source_file;

/* Open the dataset at path: a directory, or any regular file, which is read
 * as a zip archive. Returns 0 and *out (the caller's, source_close frees),
 * HV_ENOTFOUND when path does not exist, HV_ECORRUPT when the file is not a
 * readable zip (truncated, corrupt), HV_EIO/HV_ENOMEM otherwise. */
int source_open(const char *path, struct source **out,
                struct hv_err *err) HV_WARN_UNUSED;

/* Close a source; NULL does nothing. Its files must be closed first. */
void source_close(struct source *src);

/* The path as given to source_open (borrowed). */
const char *source_path(const struct source *src);

/* 1 when src is a zip archive, 0 for a folder. */
int source_is_zip(const struct source *src);

/* 1 when the dataset holds a regular file with this base name, else 0. */
int source_has(const struct source *src, const char *name);

/* Open the file with base name `name` for reading. Returns 0 and *out
 * (source_file_close frees), HV_ENOTFOUND when the dataset has no such file
 * ("DIR has no u.data"), HV_EIO when it cannot be opened. */
int source_open_file(struct source *src, const char *name,
                     struct source_file **out,
                     struct hv_err *err) HV_WARN_UNUSED;

/* Read up to cap bytes into buf. Returns the number of bytes read (0 at the
 * end of the file) or a negative HV_E* code with err filled (HV_ECORRUPT for
 * a zip entry failing its CRC or decompression, HV_EIO otherwise). */
long source_file_read(struct source_file *f, char *buf, size_t cap,
                      struct hv_err *err);

/* The name to show users for this file (borrowed, lives as long as f). */
const char *source_file_name(const struct source_file *f);

/* Uncompressed size in bytes, or -1 when unknown. */
int64_t source_file_size(const struct source_file *f);

/* Close a file; NULL does nothing. */
void source_file_close(struct source_file *f);

#endif
