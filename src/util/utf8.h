/*
 * utf8.h - decoding one UTF-8 character, strictly (no overlong forms,
 * surrogates or code points past U+10FFFF), for the dataset readers' checks
 * (data/text.c) and the terminal escaping of output (util/termstr.c).
 *
 * Thread-safe: no state.
 */
#ifndef HV_UTIL_UTF8_H
#define HV_UTIL_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Length (1..4) of the valid UTF-8 character at s, of which n >= 1 bytes
 * are available, with its code point in *cp (may be NULL); 0 when the bytes
 * there are not valid UTF-8. */
size_t utf8_decode(const char *s, size_t n, uint32_t *cp);

#endif
