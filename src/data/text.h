/*
 * text.h - text helpers for the dataset readers: UTF-8 validation, Latin-1
 * to UTF-8 conversion, and release years from dates and titles.
 *
 * Design: the database holds UTF-8 only. Files documented as UTF-8 are
 * validated strictly (no overlong forms, surrogates or code points past
 * U+10FFFF). Files documented as Latin-1 (ml-100k u.item, ml-1m movies.dat)
 * are converted byte by byte, except that a field that already is valid
 * UTF-8 is kept as it is, so a copy someone re-saved as UTF-8 imports
 * correctly too (Latin-1 titles are practically never valid UTF-8).
 * Every text field is cleaned of control characters on its way into the
 * database (text_clean), so a title cannot drive a terminal or reverse
 * the text around it wherever it is shown.
 *
 * Threads: no shared state.
 */
#ifndef HV_DATA_TEXT_H
#define HV_DATA_TEXT_H

#include <stddef.h>

#include "util/err.h"

/* 1 when s[0, len) is valid UTF-8, else 0 and *bad_at (may be NULL) is the
 * offset of the first byte of the first invalid sequence. */
int text_utf8_valid(const char *s, size_t len, size_t *bad_at);

/* Scratch buffer for converted text; zero-initialise, text_buf_free. */
struct text_buf {
  char *p;
  size_t cap;
};

/* Latin-1 (or already UTF-8, see above) s[0, len) as NUL-terminated UTF-8
 * in b->p (grown as needed; borrowed until the next call on b). Returns 0 or
 * HV_ENOMEM. */
int text_latin1_to_utf8(const char *s, size_t len, struct text_buf *b,
                        struct hv_err *err) HV_WARN_UNUSED;

/* s (UTF-8) as NUL-terminated text without what a terminal or a
 * bidirectional renderer would act on, in b->p (borrowed until the next
 * call on b): TAB, LF, CR and NEL (U+0085) become a space; the other C0
 * and C1 controls, DEL and the bidi embedding, override and isolate
 * controls (U+202A..U+202E, U+2066..U+2069; termstr_is_control) are
 * dropped. Bytes that are not UTF-8 are kept (validate first). Returns 0 or
 * HV_ENOMEM. */
int text_clean(const char *s, struct text_buf *b,
               struct hv_err *err) HV_WARN_UNUSED;

void text_buf_free(struct text_buf *b);

/* Year of a "dd-Mon-yyyy" date (01-Jan-1995; the day may have one digit,
 * 4-Feb-1971) into *year. Returns 0, or HV_EINVAL when date is not in that
 * form (month names in English, day 1..31, year 1800..2200). */
int text_date_year(const char *date, int *year) HV_WARN_UNUSED;

/* Year from a title ending in "(yyyy)" (trailing spaces allowed), or 0. */
int text_title_year(const char *title);

#endif
