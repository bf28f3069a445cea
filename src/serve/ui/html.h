/*
 * html.h - a growable HTML buffer where escaping is the default.
 *
 * Design: markup is written only through format strings and literals the
 * code holds (html_raw, the fmt of html_f); every string argument that
 * reaches the page goes through html_f's %s, html_text or html_url, which
 * escape it. html_f is printf with one difference: each %s (and %.*s) is
 * HTML-escaped (& < > " ' become entities; control bytes other than tab
 * and newline become U+FFFD), so the same call is safe in text and in a
 * double-quoted attribute. The other conversions (d i u x c f e g, with
 * the h/l/ll/z/j length modifiers, flags, width, precision and '*') are
 * formatted as printf does. html_url percent-encodes a URL component
 * (path segment or query value), so user data never changes a link's
 * scheme or structure. The format attribute lets the compiler check
 * argument types. Out of memory is sticky: later writes do nothing and
 * html_take returns NULL.
 *
 * Threads: a buffer belongs to one thread; no shared state.
 */
#ifndef HV_SERVE_UI_HTML_H
#define HV_SERVE_UI_HTML_H

#include <stdarg.h>
#include <stddef.h>

#include "util/err.h"

struct html {
  char *buf;   /* NUL-terminated when not NULL */
  size_t len;
  size_t cap;
  int oom;     /* 1 after an allocation failed */
};

/* An empty buffer (no allocation until the first write). */
void html_init(struct html *h);

/* Free what h holds and make it empty; NULL does nothing. */
void html_free(struct html *h);

/* Hand over the text (caller frees) and its length in *len (may be NULL);
 * h is empty afterwards. NULL when an allocation failed (h is freed). */
char *html_take(struct html *h, size_t *len);

/* Append trusted markup as is (a literal of the code, never data). */
void html_raw(struct html *h, const char *markup);
void html_rawn(struct html *h, const char *markup, size_t n);

/* Append s escaped for text and double-quoted attributes; NULL appends
 * nothing. */
void html_text(struct html *h, const char *s);
void html_textn(struct html *h, const char *s, size_t n);

/* Append s percent-encoded as a URL component: letters, digits and
 * "-._~" stay, every other byte becomes %XX. */
void html_url(struct html *h, const char *s);

/* printf into h with every %s escaped (see the header comment). An
 * unsupported conversion appends "?" and stops formatting. */
void html_f(struct html *h, const char *fmt, ...) HV_PRINTF(2, 3);
void html_vf(struct html *h, const char *fmt, va_list ap);

/* A number for people: "-" for NaN, "inf"/"-inf"; integers, and values
 * from 1e4 to 1e15, rounded to a whole number; else 4 significant digits
 * (%.4g). Writes into out (cap bytes) and returns out. */
const char *html_num(double v, char *out, size_t cap);

#endif
