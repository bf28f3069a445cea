/*
 * fuzz_lines.c - libFuzzer target: the buffered line reader (lines.h) every
 * dataset file goes through.
 *
 * Input: byte 0 picks the read size (1..255 bytes a read, 0: as much as
 * fits), byte 1 the longest line (1..255, 0: 64 KiB; the 1 MiB default
 * would only cost time), the rest is the file. Checks what lines.h
 * promises of every line it hands out: no line break or NUL inside,
 * NUL-terminated at len, at most the maximum length; and what text_clean
 * and termstr make of each line.
 */
#include <stdlib.h>
#include <string.h>

#include "data/lines.h"
#include "data/text.h"
#include "util/termstr.h"
#include "fuzz_util.h"

/* Every line also goes through the two control filters (import cleaning
 * and terminal escaping): neither may leave a control byte behind. */
static void filters(const char *line, size_t len, struct text_buf *b)
{
  static char out[4096];
  struct hv_err err = {0};
  termstr(line, out, sizeof(out));
  for (const char *p = out; *p; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7F)
      abort();
  if (!text_utf8_valid(line, len, NULL) || text_clean(line, b, &err))
    return;
  for (const char *p = b->p; *p; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7F ||
        !strncmp(p, "\xE2\x80\xAE", 3))
      abort();
  if (!text_utf8_valid(b->p, strlen(b->p), NULL))
    abort();
}

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
  struct text_buf b = {0};
  while ((rc = lines_next(&l, &line, &len, &err)) == 1) {
    filters(line, len, &b);
    if (line[len] != '\0' || strlen(line) != len ||
        memchr(line, '\n', len) || (max_line && len > max_line) ||
        l.lineno <= n)
      abort();
    n = l.lineno;
  }
  if (rc < 0 && !err.msg[0])
    abort(); /* every error says what is wrong */
  text_buf_free(&b);
  lines_free(&l);
  return 0;
}
