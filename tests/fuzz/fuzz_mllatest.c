/*
 * fuzz_mllatest.c - libFuzzer target: the MovieLens "latest" reader, whole
 * files through import_dataset (movies.csv, ratings.csv; the input's
 * NUL-separated parts in that order, see fuzz_util.h).
 */
#include "fuzz_util.h"

static const struct fz_file files[] = {
    {"movies.csv", "movieId,title,genres\n1,Alpha Story (1995),Comedy\n"
                   "2,\"Beta, The (1971)\",Drama|Comedy\n"},
    {"ratings.csv", "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n"
                    "7,2,0.5,964982224\n"},
    {NULL, NULL},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  fz_import("ml-latest", files, data, size);
  return 0;
}
