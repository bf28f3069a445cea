/*
 * termstr.c - terminal-safe text: see termstr.h.
 */
#include "util/termstr.h"

#include <stdio.h>
#include <string.h>

#include "util/utf8.h"

int termstr_is_control(uint32_t cp)
{
  return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) ||
         (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

const char *termstr(const char *s, char *out, size_t cap)
{
  size_t o = 0;
  if (!out || cap == 0)
    return "";
  for (size_t i = 0, n = s ? strlen(s) : 0; i < n;) {
    char esc[16];
    uint32_t cp;
    size_t k = utf8_decode(s + i, n - i, &cp), w;
    const char *piece = s + i;
    if (k == 0) { /* not UTF-8: show the byte */
      w = (size_t)snprintf(esc, sizeof(esc), "\\x%02X", (unsigned char)s[i]);
      piece = esc, k = 1;
    } else if (cp == '\t' || cp == '\n' || cp == '\r') {
      w = (size_t)snprintf(esc, sizeof(esc), "\\%c",
                           cp == '\t' ? 't' : cp == '\n' ? 'n' : 'r');
      piece = esc;
    } else if (termstr_is_control(cp)) {
      w = (size_t)snprintf(esc, sizeof(esc), cp < 0x80 ? "\\x%02X" : "\\u{%04X}",
                           (unsigned)cp);
      piece = esc;
    } else {
      w = k;
    }
    if (o + w >= cap)
      break;
    memcpy(out + o, piece, w);
    o += w;
    i += k;
  }
  out[o] = '\0';
  return out;
}
