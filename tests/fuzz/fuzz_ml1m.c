/*
 * fuzz_ml1m.c - libFuzzer target: the MovieLens 1M reader, whole files
 * through import_dataset (users.dat, movies.dat, ratings.dat; the input's
 * NUL-separated parts in that order, see fuzz_util.h).
 */
#include "fuzz_util.h"

static const struct fz_file files[] = {
    {"users.dat", "1::F::1::10::48067\n2::M::56::16::70072\n"},
    {"movies.dat", "1::Alpha Story (1995)::Animation|Comedy\n"
                   "2::Beta (1971)::Drama\n"},
    {"ratings.dat", "1::1::5::978300760\n2::2::3::978302109\n"},
    {NULL, NULL},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  fz_import("ml-1m", files, data, size);
  return 0;
}
