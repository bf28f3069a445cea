/*
 * test_modelfile.c - the model file: round trip (buffer, save, mmap load),
 * and refusal of truncated, bit-flipped, foreign, newer and hostile files
 * (a fuzz loop that mutates the header/section table and re-seals the
 * checksum so the structural checks, not the hash, must catch it; run
 * under ASan this proves no out-of-bounds read).
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/modelfile.h"
#include "model_fixture.h"
#include "testutil.h"
#include "util/fsutil.h"

static void reseal(unsigned char *img, size_t len)
{
  crypto_hash_sha256(img + len - 32, img, len - 32);
}

static void test_round_trip(void **state)
{
  for (int feat = 0; feat < 2; feat++)
    for (int opt = 0; opt < 2; opt++) {
      unsigned char *img;
      size_t len;
      assert_int_equal(fx_image(4, 5, 7, feat, opt, 9, &img, &len), 0);
      struct hv_model *m = NULL;
      struct hv_err e = {0};
      assert_int_equal(model_load_buffer(img, len, &m, &e), 0);
      assert_int_equal(model_dim(m), 4);
      assert_int_equal(model_n_users(m), 5);
      assert_int_equal(model_n_movies(m), 7);
      assert_int_equal(model_movie_id(m, 2), 5);
      assert_int_equal(model_movie_id(m, 7), -1);
      assert_int_equal(model_user_id(m, 4), 50);
      assert_true(model_knows_user(m, 30));
      assert_false(model_knows_user(m, 31));
      assert_true(model_knows_movie(m, 13));
      assert_int_equal(model_epochs_total(m), 3);
      assert_int_equal(model_n_train_ratings(m), 1000);
      struct train_config c;
      model_config(m, &c);
      assert_int_equal(c.features, feat);
      assert_int_equal(c.optimizer, opt);
      char dir[256], path[512], hex[65], hex2[65];
      tu_tmpdir(dir, sizeof(dir));
      snprintf(path, sizeof(path), "%s/m.hvm", dir);
      assert_int_equal(model_save(m, path, &e), 0);
      struct hv_model *m2 = NULL;
      assert_int_equal(model_load(path, &m2, &e), 0);
      model_sha256_hex(m, hex);
      model_sha256_hex(m2, hex2);
      assert_string_equal(hex, hex2);
      char *bytes;
      size_t n;
      assert_int_equal(hv_read_file(path, 1 << 24, &bytes, &n, &e), 0);
      assert_int_equal(n, len);
      assert_memory_equal(bytes, img, len);
      free(bytes);
      model_free(m2);
      model_free(m);
      free(img);
      tu_rmtree(dir);
    }
  model_free(NULL);
}

static void test_truncations_and_flips(void **state)
{
  unsigned char *img;
  size_t len;
  assert_int_equal(fx_image(3, 4, 6, 1, MODEL_OPT_ADAM, 5, &img, &len), 0);
  struct hv_model *m = NULL;
  struct hv_err e = {0};
  /* every truncation is refused (the smallest ones step by 1) */
  for (size_t n = 0; n < len; n += n < 400 ? 1 : 7) {
    unsigned char *cut = malloc(n ? n : 1);
    memcpy(cut, img, n);
    int rc = model_load_buffer(cut, n, &m, &e);
    assert_int_equal(rc, HV_ECORRUPT);
    assert_null(m);
    free(cut);
  }
  /* one appended byte */
  unsigned char *big = malloc(len + 1);
  memcpy(big, img, len);
  big[len] = 0;
  assert_int_equal(model_load_buffer(big, len + 1, &m, &e), HV_ECORRUPT);
  free(big);
  /* every single bit flip in the header and a sample elsewhere */
  for (size_t bit = 0; bit < len * 8; bit += bit < 8 * 700 ? 1 : 61) {
    img[bit / 8] ^= (unsigned char)(1u << (bit % 8));
    int rc = model_load_buffer(img, len, &m, &e);
    img[bit / 8] ^= (unsigned char)(1u << (bit % 8));
    assert_true(rc == HV_ECORRUPT || rc == HV_EVERSION);
    assert_null(m);
  }
  assert_int_equal(model_load_buffer(img, len, &m, &e), 0);
  model_free(m);
  free(img);
}

