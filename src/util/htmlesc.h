/*
 * htmlesc.h - text made safe inside HTML: the five characters HTML gives
 * a meaning (& < > " ') as entities, so text is text in an element and in
 * a quoted attribute alike.
 *
 * Design: one table for every writer of HTML (the web UI's buffer in
 * serve/ui/html.c, the /docs page, the demo's report), so none of them can
 * forget a character. Thread-safe: no state.
 */
#ifndef HV_UTIL_HTMLESC_H
#define HV_UTIL_HTMLESC_H

#include <stdio.h>

/* The entity ("&amp;", "&lt;", "&gt;", "&quot;", "&#39;") for c when c is
 * one of & < > " ', else NULL. */
const char *htmlesc_entity(unsigned char c);

/* Write s to f with those five characters as their entities; NULL writes
 * nothing. */
void htmlesc_fputs(FILE *f, const char *s);

#endif
