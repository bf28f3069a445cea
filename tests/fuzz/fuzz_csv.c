/*
 * fuzz_csv.c - libFuzzer target: the RFC 4180 CSV reader (csv.h) over the
 * line reader, as ml-latest's movies.csv and ratings.csv are read.
 *
 * Input: byte 0 picks the read size (1..255, 0: as much as fits), byte 1
 * the longest line (1..255, 0: 64 KiB), byte 2 the delimiter (',' for
 * an even byte, ';' for an odd one), the rest is the file. Every field of
 * every record is read and checked against its length.
 */
#include <stdlib.h>
#include <string.h>

#include "data/csv.h"
#include "data/lines.h"
#include "fuzz_util.h"

static void check_record(const struct csv *c)
{
  int nf = csv_nfields(c);
  if (nf < 1 || csv_field(c, nf) || csv_field(c, -1) || csv_line(c) < 1)
    abort();
  for (int i = 0; i < nf; i++) {
    const char *f = csv_field(c, i);
    if (!f || strlen(f) != csv_field_len(c, i))
      abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 3)
    return 0;
  struct fz_mem mem = {data + 3, size - 3, 0, data[0]};
  struct lines l;
  struct csv c;
  struct hv_err err = {0};
  memset(&l, 0, sizeof(l));
  memset(&c, 0, sizeof(c));
  if (lines_init(&l, fz_mem_read, &mem, "fuzz.csv", data[1] ? data[1] : 65536, &err) ||
      csv_init(&c, &l, data[2] & 1 ? ';' : ',', &err))
    goto done;
  int rc;
  while ((rc = csv_next(&c, &err)) == 1)
    check_record(&c);
  if (rc < 0 && !err.msg[0])
    abort();
done:
  csv_free(&c);
  lines_free(&l);
  return 0;
}
