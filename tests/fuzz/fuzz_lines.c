/*
 * fuzz_lines.c - libFuzzer target: the buffered line reader (lines.h) every
 * dataset file goes through.
 *
 * Input: byte 0 picks the read size (1..255 bytes a read, 0: as much as
 * fits), byte 1 the longest line (1..255, 0: 64 KiB; the 1 MiB default
 * would only cost time), the rest is the file. Checks what lines.h
 * promises of every line it hands out: no line break or NUL inside,
 * NUL-terminated at len, at most the maximum length.
 */
#include <stdlib.h>
#include <string.h>

#include "data/lines.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 2)
    return 0;
  struct fz_mem mem = {data + 2, size - 2, 0, data[0]};
  size_t max_line = data[1] ? data[1] : 65536;
  struct lines l;
  struct hv_err err = {0};
  memset(&l, 0, sizeof(l));
  if (lines_init(&l, fz_mem_read, &mem, "fuzz", max_line, &err)) {
    lines_free(&l);
    return 0;
  }
  char *line;
  size_t len;
  int rc;
  int64_t n = 0;
  while ((rc = lines_next(&l, &line, &len, &err)) == 1) {
    if (line[len] != '\0' || strlen(line) != len ||
        memchr(line, '\n', len) || (max_line && len > max_line) ||
        l.lineno <= n)
      abort();
    n = l.lineno;
  }
  if (rc < 0 && !err.msg[0])
    abort(); /* every error says what is wrong */
  lines_free(&l);
  return 0;
}
