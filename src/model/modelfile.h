/*
 * modelfile.h - the binary model file format (version 1).
 *
 *   offset 0    header, 256 bytes, little-endian:
 *               magic "\x89HVMODL\n", u32 version, u32 header bytes (256),
 *               u64 file bytes, u32 section count (14), u32 0x01020304
 *               (byte order), then the hyperparameters and lineage (dim,
 *               flags, optimiser, batch, epochs, seed, Adam step, lr, l2,
 *               temperature, split, init scale, created-at, rating range,
 *               train rows, vocabulary sizes, optimiser slots), the
 *               task (u32 at 204: 0 retrieval, 1 ranking), the ranking
 *               MLP's hidden width (u32 at 208) and mean rating (f64 at
 *               216), both zero for retrieval (so files written before
 *               the task field read unchanged); the rest of the 256
 *               bytes must be zero. A ranking model's parameters hold
 *               the same tables, then its biases and MLP
 *               (model_layout_rank).
 *   offset 256  section table: 14 x {u32 type, u32 element size,
 *               u64 offset, u64 bytes}, types 1..14 in order.
 *   sections    64-byte aligned, in table order, no overlap: user ids,
 *               movie ids (i64, ascending), 5 feature vocabularies (i64),
 *               user features (i32 x3 per row), movie year index (i32),
 *               genre CSR offsets and indices (i32), movie train counts
 *               (i64), parameters (f32), optimiser state (f32).
 *   last 32     SHA-256 (libsodium) of every byte before it.
 *
 * The parser checks all of it (sizes with overflow checks, every offset
 * inside the file, every index inside its table, finite floats), so a
 * hostile file can at worst be refused. Pure functions; thread-safe.
 */
#ifndef HV_MODEL_MODELFILE_H
#define HV_MODEL_MODELFILE_H

#include "model/model_internal.h"

#define MODELFILE_VERSION 1
#define MODELFILE_HEADER 256
#define MODELFILE_NSECT 14
#define MODELFILE_MAX_BYTES ((size_t)1 << 36) /* 64 GiB sanity cap */

/* The magic bytes (8). */
extern const unsigned char modelfile_magic[8];

#endif
