/*
 * termstr.h - text from the data (titles, names, tags, reasons, paths)
 * made safe to print on a terminal.
 *
 * Design: a title such as "Movie\x1b]0;owned\x07" or one holding U+202E
 * (right-to-left override) would, printed raw, retitle the window, recolour
 * or rewrite the screen, or show its text backwards. Everything a terminal
 * or a bidirectional renderer acts on is printed as a visible escape
 * instead: C0 controls and DEL as \xHH (\t, \n and \r too), C1 controls
 * (U+0080..U+009F) and the bidi embedding, override and isolate controls
 * (U+202A..U+202E, U+2066..U+2069) as \u{XXXX}, and bytes that are not
 * UTF-8 as \xHH. Other text, UTF-8 included, is printed as it is, so
 * ordinary titles look the same. The CLI passes every string that comes
 * from the database or a file through termstr before printing it; JSON
 * output (--json) is escaped by jansson instead.
 *
 * Thread-safe: no state.
 */
#ifndef HV_UTIL_TERMSTR_H
#define HV_UTIL_TERMSTR_H

#include <stddef.h>
#include <stdint.h>

/* 1 when code point cp is one termstr escapes (a C0 or C1 control, DEL or
 * a bidi control), else 0. */
int termstr_is_control(uint32_t cp);

/* s with its controls escaped (see above) into out (cap >= 1 bytes), always
 * NUL-terminated; a string that does not fit is cut at a character or
 * escape boundary. NULL gives "". Returns out, for use as a printf
 * argument. */
const char *termstr(const char *s, char *out, size_t cap);

#endif
