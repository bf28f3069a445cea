/*
 * fuzz_model.c - libFuzzer target: the model file loader
 * (model_load_buffer), as `harvest serve` and `harvest recommend` read a
 * file that may come from anywhere.
 *
 * Input: one control byte, then the file image. Bit 0 of the control byte
 * writes the image's true length into the header, bit 1 recomputes the
 * trailing SHA-256, so mutations reach the field checks behind the length
 * and checksum checks (which a mutated file would almost never pass); with
 * the bits clear those two checks are fuzzed themselves. A model that loads
 * is scored for one user so its tables are read, not only validated.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "model/modelfile.h"
#include "fuzz_util.h"

enum { FIX_LEN = 1, FIX_SUM = 2 };

static void put_u64(uint8_t *p, uint64_t v)
{
  for (int i = 0; i < 8; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  if (sodium_init() < 0)
    abort();
  unsigned ctl = data[0];
  size_t len = size - 1;
  uint8_t *img = malloc(len ? len : 1);
  if (!img)
    return 0;
  memcpy(img, data + 1, len);
  if ((ctl & FIX_LEN) && len >= 24)
    put_u64(img + 16, len);
  if ((ctl & FIX_SUM) && len >= crypto_hash_sha256_BYTES)
    crypto_hash_sha256(img + len - crypto_hash_sha256_BYTES, img,
                       len - crypto_hash_sha256_BYTES);
  struct hv_model *m = NULL;
  struct hv_err err = {0};
  if (model_load_buffer(img, len, &m, &err) == 0) {
    int64_t ids[10];
    float top[10];
    float *scores = malloc(sizeof(float) * (model_scratch_size(m) + 1));
    if (scores) {
      int64_t u = model_n_users(m) ? model_user_id(m, 0) : 1;
      if (model_recommend(m, u, 10, NULL, 0, ids, top, scores, &err) < 0)
        err.code = 0; /* an unknown user is an answer, not a failure */
      free(scores);
    }
    model_free(m);
  }
  free(img);
  return 0;
}