static void test_version_and_foreign(void **state)
{
  unsigned char *img;
  size_t len;
  struct hv_model *m = NULL;
  struct hv_err e = {0};
  assert_int_equal(fx_image(2, 3, 3, 0, 0, 1, &img, &len), 0);
  img[8] = MODELFILE_VERSION + 1;
  reseal(img, len);
  assert_int_equal(model_load_buffer(img, len, &m, &e), HV_EVERSION);
  assert_non_null(strstr(e.msg, "upgrade harvest"));
  img[8] = MODELFILE_VERSION;
  reseal(img, len);
  /* a checksum error says so */
  img[len / 2] ^= 1;
  assert_int_equal(model_load_buffer(img, len, &m, &e), HV_ECORRUPT);
  assert_non_null(strstr(e.msg, "checksum"));
  free(img);
  const char *text = "user_id,movie_id\n1,2\n";
  assert_int_equal(model_load_buffer(text, strlen(text), &m, &e), HV_ECORRUPT);
  assert_non_null(strstr(e.msg, "magic"));
  assert_int_equal(model_load_buffer(NULL, 10, &m, &e), HV_EINVAL);
  char dir[256], path[512];
  tu_tmpdir(dir, sizeof(dir));
  snprintf(path, sizeof(path), "%s/nope.hvm", dir);
  assert_int_equal(model_load(path, &m, &e), HV_ENOTFOUND);
  tu_write(dir, "empty.hvm", "", path, sizeof(path));
  assert_int_equal(model_load(path, &m, &e), HV_ECORRUPT);
  assert_non_null(strstr(e.msg, "empty.hvm"));
  tu_write(dir, "text.hvm", text, path, sizeof(path));
  assert_int_equal(model_load(path, &m, &e), HV_ECORRUPT);
  assert_int_equal(model_load(dir, &m, &e), HV_EINVAL); /* a directory */
  assert_int_equal(model_load("", &m, &e), HV_EINVAL);
  assert_null(m);
  assert_int_equal(model_save(NULL, path, &e), HV_EINVAL);
  tu_rmtree(dir);
}

/* The header's bits 3..5 (user feature tables left out: a dataset
 * without demographics; 0 in every older file) must agree with the rest:
 * only with features, only for an empty vocabulary. */
static void test_user_tables_off_flags(void **state)
{
  unsigned char *img;
  size_t len;
  struct hv_model *m = NULL;
  struct hv_err e = {0};
  assert_int_equal(fx_image(2, 3, 3, 0, 0, 1, &img, &len), 0);
  assert_int_equal(model_load_buffer(img, len, &m, &e), 0); /* flags 0 */
  assert_int_equal(model_user_features(m), 0);
  model_free(m);
  img[36] |= 8; /* the age table off, but no features */
  reseal(img, len);
  assert_int_equal(model_load_buffer(img, len, &m, &e), HV_ECORRUPT);
  assert_non_null(strstr(e.msg, "without features"));
  img[36] = 64; /* a bit no harvest knows */
  reseal(img, len);
  assert_int_equal(model_load_buffer(img, len, &m, &e), HV_ECORRUPT);
  assert_non_null(strstr(e.msg, "unknown flags"));
  free(img);
  assert_int_equal(fx_image(2, 3, 3, 1, 0, 1, &img, &len), 0);
  assert_int_equal(model_load_buffer(img, len, &m, &e), 0);
  assert_int_equal(model_user_features(m), DATASET_UF_ALL);
  model_free(m);
  img[36] |= 16; /* gender off, though the file has gender values */
  reseal(img, len);
  assert_int_equal(model_load_buffer(img, len, &m, &e), HV_ECORRUPT);
  assert_non_null(strstr(e.msg, "left out but has 2 values"));
  assert_null(m);
  free(img);
}

/* Hostile files with a valid checksum: mutate header, section table and
 * index sections, re-seal, load. Must never crash or accept garbage
 * indices; loads that succeed must give a usable model. */
static void test_fuzz_resealed(void **state)
{
  unsigned char *img;
  size_t len;
  assert_int_equal(fx_image(3, 6, 9, 1, 0, 11, &img, &len), 0);
  unsigned char *buf = malloc(len);
  uint64_t r = 99;
  int refused = 0, accepted = 0;
  for (int it = 0; it < 3000; it++) {
    memcpy(buf, img, len);
    int nmut = 1 + (int)(fx_next(&r) % 4);
    for (int k = 0; k < nmut; k++) {
      size_t span = it % 3 == 0 ? len - 32 : 256 + 24 * 14 + 256;
      size_t pos = (size_t)(fx_next(&r) % (span < len - 32 ? span : len - 32));
      switch (fx_next(&r) % 4) {
      case 0: buf[pos] ^= (unsigned char)(1u << (fx_next(&r) % 8)); break;
      case 1: buf[pos] = (unsigned char)fx_next(&r); break;
      case 2: buf[pos] = 0xff; break;
      default: buf[pos] = 0; break;
      }
    }
    reseal(buf, len);
    struct hv_model *m = NULL;
    struct hv_err e = {0};
    int rc = model_load_buffer(buf, len, &m, &e);
    if (rc) {
      assert_true(rc == HV_ECORRUPT || rc == HV_EVERSION);
      assert_true(e.msg[0] != '\0');
      assert_null(m);
      refused++;
      continue;
    }
    /* accepted (e.g. a changed float): it must be usable */
    float *scratch = malloc(model_scratch_size(m) * sizeof(float));
    int64_t ids[3];
    int got = model_recommend(m, model_user_id(m, 0), 3, NULL, 0, ids, NULL,
                              scratch, &e);
    assert_true(got >= 0 && got <= 3);
    free(scratch);
    model_free(m);
    accepted++;
  }
  assert_true(refused > 1000);
  assert_true(accepted > 0);
  free(buf);
  free(img);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_truncations_and_flips),
      cmocka_unit_test(test_version_and_foreign),
      cmocka_unit_test(test_user_tables_off_flags),
      cmocka_unit_test(test_fuzz_resealed),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
