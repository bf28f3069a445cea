/*
 * fuzz_ml100k.c - libFuzzer target: the MovieLens 100K reader, whole files
 * through import_dataset (u.genre, u.occupation, u.user, u.item, u.data;
 * the input's NUL-separated parts in that order, see fuzz_util.h).
 */
#include "fuzz_util.h"

static const struct fz_file files[] = {
    {"u.genre", "unknown|0\nAction|1\nComedy|2\n"},
    {"u.occupation", "artist\nwriter\n"},
    {"u.user", "1|24|M|writer|85711\n2|53|F|artist|94043\n"},
    {"u.item", "1|Alpha Story (1995)|01-Jan-1995||http://x/1|0|1|0\n"
               "2|Beta (1971)|4-Feb-1971||http://x/2|0|0|1\n"},
    {"u.data", "1\t1\t5\t881250949\n2\t2\t3\t881250950\n"},
    {NULL, NULL},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  fz_import("ml-100k", files, data, size);
  return 0;
}
